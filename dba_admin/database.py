"""DatabaseManager: the one class that runs SQL for the app and returns small result objects.

Pages never touch psycopg; they call this class and get dataclasses and DataFrames back, with driver
errors already turned into :class:`~dba_admin.errors.QueryError` / :class:`SqlErrorInfo` (datasette's
pattern). What it guarantees, and why:

* One ``psycopg_pool`` pool for the main DSN, connections checked before use (``check_connection``), so a
  PostgreSQL restart costs no failed call (a dead connection is replaced when borrowed). Prepared
  statements are off (``prepare_threshold=None``): Supabase's transaction pooler cannot keep them.
* SQL typed by users is split by :mod:`dba_admin.sql_text`, and every statement is sent ALONE over the
  extended protocol (server-side cursor, ``stream()`` or a one-statement pipeline), where PostgreSQL
  itself refuses a second command. So even a statement boundary the splitter missed cannot smuggle a
  ``COMMIT`` or ``SET ROLE`` past the read-only checks.
* Read-only SQL runs on a separate least-privilege login (``READONLY_DATABASE_URL``), inside
  ``BEGIN READ ONLY`` that is always rolled back; never on the main login with ``SET ROLE``, which a
  ``RESET ROLE`` would undo.
* Row-returning queries are read through a server-side cursor (``DECLARE``/``FETCH max_rows+1``), so at
  most ``max_rows`` rows ever reach the app whatever the query returns.
* Every admin query carries the ``/* dba_admin */`` tag and runs with a statement and a lock timeout.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import re
import select
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import psycopg
import psycopg.adapt
from psycopg import pq, sql
from psycopg.adapt import Loader
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool, PoolTimeout

from dba_admin.config import Settings
from dba_admin.errors import (
    ConfigError,
    DbaAdminError,
    NotFound,
    QueryError,
    QueryRefused,
    SqlErrorInfo,
    one_line,
    sql_error_info,
)
from dba_admin.sql_text import (
    Kind,
    Statement,
    is_read_only_escape,
    split_statements,
    tokenize,
    unsupported_reason,
)

if TYPE_CHECKING:
    import pandas as pd

    from dba_admin.catalog import Filter, PreviewPage, TableDetail, TableInfo

__all__ = [
    "BackupResult",
    "ColumnMeta",
    "DatabaseManager",
    "Health",
    "Metrics",
    "StatementResult",
    "TableSize",
    "TopStatement",
    "run_summary",
    "statement_numbers",
]

log = logging.getLogger(__name__)

TAG = "/* dba_admin */"
APPLICATION_NAME = "dba_admin"
# How long a call waits for a pooled connection before it reports the database as unreachable.
POOL_WAIT_SECONDS = 15.0
CONNECT_TIMEOUT_SECONDS = 10
HEALTH_CONNECT_TIMEOUT_SECONDS = 5
# A registered connection's pools close connections idle this long, so an app server holds few when nobody looks.
IDLE_CONNECTION_SECONDS = 120.0
# A connection back in its pool less than this long ago, whose socket has nothing unread, is lent again without the
# pool's round-trip check (see connection_seems_alive): a page run borrows four or five times.
RECENTLY_USED_SECONDS = 5.0
# Name of the server-side cursor used for user queries (one at a time per connection).
CURSOR_NAME = "dba_admin_result"
# What psycopg's ServerCursor puts in front of the query; error positions are shifted by its length.
_DECLARE_PREFIX = f'DECLARE "{CURSOR_NAME}" CURSOR FOR '
# Rows per network chunk when streaming a row-returning write (INSERT ... RETURNING).
_STREAM_CHUNK = 1000
_SQL_ROWS_PER_INSERT = 100
# The app's own statement timeout (read-only SQL): cancelled from the client this long after the limit.
TIMEOUT_GRACE_SECONDS = 1.0
# Fetching a user query: the first FETCH takes one row, the next ones are sized from the bytes per row seen
# (aiming at _FETCH_BATCH_BYTES, at most _FETCH_GROWTH times the rows held), so wide rows come a few at a time.
_FIRST_FETCH = 1
_FETCH_BATCH_BYTES = 8 * 1024 * 1024
_FETCH_GROWTH = 8
# Result columns counted at a flat size per value (fixed-width types: bool, ints, floats, dates, times, uuid...).
_FIXED_WIDTH_OIDS = frozenset(
    {16, 18, 20, 21, 23, 26, 650, 700, 701, 774, 790, 829, 869, 1082, 1083, 1114, 1184, 1266, 2950}
)
_FIXED_VALUE_BYTES = 32
_JSON_OIDS = frozenset({114, 3802})

# --------------------------------------------------------------------------------------------------
# Registry of statements this app server runs for users (read by the Activity page)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunningStatement:
    pid: int
    statement: str
    user: str | None
    started_at: float  # time.time()


class RunRegistry:
    """Statements this process is running for users, by backend pid (thread-safe).

    ``pg_stat_activity`` only shows the cursor's FETCH for SQL read through a server-side cursor; the
    DatabaseManager wraps each user statement in :meth:`running` so the activity page can show the real text.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[int, RunningStatement] = {}

    @contextlib.contextmanager
    def running(self, pid: int, statement: str, user: str | None = None) -> Iterator[None]:
        entry = RunningStatement(pid=int(pid), statement=statement, user=user, started_at=time.time())
        with self._lock:
            self._runs[entry.pid] = entry
        try:
            yield
        finally:
            with self._lock:
                if self._runs.get(entry.pid) is entry:
                    del self._runs[entry.pid]

    def get(self, pid: int) -> RunningStatement | None:
        with self._lock:
            return self._runs.get(int(pid))

    def snapshot(self) -> dict[int, RunningStatement]:
        with self._lock:
            return dict(self._runs)


RUNS = RunRegistry()


# ---------------------------------------------------------------------------------------------------
# Result objects
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnMeta:
    """A result column as the UI shows it: name and PostgreSQL type (with modifiers, e.g. numeric(10,2))."""

    name: str
    type_name: str
    type_oid: int


StatementStatus = Literal["ok", "error", "not_run", "rolled_back"]


@dataclass
class StatementResult:
    """What one statement of a text did.

    ``status`` is ``"ok"``, ``"error"`` (see ``error``), ``"not_run"`` (statements run in order and
    the run stops at the first error, so every statement after a failed one is reported ``not_run``
    with no rows and no error), or ``"rolled_back"``: in a single-transaction run that failed, a
    statement that ran without error but whose effects were undone with the rest.

    ``rolled_back`` says the statement's transaction ended in a rollback, so nothing it did was kept:
    every result of a failed single-transaction run, and in write mode the statements run inside a
    transaction the user opened with BEGIN that was then rolled back (by ROLLBACK, by an error, or
    left open at the end). Read-only runs are always rolled back and do not set it.
    """

    index: int  # 0-based position of the statement in the text
    statement: str
    start: int  # 0-based offset of the statement in the full text
    kind: Kind
    command: str = ""
    destructive_reason: str | None = None
    status: StatementStatus = "not_run"
    columns: list[ColumnMeta] = field(default_factory=list)
    # The rows as psycopg fetched them (at most max_rows); ``rows`` is the same as a DataFrame, built when first used.
    records: list[tuple[Any, ...]] = field(default_factory=list, repr=False)
    affected_rows: int | None = None  # rows inserted/updated/deleted/copied, when PostgreSQL reports it
    command_tag: str | None = None  # PostgreSQL's command status, e.g. "UPDATE 3"
    duration_ms: float = 0.0
    notices: list[str] = field(default_factory=list)
    truncated: bool = False  # more rows existed than max_rows; ``rows`` holds exactly max_rows
    # Fetching stopped at the byte cap (MAX_RESULT_BYTES, this value): ``rows`` holds the rows that fit, maybe none.
    cut_at_bytes: int | None = None
    bytes_held: int = 0  # what the byte cap counts: the memory of the values in ``rows``, roughly
    error: SqlErrorInfo | None = None  # error.position is 1-based into the FULL text
    error_line: int | None = None  # 1-based line of error.position in the full text
    error_column: int | None = None  # 1-based column of error.position on that line
    line: int = 1  # 1-based line of the full text where the statement starts
    rolled_back: bool = False  # its transaction was rolled back: nothing it did was kept (see above)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def returns_rows(self) -> bool:
        return bool(self.columns)

    @property
    def column_names(self) -> list[str]:
        """The result's column names made unique (``?column?``, ``?column? (2)``), as ``rows`` names them."""
        return _unique_names([c.name for c in self.columns])

    @functools.cached_property
    def rows(self) -> pd.DataFrame:
        """The records as a DataFrame for the pages, built on first use: a command-line run printing JSON never
        imports pandas (half a second of its start-up)."""
        import pandas as pd

        return pd.DataFrame(self.records, columns=self.column_names)

    @property
    def row_count(self) -> int:
        """Rows held (at most max_rows)."""
        return len(self.records)

    @property
    def rowcount(self) -> int:
        """Rows returned for a query, else rows affected; -1 when PostgreSQL does not say."""
        if self.columns:
            return self.row_count
        return -1 if self.affected_rows is None else self.affected_rows

    @property
    def size_cut_notice(self) -> str | None:
        """What the UI says when the byte cap cut the result (None when it did not)."""
        if self.cut_at_bytes is None:
            return None
        return (
            f"Size cap reached: fetching stopped at {_fmt_bytes(self.cut_at_bytes)} (MAX_RESULT_BYTES); showing the "
            f"first {self.row_count:,} row{'s' if self.row_count != 1 else ''} ({_fmt_bytes(self.bytes_held)}). "
            "Select fewer or narrower columns (left(col, 1000), length(col)) or fewer rows to see the rest."
        )


def statement_numbers(indexes: Sequence[int]) -> str:
    """0-based indexes as people count statements: "statement 2", "statements 1–3", "statements 1, 3–4"."""
    nums = sorted(i + 1 for i in indexes)
    if not nums:
        return "no statement"
    spans: list[str] = []
    first = last = nums[0]
    for n in [*nums[1:], 0]:
        if n == last + 1:
            last = n
            continue
        spans.append(str(first) if first == last else f"{first}–{last}")
        first = last = n
    return ("statement " if len(nums) == 1 else "statements ") + ", ".join(spans)


def run_summary(results: Sequence[StatementResult], *, read_only: bool) -> str | None:
    """What a failed run kept and what it did not, in plain words; None when no statement failed.

    E.g. "statements 1–2 committed; statement 3 failed (line 4): division by zero; statements 4–5 did not run".
    """
    failed = next((r for r in results if r.status == "error"), None)
    if failed is None:
        return None
    message = (failed.error.message if failed.error is not None else "error").strip().splitlines()[0]
    line = failed.error_line or failed.line
    failure = f"{statement_numbers([failed.index])} failed (line {line}): {message}"
    skipped = [r.index for r in results if r.status == "not_run"]
    tail = f"; {statement_numbers(skipped)} did not run" if skipped else ""
    if read_only:
        ran = [r.index for r in results if r.status == "ok"]
        head = f"{statement_numbers(ran)} ran; " if ran else ""
        return f"{head}{failure}{tail}. Read-only: nothing was changed."
    if failed.rolled_back and all(r.rolled_back for r in results):  # one transaction, all or nothing
        undone = [r.index for r in results if r.status == "rolled_back"]
        head = f"{statement_numbers(undone)} ran but " if undone else ""
        return f"{head}{failure}{tail}. Run as one transaction: everything was rolled back, nothing was committed."
    committed = [r.index for r in results if r.status == "ok" and not r.rolled_back]
    undone = [r.index for r in results if r.status == "ok" and r.rolled_back]
    parts = [f"{statement_numbers(committed)} committed"] if committed else ["nothing was committed"]
    if undone:
        parts.append(f"{statement_numbers(undone)} ran inside your transaction, which was rolled back")
    return "; ".join(parts) + f"; {failure}{tail}"


