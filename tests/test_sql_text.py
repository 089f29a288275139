"""Splitting, classification and the read-only guard of dba_admin.sql_text (pure, no database)."""

from __future__ import annotations

import pytest
import sqlparse
from hypothesis import given, settings
from hypothesis import strategies as st

from dba_admin.sql_text import (
    Kind,
    Statement,
    format_sql,
    is_read_only_escape,
    split_statements,
    tokenize,
    unsupported_reason,
)


def texts(sql: str) -> list[str]:
    return [s.text for s in split_statements(sql)]


def one(sql: str) -> Statement:
    statements = split_statements(sql)
    assert len(statements) == 1, statements
    return statements[0]


# --- splitting ----------------------------------------------------------------------------------


def test_split_gives_text_and_offset_into_the_original() -> None:
    sql = "  select 1;\n\n  select 2 ;select 3"
    statements = split_statements(sql)
    assert [s.text for s in statements] == ["select 1", "select 2", "select 3"]
    assert [s.start for s in statements] == [2, 15, 25]
    for s in statements:
        assert sql[s.start : s.end] == s.text


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select 'a;b'; select 2", ["select 'a;b'", "select 2"]),
        ("select 'it''s;'; select 2", ["select 'it''s;'", "select 2"]),
        ('select "we;ird" from t; select 2', ['select "we;ird" from t', "select 2"]),
        ('select "a""b;" from t; select 2', ['select "a""b;" from t', "select 2"]),
        ("select $$a;b$$; select 2", ["select $$a;b$$", "select 2"]),
        ("select $tag$ a ; $$ b; $$ $tag$; select 2", ["select $tag$ a ; $$ b; $$ $tag$", "select 2"]),
        ("select E'x\\';y'; select 2", ["select E'x\\';y'", "select 2"]),
        # standard_conforming_strings: a backslash does not escape in a plain string (sqlparse gets this wrong)
        ("select 'a\\', 'b;c'; select 2", ["select 'a\\', 'b;c'", "select 2"]),
        ("select U&'d;\\0061'; select 2", ["select U&'d;\\0061'", "select 2"]),
        ("select 1 -- c;\n; select 2", ["select 1 -- c;", "select 2"]),
        ("select 1 /* a; /* nested; */ still; */; select 2", ["select 1 /* a; /* nested; */ still; */", "select 2"]),
        ("select a$b, $1 from t; select 2", ["select a$b, $1 from t", "select 2"]),
        ("select array[1,2][1]; select 2", ["select array[1,2][1]", "select 2"]),
        (
            "create rule r as on insert to t do instead (insert into u values (1); insert into v values (2)); select 9",
            [
                "create rule r as on insert to t do instead (insert into u values (1); insert into v values (2))",
                "select 9",
            ],
        ),
    ],
)
def test_semicolons_inside_literals_comments_and_parentheses_do_not_split(sql: str, expected: list[str]) -> None:
    assert texts(sql) == expected


def test_dollar_quoted_function_bodies_stay_whole() -> None:
    sql = (
        "create function f() returns trigger language plpgsql as $$\n"
        "begin\n  if new.a is null then\n    raise exception 'a; b';\n  end if;\n  return new;\nend;\n$$;\n"
        "select 1"
    )
    statements = split_statements(sql)
    assert len(statements) == 2
    assert statements[0].text.endswith("$$")
    assert statements[0].kind == Kind.DDL
    assert statements[1].text == "select 1"


def test_begin_atomic_bodies_follow_psql() -> None:
    sql = (
        "create function f() returns int language sql begin atomic select 1; "
        "select case when true then 2 end; end; "
        "create or replace procedure p() language sql begin atomic insert into t values (1); end; select 4"
    )
    assert texts(sql) == [
        "create function f() returns int language sql begin atomic select 1; select case when true then 2 end; end",
        "create or replace procedure p() language sql begin atomic insert into t values (1); end",
        "select 4",
    ]


def test_begin_as_a_word_outside_routines_does_not_swallow_statements() -> None:
    # sqlparse (0.5/0.6) merges this into ONE statement, which would hide the COMMIT and SET ROLE
    # from the read-only checks; the splitter here must not.
    sql = "select begin from t; commit; set role postgres; select 1 end"
    assert len(sqlparse.split(sql)) == 1  # documents why sqlparse is not used for splitting
    assert texts(sql) == ["select begin from t", "commit", "set role postgres", "select 1 end"]


