"""Statement splitting, formatting and classification of SQL text typed by users.

Why not ``sqlparse.split``: measured with sqlparse 0.5/0.6, its lexer is not PostgreSQL's. It treats a
backslash in a standard string as an escape (``'a\\', 'b;c'`` is lexed wrong), it does not nest block
comments, and its BEGIN/END heuristic swallows ``select begin from t; commit; set role x`` into ONE
statement. The last one matters for security: the read-only checks look at each statement, so a
statement boundary the checker misses would hide ``COMMIT`` or ``SET ROLE``. Splitting therefore uses
the small PostgreSQL-accurate lexer below (strings with their prefixes, dollar quotes, nested comments,
quoted identifiers) and psql's own rule for ``BEGIN ATOMIC ... END`` bodies. As a second line of
defence the DatabaseManager sends every statement over the extended protocol, where PostgreSQL itself
refuses more than one command. sqlparse is still used for :func:`format_sql`, guarded so that a
formatting can never change what the text means.

The read-only guard (:func:`is_read_only_escape`) compares names after PostgreSQL's own normalisation
(:func:`resolve_names`: unquoted words lower-cased, "quoted" kept as written, ``U&"..."`` escapes decoded
with their ``UESCAPE`` character, 63-byte truncation), so ``SET U&"statement\\005ftimeout" = 0`` is seen
as ``SET statement_timeout``. In read-only SQL it refuses, in any spelling and scope (SET, SET LOCAL,
SET SESSION, TO DEFAULT, RESET, RESET ALL): the run's time limits (statement_timeout, lock_timeout,
idle_in_transaction_session_timeout, idle_session_timeout, transaction_timeout), the read-only
transaction (transaction_read_only, default_transaction_read_only, isolation and deferrable, SET
TRANSACTION, SET SESSION CHARACTERISTICS, BEGIN/START TRANSACTION), identity (role,
session_authorization, dotted custom settings such as request.jwt.claims), session_replication_role,
row_security, server memory and disk (maintenance_work_mem, logical_decoding_work_mem, temp_file_limit;
work_mem above 256MB, hash_mem_multiplier above 2); and calls, anywhere in a statement and
schema-qualified or not, of set_config, pg_cancel_backend, pg_terminate_backend, every
pg_advisory_* / pg_try_advisory_* function and the functions that run SQL given as text (query_to_xml
and its two siblings, ts_stat, ts_rewrite). Other settings (datestyle, timezone, search_path, ...) stay
allowed: they grant nothing and end with the run. The reasons are next to the lists, in the guard's
section below.

Every pass here is linear in the length of the text (``bench/splitter_bench.py``): a pasted text is
untrusted input, and a quadratic scan of 64 KB took 26 s of CPU.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

import sqlparse

__all__ = [
    "Kind",
    "Statement",
    "Token",
    "ascii_lower",
    "decode_unicode_escapes",
    "format_sql",
    "identifier_name",
    "is_read_only_escape",
    "resolve_names",
    "split_statements",
    "string_value",
    "tokenize",
    "unsupported_reason",
]


class Kind(StrEnum):
    """What a statement does, so the UI can decide whether to ask for confirmation."""

    READ = "read"
    WRITE = "write"
    DDL = "ddl"
    DESTRUCTIVE = "destructive"
    TRANSACTION = "transaction"
    SESSION = "session"
    OTHER = "other"
    EMPTY = "empty"


# ---------------------------------------------------------------------------------------------------
# Lexer
# ---------------------------------------------------------------------------------------------------

# Token kinds. Only what splitting and classification need; operators are lumped together.
WS, COMMENT, STRING, DOLLAR, QIDENT, WORD, NUMBER, PARAM, PUNCT, OP = (
    "ws",
    "comment",
    "string",
    "dollar",
    "qident",
    "word",
    "number",
    "param",
    "punct",
    "op",
)


class Token(NamedTuple):
    kind: str
    value: str
    start: int

    @property
    def lower(self) -> str:
        return self.value.lower()


_PARAM_RE = re.compile(r"\$\d+")
# Identifier characters as PostgreSQL reads them: ASCII letters, '_' and every non-ASCII character, then also digits
# (and '$' inside a word). Written as complements within ASCII: the same sets as [A-Za-z_\u0080-\U0010ffff] and
# [A-Za-z0-9_\u0080-\U0010ffff], but Python compiles a range up to U+10FFFF into a bitmap, 10 ms each, on every
# start of every command (tests/test_sql_text.py checks the sets over all code points).
IDENT_START = r"[^\x00-\x40\x5b-\x5e\x60\x7b-\x7f]"
IDENT_CHAR = r"[^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]"
IDENT_CHAR_OR_DOLLAR = r"[^\x00-\x23\x25-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]"
_DOLLAR_TAG_RE = re.compile(rf"\$(?:{IDENT_START}{IDENT_CHAR}*)?\$")
_OP_CHARS = set("+-*/<>=~!@#%^&|`?:")


def _scan_quoted(text: str, pos: int, quote: str, backslash: bool) -> int:
    """End offset (exclusive) of a quoted literal starting at ``pos`` (the opening quote).

    Doubled quotes escape a quote; with ``backslash`` (E'' strings) a backslash escapes the next char.
    An unterminated literal runs to the end of the text, as PostgreSQL's lexer sees it.
    """
    i = pos + 1
    n = len(text)
    if not backslash:  # str.find instead of a Python loop per character: a 64 KB literal is one C scan
        while i < n:
            j = text.find(quote, i)
            if j < 0:
                return n
            if j + 1 < n and text[j + 1] == quote:
                i = j + 2
                continue
            return j + 1
        return n
    while i < n:
        ch = text[i]
        if backslash and ch == "\\":
            i += 2
            continue
        if ch == quote:
            if i + 1 < n and text[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return n


def _scan_block_comment(text: str, pos: int) -> int:
    """End offset of a /* */ comment; PostgreSQL nests them."""
    depth = 0
    i = pos
    n = len(text)
    while i < n:
        if text.startswith("/*", i):
            depth += 1
            i += 2
        elif text.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return n


# The common tokens in one regex (the lexer's fast path); quotes, comments and '$' are scanned by hand.
_FAST_RE = re.compile(
    r"(?P<ws>\s+)"
    r"|(?P<comment>--[^\n]*\n?)"
    rf"|(?P<word>(?![eEbBxXnN]')(?![uU]&['\"]){IDENT_START}{IDENT_CHAR_OR_DOLLAR}*)"
    r"|(?P<number>(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?)"
    r"|(?P<punct>[();,\[\]]|\.(?!\.))"
)


def tokenize(text: str) -> list[Token]:
    """Split text into PostgreSQL lexical tokens; lossless (the values concatenate back to the text)."""
    tokens: list[Token] = []
    append = tokens.append
    fast = _FAST_RE.match
    i = 0
    n = len(text)
    while i < n:
        start = i
        m = fast(text, i)
        if m is not None:
            i = m.end()
            kind = m.lastgroup
            assert kind is not None
            append(Token(kind, m.group(), start))
            continue
        ch = text[i]
        if text.startswith("/*", i):
            i = _scan_block_comment(text, i)
            tokens.append(Token(COMMENT, text[start:i], start))
            continue
        if ch == "'":
            i = _scan_quoted(text, i, "'", backslash=False)
            tokens.append(Token(STRING, text[start:i], start))
            continue
        if ch == '"':
            i = _scan_quoted(text, i, '"', backslash=False)
            tokens.append(Token(QIDENT, text[start:i], start))
            continue
        if ch == "$":
            m = _PARAM_RE.match(text, i)
            if m:
                i = m.end()
                tokens.append(Token(PARAM, text[start:i], start))
                continue
            m = _DOLLAR_TAG_RE.match(text, i)
            if m:
                tag = m.group(0)
                end = text.find(tag, m.end())
                i = n if end < 0 else end + len(tag)
                tokens.append(Token(DOLLAR, text[start:i], start))
                continue
            i += 1
            tokens.append(Token(OP, ch, start))
            continue
        # String prefixes: E'..' (backslash escapes), U&'..' / U&".." (unicode), B'..', X'..', N'..'.
        if ch in "eE" and i + 1 < n and text[i + 1] == "'":
            i = _scan_quoted(text, i + 1, "'", backslash=True)
            tokens.append(Token(STRING, text[start:i], start))
            continue
        if ch in "bBxXnN" and i + 1 < n and text[i + 1] == "'":
            i = _scan_quoted(text, i + 1, "'", backslash=False)
            tokens.append(Token(STRING, text[start:i], start))
            continue
        if ch in "uU" and text.startswith("&'", i + 1):
            i = _scan_quoted(text, i + 2, "'", backslash=False)
            tokens.append(Token(STRING, text[start:i], start))
            continue
        if ch in "uU" and text.startswith('&"', i + 1):
            i = _scan_quoted(text, i + 2, '"', backslash=False)
            tokens.append(Token(QIDENT, text[start:i], start))
            continue
        if ch in "eEbBxXnNuU":  # a prefix letter that did not start a literal after all: a one-letter word
            i += 1
            tokens.append(Token(WORD, ch, start))
            continue
        if ch == ".":
            i += 1
            tokens.append(Token(PUNCT, ch, start))
            continue
        if ch in _OP_CHARS:
            while i < n and text[i] in _OP_CHARS and not text.startswith("--", i) and not text.startswith("/*", i):
                i += 1
            tokens.append(Token(OP, text[start:i], start))
            continue
        i += 1
        tokens.append(Token(OP, ch, start))
    return tokens


# ---------------------------------------------------------------------------------------------------
# Names as PostgreSQL resolves them
# ---------------------------------------------------------------------------------------------------

NAMEDATALEN = 64  # PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_HEX = set("0123456789abcdefABCDEF")


def ascii_lower(text: str) -> str:
    """PostgreSQL's downcase_identifier for UTF-8: only A-Z are folded (Python's lower() would also fold
    the Kelvin sign to 'k' and so on, which PostgreSQL does not)."""
    return text.translate(_ASCII_LOWER)


def _truncate_identifier(name: str) -> str:
    """Clip to NAMEDATALEN - 1 bytes at a character boundary, as PostgreSQL does (with a NOTICE)."""
    raw = name.encode("utf-8", "surrogatepass")
    if len(raw) < NAMEDATALEN:
        return name
    return raw[: NAMEDATALEN - 1].decode("utf-8", "ignore")


def decode_unicode_escapes(body: str, escape: str = "\\") -> str | None:
    """The text of a U&'...' / U&"..." body (quotes already undoubled); None when PostgreSQL would refuse it.

    ``<esc>XXXX`` and ``<esc>+XXXXXX`` are code points (a UTF-16 surrogate pair in two escapes makes one),
    ``<esc><esc>`` is the escape character itself.
    """
    if escape not in body:
        return body
    out: list[str] = []
    i = 0
    n = len(body)
    high: int | None = None  # a pending high surrogate
    while i < n:
        j = body.find(escape, i)
        if j < 0:
            if high is not None:
                return None
            out.append(body[i:])
            break
        if j > i:
            if high is not None:
                return None
            out.append(body[i:j])
        if body.startswith(escape, j + 1):
            if high is not None:
                return None
            out.append(escape)
            i = j + 2
            continue
        if j + 1 < n and body[j + 1] == "+":
            digits = body[j + 2 : j + 8]
            i = j + 8
        else:
            digits = body[j + 1 : j + 5]
            i = j + 5
        if len(digits) not in (4, 6) or not set(digits) <= _HEX:
            return None
        code = int(digits, 16)
        if high is not None:
            if not 0xDC00 <= code <= 0xDFFF:
                return None
            code = 0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00)
            high = None
        elif 0xD800 <= code <= 0xDBFF:
            high = code
            continue
        elif 0xDC00 <= code <= 0xDFFF or code == 0 or code > 0x10FFFF:
            return None
        out.append(chr(code))
    if high is not None:
        return None
    return "".join(out)


def _uescape_char(tok: Token | None) -> str | None:
    """The character of a UESCAPE 'c' clause's string, or None if it is not a valid one."""
    if tok is None or tok.kind != STRING or tok.value[:1] not in "'eE":
        return None  # PostgreSQL wants a plain string constant (E'c' is one too) of one single-byte character
    ch = string_value(tok)
    if ch is None or len(ch) != 1 or ord(ch) > 127 or ch in _HEX or ch in "+'\"" or ch.isspace():
        return None
    return ch


