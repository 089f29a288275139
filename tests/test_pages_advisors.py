"""The Advisors page through AppTest (from app.py, real login, the demo database), and the dashboard's growth
charts (ui/growth_charts.py) on a fresh database with 0, 1 and 2 snapshots.

The demo leaves ``public.campaign_recipients`` without RLS on purpose, so a DBA opening the page must see that
ERROR with the SQL that fixes it — shown, copyable, openable in the editor, never applied.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from apptest_helpers import as_read, logged_in_page, texts
from streamlit.testing.v1 import AppTest

from dba_admin import advisors
from dba_admin.config import Settings
from dba_admin.database import DatabaseManager
from dba_admin.migrations import prepare_schema

PAGE = "pages/advisors.py"
RLS_KEY = "rls_disabled_in_exposed_schema_public_campaign_recipients"
RLS_FIX = (
    "ALTER TABLE public.campaign_recipients ENABLE ROW LEVEL SECURITY;\n"
    'CREATE POLICY "deny API access until policies are written" ON public.campaign_recipients AS PERMISSIVE'
    " FOR ALL TO public USING (false) WITH CHECK (false);"
)


@pytest.fixture(autouse=True)
def _app_env(app_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))


@pytest.fixture
def unmuted_afterwards(app_db: Any) -> Iterator[None]:
    """The demo database is shared by the session: leave no mute behind, whatever the test did."""
    yield
    with psycopg.connect(app_db.dsn, autocommit=True) as conn:
        conn.execute("delete from dba_admin.muted_findings where cache_key = %s", (RLS_KEY,))


def advisors_page(app_db: Any, role: str = "dba") -> tuple[AppTest, str]:
    return logged_in_page(app_db.dsn, PAGE, role)


def metric(at: AppTest, label: str) -> int:
    return int(next(m for m in at.metric if m.label == label).value)


def expander_labels(at: AppTest) -> list[str]:
    return [as_read(e.label) for e in at.expander]  # labels render Markdown: the page escapes catalog names


def rls_enabled(app_db: Any) -> bool:
    with psycopg.connect(app_db.demo_dsn) as conn:
        row = conn.execute("select relrowsecurity from pg_class where oid = 'public.campaign_recipients'::regclass")
        return bool(row.fetchone()[0])  # type: ignore[index]


def test_dba_sees_the_findings_grouped_with_counts_and_the_fix(app_db: Any) -> None:
    at, _ = advisors_page(app_db)
    assert metric(at, "ERROR") >= 1
    assert metric(at, "WARN") + metric(at, "INFO") >= 1
    assert metric(at, "Checks not run") == 0
    shown = texts(at)
    assert "Errors ·" in shown and "**Security** ·" in shown
    label = "RLS disabled in an exposed schema — public.campaign_recipients"
    assert label in expander_labels(at)
    assert RLS_FIX in [c.value for c in at.code]
    assert "row level security is not enabled" in shown

    at.button(key=f"advisors_open_{RLS_KEY}").click().run()
    assert at.session_state["sql_editor_text"] == RLS_FIX
    assert not rls_enabled(app_db), "the fix is handed to the editor, never applied"


def test_filters_narrow_the_list(app_db: Any) -> None:
    at, _ = advisors_page(app_db)
    at.multiselect(key="advisors_categories").set_value(["PERFORMANCE"]).run()
    assert not at.exception
    labels = expander_labels(at)
    assert labels, "the demo has performance findings"
    assert not any(label.startswith("RLS disabled") for label in labels)
    at.multiselect(key="advisors_categories").set_value(["SECURITY"]).run()
    at.multiselect(key="advisors_levels").set_value(["INFO"]).run()
    assert not any("public.campaign_recipients" in label and "RLS" in label for label in expander_labels(at))
    assert metric(at, "ERROR") >= 1, "the counts at the top are of the whole report, not the filter"


def test_mute_with_a_reason_then_unmute(app_db: Any, unmuted_afterwards: None) -> None:
    at, username = advisors_page(app_db)
    errors = metric(at, "ERROR")

    at.button(key=f"advisors_mute_{RLS_KEY}").click().run()
    assert "Say why it is muted" in texts(at), "a mute needs a reason"
    assert metric(at, "Muted") == 0

    at.text_input(key=f"advisors_reason_{RLS_KEY}").input("campaign data is only read by the service role")
    at.button(key=f"advisors_mute_{RLS_KEY}").click().run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert "Muted: RLS disabled in an exposed schema" in shown
    assert metric(at, "ERROR") == errors - 1
    assert metric(at, "Muted") == 1
    assert "Muted · 1" in shown and "campaign data is only read by the service role" in shown
    with psycopg.connect(app_db.dsn) as conn:
        audited = conn.execute(
            "select count(*) from dba_admin.audit_log where actor = %s and action = 'advisor.mute' and target = %s",
            (username, RLS_KEY),
        ).fetchone()
    assert audited == (1,)

    at.toggle(key="advisors_show_muted").set_value(False).run()
    assert "1 muted finding(s) hidden" in texts(at)
    at.toggle(key="advisors_show_muted").set_value(True).run()

    at.button(key=f"advisors_unmute_{RLS_KEY}").click().run()
    assert not at.exception, at.exception
    assert "Unmuted: RLS disabled" in texts(at)
    assert metric(at, "ERROR") == errors and metric(at, "Muted") == 0
    with psycopg.connect(app_db.dsn) as conn:
        left = conn.execute("select count(*) from dba_admin.muted_findings where cache_key = %s", (RLS_KEY,))
        assert left.fetchone() == (0,)
        audited = conn.execute(
            "select count(*) from dba_admin.audit_log where actor = %s and action = 'advisor.unmute'", (username,)
        ).fetchone()
    assert audited == (1,)


def test_run_checks_again(app_db: Any) -> None:
    at, _ = advisors_page(app_db, "admin")
    at.button(key="advisors_run").click().run()
    assert not at.exception
    assert metric(at, "ERROR") >= 1


def test_analyst_gets_the_role_message(app_db: Any) -> None:
    at, _ = advisors_page(app_db, "analyst")
    assert "needs the role admin, dba" in texts(at)
    assert not at.metric and not at.expander, "nothing of the page is shown"


# ---------------------------------------------------------------------------------------------------
# The dashboard's growth charts
# ---------------------------------------------------------------------------------------------------


def _growth(dsn: str, take: bool) -> None:
    """A stand-in for the dashboard: the growth block on a DatabaseManager of its own."""
    from dba_admin.config import Settings
    from dba_admin.database import DatabaseManager
    from ui.growth_charts import render_growth_charts

    db = DatabaseManager(Settings(database_url=dsn, load_demo=False), dsn)
    try:
        render_growth_charts(db, actor="apptest", take_snapshot=take)
    finally:
        db.close()


def growth(dsn: str, *, take: bool) -> AppTest:
    at = AppTest.from_function(_growth, args=(dsn, take), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def charts(at: AppTest) -> int:
    return len(at.get("plotly_chart"))


def test_growth_charts_with_zero_one_and_two_snapshots(empty_db_dsn: str) -> None:
    with psycopg.connect(empty_db_dsn, autocommit=True) as conn:
        prepare_schema(conn)
        conn.execute(
            "create table public.growing (id int primary key, v text);"
            " insert into public.growing select g, md5(g::text) from generate_series(1, 500) g; analyze public.growing"
        )

    none = growth(empty_db_dsn, take=False)
    assert "No snapshot yet" in texts(none)
    assert charts(none) == 0

    one = growth(empty_db_dsn, take=True)
    shown = texts(one)
    assert "Snapshot taken now" in shown
    assert "One snapshot so far — growth appears after the next one" in shown and "dba-admin snapshot" in shown
    assert "Statement time needs two snapshots" in shown
    assert charts(one) == 1, "the biggest tables as bars"

    with psycopg.connect(empty_db_dsn, autocommit=True) as conn:
        conn.execute("insert into public.growing select g, md5(g::text) from generate_series(501, 5000) g")
        for i in range(20):
            conn.execute("select v from public.growing where id = %s", (i,))
    manager = DatabaseManager(Settings(database_url=empty_db_dsn, load_demo=False), empty_db_dsn)
    try:
        advisors.take_snapshot(manager, actor="test")
    finally:
        manager.close()

    two = growth(empty_db_dsn, take=True)
    shown = texts(two)
    assert "Snapshot taken now" not in shown, "the last snapshot is fresh: none is due"
    assert "One snapshot so far" not in shown
    # database size and biggest tables over time, and statement time (pg_stat_statements runs in the suite's server)
    assert charts(two) == 3
    assert any(m.label == "Database size now" for m in two.metric)
