"""SQL editor: write, format, run, explain and save SQL; results per statement with downloads and charts.

How a run happens, and why nothing runs twice: buttons (and the editor's Ctrl/Cmd+Enter) only *enqueue* a
request in session state, from a callback or from a new editor event (each editor event has its own id and is
taken once). The page body pops the request before running it, so a plain rerun, a widget change or a
download never runs SQL again; the last result is kept in session state and only redrawn.

The editor is streamlit-code-editor (Ace): syntax highlighting, line numbers, Ctrl/Cmd+Enter, and the
selection comes back with every event. Its text is mirrored in ``st.session_state["sql_editor_text"]``, which
other pages (history, assistant) and tests set to open SQL here. Without the component the page falls back to
a plain text area.

SQL runs on the chosen connection: analysts' on its read-only login, DBAs' write mode on its DBA login (a
connection without one runs everyone's SQL read-only). A destructive text's confirmation is bound to the connection
it was reviewed on: switching connections in between runs nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

import streamlit as st

from dba_admin.editor_support import offset_of, statement_at
from dba_admin.errors import DbaAdminError, QueryError
from dba_admin.i18n import N_
from dba_admin.plan import parse_plan
from dba_admin.sql_text import Kind, format_sql, split_statements
from ui.assistant import render_sql_helpers
from ui.i18n import _, ngettext, number, when
from ui.markdown import escape_markdown
from ui.plans import show_index_advice, show_plan
from ui.session import (
    current_connection,
    dba_login_notice,
    get_services,
    require_page,
    show_connection,
    show_error,
)
from ui.sql_workbench import (
    RUN_BUTTON,
    RUN_SELECTION_BUTTON,
    error_annotations,
    outcome_error,
    show_sql_error,
    show_statements,
    sql_input,
    take_editor_event,
)

TEXT = "sql_editor_text"  # the SQL in the editor; other pages set it to open SQL here
ACE = "sql_editor_ace"  # the component's last event
AREA = "sql_editor_area"  # the fallback text area
SYNCED = "sql_editor_synced_event"  # id of the last editor event taken into TEXT
CURSOR = "sql_editor_cursor"  # (row, column) of the cursor at the last editor event
REQUEST = "sql_editor_request"  # what the next script run should do (popped before it is done)
RESULT = "sql_editor_result"  # the last result, redrawn on every rerun
PENDING = "sql_editor_pending"  # a destructive text waiting for the DBA's confirmation
ONE_TX = "sql_editor_one_transaction"  # a DBA's choice: run the text as one transaction (kept for the session)
ONE_TX_TOGGLE = "sql_editor_one_transaction_toggle"  # its widget (Streamlit drops a widget's key off its page)

NEW_SCRIPT, NEW_VERSION = N_("New script"), N_("New version of a script")  # "Save as" choices (shown translated)

DEFAULT_SQL = (
    "-- " + _("Ctrl/Cmd+Enter runs the selection, or everything when nothing is selected.") + "\n"
    "select table_schema, table_name, table_type\n"
    "from information_schema.tables\n"
    "where table_schema not in ('pg_catalog', 'information_schema')\n"
    "order by 1, 2;\n"
)

EDITOR_BUTTONS = [RUN_BUTTON, RUN_SELECTION_BUTTON]

user = require_page("sql_editor")
services = get_services()
conn = current_connection(services, user)
projects = services.projects
WRITE_MODE = user.is_dba and conn.has_dba_login  # write mode needs the connection's DBA login
MAX_ROWS = services.settings.max_rows

if TEXT not in st.session_state:
    st.session_state[TEXT] = DEFAULT_SQL


# --- requests: enqueued by clicks and editor events, done once by the page body -----------------------------


def _enqueue(action: str, sql: str, scope: str = "text") -> None:
    st.session_state[REQUEST] = {
        "action": action,
        "sql": sql,
        "scope": scope,
        "token": uuid.uuid4().hex,
        # as chosen when the run was asked for (the widget's value first: its callback may not have run yet)
        "single": bool(st.session_state.get(ONE_TX_TOGGLE, st.session_state.get(ONE_TX, False))),
        "connection": conn.name,
    }


def _remember_one_transaction() -> None:
    st.session_state[ONE_TX] = bool(st.session_state.get(ONE_TX_TOGGLE, False))


def _sync_from_editor() -> None:
    """Take the editor's newest event into the session once: its text, cursor, and a run it asked for."""
    event = take_editor_event(ace_key=ACE, synced_key=SYNCED, text_key=TEXT)
    if event is None:
        return
    cursor = event.get("cursor")
    if isinstance(cursor, dict) and "row" in cursor:
        st.session_state[CURSOR] = (int(cursor.get("row") or 0), int(cursor.get("column") or 0))
    selected = str(event.get("selected") or "")
    if event.get("type") == "submit":
        if selected.strip():
            _enqueue("run", selected, "selection")
        else:
            _enqueue("run", st.session_state[TEXT])
    elif event.get("type") == "run_selection":
        if selected.strip():
            _enqueue("run", selected, "selection")
        else:
            st.session_state[REQUEST] = {"action": "notice", "message": _("Select some SQL in the editor first.")}


