"""The assistant with the REAL google-genai client against a local server speaking the Gemini REST API.

Nothing in the SDK is mocked: `genai.Client` is pointed (HttpOptions.base_url) at a ThreadingHTTPServer on
127.0.0.1 that answers `POST /v1beta/models/{model}:generateContent` and `:streamGenerateContent?alt=sse`
the way Gemini does (candidates + usageMetadata, or an error object with code/status). The database is the
suite's real PostgreSQL; SQL in answers is checked there with EXPLAIN on the read-only role.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from db_helpers import demo_manager
from gemini_stub import MODEL, FakeGemini, Scripted

from dba_admin.assistant.assistant import MODE_BREAKER, MODE_FAILED, MODE_LIMIT, Answer, GeminiAssistant
from dba_admin.assistant.providers import CircuitBreaker, DeadlineExceeded, GeminiProvider
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
) -> GeminiAssistant:
    s = app_db.settings.with_overrides(gemini_api_key="test-key-not-real", gemini_model=MODEL, **settings)
    record = sleeps if sleeps is not None else []
    return GeminiAssistant(
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
    assistant = GeminiAssistant(
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


# --------------------------------------------------------------------------------------------------
# One deadline per turn (ASSISTANT_DEADLINE_S), retries and the repair included
# --------------------------------------------------------------------------------------------------

HANG = Scripted(delay_s=10.0)  # far past every deadline below: the server "hangs"


def server_timeout(request: dict[str, Any]) -> int:
    """The X-Server-Timeout the SDK derives from the attempt's HTTP timeout (whole seconds, rounded up)."""
    headers = {k.lower(): v for k, v in request["headers"].items()}
    return int(headers["x-server-timeout"])


def stored_answers(app_db: Any, conversation_id: uuid.UUID) -> list[tuple[str, str]]:
    with psycopg.connect(app_db.dsn) as conn:
        rows = conn.execute(
            "select modelo, resposta from public.duvidas_analitics_ia where conversa_id = %s order by id",
            (conversation_id,),
        ).fetchall()
    return [(r[0], r[1]) for r in rows]


def test_a_hanging_gemini_costs_the_deadline_once_not_three_timeouts(
    db: DatabaseManager, app_db: Any, gemini: FakeGemini
) -> None:
    gemini.default = HANG
    sleeps: list[float] = []
    assistant = make_assistant(db, app_db, gemini, timeout_s=10.0, sleeps=sleeps, assistant_deadline_s=1.0)
    answer = assistant.ask(new_user(), "where is the phone number of a customer stored?")
    # One attempt, cut at the deadline (not 10 s): no retry starts after it.
    assert len(gemini.requests) == 1 and sleeps == []
    assert server_timeout(gemini.requests[0]) == 1
    assert answer.mode == MODE_FAILED
    assert "Gemini did not answer in time" in (answer.notice or "") and "ASSISTANT_DEADLINE_S" in (answer.notice or "")
    assert "public.user_profiles" in answer.context_tables and answer.text.strip()
    assert stored_answers(app_db, answer.conversation_id)[0][0] == MODE_FAILED


def test_a_retry_gets_only_the_time_left_and_none_starts_after_the_deadline(
    db: DatabaseManager, app_db: Any, gemini: FakeGemini
) -> None:
    # 503 at once, then a hang; a third attempt would get a good answer, so it must never be made.
    gemini.script = [Scripted(status=503), HANG]
    gemini.default = Scripted(text="too late\n" + GOOD_SQL)
    sleeps: list[float] = []
    assistant = make_assistant(db, app_db, gemini, timeout_s=10.0, sleeps=sleeps, assistant_deadline_s=2.0)
    answer = assistant.ask(new_user(), "latest orders")
    assert len(gemini.requests) == 2 and sleeps == [0.5]
    assert server_timeout(gemini.requests[0]) == 2 and server_timeout(gemini.requests[1]) <= 2  # not 10
    assert answer.mode == MODE_FAILED and "did not answer in time (2 attempts" in (answer.notice or "")
    assert answer.text.strip() and "too late" not in answer.text


def test_the_deadline_covers_a_streamed_answer(db: DatabaseManager, app_db: Any, gemini: FakeGemini) -> None:
    gemini.default = HANG
    # 3 s, not 1: the catalog retrieval before the request must fit in it on a loaded machine (at load 12, 1 s did
    # not, and no request was made at all).
    assistant = make_assistant(db, app_db, gemini, timeout_s=10.0, assistant_deadline_s=3.0)
    items = list(assistant.ask_stream(new_user(), "which table holds the pets?"))
    assert len(gemini.requests) == 1 and ":streamGenerateContent" in gemini.requests[0]["path"]
    assert not [i for i in items if isinstance(i, str)]
    final = items[-1]
    assert isinstance(final, Answer) and final.mode == MODE_FAILED
    assert "did not answer in time" in (final.notice or "") and "public.pets" in final.context_tables


