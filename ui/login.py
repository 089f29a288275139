"""The login gate: streamlit-authenticator renders the form and carries the cookie; the rules live in UserStore.

- A password login goes through ``UserStore.authenticate``: throttled per source address and per username
  (growing delays, never a lock), refused for an admin-locked or deactivated account, audited.
- The re-login cookie is a token of our own (``dba_admin.session_token``): HS256 only, short-lived, carrying the
  user's ``session_version``; logout, password reset, (de)activation and role change bump the version, which
  revokes every cookie issued before. A malformed, foreign, expired or revoked cookie shows the login form.
- The cookie is written by the browser component (JavaScript), so it cannot be ``HttpOnly``; it is
  ``SameSite=Strict`` always and ``Secure`` when the app is served over HTTPS.
- Every read of dba_admin.users carries the app's lock and statement timeouts: when the table is locked the page
  says the user store is busy instead of hanging.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.models import CookieModel

from dba_admin.auth import AppUser, LoginThrottled, UserStoreBusy
from dba_admin.errors import AccountLocked, AuthError
from dba_admin.i18n import LOCALES, N_
from dba_admin.services import COOKIE_NAME, Services
from dba_admin.session_token import SessionToken, issue_token, read_token
from dba_admin.supabase_auth import login_with_supabase
from ui.i18n import _, current_locale, use_locale
from ui.markdown import escape_markdown
from ui.session import USER_KEY, widget_key_for

AUTHENTICATOR_KEY = "dba_authenticator"
BUSY_MESSAGE = N_("The user store is busy (another session holds a lock on it). Try again in a moment.")
LOCALE_PICKER_KEY = "ui_locale_picker"
LOCALE_APPLIED_KEY = "ui_locale_applied_for"  # the user whose saved language this session has applied


def client_address(trusted_proxy_hops: int = 0) -> str | None:
    """The source address a login comes from, or None when unknown (local, or no browser context).

    Without a configured proxy only the connection's own peer counts (uvicorn already applies X-Forwarded-For
    for a proxy on 127.0.0.1); with ``trusted_proxy_hops`` = n, the n-th address from the right of
    X-Forwarded-For, the one the outermost trusted proxy saw.
    """
    try:
        peer = st.context.ip_address
        forwarded = st.context.headers.get_all("X-Forwarded-For") if trusted_proxy_hops > 0 else []
    except Exception:  # no browser context (bare or test runs)
        return None
    if trusted_proxy_hops > 0:
        hops = [part.strip() for value in forwarded if isinstance(value, str) for part in value.split(",")]
        hops = [hop for hop in hops if hop]
        if len(hops) >= trusted_proxy_hops:
            return hops[-trusted_proxy_hops]
    return peer if isinstance(peer, str) and peer else None  # AppTest's context has no real client


def _served_over_https() -> bool:
    try:
        return (st.context.url or "").lower().startswith("https://")
    except Exception:
        return False


class RevocableCookie(CookieModel):  # type: ignore[misc, unused-ignore]
    """streamlit-authenticator's cookie model with our token: versioned, strictly verified, Secure on HTTPS.

    Built from the model the component already made (its browser cookie manager is a rendered component:
    a second one would be a duplicate widget), so ``CookieModel.__init__`` is deliberately not called.
    """

    def __init__(
        self,
        base: Any,
        *,
        lifetime: dt.timedelta,
        secure: bool,
        current_version: Callable[[str], int | None],
    ) -> None:
        self.cookie_name = base.cookie_name
        self.cookie_key = base.cookie_key
        self.cookie_expiry_days = lifetime.total_seconds() / 86_400
        self.cookie_manager = base.cookie_manager
        self.token = None
        self.exp_date = None
        self.lifetime = lifetime
        self.secure = secure
        self.current_version = current_version
        self.accepted: SessionToken | None = None

    def get_cookie(self) -> dict[str, Any] | bool | None:
        """The cookie's claims when it is ours and its session version is current; never raises."""
        if st.session_state.get("logout"):
            return False  # logged out in this session: the browser's old cookie is not used again
        try:
            raw = st.context.cookies.get(self.cookie_name)
        except Exception:
            return None
        token = read_token(raw, self.cookie_key)
        if token is None or self.current_version(token.username) != token.session_version:
            return None
        self.accepted = token
        return {"username": token.username, "exp_date": token.expires_at.timestamp()}

    def set_cookie(self) -> None:
        username = st.session_state.get("username")
        version = self.current_version(username) if isinstance(username, str) else None
        if self.lifetime.total_seconds() <= 0 or version is None:
            return
        assert isinstance(username, str)
        self.cookie_manager.set(
            self.cookie_name,
            issue_token(self.cookie_key, username, version, self.lifetime),
            expires_at=dt.datetime.now() + self.lifetime,
            secure=self.secure or None,
            same_site="strict",
        )


