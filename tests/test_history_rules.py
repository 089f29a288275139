"""Versions and runs are written only through the rules, and the database itself says no (issue 12, §1).

Each forged write is what any Supabase client holding a member's JWT could send: a transaction as `authenticated`
with that member's claims (dba_admin/rls.py, on the unprivileged authenticator login). Then the same rules on the
owner connection, where only triggers stand: they hold for every role. Last, the app's own flows still work.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from db_helpers import user
from psycopg import errors

from dba_admin.errors import SaveConflict
from dba_admin.projects import ProjectManager
from dba_admin.rls import UserClaims, user_transaction


@pytest.fixture
def owner_conn(app_db: Any) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(app_db.dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture
def world(pm: ProjectManager) -> dict[str, Any]:
    """An owner's project with a member, and a script saved twice (versions 1 and 2)."""
    owner, member = user("owner"), user("member")
    project = pm.create_project(owner, f"p {uuid.uuid4().hex[:6]}", members=[member.email])
    script = pm.create_script(owner, project.id, "report", "select 1")
    pm.save_script(owner, script.id, "select 2", base_version=1)
    return {"owner": owner, "member": member, "project": project, "script": script.id}


def state(conn: psycopg.Connection[Any], script_id: uuid.UUID) -> tuple[str, int, list[tuple[int, str]]]:
    row = conn.execute("select sql, versao_atual from scripts_projetos where id = %s", (script_id,)).fetchone()
    assert row is not None
    versions = conn.execute(
        "select versao, sql from scripts_projetos_versoes where script_id = %s order by versao", (script_id,)
    ).fetchall()
    return row[0], row[1], [(v[0], v[1]) for v in versions]


def run_count(conn: psycopg.Connection[Any], email: str) -> int:
    row = conn.execute("select count(*) from execucoes_scripts where executado_por = %s", (email,)).fetchone()
    assert row is not None
    return int(row[0])


FORGED = [
    pytest.param(
        "update scripts_projetos set sql = 'drop table pets' where id = %(script)s", id="text-without-version"
    ),
    pytest.param(
        "update scripts_projetos set sql = 'drop table pets', versao_atual = versao_atual + 1 where id = %(script)s",
        id="text-and-number-without-version-row",
    ),
    pytest.param(
        "insert into scripts_projetos_versoes (script_id, versao, sql, autor)"
        " values (%(script)s, 999, 'drop table pets', %(email)s)",
        id="version-999",
    ),
    pytest.param(
        "insert into scripts_projetos_versoes (script_id, versao, sql, autor)"
        " values (%(script)s, 3, 'drop table pets', %(email)s)",
        id="next-version-directly",
    ),
    pytest.param("update scripts_projetos_versoes set sql = 'drop table pets' where script_id = %(script)s", id="edit"),
    pytest.param("delete from scripts_projetos_versoes where script_id = %(script)s", id="delete-version"),
    pytest.param(
        "insert into scripts_projetos (projeto_id, nome, sql, versao_atual, created_by)"
        " values (%(project)s, 'forged', 'drop table pets', 7, %(email)s)",
        id="script-without-versions",
    ),
    pytest.param(
        "insert into execucoes_scripts (script_id, projeto_id, versao, sql_executado, executado_por, status, linhas)"
        " values (%(script)s, %(project)s, 2, 'drop database prod', %(email)s, 'success', 0)",
        id="fake-successful-run",
    ),
    pytest.param(
        "insert into execucoes_scripts (sql_executado, executado_por, status) values ('drop database prod', %(email)s,"
        " 'running')",
        id="fake-running-run",
    ),
    pytest.param(
        "update execucoes_scripts set status = 'success', erro = null where projeto_id = %(project)s", id="run"
    ),
    pytest.param("delete from execucoes_scripts where projeto_id = %(project)s", id="delete-run"),
]


@pytest.mark.parametrize("statement", FORGED)
def test_a_members_forged_history_write_is_refused_by_the_database(
    pm: ProjectManager,
    user_conn: psycopg.Connection[Any],
    owner_conn: psycopg.Connection[Any],
    world: dict[str, Any],
    statement: str,
) -> None:
    member: UserClaims = world["member"]
    pm.run_script(member, world["script"])  # a real run, so the run statements have a row to aim at
    before = state(owner_conn, world["script"])
    runs_before = run_count(owner_conn, member.normalized_email)
    params = {"script": world["script"], "project": world["project"].id, "email": member.normalized_email}
    with pytest.raises(errors.InsufficientPrivilege, match="permission denied"), user_transaction(user_conn, member):
        user_conn.execute(statement, params)
    assert state(owner_conn, world["script"]) == before == ("select 2", 2, [(1, "select 1"), (2, "select 2")])
    assert run_count(owner_conn, member.normalized_email) == runs_before


