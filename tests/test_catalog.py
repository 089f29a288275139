"""dba_admin.catalog against a real PostgreSQL: discovery, table detail + DDL, previews.

Databases come from conftest: ``app_db`` (the workspace, ``app_db.dsn``, and the PetCare demo database,
``app_db.demo_dsn``) and ``empty_db_dsn`` (a fresh database).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from bench.benchlib import count_round_trips
from dba_admin import catalog
from dba_admin.catalog import Filter, TableDetail
from dba_admin.errors import NotFound, QueryError
from dba_admin.migrations import apply_local_compat

DEMO_TABLES = {
    "user_profiles",
    "tutors",
    "pets",
    "appointments",
    "appointment_reminders",
    "services",
    "products",
    "orders",
    "order_items",
    "payments",
    "conversations",
    "messages",
    "context_data",
    "ai_memory",
    "campaigns",
    "campaign_recipients",
}

WEIRD_SCHEMA = "my schema"
WEIRD_TABLE = 'we"ird ta;ble'


@pytest.fixture
def app_conn(app_db: Any) -> Iterator[psycopg.Connection[Any]]:
    """The demo database (connection `demo`), where the PetCare tables live."""
    with psycopg.connect(app_db.demo_dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture
def conn(empty_db_dsn: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(empty_db_dsn, autocommit=True) as c:
        yield c


def by_name(tables: list[catalog.TableInfo]) -> dict[tuple[str, str], catalog.TableInfo]:
    return {(t.schema, t.name): t for t in tables}


# --------------------------------------------------------------------------------------------------
# list_tables
# --------------------------------------------------------------------------------------------------


def test_list_tables_finds_demo_tables_with_columns_comments_and_rls(app_conn: psycopg.Connection[Any]) -> None:
    tables = catalog.list_tables(app_conn)
    found = by_name(tables)
    assert {name for schema, name in found if schema == "public"} >= DEMO_TABLES
    assert not any(t.schema in ("pg_catalog", "information_schema") or t.schema.startswith("pg_") for t in tables)

    profiles = found[("public", "user_profiles")]
    assert profiles.kind == "table"
    assert profiles.comment and "WhatsApp identity" in profiles.comment
    assert profiles.rls_enabled and not profiles.rls_forced
    assert profiles.policy_count >= 2  # user_profiles_select_own, user_profiles_update_own (+ the loader's own)
    assert profiles.total_bytes > 0
    assert not profiles.is_system_like and not profiles.rls_missing
    assert profiles.owner
    cols = {c.name: c for c in profiles.columns}
    assert [c.position for c in profiles.columns] == sorted(c.position for c in profiles.columns)
    assert cols["phone_number"].type == "text" and not cols["phone_number"].nullable
    assert cols["phone_number"].comment and "unique" in cols["phone_number"].comment
    assert cols["email"].nullable
    assert cols["id"].type == "uuid" and cols["id"].default == "gen_random_uuid()"
    assert cols["preferences"].default == "'{}'::jsonb"

    recipients = found[("public", "campaign_recipients")]
    assert not recipients.rls_enabled and recipients.policy_count == 0
    assert recipients.rls_missing  # the demo's deliberate imperfection: public table without RLS
    # The demo database holds none of the app's own objects: they live in the workspace.
    assert not [t for t in tables if catalog.is_app_object(t.schema, t.name)]


def test_the_apps_own_objects_are_left_out_of_the_workspace_unless_asked(app_db: Any) -> None:
    """The workspace database as a connection (connection `default`): the explorer's default list leaves the app's
    schemas and tables out; ``include_app_objects=True`` (a DBA asking) shows them, the private schema flagged."""
    from db_helpers import workspace_manager

    from dba_admin.database import DatabaseManager

    default = DatabaseManager(
        app_db.settings, app_db.dsn, name="default", workspace=workspace_manager(app_db), own_workspace=True
    )
    try:
        assert not catalog.includes_app_objects(default)
        default.includes_workspace = True  # type: ignore[attr-defined]  # what the lead sets on connection default
        assert catalog.includes_app_objects(default)
        listed = by_name(catalog.get_tables(default))
        assert not [key for key in listed if catalog.is_app_object(*key)]
        everything = by_name(catalog.get_tables(default, include_app_objects=True))
        assert everything[("dba_admin", "users")].is_system_like
        assert everything[("public", "projetos_analytics")].rls_enabled
        assert {name for schema, name in catalog.APP_TABLES} <= {name for schema, name in everything}
        # The workspace's own manager holds the app's objects by definition.
        assert catalog.includes_app_objects(default.workspace)
    finally:
        default.close()


def test_list_tables_kinds_views_matviews_partitions_foreign(conn: psycopg.Connection[Any]) -> None:
    conn.execute("""
        create table items (id int primary key, label text not null default 'x');
        comment on table items is 'the items';
        comment on column items.label is 'what it says';
        insert into items select g, 'item ' || g from generate_series(1, 50) g;
        analyze items;
        create view items_view as select id, upper(label) as label from items;
        create materialized view items_mv as select id, label from items where id < 10;
        create table events (id int, at date not null) partition by range (at);
        create table events_2024 partition of events for values from ('2024-01-01') to ('2025-01-01');
        create foreign data wrapper plain_fdw;  -- core only (no handler): works without contrib
        create server remote_pg foreign data wrapper plain_fdw
            options (host 'localhost', port '5432', dbname 'nowhere');
        create foreign table remote_items (id int, label text) server remote_pg
            options (schema_name 'public', table_name 'items');
    """)
    found = by_name(catalog.list_tables(conn))
    kinds = {name: t.kind for (schema, name), t in found.items() if schema == "public"}
    assert kinds == {
        "items": "table",
        "items_view": "view",
        "items_mv": "materialized_view",
        "events": "partitioned_table",
        "events_2024": "table",
        "remote_items": "foreign_table",
    }
    items = found[("public", "items")]
    assert items.estimated_rows == 50
    assert items.comment == "the items"
    assert [(c.name, c.type, c.nullable, c.default, c.comment) for c in items.columns] == [
        ("id", "integer", False, None, None),
        ("label", "text", False, "'x'::text", "what it says"),
    ]
    assert [c.name for c in found[("public", "items_view")].columns] == ["id", "label"]
    assert found[("public", "items_view")].estimated_rows is None
    assert found[("public", "remote_items")].estimated_rows is None
    assert [c.name for c in found[("public", "items_mv")].columns] == ["id", "label"]
    assert found[("public", "events_2024")].is_partition
    assert not found[("public", "events")].is_partition
    assert items.rls_missing  # a public table without RLS is flagged
    assert not any(t.size_is_estimate for t in found.values())
    frame = catalog.tables_frame(list(found.values()))
    assert set(frame["name"]) == set(kinds) and "columns" not in frame.columns


class _Counter:
    def __init__(self) -> None:
        self.executes = 0


def _counting_connection(dsn: str, counter: _Counter) -> psycopg.Connection[Any]:
    class CountingCursor(psycopg.Cursor[Any]):
        def execute(self, *args: Any, **kwargs: Any) -> Any:
            counter.executes += 1
            return super().execute(*args, **kwargs)

    return psycopg.connect(dsn, autocommit=True, cursor_factory=CountingCursor)


def _create_tables(conn: psycopg.Connection[Any], start: int, stop: int) -> None:
    with conn.transaction():
        for i in range(start, stop):
            conn.execute(
                sql.SQL(
                    "create table {} (id bigint primary key, a text, b int default 1, c date, d jsonb, e bool)"
                ).format(sql.Identifier(f"t_{i:04d}"))
            )


def test_list_tables_round_trips_do_not_grow_with_table_count(empty_db_dsn: str) -> None:
    counter = _Counter()
    with _counting_connection(empty_db_dsn, counter) as conn:
        _create_tables(conn, 0, 10)
        counter.executes = 0
        small = catalog.list_tables(conn)
        executes_small = counter.executes
        requests_small = count_round_trips(conn, catalog.list_tables)

        _create_tables(conn, 10, 200)
        counter.executes = 0
        large = catalog.list_tables(conn)
        executes_large = counter.executes
        requests_large = count_round_trips(conn, catalog.list_tables)

    assert len(small) == 10 and len(large) == 200
    assert all(len(t.columns) == 6 for t in large)
    assert executes_small == executes_large <= 2
    assert requests_small == requests_large <= 4  # BEGIN, settings, the catalog query, ROLLBACK


def test_list_tables_answers_with_estimated_sizes_while_a_table_is_locked(empty_db_dsn: str) -> None:
    with psycopg.connect(empty_db_dsn, autocommit=True) as conn, psycopg.connect(empty_db_dsn) as locker:
        conn.execute(
            "create table busy (id int primary key, v text);"
            " insert into busy select g, 'x' from generate_series(1, 1000) g"
        )
        conn.execute("vacuum analyze busy")
        locker.execute("lock table busy in access exclusive mode")  # as an ALTER TABLE in progress would
        try:
            tables = by_name(catalog.list_tables(conn))
        finally:
            locker.rollback()
        busy = tables[("public", "busy")]
        assert busy.size_is_estimate
        assert busy.total_bytes > 0  # relpages after VACUUM: heap + primary key index
        assert [c.name for c in busy.columns] == ["id", "v"]
        assert not catalog.list_tables(conn)[0].size_is_estimate  # lock gone: exact again


# --------------------------------------------------------------------------------------------------
# describe_table
# --------------------------------------------------------------------------------------------------


def test_describe_demo_table_keys_indexes_policies_grants_stats(app_conn: psycopg.Connection[Any]) -> None:
    pets = catalog.describe_table(app_conn, "public", "pets")
    assert pets.kind == "table" and pets.comment and "tutors" in pets.comment
    cols = {c.name: c for c in pets.columns}
    assert cols["id"].identity == "BY DEFAULT" and not cols["id"].nullable
    assert cols["weight_kg"].type == "numeric(5,2)" and cols["weight_kg"].nullable
    assert cols["allergies"].type == "text[]" and cols["allergies"].default == "'{}'::text[]"
    assert cols["species"].comment and "dog" in cols["species"].comment
    assert pets.primary_key is not None and pets.primary_key.columns == ("id",)

    (fk_out,) = pets.foreign_keys_out
    assert (fk_out.columns, fk_out.ref_schema, fk_out.ref_table, fk_out.ref_columns) == (
        ("tutor_id",),
        "public",
        "tutors",
        ("id",),
    )
    assert fk_out.on_delete == "CASCADE" and fk_out.on_update == "NO ACTION"
    referencing = {(f.schema, f.table, f.columns) for f in pets.foreign_keys_in}
    assert ("public", "appointments", ("pet_id",)) in referencing
    assert all(f.ref_table == "pets" for f in pets.foreign_keys_in)

    indexes = {i.name: i for i in pets.indexes}
    assert indexes["pets_tutor_id_idx"].definition == (
        "CREATE INDEX pets_tutor_id_idx ON public.pets USING btree (tutor_id)"
    )
    assert indexes["pets_tutor_id_idx"].columns == ("tutor_id",)
    assert indexes["pets_tutor_id_idx"].constraint is None
    assert indexes["pets_pkey"].is_primary and indexes["pets_pkey"].constraint == "pets_pkey"
    assert all(i.size_bytes > 0 and i.idx_scan is not None and i.is_valid for i in pets.indexes)

    checks = {k.name: k for k in pets.constraints}
    assert any(k.type == "check" and "species" in k.definition for k in checks.values())

    assert pets.rls_enabled and not pets.rls_forced
    policies = {p.name: p for p in pets.policies}
    policy = policies["pets_all_own"]
    assert policy.command == "ALL" and policy.permissive
    assert policy.roles == ("authenticated",)
    assert policy.using and "auth.uid()" in policy.using
    assert policy.with_check and "auth.uid()" in policy.with_check
    assert policy.create_statement.startswith("CREATE POLICY pets_all_own ON public.pets")
    assert "TO authenticated" in policy.create_statement and "WITH CHECK (" in policy.create_statement

    grants = {g.grantee: g for g in pets.grants}
    assert set(grants["authenticated"].privileges) == {"SELECT", "INSERT", "UPDATE", "DELETE"}
    assert grants["anon"].privileges == ("SELECT",)

    assert pets.stats is not None and pets.stats.n_live_tup is not None
    assert pets.sizes.total_bytes > 0
    assert pets.sizes.table_bytes + pets.sizes.indexes_bytes + pets.sizes.toast_bytes == pets.sizes.total_bytes
    assert pets.view_definition is None and pets.foreign is None and pets.matview_populated is None

    profiles = catalog.describe_table(app_conn, "public", "user_profiles")
    unique = {k.name: k for k in profiles.constraints if k.type == "unique"}
    assert unique["user_profiles_phone_number_key"].definition == "UNIQUE (phone_number)"
    assert {i.name: i for i in profiles.indexes}["user_profiles_phone_number_key"].constraint == (
        "user_profiles_phone_number_key"
    )
    assert {f.table for f in profiles.foreign_keys_in} >= {"tutors", "orders", "conversations", "ai_memory"}
    assert profiles.foreign_keys_out == ()
    assert profiles.to_dict()["name"] == "user_profiles"


def _fingerprint(d: TableDetail) -> dict[str, Any]:
    """What must survive a DDL round trip (not oids, sizes or statistics)."""
    return {
        "kind": d.kind,
        "comment": d.comment,
        "columns": [
            (c.name, c.type, c.nullable, c.default, c.identity, c.generated, c.comment, c.collation) for c in d.columns
        ],
        "primary_key": d.primary_key,
        "fks": sorted(
            (f.name, f.columns, f.ref_schema, f.ref_table, f.ref_columns, f.on_delete, f.on_update)
            for f in d.foreign_keys_out
        ),
        "constraints": sorted((k.name, k.type, k.definition) for k in d.constraints),
        "indexes": sorted((i.name, i.definition, i.constraint) for i in d.indexes),
        "rls": (d.rls_enabled, d.rls_forced),
        "policies": sorted((p.name, p.command, p.permissive, p.roles, p.using, p.with_check) for p in d.policies),
        "triggers": sorted((t.name, t.definition, t.enabled) for t in d.triggers),
        "view": d.view_definition,
        "foreign": d.foreign,
        "partition": (d.partition_key, d.partition_of, d.partition_bound),
    }


def _fk_order(details: dict[str, TableDetail]) -> list[str]:
    """Referenced tables first, so every table's DDL finds what it references."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        for f in details[name].foreign_keys_out:
            if f.ref_table != name and f.ref_table in details:
                visit(f.ref_table)
        order.append(name)

    for name in sorted(details):
        visit(name)
    return order


