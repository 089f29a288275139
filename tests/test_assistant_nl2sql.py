"""The analytical query planner (assistant/nl2sql.py) on a small schema made here, not PetCare.

Two domains in one database: a lending library in English (public) and a shop in Portuguese (schema loja). For
each construct (aggregate per group, top-N, filters from CHECK values, flags, NULL tests, dates and column
comparisons, anti-joins) the planned SQL must pass EXPLAIN and return the same rows as a reference query written
by hand, on the real server. Unanswerable questions must get "I could not build" and candidate tables, no SQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from dba_admin.assistant.nl2sql import QueryPlan, Unplanned, plan_question
from dba_admin.assistant.offline import OfflineProvider
from dba_admin.assistant.schema_index import SchemaIndex

SCHEMA = """
create table branch (branch_id int primary key, name text not null, city text);
create table member (member_id int primary key, first_name text not null, last_name text not null,
  branch_id int not null references branch, active boolean not null, joined_on date);
create table genre (genre_id int primary key, name text not null);
create table book (book_id int primary key, title text not null, pages int not null,
  audience text not null check (audience in ('kids', 'teen', 'adult')), list_price numeric(8,2));
create table book_genre (book_id int references book, genre_id int references genre, primary key (book_id, genre_id));
create table copy (copy_id int primary key, book_id int not null references book,
  branch_id int not null references branch);
create table loan (loan_id int primary key, copy_id int not null references copy,
  member_id int not null references member,
  loaned_at timestamp not null, returned_at timestamp);
create table fee (fee_id int primary key, loan_id int references loan, member_id int not null references member,
  amount numeric(8,2) not null, paid_at timestamp);
create table vendor (vendor_id int primary key, company_name text not null);
create table item (item_id int primary key, name text not null, vendor_id int references vendor,
  unit_price numeric(10,2) not null, stock_units int not null, reorder_level int not null,
  discontinued smallint not null);
create table purchase (purchase_id int primary key, member_id int not null references member, ordered_on date not null,
  shipped_on date);
create table purchase_line (purchase_id int references purchase, item_id int references item, unit_price numeric(10,2),
  quantity int not null, discount real not null default 0, primary key (purchase_id, item_id));

insert into branch select g, 'Branch ' || g, 'City ' || (g % 2) from generate_series(1, 3) g;
insert into member select g, 'First' || g, 'Last' || g, 1 + g % 3, g % 4 <> 0, date '2020-01-01' + g
  from generate_series(1, 20) g;
insert into genre select g, 'Genre ' || g from generate_series(1, 4) g;
insert into book select g, 'Book ' || g, 100 + g * 7, (array['kids','teen','adult'])[1 + g % 3], 10 + g
  from generate_series(1, 15) g;
insert into book_genre select g, 1 + g % 4 from generate_series(1, 15) g;
insert into book_genre select g, 1 + (g + 1) % 4 from generate_series(1, 15, 3) g;
insert into copy select g, 1 + (g * g) % 12, 1 + g % 3 from generate_series(1, 30) g;
insert into loan select g, 1 + (g * 7) % 29, 1 + (g * g) % 17, timestamp '2022-06-01' + g * interval '5 days',
  case when g % 5 = 0 then null else timestamp '2022-06-01' + g * interval '5 days' + interval '9 days' end
  from generate_series(1, 120) g;
insert into fee select g, g * 3, 1 + (g * 3 * g * 3) % 17, (g % 7) + 0.5 * g, null from generate_series(1, 30) g;
insert into vendor select g, 'Vendor ' || g from generate_series(1, 4) g;
insert into item select g, 'Item ' || g, 1 + g % 4, 5 + g * 1.25, (g * 13) % 40, 10 + g % 5, (g % 6 = 0)::int
  from generate_series(1, 18) g;
insert into purchase select g, 1 + (g * 5) % 19, date '2022-11-01' + g * 9,
  case when g % 4 = 0 then null else date '2022-11-01' + g * 9 + 3 end from generate_series(1, 60) g;
insert into purchase_line select p, 1 + (p * k) % 18, 5 + ((p * k) % 18) * 1.25, 1 + (p + k) % 5,
  case when k = 2 then 0.1 else 0 end from generate_series(1, 60) p, generate_series(1, 3) k
  on conflict do nothing;

create schema loja;
create table loja.cliente (id int primary key, nome text not null, cidade text, ativo boolean not null);
create table loja.categoria (id int primary key, nome text not null);
create table loja.produto (id int primary key, nome text not null, categoria_id int references loja.categoria,
  preco numeric(10,2) not null, estoque int not null, estoque_minimo int not null, descontinuado boolean not null);
create table loja.pedido (id int primary key, cliente_id int not null references loja.cliente,
  data_pedido date not null,
  data_entrega date, status text not null check (status in ('aberto', 'pago', 'cancelado')));
create table loja.item_pedido (pedido_id int references loja.pedido, produto_id int references loja.produto,
  preco_unitario numeric(10,2) not null, quantidade int not null, desconto real not null,
  primary key (pedido_id, produto_id));
insert into loja.cliente select g, 'Cliente ' || g, 'Cidade ' || (g % 3), g % 5 <> 0 from generate_series(1, 12) g;
insert into loja.categoria select g, 'Categoria ' || g from generate_series(1, 3) g;
insert into loja.produto select g, 'Produto ' || g, 1 + g % 3, 3 + g * 2.5, (g * 7) % 25, 8 + g % 4, g % 5 = 0
  from generate_series(1, 14) g;
insert into loja.pedido select g, 1 + (g * g) % 11, d, case when g % 3 = 0 then null else d + 2 end,
  (array['aberto','pago','cancelado'])[1 + g % 3]
  from generate_series(1, 90) g,
  lateral (select case when g <= 60 then date '2024-01-01' + g * 9 else current_date - (g - 60) * 3 end d) x;