def _set_text(text: str) -> None:
    st.session_state[TEXT] = text
    if AREA in st.session_state:
        st.session_state[AREA] = text


def _click_run() -> None:
    _sync_from_editor()
    _enqueue("run", st.session_state[TEXT])


def _statement_at_cursor() -> tuple[str, str]:
    """(text, scope) for actions on one statement: the whole text, or the statement at the cursor when there
    are several."""
    _sync_from_editor()
    text = st.session_state[TEXT]
    statements = split_statements(text)
    scope = "text"
    if len(statements) > 1:
        row, col = st.session_state.get(CURSOR, (0, 0))
        stmt = statement_at(text, offset_of(text, row, col))
        if stmt is not None:
            position = statements.index(stmt) + 1
            text, scope = stmt.text, _("statement {number} (at the cursor)").format(number=position)
    return text, scope


def _click_explain(analyze: bool) -> None:
    _enqueue("explain_analyze" if analyze else "explain", *_statement_at_cursor())


def _click_index_advice() -> None:
    _enqueue("index_advice", *_statement_at_cursor())


def _click_format() -> None:
    _sync_from_editor()
    formatted = format_sql(st.session_state[TEXT])
    if formatted == st.session_state[TEXT]:
        st.session_state[REQUEST] = {
            "action": "notice",
            "message": _("Already formatted (or not safely formattable)."),
        }
    _set_text(formatted)


def _click_confirm() -> None:
    pending = st.session_state.pop(PENDING, None)
    if pending:
        st.session_state[REQUEST] = {**pending, "action": "confirm", "token": uuid.uuid4().hex}


def _click_cancel() -> None:
    st.session_state.pop(PENDING, None)
    st.session_state[REQUEST] = {"action": "notice", "message": _("Cancelled: nothing was run.")}


def _load(text: str) -> None:
    _set_text(text)
    st.session_state.pop(PENDING, None)


# --- doing a request ------------------------------------------------------------------------------------------


def _do(request: dict[str, Any]) -> None:
    action = request["action"]
    if action == "notice":
        st.toast(request["message"])
        return
    sql = request["sql"]
    single = bool(request.get("single")) and WRITE_MODE
    base = {
        "token": request["token"],
        "action": action,
        "sql": sql,
        "scope": request.get("scope", "text"),
        "single": single,
        "connection": conn.name,
    }
    asked_on = request.get("connection", conn.name)
    if asked_on != conn.name:  # reviewed (or asked for) on another connection: never run it here unseen
        st.session_state[RESULT] = {
            **base,
            "failure": _(
                "That was asked for on connection {asked_on}, and this page is now on {current}: nothing ran. Run it "
                "again here if you mean to."
            ).format(asked_on=asked_on, current=conn.name),
        }
        return
    if action in ("run", "confirm"):
        try:
            with st.spinner(_("Running on {connection}…").format(connection=conn.name)):
                outcome = projects.run_adhoc(
                    user.claims,
                    sql,
                    confirm_destructive=action == "confirm",
                    single_transaction=single,
                    target=conn,
                )
        except QueryError as exc:
            st.session_state[RESULT] = {**base, "error": exc.info}
            return
        except DbaAdminError as exc:
            st.session_state[RESULT] = {**base, "failure": str(exc)}
            return
        if outcome.needs_confirmation:
            st.session_state[PENDING] = {
                "sql": sql,
                "scope": base["scope"],
                "reasons": list(outcome.destructive_reasons),
                "single": single,
                "connection": conn.name,
            }
            st.session_state.pop(RESULT, None)
            return
        st.session_state[RESULT] = {**base, "action": "run", "outcome": outcome}
    elif action == "index_advice":
        if not user.is_dba:  # the button is disabled for others; a crafted request gets the same answer
            st.session_state[RESULT] = {**base, "failure": _("Index advice is for DBAs.")}
            return
        try:
            with st.spinner(_("Pricing candidate indexes with hypothetical ones (hypopg)…")):
                advice = conn.index_advice(sql)
            st.session_state[RESULT] = {**base, "advice": advice.to_json()}
        except QueryError as exc:
            st.session_state[RESULT] = {**base, "error": exc.info}
        except (DbaAdminError, ValueError) as exc:
            st.session_state[RESULT] = {**base, "failure": str(exc)}
    else:
        analyze = action == "explain_analyze"
        try:
            with st.spinner(_("Explaining…")):
                plan = conn.explain(sql, analyze=analyze, read_only=not WRITE_MODE, claims=user.claims)
            st.session_state[RESULT] = {**base, "plan": parse_plan(plan)}
        except QueryError as exc:
            st.session_state[RESULT] = {**base, "error": exc.info}
        except (DbaAdminError, ValueError) as exc:
            st.session_state[RESULT] = {**base, "failure": str(exc)}