def _fmt_bytes(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{n} bytes"  # pragma: no cover


@dataclass(frozen=True)
class TableSize:
    schema: str
    name: str
    kind: str  # "table" or "materialized view"
    total_bytes: int
    table_bytes: int
    index_bytes: int
    estimated_rows: int
    size_is_estimate: bool = False  # another session locks it exclusively: pg_class page counts, not waited for
    lock_message: str | None = None  # who holds that lock, since when, what to do


@dataclass(frozen=True)
class TopStatement:
    queryid: int | None
    query: str
    calls: int
    total_ms: float
    mean_ms: float
    rows: int
    cache_hit_ratio: float | None


@dataclass(frozen=True)
class Metrics:
    """A snapshot of the server for the dashboard; counters are cumulative since the last stats reset."""

    collected_at: datetime
    server_version: str
    server_version_num: int
    started_at: datetime
    uptime_seconds: float
    database: str
    database_size_bytes: int
    max_connections: int
    connections_by_state: dict[str, int]
    cache_hit_ratio: float | None
    commits: int
    rollbacks: int
    deadlocks: int
    temp_files: int
    temp_bytes: int
    largest_tables: list[TableSize]
    statements_available: bool
    top_statements: list[TopStatement]
    statements_hint: str | None = None
    largest_tables_error: str | None = None  # the largest tables could not be read (the rest of the figures could)

    @property
    def total_connections(self) -> int:
        return sum(self.connections_by_state.values())


@dataclass(frozen=True)
class Health:
    """Is the app able to do its job? Never raised: problems are in ``messages``."""

    ok: bool
    reachable: bool
    embedded: bool
    connect_ms: float | None = None
    server_version: str | None = None
    migrations_applied: list[str] = field(default_factory=list)
    migrations_pending: list[str] = field(default_factory=list)
    migrations_modified: list[str] = field(default_factory=list)
    readonly_ok: bool = False
    readonly_user: str | None = None
    readonly_message: str = ""
    messages: list[str] = field(default_factory=list)
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def message(self) -> str:
        return "; ".join(self.messages) if self.messages else "ok"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "reachable": self.reachable,
            "embedded": self.embedded,
            "connect_ms": self.connect_ms,
            "server_version": self.server_version,
            "migrations_applied": list(self.migrations_applied),
            "migrations_pending": list(self.migrations_pending),
            "migrations_modified": list(self.migrations_modified),
            "readonly_ok": self.readonly_ok,
            "readonly_user": self.readonly_user,
            "readonly_message": self.readonly_message,
            "messages": list(self.messages),
            "checked_at": self.checked_at.isoformat(),
        }


@dataclass(frozen=True)
class BackupResult:
    path: Path
    rows: int
    bytes: int
    fmt: Literal["csv", "sql"]


# ---------------------------------------------------------------------------------------------------
# Value conversion for user results
# ---------------------------------------------------------------------------------------------------


class _TextLoader(Loader):
    """Keep PostgreSQL's own text: bytea stays ``\\x..`` hex (display, not bytes), interval stays
    ``1 mon 2 days`` (a timedelta would turn a month into 30 days)."""

    def load(self, data: Any) -> str:
        return bytes(data).decode("utf-8", "replace")


@functools.cache
def _lenient_loader(base: type[Loader]) -> type[Loader]:
    """Wrap a date/time loader so 'infinity', BC dates and years past 9999 show as text instead of
    failing the whole result (Python's datetime cannot hold them)."""

    class Lenient(Loader):
        def __init__(self, oid: int, context: Any = None) -> None:
            super().__init__(oid, context)
            self._load = base(oid, context).load

        def load(self, data: Any) -> Any:
            try:
                return self._load(data)
            except (psycopg.DataError, ValueError, OverflowError):
                return bytes(data).decode("utf-8", "replace")

    return Lenient


def _install_result_loaders(cur: psycopg.Cursor[Any], *, lenient: bool = True) -> None:
    """Per-cursor loaders (never on the connection: other modules share pooled connections).

    ``lenient=False`` keeps psycopg's C date/time loaders (a Python wrapper costs ~10% on a
    timestamp-heavy 200,000-row result); the caller then retries a failed load with the lenient ones.
    """
    adapters = cur.adapters
    for name in ("bytea", "interval"):
        adapters.register_loader(name, _TextLoader)
    if lenient:
        _install_lenient_loaders(cur)


def _install_lenient_loaders(cur: psycopg.Cursor[Any]) -> None:
    adapters = cur.adapters
    for name in ("date", "timestamp", "timestamptz"):
        base = adapters.get_loader(adapters.types[name].oid, pq.Format.TEXT)
        if base is not None:
            adapters.register_loader(name, _lenient_loader(base))


def _unique_names(names: Sequence[str]) -> list[str]:
    """DataFrame column names must be unique for Arrow/Streamlit: ``?column?``, ``?column? (2)``..."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name in seen:
            seen[name] += 1
            candidate = f"{name} ({seen[name]})"
            while candidate in seen:
                seen[name] += 1
                candidate = f"{name} ({seen[name]})"
            seen[candidate] = 1
            out.append(candidate)
        else:
            seen[name] = 1
            out.append(name)
    return out


def _line_col(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of a 1-based character position."""
    index = max(0, min(position - 1, len(text)))
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, col


def _format_notice(diag: psycopg.errors.Diagnostic) -> str:
    text = f"{diag.severity or 'NOTICE'}: {diag.message_primary or ''}"
    if diag.message_detail:
        text += f" DETAIL: {diag.message_detail}"
    if diag.message_hint:
        text += f" HINT: {diag.message_hint}"
    return text


def _claims_json(claims: Any) -> str | None:
    if claims is None:
        return None
    if hasattr(claims, "to_json"):
        return str(claims.to_json())
    if isinstance(claims, Mapping):
        return json.dumps(dict(claims), separators=(",", ":"), sort_keys=True, default=str)
    if isinstance(claims, str):
        return claims
    raise TypeError("claims must be a UserClaims, a mapping or a JSON string")


# ---------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------

_TIMEOUT_HINT = (
    "The statement ran longer than the statement timeout ({ms} ms) and was cancelled; nothing it did was kept. "
    "Narrow it (a WHERE clause, a LIMIT, an index), check its plan with EXPLAIN, or run it with a longer timeout."
)
_LOCK_HINT = (
    "Another session holds a lock this statement needs, and the lock timeout ({ms} ms) passed. See who holds it "
    "on the activity page (pg_locks / pg_stat_activity), then retry."
)
_READ_ONLY_HINT = "This SQL runs read-only, on the read-only role. Ask a DBA to run changes, or use a SELECT."


def _error_info(
    exc: BaseException,
    *,
    stmt: Statement | None = None,
    full_text: str | None = None,
    prefix_len: int = 0,
    timeout_ms: int | None = None,
    lock_timeout_ms: int | None = None,
) -> SqlErrorInfo:
    """A driver error as the UI shows it, with the position mapped into the full text the user typed."""
    if not isinstance(exc, psycopg.Error):
        return SqlErrorInfo(sqlstate=None, message=str(exc))
    info = sql_error_info(exc)
    message, hint, position = info.message, info.hint, info.position
    raw_pos = exc.diag.statement_position
    if raw_pos and stmt is not None:
        try:
            in_stmt = int(raw_pos) - prefix_len  # 1-based inside the statement text
        except ValueError:
            in_stmt = 1
        in_stmt = max(1, min(in_stmt, len(stmt.text) + 1))
        position = stmt.start + in_stmt
    if info.sqlstate == "57014" and "statement timeout" in (message or ""):
        message = f"{message} (limit {timeout_ms} ms)" if timeout_ms else message
        hint = hint or _TIMEOUT_HINT.format(ms=timeout_ms)
    elif info.sqlstate == "55P03":
        hint = hint or _LOCK_HINT.format(ms=lock_timeout_ms)
    elif info.sqlstate == "25006":
        hint = hint or _READ_ONLY_HINT
    return replace(info, message=message, position=position, hint=hint)


def _query_error(exc: psycopg.Error, **kwargs: Any) -> QueryError:
    return QueryError(_error_info(exc, **kwargs))


def _unreachable(exc: BaseException) -> QueryError:
    return QueryError(
        SqlErrorInfo(
            sqlstate="08006",
            message=f"cannot get a database connection: {one_line(exc)}",
            hint="Check that PostgreSQL is running and reachable (`dba-admin health`).",
        )
    )


_POOL_LABELS = {"dba_admin_readonly": "read-only ", "dba_admin_authenticator": "per-user ", "dba_admin_dba": "DBA "}


def _pool_busy(pool: ConnectionPool) -> QueryError:
    """The wait for a connection ran out while every connection of the pool was lent: busy, not down."""
    label = _POOL_LABELS.get(pool.name, "")
    return QueryError(
        SqlErrorInfo(
            sqlstate=None,
            message=f"busy: all {pool.max_size} {label}connections are in use, try again in a moment",
            hint=f"Other runs held every {label}connection for the {pool.timeout:g} s this one waited. "
            "The database is up; the pool's size follows POOL_MAX_SIZE.",
        )
    )


def _too_many_runs(limit: int) -> QueryRefused:
    return QueryRefused(
        SqlErrorInfo(
            sqlstate=None,
            message=f"you already have {limit} quer{'y' if limit == 1 else 'ies'} running; "
            "wait for one to finish or cancel it",
            hint=f"Each user runs at most {limit} at a time (MAX_CONCURRENT_RUNS_PER_USER), so that no one can hold "
            "every read-only connection. Nothing was run.",
        )
    )


def _expired_info(timeout_ms: int) -> SqlErrorInfo:
    """The app's own timeout ended the statement (PostgreSQL's had been lifted or had not fired)."""
    return SqlErrorInfo(
        sqlstate="57014",
        message=f"canceling statement due to statement timeout (limit {timeout_ms} ms, enforced by the app)",
        hint=_TIMEOUT_HINT.format(ms=timeout_ms)
        + " The app cancels any statement that outlives the limit, even one that lifted PostgreSQL's own timeout.",
    )


class _Expired(Exception):
    """The watchdog fired while the statement's rows were being read."""


