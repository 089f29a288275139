"""Sessions and login (issue 10, §4) against the suite's PostgreSQL: revocable re-login tokens, strict token
reading, failed-login throttling per address and per username (growing delays, never a lock), admin locks that
leave open sessions alone, and login reads that give up within the lock timeout instead of hanging.

The browser half (a saved cookie after logout and after a password reset, malformed cookies) is in
test_browser_sessions.py.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import psycopg
import pytest
from apptest_helpers import APP, logged_in_app, login, make_user, rerun_app, texts
from streamlit.testing.v1 import AppTest

from bench.benchlib import count_round_trips
from dba_admin.auth import LoginThrottled, UserStore, UserStoreBusy
from dba_admin.errors import AccountLocked, AuthError
from dba_admin.login_throttle import ThrottlePolicy
from dba_admin.session_token import issue_token, read_token

KEY = "k" * 64
POLICY = ThrottlePolicy(free_failures=2, base_seconds=10, max_seconds=40)


@pytest.fixture
def conn(app_db: Any) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(app_db.dsn, autocommit=True) as connection:
        yield connection


@pytest.fixture
def store(conn: psycopg.Connection[Any]) -> UserStore:
    return UserStore(conn, throttle=POLICY, lock_timeout_ms=300, statement_timeout_ms=5_000)


def _user(store: UserStore, password: str = "right-password") -> str:  # noqa: S107 - a test login
    name = f"s{uuid.uuid4().hex[:10]}"
    store.create_user(actor="tests", username=name, email=f"{name}@example.com", role="analyst", password=password)
    return name


def _address() -> str:
    return f"203.0.113.{uuid.uuid4().int % 250 + 1}-{uuid.uuid4().hex[:6]}"  # unique per test, never contacted


def _actions(conn: psycopg.Connection[Any], actor: str) -> list[str]:
    rows = conn.execute("select action from dba_admin.audit_log where actor = %s order by id", (actor,)).fetchall()
    return [r[0] for r in rows]


def _attempts(conn: psycopg.Connection[Any], kind: str, key: str) -> tuple[int, float] | None:
    """(failures, seconds until the next allowed attempt, as stored) for one throttle key."""
    row = conn.execute(
        "select failures, extract(epoch from next_allowed_at - last_failed_at)::float8"
        " from dba_admin.login_attempts where kind = %s and key = %s",
        (kind, key),
    ).fetchone()
    return (row[0], row[1]) if row else None


def _let_through(conn: psycopg.Connection[Any], key: str) -> None:
    """Pretend the delay has passed (no test waits for a real clock)."""
    conn.execute("update dba_admin.login_attempts set next_allowed_at = now() where key = %s", (key,))


# ---- the token --------------------------------------------------------------------------------------------


def test_token_round_trip_and_every_malformed_token_reads_as_none() -> None:
    good = issue_token(KEY, "ana", 3, dt.timedelta(hours=1))
    token = read_token(good, KEY)
    assert token is not None and token.username == "ana" and token.session_version == 3
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims = {"username": "ana", "sv": 3, "iat": now, "exp": now + 3600}
    header, payload, _ = jwt.encode(claims, KEY, algorithm="HS256").split(".")
    unsigned = jwt.api_jws.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    bad = {
        "alg none": f"{unsigned}.{payload}.",
        "garbage": "not-a-token",
        "empty": "",
        "three dots": "a.b.c",
        "other key": jwt.encode(claims, "x" * 48, algorithm="HS256"),
        "HS512": jwt.encode(claims, KEY, algorithm="HS512"),
        "expired": jwt.encode({**claims, "exp": now - 10}, KEY, algorithm="HS256"),
        "no version (an old cookie)": jwt.encode({"username": "ana", "exp_date": now + 3600.0}, KEY, algorithm="HS256"),
        "version as text": jwt.encode({**claims, "sv": "3"}, KEY, algorithm="HS256"),
        "version as bool": jwt.encode({**claims, "sv": True}, KEY, algorithm="HS256"),
        "username as list": jwt.encode({**claims, "username": ["ana"]}, KEY, algorithm="HS256"),
        "exp as text": f"{header}.{jwt.api_jws.base64url_encode(b'{}').decode()}.x",
        "oversized": good + "A" * 5000,
    }
    for label, value in bad.items():
        assert read_token(value, KEY) is None, label
    assert read_token(None, KEY) is None and read_token(12, KEY) is None


# ---- session versions --------------------------------------------------------------------------------------


def test_logout_reset_deactivation_and_role_change_revoke_tokens(store: UserStore) -> None:
    name = _user(store)
    # Each action makes the version move on, and a token carrying the old one stops logging in.
    for action, run in [
        ("logout", lambda: store.record_logout(name)),
        ("password reset", lambda: store.reset_password(actor="tests", username=name, password="another-pass")),
        ("role change", lambda: store.set_role(actor="tests", username=name, role="viewer")),
        ("reactivation", lambda: store.set_active(actor="tests", username=name, active=True)),
    ]:
        before = store.get(name).session_version
        assert store.cookie_user(name, before) is not None, f"valid before {action}"
        run()
        after = store.get(name).session_version
        assert after > before, action
        assert store.cookie_user(name, before) is None, f"a token from before the {action} still logs in"
        assert store.cookie_user(name, after) is not None
    store.set_active(actor="tests", username=name, active=False)
    assert store.cookie_user(name, store.get(name).session_version) is None, "deactivated"
    # Setting the same role again, a login or a lock revokes nothing.
    other = _user(store)
    version = store.get(other).session_version
    store.set_role(actor="tests", username=other, role="analyst")
    store.authenticate(other, "right-password")
    store.lock(actor="tests", username=other, minutes=5)
    assert store.get(other).session_version == version
    assert store.cookie_user(other, version) is None, "an admin lock refuses new sessions, cookies included"
    assert store.session_user(other) is not None, "but a session already open goes on"
    assert store.authenticator_credentials()["usernames"][other]["session_version"] == version


# ---- throttling ----------------------------------------------------------------------------------------------


def test_failures_for_a_username_grow_a_delay_that_is_enforced_and_never_locks(
    store: UserStore, conn: psycopg.Connection[Any]
) -> None:
    name = _user(store)
    delays = []
    for _ in range(6):
        with pytest.raises(AuthError, match="wrong username or password"):
            store.authenticate(name, "wrong-password", address=_address())  # a new address each time
        failures, delay = _attempts(conn, "username", name) or (0, 0.0)
        delays.append(round(delay))
        _let_through(conn, name)
    assert delays == [0, 0, 10, 20, 40, 40], "free failures, then doubling up to the cap"
    assert failures == 6
    conn.execute(
        "update dba_admin.login_attempts set next_allowed_at = now() + interval '40 seconds' where key = %s", (name,)
    )
    with pytest.raises(LoginThrottled) as refused:
        store.authenticate(name, "right-password", address=_address())  # the right password waits too
    assert 0 < refused.value.retry_after_seconds <= 40 and refused.value.state.kind == "username"
    assert _attempts(conn, "username", name) == (6, pytest.approx(40, abs=1)), "a refused try extends nothing"
    user = store.get(name)
    assert user.locked_until is None and store.session_user(name, new_session=True) is not None
    _let_through(conn, name)
    assert store.authenticate(name, "right-password").username == name
    assert _attempts(conn, "username", name) is None, "a success resets the username's throttle"
    actions = _actions(conn, name)
    assert actions.count("login.failed") == 6 and actions.count("login.throttled") == 1
    assert "login.locked" not in actions and actions[-1] == "login.success"


def test_failures_from_one_address_throttle_that_address_for_every_username(
    store: UserStore, conn: psycopg.Connection[Any]
) -> None:
    address = _address()
    victim = _user(store)
    for _ in range(3):  # guessing at names that do not exist still counts against the address
        with pytest.raises(AuthError):
            store.authenticate(f"nobody-{uuid.uuid4().hex[:6]}", "guess", address=address)
    assert _attempts(conn, "address", address) == (3, pytest.approx(10, abs=1))
    with pytest.raises(LoginThrottled) as refused:
        store.authenticate(victim, "right-password", address=address)
    assert refused.value.state.kind == "address"
    # The same user from another address is not slowed down: a visitor cannot keep them out.
    assert store.authenticate(victim, "right-password", address=_address()).username == victim
    _let_through(conn, address)
    assert store.authenticate(victim, "right-password", address=address).username == victim
    assert _attempts(conn, "address", address) is None
    row = conn.execute(
        "select details from dba_admin.audit_log where action = 'login.throttled' and actor = %s", (victim,)
    ).fetchone()
    assert row is not None and row[0]["address"] == address and row[0]["by"] == "address"


def test_delay_policy_doubles_to_the_cap() -> None:
    policy = ThrottlePolicy(free_failures=3, base_seconds=1, max_seconds=60)
    assert [policy.delay_after(n) for n in range(1, 12)] == [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60]
    assert policy.delay_after(10_000) == 60


# ---- locks and timeouts ----------------------------------------------------------------------------------------


@pytest.fixture
def users_table_locked(app_db: Any) -> Iterator[None]:
    """An ACCESS EXCLUSIVE lock on dba_admin.users held by another session, as a DBA in psql could."""
    holder = psycopg.connect(app_db.dsn)
    holder.execute("lock table dba_admin.users in access exclusive mode")
    try:
        yield
    finally:
        holder.rollback()
        holder.close()


def test_login_reads_give_up_within_the_lock_timeout(app_db: Any, users_table_locked: None) -> None:
    with psycopg.connect(app_db.dsn, autocommit=True) as conn:
        store = UserStore(conn, throttle=POLICY, lock_timeout_ms=200)
        outcome: list[BaseException | None] = []

        def attempt() -> None:
            try:
                store.authenticator_credentials()
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

        worker = threading.Thread(target=attempt)
        worker.start()
        worker.join(timeout=60)  # generous: the point is that it returns at all while the lock is held
        assert not worker.is_alive(), "the login read hung on the lock"
        assert isinstance(outcome[0], UserStoreBusy)
        for call in (lambda: store.authenticate("admin", "x"), lambda: store.session_user("admin")):
            with pytest.raises(UserStoreBusy, match="busy"):
                call()


def test_the_account_check_every_page_run_makes_is_one_round_trip(app_db: Any) -> None:
    """session_user on an idle connection: the timeouts and the read in one request, not BEGIN, SET, read, COMMIT."""
    with psycopg.connect(app_db.dsn) as conn:  # not autocommit, as the pool lends them
        store = UserStore(conn, throttle=POLICY)
        found: list[Any] = []
        assert count_round_trips(conn, lambda _c: found.append(store.session_user("admin"))) == 1
        assert found[0] is not None and found[0].username == "admin"
        assert count_round_trips(conn, lambda _c: found.append(store.session_user("nobody-at-all"))) == 1
        assert found[1] is None


def test_admin_lock_refuses_logins_but_keeps_open_sessions(store: UserStore) -> None:
    name = _user(store)
    store.lock(actor="tests", username=name)
    with pytest.raises(AccountLocked):
        store.authenticate(name, "right-password", address=_address())
    assert store.session_user(name) is not None
    assert store.session_user(name, new_session=True) is None


# ---- the login page (AppTest) -------------------------------------------------------------------------------------


@pytest.fixture
def app_env(app_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))


def test_login_form_throttles_without_locking_or_ending_open_sessions(
    app_db: Any, app_env: None, conn: psycopg.Connection[Any]
) -> None:
    username, password = make_user(app_db.dsn, "viewer")
    open_session = AppTest.from_file(APP, default_timeout=60)
    open_session.run()
    login(open_session, username, password)
    assert any(m.label == "Database" for m in open_session.metric)

    visitor = AppTest.from_file(APP, default_timeout=60)
    visitor.run()
    for _ in range(app_db.settings.login_max_failures + 2):
        login(visitor, username, "nope-nope")
        assert not visitor.exception
    assert "Too many failed logins" in texts(visitor)
    failures, delay = _attempts(conn, "username", username) or (0, 0.0)
    assert failures == app_db.settings.login_max_failures + 1 and delay > 0, "the delay is stored, not a lock"
    login(visitor, username, password)  # the right password during the delay is refused too
    assert "Too many failed logins" in texts(visitor) and not visitor.metric
    row = conn.execute("select locked_until from dba_admin.users where username = %s", (username,)).fetchone()
    assert row == (None,), "no account lock"

    rerun_app(open_session)  # the owner's open session goes on
    assert not open_session.exception
    assert any(m.label == "Database" for m in open_session.metric)
    assert "deactivated or locked" not in texts(open_session)
    actions = _actions(conn, username)
    assert "login.failed" in actions and "login.throttled" in actions


def test_admin_lock_keeps_the_open_session_and_password_reset_ends_it(
    app_db: Any, app_env: None, store: UserStore
) -> None:
    at, username = logged_in_app(app_db.dsn, "analyst")
    store.lock(actor="tests", username=username)
    rerun_app(at)
    assert not at.exception
    assert any(m.label == "Database" for m in at.metric), "a lock does not end an authenticated session"
    store.reset_password(actor="tests", username=username, password="brand-new-pass")
    rerun_app(at)
    assert not at.exception
    assert "password was changed" in texts(at)
    assert not at.metric


def test_login_page_says_busy_while_the_user_table_is_locked(
    app_db: Any, app_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCK_TIMEOUT_MS", "300")  # its own Services: built (migrations, bootstrap) before the lock
    warm, _ = logged_in_app(app_db.dsn, "viewer")
    holder = psycopg.connect(app_db.dsn)
    holder.execute("lock table dba_admin.users in access exclusive mode")
    try:
        fresh = AppTest.from_file(APP, default_timeout=60)
        fresh.run()
        assert not fresh.exception
        assert "user store is busy" in texts(fresh)
        rerun_app(warm)  # a logged-in page is not hung either
        assert not warm.exception
        assert "user store is busy" in texts(warm)
    finally:
        holder.rollback()
        holder.close()
    rerun_app(warm)
    assert any(m.label == "Database" for m in warm.metric), "the session goes on once the lock is gone"
