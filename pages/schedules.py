"""Schedules: the user's scheduled scripts (every one for an admin), their state, next and last run; the owner pauses,
resumes, edits and deletes them. New schedules are made from a script's page ("Schedule this script").

The workers (`dba-admin worker`) run them; this page only reads and changes the schedules, as the user under RLS.
"""

from __future__ import annotations

import uuid

import pandas as pd
import streamlit as st

from dba_admin.errors import DbaAdminError
from dba_admin.jobs.schedules import Schedule
from ui.i18n import _, when
from ui.markdown import escape_markdown
from ui.schedules import cron_inputs, schedule_manager, state_label
from ui.session import get_services, require_page, show_error, visible_connections
from ui.widgets import PROJECTS_PAGE, SCRIPT_KEY, SCRIPT_PAGE

HISTORY_PAGE = "pages/history.py"
RESULT_ICONS = {"success": "✅", "error": "❌", "timeout": "⏱️", "cancelled": "🚫", "refused": "⛔"}

user = require_page("schedules")
claims = user.claims
services = get_services()
manager = schedule_manager(services)

st.title(_("Schedules"))
st.caption(
    _(
        "Saved scripts that run on their own, on a cron expression in a time zone, as their owner and with the owner's "
        "rights at each run. Schedule a script from its page; the workers (dba-admin worker) run them."
    )
)
flash = st.session_state.pop("schedules_flash", None)
if flash:
    st.success(flash)

mine_only = False
if user.role == "admin":
    mine_only = st.toggle(_("Only mine"), value=False, key="schedules_mine")
try:
    schedules = manager.list(claims, mine_only=mine_only)
except DbaAdminError as exc:
    show_error(exc, action=_("Loading the schedules"))
    st.stop()

if not schedules:
    st.info(_("No schedule yet. Open a script and use Schedule this script under its editor."))
    st.page_link(PROJECTS_PAGE, label=_("Go to Projects"), icon=":material/folder:")
    st.stop()


def last_run(schedule: Schedule) -> str:
    if schedule.last_due_at is None:
        return _("not run yet")
    status = schedule.last_status or ""
    icon = RESULT_ICONS.get(status, "")
    return _("{icon} {status} at {time}").format(icon=icon, status=status, time=when(schedule.last_due_at)).strip()


frame = pd.DataFrame(
    [
        {
            _("Script"): s.script_name or _("(deleted script)"),
            _("Project"): s.project_name or "",
            _("Connection"): s.connection,
            _("When"): f"{s.cron} ({s.timezone})",
            _("State"): state_label(s) + (f" — {s.pause_reason}" if s.pause_reason else ""),
            _("Next run"): when(s.next_run) if s.next_run else "—",
            _("Last run"): last_run(s),
            _("Run #"): s.last_execution_id,
            _("Owner"): s.owner,
        }
        for s in schedules
    ]
)
st.dataframe(frame, hide_index=True)

by_id = {s.id: s for s in schedules}


def label(schedule_id: uuid.UUID) -> str:
    s = by_id[schedule_id]
    return _("{script} · {cron} ({zone}) on {connection} · {state}").format(
        script=s.script_name or _("(deleted script)"),
        cron=s.cron,
        zone=s.timezone,
        connection=s.connection,
        state=state_label(s),
    )


chosen_id = st.selectbox(_("Schedule"), list(by_id), format_func=label, key="schedules_choice")
chosen = by_id.get(chosen_id) if chosen_id is not None else None
if chosen is None:
    st.stop()

links = st.columns(2)
links[0].page_link(
    SCRIPT_PAGE,
    label=_("Open the script and its run history"),
    icon=":material/description:",
    query_params={"id": str(chosen.script_id)},
)
links[1].page_link(HISTORY_PAGE, label=_("My history"), icon=":material/history:")
st.session_state[SCRIPT_KEY] = str(chosen.script_id)
if chosen.last_note:
    st.caption(_("Last run: {note}").format(note=escape_markdown(chosen.last_note)))
if chosen.pause_reason:
    st.warning(
        _("Stopped by the scheduler: {reason}. Fix the cause, then resume it.").format(
            reason=escape_markdown(chosen.pause_reason)
        )
    )

if chosen.owner != claims.normalized_email:
    st.info(_("Only its owner ({owner}) can change this schedule.").format(owner=escape_markdown(chosen.owner)))
    st.stop()


def done(message: str) -> None:
    st.session_state["schedules_flash"] = message
    st.rerun()


sid = chosen.id
b1, b2 = st.columns(2)
if chosen.paused:
    if b1.button(_("Resume"), key=f"schedules_resume_{sid}", type="primary"):
        try:
            manager.resume(claims, sid)
        except DbaAdminError as exc:
            show_error(exc, action=_("Resuming"))
        else:
            done(_("Resumed: it runs again from its next due time."))
elif b1.button(_("Pause"), key=f"schedules_pause_{sid}"):
    try:
        manager.pause(claims, sid)
    except DbaAdminError as exc:
        show_error(exc, action=_("Pausing"))
    else:
        done(_("Paused: nothing runs until you resume it."))

confirm_key = f"schedules_confirm_delete_{sid}"
if b2.button(_("Delete"), key=f"schedules_delete_{sid}"):
    st.session_state[confirm_key] = True
if st.session_state.get(confirm_key):
    with st.container(border=True):
        st.warning(_("Delete this schedule? Its runs stay in the history."))
        d1, d2 = st.columns(2)
        if d1.button(_("Delete the schedule"), key=f"schedules_delete_yes_{sid}", type="primary"):
            st.session_state.pop(confirm_key, None)
            try:
                manager.delete(claims, sid)
            except DbaAdminError as exc:
                show_error(exc, action=_("Deleting"))
            else:
                done(_("Schedule deleted."))
        if d2.button(_("Cancel"), key=f"schedules_delete_no_{sid}"):
            st.session_state.pop(confirm_key, None)
            st.rerun()

with st.expander(_("Edit")):
    try:
        connections = visible_connections(services, user)
    except DbaAdminError as exc:
        show_error(exc, action=_("Listing your connections"))
        connections = []
    if chosen.connection not in connections:
        connections = [chosen.connection, *connections]
    new_connection = st.selectbox(
        _("Connection"), connections, index=connections.index(chosen.connection), key=f"schedules_edit_conn_{sid}"
    )
    new_cron, new_zone = cron_inputs(key=f"schedules_edit_{sid}", cron=chosen.cron, timezone=chosen.timezone)
    if st.button(_("Save changes"), key=f"schedules_edit_save_{sid}", type="primary"):
        try:
            manager.edit(claims, sid, cron=new_cron, timezone=new_zone, connection=new_connection)
        except DbaAdminError as exc:
            show_error(exc, action=_("Saving the schedule"))
        else:
            done(_("Schedule saved."))
