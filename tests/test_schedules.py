"""Schedules of saved scripts against the suite's real server: validation, the owner's management (audited), RLS
between users, the job schema out of the API roles' reach, and one occurrence run as its owner (once, read-only for
an analyst, never for a deactivated owner or an unconfirmed destructive script). The workers themselves:
tests/test_worker.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from apptest_helpers import claims_of, logged_in_app, make_user, texts
from psycopg import sql
from psycopg.rows import dict_row

from dba_admin.auth import UserStore
from dba_admin.errors import NotFound, PermissionDenied
from dba_admin.jobs import schedules as sched
from dba_admin.jobs.schedules import InvalidSchedule, Occurrence, ScheduledRun, ScheduleManager, Scheduler
from dba_admin.jobs.schema import JOBS_SCHEMA, install_job_schema
from dba_admin.rls import UserClaims, user_transaction
from dba_admin.services import Services

DEMO = "demo"


@pytest.fixture(scope="module")
def services(app_db: Any) -> Iterator[Services]:
    built = Services.build(app_db.settings)
    yield built
    built.close()


@pytest.fixture(scope="module")
def manager(services: Services) -> ScheduleManager:
    return ScheduleManager(services.db)


def new_user(app_db: Any, role: str = "analyst") -> tuple[str, UserClaims]:
    username, _ = make_user(app_db.dsn, role)
    return username, claims_of(app_db.dsn, username)


def new_script(services: Services, claims: UserClaims, text: str = "select 42 as answer") -> uuid.UUID:
    project = services.projects.create_project(claims, f"sched-{uuid.uuid4().hex[:8]}")
    return services.projects.create_script(claims, project.id, "nightly", text).id


def audit_actions(app_db: Any, schedule_id: uuid.UUID) -> list[tuple[str, str | None, dict[str, Any]]]:
    with psycopg.connect(app_db.dsn) as conn:
        rows = conn.execute(
            "select action, actor, details from dba_admin.audit_log where target = %s order by id",
            (f"schedule:{schedule_id}",),
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def scheduled_runs(app_db: Any, script_id: uuid.UUID) -> list[dict[str, Any]]:
    with psycopg.connect(app_db.dsn, row_factory=dict_row) as conn:
        return conn.execute(
            "select id, status, origem, executado_por, sqlstate, linhas from public.execucoes_scripts"
            " where script_id = %s order by id",
            (script_id,),
        ).fetchall()


class Clock:
    """A clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


# --- validation -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("", "is needed"),
        ("* * * *", "has 4 fields"),
        ("* * * * * *", "has 6 fields"),
        ("61 * * * *", "not a valid cron expression"),
        ("* * * * mon-xyz", "not a valid cron expression"),
    ],
)
def test_a_bad_cron_expression_is_refused_with_what_would_do(expression: str, says: str) -> None:
    with pytest.raises(InvalidSchedule, match=says) as caught:
        sched.check_cron(expression)
    assert "e.g." in str(caught.value)


def test_good_expressions_and_time_zones_pass_normalised() -> None:
    assert sched.check_cron("  */15   * * * 1-5 ") == "*/15 * * * 1-5"
    assert sched.check_cron("@daily") == "@daily"
    assert sched.check_timezone(" America/Sao_Paulo ") == "America/Sao_Paulo"
    for bad in ("Mars/Olympus_Mons", "", "../etc/passwd"):
        with pytest.raises(InvalidSchedule, match="IANA"):
            sched.check_timezone(bad)


def test_due_times_follow_the_time_zone_across_a_dst_change() -> None:
    # Lisbon moves to summer time on 2026-03-29 at 01:00 UTC: 02:00 local is 02:00 UTC on the 28th, 01:00 UTC after.
    start = datetime(2026, 3, 27, 12, tzinfo=UTC)
    due = sched.due_between("0 2 * * *", "Europe/Lisbon", start, start + timedelta(days=3))
    assert [(d.day, d.hour, d.astimezone(UTC).hour) for d in due] == [(28, 2, 2), (29, 2, 1), (30, 2, 1)]
    assert len(sched.due_between("* * * * *", "UTC", start, start + timedelta(hours=2), limit=5)) == 5


