"""The PetCare demo database (sql/demo, dba_admin.demo) on a real PostgreSQL.

One module database gets the demo loaded once (with a fixed anchor day) for the structural checks; the
determinism, rollback and idempotency tests use brand-new databases of their own.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.json import Jsonb

from dba_admin.advisors import run_checks
from dba_admin.config import Settings
from dba_admin.database import DatabaseManager
from dba_admin.demo import (
    DEMO_DIR,
    DEMO_TABLES,
    READONLY_POLICY,
    DemoLoadError,
    DemoLoadResult,
    demo_present,
    demo_row_counts,
    load_demo,
)
from dba_admin.errors import NotFound
from dba_admin.local_pg import DBA_ROLE, DEMO_DATABASE, MONITOR_ROLE, READONLY_ROLE
from dba_admin.migrations import apply_local_compat

ANCHOR = date(2026, 3, 15)

# child table, column -> parent table (every foreign key the schema declares)
EXPECTED_FKS = {
    ("tutors", "user_id"): "user_profiles",
    ("pets", "tutor_id"): "tutors",
    ("appointments", "tutor_id"): "tutors",
    ("appointments", "pet_id"): "pets",
    ("appointments", "service_id"): "services",
    ("appointment_reminders", "appointment_id"): "appointments",
    ("orders", "user_id"): "user_profiles",
    ("order_items", "order_id"): "orders",
    ("order_items", "product_id"): "products",
    ("payments", "order_id"): "orders",
    ("conversations", "user_id"): "user_profiles",
    ("messages", "conversation_id"): "conversations",
    ("context_data", "conversation_id"): "conversations",
    ("ai_memory", "user_id"): "user_profiles",
    ("campaign_recipients", "campaign_id"): "campaigns",
    ("campaign_recipients", "user_id"): "user_profiles",
}
# The deliberate imperfection: foreign keys no index starts with.
UNINDEXED_FKS = {("order_items", "product_id"), ("campaign_recipients", "user_id")}


@dataclass
class LoadedDemo:
    dsn: str
    result: DemoLoadResult


def _with_dbname(dsn: str, dbname: str) -> str:
    params = conninfo_to_dict(dsn)
    params["dbname"] = dbname
    return make_conninfo(**{k: str(v) for k, v in params.items() if v is not None})


def _prepare_and_load(dsn: str, anchor: date | None = ANCHOR) -> DemoLoadResult:
    with psycopg.connect(dsn, autocommit=True) as conn:
        apply_local_compat(conn)  # sql/local (roles, auth.uid()) only, as the bootstrap prepares `petcare`
        return load_demo(conn, anchor=anchor)


@pytest.fixture(scope="module")
def demo(pg_server: Any, app_db: Any) -> Iterator[LoadedDemo]:
    """A database of its own with the demo loaded (after the app's bootstrap: the cluster's roles exist)."""
    name = f"demo_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    dsn = _with_dbname(pg_server.dsn, name)
    result = _prepare_and_load(dsn)
    print(f"\nPetCare demo: {result.rows} rows in {result.tables} tables loaded in {result.seconds:.2f} s")
    yield LoadedDemo(dsn=dsn, result=result)
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture
def conn(demo: LoadedDemo) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(demo.dsn, autocommit=True) as c:
        c.execute("set timezone = 'UTC'")
        yield c


def _checksums(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """md5 of every demo table's rows in key order: equal checksums mean byte-identical data."""
    conn.execute("set timezone = 'UTC'")
    out = {}
    for name in DEMO_TABLES:
        query = sql.SQL("select md5(string_agg(t::text, e'\\n' order by t.id)) from {} t").format(
            sql.Identifier("public", name)
        )
        row = conn.execute(query).fetchone()
        assert row is not None
        out[name] = row[0]
    return out


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------


def test_load_reports_sixteen_tables_and_over_100k_rows(demo: LoadedDemo, conn: psycopg.Connection[Any]) -> None:
    assert demo.result.loaded
    assert demo.result.tables == 16
    counts = demo_row_counts(conn)
    assert set(counts) == set(DEMO_TABLES)
    assert demo.result.rows == sum(counts.values())
    assert demo.result.rows >= 100_000
    assert all(n > 0 for n in counts.values()), counts
    # "a few thousand users and pets, tens of thousands of messages"
    assert 2_000 <= counts["user_profiles"] <= 10_000
    assert 2_000 <= counts["pets"] <= 10_000
    assert counts["messages"] >= 20_000
    assert counts["appointments"] >= 10_000 and counts["orders"] >= 5_000


