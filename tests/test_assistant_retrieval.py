"""Retrieval on schemas that are not PetCare: stemming, the bilingual vocabulary, the app's own tables, views,
partitions (their foreign keys are their parent's) and materialized views that were never populated.

Two schemas are made here in a database of their own: ``shop`` named in English (with a view, a materialized
view created WITH NO DATA and a partitioned ``payments`` whose foreign keys are declared on the partitions, as
pg_dump writes them for Pagila) and ``locadora`` named in Portuguese. The catalog is read as the app reads it
(``SchemaIndex.from_connection``) and nothing is mocked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from dba_admin.assistant.offline import suggest_indexes_from_plan
from dba_admin.assistant.schema_index import SchemaIndex, analyse, concepts_of, render_table, terms

SCHEMA = """
create schema shop;
create table shop.customers (id bigint primary key, full_name text not null, email text, created_at timestamptz);
create table shop.suppliers (id bigint primary key, company_name text not null, country text);
create table shop.categories (id bigint primary key, name text not null);
create table shop.products (
    id bigint primary key, name text not null, unit_price numeric(10,2) not null,
    supplier_id bigint references shop.suppliers (id), category_id bigint references shop.categories (id));
create table shop.employees (id bigint primary key, full_name text not null, hired_at date);
create table shop.orders (
    id bigint primary key, customer_id bigint not null references shop.customers (id),
    employee_id bigint references shop.employees (id), ordered_at timestamptz not null);
create table shop.order_lines (
    order_id bigint not null references shop.orders (id), product_id bigint not null references shop.products (id),
    quantity int not null, primary key (order_id, product_id));
create view shop.customer_summary as
    select c.id, c.full_name, c.email, count(o.id) as order_count
    from shop.customers c left join shop.orders o on o.customer_id = c.id group by c.id;
create materialized view shop.sales_by_month as
    select date_trunc('month', o.ordered_at) as month, sum(l.quantity) as units
    from shop.orders o join shop.order_lines l on l.order_id = o.id group by 1
    with no data;
create table shop.payments (
    id bigint not null, customer_id bigint not null, amount numeric(10,2) not null, paid_at date not null
) partition by range (paid_at);
create table shop.payments_2023 partition of shop.payments for values from ('2023-01-01') to ('2024-01-01');
create table shop.payments_2024 partition of shop.payments for values from ('2024-01-01') to ('2025-01-01');
alter table only shop.payments_2023 add constraint payments_2023_customer_id_fkey
    foreign key (customer_id) references shop.customers (id);
alter table only shop.payments_2024 add constraint payments_2024_customer_id_fkey
    foreign key (customer_id) references shop.customers (id);

create schema locadora;
create table locadora.filmes (id bigint primary key, titulo text not null, classificacao text);
create table locadora.atores (id bigint primary key, nome text not null);
create table locadora.filme_ator (
    filme_id bigint references locadora.filmes (id), ator_id bigint references locadora.atores (id),
    primary key (filme_id, ator_id));
create table locadora.lojas (id bigint primary key, endereco text);
create table locadora.funcionarios (id bigint primary key, nome text, loja_id bigint references locadora.lojas (id));
create table locadora.alugueis (
    id bigint primary key, filme_id bigint references locadora.filmes (id),
    loja_id bigint references locadora.lojas (id), alugado_em timestamptz, devolvido_em timestamptz);