# --- drawing --------------------------------------------------------------------------------------------------


def _show_run(result: dict[str, Any]) -> None:
    outcome = result["outcome"]
    sql, scope = result["sql"], result["scope"]
    total = sum(r.duration_ms for r in outcome.results)
    count = len(outcome.results)
    parts = [
        ngettext("{count} statement", "{count} statements", count).format(count=number(count)),
        f"{number(total, digits=1)} ms",
        _("read-only") if outcome.read_only else _("write mode"),
        _("on {connection}").format(connection=result.get("connection", conn.name)),
    ]
    if scope == "selection":
        parts.append(_("selection"))
    if outcome.execution is not None:
        parts.append(_("saved in your history as run #{id}").format(id=outcome.execution.id))
    if result.get("single") and not outcome.read_only:
        parts.append(_("one transaction"))
    st.caption(" · ".join(parts))
    show_statements(outcome, sql, scope, f"sql_editor_{result['token']}")


def _show_plan(result: dict[str, Any]) -> None:
    show_plan(result["plan"], key=f"sql_editor_{result['token']}", scope=result["scope"])


def _show_advice(result: dict[str, Any]) -> None:
    show_index_advice(
        result["advice"],
        key=f"sql_editor_{result['token']}",
        scope=result["scope"],
        use_label=_("Put it in the editor"),
        on_use=_load,
        use_help=_("Run it from here (CREATE INDEX CONCURRENTLY: not inside the one-transaction mode)."),
    )


def _show_result(result: dict[str, Any]) -> None:
    if "advice" in result:
        _show_advice(result)
    elif "outcome" in result:
        _show_run(result)
    elif "plan" in result:
        _show_plan(result)
    elif "error" in result:
        show_sql_error(result["error"], result["sql"], result["scope"])
    elif "failure" in result:
        st.error(escape_markdown(result["failure"]))


def _last_error_message(result: dict[str, Any]) -> str | None:
    """The error the assistant's "Why did this fail?" should explain, if the last action failed."""
    if "error" in result:
        return str(result["error"].message)
    outcome = result.get("outcome")
    if outcome is None:
        return None
    failed = [r.error for r in outcome.results if r.error is not None]
    if failed:
        return str(failed[0].message)
    return str(outcome.error.message) if outcome.error is not None else None


