"""pg_cron: the jobs a database schedules for itself, their recent runs, and a DBA's enable / disable / run now.

Reading. pg_cron keeps its jobs in ``cron.job`` and their runs in ``cron.job_run_details``, in the one database named
by ``cron.database_name``. Both tables are row-level secured by ``username``: a login sees the jobs it owns unless it
is a superuser or has BYPASSRLS (Supabase's ``postgres`` has). The jobs are read on the connection's DBA login when
there is one (jobs are usually a DBA's), else on its main login, in a rolled-back transaction with the app's timeouts;
:class:`CronStatus` says whose jobs are shown.

When pg_cron cannot be read here, :func:`cron_status` explains why instead of raising: not installed on the server,
not preloaded (no scheduler running), preloaded for another database, or not created in this one, each with the steps
that enable it (shared_preload_libraries, cron.database_name, CREATE EXTENSION pg_cron).

Acting. Every action is a DBA's and goes through the SQL editor's guarded write path
(:meth:`ProjectManager.run_adhoc` on the connection's DBA login): recorded in the run history, audited as
``sql.run``, destructive statements confirmed first. Other roles are refused here, not only in the page.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
import psycopg
import psycopg.rows
from psycopg import sql

from dba_admin.access import DBA_ROLES
from dba_admin.errors import ConfigError, NotFound, PermissionDenied, query_error_from
from dba_admin.sql_text import split_statements

if TYPE_CHECKING:
    from dba_admin.database import DatabaseManager
    from dba_admin.projects import ProjectManager, RunOutcome
    from dba_admin.rls import UserClaims

__all__ = [
    "CronJob",
    "CronOverview",
    "CronRun",
    "CronStatus",
    "cron_overview",
    "cron_status",
    "job_runs",
    "jobs_frame",
    "run_job_now",
    "runs_frame",
    "set_job_active",
]

FAILED = "failed"
SUCCEEDED = "succeeded"
DEFAULT_WINDOW = 10  # failures are counted over each job's last N runs
DEFAULT_RECENT = 300  # runs of all jobs read for the timeline


@dataclass(frozen=True)
class CronStatus:
    """Whether pg_cron can be read on this connection, and if not, why and how to enable it."""

    database: str  # this connection's database
    login: str  # the login that reads cron.job
    available: bool  # the server has the pg_cron package (pg_available_extensions)
    installed_version: str | None  # CREATE EXTENSION pg_cron done in this database
    scheduler_database: str | None  # where pg_cron's launcher runs; None: not preloaded (or its database is missing)
    sees_all_jobs: bool = True  # superuser or BYPASSRLS: cron.job's policy shows other logins' jobs too
    has_usage: bool = True  # USAGE on schema cron
    problem: str | None = None  # why the jobs cannot be listed here (None: they can)
    warning: str | None = None  # listed, but something is off (the scheduler does not run them)
    steps: tuple[str, ...] = ()  # how to enable it, in order

    @property
    def ready(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class CronJob:
    """One row of cron.job with its last run and the failures among its last runs."""

    jobid: int
    jobname: str | None
    schedule: str
    command: str
    database: str
    username: str
    active: bool
    nodename: str
    last_status: str | None = None
    last_start: datetime | None = None
    last_end: datetime | None = None
    last_seconds: float | None = None
    last_message: str | None = None
    recent_runs: int = 0
    recent_failures: int = 0

    @property
    def label(self) -> str:
        return f"#{self.jobid} {self.jobname}" if self.jobname else f"#{self.jobid}"

    @property
    def last_failed(self) -> bool:
        return self.last_status == FAILED


@dataclass(frozen=True)
class CronRun:
    """One row of cron.job_run_details."""

    runid: int
    jobid: int
    status: str
    start_time: datetime | None
    end_time: datetime | None
    seconds: float | None
    return_message: str | None
    command: str
    database: str
    username: str


@dataclass(frozen=True)
class CronOverview:
    """What the Cron page shows: the status, the jobs, and the recent runs of all of them (newest first)."""

    status: CronStatus
    jobs: tuple[CronJob, ...] = ()
    runs: tuple[CronRun, ...] = ()
    window: int = DEFAULT_WINDOW

    def job(self, jobid: int) -> CronJob | None:
        return next((j for j in self.jobs if j.jobid == jobid), None)


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _read(db: DatabaseManager) -> Iterator[psycopg.Connection[Any]]:
    """A rolled-back transaction with the app's timeouts, on the DBA login if any (its jobs), else the main one."""
    settings = db.settings
    borrow = db.dba_connection() if db.has_dba_login else db.connection()
    with borrow as conn:
        try:
            with conn.transaction(force_rollback=True):
                conn.execute(
                    "SELECT /* dba_admin */ pg_catalog.set_config('statement_timeout', %s, true),"
                    " pg_catalog.set_config('lock_timeout', %s, true)",
                    (f"{int(settings.statement_timeout_ms)}ms", f"{int(settings.lock_timeout_ms)}ms"),
                )
                yield conn
        except psycopg.Error as exc:
            if exc.sqlstate is None:
                raise
            raise query_error_from(exc) from exc