def test_demo_ddl_reexecutes_into_an_empty_database_and_reproduces_the_tables(
    app_conn: psycopg.Connection[Any], conn: psycopg.Connection[Any]
) -> None:
    original = {name: catalog.describe_table(app_conn, "public", name) for name in DEMO_TABLES}
    apply_local_compat(conn)  # roles + auth.uid(), which the demo's policies call
    for name in _fk_order(original):
        ddl = original[name].ddl
        assert f"ALTER TABLE public.{name} ENABLE ROW LEVEL SECURITY;" in ddl or name == "campaign_recipients"
        with conn.transaction():
            conn.execute(ddl.encode())  # trusted: our own generated DDL
    for name in DEMO_TABLES:
        copy = catalog.describe_table(conn, "public", name)
        assert _fingerprint(copy) == _fingerprint(original[name]), name
        assert copy.ddl == original[name].ddl


def test_views_matviews_foreign_and_partitions_describe_and_ddl_round_trip(conn: psycopg.Connection[Any]) -> None:
    conn.execute("""
        create table items (id int primary key, label text not null,
                            price numeric(8,2) generated always as (id * 1.5) stored);
        insert into items select g, 'item ' || g from generate_series(1, 20) g;
        create view cheap_items with (security_invoker = true) as select id, label from items where price < 10;
        comment on view cheap_items is 'items under 10';
        create materialized view items_mv as select id, label from items with no data;
        create unique index items_mv_id on items_mv (id);
        create table events (id int, at date not null, note text collate "C") partition by range (at);
        create index events_at on events (at);
        create table events_2024 partition of events for values from ('2024-01-01') to ('2025-01-01');
        create foreign data wrapper plain_fdw;  -- core only (no handler): works without contrib
        create server remote_pg foreign data wrapper plain_fdw
            options (host 'localhost', port '5432', dbname 'nowhere');
        create foreign table remote_items (id int options (column_name 'item_id') not null, label text)
            server remote_pg options (schema_name 'public', table_name 'items');
    """)
    view = catalog.describe_table(conn, "public", "cheap_items")
    assert view.kind == "view" and view.view_definition and "public.items" in view.view_definition
    assert "CREATE OR REPLACE VIEW public.cheap_items WITH (security_invoker=true) AS" in view.ddl
    assert "COMMENT ON VIEW public.cheap_items IS 'items under 10';" in view.ddl

    mv = catalog.describe_table(conn, "public", "items_mv")
    assert mv.kind == "materialized_view" and mv.matview_populated is False and mv.matview_last_refresh is None
    assert "WITH NO DATA;" in mv.ddl and "CREATE UNIQUE INDEX items_mv_id ON public.items_mv" in mv.ddl

    ft = catalog.describe_table(conn, "public", "remote_items")
    assert ft.kind == "foreign_table" and ft.foreign is not None
    assert ft.foreign.server == "remote_pg" and ft.foreign.wrapper == "plain_fdw"
    assert ft.foreign.options == {"schema_name": "public", "table_name": "items"}
    assert ft.foreign.server_options == {"host": "localhost", "port": "5432", "dbname": "nowhere"}
    assert ft.columns[0].fdw_options == (("column_name", "item_id"),)
    assert "SERVER remote_pg" in ft.ddl and "OPTIONS (column_name 'item_id')" in ft.ddl

    items = catalog.describe_table(conn, "public", "items")
    assert {c.name: c.generated for c in items.columns}["price"] == "((id)::numeric * 1.5)"

    part = catalog.describe_table(conn, "public", "events_2024")
    assert part.partition_of == ("public", "events")
    assert part.partition_bound == "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')"
    parent = catalog.describe_table(conn, "public", "events")
    assert parent.kind == "partitioned_table" and parent.partition_key == "RANGE (at)"
    assert {c.name: c.collation for c in parent.columns}["note"] == 'pg_catalog."C"'

    # Drop everything and rebuild it from the generated DDL alone.
    before = {
        n: _fingerprint(catalog.describe_table(conn, "public", n))
        for n in ("items", "cheap_items", "items_mv", "events", "events_2024", "remote_items")
    }
    ddl = [catalog.describe_table(conn, "public", n).ddl for n in before]
    conn.execute(
        "drop view cheap_items; drop materialized view items_mv; drop table items, events;"
        " drop foreign table remote_items"
    )
    for text in ddl:
        conn.execute(text.encode())  # trusted: our own generated DDL
    after = {n: _fingerprint(catalog.describe_table(conn, "public", n)) for n in before}
    assert after == before


