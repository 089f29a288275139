"""The read-only guard after PostgreSQL's name normalisation, and a splitter that stays linear (issue 10).

Each bypass is driven through the real ``DatabaseManager.execute_query(..., read_only=True)`` against the
suite's PostgreSQL: it must be refused before anything runs. Parity tests ask the same server how it
resolves each spelling, so the normaliser is checked against PostgreSQL itself, not against itself.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any

import psycopg
import pytest
from db_helpers import demo_manager
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dba_admin.sql_text as sql_text
from dba_admin.database import DatabaseManager
from dba_admin.errors import QueryRefused
from dba_admin.sql_text import (
    decode_unicode_escapes,
    identifier_name,
    is_read_only_escape,
    resolve_names,
    split_statements,
    tokenize,
)

READONLY_ROLE = "dba_admin_readonly"

ADVISORY_FUNCTIONS = [
    "pg_advisory_lock(1)",
    "pg_advisory_lock(1, 2)",
    "pg_advisory_lock_shared(1)",
    "pg_advisory_unlock(1)",
    "pg_advisory_unlock_shared(1)",
    "pg_advisory_unlock_all()",
    "pg_advisory_xact_lock(1)",
    "pg_advisory_xact_lock_shared(1)",
    "pg_try_advisory_lock(1)",
    "pg_try_advisory_lock_shared(1)",
    "pg_try_advisory_xact_lock(1)",
    "pg_try_advisory_xact_lock_shared(1)",
]

# (text, a word the refusal must name)
BYPASSES: list[tuple[str, str]] = [
    # names after normalisation
    ('SET U&"statement\\005ftimeout" = 0', "statement_timeout"),
    ("SET U&\"!0073tatement_timeout\" UESCAPE '!' = 0", "statement_timeout"),
    ("SET U&\"!0073tatement_timeout\" /* c */ uescape\nE'!' TO 0", "statement_timeout"),
    ('SET "STATEMENT_TIMEOUT" TO 0', "statement_timeout"),
    ('SET U&"\\+00006Cock_timeout" = 0', "lock_timeout"),
    ('SET U&"transaction\\005fread\\005fonly" = off', "transaction_read_only"),
    ('set "role" = postgres', "role"),
    ('set U&"request\\002ejwt\\002eclaims" = \'{"email": "boss@example.com"}\'', "request.jwt.claims"),
    # every scope, TO DEFAULT, RESET
    ("SET statement_timeout TO DEFAULT", "statement_timeout"),
    ("SET LOCAL lock_timeout TO DEFAULT", "lock_timeout"),
    ("SET SESSION idle_in_transaction_session_timeout = 0", "idle_in_transaction_session_timeout"),
    ("set idle_session_timeout = 0", "idle_session_timeout"),
    ("set transaction_timeout = 0", "transaction_timeout"),
    ("set local default_transaction_read_only = off", "default_transaction_read_only"),
    ("set local session authorization postgres", "AUTHORIZATION"),
    ("reset all", "ALL"),
    ('RESET U&"statement\\005ftimeout"', "statement_timeout"),
    ("set session characteristics as transaction read write", "CHARACTERISTICS"),
    ("set transaction read write", "TRANSACTION"),
    ("start transaction read write", "START"),
    ("begin read write", "BEGIN"),
    # resources
    ("set work_mem = '8GB'", "work_mem"),
    ("set local work_mem = U&'\\0034GB'", "work_mem"),
    ("set work_mem = 0x7fffffff", "work_mem"),
    ("set hash_mem_multiplier = 100", "hash_mem_multiplier"),
    ("set maintenance_work_mem = '1GB'", "maintenance_work_mem"),
    ("set temp_file_limit = -1", "temp_file_limit"),
    # set_config in any spelling, anywhere
    ("select set_config('statement_timeout', '0', false)", "set_config"),
    ("select U&\"set\\005fconfig\"('statement_timeout', '0', false)", "set_config"),
    ("select SET_CONFIG('statement_timeout', '0', false)", "set_config"),
    ("select \"pg_catalog\".\"set_config\"('statement_timeout', '0', false)", "set_config"),
    ("select U&\"\\0070g_catalog\" . set_config /* x */ ('statement_timeout', '0', false)", "set_config"),
    ("select 1 where (select set_config('lock_timeout', '0', false)) is not null", "set_config"),
    ("with c as (select pg_catalog.set_config('lock_timeout', '0', false)) select * from c", "set_config"),
    ("explain analyze select set_config('lock_timeout', '0', false)", "set_config"),
    # SQL given as text runs out of sight of the check (this one really works on PostgreSQL 15)
    ("select query_to_xml('select set_config(''lock_timeout'', ''0'', false)', true, true, '')", "query_to_xml"),
    # other sessions and the app's locks
    ("select pg_cancel_backend(pg_backend_pid())", "pg_cancel_backend"),
    ("select pg_catalog.pg_terminate_backend(pid) from pg_stat_activity where usename = current_user", "terminate"),
    *[(f"select {call}", call.split("(")[0]) for call in ADVISORY_FUNCTIONS],
    ("select x from (select pg_catalog.pg_try_advisory_lock(42) as x) s", "pg_try_advisory_lock"),
]


def readonly_backends(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("select count(*) from pg_stat_activity where usename = %s", (READONLY_ROLE,)).fetchone()
        assert row is not None
        return int(row[0])


@pytest.fixture
def fresh(app_db: Any) -> Iterator[DatabaseManager]:
    """Connection demo on a manager that has not connected its read-only login yet, so 'nothing ran' is observable."""
    manager = demo_manager(app_db, monitor=True)
    yield manager
    manager.close()


@pytest.mark.parametrize(("bypass", "named"), BYPASSES)
def test_bypass_is_refused_before_anything_runs(fresh: DatabaseManager, app_db: Any, bypass: str, named: str) -> None:
    text = f"select 1;\n{bypass};\nselect pg_sleep(40)"
    before = readonly_backends(app_db.dsn)
    with pytest.raises(QueryRefused) as refused:
        fresh.execute_query(text, read_only=True)
    info = refused.value.info
    assert "statement 2 (line 2)" in info.message
    assert "nothing was run" in info.message
    assert named.lower() in info.message.lower(), info.message
    assert info.position == text.index(bypass) + 1
    # the read-only login was not even connected
    assert readonly_backends(app_db.dsn) == before


@pytest.mark.parametrize(
    "harmless",
    [
        "select 'statement_timeout' as s, 'set_config(' as t",
        'select x."set_config" from (select 1 as "set_config") x',
        'select x."SET_CONFIG" + 1 from (select 1 as "SET_CONFIG") x',
        "select 1 -- set_config('role', 'postgres', false); set statement_timeout = 0\n",
        "/* SET statement_timeout = 0; select pg_cancel_backend(1) */ select 2",
        "select $$ reset all; select pg_advisory_lock(1) $$",
        "show statement_timeout",
        "select current_setting('statement_timeout')",
        "set datestyle = 'ISO, DMY'",
        "set local timezone to 'UTC'",
        "set search_path = public, pg_catalog",
        "set local work_mem = '64MB'",
        "set work_mem to default",
        "set hash_mem_multiplier = 1.5",
        "select pg_sleep(0)",
    ],
)
def test_harmless_sql_still_runs(db: DatabaseManager, harmless: str) -> None:
    results = db.execute_query(harmless, read_only=True)
    assert [r.status for r in results] == ["ok"], [r.error for r in results]


def test_the_limit_still_holds_after_a_harmless_set(db: DatabaseManager) -> None:
    (_set, res) = db.execute_query("set datestyle = 'ISO, DMY'; select pg_sleep(5)", read_only=True, timeout_ms=300)
    assert res.error is not None and res.error.sqlstate == "57014"


# --- parity with PostgreSQL's own normalisation --------------------------------------------------


@pytest.fixture(scope="module")
def ro_conn(app_db: Any) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(app_db.readonly_dsn, autocommit=True) as conn:
        yield conn


@pytest.mark.parametrize(
    ("spelling", "setting"),
    [
        ('U&"statement\\005ftimeout"', "statement_timeout"),
        ("U&\"!0073tatement_timeout\" UESCAPE '!'", "statement_timeout"),
        ('"STATEMENT_TIMEOUT"', "statement_timeout"),
        ('U&"\\+00006Cock_timeout"', "lock_timeout"),
        ('U&"idle\\005fin\\005ftransaction\\005fsession\\005ftimeout"', "idle_in_transaction_session_timeout"),
    ],
)
def test_postgresql_resolves_each_spelling_to_the_setting_the_guard_names(
    ro_conn: psycopg.Connection[Any], spelling: str, setting: str
) -> None:
    """What the guard refuses is a real escape: PostgreSQL sets the limit under that spelling."""
    (stmt,) = split_statements(f"set local {spelling} = 4321")
    assert setting in (is_read_only_escape(stmt) or "")
    with ro_conn.transaction(force_rollback=True):
        ro_conn.execute("set transaction read only")
        ro_conn.execute(stmt.text)
        row = ro_conn.execute("select current_setting(%s)", (setting,)).fetchone()
    assert row is not None and row[0] in ("4321ms", "4321")


@pytest.mark.parametrize(
    "spelling",
    ['U&"set\\005fconfig"', '"pg_catalog"."set_config"', "PG_CATALOG.SET_CONFIG", "U&\"!0073et_config\" uescape '!'"],
)
def test_postgresql_calls_set_config_under_each_refused_spelling(
    ro_conn: psycopg.Connection[Any], spelling: str
) -> None:
    (stmt,) = split_statements(f"select {spelling}('dba_admin_test.x', 'yes', true)")
    assert "set_config" in (is_read_only_escape(stmt) or "")
    with ro_conn.transaction(force_rollback=True):
        ro_conn.execute(stmt.text)
        row = ro_conn.execute("select current_setting('dba_admin_test.x')").fetchone()
    assert row == ("yes",)


def test_a_quoted_upper_case_name_is_another_function(ro_conn: psycopg.Connection[Any]) -> None:
    (stmt,) = split_statements("select \"SET_CONFIG\"('a.b', 'c', true)")
    assert is_read_only_escape(stmt) is None
    with ro_conn.transaction(force_rollback=True), pytest.raises(psycopg.errors.UndefinedFunction):
        ro_conn.execute(stmt.text)


_NAME_CHARS = st.sampled_from([*'abzAZ_09 é日"!\\+-', "\U0001f600"])


@st.composite
def spellings(draw: st.DrawFn) -> str:
    """An identifier in one of PostgreSQL's spellings: plain word, "quoted", U&"escaped" [UESCAPE]."""
    name = draw(st.text(_NAME_CHARS, min_size=1, max_size=12))
    form = draw(st.sampled_from(["word", "quoted", "unicode", "uescape"]))
    if form == "word":
        word = "".join(c for c in name if c.isalnum() or c == "_").lstrip("0123456789")
        return word or "x"
    if form == "quoted":
        return '"' + name.replace('"', '""') + '"'
    esc = "\\" if form == "unicode" else draw(st.sampled_from(list("!#*~")))
    out = []
    for ch in name:
        how = draw(st.sampled_from(["raw", "4", "6"]))
        if ch == esc:
            out.append(esc + esc)
        elif how == "raw" or (how == "4" and ord(ch) > 0xFFFF and draw(st.booleans())):
            out.append('""' if ch == '"' else ch)
        elif how == "4" and ord(ch) <= 0xFFFF:
            out.append(f"{esc}{ord(ch):04X}")
        elif how == "4":  # a surrogate pair
            v = ord(ch) - 0x10000
            out.append(f"{esc}{0xD800 + (v >> 10):04x}{esc}{0xDC00 + (v & 0x3FF):04x}")
        else:
            out.append(f"{esc}+{ord(ch):06x}")
    body = 'U&"' + "".join(out) + '"'
    return body if form == "unicode" else f"{body} UESCAPE '{esc}'"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spelling=spellings())