_STATUS_SQL = """
SELECT /* dba_admin */
       pg_catalog.current_database() AS database,
       current_user AS login,
       EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = 'pg_cron') AS available,
       (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') AS installed_version,
       (SELECT a.datname FROM pg_catalog.pg_stat_activity a WHERE a.backend_type = 'pg_cron launcher' LIMIT 1)
           AS scheduler_database,
       (SELECT r.rolsuper OR r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) AS sees_all,
       (SELECT pg_catalog.has_schema_privilege(n.oid, 'USAGE') FROM pg_catalog.pg_namespace n
         WHERE n.nspname = 'cron') AS has_usage
"""

_PRELOAD_STEP = (
    "Add pg_cron to shared_preload_libraries in postgresql.conf (keep what is there, e.g. "
    "shared_preload_libraries = 'pg_stat_statements,pg_cron')"
)


def _explain(row: dict[str, Any]) -> CronStatus:
    """Turn what the server says into a status: the first thing missing is the problem, with every step left."""
    here = str(row["database"])
    login = str(row["login"])
    scheduler = row["scheduler_database"]
    installed = row["installed_version"]
    base: dict[str, Any] = {
        "database": here,
        "login": login,
        "available": bool(row["available"]),
        "installed_version": installed,
        "scheduler_database": scheduler,
        "sees_all_jobs": bool(row["sees_all"]),
        "has_usage": bool(row["has_usage"]) if row["has_usage"] is not None else False,
    }
    database_step = f"Set cron.database_name = '{here}' (pg_cron keeps its jobs in that one database)"
    restart_step = "Restart PostgreSQL (shared_preload_libraries is read only at start)"
    create_step = f"In database {here}, as a superuser: CREATE EXTENSION pg_cron;"
    if installed is None:
        if not base["available"]:
            return CronStatus(
                **base,
                problem="pg_cron is not installed on this server.",
                steps=(
                    "Install the package (Debian/Ubuntu: postgresql-NN-cron; Supabase: Database → Extensions → "
                    "pg_cron, which does every step below)",
                    _PRELOAD_STEP,
                    database_step,
                    restart_step,
                    create_step,
                ),
            )
        if scheduler is None:
            return CronStatus(
                **base,
                problem="pg_cron is installed on the server but not preloaded (no pg_cron scheduler is running).",
                steps=(_PRELOAD_STEP, database_step, restart_step, create_step),
            )
        if scheduler != here:
            return CronStatus(
                **base,
                problem=(
                    f"pg_cron runs in database {scheduler} (cron.database_name), not in {here}: its jobs, including "
                    f"those that run in {here}, are kept there."
                ),
                steps=(
                    f"Register a connection to database {scheduler} and open this page on it",
                    f"or, to keep the jobs in {here}: set cron.database_name = '{here}', restart, and "
                    f"CREATE EXTENSION pg_cron in {here}",
                ),
            )
        return CronStatus(
            **base,
            problem=f"pg_cron is preloaded for this database but the extension is not created in {here}.",
            steps=(create_step,),
        )
    if not base["has_usage"]:
        return CronStatus(
            **base,
            problem=f"Login {login} may not read pg_cron's tables (no USAGE on schema cron).",
            steps=(f"As a superuser in {here}: GRANT USAGE ON SCHEMA cron TO {login};",),
        )
    warning = None
    if scheduler is None:
        warning = (
            "pg_cron's scheduler is not running (pg_cron is not in shared_preload_libraries): these jobs do not run. "
            + _PRELOAD_STEP
            + ", then restart."
        )
    elif scheduler != here:
        warning = (
            f"pg_cron's scheduler runs in database {scheduler} (cron.database_name): the jobs kept here do not run."
        )
    elif not base["sees_all_jobs"]:
        warning = (
            f"Only the jobs of login {login} are shown: cron.job is row-level secured by username "
            "(a superuser or a login with BYPASSRLS sees all of them)."
        )
    return CronStatus(**base, warning=warning)


