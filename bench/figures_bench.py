"""Building a Plotly figure: its layout in the constructor (ui/figures.py) against update_* calls afterwards (issue 17).

The same chart both ways, both validated by plotly: a stacked horizontal bar of 3 parts x 10 tables (the chart the
dashboard drew before its grid) and a bar chart of 30 days. The baseline is the way ui/figures.py built them before:
``go.Figure(traces)`` then ``update_yaxes``, ``update_xaxes`` and ``update_layout``. Median of --runs builds each,
after a warm-up, the two ways alternating.

Usage: .venv/bin/python bench/figures_bench.py [--runs 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import plotly.graph_objects as go

from ui import figures

LABELS = [f"public.table_{i}" for i in range(10)]
PARTS = {"table": list(range(10, 20)), "indexes": list(range(10)), "toast / other": [1] * 10}
DAYS = [f"2026-11-{d:02d}" for d in range(1, 31)]
MARGIN = {"l": 10, "r": 10, "t": 30, "b": 10}


def stacked_updates() -> go.Figure:
    figure = go.Figure([go.Bar(name=p, x=v, y=LABELS, orientation="h") for p, v in PARTS.items()])
    figure.update_yaxes(categoryorder="total ascending", title=None)
    figure.update_xaxes(title="bytes")
    figure.update_layout(height=340, margin=MARGIN, title="Largest tables", barmode="relative", legend_title_text=None)
    return figure


def stacked_constructor() -> go.Figure:
    return figures.stacked_hbar(LABELS, PARTS, value_title="bytes", title="Largest tables")


def bars_updates() -> go.Figure:
    figure = go.Figure(go.Bar(x=DAYS, y=list(range(30))))
    figure.update_yaxes(title="runs")
    figure.update_xaxes(title=None)
    figure.update_layout(height=300, margin=MARGIN, title="Runs per day")
    return figure


def bars_constructor() -> go.Figure:
    return figures.bars(DAYS, list(range(30)), value_title="runs", title="Runs per day")


def time_once(build: Callable[[], Any], times: list[float]) -> None:
    """Append the time of one build, in ms."""
    started = time.perf_counter()
    build()
    times.append((time.perf_counter() - started) * 1000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args(argv)
    cases = {
        "stacked hbar, 3 x 10": (stacked_updates, stacked_constructor),
        "bars, 30 days": (bars_updates, bars_constructor),
    }
    print(f"{'figure':<22} {'update_* ms':>12} {'constructor ms':>15} {'ratio':>6}")
    for name, (before, after) in cases.items():
        before(), after()  # warm-up: plotly's validators are built on first use
        old: list[float] = []
        new: list[float] = []
        for _ in range(args.runs):
            time_once(before, old)
            time_once(after, new)
        b, a = statistics.median(old), statistics.median(new)
        print(f"{name:<22} {b:12.2f} {a:15.2f} {a / b:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
