"""Streamlit entry point: the login gate, then the pages the user's role allows, grouped by section.

Navigation is drawn from dba_admin.access. Every page is registered so that a page opened by URL without the
role says so (its own guard) instead of silently falling back to the home page; the sidebar lists only the
allowed ones.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dba_admin.access import PAGES, pages_by_section
from dba_admin.errors import DbaAdminError
from ui.heap import freeze_startup_heap
from ui.i18n import _
from ui.login import language_picker, login_gate, logout, take_requested_page
from ui.markdown import escape_markdown
from ui.session import connection_switcher, database_gate, get_services, show_not_ready

st.set_page_config(page_title="DBA Admin", page_icon="🛢️", layout="wide")

try:
    services = get_services()
except DbaAdminError as exc:  # down or not ready at this server's start: a clear page that retries
    show_not_ready(exc)
database_gate(services)  # the workspace down: the same page, and the embedded server restarted if it died
freeze_startup_heap()  # once per process: Streamlit's collection after each run then skips the long-lived heap

user, authenticator = login_gate(services)

ROOT = Path(__file__).resolve().parent
registered = {
    spec.key: st.Page(
        str(ROOT / spec.file), title=_(spec.title), icon=spec.icon, url_path=spec.url_path, default=spec.default
    )
    for spec in PAGES
    if (ROOT / spec.file).is_file()  # a page not installed in this build is left out, not a crash of every page
}
current = st.navigation(list(registered.values()), position="hidden")

requested = take_requested_page()  # a shared link opened before login: go there now
if requested and requested[0] in registered and requested[0] != current.url_path:
    st.switch_page(registered[requested[0]], query_params=requested[1])

with st.sidebar:
    st.markdown("### 🛢️ DBA Admin")
    for section, specs in pages_by_section(user.role).items():
        st.caption(_(section).upper())
        for spec in specs:
            if spec.key in registered:
                st.page_link(registered[spec.key], label=_(spec.title), icon=spec.icon)
    st.divider()
    # The database every page works on; one that does not answer stops only the pages that read it.
    connection_switcher(services, user)
    st.divider()
    st.markdown(f"**{escape_markdown(user.name or user.username)}**  \n`{user.role}` · {escape_markdown(user.email)}")
    st.caption(_("Workspace: {name}").format(name=escape_markdown(services.database_label)))
    language_picker(services, user)  # saved for the user; the next run speaks it
    if st.button(_("Log out"), key="sidebar_logout", width="stretch"):
        logout(services, authenticator, user)

current.run()
