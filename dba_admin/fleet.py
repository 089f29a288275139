"""The fleet: every connection a user may see, at one glance, each probed in parallel with its own time limit.

One dead or slow database must show as such without slowing the rest (PgHero's multi-database view, pgAdmin's
server tree), so every connection gets:

* one short-lived psycopg connection of its own on the **monitor** login (never the pooled manager: a dead or slow
  server then holds no pool slot, and probing 20 connections does not evict the pools other users work with from
  the bounded ``Targets`` cache);
* a budget of ``Settings.fleet_timeout_s`` from the moment its probe starts: it is the connect timeout, then the
  statement timeout of what remains; the collector reports a probe still going past its budget as "timed out" and
  returns without waiting (its socket is shut down so the thread ends soon after, even on a frozen server);
* the advisors' checks (``dba_admin.advisors``) run one by one on that same connection while budget remains; the
  counts say how many of the checks fit when not all did. They read whole catalogs, so a complete run is reused for
  ``ADVISORS_MAX_AGE_S`` per connection and app server (the workspace's current mutes always apply): refreshing the
  page every few seconds does not run 29 checks on every database each time.

The workspace is read once before (last snapshot, muted findings) and written once after: for a connection whose
backends do not live on the workspace's server (``same_cluster`` false), runs left "running" by a backend that no
longer exists there are marked interrupted (``dba_admin.mark_interrupted_runs_on``) with the live backends just
read through the monitor login. Runs that started around the probe are passed as live, so a run that began after
the backends were read is never swept by mistake.

No DSN (and no password) ever appears in a row, a message or a log line: hosts are masked, and driver messages
are scrubbed of the password before they are kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

import psycopg
from psycopg.conninfo import conninfo_to_dict

from dba_admin.advisors import LEVELS, Check, detect_exposed_schemas, load_checks, run_checks_on
from dba_admin.errors import DbaAdminError, one_line
from dba_admin.services import mask_dsn

if TYPE_CHECKING:
    from dba_admin.config import Settings
    from dba_admin.connections import Registry
    from dba_admin.database import DatabaseManager
    from dba_admin.rls import UserClaims

__all__ = [
    "ERROR",
    "OK",
    "TIMED_OUT",
    "UNREACHABLE",
    "FleetRow",
    "LoginCheck",
    "check_login",
    "collect_fleet",
    "collect_visible_fleet",
    "scrub",
]

log = logging.getLogger(__name__)

OK = "ok"
UNREACHABLE = "unreachable"
TIMED_OUT = "timed out"
ERROR = "error"  # registered but not probed: its secrets cannot be read with this SECRETS_KEY, for instance

APPLICATION_NAME = "dba_admin_fleet"
# Probes at once per collection, one short-lived connection each: up to this many connections none waits for a
# free worker, so the page answers in about FLEET_TIMEOUT_S whatever the servers do.
DEFAULT_WORKERS = 32
# Past its budget a probe is reported "timed out"; this much more is allowed for the thread to hand its row over.
GRACE_S = 0.5
ADVISORS_MAX_AGE_S = 300.0  # the checks run at most this often per connection and app server (0: every time)
MIN_CHECK_BUDGET_S = 0.2  # a check is started only with at least this much of the budget left
# Runs that started this close to the probe are passed as live to the sweep, whatever pg_stat_activity said:
# their backend may have been opened after the backends were read.
RECENT_RUN_MARGIN_S = 60
_LIBPQ_MIN_CONNECT_TIMEOUT_S = 2  # libpq (and psycopg) treat a smaller connect_timeout as 2 s


class FleetSource(Protocol):
    """What the collector needs: the workspace manager and the connection registry (``Services`` has both)."""

    @property
    def db(self) -> DatabaseManager: ...

    @property
    def registry(self) -> Registry: ...


@dataclass(frozen=True)
class FleetRow:
    """One connection at a glance. ``status`` is ok, unreachable, timed out or error; figures are None when unknown.

    Never a DSN: ``host`` is the masked host and database.
    """

    name: str
    status: str
    host: str = ""
    reason: str | None = None  # one line, when status is not ok (or a figure could not be read)
    server_version: str | None = None
    database: str | None = None
    size_bytes: int | None = None
    connections_used: int | None = None
    max_connections: int | None = None
    cache_hit_ratio: float | None = None  # 0..1 for this database (pg_stat_database), None before any block read
    longest_query_s: float | None = None  # the oldest active statement on this database, not ours
    longest_query_pid: int | None = None
    findings: dict[str, int] | None = None  # unmuted advisor findings per level (ERROR, WARN, INFO)
    checks_run: int = 0
    checks_total: int = 0
    checks_failed: int = 0
    advisors_note: str | None = None  # why the counts are partial or missing
    advisors_at: datetime | None = None  # when the checks behind the counts ran (kept up to ADVISORS_MAX_AGE_S)
    last_snapshot_at: datetime | None = None
    elapsed_ms: float = 0.0
    swept_runs: int | None = None  # runs marked interrupted by this collection (remote connections only)
    live_backends: list[dict[str, Any]] | None = field(default=None, repr=False, compare=False)

    @property
    def reachable(self) -> bool:
        return self.status == OK

    @property
    def connections_pct(self) -> float | None:
        if self.connections_used is None or not self.max_connections:
            return None
        return 100.0 * self.connections_used / self.max_connections

    def findings_at(self, level: str) -> int | None:
        return None if self.findings is None else self.findings.get(level, 0)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly view (the CLI's --json and the bench)."""
        return {
            "name": self.name,
            "status": self.status,
            "host": self.host,
            "reason": self.reason,
            "server_version": self.server_version,
            "database": self.database,
            "size_bytes": self.size_bytes,
            "connections_used": self.connections_used,
            "max_connections": self.max_connections,
            "cache_hit_ratio": self.cache_hit_ratio,
            "longest_query_s": self.longest_query_s,
            "longest_query_pid": self.longest_query_pid,
            "findings": self.findings,
            "checks_run": self.checks_run,
            "checks_total": self.checks_total,
            "checks_failed": self.checks_failed,
            "advisors_note": self.advisors_note,
            "advisors_at": self.advisors_at.isoformat() if self.advisors_at else None,
            "last_snapshot_at": self.last_snapshot_at.isoformat() if self.last_snapshot_at else None,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "swept_runs": self.swept_runs,
        }


