"""A run is recorded before it starts, and a run whose server or app died ends as ``interrupted`` (issue 12, §1).

Against the suite's real PostgreSQL: a DBA's ``insert ...; select pg_sleep(30)`` goes through ProjectManager, the
backend running it is terminated (or the app process running it is SIGKILLed), and the history must still hold the
run - first as ``running`` with its audit row, then as ``interrupted`` - next to the row its insert committed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from apptest_helpers import logged_in_app, texts
from db_helpers import user, wait_for_state, workspace_manager
from psycopg import sql
from psycopg.rows import dict_row

from dba_admin.auth import UserStore
from dba_admin.bootstrap import prepare_database
from dba_admin.connections import ConnectionSecrets, Registry, SecretBox
from dba_admin.projects import ProjectManager, RunOutcome

ROOT = Path(__file__).resolve().parent.parent
SECRET = "hunter2-not-for-history"


@pytest.fixture
def owner_conn(app_db: Any) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(app_db.dsn, autocommit=True, row_factory=dict_row) as conn:
        yield conn


@pytest.fixture
def demo_conn(app_db: Any) -> Iterator[psycopg.Connection[Any]]:
    """The demo database (connection `demo`), where the runs' SQL goes; the owner_conn is the workspace."""
    with psycopg.connect(app_db.demo_dsn, autocommit=True, row_factory=dict_row) as conn:
        yield conn


