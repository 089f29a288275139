"""My history: every run of mine (script runs and ad-hoc SQL) and the connection it ran on, filtered, re-opened.

``mine_only`` is a view filter; the database already hides every run the user may not see. The text and
date filters narrow the rows already fetched, so they never widen what the user sees.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dba_admin.errors import DbaAdminError, NotFound
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
INTERRUPTED_NOTE = (
    "The database server or the app stopped before this run finished, so whether its statements committed is "
    "unknown. Check the data it touches before running it again."
)

user = require_page("history")
claims = user.claims
manager = get_services().projects

st.title("My history")

c1, c2, c5, c3, c4 = st.columns([1, 2, 1, 1, 1])
status_choice = c1.selectbox("Status", ["(any)", *RUN_ICONS], key="history_status")
text_filter = c2.text_input("SQL, script or project contains", key="history_text")
connection_filter = c5.text_input("Connection", key="history_connection", placeholder="any")
today = dt.date.today()
since = c3.date_input("From (UTC)", today - dt.timedelta(days=30), key="history_since")
until = c4.date_input("To (UTC, inclusive)", today, key="history_until")

start = dt.datetime.combine(since, dt.time.min, tzinfo=dt.UTC) if isinstance(since, dt.date) else None
end = (
    dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    if isinstance(until, dt.date)
    else None
)
try:
    with st.spinner("Loading your runs…"):
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
    show_error(exc, action="Loading your history")
    st.stop()

if not has_any:
    st.info("No runs yet — run a script from one of your projects, or SQL in the SQL editor, and it shows up here.")
    st.stop()

wanted = connection_filter.strip().lower()
if wanted:  # narrows the rows already fetched, like the text filter
    shown = [r for r in shown if wanted in (r.connection or "").lower()]
if not shown:
    st.info("No run of yours matches these filters.")
    st.stop()

counts = {status: sum(1 for r in shown if r.status == status) for status in RUN_ICONS}
m = st.columns(len(counts) + 1)
m[0].metric("Runs", len(shown))
for column, (status, count) in zip(m[1:], counts.items(), strict=True):
    column.metric(f"{RUN_ICONS[status]} {status}", count)
if counts["running"]:
    st.info(f"⏳ {counts['running']} run(s) still running: they were recorded before their SQL started.")
if counts["interrupted"]:
    st.warning(f"⚠️ {counts['interrupted']} run(s) interrupted. {INTERRUPTED_NOTE}")
if len(shown) >= FETCH_LIMIT:
    st.caption(f"Showing the latest {FETCH_LIMIT} matching runs; narrow the filters to see older ones.")
frame = executions_frame(shown, with_script=True).drop(columns=["by"])
frame["status"] = [f"{RUN_ICONS.get(r.status, '')} {r.status}".strip() for r in shown]
st.dataframe(frame, hide_index=True)

st.subheader("Re-open a run")
by_id = {r.id: r for r in shown}


def run_label(run_id: int) -> str:
    r = by_id[run_id]
    what = f"{r.project_name} / {r.script_name}" if r.script_name else what_ran(r)
    where = f" · on {r.connection}" if r.connection else ""
    return f"#{r.id} · {fmt_time(r.started_at)} · {what}{where} · {r.status} · {first_line(r.sql, 60)}"


chosen_id = st.selectbox("Run", list(by_id), format_func=run_label, key="history_run")
if chosen_id is not None:
    run = by_id[chosen_id]
    st.code(run.sql, language="sql")
    st.caption(
        f"Ran on connection {escape_markdown(run.connection)}"
        if run.connection
        else "Ran before connections were recorded: the connection is unknown."
    )
    if run.status == "interrupted":
        st.warning(f"⚠️ Interrupted. {INTERRUPTED_NOTE}")
    elif run.status == "running":
        st.info(f"⏳ Still running since {fmt_time(run.started_at)}; reload the page to see how it ends.")
    if run.error:
        st.caption(f"Error: {escape_markdown(run.error)}" + (f" (SQLSTATE {run.sqlstate})" if run.sqlstate else ""))
    if run.script_id is not None and run.script_name is not None:
        note = "" if run.version is None else f" (this run used v{run.version})"
        if st.button(f"Open the script {escape_markdown(run.script_name)}{note}", key="history_open_script"):
            try:
                script = manager.get_script(claims, run.script_id)
            except NotFound:
                st.warning("That script no longer exists or is not visible to you; copy the SQL above instead.")
            except DbaAdminError as exc:
                show_error(exc, action="Opening the script")
            else:
                open_script(script.id)
    if page_exists(SQL_EDITOR_PAGE):
        if st.button("Open this SQL in the SQL editor", key="history_open_editor"):
            st.session_state["sql_editor_text"] = run.sql
            # On the connection it ran on, when the user may still use it (the editor's switcher checks).
            st.switch_page(SQL_EDITOR_PAGE, query_params={"connection": run.connection} if run.connection else None)
    elif run.script_id is None or run.script_name is None:
        st.caption("The SQL editor page is not installed yet: copy the SQL with the button at the block's corner.")
