"""The schema at the database level: Supabase compatibility, RLS isolation, read-only role, audit log.

Every check runs plain SQL against the real PostgreSQL the suite starts, as the role and claims the app uses
(dba_admin/rls.py), so what passes here holds whatever the UI does. Each test makes its own users (unique
emails), so the shared ``app_db`` can hold other tests' rows too.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict

from dba_admin.errors import DbaAdminError
from dba_admin.rls import UserClaims, user_transaction

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
APP_TABLES = (
    "projetos_analytics",
    "scripts_projetos",
    "scripts_projetos_versoes",
    "execucoes_scripts",
    "duvidas_analitics_ia",
)
PRIVATE_TABLES = ("users", "audit_log", "settings", "schema_migrations")
API_ROLES = ("anon", "authenticated", "service_role")


# --- helpers -------------------------------------------------------------------------------------------------


def new_email(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}@example.com"


def claims_for(email: str, app_role: str = "analyst") -> UserClaims:
    return UserClaims(sub=uuid.uuid5(uuid.NAMESPACE_URL, email), email=email, app_role=app_role)


@contextmanager
def as_user(conn: psycopg.Connection[Any], email: str, app_role: str = "analyst") -> Iterator[psycopg.Cursor[Any]]:
    """A transaction as `authenticated` with this user's claims (what ProjectManager does)."""
    with user_transaction(conn, claims_for(email, app_role)) as cur:
        yield cur


@contextmanager
def as_role(conn: psycopg.Connection[Any], role: str) -> Iterator[psycopg.Cursor[Any]]:
    """A transaction as one of the API roles, with no claims; always rolled back."""
    with conn.transaction(force_rollback=True), conn.cursor() as cur:
        cur.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
        yield cur


def create_project(conn: psycopg.Connection[Any], owner: str, members: list[str] | None = None) -> uuid.UUID:
    with as_user(conn, owner) as cur:
        cur.execute(
            "insert into projetos_analytics (nome, created_by, membros) values (%s, %s, %s) returning id",
            (f"projeto {uuid.uuid4().hex[:6]}", owner, members or []),
        )
        row = cur.fetchone()
    assert row is not None
    return uuid.UUID(str(row[0]))


def create_script(conn: psycopg.Connection[Any], user: str, project: uuid.UUID, text: str = "select 1") -> uuid.UUID:
    """A script and its first version, through the only door a user's session has (dba_admin_api.create_script)."""
    with as_user(conn, user) as cur:
        cur.execute(
            "select dba_admin_api.create_script(%s, %s, %s, null)", (project, f"script {uuid.uuid4().hex[:6]}", text)
        )
        row = cur.fetchone()
        assert row is not None
    return uuid.UUID(str(row[0]))


def record_run(
    owner_conn: psycopg.Connection[Any], user: str, project: uuid.UUID | None, script: uuid.UUID | None
) -> int:
    """A finished run, written as the app writes runs: on its owner connection (no API role may write one)."""
    with owner_conn.cursor() as cur:
        cur.execute(
            "insert into execucoes_scripts"
            " (script_id, projeto_id, versao, sql_executado, executado_por, status, linhas, finished_at)"
            " values (%s, %s, %s, 'select 1', %s, 'success', 1, now()) returning id",
            (script, project, 1 if script else None, user),
        )
        row = cur.fetchone()
    assert row is not None
    return int(row[0])


def ask(conn: psycopg.Connection[Any], user: str) -> int:
    with as_user(conn, user) as cur:
        cur.execute(
            "insert into duvidas_analitics_ia (conversa_id, user_email, pergunta, resposta, modelo)"
            " values (%s, %s, 'which table holds pets?', 'pets', 'offline') returning id",
            (uuid.uuid4(), user),
        )
        row = cur.fetchone()
    assert row is not None
    return int(row[0])


def visible(cur: psycopg.Cursor[Any], table: str, ids: list[Any]) -> set[Any]:
    """Which of these ids the current role can see in table."""
    cur.execute(
        sql.SQL("select id from {} where id = any(%s)").format(sql.Identifier("public", table)),
        (ids,),
    )
    return {row[0] for row in cur.fetchall()}


@pytest.fixture
def owner_conn(app_db: Any) -> Iterator[psycopg.Connection[Any]]:
    """The app's own (superuser) connection, as the app holds it."""
    with psycopg.connect(app_db.dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="module")
