"""DatabaseManager against the suite's real PostgreSQL: execute, explain, metrics, health, backup, recovery."""

from __future__ import annotations

import csv
import decimal
import io
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from db_helpers import demo_manager, scratch_connection, workspace_manager
from psycopg import sql
from psycopg.types.json import Jsonb

from bench.benchlib import count_round_trips
from dba_admin.config import Settings
from dba_admin.database import DatabaseManager, StatementResult, connection_seems_alive, read_in_one_round_trip
from dba_admin.errors import ConfigError, DbaAdminError, NotFound, QueryError, QueryRefused
from dba_admin.sql_text import Kind

READONLY_ROLE = "dba_admin_readonly"
DBA_ROLE = "dba_admin_dba"


@pytest.fixture
def scratch(app_db: Any, empty_db_dsn: str, tmp_path: Path) -> Iterator[DatabaseManager]:
    """A connection on a brand-new empty database owned by its DBA login (write mode), backups under tmp_path."""
    settings = app_db.settings.with_overrides(data_dir=tmp_path / "data")
    manager = scratch_connection(app_db, empty_db_dsn, settings)
    yield manager
    manager.close()


def run_ok(db: DatabaseManager, text: str, **kwargs: Any) -> list[StatementResult]:
    kwargs.setdefault("read_only", False)
    results = db.execute_query(text, **kwargs)
    failed = [r.error for r in results if r.status == "error"]
    assert not failed, failed
    return results


def scalar(dsn: str, query: sql.Composable | str, params: tuple[Any, ...] = ()) -> Any:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
        assert row is not None
        return row[0]


# --- results and values -------------------------------------------------------------------------


def test_values_come_back_typed_and_displayable(scratch: DatabaseManager) -> None:
    run_ok(scratch, "create type mood as enum ('happy', 'sad')")
    (res,) = run_ok(
        scratch,
        "select '{\"a\": [1, 2]}'::json as j, '{\"b\": null}'::jsonb as jb, array[1, 2, 3] as arr,"
        " array['x', null] as tarr, '\\x00ff10'::bytea as raw, 'Ação 日本 ✓ 🐾' as txt,"
        " 12345.678901234567890::numeric as num, '2024-05-06 07:08:09+00'::timestamptz as ts,"
        " interval '1 mon 2 days' as span, 'happy'::mood as m, null::int as nothing,"
        " 'infinity'::timestamptz as forever",
    )
    assert res.status == "ok" and res.kind == Kind.READ
    row = res.rows.iloc[0]
    assert row["j"] == {"a": [1, 2]}
    assert row["jb"] == {"b": None}
    assert list(row["arr"]) == [1, 2, 3]
    assert list(row["tarr"]) == ["x", None]
    assert row["raw"] == "\\x00ff10"
    assert row["txt"] == "Ação 日本 ✓ 🐾"
    assert row["num"] == decimal.Decimal("12345.678901234567890")
    assert row["ts"] == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert row["span"] == "1 mon 2 days"  # PostgreSQL's own text: a timedelta would make a month 30 days
    assert row["m"] == "happy"
    assert row["forever"] == "infinity"  # Python's datetime cannot hold it; shown as text, not an error
    types = {c.name: c.type_name for c in res.columns}
    assert types["j"] == "json" and types["jb"] == "jsonb" and types["arr"] == "int4[]"
    assert types["raw"] == "bytea" and types["num"] == "numeric" and types["ts"] == "timestamptz"
    assert types["m"] == "mood"  # not psycopg's: named from pg_type
    assert res.rowcount == 1 and not res.truncated


def test_duplicate_column_names_stay_usable(scratch: DatabaseManager) -> None:
    (res,) = run_ok(scratch, "select 1, 2, 3 as a, 4 as a")
    assert [c.name for c in res.columns] == ["?column?", "?column?", "a", "a"]
    assert list(res.rows.columns) == ["?column?", "?column? (2)", "a", "a (2)"]


def test_percent_signs_and_braces_in_user_sql_are_not_placeholders(scratch: DatabaseManager) -> None:
    (res,) = run_ok(scratch, "select '100%' as pct, '{}' as braces, '%s' as s")
    assert res.rows.iloc[0].tolist() == ["100%", "{}", "%s"]


