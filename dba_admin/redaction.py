"""Secrets and values taken out of SQL and error text before it is stored or leaves the machine.

One small SQL lexer (comments, strings in every PostgreSQL spelling, dollar quotes, quoted identifiers,
words, numbers) serves three uses:

* :func:`redact_sql` — the audit log's redaction of SQL text: the literal after ``PASSWORD`` (``ALTER ROLE``,
  ``CREATE USER/ROLE``, ``ENCRYPTED PASSWORD``, user mappings' ``OPTIONS (password '…')``), a ``password=``
  in a connection string and the password of a ``scheme://user:pass@host`` URI become ``***``, also inside
  ``DO $$ … $$`` bodies and ``EXECUTE '…'`` strings. Used for the run history, the audit log and the activity
  audit; what it cannot see (a password passed through a variable, a function argument) it leaves alone.
* :func:`mask_sql_literals` — string literals (and long numbers) of a query replaced by placeholders, so a
  query sent to the assistant carries its shape, not the values typed into it.
* :func:`mask_error_values` — the values PostgreSQL quotes in an error (``Key (email)=(ana@x.com)``,
  ``Failing row contains (…)``, ``invalid input syntax for type integer: "abc"``) replaced by placeholders;
  the names (column, relation, constraint, type) stay, because they are what explains the error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

__all__ = [
    "NUMBER_PLACEHOLDER",
    "REDACTED",
    "STRING_PLACEHOLDER",
    "VALUE_PLACEHOLDER",
    "mask_error_values",
    "mask_sql_literals",
    "redact_sql",
]

REDACTED = "***"
STRING_PLACEHOLDER = "'<value>'"
NUMBER_PLACEHOLDER = "<number>"
VALUE_PLACEHOLDER = "<value>"
# Numbers with this many digits or more are masked in a query (ids, phone, document and card numbers,
# amounts); shorter ones (LIMIT 10, 30 days, status 2) are the query's shape and stay.
MASK_NUMBER_DIGITS = 5
_MAX_DEPTH = 3  # strings inside dollar bodies inside strings...: deeper text is left as is

_TOKEN = re.compile(
    r"""
      (?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
    | (?P<dollar>\$\$(?P<dbody>.*?)(?:\$\$|\Z)
        | \$(?P<tag>[^\W\d][\w]*)\$(?P<tbody>.*?)(?:\$(?P=tag)\$|\Z))
    | (?P<estring>[eE]'(?:[^'\\]|\\.|'')*(?:'|\Z))
    | (?P<string>(?:[uU]&|[bBxXnN])?'(?:[^']|'')*(?:'|\Z))
    | (?P<qident>(?:[uU]&)?"(?:[^"]|"")*(?:"|\Z))
    | (?P<word>[^\W\d][\w$]*)
    | (?P<param>\$\d+)
    | (?P<number>(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?)
    """,
    re.VERBOSE | re.DOTALL,
)
_STRING_KINDS = ("dollar", "estring", "string")

# Inside a string: a libpq connection string's password=..., a URI's user:password@.
_CONNINFO_PASSWORD = re.compile(r"(\bpassword\s*=\s*)(''(?:[^']|'''')*''|\"[^\"]*\"|[^\s'\";&]+)", re.IGNORECASE)
_URI_PASSWORD = re.compile(r"(://[^:/@\s'\"]+:)([^@\s'\"]+)(@)")
_COMMENT_PASSWORD = re.compile(r"(\bpassword\s*[:=]?\s*)('(?:[^']|'')*'|\S+)", re.IGNORECASE)


def _tokens(text: str) -> Iterator[tuple[str, re.Match[str]]]:
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind in ("dbody", "tag", "tbody"):  # inner groups never end a match; the outer group names it
            kind = "dollar"
        yield kind or "other", match


def _rewrite(text: str, replace: Callable[[str, re.Match[str]], str | None]) -> str:
    """``text`` with each token that ``replace`` returns a string for replaced by it (one linear pass)."""
    out: list[str] = []
    last = 0
    for kind, match in _tokens(text):
        new = replace(kind, match)
        if new is None:
            continue
        out.append(text[last : match.start()])
        out.append(new)
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def _dollar_parts(match: re.Match[str]) -> tuple[str, str, str]:
    """(opening delimiter, body, closing delimiter) of a dollar-quoted token."""
    if match.group("tag") is not None:
        body = match.group("tbody") or ""
        opening = f"${match.group('tag')}$"
    else:
        body = match.group("dbody") or ""
        opening = "$$"
    start = len(opening)
    closing = match.group(0)[start + len(body) :]
    return opening, body, closing


def _in_string(match: re.Match[str], kind: str, change: Callable[[str], str]) -> str:
    """Apply ``change`` to the text inside a string token, keeping its quoting valid."""
    token = match.group(0)
    if kind == "dollar":
        opening, body, closing = _dollar_parts(match)
        return opening + change(body) + closing
    quote = token.index("'")
    closed = len(token) > quote + 1 and token.endswith("'")
    inner = token[quote + 1 : len(token) - 1 if closed else len(token)]
    # E'' strings keep their backslash escapes as they are; standard strings are unescaped, changed, re-escaped.
    changed = change(inner) if kind == "estring" else change(inner.replace("''", "'")).replace("'", "''")
    return token[: quote + 1] + changed + ("'" if closed else "")


def _may_hold_secret(text: str) -> bool:
    lowered = text.lower()
    return "password" in lowered or "://" in lowered


def redact_sql(text: str, *, _depth: int = 0) -> str:
    """SQL text with the passwords in it replaced by ``'***'`` (see the module docstring for the forms)."""
    if not text or not _may_hold_secret(text):
        return text
    after_password = False

    def replace(kind: str, match: re.Match[str]) -> str | None:
        nonlocal after_password
        token = match.group(0)
        if kind == "comment":
            return _COMMENT_PASSWORD.sub(rf"\1{REDACTED}", token) if _may_hold_secret(token) else None
        if kind in _STRING_KINDS and after_password:
            after_password = False
            return f"'{REDACTED}'"
        after_password = kind == "word" and token.lower() == "password"
        if kind in _STRING_KINDS and _may_hold_secret(token):

            def inner(body: str) -> str:
                body = _CONNINFO_PASSWORD.sub(rf"\1{REDACTED}", body)
                body = _URI_PASSWORD.sub(rf"\1{REDACTED}\3", body)
                return redact_sql(body, _depth=_depth + 1) if _depth < _MAX_DEPTH else body

            return _in_string(match, kind, inner)
        return None

    return _rewrite(text, replace)


def mask_sql_literals(text: str, *, numbers: bool = True, _depth: int = 0) -> str:
    """A query with its string literals as ``'<value>'`` and its long numbers as ``<number>``.

    Dollar-quoted bodies are code (``DO``, function bodies): their own literals are masked, the code stays.
    ``numbers=False`` keeps every number (plan text, where numbers are costs and row counts).
    """
    if not text:
        return text

    def replace(kind: str, match: re.Match[str]) -> str | None:
        token = match.group(0)
        if kind == "dollar":
            if _depth >= _MAX_DEPTH:
                return None
            return _in_string(match, kind, lambda body: mask_sql_literals(body, numbers=numbers, _depth=_depth + 1))
        if kind in ("estring", "string"):
            return STRING_PLACEHOLDER
        if kind == "number" and numbers and sum(ch.isdigit() for ch in token) >= MASK_NUMBER_DIGITS:
            return NUMBER_PLACEHOLDER
        return None

    return _rewrite(redact_sql(text), replace)


# --- error texts --------------------------------------------------------------------------------------------

# English and Portuguese (lc_messages pt_BR) spellings.
_KEY_VALUES = re.compile(r"(\b(?:Key|Chave) \(.*?\))=\((.*)\)")
_FAILING_ROW = re.compile(
    r"(\b(?:Failing row contains|[Ll]inha que falhou cont[ée]m|[Ll]inha com falha cont[ée]m) )\((.*)\)"
)
_LINE_EXCERPT = re.compile(r"^(\s*(?:LINE|LINHA) \d+:)(.*)$", re.MULTILINE)
_JSON_DATA = re.compile(r"(\bJSON data, line \d+: )(.*)$", re.MULTILINE)
_QUOTED = re.compile(r'"(?:[^"\n]|"")*"')
_SQUOTED = re.compile(r"[eE]?'(?:[^'\n]|'')*'")
_NEAR = re.compile(r"""(\b(?:at or near|em ou pr[óo]ximo a) )"((?:[^"\n]|"")*)\"""")
# A double-quoted text right after one of these is a value, not a name.
_VALUE_BEFORE = re.compile(r"(?:[^\s:]:\s*|\b(?:value|values|Token|literal|string|input)\s+)$", re.IGNORECASE)
_SEVERITY_BEFORE = re.compile(r"\b(?:ERROR|DETAIL|HINT|CONTEXT|WARNING|NOTICE|FATAL|PANIC|INFO|LOG):\s*$")


def _mask_quoted(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        before = text[max(0, match.start() - 40) : match.start()]
        if _VALUE_BEFORE.search(before) and not _SEVERITY_BEFORE.search(before):
            return f'"{VALUE_PLACEHOLDER}"'
        return match.group(0)

    return _QUOTED.sub(one, text)


def _near(match: re.Match[str]) -> str:
    token = match.group(2)
    literal = re.match(r"(?:[eEbBxXnN]|[uU]&)?'|\$|[-+]?\.?\d", token) is not None
    return f'{match.group(1)}"{VALUE_PLACEHOLDER}"' if literal else match.group(0)


def mask_error_values(text: str) -> str:
    """A PostgreSQL error text with the values it quotes replaced by ``<value>``; names and positions stay."""
    if not text:
        return text
    text = redact_sql(text)
    text = _KEY_VALUES.sub(rf"\1=({VALUE_PLACEHOLDER})", text)
    text = _FAILING_ROW.sub(rf"\1({VALUE_PLACEHOLDER})", text)
    text = _JSON_DATA.sub(rf"\1{VALUE_PLACEHOLDER}", text)
    text = _LINE_EXCERPT.sub(lambda m: m.group(1) + mask_sql_literals(m.group(2)), text)
    text = _NEAR.sub(_near, text)
    text = _mask_quoted(text)
    return _SQUOTED.sub(STRING_PLACEHOLDER, text)