def readonly_on_workspace(app_db: Any) -> Iterator[str]:
    """The read-only login on the workspace database, as on a remote workspace that is also connection `default`
    (the single-database setup), where that login reaches the app's tables. The embedded workspace refuses it
    CONNECT, so this module grants it for its own tests and takes it back after."""
    database = sql.Identifier(str(conninfo_to_dict(app_db.dsn)["dbname"]))
    role = sql.Identifier("dba_admin_readonly")
    with psycopg.connect(app_db.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("grant connect on database {} to {}").format(database, role))
    try:
        yield app_db.server.readonly_dsn(str(conninfo_to_dict(app_db.dsn)["dbname"]))
    finally:
        with psycopg.connect(app_db.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("revoke connect on database {} from {}").format(database, role))


@pytest.fixture
def readonly_conn(readonly_on_workspace: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(readonly_on_workspace, autocommit=True) as conn:
        yield conn


@pytest.fixture
def world(user_conn: psycopg.Connection[Any], owner_conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """Owner A with a project (member M), a script with a version, a project run, an ad-hoc run, a question."""
    a, m, b = new_email("owner"), new_email("member"), new_email("stranger")
    project = create_project(user_conn, a, [m])
    script = create_script(user_conn, a, project)
    return {
        "a": a,
        "m": m,
        "b": b,
        "project": project,
        "script": script,
        "run": record_run(owner_conn, a, project, script),
        "adhoc_run": record_run(owner_conn, a, None, None),
        "question": ask(user_conn, a),
    }


def version_ids(conn: psycopg.Connection[Any], script: uuid.UUID) -> list[int]:
    rows = conn.execute("select id from scripts_projetos_versoes where script_id = %s", (script,)).fetchall()
    return [row[0] for row in rows]


# --- auth.* compatibility ------------------------------------------------------------------------------------


def test_auth_functions_return_the_claims_of_the_transaction(
    user_conn: psycopg.Connection[Any], owner_conn: psycopg.Connection[Any]
) -> None:
    claims = claims_for(new_email("Claims").upper(), "dba")
    with user_transaction(user_conn, claims) as cur:
        cur.execute("select auth.uid(), auth.email(), auth.role(), auth.jwt(), current_user")
        row = cur.fetchone()
    assert row is not None
    uid, email, role, jwt, current = row
    assert uid == claims.sub
    assert email == claims.email.lower()
    assert role == "authenticated"
    assert current == "authenticated"
    assert jwt["app_role"] == "dba" and jwt["sub"] == str(claims.sub) and jwt["email"] == email
    # The claims and the role were transaction-local: gone after commit.
    row = owner_conn.execute("select auth.uid(), auth.email(), auth.role(), auth.jwt(), current_user").fetchone()
    assert row is not None
    assert row[:4] == (None, None, None, None)
    assert row[4] != "authenticated"


def test_auth_functions_are_null_when_no_claims_were_ever_set(empty_db_dsn: str) -> None:
    with psycopg.connect(empty_db_dsn, autocommit=True) as conn:
        run_local_files(conn)
        row = conn.execute("select auth.uid(), auth.email(), auth.role(), auth.jwt()").fetchone()
    assert row == (None, None, None, None)


def test_auth_functions_read_the_legacy_per_claim_settings_first(owner_conn: psycopg.Connection[Any]) -> None:
    """Older PostgREST set request.jwt.claim.<name>; Supabase's functions prefer it, and so do ours."""
    with owner_conn.transaction(force_rollback=True):
        owner_conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps({"email": "new@x.io"}),))
        assert owner_conn.execute("select auth.email()").fetchone() == ("new@x.io",)
        owner_conn.execute("select set_config('request.jwt.claim.email', 'legacy@x.io', true)")
        assert owner_conn.execute("select auth.email()").fetchone() == ("legacy@x.io",)


def test_user_transaction_blanks_legacy_claims_left_on_the_session(
    user_conn: psycopg.Connection[Any],
) -> None:
    user_conn.execute("select set_config('request.jwt.claim.email', 'someone-else@x.io', false)")
    try:
        email = new_email("me")
        with as_user(user_conn, email) as cur:
            cur.execute("select auth.email()")
            assert cur.fetchone() == (email,)
    finally:
        user_conn.execute("reset request.jwt.claim.email")


def test_user_transaction_refuses_a_connection_inside_a_transaction(user_conn: psycopg.Connection[Any]) -> None:
    """SET LOCAL in a savepoint would outlive the block and leak the role to the caller's transaction."""
    with (
        user_conn.transaction(force_rollback=True),
        pytest.raises(DbaAdminError, match="no open transaction"),
        as_user(user_conn, new_email("x")),
    ):
        pass


