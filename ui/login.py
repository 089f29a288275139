"""The login gate: streamlit-authenticator's form, with lockout, deactivation and audit decided in the database."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import streamlit as st
import streamlit_authenticator as stauth

from dba_admin.auth import AppUser
from dba_admin.errors import AuthError
from dba_admin.services import COOKIE_NAME, Services
from dba_admin.supabase_auth import login_with_supabase
from ui.session import USER_KEY

AUTHENTICATOR_KEY = "dba_authenticator"


def _authenticator(services: Services, credentials: dict[str, Any]) -> Any:
    return stauth.Authenticate(
        credentials,
        COOKIE_NAME,
        services.cookie_key(),
        services.settings.cookie_expiry_days,
        auto_hash=False,
        login_sleep_time=0.05,
    )


def _supabase_form(services: Services) -> AppUser | None:
    settings = services.settings
    if not (settings.supabase_url and settings.supabase_anon_key):
        return None
    with st.expander("Log in with your Supabase account"), st.form("supabase_login"):
        email = st.text_input("Email")
        password = st.text_input("Supabase password", type="password")
        if st.form_submit_button("Log in with Supabase"):
            try:
                with services.users() as store:
                    return login_with_supabase(
                        store, settings.supabase_url, settings.supabase_anon_key, email, password
                    )
            except AuthError as exc:
                st.error(str(exc))
    return None


def login_gate(services: Services) -> tuple[AppUser, Any]:
    """Return the logged-in user (and the authenticator, for logout), or render the login form and stop."""
    with services.users() as store:
        credentials = store.authenticator_credentials()
    authenticator = _authenticator(services, credentials)
    before = {name: entry["failed_login_attempts"] for name, entry in credentials["usernames"].items()}
    form_area = st.empty()  # emptied after a successful login, so the app draws without a rerun
    form_box = form_area.container()
    # The re-login cookie is written by a small browser component that the form would render inside form_box,
    # which is emptied below before the browser could run it: defer it and render it after the box is gone.
    write_cookie = authenticator.cookie_controller.set_cookie
    cookie_due: list[bool] = []
    authenticator.cookie_controller.set_cookie = lambda: cookie_due.append(True)
    try:
        with form_box:
            authenticator.login(location="main", max_login_attempts=services.settings.login_max_failures)
    except stauth.LoginError as exc:
        locked = "attempts" in str(exc)
        st.error(
            "This account is locked after repeated failed logins. Try again later or ask an admin to unlock it."
            if locked
            else str(exc)
        )
    # The form only tells us "wrong"; which user failed shows as a raised counter in the dict we handed it.
    failed = [
        n for n, entry in credentials["usernames"].items() if entry.get("failed_login_attempts", 0) > before.get(n, 0)
    ]
    if failed:
        with services.users() as store:
            for username in failed:
                until = store.record_failure(username)
                if until:
                    st.error("Too many failed logins: this account is now locked for a while.")
    if st.session_state.get("authentication_status") is False:
        st.error("Wrong username or password.")

    username = st.session_state.get("username") if st.session_state.get("authentication_status") else None
    user: AppUser | None = st.session_state.get(USER_KEY)
    if user is not None and user.auth_source == "local" and user.username != username:
        user = None  # the form's session ended (logout elsewhere in this session): so does ours
    if user is None and username:
        with services.users() as store:
            fresh = store.session_user(username)
            user = store.record_success(username) if fresh is not None else None
        if user is None:  # a valid cookie or password for a user who is now deactivated or locked
            authenticator.logout(location="unrendered")
            st.error("Your account is deactivated or locked. Ask an admin.")
    elif user is not None:
        with services.users() as store:
            user = store.session_user(user.username)  # deactivated or locked since: the session ends now
        if user is None:
            authenticator.logout(location="unrendered")
            st.error("Your account is deactivated or locked. Ask an admin.")
    if user is None:
        st.session_state.pop(USER_KEY, None)
        with form_box:
            user = _supabase_form(services)
    if user is None:
        remember_requested_page()
        st.caption("DBA Admin · log in to continue")
        st.stop()
    form_area.empty()
    if cookie_due:
        write_cookie()
    st.session_state[USER_KEY] = user
    return user, authenticator


REQUESTED_KEY = "login_requested_page"


def remember_requested_page() -> None:
    """Keep the page and query a person opened (a shared link) across the login form, once per session."""
    if REQUESTED_KEY in st.session_state:
        return
    try:
        url = st.context.url or ""
    except Exception:  # no browser context (bare or test runs): nothing to remember
        url = ""
    path = urlsplit(url).path.strip("/").split("/")[-1] if url else ""
    st.session_state[REQUESTED_KEY] = (path, st.query_params.to_dict())


def take_requested_page() -> tuple[str, dict[str, str]] | None:
    """The page and query remembered before login, handed out once."""
    requested = st.session_state.pop(REQUESTED_KEY, None)
    if not requested or not requested[0]:
        return None
    return requested[0], dict(requested[1])


def logout(services: Services, authenticator: Any, user: AppUser) -> None:
    """Audit the logout, clear the cookie and the session's user."""
    with services.users() as store:
        store.record_logout(user.username)
    authenticator.logout(location="unrendered")
    st.session_state.pop(USER_KEY, None)
    st.success("You are logged out.")
    st.button("Log in again", key="login_again")  # any interaction reruns into the login form
    st.stop()
