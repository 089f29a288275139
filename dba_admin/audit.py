"""The append-only audit trail (dba_admin.audit_log): who did what, to what, when, from which app server."""

from __future__ import annotations

import os
import socket
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

APP_INSTANCE = f"{socket.gethostname()}:{os.getpid()}"

# Keys whose values never reach the audit trail, whatever a caller passes in details.
_SECRET_KEYS = ("password", "secret", "token", "api_key", "apikey", "cookie", "dsn", "key")


def redact(details: dict[str, Any]) -> dict[str, Any]:
    """Drop secret-looking values so the audit log never stores a credential."""
    clean: dict[str, Any] = {}
    for key, value in details.items():
        if any(marker in key.lower() for marker in _SECRET_KEYS):
            clean[key] = "***"
        elif isinstance(value, dict):
            clean[key] = redact(value)
        else:
            clean[key] = value
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
