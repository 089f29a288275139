"""The fleet (dba_admin/fleet.py) on real servers: several connections probed in parallel, a dead one and a slow one.

Three databases on the suite's server are registered as connections (superuser DSNs as their monitor login, for
setting up tables; the demo connection's real pg_monitor login is probed too). The dead one is a closed port; the
slow one a TCP server that accepts and never answers. Nothing is mocked; no assertion is about timing beyond
"the call returns and says so".
"""

from __future__ import annotations

import contextlib
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from db_helpers import Background, user, wait_for_state, workspace_manager
from psycopg import sql

from dba_admin.connections import DEMO_CONNECTION, ConnectionSecrets
from dba_admin.errors import DbaAdminError
from dba_admin.fleet import (
    OK,
    TIMED_OUT,
    UNREACHABLE,
    FleetRow,
    _Abandon,
    check_login,
    collect_fleet,
    collect_visible_fleet,
)
from dba_admin.services import Services

TIMEOUT_S = 3.0
FAKE_PASSWORD = "fleet-s3cret-pw"  # the password of DSNs that never reach a server


class SilentServer:
    """A plain TCP server on loopback that accepts connections and never sends a byte (a server that hangs)."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._held.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()
        for conn in self._held:
            conn.close()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released): connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def services(app_db: Any) -> Iterator[Services]:
    workspace = workspace_manager(app_db)
    built = Services(settings=app_db.settings, db=workspace, embedded=True, dsn=app_db.dsn)
    yield built
    built.close()


@pytest.fixture(scope="module")
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


class Fleet:
    """The connections this module registered: three real databases, a dead one and a slow one."""

    def __init__(self, prefix: str) -> None:
        self.real = [f"{prefix}-{x}" for x in ("a", "b", "c")]
        self.dead = f"{prefix}-dead"
        self.slow = f"{prefix}-slow"
        self.databases = [name.replace("-", "_") for name in self.real]

    @property
    def names(self) -> list[str]:
        return [*self.real, self.dead, self.slow]


@pytest.fixture(scope="module")
def fleet(app_db: Any, services: Services, silent: SilentServer) -> Iterator[Fleet]:
    registered = Fleet(f"fl{uuid.uuid4().hex[:6]}")
    server = app_db.server
    with psycopg.connect(app_db.server.dsn(), autocommit=True) as conn:
        for database in registered.databases:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
    registry = services.registry
    dba_only = ("admin", "dba")
    try:
        for name, database in zip(registered.real, registered.databases, strict=True):
            registry.add(name, ConnectionSecrets(server.dsn(dbname=database)), actor="tests", roles=dba_only)
        registry.add(
            registered.dead,
            ConnectionSecrets(f"postgresql://monitor:{FAKE_PASSWORD}@127.0.0.1:{closed_port()}/gone"),
            actor="tests",
            roles=dba_only,
        )
        registry.add(
            registered.slow,
            ConnectionSecrets(f"host=127.0.0.1 port={silent.port} dbname=hangs user=monitor password={FAKE_PASSWORD}"),
            actor="tests",
            roles=dba_only,
        )
        yield registered
    finally:
        for name in registered.names:
            with contextlib.suppress(DbaAdminError):  # never registered (setup failed midway)
                registry.remove(name, actor="tests")
        with psycopg.connect(app_db.server.dsn(), autocommit=True) as conn:
            for database in registered.databases:
                conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(database)))


@pytest.fixture(scope="module")
def rows(services: Services, fleet: Fleet) -> dict[str, FleetRow]:
    """One collection of the whole module's fleet, plus the demo connection (its real pg_monitor login)."""
    collected = collect_fleet(services, [*fleet.names, DEMO_CONNECTION], timeout_s=TIMEOUT_S)
    return {row.name: row for row in collected}


def test_reachable_connections_have_their_figures(rows: dict[str, FleetRow], fleet: Fleet) -> None:
    for name, database in zip(fleet.real, fleet.databases, strict=True):
        row = rows[name]
        assert row.status == OK, row.reason
        assert row.reachable and row.database == database
        assert row.server_version and row.server_version[0].isdigit()
        assert row.size_bytes and row.size_bytes > 1_000_000
        assert row.max_connections and row.connections_used and 1 <= row.connections_used <= row.max_connections
        assert row.cache_hit_ratio is None or 0.0 <= row.cache_hit_ratio <= 1.0
        assert row.findings is not None and set(row.findings) == {"ERROR", "WARN", "INFO"}
        assert 0 < row.checks_run <= row.checks_total
        assert row.host and "/" in row.host


def test_the_demo_is_probed_with_its_monitor_login(rows: dict[str, FleetRow]) -> None:
    row = rows[DEMO_CONNECTION]
    assert row.status == OK, row.reason
    assert row.database == "petcare" and row.size_bytes
    assert row.findings is not None and sum(row.findings.values()) >= 1, "the demo has findings on purpose"
    assert row.swept_runs is None, "same-cluster runs are swept by the workspace itself"


