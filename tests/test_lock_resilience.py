"""A lock on one table (ACCESS EXCLUSIVE held in psql, an ALTER or a migration running) stops only that table.

Catalog and metrics reads answer without waiting for it, marking the locked table (size estimated, who holds the
lock); the reads that need the table itself fail at once with a message naming the holder; the dashboard and the
explorer render with that message in the one part that needs the table. Real PostgreSQL, a real second session.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
import streamlit as st
from apptest_helpers import as_read, logged_in_app, logged_in_page, texts
from db_helpers import demo_manager
from psycopg import sql

from dba_admin import advisors
from dba_admin.catalog import TableLocked
from dba_admin.database import DatabaseManager

# Long enough that a read which waits for the lock fails with lock_timeout (the old behaviour) instead of passing.
LOCK_TIMEOUT_MS = 3_000


@pytest.fixture(autouse=True)
def _app_env(app_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # The pages cache catalog reads for 30 s in this process (st.cache_data): an earlier test's table list would
    # not have the table this test creates.
    st.cache_data.clear()
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))


@pytest.fixture(scope="module")
def manager(app_db: Any) -> Iterator[DatabaseManager]:
    """Connection demo on its real monitor login, which the catalog and metrics reads use."""
    settings = dataclasses.replace(app_db.settings, lock_timeout_ms=LOCK_TIMEOUT_MS)
    db = demo_manager(app_db, settings, monitor=True)
    yield db
    db.close()


@pytest.fixture
def own_table(app_db: Any) -> Iterator[str]:
    """A table of this test's own in the demo database, made by its DBA login, with a default, a CHECK and an
    index (each needs the lock to be deparsed)."""
    name = f"lockprobe_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(app_db.demo_dba_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "create table public.{t} (id int primary key, note text default 'n' check (length(note) < 50));"
                " create index on public.{t} (lower(note));"
                " insert into public.{t} select g, 'x' from generate_series(1, 200) g;"
                " analyze public.{t}"
            ).format(t=sql.Identifier(name))
        )
    yield name
    with psycopg.connect(app_db.demo_dba_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop table if exists public.{} cascade").format(sql.Identifier(name)))


@contextmanager
def locked(dsn: str, table: str) -> Iterator[int]:
    """``begin; lock table public.<table> in access exclusive mode;`` left open in another session; its pid."""
    locker = psycopg.connect(dsn, application_name="lock-holder")
    try:
        locker.execute(sql.SQL("lock table public.{} in access exclusive mode").format(sql.Identifier(table)))
        yield locker.info.backend_pid
    finally:
        locker.rollback()
        locker.close()


def largest_table(db: DatabaseManager) -> str:
    metrics = db.get_metrics()
    return next(t.name for t in metrics.largest_tables if t.schema == "public")


def test_table_list_answers_with_the_locked_table_marked(manager: DatabaseManager, app_db: Any, own_table: str) -> None:
    with locked(app_db.demo_dsn, own_table) as pid, locked(app_db.demo_dsn, "pets") as pets_pid:
        tables = {(t.schema, t.name): t for t in manager.get_tables()}
    mine, pets, other = tables[("public", own_table)], tables[("public", "pets")], tables[("public", "messages")]
    assert mine.lock is not None and mine.lock.pid == pid and mine.lock.granted
    assert pets.lock is not None and pets.lock.pid == pets_pid
    assert mine.size_is_estimate and pets.size_is_estimate
    assert f"table public.{own_table} is locked by pid {pid} (ACCESS EXCLUSIVE)" in mine.lock.message
    assert "see Activity" in mine.lock.message
    assert [c.name for c in mine.columns] == ["id", "note"]  # columns come from the catalog alone
    assert other.lock is None and not other.size_is_estimate and other.total_bytes > 0  # exact for the rest

    unlocked = {(t.schema, t.name): t for t in manager.get_tables()}[("public", own_table)]
    assert unlocked.lock is None and not unlocked.size_is_estimate
    assert {c.name: c.default for c in unlocked.columns}["note"] == "'n'::text"


def test_metrics_answer_with_the_locked_table_estimated(manager: DatabaseManager, app_db: Any) -> None:
    biggest = largest_table(manager)
    with locked(app_db.demo_dsn, biggest) as pid:
        metrics = manager.get_metrics()
    assert metrics.largest_tables_error is None
    sizes = {t.name: t for t in metrics.largest_tables if t.schema == "public"}
    assert biggest in sizes, "the estimate keeps the locked table among the largest"
    assert sizes[biggest].size_is_estimate and sizes[biggest].total_bytes > 0
    assert f"locked by pid {pid}" in (sizes[biggest].lock_message or "")
    assert not any(t.size_is_estimate for name, t in sizes.items() if name != biggest)


def test_reads_of_the_locked_table_fail_at_once_naming_the_holder(
    manager: DatabaseManager, app_db: Any, own_table: str
) -> None:
    with psycopg.connect(app_db.demo_dba_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("create view public.{v} as select id from public.{t}").format(
                v=sql.Identifier(f"{own_table}_v"), t=sql.Identifier(own_table)
            )
        )
    with locked(app_db.demo_dsn, own_table) as pid:
        with pytest.raises(TableLocked) as detail_error:
            manager.describe_table("public", own_table)
        with pytest.raises(TableLocked) as rows_error:
            manager.preview_table("public", own_table)
        with pytest.raises(TableLocked) as view_error:
            manager.describe_table("public", f"{own_table}_v")  # pg_get_viewdef opens the tables a view reads
        other = manager.describe_table("public", "messages")  # every other table opens as usual
    for error in (detail_error.value, rows_error.value):
        assert error.info.sqlstate == "55P03"
        assert f"table public.{own_table} is locked by pid {pid} (ACCESS EXCLUSIVE) since" in error.info.message
    assert f"public.{own_table}_v reads table public.{own_table}, which is locked by pid {pid}" in (
        view_error.value.info.message
    )
    assert other.ddl and other.sizes.total_bytes > 0
    assert manager.describe_table("public", own_table).ddl  # lock released: the detail opens again


def test_dashboard_renders_with_the_locked_table_marked(app_db: Any, manager: DatabaseManager) -> None:
    biggest = largest_table(manager)
    advisors.take_snapshot(manager)  # the growth charts' own snapshot is then not due (advisors' sizes wait)
    with locked(app_db.demo_dsn, biggest) as pid:
        at, _ = logged_in_page(app_db.dsn, "pages/dashboard.py", "dba")
        shown = texts(at)
    assert not at.exception, at.exception
    assert f"public.{biggest} is locked by pid {pid} (ACCESS EXCLUSIVE)" in shown
    assert not at.error, [e.value for e in at.error]
    labels = {m.label: m.value for m in at.metric}
    assert labels["Database"] == "reachable" and "Database size" in labels and "Deadlocks" in labels
    largest = next(df.value for df in at.dataframe if "share" in df.value.columns)
    assert f"public.{biggest} (estimated, locked)" in set(largest["table"]), "its size estimated, and said so"
    at.session_state["dashboard_tab"] = "Growth over time"
    with locked(app_db.demo_dsn, biggest):
        at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.get("plotly_chart"), "the growth charts draw while the table is locked"


def test_explorer_lists_tables_and_fails_only_the_locked_tables_detail(app_db: Any, own_table: str) -> None:
    with locked(app_db.demo_dsn, own_table) as pid:
        at, _ = logged_in_app(app_db.dsn, "dba")
        at.query_params["schema"] = "public"
        at.query_params["table"] = own_table
        at.switch_page("pages/explorer.py").run()
        assert not at.exception, at.exception
        errors = [e.value for e in at.error]
        assert len(errors) == 1, errors
        assert f"table public.{own_table} is locked by pid {pid} (ACCESS EXCLUSIVE) since" in texts(at)
        listed = next(df.value for df in at.dataframe if "name" in df.value.columns and "kind" in df.value.columns)
        assert {own_table, "pets", "messages"} <= set(listed["name"])
        assert "size estimated" in " ".join(listed["lock"])

        at.query_params["table"] = "messages"  # another table opens as usual while the lock is held
        at.switch_page("pages/explorer.py").run()
        assert not at.exception, at.exception
        assert not at.error, [e.value for e in at.error]
        assert "public.messages" in [as_read(h.value) for h in at.header]