# --- managing, audited, under RLS --------------------------------------------------------------------------------


def test_the_owner_manages_a_schedule_and_every_change_is_audited(
    app_db: Any, services: Services, manager: ScheduleManager
) -> None:
    username, owner = new_user(app_db)
    script_id = new_script(services, owner)
    made = manager.create(owner, script_id, DEMO, "0 6 * * 1-5", "America/Sao_Paulo")
    assert (made.cron, made.timezone, made.owner, made.state) == (
        "0 6 * * 1-5",
        "America/Sao_Paulo",
        owner.email,
        "active",
    )
    assert made.next_run is not None and made.next_run.astimezone(UTC) > datetime.now(UTC)
    assert [s.id for s in manager.list(owner)] == [made.id]

    assert manager.pause(owner, made.id).state == "paused"
    assert manager.pause(owner, made.id).next_run is None
    edited = manager.edit(owner, made.id, cron="30 7 * * *", timezone="UTC")
    assert (edited.cron, edited.timezone) == ("30 7 * * *", "UTC")
    assert manager.resume(owner, made.id).state == "active"
    manager.delete(owner, made.id)
    with pytest.raises(NotFound):
        manager.get(owner, made.id)

    actions = audit_actions(app_db, made.id)
    assert [a for a, *_ in actions] == [
        "schedule.create",
        "schedule.pause",
        "schedule.pause",
        "schedule.edit",
        "schedule.resume",
        "schedule.delete",
    ]
    assert {actor for _, actor, _ in actions} == {username}
    edit_details = actions[3][2]
    assert edit_details["cron"] == {"from": "0 6 * * 1-5", "to": "30 7 * * *"}
    assert edit_details["timezone"] == {"from": "America/Sao_Paulo", "to": "UTC"}


def test_another_user_can_neither_see_nor_change_a_schedule_and_an_admin_only_reads(
    app_db: Any, services: Services, manager: ScheduleManager, user_conn: psycopg.Connection[Any]
) -> None:
    _, owner = new_user(app_db)
    _, stranger = new_user(app_db)
    _, admin = new_user(app_db, "admin")
    script_id = new_script(services, owner)
    made = manager.create(owner, script_id, DEMO, "*/5 * * * *")

    assert manager.list(stranger) == []
    for change in (manager.pause, manager.resume, manager.delete, manager.get):
        with pytest.raises(NotFound):
            change(stranger, made.id)
    with pytest.raises(NotFound):  # not a member of the project: may not run the script, so may not schedule it
        manager.create(stranger, script_id, DEMO, "* * * * *")

    assert made.id in {s.id for s in manager.list(admin)}
    with pytest.raises(PermissionDenied, match="only the schedule's owner"):
        manager.pause(admin, made.id)

    # The same through SQL as any Supabase client holding the stranger's JWT: no row, no change, no forged owner.
    with user_transaction(user_conn, stranger) as cur:
        cur.execute("update public.agendamentos set pausado = true where id = %s", (made.id,))
        assert cur.rowcount == 0
        cur.execute("delete from public.agendamentos where id = %s", (made.id,))
        assert cur.rowcount == 0
        cur.execute("select count(*) from public.agendamentos_ocorrencias where agendamento_id = %s", (made.id,))
        assert cur.fetchone() == (0,)
    with pytest.raises(psycopg.errors.InsufficientPrivilege), user_transaction(user_conn, stranger) as cur:
        cur.execute(
            "insert into public.agendamentos (script_id, conexao, cron, created_by, user_id)"
            " values (%s, %s, %s, %s, %s)",
            (script_id, DEMO, "* * * * *", owner.email, owner.sub),
        )
    with pytest.raises(psycopg.errors.InsufficientPrivilege), user_transaction(user_conn, owner) as cur:
        cur.execute(  # not even the owner writes occurrences: only the workers do
            "insert into public.agendamentos_ocorrencias (agendamento_id, previsto_para) values (%s, now())",
            (made.id,),
        )
    assert manager.get(owner, made.id).state == "active"


