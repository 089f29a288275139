"""ProjectManager against the real PostgreSQL of the suite: every operation runs as the user under RLS.

Each test makes its own users (random emails) and projects, so the shared ``app_db`` can hold other tests'
rows. Audit rows are read as the owner, the only role that can read dba_admin.audit_log.
"""

from __future__ import annotations

import io
import json
import random
import threading
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from dba_admin.errors import (
    ConflictError,
    ImportClash,
    InvalidArchive,
    NotFound,
    PermissionDenied,
    QueryRefused,
    SaveConflict,
    SqlErrorInfo,
)
from dba_admin.projects import ClashPolicy, Project, ProjectManager, _status_for, diff_texts, safe_file_name
from dba_admin.rls import UserClaims

# --- fixtures and helpers ----------------------------------------------------------------------------------------


@pytest.fixture
def owner_conn(app_db: Any) -> Iterator[psycopg.Connection[Any]]:
    """The workspace's owner: projects, runs and the audit log live there."""
    with psycopg.connect(app_db.dsn, autocommit=True, row_factory=dict_row) as conn:
        yield conn


@pytest.fixture
def demo_conn(app_db: Any) -> Iterator[psycopg.Connection[Any]]:
    """The demo database (connection `demo`), where the runs' SQL goes."""
    with psycopg.connect(app_db.demo_dsn, autocommit=True, row_factory=dict_row) as conn:
        yield conn


def user(label: str = "user", role: str = "analyst") -> UserClaims:
    email = f"{label}-{uuid.uuid4().hex[:10]}@Example.com"  # mixed case on purpose: stored lower-cased
    return UserClaims(sub=uuid.uuid5(uuid.NAMESPACE_URL, email.lower()), email=email, app_role=role)


def tag() -> str:
    return uuid.uuid4().hex[:8]


def audit_actions(conn: psycopg.Connection[Any], target: str) -> list[str]:
    rows = conn.execute("select action from dba_admin.audit_log where target = %s order by id", (target,)).fetchall()
    return [r["action"] for r in rows]


def audit_rows(conn: psycopg.Connection[Any], target: str, action: str) -> list[dict[str, Any]]:
    return conn.execute(
        "select actor, action, target, details from dba_admin.audit_log where target = %s and action = %s order by id",
        (target, action),
    ).fetchall()


def ids(projects: list[Project]) -> set[uuid.UUID]:
    return {p.id for p in projects}


# --- pure helpers ------------------------------------------------------------------------------------------------


def test_diff_texts_gives_unified_text_and_aligned_rows() -> None:
    diff = diff_texts(
        "select 1\nfrom a\nwhere x\n", "select 1\nfrom b\nwhere x\nlimit 5\n", left_label="v1", right_label="v2"
    )
    assert diff.changed
    assert "--- v1" in diff.unified and "+++ v2" in diff.unified
    assert "-from a" in diff.unified and "+from b" in diff.unified and "+limit 5" in diff.unified
    assert [(r.left_no, r.left, r.right_no, r.right, r.tag) for r in diff.rows] == [
        (1, "select 1", 1, "select 1", "equal"),
        (2, "from a", 2, "from b", "replace"),
        (3, "where x", 3, "where x", "equal"),
        (None, None, 4, "limit 5", "insert"),
    ]
    assert (diff.added, diff.removed) == (2, 1)
    same = diff_texts("a\nb", "a\nb")
    assert not same.changed and same.unified == ""


def test_run_status_comes_from_the_first_error() -> None:
    assert _status_for(None) == "success"
    assert _status_for(SqlErrorInfo("57014", "canceling statement due to statement timeout (limit 5 ms)")) == "timeout"
    assert _status_for(SqlErrorInfo("57014", "canceling statement due to user request")) == "cancelled"
    assert _status_for(SqlErrorInfo("42P01", 'relation "nope" does not exist')) == "error"
    assert _status_for(SqlErrorInfo(None, "refused")) == "error"


def test_safe_file_names_are_portable_and_unique() -> None:
    taken: set[str] = set()
    names = [safe_file_name(n, taken) for n in ["../../etc/passwd", "Relatório mensal", "a/b", "a\\b", "", "..."]]
    assert names[0] == "etc_passwd.sql"
    assert all("/" not in n and "\\" not in n and not n.startswith(".") for n in names)
    assert len({n.lower() for n in names}) == len(names)
    assert names[2] == "a_b.sql" and names[3] == "a_b-2.sql"


# --- projects ----------------------------------------------------------------------------------------------------


