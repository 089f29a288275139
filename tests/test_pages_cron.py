"""The Cron jobs page through AppTest (from app.py, real login, the suite's real server with pg_cron preloaded for the
demo database): jobs listed, a failed last run highlighted, enable/disable asks first then acts, the empty state on a
database without pg_cron, and analysts refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from apptest_helpers import extra_connection, logged_in_page, switch_connection, texts
from psycopg.rows import dict_row

from dba_admin.demo import DEMO_CRON_JOBS

CRON = "pages/cron.py"
NEVER = "0 0 31 2 *"


@pytest.fixture(autouse=True)
def _app_env(app_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    if not app_db.server.binaries.has_pg_cron:
        pytest.skip("pg_cron is not installed (tools/check.py installs postgresql-NN-cron)")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))


@pytest.fixture
def failing_job(app_db: Any) -> Iterator[tuple[int, str]]:
    """A job of the demo's DBA login whose last run failed (planted as pg_cron's scheduler records it)."""
    name = f"t-page-fails-{uuid.uuid4().hex[:6]}"
    with psycopg.connect(app_db.demo_dba_dsn, autocommit=True, row_factory=dict_row) as conn:
        row = conn.execute("select cron.schedule(%s, %s, 'select 1/0') as id", (name, NEVER)).fetchone()
    assert row is not None
    jobid = int(row["id"])
    with psycopg.connect(app_db.demo_dsn, autocommit=True) as su:
        su.execute(
            "insert into cron.job_run_details (jobid, job_pid, database, username, command, status, return_message,"
            " start_time, end_time) select jobid, 1, database, username, command, 'failed', 'ERROR:  division by zero',"
            " now() - interval '2 seconds', now() - interval '1 second' from cron.job where jobid = %s",
            (jobid,),
        )
    yield jobid, name
    with psycopg.connect(app_db.demo_dsn, autocommit=True) as su:
        su.execute("delete from cron.job_run_details where jobid = %s", (jobid,))
        su.execute("select cron.unschedule(%s)", (jobid,))


def active(app_db: Any, jobid: int) -> bool:
    with psycopg.connect(app_db.demo_dsn) as conn:
        row = conn.execute("select active from cron.job where jobid = %s", (jobid,)).fetchone()
    assert row is not None
    return bool(row[0])


def test_jobs_listed_with_a_failed_last_run_highlighted(app_db: Any, failing_job: tuple[int, str]) -> None:
    jobid, name = failing_job
    at, _ = logged_in_page(app_db.dsn, CRON, "dba")
    at.button(key="cron_refresh").click().run()  # the list is cached for a few seconds; Refresh reads it now
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert {n for n, *_ in DEMO_CRON_JOBS} | {name} <= set(table["jobname"])
    mine = table.loc[table["jobid"] == jobid].iloc[0]
    assert (mine["last_status"], mine["recent_failures"], mine["command"]) == ("failed", 1, "select 1/0")
    assert f"Last run failed: #{jobid} {name}" in texts(at)
    # the job's detail shows its runs with the error message
    at.selectbox(key="cron_job").select(jobid).run()
    assert not at.exception, at.exception
    runs = at.dataframe[-1].value
    assert list(runs["return_message"]) == ["ERROR:  division by zero"]


def test_disable_asks_first_then_enable_again(app_db: Any, failing_job: tuple[int, str]) -> None:
    jobid, _ = failing_job
    at, _ = logged_in_page(app_db.dsn, CRON, "dba")
    at.button(key="cron_refresh").click().run()
    at.selectbox(key="cron_job").select(jobid).run()
    at.button(key="cron_toggle").click().run()
    assert not at.exception, at.exception
    shown = "\n".join(c.value for c in at.code)
    assert f"cron.alter_job(job_id := {jobid}, active := false)" in shown
    assert active(app_db, jobid)  # nothing happened yet
    at.button(key="cron_back").click().run()
    assert active(app_db, jobid)

    at.button(key="cron_toggle").click().run()
    at.button(key="cron_confirm").click().run()
    assert not at.exception, at.exception
    assert not active(app_db, jobid)
    assert "recorded in your run history and the audit log" in texts(at)
    assert at.button(key="cron_toggle").label == "Enable…"

    at.button(key="cron_toggle").click().run()
    at.button(key="cron_confirm").click().run()
    assert active(app_db, jobid)


def test_empty_state_without_pg_cron_says_how_to_enable_it(app_db: Any) -> None:
    with extra_connection(app_db, roles=("admin", "dba")) as name:
        at, _ = logged_in_page(app_db.dsn, CRON, "dba")
        switch_connection(at, name, CRON)
        assert not at.exception, at.exception
        shown = texts(at)
        assert "pg_cron runs in database petcare" in shown
        assert "cron.database_name" in shown
        assert not at.dataframe


def test_analysts_are_refused(app_db: Any) -> None:
    at, _ = logged_in_page(app_db.dsn, CRON, "analyst")
    assert "needs the role admin, dba" in texts(at)
    assert not at.dataframe
