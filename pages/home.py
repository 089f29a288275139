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
from dba_admin.i18n import N_
from ui.i18n import _
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
st.caption(_("Logged in as {username} ({role})").format(username=escape_markdown(user.username), role=user.role))


@st.cache_data(ttl=15, show_spinner=False)
def workspace_health(workspace_key: str) -> Health:
    return get_services().db.health()


def connection_part(name: str) -> None:
    """Reachable or not, the server, and the logins the pages need: what is missing, said as such."""
    try:
        db = services.connection_for(user.claims, name)
    except Exception as exc:
        show_error(exc, action=_("Opening connection {name}").format(name=name))
        return
    health = connection_health(services, name)
    st.subheader(_("Connection {name}").format(name=escape_markdown(name)), anchor=False)
    st.caption(escape_markdown(connection_where(services, name)))
    cols = st.columns(3)
    reachability_metric(cols[0], health)
    cols[1].metric(_("Server"), escape_markdown(health.server_version or _("unknown")))
    readonly, readonly_problem = readonly_login_state(db, health)
    cols[2].metric(_("Read-only login"), readonly)
    if not health.reachable:
        st.error(
            _(
                "{reason}. Check that the database runs and is reachable from the app server, or pick another "
                "connection in the sidebar."
            ).format(reason=escape_markdown(health.message))
        )
        return
    if readonly_problem:
        st.warning(escape_markdown(readonly_problem))
    if user.is_dba and not db.has_dba_login:
        st.info(escape_markdown(dba_login_notice(db)))


def workspace_part() -> None:
    """The app's own database: reachable and migrated. It has no read-only login by design (no user SQL runs there)."""
    health = workspace_health(services.database_label)
    st.subheader(_("Workspace"), anchor=False)
    st.caption(escape_markdown(services.database_label))
    cols = st.columns(3)
    reachability_metric(cols[0], health)
    cols[1].metric(_("Mode"), _("embedded") if health.embedded else _("remote"))
    cols[2].metric(_("Migrations pending"), len(health.migrations_pending))
    if not health.reachable:
        st.error(
            _("{reason}. Check that the workspace database runs, then reload.").format(
                reason=escape_markdown(health.message)
            )
        )
    elif health.migrations_pending:
        st.warning(_("Some migrations are pending: run `dba-admin migrate`."))
    details = st.expander(_("Details"), key="home_workspace_details", on_change="rerun")
    if details.open is not False:  # drawn when opened (None = no state tracking: always)
        details.json({"server_version": health.server_version, "migrations_applied": health.migrations_applied})


try:
    name = chosen_connection(services, user)
except Exception as exc:  # the workspace answered the gate; a failure here is shown, never a traceback
    show_error(exc, action=_("Listing your connections"))
    name = None
    listed = False
else:
    listed = True
left, right = st.columns(2)
with left, st.container(border=True):
    if name is not None:
        with st.spinner(_("Checking the connection…")):
            connection_part(name)
    elif listed:
        st.subheader(_("Connection"), anchor=False)
        st.info(_(NO_CONNECTION))
with right, st.container(border=True), st.spinner(_("Checking the workspace…")):
    workspace_part()

BLURBS = {
    "dashboard": N_("Sizes, connections, cache hit ratio, top statements and growth over time."),
    "explorer": N_("Find a table: columns, indexes, RLS policies, DDL, ER diagram and its data."),
    "sql_editor": N_("Run SQL with guard rails, see plans, download results, chart them."),
    "projects": N_("Your SQL in projects shared with named teammates; every save is a version."),
    "history": N_("Every run of yours: when, where, how long, how many rows, and any error."),
    "assistant": N_("Ask about the schema in English or Portuguese; SQL it offers is checked first."),
    "activity": N_("Live sessions, blocking chains; cancel or terminate a runaway query."),
    "advisors": N_("What is wrong with the database, and the SQL that fixes it."),
    "fleet": N_("Every connection at a glance: reachable, size, load, findings."),
    "users": N_("Create users, set roles, reset passwords, unlock accounts."),
    "connections": N_("Register the databases to administer, their logins, and who may use each."),
    "audit": N_("Who did what and when; filter and export as CSV."),
}

st.subheader(_("Where to go"))
ROOT = Path(__file__).resolve().parent.parent
specs = [
    spec
    for section in pages_by_section(user.role).values()
    for spec in section
    if spec.key != "home" and (ROOT / spec.file).is_file()
]
# One link per page, its blurb on hover: the sidebar lists the same pages, and a bordered card with a caption for
# each (54 elements for an admin) cost about 65 ms of this page's opening in Chromium.
columns = st.columns(3)
for index, spec in enumerate(specs):
    blurb = _(BLURBS[spec.key]) if spec.key in BLURBS else None
    columns[index % 3].page_link(spec.file, label=_(spec.title), icon=spec.icon, help=blurb)
if not user.is_dba:
    st.caption(
        _("As {role}, the SQL you type runs read-only on each connection's least-privilege read-only login.").format(
            role=user.role
        )
    )
