"""Named error types, so callers never see a raw driver exception (datasette's pattern)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import psycopg


class DbaAdminError(Exception):
    """Base class: every error the core raises on purpose is one of these."""


class ConfigError(DbaAdminError):
    """Settings are missing or contradict each other; the message says which and what to do."""


class EmbeddedServerError(DbaAdminError):
    """The embedded PostgreSQL could not be found, started or reached."""


class MigrationError(DbaAdminError):
    """A migration failed; it was rolled back whole. Names the file and line."""

    def __init__(self, file: str, line: int | None, message: str) -> None:
        self.file = file
        self.line = line
        self.message = message
        where = f"{file}" + (f", line {line}" if line else "")
        super().__init__(f"migration {where} failed and was rolled back: {message}")


@dataclass(frozen=True)
class SqlErrorInfo:
    """What PostgreSQL said about a failed statement, in the shape the UI shows."""

    sqlstate: str | None
    message: str
    position: int | None = None  # 1-based character offset into the full submitted text (all statements)
    hint: str | None = None
    detail: str | None = None
    context: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "sqlstate": self.sqlstate,
            "message": self.message,
            "position": self.position,
            "hint": self.hint,
            "detail": self.detail,
            "context": self.context,
        }


class QueryError(DbaAdminError):
    """A statement failed in PostgreSQL, or was refused before it reached it."""

    def __init__(self, info: SqlErrorInfo) -> None:
        self.info = info
        super().__init__(info.message)


def one_line(exc: BaseException) -> str:
    """What an exception says, in one line (driver texts run on with tabs and advice); its type if nothing."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def sql_error_info(exc: psycopg.Error) -> SqlErrorInfo:
    """A driver error as the UI shows it: every diagnostic field PostgreSQL sent, one shape for all modules.

    ``position`` is PostgreSQL's own (1-based, into the statement it received); callers that sent a prefix or
    one statement of a larger text map it themselves (see database.py). A client-side error (no SQLSTATE)
    keeps the first line of the driver's text; a lost connection says so and what to do.
    """
    diag = exc.diag
    sqlstate = exc.sqlstate or diag.sqlstate
    message = diag.message_primary or one_line(exc)
    hint = diag.message_hint
    position: int | None = None
    if diag.statement_position:
        with contextlib.suppress(ValueError):
            position = int(diag.statement_position)
    if sqlstate is None and isinstance(exc, psycopg.OperationalError):
        message = f"the connection to the database was lost: {message}"
        hint = hint or "PostgreSQL may have restarted or the network dropped; run it again."
    return SqlErrorInfo(
        sqlstate=sqlstate,
        message=message,
        position=position,
        hint=hint,
        detail=diag.message_detail,
        context=diag.context,
    )


def query_error_from(exc: psycopg.Error) -> QueryError:
    """The named error for a driver error, so no caller has to catch psycopg's own types."""
    return QueryError(sql_error_info(exc))


class QueryRefused(QueryError):
    """The core refused to run a statement (e.g. a read-only escape); nothing reached the database."""


class NotFound(DbaAdminError):
    """The named object (table, project, script, user) does not exist or is not visible to the caller."""


class PermissionDenied(DbaAdminError):
    """The caller's role or the database's policies do not allow this action."""


class ConflictError(DbaAdminError):
    """Someone else changed the thing since the caller read it; nothing was overwritten."""


class AuthError(DbaAdminError):
    """A login or user-administration request was refused; the message is safe to show."""


class AccountLocked(AuthError):
    """Too many failed logins: the account is locked until ``until``."""

    def __init__(self, username: str, until: object) -> None:
        self.username = username
        self.until = until
        super().__init__(f"account {username!r} is locked until {until} after repeated failed logins")


class LastAdminError(AuthError):
    """The change would leave the app without an active admin."""


@dataclass(frozen=True)
class ConcurrentChange:
    """The other person's save that a refused save would have overwritten, as the UI shows it."""

    version: int
    author: str
    saved_at: Any  # datetime of the other save
    sql: str
    diff: str  # unified diff from their text (saved) to the caller's text (refused)


class SaveConflict(ConflictError):
    """A save named a base version that is no longer the latest: someone saved since. Nothing was written."""

    def __init__(self, script_id: Any, base_version: int, theirs: ConcurrentChange) -> None:
        self.script_id = script_id
        self.base_version = base_version
        self.theirs = theirs
        super().__init__(
            f"the script was saved by {theirs.author} as version {theirs.version} since you opened version "
            f"{base_version}; nothing was saved. Review their change, merge it into your text and save again."
        )


class ImportClash(ConflictError):
    """An import would reuse script names that exist in the target project, and no clash policy was chosen."""

    def __init__(self, names: list[str]) -> None:
        self.names = sorted(names)
        super().__init__(
            f"{len(self.names)} script name(s) already exist in the project: {', '.join(self.names)}. "
            "Nothing was imported; choose whether to skip them, import them under new names, or save them as "
            "new versions of the existing scripts."
        )


class InvalidArchive(DbaAdminError):
    """An uploaded project archive is not one the app can import safely (bad zip, manifest, size or path)."""