def _show_pending(pending: dict[str, Any]) -> None:
    if pending.get("connection", conn.name) != conn.name:  # reviewed on another connection: not confirmable here
        st.session_state.pop(PENDING, None)
        st.info(
            _(
                "The destructive SQL waiting for confirmation was reviewed on connection {connection}; it was "
                "dropped when you switched. Nothing ran."
            ).format(connection=escape_markdown(pending.get("connection")))
        )
        return
    with st.container(border=True):
        st.warning(
            _(
                "This SQL changes or removes data or objects on connection {connection}, and cannot be undone. "
                "Nothing has run yet."
            ).format(connection=escape_markdown(conn.name)),
            icon=":material/warning:",
        )
        st.markdown(
            "**"
            + _("What it affects:")
            + "**\n"
            + "\n".join(f"- {escape_markdown(reason)}" for reason in pending["reasons"])
        )
        destructive = [s for s in split_statements(pending["sql"]) if s.kind == Kind.DESTRUCTIVE]
        if destructive:
            st.code(";\n".join(s.text for s in destructive) + ";", language="sql")
        if pending.get("single"):
            st.caption(_("It will run as one transaction: all of it is kept, or nothing is."))
        c1, c2, _spacer = st.columns([1, 1, 4])
        c1.button(
            _("Run it"), type="primary", key="sql_editor_confirm", on_click=_click_confirm, icon=":material/dangerous:"
        )
        c2.button(_("Cancel"), key="sql_editor_cancel", on_click=_click_cancel)


def _save_to_project() -> None:
    try:
        mine = projects.list_projects(user.claims, include_archived=False)
    except DbaAdminError as exc:
        show_error(exc, action=_("Listing your projects"))
        return
    if not mine:
        st.info(_("You are not a member of any project yet. Create one on the Projects page."))
        return
    by_id = {str(p.id): p for p in mine}
    project_id = st.selectbox(
        _("Project"), list(by_id), format_func=lambda i: by_id[i].name, key="sql_editor_save_project"
    )
    mode = st.radio(_("Save as"), [NEW_SCRIPT, NEW_VERSION], format_func=_, key="sql_editor_save_mode", horizontal=True)
    project = by_id[project_id]
    message = st.text_input(_("Message (optional)"), key="sql_editor_save_message")
    if mode == NEW_SCRIPT:
        name = st.text_input(_("Script name"), key="sql_editor_save_name")
        if st.button(_("Save script"), key="sql_editor_save_new", type="primary"):
            try:
                script = projects.create_script(
                    user.claims, project.id, name, st.session_state[TEXT], message=message or None
                )
                st.success(
                    _("Saved as {script} (version 1) in {project}.").format(
                        script=escape_markdown(script.name), project=escape_markdown(project.name)
                    )
                )
            except DbaAdminError as exc:
                show_error(exc, action=_("Saving the script"))
        return
    scripts = projects.list_scripts(user.claims, project.id)
    if not scripts:
        st.info(_("This project has no scripts yet; save a new one."))
        return
    by_sid = {str(s.id): s for s in scripts}
    script_id = st.selectbox(
        _("Script"),
        list(by_sid),
        format_func=lambda i: f"{by_sid[i].name} (v{by_sid[i].version})",
        key="sql_editor_save_script",
    )
    if st.button(_("Save new version"), key="sql_editor_save_version", type="primary"):
        script = by_sid[script_id]
        try:
            saved = projects.save_script(
                user.claims, script.id, st.session_state[TEXT], base_version=script.version, message=message or None
            )
            if saved.changed and saved.version is not None:
                st.success(
                    _("Saved {script} as version {version}.").format(
                        script=escape_markdown(script.name), version=saved.version.number
                    )
                )
            else:
                st.info(_("The text is the same as the latest version: nothing to save."))
        except DbaAdminError as exc:
            show_error(exc, action=_("Saving the version"))


def _recent_runs() -> None:
    with st.sidebar:
        st.caption(_("RECENT RUNS · click to load"))
        try:
            runs = projects.history(user.claims, mine_only=True, limit=8)
        except DbaAdminError as exc:
            show_error(exc, action=_("Reading your history"))
            return
        if not runs:
            st.caption(_("Nothing run yet."))
        for run in runs:
            first = next(
                (line.strip() for line in run.sql.splitlines() if line.strip() and not line.strip().startswith("--")),
                run.sql.strip(),
            )
            icon = "✅" if run.status == "success" else "❌"
            st.button(
                f"{icon} {escape_markdown(first[:38])}{'…' if len(first) > 38 else ''}",
                key=f"sql_editor_hist_{run.id}",
                help=f"{when(run.started_at)} · {run.status}"
                + (
                    " · " + _("on {connection}").format(connection=escape_markdown(run.connection))
                    if run.connection
                    else ""
                )
                + f"\n\n{escape_markdown(run.sql[:400])}",
                on_click=_load,
                args=(run.sql,),
                width="stretch",
                type="tertiary",
            )


# --- the page -------------------------------------------------------------------------------------------------

