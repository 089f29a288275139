"""The append-only audit trail (dba_admin.audit_log): who did what, to what, when, from which app server."""

from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from dba_admin.redaction import redact_sql

if TYPE_CHECKING:
    import pandas as pd

APP_INSTANCE = f"{socket.gethostname()}:{os.getpid()}"

# Keys whose values never reach the audit trail, whatever a caller passes in details.
_SECRET_KEYS = ("password", "secret", "token", "api_key", "apikey", "cookie", "dsn", "key")


def _redact_value(value: Any) -> Any:
    if isinstance(value, dict):
        return redact(value)
    if isinstance(value, list | tuple):
        return [_redact_value(v) for v in value]
    if isinstance(value, str):
        return redact_sql(value)  # SQL text in a detail ("query", "sql"): its passwords, never the rest
    return value


def redact(details: dict[str, Any]) -> dict[str, Any]:
    """Drop secret-looking values so the audit log never stores a credential.

    Keys that name a secret lose their value; every text value goes through :func:`redact_sql`, the one
    redaction of SQL text (also used for the run history), so ``ALTER ROLE ... PASSWORD '...'`` quoted in a
    detail keeps its shape but not its password.
    """
    clean: dict[str, Any] = {}
    for key, value in details.items():
        if any(marker in key.lower() for marker in _SECRET_KEYS):
            clean[key] = "***"
        else:
            clean[key] = _redact_value(value)
    return clean


def record(
    conn: psycopg.Connection,
    action: str,
    *,
    actor: str | None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one audit row. Runs in the caller's transaction, so the row commits with the change it describes.

    The connection must be the app's owner connection (not SET ROLE authenticated): no API role may write here.
    """
    conn.execute(
        "insert into dba_admin.audit_log (actor, action, target, details, app_instance)"
        " values (%s, %s, %s, %s, %s) /* dba_admin */",
        (actor, action, target, Jsonb(redact(details or {})), APP_INSTANCE),
    )


@dataclass(frozen=True)
class AuditQuery:
    """Filters for the audit page and its CSV export; every one optional."""

    actor: str | None = None
    action_prefix: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    limit: int = 1000


def search(conn: psycopg.Connection[Any], query: AuditQuery) -> pd.DataFrame:
    """Audit rows matching the filters, newest first, as a DataFrame (the page shows it and exports CSV)."""
    import pandas as pd  # only here: the command line's start does not pay for pandas

    clauses = [sql.SQL("true")]
    params: list[Any] = []
    if query.actor:
        clauses.append(sql.SQL("actor ilike %s"))
        params.append(f"%{query.actor}%")
    if query.action_prefix:
        clauses.append(sql.SQL("action like %s"))
        params.append(query.action_prefix.replace("%", r"\%").replace("_", r"\_") + "%")
    if query.since:
        clauses.append(sql.SQL("at >= %s"))
        params.append(query.since)
    if query.until:
        clauses.append(sql.SQL("at < %s"))
        params.append(query.until)
    params.append(max(1, min(query.limit, 100_000)))
    statement = sql.SQL(
        "select id, at, actor, action, target, details::text as details, app_instance"
        " from dba_admin.audit_log where {} order by id desc limit %s /* dba_admin */"
    ).format(sql.SQL(" and ").join(clauses))
    with conn.cursor() as cur:
        cur.execute(statement, params)
        columns = [c.name for c in cur.description or []]
        return pd.DataFrame(cur.fetchall(), columns=columns)


def actions(conn: psycopg.Connection[Any]) -> list[str]:
    """The distinct actions recorded so far, for the filter's choices."""
    rows = conn.execute("select distinct action from dba_admin.audit_log order by 1 /* dba_admin */").fetchall()
    return [r[0] for r in rows]