# ---------------------------------------------------------------------------------------------------
# Messages without secrets
# ---------------------------------------------------------------------------------------------------


def _password_of(dsn: str) -> str | None:
    try:
        return conninfo_to_dict(dsn).get("password") or None  # type: ignore[return-value]
    except Exception:  # a malformed DSN: the caller says so without quoting it
        return None


def scrub(message: str, dsn: str | None) -> str:
    """A driver message with the DSN's password (as written and URL-encoded) replaced by ***."""
    password = _password_of(dsn) if dsn else None
    if password:
        for form in {password, quote(password, safe=""), quote(password)}:
            if form:
                message = message.replace(form, "***")
    return message


INVALID_DSN = (
    "the connection string is not valid: use postgresql://user:password@host:port/dbname "
    "or key=value pairs (host=… dbname=… user=…)"
)


def _reason(exc: BaseException, dsn: str | None) -> str:
    """Why a connection or statement failed, in one line, never quoting the DSN."""
    if isinstance(exc, psycopg.ProgrammingError) and "connection info string" in str(exc):
        return INVALID_DSN  # psycopg quotes the string it could not parse, password included
    if isinstance(exc, psycopg.errors.ConnectionTimeout):
        return "no answer within the time limit (connection timeout expired)"
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return "a statistics query did not finish within the time limit (statement timeout)"
    return scrub(one_line(exc), dsn)


# ---------------------------------------------------------------------------------------------------
# One probe
# ---------------------------------------------------------------------------------------------------