head, badge = st.columns([3, 2], vertical_alignment="bottom")
head.title(_("SQL editor"))
with badge:
    if WRITE_MODE:
        st.badge(_("Write mode · destructive statements ask first"), icon=":material/edit:", color="orange")
    else:
        st.badge(_("Read-only"), icon=":material/lock:", color="blue")
        if not user.is_dba:
            st.caption(
                _(
                    "As {role}, your SQL runs on the connection's read-only login in a read-only transaction: "
                    "SELECT works, changes are refused."
                ).format(role=user.role)
            )
show_connection(services, conn)
if user.is_dba and not conn.has_dba_login:
    st.info(escape_markdown(dba_login_notice(conn)), icon=":material/lock:")


def _error_annotations(last: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The last run's error as an Ace gutter annotation, when it ran the editor's current text."""
    if not last or last.get("scope") != "text":
        return []
    err = last.get("error") or (outcome_error(last["outcome"]) if "outcome" in last else None)
    return error_annotations(st.session_state[TEXT], last.get("sql"), err)


# Requests from button callbacks are done before the editor is drawn, so its error marker is current.
request = st.session_state.pop(REQUEST, None)
if request:
    _do(request)

sql_input(
    text_key=TEXT,
    ace_key=ACE,
    area_key=AREA,
    annotations=_error_annotations(st.session_state.get(RESULT)),
    buttons=EDITOR_BUTTONS,
)
_sync_from_editor()  # Ctrl/Cmd+Enter and the editor's own buttons enqueue here

bar = st.columns([1, 1, 1, 1.4, 1.4, 1.6, 2.5], vertical_alignment="center")
bar[0].button(
    _("Run"),
    type="primary",
    key="sql_editor_run",
    on_click=_click_run,
    icon=":material/play_arrow:",
    width="stretch",
)
bar[1].button(
    _("Format"),
    key="sql_editor_format",
    on_click=_click_format,
    icon=":material/format_align_left:",
    width="stretch",
)
bar[2].button(
    _("Explain"),
    key="sql_editor_explain",
    on_click=_click_explain,
    args=(False,),
    icon=":material/account_tree:",
    width="stretch",
)
bar[3].button(
    _("Explain analyze"),
    key="sql_editor_explain_analyze",
    on_click=_click_explain,
    args=(True,),
    icon=":material/speed:",
    width="stretch",
)
bar[4].button(
    _("Index advice"),
    key="sql_editor_index_advice",
    on_click=_click_index_advice,
    icon=":material/bolt:",
    width="stretch",
    disabled=not user.is_dba,
    help=_(
        "Candidate indexes for the statement, each priced by the planner with a hypothetical index (hypopg) and "
        "kept only when it lowers the cost. For DBAs; nothing is created."
    )
    if user.is_dba
    else _("For DBAs: it plans the statement on the connection's DBA login."),
)
with bar[5].popover(_("Save to project"), icon=":material/save:", width="stretch"):
    _save_to_project()
with bar[6]:
    if WRITE_MODE:
        if ONE_TX_TOGGLE not in st.session_state:  # back on the page: the choice made earlier in the session
            st.session_state[ONE_TX_TOGGLE] = bool(st.session_state.get(ONE_TX, False))
        st.toggle(
            _("Run as one transaction (all or nothing)"),
            key=ONE_TX_TOGGLE,
            on_change=_remember_one_transaction,
            help=_(
                "Off: each statement commits on its own, as in psql, and a failure stops the run there. "
                "On: every statement commits together, or on any error everything is rolled back. VACUUM, "
                "CREATE INDEX CONCURRENTLY and BEGIN/COMMIT cannot run this way."
            ),
        )
    st.caption(
        _("Row cap {rows} · timeout {seconds} s").format(
            rows=number(MAX_ROWS), seconds=number(services.settings.statement_timeout_ms / 1000)
        )
    )

request = st.session_state.pop(REQUEST, None)
if request:
    _do(request)

pending = st.session_state.get(PENDING)
if pending:
    _show_pending(pending)
result = st.session_state.get(RESULT)
if result:
    _show_result(result)
    with st.expander(_("Ask the assistant about this SQL"), icon=":material/smart_toy:"):
        render_sql_helpers(result.get("sql", ""), _last_error_message(result), on_use_sql=_set_text, db=conn)

_recent_runs()