def test_a_fresh_demo_is_not_overdue_for_analyze(demo: LoadedDemo, conn: psycopg.Connection[Any]) -> None:
    """Its statistics are gathered after the load commits; the load's own ANALYZE is undone by the commit."""
    rows = conn.execute(
        "select relname, n_mod_since_analyze from pg_stat_user_tables where schemaname = 'public'"
        " and relname = any(%s) and n_mod_since_analyze > 0",
        (list(DEMO_TABLES),),
    ).fetchall()
    assert rows == []
    manager = DatabaseManager(Settings(database_url=demo.dsn), demo.dsn)
    try:
        report = run_checks(manager, names=["analyze_overdue"], thresholds={"analyze_min_changed_rows": 1})
    finally:
        manager.close()
    assert [r.status for r in report.runs] == ["ok"] and report.findings == []


def test_second_load_is_a_no_op(demo: LoadedDemo, conn: psycopg.Connection[Any]) -> None:
    before = demo_row_counts(conn)
    again = load_demo(conn, anchor=ANCHOR)
    assert again == DemoLoadResult(loaded=False, rows=0, tables=0)
    assert demo_row_counts(conn) == before


def test_two_loads_into_fresh_databases_are_identical(demo: LoadedDemo, empty_db_dsn: str) -> None:
    """Same anchor, same bytes. The second database is loaded by two callers at once (two app servers
    starting together): the advisory lock lets exactly one of them load."""
    with psycopg.connect(empty_db_dsn, autocommit=True) as conn:
        apply_local_compat(conn)

    def load() -> DemoLoadResult:
        with psycopg.connect(empty_db_dsn, autocommit=True) as conn:
            return load_demo(conn, anchor=ANCHOR)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: load(), range(2)))
    assert sorted(r.loaded for r in results) == [False, True]
    assert max(r.rows for r in results) == demo.result.rows

    with psycopg.connect(demo.dsn) as first_conn, psycopg.connect(empty_db_dsn) as second_conn:
        first, other = _checksums(first_conn), _checksums(second_conn)
    assert first == other
    assert all(first.values())


def test_failed_load_rolls_back_whole_and_names_file_and_line(empty_db_dsn: str, tmp_path: Path) -> None:
    shutil.copy(DEMO_DIR / "01_schema.sql", tmp_path / "01_schema.sql")
    (tmp_path / "02_data.sql").write_text(
        "insert into public.services (name, category, price, duration_minutes)\n"
        "values ('Banho', 'bath', 60, 60);\n"
        "\n"
        "insert into public.services (name, category, price, duration_minutes)\n"
        "values ('Tosa', 'not-a-category', 45, 30);\n",
        encoding="utf-8",
    )
    with psycopg.connect(empty_db_dsn, autocommit=True) as conn:
        apply_local_compat(conn)
        with pytest.raises(DemoLoadError) as info:
            load_demo(conn, directory=tmp_path)
        assert info.value.file == "02_data.sql"
        assert info.value.line == 4
        assert "services_category_check" in info.value.message
        assert not demo_present(conn)  # the schema file ran, and was rolled back with the rest
        with pytest.raises(NotFound):
            demo_row_counts(conn)
        left = conn.execute(
            "select count(*) from pg_tables where schemaname = 'public' and tablename = any(%s)", (list(DEMO_TABLES),)
        ).fetchone()
        assert left == (0,)


def test_default_anchor_ends_history_around_now(app_db: Any) -> None:
    """The app's own bootstrap loads the demo with today's date: history up to now, an agenda ahead."""
    with psycopg.connect(app_db.demo_dsn) as conn:
        row = conn.execute(
            """
            select (select max(created_at) from public.orders),
                   (select max("timestamp") from public.messages),
                   (select min(appointment_date) from public.appointments),
                   (select max(appointment_date) from public.appointments),
                   now()
            """
        ).fetchone()
    assert row is not None
    last_order, last_message, first_appt, last_appt, now = row
    assert (now - last_order).days <= 2 and last_order <= now
    assert (now - last_message).days <= 2
    assert (now - first_appt).days >= 300
    assert last_appt > now  # scheduled appointments in the coming weeks