def test_a_passed_deadline_makes_no_call_and_keeps_the_half_open_probe(gemini: FakeGemini) -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(clock=clock)
    provider = GeminiProvider("k-test", MODEL, base_url=gemini.url, breaker=breaker, sleep=lambda _s: None)
    with pytest.raises(DeadlineExceeded):
        provider.generate(["hello"], system="s", deadline=time.monotonic() - 1)
    assert gemini.requests == [] and breaker.state == "closed"
    for _ in range(3):
        breaker.record_failure()
    clock.now += 61
    assert breaker.state == "half_open"
    with pytest.raises(DeadlineExceeded):
        provider.generate(["hello"], system="s", deadline=time.monotonic() - 1)
    assert gemini.requests == []
    assert breaker.allow()  # the probe is still there for the next question with time left


def test_a_backoff_that_would_end_past_the_deadline_is_not_slept(gemini: FakeGemini) -> None:
    gemini.script = [Scripted(status=503)]
    gemini.default = Scripted(text="fine")
    sleeps: list[float] = []
    provider = GeminiProvider("k-test", MODEL, base_url=gemini.url, backoff_s=5.0, sleep=sleeps.append)
    with pytest.raises(DeadlineExceeded) as caught:
        provider.generate(["hello"], system="s", deadline=time.monotonic() + 3.0)
    assert len(gemini.requests) == 1 and sleeps == []
    assert "HTTP 503" in caught.value.reason
    # Without a deadline the same failure is retried after the backoff.
    gemini.script = [Scripted(status=503)]
    assert provider.generate(["hello"], system="s").text == "fine"
    assert sleeps == [5.0]


def test_a_repair_after_the_deadline_is_not_sent(db: DatabaseManager, app_db: Any, gemini: FakeGemini) -> None:
    """The SQL repair is part of the turn: once the deadline has passed, the repair request is not made."""
    gemini.default = Scripted(text="```sql\nSELECT nome FROM public.pets;\n```")

    def clock() -> float:
        # Real time, but an hour later as soon as Gemini has received the first request of the turn.
        return time.monotonic() + (3600.0 if gemini.requests else 0.0)

    s = app_db.settings.with_overrides(gemini_api_key="k-test", gemini_model=MODEL, assistant_deadline_s=30.0)
    provider = GeminiProvider("k-test", MODEL, base_url=gemini.url, sleep=lambda _s: None, now=clock)
    assistant = GeminiAssistant(db, s, provider=provider, clock=FakeClock())
    answer = assistant.ask(new_user(), "pet names")
    assert len(gemini.requests) == 1  # the first answer only
    assert answer.mode == f"gemini:{MODEL}" and not answer.repaired
    [check] = answer.sql_blocks
    assert check.status == "invalid"
    assert "the repair request failed too (Gemini did not answer in time" in (answer.notice or "")


# --------------------------------------------------------------------------------------------------
# Empty and blocked replies are failures, not blank answers
# --------------------------------------------------------------------------------------------------

USAGE = {"promptTokenCount": 120, "candidatesTokenCount": 0, "totalTokenCount": 120}


