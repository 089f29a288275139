"""The offline assistant over the PetCare demo database: retrieval quality, join paths, starter SQL, errors.

The question set (English and Portuguese) carries the tables a DBA would expect; recall@5 is the share of
expected tables found in the top five, averaged over questions. The figures are printed (run with -s) and
the target from the issue (>= 90%) is asserted. Every SQL the offline assistant proposes is checked here
against the live database with EXPLAIN, as the read-only role.
"""

from __future__ import annotations

import argparse
import json
import uuid
from typing import Any

import psycopg
import pytest

from dba_admin.assistant.assistant import GeminiAssistant
from dba_admin.assistant.checker import check_sql
from dba_admin.assistant.cli import cli_claims, register
from dba_admin.assistant.offline import OfflineProvider, detect_language
from dba_admin.assistant.schema_index import SchemaIndex
from dba_admin.database import DatabaseManager
from dba_admin.rls import UserClaims

P = "public."

# (question, expected tables). Both languages; synonyms, plurals, accents, column- and comment-level facts.
QUESTIONS: list[tuple[str, set[str]]] = [
    ("which table holds the customers' phone numbers?", {"user_profiles"}),
    ("onde fica o telefone do cliente?", {"user_profiles"}),
    ("where are pet owners' addresses stored?", {"tutors"}),
    ("em qual tabela está o endereço do tutor?", {"tutors"}),
    ("where is the CPF of the tutor?", {"tutors"}),
    ("which table has the breed and species of each animal?", {"pets"}),
    ("onde guardo a raça dos animais?", {"pets"}),
    ("where are pet allergies recorded?", {"pets"}),
    ("qual o peso dos pets?", {"pets"}),
    ("what services does the clinic offer and at what price?", {"services"}),
    ("onde ficam os preços dos serviços de banho e tosa?", {"services"}),
    ("where are vet appointments stored?", {"appointments"}),
    ("tabela de agendamentos", {"appointments"}),
    ("onde estão as consultas marcadas?", {"appointments"}),
    ("which table has the reminders sent before an appointment?", {"appointment_reminders"}),
    ("lembretes de agendamento enviados", {"appointment_reminders"}),
    ("where is product stock kept?", {"products"}),
    ("onde fica o estoque dos produtos?", {"products"}),
    ("product categories and prices", {"products"}),
    ("where are customer orders?", {"orders"}),
    ("pedidos dos clientes", {"orders", "user_profiles"}),
    ("which products were in each order?", {"order_items", "products", "orders"}),
    ("itens do pedido com quantidade e preço unitário", {"order_items"}),
    ("how were orders paid (pix, card)?", {"payments"}),
    ("pagamentos por pix", {"payments"}),
    ("refunded payments", {"payments"}),
    ("where are the WhatsApp conversations?", {"conversations"}),
    ("conversas abertas esperando atendimento humano", {"conversations"}),
    ("message bodies sent by the AI", {"messages"}),
    ("mensagens recebidas pelo whatsapp", {"messages"}),
    ("the intent and slots the AI keeps for a conversation", {"context_data"}),
    ("contexto da conversa da IA", {"context_data", "conversations"}),
    ("what does the AI remember about a customer?", {"ai_memory"}),
    ("memória de longo prazo da IA sobre o usuário", {"ai_memory"}),
    ("marketing campaigns and their schedule", {"campaigns"}),
    ("campanhas de marketing agendadas", {"campaigns"}),
    ("who received each campaign and did they read it?", {"campaign_recipients", "campaigns"}),
    ("destinatários das campanhas", {"campaign_recipients"}),
    ("delivery fee and discount of orders", {"orders"}),
    ("taxa de entrega e desconto dos pedidos", {"orders"}),
    ("which customers opted in to marketing?", {"user_profiles"}),
    ("clientes que aceitaram receber campanhas (LGPD)", {"user_profiles"}),
    ("tokens used by AI messages", {"messages"}),
    ("cancelled appointments and the cancel reason", {"appointments"}),
    ("consultas canceladas e motivo", {"appointments"}),
    ("payment installments on card", {"payments"}),
    ("questions asked to the assistant", {"duvidas_analitics_ia"}),
    ("which pets belong to which tutor?", {"pets", "tutors"}),
]