def test_user_claims_validate_role_and_email() -> None:
    with pytest.raises(ValueError, match="app_role"):
        UserClaims(sub=uuid.uuid4(), email="a@b.c", app_role="root")
    with pytest.raises(ValueError, match="email"):
        UserClaims(sub=uuid.uuid4(), email="nobody", app_role="viewer")
    claims = UserClaims(sub=uuid.UUID(int=1), email=" Ana@Example.COM ", app_role="viewer")
    assert json.loads(claims.to_json()) == {
        "sub": "00000000-0000-0000-0000-000000000001",
        "email": "ana@example.com",
        "role": "authenticated",
        "aud": "authenticated",
        "app_role": "viewer",
    }


def run_local_files(conn: psycopg.Connection[Any]) -> None:
    for path in sorted((SQL_DIR / "local").glob("*.sql")):
        conn.execute(path.read_text(encoding="utf-8"))


def test_local_compat_files_are_idempotent_and_supabase_shaped(empty_db_dsn: str) -> None:
    with psycopg.connect(empty_db_dsn, autocommit=True) as conn:
        run_local_files(conn)
        run_local_files(conn)
        rows = conn.execute(
            "select rolname, rolcanlogin, rolinherit, rolbypassrls from pg_roles where rolname = any(%s)",
            (list(API_ROLES),),
        ).fetchall()
        roles = {name: tuple(flags) for name, *flags in rows}
        assert roles == {
            "anon": (False, False, False),
            "authenticated": (False, False, False),
            "service_role": (False, False, True),
        }
        for role in API_ROLES:
            row = conn.execute(
                "select has_schema_privilege(%s, 'public', 'USAGE'), has_schema_privilege(%s, 'auth', 'USAGE'),"
                " has_function_privilege(%s, 'auth.email()', 'EXECUTE')",
                (role, role, role),
            ).fetchone()
            assert row == (True, True, True), role
            # The connecting role is granted each API role (for SET LOCAL ROLE even where it is no superuser).
            granted = conn.execute(
                "select exists(select 1 from pg_auth_members"
                " where roleid = %s::regrole and member = current_user::regrole)",
                (role,),
            ).fetchone()
            assert granted == (True,), role
        functions = conn.execute(
            "select p.proname, p.provolatile, p.prolang = (select oid from pg_language where lanname = 'sql')"
            " from pg_proc p where p.pronamespace = 'auth'::regnamespace order by 1"
        ).fetchall()
        assert functions == [("email", "s", True), ("jwt", "s", True), ("role", "s", True), ("uid", "s", True)]
        available = conn.execute(
            "select exists(select 1 from pg_available_extensions where name = 'pg_stat_statements')"
        ).fetchone()
        installed = conn.execute(
            "select extnamespace::regnamespace::text from pg_extension where extname = 'pg_stat_statements'"
        ).fetchone()
        assert installed == (("extensions",) if available and available[0] else None)


# --- catalog shape -------------------------------------------------------------------------------------------


def test_every_app_table_has_rls_and_policies_only_for_authenticated(owner_conn: psycopg.Connection[Any]) -> None:
    rows = owner_conn.execute(
        "select c.relname, c.relrowsecurity, count(p.polname),"
        " bool_and(p.polroles = array['authenticated'::regrole::oid])"
        " from pg_class c left join pg_policy p on p.polrelid = c.oid"
        " where c.relnamespace = 'public'::regnamespace and c.relname = any(%s) group by 1, 2",
        (list(APP_TABLES),),
    ).fetchall()
    assert {name for name, *_ in rows} == set(APP_TABLES)
    for name, rls_on, policies, all_authenticated in rows:
        assert rls_on, name
        assert policies >= 2, name
        assert all_authenticated, name
    original = owner_conn.execute(
        "select polcmd, pg_get_expr(polqual, polrelid) from pg_policy"
        " where polname = 'users_own_projects' and polrelid = 'public.projetos_analytics'::regclass"
    ).fetchone()
    assert original is not None
    assert original[0] == "r"
    assert "auth.email()" in original[1] and "ANY (membros)" in original[1]


def test_every_foreign_key_of_the_app_schema_is_indexed(owner_conn: psycopg.Connection[Any]) -> None:
    unindexed = owner_conn.execute(
        """
        select con.conrelid::regclass::text, con.conname
        from pg_constraint con
        where con.contype = 'f'
          and (con.conrelid::regclass::text = any(%s) or con.connamespace = 'dba_admin'::regnamespace)
          and not exists (
              select 1 from pg_index i
              where i.indrelid = con.conrelid
                and (i.indkey::int2[])[0:cardinality(con.conkey) - 1] = con.conkey
          )
        """,
        (list(APP_TABLES),),
    ).fetchall()
    assert unindexed == []
    fks = owner_conn.execute(
        "select count(*) from pg_constraint where contype = 'f' and conrelid::regclass::text = any(%s)",
        (list(APP_TABLES),),
    ).fetchone()
    assert fks == (4,)