def identifier_name(tok: Token, escape: str = "\\") -> str | None:
    """The name an identifier token stands for: unquoted folded to lower case, "quoted" as written with
    "" undoubled, U&"..." with its escapes decoded (``escape`` from a UESCAPE clause); truncated to 63
    bytes. None for other tokens, and for a U& identifier PostgreSQL would reject."""
    if tok.kind == WORD:
        return _truncate_identifier(ascii_lower(tok.value))
    if tok.kind != QIDENT:
        return None
    value = tok.value
    unicode = value[:1] in "uU"
    body = value[3:] if unicode else value[1:]
    if body.endswith('"'):
        body = body[:-1]
    body = body.replace('""', '"')
    if unicode:
        decoded = decode_unicode_escapes(body, escape)
        if decoded is None:
            return None
        body = decoded
    return _truncate_identifier(body) if body else None


def string_value(tok: Token, escape: str = "\\") -> str | None:
    """The value of a plain '...', U&'...' or backslash-free E'...' literal; None when not that simple."""
    if tok.kind == DOLLAR:
        m = _DOLLAR_TAG_RE.match(tok.value)
        if m is None or len(tok.value) < 2 * len(m.group(0)) or not tok.value.endswith(m.group(0)):
            return None
        return tok.value[len(m.group(0)) : -len(m.group(0))]
    if tok.kind != STRING:
        return None
    value = tok.value
    prefix = value[: value.index("'")].lower()
    body = value[len(prefix) + 1 :]
    if not body.endswith("'") or len(body) < 1:
        return None
    body = body[:-1].replace("''", "'")
    if prefix == "":
        return body
    if prefix == "e":
        return None if "\\" in body else body
    if prefix == "u&":
        return decode_unicode_escapes(body, escape)
    return None


