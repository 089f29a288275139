"""Workbench · Dashboard: is the chosen connection healthy, how big, how busy, and which statements cost the most.

All figures come from one DatabaseManager.get_metrics() call on the connection's monitor login (one transaction
under the statement timeout) and one health() check, cached for a few seconds per connection name so several
people watching the same database cost one read. The live part is a fragment: the chosen interval reruns only it.
The page is in lazy tabs: "Now" opens first and draws no Plotly chart; "Top statements" and "Growth over time" run
and draw only when opened (bench/browser_pages_bench.py, bench/page_elements_bench.py).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from typing import Any

import pandas as pd
import streamlit as st

from dba_admin.database import Health, Metrics
from dba_admin.i18n import N_
from ui import figures
from ui.assistant import get_assistant
from ui.growth_charts import render_growth_charts, snapshot_if_due
from ui.i18n import _, number, percent
from ui.markdown import escape_markdown
from ui.session import (
    clear_connection_health,
    connection_health,
    current_connection,
    get_services,
    readonly_login_state,
    require_page,
    show_connection,
    show_error,
)
from ui.widgets import fmt_bytes, lazy_tabs, page_part, reachability_metric, tab_open

METRICS_TTL_S = 5
MAX_SAMPLES = 360
# Option values stay English (the widget keeps them); the labels are translated where drawn.
INTERVALS: dict[str, int | None] = {N_("Off"): None, "10 s": 10, "30 s": 30, "1 min": 60, "5 min": 300}

user = require_page("dashboard")
services = get_services()
conn = current_connection(services, user)


@st.cache_data(ttl=METRICS_TTL_S, show_spinner=False)
def load_metrics(workspace_key: str, connection: str) -> Metrics:
    """Cached per connection name (the page checked the user may use it), not per manager object."""
    return get_services().connection(connection).get_metrics()


def fmt_duration(seconds: float) -> str:
    delta = dt.timedelta(seconds=int(seconds))
    days, rest = delta.days, delta.seconds
    return f"{days} d {rest // 3600} h" if days else f"{rest // 3600} h {(rest % 3600) // 60} min"


def short_sql(text: str, width: int = 60) -> str:
    """A chart label for a statement: comments dropped, whitespace folded, cut to ``width``."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.DOTALL)
    text = " ".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    text = " ".join(text.split()) or _("(comment only)")
    return text if len(text) <= width else text[: width - 1] + "…"


CACHE_HIT_TARGET = 0.99


def remember(metrics: Metrics) -> list[dict[str, Any]]:
    """Keep this session's samples of the cumulative counters, so rates can be drawn while the page is open."""
    per_connection: dict[str, list[dict[str, Any]]] = st.session_state.setdefault("dashboard_samples", {})
    samples = per_connection.setdefault(conn.name, [])  # rates between samples of one database only
    if not samples or samples[-1]["at"] != metrics.collected_at:
        samples.append(
            {
                "at": metrics.collected_at,
                "commits": metrics.commits,
                "rollbacks": metrics.rollbacks,
                "deadlocks": metrics.deadlocks,
                "temp_files": metrics.temp_files,
            }
        )
        del samples[:-MAX_SAMPLES]
    return samples


def health_strip(health: Health) -> None:
    """The connection's health: reachable, server, its logins, and the assistant (migrations are the workspace's)."""
    cols = st.columns(5)
    reachability_metric(cols[0], health)
    cols[1].metric(
        _("Server"),
        escape_markdown(health.server_version or _("unknown")),
        _("embedded") if health.embedded and conn.same_cluster else None,
        delta_color="off",
        delta_arrow="off",
    )
    readonly, readonly_problem = readonly_login_state(conn, health)
    cols[2].metric(_("Read-only login"), readonly)
    cols[3].metric(
        _("DBA login"),
        _("yes") if conn.has_dba_login else _("none"),
        _("write mode") if conn.has_dba_login else _("read-only SQL only"),
        delta_color="off",
        delta_arrow="off",
    )
    assistant = get_assistant(services, conn).status()
    breaker = (
        None
        if assistant.breaker in (None, "closed")
        else _("breaker {state}").format(state=assistant.breaker.replace("_", "-"))
    )
    cols[4].metric(
        _("Assistant"),
        "Gemini" if assistant.mode == "gemini" else _("offline"),
        breaker or (assistant.model or _("catalog only")),
        delta_color="inverse" if breaker else "off",
        delta_arrow="off",
        help=assistant.reason,
    )
    if not health.reachable:
        st.warning(escape_markdown(health.message))
    elif readonly_problem:
        st.warning(escape_markdown(readonly_problem))