-- The app's own objects, as in the workspace database.
create schema dba_admin_api;
create table dba_admin_api.saved_queries (id bigint primary key, customer_name text);
create table public.projetos_analytics (id bigint primary key, nome text, customers text);
"""


@pytest.fixture(scope="module")
def dsn(pg_server: Any) -> Iterator[str]:
    from conftest import scratch_database

    data = (
        "insert into shop.customers select g, 'customer ' || g, null, now() from generate_series(1, 50) g;"
        "insert into shop.payments select g, 1 + g % 50, (g % 300)::numeric, date '2023-01-01' + (g % 700)"
        " from generate_series(1, 6000) g;"
        "analyze;"
    )
    with scratch_database(pg_server.dsn, "t_retrieval", SCHEMA + ";" + data) as url:
        yield url


@pytest.fixture(scope="module")
def index(dsn: str) -> SchemaIndex:
    with psycopg.connect(dsn) as conn:
        return SchemaIndex.from_connection(conn)


def top(index: SchemaIndex, question: str, n: int = 5) -> list[str]:
    return [m.table.qualified_name for m in index.search(question, limit=n)]


# --------------------------------------------------------------------------------------------------
# Words
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("rental", "rentals"),
        ("aluguel", "aluguéis"),
        ("locação", "locações"),
        ("category", "categories"),
        ("categoria", "categorias"),
        ("funcionário", "funcionarios"),
        ("employee", "employees"),
        ("fornecedor", "fornecedores"),
        ("country", "countries"),
        ("país", "países"),
        ("mensagem", "mensagens"),
        ("animal", "animais"),
        ("cancelled", "cancel"),
    ],
)
def test_singular_and_plural_forms_are_one_term(one: str, other: str) -> None:
    assert terms(one) == terms(other)


def test_portuguese_inflections_meet_through_the_second_key_and_the_vocabulary() -> None:
    [(_t1, cancelada)] = analyse("canceladas")
    [(_t2, cancelamento)] = analyse("cancelamento")
    assert cancelada == cancelamento  # the Portuguese stem
    # Words of both languages name the same concept, whatever their form.
    for en, pt in [
        ("rented", "alugados"),
        ("rentals", "locações"),
        ("suppliers", "fornecedores"),
        ("employees", "funcionárias"),
        ("revenue", "faturamento"),
        ("tracks", "faixas"),
        ("flights", "voos"),
        ("invoices", "faturas"),
        ("students", "alunos"),
    ]:
        [(te, ae)] = analyse(en)
        [(tp, ap)] = analyse(pt)
        assert set(concepts_of(te, ae)) & set(concepts_of(tp, ap)), (en, pt)
    assert terms("Which table stores the data?") == ["store", "data"]  # "store" is a word; "stored" is not
    assert terms("where are the orders stored?") == ["order"]


# --------------------------------------------------------------------------------------------------
# Retrieval
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("quais fornecedores vendem cada produto?", {"shop.suppliers", "shop.products"}),
        ("pedidos por cliente", {"shop.orders", "shop.customers"}),
        ("quantos funcionários foram contratados em 2023?", {"shop.employees"}),
        ("itens de cada pedido com a quantidade", {"shop.order_lines"}),
        ("pagamentos por cliente", {"shop.payments", "shop.customers"}),
        ("which actors appear in each film?", {"locadora.atores", "locadora.filmes", "locadora.filme_ator"}),
        ("how many rentals per store?", {"locadora.alugueis", "locadora.lojas"}),
        ("staff of each store", {"locadora.funcionarios", "locadora.lojas"}),
        ("films never rented", {"locadora.filmes", "locadora.alugueis"}),
        ("movies by rating", {"locadora.filmes"}),
    ],
)
def test_a_question_in_one_language_finds_tables_named_in_the_other(
    index: SchemaIndex, question: str, expected: set[str]
) -> None:
    found = top(index, question)
    assert expected <= set(found), found


def test_the_apps_own_tables_are_left_out_unless_asked(dsn: str, index: SchemaIndex) -> None:
    assert "public.projetos_analytics" not in index.by_name
    assert not [t for t in index.tables if t.schema == "dba_admin_api"]
    assert "public.projetos_analytics" not in top(index, "projetos analytics customers", 10)
    with psycopg.connect(dsn) as conn:
        asked = SchemaIndex.from_connection(conn, include_app_objects=True)
    assert {"public.projetos_analytics", "dba_admin_api.saved_queries"} <= set(asked.by_name)
    assert top(asked, "projetos analytics")[0] == "public.projetos_analytics"


def test_base_tables_come_before_views_unless_the_view_matches_better(index: SchemaIndex) -> None:
    found = top(index, "customers and their email")
    assert found.index("shop.customers") < found.index("shop.customer_summary")
    assert top(index, "customer summary")[0] == "shop.customer_summary"


# --------------------------------------------------------------------------------------------------
# Partitions
# --------------------------------------------------------------------------------------------------


def test_foreign_keys_declared_on_partitions_belong_to_the_partitioned_table(index: SchemaIndex) -> None:
    payments = index.by_name["shop.payments"]
    assert payments.kind == "partitioned_table"
    assert payments.partitions == ("shop.payments_2023", "shop.payments_2024")
    [fk] = payments.fks_out  # one edge, whichever partitions declare it
    assert (fk.columns, fk.ref_table, fk.ref_columns) == (("customer_id",), "shop.customers", ("id",))
    assert fk.declared_on == ("shop.payments_2023", "shop.payments_2024")
    assert fk in index.by_name["shop.customers"].fks_in
    path = index.join_path("shop.order_lines", "shop.payments")
    assert path is not None
    assert path.tables == ("shop.order_lines", "shop.orders", "shop.customers", "shop.payments")
    # The partitions are known (plans name them) but never ranked: they are the parent's.
    assert set(index.partitions) == {"shop.payments_2023", "shop.payments_2024"}
    assert index.partitions["shop.payments_2023"].partition_of == "shop.payments"
    assert not [t for t in index.tables if t.partition_of]
    assert not [n for n in top(index, "payments of 2023 and 2024", 10) if n.startswith("shop.payments_")]
    assert index.owner_of("payments_2024") is payments
    # A partitioned table without statistics of its own counts its partitions' rows.
    assert payments.estimated_rows == 6000
    assert "2 partitions" in index.render(["shop.payments"], 2000).text


def test_suggest_index_on_a_partition_proposes_it_on_the_partitioned_table(dsn: str) -> None:
    query = "select * from shop.payments where amount > 250"
    with psycopg.connect(dsn, autocommit=True) as conn:
        index = SchemaIndex.from_connection(conn)
        [[plan]] = conn.execute("explain (format json) " + query).fetchone()  # type: ignore[misc]
        scanned = {n.get("Relation Name") for n in _nodes(plan["Plan"]) if n.get("Node Type") == "Seq Scan"}
        assert scanned == {"payments_2023", "payments_2024"}  # the plan reads partitions, not the parent
        [suggestion] = suggest_indexes_from_plan(index, plan)
        assert suggestion.table == "shop.payments" and suggestion.columns == ("amount",)
        assert "partition shop.payments_20" in suggestion.reason and "partitioned table" in suggestion.reason
        assert "CONCURRENTLY" not in suggestion.sql  # refused on a partitioned table
        conn.execute(suggestion.sql)  # the proposed statement runs as proposed
        conn.execute("drop index shop.payments_amount_idx")
        conn.execute("create index payments_amount_idx on shop.payments (amount)")
        try:
            with_index = SchemaIndex.from_connection(conn)
            [[plan]] = conn.execute("explain (format json) " + query).fetchone()  # type: ignore[misc]
            assert suggest_indexes_from_plan(with_index, plan) == []
            # A plan that still scans a partition (the planner's choice) proposes nothing: the index exists.
            conn.execute("set enable_bitmapscan = off")
            conn.execute("set enable_indexscan = off")
            [[plan]] = conn.execute("explain (format json) " + query).fetchone()  # type: ignore[misc]
            assert suggest_indexes_from_plan(with_index, plan) == []
        finally:
            conn.execute("drop index shop.payments_amount_idx")


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []) or []:
        yield from _nodes(child)


# --------------------------------------------------------------------------------------------------
# Materialized views
# --------------------------------------------------------------------------------------------------


def test_a_materialized_view_never_populated_is_known_flagged_and_last(index: SchemaIndex, dsn: str) -> None:
    matview = index.by_name["shop.sales_by_month"]
    assert matview.kind == "materialized_view" and matview.populated is False and not matview.queryable
    assert all(t.populated for t in index.tables if t is not matview)
    for level in (0, 1, 2):
        assert "NOT POPULATED" in render_table(matview, level)
    assert "NOT POPULATED" in index.render(["shop.sales_by_month"], 4000).text
    found = top(index, "sales by month", 10)
    assert found[0] != "shop.sales_by_month"
    [match] = [m for m in index.search("sales by month", limit=10) if m.table is matview]
    assert any("not populated" in r for r in match.reasons)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("refresh materialized view shop.sales_by_month")
        try:
            refreshed = SchemaIndex.from_connection(conn)
        finally:
            conn.execute("refresh materialized view shop.sales_by_month with no data")
    assert refreshed.by_name["shop.sales_by_month"].populated is True
    assert "NOT POPULATED" not in refreshed.render(["shop.sales_by_month"], 4000).text


# --------------------------------------------------------------------------------------------------
# Enum labels and the value index (pg_stats, never table data)
# --------------------------------------------------------------------------------------------------

VALUES_SCHEMA = """
create schema vendas;
create type vendas.prioridade as enum ('baixa', 'media', 'alta', 'critica');
create table vendas.paises (id int primary key, nome text not null);
create table vendas.chamados (
    id int primary key, prioridade vendas.prioridade not null, situacao varchar(20) not null,
    pais_id int references vendas.paises (id), descricao text);
