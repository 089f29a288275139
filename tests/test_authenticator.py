"""Per-user (RLS) transactions run on the unprivileged authenticator login, never on the owner behind SET ROLE.

The red-team case: a schema owner who is not a superuser plants a view whose function runs ``RESET ROLE`` and then
``COPY ... TO PROGRAM`` (or reads the password hashes). A viewer previews that view in the explorer. On the owner
connection with ``SET LOCAL ROLE authenticated`` the command ran as the OS user ``postgres``; on the authenticator
login ``RESET ROLE`` falls back to a role with no rights, and both attacks are refused by the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from db_helpers import demo_manager
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from bench.benchlib import count_round_trips
from dba_admin import browse
from dba_admin.database import DatabaseManager
from dba_admin.errors import DbaAdminError, QueryError
from dba_admin.local_pg import AUTHENTICATOR_ROLE
from dba_admin.projects import ProjectManager
from dba_admin.rls import UserClaims, user_transaction


def claims(app_role: str) -> UserClaims:
    email = f"{app_role}-{uuid.uuid4().hex[:8]}@example.com"
    return UserClaims(sub=uuid.uuid5(uuid.NAMESPACE_URL, email), email=email, app_role=app_role)


def plant_hostile_schema(dsn: str) -> tuple[str, str, Path]:
    """A schema owned by a non-superuser, with views whose functions try to escape through RESET ROLE."""
    suffix = uuid.uuid4().hex[:8]
    schema, owner = f"ns_{suffix}", f"schema_owner_{suffix}"
    marker = Path(f"/tmp/dba-admin-pwned-{suffix}")
    program = f"touch {marker}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(owner)))
        conn.execute(sql.SQL("create schema {} authorization {}").format(sql.Identifier(schema), sql.Identifier(owner)))
        with conn.transaction():
            conn.execute(sql.SQL("set local role {}").format(sql.Identifier(owner)))
            conn.execute(
                sql.SQL(
                    "create function {s}.run_program() returns int language plpgsql as $f$"
                    " begin execute 'reset role'; execute {copy}; return 1; end $f$"
                ).format(
                    s=sql.Identifier(schema),
                    copy=sql.Literal(f"copy (select 1) to program {sql.quote(program)}"),
                )
            )
            conn.execute(
                sql.SQL(
                    "create function {s}.read_hashes() returns text language plpgsql as $f$"
                    " declare h text; begin execute 'reset role';"
                    " select string_agg(password_hash, ',') into h from dba_admin.users; return h; end $f$"
                ).format(s=sql.Identifier(schema))
            )
            conn.execute(sql.SQL("create view {s}.v as select {s}.run_program() as x").format(s=sql.Identifier(schema)))
            conn.execute(
                sql.SQL("create view {s}.hashes as select {s}.read_hashes() as h").format(s=sql.Identifier(schema))
            )
            conn.execute(sql.SQL("grant usage on schema {} to public").format(sql.Identifier(schema)))
            conn.execute(sql.SQL("grant select on all tables in schema {} to public").format(sql.Identifier(schema)))
    return schema, owner, marker


def remove_hostile_schema(dsn: str, schema: str, owner: str, marker: Path) -> None:
    marker.unlink(missing_ok=True)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("drop role {}").format(sql.Identifier(owner)))


@pytest.fixture(scope="module")
def monitor_db(app_db: Any) -> Iterator[DatabaseManager]:
    """Connection demo with its real monitor login, as the app opens it (DBAs' previews run on it)."""
    manager = demo_manager(app_db, monitor=True)
    yield manager
    manager.close()


@pytest.fixture
def hostile_schema(app_db: Any) -> Iterator[tuple[str, Path]]:
    """The hostile schema in the demo database, where previews run."""
    schema, owner, marker = plant_hostile_schema(app_db.demo_dsn)
    yield schema, marker
    remove_hostile_schema(app_db.demo_dsn, schema, owner, marker)


@pytest.mark.parametrize("app_role", ["viewer", "analyst", "dba"])
def test_a_hostile_view_cannot_run_a_program_through_a_users_preview(
    monitor_db: DatabaseManager, hostile_schema: tuple[str, Path], app_role: str
) -> None:
    # viewers and analysts preview on the read-only login, DBAs on the monitor login: neither is a superuser
    schema, marker = hostile_schema
    with pytest.raises(QueryError) as caught:
        browse.preview_as(monitor_db, claims(app_role), schema, "v")
    assert caught.value.info.sqlstate == "42501", caught.value.info
    assert not marker.exists(), "COPY TO PROGRAM ran: the preview had a superuser to fall back on"


def test_a_hostile_view_cannot_read_password_hashes_through_a_users_preview(
    monitor_db: DatabaseManager, hostile_schema: tuple[str, Path]
) -> None:
    # On a connection the app's users are not even in the database: they live in the workspace.
    schema, _marker = hostile_schema
    for role in ("viewer", "dba"):
        with pytest.raises(QueryError) as caught:
            browse.preview_as(monitor_db, claims(role), schema, "hashes")
        assert caught.value.info.sqlstate == "42P01", caught.value.info
        assert "dba_admin.users" in caught.value.info.message


def test_on_connection_default_a_hostile_view_cannot_read_the_workspaces_hashes(
    app_db: Any, empty_db_dsn: str, tmp_path: Path
) -> None:
    """The single-database setup: a remote workspace that is also connection `default`, so the app's password hashes
    are in the very database previews read. A viewer's preview runs on the read-only login and is refused them."""
    from dba_admin.bootstrap import prepare_database
    from dba_admin.config import Settings
    from dba_admin.connections import DEFAULT_CONNECTION, Registry, Targets

    dbname = str(conninfo_to_dict(empty_db_dsn)["dbname"])
    remote = Settings(
        database_url=empty_db_dsn,
        readonly_database_url=app_db.server.readonly_dsn(dbname),
        load_demo=False,
        data_dir=tmp_path,
    )
    try:
        prepared = prepare_database(remote)
        workspace = DatabaseManager(remote, prepared.dsn, authenticator_dsn=prepared.authenticator_dsn)
        targets = Targets(workspace, Registry(workspace, None))
        try:
            default = targets.get(DEFAULT_CONNECTION)
            assert targets.registry.get(DEFAULT_CONNECTION).is_workspace
            schema, owner, marker = plant_hostile_schema(empty_db_dsn)
            try:
                for view in ("hashes", "v"):
                    with pytest.raises(QueryError) as caught:
                        browse.preview_as(default, claims("viewer"), schema, view)
                    assert caught.value.info.sqlstate == "42501", caught.value.info
                assert not marker.exists()
            finally:
                remove_hostile_schema(empty_db_dsn, schema, owner, marker)
        finally:
            targets.close()
            workspace.close()
    finally:
        # Roles are cluster-wide: give the suite's embedded workspace its own passwords back.
        prepare_database(app_db.settings)


def test_reset_role_in_a_user_transaction_lands_on_a_role_without_rights(db: DatabaseManager) -> None:
    # per-user transactions are the workspace's (the app's own data); a connection has no authenticator login
    with db.workspace.user_connection() as conn, user_transaction(conn, claims("viewer")) as cur:
        cur.execute("reset role")
        cur.execute("select current_user, session_user")
        assert cur.fetchone() == (AUTHENTICATOR_ROLE, AUTHENTICATOR_ROLE)
        cur.execute(
            "select has_schema_privilege('dba_admin', 'USAGE'),"
            " has_table_privilege('public.projetos_analytics', 'SELECT')"
        )
        assert cur.fetchone() == (False, False)


def test_the_authenticator_login_has_no_privilege_of_its_own(app_db: Any) -> None:
    with psycopg.connect(app_db.dsn, autocommit=True) as conn:
        row = conn.execute(
            "select rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication, rolcanlogin"
            " from pg_roles where rolname = %s",
            (AUTHENTICATOR_ROLE,),
        ).fetchone()
        memberships = conn.execute(
            "select array_agg(r.rolname order by r.rolname) from pg_auth_members m"
            " join pg_roles r on r.oid = m.roleid join pg_roles u on u.oid = m.member where u.rolname = %s",
            (AUTHENTICATOR_ROLE,),
        ).fetchone()
    assert row == (False, False, False, False, False, False, True)
    assert memberships == (["anon", "authenticated"],)


def test_user_transaction_refuses_a_superuser_base(app_db: Any) -> None:
    with (
        psycopg.connect(app_db.dsn) as conn,
        pytest.raises(DbaAdminError, match="superuser"),
        user_transaction(conn, claims("viewer")),
    ):
        pass


def test_a_user_transaction_begins_with_its_role_and_claims_in_one_round_trip(db: DatabaseManager) -> None:
    """BEGIN travels with the role, the claims and the timeouts: a read as the user is three requests (that, the
    read, COMMIT), not four. An error rolls it back; either way nothing stays on the pooled connection."""
    user = claims("viewer")
    with db.workspace.user_connection() as conn:
        autocommit = conn.autocommit
        seen: list[Any] = []

        def read(c: psycopg.Connection[Any]) -> None:
            with user_transaction(c, user, statement_timeout_ms=1234) as cur:
                cur.execute("select current_user, current_setting('statement_timeout'), auth.email()")
                seen.append(cur.fetchone())

        assert count_round_trips(conn, read) == 3
        assert seen == [("authenticated", "1234ms", user.normalized_email)]
        with pytest.raises(psycopg.errors.DivisionByZero), user_transaction(conn, user) as cur:
            cur.execute("select 1 / 0")
        assert conn.autocommit == autocommit and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with conn.transaction():
            row = conn.execute("select current_user, current_setting('request.jwt.claims', true)").fetchone()
        assert row is not None and row[0] == AUTHENTICATOR_ROLE and not row[1]


def test_a_users_change_is_audited_with_the_actor_from_the_claims(app_db: Any, db: DatabaseManager) -> None:
    user = claims("analyst")
    project = ProjectManager(db).create_project(user, f"audited {uuid.uuid4().hex[:6]}")
    with psycopg.connect(app_db.dsn) as conn:
        row = conn.execute(
            "select actor, action from dba_admin.audit_log where action = 'project.create' and target like %s"
            " order by id desc limit 1",
            (f"%{project.id}%",),
        ).fetchone()
    assert row == (user.normalized_email, "project.create")


def test_the_audit_door_refuses_other_actions_and_callers_without_claims(db: DatabaseManager) -> None:
    with db.workspace.user_connection() as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege), user_transaction(conn, claims("viewer")) as cur:
            cur.execute("select dba_admin_api.audit('user.set_role', 'admin', '{}', 'x')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute("set local role authenticated")
            conn.execute("select dba_admin_api.audit('project.create', 'p', '{}', 'x')")
        # Without SET ROLE the login itself may not even call it.
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute("select dba_admin_api.audit('project.create', 'p', '{}', 'x')")


def test_login_dsn_keeps_the_server_and_the_poolers_project_suffix() -> None:
    from psycopg.conninfo import conninfo_to_dict

    from dba_admin.bootstrap import login_dsn

    pooled = "postgresql://postgres.abcdef:secret@aws-0-eu.pooler.supabase.com:6543/postgres?sslmode=require"
    params = conninfo_to_dict(login_dsn(pooled, AUTHENTICATOR_ROLE, "pw"))
    assert params["user"] == f"{AUTHENTICATOR_ROLE}.abcdef"
    assert (params["host"], params["port"], params["dbname"], params["sslmode"], params["password"]) == (
        "aws-0-eu.pooler.supabase.com",
        "6543",
        "postgres",
        "require",
        "pw",
    )
    assert conninfo_to_dict(login_dsn("host=db user=postgres", AUTHENTICATOR_ROLE, "pw"))["user"] == AUTHENTICATOR_ROLE


def test_a_remote_workspace_gets_an_authenticator_login_shared_through_the_database(
    app_db: Any, empty_db_dsn: str, tmp_path: Path
) -> None:
    """DATABASE_URL without AUTHENTICATOR_DATABASE_URL: the password is generated once into dba_admin.settings."""
    from dba_admin.bootstrap import prepare_database
    from dba_admin.config import Settings

    remote = Settings(database_url=empty_db_dsn, load_demo=False, data_dir=tmp_path)
    try:
        first = prepare_database(remote)
        second = prepare_database(remote)  # a second app server: same login, no new password
        assert first.authenticator_dsn == second.authenticator_dsn
        assert first.authenticator_dsn is not None
        with psycopg.connect(first.authenticator_dsn) as conn:
            assert conn.execute("select current_user").fetchone() == (AUTHENTICATOR_ROLE,)
        with psycopg.connect(empty_db_dsn) as conn:
            row = conn.execute("select value from dba_admin.settings where key = 'authenticator_password'").fetchone()
        assert row is not None and str(row[0]) in first.authenticator_dsn
        # The same mechanism gives every app server one cookie key.
        from dba_admin.bootstrap import generated_setting

        with psycopg.connect(empty_db_dsn, autocommit=True) as conn:
            key = generated_setting(conn, "cookie_key", 48)
            assert generated_setting(conn, "cookie_key", 48) == key and len(key) >= 32
    finally:
        # Roles are cluster-wide: give the suite's embedded workspace its own password back.
        prepare_database(app_db.settings)