insert into loja.item_pedido select p, 1 + (p * k) % 14, 3 + ((p * k) % 14) * 2.5, 1 + (p * k) % 4,
  case when k = 1 then 0.05 else 0 end from generate_series(1, 90) p, generate_series(1, 2) k
  on conflict do nothing;

create table region (region_id int primary key, name text not null);
create table depot (depot_id int primary key, label text not null unique, region_id int not null references region,
  town text not null);
create table chore (chore_id int primary key, depot_id int not null references depot, title text not null,
  due_on date not null, done_on date, note text);
insert into region values (1, 'North'), (2, 'South'), (3, 'Coastal');
insert into depot select g, 'D-' || g, 1 + g % 3, (array['Braga','Porto','Faro','Evora'])[1 + g % 4]
  from generate_series(1, 16) g;
insert into chore select g, 1 + g % 16, 'Chore ' || g, date '2023-01-01' + g * 4,
  case when g % 6 = 0 then null else date '2023-01-01' + g * 4 + (g % 5) - 2 end,
  case when g % 3 = 0 then null else 'n' end
  from generate_series(1, 80) g;

create table loja.regiao (id int primary key, nome text not null);
create table loja.filial (id int primary key, nome text not null, regiao_id int not null references loja.regiao,
  cidade text not null);
create type loja.prioridade as enum ('baixa', 'media', 'alta');
create table loja.entrega (id int primary key, filial_id int not null references loja.filial,
  prevista_para date not null, realizada_em date, prioridade loja.prioridade not null default 'media');
insert into loja.regiao values (1, 'Nordeste'), (2, 'Sul'), (3, 'Centro-Oeste');
insert into loja.filial select g, 'Filial ' || g, 1 + g % 3, (array['Recife','Curitiba','Goiania'])[1 + g % 3]
  from generate_series(1, 9) g;
insert into loja.entrega select g, 1 + g % 9, date '2024-03-01' + g * 2,
  case when g % 7 = 0 then null else date '2024-03-01' + g * 2 + (g % 4) - 1 end
  from generate_series(1, 50) g;