@pytest.mark.parametrize("sql", ["", "   \n\t", ";", " ; ; ", "-- only a comment", "/* c */ ; -- x\n", "--"])
def test_empty_and_comment_only_texts_have_no_statements(sql: str) -> None:
    assert split_statements(sql) == []


def test_comments_are_kept_with_the_statement_that_follows() -> None:
    sql = "select 1;\n-- the second one\nselect 2 -- trailing\n"
    statements = split_statements(sql)
    assert [s.text for s in statements] == ["select 1", "-- the second one\nselect 2 -- trailing"]
    assert statements[1].start == sql.index("-- the second")
    assert statements[1].kind == Kind.READ


def test_a_trailing_comment_only_piece_is_dropped() -> None:
    assert texts("select 1;\n-- the end\n") == ["select 1"]


def test_unterminated_literal_runs_to_the_end_as_postgresql_sees_it() -> None:
    assert texts("select 'oops; select 2") == ["select 'oops; select 2"]
    assert texts("select $$oops; select 2") == ["select $$oops; select 2"]
    assert texts("select 1 /* oops; select 2") == ["select 1 /* oops; select 2"]


def test_unicode_offsets_are_character_offsets() -> None:
    sql = "select 'é;日本'; select '✓'"
    statements = split_statements(sql)
    assert [s.text for s in statements] == ["select 'é;日本'", "select '✓'"]
    assert sql[statements[1].start :] == "select '✓'"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab ;'\"$-/*\n()eE\\Ué1")), max_size=60))
def test_tokenize_is_lossless_and_statements_are_slices_of_the_text(sql: str) -> None:
    assert "".join(t.value for t in tokenize(sql)) == sql
    for s in split_statements(sql):
        assert s.text
        assert sql[s.start : s.end] == s.text
        assert s.text == s.text.strip()


# --- classification -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("select * from t", Kind.READ),
        ("SELECT * FROM t FOR UPDATE", Kind.READ),
        ("(select 1) union (select 2)", Kind.READ),
        ("values (1), (2)", Kind.READ),
        ("table t", Kind.READ),
        ("show work_mem", Kind.READ),
        ("explain select 1", Kind.READ),
        ("explain (analyze off) delete from t", Kind.READ),
        ("explain analyze select 1", Kind.READ),
        ("with x as (select 1) select * from x", Kind.READ),
        ("copy t to stdout", Kind.READ),
        ("insert into t values (1)", Kind.WRITE),
        ("insert into t values (1) on conflict (id) do update set a = 1", Kind.WRITE),
        ("update t set a = 1 where id = 2", Kind.WRITE),
        ("delete from t where id = 2", Kind.WRITE),
        ("merge into t using s on t.id = s.id when matched then update set a = s.a", Kind.WRITE),
        ("copy t from '/tmp/x.csv'", Kind.WRITE),
        ("with d as (delete from t where a = 1 returning *) select * from d", Kind.WRITE),
        ("explain analyze insert into t values (1)", Kind.WRITE),
        ("vacuum analyze t", Kind.WRITE),
        ("call p()", Kind.WRITE),
        ("do $$ begin null; end $$", Kind.WRITE),
        ("create table t (a int)", Kind.DDL),
        ("create index concurrently i on t (a)", Kind.DDL),
        ("alter table t add column b int", Kind.DDL),
        ("alter table t alter column b drop not null", Kind.DDL),
        ("alter table t alter column b drop default", Kind.DDL),
        ("comment on table t is 'x'", Kind.DDL),
        ("grant select on t to someone", Kind.DDL),
        ("revoke select on t from someone", Kind.DDL),
        ("select * into newt from t", Kind.DDL),
        ("drop table t", Kind.DESTRUCTIVE),
        ("truncate t", Kind.DESTRUCTIVE),
        ("delete from t", Kind.DESTRUCTIVE),
        ("update t set a = 1", Kind.DESTRUCTIVE),
        ("update t set a = (select b from u where u.id = 1)", Kind.DESTRUCTIVE),
        ("alter table t drop column b", Kind.DESTRUCTIVE),
        ("alter table t drop constraint c", Kind.DESTRUCTIVE),
        ("with d as (delete from t returning *) select count(*) from d", Kind.DESTRUCTIVE),
        ("explain analyze delete from t", Kind.DESTRUCTIVE),
        ("begin", Kind.TRANSACTION),
        ("start transaction read write", Kind.TRANSACTION),
        ("commit", Kind.TRANSACTION),
        ("end", Kind.TRANSACTION),
        ("rollback", Kind.TRANSACTION),
        ("savepoint s", Kind.TRANSACTION),
        ("release savepoint s", Kind.TRANSACTION),
        ("prepare transaction 'x'", Kind.TRANSACTION),
        ("set search_path = public", Kind.SESSION),
        ("set role postgres", Kind.SESSION),
        ("reset all", Kind.SESSION),
        ("discard all", Kind.SESSION),
        ("listen chan", Kind.SESSION),
        ("frobnicate everything", Kind.OTHER),
    ],
)
def test_classification(sql: str, kind: Kind) -> None:
    assert one(sql).kind == kind


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("DROP TABLE public.orders", "DROP TABLE public.orders"),
        ('drop table if exists a, "b ;c" cascade', 'DROP TABLE a, "b ;c" CASCADE'),
        ("drop materialized view mv", "DROP MATERIALIZED VIEW mv"),
        ("drop function f(int, text), g()", "DROP FUNCTION f, g"),
        ("DELETE FROM public.orders", "DELETE without WHERE on public.orders"),
        ("delete from only t", "DELETE without WHERE on t"),
        ("update public.x set a = 1", "UPDATE without WHERE on public.x"),
        ("TRUNCATE public.x", "TRUNCATE public.x"),
        ("truncate table only a, b restart identity", "TRUNCATE a, b"),
        ("ALTER TABLE public.x DROP COLUMN y", "ALTER TABLE public.x: DROP COLUMN y"),
        ('alter table "a b" drop constraint c_fk', 'ALTER TABLE "a b": DROP CONSTRAINT c_fk'),
        ("explain analyze delete from t", "EXPLAIN ANALYZE runs it: DELETE without WHERE on t"),
        ("with d as (delete from t returning *) select * from d", "DELETE without WHERE on t"),
    ],
)
def test_destructive_statements_say_why(sql: str, reason: str) -> None:
    stmt = one(sql)
    assert stmt.kind == Kind.DESTRUCTIVE
    assert stmt.destructive_reason == reason