@dataclass
class RawReply(Scripted):
    """A 200 reply with this exact JSON body (also each chunk of a streamed reply)."""

    body: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def raw_bodies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the stub answer a RawReply with its body, as Gemini does for blocked or empty answers."""
    import gemini_stub

    original = gemini_stub._reply_json

    def reply_json(reply: Scripted, text: str) -> dict[str, Any]:
        return reply.body if isinstance(reply, RawReply) else original(reply, text)

    monkeypatch.setattr(gemini_stub, "_reply_json", reply_json)


EMPTY_REPLIES = {
    "no candidates": (RawReply(body={"usageMetadata": USAGE, "modelVersion": MODEL}), "no candidate"),
    "safety stop without text": (
        RawReply(
            body={
                "candidates": [
                    {
                        "finishReason": "SAFETY",
                        "index": 0,
                        "safetyRatings": [
                            {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}
                        ],
                    }
                ],
                "usageMetadata": USAGE,
                "modelVersion": MODEL,
            }
        ),
        "finish reason SAFETY",
    ),
    "blocked prompt": (
        RawReply(body={"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "usageMetadata": USAGE}),
        "the request was blocked (PROHIBITED_CONTENT)",
    ),
    "empty text": (Scripted(text=""), "the reply had no text"),
}


@pytest.mark.parametrize("stream", [False, True], ids=["generate", "stream"])
@pytest.mark.parametrize("shape", list(EMPTY_REPLIES))
@pytest.mark.usefixtures("raw_bodies")
def test_an_empty_or_blocked_reply_gives_the_offline_answer_with_a_note(
    db: DatabaseManager, app_db: Any, gemini: FakeGemini, shape: str, stream: bool
) -> None:
    reply, reason = EMPTY_REPLIES[shape]
    gemini.default = reply
    assistant = make_assistant(db, app_db, gemini)
    question = "which table holds the pets?"
    if stream:
        items = list(assistant.ask_stream(new_user(), question))
        assert not [i for i in items if isinstance(i, str) and i]
        answer = items[-1]
        assert isinstance(answer, Answer)
    else:
        answer = assistant.ask(new_user(), question)
    assert len(gemini.requests) == 1  # not retried: the service answered
    assert answer.mode == MODE_FAILED
    assert (answer.notice or "").startswith("Gemini gave no answer") and reason in (answer.notice or "")
    assert answer.text.strip() and "public.pets" in answer.context_tables  # the offline answer
    [(modelo, resposta)] = stored_answers(app_db, answer.conversation_id)
    assert modelo == MODE_FAILED and resposta == answer.text  # no blank "Gemini" answer in the history
    assert assistant.status().breaker == "closed"  # an empty answer is not an outage


# --------------------------------------------------------------------------------------------------
# Editor actions typed in the chat
# --------------------------------------------------------------------------------------------------

SLOW_SQL = "select * from public.order_items where product_id = 42"
SCAN_SQL = "select * from public.messages where body ilike '%vacina%'"
BAD_SQL = "select nome from public.pets"


@pytest.mark.parametrize(
    ("typed", "task"),
    [
        (f"explain this query: {SCAN_SQL}", "explain"),
        (f"Explique esta consulta:\n```sql\n{SCAN_SQL}\n```", "explain"),
        (f"suggest an index for {SLOW_SQL}", "suggest_index"),
        (f"Sugira um índice para esta consulta: {SLOW_SQL}", "suggest_index"),
        (f"why does this fail: {BAD_SQL}", "why_failed"),
        (f"por que isto falha: {BAD_SQL}", "why_failed"),
    ],
)
def test_typed_editor_actions_do_what_the_buttons_do(
    db: DatabaseManager, app_db: Any, gemini: FakeGemini, typed: str, task: str
) -> None:
    assistant = make_assistant(db, app_db, gemini)
    me = new_user()
    if task == "explain":
        button = assistant.explain_query(me, SCAN_SQL, offline=True)
    elif task == "suggest_index":
        button = assistant.suggest_index(me, SLOW_SQL, offline=True)
    else:
        button = assistant.why_failed(me, BAD_SQL, 'column "nome" does not exist', offline=True)
    typed_answer = assistant.ask(me, typed, offline=True)
    assert typed_answer.intent == button.intent
    assert typed_answer.text == button.text and typed_answer.context_tables == button.context_tables
    assert [c.sql for c in typed_answer.sql_blocks] == [c.sql for c in button.sql_blocks]
    # Stored as the editor action it is (the SQL's values masked), not as a free-text question.
    [turn] = assistant.load_conversation(me, typed_answer.conversation_id)
    assert (
        turn.question.split("\n")[0]
        == {
            "explain": "Explain this query:",
            "suggest_index": "Suggest an index for:",
            "why_failed": "Why did this fail?",
        }[task]
    )
    assert gemini.requests == []


def test_a_typed_why_with_the_error_uses_it_and_gemini_gets_the_editor_prompt(
    db: DatabaseManager, app_db: Any, gemini: FakeGemini
) -> None:
    assistant = make_assistant(db, app_db, gemini)
    me = new_user()
    typed = assistant.ask(me, f'why does this fail?\n```sql\n{BAD_SQL}\n```\nERROR: column "nome" does not exist')
    sent = gemini.request_text()
    assert "This query failed." in sent and 'PostgreSQL error: column "nome" does not exist' in sent
    assert "pets.name" in sent and typed.mode == f"gemini:{MODEL}"

    # Streamed chat: the plan of the statement goes to Gemini, as with the editor's button.
    items = list(assistant.ask_stream(me, f"explain this query: {SCAN_SQL}"))
    assert ":streamGenerateContent" in gemini.requests[-1]["path"]
    sent = gemini.request_text()
    assert "EXPLAIN plan (not executed)" in sent and "Seq Scan" in sent
    assert isinstance(items[-1], Answer) and items[-1].mode == f"gemini:{MODEL}"

    items = list(assistant.ask_stream(me, f"sugira um índice para {SLOW_SQL}"))
    assert "Candidates from the plan heuristic" in gemini.request_text()


def test_questions_that_only_look_like_commands_stay_questions(
    db: DatabaseManager, app_db: Any, gemini: FakeGemini
) -> None:
    assistant = make_assistant(db, app_db, gemini)
    for question in ("explain the orders table", "suggest an index for the orders table", "why do payments fail?"):
        answer = assistant.ask(new_user(), question, offline=True)
        assert answer.intent not in ("explain", "suggest_index"), question
    gemini.default = Scripted(text="The orders table holds orders.")
    assistant.ask(new_user(), "explain the orders table")
    assert "Question: explain the orders table" in gemini.request_text()
