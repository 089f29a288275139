"""Admin · Usage: queries run per day, error rate, p50/p95 duration, active users, projects, scripts and assistant use,
per connection and per role, over a chosen window.

Every figure comes from the database (dba_admin.usage), which answers admins only; this page only draws them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from dba_admin import usage
from dba_admin.access import ROLES
from dba_admin.errors import DbaAdminError, PermissionDenied
from dba_admin.i18n import N_
from dba_admin.rls import UserClaims
from ui import figures
from ui.i18n import _, number, percent
from ui.session import get_services, require_page, show_error
from ui.widgets import fmt_ms, lazy_tabs, tab_open

RANGE = 0  # the window choice that opens a date range
EARLIEST = dt.date(2000, 1, 1)  # the date picker's own default floor is ten years back
GAP = float("nan")  # a day without a figure: a gap in the line, not a zero
REPORT_TTL_S = 60

user = require_page("usage")
services = get_services()

st.title(_("Usage"))
st.caption(
    _(
        "Computed by the database from the run history, the assistant's questions, projects, scripts and the audit "
        "log's logins. Days are UTC days; a person's role is their current role. Counted again at most once a "
        "minute."
    )
)


def window_label(days: int) -> str:
    return _("Date range…") if days == RANGE else _("Last {days} days").format(days=days)


try:
    connections = services.registry.visible_names(user.claims)
except DbaAdminError:  # the filter still works with no list; the figures say the rest
    connections = []

c1, c2, c3 = st.columns(3)
window = c1.selectbox(_("Window"), [*usage.WINDOWS, RANGE], index=1, format_func=window_label, key="usage_window")
connection = c2.selectbox(
    _("Connection"),
    [None, *connections],
    format_func=lambda name: _("All connections") if name is None else name,
    key="usage_connection",
)
role = c3.selectbox(
    _("Role"), [None, *ROLES], format_func=lambda name: _("All roles") if name is None else name, key="usage_role"
)

today = dt.datetime.now(dt.UTC).date()
try:
    if window == RANGE:
        picked = st.date_input(
            _("Days (UTC)"),
            value=(today - dt.timedelta(days=29), today),
            min_value=EARLIEST,
            max_value=today,
            key="usage_range",
        )
        picked_days = tuple(picked) if isinstance(picked, tuple | list) else (picked,)
        if len(picked_days) < 2:
            st.info(_("Pick the last day of the range too."))
            st.stop()
        query = usage.UsageQuery.between(picked_days[0], picked_days[1], connection=connection, role=role)
    else:
        query = usage.UsageQuery.last_days(window, connection=connection, role=role, today=today)
except ValueError as exc:
    st.error(_("This window cannot be shown: {reason}").format(reason=exc))
    st.stop()


@st.cache_data(ttl=REPORT_TTL_S, show_spinner=False, max_entries=64)
def usage_report(claims: UserClaims, query: usage.UsageQuery) -> usage.UsageReport:
    """Keyed by the person's claims: the database decided for exactly these claims (a changed role is a new key and
    is asked again; a refusal is never cached). A report over days does not change much within a minute, and
    switching back to this page should not count everything again."""
    return usage.report(get_services().db, claims, query)


try:
    with st.spinner(_("Counting…")):
        report = usage_report(user.claims, query)
except PermissionDenied:
    st.error(_("The database refused the usage metrics: they are for admins only. Log in again if your role changed."))
    st.stop()
except DbaAdminError as exc:
    show_error(exc, action=_("Loading the usage metrics"))
    st.stop()

t = report.totals


def rate(value: float | None) -> str:
    return "—" if value is None else percent(value)


def group_name(name: str | None) -> str:
    return _("(unknown)") if name is None else name


NOT_PER_CONNECTION = _("Not tied to a connection: the connection filter does not narrow it.")

m = st.columns(5)
m[0].metric(_("Queries run"), number(t.runs))
m[1].metric(
    _("Error rate"), rate(t.error_rate), help=_("Runs that ended in an error or a timeout, over finished runs.")
)
m[2].metric(_("p50 duration"), fmt_ms(t.p50_ms), help=_("Median duration of successful runs."))
m[3].metric(_("p95 duration"), fmt_ms(t.p95_ms), help=_("95th percentile of the duration of successful runs."))
m[4].metric(_("Active users"), number(t.active_users), help=_("People who ran SQL or asked the assistant."))
m = st.columns(5)
m[0].metric(_("Logins"), number(t.logins), help=NOT_PER_CONNECTION)
m[1].metric(_("Projects created"), number(t.projects_created), help=NOT_PER_CONNECTION)
m[2].metric(_("Scripts created"), number(t.scripts_created), help=NOT_PER_CONNECTION)
m[3].metric(_("Assistant questions"), number(t.questions))
m[4].metric(
    _("Assistant tokens"),
    number(t.tokens),
    help=_("{tokens_in} in, {tokens_out} out").format(tokens_in=number(t.tokens_in), tokens_out=number(t.tokens_out)),
)

# Lazy tabs: only the open tab runs and is drawn (the page drew eight Plotly charts and two grids at once, each
# chart tens of ms of its opening in Chromium). Tab names stay English (the widget keeps them); labels translated.
tabs = lazy_tabs(
    {
        "Runs": N_("Runs per day"),
        "Errors": N_("Errors and durations"),
        "Groups": N_("Per connection and role"),
        "Assistant": N_("Assistant"),
    },
    key="usage_tab",
)

NO_RUNS = _(
    "No runs in this window yet. Runs appear here once someone runs SQL or a script; pick a longer window or "
    "another connection or role."
)
day_axis = [d.day for d in report.daily]


def table(rows: list[usage.UsageFigures], first: str) -> list[dict[str, Any]]:
    return [
        {
            first: group_name(f.group),
            _("Runs"): f.runs,
            _("Errors"): f.errors,
            _("Error rate"): rate(f.error_rate),
            _("p50"): fmt_ms(f.p50_ms),
            _("p95"): fmt_ms(f.p95_ms),
            _("Active users"): f.active_users,
            _("Questions"): f.questions,
            _("Tokens"): f.tokens,
        }
        for f in rows
    ]


def runs_tab() -> None:
    """Runs per day by connection, and active users."""
    if not report.has_runs:
        st.info(NO_RUNS)
        return
    series: dict[str, list[Any]] = {}
    counts: dict[str, list[float]] = {}
    for d in report.daily_by_connection:
        name = group_name(d.group)
        series.setdefault(name, []).append(d.day)
        counts.setdefault(name, []).append(d.runs)
    st.plotly_chart(
        figures.stacked_bars(series, counts, value_title=_("runs"), title=_("Queries run per day, by connection")),
        key="usage_runs_chart",
    )
    st.plotly_chart(
        figures.bars(
            day_axis,
            [d.active_users for d in report.daily],
            value_title=_("people"),
            title=_("Active users per day"),
        ),
        key="usage_users_chart",
    )


def errors_tab() -> None:
    """Error rate and p50/p95 durations per day."""
    if not report.has_runs:
        st.info(NO_RUNS)
        return
    left, right = st.columns(2)
    error_label, p50_label, p95_label = _("Error rate"), _("p50"), _("p95")
    left.plotly_chart(
        figures.lines(
            {error_label: day_axis},
            {error_label: [GAP if d.error_rate is None else d.error_rate * 100 for d in report.daily]},
            value_title="%",
            markers=True,
            title=_("Error rate per day"),
        ),
        key="usage_errors_chart",
    )
    right.plotly_chart(
        figures.lines(
            {p50_label: day_axis, p95_label: day_axis},
            {
                p50_label: [GAP if d.p50_ms is None else d.p50_ms for d in report.daily],
                p95_label: [GAP if d.p95_ms is None else d.p95_ms for d in report.daily],
            },
            value_title="ms",
            markers=True,
            title=_("Duration of successful runs per day"),
        ),
        key="usage_duration_chart",
    )


def groups_tab() -> None:
    """Runs per connection and per role, charted and as tables."""
    if not report.has_runs:
        st.info(NO_RUNS)
        return
    st.subheader(_("Per connection"))
    left, right = st.columns([2, 3])
    left.plotly_chart(
        figures.bars(
            [group_name(f.group) for f in report.by_connection],
            [f.runs for f in report.by_connection],
            value_title=_("runs"),
        ),
        key="usage_connection_chart",
    )
    right.dataframe(table(report.by_connection, _("Connection")), hide_index=True)

    st.subheader(_("Per role"))
    left, right = st.columns([2, 3])
    ran = [f for f in report.by_role if f.runs]
    left.plotly_chart(
        figures.donut([group_name(f.group) for f in ran], [f.runs for f in ran], title=_("Runs by role")),
        key="usage_role_chart",
    )
    role_rows = table(report.by_role, _("Role"))
    for row, f in zip(role_rows, report.by_role, strict=True):
        row[_("Logins")] = f.logins
        row[_("Projects created")] = f.projects_created
        row[_("Scripts created")] = f.scripts_created
    right.dataframe(role_rows, hide_index=True)


def assistant_tab() -> None:
    """Questions and tokens per day."""
    if not t.questions:
        st.info(_("No questions to the assistant in this window."))
        return
    left, right = st.columns(2)
    left.plotly_chart(
        figures.bars(
            day_axis, [d.questions for d in report.daily], value_title=_("questions"), title=_("Questions per day")
        ),
        key="usage_questions_chart",
    )
    right.plotly_chart(
        figures.bars(day_axis, [d.tokens for d in report.daily], value_title=_("tokens"), title=_("Tokens per day")),
        key="usage_tokens_chart",
    )


for name, draw in (("Runs", runs_tab), ("Errors", errors_tab), ("Groups", groups_tab), ("Assistant", assistant_tab)):
    with tabs[name]:
        if tab_open(tabs[name]):
            draw()