def test_empty_and_comment_only_text_runs_nothing(db: DatabaseManager) -> None:
    for text in ("", "   \n", "-- just a comment", "/* block */ ; ; -- and more\n"):
        assert db.execute_query(text, read_only=True) == []
        assert db.execute_query(text, read_only=False) == []


# --- errors -------------------------------------------------------------------------------------


def test_syntax_error_position_points_into_the_full_text(scratch: DatabaseManager) -> None:
    text = "select 1;\n-- second\nselect 2 as a b_c_d;\nselect 3"
    results = scratch.execute_query(text, read_only=False)
    assert [r.status for r in results] == ["ok", "error", "not_run"]
    err = results[1].error
    assert err is not None and err.sqlstate == "42601"
    assert err.position == text.index("b_c_d") + 1
    assert (results[1].error_line, results[1].error_column) == (3, len("select 2 as a ") + 1)
    assert results[2].rows.empty and results[2].error is None


def test_error_position_in_a_statement_that_is_not_a_cursor(scratch: DatabaseManager) -> None:
    run_ok(scratch, "create table t (a int)")
    text = "select 1;  insert into t valuez (1)"
    results = scratch.execute_query(text, read_only=False)
    err = results[1].error
    assert err is not None and err.sqlstate == "42601"
    assert err.position == text.index("valuez") + 1


def test_unknown_table(db: DatabaseManager) -> None:
    text = "select 1;\nselect * from public.no_such_table_here"
    for read_only in (True, False):
        results = db.execute_query(text, read_only=read_only)
        err = results[1].error
        assert err is not None and err.sqlstate == "42P01"
        assert "no_such_table_here" in err.message
        assert err.position == text.index("public.no_such") + 1
        assert results[1].error_line == 2


def test_statement_timeout_cancels_and_says_what_to_do(db: DatabaseManager) -> None:
    for read_only in (True, False):
        (res,) = db.execute_query("select pg_sleep(10)", read_only=read_only, timeout_ms=200)
        assert res.status == "error"
        assert res.error is not None and res.error.sqlstate == "57014"
        assert "200 ms" in res.error.message
        assert res.error.hint and "timeout" in res.error.hint
        # the connection is fine afterwards
        (after,) = db.execute_query("select 1 as one", read_only=read_only)
        assert after.rows.iloc[0, 0] == 1


def test_a_failed_statement_stops_the_run_but_earlier_ones_are_committed(scratch: DatabaseManager) -> None:
    run_ok(scratch, "create table t (id int primary key)")
    results = scratch.execute_query(
        "insert into t values (1); insert into t values (1); insert into t values (2)", read_only=False
    )
    assert [r.status for r in results] == ["ok", "error", "not_run"]
    assert results[1].error is not None and results[1].error.sqlstate == "23505"
    assert results[1].error.detail and "already exists" in results[1].error.detail
    (count,) = run_ok(scratch, "select count(*) from t")
    assert count.rows.iloc[0, 0] == 1


# --- the row cap --------------------------------------------------------------------------------


def test_ten_million_rows_stay_under_the_cap(db: DatabaseManager) -> None:
    cap = db.settings.max_rows
    (res,) = db.execute_query("select g, g * 2 as twice from generate_series(1, 10000000) g", read_only=True)
    assert res.status == "ok"
    assert res.truncated is True
    assert len(res.rows) == cap
    assert res.rows["g"].iloc[-1] == cap


def test_exactly_max_rows_is_not_truncated(db: DatabaseManager) -> None:
    (res,) = db.execute_query("select generate_series(1, 10)", read_only=True, max_rows=10)
    assert (len(res.rows), res.truncated) == (10, False)
    (res,) = db.execute_query("select generate_series(1, 11)", read_only=True, max_rows=10)
    assert (len(res.rows), res.truncated) == (10, True)


def test_returning_rows_are_capped_but_the_write_completes(scratch: DatabaseManager) -> None:
    run_ok(scratch, "create table t (id int)")
    (res,) = run_ok(scratch, "insert into t select generate_series(1, 2500) returning id", max_rows=10)
    assert res.truncated is True and len(res.rows) == 10
    assert res.affected_rows == 2500
    (count,) = run_ok(scratch, "select count(*) from t")
    assert count.rows.iloc[0, 0] == 2500