class Authenticator(stauth.Authenticate):  # type: ignore[misc, unused-ignore]
    """The component, with its cookie made revocable and its password check handed to UserStore."""

    def __init__(self, services: Services, credentials: dict[str, Any]) -> None:
        settings = services.settings
        super().__init__(
            credentials,
            COOKIE_NAME,
            services.cookie_key(),
            settings.cookie_lifetime_seconds / 86_400,
            auto_hash=False,
            login_sleep_time=0.05,
        )
        users = credentials["usernames"]
        self.cookie = RevocableCookie(
            self.cookie_controller.cookie_model,
            lifetime=dt.timedelta(seconds=settings.cookie_lifetime_seconds),
            secure=_served_over_https(),
            current_version=lambda name: users.get(name, {}).get("session_version"),
        )
        self.cookie_controller.cookie_model = self.cookie
        self.services = services
        self.address = client_address(settings.trusted_proxy_hops)
        self.refusal: str | None = None
        self.logged_in: AppUser | None = None
        self._component_login = self.authentication_controller.login
        self.authentication_controller.login = self._login

    def _login(self, username: str | None = None, password: str | None = None, *args: Any, **kwargs: Any) -> Any:
        """The form's submit: UserStore decides; the component is then told who logged in (its token path)."""
        if kwargs.get("token") or not username:
            return self._component_login(username, password, *args, **kwargs)
        try:
            with self.services.users() as store:
                user = store.authenticate(username, password or "", address=self.address)
        except LoginThrottled as exc:
            wait = max(1, round(exc.retry_after_seconds))
            self.refusal = _(
                "Too many failed logins from here or for this username. Wait {seconds} s and try again."
            ).format(seconds=wait)
        except AccountLocked:
            self.refusal = _("This account is locked by an admin. Ask an admin to unlock it.")
        except UserStoreBusy:
            self.refusal = _(BUSY_MESSAGE)
        except AuthError:
            self.refusal = _("Wrong username or password.")
        else:
            self.logged_in = user
            self._component_login(None, None, token={"username": user.username})
            return True
        st.session_state["authentication_status"] = False
        return False


def _supabase_form(services: Services) -> AppUser | None:
    settings = services.settings
    if not (settings.supabase_url and settings.supabase_anon_key):
        return None
    with st.expander(_("Log in with your Supabase account")), st.form("supabase_login"):
        email = st.text_input(_("Email"), key="supabase_login_email")
        password = st.text_input(_("Supabase password"), type="password", key="supabase_login_password")
        if st.form_submit_button(_("Log in with Supabase")):
            try:
                with services.users() as store:
                    return login_with_supabase(
                        store, settings.supabase_url, settings.supabase_anon_key, email, password
                    )
            except AuthError as exc:
                st.error(escape_markdown(str(exc)))
    return None


def _end_component_session(authenticator: Authenticator) -> None:
    """Log the component out (and delete its cookie) when it holds a session; Supabase users have none there."""
    if st.session_state.get("authentication_status"):
        authenticator.logout(location="unrendered")


def login_gate(services: Services) -> tuple[AppUser, Authenticator | None]:
    """Return the logged-in user (and the authenticator, for logout), or render the login form and stop."""
    try:
        return _login_gate(services)
    except UserStoreBusy:
        st.error(_(BUSY_MESSAGE))
        st.caption(_("DBA Admin · the login could not read the user store within the lock timeout"))
        st.stop()
        raise  # st.stop() raises; this line only tells type checkers so