def test_a_dead_and_a_slow_connection_say_so_without_their_dsn(
    rows: dict[str, FleetRow], fleet: Fleet, app_db: Any
) -> None:
    dead, slow = rows[fleet.dead], rows[fleet.slow]
    assert dead.status == UNREACHABLE and dead.reason and "refused" in dead.reason
    assert slow.status == TIMED_OUT and slow.reason
    assert dead.findings is None and slow.size_bytes is None
    superuser_password = app_db.server.superuser_password_file.read_text().strip()
    shown = repr(list(rows.values())) + repr([r.to_dict() for r in rows.values()])
    assert FAKE_PASSWORD not in shown and superuser_password not in shown


def test_the_slow_one_does_not_hold_the_others(services: Services, fleet: Fleet) -> None:
    """Two slow probes and the rest: the call returns, every row is there, and the real ones are ok."""
    collected = collect_fleet(services, [fleet.slow, fleet.dead, *fleet.real], timeout_s=2.0, advisors=False)
    by_name = {r.name: r.status for r in collected}
    assert [r.name for r in collected] == [fleet.slow, fleet.dead, *fleet.real], "rows keep the order asked"
    assert by_name[fleet.slow] == TIMED_OUT and by_name[fleet.dead] == UNREACHABLE
    assert all(by_name[name] == OK for name in fleet.real)
    assert all(r.findings is None for r in collected), "advisors off: no counts"


def test_longest_running_query_and_last_snapshot(services: Services, fleet: Fleet, app_db: Any) -> None:
    name, database = fleet.real[0], fleet.databases[0]
    with psycopg.connect(app_db.dsn, autocommit=True) as conn:
        taken = conn.execute(
            "insert into dba_admin.snapshots (database_name, database_size_bytes, connection_name)"
            " values (%s, 1, %s) returning taken_at",
            (database, name),
        ).fetchone()
    assert taken is not None
    sleeper = Background(app_db.server.dsn(dbname=database), "select pg_sleep(60)").start(app_db.server.dsn())
    try:
        (row,) = collect_fleet(services, [name], timeout_s=TIMEOUT_S, advisors=False)
    finally:
        with psycopg.connect(app_db.server.dsn(), autocommit=True) as conn:
            conn.execute("select pg_cancel_backend(%s)", (sleeper.pid,))
        sleeper.join()
    assert row.longest_query_pid == sleeper.pid
    assert row.longest_query_s is not None and row.longest_query_s >= 0
    assert row.last_snapshot_at == taken[0]


def test_muted_findings_are_not_counted(services: Services, fleet: Fleet, app_db: Any) -> None:
    name, database = fleet.real[1], fleet.databases[1]
    with psycopg.connect(app_db.server.dsn(dbname=database), autocommit=True) as conn:
        conn.execute("create table if not exists public.no_key (v int)")
    (before,) = collect_fleet(services, [name], timeout_s=TIMEOUT_S, advisors_max_age_s=0)  # sees the new table
    assert before.findings is not None and before.checks_run == before.checks_total
    key = "no_primary_key_public_no_key"
    with psycopg.connect(app_db.dsn, autocommit=True) as conn:
        conn.execute(
            "insert into dba_admin.muted_findings (connection_name, cache_key, muted_by) values (%s, %s, 'tests')",
            (name, key),
        )
    try:
        (after,) = collect_fleet(services, [name], timeout_s=TIMEOUT_S)  # the kept run, with today's mutes
    finally:
        with psycopg.connect(app_db.dsn, autocommit=True) as conn:
            conn.execute("delete from dba_admin.muted_findings where connection_name = %s", (name,))
    assert after.findings is not None
    assert after.advisors_at == before.advisors_at
    assert sum(after.findings.values()) == sum(before.findings.values()) - 1


def _run_row(dsn: str, banco: str, pid: int, backend_start: Any, *, age_s: int) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "insert into public.execucoes_scripts (sql_executado, executado_por, status, banco, backend_pid,"
            " backend_start, started_at, finished_at)"
            " values ('select 1', 'fleet-tests@example.com', 'running', %s, %s, %s,"
            " now() - make_interval(secs => %s), null) returning id",
            (banco, pid, backend_start, age_s),
        ).fetchone()
    assert row is not None
    return int(row[0])


def _status(dsn: str, run_id: int) -> str:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("select status from public.execucoes_scripts where id = %s", (run_id,)).fetchone()
    assert row is not None
    return str(row[0])


def test_runs_left_running_on_a_remote_connection_are_swept(services: Services, fleet: Fleet, app_db: Any) -> None:
    name, database = fleet.real[2], fleet.databases[2]
    idle = Background(app_db.server.dsn(dbname=database), "select pg_sleep(60)").start(app_db.server.dsn())
    try:
        with psycopg.connect(app_db.server.dsn(), autocommit=True) as conn:
            started = conn.execute("select backend_start from pg_stat_activity where pid = %s", (idle.pid,))
            live_start = started.fetchone()[0]  # type: ignore[index]
        dead_run = _run_row(app_db.dsn, name, 2_000_000_000, None, age_s=600)
        live_run = _run_row(app_db.dsn, name, idle.pid or 0, live_start, age_s=600)
        recent_run = _run_row(app_db.dsn, name, 2_000_000_001, None, age_s=0)
        (row,) = collect_fleet(services, [name], timeout_s=TIMEOUT_S, advisors=False)
        assert row.swept_runs == 1
        assert _status(app_db.dsn, dead_run) == "interrupted"
        assert _status(app_db.dsn, live_run) == "running", "its backend is alive on that server"
        assert _status(app_db.dsn, recent_run) == "running", "it may have started after the backends were read"
    finally:
        with psycopg.connect(app_db.server.dsn(), autocommit=True) as conn:
            conn.execute("select pg_cancel_backend(%s)", (idle.pid,))
        idle.join()
        with psycopg.connect(app_db.dsn, autocommit=True) as conn:  # leave nothing "running" behind
            conn.execute("select dba_admin.mark_interrupted_runs_on(%s, '[]'::jsonb)", (name,))