def test_the_embedded_demo_is_a_database_of_its_own(app_db: Any) -> None:
    """Bootstrap: the demo lives in `petcare` (connection `demo`), owned by its DBA login, with none of the app's
    schema in it; the workspace holds the app's data and none of the demo's tables."""
    with psycopg.connect(app_db.demo_dsn) as demo:
        assert demo.execute("select current_database()").fetchone() == (DEMO_DATABASE,)
        owners = demo.execute(
            "select distinct tableowner from pg_tables where schemaname = 'public' and tablename = any(%s)",
            (list(DEMO_TABLES),),
        ).fetchall()
        assert owners == [(DBA_ROLE,)]
        app_schemas = demo.execute(
            "select array_agg(nspname) from pg_namespace where nspname in ('dba_admin', 'dba_admin_api')"
        ).fetchone()
        assert app_schemas == (None,)
        assert demo.execute("select to_regclass('public.projetos_analytics')").fetchone() == (None,)
        assert demo.execute("select rolsuper from pg_roles where rolname = %s", (DBA_ROLE,)).fetchone() == (False,)
        # the readers may read every demo table, and the monitor login is a pg_monitor
        for reader in (MONITOR_ROLE, READONLY_ROLE):
            cannot = demo.execute(
                "select array_agg(t) from unnest(%s::text[]) t"
                " where not has_table_privilege(%s, 'public.' || t, 'SELECT')",
                (list(DEMO_TABLES), reader),
            ).fetchone()
            assert cannot == (None,), (reader, cannot)
        assert demo.execute("select pg_has_role(%s, 'pg_monitor', 'member')", (MONITOR_ROLE,)).fetchone() == (True,)
        counts = demo_row_counts(demo)
    # ... and see every row: neither bypasses RLS, each has a SELECT policy of its own on the RLS tables (DBAs preview
    # on the monitor login, analysts on the read-only one)
    for dsn in (app_db.demo_monitor_dsn, app_db.demo_readonly_dsn):
        with psycopg.connect(dsn) as reader:
            assert demo_row_counts(reader) == counts, dsn.split("user=")[-1].split()[0]
    with psycopg.connect(app_db.dsn) as workspace:
        left = workspace.execute(
            "select array_agg(tablename) from pg_tables where schemaname = 'public' and tablename = any(%s)",
            (list(DEMO_TABLES),),
        ).fetchone()
        assert left == (None,)
        assert workspace.execute("select to_regclass('dba_admin.users') is not null").fetchone() == (True,)


# --------------------------------------------------------------------------------------------------
# Structure
# --------------------------------------------------------------------------------------------------


def test_every_table_has_a_primary_key_and_comments(conn: psycopg.Connection[Any]) -> None:
    rows = conn.execute(
        """
        select c.relname,
               exists (select 1 from pg_constraint k where k.conrelid = c.oid and k.contype = 'p') as has_pk,
               obj_description(c.oid, 'pg_class') as comment,
               (select count(*) from pg_attribute a where a.attrelid = c.oid and a.attnum > 0
                  and not a.attisdropped) as columns,
               (select count(*) from pg_attribute a where a.attrelid = c.oid and a.attnum > 0
                  and not a.attisdropped and col_description(c.oid, a.attnum) is not null) as commented
        from pg_class c
        where c.relnamespace = 'public'::regnamespace and c.relname = any(%s) and c.relkind = 'r'
        """,
        (list(DEMO_TABLES),),
    ).fetchall()
    assert {r[0] for r in rows} == set(DEMO_TABLES)
    for name, has_pk, comment, columns, commented in rows:
        assert has_pk, name
        assert comment and len(comment) > 20, name
        assert commented >= columns * 0.7, f"{name}: only {commented} of {columns} columns commented"


def test_foreign_keys_are_the_expected_ones_and_every_row_satisfies_them(conn: psycopg.Connection[Any]) -> None:
    fks = conn.execute(
        """
        select child.relname, a.attname, parent.relname, pa.attname, k.convalidated
        from pg_constraint k
        join pg_class child on child.oid = k.conrelid
        join pg_class parent on parent.oid = k.confrelid
        join pg_attribute a on a.attrelid = k.conrelid and a.attnum = k.conkey[1]
        join pg_attribute pa on pa.attrelid = k.confrelid and pa.attnum = k.confkey[1]
        where k.contype = 'f' and child.relnamespace = 'public'::regnamespace and child.relname = any(%s)
        """,
        (list(DEMO_TABLES),),
    ).fetchall()
    assert {(c, col): p for c, col, p, _, _ in fks} == EXPECTED_FKS
    for child, column, parent, parent_column, validated in fks:
        assert validated
        orphans = conn.execute(
            sql.SQL(
                "select count(*) from {child} c where c.{col} is not null"
                " and not exists (select 1 from {parent} p where p.{pcol} = c.{col})"
            ).format(
                child=sql.Identifier("public", child),
                parent=sql.Identifier("public", parent),
                col=sql.Identifier(column),
                pcol=sql.Identifier(parent_column),
            )
        ).fetchone()
        assert orphans == (0,), f"{child}.{column} -> {parent}"


