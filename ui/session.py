"""The per-server services and the per-session user, as Streamlit sees them."""

from __future__ import annotations

import uuid
from typing import NoReturn

import streamlit as st

from dba_admin.access import PAGES, PageSpec, allowed, required_roles_text
from dba_admin.auth import AppUser
from dba_admin.bootstrap import DatabaseUnreachable
from dba_admin.config import Settings, load_settings
from dba_admin.errors import DbaAdminError, QueryError
from dba_admin.services import Services, outage_where
from ui.markdown import escape_markdown

USER_KEY = "dba_user"
# The outage page's retry delay in this session: 2 s, doubling up to 30 s, reset once the database answers.
_RETRY_KEY = "outage_retry_s"
_TIMER_KEY = "outage_timer_seen"
FIRST_RETRY_S = 2
MAX_RETRY_S = 30


def get_services() -> Services:
    """One pool and one set of managers per app server process (and per configuration), shared by all sessions."""
    return _services_for(load_settings())


@st.cache_resource(show_spinner="Starting the database…", hash_funcs={Settings: repr})
def _services_for(settings: Settings) -> Services:
    services = Services.build(settings)
    if services.first_admin:
        # Printed once in the server's terminal; never shown in a browser, stored only as a bcrypt hash.
        print(
            f"\n  First admin created: username {services.first_admin.username} "
            f"password {services.first_admin.password}\n",
            flush=True,
        )
    return services


def database_gate(services: Services) -> None:
    """Before any page: a database that does not answer gets a clear page that retries, not a blank wait.

    On the embedded default a server that died (crash, kill, reboot) is started again here, while the page says
    so; if it cannot be, the page gives the reason from the server log.
    """
    reason = services.check_database()
    if reason is None:
        st.session_state.pop(_RETRY_KEY, None)
        return
    where = services.database_where
    if services.embedded:
        with st.spinner(f"The embedded PostgreSQL ({where}) is not answering; restarting it…"):
            reason = services.restart_embedded()
        if reason is None:
            st.session_state.pop(_RETRY_KEY, None)
            return
        show_outage(
            f"The embedded PostgreSQL ({where}) is not answering and could not be restarted",
            reason,
            "Fix the cause named above (the server log is in the data dir); this page retries by itself.",
        )
    show_outage(
        f"The database at {where} is not answering",
        reason,
        "Check that the server runs and is reachable from this app server; this page retries by itself.",
    )


def show_not_ready(exc: DbaAdminError) -> NoReturn:
    """The services could not be built (database down or not ready at the app server's start): say so, retry."""
    settings = load_settings()
    if isinstance(exc, DatabaseUnreachable):
        show_outage(
            f"The database at {outage_where(settings)} is not answering",
            str(exc),
            "Check DATABASE_URL and that the server runs; this page retries by itself.",
        )
    show_outage(
        "The database is not ready",
        str(exc),
        "Set DATABASE_URL to a reachable PostgreSQL, or unset it to use the embedded default; this page retries by "
        "itself.",
    )


def show_outage(headline: str, reason: str, advice: str) -> NoReturn:
    """The outage page: what is down and why, in text; a rerun of the whole app after a delay that backs off."""
    delay = min(MAX_RETRY_S, st.session_state.get(_RETRY_KEY, 0) * 2 or FIRST_RETRY_S)
    st.session_state[_RETRY_KEY] = delay
    st.title("DBA Admin")
    st.error(f"{escape_markdown(headline)}; retrying in {delay} s.")
    st.caption(escape_markdown(reason))
    st.info(escape_markdown(advice))
    st.button("Retry now", key="outage_retry_now")  # a click reruns the app
    _rerun_after(delay)
    st.stop()
    raise AssertionError("st.stop() returned")  # pragma: no cover - st.stop raises


def _rerun_after(delay: int) -> None:
    """A fragment that fires after ``delay`` seconds and reruns the whole app (no sleeping script thread).

    It also runs once as part of this full run; only its own later run triggers the app rerun.
    """
    token = uuid.uuid4().hex

    @st.fragment(run_every=delay)
    def _timer() -> None:
        if st.session_state.get(_TIMER_KEY) == token:
            st.rerun(scope="app")
        st.session_state[_TIMER_KEY] = token

    _timer()


def current_user() -> AppUser | None:
    user = st.session_state.get(USER_KEY)
    # By name as well: a dev server that reloads an edited module holds objects of the old class.
    return user if isinstance(user, AppUser) or type(user).__name__ == "AppUser" else None


def page_spec(key: str) -> PageSpec:
    return next(p for p in PAGES if p.key == key)


def require_page(key: str) -> AppUser:
    """Stop the page with a plain message when nobody is logged in or the role may not open it."""
    user = current_user()
    spec = page_spec(key)
    if user is None:
        st.warning("Please log in first.")
        st.stop()
    if not allowed(user.role, spec):
        st.error(f"**{spec.title}** needs the role {required_roles_text(spec)}; you are logged in as {user.role}.")
        st.stop()
    return user


def show_error(exc: Exception, *, action: str = "This action") -> None:
    """A failure as a message with what to do next, never a traceback."""
    if isinstance(exc, QueryError):
        info = exc.info
        text = f"{action} failed: {escape_markdown(info.message)}"
        if info.sqlstate:
            text += f" (SQLSTATE {info.sqlstate})"
        st.error(text)
        if info.hint:
            st.caption(f"Hint: {escape_markdown(info.hint)}")
    elif isinstance(exc, DbaAdminError | ValueError):  # the core raises ValueError for bad input it names
        st.error(f"{action} failed: {escape_markdown(exc)}")
    else:
        st.error(f"{action} failed unexpectedly ({type(exc).__name__}). Try again; if it persists, tell an admin.")
