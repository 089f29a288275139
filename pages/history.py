"""My history: every run of mine (script runs and ad-hoc SQL) and the connection it ran on, filtered, re-opened.

``mine_only`` is a view filter; the database already hides every run the user may not see. The text and
date filters narrow the rows already fetched, so they never widen what the user sees.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dba_admin.errors import DbaAdminError, NotFound
from dba_admin.i18n import N_
from ui.i18n import _, number
from ui.markdown import escape_markdown
from ui.session import get_services, require_page, show_error
from ui.widgets import (
    STATUS_ICONS,
    executions_frame,
    first_line,
    fmt_time,
    open_script,
    page_exists,
    what_ran,
)

FETCH_LIMIT = 2000
SQL_EDITOR_PAGE = "pages/sql_editor.py"
# A run is recorded as running before its SQL starts; one whose server or app stopped first ends as interrupted.
RUN_ICONS = {**STATUS_ICONS, "running": "⏳", "interrupted": "⚠️"}
# The statuses as shown (the stored values stay English: filters and tests use them).
RUN_STATUS_LABELS = {
    "success": N_("success"),
    "error": N_("error"),
    "timeout": N_("timeout"),
    "cancelled": N_("cancelled"),
    "running": N_("running"),
    "interrupted": N_("interrupted"),
}
INTERRUPTED_NOTE = N_(
    "The database server or the app stopped before this run finished, so whether its statements committed is "
    "unknown. Check the data it touches before running it again."
)


def status_label(status: str) -> str:
    """``✅ success`` in the user's language; an unknown status as it is."""
    return f"{RUN_ICONS.get(status, '')} {_(RUN_STATUS_LABELS.get(status, status))}".strip()


user = require_page("history")
claims = user.claims
manager = get_services().projects

st.title(_("My history"))

c1, c2, c5, c3, c4 = st.columns([1, 2, 1, 1, 1])
# Labels worked out during the run: a format_func is also called outside it (AppTest), where the locale is unknown.
status_labels = {"(any)": _("(any)"), **{status: status_label(status) for status in RUN_ICONS}}
status_choice = c1.selectbox(
    _("Status"), list(status_labels), key="history_status", format_func=status_labels.__getitem__
)
text_filter = c2.text_input(_("SQL, script or project contains"), key="history_text")
connection_filter = c5.text_input(_("Connection"), key="history_connection", placeholder=_("any"))
today = dt.date.today()
since = c3.date_input(_("From (UTC)"), today - dt.timedelta(days=30), key="history_since")
until = c4.date_input(_("To (UTC, inclusive)"), today, key="history_until")

start = dt.datetime.combine(since, dt.time.min, tzinfo=dt.UTC) if isinstance(since, dt.date) else None
end = (
    dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    if isinstance(until, dt.date)
    else None
)
try:
    with st.spinner(_("Loading your runs…")):
        shown = manager.history(
            claims,
            mine_only=True,
            status=None if status_choice == "(any)" else status_choice,
            since=start,
            until=end,
            text=text_filter,
            limit=FETCH_LIMIT,
        )
        has_any = bool(shown) or bool(manager.history(claims, mine_only=True, limit=1))
except DbaAdminError as exc:
    show_error(exc, action=_("Loading your history"))
    st.stop()

if not has_any:
    st.info(_("No runs yet — run a script from one of your projects, or SQL in the SQL editor, and it shows up here."))
    st.stop()

wanted = connection_filter.strip().lower()
if wanted:  # narrows the rows already fetched, like the text filter
    shown = [r for r in shown if wanted in (r.connection or "").lower()]
if not shown:
    st.info(_("No run of yours matches these filters."))
    st.stop()

counts = {status: sum(1 for r in shown if r.status == status) for status in RUN_ICONS}
m = st.columns(len(counts) + 1)
m[0].metric(_("Runs"), len(shown))
for column, (status, count) in zip(m[1:], counts.items(), strict=True):
    column.metric(status_label(status), count)
if counts["running"]:
    st.info(
        _("⏳ {count} run(s) still running: they were recorded before their SQL started.").format(
            count=counts["running"]
        )
    )
if counts["interrupted"]:
    st.warning(_("⚠️ {count} run(s) interrupted. {note}").format(count=counts["interrupted"], note=_(INTERRUPTED_NOTE)))
if len(shown) >= FETCH_LIMIT:
    st.caption(
        _("Showing the latest {limit} matching runs; narrow the filters to see older ones.").format(
            limit=number(FETCH_LIMIT)
        )
    )
frame = executions_frame(shown, with_script=True).drop(columns=["by"])
frame["status"] = [status_label(r.status) for r in shown]
st.dataframe(frame, hide_index=True)

st.subheader(_("Re-open a run"))
by_id = {r.id: r for r in shown}


def run_label(run_id: int) -> str:
    r = by_id[run_id]
    what = f"{r.project_name} / {r.script_name}" if r.script_name else what_ran(r)
    where = _(" · on {connection}").format(connection=r.connection) if r.connection else ""
    return f"#{r.id} · {fmt_time(r.started_at)} · {what}{where} · {status_label(r.status)} · {first_line(r.sql, 60)}"


run_labels = {run_id: run_label(run_id) for run_id in by_id}
chosen_id = st.selectbox(_("Choose a run"), list(run_labels), format_func=run_labels.__getitem__, key="history_run")
if chosen_id is not None:
    run = by_id[chosen_id]
    st.code(run.sql, language="sql")
    st.caption(
        _("Ran on connection {connection}").format(connection=escape_markdown(run.connection))
        if run.connection
        else _("Ran before connections were recorded: the connection is unknown.")
    )
    if run.status == "interrupted":
        st.warning(_("⚠️ Interrupted. {note}").format(note=_(INTERRUPTED_NOTE)))
    elif run.status == "running":
        st.info(
            _("⏳ Still running since {time}; reload the page to see how it ends.").format(
                time=fmt_time(run.started_at)
            )
        )
    if run.error:
        st.caption(
            _("Error: {message}").format(message=escape_markdown(run.error))
            + (f" (SQLSTATE {run.sqlstate})" if run.sqlstate else "")
        )
    if run.script_id is not None and run.script_name is not None:
        name = escape_markdown(run.script_name)
        label = (
            _("Open the script {name}").format(name=name)
            if run.version is None
            else _("Open the script {name} (this run used v{version})").format(name=name, version=run.version)
        )
        if st.button(label, key="history_open_script"):
            try:
                script = manager.get_script(claims, run.script_id)
            except NotFound:
                st.warning(_("That script no longer exists or is not visible to you; copy the SQL above instead."))
            except DbaAdminError as exc:
                show_error(exc, action=_("Opening the script"))
            else:
                open_script(script.id)
    if page_exists(SQL_EDITOR_PAGE):
        if st.button(_("Open this SQL in the SQL editor"), key="history_open_editor"):
            st.session_state["sql_editor_text"] = run.sql
            # On the connection it ran on, when the user may still use it (the editor's switcher checks).
            st.switch_page(SQL_EDITOR_PAGE, query_params={"connection": run.connection} if run.connection else None)
    elif run.script_id is None or run.script_name is None:
        st.caption(_("The SQL editor page is not installed yet: copy the SQL with the button at the block's corner."))
