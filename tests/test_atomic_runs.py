"""Multi-statement runs that fail half way: which statements committed, and "run as one transaction".

On the suite's real PostgreSQL: a DBA's write-mode run commits each statement on its own (psql) and now says
plainly which ones committed; ``single_transaction=True`` runs the text all or nothing, and refuses up front
what cannot run inside one transaction. The SQL editor is driven through AppTest as in test_pages_sql_editor.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from apptest_helpers import logged_in_page, texts
from db_helpers import demo_manager, scratch_connection
from psycopg import sql
from streamlit.proto.Block_pb2 import Block as BlockProto
from streamlit.testing.v1 import AppTest

from dba_admin.database import DatabaseManager, run_summary, statement_numbers
from dba_admin.errors import QueryRefused

PAGE = "pages/sql_editor.py"
TEXT = "sql_editor_text"
TOGGLE = "sql_editor_one_transaction_toggle"


@pytest.fixture
def scratch(app_db: Any, empty_db_dsn: str, tmp_path: Path) -> Iterator[DatabaseManager]:
    """A connection on a brand-new empty database owned by its DBA login (write mode), with a table ``t``."""
    manager = scratch_connection(app_db, empty_db_dsn, app_db.settings.with_overrides(data_dir=tmp_path / "data"))
    manager.execute_query("create table t (a int primary key)", read_only=False)
    yield manager
    manager.close()


def rows_of(db: DatabaseManager, table: str = "t") -> list[int]:
    (res,) = db.execute_query(f"select a from {table} order by a", read_only=False)
    return [int(v) for v in res.rows["a"]]


FAILS_THIRD = "insert into t values (1);\ninsert into t values (2);\nselect 1/0;\ninsert into t values (3);\nselect 4"


# --- the core ---------------------------------------------------------------------------------------------------


def test_one_transaction_commits_everything_when_all_succeed(scratch: DatabaseManager) -> None:
    results = scratch.execute_query(
        "insert into t values (1); insert into t values (2); select count(*) from t",
        read_only=False,
        single_transaction=True,
    )
    assert [r.status for r in results] == ["ok", "ok", "ok"]
    assert not any(r.rolled_back for r in results)
    assert results[2].rows.iloc[0, 0] == 2  # the later statement saw the earlier ones: one transaction
    assert rows_of(scratch) == [1, 2]
    assert run_summary(results, read_only=False) is None


def test_one_transaction_rolls_everything_back_on_an_error(scratch: DatabaseManager) -> None:
    results = scratch.execute_query(FAILS_THIRD, read_only=False, single_transaction=True)
    assert [r.status for r in results] == ["rolled_back", "rolled_back", "error", "not_run", "not_run"]
    assert all(r.rolled_back for r in results), "every result says it was rolled back"
    assert not any(r.status == "ok" for r in results), "nothing claims to have been kept"
    assert rows_of(scratch) == [], "no row of the earlier inserts is left"
    summary = run_summary(results, read_only=False)
    assert summary is not None
    assert "statements 1–2 ran but statement 3 failed (line 3): division by zero" in summary
    assert "statements 4–5 did not run" in summary
    assert "everything was rolled back, nothing was committed" in summary
    assert "committed;" not in summary


def test_one_transaction_failing_at_commit_keeps_nothing(scratch: DatabaseManager) -> None:
    scratch.execute_query("create table child (a int references t (a) deferrable initially deferred)", read_only=False)
    results = scratch.execute_query(
        "insert into t values (7); insert into child values (99)", read_only=False, single_transaction=True
    )
    assert [r.status for r in results] == ["rolled_back", "error"]
    assert all(r.rolled_back for r in results)
    error = results[1].error
    assert error is not None and error.sqlstate == "23503" and "COMMIT failed" in error.message
    assert rows_of(scratch) == []


def test_default_run_says_exactly_which_statements_committed(scratch: DatabaseManager) -> None:
    results = scratch.execute_query(FAILS_THIRD, read_only=False)
    assert [r.status for r in results] == ["ok", "ok", "error", "not_run", "not_run"]
    assert not any(r.rolled_back for r in results)
    assert rows_of(scratch) == [1, 2], "psql's behaviour is kept: each statement commits on its own"
    assert run_summary(results, read_only=False) == (
        "statements 1–2 committed; statement 3 failed (line 3): division by zero; statements 4–5 did not run"
    )


def test_default_run_does_not_claim_a_rolled_back_user_transaction_committed(scratch: DatabaseManager) -> None:
    results = scratch.execute_query(
        "insert into t values (1);\nbegin;\ninsert into t values (2);\nselect 1/0;\ncommit", read_only=False
    )
    assert [r.status for r in results] == ["ok", "ok", "ok", "error", "not_run"]
    assert [r.rolled_back for r in results][:3] == [False, True, True]
    assert rows_of(scratch) == [1]
    assert run_summary(results, read_only=False) == (
        "statement 1 committed; statements 2–3 ran inside your transaction, which was rolled back; "
        "statement 4 failed (line 4): division by zero; statement 5 did not run"
    )
    results = scratch.execute_query(
        "begin; insert into t values (5); rollback; insert into t values (6)", read_only=False
    )
    assert [r.rolled_back for r in results] == [True, True, False, False]
    results = scratch.execute_query("begin; insert into t values (8); commit", read_only=False)
    assert not any(r.rolled_back for r in results)
    assert rows_of(scratch) == [1, 6, 8]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("insert into t values (1);\nvacuum t", "statement 2 (line 2, VACUUM)"),
        ("insert into t values (1);\ncreate index concurrently t_a on t (a)", "statement 2 (line 2, CREATE INDEX)"),
        ("alter system set work_mem = '8MB'", "statement 1 (line 1, ALTER SYSTEM)"),
        ("create database atomic_never", "statement 1 (line 1, CREATE DATABASE)"),
    ],
)
def test_one_transaction_refuses_what_cannot_run_in_a_transaction(
    scratch: DatabaseManager, text: str, named: str
) -> None:
    with pytest.raises(QueryRefused) as refused:
        scratch.execute_query(text, read_only=False, single_transaction=True)
    message = refused.value.info.message
    assert named in message and "cannot run inside a transaction block" in message
    assert "nothing was run" in message and refused.value.info.hint
    assert rows_of(scratch) == [], "refused before anything ran"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("begin;\ninsert into t values (1);\ncommit", "statement 1 (line 1, BEGIN)"),
        ("insert into t values (1);\ncommit", "statement 2 (line 2, COMMIT)"),
        ("insert into t values (1);\nrollback", "statement 2 (line 2, ROLLBACK)"),
    ],
)
def test_one_transaction_refuses_typed_transaction_control(scratch: DatabaseManager, text: str, named: str) -> None:
    with pytest.raises(QueryRefused) as refused:
        scratch.execute_query(text, read_only=False, single_transaction=True)
    message = refused.value.info.message
    assert named in message and "transaction control" in message and "the app already opens" in message
    assert rows_of(scratch) == []


def test_savepoints_work_inside_one_transaction(scratch: DatabaseManager) -> None:
    results = scratch.execute_query(
        "insert into t values (1); savepoint s; insert into t values (2); rollback to savepoint s;"
        " release s; insert into t values (3)",
        read_only=False,
        single_transaction=True,
    )
    assert all(r.status == "ok" for r in results)
    assert rows_of(scratch) == [1, 3]


def test_read_only_runs_ignore_the_option(app_db: Any) -> None:
    with demo_manager(app_db, monitor=True) as db:
        results = db.execute_query("select 1; select 1/0; select 2", read_only=True, single_transaction=True)
    assert [r.status for r in results] == ["ok", "error", "not_run"]
    summary = run_summary(results, read_only=True)
    assert summary is not None and "statement 1 ran; statement 2 failed (line 1)" in summary
    assert "nothing was changed" in summary


def test_statement_numbers_reads_as_people_count() -> None:
    assert statement_numbers([0]) == "statement 1"
    assert statement_numbers([0, 1, 2]) == "statements 1–3"
    assert statement_numbers([0, 2, 3]) == "statements 1, 3–4"


# --- the SQL editor ---------------------------------------------------------------------------------------------


@pytest.fixture
def app_env(app_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app under AppTest uses the suite's server, never a default data dir."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))


@pytest.fixture
def table(app_db: Any, app_env: None) -> Iterator[str]:
    """A table of the demo database (the editor's connection), owned by its DBA login as one a DBA made."""
    name = f"atomic_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(app_db.demo_dba_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create table public.{} (a int primary key)").format(sql.Identifier(name)))
    yield name
    with psycopg.connect(app_db.demo_dba_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop table if exists public.{}").format(sql.Identifier(name)))


def table_rows(dsn: str, name: str) -> list[int]:
    with psycopg.connect(dsn) as conn:
        query = sql.SQL("select a from public.{} order by a").format(sql.Identifier(name))
        return [int(r[0]) for r in conn.execute(query).fetchall()]


def run_sql(at: AppTest, text: str) -> AppTest:
    at.session_state[TEXT] = text
    at.button(key="sql_editor_run").click().run()
    assert not at.exception, at.exception
    return at


def failing_text(name: str) -> str:
    return (
        f"insert into public.{name} values (1);\ninsert into public.{name} values (2);\n"
        f"select 1/0;\ninsert into public.{name} values (3);\nselect 5"
    )


def selected_tab(at: AppTest) -> int:
    """Index of the tab the page opens: the default of the (one) tab container, as sent to the browser."""
    containers = [
        b.proto.tab_container
        for b in _blocks(at._tree)
        if isinstance(getattr(b, "proto", None), BlockProto) and b.proto.WhichOneof("type") == "tab_container"
    ]
    assert len(containers) == 1, containers
    return int(containers[0].default_tab_index)


def _blocks(node: Any) -> Iterator[Any]:
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _blocks(child)


def test_editor_says_which_statements_committed_and_opens_the_failing_tab(app_db: Any, table: str) -> None:
    at, _ = logged_in_page(app_db.dsn, PAGE, "dba")
    toggle = at.toggle(key=TOGGLE)
    assert toggle.label == "Run as one transaction (all or nothing)" and toggle.value is False
    run_sql(at, failing_text(table))
    shown = texts(at)
    assert (
        "Statements 1–2 committed; statement 3 failed (line 3): division by zero; statements 4–5 did not run"
    ) in shown
    assert "The tab of statement 3 is open below." in shown
    assert [t.label.split(" ")[0] for t in at.tabs] == ["✅", "✅", "❌", "⏸", "⏸"]
    assert selected_tab(at) == 2
    assert table_rows(app_db.demo_dsn, table) == [1, 2]


def test_editor_runs_as_one_transaction_when_asked_and_remembers_it(app_db: Any, table: str) -> None:
    at, _ = logged_in_page(app_db.dsn, PAGE, "dba")
    at.toggle(key=TOGGLE).set_value(True).run()
    assert not at.exception, at.exception
    run_sql(at, failing_text(table))
    shown = texts(at)
    assert "one transaction" in shown
    assert "everything was rolled back, nothing was committed" in shown
    assert "Rolled back: this statement ran" in shown
    assert [t.label.split(" ")[0] for t in at.tabs] == ["↩️", "↩️", "❌", "⏸", "⏸"]
    assert selected_tab(at) == 2
    assert table_rows(app_db.demo_dsn, table) == [], "all or nothing"
    # the choice stays for the session, also after visiting another page
    at.switch_page("pages/history.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.toggle(key=TOGGLE).value is True
    run_sql(at, f"insert into public.{table} values (10);\nvacuum public.{table}")
    shown = texts(at)
    assert "cannot run inside a transaction block" in shown and "statement 2 (line 2, VACUUM)" in shown
    assert table_rows(app_db.demo_dsn, table) == []


def test_editor_has_no_transaction_toggle_for_read_only_users(app_db: Any, app_env: None) -> None:
    at, _ = logged_in_page(app_db.dsn, PAGE, "analyst")
    assert not any(t.key == TOGGLE for t in at.toggle)
