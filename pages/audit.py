"""Admin · Audit log: filter by user, action and time; export what you see as CSV."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dba_admin.audit import AuditQuery, actions, search
from dba_admin.export import to_csv_bytes
from ui.i18n import _, ngettext, number
from ui.session import get_services, require_page

require_page("audit")
services = get_services()
st.title(_("Audit log"))

with services.db.connection() as conn:
    known_actions = actions(conn)

c1, c2, c3, c4 = st.columns(4)
actor = c1.text_input(_("User contains"), key="audit_actor")
action = c2.selectbox(
    _("Action"),
    ["(any)", *known_actions],
    key="audit_action",
    # Labels worked out during the run: a format_func is also called outside it (AppTest), where the locale is unknown.
    format_func={"(any)": _("(any)"), **{a: a for a in known_actions}}.__getitem__,
)
today = dt.date.today()
since = c3.date_input(_("From"), today - dt.timedelta(days=30), key="audit_since")
until = c4.date_input(_("To (inclusive)"), today, key="audit_until")

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
    st.info(_("No audit rows match these filters."))
else:
    st.caption(
        ngettext(
            "{count} row, newest first (at most {limit}).",
            "{count} rows, newest first (at most {limit}).",
            len(rows),
        ).format(count=number(len(rows)), limit=number(query.limit))
    )
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        column_config={  # labels only: the CSV keeps the column names
            "at": st.column_config.Column(_("at")),
            "actor": st.column_config.Column(_("user")),
            "action": st.column_config.Column(_("action")),
            "target": st.column_config.Column(_("target")),
            "details": st.column_config.Column(_("details")),
            "app_instance": st.column_config.Column(_("app instance")),
        },
    )
    st.download_button(_("Download CSV"), to_csv_bytes(rows), "audit_log.csv", "text/csv", key="audit_csv")