analyze;
"""


@pytest.fixture(scope="module")
def dsn(pg_server: Any) -> Iterator[str]:
    from conftest import scratch_database

    with scratch_database(pg_server.dsn, "nl2sql", SCHEMA) as target:
        yield target


@pytest.fixture(scope="module")
def index(dsn: str) -> SchemaIndex:
    with psycopg.connect(dsn) as conn:
        return SchemaIndex.from_connection(conn)


def _norm(value: Any) -> Any:
    if isinstance(value, (Decimal, float)):
        return round(float(value), 4)
    return value


def rows(dsn: str, statement: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        conn.execute("set transaction read only")
        return [tuple(_norm(v) for v in row) for row in conn.execute(statement).fetchall()]


def explains(dsn: str, statement: str) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute("explain " + statement)


# (question, reference SQL, rows compared in order?, fragment the planned SQL must contain)
CASES: list[tuple[str, str, bool, str]] = [
    # aggregates per group, joined along the foreign keys, the group shown by its label
    (
        "how many loans per branch?",
        "select b.branch_id, b.name, count(*) from loan l join copy c on c.copy_id = l.copy_id "
        "join branch b on b.branch_id = c.branch_id group by 1, 2",
        False,
        "GROUP BY",
    ),
    (
        "how many members in each branch?",
        "select b.branch_id, b.name, count(*) from member m join branch b using (branch_id) group by 1, 2",
        False,
        "count(*)",
    ),
    (
        "average pages of books by audience",
        "select audience, avg(pages) from book group by audience",
        False,
        "avg(",
    ),
    (
        "total amount of fees per member",
        "select m.member_id, m.first_name, m.last_name, sum(f.amount) from fee f join member m using (member_id) "
        "group by 1, 2, 3",
        False,
        "sum(",
    ),
    (
        "how many loans per genre in 2023?",
        "select g.genre_id, g.name, count(*) from loan l join copy c using (copy_id) join book_genre bg "
        "on bg.book_id = c.book_id join genre g using (genre_id) where l.loaned_at >= '2023-01-01' "
        "and l.loaned_at < '2024-01-01' group by 1, 2",
        False,
        "2024-01-01",
    ),
    (
        "average item price per vendor",
        "select v.vendor_id, v.company_name, avg(i.unit_price) from item i join vendor v using (vendor_id) "
        "group by 1, 2",
        False,
        "avg(",
    ),
    (
        "quantos pedidos por cliente?",
        "select c.id, c.nome, count(*) from loja.pedido p join loja.cliente c on c.id = p.cliente_id group by 1, 2",
        False,
        "loja.cliente",
    ),
    (
        "faturamento por categoria",
        "select c.id, c.nome, sum(i.preco_unitario * i.quantidade * (1 - i.desconto)) from loja.item_pedido i "
        "join loja.produto p on p.id = i.produto_id join loja.categoria c on c.id = p.categoria_id group by 1, 2",
        False,
        "(1 - ",
    ),
    (
        "preço médio dos produtos por categoria",
        "select c.id, c.nome, avg(p.preco) from loja.produto p join loja.categoria c on c.id = p.categoria_id "
        "group by 1, 2",
        False,
        "avg(",
    ),
    # top-N
    (
        "top 3 members by revenue",
        "select m.member_id, m.first_name, m.last_name, sum(pl.unit_price * pl.quantity * (1 - pl.discount)) s "
        "from purchase_line pl join purchase p using (purchase_id) join member m using (member_id) "
        "group by 1, 2, 3 order by s desc limit 3",
        True,
        "LIMIT 3",
    ),
    (
        "top 5 books with the most loans",
        "select b.book_id, b.title, count(*) n from loan l join copy c using (copy_id) join book b using (book_id) "
        "group by 1, 2 order by n desc, 1 limit 5",
        True,
        "LIMIT 5",
    ),
    (
        "the 3 most expensive items",
        "select item_id, name, unit_price from item order by unit_price desc limit 3",
        True,
        "ORDER BY unit_price DESC",
    ),
    (
        "os três clientes com mais pedidos",
        "select c.id, c.nome, count(*) n from loja.pedido p join loja.cliente c on c.id = p.cliente_id "
        "group by 1, 2 order by n desc, 1 limit 3",
        True,
        "LIMIT 3",
    ),
    (
        "os 4 produtos mais vendidos",
        "select p.id, p.nome, sum(i.quantidade) s from loja.item_pedido i join loja.produto p on p.id = i.produto_id "
        "group by 1, 2 order by s desc, 1 limit 4",
        True,
        "LIMIT 4",
    ),
    # filters
    ("list teen books", "select book_id, title from book where audience = 'teen'", False, "audience = 'teen'"),
    ("discontinued items", "select item_id, name from item where discontinued = 1", False, "discontinued = 1"),
    (
        "loans not returned yet",
        "select loan_id, loaned_at from loan where returned_at is null",
        False,
        "returned_at IS NULL",
    ),
    (
        "purchases in 2023",
        "select purchase_id, ordered_on from purchase where ordered_on >= '2023-01-01' and ordered_on < '2024-01-01'",
        False,
        "ordered_on",
    ),
    (
        "items below their reorder level",
        "select item_id, name from item where stock_units < reorder_level",
        False,
        "stock_units < reorder_level",
    ),
    (
        "pedidos cancelados em 2024",
        "select id, data_pedido from loja.pedido where status = 'cancelado' and data_pedido >= '2024-01-01' "
        "and data_pedido < '2025-01-01'",
        False,
        "status = 'cancelado'",
    ),
    ("produtos descontinuados", "select id, nome from loja.produto where descontinuado", False, "descontinuado"),
    ("pedidos não entregues", "select id, data_pedido from loja.pedido where data_entrega is null", False, "IS NULL"),
    (
        "produtos abaixo do estoque mínimo",
        "select id, nome from loja.produto where estoque < estoque_minimo",
        False,
        "estoque < estoque_minimo",
    ),
    (
        "quantos pedidos no mês passado?",
        "select count(*) from loja.pedido where data_pedido >= date_trunc('month', current_date) - interval '1 month' "
        "and data_pedido < date_trunc('month', current_date)",
        False,
        "date_trunc('month', current_date)",
    ),
    # time buckets: "per year", "por mês", "monthly"
    (
        "number of loans per month",
        "select date_trunc('month', loaned_at)::date, count(*) from loan group by 1",
        False,
        "date_trunc('month'",
    ),
    (
        "quantidade de pedidos por ano",
        "select extract(year from data_pedido), count(*) from loja.pedido group by 1",
        False,
        "extract(year FROM",
    ),
    (
        "monthly number of purchases",
        "select date_trunc('month', ordered_on)::date, count(*) from purchase group by 1",
        False,
        "date_trunc('month'",
    ),
    # the newest date itself, and latest-N honouring N
    ("when was the latest loan?", "select max(loaned_at) from loan", False, "max("),
    ("qual a data do pedido mais recente?", "select max(data_pedido) from loja.pedido", False, "max("),
    (
        "the 4 most recent purchases",
        "select purchase_id, ordered_on from purchase order by ordered_on desc limit 4",
        True,
        "LIMIT 4",
    ),
    # data values from the statistics (pg_stats), on the table or through a foreign key
    ("depots in Porto", "select depot_id, label from depot where town = 'Porto'", False, "'Porto'"),
    (
        "how many depots are in the North region?",
        "select count(*) from depot d join region r using (region_id) where r.name = 'North'",
        False,
        "IN (SELECT",
    ),
    (
        "quantas filiais ficam na região Nordeste?",
        "select count(*) from loja.filial f join loja.regiao r on r.id = f.regiao_id where r.nome = 'Nordeste'",
        False,
        "'Nordeste'",
    ),
    # two date columns of one table compared ("after their due date", "depois da data prevista")
    (
        "how many chores were done after their due date?",
        "select count(*) from chore where done_on > due_on",
        False,
        "done_on > ",
    ),
    (
        "entregas realizadas depois da data prevista",
        "select id, prevista_para from loja.entrega where realizada_em > prevista_para",
        False,
        "realizada_em > ",
    ),
    # "have no X" where X is a nullable column of the subject: IS NULL, not an anti-join
    ("how many chores have no note?", "select count(*) from chore where note is null", False, "IS NULL"),
    # "with a X" where X is a nullable column: IS NOT NULL; a Portuguese preterite names a date column that is set
    ("chores that have a note", "select chore_id, title from chore where note is not null", False, "IS NOT NULL"),
    (
        "as 3 filiais que mais realizaram entregas",
        "select f.id, f.nome, count(*) from loja.entrega e join loja.filial f on f.id = e.filial_id "
        "where e.realizada_em is not null group by 1, 2 order by 3 desc, 1 limit 3",
        True,
        "IS NOT NULL",
    ),
    # ranking entities by a measure of a table that references them
    (
        "the 3 items with the highest quantity",
        "select i.item_id, i.name, sum(pl.quantity) from purchase_line pl join item i using (item_id) "
        "group by 1, 2 order by 3 desc, 1 limit 3",
        True,
        "sum(",
    ),
    # anti-joins
    (
        "members without loans",
        "select member_id, first_name, last_name from member m where not exists "
        "(select 1 from loan l where l.member_id = m.member_id)",
        False,
        "NOT EXISTS",
    ),
    (
        "books that were never loaned",
        "select book_id, title from book b where not exists "
        "(select 1 from copy c join loan l using (copy_id) where c.book_id = b.book_id)",
        False,
        "NOT EXISTS",
    ),
    (
        "members who did not make any purchase in 2023",
        "select member_id, first_name, last_name from member m where not exists (select 1 from purchase p "
        "where p.member_id = m.member_id and p.ordered_on >= '2023-01-01' and p.ordered_on < '2024-01-01')",
        False,
        "2024-01-01",
    ),
    (
        "clientes que nunca fizeram pedidos",
        "select id, nome from loja.cliente c where not exists (select 1 from loja.pedido p where p.cliente_id = c.id)",
        False,
        "NOT EXISTS",
    ),
    (
        "clientes que não compraram nada no mês passado",
        "select id, nome from loja.cliente c where not exists (select 1 from loja.pedido p where p.cliente_id = c.id "
        "and p.data_pedido >= date_trunc('month', current_date) - interval '1 month' "
        "and p.data_pedido < date_trunc('month', current_date))",
        False,
        "NOT EXISTS",
    ),
]


def _key(row: tuple[Any, ...]) -> str:
    return repr(row)


@pytest.mark.parametrize(("question", "reference", "ordered", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_the_planned_query_returns_the_reference_rows(
    dsn: str, index: SchemaIndex, question: str, reference: str, ordered: bool, fragment: str
) -> None:
    plan = plan_question(index, question)
    assert isinstance(plan, QueryPlan), (question, plan)
    assert fragment in plan.sql, plan.sql
    explains(dsn, plan.sql)
    got, want = rows(dsn, plan.sql), rows(dsn, reference)
    assert want, "the reference query returns rows (a test on empty results could not fail)"
    if not ordered:
        got, want = sorted(got, key=_key), sorted(want, key=_key)
    assert got == want, (question, plan.sql)


def test_the_offline_answer_says_what_the_sql_computes(index: SchemaIndex) -> None:
    offline = OfflineProvider(index)
    answer = offline.answer("how many loans per branch?")
    assert answer.intent == "count"
    [statement] = answer.sql
    assert "FROM public.loan" in statement and "count(*)" in statement  # not count(*) of branch
    assert "Counts rows of public.loan per public.branch (branch_id, name)" in answer.text
    assert "public.loan → public.copy → public.branch" in answer.text
    pt = offline.answer("faturamento por categoria")
    assert pt.text.startswith(
        "Soma preco_unitario × quantidade × (1 − desconto) de loja.item_pedido por loja.categoria"
    )
    anti = offline.answer("members without loans")
    assert anti.intent == "anti_join" and "that have no row in public.loan" in anti.text


@pytest.mark.parametrize(
    "question",
    [
        "how many spaceships per galaxy?",
        "total revenue per galaxy",
        "quantas naves por planeta?",
        "members without spaceships",
    ],
)
def test_unanswerable_questions_get_no_query_but_the_candidate_tables(index: SchemaIndex, question: str) -> None:
    planned = plan_question(index, question)
    assert isinstance(planned, Unplanned), (question, planned)
    answer = OfflineProvider(index).answer(question)
    assert answer.sql == () and answer.intent == "unsure"
    assert "I could not build" in answer.text or "Não consegui montar" in answer.text
    assert answer.tables and all(name in index.by_name for name in answer.tables)
    assert "Candidate tables" in answer.text or "Tabelas candidatas" in answer.text


def test_non_analytical_questions_are_left_to_the_other_answers(index: SchemaIndex) -> None:
    for question in ("which table holds the book titles?", "describe member", "how do I join loan and branch?"):
        assert plan_question(index, question) is None, question


def test_an_unpopulated_materialized_view_is_never_proposed(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create materialized view if not exists loan_stats as select member_id from loan with no data")
    try:
        with psycopg.connect(dsn) as conn:
            fresh = SchemaIndex.from_connection(conn)
        table = fresh.by_name.get("public.loan_stats")
        if table is None or not hasattr(table, "populated"):
            pytest.skip("the schema index does not carry a populated flag yet")
        plan = plan_question(fresh, "how many loan stats per member?")
        assert not (isinstance(plan, QueryPlan) and "loan_stats" in plan.sql)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("drop materialized view if exists loan_stats")


# --------------------------------------------------------------------------------------------------
# Offline routing on this schema: describe phrasings, catalog questions, joins, "why does this fail"
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "table"),
    [
        ("what columns does the chore table have?", "public.chore"),
        ("quais colunas tem a tabela filial?", "loja.filial"),
    ],
)
def test_columns_questions_are_describe(index: SchemaIndex, question: str, table: str) -> None:
    answer = OfflineProvider(index).answer(question)
    assert answer.intent == "describe", answer.text
    assert answer.tables[0] == table


def test_where_is_x_kept_is_a_catalog_question_not_a_computation(index: SchemaIndex) -> None:
    answer = OfflineProvider(index).answer("where are the due dates of chores kept?")
    assert answer.intent == "find", answer.text
    assert answer.tables[0] == "public.chore"


def test_join_sides_are_the_tables_named_by_their_words(dsn: str, index: SchemaIndex) -> None:
    answer = OfflineProvider(index).answer("how are chores linked to regions?")
    assert answer.intent == "join", answer.text
    assert answer.tables == ("public.chore", "public.depot", "public.region")
    explains(dsn, answer.sql[0])


def test_a_grouping_error_gets_the_corrected_sql(dsn: str, index: SchemaIndex) -> None:
    for question in (
        'why does this fail? SELECT town, count(*) FROM public.depot -- ERROR: column "depot.town" must appear in '
        "the GROUP BY clause or be used in an aggregate function",
        'por que isto falha? SELECT town, count(*) FROM public.depot -- ERRO: coluna "depot.town" deve aparecer na '
        "cláusula GROUP BY ou ser utilizada em uma função de agregação",
    ):
        answer = OfflineProvider(index).answer(question)
        assert answer.intent == "error"
        assert answer.sql, answer.text
        explains(dsn, answer.sql[0])
        assert sorted(rows(dsn, answer.sql[0])) == sorted(rows(dsn, "select town, count(*) from depot group by 1"))


def test_an_invalid_enum_value_lists_the_labels_and_corrects_the_literal(dsn: str, index: SchemaIndex) -> None:
    for question in (
        "why does this fail? SELECT id FROM loja.entrega WHERE prioridade = 'altissima' -- ERROR: invalid input "
        'value for enum loja.prioridade: "altissima"',
        "por que isto falha? SELECT id FROM loja.entrega WHERE prioridade = 'altissima' -- ERRO: valor de entrada é "
        'inválido para enum loja.prioridade: "altissima"',
    ):
        answer = OfflineProvider(index).answer(question)
        assert answer.intent == "error"
        assert all(f"'{label}'" in answer.text for label in ("baixa", "media", "alta")), answer.text
        assert answer.sql and "'alta'" in answer.sql[0]
        explains(dsn, answer.sql[0])


def test_an_unknown_column_is_searched_in_every_table(dsn: str, index: SchemaIndex) -> None:
    elsewhere = OfflineProvider(index).answer(
        'why does this fail? SELECT label, due FROM public.depot -- ERROR: column "due" does not exist'
    )
    assert "chore.due_on" in elsewhere.text, elsewhere.text
    typo = OfflineProvider(index).answer(
        'why does this fail? SELECT lable FROM public.depot -- ERROR: column "lable" does not exist'
    )
    assert typo.sql, typo.text
    explains(dsn, typo.sql[0])
    assert rows(dsn, typo.sql[0]) == rows(dsn, "select label from public.depot")


# --------------------------------------------------------------------------------------------------
# Held-out failure patterns (issue 14, round 3), on a second schema made here: a video store in English (public)
# and a trading company in Portuguese (schema venda). Every condition kept, "or" as IN, punctuated values,
# percentages on 0-1 columns, the date or NULL column the words name, groups through link tables, rankings,
# self-referencing anti-joins and "which table stores X".
# --------------------------------------------------------------------------------------------------

SCHEMA2 = """
create table address (address_id int primary key, street text not null, phone text not null);
create table client (client_id int primary key, first_name text not null, last_name text not null,
  address_id int not null references address, active smallint not null check (active in (0, 1)),
  birth_date date);
