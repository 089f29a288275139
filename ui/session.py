"""The per-server services and the per-session user, as Streamlit sees them."""

from __future__ import annotations

import streamlit as st

from dba_admin.access import PAGES, PageSpec, allowed, required_roles_text
from dba_admin.auth import AppUser
from dba_admin.config import Settings, load_settings
from dba_admin.errors import DbaAdminError, QueryError
from dba_admin.services import Services
from ui.markdown import escape_markdown

USER_KEY = "dba_user"


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
