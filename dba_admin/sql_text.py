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
    "format_sql",
    "is_read_only_escape",
    "split_statements",
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
_DOLLAR_TAG_RE = re.compile(r"\$(?:[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_\u0080-\U0010ffff]*)?\$")
_OP_CHARS = set("+-*/<>=~!@#%^&|`?:")


def _scan_quoted(text: str, pos: int, quote: str, backslash: bool) -> int:
    """End offset (exclusive) of a quoted literal starting at ``pos`` (the opening quote).

    Doubled quotes escape a quote; with ``backslash`` (E'' strings) a backslash escapes the next char.
    An unterminated literal runs to the end of the text, as PostgreSQL's lexer sees it.
    """
    i = pos + 1
    n = len(text)
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
    r"|(?P<word>(?![eEbBxXnN]')(?![uU]&['\"])[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_$\u0080-\U0010ffff]*)"
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


def _has_where(sig: list[Token], depths: list[int], i: int) -> bool:
    """Does the DML statement starting at i have a WHERE at its own depth?"""
    base = depths[i]
    for j in range(i + 1, len(sig)):
        if depths[j] < base or (sig[j].kind == PUNCT and sig[j].value == ")" and depths[j] == base - 1):
            break
        if depths[j] == base and sig[j].kind == WORD and sig[j].lower == "where":
            return True
    return False


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


def _classify_dml(sig: list[Token], depths: list[int], i: int) -> _Class:
    """INSERT/UPDATE/DELETE/MERGE at index i (top level of the statement or after WITH)."""
    word = sig[i].lower
    target = _dml_target(sig, i)
    targets = (target,) if target else ()
    returning = any(
        depths[j] == depths[i] and sig[j].kind == WORD and sig[j].lower == "returning" for j in range(i, len(sig))
    )
    cls = _Class(Kind.WRITE, word.upper(), targets=targets, returns_rows=returning)
    if word in ("delete", "update") and not _has_where(sig, depths, i):
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
    if main is not None and sig[main].lower in _DML_WORDS:
        cls = _classify_dml(sig, depths, main)
    else:
        cls = _Class(Kind.READ, "SELECT", returns_rows=True, cursorable=not inner)
    for j in inner:
        sub = _classify_dml(sig, depths, j)
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
        cls = _classify_dml(sig, depths, lead)
        for j in _dml_in_ctes(sig, depths):
            if j != lead:
                sub = _classify_dml(sig, depths, j)
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

# Settings a read-only session must not change: they would lift the guard rails (timeouts, the
# read-only transaction) or change identity. Any dotted name (custom settings such as
# request.jwt.claims, which RLS policies read through auth.uid()/auth.email()) is refused as well:
# setting it would let one user read rows as another.
_PROTECTED_SETTINGS = {
    "role",
    "session_authorization",
    "transaction_read_only",
    "default_transaction_read_only",
    "transaction_isolation",
    "default_transaction_isolation",
    "transaction_deferrable",
    "default_transaction_deferrable",
    "statement_timeout",
    "lock_timeout",
    "idle_in_transaction_session_timeout",
    "idle_session_timeout",
    "transaction_timeout",
    "session_replication_role",
    "row_security",
}


def is_read_only_escape(stmt: Statement) -> str | None:
    """Why this statement is refused in read-only mode, or None when it may run.

    Read-only SQL runs inside one ``BEGIN READ ONLY`` transaction that the app opens and rolls back,
    on a least-privilege login role. What is refused is whatever could leave that transaction
    (transaction control), change who the session is (SET ROLE, SESSION AUTHORIZATION, RESET, the
    JWT claims RLS reads) or lift its limits (timeouts, SET SESSION CHARACTERISTICS). ``set_config()``
    calls are refused anywhere in the statement because ``set_config('role', ..)`` is ``SET ROLE`` in
    disguise; DO blocks are refused because their body is opaque to this check and can call it too.
    """
    sig = _sig_tokens(stmt.text)
    words = [t.lower for t in sig if t.kind == WORD]
    if not words:
        return None
    first = words[0]
    second = words[1] if len(words) > 1 else ""
    label = stmt.command or first.upper()
    if stmt.kind == Kind.TRANSACTION:
        return (
            f"{label} is transaction control. Read-only SQL runs inside one read-only transaction that "
            "the app opens and rolls back; remove BEGIN/COMMIT/ROLLBACK/SAVEPOINT from the text."
        )
    if first == "reset":
        what = second.upper() or "ALL"
        return f"RESET {what} is not allowed in read-only mode: it changes the session's identity or limits."
    if first == "discard":
        return "DISCARD is not allowed in read-only mode: it resets the session."
    if first == "load":
        return "LOAD is not allowed in read-only mode: it loads a library into the session."
    if first == "do":
        return (
            "DO blocks are not allowed in read-only mode: their code can change the session out of sight of this check."
        )
    if first == "set":
        rest = words[1:]
        if rest and rest[0] in ("session", "local") and len(rest) > 1:
            if rest[0] == "session" and rest[1] in ("authorization", "characteristics"):
                return f"SET SESSION {rest[1].upper()} is not allowed in read-only mode."
            rest = rest[1:]
        if rest and rest[0] == "role":
            return "SET ROLE is not allowed in read-only mode: read-only SQL runs as the read-only role."
        if rest and rest[0] == "transaction":
            return "SET TRANSACTION is not allowed in read-only mode: the transaction is read-only and stays so."
        name = _set_target(sig)
        if name and (name in _PROTECTED_SETTINGS or "." in name):
            return (
                f"SET {name} is not allowed in read-only mode: it would lift a limit or change the session's identity."
            )
    for k, tok in enumerate(sig):
        if tok.kind in (WORD, QIDENT) and tok.value.strip('"').lower() == "set_config":
            nxt = sig[k + 1] if k + 1 < len(sig) else None
            if nxt is not None and nxt.kind == PUNCT and nxt.value == "(":
                return (
                    "set_config() is not allowed in read-only mode: it changes session settings (role, claims, limits)."
                )
    return None


def _set_target(sig: list[Token]) -> str | None:
    """The setting name of SET [SESSION|LOCAL] name {TO|=} ..., lower-cased, dotted if qualified."""
    i = 1
    if i < len(sig) and sig[i].kind == WORD and sig[i].lower in ("session", "local"):
        i += 1
    parts: list[str] = []
    while i < len(sig) and sig[i].kind in (WORD, QIDENT):
        parts.append(sig[i].value.strip('"').lower())
        i += 1
        if i < len(sig) and sig[i].kind == PUNCT and sig[i].value == ".":
            i += 1
            continue
        break
    return ".".join(parts) if parts else None


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
