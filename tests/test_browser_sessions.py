"""Sessions in a real browser (issue 10, §4): a saved re-login cookie stops working after logout and after a
password reset, and a malformed cookie shows the login form, never an exception page.

Uses the browser tests' shared server and a Chromium of its own (tests/browser_fixtures.py), whose re-login cookie
lives an hour: long enough that only revocation, not expiry, can refuse it. Takes no screenshots.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import jwt
import psycopg
import pytest
from apptest_helpers import make_user
from browser_fixtures import VIEWPORT
from test_browser import settle

from dba_admin.auth import UserStore

pytestmark = pytest.mark.browser

COOKIE = "dba_admin_auth"


def _fresh_page(browser_page: Any) -> Any:
    page = browser_page.context.browser.new_context(viewport=VIEWPORT).new_page()
    page.set_default_timeout(30_000)
    return page


def _log_in(page: Any, app_url: str, username: str, password: str) -> None:
    from playwright.sync_api import expect

    page.goto(app_url)
    expect(page.get_by_label("Username")).to_be_visible(timeout=60_000)
    settle(page)  # a click during the first rerun can be lost (the cookie manager's)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Login").click()
    expect(page.locator('[data-testid="stSidebar"]').get_by_text(username, exact=True)).to_be_visible(timeout=60_000)
    settle(page, 1500)


def _saved_cookie(page: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = [c for c in page.context.cookies() if c["name"] == COOKIE]
        if found:
            return dict(found[0])
        page.wait_for_timeout(300)
    raise AssertionError("the re-login cookie was not written")


def _opens_with(browser_page: Any, app_url: str, cookie: dict[str, Any]) -> Any:
    """A new browser holding only ``cookie`` (as if it had been saved and replayed) opens the app."""
    page = _fresh_page(browser_page)
    page.context.add_cookies([{"name": cookie["name"], "value": cookie["value"], "url": app_url}])
    page.goto(app_url)
    return page


def _expect_login_form(page: Any, username: str | None = None) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_label("Username")).to_be_visible(timeout=60_000)
    settle(page)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    if username:
        expect(page.get_by_text(username, exact=True)).to_have_count(0)


def _expect_logged_in(page: Any, username: str) -> None:
    from playwright.sync_api import expect

    expect(page.locator('[data-testid="stSidebar"]').get_by_text(username, exact=True)).to_be_visible(timeout=60_000)
    expect(page.get_by_label("Username")).to_have_count(0)


def test_saved_cookie_stops_logging_in_after_logout(app_db: Any, app_url: str, browser_page: Any) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    username, password = make_user(app_db.dsn, "viewer", password="session-pass-123")
    page = _fresh_page(browser_page)
    _log_in(page, app_url, username, password)
    saved = _saved_cookie(page)
    assert saved["sameSite"] == "Strict", saved
    assert saved["expires"] - time.time() > 600, "long-lived here: only revocation can refuse it"
    assert not saved["secure"], "plain http here; Secure is set when the app is served over https"

    replay = _opens_with(browser_page, app_url, saved)
    _expect_logged_in(replay, username)  # the saved cookie works while the session is live
    replay.context.close()

    page.locator('[data-testid="stSidebar"]').get_by_role("button", name="Log out").click()
    settle(page)
    try:
        page.get_by_role("button", name="Log in again").click(timeout=3_000)
        settle(page)
    except PlaywrightTimeout:
        pass
    _expect_login_form(page, username)
    # The logout deletes this browser's cookie (the component that does it is drawn only then; signed-in pages do
    # without it), besides revoking every copy by the session version.
    deadline = time.monotonic() + 20
    while any(c["name"] == COOKIE for c in page.context.cookies()):
        assert time.monotonic() < deadline, "the logout left the re-login cookie in the browser"
        page.wait_for_timeout(300)
    page.goto(app_url)
    _expect_login_form(page, username)
    page.context.close()

    replay = _opens_with(browser_page, app_url, saved)  # a copy saved before the logout no longer logs in
    _expect_login_form(replay, username)
    replay.context.close()
    with psycopg.connect(app_db.dsn) as conn:
        row = conn.execute(
            "select count(*) from dba_admin.audit_log where actor = %s and action = 'logout'", (username,)
        ).fetchone()
    assert row == (1,)


def test_saved_cookie_stops_logging_in_after_a_password_reset(app_db: Any, app_url: str, browser_page: Any) -> None:
    from playwright.sync_api import expect

    username, password = make_user(app_db.dsn, "analyst", password="session-pass-456")
    page = _fresh_page(browser_page)
    _log_in(page, app_url, username, password)
    saved = _saved_cookie(page)

    with psycopg.connect(app_db.dsn, autocommit=True) as conn:
        UserStore(conn).reset_password(actor="tests", username=username, password="the-new-password")

    replay = _opens_with(browser_page, app_url, saved)
    _expect_login_form(replay, username)
    replay.context.close()
    page.goto(app_url)  # the browser that logged in before the reset is not let back in by its cookie either
    _expect_login_form(page, username)
    settle(page)  # a click during the first rerun can be lost (the cookie manager's)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill("the-new-password")
    page.get_by_role("button", name="Login").click()
    expect(page.locator('[data-testid="stSidebar"]').get_by_text(username, exact=True)).to_be_visible(timeout=60_000)
    page.context.close()


def test_malformed_cookies_show_the_login_form(app_db: Any, app_url: str, browser_page: Any) -> None:
    username, _ = make_user(app_db.dsn, "viewer", password="session-pass-789")
    key_file = app_db.settings.data_dir / "secrets" / "cookie.key"
    key = key_file.read_text().strip() if key_file.is_file() else "x" * 48
    now = int(dt.datetime.now(dt.UTC).timestamp())
    with psycopg.connect(app_db.dsn) as conn:
        row = conn.execute("select session_version from dba_admin.users where username = %s", (username,)).fetchone()
    assert row is not None
    claims = {"username": username, "sv": row[0], "iat": now, "exp": now + 3_600}
    payload = jwt.api_jws.base64url_encode(json.dumps(claims).encode()).decode()
    unsigned = jwt.api_jws.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    cookies = {
        "alg none": f"{unsigned}.{payload}.",
        "garbage": "%%%not-a-token%%%",
        "another key": jwt.encode(claims, "another-key-" + "y" * 40, algorithm="HS256"),
        "expired": jwt.encode({**claims, "iat": now - 7_200, "exp": now - 3_600}, key, algorithm="HS256"),
        "old format (no version)": jwt.encode({"username": username, "exp_date": now + 3_600.0}, key, "HS256"),
        "expired, old format": jwt.encode({"username": username, "exp": now - 5, "exp_date": now - 5.0}, key, "HS256"),
    }
    for label, value in cookies.items():
        page = _opens_with(browser_page, app_url, {"name": COOKIE, "value": value})
        try:
            _expect_login_form(page, username)
        except AssertionError as exc:
            raise AssertionError(f"cookie {label!r}: {exc}") from exc
        finally:
            page.context.close()
