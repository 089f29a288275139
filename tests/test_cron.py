"""pg_cron on the suite's real server: the test cluster preloads it for the demo database (local_pg), and the demo
preparation creates it there with its maintenance jobs. Run history is planted in cron.job_run_details as the
superuser: pg_cron 1.4 (Debian's) schedules by the minute only, and the tests do not wait for its scheduler.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from conftest import scratch_database
from db_helpers import scratch_connection, user
from psycopg import sql
from psycopg.rows import dict_row

from dba_admin import cron
from dba_admin.database import DatabaseManager
from dba_admin.demo import DEMO_CRON_JOBS
from dba_admin.errors import NotFound, PermissionDenied
from dba_admin.local_pg import DBA_ROLE, DEMO_DATABASE
from dba_admin.projects import ProjectManager

NEVER = "0 0 31 2 *"  # February 31st: a valid schedule that never fires during a test


@pytest.fixture(scope="module", autouse=True)
def needs_pg_cron(app_db: Any) -> None:
    if not app_db.server.binaries.has_pg_cron:
        pytest.skip("pg_cron is not installed (tools/check.py installs postgresql-NN-cron)")


@pytest.fixture
def superuser(app_db: Any) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(app_db.demo_dsn, autocommit=True, row_factory=dict_row) as conn:
        yield conn


@pytest.fixture
def as_dba(app_db: Any) -> Iterator[psycopg.Connection[Any]]:
    """The demo's DBA login: jobs it schedules are its own (cron.job is row-level secured by username)."""
    with psycopg.connect(app_db.demo_dba_dsn, autocommit=True, row_factory=dict_row) as conn:
        yield conn


@pytest.fixture
def jobs(as_dba: psycopg.Connection[Any], superuser: psycopg.Connection[Any]) -> Iterator[dict[str, int]]:
    """Three jobs of the DBA login, unscheduled (with their planted runs) at the end."""
    made: dict[str, int] = {}

    def schedule(label: str, command: str) -> None:
        name = f"t-{label}-{uuid.uuid4().hex[:8]}"
        row = as_dba.execute("select cron.schedule(%s, %s, %s) as id", (name, NEVER, command)).fetchone()
        assert row is not None
        made[label] = int(row["id"])

    schedule("ok", "select 1")
    schedule("fails", "select 1/0")
    schedule("quiet", "select 2")
    yield made
    for jobid in made.values():
        superuser.execute("delete from cron.job_run_details where jobid = %s", (jobid,))
        superuser.execute("select cron.unschedule(%s)", (jobid,))


def plant(conn: psycopg.Connection[Any], jobid: int, status: str, seconds: float, message: str) -> None:
    """A finished run, as pg_cron's scheduler would record it (newest planted last)."""
    conn.execute(
        "insert into cron.job_run_details (jobid, job_pid, database, username, command, status, return_message,"
        " start_time, end_time)"
        " select j.jobid, 4242, j.database, j.username, j.command, %s, %s,"
        "        now() - make_interval(secs => %s), now()"
        " from cron.job j where j.jobid = %s",
        (status, message, seconds, jobid),
    )


def test_demo_database_has_pg_cron_with_its_maintenance_jobs(db: DatabaseManager) -> None:
    overview = cron.cron_overview(db)
    status = overview.status
    assert status.ready and status.problem is None, status
    assert status.database == DEMO_DATABASE and status.scheduler_database == DEMO_DATABASE
    assert status.installed_version and status.login == DBA_ROLE
    demo = {j.jobname: j for j in overview.jobs if j.jobname in {name for name, *_ in DEMO_CRON_JOBS}}
    assert set(demo) == {name for name, *_ in DEMO_CRON_JOBS}
    for name, schedule, command, active in DEMO_CRON_JOBS:
        job = demo[name]
        assert (job.schedule, job.command, job.active, job.username, job.database) == (
            schedule,
            command,
            active,
            DBA_ROLE,
            DEMO_DATABASE,
        )


