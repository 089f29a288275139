"""Live activity: who is connected, what runs, who blocks whom, and cancelling or ending a backend.

Read from ``pg_stat_activity`` and ``pg_blocking_pids`` on the connection's monitor login (``pg_monitor`` sees every
session's query), inside a rolled-back transaction with the app's statement and lock timeouts, so a busy server
never hangs the page. Signalling a backend is a DBA's act: it runs on the connection's DBA login (a member of
``pg_signal_backend``; the monitor login cannot signal), and is refused with what to do when the connection has none.

Why the extra pieces:

* SQL typed in the SQL editor is read through a server-side cursor, so while it runs ``pg_stat_activity``
  shows ``FETCH FORWARD n FROM "dba_admin_result"`` instead of the user's statement. :data:`RUNS` is a
  per-process registry (backend pid -> statement and user) that the DatabaseManager can fill around each run;
  :func:`list_sessions` shows the registered statement for such a row. Another app server's runs still show
  the FETCH text (the registry is per process), flagged as the app's own query.
* Cancelling or terminating is audited in the workspace (the connection's name in the details), in a transaction
  opened before the signal and committed right after it, rolled back when no signal was sent: the audit row exists
  exactly when the signal was sent. The app's own current backend is refused: ending it would end the call.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import psycopg
import psycopg.rows

from dba_admin import audit
from dba_admin.database import CURSOR_NAME, RUNS, RunRegistry
from dba_admin.erd import dot_id, html_escape, styled
from dba_admin.errors import ConfigError, NotFound, QueryRefused, SqlErrorInfo, query_error_from
from dba_admin.redaction import redact_sql

if TYPE_CHECKING:
    import pandas as pd

    from dba_admin.database import DatabaseManager

__all__ = [
    "RUNS",
    "BlockNode",
    "BlockingReport",
    "RunRegistry",
    "SessionInfo",
    "SignalResult",
    "blocking_chains",
    "blocking_dot",
    "cancel_backend",
    "list_sessions",
    "sessions_frame",
    "terminate_backend",
]

APP_TAG = "/* dba_admin"
APP_NAME = "dba_admin"
DEFAULT_LONG_RUNNING_SECONDS = 60.0
_IDLE_IN_TX = ("idle in transaction", "idle in transaction (aborted)")
_CURSOR_FETCH = re.compile(r'^\s*(FETCH|DECLARE|CLOSE|MOVE)\b.*"?' + CURSOR_NAME + r'"?', re.IGNORECASE | re.DOTALL)
# Query text kept in an audit row: enough to recognise it, not a whole generated report.
_AUDIT_QUERY_CHARS = 500


# --------------------------------------------------------------------------------------------------
# Result shapes
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionInfo:
    """One backend as the activity page shows it."""

    pid: int
    database: str | None
    user: str | None
    application: str
    client: str | None  # address:port, "local socket", or None for background workers
    backend_type: str
    state: str | None
    wait_event_type: str | None
    wait_event: str | None
    query: str  # what PostgreSQL shows
    display_query: str  # the user's statement when the registry knows it, else ``query``
    run_by: str | None  # the app user who runs it, when the registry knows it
    backend_start: datetime | None
    xact_start: datetime | None
    query_start: datetime | None
    state_change: datetime | None
    query_seconds: float | None  # since query_start (for an idle session: since its last query started)
    xact_seconds: float | None
    state_seconds: float | None
    blocked_by: tuple[int, ...]
    is_self: bool  # the connection that listed the sessions
    is_app_query: bool  # carries the /* dba_admin */ tag or runs under application_name dba_admin
    long_running: bool
    idle_in_transaction: bool

    @property
    def waiting_on_lock(self) -> bool:
        return bool(self.blocked_by)

    @property
    def duration_seconds(self) -> float | None:
        """The duration a DBA means: of the running query, or of the idle transaction."""
        if self.idle_in_transaction:
            return self.state_seconds
        if self.state == "active":
            return self.query_seconds
        return self.state_seconds

    def label(self, width: int = 60) -> str:
        text = " ".join(self.display_query.split())
        if len(text) > width:
            text = text[: width - 1] + "…"
        return f"{self.pid} · {self.user or '?'} · {self.state or self.backend_type} · {text or '(no query)'}"


@dataclass(frozen=True)
class BlockNode:
    """A session in a blocking tree; ``children`` are the sessions waiting on it."""

    pid: int
    session: SessionInfo | None  # None when the blocker was not listed (another database, gone)
    children: tuple[BlockNode, ...] = ()


@dataclass(frozen=True)
class BlockingReport:
    """Who blocks whom. ``edges`` are (blocked pid, blocking pid); ``roots`` head the trees."""

    edges: tuple[tuple[int, int], ...]
    roots: tuple[BlockNode, ...]
    sessions: Mapping[int, SessionInfo] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.edges

    def lines(self) -> list[str]:
        """The trees as indented text, for a plain list in the UI or a CLI."""
        out: list[str] = []

        def walk(node: BlockNode, depth: int) -> None:
            s = node.session
            what = s.label(70) if s else f"{node.pid} · (not visible)"
            role = "blocks" if node.children else "waits"
            prefix = "  " * depth + ("└─ " if depth else "")
            out.append(f"{prefix}{what}" + (f"  [{role} {len(node.children)}]" if node.children else ""))
            for child in node.children:
                walk(child, depth + 1)

        for root in self.roots:
            walk(root, 0)
        return out


SignalAction = Literal["cancel", "terminate"]


@dataclass(frozen=True)
class SignalResult:
    pid: int
    action: SignalAction
    signalled: bool
    message: str


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def monitor_read(db: DatabaseManager) -> Iterator[psycopg.Connection[Any]]:
    """A rolled-back transaction with the app's timeouts on the connection's monitor login."""
    settings = db.settings
    with db.connection() as conn:
        try:
            with conn.transaction(force_rollback=True):
                set_local_limits(conn, settings.statement_timeout_ms, settings.lock_timeout_ms)
                yield conn
        except psycopg.Error as exc:
            if exc.sqlstate is None:
                raise
            raise query_error_from(exc) from exc


def set_local_limits(conn: psycopg.Connection[Any], statement_timeout_ms: int, lock_timeout_ms: int) -> None:
    conn.execute(
        "SELECT /* dba_admin */ pg_catalog.set_config('statement_timeout', %s, true),"
        " pg_catalog.set_config('lock_timeout', %s, true)",
        (f"{int(statement_timeout_ms)}ms", f"{int(lock_timeout_ms)}ms"),
    )


_SESSIONS_SQL = """
SELECT /* dba_admin */
       a.pid, a.datname, a.usename, coalesce(a.application_name, '') AS application_name,
       CASE WHEN a.client_addr IS NOT NULL THEN host(a.client_addr) || ':' || a.client_port
            WHEN a.client_port = -1 THEN 'local socket' END AS client,
       coalesce(a.backend_type, '') AS backend_type, a.state, a.wait_event_type, a.wait_event,
       coalesce(a.query, '') AS query, a.backend_start, a.xact_start, a.query_start, a.state_change,
       extract(epoch FROM pg_catalog.clock_timestamp() - a.query_start)::float8 AS query_seconds,
       extract(epoch FROM pg_catalog.clock_timestamp() - a.xact_start)::float8 AS xact_seconds,
       extract(epoch FROM pg_catalog.clock_timestamp() - a.state_change)::float8 AS state_seconds,
       CASE WHEN a.wait_event_type = 'Lock' THEN pg_catalog.pg_blocking_pids(a.pid) END AS blocked_by,
       a.pid = pg_catalog.pg_backend_pid() AS is_self