create table genre (genre_id int primary key, name text not null);
create table movie (movie_id int primary key, title text not null, runtime smallint not null,
  rating text not null check (rating in ('G', 'PG', 'PG-13', 'R', 'NC-17')), release_year int not null);
comment on column movie.runtime is 'length in minutes';
create table movie_genre (movie_id int references movie, genre_id int references genre,
  primary key (movie_id, genre_id));
create table performer (performer_id int primary key, first_name text not null, last_name text not null);
create table movie_performer (performer_id int references performer, movie_id int references movie,
  primary key (performer_id, movie_id));
create table lending (lending_id int primary key, movie_id int not null references movie,
  client_id int not null references client, lent_at timestamp not null, returned_at timestamp);
create table payment (payment_id int primary key, client_id int not null references client,
  lending_id int references lending, amount numeric(6,2) not null, paid_at timestamp not null);
insert into address select g, 'Street ' || g, '555-' || g from generate_series(1, 20) g;
insert into client select g, 'Fn' || g, 'Ln' || g, g, (g % 4 <> 0)::int, date '1970-01-01' + g * 400
  from generate_series(1, 20) g;
insert into genre values (1, 'Comedy'), (2, 'Drama'), (3, 'Horror'), (4, 'Family');
insert into movie select g, 'Movie ' || g, 80 + (g * 17) % 100, (array['G','PG','PG-13','R','NC-17'])[1 + g % 5],
  2000 + g % 6 from generate_series(1, 30) g;
