"""Find the SQL in an answer and check it against the live schema with EXPLAIN, never running it.

Why EXPLAIN: it parses, resolves every table, column, function and type, checks privileges and plans the
statement, which is exactly "would this run here?", without executing anything. It runs on the read-only
login in a read-only transaction (DatabaseManager.explain(read_only=True)), so even a statement that
slipped past the classification cannot change data. Only a single read statement is "valid to open";
anything else (writes, DDL, several statements) is shown but marked not valid, with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from dba_admin.errors import ConfigError, DbaAdminError, QueryError
from dba_admin.sql_text import Kind, split_statements

__all__ = ["SqlCheck", "check_sql", "extract_sql", "scrub_secrets"]

CheckStatus = Literal["valid", "invalid", "not_checked"]


@dataclass(frozen=True)
class SqlCheck:
    """One SQL block of an answer and what EXPLAIN said about it."""

    sql: str
    valid: bool
    error: str | None = None
    status: CheckStatus = "invalid"
    sqlstate: str | None = None
    kind: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "sql": self.sql,
            "valid": self.valid,
            "status": self.status,
            "error": self.error,
            "sqlstate": self.sqlstate,
            "kind": self.kind,
        }


_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_SQL_LANGS = {"sql", "postgres", "postgresql", "pgsql", "psql", "plpgsql"}
_STARTS_SQL = re.compile(r"^\s*(?:--[^\n]*\n\s*)*(select|with|explain|table|values)\b", re.IGNORECASE)
_BARE = re.compile(r"(?im)^[ \t]*((?:select|with)\b(?:(?!\n[ \t]*\n).)*?)(?:;|(?=\n[ \t]*\n)|\Z)", re.DOTALL)


def extract_sql(text: str) -> list[str]:
    """SQL statements in an answer: ```sql fences first; bare SELECT/WITH paragraphs when there are none.

    A fence holding several statements gives one entry per statement (each is checked on its own).
    """
    found: list[str] = []
    fenced = list(_FENCE.finditer(text))
    if fenced:
        for match in fenced:
            lang, body = match.group(1).lower(), match.group(2)
            if lang in _SQL_LANGS or (not lang and _STARTS_SQL.match(body)):
                found.extend(_statements_of(body))
        return _dedup(found)
    for match in _BARE.finditer(text):
        candidate = match.group(1).strip()
        # Prose such as "Select the items you want from the menu." is not SQL: bare SQL needs a FROM and
        # does not end like a sentence (fenced blocks are the reliable way, and the prompt asks for them).
        sentence_end = candidate.rstrip().endswith((".", "?", "!"))
        if re.search(r"\bfrom\b", candidate, re.IGNORECASE) and not sentence_end:
            found.extend(_statements_of(candidate))
    return _dedup(found)


def _statements_of(body: str) -> list[str]:
    try:
        statements = split_statements(body)
    except Exception:
        return [body.strip()] if body.strip() else []
    return [s.text for s in statements if s.text.strip()]


def _dedup(items: list[str]) -> list[str]:
    return list(dict.fromkeys(i.strip() for i in items if i.strip()))


# --------------------------------------------------------------------------------------------------
# Secrets never leave the machine
# --------------------------------------------------------------------------------------------------

_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+):([^\s@/]+)@")
_KV_SECRET = re.compile(
    r""
    r"(?i)\b(password|passwd|pwd|secret|api[_-]?key|apikey|token|service[_-]?role[_-]?key)(\s*[=:]\s*)('[^']*'|\"[^\"]*\"|\S+)"
)
_GOOGLE_KEY = re.compile(r"AIza[0-9A-Za-z_-]{30,}")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
_SUPABASE_KEY = re.compile(r"\bsb_(?:secret|publishable)_[A-Za-z0-9_-]{10,}")


def scrub_secrets(text: str, *secrets: str | None) -> str:
    """Text with anything that looks like a credential replaced by ***.

    Used on every piece of text that goes into a prompt (error messages may quote a DSN or a setting), and
    on the exact values of the configured secrets.
    """
    out = text
    for secret in secrets:
        if secret and len(secret) >= 6:
            out = out.replace(secret, "***")
    out = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}:***@", out)
    out = _KV_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}***", out)
    out = _GOOGLE_KEY.sub("***", out)
    out = _JWT.sub("***", out)
    return _SUPABASE_KEY.sub("***", out)


# --------------------------------------------------------------------------------------------------
# Checking
# --------------------------------------------------------------------------------------------------

ExplainFn = Callable[..., dict[str, Any]]


def check_sql(explain: ExplainFn, sql_text: str, *, claims: Any = None) -> SqlCheck:
    """EXPLAIN one statement as the read-only role; a SqlCheck whatever happens (never raises for SQL).

    ``explain`` is ``DatabaseManager.explain`` (or any callable with its signature).
    """
    text = sql_text.strip()
    try:
        statements = split_statements(text)
    except Exception as exc:
        return SqlCheck(text, False, f"could not parse the SQL: {exc}", "invalid")
    if not statements:
        return SqlCheck(text, False, "no SQL statement in the block", "invalid")
    if len(statements) > 1:
        return SqlCheck(
            text,
            False,
            f"{len(statements)} statements in one block; only a single read statement can be opened",
            "invalid",
            kind=statements[0].kind.value,
        )
    stmt = statements[0]
    if stmt.kind != Kind.READ:
        return SqlCheck(
            stmt.text,
            False,
            f"{stmt.command or stmt.kind.value.upper()} is not a read statement: the assistant only "
            "proposes read "
            "SQL to open in the editor; a DBA reviews and runs changes.",
            "not_checked",
            kind=stmt.kind.value,
        )
    try:
        explain(stmt.text, read_only=True, claims=claims)
    except QueryError as exc:
        info = exc.info
        message = info.message
        if info.hint:
            message += f" (hint: {info.hint})"
        return SqlCheck(stmt.text, False, message, "invalid", sqlstate=info.sqlstate, kind=stmt.kind.value)
    except ConfigError as exc:
        return SqlCheck(stmt.text, False, f"not checked: {exc}", "not_checked", kind=stmt.kind.value)
    except DbaAdminError as exc:
        return SqlCheck(stmt.text, False, str(exc), "invalid", kind=stmt.kind.value)
    return SqlCheck(stmt.text, True, None, "valid", kind=stmt.kind.value)
