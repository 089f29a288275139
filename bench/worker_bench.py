"""Throughput of the scheduled-run workers: N queued occurrences of `select 1` on the demo connection, run by 1 then
2 `dba-admin worker` processes (each its own process and pool, as on two machines), runs per second.

    PYTHONPATH=. .venv/bin/python bench/worker_bench.py [--runs 300] [--concurrency 4]

A throwaway embedded server (demo loaded) is prepared by the app's own bootstrap. Each round: the workers start and
register, then every occurrence row is inserted and its job deferred in one batch; the clock runs from the batch to
the last occurrence done. Every run is a real recorded run (history row, audit row, the owner's RLS checks).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from benchlib import throwaway_server

ROOT = Path(__file__).resolve().parent.parent
OWNERS = 16  # one owner's scheduled runs never overlap (the job's lock: his cap of concurrent runs), so 16 owners
SCHEDULES_EACH = 3


def _wait(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4, help="jobs at once per worker")
    args = parser.parse_args()

    from dba_admin.auth import UserStore
    from dba_admin.config import Settings
    from dba_admin.jobs.schedules import Occurrence, ScheduleManager
    from dba_admin.jobs.worker import RUN_TASK, build_app
    from dba_admin.services import Services

    with throwaway_server("dba-admin-worker-bench-", fast=True) as (data_dir, _dsn):
        settings = Settings(data_dir=data_dir, load_demo=True)
        services = Services.build(settings)
        manager = ScheduleManager(services.db)
        schedules: list[Occurrence] = []  # (schedule, owner) as the tick would give them, due times added below
        for n in range(OWNERS):
            with psycopg.connect(services.dsn, autocommit=True) as conn:
                user, _ = UserStore(conn).create_user(
                    actor="bench",
                    username=f"bench{n}",
                    email=f"bench{n}@example.com",
                    role="analyst",
                    password="bench-password-1",  # noqa: S106 - a throwaway server
                )
            project = services.projects.create_project(user.claims, "bench")
            script = services.projects.create_script(user.claims, project.id, "one", "select 1")
            for _ in range(SCHEDULES_EACH):
                made = manager.create(user.claims, script.id, "demo", "0 0 1 1 *")
                schedules.append(Occurrence(made.id, datetime.min, user.id))
        jobs = build_app(services, tick_cron="0 0 1 1 *")
        env = dict(os.environ, DBA_ADMIN_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT))
        env.pop("DATABASE_URL", None)
        base = datetime(2031, 1, 1, tzinfo=UTC)
        print(
            f"{args.runs} runs of `select 1` on connection demo, {len(schedules)} schedules of {OWNERS} owners,"
            f" concurrency {args.concurrency} per worker"
        )
        print(f"{'workers':>8} {'seconds':>8} {'runs/s':>8}")
        for round_no, workers in enumerate((1, 2)):
            processes = [
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "dba_admin.cli",
                        "worker",
                        "--name",
                        f"bench{i}",
                        "--concurrency",
                        str(args.concurrency),
                        "--tick",
                        "0 0 1 1 *",
                    ],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for i in range(workers)
            ]
            try:
                with psycopg.connect(services.dsn, autocommit=True) as conn:

                    def registered(conn: psycopg.Connection = conn, n: int = workers) -> bool:
                        row = conn.execute("select count(*) from dba_admin_jobs.procrastinate_workers").fetchone()
                        return row is not None and row[0] >= n

                    _wait(registered, 60, "the workers to start")
                    occurrences = [
                        Occurrence(
                            schedules[i % len(schedules)].schedule_id,
                            base + timedelta(days=round_no, minutes=i),
                            schedules[i % len(schedules)].owner_id,
                        )
                        for i in range(args.runs)
                    ]
                    started = time.perf_counter()
                    with conn.cursor() as cur:
                        cur.executemany(
                            "insert into public.agendamentos_ocorrencias (agendamento_id, previsto_para)"
                            " values (%s, %s)",
                            [(o.schedule_id, o.due_at) for o in occurrences],
                        )

                    async def defer_all(batch: list[Occurrence] = occurrences) -> None:
                        async with jobs.app.open_async():
                            task = jobs.app.tasks[RUN_TASK]
                            for o in batch:  # each with its owner's lock, as the tick defers them
                                await task.configure(lock=o.lock).defer_async(
                                    schedule_id=str(o.schedule_id), due_at=o.due_at.isoformat()
                                )

                    asyncio.run(defer_all())

                    def finished(
                        conn: psycopg.Connection = conn, day: datetime = base + timedelta(days=round_no)
                    ) -> bool:
                        row = conn.execute(
                            "select count(*) from public.agendamentos_ocorrencias where status <> 'done'"
                            " and previsto_para >= %s",
                            (day,),
                        ).fetchone()
                        return row == (0,)

                    _wait(finished, 600, "the runs")
                    elapsed = time.perf_counter() - started
                    statuses = conn.execute(
                        "select e.status, count(*) from public.agendamentos_ocorrencias o"
                        " join public.execucoes_scripts e on e.id = o.execucao_id"
                        " where o.previsto_para >= %s group by 1",
                        (base + timedelta(days=round_no),),
                    ).fetchall()
                    assert dict(statuses) == {"success": args.runs}, statuses
                    print(f"{workers:>8} {elapsed:>8.2f} {args.runs / elapsed:>8.1f}", flush=True)
            finally:
                for process in processes:
                    process.send_signal(signal.SIGTERM)
                for process in processes:
                    try:
                        process.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait()
        services.close()
        print(f"({os.cpu_count()} CPUs; workers and the server share them)")


if __name__ == "__main__":
    main()
