"""The Statements page through AppTest, from app.py and the real login form, against the suite's PostgreSQL.

Statements are run on connection `demo` (database petcare, which has pg_stat_statements in schema `extensions` when
the cluster preloads it) against a table of the test's own, created by the demo's DBA login (the login a DBA's
Explain runs on), so the page can be filtered down to them whatever else the suite ran. Nothing is reset on the
shared demo database: the reset's success, and the refusal that names the GRANT a DBA login lacks, are tested in
tests/test_statements.py on a scratch database; here the confirmation step is.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from apptest_helpers import extra_connection, logged_in_page, switch_connection, texts
from psycopg import sql
from streamlit.testing.v1 import AppTest

PAGE = "pages/statements.py"


@pytest.fixture(autouse=True)
def _app_env(app_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))


@pytest.fixture
def table(app_db: Any) -> Iterator[str]:
    """A table of this test in petcare, with statements run on it: 3 calls of a lookup, 5 of a filter."""
    with psycopg.connect(app_db.demo_dsn) as conn:
        row = conn.execute("select count(*) from pg_extension where extname = 'pg_stat_statements'").fetchone()
    if not row or not row[0]:
        pytest.skip("pg_stat_statements is not installed in the demo (not preloaded in this build)")
    name = f"stmt_page_{uuid.uuid4().hex[:8]}"
    ident = sql.Identifier("public", name)
    with psycopg.connect(app_db.demo_dba_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create table {} (id int primary key, kind text)").format(ident))
        conn.execute(sql.SQL("insert into {} select g, 'k' || (g % 7) from generate_series(1, 300) g").format(ident))
        for i in range(3):
            conn.execute(sql.SQL("select * from {} where id = %s").format(ident), (i,))
        for _ in range(5):
            conn.execute(sql.SQL("select count(*) from {} where kind = %s").format(ident), ("k1",))
    try:
        yield name
    finally:
        with psycopg.connect(app_db.demo_dba_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("drop table if exists {}").format(ident))


def page(app_db: Any, role: str = "dba") -> AppTest:
    at, _ = logged_in_page(app_db.dsn, PAGE, role)
    return at


def ours(table: str) -> str:
    """A filter that finds the test's two statements (not its CREATE TABLE or INSERT)."""
    return f'from "public"."{table}"'


def filtered(at: AppTest, text: str) -> AppTest:
    at.text_input(key="statements_text").input(text).run()
    assert not at.exception, at.exception
    return at


def opened(at: AppTest, tab: str) -> AppTest:
    """Open one of the page's lazy tabs (only the open one is drawn)."""
    at.session_state["statements_tab"] = tab
    at.run()
    assert not at.exception, at.exception
    return at


def test_lists_the_statements_and_explains_a_representative_query(app_db: Any, table: str) -> None:
    at = filtered(page(app_db), ours(table))
    frame = at.dataframe[0].value
    assert frame["calls"].tolist() == [5, 3] or frame["calls"].tolist() == [3, 5]
    assert all(table in q for q in frame["query"])
    at.selectbox(key="statements_sort").set_value("calls").run()
    frame = at.dataframe[0].value
    assert frame["calls"].tolist()[0] == 5, "sorted by calls"
    assert [t.label for t in at.tabs] == ["Statements", "Top statements", "Statement detail"]
    assert not at.get("plotly_chart") and "Calls" not in [m.label for m in at.metric], "the other tabs wait"
    opened(at, "Top statements")
    assert len(at.get("plotly_chart")) == 1 and not at.dataframe, "the top statements as a chart, alone"
    # the detail pane: the first statement (5 calls), its numbers, and a representative query to plan
    opened(at, "Statement detail")
    assert "Calls" in [m.label for m in at.metric]
    assert any("kind = $1" in c.value for c in at.code)
    area = next(a for a in at.text_area if (a.key or "").startswith("statements_repr_"))
    assert "$1" in area.value and "Put real values in place of $1" in texts(at)
    area.input(f"select count(*) from public.{table} where kind = 'k1'").run()
    at.button(key="statements_explain").click().run()
    assert not at.exception, at.exception
    plan = at.dataframe[0].value  # the list is in a closed tab
    assert {"node", "total cost"} <= set(plan.columns)
    at.button(key="statements_index_advice").click().run()
    assert not at.exception, at.exception
    assert "Cost now" in [m.label for m in at.metric]


def test_the_statement_picker_follows_the_list_when_the_filter_changes(app_db: Any, table: str) -> None:
    """A kept picker once showed the label of a statement no longer listed above another one's detail."""
    at = filtered(page(app_db), ours(table))
    at.selectbox(key="statements_sort").set_value("calls").run()
    opened(at, "Statement detail")
    (picker,) = [s for s in at.selectbox if s.label == "Statement"]
    assert len(picker.options) == 2 and "kind = $1" in picker.options[0]
    picker.select_index(1).run()
    (picker,) = [s for s in at.selectbox if s.label == "Statement"]
    assert "id = $1" in picker.options[picker.index], "the second statement chosen"
    assert any("id = $1" in c.value for c in at.code)
    filtered(at, f'"public"."{table}" where kind')  # now only the filter statement is listed
    (picker,) = [s for s in at.selectbox if s.label == "Statement"]
    assert len(picker.options) == 1 and "kind = $1" in picker.options[picker.index], "the label is the one shown"
    assert any("kind = $1" in c.value for c in at.code) and not any("id = $1" in c.value for c in at.code)


def test_a_filter_that_matches_nothing_says_so(app_db: Any, table: str) -> None:
    at = filtered(page(app_db), f"no statement has this {uuid.uuid4().hex}")
    assert "No statement matches the filters" in texts(at)


def test_reset_asks_first(app_db: Any, table: str) -> None:
    """Only the question and its cancel: the demo's DBA login may reset (bootstrap grants it), and a real reset here
    would empty the statistics other tests of the shared demo read. The reset itself is in tests/test_statements.py."""
    at = filtered(page(app_db), ours(table))
    at.button(key="statements_reset").click().run()
    assert "this cannot be undone" in texts(at)
    assert any(b.key == "statements_reset_confirm" for b in at.button)
    at.button(key="statements_reset_cancel").click().run()
    assert "this cannot be undone" not in texts(at)
    assert len(at.dataframe[0].value) == 2, "cancelled: nothing was reset"


def test_empty_state_when_the_extension_is_missing(app_db: Any) -> None:
    with extra_connection(app_db) as name:
        at = page(app_db)
        switch_connection(at, name, PAGE)
        assert not at.exception, at.exception
        shown = texts(at)
        assert "CREATE EXTENSION pg_stat_statements" in shown and "shared_preload_libraries" in shown
        assert not any(b.key == "statements_reset" for b in at.button), "nothing to reset"


def test_an_analyst_is_refused(app_db: Any) -> None:
    at = page(app_db, "analyst")
    assert "needs the role" in texts(at)
    assert not [w for w in at.text_input if w.key == "statements_text"]
