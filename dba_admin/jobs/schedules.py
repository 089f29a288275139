"""Schedules of saved scripts: managed by their owner under RLS, found due by a tick, run as the owner by a worker.

Managing (``ScheduleManager``): every read and change runs as the user (``rls.user_transaction``), so the policies of
sql/migrations/20261130000100_schedules.sql decide: a member of the script's project who may use the connection may
schedule it, only the owner changes or deletes it, admins read all. Each change writes its audit row in the same
transaction (``dba_admin_api.audit``, actor from the claims).

Running (``Scheduler``, called by the worker's tasks in dba_admin/jobs/worker.py):

* ``tick`` finds, for every active schedule, the due times since the last look (croniter in the schedule's time zone)
  and inserts one occurrence row each, ``on conflict do nothing``: the primary key (schedule, due time) is the
  guarantee that one occurrence never starts two runs, whatever the queue does. The worker then defers one
  ``run_schedule`` job per new row.
* ``run_occurrence`` claims the occurrence (``due`` -> ``running``, one UPDATE: a second job for it finds nothing to
  claim), loads the owner from dba_admin.users NOW (a deactivated owner pauses the schedule and nothing runs) and runs
  the script through ``ProjectManager.run_script`` with the owner's claims, on the connection as RLS opens it to him
  now (analysts and viewers read-only), recorded in the history with origin ``scheduled``. A destructive script that
  needs a person's confirmation never runs unattended: the schedule is paused with the reason.
* After each occurrence, the callables in ``after_scheduled_run`` receive a ``ScheduledRun`` (the alerts hook in).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import psycopg
from croniter import croniter
from psycopg import errors as pg_errors
from psycopg.types.json import Jsonb

from dba_admin import audit
from dba_admin.errors import DbaAdminError, NotFound, PermissionDenied, one_line
from dba_admin.rls import UserClaims, user_cursor
from dba_admin.sql_text import Kind, split_statements

if TYPE_CHECKING:
    from dba_admin.database import DatabaseManager
    from dba_admin.services import Services

__all__ = [
    "InvalidSchedule",
    "Schedule",
    "ScheduleManager",
    "ScheduledRun",
    "Scheduler",
    "after_scheduled_run",
    "check_cron",
    "check_timezone",
    "next_runs",
]

_log = logging.getLogger(__name__)
SYSTEM_ACTOR = "system:scheduler"
# Due times older than this when a tick looks (workers all down, then back) are not run after the fact.
MISFIRE_GRACE = timedelta(minutes=10)
MAX_PER_TICK = 20  # due times of one schedule queued by one tick at most (a schedule every minute after a pause)
OWNER_GONE = "owner deactivated"


class InvalidSchedule(DbaAdminError):
    """A cron expression or time zone the scheduler cannot use; the text says what a valid one looks like."""


# --- validation -------------------------------------------------------------------------------------------------


def check_cron(expression: str) -> str:
    """The expression normalised (single spaces), or InvalidSchedule saying why and what would do.

    Five fields (minute hour day-of-month month day-of-week) or an alias (@hourly, @daily, @weekly, @monthly,
    @yearly); one minute is the finest a schedule runs.
    """
    text = " ".join((expression or "").split())
    if not text:
        raise InvalidSchedule("a cron expression is needed, e.g. '0 6 * * 1-5' (06:00 on weekdays)")
    if not text.startswith("@") and len(text.split(" ")) != 5:
        raise InvalidSchedule(
            f"{text!r} has {len(text.split(' '))} fields; a cron expression has 5: minute hour day-of-month month"
            " day-of-week, e.g. '*/15 * * * *' (every 15 minutes) or '0 6 * * 1-5' (06:00 on weekdays)"
        )
    if not croniter.is_valid(text):
        raise InvalidSchedule(
            f"{text!r} is not a valid cron expression: minute 0-59, hour 0-23, day 1-31, month 1-12, day of week 0-6"
            " (0 = Sunday), with * , - and /; e.g. '30 2 * * *' (02:30 every day)"
        )
    return text


def check_timezone(name: str) -> str:
    """An IANA time zone name (e.g. America/Sao_Paulo), or InvalidSchedule."""
    text = (name or "").strip()
    try:
        if not text or text.startswith(("/", ".")) or ".." in text:
            raise ValueError(text)
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidSchedule(
            f"{text!r} is not a known time zone: use an IANA name such as UTC, America/Sao_Paulo or Europe/Lisbon"
        ) from exc
    return text


def timezone_names() -> list[str]:
    """Every IANA name this machine knows, sorted (the schedule form's choices)."""
    return sorted(available_timezones())


def next_runs(cron: str, timezone: str, *, after: datetime | None = None, count: int = 1) -> list[datetime]:
    """The next ``count`` due times after ``after`` (now), in the schedule's time zone."""
    zone = ZoneInfo(timezone)
    start = (after or datetime.now(UTC)).astimezone(zone)
    it = croniter(cron, start)
    return [it.get_next(datetime) for _ in range(count)]


def due_between(
    cron: str, timezone: str, start: datetime, end: datetime, *, limit: int = MAX_PER_TICK
) -> list[datetime]:
    """Due times in (start, end], oldest first, at most ``limit`` (the newest ``limit`` when there are more)."""
    zone = ZoneInfo(timezone)
    it = croniter(cron, start.astimezone(zone))
    found: list[datetime] = []
    while True:
        moment: datetime = it.get_next(datetime)
        if moment > end:
            break
        found.append(moment)
        if len(found) > limit:
            found.pop(0)
    return found


# --- what the pages and the alerts see --------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """One schedule as its reader may see it, with its last occurrence."""

    id: uuid.UUID
    script_id: uuid.UUID
    script_name: str | None
    project_id: uuid.UUID | None
    project_name: str | None
    connection: str
    cron: str
    timezone: str
    owner: str
    paused: bool
    pause_reason: str | None
    created_at: datetime
    updated_at: datetime
    last_due_at: datetime | None = None
    last_status: str | None = None  # the run's status, "refused", "skipped" (paused, owner gone) or "running"/"due"
    last_execution_id: int | None = None
    last_note: str | None = None

    @property
    def next_run(self) -> datetime | None:
        """The next due time, None while paused."""
        if self.paused:
            return None
        return next_runs(self.cron, self.timezone)[0]

    @property
    def state(self) -> str:
        if not self.paused:
            return "active"
        return "stopped" if self.pause_reason else "paused"


@dataclass(frozen=True)
class ScheduledRun:
    """What one occurrence did, for the callables in ``after_scheduled_run`` (the alert engine)."""

    schedule_id: uuid.UUID
    script_id: uuid.UUID
    connection: str
    execution_id: int | None  # the history row; None when nothing ran (refused)
    status: str  # the run's: success, error, timeout, cancelled, interrupted; or refused (nothing ran)
    rows: int | None
    first_value: str | None  # first column of the first row of the last statement's result, as text
    error: str | None
    owner: str = ""
    due_at: datetime | None = None


# Called after every scheduled occurrence that ran or was refused, in the worker, in order; an exception in one is
# logged and does not stop the others or the worker.
after_scheduled_run: list[Callable[[ScheduledRun], None]] = []


_SCHEDULE_SELECT = (
    "/* dba_admin */ select a.id, a.script_id, s.nome as script_name, s.projeto_id as project_id,"
    " p.nome as project_name, a.conexao, a.cron, a.fuso_horario, a.created_by, a.pausado, a.motivo_pausa,"
    " a.created_at, a.updated_at, o.previsto_para as last_due_at, o.status as last_occurrence_status,"
    " o.resultado as last_result, o.execucao_id as last_execution_id, o.nota as last_note"
    " from public.agendamentos a"
    " left join public.scripts_projetos s on s.id = a.script_id"
    " left join public.projetos_analytics p on p.id = s.projeto_id"
    " left join lateral (select * from public.agendamentos_ocorrencias x where x.agendamento_id = a.id"
    "   order by x.previsto_para desc limit 1) o on true"
)


def _schedule(row: dict[str, Any]) -> Schedule:
    status = row["last_result"] or row["last_occurrence_status"]
    return Schedule(
        id=row["id"],
        script_id=row["script_id"],
        script_name=row["script_name"],
        project_id=row["project_id"],
        project_name=row["project_name"],
        connection=row["conexao"],
        cron=row["cron"],
        timezone=row["fuso_horario"],
        owner=row["created_by"],
        paused=row["pausado"],
        pause_reason=row["motivo_pausa"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        last_due_at=row["last_due_at"],
        last_status=status,
        last_execution_id=row["last_execution_id"],
        last_note=row["last_note"],
    )


def _destructive_reasons(sql_text: str) -> tuple[str, ...]:
    return tuple(
        f"{s.command or s.kind.value}: {s.destructive_reason or 'destructive'}"
        for s in split_statements(sql_text)
        if s.kind == Kind.DESTRUCTIVE
    )


# --- managing, as the user --------------------------------------------------------------------------------------


class ScheduleManager:
    """Create, list, pause, resume, edit and delete schedules, every call as the given user (RLS decides)."""

    def __init__(self, workspace: DatabaseManager) -> None:
        self._db = workspace.workspace
        self._settings = workspace.settings

    def _as_user(self, claims: UserClaims) -> AbstractContextManager[Any]:
        """One transaction as the user (``rls.user_cursor``); the database's time zone check named."""

        def bad_zone(exc: psycopg.Error) -> DbaAdminError:
            return InvalidSchedule(f"{exc.diag.message_primary or exc}: use an IANA name such as UTC")

        return user_cursor(self._db, claims, refusals={pg_errors.InvalidParameterValue: bad_zone})

    @staticmethod
    def _audit(cur: psycopg.Cursor[Any], action: str, schedule_id: uuid.UUID, details: dict[str, Any]) -> None:
        """The audit row of the user's change, in its transaction (actor from the claims, as projects do)."""
        cur.execute(
            "/* dba_admin */ select dba_admin_api.audit(%s, %s, %s, %s)",
            (action, f"schedule:{schedule_id}", Jsonb(audit.redact(details)), audit.APP_INSTANCE),
        )

    def _fetch(self, cur: psycopg.Cursor[Any], schedule_id: uuid.UUID) -> Schedule:
        cur.execute(_SCHEDULE_SELECT + " where a.id = %s", (schedule_id,))
        row = cur.fetchone()
        if row is None:
            raise NotFound(f"schedule {schedule_id} does not exist, or it is not yours")
        return _schedule(dict(row))

    def _owned(self, cur: psycopg.Cursor[Any], claims: UserClaims, schedule_id: uuid.UUID) -> dict[str, Any]:
        """Lock a schedule the user owns (FOR UPDATE applies the owner-only policy); NotFound/PermissionDenied else."""
        cur.execute(
            "/* dba_admin */ select id, script_id, conexao, cron, fuso_horario, pausado, motivo_pausa, created_by"
            " from public.agendamentos where id = %s for update",
            (schedule_id,),
        )
        row = cur.fetchone()
        if row is not None:
            return dict(row)
        cur.execute("/* dba_admin */ select created_by from public.agendamentos where id = %s", (schedule_id,))
        seen = cur.fetchone()
        if seen is None:
            raise NotFound(f"schedule {schedule_id} does not exist, or it is not yours")
        raise PermissionDenied(f"only the schedule's owner ({seen['created_by']}) can change it")

    @staticmethod
    def _check_runnable(cur: psycopg.Cursor[Any], claims: UserClaims, script_id: uuid.UUID, connection: str) -> str:
        """The script's text, after checking the user may run it on ``connection`` (member, connection open)."""
        cur.execute(
            "/* dba_admin */ select s.sql, s.nome, s.deleted_at, p.arquivado_em, p.deleted_at as project_deleted"
            " from public.scripts_projetos s join public.projetos_analytics p on p.id = s.projeto_id"
            " where s.id = %s and (p.created_by = (select auth.email()) or (select auth.email()) = any (p.membros))",
            (script_id,),
        )
        row = cur.fetchone()
        if row is None or row["deleted_at"] is not None or row["project_deleted"] is not None:
            raise NotFound(f"script {script_id} does not exist or is not in a project you are a member of")
        if row["arquivado_em"] is not None:
            raise PermissionDenied("the script's project is archived: its owner must unarchive it first")
        cur.execute("/* dba_admin */ select 1 from public.conexoes where nome = %s", (connection,))
        if cur.fetchone() is None:
            raise PermissionDenied(
                f"connection {connection} is not open to {claims.normalized_email}: ask an admin for access"
            )
        return str(row["sql"])

    @staticmethod
    def _check_unattended(claims: UserClaims, sql_text: str) -> None:
        """A write-mode user's destructive script needs a person's confirmation at each run: no schedule for it."""
        from dba_admin.projects import WRITE_ROLES

        if claims.app_role not in WRITE_ROLES:
            return  # analysts and viewers run read-only: nothing to confirm
        reasons = _destructive_reasons(sql_text)
        if reasons:
            raise InvalidSchedule(
                "this script has statements that need a person's confirmation at each run, which a schedule cannot"
                f" give ({'; '.join(reasons)}). Schedule a script without them, or run it by hand."
            )

    def create(
        self, claims: UserClaims, script_id: uuid.UUID, connection: str, cron: str, timezone: str = "UTC"
    ) -> Schedule:
        """A schedule owned by the user (who must be able to run the script on the connection now)."""
        cron_text, zone = check_cron(cron), check_timezone(timezone)
        with self._as_user(claims) as cur:
            self._check_unattended(claims, self._check_runnable(cur, claims, script_id, connection))
            cur.execute(
                "/* dba_admin */ insert into public.agendamentos (script_id, conexao, cron, fuso_horario, created_by,"
                " user_id) values (%s, %s, %s, %s, (select auth.email()), (select auth.uid())) returning id",
                (script_id, connection, cron_text, zone),
            )
            row = cur.fetchone()
            assert row is not None
            schedule_id = row["id"]
            self._audit(
                cur,
                "schedule.create",
                schedule_id,
                {"script_id": str(script_id), "connection": connection, "cron": cron_text, "timezone": zone},
            )
            return self._fetch(cur, schedule_id)

    def list(
        self, claims: UserClaims, *, script_id: uuid.UUID | None = None, mine_only: bool = False
    ) -> list[Schedule]:
        """The schedules the user may see (his own; every one for an admin), newest first."""
        with self._as_user(claims) as cur:
            cur.execute(
                _SCHEDULE_SELECT + " where (%(script)s::uuid is null or a.script_id = %(script)s)"
                " and (not %(mine)s or a.created_by = (select auth.email()))"
                " order by a.created_at desc, a.id limit 1000",
                {"script": script_id, "mine": mine_only},
            )
            return [_schedule(dict(r)) for r in cur.fetchall()]

    def get(self, claims: UserClaims, schedule_id: uuid.UUID) -> Schedule:
        with self._as_user(claims) as cur:
            return self._fetch(cur, schedule_id)

    def _set_paused(self, claims: UserClaims, schedule_id: uuid.UUID, paused: bool) -> Schedule:
        with self._as_user(claims) as cur:
            row = self._owned(cur, claims, schedule_id)
            if not paused:  # resuming: the owner's rights are checked again, as at creation
                self._check_unattended(claims, self._check_runnable(cur, claims, row["script_id"], row["conexao"]))
            cur.execute(
                "/* dba_admin */ update public.agendamentos set pausado = %s, motivo_pausa = null where id = %s",
                (paused, schedule_id),
            )
            self._audit(
                cur,
                "schedule.pause" if paused else "schedule.resume",
                schedule_id,
                {"was_paused": row["pausado"], "reason": row["motivo_pausa"]},
            )
            return self._fetch(cur, schedule_id)

    def pause(self, claims: UserClaims, schedule_id: uuid.UUID) -> Schedule:
        return self._set_paused(claims, schedule_id, True)

    def resume(self, claims: UserClaims, schedule_id: uuid.UUID) -> Schedule:
        """Active again from now (due times while it was paused are not run after the fact)."""
        return self._set_paused(claims, schedule_id, False)

    def edit(
        self,
        claims: UserClaims,
        schedule_id: uuid.UUID,
        *,
        cron: str | None = None,
        timezone: str | None = None,
        connection: str | None = None,
    ) -> Schedule:
        """Change the expression, the time zone or the connection; the audit row has before and after."""
        with self._as_user(claims) as cur:
            row = self._owned(cur, claims, schedule_id)
            new = {
                "cron": check_cron(cron) if cron is not None else row["cron"],
                "fuso_horario": check_timezone(timezone) if timezone is not None else row["fuso_horario"],
                "conexao": connection if connection is not None else row["conexao"],
            }
            changed = {k: (row[k], v) for k, v in new.items() if row[k] != v}
            if not changed:
                return self._fetch(cur, schedule_id)
            if "conexao" in changed:
                self._check_unattended(claims, self._check_runnable(cur, claims, row["script_id"], new["conexao"]))
            cur.execute(
                "/* dba_admin */ update public.agendamentos set cron = %s, fuso_horario = %s, conexao = %s"
                " where id = %s",
                (new["cron"], new["fuso_horario"], new["conexao"], schedule_id),
            )
            names = {"cron": "cron", "fuso_horario": "timezone", "conexao": "connection"}
            self._audit(
                cur,
                "schedule.edit",
                schedule_id,
                {names[k]: {"from": old, "to": value} for k, (old, value) in changed.items()},
            )
            return self._fetch(cur, schedule_id)

    def delete(self, claims: UserClaims, schedule_id: uuid.UUID) -> None:
        """Remove the schedule and its occurrence rows; its runs stay in the history."""
        with self._as_user(claims) as cur:
            row = self._owned(cur, claims, schedule_id)
            cur.execute("/* dba_admin */ delete from public.agendamentos where id = %s", (schedule_id,))
            self._audit(
                cur,
                "schedule.delete",
                schedule_id,
                {"script_id": str(row["script_id"]), "connection": row["conexao"], "cron": row["cron"]},
            )


# --- running, in the workers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    schedule_id: uuid.UUID
    due_at: datetime
    owner_id: uuid.UUID | None = None  # the queue runs one occurrence per owner at a time (his per-user run cap)

    @property
    def lock(self) -> str:
        """The job lock: one owner's scheduled runs never overlap, on any worker, so they never exceed his cap
        of concurrent runs (MAX_CONCURRENT_RUNS_PER_USER) and one owner cannot take every worker."""
        return f"owner:{self.owner_id}" if self.owner_id else f"schedule:{self.schedule_id}"


def _first_value(results: Sequence[Any]) -> str | None:
    """The first column of the first row of the last statement that returned rows, as text."""
    for result in reversed(results):
        if getattr(result, "columns", None):
            records = result.records
            if not records or not records[0]:
                return None
            value = records[0][0]
            return None if value is None else str(value)
    return None


class Scheduler:
    """The workers' side: the tick and the run of one occurrence, on the workspace's owner login (trusted path).

    ``clock`` is injectable so a test can make minutes pass in seconds; it returns an aware datetime.
    """

    def __init__(
        self,
        services: Services,
        *,
        clock: Callable[[], datetime] | None = None,
        misfire_grace: timedelta = MISFIRE_GRACE,
        after_run: Sequence[Callable[[ScheduledRun], object]] = (),
    ) -> None:
        self.services = services
        self.after_run = tuple(after_run)  # this scheduler's own hooks (the worker's alert engine), after the global
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.misfire_grace = misfire_grace

    def _owner(self) -> AbstractContextManager[psycopg.Cursor[Any]]:
        """One transaction on the workspace's owner login with the app's timeouts (the workers' trusted side)."""
        return self.services.db.timed_transaction()

    # -- the tick --------------------------------------------------------------------------------------------------

    def tick(self) -> list[Occurrence]:
        """Insert the occurrences due since the last look at each active schedule; return the new ones.

        Schedules are locked ``skip locked``: two ticks at once share the work instead of waiting; the primary key
        of the occurrences makes a due time found twice a no-op.
        """
        now = self.clock()
        new: list[Occurrence] = []
        with self._owner() as cur:
            cur.execute(
                "/* dba_admin */ select id, cron, fuso_horario, verificado_ate, user_id from public.agendamentos"
                " where not pausado and verificado_ate < %s for update skip locked",
                (now,),
            )
            rows = cur.fetchall()
            looked: list[uuid.UUID] = []
            for row in rows:
                looked.append(row["id"])
                start = max(row["verificado_ate"], now - self.misfire_grace)
                try:
                    due = due_between(row["cron"], row["fuso_horario"], start, now)
                except (ValueError, KeyError, ZoneInfoNotFoundError) as exc:  # edited outside the app: say so once
                    _log.warning("schedule %s cannot be computed: %s", row["id"], one_line(exc))
                    continue
                for moment in due:
                    cur.execute(
                        "/* dba_admin */ insert into public.agendamentos_ocorrencias (agendamento_id, previsto_para)"
                        " values (%s, %s) on conflict do nothing returning agendamento_id, previsto_para",
                        (row["id"], moment),
                    )
                    inserted = cur.fetchone()
                    if inserted is not None:
                        new.append(Occurrence(inserted["agendamento_id"], inserted["previsto_para"], row["user_id"]))
            if looked:
                cur.execute(
                    "/* dba_admin */ update public.agendamentos set verificado_ate = greatest(verificado_ate, %s)"
                    " where id = any(%s)",
                    (now, looked),
                )
        return new

    def orphans(self, older_than: timedelta = timedelta(seconds=30)) -> list[Occurrence]:
        """Occurrences found due but never queued (a worker stopped between the two): queue them again."""
        with self._owner() as cur:
            cur.execute(
                "/* dba_admin */ select o.agendamento_id, o.previsto_para, a.user_id"
                " from public.agendamentos_ocorrencias o join public.agendamentos a on a.id = o.agendamento_id"
                " where o.status = 'due' and o.job_id is null and o.created_at < now() - %s limit 100",
                (older_than,),
            )
            return [Occurrence(r["agendamento_id"], r["previsto_para"], r["user_id"]) for r in cur.fetchall()]

    def queued(self, occurrence: Occurrence, job_id: int | None) -> None:
        with self._owner() as cur:
            cur.execute(
                "/* dba_admin */ update public.agendamentos_ocorrencias set job_id = %s"
                " where agendamento_id = %s and previsto_para = %s and job_id is null",
                (job_id, occurrence.schedule_id, occurrence.due_at),
            )

    # -- one occurrence ----------------------------------------------------------------------------------------------

    def _claim(self, occurrence: Occurrence) -> dict[str, Any] | None:
        """Take the occurrence (due -> running) and read its schedule; None when another job took it already."""
        with self._owner() as cur:
            cur.execute(
                "/* dba_admin */ update public.agendamentos_ocorrencias o set status = 'running', started_at = now()"
                " from public.agendamentos a"
                " where o.agendamento_id = %s and o.previsto_para = %s and o.status = 'due' and a.id = o.agendamento_id"
                " returning a.id, a.script_id, a.conexao, a.created_by, a.user_id, a.pausado",
                (occurrence.schedule_id, occurrence.due_at),
            )
            row = cur.fetchone()
        return dict(row) if row else None

    def _finish(
        self,
        occurrence: Occurrence,
        *,
        status: str,
        result: str | None,
        execution_id: int | None = None,
        note: str | None = None,
        pause_reason: str | None = None,
    ) -> None:
        """The occurrence's outcome; with ``pause_reason`` the schedule stops too (audited as the scheduler)."""
        with self._owner() as cur:
            cur.execute(
                "/* dba_admin */ update public.agendamentos_ocorrencias set status = %s, resultado = %s,"
                " execucao_id = %s, nota = %s, finished_at = now() where agendamento_id = %s and previsto_para = %s",
                (status, result, execution_id, note, occurrence.schedule_id, occurrence.due_at),
            )
            if pause_reason is not None:
                cur.execute(
                    "/* dba_admin */ update public.agendamentos set pausado = true, motivo_pausa = %s"
                    " where id = %s and not pausado returning id",
                    (pause_reason, occurrence.schedule_id),
                )
                if cur.fetchone() is not None:
                    audit.record(
                        cur.connection,
                        "schedule.pause",
                        actor=SYSTEM_ACTOR,
                        target=f"schedule:{occurrence.schedule_id}",
                        details={"reason": pause_reason, "due_at": occurrence.due_at.isoformat()},
                    )

    def _owner_claims(self, email: str, user_id: uuid.UUID) -> UserClaims | None:
        """The owner's claims as dba_admin.users has them now; None when deactivated or gone."""
        with self.services.users() as store:
            user = store.get_by_email(email)
        if user is None or user.id != user_id or not user.is_active:
            return None
        return user.claims

    def run_occurrence(self, occurrence: Occurrence) -> ScheduledRun | None:
        """Run one occurrence as its owner, once; None when it was not run (taken already, paused, owner gone)."""
        schedule = self._claim(occurrence)
        if schedule is None:
            return None
        if schedule["pausado"]:
            self._finish(occurrence, status="skipped", result=None, note="the schedule was paused")
            return None
        claims = self._owner_claims(schedule["created_by"], schedule["user_id"])
        if claims is None:
            self._finish(
                occurrence,
                status="skipped",
                result=None,
                note=f"{schedule['created_by']} is deactivated: the schedule stopped",
                pause_reason=OWNER_GONE,
            )
            return None
        run = self._run(occurrence, schedule, claims)
        for hook in (*after_scheduled_run, *self.after_run):
            try:
                hook(run)
            except Exception:  # a hook (an alert delivery) must never undo or stop the scheduling itself
                _log.exception("after_scheduled_run hook %r failed for schedule %s", hook, occurrence.schedule_id)
        return run

    def _run(self, occurrence: Occurrence, schedule: dict[str, Any], claims: UserClaims) -> ScheduledRun:
        base = {
            "schedule_id": schedule["id"],
            "script_id": schedule["script_id"],
            "connection": schedule["conexao"],
            "owner": schedule["created_by"],
            "due_at": occurrence.due_at,
        }
        try:
            target = self.services.connection_for(claims, schedule["conexao"])
            outcome = self.services.projects.run_script(
                claims, schedule["script_id"], target=target, origin="scheduled"
            )
        except DbaAdminError as exc:  # no access any more, script gone, run not recordable: nothing ran
            self._finish(occurrence, status="skipped", result="refused", note=one_line(exc))
            return ScheduledRun(
                execution_id=None, status="refused", rows=None, first_value=None, error=one_line(exc), **base
            )
        except Exception as exc:
            self._finish(occurrence, status="skipped", result="refused", note=f"the run failed in the app: {exc!r}")
            raise
        if outcome.needs_confirmation:
            reason = "needs confirmation: " + "; ".join(outcome.destructive_reasons)
            self._finish(
                occurrence,
                status="skipped",
                result="refused",
                note="destructive statements need a person's confirmation; nothing ran and the schedule stopped",
                pause_reason=reason,
            )
            return ScheduledRun(execution_id=None, status="refused", rows=None, first_value=None, error=reason, **base)
        execution = outcome.execution
        error = outcome.error.message if outcome.error else None
        self._finish(
            occurrence,
            status="done",
            result=outcome.status,
            execution_id=execution.id if execution else None,
            note=one_line(Exception(error)) if error else None,
        )
        return ScheduledRun(
            execution_id=execution.id if execution else None,
            status=outcome.status,
            rows=execution.rows if execution else None,
            first_value=_first_value(outcome.results) if outcome.ok else None,
            error=error,
            **base,
        )