def test_unknown_table_is_not_found(conn: psycopg.Connection[Any]) -> None:
    conn.execute("create sequence not_a_table")
    for schema, name in [("public", "nope"), ("nope", "nope"), ("public", "not_a_table")]:
        with pytest.raises(NotFound):
            catalog.describe_table(conn, schema, name)
        with pytest.raises(NotFound):
            catalog.preview_table(conn, schema, name)


# --------------------------------------------------------------------------------------------------
# Names with quotes, spaces and semicolons
# --------------------------------------------------------------------------------------------------


def test_weird_names_describe_preview_and_ddl_without_injection(conn: psycopg.Connection[Any]) -> None:
    schema, table = sql.Identifier(WEIRD_SCHEMA), sql.Identifier(WEIRD_SCHEMA, WEIRD_TABLE)
    conn.execute("create table victim (id int)")
    conn.execute(sql.SQL("create schema {}").format(schema))
    conn.execute(
        sql.SQL(
            "create table {} (id serial primary key,"
            ' "Na me" text check ("Na me" <> \'\'), "x""; drop table victim; --" int)'
        ).format(table)
    )
    conn.execute(sql.SQL("comment on table {} is 'it''s; weird'").format(table))
    conn.execute(sql.SQL('create index {} on {} ("Na me")').format(sql.Identifier('i"dx; x'), table))
    conn.execute(
        sql.SQL(
            'insert into {} ("Na me", "x""; drop table victim; --") select \'n\' || g, g from generate_series(1, 30) g'
        ).format(table)
    )

    detail = catalog.describe_table(conn, WEIRD_SCHEMA, WEIRD_TABLE)
    assert [c.name for c in detail.columns] == ["id", "Na me", 'x"; drop table victim; --']
    assert detail.comment == "it's; weird"
    assert detail.primary_key is not None and detail.primary_key.columns == ("id",)
    assert any(i.name == 'i"dx; x' for i in detail.indexes)
    assert 'CREATE TABLE "my schema"."we""ird ta;ble" (' in detail.ddl
    assert "IS 'it''s; weird';" in detail.ddl

    tables = by_name(catalog.list_tables(conn))
    assert tables[(WEIRD_SCHEMA, WEIRD_TABLE)].comment == "it's; weird"

    page = catalog.preview_table(
        conn,
        WEIRD_SCHEMA,
        WEIRD_TABLE,
        filters=[Filter('x"; drop table victim; --', ">", 20), Filter("Na me", "contains", "'; drop table victim; --")],
        order_by=[('x"; drop table victim; --', False)],
    )
    assert page.total_rows == 0 and page.rows.empty
    page = catalog.preview_table(
        conn,
        WEIRD_SCHEMA,
        WEIRD_TABLE,
        filters=[Filter('x"; drop table victim; --', ">", 20)],
        order_by=[('x"; drop table victim; --', False)],
    )
    assert list(page.rows['x"; drop table victim; --']) == list(range(30, 20, -1))

    # The DDL alone rebuilds the same table in a clean schema.
    conn.execute(sql.SQL("drop schema {} cascade").format(schema))
    conn.execute(detail.ddl.encode())  # trusted: our own generated DDL
    again = catalog.describe_table(conn, WEIRD_SCHEMA, WEIRD_TABLE)
    assert _fingerprint(again) == _fingerprint(detail)
    assert conn.execute("select count(*) from victim").fetchone() == (0,)  # still there