def _index_columns(conn: psycopg.Connection[Any]) -> list[tuple[str, list[str], bool]]:
    rows = conn.execute(
        """
        select t.relname,
               array(select a.attname from unnest(i.indkey) with ordinality k(attnum, n)
                     join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum order by k.n),
               i.indisunique
        from pg_index i join pg_class t on t.oid = i.indrelid
        where t.relnamespace = 'public'::regnamespace and t.relname = any(%s)
        """,
        (list(DEMO_TABLES),),
    ).fetchall()
    return [(table, list(columns), unique) for table, columns, unique in rows]


def test_the_indexes_the_real_system_has(conn: psycopg.Connection[Any]) -> None:
    indexes = _index_columns(conn)
    assert ("user_profiles", ["phone_number"], True) in indexes
    for table, columns in [
        ("conversations", ["user_id", "created_at"]),
        ("messages", ["conversation_id", "timestamp"]),
        ("appointments", ["tutor_id", "appointment_date"]),
        ("orders", ["user_id", "created_at"]),
    ]:
        assert any(t == table and c == columns for t, c, _ in indexes), (table, columns)


def test_deliberate_imperfections_are_present_and_stated(conn: psycopg.Connection[Any]) -> None:
    indexes = _index_columns(conn)
    unindexed = {fk for fk in EXPECTED_FKS if not any(t == fk[0] and c[0] == fk[1] for t, c, _ in indexes)}
    assert unindexed == UNINDEXED_FKS  # exactly these two, so the advisor has a clear finding

    rls = dict(
        conn.execute(
            "select relname, relrowsecurity from pg_class"
            " where relnamespace = 'public'::regnamespace and relname = any(%s)",
            (list(DEMO_TABLES),),
        ).fetchall()
    )
    assert [name for name, on in rls.items() if not on] == ["campaign_recipients"]

    comments = dict(
        conn.execute(
            "select relname, obj_description(oid, 'pg_class') from pg_class"
            " where relnamespace = 'public'::regnamespace and relname = any(%s)",
            (list(DEMO_TABLES),),
        ).fetchall()
    )
    assert "KNOWN IMPERFECTION" in comments["order_items"] and "product_id" in comments["order_items"]
    assert "row level security" in comments["campaign_recipients"]
    assert "user_id has no index" in comments["campaign_recipients"]
    assert "sequential scans" in comments["messages"]
    # messages is the largest table and no index serves its body search
    counts = demo_row_counts(conn)
    assert max(counts, key=lambda t: counts[t]) == "messages"
    assert not any(t == "messages" and "body" in c for t, c, _ in indexes)
    plan = conn.execute("explain (format json) select * from public.messages where body ilike '%vacina%'").fetchone()
    assert plan is not None and plan[0][0]["Plan"]["Node Type"] == "Seq Scan"


def test_column_types_have_variety(conn: psycopg.Connection[Any]) -> None:
    types = {
        (t, c): ty
        for t, c, ty in conn.execute(
            "select table_name, column_name, data_type from information_schema.columns where table_schema = 'public'"
        ).fetchall()
    }
    assert types[("context_data", "slots")] == "jsonb"
    assert types[("user_profiles", "preferences")] == "jsonb"
    assert types[("campaigns", "audience_tags")] == "ARRAY"
    assert types[("pets", "allergies")] == "ARRAY"
    assert types[("orders", "total_amount")] == "numeric"
    assert types[("pets", "birth_date")] == "date"
    assert types[("user_profiles", "marketing_opt_in")] == "boolean"
    assert types[("messages", "timestamp")] == "timestamp with time zone"
    assert types[("user_profiles", "id")] == "uuid"
    timestamps = [ty for (t, c), ty in types.items() if t in DEMO_TABLES and c.endswith("_at")]
    assert timestamps and set(timestamps) == {"timestamp with time zone"}


# --------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------