def test_the_job_queue_is_out_of_reach_of_the_api_roles_and_the_read_only_login(app_db: Any) -> None:
    with psycopg.connect(app_db.dsn, autocommit=True) as conn:
        assert install_job_schema(conn) is None  # installed by the bootstrap already; a second call changes nothing
        tables = conn.execute(
            "select relname from pg_class where relnamespace = %s::regnamespace and relkind = 'r'", (JOBS_SCHEMA,)
        ).fetchall()
        assert {"procrastinate_jobs", "procrastinate_periodic_defers"} <= {t for (t,) in tables}
        assert conn.execute("select to_regclass('public.procrastinate_jobs')").fetchone() == (None,)
        for role in ("anon", "authenticated", "service_role", "dba_admin_readonly", "dba_admin_authenticator"):
            row = conn.execute("select has_schema_privilege(%s, %s, 'USAGE')", (role, JOBS_SCHEMA)).fetchone()
            assert row == (False,), role
            granted = conn.execute(
                "select relname from pg_class where relnamespace = %s::regnamespace and relkind in ('r', 'S', 'v')"
                " and has_table_privilege(%s, oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE')",
                (JOBS_SCHEMA, role),
            ).fetchall()
            assert granted == [], role
            functions = conn.execute(
                "select proname from pg_proc where pronamespace = %s::regnamespace"
                " and has_function_privilege(%s, oid, 'EXECUTE')",
                (JOBS_SCHEMA, role),
            ).fetchall()
            assert functions == [], role
        for table in ("agendamentos", "agendamentos_ocorrencias"):
            for role in ("anon", "service_role"):
                row = conn.execute(
                    "select has_table_privilege(%s, %s, 'SELECT, INSERT, UPDATE, DELETE')", (role, f"public.{table}")
                ).fetchone()
                assert row == (False,), (role, table)
        # As the authenticated role itself (what a JWT reaches): the queue's tables are not even there to name.
        with conn.transaction(force_rollback=True):
            conn.execute("set local role authenticated")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql.SQL("select * from {}").format(sql.Identifier(JOBS_SCHEMA, "procrastinate_jobs")))


def test_an_upgrade_applies_procrastinates_own_migrations_in_order_and_jobs_use_their_schema() -> None:
    from psycopg.conninfo import conninfo_to_dict

    from dba_admin.jobs.schema import _migrations_after, job_conninfo

    files = [p.name for p in _migrations_after("3.3.0", "3.4.0")]
    assert files == [
        "03.04.00_01_pre_add_retry_failed_job_procedure.sql",
        "03.04.00_50_post_add_retry_failed_job_procedure.sql",
    ]
    assert _migrations_after("3.10.0", "3.10.0") == []
    params = conninfo_to_dict(job_conninfo("host=/tmp dbname=w user=o options='-c work_mem=4MB'"))
    assert params["options"] == f"-c work_mem=4MB -c search_path={JOBS_SCHEMA}"


def test_a_destructive_script_is_not_scheduled_for_a_writer(
    app_db: Any, services: Services, manager: ScheduleManager
) -> None:
    _, dba = new_user(app_db, "dba")
    script_id = new_script(services, dba, "drop table if exists public.never_there")
    with pytest.raises(InvalidSchedule, match="confirmation"):
        manager.create(dba, script_id, DEMO, "0 3 * * *")
    _, analyst = new_user(app_db)  # an analyst's run is read-only: nothing to confirm, it would just fail
    assert manager.create(analyst, new_script(services, analyst, "drop table x"), DEMO, "0 3 * * *").state == "active"


def test_a_bad_time_zone_or_expression_changes_nothing(
    app_db: Any, services: Services, manager: ScheduleManager
) -> None:
    _, owner = new_user(app_db)
    made = manager.create(owner, new_script(services, owner), DEMO, "0 * * * *")
    with pytest.raises(InvalidSchedule):
        manager.edit(owner, made.id, timezone="Nowhere/Else")
    with pytest.raises(InvalidSchedule):
        manager.edit(owner, made.id, cron="every day")
    assert manager.get(owner, made.id).cron == "0 * * * *"
    assert [a for a, *_ in audit_actions(app_db, made.id)] == ["schedule.create"]


