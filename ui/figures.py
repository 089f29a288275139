"""Plotly figures for the monitoring pages, built from plain lists with ``plotly.graph_objects``.

Plotly Express costs 70-90 ms per chart on this 2-CPU machine (it reshapes a DataFrame and validates every
property one by one), against about 1 ms for the same chart built as graph objects: the dashboard drew six Express
charts and took three times as long as a bare page to open. These builders keep the charts the pages had (bars,
stacked bars, lines, a donut) at the price of graph objects. Streamlit applies its theme to all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import plotly.graph_objects as go

MARGIN = {"l": 10, "r": 10, "t": 30, "b": 10}


def _layout(figure: go.Figure, *, height: int, title: str | None, **layout: Any) -> go.Figure:
    figure.update_layout(
        height=height,
        margin=MARGIN if title else {**MARGIN, "t": 10},
        title=title,
        **layout,
    )
    return figure


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
    figure = go.Figure(
        go.Bar(
            x=list(values),
            y=list(labels),
            orientation="h",
            customdata=customdata,
            hovertemplate=f"%{{y}}<br>{value_title}: %{{x}}{lines}<extra></extra>",
        )
    )
    figure.update_yaxes(categoryorder="total ascending", title=None)
    figure.update_xaxes(title=value_title)
    return _layout(figure, height=height, title=title)


def stacked_hbar(
    labels: Iterable[str],
    parts: Mapping[str, Iterable[float]],
    *,
    value_title: str,
    text: Mapping[str, Iterable[str]] | None = None,
    colors: Mapping[str, str] | None = None,
    title: str | None = None,
    height: int = 340,
) -> go.Figure:
    """Horizontal bars split into named parts (a table's heap, indexes and TOAST; findings per level); ``text`` is
    shown on hover instead of the raw value, ``colors`` fixes a part's colour (ERROR red)."""
    labels = list(labels)
    figure = go.Figure(
        [
            go.Bar(
                name=part,
                x=list(values),
                y=labels,
                orientation="h",
                marker_color=(colors or {}).get(part),
                customdata=list((text or {}).get(part, values)),
                hovertemplate=f"%{{y}}<br>{part}: %{{customdata}}<extra></extra>",
            )
            for part, values in parts.items()
        ]
    )
    figure.update_yaxes(categoryorder="total ascending", title=None)
    figure.update_xaxes(title=value_title)
    return _layout(figure, height=height, title=title, barmode="relative", legend_title_text=None)


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
    figure = go.Figure(go.Bar(x=list(x), y=list(y), marker_color=list(colors) if colors else None))
    figure.update_yaxes(title=value_title)
    figure.update_xaxes(title=None)
    return _layout(figure, height=height, title=title)


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
    figure = go.Figure(traces)
    figure.update_yaxes(title=value_title)
    figure.update_xaxes(title=None)
    return _layout(figure, height=height, title=title, barmode="relative", legend={"font": {"size": 10}})


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
    figure = go.Figure(
        [
            go.Scatter(
                name=name,
                x=list(xs),
                y=list(y_by_series[name]),
                mode="lines+markers" if markers else "lines",
            )
            for name, xs in x_by_series.items()
        ]
    )
    figure.update_yaxes(title=value_title)
    figure.update_xaxes(title=None)
    return _layout(figure, height=height, title=title, showlegend=show_legend and len(x_by_series) > 1)


def donut(names: Iterable[str], values: Iterable[float], *, title: str | None = None, height: int = 300) -> go.Figure:
    """Shares of a whole (client connections by state)."""
    figure = go.Figure(go.Pie(labels=list(names), values=list(values), hole=0.5))
    return _layout(figure, height=height, title=title)


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
    figure = go.Figure(traces)
    figure.update_yaxes(title=value_title)
    figure.update_xaxes(title=None)
    return _layout(figure, height=height, title=title, legend_title_text=None)
