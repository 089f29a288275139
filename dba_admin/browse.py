"""What the table explorer shows to whom: the table list by role, and data previews under the viewer's identity.

DBAs see every schema and preview rows through the connection's DBA login when it has one (the owner's view, so
row level security hides nothing; still a READ ONLY transaction), else its monitor login (reads, never writes).
Analysts and viewers see the schemas that are not the platform's own (``SYSTEM_LIKE_SCHEMAS``: ``dba_admin``,
Supabase's ``auth``...), and their previews run on the connection's read-only login in a READ ONLY transaction:
the grants its owner gave that login decide what they read (never a member of ``authenticated``, so a Supabase
project's own RLS policies for its API users do not apply to the team's analysts). The preview SQL is composed by
:func:`dba_admin.catalog.preview_table` only, never typed by the user.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import psycopg

from dba_admin import catalog
from dba_admin.access import DBA_ROLES
from dba_admin.errors import QueryError, SqlErrorInfo, query_error_from
from dba_admin.rls import UserClaims

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
    """One page of rows. DBAs (``claims`` None or a DBA role): on the connection's DBA login when it has one (the
    tables' owner, or a login that bypasses RLS, so row level security hides no row from them), else on the monitor
    login; analysts and viewers on the read-only login. Always in a READ ONLY transaction."""
    if claims is None or claims.app_role in DBA_ROLES:
        if not db.has_dba_login:
            return db.preview_table(schema, name, filters=filters, order_by=order_by, page=page, page_size=page_size)
        borrow = db.dba_connection
    else:
        if not may_see(claims.app_role, schema):
            raise QueryError(
                SqlErrorInfo(sqlstate="42501", message=f"schema {schema} is not open to the role {claims.app_role}")
            )
        borrow = db.readonly_connection
    settings = db.settings
    with borrow() as conn:
        try:
            with conn.transaction(force_rollback=True):
                conn.execute("/* dba_admin */ SET TRANSACTION READ ONLY")
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