def test_last_run_and_failures_among_the_last_runs(
    db: DatabaseManager, jobs: dict[str, int], superuser: psycopg.Connection[Any]
) -> None:
    plant(superuser, jobs["ok"], "succeeded", 0.5, "SELECT 1")
    plant(superuser, jobs["fails"], "succeeded", 0.2, "SELECT 1")
    plant(superuser, jobs["fails"], "failed", 0.1, "ERROR:  division by zero")
    plant(superuser, jobs["fails"], "failed", 0.3, "ERROR:  division by zero")

    overview = cron.cron_overview(db, window=10)
    by_id = {j.jobid: j for j in overview.jobs}
    ok, fails, quiet = by_id[jobs["ok"]], by_id[jobs["fails"]], by_id[jobs["quiet"]]
    assert (ok.last_status, ok.recent_runs, ok.recent_failures, ok.last_failed) == ("succeeded", 1, 0, False)
    assert (fails.last_status, fails.recent_runs, fails.recent_failures, fails.last_failed) == ("failed", 3, 2, True)
    assert fails.last_message == "ERROR:  division by zero" and fails.last_seconds == pytest.approx(0.3, abs=0.05)
    assert (quiet.last_status, quiet.recent_runs, quiet.last_start) == (None, 0, None)  # never ran
    # the window counts the last runs only
    assert cron.cron_overview(db, window=1).job(jobs["fails"]).recent_failures == 1  # type: ignore[union-attr]

    runs = cron.job_runs(db, jobs["fails"])
    assert [r.status for r in runs] == ["failed", "failed", "succeeded"]  # newest first
    assert all(r.command == "select 1/0" for r in runs)
    assert {r.jobid for r in overview.runs} >= {jobs["ok"], jobs["fails"]}
    frame = cron.runs_frame(overview.runs, overview.jobs)
    assert set(frame.loc[frame["jobid"] == jobs["fails"], "status"]) == {"failed", "succeeded"}
    assert cron.jobs_frame(overview.jobs)["recent_failures"].max() >= 2
    with pytest.raises(ValueError):
        cron.cron_overview(db, window=0)


def test_disable_then_enable_through_the_guarded_path(
    db: DatabaseManager, pm: ProjectManager, jobs: dict[str, int], superuser: psycopg.Connection[Any], app_db: Any
) -> None:
    dba = user("dba", "dba")
    jobid = jobs["ok"]
    action = cron.toggle_action(db, jobid, False)
    assert "cron.alter_job" in action.sql and "false" in action.sql.lower()

    off = cron.set_job_active(pm, dba, db, jobid, False)
    assert off.ok, off.error
    assert superuser.execute("select active from cron.job where jobid = %s", (jobid,)).fetchone() == {"active": False}
    on = cron.set_job_active(pm, dba, db, jobid, True)
    assert on.ok, on.error
    assert superuser.execute("select active from cron.job where jobid = %s", (jobid,)).fetchone() == {"active": True}

    # recorded in the DBA's history and audited like any DBA run
    history = pm.history(dba, mine_only=True)
    assert [h.sql for h in history] == [on.execution.sql, off.execution.sql]  # type: ignore[union-attr]
    assert all("cron.alter_job" in h.sql and h.status == "success" for h in history)
    with psycopg.connect(app_db.dsn) as conn:
        audited = conn.execute(
            "select count(*) from dba_admin.audit_log where action = 'sql.run' and target = any(%s)",
            ([f"execution:{h.id}" for h in history],),
        ).fetchone()
    assert audited == (2,)