def size(metrics: Metrics) -> None:
    st.subheader(_("Size"))
    st.metric(
        _("Database size"),
        fmt_bytes(metrics.database_size_bytes),
        escape_markdown(metrics.database),
        delta_color="off",
        delta_arrow="off",
    )


def largest_tables(metrics: Metrics) -> None:
    """The ten largest tables as a grid, the page's whole width (its seven columns do not fit half of it)."""
    st.subheader(_("Largest tables"))
    if metrics.largest_tables_error:
        st.error(
            _(
                "The largest tables could not be read: {error}. The other figures are current; press Refresh now "
                "to try again, or see Activity for what blocks it."
            ).format(error=escape_markdown(metrics.largest_tables_error))
        )
        return
    if not metrics.largest_tables:
        st.info(_("No tables yet."))
        return
    for t in metrics.largest_tables:
        if t.lock_message:
            st.warning(
                _("Size of {table} estimated (as of its last VACUUM/ANALYZE): {reason}.").format(
                    table=escape_markdown(f"{t.schema}.{t.name}"), reason=escape_markdown(t.lock_message)
                ),
                icon=":material/lock:",
            )
    # A grid with a bar for each table's share, as PgHero lists space: the names and sizes read, and the bars
    # compare. The stacked Plotly chart drawn before was the first view's only chart, and a page's first Plotly
    # chart cost about 170 ms of Chromium's main thread (bench/browser_pages_bench.py).
    database_bytes = metrics.database_size_bytes or 0
    rows = [
        {
            "table": _("{table} (estimated, locked)").format(table=f"{t.schema}.{t.name}")
            if t.size_is_estimate
            else f"{t.schema}.{t.name}",
            "total": t.total_bytes,
            "share": t.total_bytes / database_bytes if database_bytes else None,
            "heap": t.table_bytes,
            "indexes": t.index_bytes,
            "toast": max(0, t.total_bytes - t.table_bytes - t.index_bytes),
            "rows": t.estimated_rows,
        }
        for t in metrics.largest_tables
    ]
    bytes_column = st.column_config.NumberColumn
    st.dataframe(
        rows,
        hide_index=True,
        column_config={
            "table": st.column_config.TextColumn(_("table"), width="medium"),
            "total": bytes_column(_("total"), format="bytes"),
            "share": st.column_config.ProgressColumn(
                _("of the database"), min_value=0.0, max_value=1.0, format="percent"
            ),
            "heap": bytes_column(_("heap"), format="bytes"),
            "indexes": bytes_column(_("indexes"), format="bytes"),
            "toast": bytes_column(_("toast / other"), format="bytes"),
            "rows": st.column_config.NumberColumn(_("rows (est.)"), format="localized"),
        },
        key="dashboard_largest",
    )


def connections(metrics: Metrics) -> None:
    st.subheader(_("Connections"))
    total = metrics.total_connections
    st.metric(
        _("Client connections"),
        f"{number(total)} / {number(metrics.max_connections)}",
        _("{share} of max").format(share=percent(total / metrics.max_connections, digits=0))
        if metrics.max_connections
        else None,
        delta_color="off",
        delta_arrow="off",
    )
    states = metrics.connections_by_state
    if not states:
        st.info(_("No client connections besides this one."))
        return
    # A line of counts, most first: a handful of states read at a glance, and the donut drawn before cost a Plotly
    # chart (about 50 ms of the page's opening in Chromium). "idle in transaction" holds locks: shown in bold.
    counts = [
        f"**{escape_markdown(state)} {number(count)}**"
        if state.startswith("idle in transaction")
        else f"{escape_markdown(state)} {number(count)}"
        for state, count in sorted(states.items(), key=lambda item: -item[1])
    ]
    st.markdown(_("By state: {counts}").format(counts=" · ".join(counts)))


