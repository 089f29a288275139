"""One script: edit and save (every change a version), run it, see the results, its versions and its runs.

The editor is the SQL editor's (ui/sql_workbench.py): highlighting, line numbers, Ctrl/Cmd+Enter runs, the last
error marked at its line and column, results per statement with downloads and charts. Its text is kept in
``st.session_state["script_editor_<id>"]``; each editor event is taken into it once, so a rerun runs nothing again.

A save carries the version the text was edited from; when someone saved since, the core refuses it and this
page shows their change next to yours, so nothing is lost on either side. A run that the core says needs
confirmation (a DBA's destructive statement) runs only from the confirmation button, once, on the connection it
was reviewed for. A script runs on any connection the user may use (the sidebar's by default); its runs say where.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from dba_admin.errors import ConcurrentChange, DbaAdminError, NotFound, SaveConflict
from dba_admin.projects import Execution, RunOutcome, Script, diff_texts
from ui import figures
from ui.i18n import _
from ui.markdown import escape_markdown
from ui.session import NO_CONNECTION, chosen_connection, get_services, require_page, show_error, visible_connections
from ui.sql_workbench import RUN_BUTTON, error_annotations, outcome_error, show_statements, sql_input, take_editor_event
from ui.widgets import (
    PROJECT_KEY,
    PROJECT_PAGE,
    PROJECTS_PAGE,
    SCRIPT_KEY,
    executions_frame,
    fmt_time,
    selected_id,
    show_diff,
)

RUN_STATUS_COLORS = {
    "success": "#2ca02c",
    "error": "#d62728",
    "timeout": "#ff7f0e",
    "cancelled": "#7f7f7f",
    "running": "#1f77b4",
    "interrupted": "#9467bd",
}

user = require_page("script")
claims = user.claims
services = get_services()
manager = services.projects

script_id = selected_id(SCRIPT_KEY)
if script_id is None:
    st.title(_("Script"))
    st.info(_("No script selected — open one from a project or from the script search on the Projects page."))
    st.page_link(PROJECTS_PAGE, label=_("Go to Projects"), icon=":material/folder:")
    st.stop()

try:
    script = manager.get_script(claims, script_id)
    project = manager.get_project(claims, script.project_id)
except NotFound:
    st.title(_("Script"))
    st.error(_("This script does not exist, or it is in a project you are not a member of."))
    st.page_link(PROJECTS_PAGE, label=_("Back to Projects"), icon=":material/folder:")
    st.stop()
except DbaAdminError as exc:
    show_error(exc, action=_("Loading the script"))
    st.stop()

sid = script.id
EDITOR = f"script_editor_{sid}"  # the editor's text (a string; other code and tests set it)
ACE = f"script_ace_{sid}"  # the code editor component's last event
AREA = f"script_area_{sid}"  # the plain text area standing in without the component
SYNCED = f"script_ace_synced_{sid}"  # id of the last editor event taken into EDITOR
BASE = f"script_base_{sid}"  # the version the editor's text was loaded from or last saved as
MESSAGE = f"script_message_{sid}"
PENDING = f"script_pending_{sid}"  # editor reset asked for by the previous run (widgets take new values before drawing)
CONFLICT = f"script_conflict_{sid}"
OUTCOME = f"script_outcome_{sid}"
CONFIRM = f"script_confirm_{sid}"
USED_TOKENS = "script_used_tokens"
FLASH = "script_flash"


def reload_editor(text: str, version: int, message: str | None = None) -> None:
    """Put ``text`` (saved as ``version``) in the editor on the next run, with an optional note, and rerun."""
    st.session_state[PENDING] = (text, version)
    if message:
        st.session_state[FLASH] = message
    st.rerun()


def saved(result_script: Script, message: str) -> None:
    """After a successful save: the editor keeps its text, the base moves on, the message field clears."""
    st.session_state.pop(CONFLICT, None)
    reload_editor(result_script.sql, result_script.version, message)


pending = st.session_state.pop(PENDING, None)
if pending is not None:
    st.session_state[EDITOR], st.session_state[BASE] = pending
    st.session_state[MESSAGE] = ""
if EDITOR not in st.session_state or BASE not in st.session_state:
    st.session_state[EDITOR] = script.sql
    st.session_state[BASE] = script.version
# The editor's newest event (blur, Ctrl/Cmd+Enter, its Run button), once: its text first, before Save reads it.
editor_event = take_editor_event(ace_key=ACE, synced_key=SYNCED, text_key=EDITOR)
submitted = editor_event is not None and editor_event.get("type") == "submit"
base: int = st.session_state[BASE]

# --- header -----------------------------------------------------------------------------------------------------------
st.session_state[PROJECT_KEY] = str(project.id)
st.page_link(
    PROJECT_PAGE,
    label=escape_markdown(project.name),
    icon=":material/arrow_back:",
    query_params={"id": str(project.id)},
)
st.title(escape_markdown(script.name))
st.caption(
    _("v{version} · saved {time} by {user} · created by {author}").format(
        version=script.version,
        time=fmt_time(script.updated_at),
        user=escape_markdown(script.updated_by or script.created_by),
        author=escape_markdown(script.created_by),
    )
)
flash = st.session_state.pop(FLASH, None)
if flash:
    st.success(escape_markdown(flash))  # may quote an author's name: plain text
read_only_project = project.archived
if read_only_project:
    st.info(_("The project is archived: this script is read-only until the owner unarchives the project."))
stale_box = st.empty()  # filled after the save button is handled, so a conflict is not announced twice

# --- editor -----------------------------------------------------------------------------------------------------------
editor_box = st.container()  # drawn after a run below, so the error marker is the new run's
text: str = st.session_state[EDITOR]
message = st.text_input(
    _("Message for this version (optional)"),
    key=MESSAGE,
    placeholder=_("what changed and why"),
    disabled=read_only_project,
)
dirty = text != script.sql
try:
    current_name = chosen_connection(services, user)
    targets = visible_connections(services, user)
except DbaAdminError as exc:
    show_error(exc, action=_("Listing your connections"))
    current_name, targets = None, []
b1, b2, b4, b3 = st.columns([1, 1, 2, 4], vertical_alignment="center")
save_clicked = b1.button(_("Save"), key="script_save", type="primary", disabled=read_only_project)
run_clicked = b2.button(
    _("Run"),
    key="script_run",
    help=_("Runs the text in the editor and records the run (Ctrl/Cmd+Enter in the editor does the same)."),
    disabled=not targets,
)
run_clicked = run_clicked or (submitted and bool(targets))
# Any connection the user may use; the sidebar's by default (the key follows it, so a new choice there resets this).
target_name: str | None = b4.selectbox(
    _("Run on"),
    targets,
    index=targets.index(current_name) if current_name in targets else (0 if targets else None),
    key=f"script_target_{sid}_{current_name}",
    help=_("The connection the run goes to; the run history shows where each run went."),
)
if not targets:
    st.info(_(NO_CONNECTION))
if dirty:
    b3.caption(
        _(
            "Unsaved changes: Run runs the editor's text as ad-hoc SQL (in your history, not the script's). "
            "Save first to record the run against the script."
        )
    )
else:
    b3.caption(
        (
            _("Run runs the saved v{version}. Analysts and viewers run read-only.")
            if user.role not in ("admin", "dba")
            else _("Run runs the saved v{version}. You may write; destructive statements ask for confirmation.")
        ).format(version=script.version)
    )

if save_clicked:
    try:
        result = manager.save_script(claims, sid, text, base_version=base, message=message or None)
    except SaveConflict as exc:
        st.session_state[CONFLICT] = exc.theirs
    except (DbaAdminError, ValueError) as exc:
        show_error(exc, action=_("Saving"))
    else:
        if result.version is not None:
            saved(result.script, _("Saved as v{version}.").format(version=result.version.number))
        elif result.script.version != base:
            reload_editor(
                result.script.sql,
                result.script.version,
                _("v{version} already has this text.").format(version=result.script.version),
            )
        else:
            st.info(_("Nothing to save: the text is the same as the saved version."))

if script.version > base and CONFLICT not in st.session_state:
    with stale_box.container():
        st.warning(
            _(
                "{user} saved v{version} since you opened v{base}. "
                "Load it, or keep editing: saving will show you their change first."
            ).format(user=escape_markdown(script.updated_by or _("Someone")), version=script.version, base=base)
        )
        if st.button(_("Load v{version}").format(version=script.version), key="script_load_latest"):
            reload_editor(script.sql, script.version, _("Loaded v{version}.").format(version=script.version))

theirs: ConcurrentChange | None = st.session_state.get(CONFLICT)
if theirs is not None:
    with st.container(border=True):
        st.error(
            _(
                "Not saved: {user} saved v{version} at {time}, after you opened v{base}. Nothing of yours or theirs "
                "was overwritten. Compare the two texts below."
            ).format(
                user=escape_markdown(theirs.author),
                version=theirs.version,
                time=fmt_time(theirs.saved_at),
                base=base,
            )
        )
        show_diff(
            diff_texts(
                theirs.sql,
                text,
                left_label=_("v{version} by {user} (theirs)").format(version=theirs.version, user=theirs.author),
                right_label=_("your text"),
            ),
            key="script_conflict_diff",
        )
        c1, c2, c3 = st.columns(3)
        if c1.button(_("Load theirs (drop my edits)"), key="script_conflict_load"):
            st.session_state.pop(CONFLICT, None)
            reload_editor(
                theirs.sql,
                theirs.version,
                _("Loaded v{version} by {user}.").format(version=theirs.version, user=theirs.author),
            )
        if c2.button(
            _("Keep mine: save on top of v{version}").format(version=theirs.version),
            key="script_conflict_keep",
            type="primary",
        ):
            try:
                result = manager.save_script(claims, sid, text, base_version=theirs.version, message=message or None)
            except SaveConflict as exc:
                st.session_state[CONFLICT] = exc.theirs
                st.rerun()
            except (DbaAdminError, ValueError) as exc:
                show_error(exc, action=_("Saving"))
            else:
                saved(
                    result.script,
                    _("Saved your text as v{version}, on top of v{theirs}.").format(
                        version=result.script.version, theirs=theirs.version
                    ),
                )
        if c3.button(_("Dismiss"), key="script_conflict_dismiss"):
            st.session_state.pop(CONFLICT, None)
            st.rerun()

# --- run --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RanOutcome:
    """The last run shown under the editor: what ran (label and text, for the error marker) and its outcome."""

    label: str
    outcome: RunOutcome
    sql: str
    adhoc: bool
    token: str = field(default_factory=lambda: uuid.uuid4().hex[:8])  # result widgets' keys: new for each run


def run_now(adhoc_sql: str | None, *, confirmed: bool, version: int, connection: str) -> RunOutcome | None:
    """Run the saved script (``adhoc_sql`` None) or unsaved text (recorded as ad-hoc SQL) on ``connection``; None
    if it failed.

    ``version`` is the one the person reviewed: the core refuses to run if someone saved since. The connection is
    opened for this user (RLS decides) at the moment of the run.
    """
    try:
        target = services.connection_for(claims, connection)
        if adhoc_sql is None:
            with st.spinner(
                _("Running v{version} on {connection}…").format(version=script.version, connection=connection)
            ):
                return manager.run_script(
                    claims, sid, confirm_destructive=confirmed, expected_version=version, target=target
                )
        with st.spinner(_("Running your unsaved text on {connection}…").format(connection=connection)):
            return manager.run_adhoc(claims, adhoc_sql, confirm_destructive=confirmed, target=target)
    except DbaAdminError as exc:
        show_error(exc, action=_("Running on {connection}").format(connection=connection))
        return None


def ran_label(adhoc_sql: str | None, version: int, connection: str) -> str:
    if adhoc_sql is not None:
        return _("your unsaved text (recorded as ad-hoc SQL) on {connection}").format(connection=connection)
    return _("v{version} on {connection}").format(version=version, connection=connection)


if run_clicked and target_name is not None:
    st.session_state.pop(CONFIRM, None)
    adhoc_text = text if dirty else None  # what the user sees is what runs
    outcome = run_now(adhoc_text, confirmed=False, version=script.version, connection=target_name)
    if outcome is not None and outcome.needs_confirmation:
        st.session_state.pop(OUTCOME, None)
        st.session_state[CONFIRM] = {
            "token": uuid.uuid4().hex,
            "version": script.version,
            "reasons": outcome.destructive_reasons,
            "adhoc_sql": adhoc_text,
            "connection": target_name,  # the confirmation is for this connection only
        }
    elif outcome is not None:
        ran_sql = adhoc_text if adhoc_text is not None else script.sql
        st.session_state[OUTCOME] = RanOutcome(
            ran_label(adhoc_text, script.version, target_name), outcome, ran_sql, adhoc_text is not None
        )

confirm = st.session_state.get(CONFIRM)
if confirm is not None:
    reviewed = ran_label(confirm["adhoc_sql"], confirm["version"], confirm["connection"])
    confirm_box = st.empty()
    with confirm_box.container(border=True):
        st.warning(
            _("{what} contains destructive statements. Nothing has run yet.").format(
                what=reviewed[:1].upper() + reviewed[1:]
            )
            + "\n\n"
            + "\n".join(f"- {escape_markdown(reason)}" for reason in confirm["reasons"])
        )
        k1, k2 = st.columns(2)
        go = k1.button(_("Confirm and run"), key=f"script_confirm_run_{confirm['token']}", type="primary")
        cancel = k2.button(_("Cancel"), key=f"script_confirm_cancel_{confirm['token']}")
    if cancel:
        st.session_state.pop(CONFIRM, None)
        st.rerun()
    if go:
        # The token is spent before the run starts: a rerun, a second click or a second tab cannot run it again.
        st.session_state.pop(CONFIRM, None)
        confirm_box.empty()
        used: set[str] = st.session_state.setdefault(USED_TOKENS, set())
        if confirm["token"] in used:
            st.info(_("That confirmation was already used; press Run again to review the script."))
        else:
            used.add(confirm["token"])
            current_version: int | None
            try:
                current_version = manager.get_script(claims, sid).version
            except DbaAdminError as exc:
                show_error(exc, action=_("Running"))
                current_version = None
            if confirm["adhoc_sql"] is None and current_version is not None and current_version != confirm["version"]:
                # run_script runs the latest saved text: never one the user did not review.
                st.warning(
                    _(
                        "The script changed (now v{version}) since you reviewed v{reviewed}; nothing ran. "
                        "Press Run again to review it."
                    ).format(version=current_version, reviewed=confirm["version"])
                )
            elif current_version is not None:
                outcome = run_now(
                    confirm["adhoc_sql"], confirmed=True, version=confirm["version"], connection=confirm["connection"]
                )
                if outcome is not None:
                    ran_sql = confirm["adhoc_sql"] if confirm["adhoc_sql"] is not None else script.sql
                    st.session_state[OUTCOME] = RanOutcome(reviewed, outcome, ran_sql, confirm["adhoc_sql"] is not None)

last: RanOutcome | None = st.session_state.get(OUTCOME)
with editor_box:
    sql_input(
        text_key=EDITOR,
        ace_key=ACE,
        area_key=AREA,
        annotations=error_annotations(text, last.sql, outcome_error(last.outcome)) if last is not None else (),
        buttons=[RUN_BUTTON],
        placeholder=_("Type the script's SQL here; Ctrl/Cmd+Enter runs it"),
        read_only=read_only_project,
    )
if last is not None:
    st.subheader(_("Results of {what}").format(what=escape_markdown(last.label)))
    execution = last.outcome.execution
    mode = _("read-only") if last.outcome.read_only else _("read-write")
    recorded = ""
    if execution is not None:
        recorded = " · " + (
            _("run #{id} in your history (ad-hoc SQL)") if last.adhoc else _("run #{id} in the script's run history")
        ).format(id=execution.id)
    st.caption(f"{mode} · {last.outcome.status}{recorded}")
    show_statements(last.outcome, last.sql, "text", f"script_result_{sid}_{last.token}")

# --- schedule: "Schedule this script" (ui/schedules.py; its strings are translated there) -----------------------------
import ui.schedules  # noqa: E402 - kept in this one block, apart from the rest of the page

ui.schedules.schedule_section(services, user, script, archived=read_only_project)

# --- versions and runs ------------------------------------------------------------------------------------------------
tab_versions, tab_runs = st.tabs([_("Versions"), _("Run history")])

with tab_versions:
    try:
        versions = manager.list_versions(claims, sid)
    except DbaAdminError as exc:
        show_error(exc, action=_("Loading the versions"))
        versions = []
    if versions:
        st.dataframe(
            pd.DataFrame(
                [
                    {"version": v.number, "author": v.author, "saved": v.created_at, "message": v.message or ""}
                    for v in versions
                ]
            ),
            hide_index=True,
            column_config={  # labels only: the frame keeps its column names
                "version": st.column_config.Column(_("version")),
                "author": st.column_config.Column(_("author")),
                "saved": st.column_config.Column(_("saved")),
                "message": st.column_config.Column(_("message")),
            },
        )
    if len(versions) < 2:
        st.info(
            _("Only one version so far — every save that changes the text adds one, and you can compare them here.")
        )
    else:
        numbers = [v.number for v in versions]  # newest first
        by_number = {v.number: v for v in versions}

        def label(number: int) -> str:
            v = by_number[number]
            return f"v{number} · {v.author} · {fmt_time(v.created_at)}" + (f" · {v.message}" if v.message else "")

        d1, d2 = st.columns(2)
        left_no = d1.selectbox(
            _("Compare"), numbers, index=1, format_func=label, key=f"script_diff_left_{sid}_{numbers[0]}"
        )
        right_no = d2.selectbox(
            _("with"), numbers, index=0, format_func=label, key=f"script_diff_right_{sid}_{numbers[0]}"
        )
        if left_no is not None and right_no is not None:
            try:
                show_diff(manager.diff_versions(claims, sid, left_no, right_no), key="script_versions_diff")
            except DbaAdminError as exc:
                show_error(exc, action=_("Comparing the versions"))

        if not read_only_project:
            st.markdown("**" + _("Restore an older version") + "**")
            older = [n for n in numbers if n != script.version]
            r1, r2 = st.columns([3, 1], vertical_alignment="bottom")
            restore_no = r1.selectbox(
                _("Version"), older, format_func=label, key=f"script_restore_choice_{sid}_{numbers[0]}"
            )
            restore_clicked = r2.button(_("Restore"), key="script_restore")
            st.caption(_("A restore saves that text as a new version; the editor's unsaved edits are replaced."))
            if restore_clicked and restore_no is not None:
                try:
                    restored = manager.restore_version(claims, sid, restore_no, base_version=base)
                except SaveConflict as exc:
                    st.session_state[CONFLICT] = exc.theirs
                    st.rerun()
                except DbaAdminError as exc:
                    show_error(exc, action=_("Restoring"))
                else:
                    if restored.version is None:
                        st.info(
                            _("v{version} has the same text as the current version: nothing to restore.").format(
                                version=restore_no
                            )
                        )
                    else:
                        st.session_state.pop(CONFLICT, None)
                        reload_editor(
                            restored.script.sql,
                            restored.script.version,
                            _("Restored v{old} as v{new}.").format(old=restore_no, new=restored.script.version),
                        )

with tab_runs:
    try:
        runs = manager.history(claims, script_id=sid, limit=500)
    except DbaAdminError as exc:
        show_error(exc, action=_("Loading the runs"))
        runs = []
    if not runs:
        st.info(_("No runs yet — press Run to run the saved version."))
    else:
        # Recorded before its SQL starts (running); interrupted when the server or the app stopped first.
        running = sum(1 for r in runs if r.status == "running")
        interrupted = sum(1 for r in runs if r.status == "interrupted")
        if running:
            st.info(
                _("⏳ {count} run(s) of this script still running; reload the page to see how they end.").format(
                    count=running
                )
            )
        if interrupted:
            st.warning(
                _(
                    "⚠️ {count} run(s) interrupted: the database server or the app stopped before they finished, "
                    "so whether their statements committed is unknown. Check the data before running the script again."
                ).format(count=interrupted)
            )
        by_status: dict[str, list[Execution]] = {}
        for r in runs:
            by_status.setdefault(r.status, []).append(r)
        figure = figures.points(
            {status: [r.started_at for r in rs] for status, rs in by_status.items()},
            {status: [r.duration_ms or 0.0 for r in rs] for status, rs in by_status.items()},
            value_title=_("duration (ms)"),
            hover={
                status: {
                    _("version"): [r.version for r in rs],
                    _("rows"): [r.rows for r in rs],
                    _("by"): [r.executed_by for r in rs],
                }
                for status, rs in by_status.items()
            },
            colors=RUN_STATUS_COLORS,
            title=_("Duration and status of each run"),
        )
        st.plotly_chart(figure, key=f"script_runs_chart_{sid}")
        frame = executions_frame(runs, with_script=False)
        frame["status"] = [
            {"running": "⏳ " + _("running"), "interrupted": "⚠️ " + _("interrupted")}.get(r.status, str(value))
            for r, value in zip(runs, frame["status"], strict=True)
        ]
        st.dataframe(frame, hide_index=True)
