"""Admin · Audit log: filter by user, action and time; export what you see as CSV."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dba_admin.audit import AuditQuery, actions, search
from dba_admin.export import to_csv_bytes
from ui.session import get_services, require_page

require_page("audit")
services = get_services()
st.title("Audit log")

with services.db.connection() as conn:
    known_actions = actions(conn)

c1, c2, c3, c4 = st.columns(4)
actor = c1.text_input("User contains", key="audit_actor")
action = c2.selectbox("Action", ["(any)", *known_actions], key="audit_action")
today = dt.date.today()
since = c3.date_input("From", today - dt.timedelta(days=30), key="audit_since")
until = c4.date_input("To (inclusive)", today, key="audit_until")

query = AuditQuery(
    actor=actor or None,
    action_prefix=None if action == "(any)" else action,
    since=dt.datetime.combine(since, dt.time.min, tzinfo=dt.UTC),
    until=dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC),
    limit=5000,
)
with services.db.connection() as conn:
    rows = search(conn, query)

if rows.empty:
    st.info("No audit rows match these filters.")
else:
    st.caption(f"{len(rows)} row(s), newest first (at most 5,000).")
    st.dataframe(rows, hide_index=True, width="stretch")
    st.download_button("Download CSV", to_csv_bytes(rows), "audit_log.csv", "text/csv", key="audit_csv")
