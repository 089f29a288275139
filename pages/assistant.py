"""Assistant: ask about the schema in plain words (English or Portuguese); SQL in answers is checked with EXPLAIN.

The chat shows one conversation at a time; the sidebar lists the user's own past conversations (RLS decides
what is theirs) to reopen or delete. With Gemini on, answers stream as they are written; the checked answer
then replaces the streamed text (a repaired query may differ from the first draft). A conversation can also
be opened by link (``?conversation=<id>``): someone else's id opens nothing. The assistant is per connection: it
answers from the chosen connection's schema and checks SQL there.

An answer starts with the team's saved scripts that match the question (only those the user may read). A checked
query has a "Run" button: it runs read-only through the SQL editor's path (recorded in the history, capped), shows
the rows and a chart, and offers "Save to project". Nothing runs without that click.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import streamlit as st

from dba_admin.assistant.assistant import Answer
from dba_admin.assistant.examples import run_checked_sql, save_answer_to_project
from dba_admin.charts import ChartError, build_figure, default_spec
from dba_admin.errors import DbaAdminError, QueryError
from dba_admin.i18n import N_
from ui.assistant import ChatEntry, example_questions, get_assistant, render_entry, render_status_badge
from ui.i18n import _, ngettext, number, when
from ui.markdown import escape_markdown
from ui.session import current_connection, get_services, require_page, show_connection, show_error

CONV = "assistant_conversation"  # id (str) of the open conversation; None starts a new one
TURNS = "assistant_turns"  # list[ChatEntry] of the open conversation; None means "load it"
OWNER = "assistant_owner"  # whose chat the two keys above hold (a new login in the same browser starts over)
PENDING = "assistant_pending"  # an example question clicked, asked on this run
CONFIRM = "assistant_confirm_delete"  # the conversation waiting for "Delete" to be confirmed
OFFLINE = "assistant_offline"  # the user's "offline only" toggle
NOT_FOUND = "assistant_not_found"  # a linked conversation that is not this user's (said once)
RUNS = "assistant_runs"  # Run results of answers' SQL: {button key: {"sql", "connection", "outcome"/"error"}}
SAVED = "assistant_saved"  # {button key: what "Save to project" said last}
NEW_PROJECT = N_("➕ New project…")  # an option value; shown translated
QUERY_PARAM = "conversation"

user = require_page("assistant")
services = get_services()
conn = current_connection(services, user)
assistant = get_assistant(services, conn)
claims = user.claims

if st.session_state.get(OWNER) != (user.username, conn.name):  # a new login or another connection: a fresh chat
    for stale in (CONV, TURNS, PENDING, CONFIRM, NOT_FOUND, RUNS, SAVED):
        st.session_state.pop(stale, None)
    st.session_state[OWNER] = (user.username, conn.name)
st.session_state.setdefault(CONV, None)
st.session_state.setdefault(TURNS, [])


def _start_new() -> None:
    st.query_params.pop(QUERY_PARAM, None)
    st.session_state[CONV] = None
    st.session_state[TURNS] = []
    for stale in (CONFIRM, RUNS, SAVED):
        st.session_state.pop(stale, None)


def _reopen(conversation_id: str) -> None:
    st.query_params[QUERY_PARAM] = conversation_id
    st.session_state[CONV] = conversation_id
    st.session_state[TURNS] = None
    for stale in (CONFIRM, RUNS, SAVED):
        st.session_state.pop(stale, None)


def _ask_example(question: str) -> None:
    st.session_state[PENDING] = question


def _valid_uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _run_answer(key: str, sql: str) -> None:
    """Run one checked query of an answer (read-only, recorded, capped) and keep its result for the reruns."""
    result: dict[str, Any] = {"sql": sql, "connection": conn.name}
    try:
        with st.spinner(_("Running on {connection}…").format(connection=conn.name)):
            result["outcome"] = run_checked_sql(services.projects, claims, sql, conn)
    except QueryError as exc:
        result["error"] = exc.info.message + (f" (SQLSTATE {exc.info.sqlstate})" if exc.info.sqlstate else "")
    except DbaAdminError as exc:
        result["error"] = str(exc)
    st.session_state.setdefault(RUNS, {})[key] = result
    st.session_state.setdefault(SAVED, {}).pop(key, None)


def _show_rows(key: str, result: dict[str, Any]) -> bool:
    """The run's rows and a first chart; True when it returned rows (then it may be saved)."""
    if "error" in result:
        st.error(
            _("The run failed: {message}").format(message=escape_markdown(result["error"])), icon=":material/error:"
        )
        return False
    outcome = result["outcome"]
    execution = outcome.execution
    parts = [_("read-only"), _("on {connection}").format(connection=escape_markdown(result["connection"]))]
    if execution is not None:
        parts.append(_("saved in your history as run #{id}").format(id=execution.id))
    res = outcome.results[0] if outcome.results else None
    if res is None or res.error is not None or outcome.error is not None:
        info = res.error if res is not None and res.error is not None else outcome.error
        message = info.message if info is not None else _("the statement did not run")
        st.error(_("The run failed: {message}").format(message=escape_markdown(message)), icon=":material/error:")
        st.caption(" · ".join(parts))
        return False
    parts[:0] = [
        ngettext("{count} row", "{count} rows", res.row_count).format(count=number(res.row_count)),
        _("{ms} ms").format(ms=number(res.duration_ms, digits=1)),
    ]
    st.caption(" · ".join(parts))
    if res.truncated:
        st.warning(
            _("Row cap reached: showing the first {count} rows; the query returns more.").format(
                count=number(res.row_count)
            ),
            icon=":material/content_cut:",
        )
    if res.size_cut_notice:
        st.warning(escape_markdown(res.size_cut_notice), icon=":material/content_cut:")
    frame = res.rows
    st.dataframe(frame, width="stretch", hide_index=True, key=f"{key}_df")
    spec = default_spec(frame)
    if spec is not None and len(frame.columns) > 1:
        try:
            st.plotly_chart(build_figure(frame, spec), width="stretch", key=f"{key}_chart")
        except ChartError as exc:
            st.caption(_("No chart: {reason}").format(reason=escape_markdown(exc)))
    return True


