"""Fleet: every connection you may see, at one glance — reachable or not, size, load, findings, last snapshot.

The figures come from dba_admin.fleet (one short-lived monitor connection per database, all in parallel, each
within FLEET_TIMEOUT_S), so one dead or slow database shows as such without slowing the rest. A collection is
kept for 15 s per set of visible connections (people opening the page together share it); "Refresh" asks again.
The table opens first; its charts are in a lazy tab, drawn when opened.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dba_admin.errors import DbaAdminError
from dba_admin.fleet import ADVISORS_MAX_AGE_S, ERROR, OK, TIMED_OUT, UNREACHABLE, FleetRow, collect_fleet
from dba_admin.i18n import N_
from ui import figures
from ui.i18n import _, ngettext, number
from ui.markdown import escape_markdown
from ui.session import get_services, require_page, show_error
from ui.widgets import fmt_bytes, fmt_time, lazy_tabs, tab_open

CACHE_TTL_S = 15
NONCE = "fleet_refresh_nonce"  # bumped by "Refresh": a new cache entry for this session's next collection
STATUS_ICONS = {OK: "🟢", UNREACHABLE: "🔴", TIMED_OUT: "⏱️", ERROR: "⚠️"}
# The statuses as shown; the table's data keeps the core's values.
STATUS_LABELS = {OK: N_("ok"), UNREACHABLE: N_("unreachable"), TIMED_OUT: N_("timed out"), ERROR: N_("error")}
CONNECTIONS_PAGE = "pages/connections.py"


def status_label(status: str) -> str:
    return _(STATUS_LABELS.get(status, status))


LEVEL_COLOURS = {"ERROR": "#d62728", "WARN": "#ff7f0e", "INFO": "#1f77b4"}

user = require_page("fleet")
services = get_services()

st.title(_("Fleet"))
st.caption(
    _(
        "Every connection you may use, side by side. Each database is asked in parallel on its monitor login, with "
        "a {seconds} s limit each (FLEET_TIMEOUT_S): one that is down or slow shows as such and does not hold up "
        "the rest."
    ).format(seconds=number(services.settings.fleet_timeout_s))
)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False, max_entries=64)
def _collect(
    names: tuple[str, ...], timeout_s: float, advisors: bool, advisors_max_age_s: float, nonce: int
) -> tuple[datetime, list[FleetRow]]:
    """One collection per visible set (and refresh) in CACHE_TTL_S; ``nonce`` only separates refreshes."""
    rows = collect_fleet(
        get_services(), list(names), timeout_s=timeout_s, advisors=advisors, advisors_max_age_s=advisors_max_age_s
    )
    return datetime.now(UTC), rows


try:
    names = services.registry.visible_names(user.claims)
except DbaAdminError as exc:
    show_error(exc, action=_("Listing your connections"))
    st.stop()

if not names:
    st.info(
        _(
            "No connection is open to you yet. "
            "Add one on the Connections page or with `dba-admin connection add NAME --dsn DSN`."
        )
        if user.role == "admin"
        else _("No connection is open to you yet. Ask an admin to give your role or your email access to one.")
    )
    if user.role == "admin":
        st.page_link(CONNECTIONS_PAGE, label=_("Open Connections"), icon=":material/cable:")
    st.stop()

left, right = st.columns([1, 3], vertical_alignment="center")
refresh = left.button(_("Refresh"), key="fleet_refresh", icon=":material/refresh:", type="primary")
if refresh:
    st.session_state[NONCE] = time.time_ns()
advisors = right.toggle(
    _("Count advisor findings"),
    value=True,
    key="fleet_advisors",
    help=_("Runs the advisors' checks on each connection within its time limit; off makes the page faster."),
)

timeout_s = services.settings.fleet_timeout_s
try:
    asking = ngettext(
        "Asking {count} connection in parallel, up to {seconds} s each…",
        "Asking {count} connections in parallel, up to {seconds} s each…",
        len(names),
    ).format(count=len(names), seconds=number(timeout_s))
    with st.spinner(asking):
        collected_at, rows = _collect(
            tuple(names),
            timeout_s,
            advisors,
            0.0 if refresh else ADVISORS_MAX_AGE_S,  # Refresh runs the checks again too
            st.session_state.get(NONCE, 0),
        )
except DbaAdminError as exc:  # the workspace itself failed (its reads come first)
    show_error(exc, action=_("Collecting the fleet"))
    st.stop()

reachable = [r for r in rows if r.status == OK]
trouble = [r for r in rows if r.status != OK]
errors = sum(r.findings_at("ERROR") or 0 for r in reachable)
cols = st.columns(4)
cols[0].metric(_("Connections"), len(rows))
cols[1].metric(_("Reachable"), len(reachable))
cols[2].metric(_("Down or slow"), len(trouble))
cols[3].metric(_("ERROR findings"), errors if advisors else "—")
checked = [r.advisors_at for r in rows if r.advisors_at is not None]
parts = [_("Collected {time} · kept {seconds} s").format(time=fmt_time(collected_at), seconds=CACHE_TTL_S)]
if checked:
    parts.append(
        _("advisor counts from {time} (rerun every {minutes} min)").format(
            time=fmt_time(min(checked)), minutes=number(ADVISORS_MAX_AGE_S / 60)
        )
    )
parts.append(_("Refresh asks every database again and reruns the checks."))
st.caption(" · ".join(parts))

if trouble:
    lines = [
        f"- {STATUS_ICONS.get(r.status, '')} **{escape_markdown(r.name)}**"
        f" ({escape_markdown(status_label(r.status))}): {escape_markdown(r.reason or _('no reason given'))}"
        for r in trouble
    ]
    st.warning(_("Not every connection answered:") + "\n" + "\n".join(lines))


def _longest(row: FleetRow) -> str:
    if row.longest_query_s is None:
        return "—" if row.status != OK else _("none running")
    return _("{seconds} s · pid {pid}").format(seconds=number(row.longest_query_s, digits=1), pid=row.longest_query_pid)


def _note(row: FleetRow) -> str:
    return row.reason or row.advisors_note or ""


def table_and_notes() -> None:
    """One row per connection, the reasons of the ones that did not answer in its note column."""
    table = pd.DataFrame(
        [
            {
                "": STATUS_ICONS.get(r.status, ""),
                "connection": r.name,
                "status": r.status,
                "host": r.host or "—",
                "version": r.server_version or "—",
                "size": fmt_bytes(r.size_bytes),
                "connections": (
                    f"{r.connections_used} / {r.max_connections}" if r.connections_used is not None else "—"
                ),
                "used %": r.connections_pct,
                "cache hit %": None if r.cache_hit_ratio is None else round(100 * r.cache_hit_ratio, 2),
                "longest query": _longest(r),
                "ERROR": r.findings_at("ERROR"),
                "WARN": r.findings_at("WARN"),
                "INFO": r.findings_at("INFO"),
                "last snapshot": fmt_time(r.last_snapshot_at) if r.last_snapshot_at else _("never"),
                "note": _note(r),
            }
            for r in rows
        ]
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        key="fleet_table",
        column_config={
            "": st.column_config.TextColumn("", width="small"),
            "connection": st.column_config.Column(_("connection")),
            "status": st.column_config.Column(_("status")),
            "host": st.column_config.Column(_("host")),
            "version": st.column_config.Column(_("version")),
            "size": st.column_config.Column(_("size")),
            "connections": st.column_config.Column(_("connections")),
            "used %": st.column_config.ProgressColumn(_("used %"), min_value=0, max_value=100, format="%.0f%%"),
            "cache hit %": st.column_config.NumberColumn(_("cache hit %"), format="%.2f%%"),
            "longest query": st.column_config.Column(_("longest query")),
            "ERROR": st.column_config.NumberColumn("ERROR", help=_("unmuted advisor findings at ERROR")),
            "WARN": st.column_config.NumberColumn("WARN"),
            "INFO": st.column_config.NumberColumn("INFO"),
            "last snapshot": st.column_config.Column(_("last snapshot")),
            "note": st.column_config.Column(_("note")),
        },
    )
    partial = [r for r in reachable if r.advisors_note]
    if partial:
        st.caption(
            _("Advisor counts:")
            + " "
            + "; ".join(f"{escape_markdown(r.name)}: {escape_markdown(r.advisors_note)}" for r in partial)
        )


def charts() -> None:
    """Connections used against max, findings by level and sizes, per connection: the table's columns as bars."""
    if not reachable:
        st.info(_("No connection answered, so there is nothing to chart. The reasons are listed above."))
        return

    chart_left, chart_right = st.columns(2)
    with chart_left:
        st.subheader(_("Connections used vs max"), anchor=False)
        usage = [r for r in reachable if r.connections_used is not None]
        names = [r.name for r in usage]
        figure = go.Figure(
            [
                go.Bar(
                    y=names,
                    x=[r.max_connections for r in usage],
                    name="max_connections",
                    orientation="h",
                    marker_color="#d3d3d3",
                ),
                go.Bar(
                    y=names,
                    x=[r.connections_used for r in usage],
                    name=_("used"),
                    orientation="h",
                    marker_color="#1f77b4",
                ),
            ],
            layout={  # in the constructor: update_layout afterwards walks Plotly's property paths (ui/figures.py)
                "barmode": "overlay",
                "height": max(220, 40 * len(usage) + 120),
                "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
                "legend": {"orientation": "h"},
                "xaxis": {"title": _("client connections")},
            },
        )
        st.plotly_chart(figure, key="fleet_connections_chart")
    with chart_right:
        st.subheader(_("Advisor findings by level"), anchor=False)
        counted = [r for r in reachable if r.findings is not None]
        if not advisors:
            st.info(_("Advisor counts are off (the toggle above)."))
        elif not counted or not any(sum((r.findings or {}).values()) for r in counted):
            st.success(_("No unmuted finding on the connections that answered."))
        else:
            levels = ("ERROR", "WARN", "INFO")
            bars = figures.stacked_hbar(
                [r.name for r in counted],
                {level: [(r.findings or {}).get(level, 0) for r in counted] for level in levels},
                value_title=_("findings"),
                colors=LEVEL_COLOURS,
                height=max(220, 40 * len(counted) + 120),
                legend={"orientation": "h"},
            )
            st.plotly_chart(bars, key="fleet_findings_chart")

    sized = [r for r in reachable if r.size_bytes is not None]
    if len(sized) > 1:
        st.subheader(_("Database size"), anchor=False)
        size_chart = figures.bars(
            [r.name for r in sized], [(r.size_bytes or 0) / 2**20 for r in sized], value_title="MB", height=280
        )
        st.plotly_chart(size_chart, key="fleet_size_chart")


# Lazy tabs: only the open one runs and is drawn. The table opens first; its charts (three Plotly charts, whose first
# on a page cost about 120 ms of Chromium's main thread) wait to be asked for. Names English, labels translated.
tabs = lazy_tabs({"Table": N_("Table"), "Charts": N_("Charts")}, key="fleet_tab")
with tabs["Table"]:
    if tab_open(tabs["Table"]):
        table_and_notes()
with tabs["Charts"]:
    if tab_open(tabs["Charts"]):
        charts()