class _Abandon:
    """Lets the collector give up on a probe: it shuts the probe's socket down, so a thread blocked on a server
    that stopped answering (SIGSTOP, a frozen VM) wakes up with an error instead of waiting forever.

    The connection is closed only under the lock, so the file descriptor shut down is always still this
    connection's (never a number the kernel already gave to another socket).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        self.abandoned = False

    def attach(self, conn: psycopg.Connection[Any]) -> None:
        with self._lock:
            self._conn = conn
            if self.abandoned:
                self._shutdown()

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()

    def abandon(self) -> None:
        with self._lock:
            self.abandoned = True
            self._shutdown()

    def _shutdown(self) -> None:
        conn = self._conn
        if conn is None or conn.closed:
            return
        with contextlib.suppress(OSError, psycopg.Error):
            sock = socket.socket(fileno=os.dup(conn.fileno()))
            try:
                sock.shutdown(socket.SHUT_RDWR)
            finally:
                sock.close()


_STATS_SQL = """/* dba_admin */ select
  pg_catalog.current_setting('server_version') as server_version,
  pg_catalog.current_database() as database,
  pg_catalog.current_setting('max_connections')::int as max_connections,
  (select count(*) from pg_catalog.pg_stat_activity a where a.backend_type = 'client backend')::int
    as connections_used,
  (select case when d.blks_hit + d.blks_read > 0 then d.blks_hit::float8 / (d.blks_hit + d.blks_read) end
     from pg_catalog.pg_stat_database d where d.datname = pg_catalog.current_database()) as cache_hit_ratio"""

_SIZE_SQL = "/* dba_admin */ select pg_catalog.pg_database_size(pg_catalog.current_database())"

# The oldest statement running on this database, other than this probe and the other fleet probes.
_LONGEST_SQL = """/* dba_admin */ select a.pid,
  extract(epoch from pg_catalog.clock_timestamp() - a.query_start)::float8 as seconds
from pg_catalog.pg_stat_activity a
where a.state = 'active' and a.pid <> pg_catalog.pg_backend_pid() and a.backend_type = 'client backend'
  and a.datname = pg_catalog.current_database() and a.query_start is not null
  and a.application_name is distinct from %s
