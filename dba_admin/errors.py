"""Named error types, so callers never see a raw driver exception (datasette's pattern)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
    position: int | None = None  # 1-based character offset into the statement text, as PostgreSQL reports it
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


class QueryRefused(QueryError):
    """The core refused to run a statement (e.g. a read-only escape); nothing reached the database."""


class NotFound(DbaAdminError):
    """The named object (table, project, script, user) does not exist or is not visible to the caller."""