def test_app_functions_pin_their_search_path(owner_conn: psycopg.Connection[Any]) -> None:
    rows = owner_conn.execute(
        "select proname, proconfig from pg_proc where pronamespace = 'dba_admin'::regnamespace order by 1"
    ).fetchall()
    assert {name for name, _ in rows} >= {
        "audit_log_append_only",
        "touch_updated_at",
        "normalize_projeto",
        "stamp_script",
    }
    for name, config in rows:
        assert config is not None and 'search_path=""' in config, name


def test_api_roles_have_no_privilege_on_private_tables_and_anon_none_on_app_tables(
    owner_conn: psycopg.Connection[Any],
) -> None:
    privileges = "SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER"
    for role in (*API_ROLES, "dba_admin_readonly"):
        row = owner_conn.execute("select has_schema_privilege(%s, 'dba_admin', 'USAGE')", (role,)).fetchone()
        assert row == (False,), role
        # Every relation of the private schema, including any a later migration adds.
        granted = owner_conn.execute(
            "select relname from pg_class where relnamespace = 'dba_admin'::regnamespace"
            " and relkind in ('r', 'p', 'v', 'm', 'S') and has_table_privilege(%s, oid, %s)",
            (role, privileges),
        ).fetchall()
        assert granted == [], role
    private = owner_conn.execute(
        "select relname from pg_class where relnamespace = 'dba_admin'::regnamespace and relkind = 'r'"
    ).fetchall()
    assert {name for (name,) in private} >= set(PRIVATE_TABLES)
    for role in ("anon", "service_role"):
        for table in APP_TABLES:
            row = owner_conn.execute(
                "select has_table_privilege(%s, %s, %s)", (role, f"public.{table}", privileges)
            ).fetchone()
            assert row == (False,), (role, table)


# --- isolation -----------------------------------------------------------------------------------------------


def test_a_stranger_sees_none_of_another_users_rows(
    user_conn: psycopg.Connection[Any], owner_conn: psycopg.Connection[Any], world: dict[str, Any]
) -> None:
    expected = {
        "projetos_analytics": world["project"],
        "scripts_projetos": world["script"],
        "scripts_projetos_versoes": version_ids(owner_conn, world["script"])[0],
        "execucoes_scripts": world["run"],
        "duvidas_analitics_ia": world["question"],
    }
    with as_user(user_conn, world["a"]) as cur:
        for table, row_id in expected.items():
            assert visible(cur, table, [row_id]) == {row_id}, table
    with as_user(user_conn, world["b"]) as cur:
        for table, row_id in expected.items():
            assert visible(cur, table, [row_id]) == set(), table
        cur.execute("select count(*) from execucoes_scripts where id = %s", (world["adhoc_run"],))
        assert cur.fetchone() == (0,)


def test_a_stranger_cannot_write_into_another_users_project(
    user_conn: psycopg.Connection[Any], owner_conn: psycopg.Connection[Any], world: dict[str, Any]
) -> None:
    a, b = world["a"], world["b"]
    attempts = [
        # Scripts, versions and runs: no INSERT privilege at all (scripts and versions only through dba_admin_api).
        (
            "insert into scripts_projetos (projeto_id, nome, sql, created_by) values (%s, 'x', 'select 1', %s)",
            (world["project"], b),
        ),
        (
            "insert into scripts_projetos_versoes (script_id, versao, sql, autor) values (%s, 2, 'drop table x', %s)",
            (world["script"], b),
        ),
        (
            "insert into execucoes_scripts (script_id, projeto_id, sql_executado, executado_por, status)"
            " values (%s, %s, 'select 1', %s, 'success')",
            (world["script"], world["project"], b),
        ),
        ("select dba_admin_api.create_script(%s, 'x', 'select 1', null)", (world["project"],)),
        ("select dba_admin_api.save_version(%s, 1, 'select 666', null)", (world["script"],)),
        # Forging the owner's name is refused too.
        ("insert into projetos_analytics (nome, created_by) values ('mine', %s)", (a,)),
        (
            "insert into execucoes_scripts (sql_executado, executado_por, status) values ('select 1', %s, 'success')",
            (a,),
        ),
        (
            "insert into duvidas_analitics_ia (conversa_id, user_email, pergunta) values (%s, %s, 'q')",
            (uuid.uuid4(), a),
        ),
    ]
    for statement, params in attempts:
        with (
            pytest.raises(errors.InsufficientPrivilege, match=r"row-level security|permission denied|only members"),
            as_user(user_conn, b) as cur,
        ):
            cur.execute(statement, params)
    with as_user(user_conn, b) as cur:
        cur.execute("update projetos_analytics set membros = %s where id = %s", ([b], world["project"]))
        assert cur.rowcount == 0
        cur.execute("update scripts_projetos set nome = 'mine' where id = %s", (world["script"],))
        assert cur.rowcount == 0
        cur.execute("delete from projetos_analytics where id = %s", (world["project"],))
        assert cur.rowcount == 0
        cur.execute("delete from duvidas_analitics_ia where id = %s", (world["question"],))
        assert cur.rowcount == 0
    row = owner_conn.execute(
        "select p.membros, s.sql from projetos_analytics p"
        " join scripts_projetos s on s.projeto_id = p.id where s.id = %s",
        (world["script"],),
    ).fetchone()
    assert row == ([world["m"]], "select 1")