def _save_form(key: str, sql: str, question: str) -> None:
    """ "Save to project": one of the user's projects, or a new one; the script gets the question as its name."""
    saved = st.session_state.get(SAVED, {}).get(key)
    if saved:
        st.success(saved, icon=":material/check_circle:")
    with st.expander(_("Save to project"), icon=":material/save:", expanded=False):
        try:
            mine = services.projects.list_projects(claims, include_archived=False)
        except DbaAdminError as exc:
            show_error(exc, action=_("Listing your projects"))
            return
        by_label = {f"{p.name} ({str(p.id)[:8]})": p for p in mine}
        choice = st.selectbox(
            _("Project"),
            [*by_label, NEW_PROJECT],
            key=f"{key}_project",
            format_func={**{label: label for label in by_label}, NEW_PROJECT: _(NEW_PROJECT)}.__getitem__,
        )
        new_name = None
        if choice == NEW_PROJECT:
            new_name = st.text_input(_("New project name"), key=f"{key}_new_project")
        name = st.text_input(_("Script name"), value=question[:120], key=f"{key}_script_name")
        if st.button(_("Save"), key=f"{key}_save", type="primary", icon=":material/save:"):
            project = by_label.get(choice)
            if choice == NEW_PROJECT and not (new_name or "").strip():
                st.error(_("Name the new project first."))
                return
            try:
                project, script = save_answer_to_project(
                    services.projects,
                    claims,
                    sql,
                    name,
                    project_id=project.id if project is not None else None,
                    new_project=new_name if choice == NEW_PROJECT else None,
                    question=question,
                )
            except (DbaAdminError, ValueError) as exc:
                show_error(exc, action=_("Saving to the project"))
                return
            st.session_state.setdefault(SAVED, {})[key] = _(
                "Saved as {script} (version 1) in project {project}."
            ).format(script=escape_markdown(script.name), project=escape_markdown(project.name))
            st.rerun()


