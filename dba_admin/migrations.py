"""Applies sql/local (Supabase compatibility) and sql/migrations in order, each once.

Files follow the Supabase CLI naming (``<14-digit timestamp>_<name>.sql``) so a team can also apply
them with its own tooling. Each file runs in one transaction; a failure rolls it back whole and the
error names the file and the line. An advisory lock makes two app servers starting together safe.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from dba_admin.errors import MigrationError
from dba_admin.paths import SQL_DIR
from dba_admin.sql_text import split_statements

MIGRATION_NAME = re.compile(r"^(?P<version>\d{14})_(?P<name>[a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x0DBA_AD01  # pg_advisory_xact_lock key shared by every dba-admin process


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    @property
    def label(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class MigrationStatus:
    """What a database has applied, what is waiting, and applied files edited since."""

    applied: list[str]
    pending: list[str]
    modified: list[str] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        return not self.pending


def discover_migrations(directory: Path | None = None) -> list[Migration]:
    """The migration files in version order; a badly named .sql file is an error, not silently skipped."""
    directory = directory or SQL_DIR / "migrations"
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        if not match:
            raise MigrationError(path.name, None, "file name must be <14-digit timestamp>_<lowercase_name>.sql")
        found.append(Migration(match["version"], match["name"], path))
    versions = [m.version for m in found]
    duplicates = {v for v in versions if versions.count(v) > 1}
    if duplicates:
        raise MigrationError(", ".join(sorted(duplicates)), None, "two migration files share a version")
    return found


def _ensure_bookkeeping(conn: psycopg.Connection) -> None:
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s) /* dba_admin */", (_LOCK_KEY,))
        conn.execute("create schema if not exists dba_admin /* dba_admin */")
        conn.execute("revoke all on schema dba_admin from public /* dba_admin */")
        conn.execute(
            """
            create table if not exists dba_admin.schema_migrations (
                version text primary key,
                name text not null,
                checksum text not null,
                applied_at timestamptz not null default now()
            ) /* dba_admin */
            """
        )


def _applied(conn: psycopg.Connection) -> dict[str, str]:
    exists = conn.execute("select to_regclass('dba_admin.schema_migrations') /* dba_admin */").fetchone()
    if not exists or exists[0] is None:
        return {}
    rows = conn.execute("select version, checksum from dba_admin.schema_migrations /* dba_admin */").fetchall()
    return dict(rows)


def schema_present(conn: psycopg.Connection) -> bool:
    """Whether the app's schema was ever prepared here (its bookkeeping table exists); reads only."""
    row = conn.execute("select to_regclass('dba_admin.schema_migrations') is not null /* dba_admin */").fetchone()
    return bool(row and row[0])


def migration_status(conn: psycopg.Connection, directory: Path | None = None) -> MigrationStatus:
    """Applied vs pending, without changing anything (health checks call this)."""
    applied = _applied(conn)
    files = discover_migrations(directory)
    pending = [m.label for m in files if m.version not in applied]
    modified = [m.label for m in files if m.version in applied and applied[m.version] != m.checksum]
    return MigrationStatus(applied=sorted(applied), pending=pending, modified=modified)


def _run_file(conn: psycopg.Connection, path: Path) -> None:
    """Run a file's statements one by one so an error can name its line; the caller owns the transaction."""
    text = path.read_text(encoding="utf-8")
    for statement in split_statements(text):
        try:
            conn.execute(statement.text)  # a trusted file from sql/, never user input
        except psycopg.Error as exc:
            position = exc.diag.statement_position if exc.diag else None
            offset = statement.start + (int(position) - 1 if position else 0)
            line = text.count("\n", 0, offset) + 1
            message = (exc.diag.message_primary if exc.diag else None) or str(exc)
            raise MigrationError(path.name, line, message) from exc


def needs_local_compat(conn: psycopg.Connection) -> bool:
    """sql/local is for plain PostgreSQL only: on Supabase the auth schema already exists."""
    row = conn.execute("select exists(select 1 from pg_namespace where nspname = 'auth') /* dba_admin */").fetchone()
    return not (row and row[0])


def apply_local_compat(conn: psycopg.Connection, directory: Path | None = None) -> list[str]:
    """Create Supabase's roles and auth.* functions on plain PostgreSQL; returns the files run."""
    directory = directory or SQL_DIR / "local"
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s) /* dba_admin */", (_LOCK_KEY,))
        if not needs_local_compat(conn):
            return []
        ran = []
        for path in sorted(directory.glob("*.sql")):
            _run_file(conn, path)
            ran.append(path.name)
        return ran


def apply_migrations(conn: psycopg.Connection, directory: Path | None = None) -> list[str]:
    """Apply every pending migration in order, each in its own transaction; returns the files applied."""
    if not conn.autocommit:
        raise MigrationError(
            "-", None, "apply_migrations needs an autocommit connection (it opens its own transactions)"
        )
    _ensure_bookkeeping(conn)
    applied_now: list[str] = []
    for migration in discover_migrations(directory):
        with conn.transaction():
            conn.execute("select pg_advisory_xact_lock(%s) /* dba_admin */", (_LOCK_KEY,))
            done = conn.execute(
                "select 1 from dba_admin.schema_migrations where version = %s /* dba_admin */", (migration.version,)
            ).fetchone()
            if done:
                continue
            _run_file(conn, migration.path)
            conn.execute(
                "insert into dba_admin.schema_migrations (version, name, checksum) values (%s, %s, %s) /* dba_admin */",
                (migration.version, migration.name, migration.checksum),
            )
        applied_now.append(migration.label)
    return applied_now


@dataclass(frozen=True)
class SchemaReport:
    local_compat: list[str]
    migrations: list[str]


def prepare_schema(conn: psycopg.Connection) -> SchemaReport:
    """Everything a database needs before the app can use it: compat layer (if plain PG), then migrations."""
    local = apply_local_compat(conn)
    return SchemaReport(local_compat=local, migrations=apply_migrations(conn))