def cache_hit(metrics: Metrics) -> None:
    """A figure against its target, as PgHero shows it: a gauge said no more than the number and cost a Plotly chart
    (about 50 ms of the page's opening in Chromium)."""
    st.subheader(_("Cache hit ratio"))
    ratio = metrics.cache_hit_ratio
    if ratio is None:
        st.info(_("No block reads yet since the last statistics reset."))
        return
    points = (ratio - CACHE_HIT_TARGET) * 100
    st.metric(
        _("Blocks found in shared buffers"),
        percent(ratio, digits=2),
        _("{points} points").format(points=f"{points:+.2f}"),
        delta_description=_("against the 99 % target"),
    )
    st.progress(min(max(ratio, 0.0), 1.0))
    if ratio < CACHE_HIT_TARGET:
        st.caption(_("Below 99 %: the working set may not fit in shared_buffers, or large scans evict it."))


def transactions(metrics: Metrics, samples: list[dict[str, Any]]) -> None:
    """Totals as figures; the rates as a line once this page has two samples (a chart of two totals said nothing
    the figures do not, and every Plotly chart adds to the time the page takes to open)."""
    st.subheader(_("Commits and rollbacks"))
    total = metrics.commits + metrics.rollbacks
    share = metrics.rollbacks / total if total else 0.0
    c1, c2 = st.columns(2)
    c1.metric(_("Commits"), number(metrics.commits))
    c2.metric(
        _("Rollbacks"),
        number(metrics.rollbacks),
        _("{share} of transactions").format(share=percent(share)),
        delta_color="off",
        delta_arrow="off",
    )
    if len(samples) < 2:
        st.caption(_("Since the statistics reset. The rates per second are drawn from the next refresh on."))
        return
    commits, rollbacks = _("commits/s"), _("rollbacks/s")  # the series' names, as the legend shows them
    rates: dict[str, list[float]] = {commits: [], rollbacks: []}
    for before, after in itertools.pairwise(samples):
        seconds = (after["at"] - before["at"]).total_seconds() or float("nan")
        rates[commits].append((after["commits"] - before["commits"]) / seconds)
        rates[rollbacks].append((after["rollbacks"] - before["rollbacks"]) / seconds)
    at = [s["at"] for s in samples[1:]]
    fig = figures.lines(
        dict.fromkeys(rates, at), rates, value_title=_("per second"), title=_("While this page is open")
    )
    st.plotly_chart(fig, key="dashboard_xacts")


def trouble(metrics: Metrics) -> None:
    st.subheader(_("Deadlocks and temp files"))
    c1, c2 = st.columns(2)
    c1.metric(_("Deadlocks"), number(metrics.deadlocks))
    c2.metric(
        _("Temp files"),
        number(metrics.temp_files),
        fmt_bytes(metrics.temp_bytes),
        delta_color="off",
        delta_arrow="off",
    )
    st.caption(_("Since the statistics reset."))
    if metrics.temp_files:
        st.caption(_("Temp files mean sorts or hashes spilled to disk: check work_mem and the Top statements tab."))


def top_statements(metrics: Metrics) -> None:
    st.subheader(_("Top statements by total time"))
    if not metrics.statements_available:
        st.info(metrics.statements_hint or _("pg_stat_statements is not available."))
        return
    if not metrics.top_statements:
        st.info(_("pg_stat_statements has recorded no statements yet."))
        return
    frame = pd.DataFrame(
        [
            {
                "query": s.query,
                "calls": s.calls,
                "total_ms": round(s.total_ms, 1),
                "mean_ms": round(s.mean_ms, 2),
                "rows": s.rows,
                "cache_hit": s.cache_hit_ratio,
            }
            for s in metrics.top_statements
        ]
    )
    fig = figures.hbar(
        [f"#{i + 1} {short_sql(q)}" for i, q in enumerate(frame["query"])],
        frame["total_ms"],
        value_title=_("total_ms"),
        hover={_("calls"): frame["calls"], _("mean_ms"): frame["mean_ms"]},
    )
    st.plotly_chart(fig, key="dashboard_top_chart")
    frame["query"] = [" ".join(q.split()) for q in frame["query"]]
    st.dataframe(
        frame,
        hide_index=True,
        column_config={
            "query": st.column_config.TextColumn(_("query"), width="large"),
            "calls": _("calls"),
            "total_ms": _("total_ms"),
            "mean_ms": _("mean_ms"),
            "rows": _("rows"),
            "cache_hit": st.column_config.ProgressColumn(
                _("cache hit"), min_value=0.0, max_value=1.0, format="percent"
            ),
        },
        key="dashboard_top_table",
    )