class _Watchdog:
    """The app's own statement timeout: cancel the running statement from the client once it has run
    ``limit + TIMEOUT_GRACE_SECONDS``, then again every second until it ends.

    PostgreSQL's statement_timeout normally ends the statement first. This is for SQL that lifted it (a function
    calling set_config, a SET the guard missed): a cancel request from the client is out of reach of SQL.
    """

    def __init__(self, conn: psycopg.Connection[Any], timeout_ms: int) -> None:
        self._conn = conn
        self._after = timeout_ms / 1000 + TIMEOUT_GRACE_SECONDS
        self._stop = threading.Event()
        self.fired = False
        self._thread: threading.Thread | None = None
        if timeout_ms > 0:
            self._thread = threading.Thread(target=self._watch, name="dba_admin-timeout", daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        wait = self._after
        while not self._stop.wait(wait):
            self.fired = True
            try:
                self._conn.cancel_safe(timeout=5.0)
            except Exception:  # retried in a second; the run itself must not die of a failed cancel
                log.warning("client-side cancel of a statement past its timeout failed", exc_info=True)
            wait = 1.0

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> _Watchdog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _user_key(claims_json: str | None) -> str | None:
    """Who runs the SQL, for the per-user cap: the claims' ``sub`` (else email); None for the app's own runs."""
    if not claims_json:
        return None
    try:
        claims = json.loads(claims_json)
    except ValueError:
        return None
    if not isinstance(claims, dict):
        return None
    key = claims.get("sub") or claims.get("email")
    return str(key) if key else None


def _slot_keys(user_key: str, limit: int) -> list[int]:
    """The user's advisory-lock keys, one per concurrent run allowed (bigint keys, the app's own hash space)."""
    digest = hashlib.sha256(b"dba_admin run slot\0" + user_key.encode()).digest()
    base = int.from_bytes(digest[:8], "big", signed=True) & ~0xFF
    return [base | i for i in range(min(limit, 256))]


def _take_run_slot(conn: psycopg.Connection[Any], keys: Sequence[int]) -> None:
    """Take one of the user's run slots for the rest of the transaction, across every app server.

    A slot is a transaction-level advisory lock on the target database: released by the ROLLBACK that ends the
    run (or by the session's end if the app server dies), never by SQL inside the run (read-only SQL cannot end
    its transaction, and xact locks have no unlock function). CASE tries them in order and stops at the first free.
    """
    if not keys:
        return
    whens = sql.SQL(" ").join(
        sql.SQL("WHEN pg_catalog.pg_try_advisory_xact_lock({}::int8) THEN {}").format(sql.Literal(k), sql.Literal(i))
        for i, k in enumerate(keys)
    )
    try:
        row = conn.execute(sql.SQL("SELECT CASE {} ELSE -1 END /* dba_admin */").format(whens)).fetchone()
    except psycopg.Error as exc:
        raise _query_error(exc) from exc
    if row is None or int(row[0]) < 0:
        raise _too_many_runs(len(keys))


class _NoMigrations(Exception):
    """health() on a connection: there is no migration status to read."""


class _RowSizer:
    """What the byte cap counts: the memory of the loaded values, roughly (``sys.getsizeof``; JSON and arrays
    walked). Fixed-width columns count a flat size per value without looking."""

    def __init__(self, description: Sequence[psycopg.Column] | None) -> None:
        cols = list(description or [])
        self._fixed = sum(1 for c in cols if c.type_code in _FIXED_WIDTH_OIDS) * _FIXED_VALUE_BYTES + 56
        self._var = [(i, c.type_code in _JSON_OIDS) for i, c in enumerate(cols) if c.type_code not in _FIXED_WIDTH_OIDS]

    def _sizers(self, rows: Sequence[Sequence[Any]]) -> list[tuple[int, Callable[[Any], int]]]:
        out: list[tuple[int, Callable[[Any], int]]] = []
        for i, is_json in self._var:
            sample = next((r[i] for r in rows if r[i] is not None), None)
            deep = is_json or isinstance(sample, list | tuple | dict)
            out.append((i, _deep_size if deep else sys.getsizeof))
        return out

    def total(self, rows: Sequence[Sequence[Any]]) -> int:
        size = self._fixed * len(rows)
        for i, sizer in self._sizers(rows):
            size += sum(map(sizer, [r[i] for r in rows]))
        return size

    def fit(self, rows: Sequence[Sequence[Any]], room: int) -> tuple[int, int]:
        """How many of ``rows`` fit in ``room`` bytes, and their size."""
        sizers = self._sizers(rows)
        used = 0
        for n, row in enumerate(rows):
            size = self._fixed + sum(sizer(row[i]) for i, sizer in sizers)
            if used + size > room:
                return n, used
            used += size
        return len(rows), used


def _deep_size(value: Any) -> int:
    if isinstance(value, dict):
        return sys.getsizeof(value) + sum(_deep_size(k) + _deep_size(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return sys.getsizeof(value) + sum(_deep_size(v) for v in value)
    return sys.getsizeof(value)


def _probe_connection(dsn: str) -> psycopg.Connection[Any]:
    """A fresh, unpooled connection for the health probes; the short connect timeout makes a dead server quick."""
    return psycopg.connect(
        dsn,
        connect_timeout=HEALTH_CONNECT_TIMEOUT_SECONDS,
        application_name=APPLICATION_NAME,
        prepare_threshold=None,
        autocommit=True,
    )


def connection_seems_alive(conn: psycopg.Connection[Any]) -> bool:
    """True when an idle connection's socket has nothing to read, checked without a round trip.

    A server that shuts down, restarts or is killed ends its sessions by closing them (with a termination notice
    first when it can), which makes the socket readable. Nothing readable on a connection used moments ago means
    the server has not ended it; anything readable (EOF, a notice, a NOTIFY) is for a real check to judge. A page
    run borrows a workspace connection four or five times, and to a remote database each check is a network round
    trip. False also where poll() does not exist, so the caller checks the usual way.
    """
    if conn.closed or conn.broken or conn.info.transaction_status != TransactionStatus.IDLE:
        return False
    poll = getattr(select, "poll", None)
    if poll is None:
        return False
    try:
        poller = poll()
        poller.register(conn.fileno(), select.POLLIN)
        return not poller.poll(0)
    except (OSError, ValueError, psycopg.Error):
        return False


# Transaction-local settings from two text arrays (names, values): one statement however many there are.
_SET_LOCALLY = (
    "/* dba_admin */ select pg_catalog.set_config(name, value, true)"
    " from unnest(%s::text[], %s::text[]) as s(name, value)"
)


def _settings_params(settings: Sequence[tuple[str, str]]) -> list[list[str]]:
    return [[name for name, _value in settings], [value for _name, value in settings]]


def timeout_settings(statement_timeout_ms: int | None, lock_timeout_ms: int | None) -> list[tuple[str, str]]:
    """The statement and lock timeouts (those given) as settings for ``read_in_one_round_trip`` and
    ``transaction_with_settings``."""
    settings: list[tuple[str, str]] = []
    if statement_timeout_ms is not None:
        settings.append(("statement_timeout", str(int(statement_timeout_ms))))
    if lock_timeout_ms is not None:
        settings.append(("lock_timeout", str(int(lock_timeout_ms))))
    return settings


@contextlib.contextmanager
def _own_transaction(conn: psycopg.Connection[Any], what: str) -> Iterator[None]:
    """The connection in autocommit for a transaction this code opens itself, whose BEGIN (or implicit transaction)
    travels with its settings in one message. It must be idle, or the settings would outlive the block on the
    caller's transaction; it gets its own autocommit mode back."""
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise DbaAdminError(
            f"{what} needs a connection with no open transaction (its settings would outlive it on the caller's)"
        )
    autocommit = conn.autocommit
    conn.autocommit = True
    try:
        yield
    finally:
        if not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE:
            conn.autocommit = autocommit


def read_in_one_round_trip(
    conn: psycopg.Connection[Any],
    settings: Sequence[tuple[str, str]],
    query: sql.SQL | sql.Composed,
    params: Sequence[Any] = (),
) -> list[dict[str, Any]]:
    """Transaction-local settings (a role, claims, timeouts) and one read, sent to the server as one message.

    PostgreSQL runs a message of several statements as one implicit transaction: the settings, made first, apply to
    the read (its locks and its timeout start after them) and end with it, as ``SET LOCAL`` does. The checks every
    page run makes (the signed-in account, the access to the chosen connection) then take one network round trip
    instead of four (BEGIN, the settings, the read, COMMIT). Several statements with parameters need psycopg's
    client-side binding (``ClientCursor``), which quotes each value for this connection. The connection must be
    idle; it is put back in its autocommit mode afterwards.
    """
    with (
        _own_transaction(conn, "read_in_one_round_trip"),
        psycopg.ClientCursor(conn, row_factory=psycopg.rows.dict_row) as cur,
    ):
        cur.execute(sql.SQL(_SET_LOCALLY + "; {}").format(query), [*_settings_params(settings), *params])
        cur.nextset()  # past the settings' result, to the read's
        return cur.fetchall()


@contextlib.contextmanager
def transaction_with_settings(
    conn: psycopg.Connection[Any], settings: Sequence[tuple[str, str]], *, force_rollback: bool = False
) -> Iterator[psycopg.Cursor[Any]]:
    """A transaction whose BEGIN and transaction-local settings go in one round trip, not two; the caller's
    statements follow on the cursor. COMMIT at the end (ROLLBACK with ``force_rollback``, for reads), ROLLBACK on
    any error. A statement inside that opens ``conn.transaction()`` gets a savepoint, as in any transaction. The
    connection must be idle; it is put back in its autocommit mode afterwards."""
    with _own_transaction(conn, "transaction_with_settings"):
        try:
            with psycopg.ClientCursor(conn) as begin:
                begin.execute(sql.SQL("BEGIN; {}").format(sql.SQL(_SET_LOCALLY)), _settings_params(settings))
            with conn.cursor() as cur:
                yield cur
        except BaseException:
            if not conn.closed:
                conn.rollback()
            raise
        if force_rollback:
            conn.rollback()
        else:
            conn.commit()


# ---------------------------------------------------------------------------------------------------
# The manager
# ---------------------------------------------------------------------------------------------------


class DatabaseManager:
    """All database work of the app; one per process (Streamlit keeps it in ``st.cache_resource``)."""

    def __init__(
        self,
        settings: Settings,
        dsn: str,
        readonly_dsn: str | None = None,
        *,
        authenticator_dsn: str | None = None,
        dba_dsn: str | None = None,
        name: str = "workspace",
        workspace: DatabaseManager | None = None,
        lazy: bool = False,
        own_workspace: bool = False,
        pool_timeout: float = POOL_WAIT_SECONDS,
    ) -> None:
        """``dsn`` is the main login: the owner on the workspace, the monitor login on a connection.

        A connection (``workspace`` given) is one administered database: ``dsn`` reads catalogs and statistics,
        ``readonly_dsn`` runs analysts' SQL, ``dba_dsn`` (optional) runs DBAs' write-mode SQL; the app's own records
        (audit, runs, snapshots, muted findings) go to ``workspace``. ``lazy``: no connection is opened until one is
        needed and idle ones are closed, so a registered but dead database costs nothing until someone looks at it.
        ``own_workspace``: closing this manager closes ``workspace`` too (a CLI command or a test that made both).
        """
        self._settings = settings
        self._pool_timeout = pool_timeout
        self._dsn = dsn
        self._readonly_dsn = readonly_dsn
        self._dba_dsn = dba_dsn
        self.name = name
        self.workspace: DatabaseManager = workspace if workspace is not None else self
        # Its backends live on the workspace's server (the embedded demo, connection default): runs left "running"
        # there are swept at start-up from the workspace's own pg_stat_activity.
        self.same_cluster = workspace is None
        # This connection is the workspace database itself (connection `default`): set by connections.Targets.
        self.includes_workspace = workspace is None
        self._lazy = lazy
        self._own_workspace = own_workspace and workspace is not None
        self._lock = threading.Lock()
        # Connections whose session state user SQL may have changed (SET, temp tables, prepared
        # statements, LISTEN, cursors WITH HOLD): DISCARD ALL before the next borrower gets them.
        self._dirty: weakref.WeakSet[psycopg.Connection[Any]] = weakref.WeakSet()
        self._returned_at: weakref.WeakKeyDictionary[psycopg.Connection[Any], float] = weakref.WeakKeyDictionary()
        self._type_names: dict[int, str] = {}
        self._running: dict[str, int] = {}  # runs in progress per user in this process (the per-user cap)
        self._pool = self._make_pool(
            dsn,
            "dba_admin",
            min_size=0 if lazy else 1,
            max_size=max(1, settings.connection_pool_size if lazy else settings.pool_max_size),
        )
        self._ro_pool: ConnectionPool | None = None
        self._write_pool: ConnectionPool | None = None
        self._authenticator_dsn = authenticator_dsn
        self._user_pool: ConnectionPool | None = None
        self._closed = False

    # -- pools -------------------------------------------------------------------------------------

    def _make_pool(self, dsn: str, name: str, *, min_size: int, max_size: int) -> ConnectionPool:
        return ConnectionPool(
            conninfo=dsn,
            min_size=min_size,
            max_size=max_size,
            name=name,
            kwargs={
                "application_name": APPLICATION_NAME,
                "prepare_threshold": None,
                "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            },
            check=self._check_connection,
            reset=self._reset_connection,
            timeout=self._pool_timeout,
            max_idle=IDLE_CONNECTION_SECONDS if self._lazy else 600.0,
            open=True,
        )

    def _reset_connection(self, conn: psycopg.Connection[Any]) -> None:
        """Give the next borrower a clean session: no leftover SETs, temp tables or autocommit."""
        with self._lock:
            dirty = conn in self._dirty
            self._dirty.discard(conn)
        if dirty:
            conn.autocommit = True
            conn.execute("DISCARD ALL /* dba_admin */")
        conn.autocommit = False
        with self._lock:
            self._returned_at[conn] = time.monotonic()

    def _check_connection(self, conn: psycopg.Connection[Any]) -> None:
        """The pool's check before lending: psycopg_pool's round trip, unless the connection came back moments ago
        and its socket shows the server has not ended it (connection_seems_alive)."""
        with self._lock:
            returned = self._returned_at.get(conn)
        recent = returned is not None and time.monotonic() - returned < RECENTLY_USED_SECONDS
        if recent and connection_seems_alive(conn):
            return
        ConnectionPool.check_connection(conn)

    def _mark_dirty(self, conn: psycopg.Connection[Any]) -> None:
        with self._lock:
            self._dirty.add(conn)

    def _readonly_pool(self) -> ConnectionPool:
        if not self._readonly_dsn:
            raise ConfigError(
                "read-only SQL needs a least-privilege login: set READONLY_DATABASE_URL (the embedded default "
                "creates one). It is never run on the main login with SET ROLE, which RESET ROLE would undo."
            )
        with self._lock:
            if self._ro_pool is None:
                # A registered connection's read-only pool is as small as its other two (the README's formula).
                size = (
                    max(1, self._settings.connection_pool_size)
                    if self._lazy
                    else max(2, self._settings.pool_max_size // 2)
                )
                self._ro_pool = self._make_pool(self._readonly_dsn, "dba_admin_readonly", min_size=0, max_size=size)
            return self._ro_pool

    def _dba_pool(self) -> ConnectionPool:
        """Write-mode SQL: the connection's DBA login only, never the owner of the app's data."""
        if not self._dba_dsn:
            raise ConfigError(
                f"connection {self.name} has no DBA login, so write-mode SQL cannot run on it. Register one with "
                f"`dba-admin connection add {self.name} --dba-dsn ...` or create it with `dba-admin connection setup "
                f"{self.name} --admin-dsn ... --apply`; read-only SQL and every other page still work."
            )
        with self._lock:
            if self._write_pool is None:
                size = max(1, self._settings.connection_pool_size)
                self._write_pool = self._make_pool(self._dba_dsn, "dba_admin_dba", min_size=0, max_size=size)
            return self._write_pool

    def pool_stats(self) -> dict[str, int]:
        """The main pool's gauges and counters (psycopg_pool's get_stats): what it holds and has tried to open."""
        return dict(self._pool.get_stats())

    @property
    def is_workspace(self) -> bool:
        """True for the manager of the app's own database (not a registered connection)."""
        return self.workspace is self

    @property
    def has_dba_login(self) -> bool:
        return bool(self._dba_dsn)

    @property
    def has_readonly_login(self) -> bool:
        return bool(self._readonly_dsn)

    def _authenticator_pool(self) -> ConnectionPool:
        if not self._authenticator_dsn:
            raise ConfigError(
                "per-user transactions need the unprivileged authenticator login: set AUTHENTICATOR_DATABASE_URL "
                "(the bootstrap creates one). They never run on the owner login with SET ROLE, which RESET ROLE undoes."
            )
        with self._lock:
            if self._user_pool is None:
                self._user_pool = self._make_pool(
                    self._authenticator_dsn,
                    "dba_admin_authenticator",
                    min_size=0,
                    max_size=max(1, self._settings.pool_max_size),
                )
            return self._user_pool

    @contextlib.contextmanager
    def _borrow(self, pool: ConnectionPool) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection; failing to get one is a QueryError that says the pool is busy (every connection
        lent) or the database unreachable."""
        if self._closed:
            raise QueryError(SqlErrorInfo(sqlstate=None, message="the DatabaseManager is closed"))
        entered = False
        try:
            with pool.connection() as conn:
                entered = True
                yield conn
        except (PoolTimeout, psycopg.OperationalError) as exc:
            if entered:
                raise
            if isinstance(exc, PoolTimeout):
                # The pool's own gauges: every connection it may open exists and none is free, so all are lent.
                stats = pool.get_stats()
                if stats.get("pool_size", 0) >= pool.max_size and stats.get("pool_available", 0) == 0:
                    raise _pool_busy(pool) from exc
            raise _unreachable(exc) from exc

    @contextlib.contextmanager
    def _user_gate(self, user_key: str | None) -> Iterator[int]:
        """The per-user cap in this process, checked before a connection is borrowed; yields the cap (0: none).

        Read-only runs are also capped across app servers by advisory locks (``_take_run_slot``).
        """
        limit = self._settings.max_concurrent_runs_per_user
        if user_key is None or limit <= 0:
            yield 0
            return
        with self._lock:
            running = self._running.get(user_key, 0)
            if running >= limit:
                raise _too_many_runs(limit)
            self._running[user_key] = running + 1
        try:
            yield limit
        finally:
            with self._lock:
                left = self._running.get(user_key, 1) - 1
                if left > 0:
                    self._running[user_key] = left
                else:
                    self._running.pop(user_key, None)

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """Borrow a pooled main connection (not autocommit): committed at the end of the block,
        rolled back if it raises. For other core modules (ProjectManager, auth)."""
        with self._borrow(self._pool) as conn:
            yield conn

    def read(self, query: sql.SQL | sql.Composed, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """A one-statement read of the app's own data on a pooled main connection, rows as dicts, under the app's
        timeouts, in one round trip (``read_in_one_round_trip``): what pages read on every run (the registry, the
        alert rules) costs a remote workspace one network wait instead of three (BEGIN, the read, COMMIT), and a
        table someone holds locked fails within the lock timeout instead of hanging the page (a QueryError that
        says so, as every driver error here)."""
        with self.connection() as conn:
            try:
                return read_in_one_round_trip(
                    conn,
                    timeout_settings(self.settings.statement_timeout_ms, self.settings.lock_timeout_ms),
                    query,
                    params,
                )
            except psycopg.Error as exc:
                raise _query_error(exc) from exc

    @contextlib.contextmanager
    def timed_transaction(self) -> Iterator[psycopg.Cursor[Any]]:
        """One transaction on a pooled main connection, rows as dicts, under the app's statement and lock timeouts:
        the trusted (owner) side of the app's own records, e.g. runs and scheduled occurrences."""
        limits = timeout_settings(self.settings.statement_timeout_ms, self.settings.lock_timeout_ms)
        with self.connection() as conn, transaction_with_settings(conn, limits) as cur:
            cur.row_factory = psycopg.rows.dict_row
            yield cur

    @contextlib.contextmanager
    def dba_connection(self) -> Iterator[psycopg.Connection[Any]]:
        """Borrow a connection of the DBA login (ConfigError when the connection has none): for a DBA's own
        actions on the database (kill a backend, refresh a materialized view), never the monitor login's."""
        with self._borrow(self._dba_pool()) as conn:
            yield conn

    @contextlib.contextmanager
    def readonly_connection(self) -> Iterator[psycopg.Connection[Any]]:
        """Borrow a connection of the read-only login (ConfigError when there is none)."""
        with self._borrow(self._readonly_pool()) as conn:
            yield conn

    @contextlib.contextmanager
    def user_connection(self) -> Iterator[psycopg.Connection[Any]]:
        """Borrow a connection of the authenticator login, the only base for ``rls.user_transaction``.

        That login has no privilege of its own (NOINHERIT, member of anon and authenticated only), so code reached
        by a user's query that runs ``RESET ROLE`` falls back to nothing, never to the app's owner.
        """
        with self._borrow(self._authenticator_pool()) as conn:
            yield conn

    @contextlib.contextmanager
    def _admin_tx(self, *, lock_timeout_ms: int | None = None) -> Iterator[psycopg.Connection[Any]]:
        """A rolled-back transaction with the app's timeouts, for the app's own reads. Its BEGIN travels with the
        timeouts (transaction_with_settings); ``conn.transaction()`` inside makes a savepoint. bytea_output=hex:
        the loaders show bytea as PostgreSQL's text."""
        settings = timeout_settings(
            self._settings.statement_timeout_ms,
            lock_timeout_ms if lock_timeout_ms is not None else self._settings.lock_timeout_ms,
        )
        settings.append(("bytea_output", "hex"))
        with self._borrow(self._pool) as conn:
            try:
                with transaction_with_settings(conn, settings, force_rollback=True):
                    yield conn
            except psycopg.Error as exc:
                raise _query_error(exc) from exc

    @staticmethod
    def _set_limits(
        conn: psycopg.Connection[Any],
        statement_timeout_ms: int,
        lock_timeout_ms: int,
        *,
        local: bool,
        claims_json: str | None = None,
        begin: Literal["BEGIN", "BEGIN READ ONLY"] | None = None,
    ) -> None:
        """The timeouts (and the caller's claims) for the transaction, or the session when not ``local``.

        SET commands, not ``SELECT set_config()``: a SELECT takes the transaction's snapshot, after which
        a DBA's own ``SET TRANSACTION ISOLATION LEVEL`` right after BEGIN would be refused. Sent with the
        optional BEGIN in one round trip. bytea_output=hex: the loaders show bytea as PostgreSQL's text.
        """
        scope = sql.SQL("SET LOCAL " if local else "SET ")
        settings: list[tuple[str, str]] = [
            ("statement_timeout", str(statement_timeout_ms)),
            ("lock_timeout", str(lock_timeout_ms)),
            ("bytea_output", "hex"),
        ]
        if claims_json is not None:
            settings.append(("request.jwt.claims", claims_json))
        parts: list[sql.Composable] = [sql.SQL(begin)] if begin else []
        parts += [scope + sql.SQL("{} = {}").format(sql.SQL(name), sql.Literal(value)) for name, value in settings]
        conn.execute(sql.SQL("; ").join(parts) + sql.SQL(" /* dba_admin */"))

    def close(self) -> None:
        self._closed = True
        self._pool.close()
        if self._ro_pool is not None:
            self._ro_pool.close()
        if self._write_pool is not None:
            self._write_pool.close()
        if self._own_workspace:
            self.workspace.close()
        if self._user_pool is not None:
            self._user_pool.close()

    def __enter__(self) -> DatabaseManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def settings(self) -> Settings:
        return self._settings

    # -- execute -----------------------------------------------------------------------------------

    def execute_query(
        self,
        sql_text: str,
        *,
        read_only: bool,
        timeout_ms: int | None = None,
        max_rows: int | None = None,
        claims: Any = None,
        single_transaction: bool = False,
        on_start: Callable[[psycopg.Connection[Any]], None] | None = None,
    ) -> list[StatementResult]:
        """Run every statement of ``sql_text`` in order; one result per statement.

        Errors of a statement are returned in its result (the run stops there; later statements are
        ``not_run``). Raised instead: :class:`QueryRefused` when a statement may not run at all (a
        read-only escape, COPY FROM STDIN) - checked for every statement BEFORE anything runs, so a
        refused text has no effect; :class:`ConfigError` for read-only SQL without a read-only login;
        :class:`QueryError` when no connection can be had.

        Read-only: the read-only login, one ``BEGIN READ ONLY`` transaction for the whole text, always
        rolled back. Write (DBAs): psql's behaviour - each statement commits on its own (run in its own
        transaction with ``SET LOCAL`` timeouts), a BEGIN typed by the user opens a transaction that
        lasts until the user's COMMIT/ROLLBACK (one left open at the end is rolled back and said so in
        the notices), and VACUUM / CREATE INDEX CONCURRENTLY / CREATE DATABASE run outside any
        transaction. ``timeout_ms=0`` disables the statement timeout. ``claims`` (a ``UserClaims``) are
        published as ``request.jwt.claims`` for the run, so RLS policies see the caller. ``on_start`` is called
        with the borrowed connection before its first statement (the run history records that backend first); if
        it raises, nothing runs.

        ``single_transaction`` (write mode; psql's ``--single-transaction``): the whole text runs in ONE
        transaction - all statements commit together, or on any error (the COMMIT's included) everything
        is rolled back and every result has ``rolled_back`` set (statements that had run get the status
        ``"rolled_back"``). Statements that cannot run inside a transaction block (VACUUM, CREATE INDEX
        CONCURRENTLY, CREATE DATABASE, ALTER SYSTEM...) and transaction control typed by the user (BEGIN,
        COMMIT, ROLLBACK...; SAVEPOINT and ROLLBACK TO are fine) are refused with :class:`QueryRefused`
        before anything runs. Read-only runs are one transaction already: the flag changes nothing there.
        """
        timeout = self._settings.statement_timeout_ms if timeout_ms is None else int(timeout_ms)
        cap = self._settings.max_rows if max_rows is None else int(max_rows)
        if timeout < 0 or cap < 1:
            raise ValueError("timeout_ms must be >= 0 and max_rows >= 1")
        statements = split_statements(sql_text)
        if not statements:
            return []
        self._refuse(statements, sql_text, read_only=read_only)
        single = single_transaction and not read_only
        if single:
            _refuse_in_one_transaction(statements, sql_text)
        results = [
            StatementResult(
                index=i,
                statement=s.text,
                start=s.start,
                kind=s.kind,
                command=s.command,
                destructive_reason=s.destructive_reason,
                line=_line_col(sql_text, s.start + 1)[0],
            )
            for i, s in enumerate(statements)
        ]
        pool = self._readonly_pool() if read_only else self._dba_pool()
        claims_json = _claims_json(claims)
        user_key = _user_key(claims_json)
        with self._user_gate(user_key) as limit, self._borrow(pool) as conn:
            if on_start is not None:
                on_start(conn)
            run = _Run(
                self,
                conn,
                sql_text,
                timeout=timeout,
                cap=cap,
                max_bytes=self._settings.max_result_bytes,
                claims_json=claims_json,
                slot_keys=_slot_keys(user_key, limit) if user_key and limit else (),
                single_transaction=single,
            )
            run.execute(statements, results, read_only=read_only)
        return results

    def _refuse(self, statements: Sequence[Statement], full_text: str, *, read_only: bool) -> None:
        for i, stmt in enumerate(statements):
            reason = unsupported_reason(stmt)
            if reason is None and read_only:
                reason = is_read_only_escape(stmt)
            if reason is not None:
                line, _col = _line_col(full_text, stmt.start + 1)
                raise QueryRefused(
                    SqlErrorInfo(
                        sqlstate=None,
                        message=f"statement {i + 1} (line {line}) was refused, nothing was run: {reason}",
                        position=stmt.start + 1,
                        hint=_READ_ONLY_HINT if read_only else None,
                    )
                )

    def _resolve_type_names(self, conn: psycopg.Connection[Any], results: Sequence[StatementResult]) -> None:
        """Name the types psycopg does not know (enums, domains, extension types) with one query."""
        unknown = {
            c.type_oid for r in results for c in r.columns if c.type_name == str(c.type_oid)
        } - self._type_names.keys()
        if (
            unknown
            and not conn.broken
            and conn.info.transaction_status
            in (
                TransactionStatus.IDLE,
                TransactionStatus.INTRANS,
            )
        ):
            try:
                rows = conn.execute(
                    "SELECT oid::int8, pg_catalog.format_type(oid, NULL) FROM pg_catalog.pg_type"
                    " WHERE oid = ANY(%s::oid[]) /* dba_admin */",
                    (sorted(unknown),),
                ).fetchall()
                self._type_names.update({int(oid): str(name) for oid, name in rows})
            except psycopg.Error:
                log.debug("could not name result types %s", unknown, exc_info=True)
        for r in results:
            r.columns = [
                ColumnMeta(c.name, self._type_names.get(c.type_oid, c.type_name), c.type_oid)
                if c.type_name == str(c.type_oid)
                else c
                for c in r.columns
            ]

    # -- explain -----------------------------------------------------------------------------------

    def explain(
        self,
        sql_text: str,
        *,
        analyze: bool = False,
        read_only: bool = True,
        timeout_ms: int | None = None,
        claims: Any = None,
    ) -> dict[str, Any]:
        """The plan of ONE statement as PostgreSQL's JSON (the object with "Plan", "Planning Time"...).

        With ``analyze`` the statement really runs (with BUFFERS), inside a transaction that is always
        rolled back, so a DELETE's rows stay. Effects outside transactions (sequence values, dblink)
        cannot be rolled back.
        """
        statements = split_statements(sql_text)
        if len(statements) != 1:
            raise QueryRefused(
                SqlErrorInfo(
                    sqlstate=None,
                    message=f"EXPLAIN takes exactly one statement; the text has {len(statements)}.",
                )
            )
        stmt = statements[0]
        if stmt.command.startswith("EXPLAIN"):
            raise QueryRefused(
                SqlErrorInfo(sqlstate=None, message="give the statement without EXPLAIN; the options are added here")
            )
        self._refuse(statements, sql_text, read_only=read_only)
        timeout = self._settings.statement_timeout_ms if timeout_ms is None else int(timeout_ms)
        prefix = "EXPLAIN (FORMAT JSON, ANALYZE, BUFFERS) " if analyze else "EXPLAIN (FORMAT JSON) "
        pool = self._readonly_pool() if read_only else self._dba_pool()
        claims_json = _claims_json(claims)
        user_key = _user_key(claims_json)
        with self._user_gate(user_key) as limit, self._borrow(pool) as conn:
            self._mark_dirty(conn)
            conn.autocommit = True
            dog: _Watchdog | None = None
            try:
                self._set_limits(
                    conn,
                    timeout,
                    self._settings.lock_timeout_ms,
                    local=True,
                    claims_json=claims_json,
                    begin="BEGIN READ ONLY" if read_only else "BEGIN",
                )
                if read_only and user_key and limit:
                    _take_run_slot(conn, _slot_keys(user_key, limit))
                cur = conn.cursor()
                # The user's statement is SQL by design; the pipeline forces the extended protocol, where
                # PostgreSQL refuses a second statement whatever the text hides.
                with _Watchdog(conn, timeout if read_only else 0) as dog, conn.pipeline():
                    cur.execute(sql.Composed([sql.SQL(prefix), sql.SQL(stmt.text)]))
                if dog.fired:
                    raise QueryError(_expired_info(timeout))
                row = cur.fetchone()
            except psycopg.Error as exc:
                if dog is not None and dog.fired:
                    raise QueryError(_expired_info(timeout)) from exc
                raise _query_error(
                    exc,
                    stmt=stmt,
                    full_text=sql_text,
                    prefix_len=len(prefix),
                    timeout_ms=timeout,
                    lock_timeout_ms=self._settings.lock_timeout_ms,
                ) from exc
            finally:
                if not conn.broken and conn.info.transaction_status != TransactionStatus.IDLE:
                    conn.execute("ROLLBACK")
        try:
            from dba_admin.plan import as_plan_object  # only EXPLAIN needs it: not on every command's start

            return dict(as_plan_object(row[0] if row else ()))
        except ValueError:
            raise QueryError(SqlErrorInfo(sqlstate=None, message="PostgreSQL returned no plan")) from None

    def index_advice(self, sql_text: str, *, index: Any = None, timeout_ms: int | None = None) -> Any:
        """Candidate indexes for one statement, each proven or not with hypopg (:mod:`dba_admin.index_advisor`).

        On the DBA login when the connection has one (a DBA's tool), else the read-only login; the statement is
        only planned, never run, in a rolled-back READ ONLY transaction. ``index``: a SchemaIndex already built
        (the assistant's), else one is read from the catalog."""
        from dba_admin.assistant.schema_index import SchemaIndex
        from dba_admin.index_advisor import prove_candidates

        timeout = self._settings.statement_timeout_ms if timeout_ms is None else int(timeout_ms)
        pool = self._dba_pool() if self.has_dba_login else self._readonly_pool()
        with self._borrow(pool) as conn:
            self._mark_dirty(conn)
            conn.autocommit = True
            schema_index = index if index is not None else SchemaIndex.from_connection(conn)
            return prove_candidates(conn, schema_index, sql_text, timeout_ms=timeout)

    # -- metrics -----------------------------------------------------------------------------------

    def get_metrics(self) -> Metrics:
        """Server, database and (when pg_stat_statements is there) statement figures, in one transaction."""
        with self._admin_tx() as conn:
            cur = conn.cursor(row_factory=psycopg.rows.dict_row)
            server = cur.execute(
                "SELECT pg_catalog.current_setting('server_version') AS version,"
                " pg_catalog.current_setting('server_version_num')::int AS version_num,"
                " pg_catalog.pg_postmaster_start_time() AS started_at,"
                " extract(epoch FROM pg_catalog.now() - pg_catalog.pg_postmaster_start_time())::float8 AS uptime,"
                " pg_catalog.current_database() AS database,"
                " pg_catalog.pg_database_size(pg_catalog.current_database()) AS size,"
                " pg_catalog.current_setting('max_connections')::int AS max_connections /* dba_admin */"
            ).fetchone()
            assert server is not None
            connections = {
                str(r["state"]): int(r["n"])
                for r in cur.execute(
                    "SELECT coalesce(state, 'unknown') AS state, count(*) AS n FROM pg_catalog.pg_stat_activity"
                    " WHERE backend_type = 'client backend' GROUP BY 1 ORDER BY 2 DESC /* dba_admin */"
                ).fetchall()
            }
            stats = cur.execute(
                "SELECT xact_commit, xact_rollback, deadlocks, temp_files, temp_bytes,"
                " CASE WHEN blks_hit + blks_read > 0 THEN blks_hit::float8 / (blks_hit + blks_read) END AS hit"
                " FROM pg_catalog.pg_stat_database WHERE datname = pg_catalog.current_database() /* dba_admin */"
            ).fetchone()
            stats = stats or {}
            largest, largest_error = self._largest_tables(conn)
            available, top, hint = self._top_statements(conn)
        return Metrics(
            collected_at=datetime.now(UTC),
            server_version=str(server["version"]),
            server_version_num=int(server["version_num"]),
            started_at=server["started_at"],
            uptime_seconds=float(server["uptime"]),
            database=str(server["database"]),
            database_size_bytes=int(server["size"]),
            max_connections=int(server["max_connections"]),
            connections_by_state=connections,
            cache_hit_ratio=None if stats.get("hit") is None else float(stats["hit"]),
            commits=int(stats.get("xact_commit") or 0),
            rollbacks=int(stats.get("xact_rollback") or 0),
            deadlocks=int(stats.get("deadlocks") or 0),
            temp_files=int(stats.get("temp_files") or 0),
            temp_bytes=int(stats.get("temp_bytes") or 0),
            largest_tables=largest,
            statements_available=available,
            top_statements=top,
            statements_hint=hint,
            largest_tables_error=largest_error,
        )

    def _largest_tables(self, conn: psycopg.Connection[Any]) -> tuple[list[TableSize], str | None]:
        """The ten largest tables, never waiting on a user table's lock: a table another session locks exclusively
        gets its pg_class estimate (see catalog.locks_sql). A lock taken meanwhile is waited for at most
        catalog.SIZE_LOCK_TIMEOUT_MS, then the sizes are read again, then estimated for all; if even that fails,
        the error comes back as text so the dashboard shows the rest of its figures."""
        from dba_admin import catalog

        locks, lock_json = catalog.locks_sql("lk")
        lock_ms = min(self._settings.lock_timeout_ms, catalog.SIZE_LOCK_TIMEOUT_MS)
        cur = conn.cursor(row_factory=psycopg.rows.dict_row)
        error: psycopg.Error | None = None
        for lock_free in (False, False, True):

            def size(exact: str, estimate: str, lock_free: bool = lock_free) -> sql.Composable:
                if lock_free:
                    return sql.SQL(estimate)
                return sql.SQL("CASE WHEN lk.oid IS NULL THEN {} ELSE {} END").format(sql.SQL(exact), sql.SQL(estimate))

            query = sql.SQL(
                "WITH {locks} SELECT n.nspname AS schema, c.relname AS name, c.relkind,"
                " {total}::int8 AS total_bytes, {table}::int8 AS table_bytes, {indexes}::int8 AS index_bytes,"
                " greatest(c.reltuples, 0)::int8 AS estimated_rows, {estimated} AS estimated, {lock_json} AS lock"
                " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                " LEFT JOIN _dba_locked lk ON lk.oid = c.oid"
                " WHERE c.relkind IN ('r', 'm') AND n.nspname <> 'information_schema'"
                " AND n.nspname !~ '^pg_' ORDER BY total_bytes DESC NULLS LAST, 1, 2 LIMIT 10 /* dba_admin */"
            ).format(
                locks=sql.SQL(locks),
                total=size("pg_catalog.pg_total_relation_size(c.oid)", catalog.ESTIMATED_TOTAL_SIZE_SQL),
                table=size("pg_catalog.pg_relation_size(c.oid)", catalog.ESTIMATED_TABLE_SIZE_SQL),
                indexes=size("pg_catalog.pg_indexes_size(c.oid)", catalog.ESTIMATED_INDEXES_SIZE_SQL),
                estimated=sql.SQL("true" if lock_free else "lk.oid IS NOT NULL"),
                lock_json=sql.SQL(lock_json),
            )
            try:
                with conn.transaction():  # a savepoint: a failure here leaves the other figures readable
                    conn.execute(sql.SQL("SET LOCAL lock_timeout = {} /* dba_admin */").format(sql.Literal(lock_ms)))
                    rows = cur.execute(query).fetchall()
            except psycopg.Error as exc:
                if exc.sqlstate is None or conn.closed:
                    raise
                error = exc
                if exc.sqlstate != "55P03":
                    break
                continue
            finally:
                if not conn.closed and conn.info.transaction_status == TransactionStatus.INTRANS:
                    self._set_limits(
                        conn, self._settings.statement_timeout_ms, self._settings.lock_timeout_ms, local=True
                    )
            out = []
            for r in rows:
                lock = catalog.lock_from_json(r["lock"])
                out.append(
                    TableSize(
                        schema=r["schema"],
                        name=r["name"],
                        kind="materialized view" if r["relkind"] == "m" else "table",
                        total_bytes=int(r["total_bytes"] or 0),
                        table_bytes=int(r["table_bytes"] or 0),
                        index_bytes=int(r["index_bytes"] or 0),
                        estimated_rows=int(r["estimated_rows"] or 0),
                        size_is_estimate=bool(r["estimated"]),
                        lock_message=lock.message if lock else None,
                    )
                )
            return out, None
        if error is None:  # pragma: no cover - the loop always reads or records an error
            return [], "the sizes could not be read"
        info = sql_error_info(error)
        return [], f"{info.message} (SQLSTATE {info.sqlstate})" if info.sqlstate else info.message

    def _top_statements(
        self, conn: psycopg.Connection[Any], limit: int = 10
    ) -> tuple[bool, list[TopStatement], str | None]:
        """The dashboard's top statements by total time in this database: the Statements page's read
        (:mod:`dba_admin.statements`), the app's own queries included as before."""
        from dba_admin.statements import StatementFilter, read_statements_on

        report = read_statements_on(conn, StatementFilter(include_app=True, limit=limit), facets=False)
        if not report.available:
            return False, [], report.message
        top = [
            TopStatement(
                queryid=s.queryid,
                query=s.query,
                calls=s.calls,
                total_ms=s.total_ms,
                mean_ms=s.mean_ms,
                rows=s.rows,
                cache_hit_ratio=None if s.cache_hit_pct is None else s.cache_hit_pct / 100.0,
            )
            for s in report.statements
        ]
        return True, top, None

    # -- health ------------------------------------------------------------------------------------

    def health(self) -> Health:
        """Can the app work? Connect latency, version, migrations, read-only role. Never raises."""
        embedded = self._settings.embedded
        messages: list[str] = []
        started = time.perf_counter()
        try:
            conn = _probe_connection(self._dsn)
        except Exception as exc:  # health reports every failure instead of raising
            return Health(ok=False, reachable=False, embedded=embedded, messages=[f"cannot connect: {one_line(exc)}"])
        connect_ms = (time.perf_counter() - started) * 1000
        version: str | None = None
        applied: list[str] = []
        pending: list[str] = []
        modified: list[str] = []
        migrations_read = False
        try:
            with conn:
                with conn.transaction(force_rollback=True):
                    self._set_limits(
                        conn, self._settings.statement_timeout_ms, self._settings.lock_timeout_ms, local=True
                    )
                    row = conn.execute("SELECT pg_catalog.current_setting('server_version') /* dba_admin */").fetchone()
                    version = str(row[0]) if row else None
                try:
                    from dba_admin.migrations import migration_status

                    if not self.is_workspace:  # a connection has no app schema: migrations are the workspace's
                        raise _NoMigrations
                    with conn.transaction(force_rollback=True):
                        status = migration_status(conn)
                    applied, pending = list(status.applied), list(status.pending)
                    modified = list(getattr(status, "modified", []))
                    migrations_read = True
                    if pending:
                        messages.append(f"{len(pending)} migration(s) pending: run `dba-admin migrate`")
                    if modified:
                        messages.append(f"applied migration file(s) edited since: {', '.join(modified)}")
                except _NoMigrations:
                    migrations_read = True
                except Exception as exc:
                    messages.append(f"cannot read the migration status: {exc}")
        except Exception as exc:
            messages.append(f"database check failed: {exc}")
            return Health(
                ok=False,
                reachable=True,
                embedded=embedded,
                connect_ms=connect_ms,
                server_version=version,
                messages=messages,
            )
        if self.is_workspace and not self._readonly_dsn:
            # The workspace runs no user SQL (that happens on connections), so it needs no read-only login.
            ro_ok, ro_user, ro_message = True, None, "not used: user SQL runs on the registered connections"
        else:
            ro_ok, ro_user, ro_message = self._check_readonly()
        if not ro_ok:
            messages.append(f"read-only role: {ro_message}")
        ok = migrations_read and not pending and ro_ok
        return Health(
            ok=ok,
            reachable=True,
            embedded=embedded,
            connect_ms=round(connect_ms, 2),
            server_version=version,
            migrations_applied=applied,
            migrations_pending=pending,
            migrations_modified=modified,
            readonly_ok=ro_ok,
            readonly_user=ro_user,
            readonly_message=ro_message,
            messages=messages,
        )

    def _check_readonly(self) -> tuple[bool, str | None, str]:
        """Connect as the read-only login and check it is what it must be."""
        if not self._readonly_dsn:
            return False, None, "not configured: set READONLY_DATABASE_URL"
        try:
            conn = _probe_connection(self._readonly_dsn)
        except Exception as exc:
            return False, None, f"cannot connect: {one_line(exc)}"
        problems: list[str] = []
        user: str | None = None
        try:
            with conn:
                row = conn.execute(
                    "SELECT current_user, r.rolsuper, r.rolbypassrls,"
                    " pg_catalog.current_setting('default_transaction_read_only')"
                    " FROM pg_catalog.pg_roles r WHERE r.rolname = current_user /* dba_admin */"
                ).fetchone()
                if row is None:
                    return False, None, "cannot read its own role"
                user, is_super, bypass_rls, default_ro = str(row[0]), bool(row[1]), bool(row[2]), str(row[3])
                if is_super:
                    problems.append(f"{user} is a superuser")
                if bypass_rls:
                    problems.append(f"{user} bypasses RLS")
                if default_ro != "on":
                    problems.append(f"default_transaction_read_only is {default_ro} for {user}")
                try:
                    with conn.transaction(force_rollback=True):
                        conn.execute("SELECT 1 FROM dba_admin.users LIMIT 0 /* dba_admin */")
                    problems.append(f"{user} can read dba_admin.users")
                except psycopg.errors.InsufficientPrivilege:
                    pass
                except psycopg.errors.UndefinedTable:
                    pass  # no app schema yet (migrations pending is reported separately)
        except Exception as exc:
            return False, user, f"check failed: {exc}"
        if problems:
            return False, user, "; ".join(problems)
        return True, user, f"{user}: read-only, not superuser, no access to dba_admin.*"

    # -- backup ------------------------------------------------------------------------------------

    def backup_table(
        self,
        schema: str,
        name: str,
        fmt: Literal["csv", "sql"],
        *,
        progress: Callable[[int], None] | None = None,
        login: Literal["monitor", "dba"] = "monitor",
    ) -> BackupResult:
        """Stream a table (or view) to ``settings.backups_dir`` as CSV (with header) or SQL INSERTs.

        Generated columns are left out of both, as COPY and pg_dump do: a restore computes them.

        One REPEATABLE READ, READ ONLY snapshot; COPY streams the rows, so memory stays flat whatever
        the table size. The SQL literals are made by PostgreSQL itself (``quote_nullable``), the way
        ``pg_dump --inserts`` does, so every type round-trips exactly. No statement timeout applies
        (a big table takes the time it takes); the lock timeout does. ``progress`` receives the rows
        written so far (for CSV counted by line ends, so a value with newlines counts more than once
        until the final count). The file is written 0600 under a temporary name, then renamed.
        """
        if fmt not in ("csv", "sql"):
            raise ValueError("fmt must be 'csv' or 'sql'")
        backups = self._settings.backups_dir
        backups.mkdir(parents=True, exist_ok=True, mode=0o700)
        pool = self._dba_pool() if login == "dba" else self._pool
        with self._borrow(pool) as conn:
            try:
                with conn.transaction(force_rollback=True):
                    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY /* dba_admin */")
                    self._set_limits(conn, 0, self._settings.lock_timeout_ms, local=True)
                    found = conn.execute(
                        "SELECT c.oid::int8, c.relkind FROM pg_catalog.pg_class c"
                        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                        " WHERE n.nspname = %s AND c.relname = %s"
                        " AND c.relkind IN ('r', 'p', 'v', 'm', 'f') /* dba_admin */",
                        (schema, name),
                    ).fetchone()
                    if found is None:
                        raise NotFound(f"table {schema}.{name} does not exist (or is not a table or view)")
                    oid, relkind = int(found[0]), str(found[1])
                    attrs = conn.execute(
                        "SELECT attname, attgenerated <> '' AS generated, attidentity = 'a' AS identity_always"
                        " FROM pg_catalog.pg_attribute WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped"
                        " ORDER BY attnum /* dba_admin */",
                        (oid,),
                    ).fetchall()
                    target = _backup_path(backups, schema, name, fmt)
                    partial = target.with_name(target.name + ".partial")
                    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    try:
                        with os.fdopen(fd, "wb") as out:
                            if fmt == "csv":
                                rows = _copy_csv(conn, schema, name, relkind, out, progress)
                            else:
                                rows = _copy_sql(conn, schema, name, relkind, attrs, out, progress)
                        os.replace(partial, target)
                    except BaseException:
                        with contextlib.suppress(OSError):
                            partial.unlink()
                        raise
            except psycopg.Error as exc:
                raise _query_error(exc) from exc
        return BackupResult(path=target, rows=rows, bytes=target.stat().st_size, fmt=fmt)

    # -- catalog (delegated) -----------------------------------------------------------------------

    def get_tables(self, *, include_app_objects: bool = False) -> list[TableInfo]:
        """Every table/view of every non-system schema, with columns (the app's own left out on the workspace
        database unless asked); see catalog.get_tables."""
        from dba_admin import catalog

        return catalog.get_tables(self, include_app_objects=include_app_objects)

    def describe_table(self, schema: str, name: str) -> TableDetail:
        from dba_admin import catalog

        with self._borrow(self._pool) as conn:
            return catalog.describe_table(
                conn,
                schema,
                name,
                statement_timeout_ms=self._settings.statement_timeout_ms,
                lock_timeout_ms=self._settings.lock_timeout_ms,
            )

    def preview_table(
        self,
        schema: str,
        name: str,
        *,
        filters: Sequence[Filter] = (),
        order_by: Sequence[tuple[str, bool]] = (),
        page: int = 1,
        page_size: int = 100,
    ) -> PreviewPage:
        from dba_admin import catalog

        with self._borrow(self._pool) as conn:
            return catalog.preview_table(
                conn,
                schema,
                name,
                filters=filters,
                order_by=order_by,
                page=page,
                page_size=page_size,
                statement_timeout_ms=self._settings.statement_timeout_ms,
                lock_timeout_ms=self._settings.lock_timeout_ms,
            )


# ---------------------------------------------------------------------------------------------------
# One execute_query run
# ---------------------------------------------------------------------------------------------------


_SAVEPOINT_COMMANDS = ("SAVEPOINT", "RELEASE")


def _mark_rolled_back(results: Sequence[StatementResult]) -> None:
    """A single-transaction run that failed: nothing of it was kept, and every result says so."""
    for r in results:
        r.rolled_back = True
        if r.status == "ok":
            r.status = "rolled_back"


def _is_savepoint_command(stmt: Statement) -> bool:
    """SAVEPOINT, RELEASE [SAVEPOINT], ROLLBACK [WORK|TRANSACTION] TO: they act inside a transaction, never end it."""
    if stmt.command in _SAVEPOINT_COMMANDS:
        return True
    words = [t.lower for t in tokenize(stmt.text) if t.kind == "word"]
    return bool(words) and words[0] == "rollback" and "to" in words[1:3]


def _refuse_in_one_transaction(statements: Sequence[Statement], full_text: str) -> None:
    """Raise QueryRefused, before anything runs, when the text cannot run as one transaction."""

    def where(i: int, stmt: Statement) -> str:
        return f"statement {i + 1} (line {_line_col(full_text, stmt.start + 1)[0]}, {stmt.command or stmt.kind.value})"

    outside = [where(i, s) for i, s in enumerate(statements) if s.needs_autocommit]
    if outside:
        raise QueryRefused(
            SqlErrorInfo(
                sqlstate=None,
                message=(
                    f"cannot run as one transaction, nothing was run: {', '.join(outside)} cannot run inside a "
                    "transaction block."
                ),
                hint="Run those statements on their own, or turn off 'Run as one transaction' to run each "
                "statement in its own transaction.",
            )
        )
    control = [
        where(i, s) for i, s in enumerate(statements) if s.kind == Kind.TRANSACTION and not _is_savepoint_command(s)
    ]
    if control:
        raise QueryRefused(
            SqlErrorInfo(
                sqlstate=None,
                message=(
                    f"cannot run as one transaction, nothing was run: {', '.join(control)} is transaction control, "
                    "and the app already opens the transaction and commits it (or rolls it all back on an error)."
                ),
                hint="Remove BEGIN/COMMIT/ROLLBACK from the text (SAVEPOINT and ROLLBACK TO are fine), or turn off "
                "'Run as one transaction' to keep your own transaction control.",
            )
        )


class _Run:
    """The state of one execute_query call on one borrowed connection."""

    def __init__(
        self,
        manager: DatabaseManager,
        conn: psycopg.Connection[Any],
        full_text: str,
        *,
        timeout: int,
        cap: int,
        max_bytes: int,
        claims_json: str | None,
        slot_keys: Sequence[int] = (),
        single_transaction: bool = False,
    ) -> None:
        self.m = manager
        self.conn = conn
        self.full_text = full_text
        self.timeout = timeout
        self.lock_timeout = manager.settings.lock_timeout_ms
        self.cap = cap
        self.max_bytes = max_bytes
        self.claims_json = claims_json
        self.slot_keys = slot_keys
        self.single = single_transaction  # write mode, the whole text in one transaction (all or nothing)
        self.notices: list[str] = []
        self._dog: _Watchdog | None = None
        self._user_tx: list[StatementResult] = []  # write mode: results run inside the user's open BEGIN

    def _on_notice(self, diag: psycopg.errors.Diagnostic) -> None:
        self.notices.append(_format_notice(diag))

    def _limits(self, *, local: bool, begin: Literal["BEGIN", "BEGIN READ ONLY"] | None = None) -> None:
        self.m._set_limits(
            self.conn, self.timeout, self.lock_timeout, local=local, claims_json=self.claims_json, begin=begin
        )

    def execute(self, statements: Sequence[Statement], results: list[StatementResult], *, read_only: bool) -> None:
        conn = self.conn
        self.m._mark_dirty(conn)  # user SQL may change the session: DISCARD ALL when it goes back
        conn.autocommit = True
        conn.add_notice_handler(self._on_notice)
        last_run: StatementResult | None = None
        try:
            if read_only:
                self._limits(local=True, begin="BEGIN READ ONLY")
                _take_run_slot(conn, self.slot_keys)  # held until the ROLLBACK that ends the run
            elif self.single:
                self._limits(local=True, begin="BEGIN")  # committed below, or rolled back by _finish
            for stmt, res in zip(statements, results, strict=True):
                self.notices = []
                last_run = res
                started = time.perf_counter()
                # Read-only SQL: the app enforces the timeout itself too (DBAs may lift it on purpose).
                self._dog = _Watchdog(conn, self.timeout if read_only else 0)
                try:
                    try:
                        if read_only or self.single:
                            self._run_statement(stmt, res)
                        else:
                            self._run_write_mode(stmt, res)
                    finally:
                        self._dog.close()
                    if self._dog.fired:  # it ended as the cancel went out: a timeout all the same
                        raise _Expired
                    res.status = "ok"
                except (psycopg.Error, _Expired) as exc:
                    if self._dog.fired or isinstance(exc, _Expired):
                        info = _expired_info(self.timeout)
                        res.columns, res.records, res.truncated, res.cut_at_bytes = [], [], False, None
                    else:
                        info = _error_info(
                            exc,
                            stmt=stmt,
                            full_text=self.full_text,
                            prefix_len=self._prefix_for(stmt),
                            timeout_ms=self.timeout,
                            lock_timeout_ms=self.lock_timeout,
                        )
                    res.status = "error"
                    res.error = info
                    if info.position is not None:
                        res.error_line, res.error_column = _line_col(self.full_text, info.position)
                finally:
                    res.duration_ms = round((time.perf_counter() - started) * 1000, 3)
                    res.notices = list(self.notices)
                if res.status == "error":
                    break
            if self.single and results[-1].status == "ok" and not conn.broken:
                self._commit(statements[-1], results[-1])
            if not conn.broken:
                self.m._resolve_type_names(conn, results)
        finally:
            self._finish(read_only=read_only, last=last_run)
            if self.single and any(r.status == "error" for r in results):
                _mark_rolled_back(results)  # by _finish, by the failed COMMIT, or by the server on a lost connection
            if not conn.broken:
                conn.remove_notice_handler(self._on_notice)

    def _commit(self, stmt: Statement, last: StatementResult) -> None:
        """End a single-transaction run. COMMIT itself can fail (a deferred constraint, a serialization
        failure): then nothing was kept, and the last statement carries the error."""
        try:
            self.conn.execute("COMMIT")
        except psycopg.Error as exc:
            info = _error_info(exc, timeout_ms=self.timeout, lock_timeout_ms=self.lock_timeout)
            last.status = "error"
            last.error = replace(info, message=f"COMMIT failed, so the whole run was rolled back: {info.message}")
            last.error_line = last.error_column = None

    def _end_user_tx(self, *, rolled_back: bool) -> None:
        """The user's BEGIN ... ended: flag what ran inside it when it was rolled back."""
        if rolled_back:
            for r in self._user_tx:
                r.rolled_back = True
        self._user_tx = []

    def _finish(self, *, read_only: bool, last: StatementResult | None) -> None:
        conn = self.conn
        if conn.broken or conn.closed:
            return
        status = conn.info.transaction_status
        if status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
            if not read_only and not self.single and last is not None and last.status == "ok":
                last.notices.append(
                    "WARNING: the text left a transaction open (BEGIN without COMMIT); it was rolled back. "
                    "End it with COMMIT to keep its changes."
                )
            try:
                conn.execute("ROLLBACK")
            except psycopg.Error:
                log.warning("rollback after a user run failed", exc_info=True)
            self._end_user_tx(rolled_back=True)

    @staticmethod
    def _prefix_for(stmt: Statement) -> int:
        return len(_DECLARE_PREFIX) if stmt.cursorable else 0

    def _run_write_mode(self, stmt: Statement, res: StatementResult) -> None:
        """psql's semantics on an autocommit connection, with the app's timeouts on every statement."""
        conn = self.conn
        in_user_tx = conn.info.transaction_status != TransactionStatus.IDLE
        if in_user_tx or stmt.kind == Kind.TRANSACTION:
            try:
                self._run_statement(stmt, res)
            except BaseException:
                if in_user_tx:  # the error aborts the user's transaction (_finish rolls it back; a failed COMMIT did)
                    self._end_user_tx(rolled_back=True)
                raise
            if (
                in_user_tx
                and stmt.kind == Kind.TRANSACTION
                and stmt.command not in ("BEGIN", "START")
                and not _is_savepoint_command(stmt)
            ):  # COMMIT / END / ROLLBACK / ABORT / PREPARE TRANSACTION [AND CHAIN]: the user's transaction ended
                self._end_user_tx(rolled_back=(res.command_tag or "").upper().startswith("ROLLBACK"))
            if not in_user_tx and conn.info.transaction_status == TransactionStatus.INTRANS:
                self._limits(local=True)  # the user's BEGIN: limits for the transaction it opened
            if conn.info.transaction_status != TransactionStatus.IDLE:
                self._user_tx.append(res)
            return
        if stmt.needs_autocommit:
            self._limits(local=False)  # session-level; DISCARD ALL resets it when the connection goes back
            self._run_statement(stmt, res)
            return
        self._limits(local=True, begin="BEGIN")
        try:
            self._run_statement(stmt, res)
        except BaseException:
            if not conn.broken and conn.info.transaction_status != TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
            raise
        if conn.info.transaction_status != TransactionStatus.IDLE:
            conn.execute("COMMIT")

    def _run_statement(self, stmt: Statement, res: StatementResult) -> None:
        """Register the statement for the Activity page (which otherwise sees only the cursor's FETCH), then run it."""
        user = None
        if self.claims_json:
            with contextlib.suppress(ValueError, AttributeError):
                user = json.loads(self.claims_json).get("email")
        with RUNS.running(self.conn.info.backend_pid, stmt.text, user=user):
            self._send_statement(stmt, res)

    def _send_statement(self, stmt: Statement, res: StatementResult) -> None:
        """Send one statement over the extended protocol and read at most cap+1 rows of its result,
        and no more than the byte cap (``res.cut_at_bytes`` says when that cut it)."""
        conn = self.conn
        cap = self.cap
        rows: list[Any]
        description: list[psycopg.Column] | None
        if stmt.cursorable:
            # A plain query: a server-side cursor, so PostgreSQL produces only what is fetched.
            scur = conn.cursor(name=CURSOR_NAME)
            _install_result_loaders(scur, lenient=False)
            try:
                scur.execute(stmt.text)
                description = scur.description
                rows = self._fetch_all(scur, res)
            finally:
                scur.close()
            res.command_tag = stmt.command
            res.affected_rows = None
        elif (
            stmt.returns_rows
            and stmt.kind in (Kind.WRITE, Kind.DESTRUCTIVE)
            and not stmt.command.startswith(("EXPLAIN", "CALL"))
        ):
            # INSERT/UPDATE/DELETE ... RETURNING cannot be DECLAREd. stream() reads the rows in chunks
            # and we keep the first cap+1: memory stays bounded, while the statement runs to the end
            # (a plain cursor's fetchmany would still receive the whole result into client memory,
            # and stopping a stream early would cancel the write half done).
            cur = conn.cursor()
            _install_result_loaders(cur)
            size = _STREAM_CHUNK if psycopg.capabilities.has_stream_chunked() else 1
            rows = []
            total = 0
            held = 0
            description = None
            sizer: _RowSizer | None = None
            try:
                for row in cur.stream(stmt.text, size=size):
                    total += 1
                    if total <= cap + 1 and res.cut_at_bytes is None:
                        sizer = sizer or _RowSizer(cur.description)
                        keep, used = sizer.fit([row], self.max_bytes - held)
                        if keep:
                            rows.append(row)
                            held += used
                        else:
                            res.cut_at_bytes = self.max_bytes  # the write still runs to its end
                description = cur.description
                res.bytes_held = held
            except psycopg.ProgrammingError as exc:
                if exc.sqlstate is not None or conn.broken:
                    raise
                # It produced no rows after all (the classification guessed RETURNING wrong): it ran.
            res.affected_rows = total
            res.command_tag = f"{stmt.command} {total}"
        else:
            # Everything else (DDL, DML without RETURNING, SHOW, EXPLAIN, CALL, VACUUM...): a one-query
            # pipeline forces the extended protocol. Results here are small (SHOW, EXPLAIN, CALL's OUT
            # parameters); only cap+1 rows are converted.
            cur = conn.cursor()
            _install_result_loaders(cur)
            with conn.pipeline():
                cur.execute(stmt.text)
            description = cur.description
            rows = cur.fetchmany(cap + 1) if description else []
            if rows:
                keep, res.bytes_held = _RowSizer(description).fit(rows, self.max_bytes)
                if keep < len(rows):
                    del rows[keep:]
                    res.cut_at_bytes = self.max_bytes
            res.command_tag = cur.statusmessage
            res.affected_rows = cur.rowcount if cur.rowcount >= 0 and not description else None
            if description and cur.rowcount >= 0 and stmt.kind in (Kind.WRITE, Kind.DESTRUCTIVE):
                res.affected_rows = cur.rowcount
        if description:
            res.truncated = len(rows) > cap
            if res.truncated:
                del rows[cap:]
            res.columns = [ColumnMeta(c.name, c.type_display, int(c.type_code)) for c in description]
            res.records = rows

    def _fetch_all(self, scur: psycopg.ServerCursor[Any], res: StatementResult) -> list[Any]:
        """Read the cursor in batches until cap+1 rows, the end, or the byte cap.

        The first FETCH takes one row; the next are sized from the bytes per row seen, so twenty 50 MB rows come
        one at a time and stop at the cap, while narrow rows come thousands at a time. A row that would take the
        held rows past the cap is dropped (the result may hold none) and ``res.cut_at_bytes`` says so.
        """
        cap, max_bytes = self.cap, self.max_bytes
        aim = max(1, min(_FETCH_BATCH_BYTES, max_bytes // 8))
        sizer = _RowSizer(scur.description)
        rows: list[Any] = []
        held = 0
        batch = _FIRST_FETCH
        lenient = False
        while len(rows) <= cap:
            if self._dog is not None and self._dog.fired:
                raise _Expired
            want = min(batch, cap + 1 - len(rows))
            chunk, lenient = self._fetch(scur, want, lenient)
            if chunk:
                size = sizer.total(chunk)
                if held + size > max_bytes:
                    keep, size = sizer.fit(chunk, max_bytes - held)
                    rows += chunk[:keep]
                    held += size
                    res.cut_at_bytes = max_bytes
                    break
                rows += chunk
                held += size
                per_row = max(1, size // len(chunk), held // len(rows))
                batch = max(1, min(aim // per_row, len(rows) * _FETCH_GROWTH))
            if len(chunk) < want:
                break
        res.bytes_held = held
        return rows

    @staticmethod
    def _fetch(scur: psycopg.ServerCursor[Any], n: int, lenient: bool) -> tuple[list[Any], bool]:
        """One FETCH. A value Python's datetime cannot hold ('infinity', BC, year 10000+) fails psycopg's fast
        loader on the client (no SQLSTATE): that batch is loaded again with those values as text. An error from
        PostgreSQL while producing the rows (division by zero, a bad cast: it has a SQLSTATE) is raised as is."""
        try:
            return scur.fetchmany(n), lenient
        except psycopg.DataError as exc:
            fetched = scur.pgresult
            if exc.sqlstate is not None or fetched is None or fetched.status != pq.ExecStatus.TUPLES_OK:
                raise
            if not lenient:
                _install_lenient_loaders(scur)
            tx = psycopg.adapt.Transformer(scur)
            tx.set_pgresult(fetched)
            return tx.load_rows(0, fetched.ntuples, tuple), True


# ---------------------------------------------------------------------------------------------------
# Backup helpers
# ---------------------------------------------------------------------------------------------------

_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def _safe_stem(schema: str, name: str) -> str:
    """A file name from a table name: no path separators, quotes or control characters."""
    stem = _UNSAFE_FILE_CHARS.sub("_", f"{schema}.{name}").strip("._-")
    return stem[:80] or "table"


def _backup_path(directory: Path, schema: str, name: str, fmt: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    base = f"{_safe_stem(schema, name)}_{stamp}"
    candidate = directory / f"{base}.{fmt}"
    counter = 1
    while candidate.exists() or candidate.with_name(candidate.name + ".partial").exists():
        counter += 1
        candidate = directory / f"{base}_{counter}.{fmt}"
    return candidate


def _comment_safe(text: str) -> str:
    """For a name inside a -- comment: no line breaks, so the name cannot end the comment."""
    return re.sub(r"[\r\n\x00-\x1f]", " ", text)


def _source(schema: str, name: str, relkind: str) -> sql.Composable:
    table = sql.Identifier(schema, name)
    if relkind == "r":
        return table
    # Views, materialized views, partitioned and foreign tables cannot be COPYed directly.
    return sql.SQL("(SELECT * FROM {})").format(table)


def _copy_csv(
    conn: psycopg.Connection[Any],
    schema: str,
    name: str,
    relkind: str,
    out: Any,
    progress: Callable[[int], None] | None,
) -> int:
    query = sql.SQL("COPY {} TO STDOUT WITH (FORMAT csv, HEADER true) /* dba_admin */").format(
        _source(schema, name, relkind)
    )
    cur = conn.cursor()
    lines = 0
    reported = 0
    with cur.copy(query) as copy:
        for data in copy:
            out.write(data)
            if progress is not None:
                lines += bytes(data).count(b"\n")
                if lines - reported >= 1000:
                    reported = lines
                    progress(max(0, lines - 1))
    rows = max(0, cur.rowcount)
    if progress is not None:
        progress(rows)
    return rows


def _copy_sql(
    conn: psycopg.Connection[Any],
    schema: str,
    name: str,
    relkind: str,
    attrs: Sequence[tuple[Any, ...]],
    out: Any,
    progress: Callable[[int], None] | None,
) -> int:
    columns = [str(a[0]) for a in attrs if not a[1]]  # generated columns are computed, not inserted
    overriding = any(a[2] for a in attrs if not a[1])
    table = sql.Identifier(schema, name).as_string(conn)
    if columns:
        col_list = ", ".join(sql.Identifier(c).as_string(conn) for c in columns)
        head = f"INSERT INTO {table} ({col_list})" + (" OVERRIDING SYSTEM VALUE" if overriding else "") + " VALUES\n"
        literal = sql.SQL(" || ', ' || ").join(
            sql.SQL("pg_catalog.quote_nullable({})").format(sql.Identifier(c)) for c in columns
        )
        query = sql.SQL("COPY (SELECT '(' || {} || ')' FROM {} ) TO STDOUT /* dba_admin */").format(
            literal, _source(schema, name, relkind)
        )
    else:
        head = ""
        query = sql.SQL("COPY (SELECT '' FROM {}) TO STDOUT /* dba_admin */").format(_source(schema, name, relkind))
    when = datetime.now(UTC).isoformat(timespec="seconds")
    out.write(
        (
            f"-- DBA Admin backup of {_comment_safe(table)} ({when})\n"
            f"-- Restore with psql -f, or paste into the SQL editor in write mode.\n"
            "BEGIN;\n"
        ).encode()
    )
    rows = 0
    batch: list[str] = []

    def flush() -> None:
        if not batch:
            return
        if columns:
            out.write((head + ",\n".join(batch) + ";\n").encode())
        else:
            out.write("".join(f"INSERT INTO {table} DEFAULT VALUES;\n" for _ in batch).encode())
        batch.clear()

    cur = conn.cursor()
    with cur.copy(query) as copy:
        copy.set_types(["text"])
        for (values,) in copy.rows():
            batch.append(values)
            rows += 1
            if len(batch) >= _SQL_ROWS_PER_INSERT:
                flush()
                if progress is not None and rows % 1000 == 0:
                    progress(rows)
    flush()
    out.write(f"COMMIT;\n-- {rows} rows\n".encode())
    if progress is not None:
        progress(rows)
    return rows
