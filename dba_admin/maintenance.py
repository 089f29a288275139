"""Maintenance actions a DBA starts from the explorer: refresh a materialized view, back up a table. Audited.

Where each part runs: a refresh changes the connection's database, so it runs on the connection's DBA login
(the monitor login never writes; without a DBA login the refresh is refused with what to do). A backup only reads,
on the monitor login. The audit rows are the app's records and go to the workspace, with the connection's name in
their details, and last_refresh/last_backup read them back for that connection only.

The refresh's audit row is written in a workspace transaction that commits only after the refresh committed, and
is rolled back when the refresh fails, so the row exists when (and only when) the change was made. A backup writes
a file, not the database: its audit row is written right after the file is complete, and a failed backup is
recorded too (who tried what, and why it failed).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import psycopg
from psycopg import sql

from dba_admin import audit
from dba_admin import database as _database
from dba_admin.errors import (
    ConfigError,
    DbaAdminError,
    NotFound,
    QueryError,
    QueryRefused,
    SqlErrorInfo,
    query_error_from,
)

if TYPE_CHECKING:
    from dba_admin.database import BackupResult, DatabaseManager

__all__ = ["RefreshResult", "backup_table", "last_backup", "last_refresh", "refresh_materialized_view"]

REFRESH_ACTION = "matview.refresh"
BACKUP_ACTION = "table.backup"
BACKUP_FAILED_ACTION = "table.backup.failed"


@dataclass(frozen=True)
class RefreshResult:
    schema: str
    name: str
    concurrently: bool
    duration_ms: float
    refreshed_at: datetime


def refresh_materialized_view(
    db: DatabaseManager,
    schema: str,
    name: str,
    actor: str,
    *,
    concurrently: bool = False,
    timeout_ms: int | None = None,
) -> RefreshResult:
    """REFRESH MATERIALIZED VIEW [CONCURRENTLY] and its audit row, in one transaction.

    CONCURRENTLY keeps the view readable during the refresh but needs a populated view with a unique index;
    PostgreSQL's own error (55000, with its hint) says so otherwise. ``timeout_ms`` defaults to the app's
    statement timeout; 0 means no limit (a big view takes the time it takes).
    """
    settings = db.settings
    timeout = settings.statement_timeout_ms if timeout_ms is None else int(timeout_ms)
    if not db.has_dba_login:
        raise ConfigError(
            f"refreshing a materialized view changes the database, so it needs connection {db.name}'s DBA login, "
            "and none is registered: add one (`dba-admin connection add ... --dba-dsn`) or refresh it in psql"
        )
    try:
        # Contexts close inside out: the refresh commits first, then the workspace transaction with its audit row.
        with (
            db.workspace.connection() as wconn,
            wconn.transaction(),
            db.dba_connection() as conn,
            conn.transaction(),
        ):
            conn.execute(
                "SELECT /* dba_admin */ pg_catalog.set_config('statement_timeout', %s, true),"
                " pg_catalog.set_config('lock_timeout', %s, true)",
                (f"{timeout}ms", f"{settings.lock_timeout_ms}ms"),
            )
            found = conn.execute(
                "SELECT /* dba_admin */ c.relispopulated FROM pg_catalog.pg_class c"
                " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %s AND c.relname = %s AND c.relkind = 'm'",
                (schema, name),
            ).fetchone()
            if found is None:
                raise NotFound(f"materialized view {schema}.{name} does not exist")
            was_populated = bool(found[0])
            statement = sql.SQL("REFRESH MATERIALIZED VIEW {}{} /* dba_admin */").format(
                sql.SQL("CONCURRENTLY ") if concurrently else sql.SQL(""), sql.Identifier(schema, name)
            )
            started = time.perf_counter()
            conn.execute(statement)
            duration_ms = round((time.perf_counter() - started) * 1000, 3)
            row = conn.execute("SELECT /* dba_admin */ pg_catalog.clock_timestamp()").fetchone()
            refreshed_at = row[0] if row else datetime.now().astimezone()
            audit.record(
                wconn,
                REFRESH_ACTION,
                actor=actor,
                target=f"{schema}.{name}",
                details={
                    "connection": db.name,
                    "schema": schema,
                    "name": name,
                    "concurrently": concurrently,
                    "duration_ms": duration_ms,
                    "was_populated": was_populated,
                },
            )
    except psycopg.Error as exc:
        if exc.sqlstate is None:
            raise
        raise query_error_from(exc) from exc
    return RefreshResult(
        schema=schema, name=name, concurrently=concurrently, duration_ms=duration_ms, refreshed_at=refreshed_at
    )


def _last_audit(db: DatabaseManager, action: str, schema: str, name: str) -> tuple[datetime, dict[str, Any]] | None:
    """The newest audit row of ``action`` on this table of this connection (the workspace's audit log)."""
    try:
        with db.workspace.connection() as conn:
            row = conn.execute(
                "SELECT /* dba_admin */ at, details FROM dba_admin.audit_log"
                " WHERE action = %s AND details->>'connection' = %s"
                " AND details->>'schema' = %s AND details->>'name' = %s"
                " ORDER BY at DESC, id DESC LIMIT 1",
                (action, db.name, schema, name),
            ).fetchone()
    except psycopg.Error as exc:
        if exc.sqlstate is None:
            raise
        raise query_error_from(exc) from exc
    if row is None:
        return None
    return row[0], dict(row[1] or {})


def last_refresh(db: DatabaseManager, schema: str, name: str) -> datetime | None:
    """When this app last refreshed the view (the audit log); None when unknown.

    PostgreSQL records no refresh time, so a refresh made elsewhere (psql, pg_cron) is not seen.
    """
    found = _last_audit(db, REFRESH_ACTION, schema, name)
    return found[0] if found else None


def last_backup(db: DatabaseManager, schema: str, name: str) -> tuple[datetime, dict[str, Any]] | None:
    """The last backup of this table made from the app: when, and its details (file, rows, bytes)."""
    return _last_audit(db, BACKUP_ACTION, schema, name)


# Would row level security hide rows of this table from the current login? (Superusers and BYPASSRLS roles see
# everything; the owner too unless FORCE ROW LEVEL SECURITY.) NULL when the table does not exist.
_RLS_FILTERED_SQL = """
SELECT /* dba_admin */ c.relrowsecurity
       AND (c.relforcerowsecurity OR NOT pg_catalog.pg_has_role(c.relowner, 'USAGE'))
       AND NOT (SELECT r.rolsuper OR r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relname = %s
"""


def _rls_filtered(conn: psycopg.Connection[Any], schema: str, name: str) -> bool:
    with conn.transaction(force_rollback=True):
        row = conn.execute(_RLS_FILTERED_SQL, (schema, name)).fetchone()
    return bool(row and row[0])


def _backup_login(db: DatabaseManager, schema: str, name: str) -> str:
    """Which login backs the table up: the monitor login (it only reads), unless row level security would hide rows
    from it; then the DBA login, when the connection has one and RLS does not filter it; else a refusal, because a
    backup that silently misses rows is worse than none."""
    try:
        with db.connection() as conn:
            if not _rls_filtered(conn, schema, name):
                return "monitor"
        if db.has_dba_login and _DBA_BACKUP:
            with db.dba_connection() as conn:
                if not _rls_filtered(conn, schema, name):
                    return "dba"
    except psycopg.Error as exc:
        if exc.sqlstate is None:
            raise
        raise query_error_from(exc) from exc
    raise QueryRefused(
        SqlErrorInfo(
            sqlstate=None,
            message=f"{schema}.{name} has row level security, and the login that would read it sees only the rows its "
            "policies show: the backup would be incomplete, so it was not made",
            hint=f"Register a DBA login that owns the table or has BYPASSRLS for connection {db.name}, or back it up "
            "with pg_dump as its owner.",
        )
    )


# DatabaseManager.backup_table(login="dba") reads with the connection's DBA login (see _backup_login).
_DBA_BACKUP = "login" in inspect.signature(_database.DatabaseManager.backup_table).parameters


def backup_table(
    db: DatabaseManager,
    schema: str,
    name: str,
    actor: str,
    fmt: Literal["csv", "sql"] = "csv",
    *,
    progress: Callable[[int], None] | None = None,
) -> BackupResult:
    """DatabaseManager.backup_table (a read, on the connection) plus the audit trail in the workspace.

    Read with the monitor login, or the DBA login when row level security would hide rows from the monitor login
    (refused when neither sees every row). A failed or refused backup is audited too.
    """
    try:
        login = _backup_login(db, schema, name)
        extra: dict[str, Any] = {"login": login} if login != "monitor" else {}
        result = db.backup_table(schema, name, fmt, progress=progress, **extra)
    except (DbaAdminError, OSError) as exc:
        reason = exc.info.message if isinstance(exc, QueryError) else str(exc)
        _record(
            db,
            BACKUP_FAILED_ACTION,
            actor,
            schema,
            name,
            {"format": fmt, "error": reason, "error_type": type(exc).__name__},
        )
        raise
    _record(
        db,
        BACKUP_ACTION,
        actor,
        schema,
        name,
        {"format": fmt, "file": str(result.path), "rows": result.rows, "bytes": result.bytes, "login": login},
    )
    return result


def _record(db: DatabaseManager, action: str, actor: str, schema: str, name: str, extra: dict[str, Any]) -> None:
    with db.workspace.connection() as conn:
        audit.record(
            conn,
            action,
            actor=actor,
            target=f"{schema}.{name}",
            details={"connection": db.name, "schema": schema, "name": name, **extra},
        )