def test_the_save_function_keeps_the_rules_for_whoever_calls_it(
    user_conn: psycopg.Connection[Any], owner_conn: psycopg.Connection[Any], world: dict[str, Any]
) -> None:
    """dba_admin_api is reachable by any authenticated session: the functions check everything themselves."""
    member, stranger = world["member"], user("stranger")
    with user_transaction(user_conn, member):  # a member's save is a real save: version 3, numbered by the database
        user_conn.execute("select dba_admin_api.save_version(%s, 2, 'select 3', 'from a client')", (world["script"],))
    assert state(owner_conn, world["script"])[:2] == ("select 3", 3)
    with (
        pytest.raises(errors.SerializationFailure, match="someone saved since"),
        user_transaction(user_conn, member),
    ):
        user_conn.execute("select dba_admin_api.save_version(%s, 2, 'select 4', null)", (world["script"],))
    for call in (
        "select dba_admin_api.save_version(%(script)s, 3, 'drop table pets', null)",
        "select dba_admin_api.create_script(%(project)s, 'mine', 'drop table pets', null)",
    ):
        with pytest.raises(errors.InsufficientPrivilege, match="only members"), user_transaction(user_conn, stranger):
            user_conn.execute(call, {"script": world["script"], "project": world["project"].id})
    with pytest.raises(errors.InsufficientPrivilege, match="no user claims"), user_conn.transaction():
        user_conn.execute("set local role authenticated")
        user_conn.execute("select dba_admin_api.save_version(%s, 3, 'select 5', null)", (world["script"],))
    sql_now, version, versions = state(owner_conn, world["script"])
    assert (sql_now, version) == ("select 3", 3) and [v[0] for v in versions] == [1, 2, 3]
    row = owner_conn.execute(
        "select autor, mensagem from scripts_projetos_versoes where script_id = %s and versao = 3", (world["script"],)
    ).fetchone()
    assert row == (member.normalized_email, "from a client")


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        (
            "update scripts_projetos set sql = 'drop table pets' where id = %(script)s",
            "changes only with a new version",
        ),
        (
            "update scripts_projetos set sql = 'drop table pets', versao_atual = 3 where id = %(script)s",
            "no such version holds its text",
        ),
        (
            "insert into scripts_projetos_versoes (script_id, versao, sql, autor)"
            " values (%(script)s, 999, 'drop table pets', 'x@example.com')",
            "numbered without gaps",
        ),
        (
            "insert into scripts_projetos_versoes (script_id, versao, sql, autor)"
            " values (%(script)s, 3, 'drop table pets', 'x@example.com')",
            "together with the script's current text",
        ),
        ("update scripts_projetos_versoes set sql = 'x' where script_id = %(script)s", "immutable"),
        ("delete from scripts_projetos_versoes where script_id = %(script)s", "versions are kept"),
    ],
)
def test_the_rules_hold_on_the_owner_connection_too(
    owner_conn: psycopg.Connection[Any], world: dict[str, Any], statement: str, message: str
) -> None:
    before = state(owner_conn, world["script"])
    with pytest.raises(psycopg.Error, match=message), owner_conn.transaction():
        owner_conn.execute(statement, {"script": world["script"]})
    assert state(owner_conn, world["script"]) == before


def test_deleting_a_script_still_takes_its_versions_along(
    owner_conn: psycopg.Connection[Any], world: dict[str, Any]
) -> None:
    """The foreign key's cascade (a purge) is the one way versions go: after their script."""
    owner_conn.execute("delete from scripts_projetos where id = %s", (world["script"],))
    assert state_rows(owner_conn, world["script"]) == 0


def state_rows(conn: psycopg.Connection[Any], script_id: uuid.UUID) -> int:
    row = conn.execute("select count(*) from scripts_projetos_versoes where script_id = %s", (script_id,)).fetchone()
    assert row is not None
    return int(row[0])


def test_saves_restores_and_conflicts_still_work(pm: ProjectManager, world: dict[str, Any], app_db: Any) -> None:
    owner, member, script_id = world["owner"], world["member"], world["script"]
    saved = pm.save_script(member, script_id, "select 3", base_version=2, message="three")
    assert saved.version is not None and saved.version.number == 3 and saved.version.author == member.normalized_email
    assert saved.script.sql == "select 3" and saved.script.version == 3
    assert not pm.save_script(member, script_id, "select 3", base_version=3).changed  # same text: no version
    with pytest.raises(SaveConflict):
        pm.save_script(owner, script_id, "select 'stale'", base_version=2)
    restored = pm.restore_version(owner, script_id, 1, base_version=3)
    assert restored.version is not None and restored.version.number == 4 and restored.script.sql == "select 1"
    assert [v.number for v in pm.list_versions(owner, script_id)] == [4, 3, 2, 1]
    with psycopg.connect(app_db.dsn) as conn:
        assert state(conn, script_id) == (
            "select 1",
            4,
            [(1, "select 1"), (2, "select 2"), (3, "select 3"), (4, "select 1")],
        )