def test_a_member_sees_and_edits_scripts_but_only_the_owner_manages_the_project(
    user_conn: psycopg.Connection[Any], owner_conn: psycopg.Connection[Any], world: dict[str, Any]
) -> None:
    m, project = world["m"], world["project"]
    with as_user(user_conn, m) as cur:
        assert visible(cur, "projetos_analytics", [project]) == {project}
        assert visible(cur, "scripts_projetos", [world["script"]]) == {world["script"]}
        assert visible(cur, "execucoes_scripts", [world["run"], world["adhoc_run"]]) == {world["run"]}
        assert visible(cur, "duvidas_analitics_ia", [world["question"]]) == set()
        cur.execute("select count(*) from scripts_projetos_versoes where script_id = %s", (world["script"],))
        assert cur.fetchone() == (1,)
        # A save: the text and version 2 together, through the one door (dba_admin_api.save_version).
        cur.execute("select dba_admin_api.save_version(%s, 1, 'select 2', null)", (world["script"],))
        cur.execute("select updated_by, versao_atual from scripts_projetos where id = %s", (world["script"],))
        assert cur.fetchall() == [(m, 2)]  # stamped from the claims by the trigger
        cur.execute(
            "select autor from scripts_projetos_versoes where script_id = %s and versao = 2", (world["script"],)
        )
        assert cur.fetchall() == [(m,)]
        # Members cannot rename, re-member, archive or delete the project.
        cur.execute("update projetos_analytics set membros = '{}', nome = 'mine now' where id = %s", (project,))
        assert cur.rowcount == 0
        cur.execute("delete from projetos_analytics where id = %s", (project,))
        assert cur.rowcount == 0
    member_script = create_script(user_conn, m, project, "select 3")
    record_run(owner_conn, m, project, member_script)
    with as_user(user_conn, world["a"]) as cur:
        assert visible(cur, "scripts_projetos", [member_script]) == {member_script}
        cur.execute("select count(*) from execucoes_scripts where script_id = %s", (member_script,))
        assert cur.fetchone() == (1,)
    # Nothing is deleted for good by a normal action (the trash, 20261129003000): the author moves their script to
    # the trash, the owner the project; scripts, versions and runs all stay. Only an admin purges (tests/test_trash.py).
    with as_user(user_conn, m) as cur:
        cur.execute("delete from scripts_projetos where id = %s", (member_script,))
        assert cur.rowcount == 0
        cur.execute("update scripts_projetos set deleted_at = now() where id = %s", (member_script,))
        assert cur.rowcount == 1
    with as_user(user_conn, world["a"]) as cur:
        cur.execute("delete from projetos_analytics where id = %s", (project,))
        assert cur.rowcount == 0
        cur.execute("update projetos_analytics set deleted_at = now() where id = %s", (project,))
        assert cur.rowcount == 1
    assert owner_conn.execute("select count(*) from scripts_projetos where projeto_id = %s", (project,)).fetchone() == (
        2,
    )
    assert len(version_ids(owner_conn, world["script"])) == 2
    run = owner_conn.execute("select projeto_id, script_id from execucoes_scripts where id = %s", (world["run"],))
    assert run.fetchone() == (project, world["script"])


def test_a_member_cannot_move_a_script_into_a_project_they_are_not_in(
    user_conn: psycopg.Connection[Any], owner_conn: psycopg.Connection[Any], world: dict[str, Any]
) -> None:
    other = create_project(user_conn, world["b"])
    with (
        pytest.raises(errors.InsufficientPrivilege, match="row-level security"),
        as_user(user_conn, world["m"]) as cur,
    ):
        cur.execute("update scripts_projetos set projeto_id = %s where id = %s", (other, world["script"]))