def test_no_sweep_when_the_connection_is_not_reached(services: Services, fleet: Fleet, app_db: Any) -> None:
    run = _run_row(app_db.dsn, fleet.dead, 2_000_000_002, None, age_s=600)
    try:
        (row,) = collect_fleet(services, [fleet.dead], timeout_s=TIMEOUT_S, advisors=False)
        assert row.status == UNREACHABLE and row.swept_runs is None
        assert _status(app_db.dsn, run) == "running", "an unreachable server says nothing about its backends"
    finally:
        with psycopg.connect(app_db.dsn, autocommit=True) as conn:
            conn.execute("select dba_admin.mark_interrupted_runs_on(%s, '[]'::jsonb)", (fleet.dead,))


def test_rls_decides_which_rows_a_user_gets(services: Services, fleet: Fleet) -> None:
    analyst = user("fleet-analyst", "analyst")
    granted = fleet.real[0]
    services.registry.set_access(granted, actor="tests", users=[analyst.email])
    try:
        collected = collect_visible_fleet(services, analyst, timeout_s=TIMEOUT_S, advisors=False)
    finally:
        services.registry.set_access(granted, actor="tests", users=[])
    names = {row.name for row in collected}
    assert granted in names
    assert not names & {*fleet.real[1:], fleet.dead, fleet.slow}, "rows of connections not granted to him"

    dba = user("fleet-dba", "dba")
    assert set(fleet.names) <= set(services.registry.visible_names(dba))


def test_check_login_says_who_and_never_the_password(app_db: Any, silent: SilentServer) -> None:
    good = check_login(app_db.demo_monitor_dsn, timeout_s=TIMEOUT_S)
    assert good.ok and good.database == "petcare" and not good.is_superuser and not good.warnings
    superuser = check_login(app_db.server.dsn(), timeout_s=TIMEOUT_S)
    assert superuser.ok and superuser.is_superuser and "superuser" in superuser.warnings[0]
    refused = check_login(f"postgresql://u:{FAKE_PASSWORD}@127.0.0.1:{closed_port()}/x", timeout_s=2)
    assert not refused.ok and refused.reason and FAKE_PASSWORD not in refused.reason
    malformed = check_login(f"postgresql:/u:{FAKE_PASSWORD}@host/x bad= =", timeout_s=2)
    assert not malformed.ok and malformed.reason and FAKE_PASSWORD not in malformed.reason
    assert "not valid" in malformed.reason
    hangs = check_login(f"host=127.0.0.1 port={silent.port} user=u password={FAKE_PASSWORD}", timeout_s=2)
    assert not hangs.ok and hangs.reason and "time limit" in hangs.reason


def test_a_probe_given_up_on_does_not_keep_its_thread(app_db: Any) -> None:
    """A server that stops answering mid-statement (frozen): giving up shuts the socket, and the thread ends."""
    guard = _Abandon()
    conn = psycopg.connect(app_db.server.dsn(), autocommit=True)
    guard.attach(conn)
    pid = conn.info.backend_pid
    failures: list[BaseException] = []

    def blocked() -> None:
        try:
            conn.execute("select pg_sleep(30)")
        except psycopg.Error as exc:
            failures.append(exc)
        finally:
            guard.close()

    thread = threading.Thread(target=blocked, daemon=True)
    thread.start()
    try:
        wait_for_state(app_db.server.dsn(), pid, "active")
        guard.abandon()
        thread.join(10)
        assert not thread.is_alive(), "the thread still waits on a server that does not answer"
        assert failures and conn.closed
    finally:
        with psycopg.connect(app_db.server.dsn(), autocommit=True) as admin:
            admin.execute("select pg_cancel_backend(%s)", (pid,))


def test_advisor_runs_are_reused_for_a_while(services: Services, fleet: Fleet) -> None:
    name = fleet.real[0]
    (first,) = collect_fleet(services, [name], timeout_s=TIMEOUT_S, advisors_max_age_s=0)
    (again,) = collect_fleet(services, [name], timeout_s=TIMEOUT_S)
    assert first.advisors_at is not None and again.advisors_at == first.advisors_at, "the last run is reused"
    assert again.findings == first.findings
    (fresh,) = collect_fleet(services, [name], timeout_s=TIMEOUT_S, advisors_max_age_s=0)
    assert fresh.advisors_at is not None and fresh.advisors_at > first.advisors_at