def cron_status(db: DatabaseManager) -> CronStatus:
    """Whether pg_cron can be read on this connection; never raises for a missing or misplaced pg_cron."""
    with _read(db) as conn:
        row = conn.cursor(row_factory=psycopg.rows.dict_row).execute(_STATUS_SQL).fetchone()
    assert row is not None
    return _explain(row)


_JOBS_SQL = """
WITH ranked AS (
    SELECT d.jobid, d.status, d.start_time, d.end_time, d.return_message,
           pg_catalog.row_number() OVER (PARTITION BY d.jobid ORDER BY d.runid DESC) AS n
      FROM cron.job_run_details d
), recent AS (
    SELECT jobid, pg_catalog.count(*) AS runs, pg_catalog.count(*) FILTER (WHERE status = 'failed') AS failures
      FROM ranked WHERE n <= %(window)s GROUP BY jobid
)
SELECT /* dba_admin */
       j.jobid, j.jobname, j.schedule, j.command, j.database, j.username, j.active, j.nodename,
       l.status AS last_status, l.start_time AS last_start, l.end_time AS last_end,
       extract(epoch FROM l.end_time - l.start_time)::float8 AS last_seconds, l.return_message AS last_message,
       coalesce(r.runs, 0) AS recent_runs, coalesce(r.failures, 0) AS recent_failures
  FROM cron.job j
  LEFT JOIN ranked l ON l.jobid = j.jobid AND l.n = 1
  LEFT JOIN recent r ON r.jobid = j.jobid
 ORDER BY j.jobid
"""

_RUNS_SQL = """
SELECT /* dba_admin */
       d.runid, d.jobid, coalesce(d.status, '') AS status, d.start_time, d.end_time,
       extract(epoch FROM d.end_time - d.start_time)::float8 AS seconds, d.return_message,
       coalesce(d.command, '') AS command, coalesce(d.database, '') AS database, coalesce(d.username, '') AS username
  FROM cron.job_run_details d
 WHERE (%(jobid)s::bigint IS NULL OR d.jobid = %(jobid)s::bigint)
 ORDER BY d.runid DESC
 LIMIT %(limit)s
"""


def _jobs(conn: psycopg.Connection[Any], window: int) -> tuple[CronJob, ...]:
    rows = conn.cursor(row_factory=psycopg.rows.dict_row).execute(_JOBS_SQL, {"window": window}).fetchall()
    return tuple(
        CronJob(
            **{
                **r,
                "jobid": int(r["jobid"]),
                "recent_runs": int(r["recent_runs"]),
                "recent_failures": int(r["recent_failures"]),
            }
        )
        for r in rows
    )