def test_the_owner_can_change_members_but_not_give_the_project_away(
    user_conn: psycopg.Connection[Any], owner_conn: psycopg.Connection[Any], world: dict[str, Any]
) -> None:
    a, b, project = world["a"], world["b"], world["project"]
    with as_user(user_conn, a) as cur:
        cur.execute(
            "update projetos_analytics set membros = %s where id = %s returning membros",
            ([f" {b.upper()} ", b, a, world["m"]], project),
        )
        assert cur.fetchall() == [(sorted([b, world["m"]]),)]  # lower-cased, deduplicated, owner dropped
    with as_user(user_conn, b) as cur:
        assert visible(cur, "projetos_analytics", [project]) == {project}
    with pytest.raises(errors.InsufficientPrivilege, match="projetos_analytics"), as_user(user_conn, a) as cur:
        cur.execute("update projetos_analytics set created_by = %s where id = %s", (b, project))
    with pytest.raises(errors.CheckViolation, match="invalid member email"), as_user(user_conn, a) as cur:
        cur.execute("update projetos_analytics set membros = %s where id = %s", (["not an email"], project))


def test_versions_are_immutable_even_for_the_owner(
    user_conn: psycopg.Connection[Any], owner_conn: psycopg.Connection[Any], world: dict[str, Any]
) -> None:
    for user in (world["a"], world["m"]):
        for statement in (
            "update scripts_projetos_versoes set sql = 'select 42' where script_id = %s",
            "delete from scripts_projetos_versoes where script_id = %s",
        ):
            with (
                pytest.raises(errors.InsufficientPrivilege, match="scripts_projetos_versoes"),
                as_user(user_conn, user) as cur,
            ):
                cur.execute(statement, (world["script"],))
    with pytest.raises(errors.InsufficientPrivilege), as_user(user_conn, world["a"]) as cur:
        cur.execute("update execucoes_scripts set status = 'error' where id = %s", (world["run"],))
    assert owner_conn.execute(
        "select sql from scripts_projetos_versoes where script_id = %s", (world["script"],)
    ).fetchall() == [("select 1",)]


def test_admin_claim_reads_every_project_but_not_others_conversations(
    user_conn: psycopg.Connection[Any], owner_conn: psycopg.Connection[Any], world: dict[str, Any]
) -> None:
    admin = new_email("admin")
    ids = {
        "projetos_analytics": world["project"],
        "scripts_projetos": world["script"],
        "scripts_projetos_versoes": version_ids(owner_conn, world["script"])[0],
        "execucoes_scripts": world["adhoc_run"],
    }
    with as_user(user_conn, admin, "admin") as cur:
        for table, row_id in ids.items():
            assert visible(cur, table, [row_id]) == {row_id}, table
        assert visible(cur, "duvidas_analitics_ia", [world["question"]]) == set()
        cur.execute("select count(*) from projetos_analytics")
        admin_count = cur.fetchone()
        # Reading everything is not writing anything.
        cur.execute("update projetos_analytics set nome = 'seized' where id = %s", (world["project"],))
        assert cur.rowcount == 0
        cur.execute("delete from scripts_projetos where id = %s", (world["script"],))
        assert cur.rowcount == 0
    assert admin_count == owner_conn.execute("select count(*) from projetos_analytics").fetchone()
    with (
        pytest.raises(errors.InsufficientPrivilege, match="only members"),
        as_user(user_conn, admin, "admin") as cur,
    ):
        cur.execute("select dba_admin_api.create_script(%s, 'x', 'select 1', null)", (world["project"],))
    # A dba is not an admin.
    with as_user(user_conn, new_email("dba"), "dba") as cur:
        assert visible(cur, "projetos_analytics", [world["project"]]) == set()


@pytest.mark.parametrize(
    ("claims", "sees"),
    [
        ({"app_metadata": {"app_role": "admin"}}, True),  # Supabase Auth: set by the service key only
        ({"user_metadata": {"app_role": "admin"}}, False),  # every user can edit user_metadata
        ({"app_role": "Admin"}, False),
    ],
)
def test_admin_claim_shapes(
    owner_conn: psycopg.Connection[Any], world: dict[str, Any], claims: dict[str, Any], sees: bool
) -> None:
    document = {"sub": str(uuid.uuid4()), "email": new_email("jwt"), "role": "authenticated", **claims}
    with owner_conn.transaction(force_rollback=True), owner_conn.cursor() as cur:
        cur.execute("set local role authenticated")
        cur.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(document),))
        assert visible(cur, "projetos_analytics", [world["project"]]) == ({world["project"]} if sees else set())


