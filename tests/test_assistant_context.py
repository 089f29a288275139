"""Schema index, context rendering, SQL extraction, secret scrubbing and the circuit breaker (no database).

The big-schema tests use the same generated 5,000-table catalog as bench/assistant_context_bench.py: the
context must stay within the budget at every size, and retrieval must still find a table named in the
question among thousands of similar ones.
"""

from __future__ import annotations

import pytest

from bench.assistant_context_bench import synthetic_catalog
from dba_admin.assistant.checker import extract_sql, scrub_secrets
from dba_admin.assistant.providers import CircuitBreaker
from dba_admin.assistant.schema_index import SchemaIndex, estimate_tokens, render_table, stem, terms
from dba_admin.catalog import ColumnInfo, TableInfo


@pytest.fixture(scope="module")
def big_index() -> SchemaIndex:
    tables, extras = synthetic_catalog(5000)
    return SchemaIndex.from_catalog(tables, extras)


def _table(schema: str, name: str, cols: list[tuple[str, str]], comment: str | None = None) -> TableInfo:
    columns = tuple(ColumnInfo(c, t, True, None, None, i + 1) for i, (c, t) in enumerate(cols))
    return TableInfo(schema, name, "table", 10, 8192, True, False, 0, comment, "postgres", False, False, False, columns)


def test_words_are_folded_and_singular_in_both_languages() -> None:
    assert terms("Serviços") == terms("servico") == ["servico"]
    assert terms("Pagamentos") == ["pagamento"] and terms("payments") == ["payment"]
    assert terms("mensagens") == ["mensagem"] and terms("itens") == ["item"]
    assert terms("animais") == ["animal"] and terms("categories") == ["category"]
    assert stem("status") == "status" and stem("address") == "address" and stem("emails") == "email"
    assert terms("phoneNumber") == ["phone", "number"]
    assert terms("Which table holds the data?") == ["data"]  # question words are not search terms


@pytest.mark.parametrize("budget", [300, 1000, 4000, 8000, 20000])
def test_context_never_exceeds_the_budget_on_5000_tables(big_index: SchemaIndex, budget: int) -> None:
    matches = big_index.search("customer orders and their payments, pedidos e pagamentos", limit=200)
    rendered = big_index.render([m.table.qualified_name for m in matches], budget)
    assert rendered.tokens <= budget
    assert estimate_tokens(rendered.text) == rendered.tokens
    assert rendered.tables, "at least the best table fits any sensible budget"
    if budget <= 1000:
        assert rendered.omitted > 0


def test_rendering_everything_still_fits(big_index: SchemaIndex) -> None:
    names = [t.qualified_name for t in big_index.tables]
    rendered = big_index.render(names, 8000)
    assert rendered.tokens <= 8000
    assert rendered.omitted == len(names) - len(rendered.tables) > 4000
    assert "more relevant table(s) not shown" in rendered.text


def test_a_named_table_is_found_among_thousands(big_index: SchemaIndex) -> None:
    target = big_index.tables[1234]
    matches = big_index.search(f"what is in {target.qualified_name}?", limit=5)
    assert target.qualified_name in [m.table.qualified_name for m in matches]


def test_fk_neighbours_and_history_shape_the_ranking() -> None:
    tables = [
        _table("public", "clientes", [("id", "bigint"), ("nome", "text")], "Customers"),
        _table("public", "faturas", [("id", "bigint"), ("cliente_id", "bigint"), ("valor", "numeric")]),
        _table("public", "gadgets", [("id", "bigint"), ("colour", "text")]),
    ]
    extras = [
        (
            "k",
            "public",
            "faturas",
            ["f", "faturas_cliente_fkey", ["cliente_id"], "public", "clientes", ["id"], None],
        ),
        ("k", "public", "clientes", ["p", "clientes_pkey", ["id"], None, None, [], None]),
    ]
    index = SchemaIndex.from_catalog(tables, extras)
    ranked = [m.table.name for m in index.search("customer names")]
    assert ranked[0] == "clientes" and "faturas" in ranked  # the neighbour follows
    assert "gadgets" not in ranked
    follow = index.search("and only the big ones?", history_tables=["public.gadgets"])
    assert follow[0].table.name == "gadgets"
    path = index.join_path("public.faturas", "public.clientes")
    assert path is not None and [e.name for e in path.edges] == ["faturas_cliente_fkey"]
    assert index.join_path("public.gadgets", "public.clientes") is None


def test_rendered_ddl_quotes_reserved_words_and_shows_keys() -> None:
    tables = [
        _table(
            "public",
            "messages",
            [("id", "bigint"), ("timestamp", "timestamp with time zone"), ("conversation_id", "bigint")],
            "Messages",
        )
    ]
    extras = [
        ("k", "public", "messages", ["p", "messages_pkey", ["id"], None, None, [], None]),
        (
            "k",
            "public",
            "messages",
            ["f", "m_fk", ["conversation_id"], "public", "conversations", ["id"], None],
        ),
        ("p", "public", "messages", ["messages_select_own", "r", "(user_id = auth.uid())"]),
    ]
    table = SchemaIndex.from_catalog(tables, extras).tables[0]
    full = render_table(table, 2)
    assert '"timestamp" timestamp with time zone' in full
    assert "id bigint PRIMARY KEY" in full
    assert "REFERENCES public.conversations(id)" in full
    assert "messages_select_own SELECT" in full
    assert render_table(table, 0) == 'public.messages(id, "timestamp", conversation_id)'


def test_extract_sql_from_fences_and_bare_text() -> None:
    answer = (
        "Use this:\n```sql\nSELECT 1;\nSELECT name FROM public.pets;\n```\nor\n```python\nprint('x')\n```\n"
        "```\nWITH x AS (SELECT 1) SELECT * FROM x\n```"
    )
    assert extract_sql(answer) == [
        "SELECT 1",
        "SELECT name FROM public.pets",
        "WITH x AS (SELECT 1) SELECT * FROM x",
    ]
    bare = "You can run\nSELECT id, name\nFROM public.pets\nWHERE species = 'dog';\n\nThat lists dogs."
    assert extract_sql(bare) == ["SELECT id, name\nFROM public.pets\nWHERE species = 'dog'"]
    assert extract_sql("Select the table you want in the sidebar.") == []
    assert extract_sql("Select the items from the menu.") == []
    assert extract_sql("no sql here") == []


def test_secrets_are_scrubbed() -> None:
    text = (
        "could not connect: postgresql://postgres:s3cretPass@db.example.co:5432/postgres "
        "host=/tmp port=5432 user=x password=hunter22 key AIzaSyA1234567890abcdefghijklmnopqrstuv "
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijklmnop and my-api-key-value"
    )
    clean = scrub_secrets(text, "my-api-key-value")
    for secret in ("s3cretPass", "hunter22", "AIzaSyA1234567890", "eyJhbGciOiJIUzI1NiJ9", "my-api-key-value"):
        assert secret not in clean
    assert "postgresql://postgres:***@db.example.co" in clean


def test_breaker_opens_after_three_failures_in_a_minute_and_probes_once() -> None:
    now = [0.0]
    breaker = CircuitBreaker(clock=lambda: now[0])
    breaker.record_failure()
    now[0] = 70.0  # the first failure is now outside the 60 s window
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow()
    now[0] += 60
    assert breaker.state == "half_open"
    assert breaker.allow() and not breaker.allow()  # one probe at a time
    breaker.record_success()
    assert breaker.state == "closed" and breaker.allow()
