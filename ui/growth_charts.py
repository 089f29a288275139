"""Growth over time for the dashboard: database size, the biggest tables, statement time per day (Plotly).

Opening the dashboard takes a snapshot when the newest is over an hour old (the core's rule, safe with several
app servers), so the charts fill up even without cron; cron (`dba-admin snapshot`) makes the points regular.
Every chart has an empty state that says what it is waiting for, because the first days of a new install
have one snapshot or none, and a blank chart reads like a failure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from dba_admin.advisors import database_size_history, statement_time_by_day, table_size_history, take_snapshot_if_due
from dba_admin.errors import ConfigError, DbaAdminError
from ui import figures
from ui.i18n import _, ngettext, number
from ui.markdown import escape_markdown
from ui.session import show_error

if TYPE_CHECKING:
    from dba_admin.database import DatabaseManager

KEY = "dashboard_growth"  # session keys of this block (it lives on the dashboard page)
PERIODS = (7, 30, 90)  # days; shown as "7 days" in the reader's language
MB = 1024 * 1024


def snapshot_if_due(db: DatabaseManager, *, actor: str | None = None) -> bool:
    """Take a snapshot of ``db`` when the newest is over an hour old, and say so. The dashboard calls it on every
    open, also while its growth tab is closed, so the charts fill up without cron. False when the snapshot tables
    are missing (said as such: the charts cannot draw either)."""
    try:
        taken = take_snapshot_if_due(db, actor=actor)
    except ConfigError as exc:
        st.info(_("Growth charts need the snapshot tables: {error}").format(error=escape_markdown(exc)))
        return False
    except DbaAdminError as exc:  # e.g. a lost connection (a QueryError); the charts still draw
        show_error(exc, action=_("Taking a snapshot"))
        return True
    if taken is not None:
        st.caption(
            _("Snapshot taken now ({tables} tables, {statements} statements recorded).").format(
                tables=number(taken.tables), statements=number(taken.statements)
            )
        )
    return True


def render_growth_charts(db: DatabaseManager, *, actor: str | None = None, take_snapshot: bool = True) -> None:
    """Take a snapshot of the connection ``db`` when one is due, then draw its three growth charts (or say why one
    is empty). The snapshots are kept in the workspace, per connection. ``take_snapshot=False`` draws what is stored
    without adding a point.
    """
    st.subheader(_("Growth over time"))
    if take_snapshot and not snapshot_if_due(db, actor=actor):
        return
    period = st.segmented_control(
        _("Period"),
        list(PERIODS),
        default=30,
        key=f"{KEY}_period",
        label_visibility="collapsed",
        format_func=lambda n: ngettext("{count} day", "{count} days", n).format(count=n),
    )
    days = period or 30
    try:
        sizes = database_size_history(db, days=days)
        tables = table_size_history(db, days=days, top=10)
        statements = statement_time_by_day(db, days=days, top=8)
    except ConfigError as exc:
        st.info(_("Growth charts need the snapshot tables: {error}").format(error=escape_markdown(exc)))
        return
    except DbaAdminError as exc:  # a message, never a traceback on the dashboard
        show_error(exc, action=_("Reading the snapshots"))
        return
    _database_size(sizes)
    _biggest_tables(tables, len(sizes))
    _statement_time(statements, len(sizes))


def _database_size(sizes: pd.DataFrame) -> None:
    st.markdown(_("**Database size**"))
    if sizes.empty:
        st.info(
            _(
                "No snapshot yet in this period: the first one is taken when the dashboard opens; run "
                "`dba-admin snapshot` from cron (e.g. hourly) for regular points."
            )
        )
        return
    frame = sizes.assign(size_mb=sizes["database_size_bytes"].astype(float) / MB)
    if len(frame) == 1:
        st.metric(_("Database size now"), f"{number(frame['size_mb'].iloc[-1], digits=1)} MB")
        st.info(
            _(
                "One snapshot so far — growth appears after the next one; run `dba-admin snapshot` from cron (e.g. "
                "hourly) for regular points."
            )
        )
        return
    first, last = frame["size_mb"].iloc[0], frame["size_mb"].iloc[-1]
    change = ("+" if last >= first else "-") + number(abs(last - first), digits=1)
    st.metric(
        _("Database size now"),
        f"{number(last, digits=1)} MB",
        _("{change} MB in the period").format(change=change),
    )
    figure = figures.lines(
        {_("size"): frame["taken_at"]}, {_("size"): frame["size_mb"]}, value_title="MB", markers=True, height=280
    )
    st.plotly_chart(figure, width="stretch", key=f"{KEY}_database")


def _biggest_tables(tables: pd.DataFrame, snapshots: int) -> None:
    st.markdown(_("**Biggest tables**"))
    if tables.empty:
        st.info(_("No table sizes recorded yet: they come with the first snapshot."))
        return
    frame = tables.assign(size_mb=tables["total_bytes"].astype(float) / MB)
    if snapshots < 2 or frame["taken_at"].nunique() < 2:
        latest = frame[frame["taken_at"] == frame["taken_at"].max()].sort_values("size_mb")
        figure = figures.hbar(latest["table"], latest["size_mb"], value_title="MB", height=320)
        st.plotly_chart(figure, width="stretch", key=f"{KEY}_tables")
        st.caption(_("Sizes at the only snapshot so far; their growth appears after the next snapshot."))
        return
    by_table = {str(name): part for name, part in frame.groupby("table", sort=False)}
    figure = figures.lines(
        {name: part["taken_at"] for name, part in by_table.items()},
        {name: part["size_mb"] for name, part in by_table.items()},
        value_title="MB",
        markers=True,
        height=340,
    )
    st.plotly_chart(figure, width="stretch", key=f"{KEY}_tables")


def _statement_time(statements: pd.DataFrame, snapshots: int) -> None:
    st.markdown(_("**Statement time per day**"))
    if statements.empty:
        if snapshots < 2:
            st.info(
                _(
                    "Statement time needs two snapshots with pg_stat_statements (the first is the baseline the next "
                    "is compared with); run `dba-admin snapshot` from cron (e.g. hourly) for regular points."
                )
            )
        else:
            st.info(
                _(
                    "No statement time recorded: pg_stat_statements is not available in this database, or nothing "
                    "ran between the snapshots. The Advisors page says how to enable pg_stat_statements."
                )
            )
        return
    frame = statements.assign(
        seconds=statements["total_exec_ms"].astype(float) / 1000,
        statement=statements["query"].map(_short),
    )
    by_statement = {str(name): part for name, part in frame.groupby("statement", sort=False)}
    figure = figures.stacked_bars(
        {name: part["day"] for name, part in by_statement.items()},
        {name: part["seconds"] for name, part in by_statement.items()},
        value_title=_("seconds"),
        hover={name: {_("calls"): [number(c) for c in part["calls"]]} for name, part in by_statement.items()},
    )
    st.plotly_chart(figure, width="stretch", key=f"{KEY}_statements")


def _short(query: object, width: int = 60) -> str:
    text = " ".join(str(query or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"