def resolve_names(sig: list[Token]) -> tuple[list[Token], list[str | None], list[str | None]]:
    """Significant tokens with each ``UESCAPE 'c'`` clause folded into the literal before it.

    Returns the tokens, the identifier name of each (None when not an identifier) and the value of each
    simple string literal (None otherwise), all after PostgreSQL's normalisation.
    """
    toks: list[Token] = []
    names: list[str | None] = []
    values: list[str | None] = []
    k = 0
    n = len(sig)
    while k < n:
        tok = sig[k]
        escape = "\\"
        step = 1
        if (
            tok.kind in (QIDENT, STRING)
            and tok.value[:2].lower() == "u&"
            and k + 2 < n
            and sig[k + 1].kind == WORD
            and sig[k + 1].lower == "uescape"
        ):
            ch = _uescape_char(sig[k + 2])
            if ch is not None:
                escape, step = ch, 3
        toks.append(tok)
        names.append(identifier_name(tok, escape))
        values.append(string_value(tok, escape) if tok.kind in (STRING, DOLLAR) else None)
        k += step
    return toks, names, values


# ---------------------------------------------------------------------------------------------------
# Statements
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    """One statement of a text, with where it starts and what it does."""

    text: str  # stripped of surrounding whitespace and of the terminating ';', comments kept
    start: int  # 0-based character offset of text[0] in the original text
    kind: Kind
    destructive_reason: str | None = None
    targets: tuple[str, ...] = ()  # names of the objects it affects, as written (best effort)
    command: str = ""  # e.g. "SELECT", "CREATE INDEX", "DROP TABLE"
    cursorable: bool = False  # a plain query: may be wrapped in DECLARE ... CURSOR FOR
    returns_rows: bool = False  # by grammar (SELECT, RETURNING, SHOW, EXPLAIN, FETCH ...)
    needs_autocommit: bool = False  # cannot run inside a transaction block (VACUUM, CREATE DATABASE ...)

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def _is_sig(tok: Token) -> bool:
    return tok.kind not in (WS, COMMENT)


def split_statements(text: str) -> list[Statement]:
    """Split into statements the way psql does; empty and comment-only pieces are dropped."""
    tokens = tokenize(text)
    statements: list[Statement] = []
    piece: list[Token] = []
    paren = 0
    begin_depth = 0
    words: list[str] = []  # the first words of the current statement, for the BEGIN ATOMIC rule

    def flush(end_tokens: list[Token]) -> None:
        sig = [t for t in end_tokens if _is_sig(t)]
        if not sig:
            return
        first = next(t for t in end_tokens if t.kind != WS)
        last = [t for t in end_tokens if t.kind != WS][-1]
        start = first.start
        stop = last.start + len(last.value)
        body = text[start:stop]
        # A line comment keeps its newline; the stripped text should not.
        stripped = body.rstrip()
        statements.append(_build_statement(stripped, start, sig))

    for tok in tokens:
        if tok.kind == PUNCT:
            if tok.value in "([":
                paren += 1
            elif tok.value in ")]":
                paren = max(0, paren - 1)
            elif tok.value == ";" and paren == 0 and begin_depth == 0:
                flush(piece)
                piece = []
                words = []
                continue
        elif tok.kind == WORD:
            low = tok.lower
            words.append(low)
            # psql's heuristic (psqlscan.l): inside CREATE [OR REPLACE] FUNCTION|PROCEDURE, track
            # BEGIN ... END (and CASE ... END within it) so the ';' of a BEGIN ATOMIC body do not split.
            if _is_routine_definition(words) and paren == 0:
                if low == "begin" or (low == "case" and begin_depth >= 1):
                    begin_depth += 1
                elif low == "end" and begin_depth > 0:
                    begin_depth -= 1
        piece.append(tok)
    flush(piece)
    return statements


def _is_routine_definition(words: list[str]) -> bool:
    if not words or words[0] != "create" or len(words) < 2:
        return False
    if words[1] in ("function", "procedure"):
        return True
    return len(words) >= 4 and words[1:3] == ["or", "replace"] and words[3] in ("function", "procedure")


# ---------------------------------------------------------------------------------------------------
# Classification
# ---------------------------------------------------------------------------------------------------

_TX_WORDS = {"begin", "start", "commit", "end", "rollback", "abort", "savepoint", "release"}
_SESSION_WORDS = {"set", "reset", "discard", "listen", "unlisten", "load", "deallocate"}
_MAINTENANCE_WORDS = {"vacuum", "analyze", "analyse", "cluster", "reindex", "checkpoint", "refresh"}
_DDL_WORDS = {"create", "alter", "comment", "grant", "revoke", "security", "reassign", "import"}
_DML_WORDS = {"insert", "update", "delete", "merge"}
_MAIN_AFTER_WITH = {"select", "insert", "update", "delete", "merge", "values", "table"}
# Words that may sit between an object type and its name.
_NAME_SKIP = {"if", "not", "exists", "only", "concurrently", "table", "on"}