def test_project_lifecycle_is_owner_only_and_audited(pm: ProjectManager, owner_conn: psycopg.Connection[Any]) -> None:
    owner, member, stranger = user("owner"), user("member"), user("stranger")
    project = pm.create_project(owner, f"  Vendas {tag()} ", "first description", members=[member.email.upper()])
    assert project.owner == owner.normalized_email
    assert project.members == (member.normalized_email,)
    assert project.name == project.name.strip()
    assert project.is_owner(owner) and not project.is_owner(member)

    renamed = pm.rename_project(owner, project.id, "Vendas renamed")
    assert renamed.name == "Vendas renamed"
    assert pm.describe_project(owner, project.id, "new words").description == "new words"
    archived = pm.archive_project(owner, project.id)
    assert archived.archived and archived.archived_at is not None
    assert project.id not in ids(pm.list_projects(owner, include_archived=False))
    assert project.id in ids(pm.list_projects(owner))
    assert not pm.unarchive_project(owner, project.id).archived

    # A member sees the project but may not manage it; a stranger does not even see it.
    assert project.id in ids(pm.list_projects(member))
    for attempt in (
        lambda c: pm.rename_project(c, project.id, "taken over"),
        lambda c: pm.describe_project(c, project.id, "x"),
        lambda c: pm.archive_project(c, project.id),
        lambda c: pm.add_member(c, project.id, "someone@example.com"),
        lambda c: pm.remove_member(c, project.id, member.email),
        lambda c: pm.delete_project(c, project.id),
    ):
        with pytest.raises(PermissionDenied, match="only the project's owner"):
            attempt(member)
        with pytest.raises(NotFound):
            attempt(stranger)
    with pytest.raises(NotFound):
        pm.get_project(stranger, project.id)
    assert pm.get_project(owner, project.id).name == "Vendas renamed"

    pm.delete_project(owner, project.id)  # to the trash (tests/test_trash.py)
    with pytest.raises(NotFound):
        pm.get_project(owner, project.id)
    assert audit_actions(owner_conn, f"project:{project.id}") == [
        "project.create",
        "project.rename",
        "project.describe",
        "project.archive",
        "project.unarchive",
        "project.trash",
    ]
    delete_row = audit_rows(owner_conn, f"project:{project.id}", "project.trash")[0]
    assert delete_row["actor"] == owner.normalized_email
    assert delete_row["details"]["name"] == "Vendas renamed"


def test_members_are_validated_lower_cased_and_owner_managed(
    pm: ProjectManager, owner_conn: psycopg.Connection[Any]
) -> None:
    owner, member = user("owner"), user("member")
    project = pm.create_project(owner, f"p {tag()}")
    assert project.members == ()
    assert project.id not in ids(pm.list_projects(member))

    added = pm.add_member(owner, project.id, f"  {member.email.upper()} ")
    assert added.members == (member.normalized_email,)
    assert project.id in ids(pm.list_projects(member))
    # Adding again is a no-op; the owner cannot be a member; garbage is refused.
    assert pm.add_member(owner, project.id, member.email).members == (member.normalized_email,)
    with pytest.raises(ValueError, match="owns the project"):
        pm.add_member(owner, project.id, owner.email)
    for bad in ("not-an-email", "", "a@b@c", "two words@example.com"):
        with pytest.raises(ValueError, match="not an email"):
            pm.add_member(owner, project.id, bad)

    removed = pm.remove_member(owner, project.id, member.email)
    assert removed.members == ()
    assert project.id not in ids(pm.list_projects(member))
    with pytest.raises(NotFound, match="not a member"):
        pm.remove_member(owner, project.id, member.email)

    actions = audit_actions(owner_conn, f"project:{project.id}")
    assert actions == ["project.create", "project.member_add", "project.member_remove"]
    assert audit_rows(owner_conn, f"project:{project.id}", "project.member_add")[0]["details"]["member"] == (
        member.normalized_email
    )


def test_concurrent_member_additions_are_not_lost(pm: ProjectManager) -> None:
    owner = user("owner")
    project = pm.create_project(owner, f"p {tag()}")
    emails = [f"m{i}-{tag()}@example.com" for i in range(6)]
    barrier = threading.Barrier(len(emails))
    errors: list[BaseException] = []

    def add(email: str) -> None:
        barrier.wait()
        try:
            pm.add_member(owner, project.id, email)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(e,)) for e in emails]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert set(pm.get_project(owner, project.id).members) == set(emails)


def test_list_projects_counts_scripts_and_runs_in_one_listing(pm: ProjectManager) -> None:
    owner = user("owner")
    busy = pm.create_project(owner, f"busy {tag()}", "orders dashboards")
    idle = pm.create_project(owner, f"idle {tag()}")
    a = pm.create_script(owner, busy.id, "a", "select 1")
    pm.create_script(owner, busy.id, "b", "select 2")
    pm.run_script(owner, a.id)
    pm.run_script(owner, a.id)

    listed = {p.id: p for p in pm.list_projects(owner)}
    assert (listed[busy.id].script_count, listed[busy.id].run_count) == (2, 2)
    assert listed[busy.id].last_run_at is not None
    assert (listed[idle.id].script_count, listed[idle.id].run_count, listed[idle.id].last_run_at) == (0, 0, None)
    assert ids(pm.list_projects(owner, search="DASHBOARDS")) >= {busy.id}
    assert idle.id not in ids(pm.list_projects(owner, search="dashboards"))
    single = pm.get_project(owner, busy.id)
    assert (single.script_count, single.run_count) == (2, 2)


def test_admin_reads_every_project_but_changes_none(pm: ProjectManager) -> None:
    owner, admin = user("owner"), user("admin", "admin")
    project = pm.create_project(owner, f"p {tag()}")
    script = pm.create_script(owner, project.id, "s", "select 1")
    assert project.id in ids(pm.list_projects(admin))
    assert pm.get_script(admin, script.id).sql == "select 1"
    with pytest.raises(PermissionDenied):
        pm.delete_project(admin, project.id)
    with pytest.raises(PermissionDenied):
        pm.save_script(admin, script.id, "select 2", base_version=1)
    with pytest.raises(PermissionDenied):
        pm.create_script(admin, project.id, "intruder", "select 1")
    assert [s.name for s in pm.list_scripts(owner, project.id)] == ["s"]


