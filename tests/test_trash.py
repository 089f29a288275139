"""The trash (issue 12, section 1): deleting moves a project or script to a trash, nothing is lost by a normal action.

Against the suite's real PostgreSQL: the owner-or-author rule is the database's (tried also directly as
`authenticated` on the authenticator login), trashed items keep their versions and runs, their owner restores them,
an admin purges them, the age limit purges only what is older, and every trash, restore and purge is audited.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from apptest_helpers import app_as, claims_of, make_user, texts
from db_helpers import user, workspace_manager
from psycopg import errors, sql
from psycopg.rows import dict_row
from streamlit.testing.v1 import AppTest

from dba_admin.cli import main
from dba_admin.errors import ConflictError, NotFound, PermissionDenied
from dba_admin.projects import ProjectManager, PurgedItem, purge_expired_trash, purge_trash
from dba_admin.rls import user_transaction


@pytest.fixture
def owner_conn(app_db: Any) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(app_db.dsn, autocommit=True, row_factory=dict_row) as conn:
        yield conn


def tag() -> str:
    return uuid.uuid4().hex[:8]


def audit_rows(conn: psycopg.Connection[Any], target: str) -> list[dict[str, Any]]:
    return conn.execute(
        "select actor, action, details from dba_admin.audit_log where target = %s order by id", (target,)
    ).fetchall()


def backdate(conn: psycopg.Connection[Any], table: str, item_id: uuid.UUID, days: int) -> None:
    """Pretend an item went to the trash ``days`` ago (the trigger stamps now(); replica mode skips it)."""
    assert table in ("projetos_analytics", "scripts_projetos")
    with conn.transaction():
        conn.execute("set local session_replication_role = replica")
        conn.execute(
            sql.SQL("update public.{} set deleted_at = now() - make_interval(days => %s) where id = %s").format(
                sql.Identifier(table)
            ),
            (days, item_id),
        )


def counts(conn: psycopg.Connection[Any], script_id: uuid.UUID) -> tuple[int, int]:
    row = conn.execute(
        "select (select count(*) from scripts_projetos_versoes where script_id = %(id)s) as v,"
        " (select count(*) from execucoes_scripts where script_id = %(id)s) as r",
        {"id": script_id},
    ).fetchone()
    assert row is not None
    return int(row["v"]), int(row["r"])


# --- who may trash --------------------------------------------------------------------------------------------------


def test_a_member_who_is_neither_owner_nor_author_cannot_trash_a_script(
    pm: ProjectManager, user_conn: psycopg.Connection[Any], owner_conn: psycopg.Connection[Any]
) -> None:
    owner, author, other = user("owner"), user("author"), user("other")
    project = pm.create_project(owner, f"p {tag()}", members=[author.email, other.email])
    script = pm.create_script(author, project.id, "daily", "select 1")
    by_other = pm.create_script(other, project.id, "weekly", "select 7")

    with pytest.raises(PermissionDenied, match=r"owner .* or the script's author"):
        pm.delete_script(other, script.id)

    # The database itself refuses, whatever client asks: as `authenticated` with the member's claims.
    with (
        pytest.raises(errors.InsufficientPrivilege, match="row-level security"),
        user_transaction(user_conn, other) as cur,
    ):
        cur.execute("update public.scripts_projetos set deleted_at = now() where id = %s", (script.id,))
    with user_transaction(user_conn, other) as cur:
        cur.execute("delete from public.scripts_projetos where id = %s", (script.id,))
        assert cur.rowcount == 0  # nobody deletes for good but an admin, and only from the trash
    with user_transaction(user_conn, owner) as cur:
        cur.execute("delete from public.scripts_projetos where id = %s", (script.id,))
        assert cur.rowcount == 0
        cur.execute("delete from public.projetos_analytics where id = %s", (project.id,))
        assert cur.rowcount == 0
    assert pm.get_script(owner, script.id).name == "daily"

    # The author trashes their own script; the owner trashes anyone's. deleted_by cannot be forged.
    with user_transaction(user_conn, author) as cur:
        cur.execute(
            "update public.scripts_projetos set deleted_at = '2000-01-01' where id = %s returning deleted_by,"
            " deleted_at > now() - interval '1 hour'",
            (script.id,),
        )
        assert cur.fetchone() == (author.normalized_email, True)
    pm.delete_script(owner, by_other.id)
    assert pm.list_scripts(other, project.id) == []

    # A trashed script is frozen, and other members cannot even lock it.
    with user_transaction(user_conn, other) as cur:
        cur.execute("update public.scripts_projetos set deleted_at = null where id = %s", (script.id,))
        assert cur.rowcount == 0
    with (
        pytest.raises(errors.ObjectNotInPrerequisiteState, match="in the trash"),
        user_transaction(user_conn, author) as cur,
    ):
        cur.execute("update public.scripts_projetos set nome = 'renamed' where id = %s", (script.id,))


# --- trash keeps everything; the owner restores ---------------------------------------------------------------------


def test_a_trashed_script_keeps_its_versions_and_runs_and_is_restored(
    pm: ProjectManager, owner_conn: psycopg.Connection[Any]
) -> None:
    owner, author, other = user("owner"), user("author"), user("other")
    project = pm.create_project(owner, f"p {tag()}", members=[author.email, other.email])
    word = f"zq{tag()}"
    script = pm.create_script(author, project.id, f"report {word}", "select 1")
    pm.save_script(author, script.id, f"select 2 as {word}", base_version=1)
    pm.run_script(author, script.id)
    before = counts(owner_conn, script.id)
    assert before == (2, 1)

    pm.delete_script(author, script.id)
    assert pm.list_scripts(owner, project.id) == []
    assert pm.search_scripts(owner, word) == []
    assert pm.get_project(owner, project.id).script_count == 0
    with pytest.raises(NotFound, match="in the trash"):
        pm.get_script(author, script.id)
    with pytest.raises(NotFound, match="already in the trash"):
        pm.delete_script(author, script.id)
    assert counts(owner_conn, script.id) == before
    runs = pm.history(owner, project_id=project.id)
    assert [(r.script_id, r.script_name) for r in runs] == [(script.id, f"report {word}")]

    trash = {i.id: i for i in pm.list_trash(owner)}
    item = trash[script.id]
    assert (item.kind, item.versions, item.runs, item.can_restore, item.can_purge) == ("script", 2, 1, True, False)
    assert item.deleted_by == author.normalized_email
    assert script.id in {i.id for i in pm.list_trash(author)}
    assert script.id not in {i.id for i in pm.list_trash(other)}  # not theirs to restore
    with pytest.raises(PermissionDenied, match="can restore"):
        pm.restore_script(other, script.id)

    restored = pm.restore_script(owner, script.id)
    assert (restored.name, restored.version, restored.sql) == (f"report {word}", 2, f"select 2 as {word}")
    assert [h.script.id for h in pm.search_scripts(other, word)] == [script.id]
    assert counts(owner_conn, script.id) == before
    assert [r["action"] for r in audit_rows(owner_conn, f"script:{script.id}")][-2:] == [
        "script.trash",
        "script.restore_from_trash",
    ]
    trash_row = audit_rows(owner_conn, f"script:{script.id}")[-2]
    assert trash_row["actor"] == author.normalized_email
    assert trash_row["details"]["versions"] == 2 and trash_row["details"]["runs"] == 1


def test_a_restored_script_whose_name_is_taken_comes_back_with_a_suffix(
    pm: ProjectManager, owner_conn: psycopg.Connection[Any]
) -> None:
    owner = user("owner")
    project = pm.create_project(owner, f"p {tag()}")
    first = pm.create_script(owner, project.id, "daily", "select 1")
    pm.delete_script(owner, first.id)
    second = pm.create_script(owner, project.id, "daily", "select 2")  # a trashed script no longer holds its name
    assert pm.restore_script(owner, first.id).name == "daily (restored)"
    assert sorted(s.name for s in pm.list_scripts(owner, project.id)) == ["daily", "daily (restored)"]
    assert pm.get_script(owner, second.id).name == "daily"
    assert audit_rows(owner_conn, f"script:{first.id}")[-1]["details"]["restored_as"] == "daily (restored)"


def test_a_trashed_project_disappears_keeps_its_history_and_only_its_owner_restores_it(
    pm: ProjectManager, owner_conn: psycopg.Connection[Any]
) -> None:
    owner, member = user("owner"), user("member")
    word = f"zq{tag()}"
    project = pm.create_project(owner, f"p {word}", members=[member.email])
    script = pm.create_script(member, project.id, f"s {word}", "select 1")
    pm.run_script(member, script.id)

    with pytest.raises(PermissionDenied, match="only the project's owner"):
        pm.delete_project(member, project.id)
    pm.delete_project(owner, project.id)
    for who in (owner, member):
        assert project.id not in {p.id for p in pm.list_projects(who)}
        assert pm.search_scripts(who, word) == []
        with pytest.raises(NotFound, match="in the trash"):
            pm.get_project(who, project.id)
    with pytest.raises(NotFound, match="in the trash"):
        pm.create_script(member, project.id, "new", "select 1")
    with pytest.raises(NotFound):
        pm.get_script(member, script.id)
    assert counts(owner_conn, script.id) == (1, 1)
    assert [i.id for i in pm.list_trash(owner) if i.id == project.id] == [project.id]
    assert project.id not in {i.id for i in pm.list_trash(member)}
    with pytest.raises(PermissionDenied, match="only the project's owner"):
        pm.restore_project(member, project.id)

    restored = pm.restore_project(owner, project.id)
    assert restored.script_count == 1
    assert [s.id for s in pm.list_scripts(member, project.id)] == [script.id]
    assert [r["action"] for r in audit_rows(owner_conn, f"project:{project.id}")] == [
        "project.create",
        "project.trash",
        "project.restore_from_trash",
    ]


# --- purge --------------------------------------------------------------------------------------------------------


def test_only_an_admin_purges_and_only_from_the_trash(pm: ProjectManager, owner_conn: psycopg.Connection[Any]) -> None:
    owner, admin = user("owner"), user("admin", "admin")
    project = pm.create_project(owner, f"p {tag()}")
    a = pm.create_script(owner, project.id, "a", "select 1")
    pm.save_script(owner, a.id, "select 11", base_version=1)
    pm.create_script(owner, project.id, "b", "select 2")
    pm.run_script(owner, a.id)
    run_id = pm.history(owner, script_id=a.id)[0].id

    with pytest.raises(ConflictError, match="not in the trash"):
        pm.purge_project(admin, project.id)
    pm.delete_project(owner, project.id)
    with pytest.raises(PermissionDenied, match="only an admin"):
        pm.purge_project(owner, project.id)
    assert project.id in {i.id for i in pm.list_trash(admin) if i.can_purge}

    purged = pm.purge_project(admin, project.id)
    assert (purged.kind, purged.id, purged.versions, purged.runs) == ("project", project.id, 3, 1)
    assert sorted((s["name"], s["versions"], s["runs"]) for s in purged.scripts) == [("a", 2, 1), ("b", 1, 0)]
    assert owner_conn.execute("select 1 from projetos_analytics where id = %s", (project.id,)).fetchone() is None
    assert counts(owner_conn, a.id) == (0, 0)
    # The run stays in the history, detached.
    run = owner_conn.execute("select projeto_id, script_id from execucoes_scripts where id = %s", (run_id,)).fetchone()
    assert run == {"projeto_id": None, "script_id": None}
    rows = audit_rows(owner_conn, f"project:{project.id}")
    assert [r["action"] for r in rows][-2:] == ["project.trash", "project.purge"]
    details = rows[-1]["details"]
    assert rows[-1]["actor"] == admin.normalized_email
    assert (details["name"], details["id"], details["versions_removed"], details["runs_detached"]) == (
        project.name,
        str(project.id),
        3,
        1,
    )
    assert sorted(s["name"] for s in details["scripts"]) == ["a", "b"]
    with pytest.raises(NotFound):
        pm.purge_project(admin, project.id)


def test_purge_by_age_removes_only_older_items_and_audits_what_it_removed(
    pm: ProjectManager, owner_conn: psycopg.Connection[Any], app_db: Any
) -> None:
    owner = user("owner")
    live = pm.create_project(owner, f"live {tag()}")
    old_script = pm.create_script(owner, live.id, "old", "select 1")
    young_script = pm.create_script(owner, live.id, "young", "select 2")
    old_project = pm.create_project(owner, f"old {tag()}")
    inner = pm.create_script(owner, old_project.id, "inner", "select 3")
    young_project = pm.create_project(owner, f"young {tag()}")
    for s in (old_script, young_script):
        pm.delete_script(owner, s.id)
    for p in (old_project, young_project):
        pm.delete_project(owner, p.id)
    # 20 and 5 days: under the default 30-day limit, so an app server starting meanwhile purges none of them.
    backdate(owner_conn, "scripts_projetos", old_script.id, 20)
    backdate(owner_conn, "projetos_analytics", old_project.id, 20)
    backdate(owner_conn, "scripts_projetos", young_script.id, 5)
    backdate(owner_conn, "projetos_analytics", young_project.id, 5)
    mine = {old_script.id, young_script.id, old_project.id, young_project.id}

    # Several app servers at once: an advisory lock, each item purged (and audited) exactly once.
    results: list[list[PurgedItem]] = []
    failures: list[BaseException] = []
    barrier = threading.Barrier(2)

    def purge() -> None:
        try:
            barrier.wait()
            with psycopg.connect(app_db.dsn) as conn:
                results.append(purge_trash(conn, older_than_days=15, actor="system:test", reason="age"))
        except BaseException as exc:  # collected and asserted below
            failures.append(exc)

    threads = [threading.Thread(target=purge) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    purged = [i for batch in results for i in batch if i.id in mine]
    assert sorted((i.kind, i.name) for i in purged) == [("project", old_project.name), ("script", "old")]

    remaining = {i.id for i in pm.list_trash(owner)}
    assert {young_script.id, young_project.id} <= remaining
    assert not {old_script.id, old_project.id} & remaining
    assert counts(owner_conn, inner.id) == (0, 0)
    for item_id, kind in ((old_script.id, "script"), (old_project.id, "project")):
        rows = [r for r in audit_rows(owner_conn, f"{kind}:{item_id}") if r["action"] == f"{kind}.purge"]
        assert len(rows) == 1 and rows[0]["actor"] == "system:test"
        assert rows[0]["details"]["reason"] == "age" and rows[0]["details"]["older_than_days"] == 15
        assert rows[0]["details"]["versions_removed"] == 1
    project_row = next(r for r in audit_rows(owner_conn, f"project:{old_project.id}") if r["action"] == "project.purge")
    assert [(s["name"], s["id"]) for s in project_row["details"]["scripts"]] == [("inner", str(inner.id))]

    # The start-up hook applies TRASH_RETENTION_DAYS (and 0 means never).
    young = pm.create_project(owner, f"start {tag()}")
    pm.delete_project(owner, young.id)
    backdate(owner_conn, "projetos_analytics", young.id, 3)
    off = workspace_manager(app_db, app_db.settings.with_overrides(trash_retention_days=0))
    short = workspace_manager(app_db, app_db.settings.with_overrides(trash_retention_days=2))
    try:
        assert purge_expired_trash(off) == []
        assert young.id in {i.id for i in purge_expired_trash(short)}
    finally:
        off.close()
        short.close()


def test_cli_trash_purge(
    pm: ProjectManager, app_db: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))
    owner = user("owner")
    project = pm.create_project(owner, f"cli {tag()}")
    pm.delete_project(owner, project.id)
    with psycopg.connect(app_db.dsn, autocommit=True) as conn:
        backdate(conn, "projetos_analytics", project.id, 12)
    assert main(["trash", "list"]) == 0
    assert str(project.id) in capsys.readouterr().out
    assert main(["trash", "purge", "--older-than-days", "11"]) == 0
    out = capsys.readouterr().out
    assert f"purged project {project.name!r} ({project.id})" in out
    assert main(["trash", "purge", "--older-than-days", "-1"]) == 2


# --- the Trash view -----------------------------------------------------------------------------------------------


@pytest.fixture
def _app_env(app_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))


def _app(username: str, password: str) -> AppTest:
    at = app_as(username, password)
    at.switch_page("pages/projects.py").run()
    assert not at.exception, at.exception
    return at


@pytest.mark.usefixtures("_app_env")
def test_the_trash_view_lists_restores_and_lets_an_admin_purge(app_db: Any, pm: ProjectManager) -> None:
    username, password = make_user(app_db.dsn, "analyst")
    owner = claims_of(app_db.dsn, username)
    project = pm.create_project(owner, f"Trash view {tag()}")
    script = pm.create_script(owner, project.id, "gone *bold*", "select 1")
    pm.delete_script(owner, script.id)
    doomed = pm.create_project(owner, f"Doomed {tag()}")
    pm.delete_project(owner, doomed.id)

    at = _app(username, password)
    shown = texts(at)
    assert "gone *bold*" in shown and doomed.name in shown  # names shown as text, not Markdown
    assert not [b for b in at.button if b.label == "Purge"], "only admins purge"
    restore = next(b for b in at.button if b.key == f"projects_trash_restore_{script.id}")
    restore.click().run()
    assert not at.exception, at.exception
    assert "Restored gone *bold*" in texts(at)
    assert [s.id for s in pm.list_scripts(owner, project.id)] == [script.id]

    admin_name, admin_password = make_user(app_db.dsn, "admin")
    admin_at = _app(admin_name, admin_password)
    for key in (f"projects_trash_purge_{doomed.id}", f"projects_trash_purge_yes_{doomed.id}"):  # asks first
        assert doomed.id in {i.id for i in pm.list_trash(owner)}
        next(b for b in admin_at.button if b.key == key).click().run()
        assert not admin_at.exception, admin_at.exception
    assert f"Purged {doomed.name}" in texts(admin_at)
    assert doomed.id not in {i.id for i in pm.list_trash(owner)}
