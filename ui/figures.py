"""Plotly figures for the monitoring pages, built from plain lists with ``plotly.graph_objects``.

Plotly Express costs 70-90 ms per chart on this 2-CPU machine (it reshapes a DataFrame and validates every
property one by one), against about 1 ms for the same chart built as graph objects: the dashboard drew six Express
charts and took three times as long as a bare page to open. These builders keep the charts the pages had (bars,
stacked bars, lines, a donut) at the price of graph objects. Streamlit applies its theme to all of them.

Each figure gets its whole layout in its constructor: ``update_layout``/``update_xaxes`` afterwards walk Plotly's
property paths one by one, 5.0 ms for a stacked bar chart against 2.1 ms built in one go, both validated
(bench/figures_bench.py), and a page drew up to eight of them on every run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import plotly.graph_objects as go

MARGIN = {"l": 10, "r": 10, "t": 30, "b": 10}


def _figure(
    traces: list[Any],
    *,
    height: int,
    title: str | None,
    x_title: str | None = None,
    y_title: str | None = None,
    y_order: str | None = None,
    **layout: Any,
) -> go.Figure:
    """The traces and their whole layout in one constructor (see the module's docstring for why)."""
    axes: dict[str, Any] = {}
    if x_title is not None:
        axes["xaxis"] = {"title": x_title}
    if y_title is not None or y_order is not None:
        axes["yaxis"] = {"title": y_title, "categoryorder": y_order}
    margin = MARGIN if title else {**MARGIN, "t": 10}
    return go.Figure(traces, layout={"height": height, "margin": margin, "title": title, **axes, **layout})


def _custom(extra: Mapping[str, Iterable[Any]] | None) -> tuple[list[list[Any]] | None, str]:
    """customdata rows and the hover lines that show them, one line per extra column (e.g. calls, mean ms)."""
    if not extra:
        return None, ""
    rows = [list(values) for values in zip(*extra.values(), strict=True)]
    return rows, "".join(f"<br>{name}: %{{customdata[{i}]}}" for i, name in enumerate(extra))


def hbar(
    labels: Iterable[str],
    values: Iterable[float],
    *,
    value_title: str,
    title: str | None = None,
    hover: Mapping[str, Iterable[Any]] | None = None,
    height: int = 320,
) -> go.Figure:
    """One horizontal bar per label, the biggest at the top (top statements, biggest tables)."""
    customdata, lines = _custom(hover)
    bar = go.Bar(
        x=list(values),
        y=list(labels),
        orientation="h",
        customdata=customdata,
        hovertemplate=f"%{{y}}<br>{value_title}: %{{x}}{lines}<extra></extra>",
    )
    return _figure([bar], height=height, title=title, x_title=value_title, y_order="total ascending")


def stacked_hbar(
    labels: Iterable[str],
    parts: Mapping[str, Iterable[float]],
    *,
    value_title: str,
    colors: Mapping[str, str] | None = None,
    title: str | None = None,
    height: int = 340,
    legend: Mapping[str, Any] | None = None,
) -> go.Figure:
    """Horizontal bars split into named parts (advisor findings per level on each connection); ``colors`` fixes a
    part's colour (ERROR red), ``legend`` places the legend (across the top for the fleet's narrow column)."""
    labels = list(labels)
    return _figure(
        [
            go.Bar(
                name=part,
                x=list(values),
                y=labels,
                orientation="h",
                marker_color=(colors or {}).get(part),
                hovertemplate=f"%{{y}}<br>{part}: %{{x}}<extra></extra>",
            )
            for part, values in parts.items()
        ],
        height=height,
        title=title,
        x_title=value_title,
        y_order="total ascending",
        barmode="relative",
        legend={"title": {"text": None}, **(legend or {})},
    )


def bars(
    x: Iterable[Any],
    y: Iterable[float],
    *,
    value_title: str,
    colors: Iterable[str] | None = None,
    title: str | None = None,
    height: int = 300,
) -> go.Figure:
    """Vertical bars, one per category (totals, counts, sizes per connection)."""
    bar = go.Bar(x=list(x), y=list(y), marker_color=list(colors) if colors else None)
    return _figure([bar], height=height, title=title, y_title=value_title)


def stacked_bars(
    x_by_series: Mapping[str, Iterable[Any]],
    y_by_series: Mapping[str, Iterable[float]],
    *,
    value_title: str,
    hover: Mapping[str, Mapping[str, Iterable[Any]]] | None = None,
    title: str | None = None,
    height: int = 340,
) -> go.Figure:
    """Vertical bars stacked by series (statement time per day, one colour per statement)."""
    traces = []
    for name, xs in x_by_series.items():
        customdata, lines = _custom((hover or {}).get(name))
        traces.append(
            go.Bar(
                name=name,
                x=list(xs),
                y=list(y_by_series[name]),
                customdata=customdata,
                hovertemplate=f"{name}<br>%{{x}}: %{{y:,.2f}} {value_title}{lines}<extra></extra>",
            )
        )
    return _figure(
        traces, height=height, title=title, y_title=value_title, barmode="relative", legend={"font": {"size": 10}}
    )


def lines(
    x_by_series: Mapping[str, Iterable[Any]],
    y_by_series: Mapping[str, Iterable[float]],
    *,
    value_title: str,
    markers: bool = False,
    title: str | None = None,
    height: int = 300,
    show_legend: bool = True,
) -> go.Figure:
    """One line per series over time (rates while the page is open, sizes per snapshot)."""
    return _figure(
        [
            go.Scatter(
                name=name,
                x=list(xs),
                y=list(y_by_series[name]),
                mode="lines+markers" if markers else "lines",
            )
            for name, xs in x_by_series.items()
        ],
        height=height,
        title=title,
        y_title=value_title,
        showlegend=show_legend and len(x_by_series) > 1,
    )


def donut(names: Iterable[str], values: Iterable[float], *, title: str | None = None, height: int = 300) -> go.Figure:
    """Shares of a whole (runs by role)."""
    return _figure([go.Pie(labels=list(names), values=list(values), hole=0.5)], height=height, title=title)


def points(
    x_by_series: Mapping[str, Iterable[Any]],
    y_by_series: Mapping[str, Iterable[float]],
    *,
    value_title: str,
    hover: Mapping[str, Mapping[str, Iterable[Any]]] | None = None,
    colors: Mapping[str, str] | None = None,
    title: str | None = None,
    height: int = 320,
) -> go.Figure:
    """One dot per event over time, a colour per series (runs by status: succeeded green, failed red)."""
    traces = []
    for name, xs in x_by_series.items():
        customdata, lines = _custom((hover or {}).get(name))
        traces.append(
            go.Scatter(
                name=name,
                x=list(xs),
                y=list(y_by_series[name]),
                mode="markers",
                marker={"size": 9, "color": (colors or {}).get(name)},
                customdata=customdata,
                hovertemplate=f"{name}<br>%{{x}}<br>{value_title}: %{{y:,.3f}}{lines}<extra></extra>",
            )
        )
    return _figure(traces, height=height, title=title, y_title=value_title, legend={"title": {"text": None}})