st.title(_("Dashboard"))
show_connection(services, conn)
controls = st.columns([2, 1, 3])
interval_label = controls[0].selectbox(
    _("Auto-refresh"),
    list(INTERVALS),
    format_func=_,
    key="dashboard_interval",
    help=_("Reruns only the figures below, not the page."),
)
if controls[1].button(_("Refresh now"), key="dashboard_refresh", icon=":material/refresh:"):
    load_metrics.clear()
    clear_connection_health()


# Lazy tabs: only the open tab runs and is drawn. The figures of the moment open first; the statements and the
# growth charts (three more Plotly charts and a grid, each tens of ms of the page's opening in Chromium) wait to be
# asked for. Tab names stay English (the widget keeps them); the labels are translated where drawn.
tabs = lazy_tabs(
    {"Now": N_("Now"), "Statements": N_("Top statements"), "Growth": N_("Growth over time")}, key="dashboard_tab"
)


@st.fragment(run_every=INTERVALS[interval_label])
def live(part: str) -> None:
    """The part of the open tab ("Now" or "Statements"), rerun alone at the chosen interval."""
    with st.spinner(_("Checking the database…")):
        health = connection_health(services, conn.name)
    if part == "Now":
        with page_part(_("Showing the health checks")):
            health_strip(health)
    if not health.reachable:
        st.error(
            _(
                "Connection {name} cannot be reached; the figures below need it. Check that it runs, then refresh, "
                "or pick another connection in the sidebar."
            ).format(name=escape_markdown(conn.name))
        )
        return
    try:
        with st.spinner(_("Reading the statistics…")):
            metrics = load_metrics(services.database_label, conn.name)
    except Exception as exc:  # shown, never a traceback; the statement timeout bounds the wait
        show_error(exc, action=_("Reading the metrics"))
        return
    samples = remember(metrics)
    line = _("PostgreSQL {version} · up {uptime} · figures at {time}").format(
        version=escape_markdown(metrics.server_version),
        uptime=fmt_duration(metrics.uptime_seconds),
        time=f"{metrics.collected_at.astimezone():%H:%M:%S}",
    )
    if INTERVALS[interval_label]:
        line += " · " + _("refreshing every {interval}").format(interval=interval_label)
    st.caption(line)
    if part == "Statements":
        with page_part(_("Showing the top statements")):
            top_statements(metrics)
        return
    # Each part fails alone (a message in its place); the others still render.
    left, right = st.columns(2)
    with left, page_part(_("Showing the sizes")):
        size(metrics)
    with right, page_part(_("Showing the connections")):
        connections(metrics)
    with page_part(_("Showing the largest tables")):
        largest_tables(metrics)
    left, mid, right = st.columns(3)
    with left, page_part(_("Showing the cache hit ratio")):
        cache_hit(metrics)
    with mid, page_part(_("Showing the transactions")):
        transactions(metrics, samples)
    with right, page_part(_("Showing deadlocks and temp files")):
        trouble(metrics)


# The live part draws a varying number of elements (spinners, an error, or every figure). In one container of its
# own it takes one place in its tab, so nothing after it shifts between reruns and a stale copy of a heading cannot
# stay on screen next to the new one.
for part in ("Now", "Statements"):
    with tabs[part]:
        if tab_open(tabs[part]):
            with st.container(key=f"dashboard_live_{part.lower()}"):
                live(part)

with tabs["Growth"], st.container(key="dashboard_growth_block"), page_part(_("Drawing the growth charts")):
    if tab_open(tabs["Growth"]):
        render_growth_charts(conn, actor=user.username)
    else:  # a snapshot is still taken when due on every open, so the charts fill up without cron
        snapshot_if_due(conn, actor=user.username)
