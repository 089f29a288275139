"""The Objects page through AppTest, from app.py with a real login, on connection `demo` (the PetCare database).

A schema and a table with quotes, spaces and capitals, an empty schema and a role holding a grant are created in the
demo database for the module (as its superuser, ``app_db.demo_dsn``) and dropped at the end.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import streamlit as st
from apptest_helpers import as_read, logged_in_app, logged_in_page, texts
from psycopg import sql
from streamlit.testing.v1 import AppTest

PAGE = "pages/objects.py"
SCHEMA = "Objects Page"
EMPTY = "Objects Empty"
TABLE = 'Odd "Name"'


@pytest.fixture(autouse=True)
def _app_env(app_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))


@pytest.fixture(scope="module")
def demo_objects(app_db: Any) -> Iterator[str]:
    """The quoted schema and table, the empty schema, and a role with SELECT on the table; yields the role."""
    role = f"objects page {uuid.uuid4().hex[:8]}"
    schema, empty, table, ident = (
        sql.Identifier(SCHEMA),
        sql.Identifier(EMPTY),
        sql.Identifier(SCHEMA, TABLE),
        sql.Identifier(role),
    )
    with psycopg.connect(app_db.demo_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create schema {}").format(schema))
        conn.execute(sql.SQL("create schema {}").format(empty))
        conn.execute(
            sql.SQL('create table {} (id int primary key, "Mixed Case" text not null default {})').format(
                table, sql.Literal("it's")
            )
        )
        conn.execute(sql.SQL("create role {} nologin").format(ident))
        conn.execute(sql.SQL("grant usage on schema {} to {}").format(schema, ident))
        conn.execute(sql.SQL("grant select on {} to {}").format(table, ident))
    yield role
    with psycopg.connect(app_db.demo_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop schema {}, {} cascade").format(schema, empty))
        conn.execute(sql.SQL("drop owned by {}").format(ident))
        conn.execute(sql.SQL("drop role {}").format(ident))


def open_page(app_db: Any, role: str = "dba", **params: str) -> AppTest:
    # The page keeps the catalog for 30 s per connection (in this process, shared by every session): another test
    # file on this worker may have opened it before this module's objects existed.
    st.cache_data.clear()
    at, _ = logged_in_app(app_db.dsn, role)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def frame_with(at: AppTest, *columns: str) -> Any:
    for df in at.dataframe:
        if all(c in df.value.columns for c in columns):
            return df.value
    raise AssertionError(f"no dataframe with columns {columns}")


def test_the_page_lists_the_demo_for_a_dba(app_db: Any, demo_objects: str) -> None:
    at = open_page(app_db)
    listed = frame_with(at, "name", "kind", "schema", "size")
    assert {"orders", "order_items", "user_profiles"} <= set(listed["name"])
    assert set(listed["schema"]) == {"public"}, "the list starts on schema public"
    assert "Pick an object in the list" in texts(at)
    at.selectbox(key="objects_schema_demo").select("(all)").run()
    listed = frame_with(at, "name", "kind", "schema")
    assert TABLE in set(listed["name"])
    at.selectbox(key="objects_kind").select("index").run()
    assert set(frame_with(at, "name", "kind")["kind"]) == {"index"}
    at.text_input(key="objects_search").input("user_profiles").run()
    assert not at.exception, at.exception
    names = set(frame_with(at, "name", "kind")["name"])
    assert names and all("user_profiles" in n for n in names)


def test_choosing_a_table_shows_its_ddl_with_quoted_identifiers(app_db: Any, demo_objects: str) -> None:
    at = open_page(app_db, kind="table", schema=SCHEMA, name=TABLE)
    assert f"{SCHEMA}.{TABLE}" in [as_read(h.value) for h in at.header]
    ddl = at.code[0].value
    assert 'CREATE TABLE "Objects Page"."Odd ""Name""" (' in ddl
    assert "\"Mixed Case\" text DEFAULT 'it''s'::text NOT NULL" in ddl
    assert 'ALTER TABLE "Objects Page"."Odd ""Name""" OWNER TO' in ddl
    grants = frame_with(at, "grantee", "privilege", "grantable", "grantor")
    assert (demo_objects, "SELECT") in set(zip(grants["grantee"], grants["privilege"], strict=True))
    used_by = frame_with(at, "kind", "object", "through", "dependency")
    assert '"Objects Page"."Odd ""Name""_pkey"' in set(used_by["object"])
    assert {"heap", "indexes", "TOAST", "total"} <= {m.label for m in at.metric}


def test_a_demo_table_shows_its_dependencies(app_db: Any) -> None:
    at = open_page(app_db, kind="table", schema="public", name="orders")
    frames = [df.value for df in at.dataframe if "through" in df.value.columns]
    objects_shown = {o for f in frames for o in f["object"]}
    assert "public.user_profiles" in objects_shown, "orders references user_profiles"
    assert "public.order_items" in objects_shown, "order_items references orders"


def test_roles_view_lists_attributes_and_a_roles_grants(app_db: Any, demo_objects: str) -> None:
    at = open_page(app_db, view="roles")
    roles = frame_with(at, "role", "login", "superuser", "member of", "members")
    assert demo_objects in set(roles["role"])
    assert not any(r.startswith("pg_") for r in roles["role"]), "predefined roles are hidden by default"
    at.selectbox(key="objects_role").select(demo_objects).run()
    assert not at.exception, at.exception
    grants = frame_with(at, "kind", "object", "privilege", "grantable", "grantor")
    held = set(zip(grants["kind"], grants["object"], grants["privilege"], strict=True))
    assert ("table", '"Objects Page"."Odd ""Name"""', "SELECT") in held
    assert ("schema", '"Objects Page"', "USAGE") in held
    at.toggle(key="objects_system").set_value(True).run()
    roles = frame_with(at, "role", "login", "superuser")
    assert "pg_monitor" in set(roles["role"])


def test_an_empty_schema_says_so(app_db: Any, demo_objects: str) -> None:
    at = open_page(app_db, schema=EMPTY)
    assert f"Schema {EMPTY} is empty" in texts(at)


def test_an_analyst_is_refused(app_db: Any) -> None:
    at, _ = logged_in_page(app_db.dsn, PAGE, "analyst")
    assert any("needs the role" in e.value for e in at.error)
    assert not at.dataframe