def test_affected_rows_and_kinds(scratch: DatabaseManager) -> None:
    results = run_ok(
        scratch,
        "create table t (id int); insert into t select generate_series(1, 5); update t set id = id + 1 where id > 2;"
        " delete from t; drop table t",
    )
    assert [r.kind for r in results] == [Kind.DDL, Kind.WRITE, Kind.WRITE, Kind.DESTRUCTIVE, Kind.DESTRUCTIVE]
    assert [r.affected_rows for r in results[1:4]] == [5, 3, 5]
    assert results[3].destructive_reason == "DELETE without WHERE on t"
    assert results[4].destructive_reason == "DROP TABLE t"
    assert all(r.duration_ms >= 0 for r in results)


# --- read-only mode -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "escape",
    [
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "SET ROLE postgres",
        "SET SESSION AUTHORIZATION postgres",
        "RESET ROLE",
        "RESET ALL",
        "select set_config('role', 'postgres', false)",
        'set request.jwt.claims = \'{"email": "someone@example.com"}\'',
    ],
)
def test_read_only_escapes_are_refused_before_anything_runs(app_db: Any, escape: str) -> None:
    fresh = demo_manager(app_db, monitor=True)
    try:
        before = scalar(app_db.dsn, "select count(*) from pg_stat_activity where usename = %s", (READONLY_ROLE,))
        text = f"select 1;\n{escape};\nselect 2"
        with pytest.raises(QueryRefused) as refused:
            fresh.execute_query(text, read_only=True)
        info = refused.value.info
        assert "statement 2 (line 2)" in info.message
        assert info.position == text.index(escape) + 1
        # nothing reached the database: the read-only login was not even connected
        after = scalar(app_db.dsn, "select count(*) from pg_stat_activity where usename = %s", (READONLY_ROLE,))
        assert after == before
    finally:
        fresh.close()


def test_read_only_runs_as_the_read_only_login_in_a_read_only_transaction(db: DatabaseManager) -> None:
    (res,) = db.execute_query(
        "select current_user as who, current_setting('transaction_read_only') as ro,"
        " current_setting('application_name') as app",
        read_only=True,
    )
    assert res.rows.iloc[0].tolist() == [READONLY_ROLE, "on", "dba_admin"]


def test_writes_in_read_only_mode_are_refused_by_postgresql(db: DatabaseManager, app_db: Any) -> None:
    before = scalar(app_db.demo_dsn, "select count(*) from public.services")
    (res,) = db.execute_query("delete from public.services", read_only=True)
    assert res.kind == Kind.DESTRUCTIVE
    assert res.error is not None and res.error.sqlstate == "25006"
    assert res.error.hint
    assert scalar(app_db.demo_dsn, "select count(*) from public.services") == before


def test_read_only_login_cannot_read_private_tables(db: DatabaseManager, app_db: Any) -> None:
    # On the connection, the app's private schema is not even there: the app's data lives in the workspace.
    (res,) = db.execute_query("select * from dba_admin.users", read_only=True)
    assert res.error is not None and res.error.sqlstate == "42P01"
    # And the same login cannot even connect to the workspace database, let alone read its private tables.
    workspace_db = str(psycopg.conninfo.conninfo_to_dict(app_db.dsn)["dbname"])
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(app_db.server.readonly_dsn(workspace_db), autocommit=True).close()


def test_read_only_without_a_read_only_login_is_a_config_error(app_db: Any) -> None:
    with DatabaseManager(app_db.settings, app_db.dsn) as manager, pytest.raises(ConfigError, match="READONLY"):
        manager.execute_query("select 1", read_only=True)
    # a connection registered with its monitor login only: read-only SQL says the same, and never borrows another
    with (
        DatabaseManager(
            app_db.settings,
            app_db.demo_monitor_dsn,
            name="monitor-only",
            workspace=workspace_manager(app_db),
            own_workspace=True,
        ) as manager,
        pytest.raises(ConfigError, match="READONLY"),
    ):
        manager.execute_query("select 1", read_only=True)


