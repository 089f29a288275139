"""Home: is the database healthy, and where to go next."""

from __future__ import annotations

import streamlit as st

from dba_admin.access import pages_by_section
from ui.markdown import escape_markdown
from ui.session import get_services, require_page

user = require_page("home")
services = get_services()

st.title("DBA Admin")
st.caption(f"Logged in as {escape_markdown(user.username)} ({user.role}) · {escape_markdown(services.database_label)}")

with st.spinner("Checking the database…"):
    health = services.db.health()

cols = st.columns(4)
cols[0].metric(
    "Database",
    "reachable" if health.ok else "down",
    f"{health.connect_ms:.1f} ms" if health.connect_ms is not None else None,
)
cols[1].metric("Mode", "embedded" if health.embedded else "remote")
cols[2].metric("Migrations pending", len(health.migrations_pending))
cols[3].metric("Read-only role", "ok" if health.readonly_ok else "not ok")
if not health.ok:
    st.error(escape_markdown(health.message) + ". Check that the database runs, then reload.")
elif health.migrations_pending:
    st.warning("Some migrations are pending: run `dba-admin migrate`.")
with st.expander("Details"):
    st.json({"server_version": health.server_version, "migrations_applied": health.migrations_applied})

BLURBS = {
    "dashboard": "Sizes, connections, cache hit ratio, top statements and growth over time.",
    "explorer": "Find a table: columns, indexes, RLS policies, DDL, ER diagram and its data.",
    "sql_editor": "Run SQL with guard rails, see plans, download results, chart them.",
    "projects": "Your SQL in projects shared with named teammates; every save is a version.",
    "history": "Every run of yours: when, how long, how many rows, and any error.",
    "assistant": "Ask about the schema in English or Portuguese; SQL it offers is checked first.",
    "activity": "Live sessions, blocking chains; cancel or terminate a runaway query.",
    "advisors": "What is wrong with the database, and the SQL that fixes it.",
    "users": "Create users, set roles, reset passwords, unlock accounts.",
    "audit": "Who did what and when; filter and export as CSV.",
}

st.subheader("Where to go")
specs = [spec for section in pages_by_section(user.role).values() for spec in section if spec.key != "home"]
columns = st.columns(2)
for index, spec in enumerate(specs):
    with columns[index % 2], st.container(border=True):
        st.page_link(spec.file, label=spec.title, icon=spec.icon)
        st.caption(BLURBS.get(spec.key, ""))
if not user.is_dba:
    st.caption(
        f"As {user.role}, the SQL you type runs read-only on a least-privilege login; the database's row level "
        "security decides which rows of the app's own tables you see."
    )