create table public.shipments (id int primary key, carrier text not null, status text not null);
"""


@pytest.fixture
def values_dsn(empty_db_dsn: str) -> str:
    with psycopg.connect(empty_db_dsn, autocommit=True) as conn:
        conn.execute(VALUES_SCHEMA)
        conn.execute("insert into vendas.paises values (1, 'Brasil'), (2, 'Alemanha'), (3, 'Japão')")
        conn.execute(
            "insert into vendas.chamados select g, (array['baixa','media','alta','critica'])[1 + g % 4]::"
            "vendas.prioridade, (array['aberto','cancelado','concluido'])[1 + g % 3], 1 + g % 3,"
            " 'texto livre ' || g from generate_series(1, 600) g"
        )
        conn.execute(
            "insert into public.shipments select g, (array['Correios','FedEx'])[1 + g % 2],"
            " (array['delivered','returned','awaiting pickup'])[1 + g % 3] from generate_series(1, 200) g"
        )
    return empty_db_dsn


def test_enum_labels_are_in_the_index_in_order_under_every_name(values_dsn: str) -> None:
    with psycopg.connect(values_dsn) as conn:
        index = SchemaIndex.from_connection(conn)
    labels = ("baixa", "media", "alta", "critica")
    assert index.enums["vendas.prioridade"] == labels
    assert index.enums["prioridade"] == labels
    column = index.by_name["vendas.chamados"].column("prioridade")
    assert column is not None and index.enums[column.type] == labels  # the name format_type prints
    assert index.enum_labels('"vendas"."prioridade"') == labels
    assert index.enum_labels("text") == ()
    # Enum labels are catalog, not data: found before any ANALYZE, from either language.
    for question in ("tickets with critical priority", "chamados de prioridade crítica"):
        [best, *_] = index.values_for(question)
        assert (best.table, best.column, best.value, best.source) == (
            "vendas.chamados",
            "prioridade",
            "critica",
            "enum",
        ), question


def test_the_value_index_reads_pg_stats_only_once_analyze_has_run(values_dsn: str) -> None:
    with psycopg.connect(values_dsn) as conn:
        before = SchemaIndex.from_connection(conn)
    # Nothing is read from the tables themselves: without statistics no value of a text column is known.
    assert before.column_values == {}
    assert before.values_for("shipments returned by FedEx") == []
    assert [m for m in before.values_for("chamados cancelados do Brasil") if m.source == "stats"] == []

    with psycopg.connect(values_dsn, autocommit=True) as conn:
        conn.execute("analyze")
        after = SchemaIndex.from_connection(conn)
    assert set(after.column_values[("vendas.paises", "nome")]) == {"Brasil", "Alemanha", "Japão"}
    assert (
        "vendas.chamados",
        "descricao",
    ) not in after.column_values  # 600 distinct values (> VALUES_MAX_DISTINCT), none repeated
    # An enum column is answered from its labels (all of them, in order), once, not from its statistics too.
    assert [(m.value, m.source) for m in after.values_for("critical") if m.column == "prioridade"] == [
        ("critica", "enum")
    ]

    def found(question: str, **kw: Any) -> list[tuple[str, str, str]]:
        return [(m.table, m.column, m.value) for m in after.values_for(question, **kw)]

    # English question, Portuguese values (a translation, a stem) and the reverse.
    assert found("tickets from Brazil")[0] == ("vendas.paises", "nome", "Brasil")
    assert found("chamados do Japão")[0] == ("vendas.paises", "nome", "Japão")
    assert ("vendas.chamados", "situacao", "cancelado") in found("cancelled tickets")
    assert found("remessas devolvidas")[0] == ("public.shipments", "status", "returned")
    assert found("envios da FedEx")[0] == ("public.shipments", "carrier", "FedEx")
    assert found("awaiting pickup")[0] == ("public.shipments", "status", "awaiting pickup")
    # A value partly named scores less than one named whole; the caller may keep some tables only.
    [pickup] = [m for m in after.values_for("pickup") if m.value == "awaiting pickup"]
    assert pickup.score < 1.0
    assert found("tickets from Brazil", tables=["public.shipments"]) == []


# --------------------------------------------------------------------------------------------------
# Vocabulary of other domains, both directions, and describe phrasing
# --------------------------------------------------------------------------------------------------

DOMAINS_SCHEMA = """
create schema utility;
create table utility.regions (id int primary key, name text);
create table utility.meters (id int primary key, serial text, region_id int references utility.regions (id));
create table utility.meter_readings (
    meter_id int references utility.meters (id), read_on date, kwh numeric, primary key (meter_id, read_on));
