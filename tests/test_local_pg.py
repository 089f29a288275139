"""The embedded default: create, reuse, recover from a killed run, psql-usable DSN, no loosened folders."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from dba_admin.errors import EmbeddedServerError
from dba_admin.local_pg import EmbeddedPostgres, PgBinaries, find_binaries


@pytest.fixture
def own_server(test_root: Path) -> EmbeddedPostgres:
    data_dir = test_root / f"own-{time.monotonic_ns()}"
    server = EmbeddedPostgres(data_dir, fast=True)
    yield server
    server.destroy()


def test_prefers_installed_postgres_with_pg_stat_statements() -> None:
    binaries = find_binaries()
    if Path("/usr/lib/postgresql").exists():
        assert binaries.source == "system"
        assert binaries.has_pg_stat_statements
    assert (binaries.bin_dir / "postgres").is_file()


def test_first_start_then_reuse(own_server: EmbeddedPostgres) -> None:
    assert own_server.status() == "not initialized"
    dsn = own_server.ensure_running()
    with psycopg.connect(dsn) as conn:
        pid = conn.execute("select pg_backend_pid()").fetchone()
        postmaster_start = conn.execute("select pg_postmaster_start_time()").fetchone()
    assert pid is not None
    # A second call (another process, a restart of the app) reuses the running server.
    again = EmbeddedPostgres(own_server.data_dir, fast=True).ensure_running()
    with psycopg.connect(again) as conn:
        assert conn.execute("select pg_postmaster_start_time()").fetchone() == postmaster_start


def test_pg_stat_statements_is_preloaded(own_server: EmbeddedPostgres) -> None:
    if not own_server.binaries.has_pg_stat_statements:
        pytest.skip("pgserver's bundled PostgreSQL has no contrib")  # only on machines without PostgreSQL
    with psycopg.connect(own_server.ensure_running()) as conn:
        assert "pg_stat_statements" in conn.execute("show shared_preload_libraries").fetchone()[0]


def test_server_left_by_killed_run_is_recovered(own_server: EmbeddedPostgres) -> None:
    own_server.ensure_running()
    pid = int((own_server.cluster_dir / "postmaster.pid").read_text().split()[0])
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.3)
    assert own_server.status() == "stopped"
    started = time.monotonic()
    dsn = own_server.ensure_running()
    with psycopg.connect(dsn) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
    assert time.monotonic() - started < 30  # recovered, did not hang on the stale lock files


def test_stale_pid_file_of_a_dead_process_is_cleared(own_server: EmbeddedPostgres) -> None:
    own_server.ensure_running()
    own_server.stop()
    # Leave a pid file that names a process that no longer exists, as a power cut would.
    pid_file = own_server.cluster_dir / "postmaster.pid"
    proc = subprocess.Popen(["true"])
    proc.wait()
    pid_file.write_text(f"{proc.pid}\n{own_server.cluster_dir}\n")
    dsn = own_server.ensure_running()
    with psycopg.connect(dsn) as conn:
        assert conn.execute("select 2").fetchone() == (2,)


def test_dsn_works_with_psql(own_server: EmbeddedPostgres) -> None:
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("psql client not installed")
    dsn = own_server.ensure_running()
    out = subprocess.run([psql, dsn, "-Atc", "select 40 + 2"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "42"


def test_secrets_are_private_and_parents_untouched(own_server: EmbeddedPostgres, test_root: Path) -> None:
    parent_mode_before = stat.S_IMODE(test_root.stat().st_mode)
    tmp_mode_before = stat.S_IMODE(Path("/tmp").stat().st_mode)
    own_server.ensure_running()
    assert stat.S_IMODE(own_server.superuser_password_file.stat().st_mode) == 0o600
    own_server.readonly_password()
    assert stat.S_IMODE(own_server.readonly_password_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(own_server.cluster_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(test_root.stat().st_mode) == parent_mode_before
    assert stat.S_IMODE(Path("/tmp").stat().st_mode) == tmp_mode_before


def test_wrong_password_is_refused(own_server: EmbeddedPostgres) -> None:
    own_server.ensure_running()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(own_server.dsn(password="not-the-password"), connect_timeout=5)


def test_missing_binaries_give_a_clear_error(test_root: Path) -> None:
    broken = EmbeddedPostgres(
        test_root / "broken", binaries=PgBinaries(test_root / "nowhere", "system", has_pg_stat_statements=False)
    )
    with pytest.raises(EmbeddedServerError, match=r"initdb failed|No such file|not"):
        broken.ensure_running()
    shutil.rmtree(test_root / "broken", ignore_errors=True)


def test_stop_is_idempotent(own_server: EmbeddedPostgres) -> None:
    own_server.stop()  # never started: no-op
    own_server.ensure_running()
    own_server.stop()
    own_server.stop()
    assert own_server.status() == "stopped"


def test_pip_only_fallback_runs_pgserver_bundle(test_root: Path) -> None:
    """With no installed PostgreSQL, pgserver's bundled server runs (as the unprivileged user when root)."""
    from dba_admin.local_pg import _has_pg_stat_statements, _pgserver_bin_dir, _reachable_copy

    bundled = _pgserver_bin_dir()
    if bundled is None:
        pytest.skip("pgserver has no wheel for this Python")  # pyproject installs it on 3.11/3.12
    if os.geteuid() == 0:
        bundled = _reachable_copy(bundled)
    binaries = PgBinaries(bundled, "pgserver", _has_pg_stat_statements(bundled))
    server = EmbeddedPostgres(test_root / "pip-only", fast=True, binaries=binaries)
    try:
        with psycopg.connect(server.ensure_running()) as conn:
            version = conn.execute("show server_version").fetchone()
        assert version is not None and version[0].startswith("16")
    finally:
        server.destroy()