def _sig_tokens(text: str) -> list[Token]:
    return [t for t in tokenize(text) if _is_sig(t)]


def _depths(sig: list[Token]) -> list[int]:
    """Parenthesis depth of each token (a '(' is at the outer depth)."""
    depths: list[int] = []
    depth = 0
    for tok in sig:
        if tok.kind == PUNCT and tok.value in ")]":
            depth = max(0, depth - 1)
        depths.append(depth)
        if tok.kind == PUNCT and tok.value in "([":
            depth += 1
    return depths


def _read_name(sig: list[Token], i: int) -> tuple[str | None, int]:
    """Read a possibly qualified name (a.b."C") at i; returns (name as written, next index)."""
    parts: list[str] = []
    while i < len(sig) and sig[i].kind in (WORD, QIDENT):
        parts.append(sig[i].value)
        i += 1
        if i < len(sig) and sig[i].kind == PUNCT and sig[i].value == ".":
            i += 1
            continue
        break
    return (".".join(parts) if parts else None), i


def _read_name_list(sig: list[Token], i: int, depths: list[int]) -> list[str]:
    """Read 'name [(args)], name ...' as in DROP/TRUNCATE; skips argument lists of routines."""
    names: list[str] = []
    base = depths[i] if i < len(depths) else 0
    while i < len(sig):
        while i < len(sig) and sig[i].kind == WORD and sig[i].lower in _NAME_SKIP:
            i += 1
        name, i = _read_name(sig, i)
        if name is None:
            break
        names.append(name)
        # Skip to the next comma at the same depth, or stop at a keyword that ends the list.
        while i < len(sig) and not (sig[i].kind == PUNCT and sig[i].value == "," and depths[i] == base):
            if (
                depths[i] == base
                and sig[i].kind == WORD
                and sig[i].lower in ("cascade", "restrict", "restart", "continue")
            ):
                return names
            i += 1
        i += 1
    return names


class _Scopes:
    """The parenthesised group of each token, and per group where its last WHERE and RETURNING are.

    Built in one pass so that asking "has this DML a WHERE / RETURNING at its own level" is O(1): asking it
    by scanning forward from every DML made ``select (delete (delete (delete ...`` quadratic (26 s of CPU
    for 64 KB).
    """

    def __init__(self, sig: list[Token]) -> None:
        self.group: list[int] = []
        self.last_where: dict[int, int] = {}
        self.last_returning: dict[int, int] = {}
        stack = [-1]
        for k, tok in enumerate(sig):
            if tok.kind == PUNCT and tok.value in ")]" and len(stack) > 1:
                stack.pop()
            group = stack[-1]
            self.group.append(group)
            if tok.kind == WORD:
                low = tok.lower
                if low == "where":
                    self.last_where[group] = k
                elif low == "returning":
                    self.last_returning[group] = k
            elif tok.kind == PUNCT and tok.value in "([":
                stack.append(k)

    def has_where(self, i: int) -> bool:
        """Does the DML statement starting at i have a WHERE at its own depth?"""
        return self.last_where.get(self.group[i], -1) > i

    def has_returning(self, i: int) -> bool:
        return self.last_returning.get(self.group[i], -1) > i


def _dml_target(sig: list[Token], i: int) -> str | None:
    """Target table of the DML keyword at i."""
    word = sig[i].lower
    j = i + 1
    if word in ("insert", "merge", "delete"):
        while j < len(sig) and sig[j].kind == WORD and sig[j].lower in ("into", "from", "only"):
            j += 1
    elif word == "update":
        while j < len(sig) and sig[j].kind == WORD and sig[j].lower == "only":
            j += 1
    name, _ = _read_name(sig, j)
    return name


@dataclass
class _Class:
    kind: Kind
    command: str
    reason: str | None = None
    targets: tuple[str, ...] = ()
    cursorable: bool = False
    returns_rows: bool = False
    needs_autocommit: bool = False


def _classify_dml(sig: list[Token], scopes: _Scopes, i: int) -> _Class:
    """INSERT/UPDATE/DELETE/MERGE at index i (top level of the statement or after WITH)."""
    word = sig[i].lower
    target = _dml_target(sig, i)
    targets = (target,) if target else ()
    cls = _Class(Kind.WRITE, word.upper(), targets=targets, returns_rows=scopes.has_returning(i))
    if word in ("delete", "update") and not scopes.has_where(i):
        cls.kind = Kind.DESTRUCTIVE
        cls.reason = f"{word.upper()} without WHERE on {target or '?'}"
    return cls


def _dml_in_ctes(sig: list[Token], depths: list[int]) -> list[int]:
    """Indexes of INSERT/UPDATE/DELETE/MERGE that open a parenthesis (data-modifying WITH parts)."""
    found = []
    for j in range(1, len(sig)):
        if sig[j].kind == WORD and sig[j].lower in _DML_WORDS:
            prev = sig[j - 1]
            if prev.kind == PUNCT and prev.value == "(":
                found.append(j)
    return found


def _classify_with(sig: list[Token], depths: list[int]) -> _Class:
    main = next(
        (j for j in range(1, len(sig)) if depths[j] == 0 and sig[j].kind == WORD and sig[j].lower in _MAIN_AFTER_WITH),
        None,
    )
    inner = _dml_in_ctes(sig, depths)
    scopes = _Scopes(sig)
    if main is not None and sig[main].lower in _DML_WORDS:
        cls = _classify_dml(sig, scopes, main)
    else:
        cls = _Class(Kind.READ, "SELECT", returns_rows=True, cursorable=not inner)
    for j in inner:
        sub = _classify_dml(sig, scopes, j)
        cls.targets = cls.targets + tuple(t for t in sub.targets if t not in cls.targets)
        if sub.kind == Kind.DESTRUCTIVE and cls.kind != Kind.DESTRUCTIVE:
            cls.kind, cls.reason = Kind.DESTRUCTIVE, sub.reason
        elif cls.kind == Kind.READ:
            cls.kind = Kind.WRITE
    if inner:
        cls.cursorable = False
        cls.returns_rows = (
            True if main is None or sig[main].lower in ("select", "values", "table") else cls.returns_rows
        )
        cls.command = "WITH " + cls.command if not cls.command.startswith("WITH") else cls.command
    return cls


