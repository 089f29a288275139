"""The Statements page's core (dba_admin.statements) against the suite's server, whose cluster preloads
pg_stat_statements (dba_admin.local_pg): each test gets a scratch database with the extension, runs distinct
statements there, and reads them back filtered to that database (the statistics are cluster-wide, so other tests'
statements are never counted). Roles are cluster-wide too: each has a unique name and is dropped.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from conftest import scratch_database
from db_helpers import scratch_connection, user
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from dba_admin.database import DatabaseManager
from dba_admin.errors import ConfigError, PermissionDenied
from dba_admin.local_pg import DBA_ROLE
from dba_admin.statements import (
    INSUFFICIENT_PRIVILEGE,
    StatementFilter,
    parameters,
    read_statements,
    reset_statements,
    statements_frame,
)

SETUP = (
    "create extension pg_stat_statements;"
    'create table "odd ""name"" t" (a int, b text);'
    'insert into "odd ""name"" t" select g, \'b\' || (g % 10) from generate_series(1, 500) g;'
)
ODD = sql.Identifier('odd "name" t')


def _preloaded(dsn: str) -> bool:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("show shared_preload_libraries").fetchone()
    return bool(row and "pg_stat_statements" in str(row[0]))


@pytest.fixture
def scratch(app_db: Any, pg_server: Any) -> Iterator[tuple[DatabaseManager, str]]:
    if not _preloaded(pg_server.dsn):
        pytest.skip("this PostgreSQL build has no pg_stat_statements preloaded (pgserver's bundle)")
    with scratch_database(pg_server.dsn, "stmts", SETUP) as dsn:
        manager = scratch_connection(app_db, dsn, name=f"stmts{uuid.uuid4().hex[:6]}")
        try:
            yield manager, dsn
        finally:
            manager.close()


def dbname(dsn: str) -> str:
    return str(conninfo_to_dict(dsn)["dbname"])


def run(dsn: str, statement: sql.Composable | str, params: tuple[Any, ...] | None, times: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for _ in range(times):
            conn.execute(statement, params)  # type: ignore[arg-type]


def workload(dsn: str) -> None:
    """Three distinct statements: 3 calls of a count, 5 of a filter, 2 of a wide read (500 rows each)."""
    run(dsn, sql.SQL("select count(*) from {} where a = %s").format(ODD), (7,), 3)
    run(dsn, sql.SQL("select a from {} where b = %s").format(ODD), ("b3",), 5)
    run(dsn, sql.SQL("select a, b from {} order by a").format(ODD), None, 2)


FROM_ODD = "from " + ODD.as_string(None)  # in the workload's statements, not in the setup's


def mine(stats: Any) -> list[Any]:
    return [s for s in stats if FROM_ODD in s.query]


def test_lists_statements_with_calls_sorted_and_filtered(scratch: tuple[DatabaseManager, str]) -> None:
    db, dsn = scratch
    workload(dsn)
    report = read_statements(db)
    assert report.available and report.current_database == dbname(dsn)
    ours = mine(report.statements)
    by_text = {s.short(200): s for s in ours}
    count = next(s for t, s in by_text.items() if "count(*)" in t)
    assert count.calls == 3 and "$1" in count.query and count.database == dbname(dsn)
    assert next(s for t, s in by_text.items() if "where b = $1" in t).calls == 5
    wide = next(s for t, s in by_text.items() if "order by a" in t)
    assert wide.calls == 2 and wide.rows == 1000
    assert all(s.database == dbname(dsn) for s in report.statements), "the connection's own database by default"
    assert report.statements[0].total_ms >= report.statements[-1].total_ms, "total time first by default"
    assert 0 < sum(s.pct_total_time or 0 for s in report.statements) <= 100.0001
    assert all(s.cache_hit_pct is None or 0 <= s.cache_hit_pct <= 100 for s in report.statements)

    by_calls = mine(read_statements(db, StatementFilter(sort="calls")).statements)
    assert [s.calls for s in by_calls] == [5, 3, 2]
    by_rows = mine(read_statements(db, StatementFilter(sort="rows")).statements)
    assert by_rows[0].rows == 1000

    # text: case-insensitive substring, with LIKE's wildcards taken literally
    found = read_statements(db, StatementFilter(text="WHERE B ="))
    assert [s.calls for s in found.statements] == [5] and found.matched == 1
    assert read_statements(db, StatementFilter(text="where%b")).statements == ()
    assert read_statements(db, StatementFilter(text=FROM_ODD.upper())).matched == 3, "a quoted name is found"
    # role: the superuser ran them all
    owner = found.statements[0].role
    assert owner and read_statements(db, StatementFilter(role=owner, text=FROM_ODD)).matched == 3
    assert read_statements(db, StatementFilter(role="no such role " + uuid.uuid4().hex)).statements == ()
    # database: another database's statements are not there, all databases shows more than this one's
    assert read_statements(db, StatementFilter(database="no such database")).statements == ()
    everywhere = read_statements(db, StatementFilter(all_databases=True, include_app=True))
    assert dbname(dsn) in everywhere.databases and len(everywhere.databases) >= 2
    assert everywhere.in_scope > report.in_scope
    # the limit is said: matched counts what the limit cut
    cut = read_statements(db, StatementFilter(limit=1, text=FROM_ODD))
    assert len(cut.statements) == 1 and cut.matched == 3 and cut.cut

    frame = statements_frame(report.statements)
    assert len(frame) == len(report.statements) and {"pct_total_time", "cache_hit_pct", "mean_ms"} <= set(frame)


def test_app_queries_are_hidden_unless_asked_for(scratch: tuple[DatabaseManager, str]) -> None:
    db, dsn = scratch
    run(dsn, "select 42 as answer /* dba_admin */", None, 2)
    run(dsn, "select 43 + 1 as user_answer", None, 1)  # another statement: comments and aliases do not count
    shown = read_statements(db, StatementFilter(text="answer"))
    assert [s.is_app for s in shown.statements] == [False]
    with_app = read_statements(db, StatementFilter(text="answer", include_app=True))
    assert sorted(s.calls for s in with_app.statements) == [1, 2]
    # the page's own reads never show by default, even after several of them
    leaked = [s.query for s in read_statements(db).statements if "/* dba_admin" in s.query]
    assert not leaked, leaked
    # reads of pg_stat_statements by someone else (a monitoring tool) can be hidden too
    run(dsn, "select count(*) from pg_stat_statements", None, 1)
    assert read_statements(db, StatementFilter(text="from pg_stat_statements")).matched == 1
    hidden = StatementFilter(text="from pg_stat_statements", include_pg_stat_statements=False)
    assert read_statements(db, hidden).matched == 0


def test_bad_input_is_refused_by_name(scratch: tuple[DatabaseManager, str]) -> None:
    db, _ = scratch
    with pytest.raises(ValueError, match="unknown sort"):
        read_statements(db, StatementFilter(sort="query; drop table x"))
    with pytest.raises(ValueError, match="between 1 and 5,000"):
        read_statements(db, StatementFilter(limit=5001))
    assert parameters("select $1, '$2' /* $3 */ from t where a = $2 and b = $1") == ["$1", "$2"]


def test_column_names_of_postgresql_12_and_older() -> None:
    """The suite's server is newer: the SQL for the old names (total_time..., no toplevel) is checked as text."""
    from dba_admin.statements import _read_sql, _Source

    old = _read_sql(_Source("ext", legacy=True, toplevel=False), StatementFilter(sort="mean_time")).as_string(None)
    assert 's."total_time" AS total_ms' in old and 's."stddev_time" AS stddev_ms' in old
    assert "exec_time" not in old and "true AS toplevel" in old and 'ORDER BY m."mean_ms" DESC' in old
    new = _read_sql(_Source("ext", legacy=False, toplevel=True), StatementFilter()).as_string(None)
    assert 's."total_exec_time" AS total_ms' in new and "s.toplevel AS toplevel" in new