def test_non_destructive_statements_have_no_reason() -> None:
    for sql in ("select 1", "delete from t where id = 1", "create table t (a int)", "alter table t drop default"):
        assert one(sql).destructive_reason is None, sql


@pytest.mark.parametrize(
    ("sql", "targets"),
    [
        ("insert into public.orders (a) values (1)", ("public.orders",)),
        ('update "My Schema"."we""ird" set a = 1 where b', ('"My Schema"."we""ird"',)),
        ("delete from only t where a", ("t",)),
        ("drop table a, b.c", ("a", "b.c")),
        ("truncate x", ("x",)),
        ("create index i on public.t (a)", ("i", "public.t")),
        ("create table if not exists s.t (a int)", ("s.t",)),
        ("alter table if exists only s.t add column b int", ("s.t",)),
        ("vacuum (verbose) public.t", ("public.t",)),
        ("copy s.t from '/x'", ("s.t",)),
    ],
)
def test_targets(sql: str, targets: tuple[str, ...]) -> None:
    assert one(sql).targets == targets


@pytest.mark.parametrize(
    ("sql", "cursorable", "returns_rows", "autocommit"),
    [
        ("select 1", True, True, False),
        ("with x as (select 1) select * from x", True, True, False),
        ("with x as (insert into t values (1) returning *) select * from x", False, True, False),
        ("insert into t values (1) returning id", False, True, False),
        ("insert into t values (1)", False, False, False),
        ("select * into n from t", False, False, False),
        ("show work_mem", False, True, False),
        ("explain select 1", False, True, False),
        ("vacuum t", False, False, True),
        ("create index concurrently i on t (a)", False, False, True),
        ("create index i on t (a)", False, False, False),
        ("drop index concurrently i", False, False, True),
        ("reindex table concurrently t", False, False, True),
        ("create database x", False, False, True),
        ("alter system set work_mem = '8MB'", False, False, True),
    ],
)
def test_execution_hints(sql: str, cursorable: bool, returns_rows: bool, autocommit: bool) -> None:
    stmt = one(sql)
    assert (stmt.cursorable, stmt.returns_rows, stmt.needs_autocommit) == (cursorable, returns_rows, autocommit)