def test_names_are_validated(pm: ProjectManager) -> None:
    owner = user("owner")
    with pytest.raises(ValueError, match="must not be empty"):
        pm.create_project(owner, "   ")
    with pytest.raises(ValueError, match="at most 200"):
        pm.create_project(owner, "x" * 201)
    project = pm.create_project(owner, f"p {tag()}")
    with pytest.raises(ValueError, match="script name must not be empty"):
        pm.create_script(owner, project.id, "")


# --- scripts and versions ----------------------------------------------------------------------------------------


def test_member_edits_scripts_and_every_changed_save_is_a_version(
    pm: ProjectManager, owner_conn: psycopg.Connection[Any]
) -> None:
    owner, member, stranger = user("owner"), user("member"), user("stranger")
    project = pm.create_project(owner, f"p {tag()}", members=[member.email])
    script = pm.create_script(owner, project.id, "report", "select 1", message="first draft")
    assert script.version == 1 and script.created_by == owner.normalized_email

    saved = pm.save_script(member, script.id, "select 1\nfrom orders", base_version=1, message="  add from  ")
    assert saved.changed and saved.version is not None
    assert (saved.version.number, saved.version.author, saved.version.message) == (
        2,
        member.normalized_email,
        "add from",
    )
    assert saved.script.version == 2 and saved.script.updated_by == member.normalized_email

    same = pm.save_script(member, script.id, "select 1\nfrom orders", base_version=2)
    assert not same.changed and same.script.version == 2

    versions = pm.list_versions(owner, script.id)
    assert [v.number for v in versions] == [2, 1]
    assert versions[1].message == "first draft" and versions[1].author == owner.normalized_email
    assert pm.get_version(member, script.id, 1).sql == "select 1"

    # A stranger sees none of it and changes nothing.
    with pytest.raises(NotFound):
        pm.get_script(stranger, script.id)
    with pytest.raises(NotFound):
        pm.list_versions(stranger, script.id)
    with pytest.raises(NotFound):
        pm.get_version(stranger, script.id, 1)
    with pytest.raises(NotFound):
        pm.save_script(stranger, script.id, "drop table x", base_version=2)
    with pytest.raises(NotFound):
        pm.list_scripts(stranger, project.id)
    with pytest.raises(NotFound):
        pm.create_script(stranger, project.id, "intruder", "select 1")
    assert pm.get_script(owner, script.id).sql == "select 1\nfrom orders"

    assert audit_actions(owner_conn, f"script:{script.id}") == ["script.create", "script.save"]
    row = audit_rows(owner_conn, f"script:{script.id}", "script.save")[0]
    assert row["actor"] == member.normalized_email
    assert row["details"]["version"] == 2 and row["details"]["base_version"] == 1


def test_stale_save_is_refused_with_the_other_change(pm: ProjectManager) -> None:
    alice, bob = user("alice"), user("bob")
    project = pm.create_project(alice, f"p {tag()}", members=[bob.email])
    script = pm.create_script(alice, project.id, "s", "select a\nfrom t")
    pm.save_script(alice, script.id, "select a, b\nfrom t", base_version=1)

    with pytest.raises(SaveConflict) as caught:
        pm.save_script(bob, script.id, "select a\nfrom t\nwhere x", base_version=1)
    conflict = caught.value
    assert conflict.base_version == 1
    assert (conflict.theirs.version, conflict.theirs.author) == (2, alice.normalized_email)
    assert conflict.theirs.sql == "select a, b\nfrom t"
    assert conflict.theirs.saved_at is not None
    assert "+where x" in conflict.theirs.diff and "-select a, b" in conflict.theirs.diff
    assert "alice" in str(conflict)
    # Nothing was written; a stale save of the very same text as the current one is no conflict.
    assert [v.number for v in pm.list_versions(bob, script.id)] == [2, 1]
    assert not pm.save_script(bob, script.id, "select a, b\nfrom t", base_version=1).changed
    assert isinstance(conflict, ConflictError)


