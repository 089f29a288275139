"""The assistant as the pages see it: one GeminiAssistant per server process, answers drawn the same way everywhere.

One instance per process matters: the circuit breaker lives in it, so after three Gemini failures every
session gets offline answers for a minute instead of each session finding out on its own. The SQL editor
calls :func:`render_sql_helpers` for its "Explain this query", "Why did this fail?" and "Suggest an index"
buttons; the assistant page and those buttons share :func:`render_entry`, so a checked SQL block looks (and
opens) the same in both places.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from dba_admin.assistant.assistant import Answer, AssistantStatus, GeminiAssistant, Turn
from dba_admin.assistant.checker import SqlCheck, check_sql, extract_sql
from dba_admin.config import Settings
from dba_admin.errors import DbaAdminError
from dba_admin.i18n import N_
from ui.i18n import _, ngettext, number
from ui.markdown import escape_markdown, model_markdown
from ui.session import current_connection, current_user, get_services, show_error

if TYPE_CHECKING:
    from dba_admin.database import DatabaseManager
    from dba_admin.services import Services

SQL_EDITOR_PAGE = "pages/sql_editor.py"
SQL_EDITOR_TEXT = "sql_editor_text"  # the SQL editor's text; setting it opens SQL there
HELPERS_KEY = "sql_editor_ai"  # session keys of the editor's helper buttons (they live on the SQL editor page)
_APP_ROOT = Path(__file__).resolve().parent.parent
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_SQL_LANGS = {"", "sql", "postgres", "postgresql", "pgsql", "psql", "plpgsql"}

# Marked here, shown through _(): TASK_TITLES[task] is the English name (also the question stored in the history).
TASK_TITLES = {
    "explain": N_("Explain this query"),
    "why_failed": N_("Why did this fail?"),
    "suggest_index": N_("Suggest an index"),
}


# --------------------------------------------------------------------------------------------------
# One GeminiAssistant per process
# --------------------------------------------------------------------------------------------------


def get_assistant(services: Services | None = None, db: DatabaseManager | None = None) -> GeminiAssistant:
    """The process-wide GeminiAssistant of a connection (shared breaker and schema index among its sessions).

    ``db``: the connection's manager (a page gets it from ``current_connection``); without it, the session's chosen
    connection, checked for this user.
    """
    services = services or get_services()
    if db is None:
        user = current_user()
        if user is None:
            raise DbaAdminError("the assistant needs a signed-in user")
        db = current_connection(services, user, check=False)
    return _assistant_for(services.settings, services.database_label, db.name, id(db), db)


@st.cache_resource(show_spinner=False, hash_funcs={Settings: repr}, max_entries=64)
def _assistant_for(settings: Settings, workspace_key: str, connection: str, db_id: int, _db: Any) -> GeminiAssistant:
    # Keyed on the settings (a new Gemini key or model gives a new assistant), the workspace and the connection:
    # one assistant, one schema index per connection. Also on the manager object, so a connection's pools closed and
    # opened again (least recently used, or its logins changed) get a new assistant instead of a closed manager.
    # The kept assistant holds its manager, so that id is never reused while the entry lives.
    return GeminiAssistant(_db, settings)


# --------------------------------------------------------------------------------------------------
# What a chat shows for one question
# --------------------------------------------------------------------------------------------------


@dataclass
class ChatEntry:
    """One question and its answer as drawn in a chat: from a fresh Answer or from a stored Turn."""

    question: str
    text: str
    checks: list[SqlCheck] = field(default_factory=list)
    tables: tuple[str, ...] = ()
    mode: str = "offline"
    notice: str | None = None
    tokens: int = 0
    when: dt.datetime | None = None
    rechecked: bool = False  # True for a reopened turn: its SQL was checked again against today's schema

    @classmethod
    def from_answer(cls, question: str, answer: Answer) -> ChatEntry:
        return cls(
            question=question,
            text=answer.text,
            checks=list(answer.sql_blocks),
            tables=tuple(answer.context_tables),
            mode=answer.mode,
            notice=answer.notice,
            tokens=answer.input_tokens + answer.output_tokens,
            when=dt.datetime.now(dt.UTC),
        )

    @classmethod
    def from_turn(cls, turn: Turn, explain: Callable[..., dict[str, Any]]) -> ChatEntry:
        """A stored turn; its SQL is checked again (EXPLAIN, never run) because the schema may have changed."""
        text = turn.answer or ""
        checks = [check_sql(explain, statement) for statement in extract_sql(text)[:8]]
        return cls(
            question=turn.question,
            text=text,
            checks=checks,
            tables=tuple(turn.context_tables),
            mode=turn.model or "offline",
            tokens=(turn.input_tokens or 0) + (turn.output_tokens or 0),
            when=turn.created_at,
            rechecked=True,
        )


def mode_label(mode: str) -> str:
    if mode.startswith("gemini:"):
        return f"Gemini {mode.split(':', 1)[1]}"
    if mode == "offline":
        return _("Offline")
    return mode[:1].upper() + mode[1:]


def render_status_badge(status: AssistantStatus) -> None:
    """The mode badge: which model answers (or offline), and the breaker when it is not closed."""
    if status.mode == "gemini" and status.breaker in (None, "closed"):
        st.badge(status.badge, icon=":material/auto_awesome:", color="green")
    elif status.mode == "gemini":
        st.badge(status.badge, icon=":material/pause_circle:", color="orange")
    else:
        st.badge(status.badge, icon=":material/cloud_off:", color="gray")
    st.caption(status.reason)


def open_in_sql_editor(sql: str) -> None:
    """Hand the SQL to the editor page and go there; the editor never runs it by itself."""
    st.session_state[SQL_EDITOR_TEXT] = sql
    if (_APP_ROOT / SQL_EDITOR_PAGE).is_file():
        st.switch_page(SQL_EDITOR_PAGE)
    st.info(_("The SQL editor page is not installed; the SQL was kept for it."))


def _normalized(text: str) -> str:
    return " ".join(text.replace(";", " ").split()).lower()


def render_check(
    check: SqlCheck,
    key: str,
    *,
    on_use_sql: Callable[[str], None] | None = None,
    use_label: str | None = None,
) -> None:
    """One SQL block: the code (with its copy button), its check status, and the open button when valid."""
    use_label = use_label or _("Open in SQL editor")
    st.code(check.sql, language="sql")
    if check.status == "valid":
        st.caption(_("✅ Valid: checked with EXPLAIN against the live schema (not run)."))
        if on_use_sql is not None:
            st.button(use_label, key=key, icon=":material/edit_note:", on_click=on_use_sql, args=(check.sql,))
        elif st.button(use_label, key=key, icon=":material/open_in_new:"):
            open_in_sql_editor(check.sql)
    elif check.status == "invalid":
        error = escape_markdown(check.error or _("the check failed"))
        if check.sqlstate:
            st.error(_("✗ Not valid (SQLSTATE {sqlstate}): {error}").format(sqlstate=check.sqlstate, error=error))
        else:
            st.error(_("✗ Not valid: {error}").format(error=error))
    else:
        st.warning(
            _("Not checked: {reason}").format(
                reason=escape_markdown(check.error or _("only single read statements are checked"))
            )
        )


def render_entry(
    entry: ChatEntry,
    key: str,
    *,
    on_use_sql: Callable[[str], None] | None = None,
    use_label: str | None = None,
) -> None:
    """The answer text with every SQL block replaced by the block and its check, then context and mode.

    The answer's prose is the model's own Markdown (by design) with its images and links defanged
    (:func:`ui.markdown.model_markdown`); everything this function adds around it (notices with error texts, the
    context tables) is escaped.

    Blocks are drawn where the answer put them, so the prose around a query still reads right; SQL the
    checker found outside fences is listed after the text.
    """
    remaining = list(enumerate(entry.checks))
    position = 0
    for match in _FENCE.finditer(entry.text):
        prose = entry.text[position : match.start()].strip()
        if prose:
            st.markdown(model_markdown(prose))
        position = match.end()
        lang, body = match.group(1).lower(), match.group(2)
        inside = [(i, c) for i, c in remaining if lang in _SQL_LANGS and _normalized(c.sql) in _normalized(body)]
        if not inside:
            st.code(body.rstrip("\n"), language=lang or None)
            continue
        for i, check in inside:
            render_check(check, f"{key}_sql_{i}", on_use_sql=on_use_sql, use_label=use_label)
        remaining = [(i, c) for i, c in remaining if (i, c) not in inside]
    tail = entry.text[position:].strip()
    if tail:
        st.markdown(model_markdown(tail))
    if remaining:
        st.caption(_("SQL in this answer:"))
        for i, check in remaining:
            render_check(check, f"{key}_sql_{i}", on_use_sql=on_use_sql, use_label=use_label)
    if entry.notice:
        st.info(escape_markdown(entry.notice))
    if entry.tables:
        st.caption(
            _("Context tables: {tables}").format(tables=" · ".join(escape_markdown(t, code=True) for t in entry.tables))
        )
    details = [escape_markdown(mode_label(entry.mode))]
    if entry.tokens:
        details.append(ngettext("{count} token", "{count} tokens", entry.tokens).format(count=number(entry.tokens)))
    if entry.rechecked and entry.checks:
        details.append(_("SQL re-checked against today's schema"))
    st.caption(" · ".join(details))


# --------------------------------------------------------------------------------------------------
# The SQL editor's helper buttons
# --------------------------------------------------------------------------------------------------


def render_sql_helpers(
    sql: str,
    error: str | None,
    *,
    on_use_sql: Callable[[str], None] | None = None,
    key: str = HELPERS_KEY,
    db: DatabaseManager | None = None,
) -> None:
    """The editor's "Explain this query", "Why did this fail?" and "Suggest an index", with the answer below.

    ``error`` is the editor's last error for this SQL (the middle button needs it). ``on_use_sql`` lets the
    editor put a proposed query into its own text (as a click callback); without it, valid SQL opens in the
    editor page. The answer is kept until the SQL changes, and the three actions of a session share one
    conversation, which the assistant page lists like any other. ``db``: the connection the SQL is about.
    """
    user = current_user()
    if user is None:
        return
    answer_key = f"{key}_answer"
    scope = db.name if db is not None else ""
    conversation_key = f"{key}_conversation_{scope}" if scope else f"{key}_conversation"  # one per connection
    blank = not sql.strip()
    cols = st.columns(3)
    task: str | None = None
    if cols[0].button(
        _(TASK_TITLES["explain"]),
        key=f"{key}_explain",
        disabled=blank,
        icon=":material/school:",
        help=_("What the query does, read from its plan and the schema (the query is not run)."),
    ):
        task = "explain"
    if cols[1].button(
        _(TASK_TITLES["why_failed"]),
        key=f"{key}_why",
        disabled=blank or not error,
        icon=":material/help:",
        help=_("The error in plain words and the closest real names.") if error else _("Run the SQL first: no error."),
    ):
        task = "why_failed"
    if cols[2].button(
        _(TASK_TITLES["suggest_index"]),
        key=f"{key}_index",
        disabled=blank,
        icon=":material/bolt:",
        help=_("Index candidates from the EXPLAIN plan (nothing is created)."),
    ):
        task = "suggest_index"
    if task is not None:
        services = get_services()
        assistant = get_assistant(services, db)
        conversation = st.session_state.get(conversation_key)
        try:
            with st.spinner(_("Asking the assistant…")):
                if task == "explain":
                    answer = assistant.explain_query(user.claims, sql, conversation_id=conversation)
                elif task == "why_failed":
                    answer = assistant.why_failed(user.claims, sql, error or "", conversation_id=conversation)
                else:
                    answer = assistant.suggest_index(user.claims, sql, conversation_id=conversation)
        except DbaAdminError as exc:
            show_error(exc, action=_(TASK_TITLES[task]))
            return
        st.session_state[conversation_key] = str(answer.conversation_id)
        st.session_state[answer_key] = {
            "task": task,
            "sql": sql,
            "owner": user.username,
            "connection": scope,
            "entry": ChatEntry.from_answer(TASK_TITLES[task], answer),
        }
    stored = st.session_state.get(answer_key)
    if (
        not stored
        or stored.get("sql") != sql
        or stored.get("owner") != user.username
        or stored.get("connection", "") != scope
    ):
        return
    with st.container(border=True):
        st.markdown(f"**{_(TASK_TITLES[stored['task']])}**")
        render_entry(
            stored["entry"],
            f"{key}_entry",
            on_use_sql=on_use_sql,
            use_label=_("Use this SQL") if on_use_sql is not None else _("Open in SQL editor"),
        )


def example_questions() -> Sequence[tuple[str, Sequence[str]]]:
    """The empty state's examples, in the two languages the team writes in.

    Each heading is written in its column's own language, whatever the interface's (as a language picker names each
    language in itself); the assistant page also keys its buttons on the heading's first two letters."""
    return (
        (
            "In English",
            (
                "Which table holds payments?",
                "How do I join orders and user_profiles?",
                "Describe public.appointments",
                "Count appointments per status",
            ),
        ),
        (
            "Em português",
            (
                "Qual tabela guarda os pagamentos?",
                "Como junto pedidos e itens do pedido?",
                "Onde fica o telefone do cliente?",
                "Últimos agendamentos de banho e tosa",
            ),
        ),
    )
