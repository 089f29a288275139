"""The Assistant page through AppTest, from app.py and the real login: offline mode, and Gemini mode with the real
google-genai client aimed at the local server that speaks the Gemini REST API (tests/gemini_stub.py).

What a user relies on: an answer that names the right table, the context tables under it, a checked SQL block
whose "Open in SQL editor" hands the SQL over, the mode badge telling Gemini from offline, conversations to
reopen and delete, and nothing of anyone else's conversation.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from apptest_helpers import claims_of, logged_in_app, logged_in_page, make_user, texts
from db_helpers import workspace_manager
from gemini_stub import MODEL, FakeGemini, Scripted
from streamlit.testing.v1 import AppTest

from dba_admin.auth import UserStore
from dba_admin.projects import ProjectManager

PAGE = "pages/assistant.py"


@pytest.fixture(autouse=True)
def _app_env(app_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    for name in ("GEMINI_API_KEY", "GEMINI_BASE_URL", "GEMINI_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))


def assistant_page(app_db: Any, role: str = "analyst") -> tuple[AppTest, str]:
    return logged_in_page(app_db.dsn, PAGE, role)


def ask(at: AppTest, question: str) -> None:
    at.chat_input(key="assistant_input").set_value(question).run()
    assert not at.exception, at.exception


def stored_questions(app_db: Any, conversation_id: str) -> list[str]:
    with psycopg.connect(app_db.dsn) as conn:
        rows = conn.execute(
            "select pergunta from public.duvidas_analitics_ia where conversa_id = %s order by id", (conversation_id,)
        ).fetchall()
    return [r[0] for r in rows]


def test_offline_answer_shows_tables_context_and_opens_valid_sql(app_db: Any) -> None:
    at, _ = assistant_page(app_db)
    shown = texts(at)
    assert "Offline" in shown and "GEMINI_API_KEY" in shown
    labels = [b.label for b in at.button]
    assert "Which table holds payments?" in labels and "Qual tabela guarda os pagamentos?" in labels

    ask(at, "which table holds payments?")
    shown = texts(at)
    assert "public.payments" in shown
    assert "Context tables:" in shown and "`public.payments`" in shown
    assert "✅ Valid" in shown
    sql = at.code[0].value
    assert "FROM public.payments" in sql
    assert not any(b.label == "Which table holds payments?" for b in at.button), "the empty state is gone"
    conversation = at.session_state["assistant_conversation"]
    assert stored_questions(app_db, conversation) == ["which table holds payments?"]

    at.button(key="assistant_turn_0_sql_0").click().run()
    assert at.session_state["sql_editor_text"] == sql


def test_an_example_question_is_asked_in_portuguese(app_db: Any) -> None:
    at, _ = assistant_page(app_db, "viewer")
    next(b for b in at.button if b.label == "Qual tabela guarda os pagamentos?").click().run()
    assert not at.exception
    shown = texts(at)
    assert "Qual tabela guarda os pagamentos?" in shown
    assert "`public.payments`" in shown


def test_an_error_message_is_explained_without_sql_to_open(app_db: Any) -> None:
    at, _ = assistant_page(app_db)
    ask(at, 'why does this fail: column "nome_do_pet" does not exist')
    shown = texts(at)
    assert "Undefined column (42703)" in shown and "nome_do_pet" in shown
    assert not at.code, "no SQL proposed, so no SQL block"
    assert not any(b.label == "Open in SQL editor" for b in at.button)


def test_conversations_reopen_continue_and_delete(app_db: Any) -> None:
    at, _ = assistant_page(app_db)
    ask(at, "where is the phone number of a customer?")
    first = at.session_state["assistant_conversation"]
    at.button(key="assistant_new").click().run()
    assert not at.exception
    assert at.session_state["assistant_conversation"] is None
    assert "where is the phone number" not in texts(at)
    assert any(b.label == "Which table holds payments?" for b in at.button), "a new conversation is empty"

    at.button(key=f"assistant_open_{first}").click().run()
    assert not at.exception
    assert "where is the phone number of a customer?" in texts(at)
    assert "`public.user_profiles`" in texts(at)
    ask(at, "and how do I join it to orders?")
    assert at.session_state["assistant_conversation"] == first, "the question continues the reopened conversation"
    assert len(stored_questions(app_db, first)) == 2

    at.button(key=f"assistant_delete_{first}").click().run()
    assert "cannot be undone" in texts(at)
    at.button(key=f"assistant_confirm_{first}").click().run()
    assert not at.exception
    assert stored_questions(app_db, first) == []
    assert not any(b.key == f"assistant_open_{first}" for b in at.button)
    assert at.session_state["assistant_conversation"] is None


def test_someone_elses_conversation_does_not_open(app_db: Any) -> None:
    owner, _ = assistant_page(app_db)
    ask(owner, "which table holds the secret-ish campaign recipients?")
    conversation = owner.session_state["assistant_conversation"]

    other, _ = logged_in_app(app_db.dsn, "analyst")
    other.query_params["conversation"] = conversation
    other.switch_page(PAGE).run()
    assert not other.exception
    shown = texts(other)
    assert "not one of yours" in shown
    assert "campaign recipients" not in shown
    assert other.session_state["assistant_conversation"] is None
    assert not any(b.key == f"assistant_open_{conversation}" for b in other.button)
    # ...and a made-up id says the same, without an error.
    other.query_params["conversation"] = str(uuid.uuid4())
    other.run()
    assert not other.exception
    assert "not one of yours" in texts(other)
    # The owner's conversation is untouched.
    assert stored_questions(app_db, conversation) == ["which table holds the secret-ish campaign recipients?"]


def test_gemini_mode_streams_and_shows_the_model(
    app_db: Any,
    gemini: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "test-key-not-real")
    monkeypatch.setenv("GEMINI_BASE_URL", gemini.url)
    monkeypatch.setenv("GEMINI_MODEL", MODEL)
    gemini.default = Scripted(
        text=(
            "Payments live in **public.payments**, one row per attempt.\n"
            "```sql\nSELECT p.id, p.amount, p.status FROM public.payments AS p\n"
            "ORDER BY p.created_at DESC LIMIT 5;\n```\n"
            "And a query that does not check:\n"
            "```sql\nSELECT p.nonexistent_column FROM public.payments AS p;\n```"
        ),
        prompt_tokens=200,
        output_tokens=40,
    )
    at, _ = assistant_page(app_db)
    shown = texts(at)
    assert f"Gemini {MODEL}" in shown
    assert at.toggle(key="assistant_offline").value is False

    ask(at, "which table holds payments?")
    shown = texts(at)
    assert "Payments live in **public.payments**" in shown
    assert any(":streamGenerateContent" in r["path"] for r in gemini.requests), "the answer was streamed"
    assert "✅ Valid" in shown
    assert "✗ Not valid" in shown and "nonexistent_column" in shown
    assert [b.key for b in at.button if b.label == "Open in SQL editor"] == ["assistant_turn_0_sql_0"]
    assert f"Gemini {MODEL}" in shown and "tokens" in shown
    assert "`public.payments`" in shown
    assert "Gemini tokens used today" in shown

    # The "offline answers only" toggle sends nothing to Gemini.
    before = len(gemini.requests)
    at.toggle(key="assistant_offline").set_value(True).run()
    ask(at, "where are the orders?")
    assert len(gemini.requests) == before
    assert "`public.orders`" in texts(at)


def _editor_helpers(sql: str, error: str | None) -> None:
    """A stand-in for the SQL editor page: the helper buttons under some SQL (and an error)."""
    from ui.assistant import render_sql_helpers

    render_sql_helpers(sql, error)


def test_sql_editor_helpers_explain_why_and_suggest(app_db: Any) -> None:
    username, _ = make_user(app_db.dsn, "analyst")
    with psycopg.connect(app_db.dsn) as conn:
        user = UserStore(conn).get(username)
    good = "select * from public.payments where provider_reference = 'x'"
    at = AppTest.from_function(_editor_helpers, args=(good, None), default_timeout=60)
    at.session_state["dba_user"] = user
    at.run()
    assert not at.exception, at.exception
    assert at.button(key="sql_editor_ai_why").disabled, "nothing failed, so nothing to explain"
    at.button(key="sql_editor_ai_explain").click().run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert "Explain this query" in shown and "public.payments" in shown
    at.button(key="sql_editor_ai_index").click().run()
    assert not at.exception, at.exception
    assert "Suggest an index" in texts(at)
    conversation = at.session_state["sql_editor_ai_conversation"]
    assert len(stored_questions(app_db, conversation)) == 2, "the editor's questions share one conversation"

    bad = "select nome_do_pet from public.pets"
    failing = AppTest.from_function(
        _editor_helpers, args=(bad, 'column "nome_do_pet" does not exist'), default_timeout=60
    )
    failing.session_state["dba_user"] = user
    failing.run()
    failing.button(key="sql_editor_ai_why").click().run()
    assert not failing.exception, failing.exception
    shown = texts(failing)
    assert "Why did this fail?" in shown and "nome_do_pet" in shown


def test_daily_limit_switches_to_offline_and_says_so(
    app_db: Any,
    gemini: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "test-key-not-real")
    monkeypatch.setenv("GEMINI_BASE_URL", gemini.url)
    monkeypatch.setenv("GEMINI_MODEL", MODEL)
    monkeypatch.setenv("ASSISTANT_DAILY_TOKEN_LIMIT", "100")
    gemini.default = Scripted(text="Orders are in public.orders.", prompt_tokens=200, output_tokens=40)
    at, _ = assistant_page(app_db)
    ask(at, "where are the orders?")
    assert len(gemini.requests) == 1
    ask(at, "and the payments?")
    assert len(gemini.requests) == 1, "over the limit: nothing more is sent to Gemini"
    shown = texts(at)
    assert "Daily Gemini limit reached" in shown
    assert "daily Gemini budget" in shown, "the answer's own notice says why it is offline"
    assert "`public.payments`" in shown


# --- Run and Save to project (issue 14, section 2) -----------------------------------------------------------


def runs_by(app_db: Any, username: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(app_db.dsn) as conn:
        return conn.execute(
            "select status, banco, sql_executado from public.execucoes_scripts where executado_por = %s order by id",
            (f"{username}@example.com",),
        ).fetchall()


def scripts_named(app_db: Any, name: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(app_db.dsn) as conn:
        return conn.execute(
            "select p.nome, s.sql, s.versao_atual, s.created_by from public.scripts_projetos s"
            " join public.projetos_analytics p on p.id = s.projeto_id where s.nome = %s order by s.created_at",
            (name,),
        ).fetchall()


def test_run_shows_rows_and_records_the_run(app_db: Any) -> None:
    at, username = assistant_page(app_db)
    ask(at, "which table holds pets?")
    assert "✅ Valid" in texts(at)
    assert not at.dataframe, "nothing runs before the click"
    assert runs_by(app_db, username) == []

    at.button(key="assistant_turn_0_run_0").click().run()
    assert not at.exception, at.exception
    frame = at.dataframe[0].value
    assert len(frame.index) >= 1
    shown = texts(at)
    assert "read-only" in shown and "saved in your history as run #" in shown
    runs = runs_by(app_db, username)
    assert [(r[0], r[1]) for r in runs] == [("success", "demo")]
    assert "public.pets" in runs[0][2]

    at.run()  # a plain rerun draws the result again and runs nothing
    assert not at.exception
    assert at.dataframe and len(runs_by(app_db, username)) == 1


def test_save_to_project_creates_a_script_and_says_when_the_name_is_taken(app_db: Any) -> None:
    at, username = assistant_page(app_db)
    workspace = workspace_manager(app_db)
    try:
        project = ProjectManager(workspace).create_project(
            claims_of(app_db.dsn, username), f"Clinic ops {uuid.uuid4().hex[:6]}"
        )
    finally:
        workspace.close()
    ask(at, "which table holds pets?")
    at.button(key="assistant_turn_0_run_0").click().run()
    assert not at.exception, at.exception
    sql = at.code[0].value

    # An existing project of the user's.
    name = f"Pets list {uuid.uuid4().hex[:6]}"
    choice = next(o for o in at.selectbox(key="assistant_turn_0_run_0_project").options if project.name in o)
    at.selectbox(key="assistant_turn_0_run_0_project").select(choice).run()
    at.text_input(key="assistant_turn_0_run_0_script_name").set_value(name).run()
    at.button(key="assistant_turn_0_run_0_save").click().run()
    assert not at.exception, at.exception
    assert f"Saved as {name} (version 1) in project {project.name}." in texts(at)
    saved = scripts_named(app_db, name)
    assert len(saved) == 1 and saved[0][0] == project.name and saved[0][2] == 1
    assert saved[0][1].strip().rstrip(";") == sql.strip().rstrip(";")
    assert saved[0][3] == f"{username}@example.com"

    # The same name again: a clear message, nothing overwritten.
    at.button(key="assistant_turn_0_run_0_save").click().run()
    assert not at.exception, at.exception
    assert "already has a script named" in texts(at)
    assert len(scripts_named(app_db, name)) == 1

    # A new project, named in the form.
    new_project = f"From the assistant {uuid.uuid4().hex[:6]}"
    at.selectbox(key="assistant_turn_0_run_0_project").select("➕ New project…").run()
    at.text_input(key="assistant_turn_0_run_0_new_project").set_value(new_project).run()
    at.button(key="assistant_turn_0_run_0_save").click().run()
    assert not at.exception, at.exception
    assert [r[0] for r in scripts_named(app_db, name)] == [project.name, new_project]
    assert f"in project {new_project}." in texts(at)
