"""The per-user RLS transaction: act as Supabase's API does, so the database's policies decide.

Inside ``user_transaction`` the connection runs ``SET LOCAL ROLE authenticated`` and publishes the user's
claims in ``request.jwt.claims`` (transaction-local), exactly what PostgREST does for a request with a JWT.
``auth.email()``, ``auth.uid()`` and ``auth.jwt()`` then return this user, and the policies of
sql/migrations/*_rls_policies.sql filter every read and write. Nothing here filters rows in Python.

Only the app may open such a transaction, with SQL it wrote itself: the claims are an ordinary settable GUC, so
SQL typed by users never runs here (it runs on the read-only role instead). The transaction's base is the
unprivileged authenticator login (``DatabaseManager.user_connection``: NOINHERIT, member of anon and authenticated
only), never the app's owner: code reached by the app's SQL - a view's function, a policy expression written by any
schema owner - can ``RESET ROLE``, and must then find no privilege to fall back on. ``user_transaction`` refuses a
superuser connection outright, so that mistake cannot come back unnoticed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.rows import dict_row

from dba_admin.errors import DbaAdminError, PermissionDenied, query_error_from

if TYPE_CHECKING:
    from dba_admin.database import DatabaseManager

APP_ROLES = ("admin", "dba", "analyst", "viewer")
DB_ROLE = "authenticated"

# Claim settings that older PostgREST versions set one by one; auth.*() read them before request.jwt.claims,
# so they are blanked inside the transaction in case anything left them set on a pooled session.
_LEGACY_CLAIM_SETTINGS = (
    "request.jwt.claim",
    "request.jwt.claim.sub",
    "request.jwt.claim.email",
    "request.jwt.claim.role",
)


@dataclass(frozen=True)
class UserClaims:
    """Who the database should believe the current user is: the claims of a Supabase-style JWT."""

    sub: uuid.UUID
    email: str
    app_role: str

    def __post_init__(self) -> None:
        if self.app_role not in APP_ROLES:
            raise ValueError(f"app_role must be one of {', '.join(APP_ROLES)}, not {self.app_role!r}")
        if "@" not in self.email:
            raise ValueError(f"email {self.email!r} is not an email address")

    @property
    def normalized_email(self) -> str:
        """Emails are stored lower-case in the app tables; the policies compare them exactly."""
        return self.email.strip().lower()

    def to_dict(self) -> dict[str, Any]:
        return {
            "sub": str(self.sub),
            "email": self.normalized_email,
            "role": DB_ROLE,
            "aud": DB_ROLE,
            "app_role": self.app_role,
        }

    def to_json(self) -> str:
        """The value for ``request.jwt.claims``; the policies read ``email`` and ``app_role`` from it."""
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True)


def _user_settings(
    conn: psycopg.Connection[Any], claims: UserClaims, statement_timeout_ms: int | None, lock_timeout_ms: int | None
) -> list[tuple[str, str]]:
    """The transaction-local settings that make a connection act as the user, after checking it may.

    The role is one more setting (``set_config('role', ..., true)`` is ``SET LOCAL ROLE``, as PostgREST switches
    role), so the role, the claims and the timeouts take one statement. The connection must also be idle, which
    ``read_in_one_round_trip`` and ``transaction_with_settings`` check: otherwise the role and claims would leak past
    the block onto the caller's transaction.
    """
    from dba_admin.database import timeout_settings

    if conn.info.parameter_status("is_superuser") == "on":
        raise DbaAdminError(
            "user_transaction refuses a superuser connection: a RESET ROLE in code the query reaches would run as "
            "the superuser. Use DatabaseManager.user_connection() (the unprivileged authenticator login)."
        )
    settings: list[tuple[str, str]] = [("role", DB_ROLE)]
    settings += [(name, "") for name in _LEGACY_CLAIM_SETTINGS]
    settings.append(("request.jwt.claims", claims.to_json()))
    return settings + timeout_settings(statement_timeout_ms, lock_timeout_ms)


def user_read(
    conn: psycopg.Connection[Any],
    claims: UserClaims,
    query: sql.SQL | sql.Composed,
    params: tuple[Any, ...] = (),
    *,
    statement_timeout_ms: int | None = None,
    lock_timeout_ms: int | None = None,
) -> list[dict[str, Any]]:
    """One read as the user in one round trip, under the same checks and settings as ``user_transaction``: for what
    every page run asks (may this user open the chosen connection?), which a remote workspace pays in latency."""
    from dba_admin.database import read_in_one_round_trip

    settings = _user_settings(conn, claims, statement_timeout_ms, lock_timeout_ms)
    return read_in_one_round_trip(conn, settings, query, params)


@contextmanager
def user_transaction(
    conn: psycopg.Connection[Any],
    claims: UserClaims,
    *,
    statement_timeout_ms: int | None = None,
    lock_timeout_ms: int | None = None,
) -> Iterator[psycopg.Cursor[Any]]:
    """A transaction running as ``authenticated`` with ``claims``; commits on success, rolls back on error.

    The connection must have no transaction open: ``SET LOCAL`` inside a savepoint would outlive the block
    and leave the role and claims on the caller's outer transaction.
    """
    from dba_admin.database import transaction_with_settings

    settings = _user_settings(conn, claims, statement_timeout_ms, lock_timeout_ms)
    with transaction_with_settings(conn, settings) as cur:
        yield cur


@contextmanager
def user_cursor(
    workspace: DatabaseManager,
    claims: UserClaims,
    *,
    refusals: Mapping[type[psycopg.Error], Callable[[psycopg.Error], DbaAdminError]] | None = None,
) -> Iterator[psycopg.Cursor[Any]]:
    """One transaction as the user on the workspace's authenticator login, with the app's statement and lock
    timeouts and rows as dicts: the one way the core reads and writes app data as a person.

    RLS refusing (42501) becomes PermissionDenied; ``refusals`` turns other driver errors the caller expects (a
    unique violation, a check) into its own named errors; any other driver error becomes a QueryError.
    """
    settings = workspace.settings
    try:
        with (
            workspace.user_connection() as conn,
            user_transaction(
                conn,
                claims,
                statement_timeout_ms=settings.statement_timeout_ms,
                lock_timeout_ms=settings.lock_timeout_ms,
            ) as cur,
        ):
            cur.row_factory = dict_row
            yield cur
    except pg_errors.InsufficientPrivilege as exc:
        raise PermissionDenied(
            f"the database refused this for {claims.normalized_email}: {exc.diag.message_primary or exc}"
        ) from exc
    except psycopg.Error as exc:
        for kind, named in (refusals or {}).items():
            if isinstance(exc, kind):
                raise named(exc) from exc
        raise query_error_from(exc) from exc
