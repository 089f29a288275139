"""The object browser's core (dba_admin.objects) on a real server: a scratch database with every kind of object,
named with quotes, spaces and capitals.

The real test of the DDL generator is the round trip: the DDL of a table with several features, a view, a function,
an enum and a sequence is run in a fresh database, and the DDL generated there must be the same text.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from conftest import scratch_database
from psycopg import sql

from dba_admin import objects
from dba_admin.catalog import TableLocked
from dba_admin.errors import NotFound
from dba_admin.objects import DbObject, ObjectCatalog

S = "Odd Schema"
T = 'My "Quoted" Table'
SETUP = '''
create schema "Odd Schema";
create schema "Empty One";
create extension citext with schema "Odd Schema";
create type "Odd Schema"."Mood ""Enum""" as enum ('sad', 'it''s ok', 'Happy Face');
create domain "Odd Schema".positive_int as integer default 1 not null check (value > 0);
create type "Odd Schema".pair as (a integer, "B Part" text);
create type "Odd Schema".float_range as range (subtype = float8, subtype_diff = float8mi);
create sequence "Odd Schema"."Ticket Seq" as bigint increment by 5 minvalue 10 maxvalue 100000 start with 20
  cache 3 cycle;
comment on sequence "Odd Schema"."Ticket Seq" is 'tickets';
create table "Odd Schema"."Parent Table" (
  id integer generated always as identity primary key,
  "Code" text unique not null
);
create function "Odd Schema".is_visible(m "Odd Schema"."Mood ""Enum""") returns boolean
  language sql stable as $$ select m <> 'sad' $$;
comment on function "Odd Schema".is_visible("Odd Schema"."Mood ""Enum""") is 'policy helper';
create function "Odd Schema"."Touch Row"() returns trigger language plpgsql as
  $$ begin new.note := coalesce(new.note, 'x'); return new; end $$;
create table "Odd Schema"."My ""Quoted"" Table" (
  id bigserial primary key,
  "Parent Id" integer references "Odd Schema"."Parent Table"(id) on delete cascade,
  mood "Odd Schema"."Mood ""Enum""" not null default 'sad',
  qty "Odd Schema".positive_int,
  price numeric(10,2) default 0 check (price >= 0),
  "Total" numeric generated always as (price * 2) stored,
  note text collate "C",
  created_at timestamptz not null default now()
);
create index "Idx Mood" on "Odd Schema"."My ""Quoted"" Table" (mood, lower(note));
comment on table "Odd Schema"."My ""Quoted"" Table" is 'a table''s comment';
comment on column "Odd Schema"."My ""Quoted"" Table".note is 'free text';
alter table "Odd Schema"."My ""Quoted"" Table" enable row level security;
create policy "Only Visible" on "Odd Schema"."My ""Quoted"" Table" for select to public
  using ("Odd Schema".is_visible(mood));
create trigger "Before Write" before insert or update on "Odd Schema"."My ""Quoted"" Table"
  for each row execute function "Odd Schema"."Touch Row"();
create view "Odd Schema"."Happy View" as
  select id, "Total" from "Odd Schema"."My ""Quoted"" Table" where mood = 'Happy Face';
create table "Odd Schema".measurements (id int, at date not null) partition by range (at);
create table "Odd Schema".measurements_2024 partition of "Odd Schema".measurements
  for values from ('2024-01-01') to ('2025-01-01');
create procedure "Odd Schema".do_nothing(x int) language sql as $$ select 1 $$;
insert into "Odd Schema"."Parent Table" ("Code") select 'c' || g from generate_series(1, 50) g;
insert into "Odd Schema"."My ""Quoted"" Table" ("Parent Id", mood, qty, price, note)
  select 1 + g % 50, (array['sad', 'it''s ok', 'Happy Face'])[1 + g % 3]::"Odd Schema"."Mood ""Enum""",
         g, g, repeat('n', 50)
  from generate_series(1, 2000) g;
create materialized view "Odd Schema".mv as
  select mood, count(*) as n from "Odd Schema"."My ""Quoted"" Table" group by mood;
