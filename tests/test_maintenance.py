"""Materialized view refresh and table backup, each with its audit row, on the real app database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from dba_admin import maintenance
from dba_admin.database import DatabaseManager
from dba_admin.errors import NotFound, QueryError


@pytest.fixture
def db(app_db: Any, tmp_path: Path) -> Iterator[DatabaseManager]:
    manager = DatabaseManager(
        app_db.settings.with_overrides(data_dir=tmp_path / "data"), app_db.dsn, app_db.readonly_dsn
    )
    yield manager
    manager.close()


@pytest.fixture
def matview(app_db: Any) -> Iterator[tuple[str, str]]:
    """A materialized view over a demo table, in a schema of its own (dropped after the test)."""
    schema = f"mv_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(app_db.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(schema)))
        conn.execute(
            sql.SQL(
                "create materialized view {}.{} as select species, count(*) as n from public.pets group by species"
                " with no data"
            ).format(sql.Identifier(schema), sql.Identifier("pets by species"))
        )
    yield schema, "pets by species"
    with psycopg.connect(app_db.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(schema)))


def _audit(dsn: str, action: str, schema: str, name: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "select actor, target, details from dba_admin.audit_log"
            " where action = %s and details->>'schema' = %s and details->>'name' = %s order by id",
            (action, schema, name),
        ).fetchall()


def test_refresh_populates_and_is_audited(db: DatabaseManager, app_db: Any, matview: tuple[str, str]) -> None:
    schema, name = matview
    assert maintenance.last_refresh(db, schema, name) is None
    result = maintenance.refresh_materialized_view(db, schema, name, actor="dba-tester")
    assert result.schema == schema and not result.concurrently and result.duration_ms >= 0
    with psycopg.connect(app_db.dsn) as conn:
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
    with psycopg.connect(app_db.dsn, autocommit=True) as conn:
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
    result = maintenance.backup_table(db, "public", "services", "dba-tester", "csv", progress=seen.append)
    assert result.path.is_file() and result.rows > 0 and seen and seen[-1] == result.rows
    assert result.path.read_text().count("\n") >= result.rows + 1
    rows = _audit(app_db.dsn, maintenance.BACKUP_ACTION, "public", "services")
    assert rows and rows[-1][0] == "dba-tester"
    details = rows[-1][2]
    assert details["file"] == str(result.path) and details["rows"] == result.rows and details["format"] == "csv"
    when, last = maintenance.last_backup(db, "public", "services") or (None, {})
    assert when is not None and last["file"] == str(result.path)


def test_failed_backup_is_recorded_and_raised(db: DatabaseManager, app_db: Any) -> None:
    name = f"missing_{uuid.uuid4().hex[:6]}"
    with pytest.raises(NotFound):
        maintenance.backup_table(db, "public", name, "dba-tester", "sql")
    ((actor, _target, details),) = _audit(app_db.dsn, maintenance.BACKUP_FAILED_ACTION, "public", name)
    assert actor == "dba-tester" and details["error_type"] == "NotFound" and details["format"] == "sql"
    assert maintenance.last_backup(db, "public", name) is None