def test_write_mode_runs_as_the_dba_login_never_a_superuser(db: DatabaseManager) -> None:
    (res,) = db.execute_query(
        "select current_user as who, r.rolsuper, r.rolbypassrls, current_database() as db"
        " from pg_roles r where r.rolname = current_user",
        read_only=False,
    )
    assert res.rows.iloc[0].tolist() == [DBA_ROLE, False, False, "petcare"]
    # superuser-only things are refused to it, as on any connection whose DBA login is not a superuser
    for text in (
        "alter system set work_mem = '8MB'",
        "create extension if not exists file_fdw",
        "copy (select 1) to program 'true'",
        "set session_replication_role = replica",
    ):
        (res,) = db.execute_query(text, read_only=False)
        assert res.status == "error" and res.error is not None and res.error.sqlstate == "42501", (text, res.error)


def test_write_mode_without_a_dba_login_is_a_config_error(app_db: Any) -> None:
    with DatabaseManager(
        app_db.settings,
        app_db.demo_monitor_dsn,
        app_db.demo_readonly_dsn,
        name="no-dba",
        workspace=workspace_manager(app_db),
        own_workspace=True,
    ) as manager:
        assert not manager.has_dba_login and manager.has_readonly_login
        with pytest.raises(ConfigError, match="no DBA login"):
            manager.execute_query("select 1", read_only=False)
        with pytest.raises(ConfigError, match="no DBA login"):
            manager.explain("select 1", read_only=False)
        (res,) = manager.execute_query("select 1 as one", read_only=True)  # read-only SQL still works
        assert res.ok


def test_claims_are_published_for_rls(db: DatabaseManager) -> None:
    claims = {"sub": str(uuid.uuid4()), "email": "ana@example.com", "role": "authenticated"}
    (res,) = db.execute_query("select current_setting('request.jwt.claims', true) as c", read_only=True, claims=claims)
    assert json.loads(str(res.rows.iloc[0, 0]))["email"] == "ana@example.com"


def test_session_settings_do_not_leak_to_the_next_call(db: DatabaseManager) -> None:
    default = str(db.execute_query("show search_path", read_only=False)[0].rows.iloc[0, 0])
    run_ok(db, "set search_path = pg_catalog; create temp table leak_check (a int)")
    for _ in range(3):
        assert str(db.execute_query("show search_path", read_only=False)[0].rows.iloc[0, 0]) == default
        # This session's temp tables only: pg_tables also lists a closed backend's temp table until its exit finishes.
        (res,) = db.execute_query(
            "select count(*) from pg_class where relname = 'leak_check' and relnamespace = pg_my_temp_schema()",
            read_only=False,
        )
        assert res.rows.iloc[0, 0] == 0


# --- write mode: psql's transaction semantics ---------------------------------------------------


def test_user_transactions_commit_and_open_ones_are_rolled_back(scratch: DatabaseManager) -> None:
    run_ok(scratch, "create table t (a int)")
    run_ok(scratch, "begin; insert into t values (1); insert into t values (2); commit")
    results = run_ok(scratch, "begin; insert into t values (3)")
    assert any("rolled back" in n for n in results[-1].notices)
    results = scratch.execute_query("begin; insert into t values (4); select 1/0; commit", read_only=False)
    assert [r.status for r in results] == ["ok", "ok", "error", "not_run"]
    (count,) = run_ok(scratch, "select count(*) from t")
    assert count.rows.iloc[0, 0] == 2


def test_a_dba_can_choose_the_isolation_level_after_begin(scratch: DatabaseManager) -> None:
    results = run_ok(
        scratch,
        "begin; set transaction isolation level serializable; show transaction_isolation;"
        " show statement_timeout; commit",
        timeout_ms=1234,
    )
    assert results[2].rows.iloc[0, 0] == "serializable"
    assert results[3].rows.iloc[0, 0] == "1234ms"


def test_statements_that_cannot_run_in_a_transaction(scratch: DatabaseManager) -> None:
    results = run_ok(
        scratch,
        "create table t (a int); insert into t select generate_series(1, 100);"
        " create index concurrently t_a on t (a); vacuum analyze t; reindex table concurrently t",
    )
    assert [r.command_tag for r in results[2:]] == ["CREATE INDEX", "VACUUM", "REINDEX"]