# --- one occurrence, as the owner ---------------------------------------------------------------------------------


def next_minute_after_checkpoint(app_db: Any, schedule_id: uuid.UUID) -> datetime:
    """The first whole minute after the time the schedule was last checked up to (its creation or resume)."""
    with psycopg.connect(app_db.dsn) as conn:
        row = conn.execute("select verificado_ate from public.agendamentos where id = %s", (schedule_id,)).fetchone()
    assert row is not None
    return row[0].replace(second=0, microsecond=0) + timedelta(minutes=1)


def due_now(app_db: Any, scheduler: Scheduler, clock: Clock, schedule_id: uuid.UUID) -> Occurrence:
    """Move the clock one second past the first minute after the schedule's checkpoint and tick: the schedule's one
    new occurrence. (Clock + 1 min from "now" spanned two minutes when a minute began between the checkpoint and
    the clock's start.)"""
    first = next_minute_after_checkpoint(app_db, schedule_id)
    clock.now = first + timedelta(seconds=1)
    found = [o for o in scheduler.tick() if o.schedule_id == schedule_id]
    assert [o.due_at for o in found] == [first], found
    return found[0]


def test_an_occurrence_runs_once_as_its_owner_and_says_scheduled(
    app_db: Any, services: Services, manager: ScheduleManager
) -> None:
    _, owner = new_user(app_db)
    script_id = new_script(services, owner, "select 1 as one;\nselect 'forty-two' as answer, 2 as other")
    made = manager.create(owner, script_id, DEMO, "* * * * *")
    clock = Clock()
    scheduler = Scheduler(services, clock=clock)
    seen: list[ScheduledRun] = []

    def broken(run: ScheduledRun) -> None:  # an alert channel that fails must not stop the others or the run
        raise RuntimeError("webhook down")

    sched.after_scheduled_run.extend([broken, seen.append])
    try:
        occurrence = due_now(app_db, scheduler, clock, made.id)
        assert [o for o in scheduler.tick() if o.schedule_id == made.id] == []  # the same time again: nothing new
        run = scheduler.run_occurrence(occurrence)
        again = scheduler.run_occurrence(occurrence)  # a second job for the same occurrence: nothing to claim
    finally:
        sched.after_scheduled_run.remove(broken)
        sched.after_scheduled_run.remove(seen.append)
    assert again is None
    assert run is not None and run.status == "success"
    assert seen == [run]
    assert (run.first_value, run.schedule_id, run.script_id, run.connection) == ("forty-two", made.id, script_id, DEMO)
    runs = scheduled_runs(app_db, script_id)
    assert [(r["id"], r["status"], r["origem"], r["executado_por"]) for r in runs] == [
        (run.execution_id, "success", "scheduled", owner.email)
    ]
    listed = manager.get(owner, made.id)
    assert (listed.last_status, listed.last_execution_id) == ("success", run.execution_id)


def test_an_analysts_scheduled_run_is_read_only(app_db: Any, services: Services, manager: ScheduleManager) -> None:
    table = f"sched_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(app_db.demo_dsn, autocommit=True) as demo:
        demo.execute(sql.SQL("create table public.{} (n int)").format(sql.Identifier(table)))
        demo.execute(sql.SQL("grant select on public.{} to dba_admin_readonly").format(sql.Identifier(table)))
    try:
        _, analyst = new_user(app_db)
        script_id = new_script(services, analyst, f"insert into public.{table} values (1)")
        made = manager.create(analyst, script_id, DEMO, "* * * * *")
        clock = Clock()
        scheduler = Scheduler(services, clock=clock)
        run = scheduler.run_occurrence(due_now(app_db, scheduler, clock, made.id))
        assert run is not None and run.status == "error" and run.error is not None
        assert [(r["status"], r["sqlstate"], r["origem"]) for r in scheduled_runs(app_db, script_id)] == [
            ("error", "25006", "scheduled")  # read_only_sql_transaction
        ]
        with psycopg.connect(app_db.demo_dsn) as demo:
            count = demo.execute(sql.SQL("select count(*) from public.{}").format(sql.Identifier(table))).fetchone()
        assert count == (0,)
    finally:
        with psycopg.connect(app_db.demo_dsn, autocommit=True) as demo:
            demo.execute(sql.SQL("drop table if exists public.{}").format(sql.Identifier(table)))