def test_run_now_runs_the_command_recorded_and_audited(
    db: DatabaseManager, pm: ProjectManager, as_dba: psycopg.Connection[Any], superuser: psycopg.Connection[Any]
) -> None:
    table = f'cron "odd" {uuid.uuid4().hex[:6]}'  # a name with quotes and a space
    ident = sql.Identifier("public", table).as_string(as_dba)
    as_dba.execute(f"create table {ident} (n int)")
    insert = f"insert into {ident} values (7)"
    wipe = f"delete from {ident}"
    made = []
    try:
        for label, command in (("insert", insert), ("wipe", wipe)):
            row = as_dba.execute("select cron.schedule(%s, %s, %s) as id", (f"t-{label}", NEVER, command)).fetchone()
            assert row is not None
            made.append(int(row["id"]))
        dba = user("dba", "dba")
        outcome = cron.run_job_now(pm, dba, db, made[0])
        assert outcome.ok and outcome.execution is not None, outcome.error
        assert outcome.execution.sql == insert and outcome.execution.connection == "demo"
        assert as_dba.execute(f"select count(*) as n from {ident}").fetchone() == {"n": 1}
        action = cron.run_now_action(db, made[0])
        assert action.sql == insert and any("job_run_details" in note for note in action.notes)

        # a destructive command asks first: nothing runs until the DBA confirms
        asked = cron.run_job_now(pm, dba, db, made[1])
        assert asked.needs_confirmation and asked.execution is None and asked.destructive_reasons
        assert as_dba.execute(f"select count(*) as n from {ident}").fetchone() == {"n": 1}
        done = cron.run_job_now(pm, dba, db, made[1], confirm_destructive=True)
        assert done.ok
        assert as_dba.execute(f"select count(*) as n from {ident}").fetchone() == {"n": 0}
        assert {h.sql for h in pm.history(dba, mine_only=True)} == {insert, wipe}
    finally:
        for jobid in made:
            as_dba.execute("select cron.unschedule(%s)", (jobid,))
        as_dba.execute(f"drop table {ident}")


def test_non_dba_is_refused_and_nothing_changes(
    db: DatabaseManager, pm: ProjectManager, jobs: dict[str, int], superuser: psycopg.Connection[Any]
) -> None:
    for role in ("analyst", "viewer"):
        claims = user(role, role)
        with pytest.raises(PermissionDenied):
            cron.set_job_active(pm, claims, db, jobs["ok"], False)
        with pytest.raises(PermissionDenied):
            cron.run_job_now(pm, claims, db, jobs["ok"])
        assert pm.history(claims, mine_only=True) == []
    assert superuser.execute("select active from cron.job where jobid = %s", (jobs["ok"],)).fetchone() == {
        "active": True
    }


def test_job_of_another_login_is_not_shown_nor_changed(
    db: DatabaseManager, pm: ProjectManager, superuser: psycopg.Connection[Any]
) -> None:
    row = superuser.execute("select cron.schedule(%s, %s, 'select 3') as id", (f"t-su-{uuid.uuid4().hex[:6]}", NEVER))
    jobid = int(row.fetchone()["id"])  # type: ignore[index]
    try:
        overview = cron.cron_overview(db)
        assert jobid not in {j.jobid for j in overview.jobs}
        with pytest.raises(NotFound, match="another login"):
            cron.set_job_active(pm, user("dba", "dba"), db, jobid, False)
    finally:
        superuser.execute("select cron.unschedule(%s)", (jobid,))


def test_database_without_pg_cron_explains_how_to_enable_it(app_db: Any) -> None:
    with scratch_database(app_db.server.dsn(), "nocron") as dsn, scratch_connection(app_db, dsn) as other:
        overview = cron.cron_overview(other)
        status = overview.status
        assert not status.ready and overview.jobs == () and overview.runs == ()
        assert status.installed_version is None and status.scheduler_database == DEMO_DATABASE
        assert f"runs in database {DEMO_DATABASE}" in (status.problem or "")
        assert any("cron.database_name" in step for step in status.steps)
        with pytest.raises(NotFound):
            cron.run_job_now(ProjectManager(other), user("dba", "dba"), other, 1)


@pytest.mark.parametrize(
    ("available", "scheduler", "expected"),
    [
        (False, None, ("not installed on this server", "shared_preload_libraries")),
        (True, None, ("not preloaded", "shared_preload_libraries")),
        (True, "here", ("not created", "CREATE EXTENSION pg_cron")),
    ],
)
def test_each_missing_piece_is_named_with_its_fix(
    available: bool, scheduler: str | None, expected: tuple[str, str]
) -> None:
    status = cron._explain(
        {
            "database": "here",
            "login": "me",
            "available": available,
            "installed_version": None,
            "scheduler_database": scheduler,
            "sees_all": False,
            "has_usage": None,
        }
    )
    problem, step = expected
    assert not status.ready and problem in (status.problem or "")
    assert any(step in s for s in status.steps)
