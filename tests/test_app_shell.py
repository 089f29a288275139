"""The app from app.py through AppTest: login gate, throttle message, role-based navigation, admin pages."""

from __future__ import annotations

import gc
import uuid
import weakref
from typing import Any

import psycopg
import pytest
from apptest_helpers import APP, logged_in_app, login, make_user, rerun_app, texts
from gotrue_stub import ANON_KEY, GoTrue
from streamlit.testing.v1 import AppTest


@pytest.fixture(autouse=True)
def _app_env(app_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))


def test_login_form_then_home(app_db: Any) -> None:
    at, username = logged_in_app(app_db.dsn, "analyst")
    assert not at.exception
    shown = texts(at)
    assert username in shown
    assert not any(t.label == "Username" for t in at.text_input), "the login form is gone"
    assert any(m.label == "Database" for m in at.metric)


def test_home_links_every_page_with_its_blurb_and_opens_the_workspace_details_on_demand(app_db: Any) -> None:
    at, _ = logged_in_app(app_db.dsn, "admin")
    assert not at.exception
    links = {link.proto.label: link.proto.help for link in at.main.get("page_link")}
    assert "Where to go" in texts(at)
    assert links["Dashboard"].startswith("Sizes, connections") and links["Audit log"].startswith("Who did what")
    assert not at.json, "the details wait until their expander is opened"
    at.session_state["home_workspace_details"] = True
    at.run()
    assert not at.exception, at.exception
    assert "migrations_applied" in at.json[0].value


def test_the_long_lived_heap_is_frozen_once_so_the_collection_after_each_run_skips_it(app_db: Any) -> None:
    """Streamlit collects garbage after every run; the heap alive after start-up is frozen, and what runs make is
    still collected (a cycle made afterwards is freed)."""
    at, _ = logged_in_app(app_db.dsn, "analyst")
    assert not at.exception
    frozen = gc.get_freeze_count()
    assert frozen > 50_000, "Streamlit, pandas, Plotly and the app's modules are in the permanent generation"
    at.run()
    assert gc.get_freeze_count() == frozen, "frozen once, not again on each run"
    node = _Node()
    node.me = node  # a cycle: only the collector frees it
    marker = weakref.ref(node)
    del node
    assert marker() is not None
    gc.collect()
    assert marker() is None, "objects made after the freeze are collected as before"


class _Node:
    me: Any = None


def test_wrong_password_is_refused_and_audited(app_db: Any) -> None:
    username, _ = make_user(app_db.dsn, "viewer")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    login(at, username, "not-the-password")
    assert not at.exception
    assert "Wrong username or password" in texts(at)
    with psycopg.connect(app_db.dsn) as conn:
        row = conn.execute(
            "select count(*) from dba_admin.audit_log where actor = %s and action = 'login.failed'", (username,)
        ).fetchone()
    assert row == (1,)


def test_repeated_failures_slow_down_instead_of_locking(app_db: Any) -> None:
    username, password = make_user(app_db.dsn, "viewer")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    for _ in range(app_db.settings.login_max_failures + 1):
        login(at, username, "nope-nope")
    login(at, username, password)
    assert "too many failed logins" in texts(at).lower()
    with psycopg.connect(app_db.dsn) as conn:
        state = conn.execute(
            "select u.locked_until is null, a.next_allowed_at > now() from dba_admin.users u"
            " join dba_admin.login_attempts a on a.kind = 'username' and a.key = u.username where u.username = %s",
            (username,),
        ).fetchone()
    assert state == (True, True), "a delay is stored; the account is not locked"


def test_navigation_shows_only_allowed_pages(app_db: Any) -> None:
    at, _ = logged_in_app(app_db.dsn, "viewer")
    links = [link.label for link in at.get("page_link")]
    assert "Home" in links and "Users" not in links and "Audit log" not in links
    admin_at, _ = logged_in_app(app_db.dsn, "admin")
    admin_links = [link.label for link in admin_at.get("page_link")]
    assert {"Home", "Users", "Audit log"} <= set(admin_links)


def test_page_opened_without_role_says_so(app_db: Any) -> None:
    at, _ = logged_in_app(app_db.dsn, "analyst")
    at.switch_page("pages/users.py").run()
    assert not at.exception
    assert "needs the role admin" in texts(at)
    assert not at.dataframe, "nothing else of the page is shown"


def test_admin_creates_user_and_reads_audit(app_db: Any) -> None:
    at, admin = logged_in_app(app_db.dsn, "admin")
    at.switch_page("pages/users.py").run()
    assert not at.exception
    at.text_input(key="users_new_username").input("created-by-apptest")
    at.text_input(key="users_new_email").input("created-by-apptest@example.com")
    at.selectbox(key="users_new_role").select("dba")
    next(b for b in at.button if b.label == "Create user").click().run()
    assert not at.exception
    assert "Created created-by-apptest" in texts(at)
    at.switch_page("pages/audit.py").run()
    assert not at.exception
    at.text_input(key="audit_actor").input(admin).run()
    frame = at.dataframe[0].value
    assert "user.create" in set(frame["action"])


def test_deactivated_user_loses_the_session(app_db: Any) -> None:
    at, username = logged_in_app(app_db.dsn, "analyst")
    with psycopg.connect(app_db.dsn, autocommit=True) as conn:
        conn.execute("update dba_admin.users set is_active = false where username = %s", (username,))
    rerun_app(at)
    assert not at.exception
    assert "account is deactivated" in texts(at)
    assert not at.metric, "no page content after the session ended"


def test_logout_returns_to_the_form_and_is_audited(app_db: Any) -> None:
    at, username = logged_in_app(app_db.dsn, "viewer")
    at.button(key="sidebar_logout").click()
    rerun_app(at)
    assert "You are logged out" in texts(at)
    rerun_app(at)
    assert not at.exception
    assert any(t.label == "Username" for t in at.text_input)
    with psycopg.connect(app_db.dsn) as conn:
        row = conn.execute(
            "select count(*) from dba_admin.audit_log where actor = %s and action = 'logout'", (username,)
        ).fetchone()
    assert row == (1,)


def test_supabase_login_through_the_form(app_db: Any, gotrue: str, monkeypatch: pytest.MonkeyPatch) -> None:
    email = f"supa{uuid.uuid4().hex[:8]}@example.com"
    GoTrue.accounts = {email: ("supabase-pass", {"app_role": "analyst"})}
    monkeypatch.setenv("SUPABASE_URL", gotrue)
    monkeypatch.setenv("SUPABASE_ANON_KEY", ANON_KEY)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    email_input = next(t for t in at.text_input if t.label == "Email")
    email_input.input(email)
    next(t for t in at.text_input if t.label == "Supabase password").input("supabase-pass")
    next(b for b in at.button if b.label == "Log in with Supabase").click().run()
    assert not at.exception
    assert email in texts(at)