order by a.query_start limit 1"""

_LIVE_SQL = (
    "/* dba_admin */ select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object("
    "'pid', a.pid, 'backend_start', a.backend_start)), '[]'::jsonb) from pg_catalog.pg_stat_activity a"
)


@dataclass(frozen=True)
class _Job:
    name: str
    dsn: str = field(repr=False)
    same_cluster: bool
    timeout_s: float
    settings: Settings
    checks: Sequence[Check] | None  # None: advisors off
    muted: frozenset[str]
    advisors_max_age_s: float = 0.0
    is_workspace: bool = False  # connection `default`: the app's own objects are left out of the findings


def _remaining(deadline: float) -> float:
    return deadline - time.monotonic()


def _set_statement_timeout(conn: psycopg.Connection[Any], deadline: float) -> None:
    ms = max(50, int(_remaining(deadline) * 1000))
    conn.execute("select pg_catalog.set_config('statement_timeout', %s, false) /* dba_admin */", (str(ms),))


def _connect(dsn: str, timeout_s: float) -> psycopg.Connection[Any]:
    """One unpooled monitor connection, bounded at every stage a dead or slow server could stall."""
    seconds = max(_LIBPQ_MIN_CONNECT_TIMEOUT_S, math.ceil(timeout_s))
    return psycopg.connect(
        dsn,
        autocommit=True,
        connect_timeout=seconds,
        application_name=APPLICATION_NAME,
        prepare_threshold=None,
        # A black-holed network: unacknowledged data and a silent peer end the connection (ignored on sockets).
        tcp_user_timeout=seconds * 1000,
        keepalives=1,
        keepalives_idle=seconds,
        keepalives_interval=1,
        keepalives_count=3,
    )


def _probe(job: _Job, started: float, guard: _Abandon) -> FleetRow:
    """Everything the fleet shows about one connection, within ``job.timeout_s`` of ``started``."""
    deadline = started + job.timeout_s
    values: dict[str, Any] = {"name": job.name, "host": mask_dsn(job.dsn)}
    try:
        conn = _connect(job.dsn, job.timeout_s)
    except (psycopg.Error, OSError) as exc:
        status = TIMED_OUT if isinstance(exc, psycopg.errors.ConnectionTimeout) else UNREACHABLE
        return FleetRow(status=status, reason=_reason(exc, job.dsn), **values)
    guard.attach(conn)
    try:
        _set_statement_timeout(conn, deadline)
        row = conn.execute(_STATS_SQL).fetchone()
        assert row is not None
        values.update(
            server_version=str(row[0]).split()[0],
            database=row[1],
            max_connections=row[2],
            connections_used=row[3],
            cache_hit_ratio=row[4],
        )
        longest = conn.execute(_LONGEST_SQL, (APPLICATION_NAME,)).fetchone()
        if longest is not None:
            values.update(longest_query_pid=int(longest[0]), longest_query_s=round(float(longest[1]), 1))
        if not job.same_cluster:
            live = conn.execute(_LIVE_SQL).fetchone()
            values["live_backends"] = list(live[0]) if live else None
        _set_statement_timeout(conn, deadline)
        try:  # walks the database's files: the slowest figure on a big database, so it may be missing alone
            size = conn.execute(_SIZE_SQL).fetchone()
            values["size_bytes"] = int(size[0]) if size else None
        except psycopg.errors.QueryCanceled:
            values["reason"] = "the database size did not come within the time limit"
        if job.checks is not None:
            values.update(_advisor_counts(conn, job, deadline))
        return FleetRow(status=OK, **values)
    except psycopg.errors.QueryCanceled as exc:
        return FleetRow(status=TIMED_OUT, reason=_reason(exc, job.dsn), **_figures_only(values))
    except (psycopg.Error, DbaAdminError, OSError) as exc:
        if guard.abandoned:
            return FleetRow(status=TIMED_OUT, reason="no answer within the time limit", **_figures_only(values))
        return FleetRow(status=UNREACHABLE, reason=_reason(exc, job.dsn), **_figures_only(values))
    finally:
        guard.close()


def _figures_only(values: Mapping[str, Any]) -> dict[str, Any]:
    """What a failed probe keeps: the figures already read, but never the live backends (no sweep on a failure)."""
    return {k: v for k, v in values.items() if k not in {"live_backends", "reason"}}


@dataclass(frozen=True)
class _Found:
    """One connection's complete run of the checks, kept on this app server for ``advisors_max_age_s``."""

    at: float  # time.monotonic() of the run
    ran_at: datetime
    findings: tuple[tuple[str, str], ...]  # (cache_key, level) of every finding, mutes applied when counted
    total: int
    failed: int


# Complete runs of the checks per (connection, monitor login): the checks read whole catalogs, so the fleet runs
# them at most once per ADVISORS_MAX_AGE_S per connection and app server, however often the page is refreshed.
_found: dict[tuple[str, str], _Found] = {}
_found_lock = threading.Lock()


def _found_key(job: _Job) -> tuple[str, str]:
    """The connection's name and a digest of its DSN: logins changed under the same name start afresh."""
    return job.name, hashlib.sha256(job.dsn.encode()).hexdigest()


def _counted(found: _Found, job: _Job, ran: int) -> dict[str, Any]:
    counts = dict.fromkeys(LEVELS, 0)
    for key, level in found.findings:
        if key not in job.muted:
            counts[level] = counts.get(level, 0) + 1
    note = None
    if ran < found.total:
        note = f"{ran} of {found.total} checks fit in the {job.timeout_s:g} s limit: counts are partial"
    elif found.failed:
        note = f"{found.failed} check(s) failed on this connection (see the Advisors page)"
    return {
        "findings": counts,
        "checks_run": ran,
        "checks_total": found.total,
        "checks_failed": found.failed,
        "advisors_note": note,
        "advisors_at": found.ran_at,
    }


