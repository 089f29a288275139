"""The browser tests' server and browser (a pytest plugin, registered in conftest.py).

One `streamlit run app.py` per test process (xdist worker), started by the first browser test that worker runs and
shared by every browser module it runs after: starting a server and rendering its first page (its imports) costs
seconds of CPU, and every browser module used to pay that again. A module still gets a Chromium of its own (and so
cookies, routes and listeners of its own), so the modules stay independent of each other; a test that needs other
server settings starts a server of its own with ``streamlit_server`` (as the cookie-expiry test does).

Needs /usr/bin/chromium (`apt-get install -y chromium`; Playwright's own browser download is not available).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("DBA_ADMIN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1440, "height": 900}
# The shared server's re-login cookie lives an hour: longer than any test, so that only a revocation (logout,
# password reset) can refuse it; the expiry test starts a server of its own with a short one.
SHARED_COOKIE_SECONDS = 3_600


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def need_chromium() -> None:
    """Skip (not fail) where the browser tests cannot run."""
    if not Path(CHROMIUM).is_file() and not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    pytest.importorskip("playwright.sync_api")


class ServerDidNotStart(RuntimeError):
    """The Streamlit server exited or did not answer its health check in time; the message ends with its log."""


@contextlib.contextmanager
def serve(script: Path, *, cwd: Path, env: dict[str, str], log: Path, timeout: float = 60) -> Iterator[str]:
    """`python -m streamlit run script` on a free loopback port, headless, with no file watcher (a module reloaded
    mid-test makes the logged-in AppUser an instance of a stale class, and the page guard then asks to log in
    again); yields its URL once /_stcore/health answers, stops it at the end. bench/browser_pages_bench.py serves
    the app and a bare app with it too."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:  # noqa: S310 - loopback
                    if resp.read().decode().strip() == "ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise ServerDidNotStart(
                    f"streamlit did not start ({script}):\n{log.read_text(errors='replace')[-3000:]}"
                )
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def streamlit_server(data_dir: Path, log_dir: Path, cookie_seconds: float) -> Iterator[str]:
    """The app over the workspace in ``data_dir``, with a re-login cookie of ``cookie_seconds``; a server that does
    not start fails the test that needed it, with its log."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DBA_ADMIN_DATA_DIR"] = str(data_dir)
    env["COOKIE_EXPIRY_DAYS"] = str(cookie_seconds / 86_400)
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(serve(ROOT / "app.py", cwd=ROOT, env=env, log=log_dir / "server.log"))
        except ServerDidNotStart as exc:
            pytest.fail(str(exc))
        yield url


@pytest.fixture(scope="session")
def app_url(app_db: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The worker's shared app server (stopped when the worker's session ends, before its PostgreSQL)."""
    need_chromium()
    with streamlit_server(
        app_db.settings.data_dir, tmp_path_factory.mktemp("streamlit"), cookie_seconds=SHARED_COOKIE_SECONDS
    ) as url:
        yield url


@pytest.fixture(scope="module")
def browser_page(app_url: str) -> Iterator[Any]:
    """A Chromium of the module's own (its cookies, routes and listeners go with it), with one page."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(30_000)
        yield page
        context.close()
        browser.close()
