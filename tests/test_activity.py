"""Live activity against a real server: sessions and flags, blocking chains from a real row lock, cancel and
terminate (with their audit rows), the refusals, and the registry that shows a cursor run's real statement.

Connection `demo` as the app uses it: sessions are listed with the monitor login, signals are sent with the DBA
login (a member of pg_signal_backend, so it may signal the demo's non-superuser sessions), and the audit rows land
in the workspace (``app_db.dsn``)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from db_helpers import Background, audit_rows, demo_manager, wait_for_state, workspace_manager

from dba_admin import activity
from dba_admin.activity import (
    RunRegistry,
    blocking_chains,
    blocking_dot,
    build_report,
    cancel_backend,
    list_sessions,
    sessions_frame,
    terminate_backend,
)
from dba_admin.database import DatabaseManager
from dba_admin.errors import ConfigError, NotFound, QueryRefused


@pytest.fixture(scope="module")
def db(app_db: Any) -> Iterator[DatabaseManager]:
    """Connection `demo` on its real monitor login (plus its read-only and DBA logins)."""
    manager = demo_manager(app_db, monitor=True)
    yield manager
    manager.close()


def test_running_query_is_listed_flagged_and_cancelled_with_57014(db: DatabaseManager, app_db: Any) -> None:
    sleeper = Background(app_db.demo_readonly_dsn, "select pg_sleep(30)").start(app_db.dsn)
    sessions = {s.pid: s for s in list_sessions(db, long_running_seconds=0)}
    me = sessions[sleeper.pid]  # type: ignore[index]
    assert me.state == "active"
    assert me.application == sleeper.application
    assert "pg_sleep(30)" in me.query and me.display_query == me.query
    assert me.long_running, "active for longer than a 0 s threshold"
    assert not me.idle_in_transaction and not me.is_app_query and not me.is_self
    assert me.client == "local socket"
    assert any(s.is_self and s.is_app_query for s in sessions.values()), "the listing query is the app's own"
    assert not {s.pid: s for s in list_sessions(db, long_running_seconds=3600)}[me.pid].long_running

    result = cancel_backend(db, me.pid, actor="dba-tester")
    assert result.signalled and result.action == "cancel"
    sleeper.join()
    assert isinstance(sleeper.error, psycopg.errors.QueryCanceled)
    assert sleeper.error.sqlstate == "57014"
    rows = audit_rows(app_db.dsn, "activity.cancel", me.pid)
    assert len(rows) == 1
    actor, target, details = rows[0]
    assert actor == "dba-tester" and target == f"pid {me.pid}"
    assert details["application"] == sleeper.application and "pg_sleep(30)" in details["query"]
    assert details["connection"] == "demo" and details["database"] == "petcare"


def test_idle_in_transaction_and_app_sessions_are_flagged(db: DatabaseManager, app_db: Any) -> None:
    with (
        psycopg.connect(app_db.dsn, application_name="idle-tx-test") as idle,
        psycopg.connect(app_db.dsn, autocommit=True, application_name="dba_admin") as app_conn,
        psycopg.connect(app_db.dsn, autocommit=True, application_name="tagged") as tagged,
    ):
        idle.execute("select 1")  # opens a transaction and leaves it open
        app_conn.execute("select 2")
        tagged.execute("select 3 /* dba_admin */")
        sessions = {s.pid: s for s in list_sessions(db)}
        s_idle = sessions[idle.info.backend_pid]
        assert s_idle.idle_in_transaction and s_idle.state == "idle in transaction"
        assert not s_idle.long_running and s_idle.xact_start is not None
        assert sessions[app_conn.info.backend_pid].is_app_query
        assert sessions[tagged.info.backend_pid].is_app_query
        assert not sessions[idle.info.backend_pid].is_app_query
        without_idle = {s.pid for s in list_sessions(db, include_idle=False)}
        assert app_conn.info.backend_pid not in without_idle, "plain idle sessions can be hidden"
        assert idle.info.backend_pid in without_idle, "idle in transaction is never hidden"
        frame = sessions_frame(list(sessions.values()))
        row = frame[frame["pid"] == idle.info.backend_pid].iloc[0]
        assert bool(row["idle_in_transaction"]) and row["state"] == "idle in transaction"
        assert list(frame.columns) == list(activity.SESSION_COLUMNS)


@pytest.fixture
def locked_table(app_db: Any) -> Iterator[str]:
    """A one-row table in the demo database, owned by its DBA login (dropped after the test)."""
    name = f"locked_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(app_db.demo_dba_dsn, autocommit=True) as setup:
        setup.execute(
            f"create table public.{name} (id int primary key, v int); insert into public.{name} values (1, 0)"
        )
    yield name
    with psycopg.connect(app_db.demo_dba_dsn, autocommit=True) as setup:
        setup.execute(f"drop table if exists public.{name}")


def test_blocking_chain_from_a_row_lock_then_terminate(db: DatabaseManager, app_db: Any, locked_table: str) -> None:
    dsn = app_db.demo_dba_dsn
    holder = psycopg.connect(dsn, application_name="lock-holder")
    try:
        holder.execute(f"update {locked_table} set v = v + 1 where id = 1")  # holds the row lock, transaction open
        waiter = Background(dsn, f"update {locked_table} set v = v + 10 where id = 1 returning v").start(app_db.dsn)
        wait_for_state(app_db.dsn, waiter.pid or 0, "active", wait_event_type="Lock")
        second = Background(dsn, f"update {locked_table} set v = v + 100 where id = 1 returning v").start(app_db.dsn)
        wait_for_state(app_db.dsn, second.pid or 0, "active", wait_event_type="Lock")

        sessions = list_sessions(db)
        report = blocking_chains(db, sessions)
        hpid = holder.info.backend_pid
        assert (waiter.pid, hpid) in report.edges
        assert not report.empty
        root = next(r for r in report.roots if r.pid == hpid)
        assert root.session is not None and root.session.idle_in_transaction
        below = {c.pid for c in root.children} | {g.pid for c in root.children for g in c.children}
        assert {waiter.pid, second.pid} <= below
        by_pid = {s.pid: s for s in sessions}
        assert by_pid[waiter.pid].waiting_on_lock and hpid in by_pid[waiter.pid].blocked_by  # type: ignore[index]
        dot = blocking_dot(report)
        assert f"p{hpid} -> p{waiter.pid}" in dot
        assert any(line.startswith(str(hpid)) for line in report.lines())
        assert any("└─" in line and str(waiter.pid) in line for line in report.lines())

        with pytest.raises(QueryRefused, match="no running query to cancel") as refused:
            cancel_backend(db, hpid, actor="dba-tester")
        assert refused.value.info.hint and "Terminate" in refused.value.info.hint
        assert audit_rows(app_db.dsn, "activity.cancel", hpid) == [], "nothing was done, nothing audited"
        result = terminate_backend(db, hpid, actor="dba-tester")
        assert result.signalled and result.action == "terminate"
        waiter.join()
        second.join()
        assert waiter.error is None and second.error is None, "the holder's transaction rolled back"
        assert sorted([waiter.result[0][0], second.result[0][0]]) == [10, 110]
        with pytest.raises(psycopg.OperationalError):
            holder.execute("select 1")
        rows = audit_rows(app_db.dsn, "activity.terminate", hpid)
        assert len(rows) == 1 and rows[0][2]["application"] == "lock-holder"
        assert blocking_chains(db).empty or all(hpid not in e for e in blocking_chains(db).edges)
    finally:
        holder.close()


def test_a_cycle_still_has_a_root() -> None:
    report = build_report([(1, 2), (2, 1), (3, 1)], {})
    assert [r.pid for r in report.roots] == [1]
    assert [c.pid for c in report.roots[0].children] == [2, 3]
    assert len(report.lines()) == 3


def test_refuses_own_backend_and_missing_pid(app_db: Any) -> None:
    settings = app_db.settings.with_overrides(pool_max_size=1, connection_pool_size=1)
    single = demo_manager(app_db, settings, monitor=True)
    try:
        with single.dba_connection() as conn:  # one DBA connection in the pool: the one that would signal
            row = conn.execute("select pg_backend_pid()").fetchone()
        assert row is not None
        with pytest.raises(QueryRefused, match="own connection"):
            cancel_backend(single, int(row[0]), actor="dba-tester")
        with pytest.raises(QueryRefused):
            terminate_backend(single, int(row[0]), actor="dba-tester")

        gone = psycopg.connect(app_db.demo_readonly_dsn)
        gone_pid = gone.info.backend_pid
        gone.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(s.pid == gone_pid for s in list_sessions(single)):
            time.sleep(0.05)
        with pytest.raises(NotFound, match="no longer exists"):
            cancel_backend(single, gone_pid, actor="dba-tester")
        with pytest.raises(NotFound):
            terminate_backend(single, 2**31 - 1, actor="dba-tester")
        assert audit_rows(app_db.dsn, "activity.cancel", gone_pid) == []
    finally:
        single.close()


def test_signals_need_the_dba_login_and_never_touch_the_connection(app_db: Any) -> None:
    """The monitor login lists sessions but cannot signal: without a DBA login the app says what is needed, sends
    nothing and audits nothing; with it, the audit row is in the workspace, none in the demo database."""
    watcher = DatabaseManager(  # connection demo registered with its monitor login only
        app_db.settings, app_db.demo_monitor_dsn, name="demo", workspace=workspace_manager(app_db), own_workspace=True
    )
    sleeper = Background(app_db.demo_readonly_dsn, "select pg_sleep(30)").start(app_db.dsn)
    try:
        assert sleeper.pid in {s.pid for s in list_sessions(watcher)}
        with pytest.raises(ConfigError, match="DBA login"):
            cancel_backend(watcher, sleeper.pid or 0, actor="dba-tester")
        assert audit_rows(app_db.dsn, "activity.cancel", sleeper.pid or 0) == []
        with demo_manager(app_db, monitor=True) as demo:
            cancel_backend(demo, sleeper.pid or 0, actor="dba-tester")
        sleeper.join()
        assert isinstance(sleeper.error, psycopg.errors.QueryCanceled)
        assert len(audit_rows(app_db.dsn, "activity.cancel", sleeper.pid or 0)) == 1
        with psycopg.connect(app_db.demo_dsn) as conn:
            assert conn.execute("select to_regclass('dba_admin.audit_log')").fetchone() == (None,)
    finally:
        watcher.close()


def test_registry_shows_the_statement_behind_a_cursor_fetch(db: DatabaseManager, app_db: Any) -> None:
    registry = RunRegistry()
    statement = "select pg_sleep(30) as slept /* the user's text */"
    ready = threading.Event()
    errors: list[BaseException] = []
    pid_box: list[int] = []

    def run() -> None:
        try:
            with psycopg.connect(app_db.demo_readonly_dsn, application_name="dba_admin") as conn:
                pid_box.append(conn.info.backend_pid)
                with registry.running(conn.info.backend_pid, statement, user="alice"):
                    ready.set()
                    cur = conn.cursor(name=activity.CURSOR_NAME)
                    cur.execute(statement)
                    cur.fetchmany(10)
        except BaseException as exc:
            errors.append(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(15) and pid_box
    wait_for_state(app_db.dsn, pid_box[0], "active")
    mine = next(s for s in list_sessions(db, registry=registry) if s.pid == pid_box[0])
    assert mine.query.upper().startswith("FETCH") and activity.CURSOR_NAME in mine.query
    assert mine.display_query == statement and mine.run_by == "alice"
    assert mine.is_app_query
    assert registry.get(pid_box[0]) is not None
    cancel_backend(db, pid_box[0], actor="dba-tester")
    thread.join(30)
    assert errors and isinstance(errors[0], psycopg.errors.QueryCanceled)
    assert registry.get(pid_box[0]) is None, "the entry leaves with the run"


def test_cancel_a_users_sql_editor_run(db: DatabaseManager, app_db: Any) -> None:
    """The real path: DatabaseManager.execute_query on the read-only login, cancelled from the activity list."""
    results: list[Any] = []
    thread = threading.Thread(
        target=lambda: results.append(db.execute_query("select pg_sleep(30)", read_only=True)), daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 15
    target = None
    while target is None and time.monotonic() < deadline:
        target = next(
            (
                s
                for s in list_sessions(db)
                if s.state == "active" and s.user == "dba_admin_readonly" and activity.CURSOR_NAME in s.query
            ),
            None,
        )
        time.sleep(0.05)
    assert target is not None, "the run shows as a FETCH on the read-only login"
    assert target.is_app_query
    cancel_backend(db, target.pid, actor="dba-tester")
    thread.join(30)
    (res,) = results[0]
    assert res.status == "error" and res.error is not None and res.error.sqlstate == "57014"
