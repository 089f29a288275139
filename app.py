"""Streamlit entry point: settings, the database (embedded or DATABASE_URL), and the health view.

Login, navigation by role and the workbench pages arrive with the next issues; this page proves the
core end to end: the database is reachable, migrated, and the read-only role works.
"""

from __future__ import annotations

import sys

import streamlit as st

from dba_admin.bootstrap import prepare_database
from dba_admin.config import Settings, load_settings
from dba_admin.database import DatabaseManager
from dba_admin.errors import DbaAdminError


@st.cache_resource(show_spinner="Starting the database…")
def get_database(settings: Settings) -> DatabaseManager:
    """One pool per app server process, shared by every session (Streamlit's cache_resource)."""
    prepared = prepare_database(settings)
    if prepared.first_admin:
        # Printed once in the server's terminal, never shown in the browser nor stored in clear.
        print(
            f"First admin created: username {prepared.first_admin.username} password {prepared.first_admin.password}",
            file=sys.stderr,
        )
    return DatabaseManager(settings, prepared.dsn, prepared.readonly_dsn)


def main() -> None:
    st.set_page_config(page_title="DBA Admin", page_icon="🛢️", layout="wide")
    st.title("DBA Admin")
    try:
        settings = load_settings()
        db = get_database(settings)
        health = db.health()
    except DbaAdminError as exc:
        st.error(f"The database is not ready: {exc}")
        st.info("Set DATABASE_URL to a reachable PostgreSQL, or unset it to use the embedded default.")
        return
    cols = st.columns(4)
    cols[0].metric("Database", "reachable" if health.ok else "down", f"{health.latency_ms:.1f} ms")
    cols[1].metric("Mode", "embedded" if health.embedded else "remote")
    cols[2].metric("Migrations pending", len(health.migrations_pending))
    cols[3].metric("Read-only role", "ok" if health.readonly_ok else "not ok")
    if not health.ok:
        st.error(health.message or "The database did not answer.")
    with st.expander("Details"):
        st.json({"server_version": health.server_version, "applied": health.migrations_applied})


main()
