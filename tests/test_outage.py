"""PostgreSQL down, as the browser sees it: a clear page that retries, and the embedded server restarted.

Each test runs its own throwaway embedded server in a temp data dir (the suite's shared one stays up), and the app
from app.py through AppTest, nothing mocked.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from apptest_helpers import APP, texts
from streamlit.testing.v1 import AppTest

from dba_admin.cli import main as cli_main
from dba_admin.config import load_settings
from dba_admin.local_pg import EmbeddedPostgres
from ui.session import _services_for


@pytest.fixture
def own_app_server(test_root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmbeddedPostgres]:
    """A throwaway embedded server the app uses as its default (no demo, to keep it quick)."""
    server = EmbeddedPostgres(test_root / f"outage-{time.monotonic_ns()}", fast=True)
    server.ensure_running()
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("READONLY_DATABASE_URL", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(server.data_dir))
    monkeypatch.setenv("DBA_ADMIN_LOAD_DEMO", "false")
    try:
        yield server
    finally:
        _close_cached_services()
        server.destroy()


def _close_cached_services() -> None:
    """The app's cached Services for this configuration holds pools on the throwaway server: close them.

    The cache entry stays (its key names a data dir or DSN no other test uses); clearing the whole cache would drop
    other tests' Services without closing them.
    """
    with contextlib.suppress(Exception):
        _services_for(load_settings()).close()


def _login_form_shown(at: AppTest) -> bool:
    return any(t.label == "Username" for t in at.text_input)


def _kill_postmaster(server: EmbeddedPostgres) -> int:
    pid = server._pid_file_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while server.status() == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.status() == "stopped"
    return pid


def test_killed_embedded_server_is_restarted_and_the_page_recovers(own_app_server: EmbeddedPostgres) -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert _login_form_shown(at)
    old_pid = _kill_postmaster(own_app_server)

    at.run()
    assert not at.exception, at.exception
    assert _login_form_shown(at), texts(at)
    assert own_app_server.status() == "running"
    assert own_app_server._pid_file_pid() not in (None, old_pid)


def test_embedded_server_that_cannot_restart_gets_a_clear_page(own_app_server: EmbeddedPostgres) -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert _login_form_shown(at)
    _kill_postmaster(own_app_server)
    auto_conf = own_app_server.cluster_dir / "postgresql.auto.conf"
    good = auto_conf.read_text()
    auto_conf.write_text(good + "\nshared_buffers = 'lots'\n")

    at.run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert "is not answering and could not be restarted; retrying in 2 s" in shown, shown
    assert "shared_buffers" in shown, "the reason, from the server log"
    assert not _login_form_shown(at)
    at.run()
    assert "retrying in 4 s" in texts(at), "the retry backs off"

    auto_conf.write_text(good)
    at.run()
    assert not at.exception, at.exception
    assert _login_form_shown(at), texts(at)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_remote_database_down_at_start_gets_a_clear_page(monkeypatch: pytest.MonkeyPatch) -> None:
    port = _closed_port()
    monkeypatch.setenv("DATABASE_URL", f"postgresql://app:s3cret-pw@127.0.0.1:{port}/workspace")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert "The database at 127.0.0.1/workspace is not answering; retrying in 2 s." in shown, shown
    assert "s3cret-pw" not in shown
    assert not _login_form_shown(at)
    at.run()
    assert "retrying in 4 s" in texts(at)


def test_remote_database_that_goes_down_gets_a_clear_page_then_recovers(
    own_app_server: EmbeddedPostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The throwaway server as a "remote" DATABASE_URL: nothing restarts it but its owner.
    monkeypatch.setenv("DATABASE_URL", own_app_server.dsn())
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert _login_form_shown(at)
    own_app_server.stop()

    at.run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert "The database at local socket/postgres is not answering; retrying in 2 s." in shown, shown
    assert not _login_form_shown(at)
    assert own_app_server.status() == "stopped", "a remote database is never started by the app"

    own_app_server.ensure_running()
    at.run()
    assert not at.exception, at.exception
    assert _login_form_shown(at), texts(at)


def test_unusable_data_dir_gets_a_clear_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(blocker / "data"))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert "The database is not ready" in shown and "cannot be used" in shown, shown


def test_a_read_command_starts_a_stopped_embedded_server(
    own_app_server: EmbeddedPostgres, capsys: pytest.CaptureFixture[str]
) -> None:
    """Read commands find a running server with their own first connection and start a stopped one only then."""
    assert cli_main(["migrate"]) == 0
    capsys.readouterr()
    own_app_server.stop()
    assert own_app_server.status() == "stopped"
    code = cli_main(["tables", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert isinstance(json.loads(out), list)
    assert own_app_server.status() == "running"
