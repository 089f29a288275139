"""Connections through the CLI, on real servers: a workspace, a PostgreSQL 15 ("Supabase"), pgserver's 16 ("Neon")
and a DSN nobody answers.

The whole flow of issue 11: register, read the setup plan (nothing changes), apply it (logins work, audited, a
second apply re-uses the roles), use a database with only a pg_monitor login, run SQL read-only and as DBA,
``connection list --json``, ``advise --all`` exit codes with a dead connection, remove. And the catalog-identity
test: the read-only commands leave a connection's catalog exactly as it was.

The workspace is a database of its own on the suite's server (a remote workspace, SECRETS_KEY set), so the
connections these tests register are seen by no other module and ``advise --all`` sees only them.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import with_dbname
from cryptography.fernet import Fernet
from extra_servers import ExtraServer, catalog_state
from psycopg import sql

from dba_admin.bootstrap import prepare_database
from dba_admin.cli import main
from dba_admin.config import Settings
from dba_admin.connections import Registry, SecretBox
from dba_admin.database import DatabaseManager

READ_ONLY_COMMANDS = (
    ("tables", "--json"),
    ("health", "--json"),
    ("advise", "--json"),
    ("ask", "which tables hold customers and their orders?", "--offline", "--json"),
    ("snapshot", "--json"),
)


class Workspace:
    """A remote workspace for this module: its DSN, key and settings, and a registry to read what the CLI did."""

    def __init__(self, dsn: str, key: str, authenticator_dsn: str, data_dir: Path) -> None:
        self.dsn = dsn
        self.key = key
        self.authenticator_dsn = authenticator_dsn
        self.data_dir = data_dir

    @property
    def settings(self) -> Settings:
        return Settings(
            database_url=self.dsn,
            secrets_key=self.key,
            authenticator_database_url=self.authenticator_dsn,
            data_dir=self.data_dir,
            load_demo=False,
        )

    def registry(self) -> tuple[Registry, DatabaseManager]:
        manager = DatabaseManager(self.settings, self.dsn, authenticator_dsn=self.authenticator_dsn)
        return Registry(manager, SecretBox(self.key)), manager

    def secrets(self, name: str) -> Any:
        registry, manager = self.registry()
        with manager:
            return registry.secrets(name)[0]

    def audit(self, action: str, target: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn) as conn:
            return conn.execute(
                "select actor, details from dba_admin.audit_log where action = %s and target = %s order by id",
                (action, target),
            ).fetchall()

    def names(self) -> set[str]:
        with psycopg.connect(self.dsn) as conn:
            return {r[0] for r in conn.execute("select name from dba_admin.connections").fetchall()}


@pytest.fixture(scope="module")
def workspace(app_db: Any, pg_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    name = f"ws_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    dsn = with_dbname(pg_server.dsn, name)
    ws = Workspace(dsn, Fernet.generate_key().decode(), app_db.authenticator_dsn, tmp_path_factory.mktemp("ws"))
    # The suite's authenticator login is reused: roles are cluster-wide (see test_advisors._prepared_remote).
    prepare_database(ws.settings)
    registry, manager = ws.registry()
    with manager:
        for info in registry.list():  # connection `default` (the workspace itself): these tests register their own
            registry.remove(info.name, actor="test")
    yield ws
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture
def cli(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    for var in ("READONLY_DATABASE_URL", "DBA_DATABASE_URL", "DBA_ADMIN_CONNECTION", "EXPOSED_SCHEMAS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DATABASE_URL", workspace.dsn)
    monkeypatch.setenv("SECRETS_KEY", workspace.key)
    monkeypatch.setenv("AUTHENTICATOR_DATABASE_URL", workspace.authenticator_dsn)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(workspace.data_dir))
    return workspace


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def monitor_only_login(target: ExtraServer, role: str) -> str:
    """A login made by hand as a careful DBA would: pg_monitor, CONNECT, USAGE and SELECT on public; nothing else."""
    password = uuid.uuid4().hex
    with psycopg.connect(target.superuser_dsn, autocommit=True) as conn:
        ident = sql.Identifier(role)
        conn.execute(sql.SQL("create role {} login password {}").format(ident, sql.Literal(password)))
        conn.execute(sql.SQL("grant pg_monitor to {}").format(ident))
        conn.execute(sql.SQL("grant usage on schema public to {}").format(ident))
        conn.execute(sql.SQL("grant select on all tables in schema public to {}").format(ident))
        conn.execute(sql.SQL("grant usage on schema extensions to {}").format(ident))
    return target.dsn_for(role, password)


def role_facts(dsn: str, role: str) -> dict[str, Any]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "select r.rolsuper, r.rolcanlogin, r.rolcreaterole, r.rolbypassrls, coalesce(r.rolconfig, '{}'),"
            " array(select g.rolname from pg_auth_members m join pg_roles g on g.oid = m.roleid"
            "       where m.member = r.oid order by 1)"
            " from pg_roles r where r.rolname = %s",
            (role,),
        ).fetchone()
    assert row is not None, f"role {role} does not exist"
    return {
        "super": row[0],
        "login": row[1],
        "createrole": row[2],
        "bypassrls": row[3],
        "config": list(row[4]),
        "member_of": list(row[5]),
    }


def whoami(dsn: str) -> tuple[str, str]:
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        row = conn.execute("select current_user, current_setting('default_transaction_read_only')").fetchone()
    assert row is not None
    return str(row[0]), str(row[1])


# ---------------------------------------------------------------------------------------------------------------
# connection add / list / remove
# ---------------------------------------------------------------------------------------------------------------


def test_add_checks_the_login_warns_and_never_prints_a_password(
    cli: Workspace, supabase_pg: ExtraServer, unreachable_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"sb-super-{uuid.uuid4().hex[:6]}"
    password = supabase_pg.server.superuser_password_file.read_text().strip()
    code, out, err = run(capsys, "connection", "add", name, "--dsn", supabase_pg.superuser_dsn, "--roles", "admin,dba")
    assert code == 0, err
    assert f"connection {name} registered" in out and "logins: monitor" in out
    assert "is a SUPERUSER" in err  # a warning, not a failure
    assert password not in out + err
    code, out, _ = run(capsys, "connection", "list", "--json")
    listed = {c["name"]: c for c in json.loads(out)}
    assert listed[name]["roles"] == ["admin", "dba"] and listed[name]["logins"] == ["monitor"]
    assert listed[name]["is_workspace"] is False
    assert password not in out and "dsn" not in json.dumps(listed[name]).lower()
    code, out, err = run(capsys, "connection", "add", name, "--dsn", supabase_pg.superuser_dsn)
    assert code == 2 and "already registered" in err

    # A DSN that does not connect: refused, nothing registered, the password not echoed.
    code, out, err = run(capsys, "connection", "add", "never-added", "--dsn", unreachable_dsn)
    assert code == 2 and "does not work" in err and "--no-check" in err
    assert "password=nothing" not in err and "never-added" not in cli.names()
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err

    code, out, _ = run(capsys, "connection", "remove", name)
    assert code == 0 and name not in cli.names()
    assert cli.audit("connection.remove", f"connection:{name}") or cli.audit(
        "connection.delete", f"connection:{name}"
    ), "removing is audited"


def test_add_warns_when_a_monitor_login_can_write(
    cli: Workspace, neon_pg: ExtraServer, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"neon-owner-{uuid.uuid4().hex[:6]}"
    code, out, err = run(capsys, "connection", "add", name, "--dsn", neon_pg.admin_dsn, "--no-check")
    assert code == 0 and "(not checked)" in out and "warning" not in err
    code, out, err = run(capsys, "connection", "add", name, "--dsn", neon_pg.admin_dsn, "--replace")
    assert code == 0, err
    assert "can write" in err and "CREATEROLE" in err and "INSERT/UPDATE/DELETE/TRUNCATE" in err
    assert neon_pg.admin_password not in out + err
    assert run(capsys, "connection", "remove", name)[0] == 0


# ---------------------------------------------------------------------------------------------------------------
# connection setup: plan, apply, apply again
# ---------------------------------------------------------------------------------------------------------------


def test_setup_prints_the_plan_and_changes_nothing(
    cli: Workspace, supabase_pg: ExtraServer, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"sb-plan-{uuid.uuid4().hex[:6]}"
    role = f"dba_admin_{name.replace('-', '_')}"
    before = catalog_state(supabase_pg.superuser_dsn)
    registered = cli.names()
    setups = len(cli.audit("connection.setup", f"connection:{name}"))
    code, out, err = run(capsys, "connection", "setup", name, "--admin-dsn", supabase_pg.admin_dsn, "--with-dba")
    assert code == 0, err
    assert f'CREATE ROLE "{role}_monitor" WITH LOGIN NOSUPERUSER' in out
    assert f'GRANT pg_monitor TO "{role}_monitor"' in out and "PASSWORD '********'" in out
    assert "ALTER DEFAULT PRIVILEGES FOR ROLE" in out and 'GRANT SELECT ON ALL TABLES IN SCHEMA "public"' in out
    assert "default_transaction_read_only = on" in out and "statement_timeout" in out
    assert "idle_in_transaction_session_timeout" in out
    assert "GRANT pg_signal_backend TO" in out and "GRANT pg_read_all_stats TO" in out
    assert "NOT granted (by design)" in out  # the DBA login's schema rights are the admin's choice
    assert f'GRANT USAGE ON SCHEMA "extensions" TO "{role}_monitor"' in out  # pg_stat_statements, as on Supabase
    assert "do NOT grant postgres" in out  # the schema owner is a superuser: never suggested as a membership
    assert "authenticated" not in out.split("What a DBA may want to tighten")[0].replace("never an API role", "")
    assert "REVOKE EXECUTE" not in out and "pg_terminate_backend" not in out
    assert "nothing was run" in err and "--apply" in err
    password = supabase_pg.server.superuser_password_file.read_text().strip()
    assert password not in out + err
    # Nothing written anywhere: not on the target, not in the registry, not in the audit log.
    assert catalog_state(supabase_pg.superuser_dsn) == before
    assert cli.names() == registered
    assert len(cli.audit("connection.setup", f"connection:{name}")) == setups

    code, out, _ = run(capsys, "connection", "setup", name, "--admin-dsn", supabase_pg.admin_dsn, "--json")
    plan = json.loads(out)
    assert code == 0 and plan["database"] == "shop" and plan["schemas"] == ["public"]
    assert {login["kind"] for login in plan["logins"]} == {"monitor", "readonly"}
    assert all("'********'" in s for s in plan["statements"] if "PASSWORD" in s)
    assert catalog_state(supabase_pg.superuser_dsn) == before

    code, _, err = run(capsys, "connection", "setup", name, "--admin-dsn", supabase_pg.admin_dsn, "--schemas", "nope")
    assert code == 2 and "nope" in err and "--schemas" in err


def test_setup_apply_creates_working_logins_and_is_idempotent(
    cli: Workspace, supabase_pg: ExtraServer, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"sb-{uuid.uuid4().hex[:6]}"
    stem = f"dba_admin_{name.replace('-', '_')}"
    args = ("connection", "setup", name, "--admin-dsn", supabase_pg.admin_dsn, "--with-dba", "--apply")
    code, out, err = run(capsys, *args, "--description", "Supabase project (PG15)")
    assert code == 0, err
    assert "applied in one transaction" in out and f"connection {name} registered" in out
    assert "PASSWORD '********'" in out
    secrets = cli.secrets(name)
    for dsn in (secrets.monitor, secrets.readonly, secrets.dba):
        password = psycopg.conninfo.conninfo_to_dict(dsn)["password"]
        assert password and str(password) not in out + err, "a password is shown only with --show-passwords"
    # The logins work and are what they must be.
    assert whoami(secrets.monitor) == (f"{stem}_monitor", "on")
    assert whoami(secrets.readonly) == (f"{stem}_readonly", "on")
    assert whoami(secrets.dba) == (f"{stem}_dba", "off")
    monitor = role_facts(supabase_pg.superuser_dsn, f"{stem}_monitor")
    readonly = role_facts(supabase_pg.superuser_dsn, f"{stem}_readonly")
    dba = role_facts(supabase_pg.superuser_dsn, f"{stem}_dba")
    assert monitor["member_of"] == ["pg_monitor"] and not monitor["super"]
    assert readonly["member_of"] == [] and not readonly["super"] and not readonly["bypassrls"]
    assert {"default_transaction_read_only=on", "statement_timeout=30000ms"} <= set(readonly["config"])
    assert "idle_in_transaction_session_timeout=60000ms" in readonly["config"]
    assert dba["member_of"] == ["pg_read_all_stats", "pg_signal_backend"] and not dba["super"]
    assert not dba["createrole"]
    # Audited, without a secret.
    rows = cli.audit("connection.setup", f"connection:{name}")
    assert len(rows) == 1
    details = rows[0][1]
    assert details["schemas"] == ["public"] and details["database"] == "shop"
    assert sorted(details["roles_created"]) == sorted([f"{stem}_monitor", f"{stem}_readonly", f"{stem}_dba"])
    assert details["roles_updated"] == []
    for dsn in (secrets.monitor, secrets.readonly, secrets.dba):
        assert str(psycopg.conninfo.conninfo_to_dict(dsn)["password"]) not in json.dumps(details)

    # Again: the roles are re-used and their passwords rotated, not an error.
    code, out, err = run(capsys, *args, "--show-passwords")
    assert code == 0, err
    assert "(exists: re-used, password rotated)" in out and f"connection {name} updated" in out
    rotated = cli.secrets(name)
    assert str(psycopg.conninfo.conninfo_to_dict(rotated.monitor)["password"]) in out  # shown this once
    assert whoami(rotated.monitor)[0] == f"{stem}_monitor"
    with pytest.raises(psycopg.OperationalError):
        whoami(secrets.monitor)  # the old password is gone
    rows = cli.audit("connection.setup", f"connection:{name}")
    assert len(rows) == 2 and rows[1][1]["roles_created"] == [] and len(rows[1][1]["roles_updated"]) == 3

    # Used as a connection: the monitor reads, analysts' SQL is read-only, the DBA may only what was granted.
    code, out, err = run(capsys, "--connection", name, "tables", "--json")
    assert code == 0, err
    names = {(t["schema"], t["name"]) for t in json.loads(out)}
    assert {("public", "customers"), ("public", "orders"), ("public", "order_totals")} <= names
    code, out, err = run(capsys, "health", "--connection", name, "--json")
    health = json.loads(out)
    assert code == 0, health
    assert health["connection"]["readonly_ok"] is True and health["connection"]["dba_login"] is True
    assert health["connection"]["pg_stat_statements"]["available"] is True
    assert health["connection"]["server_version"].startswith("15")

    code, out, _ = run(
        capsys, "sql", "--connection", name, "--read-only", "--json", "select count(*) as n from public.customers"
    )
    assert code == 0 and json.loads(out)[0]["rows"] == [{"n": 50}]
    code, out, _ = run(
        capsys, "sql", "--connection", name, "--read-only", "--json", "delete from public.orders where id = 1"
    )
    assert code == 1 and json.loads(out)[0]["error"]["sqlstate"] == "25006"
    code, out, _ = run(
        capsys, "sql", "--connection", name, "--json", "insert into public.customers (email) values ('x@example.com')"
    )
    assert code == 1 and json.loads(out)[0]["error"]["sqlstate"] == "42501", "no schema right unless granted"
    with psycopg.connect(supabase_pg.superuser_dsn, autocommit=True) as conn:  # the admin grants what he chooses
        conn.execute(sql.SQL("grant insert on public.customers to {}").format(sql.Identifier(f"{stem}_dba")))
    code, out, err = run(
        capsys,
        "sql",
        "--connection",
        name,
        "--json",
        "insert into public.customers (email) values ('dba@example.com'); select current_user as u",
    )
    results = json.loads(out)
    assert code == 0, err
    assert results[0]["affected_rows"] == 1 and results[1]["rows"] == [{"u": f"{stem}_dba"}]
    with psycopg.connect(supabase_pg.superuser_dsn, autocommit=True) as conn:
        conn.execute("delete from public.customers where email = 'dba@example.com'")


def test_setup_on_pg16_with_an_admin_that_is_not_a_superuser(
    cli: Workspace, neon_pg: ExtraServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert neon_pg.version == 16
    name = f"neon-{uuid.uuid4().hex[:6]}"
    stem = f"dba_admin_{name.replace('-', '_')}"
    before = catalog_state(neon_pg.superuser_dsn)
    code, out, err = run(capsys, "connection", "setup", name, "--admin-dsn", neon_pg.admin_dsn)
    assert code == 0, err
    assert "run by neon_admin" in out and catalog_state(neon_pg.superuser_dsn) == before
    for _ in range(2):  # apply, then apply again (ALTER ROLE by a non-superuser: no SUPERUSER/BYPASSRLS words)
        code, out, err = run(capsys, "connection", "setup", name, "--admin-dsn", neon_pg.admin_dsn, "--apply")
        assert code == 0, err
    assert "ALTER ROLE" in out and "NOSUPERUSER" not in out.split("read-only login:")[0].split("monitor login:")[1]
    secrets = cli.secrets(name)
    assert secrets.dba is None
    assert whoami(secrets.monitor) == (f"{stem}_monitor", "on")
    code, out, err = run(capsys, "tables", "--connection", name, "--json")
    assert code == 0 and {"customers", "orders"} <= {t["name"] for t in json.loads(out)}
    code, out, err = run(capsys, "health", "--connection", name, "--json")
    health = json.loads(out)
    assert code == 0, health
    assert health["connection"]["server_version"].startswith("16") and health["connection"]["dba_login"] is False
    code, _, err = run(capsys, "sql", "--connection", name, "select 1")  # no DBA login registered: one clear line
    assert code == 2 and "has no DBA login" in err and "Traceback" not in err


# ---------------------------------------------------------------------------------------------------------------
# Monitor only: the read-only commands never write to the connection
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture
def monitor_connection(cli: Workspace, supabase_pg: ExtraServer, capsys: pytest.CaptureFixture[str]) -> Iterator[str]:
    name = f"sb-mon-{uuid.uuid4().hex[:6]}"
    dsn = monitor_only_login(supabase_pg, name.replace("-", "_"))
    code, _, err = run(capsys, "connection", "add", name, "--dsn", dsn, "--description", "pg_monitor only")
    assert code == 0 and "warning" not in err, err
    yield name
    run(capsys, "connection", "remove", name)


def test_read_only_commands_leave_the_catalog_identical(
    cli: Workspace, supabase_pg: ExtraServer, monitor_connection: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in READ_ONLY_COMMANDS:
        before = catalog_state(supabase_pg.superuser_dsn)
        code, out, err = run(capsys, command[0], "--connection", monitor_connection, *command[1:])
        after = catalog_state(supabase_pg.superuser_dsn)
        assert after == before, (
            f"{command[0]} changed the catalog: added {sorted(set(after) - set(before))},"
            f" removed {sorted(set(before) - set(after))}"
        )
        assert code in (0, 1), f"{command[0]} failed: {err}"
        assert "Traceback" not in err
        assert json.loads(out) is not None
    # what they did store went to the workspace, under the connection's name
    with psycopg.connect(cli.dsn) as conn:
        row = conn.execute(
            "select count(*) from dba_admin.snapshots where connection_name = %s", (monitor_connection,)
        ).fetchone()
    assert row is not None and row[0] == 1


def test_monitor_only_connection_serves_tables_health_and_advise(
    cli: Workspace, monitor_connection: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "tables", "--connection", monitor_connection)
    assert code == 0 and out.startswith(f"connection {monitor_connection}: ") and "public.customers" in out
    code, out, err = run(capsys, "health", "--connection", monitor_connection, "--json")
    report = json.loads(out)
    assert code == 0, report
    connection = report["connection"]
    assert connection["readonly_login"] is False and "no read-only login" in connection["readonly_message"]
    assert connection["pg_stat_statements"]["available"] is True
    code, out, err = run(capsys, "advise", "--connection", monitor_connection, "--json", "--fail-on", "ERROR")
    report = json.loads(out)
    failed = [f for f in report["findings"] if f.get("check_failed")]
    assert failed == [], "every check runs with a pg_monitor login"
    assert code == 0, [f["name"] for f in report["findings"] if f["level"] == "ERROR"]
    code, _, err = run(capsys, "sql", "--connection", monitor_connection, "--read-only", "select 1")
    assert code == 2 and "read-only" in err and "Traceback" not in err


# ---------------------------------------------------------------------------------------------------------------
# advise --all
# ---------------------------------------------------------------------------------------------------------------


def test_advise_all_reports_every_connection_and_a_dead_one_fails_fast(
    cli: Workspace,
    supabase_pg: ExtraServer,
    neon_pg: ExtraServer,
    unreachable_dsn: str,
    monitor_connection: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    suffix = uuid.uuid4().hex[:6]
    neon, dead = f"neon-all-{suffix}", f"dead-{suffix}"
    code, _, err = run(capsys, "connection", "setup", neon, "--admin-dsn", neon_pg.admin_dsn, "--apply")
    assert code == 0, err
    code, _, err = run(capsys, "connection", "add", dead, "--dsn", unreachable_dsn, "--no-check")
    assert code == 0, err
    mine = {monitor_connection, neon, dead}
    try:
        code, out, err = run(capsys, "connection", "list", "--json")
        listed = {c["name"]: c for c in json.loads(out)}
        assert mine <= set(listed)
        assert listed[neon]["logins"] == ["monitor", "readonly"] and listed[dead]["logins"] == ["monitor"]

        monkeypatch.setenv("FLEET_TIMEOUT_S", "5")
        code, out, err = run(capsys, "advise", "--all", "--json", "--fail-on", "error")
        report = json.loads(out)
        by_name = {c["connection"]: c for c in report["connections"]}
        assert code == 1 and report["ok"] is False and report["fail_on"] == "ERROR"
        assert by_name[dead]["status"] == "unreachable" and by_name[dead]["fails"] is True
        assert "refused" in by_name[dead]["message"].lower()
        for name in (monitor_connection, neon):
            assert by_name[name]["status"] == "ok", by_name[name]
            assert by_name[name]["fails"] is False, by_name[name]["counts"]
            assert by_name[name]["report"]["findings"] is not None

        code, out, err = run(capsys, "advise", "--all")  # for people: a table, the dead one named
        assert code == 1 and "CONNECTION" in out and dead in out and "unreachable" in out
        assert f"failing: {dead}" in out

        run(capsys, "connection", "remove", dead)
        code, out, err = run(capsys, "advise", "--all", "--json", "--fail-on", "error")
        report = json.loads(out)
        assert code == (1 if any(c["fails"] for c in report["connections"]) else 0)
        assert {c["connection"] for c in report["connections"]} >= {monitor_connection, neon}
        assert code == 0, [(c["connection"], c["status"], c["counts"]) for c in report["connections"] if c["fails"]]

        code, _, err = run(capsys, "advise", "--all", "--connection", neon)
        assert code == 2 and "leave out --connection" in err
    finally:
        for name in (neon, dead):
            run(capsys, "connection", "remove", name)


def test_advise_all_is_not_slowed_by_a_slow_or_silent_connection(
    cli: Workspace,
    supabase_pg: ExtraServer,
    neon_pg: ExtraServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A database whose catalog reads wait on a lock (slow) and a port that accepts but never answers (silent):
    each is reported at --timeout, and a healthy one in the same run answers in its usual time."""
    suffix = uuid.uuid4().hex[:6]
    slow, silent, healthy = f"slow-{suffix}", f"silent-{suffix}", f"healthy-{suffix}"
    dsn = monitor_only_login(supabase_pg, slow.replace("-", "_"))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # the kernel completes the TCP handshakes; nothing ever reads or answers
    port = listener.getsockname()[1]
    assert run(capsys, "connection", "add", slow, "--dsn", dsn)[0] == 0
    assert run(capsys, "connection", "add", silent, "--no-check", "--dsn", f"host=127.0.0.1 port={port} user=x")[0] == 0
    assert run(capsys, "connection", "add", healthy, "--dsn", neon_pg.admin_dsn)[0] == 0
    blocker = psycopg.connect(supabase_pg.superuser_dsn)
    try:
        # Planning any query reads pg_statistic: with it locked, every check on `shop` waits (a slow database).
        blocker.execute("lock table pg_catalog.pg_statistic in access exclusive mode")
        # No wall-clock assertion (the machine is shared): the statuses say each limit was applied, and the
        # healthy one answering "ok" under the same 2 s limit says the others did not hold it up.
        code, out, _ = run(capsys, "advise", "--all", "--json", "--timeout", "2")
        by_name = {c["connection"]: c for c in json.loads(out)["connections"]}
        assert code == 1
        assert by_name[slow]["status"] == "timeout" and "2 s" in by_name[slow]["message"], by_name[slow]
        assert by_name[silent]["status"] in ("timeout", "unreachable"), by_name[silent]
        assert by_name[silent]["fails"] is True
        assert by_name[healthy]["status"] == "ok", by_name[healthy]
    finally:
        blocker.close()
        listener.close()
        for name in (slow, silent, healthy):
            run(capsys, "connection", "remove", name)