def _answer_actions(entry: ChatEntry, key: str) -> None:
    """Under an answer: "Run" for each checked query, then its rows, chart and "Save to project"."""
    valid = [(i, c) for i, c in enumerate(entry.checks) if c.status == "valid"]
    for i, check in valid:
        run_key = f"{key}_run_{i}"
        label = _("Run") if len(valid) == 1 else _("Run query {number}").format(number=i + 1)
        if st.button(
            label,
            key=run_key,
            icon=":material/play_arrow:",
            help=_(
                "Run it read-only on {connection}, as the SQL editor does: recorded in your history, row cap {cap}."
            ).format(connection=escape_markdown(conn.name), cap=number(services.settings.max_rows)),
        ):
            _run_answer(run_key, check.sql)
        result = st.session_state.get(RUNS, {}).get(run_key)
        if not result or result["sql"] != check.sql or result["connection"] != conn.name:
            continue
        with st.container(border=True):
            if _show_rows(run_key, result):
                _save_form(run_key, check.sql, entry.question)


# A link to a conversation: only loaded once per id, so a new question does not jump back to it.
linked = st.query_params.get(QUERY_PARAM)
if linked and linked != st.session_state[CONV]:
    linked_id = _valid_uuid(str(linked))
    if linked_id is None:
        st.session_state[NOT_FOUND] = True
        del st.query_params[QUERY_PARAM]
    else:
        _reopen(linked_id)

if st.session_state[TURNS] is None:
    conversation = st.session_state[CONV]
    try:
        turns = assistant.load_conversation(claims, conversation) if conversation else []
    except DbaAdminError as exc:
        show_error(exc, action=_("Opening the conversation"))
        turns = []
    if conversation and not turns:
        # Not found, or someone else's (RLS returns nothing): say no more than that.
        st.session_state[NOT_FOUND] = True
        _start_new()
    else:
        explain = conn.explain
        st.session_state[TURNS] = [ChatEntry.from_turn(t, explain) for t in turns]

# Keep the address bar on the open conversation, so the link reopens it.
if st.session_state[CONV]:
    if st.query_params.get(QUERY_PARAM) != st.session_state[CONV]:
        st.query_params[QUERY_PARAM] = st.session_state[CONV]
elif QUERY_PARAM in st.query_params:
    del st.query_params[QUERY_PARAM]

# --- header: title and mode badge ------------------------------------------------------------------------

status = assistant.status()
head, badge = st.columns([3, 2], vertical_alignment="center")
head.title(_("Assistant"))
with badge:
    render_status_badge(status)
show_connection(services, conn)
if status.mode == "gemini":
    st.toggle(
        _("Offline answers only"),
        key=OFFLINE,
        help=_("Answer from the catalog alone; nothing is sent to Gemini."),
    )
    limit = status.daily_token_limit
    if limit > 0:
        used: int | None
        try:
            used = assistant.tokens_used_today(claims)
        except DbaAdminError:
            used = None
        if used is not None and used >= limit:
            st.warning(
                _(
                    "Daily Gemini limit reached ({used} of {limit} tokens today, UTC): answers come from the "
                    "offline assistant until midnight UTC. An admin can raise ASSISTANT_DAILY_TOKEN_LIMIT."
                ).format(used=number(used), limit=number(limit))
            )
        elif used is not None:
            st.caption(_("Gemini tokens used today: {used} of {limit}.").format(used=number(used), limit=number(limit)))
else:
    st.caption(
        _(
            "Offline mode: answers come from the live catalog only (table and column names, comments, keys, "
            "policies). Set GEMINI_API_KEY to answer with Gemini."
        )
    )

if st.session_state.pop(NOT_FOUND, False):
    st.warning(_("That conversation is not one of yours (or no longer exists); a new conversation was started."))

# --- the conversation ------------------------------------------------------------------------------------

entries: list[ChatEntry] = st.session_state[TURNS]
for turn_no, entry in enumerate(entries):
    with st.chat_message("user"):
        st.markdown(escape_markdown(entry.question))  # what the user typed, shown as typed
    with st.chat_message("assistant"):
        render_entry(entry, f"assistant_turn_{turn_no}")
        _answer_actions(entry, f"assistant_turn_{turn_no}")

typed = st.chat_input(_("Ask about your database (English or Português)…"), key="assistant_input")
question = (typed or st.session_state.pop(PENDING, None) or "").strip()

