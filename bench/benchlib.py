"""Helpers shared by the benchmarks in bench/: a throwaway embedded server, scratch databases, round trips.

Imported as ``benchlib`` by scripts run as ``python bench/<name>.py`` (their own folder is then on sys.path).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo


@contextmanager
def throwaway_server(prefix: str = "dba-admin-bench-", *, fast: bool = False) -> Iterator[tuple[Path, str]]:
    """Start dba_admin.local_pg's embedded server in a fresh data dir; yield (data dir, superuser DSN).

    The cluster is stopped and its data dir deleted at the end. ``fast`` turns fsync off (throwaway data only).
    """
    from dba_admin.local_pg import EmbeddedPostgres

    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    data_dir.chmod(0o711)  # the unprivileged server user (when run as root) reaches the cluster inside
    server = EmbeddedPostgres(data_dir, fast=fast)
    try:
        dsn = server.ensure_running()
        print(f"started embedded PostgreSQL in {data_dir}")
        yield data_dir, dsn
    finally:
        server.destroy()
        shutil.rmtree(data_dir, ignore_errors=True)


def dsn_for(dsn: str, dbname: str, **overrides: str) -> str:
    """The same server and login as ``dsn``, on database ``dbname`` (and other fields replaced)."""
    params = conninfo_to_dict(dsn)
    params.update(dbname=dbname, **overrides)
    return make_conninfo("", **params)


def recreate_database(admin_dsn: str, name: str) -> str:
    """Drop ``name`` if it exists, create it empty; returns its DSN (the admin login)."""
    drop_database(admin_dsn, name)
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return dsn_for(admin_dsn, name)


def drop_database(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def count_round_trips(conn: psycopg.Connection[Any], fn: Callable[[psycopg.Connection[Any]], Any]) -> int:
    """Messages that end a request in libpq's protocol trace: simple Query ('Q') or extended-protocol Sync."""
    with tempfile.TemporaryFile("w+") as fh:
        conn.pgconn.trace(fh.fileno())
        try:
            fn(conn)
        finally:
            conn.pgconn.untrace()
        fh.seek(0)
        text = fh.read()
    return len(re.findall(r"\tF\t\d+\t(?:Query|Sync)\b", text))


def free_port() -> int:
    """A TCP port free on the loopback address right now (the caller binds it soon after)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def streamlit_server(script: Path, *, cwd: Path, env: dict[str, str], log: Path, timeout: float = 90) -> Iterator[str]:
    """``python -m streamlit run script`` on a free loopback port, as tests/test_browser.py's app_url starts it
    (headless, no file watcher, no usage stats); yields its URL once /_stcore/health answers, stops it at the end."""
    import subprocess
    import sys
    import time
    import urllib.request

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
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
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
                raise RuntimeError(f"streamlit did not start ({script}):\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
