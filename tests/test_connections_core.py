"""The workspace/connections split (issue 11) in the core: the registry, who sees which connection, open pools, and
the wall between a connection's DBA login and the app's own data. Real PostgreSQL; nothing mocked.

* Registry: add/list/get/remove/set_access; the logins' DSNs are Fernet tokens at rest, a wrong key says so.
* RLS on public.conexoes decides which connections a user may use (per role, per email; admins see all).
* Targets: pools opened on first use, at most ``max_open_connections`` managers at once (least recently used closed).
* User SQL never runs on the workspace; the demo's DBA login cannot promote itself, touch the audit log, read password
  hashes or turn off triggers, whether through the app or connected directly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from cryptography.fernet import Fernet
from db_helpers import user, workspace_manager
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

from bench.benchlib import count_round_trips
from dba_admin.auth import UserStore
from dba_admin.config import Settings
from dba_admin.connections import (
    DEMO_CONNECTION,
    ConnectionSecrets,
    Registry,
    SecretBox,
    Targets,
    check_name,
)
from dba_admin.database import DatabaseManager
from dba_admin.errors import ConfigError, DbaAdminError, NotFound, PermissionDenied, QueryError
from dba_admin.local_pg import DBA_ROLE
from dba_admin.projects import ProjectManager
from dba_admin.rls import UserClaims, user_read

# A database nobody answers for: a non-routable address (connecting would wait for the timeout, never fail fast).
BLACKHOLE_DSN = "host=10.255.255.1 port=5432 dbname=nothing user=nobody password=never-used connect_timeout=30"


@pytest.fixture(scope="module")
def workspace(app_db: Any) -> Iterator[DatabaseManager]:
    manager = workspace_manager(app_db)
    yield manager
    manager.close()


@pytest.fixture(scope="module")
def registry(workspace: DatabaseManager) -> Registry:
    """A registry with a key of its own (the demo's registration, sealed with the data dir's key, is left alone)."""
    return Registry(workspace, SecretBox(Fernet.generate_key().decode()))


@pytest.fixture
def names(registry: Registry) -> Iterator[list[str]]:
    """Connection names a test registers; removed afterwards."""
    made: list[str] = []
    yield made
    for name in made:
        with contextlib.suppress(NotFound):
            registry.remove(name, actor="tests")


def new_name(names: list[str], label: str = "conn") -> str:
    name = f"{label}-{uuid.uuid4().hex[:8]}"
    names.append(name)
    return name


def owner_row(app_db: Any, query: str, params: tuple[Any, ...] = ()) -> dict[str, Any] | None:
    with psycopg.connect(app_db.dsn, row_factory=dict_row) as conn:
        return conn.execute(query, params).fetchone()


# --- the registry --------------------------------------------------------------------------------------------------


def test_registry_adds_lists_updates_and_removes_with_secrets_sealed_at_rest(
    app_db: Any, registry: Registry, names: list[str]
) -> None:
    name = new_name(names, "neon")
    password = f"pw-{uuid.uuid4().hex}"
    secrets = ConnectionSecrets(
        monitor=f"host=db.example.com dbname=app user=monitor password={password}",
        readonly=f"host=db.example.com dbname=app user=reader password={password}",
    )
    info = registry.add(name, secrets, actor="admin@example.com", description="Neon main", roles=("dba", "analyst"))
    assert (info.name, info.description, info.roles, info.users) == (name, "Neon main", ("dba", "analyst"), ())
    assert (info.has_readonly, info.has_dba, info.is_workspace, info.created_by) == (
        True,
        False,
        False,
        "admin@example.com",
    )
    assert name in [c.name for c in registry.list()] and DEMO_CONNECTION in [c.name for c in registry.list()]
    assert registry.get(name) == info

    # At rest: tokens, not the DSNs; no password, no host in the stored text.
    stored = owner_row(
        app_db,
        "select monitor_secret, readonly_secret, dba_secret from dba_admin.connections where name = %s",
        (name,),
    )
    assert stored is not None and stored["dba_secret"] is None
    for column in ("monitor_secret", "readonly_secret"):
        token = stored[column]
        assert token and token != secrets.monitor and password not in token and "db.example.com" not in token
    # Decrypted only in the app server's memory, and never shown by repr.
    assert registry.secrets(name) == (secrets, False)
    assert password not in repr(registry.secrets(name)[0])

    with pytest.raises(DbaAdminError, match="already registered"):
        registry.add(name, secrets, actor="admin@example.com")
    with_dba = ConnectionSecrets(secrets.monitor, secrets.readonly, f"host=db.example.com user=dba password={password}")
    assert registry.add(name, with_dba, actor="admin@example.com", replace=True).has_dba
    assert registry.secrets(name)[0].dba == with_dba.dba

    changed = registry.set_access(name, actor="admin@example.com", roles=("dba",), users=[" Ana@Example.com "])
    assert (changed.roles, changed.users) == (("dba",), ("ana@example.com",))
    with pytest.raises(ValueError, match="unknown role"):
        registry.set_access(name, actor="admin@example.com", roles=("root",))
    with pytest.raises(ValueError, match="not valid"):
        check_name("Bad Name!")

    # Every change is audited, and no audit row holds a secret.
    audit = owner_row(
        app_db,
        "select array_agg(action order by id) as actions, string_agg(coalesce(details::text, ''), ' ') as details"
        " from dba_admin.audit_log where target = %s",
        (f"connection:{name}",),
    )
    assert audit is not None
    assert audit["actions"] == ["connection.add", "connection.update", "connection.access"]
    assert password not in audit["details"] and "db.example.com" not in audit["details"]

    registry.remove(name, actor="admin@example.com")
    with pytest.raises(NotFound):
        registry.get(name)
    with pytest.raises(NotFound):
        registry.remove(name, actor="admin@example.com")
    gone = owner_row(app_db, "select count(*) as n from public.conexoes where nome = %s", (name,))
    assert gone == {"n": 0}  # the access row goes with it


def test_a_wrong_or_missing_secrets_key_is_a_clear_config_error(
    app_db: Any, workspace: DatabaseManager, registry: Registry, names: list[str]
) -> None:
    name = new_name(names, "sealed")
    registry.add(name, ConnectionSecrets("host=db.example.com user=m password=s3cret"), actor="tests")
    other_key = Registry(workspace, SecretBox(Fernet.generate_key().decode()))
    with pytest.raises(ConfigError, match="cannot be decrypted with this SECRETS_KEY"):
        other_key.secrets(name)
    with pytest.raises(ConfigError, match="cannot be decrypted with this SECRETS_KEY"):
        Targets(workspace, other_key).get(name)
    with pytest.raises(ConfigError, match="SECRETS_KEY is not a valid key"):
        SecretBox("not-a-fernet-key")
    remote = Settings(database_url=app_db.dsn, data_dir=app_db.settings.data_dir)
    with pytest.raises(ConfigError, match="need SECRETS_KEY"):
        SecretBox.from_settings(remote, embedded=False)
    with pytest.raises(ConfigError, match="need SECRETS_KEY"):
        Registry(workspace, None).add(new_name(names), ConnectionSecrets("host=x"), actor="tests")


# --- who may use which connection: RLS on public.conexoes ------------------------------------------------------------


def test_rls_on_conexoes_decides_who_sees_a_connection(registry: Registry, names: list[str]) -> None:
    granted = user("granted", "analyst")
    mixed_case = UserClaims(sub=granted.sub, email=granted.email.upper(), app_role="analyst")
    for_dbas = new_name(names, "dbas")
    for_one = new_name(names, "one")
    for_nobody = new_name(names, "nobody")
    monitor = ConnectionSecrets("host=db.example.com user=m")
    registry.add(for_dbas, monitor, actor="tests", roles=("dba",))
    registry.add(for_one, monitor, actor="tests", roles=(), users=(granted.email,))
    registry.add(for_nobody, monitor, actor="tests", roles=())
    mine = {for_dbas, for_one, for_nobody}

    def seen(claims: UserClaims) -> set[str]:
        return set(registry.visible_names(claims)) & mine

    assert seen(user("stranger", "analyst")) == set()
    assert seen(granted) == {for_one} and seen(mixed_case) == {for_one}  # by email, whatever its case
    assert seen(user("dba", "dba")) == {for_dbas}  # by role
    assert seen(user("admin", "admin")) == mine  # admins see every connection
    with pytest.raises(PermissionDenied, match="ask an admin"):
        registry.check_access(user("stranger", "analyst"), for_one)
    registry.check_access(granted, for_one)

    # An admin opens it to the analysts: the same stranger now sees it.
    registry.set_access(for_nobody, actor="tests", roles=("analyst",))
    assert seen(user("stranger", "analyst")) == {for_nobody}
    assert [c.name for c in registry.visible(user("stranger", "analyst")) if c.name in mine] == [for_nobody]


def test_the_access_check_every_page_run_makes_is_one_round_trip_as_the_user(
    app_db: Any, registry: Registry, names: list[str]
) -> None:
    """user_read: the role, the claims and the timeout go with the read in one request (a remote workspace pays each
    round trip on every page switch); RLS still decides, and none of it stays on the connection."""
    granted = user("one-trip", "analyst")
    name = new_name(names, "one-trip")
    registry.add(name, ConnectionSecrets("host=db.example.com user=m"), actor="tests", roles=(), users=(granted.email,))
    query = sql.SQL("select nome, current_user as who from public.conexoes where nome = %s")
    with psycopg.connect(app_db.authenticator_dsn) as conn:  # not autocommit, as the pool lends them
        seen: list[list[dict[str, Any]]] = []
        for claims in (granted, user("other", "analyst")):

            def check(c: psycopg.Connection[Any], claims: UserClaims = claims) -> None:
                seen.append(user_read(c, claims, query, (name,)))

            assert count_round_trips(conn, check) == 1
        assert seen == [[{"nome": name, "who": "authenticated"}], []]
        after = conn.execute("select current_user, current_setting('request.jwt.claims', true)").fetchone()
        assert after is not None and after[0] != "authenticated" and not after[1], "nothing outlives the read"
        conn.rollback()
    with psycopg.connect(app_db.dsn) as owner, pytest.raises(DbaAdminError, match="refuses a superuser"):
        user_read(owner, granted, query, (name,))


def test_a_registry_someone_holds_locked_fails_within_the_lock_timeout(app_db: Any, registry: Registry) -> None:
    """The registry's reads (every page lists or opens connections) carry the app's lock timeout: a DBA's open
    ``LOCK TABLE`` gives a QueryError that names the lock within it, not a page that hangs."""
    settings = dataclasses.replace(app_db.settings, lock_timeout_ms=200)
    workspace = workspace_manager(app_db, settings)
    locked = Registry(workspace, registry.box)
    holder = psycopg.connect(app_db.dsn)
    try:
        holder.execute("lock table dba_admin.connections in access exclusive mode")
        started = time.monotonic()
        with pytest.raises(QueryError, match="lock timeout"):
            locked.list()
        assert time.monotonic() - started < 10
    finally:
        holder.rollback()
        holder.close()
        workspace.close()
    assert DEMO_CONNECTION in {c.name for c in registry.list()}, "read as before once the lock is gone"


def test_targets_open_a_connection_for_a_user_only_after_rls_allowed_it(
    app_db: Any, workspace: DatabaseManager, registry: Registry, names: list[str]
) -> None:
    name = new_name(names, "private")
    registry.add(
        name,
        ConnectionSecrets(app_db.demo_monitor_dsn, app_db.demo_readonly_dsn),
        actor="tests",
        roles=("dba",),
    )
    targets = Targets(workspace, registry)
    try:
        with pytest.raises(PermissionDenied):
            targets.for_user(user("analyst", "analyst"), name)
        assert targets.open_names() == []  # refused before anything was opened
        manager = targets.for_user(user("dba", "dba"), name)
        assert manager.name == name and manager.workspace is workspace and not manager.is_workspace
        (res,) = manager.execute_query("select current_user as who", read_only=True)
        assert res.rows.iloc[0, 0] == "dba_admin_readonly"
        assert targets.get(name) is manager  # one manager per connection per app server
    finally:
        targets.close()


# --- pools: lazy, bounded, least recently used closed first --------------------------------------------------------


def _backend_alive(app_db: Any, pid: int) -> bool:
    return owner_row(app_db, "select 1 as one from pg_stat_activity where pid = %s", (pid,)) is not None


def test_targets_keep_at_most_max_open_connections_and_close_the_least_recently_used(
    app_db: Any, workspace: DatabaseManager, names: list[str]
) -> None:
    settings = app_db.settings.with_overrides(max_open_connections=2)
    small = workspace_manager(app_db, settings)
    registry = Registry(small, SecretBox(Fernet.generate_key().decode()))
    a, b, c = (new_name(names, label) for label in ("lru-a", "lru-b", "lru-c"))
    for name in (a, b, c):
        registry.add(name, ConnectionSecrets(app_db.demo_monitor_dsn), actor="tests")
    targets = Targets(small, registry)

    def backend_of(manager: DatabaseManager) -> int:
        with manager.connection() as conn:
            return int(conn.info.backend_pid)

    try:
        first, second = targets.get(a), targets.get(b)
        pid_a, pid_b = backend_of(first), backend_of(second)
        assert targets.get(a) is first  # used again: b is now the least recently used
        assert targets.open_names() == [b, a]
        third = targets.get(c)
        pid_c = backend_of(third)
        assert targets.open_names() == [a, c]
        deadline = time.monotonic() + 10
        while _backend_alive(app_db, pid_b) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _backend_alive(app_db, pid_b), "the evicted connection's pool was not closed"
        assert _backend_alive(app_db, pid_a) and _backend_alive(app_db, pid_c)
        assert backend_of(targets.get(a)) == pid_a  # the kept one still works, on its pooled connection
        again = targets.get(b)  # opened again on demand, a new manager
        assert again is not second and targets.open_names() == [a, b]
    finally:
        targets.close()
        for name in (a, b, c):
            registry.remove(name, actor="tests")
        names.clear()
        small.close()


def test_registering_a_dead_database_costs_nothing_until_it_is_used(
    workspace: DatabaseManager, registry: Registry, names: list[str]
) -> None:
    name = new_name(names, "dead")
    registry.add(name, ConnectionSecrets(BLACKHOLE_DSN, BLACKHOLE_DSN, BLACKHOLE_DSN), actor="tests")
    targets = Targets(workspace, registry)
    try:
        manager = targets.get(name)
        assert manager.has_dba_login and manager.has_readonly_login
        time.sleep(0.3)  # a pool that tried to fill itself would have started by now
        stats = manager.pool_stats()
        # connections_num counts connection attempts: none, so nothing waited on the dead server.
        assert stats.get("pool_size", 0) == 0 and stats.get("connections_num", 0) == 0, stats
        targets.forget(name)
        assert targets.open_names() == []
    finally:
        targets.close()


# --- user SQL runs on a connection, never on the workspace -----------------------------------------------------------


def test_project_manager_refuses_to_run_sql_on_the_workspace(
    app_db: Any, workspace: DatabaseManager, db: DatabaseManager
) -> None:
    dba = user("dba", "dba")
    with pytest.raises(ConfigError, match="never on the app's own database"):
        ProjectManager(workspace).run_adhoc(dba, "select 1", confirm_destructive=True)
    with pytest.raises(ConfigError, match="never on the app's own database"):
        ProjectManager(db).run_adhoc(dba, "select 1", target=db.workspace)
    project_manager = ProjectManager(workspace)
    project = project_manager.create_project(dba, f"p {uuid.uuid4().hex[:6]}")
    script = project_manager.create_script(dba, project.id, "one", "select current_database() as db")
    with pytest.raises(ConfigError, match="never on the app's own database"):
        project_manager.run_script(dba, script.id)
    ran = owner_row(
        app_db, "select count(*) as n from public.execucoes_scripts where executado_por = %s", (dba.normalized_email,)
    )
    assert ran == {"n": 0}, "a refused target records no run"
    # The same script, given a connection, runs there and the run says where.
    outcome = project_manager.run_script(dba, script.id, target=db)
    assert outcome.ok and outcome.execution is not None and outcome.execution.connection == DEMO_CONNECTION
    assert outcome.results[0].rows.iloc[0, 0] == "petcare"
    assert [h.connection for h in project_manager.history(dba, script_id=script.id)] == [DEMO_CONNECTION]


# --- a DBA cannot touch the workspace ------------------------------------------------------------------------------

# What a DBA who wants more than his role must not be able to do to the app's own data.
ATTACKS = {
    "promote self": "update dba_admin.users set role = 'admin' where email = '{email}'",
    "edit audit rows": "update dba_admin.audit_log set actor = 'nobody' where actor = '{email}'",
    "delete audit rows": "delete from dba_admin.audit_log where actor = '{email}'",
    "read password hashes": "select username, password_hash from dba_admin.users",
    "turn off triggers": "set session_replication_role = replica",
}


@pytest.fixture
def dba_user(app_db: Any, workspace: DatabaseManager) -> UserClaims:
    """A real dba of the app (a row in dba_admin.users, with a password hash) and audit rows of his."""
    username = f"dba{uuid.uuid4().hex[:8]}"
    with psycopg.connect(app_db.dsn, autocommit=True) as conn:
        store = UserStore(conn)
        store.create_user(
            actor="tests", username=username, email=f"{username}@example.com", role="dba", password="dba-pass-12345"
        )
        claims = store.get(username).claims
    ProjectManager(workspace).create_project(claims, f"his {uuid.uuid4().hex[:6]}")  # an audit row with him as actor
    return claims


def _state_of(app_db: Any, claims: UserClaims) -> tuple[Any, ...]:
    """The dba's role, the hash of his password and of every audit row of his: what the attacks aim at."""
    row = owner_row(
        app_db,
        "select u.role, u.password_hash,"
        " (select count(*) from dba_admin.audit_log a where a.actor in (u.email, u.username)) as audit_rows,"
        " (select md5(string_agg(a::text, ',' order by a.id)) from dba_admin.audit_log a"
        "   where a.actor in (u.email, u.username))"
        "   as audit_digest"
        " from dba_admin.users u where u.email = %s",
        (claims.normalized_email,),
    )
    assert row is not None
    return row["role"], row["password_hash"], row["audit_rows"], row["audit_digest"]


