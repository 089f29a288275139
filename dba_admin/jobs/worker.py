"""The procrastinate App of the scheduled runs, its two tasks, and the worker loop behind `dba-admin worker`.

* ``tick`` is a periodic task: every worker runs procrastinate's periodic deferrer, and the database lets one job
  per tick time through (procrastinate_periodic_defers is unique per task and timestamp; the queueing lock keeps at
  most one tick waiting). It asks the Scheduler for the occurrences due since the last look and defers one
  ``run_schedule`` job per new occurrence.
* ``alerts`` is a periodic task too (once a minute by default): the alert engine evaluates every enabled rule; a
  scheduled run's result is judged as it ends, by the engine hooked into the Scheduler.
* ``run_schedule`` runs one occurrence (a sync task: procrastinate runs it in a thread, so ``concurrency`` jobs run
  at once per worker). Its ``lock`` is the owner: one owner's scheduled runs never overlap on any worker (they stay
  within his cap of concurrent runs, and one owner's many schedules cannot take every worker).

Any number of workers on any number of machines share one workspace database and nothing else.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import procrastinate
from procrastinate.worker import Worker

from dba_admin.jobs.alerts import AlertEngine
from dba_admin.jobs.schedules import Occurrence, ScheduledRun, Scheduler
from dba_admin.jobs.schema import job_conninfo

if TYPE_CHECKING:
    from dba_admin.services import Services

QUEUE = "schedules"
TICK_TASK = "dba_admin.schedules.tick"
RUN_TASK = "dba_admin.schedules.run"
ALERTS_TASK = "dba_admin.alerts.evaluate"
DEFAULT_ALERTS_CRON = "* * * * *"  # rules are judged over windows of minutes: once a minute is soon enough
# Every 15 seconds (croniter's sixth field is the second): a due run starts within about 15 s of its minute.
DEFAULT_TICK_CRON = "* * * * * */15"
DEFAULT_CONCURRENCY = 4
# How often an idle worker asks for a job besides the NOTIFY of a new one: one owner's runs wait on each other (the
# job's lock) and a job freed that way sends no NOTIFY, so this is how soon the next one of his starts.
POLL_SECONDS = 1.0

_log = logging.getLogger(__name__)


@dataclass
class JobsApp:
    """A procrastinate App bound to a Scheduler (the tasks are closures over it: one per worker, testable)."""

    app: procrastinate.App
    scheduler: Scheduler
    tick_cron: str
    defer_run: Callable[[Occurrence], Any] = field(repr=False)


def build_app(
    services: Services,
    *,
    tick_cron: str = DEFAULT_TICK_CRON,
    alerts_cron: str = DEFAULT_ALERTS_CRON,
    clock: Callable[[], datetime] | None = None,
    pool_size: int = 4,
) -> JobsApp:
    """The App on the workspace database (owner login, search_path = the jobs schema) with its three tasks."""
    connector = procrastinate.PsycopgConnector(
        conninfo=job_conninfo(services.dsn), min_size=1, max_size=max(2, pool_size)
    )
    app = procrastinate.App(connector=connector, periodic_defaults={"max_delay": 120})
    now: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
    engine = AlertEngine(services)

    def judge(run: ScheduledRun) -> None:
        engine.on_scheduled_run(run, now())

    scheduler = Scheduler(services, clock=clock, after_run=[judge])

    @app.task(name=RUN_TASK, queue=QUEUE, pass_context=False)
    def run_schedule(schedule_id: str, due_at: str) -> str:
        """One occurrence, as its owner; returns what happened (kept on the job for whoever looks at the queue)."""
        run = scheduler.run_occurrence(Occurrence(uuid.UUID(schedule_id), datetime.fromisoformat(due_at)))
        return "not run" if run is None else f"{run.status} (execution {run.execution_id})"

    async def defer_run(occurrence: Occurrence) -> int:
        configured = run_schedule.configure(lock=occurrence.lock)
        job_id: int = await configured.defer_async(
            schedule_id=str(occurrence.schedule_id), due_at=occurrence.due_at.isoformat()
        )
        await asyncio.to_thread(scheduler.queued, occurrence, job_id)
        return job_id

    @app.periodic(cron=tick_cron, periodic_id="schedules")
    @app.task(name=TICK_TASK, queue=QUEUE, queueing_lock=TICK_TASK, pass_context=False)
    async def tick(timestamp: int) -> int:
        """Find the due occurrences and queue a run for each; returns how many were queued."""
        new = await asyncio.to_thread(scheduler.tick)
        new += await asyncio.to_thread(scheduler.orphans)
        for occurrence in new:
            await defer_run(occurrence)
        return len(new)

    @app.periodic(cron=alerts_cron, periodic_id="alerts")
    @app.task(name=ALERTS_TASK, queue=QUEUE, queueing_lock=ALERTS_TASK, pass_context=False)
    async def alerts(timestamp: int) -> int:
        """Evaluate every enabled alert rule once (one worker per minute); returns how many fired."""
        outcomes = await asyncio.to_thread(engine.evaluate, now())
        return sum(1 for outcome in outcomes if outcome.fired)

    return JobsApp(app=app, scheduler=scheduler, tick_cron=tick_cron, defer_run=defer_run)


@dataclass
class WorkerHandle:
    """A worker running in a thread of this process (tests and benchmarks): ``stop()`` ends it gracefully."""

    thread: threading.Thread
    ready: threading.Event
    _worker: list[Worker]
    errors: list[BaseException]

    def stop(self, timeout: float = 30.0) -> None:
        self.ready.wait(timeout)
        if self._worker:
            self._worker[0].stop()
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise RuntimeError("the worker did not stop in time")


def _worker(jobs: JobsApp, *, name: str, concurrency: int, install_signal_handlers: bool, **options: Any) -> Worker:
    return Worker(
        jobs.app,
        queues=[QUEUE],
        name=name,
        concurrency=concurrency,
        install_signal_handlers=install_signal_handlers,
        delete_jobs="successful",  # the occurrences and the history keep what happened; failed jobs stay to look at
        **{"fetch_job_polling_interval": POLL_SECONDS, **options},
    )


async def serve(
    jobs: JobsApp,
    *,
    name: str = "dba-admin",
    concurrency: int = DEFAULT_CONCURRENCY,
    install_signal_handlers: bool = True,
    started: Callable[[Worker], None] | None = None,
    **options: Any,
) -> None:
    """Run one worker until it is stopped (SIGTERM/SIGINT when ``install_signal_handlers``): running jobs finish
    first, within ``shutdown_graceful_timeout`` when given."""
    async with jobs.app.open_async():
        worker = _worker(
            jobs, name=name, concurrency=concurrency, install_signal_handlers=install_signal_handlers, **options
        )
        if started is not None:
            started(worker)
        await worker.run()


def start_in_thread(
    jobs: JobsApp, *, name: str, concurrency: int = DEFAULT_CONCURRENCY, **options: Any
) -> WorkerHandle:
    """A worker on its own event loop in a thread (signals stay with the main thread)."""
    ready = threading.Event()
    holder: list[Worker] = []
    errors: list[BaseException] = []

    def started(worker: Worker) -> None:
        holder.append(worker)
        ready.set()

    def main() -> None:
        try:
            asyncio.run(
                serve(
                    jobs,
                    name=name,
                    concurrency=concurrency,
                    install_signal_handlers=False,
                    started=started,
                    **options,
                )
            )
        except BaseException as exc:  # reported to the caller, who decides
            errors.append(exc)
            ready.set()

    thread = threading.Thread(target=main, name=f"worker-{name}", daemon=True)
    thread.start()
    return WorkerHandle(thread=thread, ready=ready, _worker=holder, errors=errors)