def _classify_explain(sig: list[Token], depths: list[int]) -> _Class:
    i = 1
    analyze = False
    if i < len(sig) and sig[i].kind == PUNCT and sig[i].value == "(":
        # EXPLAIN (opt [value], ...): ANALYZE is on unless its value is false/off/0.
        j = i + 1
        while j < len(sig) and not (sig[j].kind == PUNCT and sig[j].value == ")" and depths[j] == 0):
            if sig[j].kind == WORD and sig[j].lower in ("analyze", "analyse"):
                nxt = sig[j + 1] if j + 1 < len(sig) else None
                off = nxt is not None and nxt.lower in ("false", "off", "0")
                analyze = not off
            j += 1
        i = j + 1
    else:
        while i < len(sig) and sig[i].kind == WORD and sig[i].lower in ("analyze", "analyse", "verbose"):
            analyze = analyze or sig[i].lower in ("analyze", "analyse")
            i += 1
    rest = sig[i:]
    cls = _Class(Kind.READ, "EXPLAIN ANALYZE" if analyze else "EXPLAIN", returns_rows=True)
    inner_first = next((t for t in rest if not (t.kind == PUNCT and t.value == "(")), None)
    if inner_first is not None and inner_first.kind == WORD and inner_first.lower == "explain":
        # EXPLAIN EXPLAIN is a syntax error in PostgreSQL; classifying each level would be quadratic.
        return cls
    if analyze and rest:
        inner = _classify_sig(rest)
        cls.targets = inner.targets
        if inner.kind not in (Kind.READ, Kind.OTHER, Kind.EMPTY):
            # EXPLAIN ANALYZE executes the statement: it writes what the statement writes.
            cls.kind = inner.kind
            if inner.reason:
                cls.reason = f"EXPLAIN ANALYZE runs it: {inner.reason}"
    return cls


def _classify_copy(sig: list[Token], depths: list[int]) -> _Class:
    name, _ = _read_name(sig, 1)
    direction = next(
        (j for j in range(1, len(sig)) if depths[j] == 0 and sig[j].kind == WORD and sig[j].lower in ("from", "to")),
        None,
    )
    targets = (name,) if name else ()
    if direction is None:
        return _Class(Kind.OTHER, "COPY", targets=targets)
    where = sig[direction + 1].lower if direction + 1 < len(sig) else ""
    if sig[direction].lower == "from":
        return _Class(Kind.WRITE, "COPY FROM", targets=targets)
    if where == "stdout":
        return _Class(Kind.READ, "COPY TO", targets=targets)
    return _Class(Kind.WRITE, "COPY TO", targets=targets, reason=None)


def _classify_create(sig: list[Token], depths: list[int]) -> _Class:
    words = [t.lower for t in sig[:8] if t.kind == WORD]
    modifiers = {
        "or",
        "replace",
        "temp",
        "temporary",
        "unique",
        "unlogged",
        "global",
        "local",
        "materialized",
        "recursive",
        "trusted",
        "procedural",
        "default",
        "constraint",
    }
    obj = next((w for w in words[1:] if w not in modifiers), "")
    command = f"CREATE {obj.upper()}".strip()
    idx = next((j for j in range(1, len(sig)) if sig[j].lower == obj), None)
    targets: list[str] = []
    if idx is not None:
        j = idx + 1
        while j < len(sig) and sig[j].kind == WORD and sig[j].lower in ("if", "not", "exists", "concurrently"):
            j += 1
        if not (j < len(sig) and sig[j].kind == WORD and sig[j].lower == "on"):
            name, j = _read_name(sig, j)
            if name:
                targets.append(name)
        on = next(
            (k for k in range(j, len(sig)) if depths[k] == 0 and sig[k].kind == WORD and sig[k].lower == "on"), None
        )
        if obj in ("index", "trigger", "policy", "rule") and on is not None:
            k = on + 1
            while k < len(sig) and sig[k].kind == WORD and sig[k].lower in ("only", "table"):
                k += 1
            name, _ = _read_name(sig, k)
            if name:
                targets.append(name)
    concurrently = any(t.kind == WORD and t.lower == "concurrently" for t in sig[:6])
    autocommit = obj in ("database", "tablespace", "subscription") or (obj == "index" and concurrently)
    return _Class(Kind.DDL, command, targets=tuple(targets), needs_autocommit=autocommit)


# Object types of more than one word (DROP MATERIALIZED VIEW ...); the last word may vary for TEXT SEARCH.
_MULTIWORD_TYPES = [
    ("materialized", "view"),
    ("foreign", "table"),
    ("foreign", "data", "wrapper"),
    ("access", "method"),
    ("event", "trigger"),
    ("user", "mapping"),
    ("operator", "class"),
    ("operator", "family"),
    ("text", "search", "configuration"),
    ("text", "search", "dictionary"),
    ("text", "search", "parser"),
    ("text", "search", "template"),
]


def _classify_drop(sig: list[Token], depths: list[int]) -> _Class:
    j = 1
    obj_words: list[str] = []
    while j < len(sig) and sig[j].kind == WORD:
        candidate = (*[w.lower() for w in obj_words], sig[j].lower)
        if obj_words and not any(t[: len(candidate)] == candidate for t in _MULTIWORD_TYPES):
            break
        obj_words.append(sig[j].value.upper())
        j += 1
    obj = " ".join(obj_words)
    if obj == "OWNED":
        name, _ = _read_name(sig, j + 1)
        return _Class(Kind.DESTRUCTIVE, "DROP OWNED", reason=f"DROP OWNED BY {name}", targets=())
    names = _read_name_list(sig, j, depths)
    cascade = any(t.kind == WORD and t.lower == "cascade" and d == 0 for t, d in zip(sig, depths, strict=True))
    reason = f"DROP {obj} {', '.join(names)}".rstrip() + (" CASCADE" if cascade else "")
    concurrently = any(t.kind == WORD and t.lower == "concurrently" for t in sig[:4])
    autocommit = obj in ("DATABASE", "TABLESPACE", "SUBSCRIPTION") or (obj == "INDEX" and concurrently)
    return _Class(Kind.DESTRUCTIVE, f"DROP {obj}", reason=reason, targets=tuple(names), needs_autocommit=autocommit)