def _advisor_counts(conn: psycopg.Connection[Any], job: _Job, deadline: float) -> dict[str, Any]:
    """Unmuted findings per level: from this server's last complete run when recent enough, else from the checks
    that fit in the budget, run one at a time on the probe's connection."""
    key = _found_key(job)
    with _found_lock:
        kept = _found.get(key)
    if kept is not None and time.monotonic() - kept.at <= job.advisors_max_age_s:
        return _counted(kept, job, kept.total)
    checks = list(job.checks or ())
    findings: list[tuple[str, str]] = []
    ran = failed = 0
    conn.autocommit = False  # run_checks_on gives every check its own rolled-back transaction
    try:
        exposed = detect_exposed_schemas(conn, settings=job.settings)  # once per connection, not per check
        conn.rollback()
        for check in checks:
            left = _remaining(deadline)
            if left < MIN_CHECK_BUDGET_S:
                break
            report = run_checks_on(
                conn,
                settings=job.settings,
                checks=[check],
                timeout_ms=int(left * 1000),
                exposed=exposed,
                mutes={},
                skip_app_objects=job.is_workspace,
            )
            ran += 1
            for finding in report.findings:  # mutes are the workspace's, per connection (applied when counted)
                if finding.check_failed:
                    failed += 1
                else:
                    findings.append((finding.cache_key, finding.level))
    finally:
        with contextlib.suppress(psycopg.Error):
            conn.rollback()
    found = _Found(time.monotonic(), datetime.now(UTC), tuple(findings), len(checks), failed)
    if ran == len(checks):  # a partial run is not kept: the next collection tries again
        with _found_lock:
            _found[key] = found
    return _counted(found, job, ran)


# ---------------------------------------------------------------------------------------------------
# The collection
# ---------------------------------------------------------------------------------------------------


def _workspace_reads(
    workspace: DatabaseManager, names: Sequence[str]
) -> tuple[datetime, dict[str, datetime], dict[str, frozenset[str]]]:
    """The workspace's clock, each connection's last snapshot and muted findings, in one borrow."""
    with workspace.connection() as conn:
        row = conn.execute("/* dba_admin */ select pg_catalog.clock_timestamp()").fetchone()
        assert row is not None
        snaps = conn.execute(
            "/* dba_admin */ select connection_name, max(taken_at) from dba_admin.snapshots"
            " where connection_name = any(%s) group by connection_name",
            (list(names),),
        ).fetchall()
        mutes: dict[str, set[str]] = {}
        for name, key in conn.execute(
            "/* dba_admin */ select connection_name, cache_key from dba_admin.muted_findings"
            " where connection_name = any(%s)",
            (list(names),),
        ).fetchall():
            mutes.setdefault(name, set()).add(key)
    return row[0], {str(n): t for n, t in snaps}, {n: frozenset(k) for n, k in mutes.items()}


def _sweep(workspace: DatabaseManager, rows: Iterable[FleetRow], since: datetime) -> dict[str, int]:
    """Mark runs interrupted on remote connections whose backend is gone (see the module's docstring)."""
    swept: dict[str, int] = {}
    todo = [r for r in rows if r.status == OK and r.live_backends is not None]
    if not todo:
        return swept
    with workspace.connection() as conn:
        for row in todo:
            done = conn.execute(
                "/* dba_admin */ select dba_admin.mark_interrupted_runs_on(%(name)s, %(live)s::jsonb || coalesce(("
                " select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('pid', e.backend_pid,"
                " 'backend_start', e.backend_start)) from public.execucoes_scripts e"
                " where e.status = 'running' and e.banco = %(name)s and e.backend_pid is not null"
                " and e.started_at >= %(since)s - pg_catalog.make_interval(secs => %(margin)s)), '[]'::jsonb))",
                {
                    "name": row.name,
                    "live": json.dumps(row.live_backends or [], default=str),
                    "since": since,
                    "margin": RECENT_RUN_MARGIN_S,
                },
            ).fetchone()
            swept[row.name] = int(done[0]) if done else 0
    return swept


