"""Users, admin locks, last-admin protection, audit rows, and Supabase Auth against a local GoTrue server.

Throttling of failed logins and revocable sessions have their own file, test_sessions.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from gotrue_stub import ANON_KEY, GoTrue

from dba_admin.auth import LoginThrottled, UserStore, ensure_first_admin, hash_password, verify_password
from dba_admin.errors import AccountLocked, AuthError, LastAdminError, NotFound
from dba_admin.login_throttle import ThrottlePolicy
from dba_admin.supabase_auth import login_with_supabase, sign_in


@pytest.fixture
def conn(app_db: Any) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(app_db.dsn, autocommit=True) as connection:
        yield connection


@pytest.fixture
def store(conn: psycopg.Connection[Any]) -> UserStore:
    return UserStore(conn, throttle=ThrottlePolicy(free_failures=3, base_seconds=30, max_seconds=60))


def _name() -> str:
    return f"u{uuid.uuid4().hex[:10]}"


def _audit(conn: psycopg.Connection[Any], actor_or_target: str) -> list[str]:
    rows = conn.execute(
        "select action from dba_admin.audit_log where actor = %s or target = %s order by id",
        (actor_or_target, actor_or_target),
    ).fetchall()
    return [r[0] for r in rows]


def test_hashes_are_bcrypt_and_verify() -> None:
    hashed = hash_password("correct horse")
    assert hashed.startswith("$2") and "correct horse" not in hashed
    assert verify_password("correct horse", hashed)
    assert not verify_password("wrong", hashed)
    assert not verify_password("x", "not-a-hash")


def test_first_admin_exists_once_and_is_hashed(conn: psycopg.Connection[Any]) -> None:
    # The session's bootstrap already created it; a second call (another app server) creates nothing.
    assert ensure_first_admin(conn) is None
    row = conn.execute("select password_hash, role from dba_admin.users where username = 'admin'").fetchone()
    assert row is not None and row[1] == "admin" and row[0].startswith("$2")


def test_create_login_and_audit(store: UserStore, conn: psycopg.Connection[Any]) -> None:
    name = _name()
    user, generated = store.create_user(actor="admin", username=name, email=f"{name}@example.com", role="analyst")
    assert generated and len(generated) >= 12
    assert user.role == "analyst" and user.is_active
    logged = store.authenticate(name, generated)
    assert logged.last_login_at is not None
    store.record_logout(name)
    assert _audit(conn, name) == ["user.create", "login.success", "logout"]


def test_failures_throttle_but_never_lock_then_admin_lock_and_unlock(
    store: UserStore, conn: psycopg.Connection[Any]
) -> None:
    name = _name()
    store.create_user(
        actor="admin", username=name, email=f"{name}@example.com", role="viewer", password="right-password"
    )
    for _ in range(4):
        with pytest.raises(AuthError, match="wrong username or password"):
            store.authenticate(name, "wrong-password")
    # Past the free failures: a delay, not a lock. Even the right password waits, and the account stays open.
    with pytest.raises(LoginThrottled):
        store.authenticate(name, "right-password")
    assert store.get(name).locked_until is None
    assert store.session_user(name) is not None
    conn.execute("update dba_admin.login_attempts set next_allowed_at = now() where key = %s", (name,))
    assert store.authenticate(name, "right-password").failed_attempts == 0
    # A lock is an admin's action: new logins are refused until an admin unlocks.
    store.lock(actor="admin", username=name)
    with pytest.raises(AccountLocked):
        store.authenticate(name, "right-password")
    store.unlock(actor="admin", username=name)
    assert store.authenticate(name, "right-password").username == name
    actions = _audit(conn, name)
    assert actions.count("login.failed") == 4 and "login.throttled" in actions
    assert "user.lock" in actions and "login.refused_locked" in actions and "user.unlock" in actions


def test_lock_expires(store: UserStore, conn: psycopg.Connection[Any]) -> None:
    name = _name()
    store.create_user(
        actor="admin", username=name, email=f"{name}@example.com", role="viewer", password="right-password"
    )
    conn.execute("update dba_admin.users set locked_until = now() - interval '1 second' where username = %s", (name,))
    assert store.authenticate(name, "right-password").username == name


def test_deactivated_user_cannot_log_in_nor_keep_a_session(store: UserStore) -> None:
    name = _name()
    store.create_user(actor="admin", username=name, email=f"{name}@example.com", role="dba", password="right-password")
    store.set_active(actor="admin", username=name, active=False)
    with pytest.raises(AuthError):
        store.authenticate(name, "right-password")
    assert store.session_user(name) is None
    assert name not in store.authenticator_credentials()["usernames"]


def test_last_admin_cannot_be_removed(store: UserStore) -> None:
    admins = [u for u in store.list_users() if u.role == "admin" and u.is_active]
    for extra in admins[1:]:
        store.set_role(actor="test", username=extra.username, role="viewer")
    only = store.list_users()
    last = next(u for u in only if u.role == "admin" and u.is_active)
    with pytest.raises(LastAdminError):
        store.set_role(actor="test", username=last.username, role="dba")
    with pytest.raises(LastAdminError):
        store.set_active(actor="test", username=last.username, active=False)
    with pytest.raises(LastAdminError):
        store.lock(actor="test", username=last.username)
    # With a second admin, the first may step down.
    name = _name()
    store.create_user(
        actor="test", username=name, email=f"{name}@example.com", role="admin", password="another-password"
    )
    assert store.set_role(actor="test", username=last.username, role="dba").role == "dba"
    store.set_role(actor="test", username=last.username, role="admin")


def test_bad_input_is_refused_clearly(store: UserStore) -> None:
    with pytest.raises(AuthError, match="username"):
        store.create_user(actor="a", username="Bad Name!", email="x@example.com", role="viewer")
    with pytest.raises(AuthError, match="email"):
        store.create_user(actor="a", username=_name(), email="not-an-email", role="viewer")
    with pytest.raises(AuthError, match="role"):
        store.create_user(actor="a", username=_name(), email="r@example.com", role="root")
    with pytest.raises(AuthError, match="at least"):
        store.create_user(actor="a", username=_name(), email="s@example.com", role="viewer", password="short")
    name = _name()
    store.create_user(actor="a", username=name, email=f"{name}@example.com", role="viewer")
    with pytest.raises(AuthError, match="already exists"):
        store.create_user(actor="a", username=name, email=f"other-{name}@example.com", role="viewer")
    with pytest.raises(NotFound):
        store.get("nobody-by-that-name")


def test_reset_password_returns_new_one_once(store: UserStore) -> None:
    name = _name()
    store.create_user(actor="a", username=name, email=f"{name}@example.com", role="viewer", password="first-password")
    new = store.reset_password(actor="admin", username=name)
    assert new is not None
    with pytest.raises(AuthError):
        store.authenticate(name, "first-password")
    assert store.authenticate(name, new).username == name


# ---- Supabase Auth, with the real supabase client against a local GoTrue-speaking server ----------------------


def test_supabase_sign_in_reads_app_role(gotrue: str) -> None:
    GoTrue.accounts = {"ana@example.com": ("s3cret-pass", {"provider": "email", "app_role": "dba"})}
    identity = sign_in(gotrue, ANON_KEY, "Ana@Example.com", "s3cret-pass")
    assert identity.email == "ana@example.com" and identity.app_role == "dba"
    with pytest.raises(AuthError, match="wrong email or password"):
        sign_in(gotrue, ANON_KEY, "ana@example.com", "nope")


def test_supabase_login_creates_user_from_metadata_and_mapping(gotrue: str, store: UserStore) -> None:
    email = f"{_name()}@example.com"
    GoTrue.accounts = {email: ("s3cret-pass", {"app_role": "analyst"})}
    user = login_with_supabase(store, gotrue, ANON_KEY, email, "s3cret-pass")
    assert user.auth_source == "supabase" and user.role == "analyst"
    # No role in metadata and no mapping row: refused with a clear message.
    stranger = f"{_name()}@example.com"
    GoTrue.accounts[stranger] = ("pass-word-1", {})
    with pytest.raises(AuthError, match="no DBA Admin role"):
        login_with_supabase(store, gotrue, ANON_KEY, stranger, "pass-word-1")
    # A mapping row (an admin created the user as a Supabase user) gives the role.
    store.create_user(actor="admin", username=stranger[:64], email=stranger, role="viewer", auth_source="supabase")
    assert login_with_supabase(store, gotrue, ANON_KEY, stranger, "pass-word-1").role == "viewer"


def test_supabase_outage_is_a_clear_error(gotrue: str) -> None:
    GoTrue.fail_with = 503
    with pytest.raises(AuthError, match="try again"):
        sign_in(gotrue, ANON_KEY, "ana@example.com", "x")
    with pytest.raises(AuthError, match=r"not reachable|could not be used"):
        sign_in("http://127.0.0.1:9", ANON_KEY, "ana@example.com", "x")