def test_notices_are_captured_per_statement(scratch: DatabaseManager) -> None:
    results = run_ok(
        scratch,
        "do $$ begin raise notice 'hello %', 42; end $$; select 1; drop table if exists not_there",
    )
    assert results[0].notices == ["NOTICE: hello 42"]
    assert results[1].notices == []
    assert any("does not exist, skipping" in n for n in results[2].notices)


# --- explain ------------------------------------------------------------------------------------


def test_explain_returns_the_json_plan(db: DatabaseManager) -> None:
    plan = db.explain("select * from public.services where id = 1", read_only=True)
    assert "Plan" in plan and "Node Type" in plan["Plan"]
    assert "Execution Time" not in plan


def test_explain_analyze_of_a_delete_leaves_the_rows(db: DatabaseManager, app_db: Any) -> None:
    before = scalar(app_db.demo_dsn, "select count(*) from public.appointment_reminders")
    plan = db.explain("delete from public.appointment_reminders", analyze=True, read_only=False)
    assert plan["Plan"]["Node Type"] == "ModifyTable"
    assert "Execution Time" in plan
    assert plan["Plan"]["Plans"][0]["Actual Rows"] == before  # it really ran ...
    assert scalar(app_db.demo_dsn, "select count(*) from public.appointment_reminders") == before  # ... rolled back
    with pytest.raises(QueryError) as err:
        db.explain("delete from public.appointment_reminders", analyze=True, read_only=True)
    assert err.value.info.sqlstate == "25006"


def test_explain_takes_one_statement_and_maps_error_positions(db: DatabaseManager) -> None:
    with pytest.raises(QueryRefused, match="exactly one statement"):
        db.explain("select 1; select 2", read_only=True)
    with pytest.raises(QueryRefused):
        db.explain("-- nothing", read_only=True)
    with pytest.raises(QueryRefused):
        db.explain("rollback", read_only=True)
    text = "  select * from public.nope_nope"
    with pytest.raises(QueryError) as err:
        db.explain(text, read_only=True)
    assert err.value.info.sqlstate == "42P01"
    assert err.value.info.position == text.index("public.nope") + 1


# --- metrics and health -------------------------------------------------------------------------


def test_metrics(db: DatabaseManager) -> None:
    m = db.get_metrics()
    assert m.server_version and m.server_version_num >= 140000
    assert m.uptime_seconds > 0 and m.database_size_bytes > 0
    assert m.total_connections >= 1 and m.max_connections > 0
    assert m.cache_hit_ratio is None or 0 <= m.cache_hit_ratio <= 1
    assert m.commits > 0
    assert m.deadlocks >= 0 and m.temp_bytes >= 0 and m.temp_files >= 0
    assert m.largest_tables and m.largest_tables[0].total_bytes >= m.largest_tables[-1].total_bytes
    if m.statements_available:
        assert m.statements_hint is None
    else:
        assert m.statements_hint and "shared_preload_libraries" in m.statements_hint


def test_top_statements_from_pg_stat_statements_in_any_schema(scratch: DatabaseManager, empty_db_dsn: str) -> None:
    m = scratch.get_metrics()
    assert m.statements_available is False
    assert m.statements_hint and "CREATE EXTENSION pg_stat_statements" in m.statements_hint
    preloaded = scalar(empty_db_dsn, "show shared_preload_libraries")
    with psycopg.connect(empty_db_dsn, autocommit=True) as conn:
        conn.execute('create schema "stats ext"')
        try:
            conn.execute('create extension pg_stat_statements schema "stats ext"')
        except psycopg.errors.UndefinedFile:
            pytest.skip("this PostgreSQL build has no pg_stat_statements (contrib)")  # pgserver's bundle
    m = scratch.get_metrics()
    if "pg_stat_statements" not in preloaded:
        assert m.statements_available is False
        assert m.statements_hint and "shared_preload_libraries" in m.statements_hint
        return
    run_ok(scratch, "select count(*) from generate_series(1, 1000)")
    m = scratch.get_metrics()
    assert m.statements_available is True
    assert m.top_statements and m.top_statements[0].calls >= 1
    assert m.top_statements[0].total_ms >= m.top_statements[-1].total_ms