def _classify_alter(sig: list[Token], depths: list[int]) -> _Class:
    words = [t for t in sig if t.kind == WORD]
    obj = words[1].value.upper() if len(words) > 1 else ""
    if obj in ("MATERIALIZED", "FOREIGN", "TEXT", "EVENT", "DEFAULT") and len(words) > 2:
        obj = f"{obj} {words[2].value.upper()}"
    command = f"ALTER {obj}".strip()
    j = 1 + len(obj.split())
    while j < len(sig) and sig[j].kind == WORD and sig[j].lower in ("if", "exists", "only"):
        j += 1
    target, _ = _read_name(sig, j)
    targets = (target,) if target and obj != "SYSTEM" else ()
    autocommit = obj == "SYSTEM" or (
        any(t.lower == "detach" for t in words) and any(t.lower == "concurrently" for t in words)
    )
    cls = _Class(Kind.DDL, command, targets=targets, needs_autocommit=autocommit)
    for k, tok in enumerate(sig):
        if depths[k] != 0 or tok.kind != WORD or tok.lower != "drop" or k == 0:
            continue
        nxt = sig[k + 1].lower if k + 1 < len(sig) else ""
        if nxt in ("not", "default", "identity", "expression"):
            continue  # DROP NOT NULL / DEFAULT / IDENTITY / EXPRESSION keep the data
        what = [t.value for t in sig[k + 1 : k + 5] if t.kind in (WORD, QIDENT)]
        while what and what[0].lower() in ("column", "constraint", "if", "exists") and len(what) > 1:
            if what[0].lower() in ("if", "exists"):
                what = what[1:]
                continue
            break
        detail = " ".join(
            w.upper() if w.lower() in ("column", "constraint", "attribute", "value", "table") else w for w in what[:2]
        )
        cls.kind = Kind.DESTRUCTIVE
        cls.reason = f"{command} {target or ''}: DROP {detail}".replace("  ", " ").strip()
        break
    return cls


def _classify_sig(sig: list[Token]) -> _Class:
    """Classify a statement from its significant tokens."""
    # A statement may start with parentheses: (SELECT 1) UNION (SELECT 2).
    lead = 0
    while lead < len(sig) and sig[lead].kind == PUNCT and sig[lead].value == "(":
        lead += 1
    if lead >= len(sig):
        return _Class(Kind.EMPTY, "")
    first = sig[lead]
    if first.kind != WORD:
        return _Class(Kind.OTHER, first.value.upper())
    word = first.lower
    depths = _depths(sig)
    words = [t.lower for t in sig if t.kind == WORD]
    second = words[1] if len(words) > 1 else ""

    if word in ("select", "values", "table"):
        if word == "select" and any(
            d == lead and t.kind == WORD and t.lower == "into" for t, d in zip(sig, depths, strict=True)
        ):
            into = next(k for k, t in enumerate(sig) if t.kind == WORD and t.lower == "into" and depths[k] == lead)
            k = into + 1
            while k < len(sig) and sig[k].kind == WORD and sig[k].lower in ("temp", "temporary", "unlogged", "table"):
                k += 1
            name, _ = _read_name(sig, k)
            return _Class(Kind.DDL, "SELECT INTO", targets=(name,) if name else ())
        return _Class(Kind.READ, word.upper(), cursorable=True, returns_rows=True)
    if word == "with":
        return _classify_with(sig, depths)
    if word in _DML_WORDS:
        scopes = _Scopes(sig)
        cls = _classify_dml(sig, scopes, lead)
        for j in _dml_in_ctes(sig, depths):
            if j != lead:
                sub = _classify_dml(sig, scopes, j)
                if sub.kind == Kind.DESTRUCTIVE and cls.kind != Kind.DESTRUCTIVE:
                    cls.kind, cls.reason = sub.kind, sub.reason
        return cls
    if word == "explain":
        return _classify_explain(sig, depths)
    if word in ("show", "fetch"):
        return _Class(Kind.READ, word.upper(), returns_rows=True)
    if word in ("move", "close", "declare"):
        return _Class(Kind.READ, word.upper())
    if word == "copy":
        return _classify_copy(sig, depths)
    if word == "create":
        return _classify_create(sig, depths)
    if word == "drop":
        return _classify_drop(sig, depths)
    if word == "alter":
        return _classify_alter(sig, depths)
    if word == "truncate":
        names = _read_name_list(sig, 1, depths)
        return _Class(Kind.DESTRUCTIVE, "TRUNCATE", reason=f"TRUNCATE {', '.join(names)}", targets=tuple(names))
    if word in _DDL_WORDS:
        return _Class(Kind.DDL, word.upper())
    if word in ("commit", "rollback") and second == "prepared":
        return _Class(Kind.TRANSACTION, f"{word.upper()} PREPARED", needs_autocommit=True)
    if word == "prepare" and second == "transaction":
        return _Class(Kind.TRANSACTION, "PREPARE TRANSACTION")
    if word in _TX_WORDS:
        return _Class(Kind.TRANSACTION, word.upper())
    if word == "prepare":
        return _Class(Kind.SESSION, "PREPARE")
    if word in _SESSION_WORDS:
        command = word.upper()
        if word == "set" and second in ("role", "session", "transaction", "local", "constraints"):
            command = f"SET {second.upper()}"
        return _Class(Kind.SESSION, command, needs_autocommit=(word == "discard" and second == "all"))
    if word in _MAINTENANCE_WORDS:
        name, _ = _read_name(
            sig,
            next(
                (
                    k
                    for k in range(lead + 1, len(sig))
                    if sig[k].kind in (WORD, QIDENT)
                    and sig[k].lower
                    not in (
                        "full",
                        "freeze",
                        "verbose",
                        "analyze",
                        "analyse",
                        "materialized",
                        "view",
                        "concurrently",
                        "table",
                        "index",
                        "schema",
                        "database",
                        "system",
                        "skip_locked",
                    )
                ),
                len(sig),
            ),
        )
        autocommit = (
            word == "vacuum"
            or (word == "reindex" and ("concurrently" in words or second in ("database", "system")))
            or (word == "cluster" and len(words) == 1)
        )
        return _Class(Kind.WRITE, word.upper(), targets=(name,) if name else (), needs_autocommit=autocommit)
    if word in ("do", "call", "notify", "lock"):
        return _Class(Kind.WRITE, word.upper(), returns_rows=(word == "call"))
    if word == "execute":
        return _Class(Kind.OTHER, "EXECUTE", returns_rows=True)
    return _Class(Kind.OTHER, word.upper())