def collect_fleet(
    source: FleetSource,
    names: Sequence[str],
    *,
    timeout_s: float | None = None,
    advisors: bool = True,
    advisors_max_age_s: float = ADVISORS_MAX_AGE_S,
    workers: int | None = None,
    sweep: bool = True,
    on_row: Callable[[FleetRow], None] | None = None,
) -> list[FleetRow]:
    """One row per connection in ``names`` (in that order), probed in parallel, each within ``timeout_s``.

    ``names`` must already be what the user may see (:func:`collect_visible_fleet` asks RLS). ``timeout_s``
    defaults to ``Settings.fleet_timeout_s``; ``advisors=False`` skips the checks (the counts are then None);
    their findings are reused for ``advisors_max_age_s`` (the current mutes always apply; 0 runs them again);
    ``workers`` bounds the probes at once (1: one after another, the bench's baseline); ``on_row`` is told of each
    row as it arrives. Returns in about ``timeout_s`` plus a fraction, whatever the servers do.
    """
    workspace, registry = source.db, source.registry
    settings = workspace.settings
    limit = settings.fleet_timeout_s if timeout_s is None else timeout_s
    if limit <= 0:
        raise ValueError("the fleet's time limit must be positive (FLEET_TIMEOUT_S)")
    names = list(dict.fromkeys(names))
    if not names:
        return []
    since, snapshots, mutes = _workspace_reads(workspace, names)
    checks = load_checks() if advisors else None
    rows: dict[str, FleetRow] = {}
    jobs: list[_Job] = []
    for name in names:
        try:
            spec = registry.spec(name)
        except DbaAdminError as exc:
            rows[name] = FleetRow(name=name, status=ERROR, reason=one_line(exc))
            continue
        muted = mutes.get(name, frozenset())
        jobs.append(
            _Job(
                name,
                spec.secrets.monitor,
                spec.same_cluster,
                limit,
                settings,
                checks,
                muted,
                advisors_max_age_s,
                is_workspace=spec.is_workspace,
            )
        )

    started: dict[str, float] = {}
    guards = {job.name: _Abandon() for job in jobs}

    def run(job: _Job) -> FleetRow:
        began = time.monotonic()
        started[job.name] = began
        row = _probe(job, began, guards[job.name])
        return _with(row, elapsed_ms=(time.monotonic() - began) * 1000)

    pool = ThreadPoolExecutor(
        max_workers=max(1, min(len(jobs) or 1, workers or DEFAULT_WORKERS)), thread_name_prefix="dba_admin-fleet"
    )
    try:
        pending: dict[Future[FleetRow], _Job] = {pool.submit(run, job): job for job in jobs}
        while pending:
            now = time.monotonic()
            ends = [started[j.name] + limit + GRACE_S for j in pending.values() if j.name in started]
            wait_s = max(0.01, min(ends) - now) if ends else 0.05
            done, _ = wait(pending, timeout=wait_s, return_when=FIRST_COMPLETED)
            for future in done:
                job = pending.pop(future)
                try:
                    rows[job.name] = future.result()
                except Exception as exc:  # a bug in a probe must not sink the page: that row says so
                    log.exception("fleet probe of %s failed", job.name)
                    rows[job.name] = FleetRow(name=job.name, status=ERROR, reason=scrub(one_line(exc), job.dsn))
                if on_row is not None:
                    on_row(rows[job.name])
            now = time.monotonic()
            for future, job in list(pending.items()):
                begun = started.get(job.name)
                if begun is not None and now > begun + limit + GRACE_S and not future.done():
                    guards[job.name].abandon()  # its thread ends on its own, soon; nobody waits for it
                    pending.pop(future)
                    rows[job.name] = FleetRow(
                        name=job.name,
                        status=TIMED_OUT,
                        host=mask_dsn(job.dsn),
                        reason=f"no answer within {limit:g} s",
                        elapsed_ms=(now - begun) * 1000,
                    )
                    if on_row is not None:
                        on_row(rows[job.name])
    finally:
        pool.shutdown(wait=False, cancel_futures=True)

    swept: dict[str, int] = {}
    if sweep:
        try:
            swept = _sweep(workspace, rows.values(), since)
        except (psycopg.Error, DbaAdminError) as exc:  # the figures are still worth showing
            log.warning("fleet: sweeping interrupted runs failed: %s", one_line(exc))
    return [
        _with(rows[name], last_snapshot_at=snapshots.get(name), swept_runs=swept.get(name), live_backends=None)
        for name in names
    ]


