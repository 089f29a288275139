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


@contextmanager
def checkout(revision: str) -> Iterator[Path]:
    """A detached git worktree of ``revision`` for a benchmark's "before" column (run with PYTHONPATH at it),
    removed at the end."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    folder = Path(tempfile.mkdtemp(prefix="dba-admin-bench-before-")) / "tree"
    subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", "-q", str(folder), revision], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(folder)], check=False)
        shutil.rmtree(folder.parent, ignore_errors=True)