# (from, to, expected path) on the demo's foreign keys.
JOINS: list[tuple[str, str, list[str]]] = [
    ("pets", "tutors", ["pets", "tutors"]),
    ("pets", "payments", ["pets", "tutors", "user_profiles", "orders", "payments"]),
    ("order_items", "user_profiles", ["order_items", "orders", "user_profiles"]),
    ("products", "payments", ["products", "order_items", "orders", "payments"]),
    ("messages", "user_profiles", ["messages", "conversations", "user_profiles"]),
    ("appointment_reminders", "services", ["appointment_reminders", "appointments", "services"]),
    ("campaign_recipients", "orders", ["campaign_recipients", "user_profiles", "orders"]),
    ("context_data", "messages", ["context_data", "conversations", "messages"]),
    ("ai_memory", "tutors", ["ai_memory", "user_profiles", "tutors"]),
    ("appointments", "pets", ["appointments", "pets"]),
    (
        "campaigns",
        "messages",
        ["campaigns", "campaign_recipients", "user_profiles", "conversations", "messages"],
    ),
]
JOIN_QUESTIONS: list[tuple[str, str, str]] = [
    ("how do I join pets and payments?", "pets", "payments"),
    ("como juntar mensagens com clientes?", "messages", "user_profiles"),
    ("how to join order items to the customers", "order_items", "user_profiles"),
    ("relação entre lembretes e serviços", "appointment_reminders", "services"),
    ("join campaign_recipients and orders", "campaign_recipients", "orders"),
    ("como ligar produtos aos pagamentos?", "products", "payments"),
]


@pytest.fixture(scope="module")
def index(db: DatabaseManager) -> SchemaIndex:
    with db.connection() as conn:
        return SchemaIndex.from_connection(conn)


@pytest.fixture(scope="module")
def offline(index: SchemaIndex) -> OfflineProvider:
    return OfflineProvider(index)


@pytest.fixture(scope="module")
def assistant(db: DatabaseManager, app_db: Any) -> GeminiAssistant:
    return GeminiAssistant(db, app_db.settings.with_overrides(gemini_api_key=None))


def user() -> UserClaims:
    return UserClaims(sub=uuid.uuid4(), email=f"u-{uuid.uuid4().hex[:8]}@example.com", app_role="viewer")


def test_the_question_set_is_big_enough_and_bilingual() -> None:
    assert len(QUESTIONS) >= 40
    langs = [detect_language(q) for q, _ in QUESTIONS]
    assert langs.count("pt") >= 15 and langs.count("en") >= 15


def test_recall_at_5_on_the_demo_question_set(index: SchemaIndex) -> None:
    total = 0.0
    top1 = 0
    misses = []
    for question, expected in QUESTIONS:
        found = [m.table.name for m in index.search(question, limit=5)]
        hit = len(expected & set(found)) / len(expected)
        total += hit
        top1 += bool(found) and found[0] in expected
        if hit < 1:
            misses.append((question, sorted(expected), found))
    recall = total / len(QUESTIONS)
    print(
        f"\noffline retrieval: {len(QUESTIONS)} questions, recall@5 = {recall:.3f}, "
        f"top-1 accuracy = {top1 / len(QUESTIONS):.3f}"
    )
    for miss in misses:
        print("  partial:", miss)
    assert recall >= 0.9


def test_join_paths_are_the_shortest_foreign_key_paths(index: SchemaIndex, db: DatabaseManager) -> None:
    correct = 0
    for source, target, expected in JOINS:
        path = index.join_path(P + source, P + target)
        assert path is not None
        correct += [t.removeprefix(P) for t in path.tables] == expected
    print(f"\njoin paths: {correct}/{len(JOINS)} exactly as expected")
    assert correct == len(JOINS)


def test_join_questions_give_a_select_that_explains(offline: OfflineProvider, db: DatabaseManager) -> None:
    ok = 0
    for question, source, target in JOIN_QUESTIONS:
        answer = offline.answer(question)
        assert answer.intent == "join", question
        ends = {answer.tables[0], answer.tables[-1]}
        assert ends == {P + source, P + target}, (question, answer.tables)
        [statement] = answer.sql
        check = check_sql(db.explain, statement)
        assert check.valid, (question, check.error)
        ok += 1
    print(f"\njoin questions: {ok}/{len(JOIN_QUESTIONS)} resolved to the right tables with a valid SELECT")