def test_a_deactivated_owner_stops_the_schedule_and_nothing_runs(
    app_db: Any, services: Services, manager: ScheduleManager
) -> None:
    username, owner = new_user(app_db)
    script_id = new_script(services, owner)
    made = manager.create(owner, script_id, DEMO, "* * * * *")
    clock = Clock()
    scheduler = Scheduler(services, clock=clock)
    occurrence = due_now(app_db, scheduler, clock, made.id)
    with psycopg.connect(app_db.dsn, autocommit=True) as conn:
        UserStore(conn).set_active(actor="tests", username=username, active=False)
    assert scheduler.run_occurrence(occurrence) is None
    assert scheduled_runs(app_db, script_id) == []
    with psycopg.connect(app_db.dsn, autocommit=True) as conn:
        row = conn.execute("select pausado, motivo_pausa from public.agendamentos where id = %s", (made.id,)).fetchone()
        assert row == (True, sched.OWNER_GONE)
        # The owner's session is gone too, but the schedule stays listed for an admin, stopped, with the reason.
    clock.now += timedelta(minutes=5)
    assert [o for o in scheduler.tick() if o.schedule_id == made.id] == []  # a stopped schedule has no occurrence
    assert audit_actions(app_db, made.id)[-1][:2] == ("schedule.pause", sched.SYSTEM_ACTOR)


def test_a_script_made_destructive_after_scheduling_is_never_run_unattended(
    app_db: Any, services: Services, manager: ScheduleManager
) -> None:
    _, dba = new_user(app_db, "dba")
    script_id = new_script(services, dba, "select 1")
    made = manager.create(dba, script_id, DEMO, "* * * * *")
    services.projects.save_script(dba, script_id, "drop table if exists public.never_there", base_version=1)
    clock = Clock()
    scheduler = Scheduler(services, clock=clock)
    run = scheduler.run_occurrence(due_now(app_db, scheduler, clock, made.id))
    assert run is not None and run.status == "refused" and run.execution_id is None
    assert run.error is not None and "confirmation" in run.error
    assert scheduled_runs(app_db, script_id) == []
    stopped = manager.get(dba, made.id)
    assert stopped.state == "stopped" and stopped.pause_reason is not None and "DROP" in stopped.pause_reason.upper()
    with pytest.raises(InvalidSchedule, match="confirmation"):  # and it cannot be resumed as it is
        manager.resume(dba, made.id)


def test_a_resumed_schedule_does_not_run_what_it_missed_while_paused(
    app_db: Any, services: Services, manager: ScheduleManager
) -> None:
    _, owner = new_user(app_db)
    made = manager.create(owner, new_script(services, owner), DEMO, "* * * * *")
    manager.pause(owner, made.id)
    clock = Clock()
    scheduler = Scheduler(services, clock=clock)
    clock.now += timedelta(minutes=3)
    assert [o for o in scheduler.tick() if o.schedule_id == made.id] == []
    manager.resume(owner, made.id)  # from the database's now: the three missed minutes are not run
    # Only the first whole minute after the resume is due (due_now checks which minute, not only how many).
    due_now(app_db, scheduler, clock, made.id)


# --- the pages -----------------------------------------------------------------------------------------------------


@pytest.fixture
def _app_env(app_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))