def test_a_user_deletes_only_their_own_questions(
    user_conn: psycopg.Connection[Any], owner_conn: psycopg.Connection[Any], world: dict[str, Any]
) -> None:
    with as_user(user_conn, world["a"]) as cur:
        cur.execute("delete from duvidas_analitics_ia where id = %s", (world["question"],))
        assert cur.rowcount == 1


@pytest.mark.parametrize("role", ["anon", "authenticated"])
def test_roles_without_claims_see_nothing(
    owner_conn: psycopg.Connection[Any], world: dict[str, Any], role: str
) -> None:
    for table in APP_TABLES:
        if role == "anon":
            with (
                pytest.raises(errors.InsufficientPrivilege, match="permission denied"),
                as_role(owner_conn, role) as cur,
            ):
                cur.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(table)))
        else:
            with as_role(owner_conn, role) as cur:
                cur.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(table)))
                assert cur.fetchone() == (0,), table


@pytest.mark.parametrize("seed", [7, 2026])
def test_randomized_visibility_is_owner_or_member_or_admin(
    user_conn: psycopg.Connection[Any], owner_conn: psycopg.Connection[Any], seed: int
) -> None:
    """8 users x 12 projects with random owners and members: every pair checked, for reads and for edits."""
    rng = random.Random(seed)
    users = [new_email(f"u{i}") for i in range(8)]
    admins = set(rng.sample(users, 2))
    projects: dict[uuid.UUID, tuple[str, set[str]]] = {}
    scripts: dict[uuid.UUID, uuid.UUID] = {}
    for _ in range(12):
        owner = rng.choice(users)
        members = {u for u in users if u != owner and rng.random() < 0.3}
        project = create_project(user_conn, owner, sorted(members))
        projects[project] = (owner, members)
        scripts[project] = create_script(user_conn, rng.choice([owner, *members]), project)
    project_ids, script_ids = list(projects), list(scripts.values())
    for user in users:
        role = "admin" if user in admins else rng.choice(["analyst", "viewer", "dba"])
        can_edit = {p for p, (owner, members) in projects.items() if user == owner or user in members}
        can_read = set(projects) if user in admins else can_edit
        with as_user(user_conn, user, role) as cur:
            assert visible(cur, "projetos_analytics", project_ids) == can_read, user
            assert visible(cur, "scripts_projetos", script_ids) == {scripts[p] for p in can_read}, user
            cur.execute(
                "update scripts_projetos set nome = nome where id = any(%s) returning projeto_id", (script_ids,)
            )
            assert {row[0] for row in cur.fetchall()} == can_edit, user
            cur.execute("update projetos_analytics set descricao = 'x' where id = any(%s) returning id", (project_ids,))
            owned = {p for p, (owner, _) in projects.items() if owner == user}
            assert {row[0] for row in cur.fetchall()} == owned, user


# --- the read-only role --------------------------------------------------------------------------------------


def test_readonly_role_reads_public_tables_present_and_future(
    owner_conn: psycopg.Connection[Any], readonly_conn: psycopg.Connection[Any]
) -> None:
    table = f"ro_probe_{uuid.uuid4().hex[:8]}"
    owner_conn.execute(sql.SQL("create table public.{} (id int primary key, label text)").format(sql.Identifier(table)))
    try:
        owner_conn.execute(sql.SQL("insert into public.{} values (1, 'one')").format(sql.Identifier(table)))
        rows = readonly_conn.execute(sql.SQL("select label from public.{}").format(sql.Identifier(table))).fetchall()
        assert rows == [("one",)]
    finally:
        owner_conn.execute(sql.SQL("drop table public.{}").format(sql.Identifier(table)))
    missing = owner_conn.execute(
        "select relname from pg_class where relnamespace = 'public'::regnamespace and relkind in ('r', 'v', 'm', 'p')"
        " and not has_table_privilege('dba_admin_readonly', oid, 'SELECT')"
    ).fetchall()
    assert missing == []
    settings = readonly_conn.execute(
        "select current_setting('default_transaction_read_only'), current_setting('statement_timeout'),"
        " current_setting('idle_in_transaction_session_timeout')"
    ).fetchone()
    assert settings == ("on", "30s", "1min")