@pytest.fixture
def scratch_table(app_db: Any) -> Iterator[str]:
    """A table of the demo database owned by its DBA login, as one a DBA made himself."""
    name = f"run_kill_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(app_db.demo_dba_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create table public.{} (i int)").format(sql.Identifier(name)))
    yield name
    with psycopg.connect(app_db.demo_dba_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop table if exists public.{}").format(sql.Identifier(name)))


def running_row(conn: psycopg.Connection[Any], email: str, *, timeout: float = 30) -> dict[str, Any]:
    """Poll until the user's run shows up as ``running`` (it is committed before the SQL starts)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute(
            "select * from public.execucoes_scripts where executado_por = %s and status = 'running'", (email,)
        ).fetchone()
        if row is not None:
            return dict(row)
        time.sleep(0.05)
    raise AssertionError(f"no running row for {email}")


def start_audit_rows(conn: psycopg.Connection[Any], run_id: int) -> list[dict[str, Any]]:
    return conn.execute(
        "select actor, action, target, details from dba_admin.audit_log"
        " where action in ('sql.run', 'script.run') and (details ->> 'execution_id')::bigint = %s order by id",
        (run_id,),
    ).fetchall()


def backend_gone(conn: psycopg.Connection[Any], pid: int, *, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if conn.execute("select 1 from pg_stat_activity where pid = %s", (pid,)).fetchone() is None:
            return
        time.sleep(0.05)
    raise AssertionError(f"backend {pid} is still there")


def count_rows(conn: psycopg.Connection[Any], table: str) -> int:
    row = conn.execute(sql.SQL("select count(*) as n from public.{}").format(sql.Identifier(table))).fetchone()
    assert row is not None
    return int(row["n"])


def test_a_dba_run_whose_backend_is_killed_is_recorded_then_interrupted(
    app_db: Any,
    pm: ProjectManager,
    owner_conn: psycopg.Connection[Any],
    demo_conn: psycopg.Connection[Any],
    scratch_table: str,
) -> None:
    dba = user("dba", "dba")
    text = (
        f"insert into public.{scratch_table} values (1);\n"
        "select pg_sleep(30);\n"
        f"alter role no_such_role_{uuid.uuid4().hex[:6]} password '{SECRET}'"
    )
    outcomes: list[RunOutcome] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            outcomes.append(pm.run_adhoc(dba, text, confirm_destructive=True, timeout_ms=0))
        except BaseException as exc:  # reported by the assertions below
            failures.append(exc)

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    try:
        row = running_row(owner_conn, dba.normalized_email)
        wait_for_state(app_db.dsn, row["backend_pid"], "active", wait_event_type="Timeout")
        # Recorded before the SQL started: who, what (redacted), where, when, which backend, which app server.
        assert row["sql_executado"].startswith(f"insert into public.{scratch_table}")
        assert SECRET not in row["sql_executado"] and "'***'" in row["sql_executado"]
        assert row["finished_at"] is None and row["banco"] == "demo" and row["app_instance"]
        activity = demo_conn.execute(
            "select backend_start, usename, datname from pg_stat_activity where pid = %s", (row["backend_pid"],)
        ).fetchone()
        assert activity is not None and activity["backend_start"] == row["backend_start"]
        assert (activity["usename"], activity["datname"]) == ("dba_admin_dba", "petcare")  # the DBA login, there
        # The history shows it running while it runs, and a read does not mistake it for a dead one.
        (seen,) = [r for r in pm.history(dba, mine_only=True) if r.id == row["id"]]
        assert seen.status == "running" and seen.finished_at is None
        audit = start_audit_rows(owner_conn, row["id"])
        assert [(a["actor"], a["action"], a["details"]["status"]) for a in audit] == [
            (dba.normalized_email, "sql.run", "running")
        ]
        assert SECRET not in json.dumps(audit[0]["details"])
        assert count_rows(demo_conn, scratch_table) == 1  # the insert committed before the kill
        demo_conn.execute("select pg_terminate_backend(%s)", (row["backend_pid"],))
    finally:
        runner.join(60)
    assert not runner.is_alive() and not failures, failures
    (outcome,) = outcomes
    assert outcome.status == "interrupted" and outcome.execution is not None
    assert outcome.execution.id == row["id"] and outcome.execution.status == "interrupted"
    (after,) = [r for r in pm.history(dba, mine_only=True, status="interrupted") if r.id == row["id"]]
    assert after.finished_at is not None and after.error
    # The audit trail is append-only: the start row is still the only one, unchanged.
    assert [a["details"]["status"] for a in start_audit_rows(owner_conn, row["id"])] == ["running"]
    assert count_rows(demo_conn, scratch_table) == 1


_CHILD = """
import json, sys
from pathlib import Path
from dba_admin.config import Settings
from dba_admin.connections import Registry, SecretBox, Targets
from dba_admin.database import DatabaseManager
from dba_admin.projects import ProjectManager
from dba_admin.rls import UserClaims
import uuid

args = json.loads(sys.argv[1])
settings = Settings(data_dir=Path(args["data_dir"]), load_demo=True)
# as an app server does: the workspace, then connection `demo` from the registry
workspace = DatabaseManager(settings, args["dsn"], authenticator_dsn=args["authenticator_dsn"])
targets = Targets(workspace, Registry(workspace, SecretBox.from_settings(settings, embedded=True)))
claims = UserClaims(sub=uuid.UUID(args["sub"]), email=args["email"], app_role="dba")
demo = targets.get("demo")
ProjectManager(workspace).run_adhoc(claims, args["sql"], confirm_destructive=True, timeout_ms=0, target=demo)
"""


def test_a_run_whose_app_server_is_killed_becomes_interrupted_at_the_next_start(
    app_db: Any,
    pm: ProjectManager,
    owner_conn: psycopg.Connection[Any],
    demo_conn: psycopg.Connection[Any],
    scratch_table: str,
) -> None:
    """kill -9 of the app process mid-run: no finish ever comes; the bootstrap and history reads settle the row."""
    dba = user("killed", "dba")
    args = {
        "data_dir": str(app_db.settings.data_dir),
        "dsn": app_db.dsn,
        "authenticator_dsn": app_db.authenticator_dsn,
        "sub": str(dba.sub),
        "email": dba.email,
        "sql": f"insert into public.{scratch_table} values (1); select pg_sleep(30)",
    }
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, json.dumps(args)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pid: int | None = None
    try:
        row = running_row(owner_conn, dba.normalized_email, timeout=60)
        pid = int(row["backend_pid"])
        assert row["banco"] == "demo"
        wait_for_state(app_db.dsn, pid, "active", wait_event_type="Timeout")
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        # The app is dead but its backend still sleeps: the run is not declared interrupted while it may still commit.
        assert pm.mark_interrupted_runs() >= 0
        (seen,) = [r for r in pm.history(dba, mine_only=True) if r.id == row["id"]]
        assert seen.status == "running"
        owner_conn.execute("select pg_terminate_backend(%s)", (pid,))
        backend_gone(owner_conn, pid)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(30)
        if pid is not None:
            owner_conn.execute("select pg_terminate_backend(%s)", (pid,))
    # The next start of the app settles it, with nobody reading the history.
    prepare_database(app_db.settings)
    settled = owner_conn.execute(
        "select status, finished_at, erro from public.execucoes_scripts where id = %s", (row["id"],)
    ).fetchone()
    assert settled is not None
    assert settled["status"] == "interrupted" and settled["finished_at"] is not None and settled["erro"]
    (seen,) = [r for r in pm.history(dba, mine_only=True) if r.id == row["id"]]
    assert seen.status == "interrupted"
    audit = start_audit_rows(owner_conn, row["id"])
    assert [(a["actor"], a["details"]["status"]) for a in audit] == [(dba.normalized_email, "running")]
    assert count_rows(demo_conn, scratch_table) == 1


def test_a_history_read_marks_a_run_whose_backend_is_gone(
    app_db: Any, pm: ProjectManager, owner_conn: psycopg.Connection[Any]
) -> None:
    """The check at read time: a running row whose (pid, backend_start) no longer exists shows as interrupted."""
    analyst = user("reader", "analyst")
    with psycopg.connect(app_db.dsn, autocommit=True) as gone:
        pid = gone.info.backend_pid
        started = gone.execute("select backend_start from pg_stat_activity where pid = pg_backend_pid()").fetchone()
    assert started is not None
    backend_gone(owner_conn, pid)
    dead = owner_conn.execute(
        "insert into public.execucoes_scripts (sql_executado, executado_por, status, banco, backend_pid, backend_start)"
        " values ('select pg_sleep(60)', %s, 'running', 'test', %s, %s) returning id",
        (analyst.normalized_email, pid, started[0]),
    ).fetchone()
    # Same pid, another backend_start: a reused pid is not the same backend either.
    alive = owner_conn.execute(
        "insert into public.execucoes_scripts (sql_executado, executado_por, status, banco, backend_pid, backend_start)"
        " values ('select 1', %s, 'running', 'test', pg_backend_pid(),"
        " (select backend_start from pg_stat_activity where pid = pg_backend_pid())) returning id",
        (analyst.normalized_email,),
    ).fetchone()
    assert dead is not None and alive is not None
    statuses = {r.id: r.status for r in pm.history(analyst, mine_only=True)}
    assert statuses == {dead["id"]: "interrupted", alive["id"]: "running"}
    # A finished outcome is final; the live one is finished by its owner path once.
    owner_conn.execute(
        "update public.execucoes_scripts set status = 'success', linhas = 1, finished_at = now() where id = %s",
        (alive["id"],),
    )
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="never changes"):
        owner_conn.execute("update public.execucoes_scripts set status = 'error' where id = %s", (alive["id"],))


def test_runs_on_another_server_are_left_to_their_own_connections_check(
    app_db: Any, pm: ProjectManager, owner_conn: psycopg.Connection[Any]
) -> None:
    """A run on a connection of another server: its pid means nothing in this server's pg_stat_activity, so the
    start-up sweep (and a history read) leave it running; ``mark_interrupted_runs_on`` settles it from the backends
    the app read live on that connection."""
    workspace = workspace_manager(app_db)
    registry = Registry(workspace, SecretBox.from_settings(app_db.settings, embedded=True))
    name = f"remote-{uuid.uuid4().hex[:8]}"
    registry.add(name, ConnectionSecrets("host=/nonexistent port=1 dbname=x user=x"), actor="tests")
    assert not registry.secrets(name)[1], "registered as another server's"
    try:
        me = user("remote", "dba")
        gone_pids = []
        for _ in range(2):  # two backends that no longer exist on this server
            with psycopg.connect(app_db.dsn, autocommit=True) as gone:
                gone_pids.append(gone.info.backend_pid)
        for pid in gone_pids:
            backend_gone(owner_conn, pid)
        dead_pid, live_pid = gone_pids
        started = datetime.now(UTC) - timedelta(minutes=5)

        def insert(banco: str, pid: int) -> int:
            row = owner_conn.execute(
                "insert into public.execucoes_scripts (sql_executado, executado_por, status, banco, backend_pid,"
                " backend_start) values ('select pg_sleep(600)', %s, 'running', %s, %s, %s) returning id",
                (me.normalized_email, banco, pid, started),
            ).fetchone()
            assert row is not None
            return int(row["id"])

        dead_remote, live_remote = insert(name, dead_pid), insert(name, live_pid)
        same_cluster = insert("demo", dead_pid)  # connection demo lives on this server: the sweep's own business

        def status(run_id: int) -> str:
            row = owner_conn.execute("select status from public.execucoes_scripts where id = %s", (run_id,)).fetchone()
            assert row is not None
            return str(row["status"])

        owner_conn.execute("select dba_admin.mark_interrupted_runs()")
        assert (status(dead_remote), status(live_remote), status(same_cluster)) == ("running", "running", "interrupted")
        statuses = {r.id: r.status for r in pm.history(me, mine_only=True)}  # a history read sweeps the same way
        assert (statuses[dead_remote], statuses[live_remote]) == ("running", "running")

        live = [{"pid": live_pid, "backend_start": started.isoformat()}, {"pid": 1, "backend_start": None}]
        swept = owner_conn.execute(
            "select dba_admin.mark_interrupted_runs_on(%s, %s::jsonb) as n", (name, json.dumps(live))
        ).fetchone()
        assert swept is not None and swept["n"] == 1
        assert (status(dead_remote), status(live_remote)) == ("interrupted", "running")
        settled = owner_conn.execute(
            "select finished_at, erro from public.execucoes_scripts where id = %s", (dead_remote,)
        ).fetchone()
        assert settled is not None and settled["finished_at"] is not None and "interrupted" in settled["erro"]
        # the same pid with another backend_start is a reused pid, not the run's backend
        reused = [{"pid": live_pid, "backend_start": (started + timedelta(seconds=1)).isoformat()}]
        owner_conn.execute("select dba_admin.mark_interrupted_runs_on(%s, %s::jsonb)", (name, json.dumps(reused)))
        assert status(live_remote) == "interrupted"
    finally:
        registry.remove(name, actor="tests")
        workspace.close()


def test_normal_runs_finish_their_own_row(pm: ProjectManager, owner_conn: psycopg.Connection[Any]) -> None:
    analyst = user("normal", "analyst")
    project = pm.create_project(analyst, f"p {uuid.uuid4().hex[:6]}")
    script = pm.create_script(analyst, project.id, "one", "select 1 as one")
    outcome = pm.run_script(analyst, script.id)
    assert outcome.ok and outcome.execution is not None
    row = owner_conn.execute(
        "select status, backend_pid, backend_start, banco, app_instance, finished_at"
        " from public.execucoes_scripts where id = %s",
        (outcome.execution.id,),
    ).fetchone()
    assert row is not None and row["status"] == "success" and row["finished_at"] is not None
    assert row["backend_pid"] and row["backend_start"] and row["banco"] == "demo" and row["app_instance"]
    assert outcome.execution.connection == "demo"
    audit = start_audit_rows(owner_conn, outcome.execution.id)
    assert [(a["action"], a["target"], a["details"]["status"]) for a in audit] == [
        ("script.run", f"script:{script.id}", "running")
    ]


def test_the_history_and_script_pages_show_running_and_interrupted_runs(
    app_db: Any, pm: ProjectManager, owner_conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))
    at, username = logged_in_app(app_db.dsn, "analyst")
    with psycopg.connect(app_db.dsn) as conn:
        me = UserStore(conn).get(username).claims
    email = me.normalized_email
    project = pm.create_project(me, f"p {uuid.uuid4().hex[:6]}")
    script = pm.create_script(me, project.id, "nightly", "select 1")
    for status, backend in (("interrupted", "0"), ("running", "pg_backend_pid()")):
        finished = "now()" if status == "interrupted" else "null"
        owner_conn.execute(
            "insert into public.execucoes_scripts (script_id, projeto_id, versao, sql_executado, executado_por, status,"
            " banco, backend_pid, backend_start, finished_at)"
            f" values (%s, %s, 1, 'select 1', %s, %s, 'demo', {backend},"
            f" (select backend_start from pg_stat_activity where pid = pg_backend_pid()), {finished})",
            (script.id, project.id, email, status),
        )
    at.query_params = {}
    at.switch_page("pages/history.py").run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert "1 run(s) still running" in shown and "1 run(s) interrupted" in shown
    assert "whether its statements committed is unknown" in shown
    assert {s.split()[-1] for s in at.dataframe[0].value["status"]} == {"running", "interrupted"}
    at.query_params = {"id": str(script.id)}
    at.switch_page("pages/script.py").run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert "1 run(s) of this script still running" in shown and "1 run(s) interrupted" in shown
