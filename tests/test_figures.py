"""ui/figures.py: the graph-object charts of the monitoring pages carry their data and their hover details."""

from __future__ import annotations

import datetime as dt

from ui import figures


def test_hbar_shows_the_extra_columns_on_hover() -> None:
    fig = figures.hbar(["#1 select", "#2 update"], [30.0, 12.5], value_title="total_ms", hover={"calls": [3, 9]})
    (bar,) = fig.data
    assert list(bar.x) == [30.0, 12.5] and bar.orientation == "h"
    assert [list(row) for row in bar.customdata] == [[3], [9]]
    assert "calls: %{customdata[0]}" in bar.hovertemplate and "total_ms: %{x}" in bar.hovertemplate


def test_stacked_bars_keep_one_trace_per_series_with_its_own_hover() -> None:
    days = [dt.date(2026, 11, 27), dt.date(2026, 11, 28)]
    fig = figures.stacked_bars(
        {"a": days, "b": days[1:]},
        {"a": [1.0, 2.0], "b": [4.0]},
        value_title="seconds",
        hover={"a": {"calls": ["1", "2"]}, "b": {"calls": ["7"]}},
    )
    assert fig.layout.barmode == "relative"
    assert [(t.name, list(t.y)) for t in fig.data] == [("a", [1.0, 2.0]), ("b", [4.0])]
    assert [list(r) for r in fig.data[1].customdata] == [["7"]]


def test_points_and_parts_take_their_colours() -> None:
    fig = figures.points(
        {"failed": [dt.datetime(2026, 11, 29, 1)]}, {"failed": [0.5]}, value_title="s", colors={"failed": "#d62728"}
    )
    assert fig.data[0].marker.color == "#d62728" and fig.data[0].mode == "markers"
    parts = figures.stacked_hbar(["db1"], {"ERROR": [2], "WARN": [0]}, value_title="findings", colors={"ERROR": "red"})
    assert [t.marker.color for t in parts.data] == ["red", None]
    assert not figures.lines({"size": [1, 2]}, {"size": [3, 4]}, value_title="MB").layout.showlegend