def test_health_of_the_app_database(db: DatabaseManager) -> None:
    # the workspace: migrations are its own
    h = db.workspace.health()
    assert h.reachable and h.connect_ms is not None and h.connect_ms >= 0
    assert h.server_version
    assert h.migrations_applied and not h.migrations_pending
    assert h.embedded == db.settings.embedded
    # the connection: reachable, its read-only login is what it must be, no migrations of its own (nothing of the
    # app lives there)
    h = db.health()
    assert h.ok, h.messages
    assert h.reachable and h.server_version
    assert not h.migrations_applied and not h.migrations_pending
    assert h.readonly_ok and h.readonly_user == READONLY_ROLE
    assert h.embedded == db.settings.embedded
    assert h.to_dict()["ok"] is True


def test_health_reports_a_bad_read_only_login(app_db: Any) -> None:
    # the superuser as "read-only" login: health must say why that is wrong
    with DatabaseManager(
        app_db.settings,
        app_db.demo_monitor_dsn,
        app_db.demo_dsn,
        name="bad-ro",
        workspace=workspace_manager(app_db),
        own_workspace=True,
    ) as manager:
        h = manager.health()
    assert not h.ok and not h.readonly_ok
    assert "superuser" in h.readonly_message


def test_health_never_raises_on_an_unreachable_database(app_db: Any, tmp_path: Path) -> None:
    dsn = f"host={tmp_path} port=1 user=nobody dbname=nothing"
    workspace = workspace_manager(app_db)
    with DatabaseManager(
        Settings(data_dir=tmp_path),
        dsn,
        dsn,
        dba_dsn=dsn,
        name="dead",
        workspace=workspace,
        own_workspace=True,
        lazy=True,
        pool_timeout=0.5,
    ) as manager:
        h = manager.health()
        assert h.ok is False and h.reachable is False
        assert h.messages and "cannot connect" in h.messages[0]
        with pytest.raises(QueryError) as err:
            manager.execute_query("select 1", read_only=False)
        assert err.value.info.sqlstate == "08006"


# --- backup -------------------------------------------------------------------------------------

WEIRD_SCHEMA = "my schema"
WEIRD_TABLE = 'we"ird ta;ble'


def _create_weird_table(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(WEIRD_SCHEMA)))
        conn.execute(
            sql.SQL(
                "create table {} (id int generated always as identity primary key, {} text, j jsonb, raw bytea,"
                " tags text[], amount numeric(12, 3), at timestamptz, twice int generated always as (id * 2) stored)"
            ).format(sql.Identifier(WEIRD_SCHEMA, WEIRD_TABLE), sql.Identifier('na"me; drop'))
        )
        conn.execute("create table victim (a int)")
        conn.execute(
            sql.SQL("insert into {} ({}, j, raw, tags, amount, at) values (%s, %s, %s, %s, %s, %s)").format(
                sql.Identifier(WEIRD_SCHEMA, WEIRD_TABLE), sql.Identifier('na"me; drop')
            ),
            (
                'O\'Brien; drop table victim; --\nsecond line, "quoted" \\ backslash',
                Jsonb({"k": ["v", 1, None], "ç": "日本"}),
                b"\x00\x01'\\\xff",
                ["a,b", 'q"uote', None],
                decimal.Decimal("-12.345"),
                datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
            ),
        )
        conn.execute(
            sql.SQL("insert into {} ({}) select 'row ' || g from generate_series(1, 250) g").format(
                sql.Identifier(WEIRD_SCHEMA, WEIRD_TABLE), sql.Identifier('na"me; drop')
            )
        )


def _rows_as_text(dsn: str, table: sql.Composable) -> list[str]:
    with psycopg.connect(dsn) as conn:
        query = sql.SQL("select t::text from {} t order by id").format(table)
        return [r[0] for r in conn.execute(query).fetchall()]