insert into movie_genre select g, 1 + g % 4 from generate_series(1, 30) g;
insert into movie_genre select g, 1 + (g + 2) % 4 from generate_series(1, 30, 4) g;
insert into performer select g, 'Pf' || g, 'Pl' || g from generate_series(1, 10) g;
insert into movie_performer select 1 + g % 10, 1 + (g * 7) % 30 from generate_series(1, 60) g on conflict do nothing;
insert into lending select g, 1 + (g * 11) % 30, 1 + (g * 7) % 17, timestamp '2023-01-05' + g * interval '2 days',
  case when g % 6 = 0 then null else timestamp '2023-01-05' + g * interval '2 days' + interval '4 days' end
  from generate_series(1, 150) g;
insert into payment select g, l.client_id, l.lending_id, 1 + (g % 5) + 0.99, l.lent_at + interval '1 hour'
  from generate_series(1, 150) g join lending l on l.lending_id = g;

create schema venda;
create table venda.funcionario (id int primary key, nome text not null, gerente_id int references venda.funcionario,
  data_nascimento date not null);
create table venda.cliente (id int primary key, nome text not null, pais text not null);
create table venda.produto (id int primary key, nome text not null, preco_unitario numeric(10,2) not null,
  estoque int not null, nivel_reposicao int not null, descontinuado smallint not null);
create table venda.pedido (id int primary key, cliente_id int not null references venda.cliente,
  funcionario_id int not null references venda.funcionario, data_pedido date not null,
  data_prevista date not null, data_envio date, frete numeric(8,2) not null);
create table venda.item_pedido (pedido_id int references venda.pedido, produto_id int references venda.produto,
  preco_unitario numeric(10,2) not null, quantidade int not null,
  desconto real not null check (desconto >= 0 and desconto <= 1), primary key (pedido_id, produto_id));
insert into venda.funcionario values (1, 'Ana', null, '1960-02-01'), (2, 'Bruno', 1, '1997-05-03'),
  (3, 'Carla', 1, '1975-03-09'), (4, 'Davi', 2, '1981-07-07'), (5, 'Eva', 2, '1990-10-10'),
  (6, 'Fabio', 3, '1997-01-01');
insert into venda.cliente select g, 'Cliente ' || g, (array['Alemanha','Brasil','Franca'])[1 + g % 3]
  from generate_series(1, 15) g;