def test_identifier_names_match_postgresql(ro_conn: psycopg.Connection[Any], spelling: str) -> None:
    toks, names, _ = resolve_names([t for t in tokenize(f"select 1 as {spelling}") if t.kind not in ("ws", "comment")])
    assert len(toks) == 4, toks
    cur = ro_conn.execute(f"select 1 as {spelling}")
    assert cur.description is not None
    assert names[3] == cur.description[0].name


# --- the normaliser alone -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "escape", "expected"),
    [
        ("d\\0061t\\+000061", "\\", "data"),
        ("a\\\\b", "\\", "a\\b"),
        ("!0073!!", "!", "s!"),
        ("\\D83D\\DE00", "\\", "\U0001f600"),
        ("no escapes", "\\", "no escapes"),
        ("\\D83D", "\\", None),  # a lone surrogate
        ("\\DE00", "\\", None),
        ("\\0000", "\\", None),
        ("\\12", "\\", None),
        ("\\+110000", "\\", None),
        ("\\zzzz", "\\", None),
    ],
)
def test_decode_unicode_escapes(body: str, escape: str, expected: str | None) -> None:
    assert decode_unicode_escapes(body, escape) == expected


def test_identifier_name_forms() -> None:
    def name(text: str) -> str | None:
        toks, names, _ = resolve_names([t for t in tokenize(text) if t.kind not in ("ws", "comment")])
        assert len(toks) == 1, toks
        return names[0]

    assert name("Set_Config") == "set_config"
    assert name('"Set_Config"') == "Set_Config"
    assert name('"a""b"') == 'a"b'
    assert name('u&"\\0041"') == "A"
    assert name("U&\"#0041\" UESCAPE '#'") == "A"
    assert name("\u212aelvin") == "\u212aelvin"  # only A-Z fold, as in PostgreSQL (Python would give 'kelvin')
    assert name('"' + "x" * 70 + '"') == "x" * 63  # NAMEDATALEN truncation
    assert name("'a string'") is None
    assert identifier_name(tokenize("42")[0]) is None