def test_the_demos_dba_login_cannot_touch_the_workspace(app_db: Any, dba_user: UserClaims) -> None:
    email = dba_user.normalized_email
    before = _state_of(app_db, dba_user)
    # Connected as it is registered, to the demo database: the app's data is not there, and the session-level switch
    # that would disable the audit triggers is a superuser's.
    with psycopg.connect(app_db.demo_dba_dsn, autocommit=True) as conn:
        assert conn.execute("select rolsuper, rolbypassrls from pg_roles where rolname = current_user").fetchone() == (
            False,
            False,
        )
        for what, statement in ATTACKS.items():
            with pytest.raises(psycopg.Error) as refused:
                conn.execute(statement.format(email=email))
            assert refused.value.sqlstate in ("42501", "42P01"), (what, refused.value)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # no bridge to the workspace either
            conn.execute("create extension dblink")
    # Pointed at the workspace database: not even a session.
    database = str(conninfo_to_dict(app_db.dsn)["dbname"])
    workspace_db = app_db.server.login_dsn(DBA_ROLE, database)
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(workspace_db).close()
    # And were CONNECT granted (a remote workspace where PUBLIC keeps it): every attack is still refused.
    grant = sql.SQL("grant connect on database {} to {}").format(sql.Identifier(database), sql.Identifier(DBA_ROLE))
    revoke = sql.SQL("revoke connect on database {} from {}").format(sql.Identifier(database), sql.Identifier(DBA_ROLE))
    with psycopg.connect(app_db.dsn, autocommit=True) as owner:
        owner.execute(grant)
    try:
        with psycopg.connect(workspace_db, autocommit=True) as conn:
            for statement in ATTACKS.values():
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement.format(email=email))
            for statement in (
                "set role authenticated",
                "select * from public.execucoes_scripts",
                "select dba_admin_api.audit('user.set_role', 'admin', '{}', 'x')",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)
    finally:
        with psycopg.connect(app_db.dsn, autocommit=True) as owner:
            owner.execute(revoke)
    assert _state_of(app_db, dba_user) == before