insert into venda.produto select g, 'Produto ' || g, 2 + g * 1.5, (g * 7) % 30, 5 + g % 10, (g % 5 = 0)::int
  from generate_series(1, 20) g;
insert into venda.pedido select g, 1 + g % 15, 1 + g % 6, date '1996-07-01' + g * 6, date '1996-07-01' + g * 6 + 14,
  case when g % 9 = 0 then null else date '1996-07-01' + g * 6 + 5 + g % 15 end, 10 + g % 40
  from generate_series(1, 160) g;
insert into venda.item_pedido select p, 1 + (p * k) % 17, 2 + ((p * k) % 17) * 1.5, 1 + (p + k) % 6,
  (array[0, 0.05, 0.1, 0.15, 0.25])[1 + (p * k) % 5] from generate_series(1, 160) p, generate_series(1, 3) k
  on conflict do nothing;
analyze;
"""


@pytest.fixture(scope="module")
def dsn2(pg_server: Any) -> Iterator[str]:
    from conftest import scratch_database

    with scratch_database(pg_server.dsn, "nl2sql2", SCHEMA2) as target:
        yield target


@pytest.fixture(scope="module")
def index2(dsn2: str) -> SchemaIndex:
    with psycopg.connect(dsn2) as conn:
        return SchemaIndex.from_connection(conn)


_FEB = "'2023-03-01' and l.lent_at < '2023-04-01'"
CASES2: list[tuple[str, str, bool, str]] = [
    # A. every condition kept; negated flags; "or" as IN; punctuated values exactly
    ("inactive clients", "select client_id, first_name, last_name from client where active = 0", False, "= 0"),
    ("clientes inativos", "select client_id, first_name, last_name from client where active = 0", False, "= 0"),
    ("movies rated PG-13", "select movie_id, title from movie where rating = 'PG-13'", False, "'PG-13'"),
    ("filmes com classificação PG-13", "select movie_id, title from movie where rating = 'PG-13'", False, "'PG-13'"),
    ("movies rated G or PG", "select movie_id, title from movie where rating in ('G', 'PG')", False, "IN ("),
    ("filmes PG ou G", "select movie_id, title from movie where rating in ('G', 'PG')", False, "IN ("),
    (
        "movies rated PG-13 longer than 150 minutes",
        "select movie_id, title from movie where rating = 'PG-13' and runtime > 150",
        False,
        "> 150",
    ),
    (
        "how many R movies are longer than 120 minutes?",
        "select count(*) from movie where rating = 'R' and runtime > 120",
        False,
        "> 120",
    ),
    (
        "comedy movies rated PG",
        "select m.movie_id, m.title from movie m where m.rating = 'PG' and exists (select 1 from movie_genre mg "
        "join genre g using (genre_id) where mg.movie_id = m.movie_id and g.name = 'Comedy')",
        False,
        "'Comedy'",
    ),
    (
        "produtos não descontinuados com estoque abaixo do nível de reposição",
        "select id, nome from venda.produto where descontinuado = 0 and estoque < nivel_reposicao",
        False,
        "estoque < nivel_reposicao",
    ),
    (
        "orders from 1997 not shipped yet",
        "select id, data_pedido from venda.pedido where data_envio is null and data_pedido >= '1997-01-01' "
        "and data_pedido < '1998-01-01'",
        False,
        "IS NULL",
    ),
    # B. a percentage on a 0-1 column
    (
        "order items with a discount above 10%",
        "select pedido_id, produto_id from venda.item_pedido where desconto > 0.10",
        False,
        "> 0.1",
    ),
    (
        "itens de pedido com desconto acima de 10%",
        "select pedido_id, produto_id from venda.item_pedido where desconto > 0.10",
        False,
        "> 0.1",
    ),
    # C. the date or NULL column the words name
    (
        "pedidos enviados depois da data prevista",
        "select id, data_pedido from venda.pedido where data_envio > data_prevista",
        False,
        "data_envio > ",
    ),
    (
        "pedidos que ainda não foram enviados",
        "select id, data_pedido from venda.pedido where data_envio is null",
        False,
        "data_envio IS NULL",
    ),
    (
        "the 5 most recently shipped orders",
        "select id, data_pedido, data_envio from venda.pedido order by data_envio desc nulls last, id limit 5",
        True,
        "data_envio DESC",
    ),
    (
        "quantos pedidos em 1997?",
        "select count(*) from venda.pedido where data_pedido >= '1997-01-01' and data_pedido < '1998-01-01'",
        False,
        "data_pedido",
    ),
    (
        "clients who did not borrow anything in March 2023",
        "select client_id, first_name, last_name from client c where not exists (select 1 from lending l "
        "where l.client_id = c.client_id and l.lent_at >= " + _FEB + ")",
        False,
        "NOT EXISTS",
    ),
    # D. "classificação (indicativa)" is a rating
    (
        "quantos filmes por classificação indicativa?",
        "select rating, count(*) from movie group by rating",
        False,
        "rating",
    ),
    # E. groups through link tables shown by the far table's label
    (
        "revenue per genre",
        "select g.genre_id, g.name, sum(p.amount) from payment p join lending l using (lending_id) "
        "join movie_genre mg on mg.movie_id = l.movie_id join genre g using (genre_id) group by 1, 2",
        False,
        "sum(",
    ),
    (
        "top 3 performers by number of movies",
        "select p.performer_id, p.first_name, p.last_name, count(*) n from movie_performer mp join performer p "
        "using (performer_id) group by 1, 2, 3 order by n desc, 1 limit 3",
        True,
        "LIMIT 3",
    ),
    # F. rankings
    (
        "which genre brought in the most revenue?",
        "select g.genre_id, g.name, sum(p.amount) s from payment p join lending l using (lending_id) "
        "join movie_genre mg on mg.movie_id = l.movie_id join genre g using (genre_id) group by 1, 2 "
        "order by s desc limit 1",
        True,
        "LIMIT 1",
    ),
    (
        "clients who paid the most",
        "select c.client_id, c.first_name, c.last_name, sum(p.amount) s from payment p join client c "
        "using (client_id) group by 1, 2, 3 order by s desc, 1 limit 1",
        True,
        "sum(",
    ),
    (
        "top 5 clients by total payments",
        "select c.client_id, c.first_name, c.last_name, sum(p.amount) s from payment p join client c "
        "using (client_id) group by 1, 2, 3 order by s desc, 1 limit 5",
        True,
        "LIMIT 5",
    ),
    # G. anti-joins through a self-reference, and with the range inside
    (
        "funcionários que não têm subordinados",
        "select id, nome from venda.funcionario f where not exists (select 1 from venda.funcionario s "
        "where s.gerente_id = f.id)",
        False,
        "NOT EXISTS",
    ),
    (
        "products not sold in 1997",
        "select id, nome from venda.produto p where not exists (select 1 from venda.item_pedido i "
        "join venda.pedido o on o.id = i.pedido_id where i.produto_id = p.id and o.data_pedido >= '1997-01-01' "
        "and o.data_pedido < '1998-01-01')",
        False,
        "NOT EXISTS",
    ),
]


@pytest.mark.parametrize(("question", "reference", "ordered", "fragment"), CASES2, ids=[c[0] for c in CASES2])
def test_every_condition_and_the_named_column_are_kept(
    dsn2: str, index2: SchemaIndex, question: str, reference: str, ordered: bool, fragment: str
) -> None:
    plan = plan_question(index2, question)
    assert isinstance(plan, QueryPlan), (question, plan)
    assert fragment in plan.sql, plan.sql
    explains(dsn2, plan.sql)
    got, want = rows(dsn2, plan.sql), rows(dsn2, reference)
    assert want, "the reference query returns rows (a test on empty results could not fail)"
    if not ordered:
        got, want = sorted(got, key=_key), sorted(want, key=_key)
    assert got == want, (question, plan.sql)


@pytest.mark.parametrize(
    "question", ["which table stores the phone numbers of clients?", "qual tabela guarda os telefones dos clientes?"]
)
def test_find_prefers_the_table_holding_the_named_column(index2: SchemaIndex, question: str) -> None:
    answer = OfflineProvider(index2).answer(question)
    assert answer.intent == "find", answer.text
    assert answer.tables[0] == "public.address", answer.tables


# --------------------------------------------------------------------------------------------------
# Fresh held-out patterns (issue 14, round 4), on a third schema made here: a bus line in English (public) and the
# HR of a company in Portuguese (schema pessoal). Two keys to one table read by "from"/"to", delays and stays as
# durations, the current state as a NULL ending date, a manager's direct reports, years kept as numbers, varchar
# CHECK values, counts compared with HAVING, bare-year bounds and the latest row in the singular.
# --------------------------------------------------------------------------------------------------

SCHEMA3 = """
create type trip_status as enum ('scheduled', 'departed', 'delayed', 'cancelled');
create table stop (stop_id int primary key, code varchar(3) not null unique, city text not null);
create table trip (trip_id int primary key, origin_stop_id int not null references stop,
  destination_stop_id int not null references stop, scheduled_departure timestamp not null,
  actual_departure timestamp, status trip_status not null, fare numeric(8,2) not null);