def _runs(conn: psycopg.Connection[Any], jobid: int | None, limit: int) -> tuple[CronRun, ...]:
    rows = (
        conn.cursor(row_factory=psycopg.rows.dict_row)
        .execute(_RUNS_SQL, {"jobid": jobid, "limit": int(limit)})
        .fetchall()
    )
    return tuple(CronRun(**{**r, "runid": int(r["runid"]), "jobid": int(r["jobid"])}) for r in rows)


def cron_overview(db: DatabaseManager, *, window: int = DEFAULT_WINDOW, recent: int = DEFAULT_RECENT) -> CronOverview:
    """The status, every visible job with its last run and its failures among its last ``window`` runs, and the
    last ``recent`` runs of all jobs. Jobs and runs are empty when pg_cron cannot be read here (see the status)."""
    if window < 1 or recent < 1:
        raise ValueError("window and recent must be at least 1")
    with _read(db) as conn:
        row = conn.cursor(row_factory=psycopg.rows.dict_row).execute(_STATUS_SQL).fetchone()
        assert row is not None
        status = _explain(row)
        if not status.ready:
            return CronOverview(status=status, window=window)
        return CronOverview(status=status, jobs=_jobs(conn, window), runs=_runs(conn, None, recent), window=window)


def job_runs(db: DatabaseManager, jobid: int, *, limit: int = 50) -> tuple[CronRun, ...]:
    """The last ``limit`` runs of one job, newest first (empty when it never ran)."""
    with _read(db) as conn:
        return _runs(conn, int(jobid), limit)


def jobs_frame(jobs: Sequence[CronJob]) -> pd.DataFrame:
    """The jobs as a table for the page (one row a job, the failures column for highlighting)."""
    columns = [
        "jobid",
        "jobname",
        "schedule",
        "command",
        "database",
        "username",
        "active",
        "last_status",
        "last_start",
        "last_seconds",
        "recent_runs",
        "recent_failures",
        "last_message",
        "nodename",
    ]
    return pd.DataFrame([{c: getattr(j, c) for c in columns} for j in jobs], columns=columns)


def runs_frame(runs: Sequence[CronRun], jobs: Sequence[CronJob] = ()) -> pd.DataFrame:
    """The runs as a table, each with its job's label (for the chart's hover and the detail)."""
    labels = {j.jobid: j.label for j in jobs}
    columns = ["runid", "jobid", "job", "status", "start_time", "end_time", "seconds", "return_message", "command"]
    rows = [
        {
            "runid": r.runid,
            "jobid": r.jobid,
            "job": labels.get(r.jobid, f"#{r.jobid}"),
            "status": r.status,
            "start_time": r.start_time,
            "end_time": r.end_time,
            "seconds": r.seconds,
            "return_message": r.return_message,
            "command": r.command,
        }
        for r in runs
    ]
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------------------------------
# Acting (DBAs only, through the guarded write path)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CronAction:
    """An action on one job: the SQL it runs (shown before the DBA confirms) and what it does."""

    job: CronJob
    sql: str
    summary: str
    notes: tuple[str, ...] = field(default=())


def _require_dba(claims: UserClaims, db: DatabaseManager, doing: str) -> None:
    if claims.app_role not in DBA_ROLES:
        raise PermissionDenied(f"only a DBA (roles: {', '.join(sorted(DBA_ROLES))}) may {doing}")
    if not db.has_dba_login:
        raise ConfigError(
            f"to {doing}, the app needs connection {db.name}'s DBA login: the monitor login may only read. "
            f"Register one with `dba-admin connection add {db.name} --dba-dsn ...`."
        )