def _signed_in_here() -> bool:
    """This session holds a password login the component still vouches for: its form and cookie are not read on
    this run, so the credentials of every user need not be loaded (the account is checked below all the same)."""
    user: AppUser | None = st.session_state.get(USER_KEY)
    return (
        user is not None
        and user.auth_source == "local"
        and bool(st.session_state.get("authentication_status"))
        and st.session_state.get("username") == user.username
    )


def _account_now(services: Services, user: AppUser) -> AppUser | None:
    """The signed-in account as it is now (role and name may have changed), None when deactivated or removed since.
    An admin lock does not end an open session."""
    with services.users() as store:
        return store.session_user(user.username)


def _password_changed(user: AppUser, fresh: AppUser) -> bool:
    return fresh.password_changed_at != getattr(user, "password_changed_at", None)


def _login_gate(services: Services) -> tuple[AppUser, Authenticator | None]:
    checked = _signed_in_here()
    known: AppUser | None = None
    if checked:
        # A session signed in here, still active with the same password: the run reads no form and no cookie, so
        # streamlit-authenticator's component (a cookie-manager iframe drawn on every page) is not built; it is built
        # if this session logs out. Otherwise the whole gate below says why the session ends, from this same read.
        known = _account_now(services, st.session_state[USER_KEY])
        if known is not None and not _password_changed(st.session_state[USER_KEY], known):
            st.session_state[USER_KEY] = known
            return known, None
    if checked:
        credentials: dict[str, Any] = {"usernames": {}}  # a query and every user's row less on each run
    else:
        with services.users() as store:
            credentials = store.authenticator_credentials()
    authenticator = Authenticator(services, credentials)
    form_area = st.empty()  # emptied after a successful login, so the app draws without a rerun
    form_box = form_area.container()
    # The re-login cookie is written by a small browser component that the form would render inside form_box,
    # which is emptied below before the browser could run it: defer it and render it after the box is gone.
    write_cookie = authenticator.cookie_controller.set_cookie
    cookie_due: list[bool] = []
    authenticator.cookie_controller.set_cookie = lambda: cookie_due.append(True)
    try:
        with form_box:
            authenticator.login(location="main", fields=_login_fields())
    except stauth.LoginError as exc:
        st.error(escape_markdown(str(exc)))
    if authenticator.refusal:
        st.error(authenticator.refusal)

    username = st.session_state.get("username") if st.session_state.get("authentication_status") else None
    user: AppUser | None = st.session_state.get(USER_KEY)
    if user is not None and user.auth_source == "local" and user.username != username:
        user = None  # the form's session ended (logout elsewhere in this session): so does ours
    if user is None and username:
        if authenticator.logged_in is not None and authenticator.logged_in.username == username:
            user = authenticator.logged_in  # a password login, decided and audited by UserStore.authenticate
        else:  # a re-login cookie: its version must still be current and the account open for new sessions
            token = authenticator.cookie.accepted
            with services.users() as store:
                fresh = (
                    store.cookie_user(username, token.session_version) if token and token.username == username else None
                )
                user = store.record_success(username, authenticator.address, via="cookie") if fresh else None
        if user is None:
            _end_component_session(authenticator)
            st.error(_("Your account is deactivated or locked. Ask an admin."))
    elif user is not None:
        fresh = known if checked else _account_now(services, user)  # deactivated since: the session ends now
        if fresh is None:
            _end_component_session(authenticator)
            st.error(_("Your account is deactivated. Ask an admin."))
        elif _password_changed(user, fresh):
            _end_component_session(authenticator)
            st.warning(_("Your password was changed. Log in again with the new one."))
            fresh = None
        user = fresh  # role and name as they are now; an admin lock does not end an open session
    if user is None:
        st.session_state.pop(USER_KEY, None)
        with form_box:
            user = _supabase_form(services)
    if user is None:
        if st.session_state.get(COOKIE_DELETE_KEY):
            _delete_browser_cookie(authenticator)
        remember_requested_page()
        st.caption(_("DBA Admin · log in to continue"))
        language_picker(services, None)
        st.stop()
    if st.session_state.get(LOCALE_APPLIED_KEY) != user.username:
        # Once per login: the user's saved language (from any server); none saved, the browser's (or the login page's
        # pick) stays. Later changes come from the picker, which applies them at once.
        st.session_state[LOCALE_APPLIED_KEY] = user.username
        if getattr(user, "locale", None):
            use_locale(user.locale)
    form_area.empty()
    if cookie_due:
        write_cookie()
    st.session_state[USER_KEY] = user
    st.session_state.pop(COOKIE_DELETE_KEY, None)  # a new login writes its own cookie; nothing to delete
    return user, authenticator