def test_ten_concurrent_saves_from_one_base_one_wins(pm: ProjectManager) -> None:
    owner = user("owner")
    editors = [user(f"ed{i}") for i in range(9)]
    project = pm.create_project(owner, f"p {tag()}", members=[e.email for e in editors])
    script = pm.create_script(owner, project.id, "hot", "select 0")
    people = [owner, *editors]
    barrier = threading.Barrier(len(people))
    wins: list[int] = []
    conflicts: list[SaveConflict] = []
    others: list[BaseException] = []
    lock = threading.Lock()

    def save(i: int, claims: UserClaims) -> None:
        barrier.wait()
        try:
            result = pm.save_script(claims, script.id, f"select {i + 1}", base_version=1, message=f"writer {i}")
        except SaveConflict as exc:
            with lock:
                conflicts.append(exc)
        except BaseException as exc:  # collected and asserted below
            with lock:
                others.append(exc)
        else:
            with lock:
                wins.append(i)
                assert result.version is not None and result.version.number == 2

    threads = [threading.Thread(target=save, args=(i, c)) for i, c in enumerate(people)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert others == []
    assert len(wins) == 1 and len(conflicts) == 9
    winner = wins[0]
    assert {c.theirs.version for c in conflicts} == {2}
    assert {c.theirs.sql for c in conflicts} == {f"select {winner + 1}"}
    assert {c.theirs.author for c in conflicts} == {people[winner].normalized_email}
    versions = pm.list_versions(owner, script.id)
    assert [v.number for v in versions] == [2, 1]  # no gap, no duplicate
    assert pm.get_script(owner, script.id).sql == f"select {winner + 1}"


def test_diff_and_restore_make_a_new_version(pm: ProjectManager, owner_conn: psycopg.Connection[Any]) -> None:
    owner = user("owner")
    project = pm.create_project(owner, f"p {tag()}")
    script = pm.create_script(owner, project.id, "s", "select 1\nfrom a")
    pm.save_script(owner, script.id, "select 1\nfrom b", base_version=1)
    pm.save_script(owner, script.id, "select 2\nfrom b\nlimit 3", base_version=2)

    diff = pm.diff_versions(owner, script.id, 1, 3)
    assert diff.left_label == "v1" and diff.right_label == "v3"
    assert [(r.left_no, r.right_no, r.tag) for r in diff.rows] == [
        (1, 1, "replace"),
        (2, 2, "replace"),
        (None, 3, "replace"),  # one replaced block of 2 lines by 3: the third has no left side
    ]
    assert "-from a" in diff.unified and "+limit 3" in diff.unified
    assert not pm.diff_versions(owner, script.id, 2, 2).changed
    with pytest.raises(NotFound):
        pm.diff_versions(owner, script.id, 1, 99)

    restored = pm.restore_version(owner, script.id, 1, base_version=3)
    assert restored.version is not None
    assert (restored.version.number, restored.version.message, restored.version.sql) == (
        4,
        "restored from v1",
        "select 1\nfrom a",
    )
    assert pm.get_script(owner, script.id).sql == "select 1\nfrom a"
    assert [v.number for v in pm.list_versions(owner, script.id)] == [4, 3, 2, 1]
    with pytest.raises(SaveConflict):
        pm.restore_version(owner, script.id, 2, base_version=3)  # stale: v4 exists
    with pytest.raises(NotFound):
        pm.restore_version(owner, script.id, 42)
    assert not pm.restore_version(owner, script.id, 1).changed  # already current: no empty version
    assert audit_actions(owner_conn, f"script:{script.id}")[-1] == "script.restore"


def test_rename_move_and_delete_scripts(pm: ProjectManager, owner_conn: psycopg.Connection[Any]) -> None:
    owner, member = user("owner"), user("member")
    source = pm.create_project(owner, f"src {tag()}", members=[member.email])
    target = pm.create_project(owner, f"dst {tag()}", members=[member.email])
    elsewhere = pm.create_project(user("other"), f"other {tag()}")
    owner_only = pm.create_project(owner, f"mine {tag()}")
    script = pm.create_script(member, source.id, "daily", "select 1")
    pm.create_script(owner, source.id, "weekly", "select 7")
    pm.create_script(owner, target.id, "weekly", "select 7")

    with pytest.raises(ConflictError, match="already exists"):
        pm.create_script(owner, source.id, "daily", "select 2")
    with pytest.raises(ConflictError, match="already exists"):
        pm.rename_script(member, script.id, "weekly")
    renamed = pm.rename_script(member, script.id, "daily v2")
    assert renamed.name == "daily v2" and renamed.version == 1  # a rename is not a version

    # Moving needs membership of both projects.
    with pytest.raises(NotFound):
        pm.move_script(member, script.id, elsewhere.id)
    with pytest.raises(NotFound):
        pm.move_script(member, script.id, owner_only.id)
    moved = pm.move_script(member, script.id, target.id)
    assert moved.project_id == target.id
    assert [s.name for s in pm.list_scripts(member, target.id)] == ["daily v2", "weekly"]
    weekly = next(s for s in pm.list_scripts(owner, source.id) if s.name == "weekly")
    with pytest.raises(ConflictError, match="already has a script named"):
        pm.move_script(owner, weekly.id, target.id)

    # Archived projects are read-only.
    pm.archive_project(owner, target.id)
    with pytest.raises(ConflictError, match="archived"):
        pm.save_script(member, script.id, "select 2", base_version=1)
    with pytest.raises(ConflictError, match="archived"):
        pm.create_script(member, target.id, "new", "select 1")
    pm.unarchive_project(owner, target.id)

    pm.run_script(member, script.id)
    pm.delete_script(member, script.id)
    with pytest.raises(NotFound):
        pm.get_script(member, script.id)
    with pytest.raises(NotFound):
        pm.delete_script(member, script.id)
    # In the trash (tests/test_trash.py): the run stays in the history, still linked to the script.
    runs = pm.history(member, project_id=target.id)
    assert len(runs) == 1 and runs[0].script_id == script.id and runs[0].status == "success"
    assert audit_actions(owner_conn, f"script:{script.id}") == [
        "script.create",
        "script.rename",
        "script.move",
        "script.run",
        "script.trash",
    ]


# --- runs --------------------------------------------------------------------------------------------------------


def test_script_run_is_recorded_with_version_rows_and_audit(
    pm: ProjectManager, owner_conn: psycopg.Connection[Any]
) -> None:
    analyst = user("analyst")
    project = pm.create_project(analyst, f"p {tag()}")
    script = pm.create_script(analyst, project.id, "series", "select 1;\nselect g from generate_series(1, 7) g")
    outcome = pm.run_script(analyst, script.id)
    assert outcome.ok and outcome.read_only and not outcome.needs_confirmation
    assert len(outcome.results) == 2 and outcome.error is None
    run = outcome.execution
    assert run is not None
    assert (run.script_id, run.project_id, run.version, run.status, run.rows) == (
        script.id,
        project.id,
        1,
        "success",
        7,
    )
    assert run.sql == script.sql and run.executed_by == analyst.normalized_email
    assert run.duration_ms is not None and run.duration_ms >= 0 and run.error is None
    history = pm.history(analyst, script_id=script.id)
    assert [h.id for h in history] == [run.id]
    assert history[0].script_name == "series" and history[0].project_name == project.name
    row = audit_rows(owner_conn, f"script:{script.id}", "script.run")[0]
    # Written when the run started (before its SQL ran); the outcome is on the run row, the audit stays append-only.
    assert row["details"]["execution_id"] == run.id and row["details"]["status"] == "running"


def test_analyst_runs_are_read_only_and_failures_are_recorded(pm: ProjectManager) -> None:
    analyst = user("analyst")
    project = pm.create_project(analyst, f"p {tag()}")
    script = pm.create_script(analyst, project.id, "write", f"create table analyst_{tag()} (i int)")
    outcome = pm.run_script(analyst, script.id)
    assert outcome.status == "error" and outcome.read_only
    assert outcome.error is not None and outcome.error.sqlstate in ("25006", "42501")
    run = outcome.execution
    assert run is not None and run.status == "error" and run.sqlstate in ("25006", "42501")
    assert run.error and run.rows == 0
    # The failed run is in the history: recording happened in its own transaction.
    assert [h.id for h in pm.history(analyst, script_id=script.id, status="error")] == [run.id]
    assert pm.history(analyst, script_id=script.id, status="success") == []

    viewer_outcome = pm.run_adhoc(user("viewer", "viewer"), "delete from public.services")
    assert viewer_outcome.status == "error" and viewer_outcome.read_only
    assert viewer_outcome.execution is not None and viewer_outcome.execution.sqlstate in ("25006", "42501")


def test_refused_sql_is_recorded_as_an_error(pm: ProjectManager) -> None:
    analyst = user("analyst")
    outcome = pm.run_adhoc(analyst, "set role postgres")
    assert outcome.status == "error" and outcome.error is not None
    assert "refused" in outcome.error.message
    assert outcome.execution is not None and outcome.execution.status == "error"
    with pytest.raises(QueryRefused, match="nothing to run"):
        pm.run_adhoc(analyst, "  -- only a comment\n")


def test_dba_destructive_sql_needs_confirmation_then_runs(
    pm: ProjectManager, owner_conn: psycopg.Connection[Any], demo_conn: psycopg.Connection[Any]
) -> None:
    dba = user("dba", "dba")
    table = f"scratch_{tag()}"
    project = pm.create_project(dba, f"p {tag()}")
    setup = pm.create_script(
        dba,
        project.id,
        "setup",
        f"create table public.{table} (i int);\ninsert into public.{table} select generate_series(1, 5)",
    )
    created = pm.run_script(dba, setup.id)
    assert created.ok and not created.read_only
    assert created.execution is not None and created.execution.rows == 5  # total affected, no row-returning statement

    wipe = pm.create_script(dba, project.id, "wipe", f"delete from public.{table}")
    first = pm.run_script(dba, wipe.id)
    assert first.needs_confirmation and first.execution is None and first.results == ()
    assert first.destructive_reasons and "DELETE" in first.destructive_reasons[0].upper()
    assert demo_conn.execute(f"select count(*) as n from public.{table}").fetchone()["n"] == 5  # nothing ran
    assert pm.history(dba, script_id=wipe.id) == []

    confirmed = pm.run_script(dba, wipe.id, confirm_destructive=True)
    assert confirmed.ok and confirmed.execution is not None and confirmed.execution.rows == 5
    assert demo_conn.execute(f"select count(*) as n from public.{table}").fetchone()["n"] == 0
    # on the connection, made by its DBA login; nothing of it in the workspace
    owner = demo_conn.execute("select tableowner from pg_tables where tablename = %s", (table,)).fetchone()
    assert owner is not None and owner["tableowner"] == "dba_admin_dba"
    assert owner_conn.execute("select to_regclass(%s) as t", (f"public.{table}",)).fetchone()["t"] is None
    dropped = pm.run_adhoc(dba, f"drop table public.{table}", confirm_destructive=True)
    assert dropped.ok and dropped.execution is not None and dropped.execution.script_id is None


def test_timeout_is_recorded_as_timeout(pm: ProjectManager) -> None:
    analyst = user("analyst")
    project = pm.create_project(analyst, f"p {tag()}")
    script = pm.create_script(analyst, project.id, "slow", "select pg_sleep(5)")
    outcome = pm.run_script(analyst, script.id, timeout_ms=200)
    assert outcome.status == "timeout"
    assert outcome.execution is not None
    assert (outcome.execution.status, outcome.execution.sqlstate) == ("timeout", "57014")


def test_a_run_cancelled_from_another_session_is_recorded_as_cancelled(
    pm: ProjectManager, owner_conn: psycopg.Connection[Any]
) -> None:
    analyst = user("analyst")
    outcomes: list[Any] = []
    runner = threading.Thread(
        target=lambda: outcomes.append(pm.run_adhoc(analyst, "select pg_sleep(60)", timeout_ms=0))
    )
    runner.start()
    cancelled = False
    # Poll until the sleep shows up in pg_stat_activity (it runs as a FETCH from a cursor on the read-only
    # login), then cancel it as a DBA's "cancel" button would.
    for _ in range(400):
        row = owner_conn.execute(
            "select bool_or(pg_cancel_backend(pid)) as done from pg_stat_activity"
            " where usename = 'dba_admin_readonly' and wait_event = 'PgSleep'"
        ).fetchone()
        if row["done"]:
            cancelled = True
            break
        threading.Event().wait(0.05)
    runner.join()
    assert cancelled
    outcome = outcomes[0]
    assert outcome.status == "cancelled"
    assert outcome.execution is not None
    assert (outcome.execution.status, outcome.execution.sqlstate) == ("cancelled", "57014")


def test_adhoc_run_is_recorded_without_a_script(pm: ProjectManager, owner_conn: psycopg.Connection[Any]) -> None:
    analyst = user("analyst")
    outcome = pm.run_adhoc(analyst, "select 42 as answer", max_rows=10)
    run = outcome.execution
    assert outcome.ok and run is not None
    assert (run.script_id, run.project_id, run.version, run.rows) == (None, None, None, 1)
    assert int(outcome.results[0].rows.iloc[0, 0]) == 42
    mine = pm.history(analyst, mine_only=True)
    assert [h.id for h in mine] == [run.id]
    assert [r["action"] for r in audit_rows(owner_conn, f"execution:{run.id}", "sql.run")] == ["sql.run"]


def test_history_visibility_follows_runner_and_membership(pm: ProjectManager) -> None:
    alice, member, bob, admin = user("alice"), user("member"), user("bob"), user("admin", "admin")
    project = pm.create_project(alice, f"p {tag()}", members=[member.email])
    script = pm.create_script(alice, project.id, "s", "select 1")
    script_run = pm.run_script(alice, script.id).execution
    adhoc_run = pm.run_adhoc(alice, "select 2").execution
    member_run = pm.run_script(member, script.id).execution
    assert script_run and adhoc_run and member_run

    def visible(claims: UserClaims) -> set[int]:
        return {h.id for h in pm.history(claims, limit=10_000)}

    assert {script_run.id, adhoc_run.id, member_run.id} <= visible(alice)
    # The member sees the project's runs (anyone's) but not Alice's ad-hoc SQL.
    assert {script_run.id, member_run.id} <= visible(member) and adhoc_run.id not in visible(member)
    assert visible(bob).isdisjoint({script_run.id, adhoc_run.id, member_run.id})
    assert {script_run.id, adhoc_run.id, member_run.id} <= visible(admin)
    assert {h.id for h in pm.history(member, project_id=project.id)} == {script_run.id, member_run.id}
    assert {h.id for h in pm.history(member, project_id=project.id, mine_only=True)} == {member_run.id}
    assert pm.history(bob, project_id=project.id) == []
    with pytest.raises(NotFound):
        pm.run_script(bob, script.id)

    # Removed from the project: the project's runs disappear, the member's own run stays visible.
    pm.remove_member(alice, project.id, member.email)
    assert visible(member) & {script_run.id, member_run.id, adhoc_run.id} == {member_run.id}


# --- search ------------------------------------------------------------------------------------------------------


def test_search_finds_scripts_by_name_and_sql_in_visible_projects(pm: ProjectManager) -> None:
    owner, member, stranger = user("owner"), user("member"), user("stranger")
    word = f"zq{tag()}"
    project = pm.create_project(owner, f"p {tag()}", members=[member.email])
    by_name = pm.create_script(owner, project.id, f"{word} monthly revenue", "select 1")
    by_sql = pm.create_script(
        owner, project.id, "payments check", f"select * from public.{word}_orders o where o.id > 0"
    )
    pm.create_script(owner, project.id, "unrelated", "select 3")

    hits = pm.search_scripts(member, word)
    assert [h.script.id for h in hits][:1] == [by_name.id]  # a name match ranks first
    assert {h.script.id for h in hits} == {by_name.id, by_sql.id}
    assert all(h.project_name == project.name for h in hits)
    assert [h.script.id for h in pm.search_scripts(member, f"{word}_orders")] == [by_sql.id]
    # A prefix of a word, and a fragment inside a name.
    assert {h.script.id for h in pm.search_scripts(owner, word[:6])} >= {by_name.id, by_sql.id}
    assert by_name.id in {h.script.id for h in pm.search_scripts(owner, "onthly reven")}
    # websearch syntax: a quoted phrase and a negated word.
    assert [h.script.id for h in pm.search_scripts(owner, f'"{word} monthly"')] == [by_name.id]
    assert {h.script.id for h in pm.search_scripts(owner, f"{word} -revenue")} == {by_sql.id}
    assert pm.search_scripts(owner, "   ") == []
    assert pm.search_scripts(stranger, word) == []


def test_search_with_odd_characters_does_not_fail(pm: ProjectManager) -> None:
    owner = user("owner")
    project = pm.create_project(owner, f"p {tag()}")
    script = pm.create_script(owner, project.id, "100%_done's", "select 'x'")
    for text in ("&|!:*()", "100%", "_", "'", "\\", "a:b", "<->"):
        hits = pm.search_scripts(owner, text)
        assert isinstance(hits, list)
    assert script.id in {h.script.id for h in pm.search_scripts(owner, "100%")}
    assert script.id not in {h.script.id for h in pm.search_scripts(owner, "200%")}


# --- export / import ---------------------------------------------------------------------------------------------


def _manifest(data: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return json.loads(zf.read("manifest.json"))


def test_export_import_round_trip(pm: ProjectManager, owner_conn: psycopg.Connection[Any]) -> None:
    owner, other = user("owner"), user("other")
    project = pm.create_project(owner, f"Relatórios {tag()}", "monthly numbers")
    texts = {"vendas/mês": "select 'ç' as x;\n", "../escape": "select 2", "plain": ""}
    for name, text in texts.items():
        pm.create_script(owner, project.id, name, text)
    pm.save_script(owner, pm.list_scripts(owner, project.id)[-1].id, "select 'v2'", base_version=1)

    data = pm.export_project(owner, project.id)
    manifest = _manifest(data)
    assert manifest["project"] == {"name": project.name, "description": "monthly numbers"}
    assert manifest["exported_by"] == owner.normalized_email and manifest["exported_at"]
    assert {s["name"] for s in manifest["scripts"]} == set(texts)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for entry in manifest["scripts"]:
            assert entry["file"].startswith("scripts/") and ".." not in entry["file"]
            assert entry["file"] in zf.namelist() and entry["version"] >= 1 and entry["updated_at"]
    with pytest.raises(NotFound):
        pm.export_project(other, project.id)

    report = pm.import_project(other, data)
    assert report.project.owner == other.normalized_email and report.project.name == project.name
    assert report.project.description == "monthly numbers" and report.project.script_count == 3
    assert set(report.created) == set(texts) and not (report.renamed or report.skipped or report.new_versions)
    imported = {s.name: s.sql for s in pm.list_scripts(other, report.project.id)}
    original = {s.name: s.sql for s in pm.list_scripts(owner, project.id)}
    assert imported == original
    version = pm.list_versions(other, pm.list_scripts(other, report.project.id)[0].id)[0]
    assert version.number == 1 and version.message and version.message.startswith("imported from scripts/")
    assert audit_actions(owner_conn, f"project:{project.id}")[-1] == "project.export"
    assert audit_actions(owner_conn, f"project:{report.project.id}") == ["project.import"]

    named = pm.import_project(other, data, project_name="copy two")
    assert named.project.name == "copy two"


def test_import_clash_raises_and_writes_nothing_then_policies_decide(pm: ProjectManager) -> None:
    owner = user("owner")
    source = pm.create_project(owner, f"src {tag()}")
    pm.create_script(owner, source.id, "shared", "select 'new text'")
    pm.create_script(owner, source.id, "same", "select 'same'")
    pm.create_script(owner, source.id, "fresh", "select 'fresh'")
    data = pm.export_project(owner, source.id)

    target = pm.create_project(owner, f"dst {tag()}")
    shared = pm.create_script(owner, target.id, "shared", "select 'old text'")
    same = pm.create_script(owner, target.id, "same", "select 'same'")

    def state() -> dict[str, tuple[str, int]]:
        return {s.name: (s.sql, s.version) for s in pm.list_scripts(owner, target.id)}

    before = state()
    with pytest.raises(ImportClash) as caught:
        pm.import_project(owner, data, project_id=target.id)
    assert caught.value.names == ["same", "shared"]
    assert "same, shared" in str(caught.value)
    assert state() == before  # nothing written, not even the non-clashing "fresh"

    skipped = pm.import_project(owner, data, project_id=target.id, policy=ClashPolicy.SKIP)
    assert set(skipped.skipped) == {"shared", "same"} and skipped.created == ("fresh",)
    assert state()["shared"] == ("select 'old text'", 1)

    renamed = pm.import_project(owner, data, project_id=target.id, policy=ClashPolicy.RENAME)
    assert dict(renamed.renamed) == {
        "fresh": "fresh (imported)",
        "same": "same (imported)",
        "shared": "shared (imported)",
    }
    again = pm.import_project(owner, data, project_id=target.id, policy=ClashPolicy.RENAME)
    assert dict(again.renamed)["shared"] == "shared (imported 2)"

    versioned = pm.import_project(owner, data, project_id=target.id, policy=ClashPolicy.NEW_VERSION)
    assert set(versioned.new_versions) == {"shared"} and set(versioned.unchanged) == {"same", "fresh"}
    assert state()["shared"] == ("select 'new text'", 2)
    assert state()["same"] == ("select 'same'", 1)
    assert pm.get_version(owner, shared.id, 2).message == "imported from scripts/shared.sql"
    assert pm.get_script(owner, same.id).version == 1

    # Importing into someone else's project is refused.
    with pytest.raises(NotFound):
        pm.import_project(user("stranger"), data, project_id=target.id, policy=ClashPolicy.SKIP)


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content in entries.items():
            zf.writestr(name, content)
    return buffer.getvalue()


def _manifest_bytes(scripts: list[dict[str, Any]], **extra: Any) -> bytes:
    manifest = {"format": "dba-admin-project", "format_version": 1, "project": {"name": "x"}, "scripts": scripts}
    manifest.update(extra)
    return json.dumps(manifest).encode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not a zip at all", "not a zip"),
        (_zip({"scripts/a.sql": b"select 1"}), "no manifest.json"),
        (_zip({"manifest.json": b"{not json"}), "not valid UTF-8 JSON"),
        (_zip({"manifest.json": b'{"format": "other"}'}), "not a DBA Admin project manifest"),
        (_zip({"manifest.json": _manifest_bytes([{"name": "a", "file": "scripts/a.sql"}])}), "not in the archive"),
        (
            _zip(
                {
                    "manifest.json": _manifest_bytes([{"name": "a", "file": "../a.sql"}]),
                    "../a.sql": b"select 1",
                }
            ),
            "unsafe path",
        ),
        (_zip({"manifest.json": _manifest_bytes([]), "/etc/cron.d/x": b"x"}), "unsafe path"),
        (_zip({"manifest.json": _manifest_bytes([]), "a\\..\\b.sql": b"x"}), "unsafe path"),
        (_zip({"manifest.json": _manifest_bytes([]), "C:/x.sql": b"x"}), "unsafe path"),
        (
            _zip(
                {
                    "manifest.json": _manifest_bytes(
                        [{"name": "a", "file": "scripts/a.sql"}, {"name": "a", "file": "scripts/a.sql"}]
                    ),
                    "scripts/a.sql": b"select 1",
                }
            ),
            "twice",
        ),
        (
            _zip({"manifest.json": _manifest_bytes([{"name": "a", "file": "s.sql"}]), "s.sql": b"\xff\xfe\x00"}),
            "not UTF-8",
        ),
        (_zip({"manifest.json": _manifest_bytes([], format_version=99)}), "format_version"),
        (_zip({"manifest.json": _manifest_bytes([{"name": "", "file": "s.sql"}]), "s.sql": b""}), "must not be empty"),
    ],
)
def test_import_refuses_bad_archives(pm: ProjectManager, data: bytes, message: str) -> None:
    owner = user("owner")
    before = len(pm.list_projects(owner))
    with pytest.raises(InvalidArchive, match=message):
        pm.import_project(owner, data)
    assert len(pm.list_projects(owner)) == before


