"""Usage metrics for admins: queries run, error rate, p50/p95, active users, projects, scripts, assistant use.

Every figure is computed in the workspace database by the functions of sql/migrations/*_usage.sql, from the rows the
app already records (runs, assistant questions, projects, scripts, the audit log's logins): no second store, and
nothing aggregated in Python. A user's session calls ``dba_admin_api.usage_*`` inside the per-user RLS transaction,
and the database refuses anyone whose ``app_role`` claim is not admin; the owner side (the CLI) calls the private
``dba_admin.usage_*`` directly. The role of a run is the user's current role (the history does not keep the role a
person had at the time).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.rows import dict_row

from dba_admin.errors import PermissionDenied, query_error_from
from dba_admin.rls import APP_ROLES, UserClaims, user_cursor

if TYPE_CHECKING:
    from dba_admin.database import DatabaseManager

WINDOWS = (7, 30, 90)  # the page's quick choices, in days
MAX_DAYS = 1100  # the database refuses longer windows (usage_check)


@dataclass(frozen=True)
class UsageQuery:
    """Which slice of the history: [since, until), optionally one connection and one app role; days in ``tz``."""

    since: dt.datetime
    until: dt.datetime
    connection: str | None = None
    role: str | None = None
    tz: str = "UTC"

    def __post_init__(self) -> None:
        if self.since.tzinfo is None or self.until.tzinfo is None:
            raise ValueError("the usage window needs time-zone-aware bounds")
        if self.until <= self.since:
            raise ValueError("the end of the usage window must come after its start")
        if self.role is not None and self.role not in APP_ROLES:
            raise ValueError(f"role must be one of {', '.join(APP_ROLES)}, not {self.role!r}")

    @classmethod
    def last_days(
        cls,
        days: int,
        *,
        connection: str | None = None,
        role: str | None = None,
        today: dt.date | None = None,
    ) -> UsageQuery:
        """The last ``days`` calendar days in UTC, today included."""
        if not 1 <= days <= MAX_DAYS:
            raise ValueError(f"days must be between 1 and {MAX_DAYS}, not {days}")
        end = today or dt.datetime.now(dt.UTC).date()
        return cls.between(end - dt.timedelta(days=days - 1), end, connection=connection, role=role)

    @classmethod
    def between(
        cls, first: dt.date, last: dt.date, *, connection: str | None = None, role: str | None = None
    ) -> UsageQuery:
        """The calendar days ``first`` to ``last`` (both included) in UTC."""
        if last < first:
            raise ValueError("the last day of the usage window comes before its first day")
        return cls(
            since=dt.datetime.combine(first, dt.time.min, tzinfo=dt.UTC),
            until=dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC),
            connection=connection or None,
            role=role or None,
        )


@dataclass(frozen=True)
class UsageFigures:
    """The figures of one group (a connection, a role) or of the whole slice (``group`` None)."""

    group: str | None = None
    runs: int = 0
    succeeded: int = 0
    errors: int = 0  # error or timeout
    cancelled: int = 0
    interrupted: int = 0
    running: int = 0
    error_rate: float | None = None  # errors over finished runs; None without finished runs
    p50_ms: float | None = None  # of successful runs
    p95_ms: float | None = None
    active_users: int = 0  # people who ran SQL or asked the assistant
    questions: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    logins: int = 0  # not per connection
    login_users: int = 0
    projects_created: int = 0  # not per connection
    scripts_created: int = 0

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out


@dataclass(frozen=True)
class DailyUsage:
    """One calendar day (of one group when split): every day of the window has a row, zeros included."""

    day: dt.date
    group: str | None
    runs: int
    errors: int
    error_rate: float | None
    p50_ms: float | None
    p95_ms: float | None
    active_users: int
    questions: int
    tokens: int


@dataclass(frozen=True)
class UsageReport:
    """What the Usage page and ``dba-admin usage`` show for one query."""

    query: UsageQuery
    totals: UsageFigures
    daily: list[DailyUsage]
    by_connection: list[UsageFigures] = field(default_factory=list)
    by_role: list[UsageFigures] = field(default_factory=list)
    daily_by_connection: list[DailyUsage] = field(default_factory=list)

    @property
    def has_runs(self) -> bool:
        return self.totals.runs > 0

    @property
    def is_empty(self) -> bool:
        """Nothing at all happened in the window (no run, question, login, project or script)."""
        t = self.totals
        return not (t.runs or t.questions or t.logins or t.projects_created or t.scripts_created)


_BREAKDOWN = "/* dba_admin */ select * from {schema}.usage_breakdown(%s, %s, %s, %s, %s)"
_DAILY = "/* dba_admin */ select * from {schema}.usage_daily(%s, %s, %s, %s, %s, %s)"


def _figures(row: dict[str, Any]) -> UsageFigures:
    values = {k: v for k, v in row.items() if k != "grp"}
    return UsageFigures(group=row["grp"], **values)


def _day(row: dict[str, Any]) -> DailyUsage:
    return DailyUsage(
        day=row["day"],
        group=row["grp"],
        runs=row["runs"],
        errors=row["errors"],
        error_rate=row["error_rate"],
        p50_ms=row["p50_ms"],
        p95_ms=row["p95_ms"],
        active_users=row["active_users"],
        questions=row["questions"],
        tokens=row["tokens"],
    )


def _report(cur: psycopg.Cursor[Any], query: UsageQuery, schema: str) -> UsageReport:
    """Five calls in one transaction (one snapshot): the totals, per connection, per role, per day, per day and
    connection."""
    cur.row_factory = dict_row
    window = (query.since, query.until, query.connection, query.role)

    def breakdown(group: str) -> list[UsageFigures]:
        cur.execute(_BREAKDOWN.format(schema=schema), (*window, group))
        return [_figures(r) for r in cur.fetchall()]

    def daily(group: str) -> list[DailyUsage]:
        cur.execute(_DAILY.format(schema=schema), (*window, group, query.tz))
        return [_day(r) for r in cur.fetchall()]

    totals = breakdown("none")
    return UsageReport(
        query=query,
        totals=totals[0] if totals else UsageFigures(),
        daily=daily("none"),
        by_connection=breakdown("connection"),
        by_role=breakdown("role"),
        daily_by_connection=daily("connection"),
    )


def report(workspace: DatabaseManager, claims: UserClaims, query: UsageQuery) -> UsageReport:
    """The usage report for a signed-in user: the database answers admins only (PermissionDenied otherwise)."""
    try:
        with user_cursor(workspace, claims) as cur:
            return _report(cur, query, "dba_admin_api")
    except PermissionDenied as exc:
        raise PermissionDenied(f"usage metrics are for admins: {exc}") from exc


def report_as_owner(conn: psycopg.Connection[Any], query: UsageQuery) -> UsageReport:
    """The same report on the owner connection (the CLI, which already holds the workspace's owner DSN)."""
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("/* dba_admin */ set transaction read only")
            return _report(cur, query, "dba_admin")
    except psycopg.Error as exc:
        raise query_error_from(exc) from exc