@pytest.mark.usefixtures("_app_env")
def test_schedule_this_script_from_the_script_page(app_db: Any, services: Services, manager: ScheduleManager) -> None:
    at, username = logged_in_app(app_db.dsn, "analyst")
    claims = claims_of(app_db.dsn, username)
    script_id = new_script(services, claims)
    at.query_params = {"id": str(script_id)}
    at.switch_page("pages/script.py").run()
    assert not at.exception, at.exception
    form = f"schedule_form_{script_id}"
    at.text_input(key=f"{form}_cron_None").input("*/10 * * * *")
    at.selectbox(key=f"{form}_tz").select("America/Sao_Paulo")
    at.run()
    assert "Next runs:" in texts(at)
    at.button(key=f"{form}_submit").click().run()
    assert not at.exception, at.exception
    assert "Scheduled: */10 * * * * (America/Sao_Paulo) on demo" in texts(at)
    [made] = manager.list(claims)
    assert (made.script_id, made.cron, made.timezone) == (script_id, "*/10 * * * *", "America/Sao_Paulo")

    at.text_input(key=f"{form}_cron_None").input("every morning")
    at.button(key=f"{form}_submit").click().run()
    assert "Scheduling failed" in texts(at) and "has 2 fields" in texts(at)
    assert len(manager.list(claims)) == 1


@pytest.mark.usefixtures("_app_env")
def test_the_schedules_page_lists_pauses_and_deletes_in_portuguese_too(
    app_db: Any, services: Services, manager: ScheduleManager
) -> None:
    at, username = logged_in_app(app_db.dsn, "viewer")  # viewers run scripts read-only, so they may schedule them
    claims = claims_of(app_db.dsn, username)
    made = manager.create(claims, new_script(services, claims), DEMO, "0 6 * * *", "UTC")
    at.switch_page("pages/schedules.py").run()
    assert not at.exception, at.exception
    frame = at.dataframe[0].value
    assert list(frame["When"]) == ["0 6 * * * (UTC)"] and list(frame["Last run"]) == ["not run yet"]
    at.button(key=f"schedules_pause_{made.id}").click().run()
    assert not at.exception, at.exception
    assert "Paused: nothing runs until you resume it." in texts(at)
    assert manager.get(claims, made.id).paused
    at.button(key=f"schedules_delete_{made.id}").click().run()
    at.button(key=f"schedules_delete_yes_{made.id}").click().run()
    assert not at.exception, at.exception
    assert manager.list(claims) == []
    assert [a for a, *_ in audit_actions(app_db, made.id)] == ["schedule.create", "schedule.pause", "schedule.delete"]

    manager.create(claims, new_script(services, claims), DEMO, "0 6 * * *", "UTC")
    at.session_state["ui_locale"] = "pt_BR"
    at.switch_page("pages/schedules.py").run()
    assert not at.exception, at.exception
    assert "Agendamentos" in texts(at)
    assert "Próxima execução" in list(at.dataframe[0].value.columns)


@pytest.mark.usefixtures("_app_env")
def test_the_command_line_manages_schedules_as_the_named_user(
    app_db: Any, services: Services, manager: ScheduleManager, capsys: pytest.CaptureFixture[str]
) -> None:
    from dba_admin.cli import main

    username, claims = new_user(app_db)
    script_id = new_script(services, claims)
    assert main(["schedule", "--user", username, "add", str(script_id), "*/30 * * * *", "--connection", DEMO]) == 0
    [made] = manager.list(claims)
    assert f"scheduled {made.id}: */30 * * * * (UTC) on demo" in capsys.readouterr().out
    assert main(["schedule", "--user", username, "pause", str(made.id)]) == 0
    assert main(["schedule", "--user", username, "list"]) == 0
    assert f"{made.id}\tpaused\t*/30 * * * * (UTC)\tdemo" in capsys.readouterr().out
    assert main(["schedule", "--user", username, "add", str(script_id), "* * *", "--connection", DEMO]) == 2
    assert "has 3 fields" in capsys.readouterr().err
    assert main(["schedule", "--user", username, "delete", str(made.id)]) == 0
    assert manager.list(claims) == []
    assert main(["schedule", "--user", "nobody-here", "list"]) == 2