analyze;
'''


@pytest.fixture(scope="module")
def roles(pg_server: Any) -> Iterator[dict[str, str]]:
    """Two cluster roles with unique names (a group and a login in it), dropped at the end."""
    suffix = uuid.uuid4().hex[:8]
    names = {"group": f"Objects Group {suffix}", "reader": f"objects reader {suffix}"}
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(names["group"])))
        conn.execute(
            sql.SQL(
                "create role {} login createdb bypassrls connection limit 3 valid until '2030-01-01 00:00:00+00'"
                " in role {}"
            ).format(sql.Identifier(names["reader"]), sql.Identifier(names["group"]))
        )
    yield names
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        for name in (names["reader"], names["group"]):
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def source(pg_server: Any, roles: dict[str, str]) -> Iterator[str]:
    with scratch_database(pg_server.dsn, "objects", SETUP) as dsn:
        reader = sql.Identifier(roles["reader"])
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL('grant usage on schema "Odd Schema" to {}').format(reader))
            conn.execute(
                sql.SQL('grant select on "Odd Schema"."My ""Quoted"" Table" to {} with grant option').format(reader)
            )
            conn.execute(sql.SQL('grant update (note) on "Odd Schema"."My ""Quoted"" Table" to {}').format(reader))
            conn.execute(
                sql.SQL('grant execute on function "Odd Schema".is_visible("Odd Schema"."Mood ""Enum""") to {}').format(
                    reader
                )
            )
            # Vacuumed now, so autovacuum does not add the visibility map and free space map forks between two
            # reads of a table's size (a clean-clone run saw 393,216 then 401,408 bytes).
            conn.execute("vacuum (analyze)")
        yield dsn


@pytest.fixture(scope="module")
def cat(source: str) -> ObjectCatalog:
    with psycopg.connect(source) as conn:
        return objects.read_catalog(conn)


def find(cat: ObjectCatalog, kind: str, name: str, schema: str = S) -> DbObject:
    obj = cat.find(kind, schema, name)
    assert obj is not None, f"{kind} {schema}.{name} not listed: {[o.name for o in cat.objects if o.schema == schema]}"
    return obj


def test_listing_has_every_kind_with_quoted_names(cat: ObjectCatalog) -> None:
    kinds = {o.kind for o in cat.objects if o.schema == S}
    assert {
        "table",
        "partitioned table",
        "view",
        "materialized view",
        "index",
        "sequence",
        "function",
        "procedure",
        "trigger",
        "enum",
        "composite type",
        "domain",
        "range type",
    } <= kinds
    assert find(cat, "enum", 'Mood "Enum"').info == "sad, it's ok, Happy Face"
    assert find(cat, "trigger", f"Before Write on {T}").table == T
    assert find(cat, "function", 'is_visible(m "Odd Schema"."Mood ""Enum""")').comment == "policy helper"
    assert find(cat, "procedure", "do_nothing(IN x integer)").kind == "procedure"
    citext = find(cat, "extension", "citext")
    assert citext.info.startswith("version ")
    # the extension's own functions and types are listed, and say which extension they come from
    assert any(o.extension == "citext" for o in cat.objects if o.kind == "function")
    assert "pg_catalog" not in {o.schema for o in cat.objects if o.kind != "extension"}
    assert {s.name for s in cat.schemas} >= {S, "Empty One", "public"}
    empty = next(s for s in cat.schemas if s.name == "Empty One")
    assert empty.object_count == 0 and empty.total_bytes == 0
    assert objects.schema_objects(cat, "Empty One") == []


def test_system_schemas_only_with_the_toggle(source: str) -> None:
    with psycopg.connect(source) as conn:
        everything = objects.read_catalog(conn, include_system=True)
    schemas = {o.schema for o in everything.objects}
    assert {"pg_catalog", "information_schema"} <= schemas
    assert everything.find("table", "pg_catalog", "pg_class") is not None


def test_sizes_of_tables_indexes_and_schemas(source: str, cat: ObjectCatalog) -> None:
    table = find(cat, "table", T)
    with psycopg.connect(source) as conn:
        exact = conn.execute(
            "select pg_total_relation_size(%s), pg_relation_size(%s), pg_indexes_size(%s)",
            (table.oid, table.oid, table.oid),
        ).fetchone()
        assert exact is not None
        detail = objects.describe_object(conn, table)
        index = objects.describe_object(conn, find(cat, "index", "Idx Mood"))
    assert table.size_bytes == exact[0] and not table.size_is_estimate
    sizes = dict(detail.sizes)
    # heap: the table's own forks (main, free space map, visibility map), without TOAST
    assert sizes["total"] == exact[0] and sizes["heap"] >= exact[1] and sizes["indexes"] == exact[2]
    assert sizes["heap"] + sizes["indexes"] + sizes["TOAST"] == sizes["total"]
    assert dict(index.sizes)["index"] > 0
    mv = find(cat, "materialized view", "mv")
    assert mv.size_bytes and mv.size_bytes > 0
    schema = next(s for s in cat.schemas if s.name == S)
    expected = sum(
        o.size_bytes or 0
        for o in cat.objects
        if o.schema == S and o.kind in ("table", "partitioned table", "materialized view")
    )
    assert schema.total_bytes == expected > exact[0]


def test_dependencies_both_ways(source: str, cat: ObjectCatalog) -> None:
    with psycopg.connect(source) as conn:
        table = objects.describe_object(conn, find(cat, "table", T))
        trigger = objects.describe_object(conn, find(cat, "trigger", f"Before Write on {T}"))
        function = objects.describe_object(conn, find(cat, "function", "Touch Row()"))
        enum = objects.describe_object(conn, find(cat, "enum", 'Mood "Enum"'))
        parent = objects.describe_object(conn, find(cat, "table", "Parent Table"))
    used_by = {(d.kind, d.identity) for d in table.used_by}
    assert ("view", '"Odd Schema"."Happy View"') in used_by
    assert ("materialized view", '"Odd Schema".mv') in used_by
    assert ("trigger", '"Before Write" on "Odd Schema"."My ""Quoted"" Table"') in used_by
    assert ("index", '"Odd Schema"."Idx Mood"') in used_by
    assert ("sequence", '"Odd Schema"."My ""Quoted"" Table_id_seq"') in used_by
    assert not any("RI_ConstraintTrigger" in d.identity for d in table.used_by), "a foreign key's own triggers"
    assert not any(d.kind == "toast table" for d in table.used_by)
    uses = {(d.kind, d.identity) for d in table.uses}
    assert ("table", '"Odd Schema"."Parent Table"') in uses  # FK out
    assert ("type", '"Odd Schema"."Mood ""Enum"""') in uses  # a column's type
    assert ("sequence", '"Odd Schema"."My ""Quoted"" Table_id_seq"') in uses  # the id default's nextval
    assert any(d.identity.startswith('"Odd Schema".is_visible(') for d in table.uses)  # through the policy
    policy = next(d for d in table.uses if d.identity.startswith('"Odd Schema".is_visible('))
    assert any("policy" in v for v in policy.via)
    assert ("table", '"Odd Schema"."My ""Quoted"" Table"') in {(d.kind, d.identity) for d in parent.used_by}  # FK in
    assert {d.identity for d in trigger.uses} >= {'"Odd Schema"."Touch Row"()', '"Odd Schema"."My ""Quoted"" Table"'}
    assert any(d.kind == "trigger" for d in function.used_by)
    enum_users = {d.identity for d in enum.used_by}
    assert '"Odd Schema"."My ""Quoted"" Table"' in enum_users
    assert any(i.startswith('"Odd Schema".is_visible(') for i in enum_users)


def test_grants_name_public_and_the_role(source: str, cat: ObjectCatalog, roles: dict[str, str]) -> None:
    reader = roles["reader"]
    with psycopg.connect(source) as conn:
        table = objects.describe_object(conn, find(cat, "table", T))
        func = objects.describe_object(conn, find(cat, "function", 'is_visible(m "Odd Schema"."Mood ""Enum""")'))
        held = objects.role_grants(conn, reader)
        public = objects.role_grants(conn, "PUBLIC")
    grants = {(g.grantee, g.privilege, g.grantable, g.column) for g in table.grants}
    assert (reader, "SELECT", True, None) in grants
    assert (reader, "UPDATE", False, "note") in grants
    assert any(g.grantee == "postgres" or g.privilege == "TRUNCATE" for g in table.grants)  # the owner's own
    func_grants = {(g.grantee, g.privilege) for g in func.grants}
    assert ("PUBLIC", "EXECUTE") in func_grants and (reader, "EXECUTE") in func_grants
    on = {(g.kind, g.object, g.privilege, g.column) for g in held}
    assert ("table", '"Odd Schema"."My ""Quoted"" Table"', "SELECT", None) in on
    assert ("column", '"Odd Schema"."My ""Quoted"" Table"', "UPDATE", "note") in on
    assert ("schema", '"Odd Schema"', "USAGE", None) in on
    assert any(k == "function" and o.startswith('"Odd Schema".is_visible(') for k, o, _p, _c in on)
    assert any(g.kind == "database" and g.privilege == "CONNECT" for g in public)
    assert any(g.kind == "function" and g.privilege == "EXECUTE" for g in public)


def test_roles_with_attributes_and_memberships(source: str, roles: dict[str, str]) -> None:
    with psycopg.connect(source) as conn:
        listed = {r.name: r for r in objects.list_roles(conn)}
        with_system = {r.name for r in objects.list_roles(conn, include_system=True)}
    reader, group = listed[roles["reader"]], listed[roles["group"]]
    assert reader.can_login and reader.createdb and reader.bypassrls
    assert not reader.superuser and not reader.createrole and not reader.replication
    assert reader.connection_limit == 3
    assert reader.valid_until is not None and reader.valid_until.year in (2029, 2030)
    assert (roles["group"], False) in reader.member_of
    assert (roles["reader"], False) in group.members
    assert not group.can_login and group.connection_limit == -1
    assert reader.attributes == ["LOGIN", "CREATEDB", "BYPASSRLS"]
    assert not any(name.startswith("pg_") for name in listed)
    assert "pg_monitor" in with_system


def test_ddl_of_every_kind_is_quoted(source: str, cat: ObjectCatalog) -> None:
    with psycopg.connect(source) as conn:
        ddl = {
            kind: objects.describe_object(conn, find(cat, kind, name)).ddl
            for kind, name in [
                ("sequence", "Ticket Seq"),
                ("enum", 'Mood "Enum"'),
                ("domain", "positive_int"),
                ("composite type", "pair"),
                ("range type", "float_range"),
                ("extension", "citext"),
                ("index", "Idx Mood"),
                ("trigger", f"Before Write on {T}"),
                ("procedure", "do_nothing(IN x integer)"),
                ("partitioned table", "measurements"),
            ]
        }
    assert 'CREATE SEQUENCE "Odd Schema"."Ticket Seq"' in ddl["sequence"]
    assert "INCREMENT BY 5" in ddl["sequence"] and "CYCLE" in ddl["sequence"]
    assert "COMMENT ON SEQUENCE" in ddl["sequence"]
    assert "AS ENUM (\n  'sad',\n  'it''s ok',\n  'Happy Face'\n);" in ddl["enum"]
    assert 'CREATE DOMAIN "Odd Schema".positive_int AS integer DEFAULT 1 NOT NULL' in ddl["domain"]
    assert "CHECK (VALUE > 0)" in ddl["domain"]
    assert '"B Part" text' in ddl["composite type"]
    assert "AS RANGE (SUBTYPE = double precision, SUBTYPE_DIFF = float8mi)" in ddl["range type"]
    assert 'CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA "Odd Schema" VERSION' in ddl["extension"]
    assert 'CREATE INDEX "Idx Mood" ON "Odd Schema"."My ""Quoted"" Table"' in ddl["index"]
    assert 'CREATE TRIGGER "Before Write"' in ddl["trigger"] and '"Odd Schema"."Touch Row"()' in ddl["trigger"]
    assert 'CREATE OR REPLACE PROCEDURE "Odd Schema".do_nothing' in ddl["procedure"]
    assert "PARTITION BY RANGE (at)" in ddl["partitioned table"]


ROUND_TRIP = [
    ("enum", 'Mood "Enum"'),
    ("domain", "positive_int"),
    ("table", "Parent Table"),
    ("sequence", "Ticket Seq"),
    ("function", 'is_visible(m "Odd Schema"."Mood ""Enum""")'),
    ("function", "Touch Row()"),
    ("table", T),
    ("view", "Happy View"),
]


def ddl_of(dsn: str, wanted: list[tuple[str, str]]) -> list[str]:
    with psycopg.connect(dsn) as conn:
        fresh = objects.read_catalog(conn)
        return [objects.describe_object(conn, find(fresh, kind, name)).ddl for kind, name in wanted]


def test_ddl_round_trip_in_a_fresh_database(pg_server: Any, source: str) -> None:
    """The generated DDL, run in a fresh database, recreates the objects: their DDL there is the same text."""
    scripts = ddl_of(source, ROUND_TRIP)
    with scratch_database(pg_server.dsn, "objects_copy") as target:
        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute('create schema "Odd Schema"')  # the source's schema (tables' DDL create theirs)
            for script in scripts:
                conn.execute(script.encode())
        again = ddl_of(target, ROUND_TRIP)
        with psycopg.connect(target) as conn:
            columns = conn.execute(
                "select attname, format_type(atttypid, atttypmod), attnotnull, attgenerated, attidentity"
                ' from pg_attribute where attrelid = \'"Odd Schema"."My ""Quoted"" Table"\'::regclass'
                " and attnum > 0 order by attnum"
            ).fetchall()
    for (kind, name), before, after in zip(ROUND_TRIP, scripts, again, strict=True):
        assert after == before, f"{kind} {name}: the DDL changed after the round trip"
    assert [c[0] for c in columns] == ["id", "Parent Id", "mood", "qty", "price", "Total", "note", "created_at"]
    assert columns[5][3] == "s"  # "Total" is still a generated column
    table_ddl = scripts[ROUND_TRIP.index(("table", T))]
    for expected in (
        'CREATE TABLE "Odd Schema"."My ""Quoted"" Table"',
        'CREATE POLICY "Only Visible"',
        "ENABLE ROW LEVEL SECURITY",
        'CREATE TRIGGER "Before Write"',
        'CREATE INDEX "Idx Mood"',
        "COMMENT ON TABLE",
        "OWNER TO",
        'REFERENCES "Odd Schema"."Parent Table"(id) ON DELETE CASCADE',
    ):
        assert expected in table_ddl, expected


def test_a_readonly_login_without_rights_still_gets_the_listing(app_db: Any, source: str, cat: ObjectCatalog) -> None:
    """The read-only login has no USAGE on the schema and no SELECT on its tables: the catalog is still readable."""
    dbname = psycopg.conninfo.conninfo_to_dict(source)["dbname"]
    ro = app_db.server.readonly_dsn(str(dbname))
    with psycopg.connect(ro) as conn:
        assert not conn.execute("select has_schema_privilege(%s, 'USAGE')", (S,)).fetchone()[0]  # type: ignore[index]
        listed = objects.read_catalog(conn)
        table = listed.find("table", S, T)
        assert table is not None and table.size_bytes == find(cat, "table", T).size_bytes
        detail = objects.describe_object(conn, table)
        seq = objects.describe_object(conn, find(listed, "sequence", "Ticket Seq"))
    assert {(o.kind, o.name) for o in listed.objects} == {(o.kind, o.name) for o in cat.objects}
    assert 'CREATE TABLE "Odd Schema"."My ""Quoted"" Table"' in detail.ddl
    assert ("last value", "not readable by this login") in seq.properties


def test_a_dropped_object_is_not_found(source: str) -> None:
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute('create table "Odd Schema".gone (id int)')
        obj = objects.read_catalog(conn).find("table", S, "gone")
        assert obj is not None
        conn.execute('drop table "Odd Schema".gone')
        with pytest.raises(NotFound):
            objects.describe_object(conn, obj)


def test_a_locked_table_gets_an_estimate_not_a_wait(source: str) -> None:
    """Another session's ACCESS EXCLUSIVE lock (a migration running): the list still comes back, with that table's
    size estimated from pg_class and every other size exact; opening it names the lock instead of waiting."""
    with psycopg.connect(source) as holder, psycopg.connect(source) as conn:
        holder.execute('lock table "Odd Schema"."Parent Table" in access exclusive mode')
        listed = objects.read_catalog(conn, lock_timeout_ms=60_000)
        locked = find(listed, "table", "Parent Table")
        assert locked.size_is_estimate and listed.sizes_estimated
        assert not find(listed, "table", T).size_is_estimate
        with pytest.raises(TableLocked):
            objects.describe_object(conn, locked, lock_timeout_ms=60_000)
        with pytest.raises(TableLocked, match="Parent Table"):
            objects.describe_object(conn, find(listed, "index", "Parent Table_pkey"), lock_timeout_ms=60_000)
        # what needs no lock still opens: a trigger, a function, a sequence
        seq = objects.describe_object(conn, find(listed, "sequence", "Ticket Seq"), lock_timeout_ms=60_000)
        assert "CREATE SEQUENCE" in seq.ddl
        holder.rollback()


def test_the_apps_own_objects_are_left_out_on_the_workspace(app_db: Any) -> None:
    """On a connection that is the workspace database itself, the app's schemas and tables (and their indexes and
    triggers) stay out of the list unless the system objects are asked for, as in the explorer."""
    with psycopg.connect(app_db.dsn) as conn:
        full = objects.read_catalog(conn)
    assert full.find("table", "public", "projetos_analytics") is not None
    assert any(o.schema == "dba_admin" for o in full.objects)
    assert any(o.table == "projetos_analytics" for o in full.objects)
    mine = objects.without_app_objects(full)
    assert mine.find("table", "public", "projetos_analytics") is None
    assert not any(o.schema in ("dba_admin", "dba_admin_api") for o in mine.objects)
    assert not any(o.table == "projetos_analytics" for o in mine.objects)
    assert "dba_admin" not in {s.name for s in mine.schemas}
    public = next(s for s in mine.schemas if s.name == "public")
    assert public.object_count == sum(1 for o in mine.objects if o.schema == "public" and o.kind != "extension")
