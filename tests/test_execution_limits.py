"""Limits on user SQL that SQL cannot lift (issue 10 §2-3), against the suite's real PostgreSQL.

The app's own statement timeout, the per-user cap on concurrent runs, "busy" instead of "unreachable",
the byte cap per result, and errors raised while rows are fetched.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from db_helpers import demo_manager, scratch_connection, workspace_manager

from dba_admin.config import Settings, load_settings
from dba_admin.database import DatabaseManager, StatementResult
from dba_admin.errors import QueryError, QueryRefused

READONLY_ROLE = "dba_admin_readonly"


def claims_for(name: str) -> dict[str, str]:
    return {"sub": str(uuid.uuid4()), "email": f"{name}@example.test", "role": "authenticated", "app_role": "analyst"}


def manager(app_db: Any, **overrides: Any) -> DatabaseManager:
    """Connection demo as another app server would open it (its monitor login), with these settings."""
    pool_timeout = overrides.pop("pool_timeout", 15.0)
    settings = app_db.settings.with_overrides(**overrides)
    return demo_manager(app_db, settings, monitor=True, pool_timeout=pool_timeout)


class Sleeper:
    """A read-only run that sleeps in a thread, as another browser tab of a user would."""

    def __init__(self, db: DatabaseManager, claims: dict[str, str] | None) -> None:
        self.results: list[StatementResult] = []
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(db, claims), daemon=True)
        self._thread.start()

    def _run(self, db: DatabaseManager, claims: dict[str, str] | None) -> None:
        try:
            self.results = db.execute_query("select pg_sleep(60)", read_only=True, claims=claims, timeout_ms=90_000)
        except BaseException as exc:
            self.error = exc

    def join(self) -> None:
        self._thread.join(30)
        assert not self._thread.is_alive()


def sleeping(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "select count(*) from pg_stat_activity where usename = %s and wait_event = 'PgSleep'", (READONLY_ROLE,)
        ).fetchone()
        assert row is not None
        return int(row[0])


def wait_sleeping(dsn: str, n: int) -> None:
    deadline = time.monotonic() + 20
    while sleeping(dsn) < n:
        assert time.monotonic() < deadline, f"{n} read-only sleepers never started"
        time.sleep(0.05)


def wake_all(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "select pg_cancel_backend(pid) from pg_stat_activity where usename = %s and wait_event = 'PgSleep'",
            (READONLY_ROLE,),
        )


@pytest.fixture
def sleepers(app_db: Any) -> Iterator[list[Sleeper]]:
    started: list[Sleeper] = []
    yield started
    wake_all(app_db.dsn)
    for s in started:
        s.join()


# --- 1. the app's own statement timeout ------------------------------------------------------------------------


@pytest.fixture
def lift_function(app_db: Any) -> Iterator[str]:
    """A function of the demo database that lifts the statement timeout for the rest of the transaction, owned by
    the superuser (security definer), callable by the read-only role: the guard cannot see inside it."""
    with psycopg.connect(app_db.demo_dsn, autocommit=True) as conn:
        conn.execute("create schema if not exists exec_limits")
        conn.execute(f"grant usage on schema exec_limits to {READONLY_ROLE}")
        conn.execute(
            "create or replace function exec_limits.f_lift() returns void language plpgsql security definer"
            " as $$ begin perform pg_catalog.set_config('statement_timeout', '0', true); end $$"
        )
        conn.execute(f"grant execute on function exec_limits.f_lift() to {READONLY_ROLE}")
    yield "exec_limits.f_lift()"
    with psycopg.connect(app_db.demo_dsn, autocommit=True) as conn:
        conn.execute("drop schema exec_limits cascade")


def test_a_statement_past_a_lifted_server_timeout_is_cancelled_by_the_app(
    db: DatabaseManager, lift_function: str
) -> None:
    # Statement 1 sets statement_timeout = 0 for the transaction; PostgreSQL would let statement 2 sleep 10 s.
    started = time.monotonic()
    lifted, slept = db.execute_query(f"select {lift_function}; select pg_sleep(10)", read_only=True, timeout_ms=1000)
    elapsed = time.monotonic() - started
    assert lifted.status == "ok"
    assert slept.status == "error" and slept.error is not None
    assert slept.error.sqlstate == "57014"
    assert "statement timeout" in slept.error.message and "1000 ms" in slept.error.message
    assert elapsed < 8, f"not cancelled: the run took {elapsed:.1f} s"  # about 2 s: the limit plus a grace second
    (after,) = db.execute_query("select 1 as one", read_only=True)  # the connection is clean again
    assert after.ok


def test_the_server_timeout_still_speaks_for_itself(db: DatabaseManager) -> None:
    (res,) = db.execute_query("select pg_sleep(10)", read_only=True, timeout_ms=300)
    assert res.error is not None and res.error.sqlstate == "57014"
    assert "enforced by the app" not in res.error.message  # PostgreSQL's own timeout fired first


# --- 2. one user cannot exhaust the read-only pool -----------------------------------------------------------


def test_a_user_runs_at_most_two_queries_at_once(app_db: Any, db: DatabaseManager, sleepers: list[Sleeper]) -> None:
    ana, bob = claims_for("ana"), claims_for("bob")
    sleepers += [Sleeper(db, ana), Sleeper(db, ana)]
    wait_sleeping(app_db.dsn, 2)
    with pytest.raises(QueryRefused) as refused:
        db.execute_query("select 1", read_only=True, claims=ana)
    assert "you already have 2 queries running; wait for one to finish or cancel it" in refused.value.info.message
    # another app server (its own manager, its own process state) sees the same cap: advisory locks in PostgreSQL
    other_server = manager(app_db)
    try:
        with pytest.raises(QueryRefused, match="you already have 2 queries running"):
            other_server.execute_query("select 1", read_only=True, claims=ana)
        with pytest.raises(QueryRefused, match="you already have 2 queries running"):
            other_server.explain("select 1", read_only=True, claims=ana)
        (res,) = other_server.execute_query("select 1 as one", read_only=True, claims=bob)  # others are not held up
        assert res.ok
    finally:
        other_server.close()
    wake_all(app_db.dsn)
    for s in sleepers:
        s.join()
        assert s.error is None and s.results[0].error is not None  # cancelled, reported as an error
    (res,) = db.execute_query("select 1 as one", read_only=True, claims=ana)  # the slots were given back
    assert res.ok


def test_a_full_pool_is_busy_not_unreachable(app_db: Any, sleepers: list[Sleeper]) -> None:
    small = manager(app_db, pool_max_size=2, pool_timeout=1.0)  # read-only pool: 2 connections
    try:
        sleepers += [Sleeper(small, claims_for("ana")), Sleeper(small, claims_for("bob"))]
        wait_sleeping(app_db.dsn, 2)
        with pytest.raises(QueryError) as busy:
            small.execute_query("select 1", read_only=True, claims=claims_for("carla"))
        info = busy.value.info
        assert info.message == "busy: all 2 read-only connections are in use, try again in a moment"
        assert "PostgreSQL is running" not in (info.hint or "")
        wake_all(app_db.dsn)
        for s in sleepers:
            s.join()
    finally:
        small.close()


def test_a_dead_server_is_still_unreachable(app_db: Any, tmp_path: Path) -> None:
    dead = DatabaseManager(
        app_db.settings,
        app_db.demo_monitor_dsn,
        f"host={tmp_path} port=1 user=nobody dbname=none",
        name="dead",
        workspace=workspace_manager(app_db),
        own_workspace=True,
        pool_timeout=1.0,
    )
    try:
        with pytest.raises(QueryError) as down:
            dead.execute_query("select 1", read_only=True)
        assert "cannot get a database connection" in down.value.info.message
        assert "busy" not in down.value.info.message
    finally:
        dead.close()


# --- 3. a byte cap per result --------------------------------------------------------------------------------


def test_fetching_stops_at_the_byte_cap_and_says_so(app_db: Any) -> None:
    capped = manager(app_db, max_result_bytes=1_000_000)
    try:
        wide, after = capped.execute_query(
            "select repeat('x', 300000) as big from generate_series(1, 20); select 1 as one", read_only=True
        )
    finally:
        capped.close()
    assert wide.ok and wide.row_count == 3  # a fourth 300 KB row would pass 1,000,000 bytes
    assert wide.cut_at_bytes == 1_000_000 and 900_000 <= wide.bytes_held <= 1_000_000
    assert not wide.truncated  # the row cap did not cut it
    assert wide.size_cut_notice is not None and "Size cap reached" in wide.size_cut_notice
    assert after.ok  # a cut result is not an error: the run goes on


def test_narrow_rows_are_not_cut_by_bytes(db: DatabaseManager) -> None:
    (res,) = db.execute_query("select g, md5(g::text) from generate_series(1, 25000) g", read_only=True)
    assert res.row_count == db.settings.max_rows and res.truncated
    assert res.cut_at_bytes is None and res.size_cut_notice is None and res.bytes_held > 0
    assert list(res.rows.iloc[:3, 0]) == [1, 2, 3]


def test_a_returning_write_is_cut_by_bytes_but_runs_to_the_end(app_db: Any, empty_db_dsn: str) -> None:
    settings = app_db.settings.with_overrides(max_result_bytes=1_000_000)
    scratch = scratch_connection(app_db, empty_db_dsn, settings)
    try:
        create, insert, count = scratch.execute_query(
            "create table t (x text); insert into t select repeat('y', 300000) from generate_series(1, 20) returning x;"
            " select count(*) as n from t",
            read_only=False,
        )
    finally:
        scratch.close()
    assert create.ok and insert.ok and count.ok
    assert insert.row_count == 3 and insert.cut_at_bytes == 1_000_000 and insert.affected_rows == 20
    assert count.rows.iloc[0, 0] == 20


def test_byte_cap_settings() -> None:
    assert Settings().max_result_bytes == 67_108_864
    assert Settings().max_concurrent_runs_per_user == 2
    loaded = load_settings(env={"MAX_RESULT_BYTES": "1000", "MAX_CONCURRENT_RUNS_PER_USER": "3"}, secrets={})
    assert loaded.max_result_bytes == 1000 and loaded.max_concurrent_runs_per_user == 3


# --- 4. an error while rows are fetched is an error ------------------------------------------------------------

FETCH_ERRORS = [
    ("select 1/(g-2) as x from generate_series(1, 3) g", "22012"),
    ("select ('2020-01-' || g)::date as d from generate_series(30, 33) g", "22008"),
]


@pytest.mark.parametrize(("query", "sqlstate"), FETCH_ERRORS)
def test_an_error_on_a_later_row_is_an_error_read_only(db: DatabaseManager, query: str, sqlstate: str) -> None:
    failed, later = db.execute_query(f"{query}; select 1 as one", read_only=True)
    assert failed.status == "error" and failed.error is not None
    assert failed.error.sqlstate == sqlstate
    assert later.status == "not_run"


@pytest.mark.parametrize(("query", "sqlstate"), FETCH_ERRORS)
def test_an_error_on_a_later_row_is_an_error_write_mode(
    app_db: Any, empty_db_dsn: str, query: str, sqlstate: str
) -> None:
    scratch = scratch_connection(app_db, empty_db_dsn)
    try:
        create, failed, insert = scratch.execute_query(
            f"create table t (x int); {query}; insert into t values (1)", read_only=False
        )
        assert create.ok
        assert failed.status == "error" and failed.error is not None and failed.error.sqlstate == sqlstate
        assert insert.status == "not_run"
        (count,) = scratch.execute_query("select count(*) from t", read_only=False)
        assert count.rows.iloc[0, 0] == 0  # nothing after the error ran
    finally:
        scratch.close()


def test_values_python_cannot_hold_still_show_as_text_on_any_row(db: DatabaseManager) -> None:
    (res,) = db.execute_query(
        "select g, case when g % 3 = 0 then 'infinity'::timestamp else timestamp '2020-01-01' end as at"
        " from generate_series(1, 40) g",
        read_only=True,
    )
    assert res.ok and res.row_count == 40
    assert [str(v) for v in res.rows["at"][:3]] == ["2020-01-01 00:00:00", "2020-01-01 00:00:00", "infinity"]
