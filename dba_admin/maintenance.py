"""Maintenance actions a DBA starts from the explorer: refresh a materialized view, back up a table. Audited.

The audit row is written in the same transaction as the change it describes (a refresh), so it exists
exactly when the change committed. A backup writes a file, not the database: its audit row is written right
after the file is complete, and a failed backup is recorded too (who tried what, and why it failed).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import psycopg
from psycopg import sql

from dba_admin import audit
from dba_admin.errors import DbaAdminError, NotFound, QueryError, query_error_from

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
    with db.connection() as conn:
        try:
            with conn.transaction():
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
                    conn,
                    REFRESH_ACTION,
                    actor=actor,
                    target=f"{schema}.{name}",
                    details={
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
    try:
        with db.connection() as conn:
            row = conn.execute(
                "SELECT /* dba_admin */ at, details FROM dba_admin.audit_log"
                " WHERE action = %s AND details->>'schema' = %s AND details->>'name' = %s"
                " ORDER BY at DESC, id DESC LIMIT 1",
                (action, schema, name),
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


def backup_table(
    db: DatabaseManager,
    schema: str,
    name: str,
    actor: str,
    fmt: Literal["csv", "sql"] = "csv",
    *,
    progress: Callable[[int], None] | None = None,
) -> BackupResult:
    """DatabaseManager.backup_table plus the audit trail (the manager itself does not audit)."""
    try:
        result = db.backup_table(schema, name, fmt, progress=progress)
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
        {"format": fmt, "file": str(result.path), "rows": result.rows, "bytes": result.bytes},
    )
    return result


def _record(db: DatabaseManager, action: str, actor: str, schema: str, name: str, extra: dict[str, Any]) -> None:
    with db.connection() as conn:
        audit.record(
            conn,
            action,
            actor=actor,
            target=f"{schema}.{name}",
            details={"schema": schema, "name": name, **extra},
        )