def test_import_refuses_an_oversized_file(pm: ProjectManager) -> None:
    big = b"-- " + b"x" * (5 * 1024 * 1024)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", _manifest_bytes([{"name": "big", "file": "big.sql"}]))
        zf.writestr("big.sql", big)
    with pytest.raises(InvalidArchive, match="larger than"):
        pm.import_project(user("owner"), buffer.getvalue())


# --- isolation, randomized ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [3, 11])
def test_randomized_listing_is_exactly_owned_or_member_projects(pm: ProjectManager, seed: int) -> None:
    rng = random.Random(seed)
    people = [user(f"r{seed}u{i}") for i in range(6)]
    admin = user(f"r{seed}admin", "admin")
    expected: dict[str, set[uuid.UUID]] = {p.normalized_email: set() for p in people}
    created: set[uuid.UUID] = set()
    scripts: dict[uuid.UUID, uuid.UUID] = {}
    for i in range(10):
        owner = rng.choice(people)
        members = [p for p in rng.sample(people, rng.randint(0, 3)) if p is not owner]
        project = pm.create_project(owner, f"rand {seed}-{i}", members=[m.email for m in members[:1]])
        for m in members[1:]:  # both ways of adding members
            pm.add_member(owner, project.id, m.email)
        if members and rng.random() < 0.3:
            dropped = members.pop()
            pm.remove_member(owner, project.id, dropped.email)
        created.add(project.id)
        scripts[project.id] = pm.create_script(owner, project.id, "s", f"select {i}").id
        for person in [owner, *members]:
            expected[person.normalized_email].add(project.id)

    for person in people:
        seen = ids(pm.list_projects(person)) & created
        assert seen == expected[person.normalized_email], person.email
        for project_id, script_id in scripts.items():
            if project_id in expected[person.normalized_email]:
                assert pm.get_script(person, script_id).project_id == project_id
            else:
                with pytest.raises(NotFound):
                    pm.get_script(person, script_id)
    assert ids(pm.list_projects(admin)) >= created