def test_reset_is_for_dbas_audited_and_names_the_grant(app_db: Any, scratch: tuple[DatabaseManager, str]) -> None:
    db, dsn = scratch
    workload(dsn)
    analyst = user("stmts", role="analyst")
    with pytest.raises(PermissionDenied, match="for DBAs"):
        reset_statements(db, analyst, "someone")
    assert read_statements(db, StatementFilter(text=FROM_ODD)).matched == 3, "a refused reset forgets nothing"

    dba = user("stmts", role="dba")
    actor = f"dba-{uuid.uuid4().hex[:6]}"
    # the DBA login is no superuser: PostgreSQL lets only a superuser reset until EXECUTE is granted
    grant = r"GRANT EXECUTE ON FUNCTION public\.pg_stat_statements_reset\(userid oid, dbid oid"
    with pytest.raises(PermissionDenied, match=grant):
        reset_statements(db, dba, actor)
    assert audit_rows(app_db, actor) == []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("grant execute on function pg_stat_statements_reset(oid, oid, bigint) to {}").format(
                sql.Identifier(DBA_ROLE)
            )
        )
    result = reset_statements(db, dba, actor)
    assert result.database == dbname(dsn) and result.statements >= 3
    assert read_statements(db, StatementFilter(text=FROM_ODD)).matched == 0
    (row,) = audit_rows(app_db, actor)
    assert row["action"] == "statements.reset" and row["details"]["connection"] == db.name
    assert row["details"]["database"] == dbname(dsn) and row["details"]["email"] == dba.email


