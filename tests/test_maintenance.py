"""Materialized view refresh and table backup on connection `demo`, each with its audit row in the workspace.

The refresh runs on the connection's DBA login (the demo database's owner, never a superuser); the backup reads on
the monitor login; the audit rows land in the workspace (``app_db.dsn``) with the connection's name.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from db_helpers import demo_manager, workspace_manager
from psycopg import sql

from dba_admin import maintenance
from dba_admin.database import DatabaseManager
from dba_admin.errors import ConfigError, NotFound, QueryError


@pytest.fixture
def db(app_db: Any, tmp_path: Path) -> Iterator[DatabaseManager]:
    """Connection `demo` as the app uses it: the monitor login, plus its read-only and DBA logins."""
    manager = demo_manager(app_db, app_db.settings.with_overrides(data_dir=tmp_path / "data"), monitor=True)
    yield manager
    manager.close()


@pytest.fixture
def matview(app_db: Any) -> Iterator[tuple[str, str]]:
    """A materialized view over a demo table, in a schema of its own (dropped after the test), owned by the DBA."""
    schema = f"mv_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(app_db.demo_dba_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(schema)))
        conn.execute(
            sql.SQL(
                "create materialized view {}.{} as select species, count(*) as n from public.pets group by species"
                " with no data"
            ).format(sql.Identifier(schema), sql.Identifier("pets by species"))
        )
    yield schema, "pets by species"
    with psycopg.connect(app_db.demo_dba_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(schema)))


def _audit(dsn: str, action: str, schema: str, name: str) -> list[tuple[Any, ...]]:
    """The workspace's audit rows of this action on this table of connection `demo`."""
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "select actor, target, details from dba_admin.audit_log"
            " where action = %s and details->>'schema' = %s and details->>'name' = %s"
            " and details->>'connection' = 'demo' order by id",
            (action, schema, name),
        ).fetchall()


def test_refresh_populates_and_is_audited(db: DatabaseManager, app_db: Any, matview: tuple[str, str]) -> None:
    schema, name = matview
    assert maintenance.last_refresh(db, schema, name) is None
    result = maintenance.refresh_materialized_view(db, schema, name, actor="dba-tester")
    assert result.schema == schema and not result.concurrently and result.duration_ms >= 0
    with psycopg.connect(app_db.demo_dsn) as conn:
        populated, rows = conn.execute(
            sql.SQL("select (select relispopulated from pg_class where oid = %s::regclass), count(*) from {}").format(
                sql.Identifier(schema, name)
            ),
            (sql.Identifier(schema, name).as_string(conn),),
        ).fetchone() or (None, None)
    assert populated is True and rows and rows > 0
    ((actor, target, details),) = _audit(app_db.dsn, maintenance.REFRESH_ACTION, schema, name)
    assert actor == "dba-tester" and target == f"{schema}.{name}"
    assert details["concurrently"] is False and details["was_populated"] is False
    assert maintenance.last_refresh(db, schema, name) is not None