@pytest.mark.parametrize(
    ("question", "table", "fragment"),
    [
        ("how many appointments were cancelled?", "appointments", "WHERE status = 'cancelled'"),
        ("quantos pedidos por status?", "orders", "GROUP BY status"),
        ("count pets per species", "pets", "GROUP BY species"),
        ("últimas 5 mensagens", "messages", "LIMIT 5"),
        ("latest orders", "orders", "ORDER BY created_at DESC"),
        ("list the products", "products", "LIMIT 50"),
        ("liste os serviços", "services", "FROM public.services"),
        ("quantos pagamentos pix?", "payments", "method = 'pix'"),
        ("latest messages", "messages", '"timestamp"'),
    ],
)
def test_starter_queries_target_the_right_table_and_explain(
    offline: OfflineProvider, db: DatabaseManager, question: str, table: str, fragment: str
) -> None:
    answer = offline.answer(question)
    assert answer.intent in ("count", "list", "latest")
    assert answer.tables[0] == P + table
    [statement] = answer.sql
    assert fragment in statement
    check = check_sql(db.explain, statement)
    assert check.valid, check.error


def test_describe_lists_columns_keys_indexes_policies(offline: OfflineProvider) -> None:
    answer = offline.answer("describe orders")
    assert answer.intent == "describe" and answer.tables == (P + "orders",)
    for fragment in (
        "`total_amount`",
        "PK",
        "→ public.user_profiles(id)",
        "orders_user_id_created_at_idx",
        "orders_select_own",
        "public.payments(order_id)",
        "rows (estimate)",
    ):
        assert fragment in answer.text
    pt = offline.answer("descreva a tabela de destinatários das campanhas")
    assert pt.tables == (P + "campaign_recipients",)
    assert "RLS está DESATIVADO" in pt.text or "DESATIVADO" in pt.text


@pytest.mark.parametrize(
    ("sql_text", "expect_in_answer"),
    [
        ("select nome from public.pets", ["42703", "pets.name"]),
        ("select telefone from public.user_profiles", ["42703", "user_profiles.phone_number"]),
        ("select * from public.clientes", ["42P01", "public.user_profiles"]),
        ("select * from public.order_item", ["42P01", "public.order_items"]),
        ("select id from public.orders group by status", ["42803"]),
        ("select id, from public.orders", ["42601"]),
        ("select * from auth.users", ["42501"]),  # the read-only login has no USAGE on schema auth
    ],
)
def test_real_errors_are_explained_with_the_closest_real_names(
    db: DatabaseManager, offline: OfflineProvider, sql_text: str, expect_in_answer: list[str]
) -> None:
    [result] = db.execute_query(sql_text, read_only=True)
    assert result.error is not None
    answer = offline.explain_error(result.error.message, sql=sql_text)
    assert answer.intent == "error"
    for fragment in expect_in_answer:
        assert fragment in answer.text, (fragment, answer.text)


def test_portuguese_error_messages_and_rls_are_explained(offline: OfflineProvider) -> None:
    pt = offline.answer('ERRO: coluna "preço" não existe')
    assert "Coluna inexistente" in pt.text and "price" in pt.text
    rel = offline.answer('ERRO: relação "pedidos" não existe')
    assert "public.orders" in rel.text
    rls = offline.answer('new row violates row-level security policy for table "orders"')
    assert "orders_select_own" in rls.text
    syntax = offline.answer('ERROR: syntax error at or near "order"')
    assert "reserved word" in syntax.text


def test_unknown_words_get_an_honest_answer(offline: OfflineProvider) -> None:
    answer = offline.answer("where are the spaceship launch codes?")
    assert answer.sql == ()
    assert "No table clearly matches" in answer.text


