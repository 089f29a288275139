"""The DBA workbench pages through AppTest, from app.py with a real login: dashboard, table explorer, activity.

They work on connection `demo` (the PetCare database, a database of its own beside the workspace): tables are
created there through ``app_db.demo_dsn`` (or as its DBA login, ``app_db.demo_dba_dsn``, when the app must act on
them), the app's own records (audit) are read in the workspace through ``app_db.dsn``.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import psycopg
import pytest
from apptest_helpers import as_read, logged_in_app, logged_in_page, texts
from db_helpers import Background, audit_rows
from psycopg import sql
from streamlit.testing.v1 import AppTest


@pytest.fixture(autouse=True)
def _app_env(app_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))


def open_page(app_db: Any, role: str, page: str) -> AppTest:
    return logged_in_page(app_db.dsn, page, role)[0]


def test_dashboard_renders_for_a_dba(app_db: Any) -> None:
    at = open_page(app_db, "dba", "pages/dashboard.py")
    shown = texts(at)
    labels = {m.label: m.value for m in at.metric}
    assert labels["Database"] == "reachable"
    assert labels["Assistant"] == "offline"
    assert "Database size" in labels and "Deadlocks" in labels
    assert not at.get("plotly_chart"), "the first view draws no Plotly chart (commits/s once it has two samples)"
    assert re.search(r"By state: \**[a-z][a-z ()]* \d", shown), "the connections counted by state, most first"
    assert labels["Commits"] and "Rollbacks" in labels
    largest = frame_with(at, "table", "total", "share", "heap", "indexes", "toast", "rows")
    assert all(name.startswith("public.") for name in largest["table"]), "named by schema.table"
    assert list(largest["total"]) == sorted(largest["total"], reverse=True) and largest["total"].iloc[0] > 0
    assert (largest["heap"] + largest["indexes"] + largest["toast"] == largest["total"]).all()
    assert 0 < largest["share"].sum() <= 1, "each table's share of the database size"
    assert "Top statements by total time" not in shown, "the statements wait for their tab"
    at.session_state["dashboard_tab"] = "Top statements"
    at.run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert "Top statements by total time" in shown
    assert "pg_stat_statements" in shown or at.dataframe, "top statements, or how to enable them"


def frame_with(at: AppTest, *columns: str) -> Any:
    """The first dataframe shown with these columns (plain st.dataframe elements carry no key in AppTest)."""
    for df in at.dataframe:
        value = df.value
        if all(c in value.columns for c in columns):
            return value
    raise AssertionError(f"no dataframe with columns {columns}")


def open_table(app_db: Any, role: str, schema: str, table: str) -> AppTest:
    at, _ = logged_in_app(app_db.dsn, role)
    at.query_params["schema"] = schema
    at.query_params["table"] = table
    at.switch_page("pages/explorer.py").run()
    assert not at.exception, at.exception
    return at


def test_explorer_opens_a_table_from_the_url_and_pages_it(app_db: Any) -> None:
    at = open_table(app_db, "dba", "public", "campaign_recipients")
    assert "public.campaign_recipients" in [as_read(h.value) for h in at.header]
    rows = frame_with(at, "id", "campaign_id")
    assert len(rows) == 100
    at.button(key="explorer_next").click().run()
    assert not at.exception, at.exception
    second = frame_with(at, "id", "campaign_id")
    assert len(second) == 100
    assert set(rows["id"]).isdisjoint(set(second["id"])), "the next page shows other rows"
    assert "Rows 101–200" in texts(at)


def test_explorer_filter_sort_and_download(app_db: Any) -> None:
    at = open_table(app_db, "dba", "public", "campaign_recipients")
    at.selectbox(key="explorer_filter_col").select("status")
    at.selectbox(key="explorer_filter_op").select("=")
    at.text_input(key="explorer_filter_value").input("failed")
    at.button(key="explorer_filter_add").click().run()
    assert not at.exception, at.exception
    rows = frame_with(at, "id", "status")
    assert len(rows) > 0 and set(rows["status"]) == {"failed"}
    at.selectbox(key="explorer_sort").select("id")
    at.toggle(key="explorer_desc").set_value(True).run()
    rows = frame_with(at, "id", "status")
    assert list(rows["id"]) == sorted(rows["id"], reverse=True) and set(rows["status"]) == {"failed"}
    labels = [b.label for b in at.get("download_button")]
    assert {"Download CSV", "Download JSON"} <= set(labels)
    at.button(key="explorer_filter_clear").click().run()
    assert set(frame_with(at, "id", "status")["status"]) != {"failed"}, "the filter is gone"


def test_explorer_shows_ddl_policies_and_diagram(app_db: Any) -> None:
    at = open_table(app_db, "dba", "public", "orders")
    at.session_state["explorer_tab"] = "DDL"
    at.run()
    assert not at.exception, at.exception
    ddl = "\n".join(c.value for c in at.code)
    assert "CREATE TABLE public.orders" in ddl
    at.session_state["explorer_tab"] = "Policies & grants"
    at.run()
    assert any("CREATE POLICY orders_select_own" in c.value for c in at.code)
    at.session_state["explorer_tab"] = "Diagram"
    at.run()
    assert not at.exception, at.exception
    charts = at.get("graphviz_chart")
    assert len(charts) == 1
    dot = "\n".join(c.value for c in at.code)
    assert "order_items" in dot and "user_profiles" in dot, "the neighbours through foreign keys"


def test_activity_cancels_a_sleeping_backend(app_db: Any) -> None:
    at = open_page(app_db, "dba", "pages/activity.py")
    # A session on the demo of a login that is not a superuser: the connection's DBA login may signal it.
    sleeper = Background(app_db.demo_readonly_dsn, "select pg_sleep(30)").start(app_db.dsn)
    at.button(key="activity_refresh").click().run()
    assert not at.exception, at.exception
    frame = frame_with(at, "pid", "application", "query")
    row = frame[frame["application"] == sleeper.application]
    assert len(row) == 1 and "pg_sleep(30)" in row.iloc[0]["query"]
    pid = int(row.iloc[0]["pid"])
    assert pid == sleeper.pid
    at.selectbox(key="activity_pid").select(pid).run()
    at.button(key="activity_ask").click().run()
    assert not at.exception, at.exception
    assert "Cancel query" in texts(at), "a confirmation step names the action"
    assert sleeper.error is None, "nothing happened before the confirmation"
    at.button(key="activity_confirm").click().run()
    assert not at.exception, at.exception
    sleeper.join()
    assert isinstance(sleeper.error, psycopg.errors.QueryCanceled) and sleeper.error.sqlstate == "57014"
    assert f"Backend {pid}: cancelled its query" in texts(at)
    assert audit_rows(app_db.dsn, "activity.cancel", pid), "audited"


@pytest.mark.parametrize("page", ["pages/dashboard.py", "pages/activity.py"])
def test_analyst_gets_the_role_message(app_db: Any, page: str) -> None:
    at = open_page(app_db, "analyst", page)
    assert "needs the role admin, dba" in texts(at)
    assert not at.dataframe and not at.get("plotly_chart"), "nothing else of the page is shown"


@pytest.mark.parametrize("page", ["pages/dashboard.py", "pages/explorer.py", "pages/activity.py"])
def test_every_workbench_page_renders_for_a_dba(app_db: Any, page: str) -> None:
    at = open_page(app_db, "dba", page)
    assert not at.exception
    assert not [e.value for e in at.error], "no error message on a healthy demo database"


def test_explorer_list_for_an_analyst_hides_the_private_schema_and_applies_rls(app_db: Any) -> None:
    at = open_page(app_db, "analyst", "pages/explorer.py")
    listed = frame_with(at, "schema", "name", "RLS")
    assert "dba_admin" not in set(listed["schema"]) and "messages" in set(listed["name"])
    flagged = listed[listed["name"] == "campaign_recipients"]
    assert flagged.iloc[0]["RLS"] == "⚠ off", "a public table without RLS is flagged"
    at.selectbox(key="explorer_open").select("public.services").run()
    assert not at.exception, at.exception
    assert at.query_params["table"] in ("services", ["services"]), "the selection is in the URL"
    assert at.query_params["connection"] in ("demo", ["demo"]), "and so is the connection"
    rows = frame_with(at, "id", "active")
    # Read on the connection's read-only login, whose grants (on the demo: a policy of its own) decide: the whole
    # catalogue, inactive services too, not what the app's API users would see.
    assert len(rows) > 0 and set(rows["active"]) == {True, False}
    assert "read-only login" in texts(at)
    assert not any(t.label == "Maintenance" for t in at.tabs), "no backup for an analyst"

    private = open_table(app_db, "analyst", "dba_admin", "users")
    assert "not open to the role analyst" in texts(private)
    assert not private.get("code"), "no DDL or rows of the private schema"


def test_backup_from_the_explorer_is_audited(app_db: Any) -> None:
    # A table without RLS: the monitor login the backup reads with sees all of its rows.
    at = open_table(app_db, "dba", "public", "campaign_recipients")
    at.session_state["explorer_tab"] = "Maintenance"
    at.run()
    at.radio(key="explorer_backup_fmt").set_value("sql")
    at.button(key="explorer_backup").click().run()
    assert not at.exception, at.exception
    assert "Backed up" in texts(at)
    assert any(b.label == "Download the backup file" for b in at.get("download_button"))
    with psycopg.connect(app_db.dsn) as conn:
        row = conn.execute(
            "select details from dba_admin.audit_log where action = 'table.backup'"
            " and target = 'public.campaign_recipients'"
            " order by id desc limit 1"
        ).fetchone()
    assert row is not None and row[0]["format"] == "sql" and row[0]["rows"] > 0


def test_matview_refresh_from_the_explorer(app_db: Any) -> None:
    schema = f"mvpage_{uuid.uuid4().hex[:6]}"
    # Made by the demo's DBA login, which the app's refresh runs as (never the monitor login).
    with psycopg.connect(app_db.demo_dba_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(schema)))
        conn.execute(
            sql.SQL(
                "create materialized view {}.species as select species, count(*) n from public.pets group by 1"
            ).format(sql.Identifier(schema))
        )
    try:
        at = open_table(app_db, "dba", schema, "species")
        at.session_state["explorer_tab"] = "Maintenance"
        at.run()
        assert "Last refresh: unknown (PostgreSQL does not record it" in texts(at)
        at.button(key="explorer_refresh").click().run()
        assert not at.exception, at.exception
        assert "Refreshed in" in texts(at)
        at.run()
        assert "Last refresh from this app:" in texts(at)
    finally:
        with psycopg.connect(app_db.demo_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(schema)))


def test_explorer_page_size_resets_to_the_first_page(app_db: Any) -> None:
    at = open_table(app_db, "dba", "public", "campaign_recipients")
    at.button(key="explorer_next").click().run()
    assert "Rows 101–200" in texts(at)
    at.selectbox(key="explorer_page_size").select(25).run()
    assert not at.exception, at.exception
    assert len(frame_with(at, "id", "campaign_id")) == 25
    assert "Rows 1–25 of" in texts(at), "a new page size starts again at page 1"
    assert at.button(key="explorer_prev").disabled


def test_a_dba_previews_every_row_of_a_table_with_rls(app_db: Any) -> None:
    at = open_table(app_db, "dba", "public", "messages")
    rows = frame_with(at, "id", "conversation_id")
    assert len(rows) == 100, "a DBA sees the rows RLS hides from the API's users"