insert into stop values (1, 'GRU', 'Guarulhos'), (2, 'LIS', 'Lisbon'), (3, 'POA', 'Porto Alegre'), (4, 'REC', 'Recife');
insert into trip select g, 1 + g % 4, 1 + (g + 1 + g / 4 % 3) % 4, timestamp '2023-01-01 08:00' + g * interval '1 day',
  case when g % 7 = 0 then null
       else timestamp '2023-01-01 08:00' + g * interval '1 day' + (g % 5) * interval '50 minutes' end,
  case when g % 7 = 0 then 'cancelled' when g % 5 >= 3 then 'delayed' else 'departed' end::trip_status,
  20 + g % 9 from generate_series(1, 200) g;

create schema pessoal;
create table pessoal.funcionario (id int primary key, nome text not null, gestor_id int references pessoal.funcionario,
  contrato varchar(10) not null check (contrato in ('clt', 'pj', 'estagio')), data_admissao date not null,
  data_desligamento date, salario numeric(10,2) not null,
  remoto smallint not null check (remoto in (0, 1)));
comment on column pessoal.funcionario.remoto is '1 = home office, 0 = presencial';
create table pessoal.afastamento (id int primary key, funcionario_id int not null references pessoal.funcionario,
  inicio date not null, fim date, check (fim is null or fim >= inicio));
create table pessoal.turma (id int primary key, titulo text not null, ano int not null);
create table pessoal.inscricao (turma_id int references pessoal.turma,
  funcionario_id int references pessoal.funcionario, primary key (turma_id, funcionario_id));
insert into pessoal.funcionario select g, 'Pessoa ' || g, case when g <= 3 then null else 1 + g % 3 end,
  (array['clt', 'pj', 'estagio'])[1 + g % 3], date '2019-01-01' + g * 45,
  case when g % 6 = 0 then date '2019-01-01' + g * 45 + 400 end, 3000 + g * 137, (g % 4 = 0)::int
  from generate_series(1, 40) g;
insert into pessoal.afastamento select g, 1 + (g * 7) % 40, date '2022-01-01' + g * 11,
  case when g % 5 = 0 then null else date '2022-01-01' + g * 11 + (g % 17) end from generate_series(1, 60) g;
