"""Home: is the chosen connection healthy, is the workspace, and where to go next.

Two databases, two verdicts: the connection (the database the pages look at) and the workspace (the app's own
users, projects and audit log). Each says what is missing instead of "down" when it answers but is incomplete,
with the same figures the dashboard shows.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dba_admin.access import pages_by_section
from dba_admin.database import Health
from ui.markdown import escape_markdown
from ui.session import (
    NO_CONNECTION,
    chosen_connection,
    connection_health,
    connection_where,
    dba_login_notice,
    get_services,
    readonly_login_state,
    require_page,
    show_error,
)
from ui.widgets import reachability_metric

user = require_page("home")
services = get_services()

st.title("DBA Admin")
st.caption(f"Logged in as {escape_markdown(user.username)} ({user.role})")


@st.cache_data(ttl=15, show_spinner=False)
def workspace_health(workspace_key: str) -> Health:
    return get_services().db.health()


def connection_part(name: str) -> None:
    """Reachable or not, the server, and the logins the pages need: what is missing, said as such."""
    try:
        db = services.connection_for(user.claims, name)
    except Exception as exc:
        show_error(exc, action=f"Opening connection {name}")
        return
    health = connection_health(services, name)
    st.subheader(f"Connection {escape_markdown(name)}", anchor=False)
    st.caption(escape_markdown(connection_where(services, name)))
    cols = st.columns(3)
    reachability_metric(cols[0], health)
    cols[1].metric("Server", escape_markdown(health.server_version or "unknown"))
    readonly, readonly_problem = readonly_login_state(db, health)
    cols[2].metric("Read-only login", readonly)
    if not health.reachable:
        st.error(
            f"{escape_markdown(health.message)}. Check that the database runs and is reachable from the app server, "
            "or pick another connection in the sidebar."
        )
        return
    if readonly_problem:
        st.warning(escape_markdown(readonly_problem))
    if user.is_dba and not db.has_dba_login:
        st.info(escape_markdown(dba_login_notice(db)))


def workspace_part() -> None:
    """The app's own database: reachable and migrated. It has no read-only login by design (no user SQL runs there)."""
    health = workspace_health(services.database_label)
    st.subheader("Workspace", anchor=False)
    st.caption(escape_markdown(services.database_label))
    cols = st.columns(3)
    reachability_metric(cols[0], health)
    cols[1].metric("Mode", "embedded" if health.embedded else "remote")
    cols[2].metric("Migrations pending", len(health.migrations_pending))
    if not health.reachable:
        st.error(escape_markdown(health.message) + ". Check that the workspace database runs, then reload.")
    elif health.migrations_pending:
        st.warning("Some migrations are pending: run `dba-admin migrate`.")
    with st.expander("Details"):
        st.json({"server_version": health.server_version, "migrations_applied": health.migrations_applied})


try:
    name = chosen_connection(services, user)
except Exception as exc:  # the workspace answered the gate; a failure here is shown, never a traceback
    show_error(exc, action="Listing your connections")
    name = None
    listed = False
else:
    listed = True
left, right = st.columns(2)
with left, st.container(border=True):
    if name is not None:
        with st.spinner("Checking the connection…"):
            connection_part(name)
    elif listed:
        st.subheader("Connection", anchor=False)
        st.info(NO_CONNECTION)
with right, st.container(border=True), st.spinner("Checking the workspace…"):
    workspace_part()

BLURBS = {
    "dashboard": "Sizes, connections, cache hit ratio, top statements and growth over time.",
    "explorer": "Find a table: columns, indexes, RLS policies, DDL, ER diagram and its data.",
    "sql_editor": "Run SQL with guard rails, see plans, download results, chart them.",
    "projects": "Your SQL in projects shared with named teammates; every save is a version.",
    "history": "Every run of yours: when, where, how long, how many rows, and any error.",
    "assistant": "Ask about the schema in English or Portuguese; SQL it offers is checked first.",
    "activity": "Live sessions, blocking chains; cancel or terminate a runaway query.",
    "advisors": "What is wrong with the database, and the SQL that fixes it.",
    "fleet": "Every connection at a glance: reachable, size, load, findings.",
    "users": "Create users, set roles, reset passwords, unlock accounts.",
    "connections": "Register the databases to administer, their logins, and who may use each.",
    "audit": "Who did what and when; filter and export as CSV.",
}

st.subheader("Where to go")
ROOT = Path(__file__).resolve().parent.parent
specs = [
    spec
    for section in pages_by_section(user.role).values()
    for spec in section
    if spec.key != "home" and (ROOT / spec.file).is_file()
]
columns = st.columns(2)
for index, spec in enumerate(specs):
    with columns[index % 2], st.container(border=True):
        st.page_link(spec.file, label=spec.title, icon=spec.icon)
        st.caption(BLURBS.get(spec.key, ""))
if not user.is_dba:
    st.caption(f"As {user.role}, the SQL you type runs read-only on each connection's least-privilege read-only login.")