def test_assistant_offline_answers_are_checked_stored_and_private(assistant: GeminiAssistant, app_db: Any) -> None:
    alice, bob = user(), user()
    first = assistant.ask(alice, "how many orders per status?")
    assert first.mode == "offline" and first.sql_blocks and first.sql_blocks[0].valid
    follow = assistant.ask(alice, "and the latest ones?", conversation_id=first.conversation_id)
    assert follow.context_tables[0] == P + "orders"  # the earlier turn's tables carry the follow-up
    assert assistant.status().mode == "offline" and assistant.status().badge == "Offline"

    convs = assistant.list_conversations(alice)
    assert [c.id for c in convs] == [first.conversation_id]
    assert convs[0].turns == 2 and convs[0].title == "how many orders per status?"
    # Bob sees none of Alice's conversations, not even by id (RLS, not a Python filter).
    assert assistant.list_conversations(bob) == []
    assert assistant.load_conversation(bob, first.conversation_id) == []
    with psycopg.connect(app_db.dsn) as conn:
        stored = conn.execute(
            "select count(*), bool_and(modelo = 'offline') from public.duvidas_analitics_ia where conversa_id = %s",
            (first.conversation_id,),
        ).fetchone()
    assert stored == (2, True)
    with psycopg.connect(app_db.dsn) as conn:  # each turn records the connection its schema came from
        where = conn.execute(
            "select array_agg(distinct conexao) from public.duvidas_analitics_ia where conversa_id = %s",
            (first.conversation_id,),
        ).fetchone()
    assert where == (["demo"],)
    with psycopg.connect(app_db.demo_dsn) as conn:  # ... and nothing of it is in the connection's database
        assert conn.execute("select to_regclass('public.duvidas_analitics_ia')").fetchone() == (None,)
    assert assistant.delete_conversation(bob, first.conversation_id) == 0
    assert assistant.delete_conversation(alice, first.conversation_id) == 2


def test_editor_actions_offline(assistant: GeminiAssistant) -> None:
    me = user()
    explained = assistant.explain_query(me, "select * from public.messages where body ilike '%vacina%'")
    assert "Seq Scan on public.messages" in explained.text and explained.context_tables == (P + "messages",)
    why = assistant.why_failed(me, "select nome from public.pets", 'column "nome" does not exist')
    assert "pets.name" in why.text
    idx = assistant.suggest_index(me, "select * from public.order_items where product_id = 42")
    [check] = idx.sql_blocks
    assert "order_items" in check.sql and "product_id" in check.sql
    assert check.status == "not_checked" and "columns exist" in (check.error or "")


def test_cli_ask_json(app_db: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["ask", "how do I join pets and payments?", "--offline", "--json", "--as", "cli-tester@example.com"]
    )
    code = args.func(app_db.settings, args)
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["mode"] == "offline"
    assert out["context_tables"][0] == P + "pets" and out["context_tables"][-1] == P + "payments"
    assert out["sql"][0]["valid"] is True and "JOIN public.orders" in out["sql"][0]["sql"]
    assert cli_claims("cli-tester@example.com").sub == cli_claims("CLI-Tester@example.com").sub


def test_the_schema_index_is_per_connection_and_leaves_the_apps_tables_out_of_the_workspace(
    assistant: GeminiAssistant, app_db: Any
) -> None:
    """One assistant, two connections: each has its own index (cached by name); on the workspace database used as a
    connection (connection `default`) the app's own tables are not in it."""
    from db_helpers import workspace_manager

    from dba_admin.catalog import APP_TABLES, is_app_object

    default = DatabaseManager(
        app_db.settings,
        app_db.dsn,
        name="default",
        workspace=workspace_manager(app_db),
        own_workspace=True,
    )
    default.includes_workspace = True  # type: ignore[attr-defined]
    try:
        on_default = assistant.on(default)
        assert on_default.provider is assistant.provider and on_default.db is default
        demo_index = assistant.index()
        default_index = on_default.index()
        assert assistant.index() is demo_index and on_default.index() is default_index  # cached per connection
        assert P + "orders" in demo_index.by_name
        assert not [t for t in default_index.tables if is_app_object(t.schema, t.name)]
        assert not {f"{s}.{n}" for s, n in APP_TABLES} & set(default_index.by_name)
        # SQL is checked on the connection the assistant is on (its read-only login), never on the workspace.
        assert assistant._check_all("```sql\nselect count(*) from public.orders;\n```")[0].valid
    finally:
        default.close()