def test_reset_needs_a_dba_login(app_db: Any, scratch: tuple[DatabaseManager, str]) -> None:
    _, dsn = scratch
    monitor_only = DatabaseManager(
        app_db.settings, dsn, name="nodba", workspace=DatabaseManager(app_db.settings, app_db.dsn), own_workspace=True
    )
    try:
        with pytest.raises(ConfigError, match="DBA login"):
            reset_statements(monitor_only, user("stmts", role="admin"), "someone")
    finally:
        monitor_only.close()


def audit_rows(app_db: Any, actor: str) -> list[dict[str, Any]]:
    with psycopg.connect(app_db.dsn) as conn:
        cur = conn.cursor(row_factory=psycopg.rows.dict_row)
        return cur.execute(
            "select action, target, details from dba_admin.audit_log where actor = %s order by id", (actor,)
        ).fetchall()


@pytest.fixture
def plain_login(pg_server: Any, scratch: tuple[DatabaseManager, str]) -> Iterator[str]:
    """A login with CONNECT and nothing else: no pg_read_all_stats, so others' statements have no text."""
    _, dsn = scratch
    role, password = f"stmts_plain_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create role {} login password {}").format(sql.Identifier(role), sql.Literal(password)))
    params = conninfo_to_dict(dsn)
    params.update(user=role, password=password)
    try:
        yield make_conninfo("", **{k: str(v) for k, v in params.items() if v is not None})
    finally:
        with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))


def test_without_pg_read_all_stats_the_text_is_hidden_and_the_grant_named(
    app_db: Any, scratch: tuple[DatabaseManager, str], plain_login: str
) -> None:
    _, dsn = scratch
    workload(dsn)
    login = str(conninfo_to_dict(plain_login)["user"])
    plain = DatabaseManager(
        app_db.settings,
        plain_login,
        name="plain",
        workspace=DatabaseManager(app_db.settings, app_db.dsn),
        own_workspace=True,
    )
    try:
        report = read_statements(plain, StatementFilter(sort="calls"))
        assert report.available and report.login == login
        hidden = [s for s in report.statements if s.text_hidden]
        assert [s.calls for s in hidden][:3] == [5, 3, 2], "the numbers are there, the text is not"
        assert all(s.query == INSUFFICIENT_PRIVILEGE and s.queryid is None for s in hidden)
        assert len({s.key for s in report.statements}) == len(report.statements), "each row keeps its own key"
        assert report.hidden_text == len(hidden)
        assert report.privilege_note and f'GRANT pg_read_all_stats TO "{login}"' in report.privilege_note
    finally:
        plain.close()


def test_missing_extension_says_how_to_enable_it(app_db: Any, pg_server: Any) -> None:
    with scratch_database(pg_server.dsn, "nostmts") as dsn:
        db = scratch_connection(app_db, dsn)
        try:
            report = read_statements(db)
            assert not report.available and report.statements == ()
            assert report.message and "CREATE EXTENSION pg_stat_statements" in report.message
            assert "shared_preload_libraries" in report.message and dbname(dsn) in report.message
            with pytest.raises(ConfigError, match="CREATE EXTENSION pg_stat_statements"):
                reset_statements(db, user("stmts", role="dba"), "someone")
            assert db.get_metrics().statements_available is False, "the dashboard reads through the same code"
        finally:
            db.close()