def _login_fields() -> dict[str, str]:
    """The login form's labels in the session's language (the component draws them, we name them)."""
    return {
        "Form name": _("Login"),
        "Username": _("Username"),
        "Password": _("Password"),
        "Login": _("Login"),
        "Captcha": _("Captcha"),
    }


def _picked_language(services: Services, user: AppUser | None, key: str) -> None:
    """The picker's callback: the session speaks the new language at once; a logged-in user's choice is saved."""
    locale = st.session_state.get(key)
    if locale not in LOCALES:
        return
    use_locale(locale)
    if user is None:
        return
    try:
        with services.users() as store:
            store.set_locale(user.username, locale)
    except (AuthError, UserStoreBusy) as exc:
        st.session_state[LOCALE_PICKER_KEY + "_error"] = str(exc)


def language_picker(services: Services, user: AppUser | None) -> None:
    """The interface language (each in its own name): saved for a logged-in user, for this session on the login page."""
    current = current_locale()
    key = widget_key_for(LOCALE_PICKER_KEY, current)
    choices = list(LOCALES)
    st.selectbox(
        _("Language"),
        choices,
        index=choices.index(current),
        key=key,
        format_func=LOCALES.__getitem__,
        on_change=_picked_language,
        args=(services, user, key),
        help=_("Saved for your account: every login, on any computer, opens in this language.")
        if user is not None
        else _("The language of this page; after login your saved choice, if any, applies."),
    )
    failed = st.session_state.pop(LOCALE_PICKER_KEY + "_error", None)
    if failed:
        st.caption(
            _("The choice applies to this session only: it could not be saved ({reason}).").format(
                reason=escape_markdown(failed)
            )
        )


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


COOKIE_DELETE_KEY = "dba_cookie_to_delete"  # this session logged out: its browser's re-login cookie goes


def _delete_browser_cookie(authenticator: Authenticator) -> None:
    """Draw the component that deletes this browser's re-login cookie, on every run of the login page after a logout
    in this session, not only on the logout's run: the component deletes once its frame has loaded, and a click on
    "Log in again" right away removed it before that (seen in CI). The cookie was revoked at the logout already (its
    session version); this takes it out of the browser too."""
    with contextlib.suppress(KeyError):  # the component's list of the browser's cookies is not in yet: nothing lost
        authenticator.cookie.cookie_manager.delete(authenticator.cookie.cookie_name)


def logout(services: Services, authenticator: Authenticator | None, user: AppUser) -> None:
    """Audit the logout, revoke the user's re-login cookies (session version), clear the cookie and the session."""
    try:
        with services.users() as store:
            store.record_logout(user.username)
    except UserStoreBusy:
        st.warning(
            _("Logged out here, but the user store was busy: other saved logins may stay valid until they expire.")
        )
    _end_component_session(authenticator or Authenticator(services, {"usernames": {}}))
    st.session_state[COOKIE_DELETE_KEY] = True
    st.session_state.pop(USER_KEY, None)
    st.session_state.pop(LOCALE_APPLIED_KEY, None)  # the next login applies its user's saved language again
    st.success(_("You are logged out."))
    st.button(_("Log in again"), key="login_again")  # any interaction reruns into the login form
    st.stop()
