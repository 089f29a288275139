"""The SQL editor's chart builder: a Plotly figure from a result, a chart type and column names.

Validation lives here, not in the page, so "this column is not numeric" is a plain message the page shows and
a tested rule. PostgreSQL numeric arrives as Decimal in an object column; such columns count as numeric and
are converted to float for plotting only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from dba_admin.errors import DbaAdminError

__all__ = ["CHART_TYPES", "ChartError", "ChartSpec", "build_figure", "column_roles", "default_spec"]

CHART_TYPES = ("bar", "line", "scatter", "pie", "histogram")
MAX_PIE_SLICES = 50


class ChartError(DbaAdminError):
    """The chosen chart cannot be drawn from this result; the message says which choice to change."""


@dataclass(frozen=True)
class ChartSpec:
    kind: str
    x: str
    y: str | None = None  # bar/pie: None counts rows per x
    color: str | None = None


def _is_numeric(series: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(series):
        return False
    if pd.api.types.is_numeric_dtype(series):
        return True
    if series.dtype == object:
        values = series.dropna()
        return bool(len(values)) and all(
            isinstance(v, int | float | Decimal) and not isinstance(v, bool) for v in values
        )
    return False


def _is_temporal(series: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    if series.dtype == object:
        values = series.dropna()
        return bool(len(values)) and all(isinstance(v, dt.date) for v in values)
    return False


def column_roles(frame: pd.DataFrame) -> dict[str, str]:
    """Each column as 'numeric', 'temporal' or 'category', which the page uses to offer sensible choices."""
    roles = {}
    for col in frame.columns:
        series = frame[col]
        roles[str(col)] = "numeric" if _is_numeric(series) else "temporal" if _is_temporal(series) else "category"
    return roles


def default_spec(frame: pd.DataFrame) -> ChartSpec | None:
    """A first guess the builder starts from: a temporal or category x and the first numeric y."""
    if frame.empty or not len(frame.columns):
        return None
    roles = column_roles(frame)
    numeric = [c for c, r in roles.items() if r == "numeric"]
    temporal = [c for c, r in roles.items() if r == "temporal"]
    category = [c for c, r in roles.items() if r == "category"]
    if temporal and numeric:
        return ChartSpec("line", temporal[0], numeric[0])
    if category and numeric:
        return ChartSpec("bar", category[0], numeric[0])
    if len(numeric) >= 2:
        return ChartSpec("scatter", numeric[0], numeric[1])
    if numeric:
        return ChartSpec("histogram", numeric[0])
    return ChartSpec("bar", str(frame.columns[0]))


def _plot_frame(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    data = frame[columns].copy()
    for col in columns:
        if data[col].dtype == object and _is_numeric(data[col]):
            data[col] = pd.to_numeric(data[col].map(lambda v: None if v is None else float(v)))
        elif data[col].dtype == object and not _is_temporal(data[col]):
            # lists, dicts, UUIDs...: plot their text
            data[col] = data[col].map(lambda v: v if v is None or isinstance(v, str) else str(v))
    return data


def build_figure(frame: pd.DataFrame, spec: ChartSpec, *, title: str | None = None) -> go.Figure:
    """The figure for ``spec``; ChartError when a column is missing or the wrong kind for the chart."""
    if spec.kind not in CHART_TYPES:
        raise ChartError(f"unknown chart type {spec.kind!r}; choose one of {', '.join(CHART_TYPES)}")
    if frame.empty:
        raise ChartError("the result has no rows to chart")
    roles = column_roles(frame)
    for name in (spec.x, spec.y, spec.color):
        if name is not None and name not in roles:
            raise ChartError(f"the result has no column {name!r}")
    if spec.kind in ("line", "scatter") and spec.y is None:
        raise ChartError(f"a {spec.kind} chart needs a Y column")
    if spec.y is not None and roles[spec.y] != "numeric":
        raise ChartError(f"Y must be a numeric column; {spec.y!r} is {roles[spec.y]}")
    if spec.kind == "pie" and frame[spec.x].nunique(dropna=False) > MAX_PIE_SLICES:
        raise ChartError(f"{spec.x!r} has more than {MAX_PIE_SLICES} distinct values: too many slices; use a bar chart")

    columns = list(dict.fromkeys(c for c in (spec.x, spec.y, spec.color) if c is not None))
    data = _plot_frame(frame, columns)
    kwargs: dict[str, Any] = {"title": title}
    if spec.kind == "bar":
        if spec.y is None:
            counts = data.groupby([c for c in (spec.x, spec.color) if c], dropna=False).size().reset_index(name="rows")
            fig = px.bar(counts, x=spec.x, y="rows", color=spec.color, **kwargs)
        else:
            fig = px.bar(data, x=spec.x, y=spec.y, color=spec.color, **kwargs)
    elif spec.kind == "line":
        fig = px.line(data.sort_values(spec.x), x=spec.x, y=spec.y, color=spec.color, markers=True, **kwargs)
    elif spec.kind == "scatter":
        fig = px.scatter(data, x=spec.x, y=spec.y, color=spec.color, **kwargs)
    elif spec.kind == "pie":
        if spec.y is None:
            counts = data.groupby(spec.x, dropna=False).size().reset_index(name="rows")
            fig = px.pie(counts, names=spec.x, values="rows", **kwargs)
        else:
            fig = px.pie(data, names=spec.x, values=spec.y, **kwargs)
    else:
        fig = px.histogram(data, x=spec.x, y=spec.y, color=spec.color, **kwargs)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10})
    return fig
