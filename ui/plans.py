"""How a plan (EXPLAIN) and an index advice are drawn: shared by the SQL editor and the Statements page, so a DBA
reads them the same way on both. ``key`` prefixes every widget key (the caller's page and result token)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dba_admin.plan import PlanTree
from ui.i18n import _, number, percent
from ui.markdown import escape_markdown


def _plan_styles(frame: pd.DataFrame) -> Any:
    def paint(row: pd.Series) -> list[str]:
        color = "background-color: rgba(255, 75, 75, 0.18)" if row["slow"] else ""
        return [color] * len(row)

    digits = {
        "startup cost": 2,
        "total cost": 2,
        "self cost": 2,
        "est. rows": 0,
        "actual rows": 0,
        "loops": 0,
        "time ms": 3,
        "self ms": 3,
    }
    formats = {column: (lambda v, d=d: number(v, digits=d)) for column, d in digits.items()}  # the reader's separators
    return frame.style.apply(paint, axis=1).format({k: v for k, v in formats.items() if k in frame.columns}, na_rep="")


def _scope(scope: str) -> str:
    """The caption suffix for a run of the selection only; nothing for the whole text."""
    return " · " + _("selection") if scope == "selection" else (f" · {scope}" if scope != "text" else "")


def show_plan(tree: PlanTree, *, key: str, scope: str = "text") -> None:
    """Cost (and time, when analysed) per node as a table with the slowest nodes marked, an icicle, the JSON."""
    analyzed = tree.analyzed
    st.caption(
        (_("EXPLAIN ANALYZE (the statement ran inside a transaction that was rolled back)") if analyzed else "EXPLAIN")
        + _scope(scope)
    )
    cols = st.columns(4)
    cols[0].metric(_("Total cost"), number(tree.total_cost, digits=2))
    cols[1].metric(_("Nodes"), len(tree.nodes))
    if analyzed:
        cols[2].metric(_("Planning"), f"{number(tree.planning_ms or 0, digits=2)} ms")
        cols[3].metric(_("Execution"), f"{number(tree.execution_ms or 0, digits=2)} ms")
    slow = tree.slowest
    if slow:
        share = _("{node} ({share} of the time)") if analyzed else _("{node} ({share} of the cost)")
        st.markdown(
            _("**Slowest:** {nodes}").format(
                nodes="; ".join(
                    share.format(node=escape_markdown(n.label), share=percent(n.share, digits=0)) for n in slow
                )
            )
        )
    frame = tree.to_frame()
    config: dict[str, Any] = {
        "id": None,
        "parent": None,
        "slow": None,
        "node": st.column_config.Column(_("node")),
        "startup cost": st.column_config.Column(_("startup cost")),
        "total cost": st.column_config.Column(_("total cost")),
        "est. rows": st.column_config.Column(_("est. rows")),
        "actual rows": st.column_config.Column(_("actual rows")),
        "loops": st.column_config.Column(_("loops")),
        "time ms": st.column_config.Column(_("time ms")),
        "self ms": st.column_config.Column(_("self ms")),
        "self cost": st.column_config.Column(_("self cost")),
        "detail": st.column_config.Column(_("detail")),
        "share": st.column_config.ProgressColumn(
            _("share"),
            help=_("own time (or cost) as a part of the whole"),
            min_value=0.0,
            max_value=1.0,
            format="percent",
        ),
    }
    st.dataframe(_plan_styles(frame), column_config=config, hide_index=True, width="stretch", key=f"{key}_plan")
    values = [(n.exclusive_ms or 0.0) if analyzed else n.exclusive_cost for n in tree.nodes]
    if sum(values) > 0:
        fig = go.Figure(
            go.Icicle(
                ids=[str(n.id) for n in tree.nodes],
                labels=[n.label for n in tree.nodes],
                parents=["" if n.parent_id is None else str(n.parent_id) for n in tree.nodes],
                values=values,
                branchvalues="remainder",
                tiling={"orientation": "v"},  # the root on top, children below: how a plan reads
                marker={"colors": ["#ff4b4b" if n.slow else "#8fb5e8" for n in tree.nodes]},
                hovertemplate="%{label}<br>own: %{value:.2f}<extra></extra>",
            )
        )
        fig.update_layout(
            margin={"l": 0, "r": 0, "t": 24, "b": 0},
            height=320,
            title=_("own time (ms) by node") if analyzed else _("own cost by node"),
        )
        st.plotly_chart(fig, width="stretch", key=f"{key}_icicle")
    with st.expander(_("Plan JSON")):
        st.json(dict(tree.raw), expanded=False)


def show_index_advice(
    advice: dict[str, Any],
    *,
    key: str,
    scope: str = "text",
    use_label: str | None = None,
    on_use: Callable[[str], None] | None = None,
    use_help: str | None = None,
) -> None:
    """An IndexAdvice's JSON (``to_json()``): cost now, each candidate's cost after and gain, proven or not, and the
    CREATE INDEX of the proven ones (or of the first), each with an optional button that hands it to ``on_use``."""
    rows = advice["candidates"]
    proven = [r for r in rows if r["proven"]]
    st.caption(_("Index advice") + _scope(scope))
    cols = st.columns(3)
    cols[0].metric(_("Cost now"), number(advice["cost_before"], digits=2))
    cols[1].metric(_("Candidates"), len(rows))
    cols[2].metric(_("Proven"), len(proven) if advice["hypopg"] else "—")
    if proven:
        st.success(escape_markdown(advice["note"]), icon=":material/verified:")
    elif advice["hypopg"]:
        st.info(escape_markdown(advice["note"]))
    else:
        st.warning(escape_markdown(advice["note"]))
    if not rows:
        return
    frame = pd.DataFrame(
        [
            {
                "table": r["table"],
                "columns": ", ".join(r["columns"]),
                "cost before": r["cost_before"],
                "cost after": r["cost_after"],
                "gain": (1 - r["cost_after"] / r["cost_before"])
                if r["cost_after"] is not None and r["cost_before"]
                else None,
                "proven": r["proven"],
                "why": r["reason"],
            }
            for r in rows
        ]
    )
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        placeholder="—",  # no cost after: unproven (no hypopg here)
        column_config={
            "table": st.column_config.Column(_("table")),
            "columns": st.column_config.Column(_("columns")),
            "cost before": st.column_config.NumberColumn(_("cost before")),
            "cost after": st.column_config.NumberColumn(_("cost after")),
            "gain": st.column_config.ProgressColumn(_("gain"), min_value=0.0, max_value=1.0, format="percent"),
            "proven": st.column_config.CheckboxColumn(_("proven")),
            "why": st.column_config.Column(_("why")),
        },
        key=f"{key}_advice",
    )
    for i, r in enumerate(proven or rows[:1]):
        st.code(r["create_sql"], language="sql")
        if use_label and on_use is not None:
            st.button(use_label, key=f"{key}_use_{i}", on_click=on_use, args=(r["create_sql"],), help=use_help)
