"""Starting under faults: two starts at once, a data dir that cannot be written, a server that will not start,
and read-only commands (health first) that never prepare or migrate the database."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from dba_admin.cli import main
from dba_admin.errors import EmbeddedServerError
from dba_admin.local_pg import EmbeddedPostgres
from dba_admin.migrations import apply_local_compat, apply_migrations, discover_migrations
from dba_admin.paths import SQL_DIR

FIRST_ADMIN_BANNER = "First admin created"


def _cli_env(data_dir: Path, *, load_demo: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "READONLY_DATABASE_URL"}}
    env["DBA_ADMIN_DATA_DIR"] = str(data_dir)
    env["DBA_ADMIN_LOAD_DEMO"] = "true" if load_demo else "false"
    return env


@pytest.mark.parametrize("round_no", range(4))
def test_two_migrate_processes_on_a_fresh_data_dir(test_root: Path, round_no: int) -> None:
    """Both succeed; the first admin's password is printed exactly once between them.

    Without the demo (it holds its own advisory lock and checks inside it; loading it twice over takes half a
    minute on a 2-CPU machine): cluster creation, start, compat layer, migrations, logins and first admin race here.
    """
    data_dir = test_root / f"twostarts-{round_no}-{time.monotonic_ns()}"
    env = _cli_env(data_dir, load_demo=False)
    command = [sys.executable, "-m", "dba_admin.cli", "migrate"]
    procs = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    try:
        outputs = [proc.communicate(timeout=240) for proc in procs]
        codes = [proc.returncode for proc in procs]
        assert codes == [0, 0], outputs
        assert sum(err.count(FIRST_ADMIN_BANNER) for _, err in outputs) == 1, outputs
        server = EmbeddedPostgres(data_dir)
        # the password both used is the one in the data dir (checked on template1: the workspace is closed to it)
        with psycopg.connect(server.readonly_dsn("template1")) as conn:
            assert conn.execute("select current_user").fetchone() == ("dba_admin_readonly",)
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            psycopg.connect(server.readonly_dsn()).close()
        with psycopg.connect(server.authenticator_dsn()) as conn:
            assert conn.execute("select current_user").fetchone() == ("dba_admin_authenticator",)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        EmbeddedPostgres(data_dir).destroy()


def test_login_password_file_is_created_once_under_a_race(test_root: Path) -> None:
    """Many starts asking for the read-only password at once all get the same one, the one in the file."""
    for attempt in range(20):
        server = EmbeddedPostgres(test_root / f"pwrace-{attempt}-{time.monotonic_ns()}")
        server.secrets_dir.mkdir(parents=True)
        barrier = threading.Barrier(12)
        seen: list[str] = []

        def ask(
            server: EmbeddedPostgres = server, barrier: threading.Barrier = barrier, seen: list[str] = seen
        ) -> None:
            barrier.wait()
            seen.append(server.readonly_password())

        threads = [threading.Thread(target=ask) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stored = server.readonly_password_file.read_text().strip()
        assert stored and set(seen) == {stored}, f"attempt {attempt}: {len(set(seen))} different passwords"
        shutil.rmtree(server.data_dir)


def test_unusable_data_dir_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A data dir whose parent is a regular file fails like a read-only one (chmod does not stop root).
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(blocker / "data"))
    code = main(["migrate"])
    _, err = capsys.readouterr()
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "cannot be used" in err and "DBA_ADMIN_DATA_DIR" in err and "Traceback" not in err


def test_server_that_cannot_start_says_why_at_once(test_root: Path) -> None:
    server = EmbeddedPostgres(test_root / f"badconf-{time.monotonic_ns()}", fast=True)
    try:
        server.ensure_running()
        server.stop()
        auto_conf = server.cluster_dir / "postgresql.auto.conf"
        good = auto_conf.read_text()
        auto_conf.write_text(good + "\nshared_buffers = 'lots'\n")
        with pytest.raises(EmbeddedServerError) as caught:
            server.ensure_running(timeout=120)
        message = str(caught.value)
        assert "failed to start" in message and "shared_buffers" in message, message
        assert "within" not in message, "reported as a failure with its reason, not as a timeout"
        auto_conf.write_text(good)
        server.ensure_running()
        assert server.status() == "running"
    finally:
        server.destroy()


def _tables_and_migrations(dsn: str) -> tuple[set[str], list[str]]:
    with psycopg.connect(dsn) as conn:
        schemas = {str(r[0]) for r in conn.execute("select nspname from pg_namespace").fetchall()}
        versions: list[str] = []
        if "dba_admin" in schemas:
            versions = [str(r[0]) for r in conn.execute("select version from dba_admin.schema_migrations order by 1")]
    return schemas, versions


def test_health_reports_a_pending_migration_and_applies_nothing(
    empty_db_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = discover_migrations()
    newest = files[-1]
    older = tmp_path / "older"
    older.mkdir()
    for migration in files[:-1]:
        shutil.copy(migration.path, older / migration.path.name)
    with psycopg.connect(empty_db_dsn, autocommit=True) as conn:
        apply_local_compat(conn, SQL_DIR / "local")
        apply_migrations(conn, older)
    before = _tables_and_migrations(empty_db_dsn)
    assert newest.version not in before[1]

    monkeypatch.setenv("DATABASE_URL", empty_db_dsn)
    monkeypatch.delenv("READONLY_DATABASE_URL", raising=False)
    code = main(["health", "--json"])
    out, _ = capsys.readouterr()
    report = json.loads(out)
    assert code == 1 and report["ok"] is False and report["reachable"] is True
    assert report["migrations_pending"] == [newest.label]
    assert any("pending" in m and "dba-admin migrate" in m for m in report["messages"])
    code = main(["health"])
    out, _ = capsys.readouterr()
    assert code == 1 and newest.label in out

    code = main(["tables", "--json"])  # a read-only command: works, names the pending migration, applies nothing
    out, err = capsys.readouterr()
    assert code == 0 and json.loads(out) is not None
    assert newest.label in err and "dba-admin migrate" in err
    assert _tables_and_migrations(empty_db_dsn) == before


def test_read_only_commands_never_prepare_a_database(
    empty_db_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_db_dsn)
    before = _tables_and_migrations(empty_db_dsn)
    for args in (["tables"], ["sql", "select 1", "--read-only"], ["advise"], ["user", "list"], ["trash", "list"]):
        code = main(args)
        _, err = capsys.readouterr()
        assert code == 2, args
        assert "run `dba-admin migrate` first" in err, err
    code = main(["health", "--json"])
    out, _ = capsys.readouterr()
    assert code == 1 and json.loads(out)["migrations_pending"]
    assert _tables_and_migrations(empty_db_dsn) == before, "nothing was created"


def test_health_does_not_start_or_create_the_embedded_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "never-made"
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(data_dir))
    code = main(["health", "--json"])
    out, _ = capsys.readouterr()
    report = json.loads(out)
    assert code == 1 and report["reachable"] is False
    assert "dba-admin migrate" in report["messages"][0]
    assert not data_dir.exists(), "health created nothing"