create table utility.outages (
    id int primary key, region_id int references utility.regions (id), started_at timestamptz);
create table utility.support_agents (id int primary key, full_name text);
create table utility.work_orders (
    id int primary key, meter_id int references utility.meters (id),
    agent_id int references utility.support_agents (id), due_on date);
create table utility.tracks (id int primary key, title text);
create table utility.playlist_tracks (playlist int, track_id int references utility.tracks (id));

create schema logistica;
create table logistica.armazens (id int primary key, cidade text);
create table logistica.remessas (
    id int primary key, armazem_id int references logistica.armazens (id), enviada_em date, vencimento date);
create table logistica.funcionarios (id int primary key, nome text, armazem_id int references logistica.armazens (id));
create table logistica.ferias (funcionario_id int references logistica.funcionarios (id), inicio date, fim date);
create table logistica.equipes_terceirizadas (id int primary key, empresa text);
"""


@pytest.fixture
def domains(empty_db_dsn: str) -> SchemaIndex:
    with psycopg.connect(empty_db_dsn, autocommit=True) as conn:
        conn.execute(DOMAINS_SCHEMA)
        return SchemaIndex.from_connection(conn)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # Portuguese questions, English names
        ("quantas interrupções de energia por região?", {"utility.outages", "utility.regions"}),
        ("leituras de cada medidor", {"utility.meter_readings", "utility.meters"}),
        ("ordens de serviço por atendente", {"utility.work_orders", "utility.support_agents"}),
        # English questions, Portuguese names
        ("shipments per warehouse", {"logistica.remessas", "logistica.armazens"}),
        ("employees on vacation", {"logistica.ferias", "logistica.funcionarios"}),
        ("outsourced teams", {"logistica.equipes_terceirizadas"}),
        ("shipments past their due date", {"logistica.remessas"}),
    ],
)
def test_business_words_of_other_domains_cross_languages(
    domains: SchemaIndex, question: str, expected: set[str]
) -> None:
    found = top(domains, question, 3)
    assert expected <= set(found), found


@pytest.mark.parametrize(
    ("question", "first"),
    [
        ("what columns does the meter readings table have?", "utility.meter_readings"),
        ("quais colunas tem a tabela de leituras dos medidores?", "utility.meter_readings"),
        ("what columns does the meters table have?", "utility.meters"),
        ("what columns does the track table have?", "utility.tracks"),  # not playlist_tracks
        ("descreva a tabela de faixas", "utility.tracks"),
        ("describe the work orders table", "utility.work_orders"),
        ("quais colunas tem a tabela remessa?", "logistica.remessas"),
    ],
)
def test_describe_phrasing_ranks_the_named_table_first(domains: SchemaIndex, question: str, first: str) -> None:
    [best, *_] = domains.search(question, limit=3)
    assert best.table.qualified_name == first
    assert "the question names this table" in best.reasons