FROM pg_catalog.pg_stat_activity a
WHERE (%(all_databases)s OR a.datname = pg_catalog.current_database() OR a.datname IS NULL)
  AND (NOT %(client_only)s OR a.backend_type = 'client backend')
ORDER BY a.query_start NULLS LAST, a.pid
"""


def _is_app(query: str, application: str) -> bool:
    return APP_TAG in query or application == APP_NAME or application.startswith(APP_NAME + " ")


def list_sessions(
    db: DatabaseManager,
    *,
    long_running_seconds: float = DEFAULT_LONG_RUNNING_SECONDS,
    client_only: bool = True,
    all_databases: bool = True,
    include_idle: bool = True,
    registry: RunRegistry | None = None,
) -> list[SessionInfo]:
    """Every backend, oldest query first; ``long_running`` = active longer than ``long_running_seconds``.

    The query text of other users' sessions is PostgreSQL's ``<insufficient privilege>`` unless the app's
    login is a superuser or has ``pg_read_all_stats`` (Supabase's ``postgres`` has it).
    """
    registry = RUNS if registry is None else registry
    known = registry.snapshot()
    with monitor_read(db) as conn:
        rows = (
            conn.cursor(row_factory=psycopg.rows.dict_row)
            .execute(_SESSIONS_SQL, {"all_databases": all_databases, "client_only": client_only})
            .fetchall()
        )
    sessions: list[SessionInfo] = []
    for r in rows:
        state = r["state"]
        if not include_idle and state == "idle":
            continue
        query = str(r["query"])
        application = str(r["application_name"])
        display, run_by = query, None
        run = known.get(int(r["pid"]))
        if run is not None and (_CURSOR_FETCH.match(query) or state == "active"):
            display, run_by = run.statement, run.user
        query_seconds = r["query_seconds"]
        idle_tx = state in _IDLE_IN_TX
        sessions.append(
            SessionInfo(
                pid=int(r["pid"]),
                database=r["datname"],
                user=r["usename"],
                application=application,
                client=r["client"],
                backend_type=str(r["backend_type"]),
                state=state,
                wait_event_type=r["wait_event_type"],
                wait_event=r["wait_event"],
                query=query,
                display_query=display,
                run_by=run_by,
                backend_start=r["backend_start"],
                xact_start=r["xact_start"],
                query_start=r["query_start"],
                state_change=r["state_change"],
                query_seconds=None if query_seconds is None else max(0.0, float(query_seconds)),
                xact_seconds=None if r["xact_seconds"] is None else max(0.0, float(r["xact_seconds"])),
                state_seconds=None if r["state_seconds"] is None else max(0.0, float(r["state_seconds"])),
                blocked_by=tuple(int(p) for p in (r["blocked_by"] or ())),
                is_self=bool(r["is_self"]),
                is_app_query=_is_app(query, application) or run is not None,
                long_running=state == "active"
                and query_seconds is not None
                and float(query_seconds) > long_running_seconds,
                idle_in_transaction=idle_tx,
            )
        )
    return sessions


SESSION_COLUMNS = (
    "pid",
    "user",
    "database",
    "application",
    "client",
    "state",
    "duration_s",
    "wait",
    "blocked_by",
    "query",
    "app",
    "run_by",
    "query_start",
    "xact_start",
    "backend_type",
    "long_running",
    "idle_in_transaction",
    "is_self",
)


def sessions_frame(sessions: Sequence[SessionInfo]) -> pd.DataFrame:
    """Sessions as the table the activity page shows (one row per backend, flags as booleans)."""
    import pandas as pd  # only here: the command line's start does not pay for pandas

    rows = [
        {
            "pid": s.pid,
            "user": s.user,
            "database": s.database,
            "application": s.application,
            "client": s.client,
            "state": s.state or "",
            "duration_s": None if s.duration_seconds is None else round(s.duration_seconds, 1),
            "wait": ":".join(x for x in (s.wait_event_type, s.wait_event) if x) or "",
            "blocked_by": ", ".join(str(p) for p in s.blocked_by),
            "query": s.display_query,
            "app": s.is_app_query,
            "run_by": s.run_by,
            "query_start": s.query_start,
            "xact_start": s.xact_start,
            "backend_type": s.backend_type,
            "long_running": s.long_running,
            "idle_in_transaction": s.idle_in_transaction,
            "is_self": s.is_self,
        }
        for s in sessions
    ]
    return pd.DataFrame(rows, columns=list(SESSION_COLUMNS))


def blocking_chains(db: DatabaseManager, sessions: Sequence[SessionInfo] | None = None) -> BlockingReport:
    """Who blocks whom, from ``pg_blocking_pids``; trees start at sessions that block but do not wait.

    Pass ``sessions`` from :func:`list_sessions` to avoid reading pg_stat_activity twice. A cycle (a deadlock
    the detector has not broken yet) has no natural root: one of its members is taken as the root.
    """
    if sessions is None:
        sessions = list_sessions(db, client_only=False)
    by_pid = {s.pid: s for s in sessions}
    edges = tuple(sorted({(s.pid, b) for s in sessions for b in s.blocked_by}))
    return build_report(edges, by_pid)


def build_report(edges: Sequence[tuple[int, int]], by_pid: Mapping[int, SessionInfo]) -> BlockingReport:
    """Trees from (blocked, blocker) edges; split out so the tree shape is testable without a server."""
    waiters: dict[int, list[int]] = {}
    blocked: set[int] = set()
    for waiter, blocker in edges:
        waiters.setdefault(blocker, []).append(waiter)
        blocked.add(waiter)
    involved = sorted({p for e in edges for p in e})
    seen: set[int] = set()

    def node(pid: int, path: frozenset[int]) -> BlockNode:
        seen.add(pid)
        kids = tuple(node(w, path | {pid}) for w in sorted(waiters.get(pid, [])) if w not in path)
        return BlockNode(pid=pid, session=by_pid.get(pid), children=kids)

    roots = [node(p, frozenset()) for p in involved if p in waiters and p not in blocked]
    for p in involved:  # members of a cycle are reached from no root
        if p not in seen and p in waiters:
            roots.append(node(p, frozenset()))
    return BlockingReport(edges=tuple(edges), roots=tuple(roots), sessions=dict(by_pid))


def blocking_dot(report: BlockingReport) -> str:
    """The blocking graph as Graphviz DOT: an arrow from each blocker to the session waiting on it."""
    lines = [
        "digraph blocking {",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, fillcolor="#f5f5f5"];',
    ]
    pids = sorted({p for e in report.edges for p in e})
    blocked = {w for w, _ in report.edges}
    for pid in pids:
        s = report.sessions.get(pid)
        head = f"pid {pid}" + (f" · {s.user}" if s and s.user else "")
        detail = ""
        if s is not None:
            text = " ".join(s.display_query.split())
            detail = (text[:57] + "…") if len(text) > 58 else text
            state = s.state or s.backend_type
            seconds = s.duration_seconds
            state += f" · {seconds:.0f} s" if seconds is not None else ""
        else:
            state = "not visible"
        fill = "#fde2e1" if pid not in blocked else "#fff4ce"
        parts = [styled(head, "b"), html_escape(state), styled(detail, "i")]
        label = "<" + "<br/>".join(p for p in parts if p) + ">"
        lines.append(f'  {dot_id(f"p{pid}")} [label={label}, fillcolor="{fill}"];')
    for waiter, blocker in report.edges:
        lines.append(f'  {dot_id(f"p{blocker}")} -> {dot_id(f"p{waiter}")} [label="blocks"];')
    lines.append("}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Cancel / terminate
# --------------------------------------------------------------------------------------------------


def _audit_query(text: str) -> str:
    text = redact_sql(text)
    return text if len(text) <= _AUDIT_QUERY_CHARS else text[: _AUDIT_QUERY_CHARS - 1] + "…"


def cancel_backend(db: DatabaseManager, pid: int, actor: str) -> SignalResult:
    """Cancel the backend's running query (``pg_cancel_backend``); the session stays. Audited."""
    return _signal(db, int(pid), actor, "cancel")


def terminate_backend(db: DatabaseManager, pid: int, actor: str) -> SignalResult:
    """End the backend's session (``pg_terminate_backend``); its open transaction rolls back. Audited."""
    return _signal(db, int(pid), actor, "terminate")


_TARGET_SQL = """
SELECT /* dba_admin */ a.pid, a.usename, a.datname, a.application_name, a.state, a.backend_type,
       coalesce(a.query, '') AS query,
       extract(epoch FROM pg_catalog.clock_timestamp() - a.query_start)::float8 AS query_seconds,
       pg_catalog.pg_backend_pid() AS me
FROM pg_catalog.pg_stat_activity a WHERE a.pid = %s
"""


def _signal(db: DatabaseManager, pid: int, actor: str, action: SignalAction) -> SignalResult:
    settings = db.settings
    func = "pg_cancel_backend" if action == "cancel" else "pg_terminate_backend"
    if not getattr(db, "has_dba_login", False):
        raise ConfigError(
            f"to {action} a backend the app needs connection {getattr(db, 'name', '')}'s DBA login (a member of "
            "pg_signal_backend): the monitor login may only watch. Register one with `dba-admin connection add NAME "
            f"--dba-dsn ...`, or run SELECT {func}({pid}) in psql as a DBA."
        )
    with db.workspace.connection() as wconn, db.dba_connection() as conn:
        try:
            with wconn.transaction(), conn.transaction():
                set_local_limits(conn, settings.statement_timeout_ms, settings.lock_timeout_ms)
                target = conn.cursor(row_factory=psycopg.rows.dict_row).execute(_TARGET_SQL, (pid,)).fetchone()
                if target is None:
                    raise NotFound(f"backend {pid} no longer exists (its session ended); refresh the list")
                if int(target["me"]) == pid:
                    raise QueryRefused(
                        SqlErrorInfo(
                            sqlstate=None,
                            message=f"backend {pid} is the app's own connection doing this {action}; refused",
                        )
                    )
                if action == "cancel" and target["state"] in ("idle", *_IDLE_IN_TX):
                    # PostgreSQL ignores a cancel while the backend waits for its client: nothing would happen.
                    raise QueryRefused(
                        SqlErrorInfo(
                            sqlstate=None,
                            message=f"backend {pid} is {target['state']}: there is no running query to cancel",
                            hint="Terminate the session to end its transaction and release its locks.",
                        )
                    )
                if action == "cancel":
                    row = conn.execute("SELECT /* dba_admin */ pg_catalog.pg_cancel_backend(%s)", (pid,)).fetchone()
                else:
                    row = conn.execute("SELECT /* dba_admin */ pg_catalog.pg_terminate_backend(%s)", (pid,)).fetchone()
                signalled = bool(row and row[0])
                if not signalled:
                    # PostgreSQL returns false (with a WARNING) when the process went away or is not a backend
                    # it may signal (postmaster children such as the checkpointer).
                    raise NotFound(
                        f"{func}({pid}) did nothing: the backend has ended or cannot be signalled "
                        f"({target['backend_type'] or 'unknown type'})"
                    )
                audit.record(
                    wconn,
                    f"activity.{action}",
                    actor=actor,
                    target=f"pid {pid}",
                    details={
                        "connection": db.name,
                        "pid": pid,
                        "user": target["usename"],
                        "database": target["datname"],
                        "application": target["application_name"],
                        "state": target["state"],
                        "backend_type": target["backend_type"],
                        "query_seconds": None
                        if target["query_seconds"] is None
                        else round(float(target["query_seconds"]), 1),
                        "query": _audit_query(str(target["query"])),
                    },
                )
        except psycopg.Error as exc:
            if exc.sqlstate is None:
                raise
            raise query_error_from(exc) from exc
    verb = "cancelled its query" if action == "cancel" else "terminated the session"
    return SignalResult(pid=pid, action=action, signalled=True, message=f"Backend {pid}: {verb}.")


def session_dict(s: SessionInfo) -> dict[str, Any]:
    """Plain data, for JSON (CLI, export)."""
    return asdict(s)