def test_an_invalid_uescape_is_not_folded() -> None:
    toks, _, _ = resolve_names([t for t in tokenize("U&\"x\" UESCAPE 'a'") if t.kind not in ("ws", "comment")])
    assert [t.kind for t in toks] == ["qident", "word", "string"]  # 'a' is a hex digit: PostgreSQL refuses it


# --- linear time, by operation count --------------------------------------------------------------


def _lines_executed(text: str) -> int:
    """Python lines run inside sql_text while splitting and checking ``text`` (a deterministic cost)."""
    count = 0
    module_file = sql_text.__file__

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return local

    def global_(frame: FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename == module_file else None

    # Put back whatever tracer was there (coverage's, under pytest --cov): settrace(None) would switch coverage
    # off for every test that runs after this one in the same process.
    previous = sys.gettrace()
    sys.settrace(global_)
    try:
        for stmt in split_statements(text):
            is_read_only_escape(stmt)
    finally:
        sys.settrace(previous)
    return count


def _pad(unit: str, size: int, head: str = "", tail: str = "") -> str:
    return head + unit * max(1, (size - len(head) - len(tail)) // len(unit)) + tail


PATHOLOGICAL = {
    "nested data-modifying sub-selects": lambda n: _pad("(delete ", n, "with x as (select 1) select "),
    "nested deletes with where": lambda n: _pad("(delete from t ", n, "delete from t where "),
    "deep parentheses": lambda n: "select " + "(" * (n // 2) + "1" + ")" * (n // 2),
    "many statements": lambda n: _pad("select 1;", n),
    "nested ctes": lambda n: _pad("with a as (", n, "", "select 1"),
    "explain chain": lambda n: _pad("explain analyze ", n, "", "select 1"),
    "long quoted string": lambda n: "select '" + "a''" * (n // 3) + "'",
    "unicode identifiers": lambda n: _pad("U&\"!0061\" uescape '!', ", n, "select ", "1"),
    "long drop list": lambda n: _pad("a, ", n, "drop table ", "b"),
    "set_config calls": lambda n: _pad("set_config(", n, "select "),
}


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
def test_splitting_and_checking_do_linear_work(name: str) -> None:
    make = PATHOLOGICAL[name]
    small, large = _lines_executed(make(4096)), _lines_executed(make(32768))
    # 8 times the text: about 8 times the work; a quadratic pass would be about 64 times
    assert large <= 12 * small, (small, large)