def _one_job(db: DatabaseManager, jobid: int) -> CronJob:
    with _read(db) as conn:
        row = conn.cursor(row_factory=psycopg.rows.dict_row).execute(_STATUS_SQL).fetchone()
        assert row is not None
        status = _explain(row)
        if not status.ready:
            raise NotFound(status.problem or "pg_cron cannot be read here")
        job = next((j for j in _jobs(conn, DEFAULT_WINDOW) if j.jobid == int(jobid)), None)
    if job is None:
        raise NotFound(
            f"cron job {jobid} does not exist or belongs to another login than {status.login} (cron.job shows a "
            "login its own jobs only); refresh the list"
        )
    return job


def toggle_action(db: DatabaseManager, jobid: int, active: bool) -> CronAction:
    """The SQL that enables or disables a job: cron.alter_job, which also tells the scheduler at once."""
    job = _one_job(db, jobid)
    statement = sql.SQL("SELECT cron.alter_job(job_id := {}, active := {}) /* dba_admin */").format(
        sql.Literal(job.jobid), sql.Literal(bool(active))
    )
    verb = "enable" if active else "disable"
    return CronAction(job=job, sql=statement.as_string(None), summary=f"{verb.capitalize()} cron job {job.label}")


def run_now_action(db: DatabaseManager, jobid: int) -> CronAction:
    """What "run now" runs: the job's own command, on this connection's database (see :func:`run_job_now`)."""
    job = _one_job(db, jobid)
    with _read(db) as conn:  # the DBA login when there is one: who runs it
        row = conn.execute("SELECT /* dba_admin */ pg_catalog.current_database(), current_user").fetchone()
    database, login = (str(row[0]), str(row[1])) if row else ("", "")
    if job.database != database:
        raise ConfigError(
            f"cron job {job.label} runs in database {job.database}, and this connection is on {database}: run it "
            f"from a connection to {job.database}"
        )
    notes = []
    if job.username != login:
        notes.append(f"It runs as {login}, not as the job's user {job.username}.")
    notes.append("The scheduler is not involved: the run is in your run history, not in cron.job_run_details.")
    return CronAction(job=job, sql=job.command, summary=f"Run cron job {job.label} now", notes=tuple(notes))


def set_job_active(pm: ProjectManager, claims: UserClaims, db: DatabaseManager, jobid: int, active: bool) -> RunOutcome:
    """Enable or disable a job with ``cron.alter_job`` through the guarded write path (recorded and audited).

    The DBA login must own the job (pg_cron lets a login alter its own jobs only) and have EXECUTE on
    cron.alter_job (revoked from PUBLIC by pg_cron); a refusal comes back as the outcome's error.
    """
    _require_dba(claims, db, "enable or disable a cron job")
    action = toggle_action(db, jobid, active)
    return pm.run_adhoc(claims, action.sql, target=db)


def run_job_now(
    pm: ProjectManager, claims: UserClaims, db: DatabaseManager, jobid: int, *, confirm_destructive: bool = False
) -> RunOutcome:
    """Run a job's command once, now, on this connection's database, through the guarded write path.

    pg_cron has no "run now". The two honest ways are (a) run the command here, or (b) schedule a one-off job for the
    next minute and unschedule it after. We do (a): the DBA sees the result and any error at once instead of up to
    a minute later; the run is recorded in the history and audited (``sql.run``) like any DBA's SQL; a destructive
    command (DELETE without WHERE, TRUNCATE...) asks for confirmation first (``needs_confirmation``); and nothing is
    left in cron.job to clean up if the app stops between the two steps of (b). The price: it runs as the DBA login,
    not the job's user, and it is not in cron.job_run_details. A command of several statements runs as one
    transaction, as pg_cron sends it (one simple query); a single VACUUM or CREATE INDEX CONCURRENTLY runs alone.
    """
    _require_dba(claims, db, "run a cron job")
    action = run_now_action(db, jobid)
    several = len(split_statements(action.sql)) > 1
    return pm.run_adhoc(
        claims, action.sql, confirm_destructive=confirm_destructive, single_transaction=several, target=db
    )
