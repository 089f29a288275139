"""What one kind of element adds to a page switch in Chromium, in a bare Streamlit app (issue 17).

Why: a page of this app is over the issue's 2x target by what it draws, not by its sidebar or its Python
(bench/browser_pages_bench.py). This prices the kinds of element the pages are made of, on pages that hold only
that element and a title, so a page's first view can be planned: which parts open with it, which wait in a lazy
tab.

Every page is switched to from the text page and timed as browser_pages_bench.py times a switch (inside the page,
click to the first frame at which the run is over and the title shown). A second figure, "until idle", runs on to
the first moment Chromium's main thread is idle (``requestIdleCallback``): a chart that draws after the run (Plotly,
ECharts) is in that one. Medians of the rounds after an untimed warm-up; the ratio is to the text page (a title and a
line, as the bare app's pages).

Usage: .venv/bin/python bench/page_elements_bench.py [--rounds 7] [--only text,plotly1,...]
Needs /usr/bin/chromium (or DBA_ADMIN_CHROMIUM) and playwright. The app and its temp dir are removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "tests"))
sys.path.insert(2, str(ROOT / "bench"))

import browser_pages_bench as pages_bench  # noqa: E402
from browser_fixtures import VIEWPORT, serve  # noqa: E402

from dba_admin.access import PageSpec  # noqa: E402

BAR = "go.Figure(go.Bar(x=list(range(10)), y=list(range(10))))"
FRAME = "pd.DataFrame({c: range(20) for c in 'abcdef'})"
ECHART = (
    "{'xAxis': {'type': 'category', 'data': [str(j) for j in range(10)]}, 'yAxis': {'type': 'value'},"
    " 'series': [{'type': 'bar', 'data': list(range(10))}], 'tooltip': {}}"
)
# page key -> (what it shows, its body after the title)
PAGES: dict[str, tuple[str, str]] = {
    "text": ("a title and a line (the bare app's page)", "st.write('a line')"),
    "metrics10": (
        "10 st.metric in 5 columns",
        "cols = st.columns(5)\nfor i in range(10): cols[i % 5].metric(f'm{i}', i, i)",
    ),
    "cards18": (
        "18 bordered containers, a line and a caption each",
        "cols = st.columns(3)\nfor i in range(18):\n    with cols[i % 3].container(border=True):\n"
        "        st.markdown(f'**card {i}**')\n        st.caption('what it is for')",
    ),
    "dataframe1": ("1 st.dataframe, 20 rows x 6", f"st.dataframe({FRAME})"),
    "dataframe3": ("3 st.dataframe", f"for i in range(3): st.dataframe({FRAME}, key=f'd{{i}}')"),
    "table1": ("1 st.table, 20 rows x 6", f"st.table({FRAME})"),
    "plotly1": ("1 Plotly bar chart", f"st.plotly_chart({BAR})"),
    "plotly4": ("4 Plotly bar charts", f"for i in range(4): st.plotly_chart({BAR}, key=f'c{{i}}')"),
    "vega4": ("4 st.bar_chart (Vega-Lite)", "for i in range(4): st.bar_chart(pd.DataFrame({'y': range(10)}))"),
    "echarts4": ("4 st.echarts_chart bar charts", f"for i in range(4): st.echarts_chart({ECHART}, key=f'e{{i}}')"),
    "tabs3": ("st.tabs with 3 tabs, a line in each", "for t in st.tabs(['a', 'b', 'c']): t.write('x')"),
}
IDLE_JS = """
() => new Promise(resolve => {
  const t0 = window.__bench.t0;
  setTimeout(() => requestIdleCallback(() => resolve(performance.now() - t0), {timeout: 5000}), 0);
})
"""


def write_app(folder: Path, keys: list[str]) -> tuple[Path, list[PageSpec]]:
    """The bare app of browser_pages_bench.py, its pages replaced by one element kind each."""
    specs = [
        PageSpec(key=k, title=k, section="bench", icon=":material/article:", roles=frozenset(), default=(k == "text"))
        for k in keys
    ]
    main = pages_bench.bare_app(folder, specs)
    for key in keys:
        body = PAGES[key][1]
        (folder / "bare_pages" / f"{key}.py").write_text(
            "import pandas as pd\nimport plotly.graph_objects as go\nimport streamlit as st\n\n"
            f"st.title({key!r})\n{body}\n"
        )
    return main, specs


def measure(rounds: int, keys: list[str]) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    idle: dict[str, list[float]] = {}
    with ExitStack() as stack:
        folder = Path(tempfile.mkdtemp(prefix="dba-admin-bench-elements-"))
        stack.callback(shutil.rmtree, folder, ignore_errors=True)
        main, specs = write_app(folder, keys)
        url = stack.enter_context(serve(main, cwd=folder, env=dict(os.environ), log=folder / "app.log"))
        browser = stack.enter_context(pages_bench._browser())
        context = browser.new_context(viewport=VIEWPORT)
        stack.callback(context.close)
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(url)
        page.wait_for_function("() => document.querySelector('[data-testid=\"stMain\"] h1')", timeout=60_000)
        tab = pages_bench.Tab("elements", page, keys, current="text")
        by_key = {s.key: s for s in specs}
        text = by_key["text"]
        print(f"warm-up round (not timed) over {len(keys)} pages ...", flush=True)
        pages_bench._run_round([tab], pages_bench._plan(specs, None), timed=False)
        for r in range(rounds):
            print(f"round {r + 1}/{rounds} ...", flush=True)
            for key in keys:
                start = text if key != "text" else by_key[keys[1]]
                pages_bench._switch(tab, start, timed=False)
                pages_bench._switch(tab, by_key[key], timed=True)
                idle.setdefault(key, []).append(page.evaluate(IDLE_JS) / 1000)
        return tab.times, idle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--only", default="", help="comma-separated page keys (text is always included)")
    args = parser.parse_args(argv)
    keys = [k for k in PAGES if not args.only or k == "text" or k in args.only.split(",")]
    times, idle = measure(args.rounds, keys)
    base, base_idle = statistics.median(times["text"]), statistics.median(idle["text"])
    print(f"\nmedians of {args.rounds} rounds, ms; ratio to the text page")
    print(f"{'page':<11} {'run over':>9} {'ratio':>6} {'until idle':>11} {'ratio':>6}  shows")
    for key in keys:
        run, rest = statistics.median(times[key]), statistics.median(idle[key])
        figures = f"{run * 1000:9.0f} {run / base:5.2f}x {rest * 1000:11.0f} {rest / base_idle:5.2f}x"
        print(f"{key:<11} {figures}  {PAGES[key][0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
