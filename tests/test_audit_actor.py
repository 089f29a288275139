"""The audit log names a person one way: by app username, the email in details (issue 15, section 3).

Against the suite's real workspace: rows written in a user's transaction (dba_admin_api.audit, actor from the
verified claims' email), the app's run rows (written with the email) and Supabase Auth logins and role syncs all
say the username; an actor that is no app user's email is kept as given.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from db_helpers import demo_manager
from gotrue_stub import ANON_KEY, GoTrue
from psycopg.rows import dict_row

from dba_admin import audit
from dba_admin.auth import UserStore
from dba_admin.errors import AuthError
from dba_admin.projects import ProjectManager
from dba_admin.supabase_auth import login_with_supabase


@pytest.fixture
def conn(app_db: Any) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(app_db.dsn, autocommit=True, row_factory=dict_row) as connection:
        yield connection


@pytest.fixture(scope="module")
def projects(app_db: Any) -> Iterator[ProjectManager]:
    db = demo_manager(app_db)  # runs go to connection demo; projects and audit live in the workspace
    yield ProjectManager(db)
    db.close()


def rows(conn: psycopg.Connection[Any], action: str, target: str) -> list[dict[str, Any]]:
    return conn.execute(
        "select actor, details from dba_admin.audit_log where action = %s and target = %s order by id",
        (action, target),
    ).fetchall()


def test_a_users_project_changes_and_runs_are_audited_under_the_username(
    conn: psycopg.Connection[Any], projects: ProjectManager
) -> None:
    username = f"actor{uuid.uuid4().hex[:8]}"
    email = f"{username}.Mail@Example.com"  # not derived from the username, mixed case on purpose
    store = UserStore(conn)
    store.create_user(actor="tests", username=username, email=email, role="analyst", password="test-password-1")
    claims = store.get(username).claims
    project = projects.create_project(claims, f"audited {uuid.uuid4().hex[:6]}")
    (created,) = rows(conn, "project.create", f"project:{project.id}")  # SQL side: dba_admin_api.audit
    assert created["actor"] == username
    assert created["details"]["actor_email"] == email.lower()
    outcome = projects.run_adhoc(claims, "select 1 as one")  # app side: audit.record with the email
    assert outcome.execution is not None
    started_and_done = rows(conn, "sql.run", f"execution:{outcome.execution.id}")
    assert started_and_done and {r["actor"] for r in started_and_done} == {username}


def test_an_actor_that_is_no_users_email_is_kept(conn: psycopg.Connection[Any]) -> None:
    target = f"t-{uuid.uuid4().hex[:8]}"
    with conn.transaction():
        audit.record(conn, "test.actor", actor="Someone@Elsewhere.example", target=target)
        audit.record(conn, "test.actor", actor="system:test", target=target)
    assert [r["actor"] for r in rows(conn, "test.actor", target)] == ["Someone@Elsewhere.example", "system:test"]
    assert all("actor_email" not in r["details"] for r in rows(conn, "test.actor", target))


def test_supabase_logins_and_role_syncs_name_the_username(gotrue: str, conn: psycopg.Connection[Any]) -> None:
    store = UserStore(conn)
    email = f"sb{uuid.uuid4().hex[:8]}@example.com"
    GoTrue.accounts = {email: ("s3cret-pass", {"app_role": "analyst"})}
    user = login_with_supabase(store, gotrue, ANON_KEY, email, "s3cret-pass")
    (created,) = rows(conn, "user.create", user.username)
    assert created["actor"] == user.username and created["details"]["via"] == "supabase_auth"
    GoTrue.accounts[email] = ("s3cret-pass", {"app_role": "dba"})  # an admin changed app_metadata
    assert login_with_supabase(store, gotrue, ANON_KEY, email, "s3cret-pass").role == "dba"
    (synced,) = rows(conn, "user.set_role", user.username)
    assert synced["actor"] == user.username and synced["details"]["via"] == "supabase_auth"
    with pytest.raises(AuthError):
        login_with_supabase(store, gotrue, ANON_KEY, email.upper(), "wrong-pass")
    failed = conn.execute(
        "select actor, details from dba_admin.audit_log where action = 'login.failed' and details ->> 'email' = %s",
        (email,),
    ).fetchall()
    assert [r["actor"] for r in failed] == [user.username]
    stranger = f"nobody{uuid.uuid4().hex[:8]}@example.com"
    GoTrue.accounts[stranger] = ("pass-word-1", {})
    with pytest.raises(AuthError, match="no DBA Admin role"):
        login_with_supabase(store, gotrue, ANON_KEY, stranger, "pass-word-1")
    refused = conn.execute(
        "select actor, details from dba_admin.audit_log where action = 'login.refused_no_role' and actor = %s",
        (stranger,),
    ).fetchall()
    assert len(refused) == 1 and refused[0]["details"]["email"] == stranger