# --------------------------------------------------------------------------------------------------
# preview_table
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def people(conn: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    """250 rows with known values: id 1..250, grp = id % 3, name 'Person <id>', score NULL for every 10th."""
    conn.execute("""
        create table people (
            id int primary key, grp int not null, name text not null, score numeric, born date, tags jsonb);
        insert into people
        select g, g % 3, 'Person ' || g, case when g % 10 = 0 then null else g * 2 end,
               date '2000-01-01' + g, jsonb_build_object('n', g)
        from generate_series(1, 250) g;
        insert into people values (251, 1, 'Odd 100%_name', 1, null, null);
        create table nokey (v int, w text);
        insert into nokey select g % 7, 'w' || g from generate_series(1, 95) g;
        create view people_view as select id, name from people where grp = 0;
        create table nokey_ints (id int primary key, n int);
        insert into nokey_ints values (1, 189), (2, null);
        analyze;
    """)
    return conn


def _ids(page: catalog.PreviewPage) -> list[int]:
    return [int(x) for x in page.rows["id"]]


def test_preview_pages_default_to_primary_key_order(people: psycopg.Connection[Any]) -> None:
    first = catalog.preview_table(people, "public", "people", page_size=100)
    assert first.columns == ("id", "grp", "name", "score", "born", "tags")
    assert _ids(first) == list(range(1, 101))
    assert first.has_next and first.total_rows == 251 and not first.total_is_estimate
    assert first.page_count == 3
    last = catalog.preview_table(people, "public", "people", page=3, page_size=100)
    assert _ids(last) == list(range(201, 252)) and not last.has_next and last.total_rows == 251
    beyond = catalog.preview_table(people, "public", "people", page=9, page_size=100)
    assert beyond.rows.empty and not beyond.has_next
    assert first.rows.loc[0, "tags"] == {"n": 1}  # json stays a Python value
    scores = catalog.preview_table(people, "public", "people", filters=[Filter("id", "in", [9, 10])]).rows["score"]
    assert list(scores.isna()) == [False, True] and scores.iloc[0] == 18  # numeric with a NULL
    nullable_int = catalog.preview_table(people, "public", "nokey_ints").rows["n"]
    assert str(nullable_int.dtype) == "Int64" and nullable_int.iloc[0] == 189 and nullable_int.isna().iloc[1]

    capped = catalog.preview_table(people, "public", "people", page_size=50_000)
    assert capped.page_size == catalog.MAX_PAGE_SIZE and len(capped.rows) == 251


def test_preview_filters(people: psycopg.Connection[Any]) -> None:
    def ids(*filters: Filter, **kw: Any) -> list[int]:
        return _ids(catalog.preview_table(people, "public", "people", filters=filters, page_size=1000, **kw))

    assert ids(Filter("id", "=", 7)) == [7]
    assert ids(Filter("id", "=", "7")) == [7]  # values are parsed as the column's type
    assert ids(Filter("grp", "=", 0), Filter("id", "<=", 12)) == [3, 6, 9, 12]
    assert ids(Filter("id", ">", 248)) == [249, 250, 251]
    assert ids(Filter("id", ">=", 250)) == [250, 251]
    assert ids(Filter("id", "<", 3)) == [1, 2]
    assert len(ids(Filter("grp", "!=", 0))) == 251 - 83
    assert ids(Filter("name", "contains", "person 12"), Filter("id", "<", 200)) == [12, *range(120, 130)]
    assert ids(Filter("name", "contains", "100%_")) == [251]  # % and _ are literal, not wildcards
    assert ids(Filter("name", "contains", "%")) == [251]
    assert ids(Filter("name", "starts_with", "odd")) == [251]
    assert ids(Filter("score", "is_null")) == list(range(10, 251, 10))
    assert len(ids(Filter("score", "is_not_null"))) == 251 - 25
    assert ids(Filter("id", "in", [5, "6", 400])) == [5, 6]
    assert ids(Filter("id", "in", [])) == []
    assert ids(Filter("born", ">=", "2000-09-01"), Filter("born", "<", "2000-09-04")) == [244, 245, 246]
    assert ids(Filter("tags", "contains", '"n": 42}')) == [42]

    page = catalog.preview_table(people, "public", "people", filters=[Filter("grp", "=", 2)], page_size=10)
    assert page.total_rows == 83 and not page.total_is_estimate and page.has_next


def test_preview_sort_is_stable_and_completed_by_the_key(people: psycopg.Connection[Any]) -> None:
    page = catalog.preview_table(people, "public", "people", order_by=[("grp", False)], page_size=5)
    assert _ids(page) == [2, 5, 8, 11, 14]  # grp 2 first, ties broken by the primary key
    assert page.order_by == (("grp", False),)
    seen: list[int] = []
    for n in range(1, 4):
        seen += _ids(catalog.preview_table(people, "public", "people", order_by=[("grp", True)], page=n, page_size=100))
    assert sorted(seen) == list(range(1, 252)) and len(set(seen)) == 251

    page = catalog.preview_table(people, "public", "people", order_by=[("score", False), ("id", True)], page_size=3)
    assert _ids(page) == [10, 20, 30]  # NULLs first in descending order, as PostgreSQL sorts them


def test_preview_tables_without_key_and_views_page_without_duplicates(people: psycopg.Connection[Any]) -> None:
    rows: list[tuple[Any, ...]] = []
    for n in range(1, 5):
        page = catalog.preview_table(people, "public", "nokey", page=n, page_size=30)
        rows += [tuple(r) for r in page.rows.itertuples(index=False)]
    assert len(rows) == 95 and len(set(rows)) == 95
    assert page.total_rows == 95 and not page.has_next

    view_ids: list[int] = []
    for n in range(1, 4):
        view_ids += _ids(catalog.preview_table(people, "public", "people_view", page=n, page_size=40))
    assert sorted(view_ids) == list(range(3, 251, 3))


def test_preview_refuses_unknown_columns_and_operators_with_a_clear_message(people: psycopg.Connection[Any]) -> None:
    with pytest.raises(QueryError) as err:
        catalog.preview_table(people, "public", "people", filters=[Filter("nope", "=", 1)])
    assert err.value.info.sqlstate == "42703"
    assert "'nope'" in err.value.info.message and "id, grp, name, score, born, tags" in err.value.info.message

    with pytest.raises(QueryError) as err:
        catalog.preview_table(people, "public", "people", order_by=[("id; drop table people", True)])
    assert "valid columns" in err.value.info.message

    with pytest.raises(QueryError) as err:
        catalog.preview_table(people, "public", "people", filters=[Filter("id", "; delete from people", 1)])
    assert "contains" in err.value.info.message  # lists the valid operators

    with pytest.raises(QueryError) as err:
        catalog.preview_table(people, "public", "people", filters=[Filter("id", "=", "abc")])
    assert err.value.info.sqlstate == "22P02"  # PostgreSQL's own error for a bad integer, structured

    with pytest.raises(QueryError):
        catalog.preview_table(people, "public", "people", filters=[Filter("id", "=", None)])
    assert people.execute("select count(*) from people").fetchone() == (251,)


def test_preview_total_falls_back_to_estimate_when_count_is_slow(conn: psycopg.Connection[Any]) -> None:
    conn.execute("create table big (id int primary key, v text)")
    conn.execute("insert into big select g, md5(g::text) from generate_series(1, 300000) g")
    conn.execute("analyze big")
    page = catalog.preview_table(conn, "public", "big", page_size=10, count_timeout_ms=1)
    assert _ids(page) == list(range(1, 11)) and page.has_next
    assert page.total_is_estimate
    assert page.total_rows is not None and 200_000 < page.total_rows < 400_000
    filtered = catalog.preview_table(conn, "public", "big", filters=[Filter("id", ">", 150000)], count_timeout_ms=1)
    assert filtered.total_is_estimate and filtered.total_rows is not None and filtered.total_rows > 50_000


# --------------------------------------------------------------------------------------------------
# The caller's session is left as it was
# --------------------------------------------------------------------------------------------------


def test_calls_leave_the_callers_session_untouched(people: psycopg.Connection[Any], empty_db_dsn: str) -> None:
    def settings(c: psycopg.Connection[Any]) -> tuple[Any, ...]:
        row = c.execute(
            "select current_setting('search_path'), current_setting('statement_timeout'),"
            " current_setting('transaction_read_only'), current_setting('lock_timeout')"
        ).fetchone()
        assert row is not None
        return tuple(row)

    before = settings(people)
    catalog.list_tables(people)
    catalog.describe_table(people, "public", "people")
    catalog.preview_table(people, "public", "people", filters=[Filter("id", ">", 3)], page_size=2)
    assert settings(people) == before
    assert people.info.transaction_status == psycopg.pq.TransactionStatus.IDLE

    with psycopg.connect(empty_db_dsn) as tx_conn:  # not autocommit: the caller has an open transaction
        tx_conn.execute("create table mine (id int)")
        inside = settings(tx_conn)
        catalog.describe_table(tx_conn, "public", "mine")  # sees the caller's uncommitted table
        catalog.preview_table(tx_conn, "public", "mine")
        assert settings(tx_conn) == inside
        tx_conn.execute("insert into mine values (1)")  # still writable: read-only did not leak
        assert tx_conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        tx_conn.rollback()


def test_errors_become_query_errors_and_connection_stays_usable(conn: psycopg.Connection[Any]) -> None:
    conn.execute("create table t (id int primary key)")
    with pytest.raises(QueryError) as err:
        catalog.preview_table(conn, "public", "t", filters=[Filter("id", "<", "x")])
    assert err.value.info.sqlstate == "22P02"
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert catalog.preview_table(conn, "public", "t").total_rows == 0