def test_concurrent_refresh_needs_a_unique_index(db: DatabaseManager, app_db: Any, matview: tuple[str, str]) -> None:
    schema, name = matview
    maintenance.refresh_materialized_view(db, schema, name, actor="dba-tester")
    with pytest.raises(QueryError) as caught:
        maintenance.refresh_materialized_view(db, schema, name, actor="dba-tester", concurrently=True)
    assert caught.value.info.sqlstate == "55000"
    assert len(_audit(app_db.dsn, maintenance.REFRESH_ACTION, schema, name)) == 1, "the failed refresh left no row"
    with psycopg.connect(app_db.demo_dba_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create unique index on {} (species)").format(sql.Identifier(schema, name)))
    result = maintenance.refresh_materialized_view(db, schema, name, actor="dba-tester", concurrently=True)
    assert result.concurrently
    rows = _audit(app_db.dsn, maintenance.REFRESH_ACTION, schema, name)
    assert [r[2]["concurrently"] for r in rows] == [False, True]


def test_refresh_of_a_missing_view_or_a_table_is_not_found(db: DatabaseManager) -> None:
    with pytest.raises(NotFound):
        maintenance.refresh_materialized_view(db, "public", "no_such_view", actor="dba-tester")
    with pytest.raises(NotFound):
        maintenance.refresh_materialized_view(db, "public", "pets", actor="dba-tester")


def test_backup_writes_the_file_and_the_audit_row(db: DatabaseManager, app_db: Any) -> None:
    seen: list[int] = []
    # campaign_recipients has no row level security: the monitor login reads every row.
    table = "campaign_recipients"
    result = maintenance.backup_table(db, "public", table, "dba-tester", "csv", progress=seen.append)
    assert result.path.is_file() and result.rows > 0 and seen and seen[-1] == result.rows
    assert result.path.read_text().count("\n") >= result.rows + 1
    rows = _audit(app_db.dsn, maintenance.BACKUP_ACTION, "public", table)
    assert rows and rows[-1][0] == "dba-tester"
    details = rows[-1][2]
    assert details["file"] == str(result.path) and details["rows"] == result.rows and details["format"] == "csv"
    assert details["login"] == "monitor" and details["connection"] == "demo"
    when, last = maintenance.last_backup(db, "public", table) or (None, {})
    assert when is not None and last["file"] == str(result.path)


def test_a_backup_that_rls_would_cut_short_is_never_written_incomplete(db: DatabaseManager, app_db: Any) -> None:
    """services has RLS: the monitor login sees only what its policies show, so the DBA login (the owner) reads it,
    or, when the manager cannot back up with that login, the backup is refused (never an incomplete file)."""
    with psycopg.connect(app_db.demo_dsn) as conn:
        (total,) = conn.execute("select count(*) from public.services").fetchone() or (0,)
    if maintenance._DBA_BACKUP:
        result = maintenance.backup_table(db, "public", "services", "dba-tester", "csv")
        assert result.rows == total > 0
        assert _audit(app_db.dsn, maintenance.BACKUP_ACTION, "public", "services")[-1][2]["login"] == "dba"
    else:
        with pytest.raises(QueryError, match="row level security"):
            maintenance.backup_table(db, "public", "services", "dba-tester", "csv")
        failed = _audit(app_db.dsn, maintenance.BACKUP_FAILED_ACTION, "public", "services")
        assert failed and "incomplete" in failed[-1][2]["error"]


def test_failed_backup_is_recorded_and_raised(db: DatabaseManager, app_db: Any) -> None:
    name = f"missing_{uuid.uuid4().hex[:6]}"
    with pytest.raises(NotFound):
        maintenance.backup_table(db, "public", name, "dba-tester", "sql")
    ((actor, _target, details),) = _audit(app_db.dsn, maintenance.BACKUP_FAILED_ACTION, "public", name)
    assert actor == "dba-tester" and details["error_type"] == "NotFound" and details["format"] == "sql"
    assert maintenance.last_backup(db, "public", name) is None


def test_refresh_needs_the_dba_login_and_the_audit_stays_per_connection(app_db: Any, matview: tuple[str, str]) -> None:
    schema, name = matview
    watcher = DatabaseManager(  # connection demo registered with its monitor login only
        app_db.settings,
        app_db.demo_monitor_dsn,
        name="demo",
        workspace=workspace_manager(app_db),
        own_workspace=True,
    )
    try:
        with pytest.raises(ConfigError, match="DBA login"):
            maintenance.refresh_materialized_view(watcher, schema, name, actor="dba-tester")
        assert _audit(app_db.dsn, maintenance.REFRESH_ACTION, schema, name) == []
    finally:
        watcher.close()
    # A refresh on connection demo is not "the last refresh" of a same-named view on another connection.
    other = demo_manager(app_db, monitor=True)
    other.name = "elsewhere"
    try:
        demo = demo_manager(app_db, monitor=True)
        try:
            maintenance.refresh_materialized_view(demo, schema, name, actor="dba-tester")
            assert maintenance.last_refresh(demo, schema, name) is not None
        finally:
            demo.close()
        assert maintenance.last_refresh(other, schema, name) is None
    finally:
        other.close()