@pytest.mark.parametrize("table", PRIVATE_TABLES)
def test_readonly_role_cannot_read_the_private_schema(readonly_conn: psycopg.Connection[Any], table: str) -> None:
    with pytest.raises(errors.InsufficientPrivilege, match="permission denied"):
        readonly_conn.execute(sql.SQL("select * from {}").format(sql.Identifier("dba_admin", table)))


def test_readonly_role_sees_no_app_rows_even_with_forged_claims(
    owner_conn: psycopg.Connection[Any], readonly_conn: psycopg.Connection[Any], world: dict[str, Any]
) -> None:
    assert owner_conn.execute(
        "select count(*) from projetos_analytics where id = %s", (world["project"],)
    ).fetchone() == (1,)
    forged = json.dumps({"email": world["a"], "role": "authenticated", "app_role": "admin"})
    with readonly_conn.transaction(force_rollback=True), readonly_conn.cursor() as cur:
        cur.execute("select set_config('request.jwt.claims', %s, true)", (forged,))
        for table in APP_TABLES:
            cur.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(table)))
            assert cur.fetchone() == (0,), table


@pytest.mark.parametrize(
    "statement",
    [
        "insert into projetos_analytics (nome, created_by) values ('x', 'ro@example.com')",
        "delete from execucoes_scripts",
        "create table public.ro_should_not_exist (id int)",
    ],
)
def test_readonly_role_cannot_write(readonly_conn: psycopg.Connection[Any], statement: str) -> None:
    with pytest.raises(errors.ReadOnlySqlTransaction):
        readonly_conn.execute(statement)
    # Turning the read-only default off does not help: there is no grant to write with.
    with pytest.raises(errors.InsufficientPrivilege, match="permission denied"), readonly_conn.transaction():
        readonly_conn.execute("set transaction read write")
        readonly_conn.execute(statement)


@pytest.mark.parametrize("role", ["authenticated", "anon", "service_role", "postgres"])
def test_readonly_role_cannot_become_another_role(readonly_conn: psycopg.Connection[Any], role: str) -> None:
    with pytest.raises(errors.InsufficientPrivilege, match="permission denied to set role"):
        readonly_conn.execute(sql.SQL("set role {}").format(sql.Identifier(role)))


def test_readonly_role_cannot_call_auth_helpers(readonly_conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(errors.InsufficientPrivilege, match="schema auth"):
        readonly_conn.execute("select auth.email()")


# --- the audit log -------------------------------------------------------------------------------------------

_AUDIT_CHANGES = (
    "update dba_admin.audit_log set action = 'rewritten' where id = %(id)s",
    "delete from dba_admin.audit_log where id = %(id)s",
    "truncate dba_admin.audit_log",
)


@pytest.fixture
def audit_row(owner_conn: psycopg.Connection[Any]) -> int:
    row = owner_conn.execute(
        "insert into dba_admin.audit_log (actor, action, target, details) values ('test', 'test.append', 'x', %s)"
        " returning id",
        (json.dumps({"k": 1}),),
    ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("statement", _AUDIT_CHANGES)
@pytest.mark.parametrize("role", API_ROLES)
def test_api_roles_cannot_alter_the_audit_log(
    owner_conn: psycopg.Connection[Any], audit_row: int, role: str, statement: str
) -> None:
    with pytest.raises(errors.InsufficientPrivilege, match="permission denied"), as_role(owner_conn, role) as cur:
        cur.execute(statement, {"id": audit_row})
    with pytest.raises(errors.InsufficientPrivilege, match="permission denied"), as_role(owner_conn, role) as cur:
        cur.execute("insert into dba_admin.audit_log (action) values ('forged')")


@pytest.mark.parametrize("statement", _AUDIT_CHANGES)
def test_readonly_role_cannot_alter_the_audit_log(
    readonly_conn: psycopg.Connection[Any], audit_row: int, statement: str
) -> None:
    with pytest.raises(errors.InsufficientPrivilege, match="permission denied"), readonly_conn.transaction():
        readonly_conn.execute("set transaction read write")
        readonly_conn.execute(statement, {"id": audit_row})


@pytest.mark.parametrize("statement", _AUDIT_CHANGES)
def test_even_the_superuser_cannot_alter_the_audit_log(
    owner_conn: psycopg.Connection[Any], audit_row: int, statement: str
) -> None:
    is_super = owner_conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()
    assert is_super == (True,)
    with pytest.raises(errors.InsufficientPrivilege, match="append-only"):
        owner_conn.execute(statement, {"id": audit_row})
    row = owner_conn.execute("select action, details from dba_admin.audit_log where id = %s", (audit_row,)).fetchone()
    assert row == ("test.append", {"k": 1})