def test_data_looks_like_a_brazilian_pet_shop(conn: psycopg.Connection[Any]) -> None:
    phones = [r[0] for r in conn.execute("select phone_number from public.user_profiles").fetchall()]
    assert len(set(phones)) == len(phones)
    assert all(re.fullmatch(r"\+55 \d{2} 9\d{4}-\d{4}", p) for p in phones)
    assert sum(p.startswith("+55 11 ") for p in phones) > len(phones) / 2

    names = [r[0] for r in conn.execute("select full_name from public.user_profiles limit 200").fetchall()]
    assert all(len(n.split()) >= 2 for n in names)
    assert any(s in " ".join(names) for s in ("Silva", "Santos", "Oliveira", "Souza"))

    species = {r[0] for r in conn.execute("select distinct species from public.pets").fetchall()}
    assert {"dog", "cat", "bird"} <= species
    statuses = {r[0] for r in conn.execute("select distinct status from public.appointments").fetchall()}
    assert statuses == {"scheduled", "confirmed", "done", "cancelled", "no_show"}
    methods = {r[0] for r in conn.execute("select distinct method from public.payments").fetchall()}
    assert methods == {"pix", "card", "cash"}
    pay_statuses = {r[0] for r in conn.execute("select distinct status from public.payments").fetchall()}
    assert pay_statuses == {"pending", "paid", "failed", "refunded"}

    span = conn.execute("select max(created_at) - min(created_at) from public.orders").fetchone()
    assert span is not None and span[0].days >= 300  # a year of orders

    portuguese = conn.execute(
        "select count(*) from public.messages where body ~ '(agend|vacina|banho|obrigad|pedido)'"
    ).fetchone()
    assert portuguese is not None and portuguese[0] > 10_000

    # totals add up: items - discount + delivery fee
    mismatched = conn.execute(
        """
        select count(*) from public.orders o
        join (select order_id, sum(line_total) as s from public.order_items group by order_id) i on i.order_id = o.id
        where o.total_amount <> i.s - o.discount_amount + o.delivery_fee
        """
    ).fetchone()
    assert mismatched == (0,)


def test_identity_sequences_continue_after_the_generated_ids(conn: psycopg.Connection[Any]) -> None:
    with conn.transaction(force_rollback=True):
        row = conn.execute(
            "insert into public.services (name, category, price, duration_minutes)"
            " values ('Teste', 'other', 1, 10) returning id"
        ).fetchone()
        top = conn.execute("select max(id) from public.services where name <> 'Teste'").fetchone()
    assert row is not None and top is not None and row[0] == top[0] + 1


# --------------------------------------------------------------------------------------------------
# Row level security and the read-only role
# --------------------------------------------------------------------------------------------------


def test_policies_show_a_customer_only_their_own_rows(conn: psycopg.Connection[Any]) -> None:
    user_id, tutor_id = conn.execute(
        "select t.user_id, t.id from public.tutors t"
        " where exists (select 1 from public.appointments a where a.tutor_id = t.id)"
        "   and exists (select 1 from public.orders o where o.user_id = t.user_id)"
        " order by t.id limit 1"
    ).fetchone() or (None, None)
    assert user_id is not None
    own = conn.execute(
        "select (select count(*) from public.appointments where tutor_id = %s),"
        " (select count(*) from public.orders where user_id = %s)",
        (tutor_id, user_id),
    ).fetchone()
    assert own is not None and own[0] > 0 and own[1] > 0
    claims = Jsonb({"sub": str(user_id), "role": "authenticated"})
    with conn.transaction(force_rollback=True):
        conn.execute("select set_config('request.jwt.claims', %s::text, true)", (claims,))
        conn.execute("set local role authenticated")
        seen = conn.execute(
            "select (select count(*) from public.user_profiles), (select count(*) from public.appointments),"
            " (select count(*) from public.orders), (select count(*) from public.ai_memory),"
            " (select count(*) > 0 from public.services)"
        ).fetchone()
    # their profile, their appointments and orders only; the AI's memory is backend-only; the catalogue is public
    assert seen == (1, own[0], own[1], 0, True)
    with conn.transaction(force_rollback=True):
        conn.execute("set local role anon")
        anon = conn.execute(
            "select (select count(*) from public.user_profiles), (select count(*) > 0 from public.products)"
        ).fetchone()
    assert anon == (0, True)


def test_readonly_role_reads_every_demo_table(demo: LoadedDemo, conn: psycopg.Connection[Any]) -> None:
    exists = conn.execute("select 1 from pg_roles where rolname = %s", (READONLY_ROLE,)).fetchone()
    assert exists, "the app's bootstrap creates the read-only role"
    counts = demo_row_counts(conn)
    with conn.transaction(force_rollback=True):
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(READONLY_ROLE)))
        assert demo_row_counts(conn) == counts  # grant + its own select policy on the RLS tables
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("delete from public.messages where id = 1")
    policies = conn.execute(
        "select count(*) from pg_policies where schemaname = 'public' and policyname = %s", (READONLY_POLICY,)
    ).fetchone()
    assert policies == (15,)
