"""What the table explorer shows to whom: the table list by role, and data previews under the viewer's identity.

DBAs see every schema and preview rows as the app's owner login (they may run any SQL anyway). Analysts and
viewers see the schemas that are not the platform's own (``SYSTEM_LIKE_SCHEMAS``: the app's private
``dba_admin`` with password hashes and the audit log, Supabase's ``auth``...), and their previews run inside the
per-user RLS transaction (``SET LOCAL ROLE authenticated`` + their claims, see :mod:`dba_admin.rls`) on the
unprivileged authenticator login: the database's grants and policies decide which rows they get, as they would
through Supabase's API, and a view's function that runs ``RESET ROLE`` lands on a role with no rights at all.
The preview SQL is composed by :func:`dba_admin.catalog.preview_table` only, never typed by the user, so running it
under the claims is safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import psycopg

from dba_admin import catalog
from dba_admin.access import DBA_ROLES
from dba_admin.errors import QueryError, SqlErrorInfo, query_error_from
from dba_admin.rls import UserClaims, user_transaction

if TYPE_CHECKING:
    from dba_admin.catalog import Filter, PreviewPage, TableInfo
    from dba_admin.database import DatabaseManager

__all__ = ["may_see", "preview_as", "visible_tables"]


def may_see(role: str, schema: str) -> bool:
    """Whether a role may open a table of this schema in the explorer."""
    return role in DBA_ROLES or schema not in catalog.SYSTEM_LIKE_SCHEMAS


def visible_tables(tables: Sequence[TableInfo], role: str) -> list[TableInfo]:
    return [t for t in tables if may_see(role, t.schema)]


def preview_as(
    db: DatabaseManager,
    claims: UserClaims | None,
    schema: str,
    name: str,
    *,
    filters: Sequence[Filter] = (),
    order_by: Sequence[tuple[str, bool]] = (),
    page: int = 1,
    page_size: int = 100,
) -> PreviewPage:
    """One page of rows: as the owner when ``claims`` is None (DBAs), else as that user under RLS."""
    if claims is None or claims.app_role in DBA_ROLES:
        return db.preview_table(schema, name, filters=filters, order_by=order_by, page=page, page_size=page_size)
    if not may_see(claims.app_role, schema):
        raise QueryError(
            SqlErrorInfo(sqlstate="42501", message=f"schema {schema} is not open to the role {claims.app_role}")
        )
    settings = db.settings
    with db.user_connection() as conn:
        try:
            with user_transaction(conn, claims, statement_timeout_ms=settings.statement_timeout_ms):
                return catalog.preview_table(
                    conn,
                    schema,
                    name,
                    filters=filters,
                    order_by=order_by,
                    page=page,
                    page_size=page_size,
                    statement_timeout_ms=settings.statement_timeout_ms,
                    lock_timeout_ms=settings.lock_timeout_ms,
                )
        except psycopg.Error as exc:
            if exc.sqlstate is None:
                raise
            raise query_error_from(exc) from exc
