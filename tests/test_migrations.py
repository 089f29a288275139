"""Migrations: order, once each, re-run is a no-op, a failure rolls back whole and names file and line."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dba_admin.errors import MigrationError
from dba_admin.migrations import (
    apply_local_compat,
    apply_migrations,
    discover_migrations,
    migration_status,
    needs_local_compat,
    prepare_schema,
)
from dba_admin.paths import SQL_DIR


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def test_project_migrations_are_well_named_and_ordered() -> None:
    migrations = discover_migrations()
    assert migrations, "sql/migrations holds the app schema"
    versions = [m.version for m in migrations]
    assert versions == sorted(versions)
    assert all(len(v) == 14 for v in versions)


def test_prepare_schema_applies_everything_once(empty_db_dsn: str) -> None:
    with psycopg.connect(empty_db_dsn, autocommit=True) as conn:
        assert needs_local_compat(conn)
        first = prepare_schema(conn)
        assert first.local_compat, "plain PostgreSQL gets the Supabase compatibility layer"
        assert list(first.migrations) == [m.label for m in discover_migrations()]
        again = prepare_schema(conn)
        assert again.local_compat == [] and again.migrations == []
        status = migration_status(conn)
        assert status.up_to_date and status.modified == []
        count = conn.execute("select count(*) from dba_admin.schema_migrations").fetchone()
        assert count == (len(discover_migrations()),)


def test_local_compat_is_skipped_where_auth_exists(empty_db_dsn: str) -> None:
    with psycopg.connect(empty_db_dsn, autocommit=True) as conn:
        conn.execute("create schema auth")  # as on a real Supabase database
        assert not needs_local_compat(conn)
        assert apply_local_compat(conn) == []
        row = conn.execute("select count(*) from pg_proc where pronamespace = 'auth'::regnamespace").fetchone()
        assert row == (0,), "nothing from sql/local ran"


def test_custom_directory_in_order_and_pending(empty_db_dsn: str, tmp_path: Path) -> None:
    _write(tmp_path, "20260101000002_second.sql", "insert into t values (2);")
    _write(tmp_path, "20260101000001_first.sql", "create table t (v int);\ninsert into t values (1);")
    with psycopg.connect(empty_db_dsn, autocommit=True) as conn:
        assert migration_status(conn, tmp_path).pending == ["20260101000001_first.sql", "20260101000002_second.sql"]
        assert apply_migrations(conn, tmp_path) == ["20260101000001_first.sql", "20260101000002_second.sql"]
        assert conn.execute("select array_agg(v order by v) from t").fetchone() == ([1, 2],)
        _write(tmp_path, "20260101000003_third.sql", "insert into t values (3);")
        assert apply_migrations(conn, tmp_path) == ["20260101000003_third.sql"]
        assert apply_migrations(conn, tmp_path) == []


def test_failed_migration_rolls_back_whole_and_names_file_and_line(empty_db_dsn: str, tmp_path: Path) -> None:
    _write(tmp_path, "20260101000001_ok.sql", "create table ok_table (v int);")
    _write(
        tmp_path,
        "20260101000002_broken.sql",
        "create table half_done (v int);\n-- a comment\ninsert into half_done values (1);\n"
        "select nonexistent_column from half_done;\n",
    )
    with psycopg.connect(empty_db_dsn, autocommit=True) as conn:
        with pytest.raises(MigrationError) as caught:
            apply_migrations(conn, tmp_path)
        assert caught.value.file == "20260101000002_broken.sql"
        assert caught.value.line == 4
        assert "nonexistent_column" in str(caught.value)
        assert conn.execute("select to_regclass('half_done')").fetchone() == (None,), "rolled back whole"
        assert conn.execute("select to_regclass('ok_table')").fetchone() != (None,)
        assert migration_status(conn, tmp_path).pending == ["20260101000002_broken.sql"]


def test_error_inside_a_multiline_statement_points_at_its_line(empty_db_dsn: str, tmp_path: Path) -> None:
    _write(tmp_path, "20260101000001_typo.sql", "select 1;\n\nselect\n  1,\n  2 +\n  'x'::int;\n")
    with psycopg.connect(empty_db_dsn, autocommit=True) as conn, pytest.raises(MigrationError) as caught:
        apply_migrations(conn, tmp_path)
    assert caught.value.line == 6


def test_badly_named_file_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path, "add_things.sql", "select 1;")
    with pytest.raises(MigrationError, match="file name"):
        discover_migrations(tmp_path)


def test_duplicate_versions_are_an_error(tmp_path: Path) -> None:
    _write(tmp_path, "20260101000001_a.sql", "select 1;")
    _write(tmp_path, "20260101000001_b.sql", "select 1;")
    with pytest.raises(MigrationError, match="share a version"):
        discover_migrations(tmp_path)


def test_edited_applied_migration_is_reported(empty_db_dsn: str, tmp_path: Path) -> None:
    path = _write(tmp_path, "20260101000001_a.sql", "create table a (v int);")
    with psycopg.connect(empty_db_dsn, autocommit=True) as conn:
        apply_migrations(conn, tmp_path)
        path.write_text("create table a (v bigint);")
        assert migration_status(conn, tmp_path).modified == ["20260101000001_a.sql"]


def test_needs_autocommit_connection(empty_db_dsn: str) -> None:
    with psycopg.connect(empty_db_dsn) as conn, pytest.raises(MigrationError, match="autocommit"):
        apply_migrations(conn)


def test_sql_dir_holds_the_layers() -> None:
    for folder in ("migrations", "local", "demo"):
        assert (SQL_DIR / folder).is_dir()