if not entries and not question:
    st.markdown(
        _(
            "Ask where data lives, how tables join, or why a query fails. Answers are grounded in the live "
            "schema, and every SQL they propose is checked with EXPLAIN — never run. Open a valid query in the "
            "SQL editor to run it yourself."
        )
    )
    for (language, questions), column in zip(example_questions(), st.columns(2), strict=True):
        with column:
            st.caption(language)
            for i, example in enumerate(questions):
                st.button(
                    example,
                    key=f"assistant_example_{language[:2].lower()}_{i}",
                    on_click=_ask_example,
                    args=(example,),
                    width="stretch",
                )

if question:
    with st.chat_message("user"):
        st.markdown(escape_markdown(question))
    offline = bool(st.session_state.get(OFFLINE, False))
    streaming = status.mode == "gemini" and status.breaker != "open" and not offline
    turn_no = len(entries)
    with st.chat_message("assistant"):
        holder = st.empty()
        answer: Answer | None = None
        try:
            if streaming:
                finals: list[Answer] = []

                def _chunks() -> Iterator[str]:
                    for item in assistant.ask_stream(
                        claims, question, conversation_id=st.session_state[CONV], offline=offline
                    ):
                        if isinstance(item, Answer):
                            finals.append(item)
                        else:
                            yield item

                with holder.container():
                    st.write_stream(_chunks())
                answer = finals[-1] if finals else None
            else:
                with holder.container(), st.spinner(_("Looking through the schema…")):
                    answer = assistant.ask(claims, question, conversation_id=st.session_state[CONV], offline=offline)
        except DbaAdminError as exc:
            with holder.container():
                show_error(exc, action=_("Answering"))
        if answer is not None:
            entry = ChatEntry.from_answer(question, answer)
            entries.append(entry)
            st.session_state[CONV] = str(answer.conversation_id)
            if st.query_params.get(QUERY_PARAM) != st.session_state[CONV]:
                st.query_params[QUERY_PARAM] = st.session_state[CONV]
            with holder.container():
                render_entry(entry, f"assistant_turn_{turn_no}")
                _answer_actions(entry, f"assistant_turn_{turn_no}")

# --- the sidebar: this user's conversations (drawn last, so a conversation started above is listed) -------

with st.sidebar:
    st.divider()
    st.caption(_("Conversations").upper())
    st.button(
        _("New conversation"),
        key="assistant_new",
        icon=":material/add_comment:",
        on_click=_start_new,
        width="stretch",
    )
    try:
        conversations = assistant.list_conversations(claims, limit=30)
    except DbaAdminError as exc:
        show_error(exc, action=_("Listing your conversations"))
        conversations = []
    if not conversations:
        st.caption(_("No conversations yet."))
    for conv in conversations:
        conv_id = str(conv.id)
        is_open = conv_id == st.session_state[CONV]
        left, right = st.columns([5, 1], vertical_alignment="center")
        left.button(
            escape_markdown(conv.title) or _("(untitled)"),
            key=f"assistant_open_{conv_id}",
            type="primary" if is_open else "secondary",
            on_click=_reopen,
            args=(conv_id,),
            width="stretch",
            help=ngettext(
                "{count} question · last {time} UTC · {tokens} tokens",
                "{count} questions · last {time} UTC · {tokens} tokens",
                conv.turns,
            ).format(
                count=conv.turns,
                time=when(conv.last_at.astimezone(dt.UTC), length="short"),
                tokens=number(conv.tokens),
            ),
        )
        if right.button("", key=f"assistant_delete_{conv_id}", icon=":material/delete:", help=_("Delete")):
            st.session_state[CONFIRM] = conv_id
        if st.session_state.get(CONFIRM) == conv_id:
            st.warning(
                ngettext(
                    "Delete “{title}” and its {count} question? This cannot be undone.",
                    "Delete “{title}” and its {count} questions? This cannot be undone.",
                    conv.turns,
                ).format(title=escape_markdown(conv.title), count=conv.turns)
            )
            yes, no = st.columns(2)
            if yes.button(_("Delete"), key=f"assistant_confirm_{conv_id}", type="primary"):
                try:
                    assistant.delete_conversation(claims, conv_id)
                except DbaAdminError as exc:
                    show_error(exc, action=_("Deleting the conversation"))
                else:
                    if is_open:
                        _start_new()
                    st.session_state.pop(CONFIRM, None)
                    st.rerun()
            if no.button(_("Keep"), key=f"assistant_keep_{conv_id}"):
                st.session_state.pop(CONFIRM, None)
                st.rerun()
