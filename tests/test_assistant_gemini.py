"""The assistant with the REAL google-genai client against a local server speaking the Gemini REST API.

Nothing in the SDK is mocked: `genai.Client` is pointed (HttpOptions.base_url) at a ThreadingHTTPServer on
127.0.0.1 that answers `POST /v1beta/models/{model}:generateContent` and `:streamGenerateContent?alt=sse`
the way Gemini does (candidates + usageMetadata, or an error object with code/status). The database is the
suite's real PostgreSQL; SQL in answers is checked there with EXPLAIN on the read-only role.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from db_helpers import demo_manager
from gemini_stub import MODEL, FakeGemini, Scripted

from dba_admin.assistant.assistant import MODE_BREAKER, MODE_FAILED, MODE_LIMIT, Answer, Assistant
from dba_admin.assistant.schema_index import estimate_tokens
from dba_admin.database import DatabaseManager
from dba_admin.rls import UserClaims


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db(app_db: Any) -> Iterator[DatabaseManager]:
    """Connection `demo` on its monitor login; conversations go to the workspace behind it."""
    manager = demo_manager(app_db, monitor=True)
    yield manager
    manager.close()


def new_user() -> UserClaims:
    return UserClaims(sub=uuid.uuid4(), email=f"asker-{uuid.uuid4().hex[:8]}@example.com", app_role="analyst")


def make_assistant(
    db: DatabaseManager,
    app_db: Any,
    gemini: FakeGemini,
    *,
    clock: FakeClock | None = None,
    timeout_s: float = 10.0,
    sleeps: list[float] | None = None,
    **settings: Any,
) -> Assistant:
    s = app_db.settings.with_overrides(gemini_api_key="test-key-not-real", gemini_model=MODEL, **settings)
    record = sleeps if sleeps is not None else []
    return Assistant(
        db,
        s,
        gemini_base_url=gemini.url,
        gemini_timeout_s=timeout_s,
        clock=clock or FakeClock(),
        sleep=record.append,
    )


def stored_rows(app_db: Any, conversation_id: uuid.UUID) -> list[tuple[Any, ...]]:
    with psycopg.connect(app_db.dsn) as conn:
        return conn.execute(
            "select modelo, tabelas_contexto, sql_sugerido, sql_valido, tokens_entrada, tokens_saida,"
            " user_email"
            " from public.duvidas_analitics_ia where conversa_id = %s order by id",
            (conversation_id,),
        ).fetchall()


GOOD_SQL = (
    "```sql\nSELECT o.id, o.status, o.total_amount FROM public.orders AS o ORDER BY o.created_at DESC LIMIT 10;\n```"
)


def test_the_sdk_path_and_prompt_hold_the_schema_within_the_budget(
    db: DatabaseManager, app_db: Any, gemini: FakeGemini
) -> None:
    gemini.default = Scripted(text="Orders are in public.orders.\n" + GOOD_SQL)
    assistant = make_assistant(db, app_db, gemini, assistant_token_budget=1500)
    answer = assistant.ask(new_user(), "which table holds the customers' orders and their payments?")

    assert answer.mode == f"gemini:{MODEL}"
    request = gemini.requests[0]
    assert request["path"] == f"/v1beta/models/{MODEL}:generateContent"
    assert request["headers"].get("x-goog-api-key") == "test-key-not-real"
    sent = gemini.request_text()
    # The schema of the relevant tables is in the prompt, as compact DDL...
    assert "CREATE TABLE public.orders" in sent
    assert "public.payments" in sent
    assert "public.orders" in answer.context_tables
    # ...the whole prompt stays within the budget (estimated conservatively)...
    assert estimate_tokens(sent) <= 1500
    # ...and nothing secret leaves the machine: no DSN, no password, no key in the body.
    body = json.dumps(request["body"])
    assert "test-key-not-real" not in body
    assert "password" not in body.lower()
    for dsn in (app_db.dsn, app_db.readonly_dsn, app_db.demo_monitor_dsn, app_db.demo_readonly_dsn):
        assert dsn not in body
    # By default only metadata is sent: no sample values.
    assert "e.g. " not in sent


def test_a_big_budget_sends_more_schema_and_still_keeps_it(
    db: DatabaseManager, app_db: Any, gemini: FakeGemini
) -> None:
    small = make_assistant(db, app_db, gemini, assistant_token_budget=1200)
    small.ask(new_user(), "how many pets does each tutor have?")
    large = make_assistant(db, app_db, gemini, assistant_token_budget=8000)
    large.ask(new_user(), "how many pets does each tutor have?")
    small_text, large_text = gemini.request_text(0), gemini.request_text(1)
    assert estimate_tokens(small_text) <= 1200
    assert estimate_tokens(large_text) <= 8000
    assert len(large_text) > len(small_text)
    assert "CREATE TABLE public.pets" in large_text and "public.tutors" in large_text


def test_sample_values_are_sent_only_when_enabled(db: DatabaseManager, app_db: Any, gemini: FakeGemini) -> None:
    assistant = make_assistant(db, app_db, gemini, assistant_send_samples=True)
    assistant.ask(new_user(), "which products are the most expensive?")
    assert "e.g. " in gemini.request_text()


def test_usage_tokens_and_the_turn_are_stored_for_the_user(
    db: DatabaseManager, app_db: Any, gemini: FakeGemini
) -> None:
    gemini.default = Scripted(text="Latest orders:\n" + GOOD_SQL, prompt_tokens=321, output_tokens=54)
    user = new_user()
    assistant = make_assistant(db, app_db, gemini)
    answer = assistant.ask(user, "show the latest orders")
    assert (answer.input_tokens, answer.output_tokens) == (321, 54)
    assert [c.valid for c in answer.sql_blocks] == [True]
    rows = stored_rows(app_db, answer.conversation_id)
    assert len(rows) == 1
    modelo, tables, sql_text, valid, t_in, t_out, email = rows[0]
    assert modelo == f"gemini:{MODEL}"
    assert "public.orders" in tables
    assert "FROM public.orders" in sql_text and valid is True
    assert (t_in, t_out) == (321, 54)
    assert email == user.normalized_email
    assert assistant.tokens_used_today(user) == 375

    # A follow-up in the same conversation sends the earlier turn as history.
    gemini.default = Scripted(
        text="Only the paid ones:\n```sql\nSELECT count(*) FROM public.orders WHERE status = 'paid';\n```"
    )
    follow = assistant.ask(user, "and only the paid ones?", conversation_id=answer.conversation_id)
    history = gemini.requests[-1]["body"]["contents"]
    assert [c["role"] for c in history[:2]] == ["user", "model"]
    assert "show the latest orders" in history[0]["parts"][0]["text"]
    assert "public.orders" in follow.context_tables
    assert len(assistant.load_conversation(user, answer.conversation_id)) == 2


def test_a_bad_column_goes_back_once_and_the_repair_is_checked(
    db: DatabaseManager, app_db: Any, gemini: FakeGemini
) -> None:
    gemini.script = [
        Scripted(
            text="```sql\nSELECT nome, especie FROM public.pets LIMIT 5;\n```",
            prompt_tokens=100,
            output_tokens=10,
        ),
        Scripted(
            text="Fixed:\n```sql\nSELECT name, species FROM public.pets LIMIT 5;\n```",
            prompt_tokens=200,
            output_tokens=20,
        ),
    ]
    assistant = make_assistant(db, app_db, gemini)
    answer = assistant.ask(new_user(), "list pet names and species")
    assert len(gemini.requests) == 2
    repair_prompt = gemini.request_text(1)
    assert 'column "nome" does not exist' in repair_prompt
    assert "SELECT nome, especie" in repair_prompt
    assert answer.repaired
    assert [(c.sql, c.valid) for c in answer.sql_blocks] == [("SELECT name, species FROM public.pets LIMIT 5", True)]
    assert (answer.input_tokens, answer.output_tokens) == (300, 30)
    rows = stored_rows(app_db, answer.conversation_id)
    assert rows[0][3] is True and rows[0][4] == 300


def test_sql_still_wrong_after_the_repair_is_marked_not_valid(
    db: DatabaseManager, app_db: Any, gemini: FakeGemini
) -> None:
    bad = Scripted(text="```sql\nSELECT preco FROM public.produtos;\n```")
    gemini.script = [bad, bad]
    assistant = make_assistant(db, app_db, gemini)
    answer = assistant.ask(new_user(), "product prices")
    assert len(gemini.requests) == 2  # exactly one repair, never a loop
    [check] = answer.sql_blocks
    assert not check.valid and check.status == "invalid"
    assert 'relation "public.produtos" does not exist' in (check.error or "")
    assert answer.notice and "not valid" in answer.notice
    assert stored_rows(app_db, answer.conversation_id)[0][3] is False


def test_write_sql_from_the_model_is_never_valid_to_open(db: DatabaseManager, app_db: Any, gemini: FakeGemini) -> None:
    gemini.default = Scripted(text="```sql\nDELETE FROM public.orders WHERE status = 'cancelled';\n```")
    answer = make_assistant(db, app_db, gemini).ask(new_user(), "remove cancelled orders")
    [check] = answer.sql_blocks
    assert not check.valid and check.status == "not_checked" and "not a read statement" in (check.error or "")
    assert len(gemini.requests) == 1  # a refused write is not "repaired" into something else
    with psycopg.connect(app_db.demo_dsn) as conn:
        assert conn.execute("select count(*) from public.orders where status = 'cancelled'").fetchone()[0] > 0


def test_429_is_retried_with_backoff_then_succeeds(db: DatabaseManager, app_db: Any, gemini: FakeGemini) -> None:
    gemini.script = [Scripted(status=429), Scripted(status=503), Scripted(text="ok\n" + GOOD_SQL)]
    sleeps: list[float] = []
    assistant = make_assistant(db, app_db, gemini, sleeps=sleeps)
    answer = assistant.ask(new_user(), "latest orders")
    assert answer.mode == f"gemini:{MODEL}"
    assert len(gemini.requests) == 3
    assert sleeps == [0.5, 1.0]  # exponential backoff
    assert assistant.status().breaker == "closed"


def test_500s_open_the_breaker_then_it_closes_after_the_cool_down(
    db: DatabaseManager, app_db: Any, gemini: FakeGemini
) -> None:
    clock = FakeClock()
    gemini.default = Scripted(status=500)
    assistant = make_assistant(db, app_db, gemini, clock=clock)
    user = new_user()

    first = assistant.ask(user, "which table holds the pets?")
    assert len(gemini.requests) == 3  # three failed attempts in a minute...
    assert first.mode == MODE_BREAKER  # ...open the breaker; the answer is the offline one, said so
    assert "public.pets" in first.context_tables
    assert "paused for a minute" in (first.notice or "")
    assert assistant.status().breaker == "open"
    assert assistant.mode() == MODE_BREAKER

    second = assistant.ask(user, "which table holds the orders?")
    assert len(gemini.requests) == 3  # no call while open
    assert second.mode == MODE_BREAKER and "public.orders" in second.context_tables
    assert stored_rows(app_db, second.conversation_id)[0][0] == MODE_BREAKER

    clock.now += 61  # the cool-down passes: half-open, the next question is the probe
    assert assistant.status().breaker == "half_open"
    gemini.default = Scripted(text="back\n" + GOOD_SQL)
    third = assistant.ask(user, "latest orders")
    assert third.mode == f"gemini:{MODEL}"
    assert assistant.status().breaker == "closed"


def test_a_failed_probe_reopens_the_breaker(db: DatabaseManager, app_db: Any, gemini: FakeGemini) -> None:
    clock = FakeClock()
    gemini.default = Scripted(status=503)
    assistant = make_assistant(db, app_db, gemini, clock=clock)
    assistant.ask(new_user(), "pets")
    clock.now += 61
    calls = len(gemini.requests)
    probe = assistant.ask(new_user(), "pets")
    assert len(gemini.requests) == calls + 1  # one probe only, no retries while half-open
    assert probe.mode == MODE_BREAKER and assistant.status().breaker == "open"


def test_a_timeout_falls_back_to_the_offline_answer(db: DatabaseManager, app_db: Any, gemini: FakeGemini) -> None:
    gemini.default = Scripted(delay_s=3.0)
    s = app_db.settings.with_overrides(gemini_api_key="k-test", gemini_model=MODEL)
    assistant = Assistant(
        db, s, gemini_base_url=gemini.url, gemini_timeout_s=0.5, clock=FakeClock(), sleep=lambda _s: None
    )
    assert assistant.provider is not None
    assistant.provider.max_attempts = 1  # type: ignore[attr-defined]
    answer = assistant.ask(new_user(), "where is the phone number of a customer stored?")
    assert answer.mode == MODE_FAILED
    assert "did not answer within" in (answer.notice or "")
    assert "public.user_profiles" in answer.context_tables


def test_streaming_yields_chunks_then_the_checked_answer(db: DatabaseManager, app_db: Any, gemini: FakeGemini) -> None:
    gemini.default = Scripted(text="Here are the latest orders.\n" + GOOD_SQL, prompt_tokens=77, output_tokens=11)
    assistant = make_assistant(db, app_db, gemini)
    items = list(assistant.ask_stream(new_user(), "latest orders"))
    chunks = [i for i in items if isinstance(i, str)]
    final = items[-1]
    assert isinstance(final, Answer)
    assert ":streamGenerateContent" in gemini.requests[0]["path"]
    assert len(chunks) >= 2 and "".join(chunks) == final.text
    assert final.sql_blocks and final.sql_blocks[0].valid
    assert (final.input_tokens, final.output_tokens) == (77, 11)


def test_the_daily_token_limit_switches_to_offline_with_a_clear_message(
    db: DatabaseManager, app_db: Any, gemini: FakeGemini
) -> None:
    gemini.default = Scripted(text="ok", prompt_tokens=400, output_tokens=200)
    assistant = make_assistant(db, app_db, gemini, assistant_daily_token_limit=500)
    user = new_user()
    assert assistant.ask(user, "orders").mode == f"gemini:{MODEL}"
    calls = len(gemini.requests)
    limited = assistant.ask(user, "payments")
    assert len(gemini.requests) == calls
    assert limited.mode == MODE_LIMIT
    assert "600 of 500 tokens" in (limited.notice or "")
    # The limit is per user: someone else still gets Gemini.
    assert assistant.ask(new_user(), "orders").mode == f"gemini:{MODEL}"


def test_editor_actions_use_gemini_with_the_sql_error_and_plan(
    db: DatabaseManager, app_db: Any, gemini: FakeGemini
) -> None:
    assistant = make_assistant(db, app_db, gemini)
    user = new_user()
    gemini.default = Scripted(text="It lists orders.")
    explained = assistant.explain_query(user, "select * from public.orders where status = 'paid'")
    assert "EXPLAIN plan (not executed)" in gemini.request_text() and "Seq Scan" in gemini.request_text()
    assert explained.mode == f"gemini:{MODEL}"

    gemini.default = Scripted(text="Use name:\n```sql\nSELECT name FROM public.pets;\n```")
    why = assistant.why_failed(user, "select nome from public.pets", 'column "nome" does not exist')
    sent = gemini.request_text()
    assert 'column "nome" does not exist' in sent and "pets.name" in sent
    assert why.sql_blocks[0].valid

    gemini.default = Scripted(
        text="```sql\nCREATE INDEX CONCURRENTLY order_items_product_id_idx ON public.order_items (product_id);\n```"
    )
    idx = assistant.suggest_index(user, "select * from public.order_items where product_id = 7")
    assert "public.order_items" in gemini.request_text()
    [check] = idx.sql_blocks
    assert check.status == "not_checked" and "columns exist" in (check.error or "")