def test_write_mode_sql_of_a_dba_through_the_app_cannot_reach_the_workspace(
    app_db: Any, db: DatabaseManager, dba_user: UserClaims
) -> None:
    before = _state_of(app_db, dba_user)
    pm = ProjectManager(db)
    for what, statement in ATTACKS.items():
        outcome = pm.run_adhoc(dba_user, statement.format(email=dba_user.normalized_email), confirm_destructive=True)
        assert not outcome.read_only, what
        assert outcome.status == "error" and outcome.error is not None, (what, outcome.status)
        assert outcome.error.sqlstate in ("42501", "42P01"), (what, outcome.error)
        assert outcome.execution is not None and outcome.execution.connection == DEMO_CONNECTION
    (res,) = db.execute_query("select current_user, current_database()", read_only=False)
    assert res.rows.iloc[0].tolist() == [DBA_ROLE, "petcare"]
    role, password_hash, audit_rows, _digest = _state_of(app_db, dba_user)
    # The runs were recorded (their "running" audit rows are new); nothing else of his changed.
    assert (role, password_hash) == before[:2] and audit_rows == before[2] + len(ATTACKS)
    with psycopg.connect(app_db.dsn) as conn:
        kept = conn.execute(
            "select md5(string_agg(a::text, ',' order by a.id)) from"
            " (select * from dba_admin.audit_log where actor in"
            "   (%s, (select username from dba_admin.users where email = %s)) order by id limit %s) a",
            (dba_user.normalized_email, dba_user.normalized_email, before[2]),
        ).fetchone()
    assert kept == (before[3],), "an earlier audit row of his changed"