def test_run_refuses_a_version_nobody_reviewed(pm: ProjectManager) -> None:
    """A confirmation is for the text that was shown: if someone saved since, nothing runs."""
    manager = pm
    owner = user("reviewer", "dba")
    project = manager.create_project(owner, f"reviewed-runs-{tag()}")
    script = manager.create_script(owner, project.id, "cleanup", "select 1 as reviewed")
    manager.save_script(owner, script.id, "select 2 as not_reviewed", base_version=script.version)
    with pytest.raises(ConflictError, match="changed since you opened it"):
        manager.run_script(owner, script.id, confirm_destructive=True, expected_version=script.version)
    assert manager.history(owner, script_id=script.id) == []
    assert manager.run_script(owner, script.id, expected_version=script.version + 1).ok


def test_history_filters_run_in_the_database(pm: ProjectManager) -> None:
    me = user("filters")
    marker = f"needle_{tag()}"
    pm.run_adhoc(me, f"select 1 as {marker}")
    pm.run_adhoc(me, "select 2 as other")
    pm.run_adhoc(me, "select * from no_such_table_here")
    found = pm.history(me, mine_only=True, text=marker)
    assert [r.sql for r in found] == [f"select 1 as {marker}"]
    assert pm.history(me, mine_only=True, text="100%_literal") == []  # % and _ match themselves, not anything
    assert {r.status for r in pm.history(me, mine_only=True, status="error")} == {"error"}
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert pm.history(me, mine_only=True, since=later) == []
    assert len(pm.history(me, mine_only=True, until=later)) == 3