def test_backup_sql_of_a_weird_name_restores_into_a_copy(scratch: DatabaseManager, empty_db_dsn: str) -> None:
    _create_weird_table(empty_db_dsn)
    seen: list[int] = []
    result = scratch.backup_table(WEIRD_SCHEMA, WEIRD_TABLE, "sql", progress=seen.append)
    assert result.rows == 251 and result.fmt == "sql"
    assert result.path.parent == scratch.settings.backups_dir
    assert result.path.suffix == ".sql" and "/" not in result.path.name and '"' not in result.path.name
    assert result.bytes == result.path.stat().st_size > 0
    assert result.path.stat().st_mode & 0o777 == 0o600
    assert seen and seen[-1] == 251
    original = _rows_as_text(empty_db_dsn, sql.Identifier(WEIRD_SCHEMA, WEIRD_TABLE))
    with psycopg.connect(empty_db_dsn, autocommit=True) as conn:
        # keep the original aside, recreate an empty twin under the original name, replay the file
        conn.execute(sql.SQL("alter table {} rename to original").format(sql.Identifier(WEIRD_SCHEMA, WEIRD_TABLE)))
        conn.execute(
            sql.SQL("create table {} (like {} including all)").format(
                sql.Identifier(WEIRD_SCHEMA, WEIRD_TABLE), sql.Identifier(WEIRD_SCHEMA, "original")
            )
        )
        conn.execute(result.path.read_text(encoding="utf-8"))  # a trusted file this test wrote
        assert conn.execute("select to_regclass('public.victim') is not null").fetchone() == (True,)
    restored = _rows_as_text(empty_db_dsn, sql.Identifier(WEIRD_SCHEMA, WEIRD_TABLE))
    assert restored == original
    assert len(restored) == 251


def test_backup_csv_streams_every_row_with_a_header(scratch: DatabaseManager, empty_db_dsn: str) -> None:
    _create_weird_table(empty_db_dsn)
    result = scratch.backup_table(WEIRD_SCHEMA, WEIRD_TABLE, "csv")
    assert result.rows == 251 and result.path.suffix == ".csv"
    with result.path.open(newline="", encoding="utf-8") as handle:
        records = list(csv.reader(handle))
    # generated columns are left out, as COPY and pg_dump do: a restore computes them again
    assert records[0] == ["id", 'na"me; drop', "j", "raw", "tags", "amount", "at"]
    assert len(records) == 252
    first = dict(zip(records[0], records[1], strict=True))
    assert first['na"me; drop'].startswith("O'Brien; drop table victim; --\nsecond line")
    assert first["raw"] == "\\x0001275cff"
    assert json.loads(first["j"]) == {"k": ["v", 1, None], "ç": "日本"}
    assert first["tags"] == '{"a,b","q\\"uote",NULL}'
    assert scalar(empty_db_dsn, "select to_regclass('public.victim') is not null") is True


def test_backup_of_a_view_and_an_unknown_table(scratch: DatabaseManager, empty_db_dsn: str) -> None:
    run_ok(scratch, "create table t (a int); insert into t values (1), (2); create view v as select a * 10 as b from t")
    result = scratch.backup_table("public", "v", "csv")
    assert result.rows == 2
    assert result.path.read_text().splitlines() == ["b", "10", "20"]
    with pytest.raises(NotFound):
        scratch.backup_table("public", "nope", "csv")
    with pytest.raises(NotFound):
        scratch.backup_table("public", 't"; drop table t; --', "sql")
    assert scalar(empty_db_dsn, "select count(*) from t") == 2


def test_backup_file_name_cannot_escape_the_backups_folder(scratch: DatabaseManager) -> None:
    run_ok(scratch, 'create table "../../etc/passwd" (a int); insert into "../../etc/passwd" values (1)')
    result = scratch.backup_table("public", "../../etc/passwd", "sql")
    assert result.path.parent == scratch.settings.backups_dir
    assert result.rows == 1
    assert io.StringIO(result.path.read_text()).read().count("INSERT INTO") == 1


# --- pooled connections -------------------------------------------------------------------------


def test_connection_for_other_modules_commits_at_the_end(scratch: DatabaseManager, empty_db_dsn: str) -> None:
    with scratch.connection() as conn:
        conn.execute("create table t (a int)")
        conn.execute("insert into t values (1)")
    assert scalar(empty_db_dsn, "select count(*) from t") == 1
    with pytest.raises(RuntimeError), scratch.connection() as conn:
        conn.execute("insert into t values (2)")
        raise RuntimeError("the caller failed")
    assert scalar(empty_db_dsn, "select count(*) from t") == 1


