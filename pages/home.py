"""Home: is the database healthy, and where to go next."""

from __future__ import annotations

import streamlit as st

from ui.session import get_services, require_page

user = require_page("home")
services = get_services()

st.title("DBA Admin")
st.caption(f"Logged in as {user.username} ({user.role}) · {services.database_label}")

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
    st.error(health.message + ". Check that the database runs, then reload.")
elif health.migrations_pending:
    st.warning("Some migrations are pending: run `dba-admin migrate`.")
with st.expander("Details"):
    st.json({"server_version": health.server_version, "migrations_applied": health.migrations_applied})