insert into pessoal.turma select g, 'Turma ' || g, 2021 + g % 4 from generate_series(1, 8) g;
insert into pessoal.inscricao select 1 + g % 8, 1 + (g * 3) % 40 from generate_series(1, 90) g on conflict do nothing;
analyze;
"""


@pytest.fixture(scope="module")
def dsn3(pg_server: Any) -> Iterator[str]:
    from conftest import scratch_database

    with scratch_database(pg_server.dsn, "nl2sql3", SCHEMA3) as target:
        yield target


@pytest.fixture(scope="module")
def index3(dsn3: str) -> SchemaIndex:
    with psycopg.connect(dsn3) as conn:
        return SchemaIndex.from_connection(conn)


_ACTIVE = "data_desligamento is null"
CASES3: list[tuple[str, str, bool, str]] = [
    # two keys to one table: "from"/"to", or the order of the values
    (
        "GRU to LIS trips",
        "select trip_id, scheduled_departure from trip where origin_stop_id = 1 and destination_stop_id = 2",
        False,
        "destination_stop_id IN",
    ),
    (
        "viagens de GRU para LIS",
        "select trip_id, scheduled_departure from trip where origin_stop_id = 1 and destination_stop_id = 2",
        False,
        "origin_stop_id IN",
    ),
    # delays: actual minus scheduled time of one event, compared as an interval; the 'delayed' status not required
    (
        "trips delayed more than 2 hours",
        "select trip_id, scheduled_departure from trip "
        "where actual_departure - scheduled_departure > interval '2 hours'",
        False,
        "interval '2 hours'",
    ),
    (
        "average departure delay in minutes by origin stop",
        "select s.stop_id, s.code, avg(extract(epoch from t.actual_departure - t.scheduled_departure) / 60) "
        "from trip t join stop s on s.stop_id = t.origin_stop_id group by 1, 2",
        False,
        "/ 60",
    ),
    # stays: the ending date minus the start, in days
    (
        "afastamentos com mais de 10 dias",
        "select id, inicio from pessoal.afastamento where fim - inicio > 10",
        False,
        "fim - ",
    ),
    # the current state is the NULL ending date when nothing else says it; kept outside a negation
    ("active employees", f"select id, nome from pessoal.funcionario where {_ACTIVE}", False, "IS NULL"),
    (
        "quantos funcionários PJ temos hoje?",
        f"select count(*) from pessoal.funcionario where contrato = 'pj' and {_ACTIVE}",
        False,
        "'pj'",
    ),
    (
        "quantos funcionários ativos estão em home office?",
        f"select count(*) from pessoal.funcionario where remoto = 1 and {_ACTIVE}",
        False,
        "remoto = 1",
    ),
    # a manager's direct reports, counted by the table's key to itself
    (
        "which manager currently has the most direct reports?",
        "select m.id, m.nome, count(*) n from pessoal.funcionario s join pessoal.funcionario m on s.gestor_id = m.id "
        f"where s.{_ACTIVE} group by 1, 2 order by n desc, 1 limit 1",
        True,
        "LIMIT 1",
    ),
    # rows ranked by a named column, and the latest one in the singular
    (
        "os 3 maiores salários entre os funcionários ativos",
        f"select id, nome, salario from pessoal.funcionario where {_ACTIVE} order by salario desc, id limit 3",
        True,
        "LIMIT 3",
    ),
    (
        "the most recent hire",
        "select id, nome, data_admissao from pessoal.funcionario order by data_admissao desc limit 1",
        True,
        "LIMIT 1",
    ),
    # years: a number column through the key, a bare-year bound, a table named by its date column
    (
        "inscrições em 2023",
        "select turma_id, funcionario_id from pessoal.inscricao where turma_id in "
        "(select id from pessoal.turma where ano = 2023)",
        False,
        "ano = 2023",
    ),
    (
        "funcionários admitidos antes de 2020",
        "select id, nome from pessoal.funcionario where data_admissao < '2020-01-01'",
        False,
        "< DATE '2020-01-01'",
    ),
    (
        "quantos desligamentos em 2021?",
        "select count(*) from pessoal.funcionario where data_desligamento >= '2021-01-01' "
        "and data_desligamento < '2022-01-01'",
        False,
        "data_desligamento >=",
    ),
    # counts compared with HAVING
    (
        "funcionários com mais de 1 afastamento",
        "select id, nome from pessoal.funcionario where id in (select funcionario_id from pessoal.afastamento "
        "group by funcionario_id having count(*) > 1)",
        False,
        "HAVING count(*) > 1",
    ),
]


@pytest.mark.parametrize(("question", "reference", "ordered", "fragment"), CASES3, ids=[c[0] for c in CASES3])
def test_fresh_schema_patterns_compute_the_reference_rows(
    dsn3: str, index3: SchemaIndex, question: str, reference: str, ordered: bool, fragment: str
) -> None:
    plan = plan_question(index3, question)
    assert isinstance(plan, QueryPlan), (question, plan)
    assert fragment in plan.sql, plan.sql
    explains(dsn3, plan.sql)
    got, want = rows(dsn3, plan.sql), rows(dsn3, reference)
    assert want, "the reference query returns rows (a test on empty results could not fail)"
    if not ordered:
        got, want = sorted(got, key=_key), sorted(want, key=_key)
    assert got == want, (question, plan.sql)


def test_a_check_on_a_varchar_column_lists_its_values_not_the_cast(index3: SchemaIndex) -> None:
    from dba_admin.assistant.nl2sql import allowed_values

    values = allowed_values(index3.by_name["pessoal.funcionario"])
    assert values == {"contrato": ["clt", "pj", "estagio"]}, values


def test_a_flag_compared_with_true_gets_the_number(dsn3: str, index3: SchemaIndex) -> None:
    bad = "SELECT count(*) FROM pessoal.funcionario WHERE remoto = true"
    answer = OfflineProvider(index3).explain_error(
        "ERROR: operator does not exist: smallint = boolean", sql=bad, lang="en"
    )
    assert answer.sql, answer.text
    assert "remoto = 1" in answer.sql[0]
    assert rows(dsn3, answer.sql[0]) == rows(dsn3, "select count(*) from pessoal.funcionario where remoto = 1")