def test_a_server_restart_costs_at_most_one_failed_call(pg_server: Any, db: DatabaseManager) -> None:
    assert db.execute_query("select 1", read_only=False)[0].status == "ok"
    assert db.execute_query("select 1", read_only=True)[0].status == "ok"
    pg_server.restart()
    for read_only in (False, True):
        failures = 0
        for _ in range(2):
            try:
                (res,) = db.execute_query("select 42 as answer", read_only=read_only)
            except QueryError:
                failures += 1
                continue
            if res.status == "ok":
                assert res.rows.iloc[0, 0] == 42
                break
            failures += 1
        assert failures <= 1
    assert db.health().reachable


def test_a_connection_the_server_ended_is_seen_without_a_round_trip(app_db: Any) -> None:
    """connection_seems_alive reads the socket only: an idle session is alive; one the server terminated is not."""
    with psycopg.connect(app_db.dsn, autocommit=True) as conn, psycopg.connect(app_db.dsn, autocommit=True) as other:
        assert connection_seems_alive(conn)
        conn.autocommit = False
        conn.execute("select 1")
        assert not connection_seems_alive(conn), "in a transaction: not judged from the socket"
        conn.rollback()
        assert connection_seems_alive(conn)
        other.execute("select pg_terminate_backend(%s)", (conn.info.backend_pid,))
        deadline = time.monotonic() + 10
        while connection_seems_alive(conn) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not connection_seems_alive(conn), "the server's termination made the socket readable"


def test_settings_and_a_read_in_one_round_trip_apply_to_the_read_and_end_with_it(app_db: Any) -> None:
    """read_in_one_round_trip: one request to the server; the settings hold for the read (its timeout too), not
    after it; values and parameters with quotes arrive whole; the connection keeps its autocommit mode."""
    tricky = "it's'; select pg_sleep(5); --"
    probe = sql.SQL(
        "select current_setting('dba_admin.probe') as probe, current_setting('statement_timeout') as timeout,"
        " %s::text as echoed"
    )
    with psycopg.connect(app_db.dsn) as conn:  # not autocommit, as the pool lends them
        settings = [("dba_admin.probe", tricky), ("statement_timeout", "1234")]
        rows: list[dict[str, Any]] = []
        requests = count_round_trips(conn, lambda c: rows.extend(read_in_one_round_trip(c, settings, probe, (tricky,))))
        assert requests == 1
        assert rows == [{"probe": tricky, "timeout": "1234ms", "echoed": tricky}]
        assert conn.autocommit is False and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        after = conn.execute("select current_setting('dba_admin.probe', true), current_setting('statement_timeout')")
        assert after.fetchone() == ("", "0"), "transaction-local: gone with the read"
        conn.rollback()

        with pytest.raises(psycopg.errors.QueryCanceled):
            read_in_one_round_trip(conn, [("statement_timeout", "50")], sql.SQL("select pg_sleep(2)"))
        assert conn.execute("select 1").fetchone() == (1,), "the connection is usable after a failed read"
        with pytest.raises(DbaAdminError, match="no open transaction"):
            read_in_one_round_trip(conn, [], sql.SQL("select 1"))  # the select above left a transaction open
        conn.rollback()


def test_a_pooled_connection_ended_by_the_server_is_replaced_before_it_is_lent(app_db: Any) -> None:
    """Within seconds of its last use a pooled connection is lent without a round trip, but one the server ended
    in between (a restart, pg_terminate_backend) is still found and replaced: the borrower never sees the error."""
    db = DatabaseManager(Settings(), app_db.dsn, lazy=True)
    try:
        with db.connection() as conn:
            first = conn.info.backend_pid
        with db.connection() as conn:
            assert conn.info.backend_pid == first, "lent again without a new connection"
        with psycopg.connect(app_db.dsn, autocommit=True) as other:
            other.execute("select pg_terminate_backend(%s)", (first,))
            deadline = time.monotonic() + 10
            while other.execute("select 1 from pg_stat_activity where pid = %s", (first,)).fetchone():
                assert time.monotonic() < deadline
                time.sleep(0.02)
        with db.connection() as conn:
            assert conn.execute("select 1").fetchone() == (1,)
            assert conn.info.backend_pid != first
    finally:
        db.close()