def test_commands() -> None:
    assert one("create unique index i on t (a)").command == "CREATE INDEX"
    assert one("drop materialized view v").command == "DROP MATERIALIZED VIEW"
    assert one("alter table t add b int").command == "ALTER TABLE"
    assert one("select 1").command == "SELECT"


# --- the read-only guard ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "BEGIN",
        "begin transaction read write",
        "START TRANSACTION",
        "COMMIT",
        "end",
        "ROLLBACK",
        "abort",
        "savepoint s",
        "release savepoint s",
        "rollback to savepoint s",
        "prepare transaction 'x'",
        "commit prepared 'x'",
        "SET ROLE postgres",
        "set local role postgres",
        "set session role postgres",
        "SET SESSION AUTHORIZATION postgres",
        "RESET ROLE",
        "RESET ALL",
        "reset statement_timeout",
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
        "set transaction read write",
        "set default_transaction_read_only = off",
        "set statement_timeout = 0",
        "set local lock_timeout to 0",
        'set request.jwt.claims = \'{"email": "boss@example.com"}\'',
        "set \"request.jwt.claims\" = '{}'",
        "select set_config('role', 'postgres', false)",
        "select pg_catalog.set_config('request.jwt.claims', '{}', true)",
        "select * from t where set_config('x.y', '1', true) is not null",
        "do $$ begin perform set_config('role', 'postgres', false); end $$",
        "discard all",
        "load 'auto_explain'",
    ],
)
def test_read_only_escapes_are_refused_with_a_reason(sql: str) -> None:
    reason = is_read_only_escape(one(sql))
    assert reason is not None
    assert "read-only" in reason or "transaction" in reason


@pytest.mark.parametrize(
    "sql",
    [
        "select * from t",
        "with x as (select 1) select * from x",
        "explain select 1",
        "show search_path",
        "set search_path = public, extensions",
        "set local work_mem = '64MB'",
        "set time zone 'UTC'",
        "select 'set_config(' as text_not_a_call",
        "select set_config_like_column from t",
        "insert into t values (1)",  # PostgreSQL refuses it (25006); not an escape of the transaction
    ],
)
def test_ordinary_statements_are_not_escapes(sql: str) -> None:
    assert is_read_only_escape(one(sql)) is None


def test_copy_to_and_from_the_client_is_unsupported() -> None:
    assert unsupported_reason(one("copy t from stdin")) is not None
    assert unsupported_reason(one("COPY (select 1) TO STDOUT with csv")) is not None
    assert unsupported_reason(one("copy t from '/tmp/file.csv'")) is None
    assert unsupported_reason(one("select 1")) is None


# --- formatting ---------------------------------------------------------------------------------


def test_format_sql_reindents_and_upper_cases_keywords() -> None:
    formatted = format_sql("select a, b from t where x = 1 and y = 'z' order by 1")
    assert formatted.splitlines()[0].startswith("SELECT a")
    assert "\nFROM t" in formatted
    assert "WHERE x = 1" in formatted
    assert "'z'" in formatted


def test_format_sql_keeps_comments_and_literals() -> None:
    formatted = format_sql("select 'MiXeD case' as v -- keep me\nfrom t")
    assert "'MiXeD case'" in formatted
    assert "-- keep me" in formatted


def test_format_sql_never_changes_meaning() -> None:
    # sqlparse lexes this standard string wrongly; formatting it would rewrite the literal 'b;c'.
    tricky = "select 'a\\', 'b;c' from t"
    assert format_sql(tricky) == tricky
    assert format_sql("") == ""
    assert format_sql("   ") == "   "


def test_identifier_character_sets_are_postgresqls_over_every_code_point() -> None:
    """The lexer's sets are written as ASCII complements (they compile 50x faster than a range up to U+10FFFF);
    they must be exactly the sets PostgreSQL reads as identifier characters."""
    import re

    from dba_admin.sql_text import IDENT_CHAR, IDENT_CHAR_OR_DOLLAR, IDENT_START

    everything = "".join(map(chr, range(0x110000)))
    for ours, postgres in (
        (IDENT_START, r"[A-Za-z_\u0080-\U0010ffff]"),
        (IDENT_CHAR, r"[A-Za-z0-9_\u0080-\U0010ffff]"),
        (IDENT_CHAR_OR_DOLLAR, r"[A-Za-z0-9_$\u0080-\U0010ffff]"),
    ):
        assert re.findall(ours, everything) == re.findall(postgres, everything), ours