def _with(row: FleetRow, **changes: Any) -> FleetRow:
    return replace(row, **changes)


def collect_visible_fleet(
    source: FleetSource, claims: UserClaims, *, timeout_s: float | None = None, advisors: bool = True, **kwargs: Any
) -> list[FleetRow]:
    """The fleet as this user may see it: the connections RLS on public.conexoes shows him, nothing else."""
    names = source.registry.visible_names(claims)
    return collect_fleet(source, names, timeout_s=timeout_s, advisors=advisors, **kwargs)


# ---------------------------------------------------------------------------------------------------
# A login's check before it is registered (the Connections page)
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginCheck:
    """What a DSN reached, or why not; never the DSN. ``warnings`` are reasons to prefer a least-privilege login."""

    ok: bool
    reason: str | None = None
    user: str | None = None
    database: str | None = None
    server_version: str | None = None
    host: str = ""
    is_superuser: bool = False
    warnings: tuple[str, ...] = ()


def check_login(dsn: str, *, timeout_s: float = 5.0, role: str = "monitor") -> LoginCheck:
    """Connect once with ``dsn`` and say who and where it is, within ``timeout_s``; nothing is written."""
    host = mask_dsn(dsn)
    try:
        conninfo_to_dict(dsn)
    except Exception:  # its message quotes the string, password included
        return LoginCheck(ok=False, reason=INVALID_DSN)
    try:
        with _connect(dsn, timeout_s) as conn:
            conn.execute(
                "select pg_catalog.set_config('statement_timeout', %s, false) /* dba_admin */",
                (str(int(timeout_s * 1000)),),
            )
            row = conn.execute(
                "/* dba_admin */ select current_user, pg_catalog.current_database(),"
                " pg_catalog.current_setting('server_version'), r.rolsuper,"
                " pg_catalog.pg_has_role(current_user, 'pg_monitor', 'USAGE') or r.rolsuper"
                " from pg_catalog.pg_roles r where r.rolname = current_user"
            ).fetchone()
    except (psycopg.Error, OSError) as exc:
        return LoginCheck(ok=False, reason=_reason(exc, dsn), host=host)
    assert row is not None
    user, database, version, superuser, monitors = str(row[0]), str(row[1]), str(row[2]).split()[0], row[3], row[4]
    warnings: list[str] = []
    if superuser:
        warnings.append(
            f"the {role} login {user} is a superuser: it works, but a least-privilege login is safer "
            "(`dba-admin connection setup` prints the SQL that creates one)"
        )
    elif role == "monitor" and not monitors:
        warnings.append(
            f"the monitor login {user} is not a member of pg_monitor: activity, sizes and some checks will be "
            "incomplete (GRANT pg_monitor TO it)"
        )
    return LoginCheck(
        ok=True,
        user=user,
        database=database,
        server_version=version,
        host=host,
        is_superuser=bool(superuser),
        warnings=tuple(warnings),
    )
