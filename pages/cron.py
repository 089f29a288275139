"""Monitor · Cron jobs: pg_cron's jobs on the chosen connection, their recent runs, and enable / disable / run now.

Read by dba_admin.cron (on the connection's DBA login when there is one: cron.job shows a login its own jobs). Where
pg_cron is absent, not preloaded or kept in another database, the page says so and how to enable it. Actions are a
DBA's and go through the SQL editor's guarded write path after a confirmation step that shows the SQL: recorded in
the run history and audited; a destructive command asks a second time.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dba_admin import cron
from dba_admin.cron import CronJob, CronOverview
from ui import figures
from ui.i18n import _, ngettext
from ui.markdown import escape_markdown
from ui.session import (
    current_connection,
    dba_login_notice,
    get_services,
    require_page,
    show_connection,
    show_error,
)
from ui.sql_workbench import show_statements
from ui.widgets import fmt_time

PENDING = "cron_pending"
OUTCOME = "cron_outcome"
FAILED_COLOR = "background-color: rgba(217, 83, 79, 0.22)"
SOME_FAILED_COLOR = "background-color: rgba(240, 173, 78, 0.28)"
STATUS_COLORS = {"succeeded": "#2e9e44", "failed": "#d9534f", "running": "#f0ad4e", "starting": "#5bc0de"}

user = require_page("cron")
services = get_services()
conn = current_connection(services, user)


@st.cache_data(ttl=15, show_spinner=False)
def load(name: str, window: int) -> CronOverview:
    """The overview of connection ``name`` (the key; the manager itself is the page's ``conn``)."""
    return cron.cron_overview(conn, window=window)


def highlight(row: pd.Series) -> list[str]:
    """Last run failed: red; an earlier failure among the last runs: amber."""
    if row["last_status"] == cron.FAILED:
        return [FAILED_COLOR] * len(row)
    if row["recent_failures"]:
        return [SOME_FAILED_COLOR] * len(row)
    return [""] * len(row)


def not_ready(status: cron.CronStatus) -> None:
    st.info(escape_markdown(status.problem or _("pg_cron cannot be read here.")), icon=":material/schedule:")
    if status.steps:
        st.markdown(
            "**"
            + _("To enable it")
            + "**\n\n"
            + "\n".join(f"{i}. {escape_markdown(s)}" for i, s in enumerate(status.steps, 1))
        )
    st.caption(
        _(
            "pg_cron runs SQL on a schedule inside PostgreSQL (cron syntax, e.g. '30 3 * * *'); its jobs and their "
            "runs are kept in the tables cron.job and cron.job_run_details of one database."
        )
    )


def jobs_table(overview: CronOverview) -> None:
    frame = cron.jobs_frame(overview.jobs)
    st.dataframe(
        frame.style.apply(highlight, axis=1),
        hide_index=True,
        column_order=[
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
            "recent_failures",
            "recent_runs",
            "last_message",
        ],
        column_config={
            "jobid": st.column_config.NumberColumn(_("id"), format="%d"),
            "jobname": st.column_config.TextColumn(_("name")),
            "schedule": st.column_config.TextColumn(_("schedule")),
            "command": st.column_config.TextColumn(_("command"), width="large"),
            "database": st.column_config.TextColumn(_("database")),
            "username": st.column_config.TextColumn(_("runs as")),
            "active": st.column_config.CheckboxColumn(_("active")),
            "last_status": st.column_config.TextColumn(_("last run")),
            "last_start": st.column_config.DatetimeColumn(_("last start"), format="YYYY-MM-DD HH:mm:ss"),
            "last_seconds": st.column_config.NumberColumn(_("last duration"), format="%.2f s"),
            "recent_failures": st.column_config.NumberColumn(
                _("failures"),
                help=_("Failed runs among the job's last {count} runs").format(count=overview.window),
                format="%d",
            ),
            "recent_runs": st.column_config.NumberColumn(_("runs"), help=_("Runs counted for failures"), format="%d"),
            "last_message": st.column_config.TextColumn(_("last message"), width="medium"),
        },
        key="cron_jobs",
    )
    st.caption(
        _("Red: the last run failed · amber: a failure among the last {count} runs.").format(count=overview.window)
    )


def durations_chart(overview: CronOverview) -> None:
    st.subheader(_("Recent runs"), anchor=False)
    frame = cron.runs_frame(overview.runs, overview.jobs).dropna(subset=["start_time"])
    if frame.empty:
        st.info(_("No run recorded yet: pg_cron writes a row in cron.job_run_details each time a job runs."))
        return
    frame["seconds"] = frame["seconds"].fillna(0.0)
    by_status = {str(status): part for status, part in frame.groupby("status", sort=False)}
    fig = figures.points(
        {status: part["start_time"] for status, part in by_status.items()},
        {status: part["seconds"] for status, part in by_status.items()},
        value_title=_("duration (s)"),
        hover={
            status: {_("job"): part["job"], "runid": part["runid"], "return_message": part["return_message"]}
            for status, part in by_status.items()
        },
        colors=STATUS_COLORS,
    )
    st.plotly_chart(fig, key="cron_runs_chart")
    st.caption(
        ngettext(
            "The last {count} run of all jobs shown, by start time and duration, coloured by status.",
            "The last {count} runs of all jobs shown, by start time and duration, coloured by status.",
            len(frame),
        ).format(count=len(frame))
    )


def ask(action: str, jobid: int, active: bool | None = None) -> None:
    st.session_state[PENDING] = {"action": action, "jobid": jobid, "active": active, "connection": conn.name}
    st.session_state.pop(OUTCOME, None)


def back() -> None:
    st.session_state.pop(PENDING, None)


def confirm(confirm_destructive: bool = False) -> None:
    """Runs before the page redraws, so the table drawn next already shows the effect."""
    pending: dict[str, Any] | None = st.session_state.pop(PENDING, None)
    if not pending:
        return
    if pending.get("connection") != conn.name:  # a job id means nothing on another connection: never act there
        st.session_state[OUTCOME] = {"failure": _("The connection changed since you picked that job: nothing ran.")}
        return
    try:
        if pending["action"] == "toggle":
            outcome = cron.set_job_active(services.projects, user.claims, conn, pending["jobid"], pending["active"])
        else:
            outcome = cron.run_job_now(
                services.projects, user.claims, conn, pending["jobid"], confirm_destructive=confirm_destructive
            )
    except Exception as exc:  # shown by show_error on the next draw, never a traceback
        st.session_state[OUTCOME] = {"error": exc}
        return
    if outcome.needs_confirmation:
        st.session_state[PENDING] = {**pending, "reasons": list(outcome.destructive_reasons)}
        return
    load.clear()
    st.session_state[OUTCOME] = {"outcome": outcome, "action": pending["action"], "jobid": pending["jobid"]}


def show_outcome() -> None:
    result = st.session_state.get(OUTCOME)
    if not result:
        return
    if "failure" in result:
        st.warning(result["failure"])
    elif "error" in result:
        show_error(result["error"], action=_("The cron action"))
    else:
        outcome = result["outcome"]
        toggle = result["action"] == "toggle"
        if outcome.ok:
            message = (
                _("Done: the change of cron job {jobid}, recorded in your run history and the audit log.")
                if toggle
                else _("Done: the run of cron job {jobid}, recorded in your run history and the audit log.")
            )
        else:
            message = (
                _("It failed: the change of cron job {jobid}, recorded in your run history and the audit log.")
                if toggle
                else _("It failed: the run of cron job {jobid}, recorded in your run history and the audit log.")
            )
        (st.success if outcome.ok else st.error)(message.format(jobid=result["jobid"]))
        ran = outcome.execution.sql if outcome.execution is not None else ""
        show_statements(outcome, ran, "text", f"cron_outcome_{result['jobid']}")


def confirmation(pending: dict[str, Any]) -> None:
    try:
        if pending["action"] == "toggle":
            action = cron.toggle_action(conn, pending["jobid"], bool(pending["active"]))
        else:
            action = cron.run_now_action(conn, pending["jobid"])
    except Exception as exc:
        show_error(exc, action=_("Preparing the action"))
        st.button(_("Back"), key="cron_back", on_click=back)
        return
    with st.container(border=True):
        st.warning(
            _("**{summary}?** This SQL runs on {connection}:").format(
                summary=escape_markdown(action.summary), connection=escape_markdown(conn.name)
            )
        )
        st.code(action.sql, language="sql")
        for note in action.notes:
            st.caption(escape_markdown(note))
        reasons = pending.get("reasons")
        if reasons:
            st.error(_("Destructive: {reasons}. Run it anyway?").format(reasons=escape_markdown("; ".join(reasons))))
        y, n, _spacer = st.columns([1.2, 1, 4])
        if reasons:
            y.button(_("Run anyway"), key="cron_confirm_destructive", type="primary", on_click=confirm, args=(True,))
        else:
            y.button(_("Confirm"), key="cron_confirm", type="primary", on_click=confirm)
        n.button(_("Back"), key="cron_back", on_click=back)


def detail(overview: CronOverview) -> None:
    st.subheader(_("One job"), anchor=False)
    by_id = {j.jobid: j for j in overview.jobs}
    jobid = st.selectbox(
        _("Job"),
        list(by_id),
        format_func=lambda i: f"{by_id[i].label} · {by_id[i].schedule}" if i in by_id else str(i),
        key="cron_job",
    )
    job: CronJob | None = by_id.get(jobid) if jobid is not None else None
    if job is None:
        return
    c = st.columns(4)
    c[0].metric(_("Schedule"), job.schedule)
    c[1].metric(_("Enabled"), _("yes") if job.active else _("no"))
    c[2].metric(_("Last run"), job.last_status or _("never"))
    c[3].metric(_("Failures (last {count})").format(count=overview.window), job.recent_failures)
    st.code(job.command, language="sql")
    st.caption(
        _("Runs in database {database} as {user} on {node} · last start {time}").format(
            database=escape_markdown(job.database),
            user=escape_markdown(job.username),
            node=escape_markdown(job.nodename),
            time=fmt_time(job.last_start),
        )
    )
    actions(job)
    try:
        runs = cron.job_runs(conn, job.jobid)
    except Exception as exc:
        show_error(exc, action=_("Reading the job's runs"))
        return
    if not runs:
        st.info(_("This job has not run yet."))
        return
    frame = cron.runs_frame(runs, overview.jobs)
    st.dataframe(
        frame.style.apply(
            lambda row: [FAILED_COLOR if row["status"] == cron.FAILED else ""] * len(row),
            axis=1,
        ),
        hide_index=True,
        column_order=["runid", "status", "start_time", "seconds", "return_message"],
        column_config={
            "runid": st.column_config.NumberColumn(_("run"), format="%d"),
            "status": st.column_config.TextColumn(_("status")),
            "start_time": st.column_config.DatetimeColumn(_("start"), format="YYYY-MM-DD HH:mm:ss"),
            "seconds": st.column_config.NumberColumn(_("duration"), format="%.2f s"),
            "return_message": st.column_config.TextColumn(_("return message"), width="large"),
        },
        key="cron_job_runs",
    )


def actions(job: CronJob) -> None:
    if not conn.has_dba_login:
        st.info(
            escape_markdown(
                dba_login_notice(conn, _("Enabling, disabling or running a job"), _("this page only reads"))
            )
        )
        return
    show_outcome()
    pending: dict[str, Any] | None = st.session_state.get(PENDING)
    if pending and (pending.get("connection") != conn.name or pending.get("jobid") != job.jobid):
        st.session_state.pop(PENDING, None)
        pending = None
    if pending:
        confirmation(pending)
        return
    a, b, _spacer = st.columns([1, 1, 3])
    if job.active:
        a.button(_("Disable…"), key="cron_toggle", on_click=ask, args=("toggle", job.jobid, False))
    else:
        a.button(_("Enable…"), key="cron_toggle", on_click=ask, args=("toggle", job.jobid, True))
    b.button(_("Run now…"), key="cron_run", on_click=ask, args=("run", job.jobid))
    st.caption(
        _(
            "Each asks first and shows the SQL. Run now runs the job's command once on this connection as your DBA "
            "login (pg_cron has no run-now of its own); both are recorded in your history and the audit log."
        )
    )


st.title(_("Cron jobs"))
show_connection(services, conn)
top = st.columns([1, 1, 4], vertical_alignment="bottom")
window = int(
    top[0].number_input(_("Failures over the last N runs"), min_value=1, max_value=1000, value=10, key="cron_window")
)
if top[1].button(_("Refresh"), key="cron_refresh", icon=":material/refresh:"):
    load.clear()
try:
    with st.spinner(_("Reading pg_cron's jobs…")):
        overview = load(conn.name, window)
except Exception as exc:
    show_error(exc, action=_("Reading the cron jobs"))
    st.stop()

if not overview.status.ready:
    not_ready(overview.status)
    st.stop()
if overview.status.warning:
    st.warning(escape_markdown(overview.status.warning))
if not overview.jobs:
    st.info(
        _(
            "No cron job yet on this connection. Schedule one in the SQL editor, e.g. "
            "`SELECT cron.schedule('nightly-vacuum', '30 3 * * *', 'VACUUM (ANALYZE) public.my_table');`"
        ),
        icon=":material/schedule:",
    )
    st.stop()

m = st.columns(4)
m[0].metric(_("Jobs"), len(overview.jobs))
m[1].metric(_("Active"), sum(j.active for j in overview.jobs))
failed = [j for j in overview.jobs if j.last_failed]
m[2].metric(_("Last run failed"), len(failed))
m[3].metric(_("Runs shown"), len(overview.runs))
if failed:
    names = ", ".join(j.label for j in failed)
    st.error(
        _("Last run failed: {jobs}. Open the job below for its error message.").format(jobs=escape_markdown(names))
    )
jobs_table(overview)
durations_chart(overview)
detail(overview)
