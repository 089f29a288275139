"""Real procrastinate workers against the suite's real server: two of them and a schedule every minute give exactly one
run per minute (a clock that makes a minute pass in three seconds), a second job for one occurrence runs nothing, and
`dba-admin worker` starts, registers, and stops cleanly on SIGTERM.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from apptest_helpers import claims_of, make_user
from psycopg.rows import dict_row

from dba_admin.jobs.schedules import Occurrence, ScheduleManager
from dba_admin.jobs.schema import JOBS_SCHEMA
from dba_admin.jobs.worker import build_app, start_in_thread
from dba_admin.rls import UserClaims
from dba_admin.services import Services

SPEED = 20.0  # virtual seconds per real second: one minute every three seconds
EVERY_SECOND = "* * * * * *"  # the tick, every second (croniter's sixth field is the second)


class FastClock:
    """Virtual time that starts now and runs ``SPEED`` times faster than the wall clock."""

    def __init__(self) -> None:
        self.start = datetime.now(UTC)
        self._real = time.monotonic()
        self.frozen: datetime | None = None

    def __call__(self) -> datetime:
        if self.frozen is not None:
            return self.frozen
        return self.start + timedelta(seconds=(time.monotonic() - self._real) * SPEED)

    def freeze(self) -> None:
        """Time stops: no new due time from here on."""
        self.frozen = self()


@pytest.fixture(scope="module")
def services(app_db: Any) -> Iterator[Services]:
    built = Services.build(app_db.settings)
    yield built
    built.close()


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def scheduled_script(app_db: Any, services: Services) -> tuple[UserClaims, uuid.UUID]:
    username, _ = make_user(app_db.dsn, "analyst")
    claims = claims_of(app_db.dsn, username)
    project = services.projects.create_project(claims, f"worker-{uuid.uuid4().hex[:8]}")
    return claims, services.projects.create_script(claims, project.id, "every minute", "select 1 as one").id


def occurrences(app_db: Any, schedule_id: uuid.UUID) -> list[dict[str, Any]]:
    with psycopg.connect(app_db.dsn, row_factory=dict_row) as conn:
        return conn.execute(
            "select previsto_para, status, resultado, execucao_id from public.agendamentos_ocorrencias"
            " where agendamento_id = %s order by previsto_para",
            (schedule_id,),
        ).fetchall()


def runs_of(app_db: Any, script_id: uuid.UUID) -> list[dict[str, Any]]:
    with psycopg.connect(app_db.dsn, row_factory=dict_row) as conn:
        return conn.execute(
            "select id, status, origem from public.execucoes_scripts where script_id = %s order by id", (script_id,)
        ).fetchall()


def test_two_workers_and_a_schedule_every_minute_give_exactly_one_run_per_minute(
    app_db: Any, services: Services
) -> None:
    claims, script_id = scheduled_script(app_db, services)
    clock = FastClock()
    manager = ScheduleManager(services.db)
    # Three schedules of one owner, due together every minute: more than his cap of concurrent runs (2), so they must
    # take turns (the owner's job lock) instead of being refused.
    schedules = [manager.create(claims, script_id, "demo", "* * * * *") for _ in range(3)]
    # Two workers as two machines would run them: each its own App, connection pool and event loop; they share only
    # the database. Both run the periodic tick every second; both take run jobs.
    workers = [
        start_in_thread(build_app(services, tick_cron=EVERY_SECOND, clock=clock), name=f"w{i}", concurrency=2)
        for i in (1, 2)
    ]
    try:
        for worker in workers:
            assert worker.ready.wait(15) and not worker.errors, worker.errors
        wait_for(lambda: clock() > clock.start + timedelta(minutes=5, seconds=20), 30, "five virtual minutes")
        clock.freeze()  # no new occurrence from here on; let the queued ones finish
        wait_for(
            lambda: all(o["status"] == "done" for s in schedules for o in occurrences(app_db, s.id)),
            20,
            "the last runs to finish",
        )
    finally:
        for worker in workers:
            worker.stop()
    assert not any(w.errors for w in workers)

    found = [occurrences(app_db, s.id) for s in schedules]
    for each in found:
        due = [o["previsto_para"] for o in each]
        assert len(due) >= 5
        assert all(later - earlier == timedelta(minutes=1) for earlier, later in itertools.pairwise(due))
        assert all(d.second == 0 and d.microsecond == 0 for d in due)
    runs = runs_of(app_db, script_id)
    assert len(runs) == sum(len(each) for each in found)  # one run per minute and schedule: none missing, none twice
    assert sorted(o["execucao_id"] for each in found for o in each) == [r["id"] for r in runs]
    assert {(r["status"], r["origem"]) for r in runs} == {("success", "scheduled")}
    # The owner's history (under RLS, as the pages read it) says a worker ran them.
    assert {run.origin for run in services.projects.history(claims, script_id=script_id)} == {"scheduled"}


def test_a_second_job_for_one_occurrence_runs_nothing(app_db: Any, services: Services) -> None:
    claims, script_id = scheduled_script(app_db, services)
    schedule = ScheduleManager(services.db).create(claims, script_id, "demo", "0 0 1 1 *")
    due = datetime(2030, 1, 1, tzinfo=UTC)
    with psycopg.connect(app_db.dsn, autocommit=True) as conn:
        conn.execute(
            "insert into public.agendamentos_ocorrencias (agendamento_id, previsto_para) values (%s, %s)",
            (schedule.id, due),
        )
    jobs = build_app(services, tick_cron="0 0 1 1 *")
    occurrence = Occurrence(schedule.id, due)

    async def defer_twice() -> None:
        async with jobs.app.open_async():
            for _ in range(2):  # as a retried tick or a re-queued orphan would
                await jobs.app.tasks["dba_admin.schedules.run"].defer_async(
                    schedule_id=str(occurrence.schedule_id), due_at=occurrence.due_at.isoformat()
                )

    import asyncio

    asyncio.run(defer_twice())
    worker = start_in_thread(build_app(services, tick_cron="0 0 1 1 *"), name="single", concurrency=2)
    try:
        wait_for(lambda: occurrences(app_db, schedule.id)[0]["status"] == "done", 20, "the occurrence to run")
        with psycopg.connect(app_db.dsn) as conn:
            wait_for(
                lambda: (
                    conn.execute(
                        "select count(*) from dba_admin_jobs.procrastinate_jobs where status in ('todo', 'doing')"
                        " and task_name = 'dba_admin.schedules.run' and args ->> 'schedule_id' = %s",
                        (str(schedule.id),),
                    ).fetchone()
                    == (0,)
                ),
                20,
                "both jobs to be done",
            )
    finally:
        worker.stop()
    assert len(runs_of(app_db, script_id)) == 1


def test_dba_admin_worker_registers_and_stops_cleanly_on_sigterm(app_db: Any) -> None:
    env = dict(os.environ, DBA_ADMIN_DATA_DIR=str(app_db.settings.data_dir))
    env.pop("DATABASE_URL", None)
    name = f"cli-{uuid.uuid4().hex[:6]}"
    process = subprocess.Popen(
        [sys.executable, "-m", "dba_admin.cli", "worker", "--name", name, "--concurrency", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with psycopg.connect(app_db.dsn, autocommit=True) as conn:

            def registered() -> bool:
                assert process.poll() is None, process.communicate()[0]
                row = conn.execute(f"select count(*) from {JOBS_SCHEMA}.procrastinate_workers").fetchone()
                return row is not None and row[0] > 0

            wait_for(registered, 30, "the worker to register")
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output
    assert "stopped" in output