def _build_statement(text: str, start: int, sig: list[Token]) -> Statement:
    cls = _classify_sig(sig)
    return Statement(
        text=text,
        start=start,
        kind=cls.kind,
        destructive_reason=cls.reason if cls.kind == Kind.DESTRUCTIVE else None,
        targets=cls.targets,
        command=cls.command,
        cursorable=cls.cursorable,
        returns_rows=cls.returns_rows,
        needs_autocommit=cls.needs_autocommit,
    )


# ---------------------------------------------------------------------------------------------------
# Read-only guard
# ---------------------------------------------------------------------------------------------------
#
# Every name below is compared after PostgreSQL's own normalisation (:func:`resolve_names`): unquoted
# words folded to lower case, "quoted" names as written, U&"..." escapes decoded with their UESCAPE
# character. Setting names are then folded again, because PostgreSQL looks settings up without regard
# to case (SET "STATEMENT_TIMEOUT" is statement_timeout); function names are not, because a quoted
# "SET_CONFIG" is a different function from set_config.
#
# Refused in read-only SQL, in any spelling, with SET, SET SESSION, SET LOCAL, SET ... TO DEFAULT:
# - the limits the app sets for the run: statement_timeout, lock_timeout, idle_in_transaction_session_timeout,
#   idle_session_timeout, transaction_timeout. TO DEFAULT is as bad as 0: it drops the app's SET LOCAL value.
# - the read-only transaction itself: transaction_read_only, default_transaction_read_only and the other
#   transaction characteristics (isolation, deferrable); SET TRANSACTION, SET SESSION CHARACTERISTICS.
# - identity: role, session_authorization (SET ROLE, SET SESSION AUTHORIZATION in any scope), and every
#   dotted custom setting such as request.jwt.claims, which RLS policies read: setting it would let one
#   user read rows as another.
# - session_replication_role and row_security (how rules, triggers and policies apply).
# - memory and disk of the shared server: maintenance_work_mem, logical_decoding_work_mem and temp_file_limit
#   have no use in read-only SQL; work_mem above 256MB and hash_mem_multiplier above 2 (their product is
#   what one hash node of one process may take, times parallel workers) could take the server's memory,
#   and the OOM killer then restarts every session. Lower values stay allowed (analysts raise work_mem
#   for a big sort), and so does TO DEFAULT for these two (the DBA's configured value).
# - RESET of anything, RESET ALL, DISCARD, LOAD and DO blocks, as before.
# Allowed: every other setting, e.g. datestyle, timezone, search_path, client_min_messages, jit. They
# change how this one run reads or prints, grant no privilege (search_path still resolves only objects the
# read-only login may use), and are undone when the app rolls the run back and DISCARDs the connection.
#
# Functions refused wherever they are called (a sub-select, a CTE, a WHERE, EXPLAIN ANALYZE, PREPARE),
# schema-qualified or not: set_config (SET by another name), pg_cancel_backend and pg_terminate_backend (all
# analysts share one login, so each could stop the others' queries), every advisory-lock function
# pg_advisory_* / pg_try_advisory_* (the app's own coordination uses advisory locks), and the functions
# that run SQL given as text (query_to_xml, query_to_xmlschema, query_to_xml_and_xmlschema, ts_stat,
# ts_rewrite), whose text this check cannot see.

_LIMIT_SETTINGS = {
    "statement_timeout",
    "lock_timeout",
    "idle_in_transaction_session_timeout",
    "idle_session_timeout",
    "transaction_timeout",
}
_RESOURCE_SETTINGS = {"maintenance_work_mem", "logical_decoding_work_mem", "temp_file_limit"}
_PROTECTED_SETTINGS = (
    _LIMIT_SETTINGS
    | {
        "role",
        "session_authorization",
        "transaction_read_only",
        "default_transaction_read_only",
        "transaction_isolation",
        "default_transaction_isolation",
        "transaction_deferrable",
        "default_transaction_deferrable",
        "session_replication_role",
        "row_security",
    }
    | _RESOURCE_SETTINGS
)
WORK_MEM_CAP_KB = 256 * 1024
HASH_MEM_MULTIPLIER_CAP = 2.0
_FORBIDDEN_FUNCTIONS = {
    "set_config": "it changes session settings (role, claims, limits) like SET does",
    "pg_cancel_backend": "it cancels another session's query (all read-only users share one login)",
    "pg_terminate_backend": "it ends another session (all read-only users share one login)",
    "query_to_xml": "it runs SQL given as text, which this check cannot see",
    "query_to_xmlschema": "it runs SQL given as text, which this check cannot see",
    "query_to_xml_and_xmlschema": "it runs SQL given as text, which this check cannot see",
    "ts_stat": "it runs SQL given as text, which this check cannot see",
    "ts_rewrite": "its two-argument form runs SQL given as text, which this check cannot see",
}
_ADVISORY_RE = re.compile(r"pg_(?:try_)?advisory_")
_MEMORY_RE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(B|kB|MB|GB|TB)?\s*")
_MEMORY_UNIT_KB = {"B": 1 / 1024, "kB": 1.0, "MB": 1024.0, "GB": 1024.0**2, "TB": 1024.0**3}
_REAL_RE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")


def _forbidden_function(name: str) -> str | None:
    if name in _FORBIDDEN_FUNCTIONS:
        return _FORBIDDEN_FUNCTIONS[name]
    if _ADVISORY_RE.match(name):
        return "advisory locks are the app's own coordination; a read-only run must not take or release them"
    return None


def _call_reason(toks: list[Token], names: list[str | None]) -> str | None:
    """A refused function called anywhere in the statement: name( or schema.name(, in any spelling."""
    for k in range(len(toks) - 1):
        name = names[k]
        if name is None:
            continue
        nxt = toks[k + 1]
        if nxt.kind != PUNCT or nxt.value != "(":
            continue
        why = _forbidden_function(name)
        if why is not None:
            return f"{name}() is not allowed in read-only mode: {why}."
    return None


def _value_text(toks: list[Token], values: list[str | None], i: int) -> str | None:
    """The value of SET name {TO|=} value when it is one plain literal (number, word or simple string)."""
    if i < len(toks) and (
        (toks[i].kind == WORD and toks[i].lower == "to") or (toks[i].kind == OP and toks[i].value == "=")
    ):
        i += 1
    if i != len(toks) - 1:
        return None
    tok = toks[i]
    if tok.kind == NUMBER:
        return tok.value
    if tok.kind == WORD:
        return tok.lower
    return values[i]


def _capped_setting_reason(name: str, value: str | None) -> str | None:
    """work_mem / hash_mem_multiplier: allowed up to a cap, or TO DEFAULT."""
    if value == "default":
        return None
    if name == "work_mem":
        m = _MEMORY_RE.fullmatch(value or "")
        if m is not None and float(m.group(1)) * _MEMORY_UNIT_KB[m.group(2) or "kB"] <= WORK_MEM_CAP_KB:
            return None
        return (
            f"SET work_mem above {WORK_MEM_CAP_KB // 1024}MB (or to a value this check cannot read) is not allowed "
            "in read-only mode: the server's memory is shared by every session."
        )
    m = _REAL_RE.fullmatch(value or "")
    if m is not None and float(m.group(0)) <= HASH_MEM_MULTIPLIER_CAP:
        return None
    return (
        f"SET hash_mem_multiplier above {HASH_MEM_MULTIPLIER_CAP:g} is not allowed in read-only mode: "
        "the server's memory is shared by every session."
    )


def _why_setting(name: str) -> str:
    if name in _LIMIT_SETTINGS:
        return "it would lift a time limit of the run"
    if name in _RESOURCE_SETTINGS:
        return "it would let one run take the server's shared memory or disk"
    if name in ("role", "session_authorization") or "." in name:
        return "it would change who the session is (custom settings carry the JWT claims RLS reads)"
    return "it would change the read-only transaction or how policies and triggers apply"


def _set_reason(toks: list[Token], names: list[str | None], values: list[str | None]) -> str | None:
    """Why a SET statement is refused (toks[0] is SET)."""

    def word(k: int) -> str:
        return toks[k].lower if k < len(toks) and toks[k].kind == WORD else ""

    i = 1
    if word(1) in ("session", "local") and not (
        word(1) == "session" and word(2) in ("authorization", "characteristics")
    ):
        i = 2  # SET SESSION / SET LOCAL scope; SET SESSION AUTHORIZATION is a form of its own
    if word(i) == "role":
        return "SET ROLE is not allowed in read-only mode: read-only SQL runs as the read-only role."
    if word(i) == "session" and word(i + 1) in ("authorization", "characteristics"):
        return f"SET SESSION {word(i + 1).upper()} is not allowed in read-only mode."
    if word(i) == "transaction":
        return "SET TRANSACTION is not allowed in read-only mode: the transaction is read-only and stays so."
    parts: list[str] = []
    while i < len(toks) and names[i] is not None:
        parts.append(ascii_lower(names[i] or ""))
        i += 1
        if i < len(toks) and toks[i].kind == PUNCT and toks[i].value == ".":
            i += 1
            continue
        break
    if not parts:
        return None
    name = ".".join(parts)
    if name in _PROTECTED_SETTINGS or "." in name:
        return f"SET {name} is not allowed in read-only mode (in any form, TO DEFAULT included): {_why_setting(name)}."
    if name in ("work_mem", "hash_mem_multiplier"):
        if word(i) == "from":  # SET name FROM CURRENT keeps the value
            return None
        return _capped_setting_reason(name, _value_text(toks, values, i))
    return None


def is_read_only_escape(stmt: Statement) -> str | None:
    """Why this statement is refused in read-only mode, or None when it may run.

    Read-only SQL runs inside one ``BEGIN READ ONLY`` transaction that the app opens and rolls back,
    on a least-privilege login role. What is refused is whatever could leave that transaction
    (transaction control), change who the session is (SET ROLE, SESSION AUTHORIZATION, RESET, the
    JWT claims RLS reads), lift its limits (timeouts, SET SESSION CHARACTERISTICS, large memory
    settings) or reach other sessions (cancel/terminate, advisory locks); the full list and the reasons
    are in the comment above. Names are compared after PostgreSQL's normalisation, so U&"..." spellings
    do not slip through. DO blocks are refused because their body is opaque to this check.
    """
    toks, names, values = resolve_names(_sig_tokens(stmt.text))
    words = [t.lower for t in toks if t.kind == WORD]
    if not words:
        return _call_reason(toks, names)
    first = words[0]
    label = stmt.command or first.upper()
    if stmt.kind == Kind.TRANSACTION:
        return (
            f"{label} is transaction control. Read-only SQL runs inside one read-only transaction that "
            "the app opens and rolls back; remove BEGIN/COMMIT/ROLLBACK/SAVEPOINT from the text."
        )
    lead = toks[0].kind == WORD
    if lead and first == "reset":
        what = ascii_lower(names[1] or "") if len(toks) > 1 and names[1] else "ALL"
        what = "ALL" if what == "all" else what
        return f"RESET {what} is not allowed in read-only mode: it changes the session's identity or limits."
    if lead and first == "discard":
        return "DISCARD is not allowed in read-only mode: it resets the session."
    if lead and first == "load":
        return "LOAD is not allowed in read-only mode: it loads a library into the session."
    if lead and first == "do":
        return (
            "DO blocks are not allowed in read-only mode: their code can change the session out of sight of this check."
        )
    if lead and first == "set":
        reason = _set_reason(toks, names, values)
        if reason is not None:
            return reason
    return _call_reason(toks, names)


def unsupported_reason(stmt: Statement) -> str | None:
    """Statements the workbench cannot run at all, whatever the mode (they need the client's side)."""
    sig = _sig_tokens(stmt.text)
    words = [t.lower for t in sig if t.kind == WORD]
    if words and words[0] == "copy" and ("stdin" in words or "stdout" in words):
        return (
            "COPY ... FROM STDIN / TO STDOUT needs the client's side of the COPY protocol, which the SQL "
            "editor does not have. Use the table backup for exports, or psql's \\copy."
        )
    return None


# ---------------------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------------------


def _signature(text: str) -> list[tuple[str, str]]:
    """What a text means to PostgreSQL, modulo whitespace and the case of unquoted words."""
    return [(t.kind, t.lower if t.kind == WORD else t.value.strip()) for t in tokenize(text) if t.kind != WS]


def format_sql(text: str) -> str:
    """Reindent and upper-case keywords with sqlparse; returns the text unchanged if formatting
    would change its meaning (sqlparse's lexer differs from PostgreSQL's on a few literals)."""
    if not text.strip():
        return text
    formatted: str = sqlparse.format(text, reindent=True, keyword_case="upper", strip_comments=False)
    if _signature(formatted) != _signature(text):
        return text
    return formatted.strip() + ("\n" if text.endswith("\n") else "")
