"""Page switches in Chromium: every page of the app's sidebar against a bare Streamlit app, in one run (issue 17).

Targets (issue 17): every page switch <= 2x the bare app's; the median <= 1.2x.

What runs:

* the real app, ``python -m streamlit run app.py``, on a throwaway embedded workspace with the PetCare demo
  (DBA_ADMIN_DATA_DIR points at it, DATABASE_URL is unset), logged in as a throwaway admin so every sidebar page
  is listed;
* a bare Streamlit app written to a temp dir: ``st.navigation`` over as many pages as the app's sidebar, with the
  same titles, icons and URL paths, linked from the sidebar with ``st.page_link`` as app.py does; each page is a
  title and a line of text;
* one headless Chromium (Debian's, via Playwright, with the tests' flags), one tab per app.

What is timed: a click on a sidebar link, to "the page has finished its run". Both ends are taken inside the page
(``performance.now()``), so Playwright's round trips are not in the figure:

* start: the ``click`` event reaching the document (a capturing listener armed just before the click);
* end: the first animation frame at which, and still at the next one,
  - the URL's path is the link's path,
  - Streamlit's script state is ``notRunning`` (the ``data-test-script-state`` attribute of ``stApp``, which
    Streamlit's own end-to-end tests wait on), and
  - the page's main content is there: ``stMain`` holds the page's title (its ``h1``, read once in the warm-up).

Streamlit's status widget (``stStatusWidget``) is not used as the signal: it appears only after a run has lasted
500 ms and fades out over 200 ms after the run ends (streamlit 1.67's frontend), so it would miss short runs and
add 200 ms to long ones. Nothing is waited for with a fixed pause while timing; the end is found by polling on
animation frames. Charts that Plotly draws after the run are not included: the run is what this app controls.

The same switches are also printed as Playwright sees them (from the click call until it has seen the end), a
secondary view that includes the harness's fixed cost, as the issue's first figures (taken from outside the page)
did, and as a "first view": from the click to the first frame showing the page's title, its run perhaps still
going (what the issue calls the first paint). The targets are judged on the in-page figure of the finished run.

Order: the links are clicked in sidebar order (each switch goes from the page above), ending on Home; the app and
the bare app take turns at each step (which one goes first alternates by round), so both see the same noise. A
warm-up round is run first and not timed, so a page module's first import and the first fill of the data caches
do not count; the timed rounds then see the caches as a person switching pages does. ``--pages`` times a subset:
each is then reached from Home (Home from the first other page), with that move not timed.

``--before REV`` serves app.py of that git revision too (a temporary detached worktree, on the same workspace,
logged in as the same admin) in a third tab that takes its turn at each step, so one run gives before, after and
the bare app side by side.

Usage: .venv/bin/python bench/browser_pages_bench.py [--rounds 5] [--pages dashboard,activity] [--json out.json]
       [--before REV]
Needs /usr/bin/chromium (or DBA_ADMIN_CHROMIUM) and playwright. Every process and temp dir started here is stopped
and removed at the end, also on Ctrl+C.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "tests"))  # the browser tests' Chromium flags and login helper

import psycopg  # noqa: E402
from benchlib import checkout, throwaway_server  # noqa: E402
from browser_fixtures import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, serve  # noqa: E402
from test_browser import log_in  # noqa: E402

from dba_admin.access import PageSpec, pages_by_section  # noqa: E402
from dba_admin.auth import UserStore  # noqa: E402
from dba_admin.bootstrap import prepare_database  # noqa: E402
from dba_admin.config import Settings  # noqa: E402

PAGE_RATIO_TARGET = 2.0
MEDIAN_RATIO_TARGET = 1.2
PASSWORD = "bench-password-1"  # noqa: S105 - a throwaway user in a throwaway database
SWITCH_TIMEOUT_MS = 60_000

# Armed before each click; resolves window.__bench.done when the page has finished its run (see the docstring).
ARM_JS = """
([targetPath, title]) => {
  const norm = p => p.replace(/\\/+$/, '') || '/';
  const state = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app ? app.getAttribute('data-test-script-state') : null;
  };
  const b = {t0: null, t1: null, tTitle: null, sawRun: false, done: false};
  window.__bench = b;
  document.addEventListener('click', () => { if (b.t0 === null) b.t0 = performance.now(); },
                            {capture: true, once: true});
  const obs = new MutationObserver(() => { if (b.t0 !== null && state() !== 'notRunning') b.sawRun = true; });
  obs.observe(document.body, {attributes: true, subtree: true, attributeFilter: ['data-test-script-state']});
  const titleShown = () => {
    if (norm(location.pathname) !== norm(targetPath)) return false;
    if (!title) return true;
    return [...document.querySelectorAll('[data-testid="stMain"] h1')].some(h => h.textContent.includes(title));
  };
  const finished = () => state() === 'notRunning' && titleShown();
  let candidate = null;
  const tick = () => {
    if (b.t0 !== null) {
      if (b.tTitle === null && titleShown()) b.tTitle = performance.now();
      if (finished()) {
        if (candidate === null) candidate = performance.now();
        else { b.t1 = candidate; b.done = true; obs.disconnect(); return; }
      } else {
        candidate = null;
      }
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}
"""

# The warm-up's end of a switch (no title known yet): the URL, then the script state, with settling pauses.
MAIN_TITLE_JS = """
() => { const h = document.querySelector('[data-testid="stMain"] h1'); return h ? h.textContent.trim() : ''; }
"""


DIAGNOSE_JS = """
() => ({bench: window.__bench, path: location.pathname,
        state: document.querySelector('[data-testid="stApp"]')?.getAttribute('data-test-script-state'),
        h1: [...document.querySelectorAll('[data-testid="stMain"] h1')].map(h => h.textContent)})
"""


@dataclass
class Tab:
    """One app in one browser tab: its sidebar links by page key, and the title each page shows."""

    name: str
    page: Any
    keys: list[str]
    titles: dict[str, str] = field(default_factory=dict)
    times: dict[str, list[float]] = field(default_factory=dict)
    # The same switches as Playwright sees them: from the click call until it has seen the end (its actionability
    # checks and round trips to the browser included), closer to how the first figures were taken.
    outside: dict[str, list[float]] = field(default_factory=dict)
    # From the click to the first frame showing the page's title, the run perhaps still going: when a person sees
    # the page arrive (the issue's "first paint"), printed beside the targets' figure, not instead of it.
    title_shown: dict[str, list[float]] = field(default_factory=dict)
    missed_running: int = 0  # switches whose 'running' state was never rendered (kept as a diagnostic)
    current: str = "home"

    def link(self, key: str, label: str) -> Any:
        return self.page.locator('[data-testid="stSidebar"]').get_by_role("link", name=label)


def bare_app(folder: Path, specs: list[PageSpec]) -> Path:
    """Write the bare app: the same navigation shape as app.py, trivial pages."""
    pages = folder / "bare_pages"
    pages.mkdir()
    for spec in specs:
        (pages / f"{spec.key}.py").write_text(
            f"import streamlit as st\n\nst.title({spec.title!r})\nst.write('A bare page: a title and a line.')\n"
        )
    entries = ",\n    ".join(
        f"{spec.key!r}: st.Page({f'bare_pages/{spec.key}.py'!r}, title={spec.title!r}, icon={spec.icon!r},"
        f" url_path={spec.url_path!r}, default={spec.default!r})"
        for spec in specs
    )
    main = folder / "bare_app.py"
    main.write_text(
        textwrap.dedent(
            """\
            import streamlit as st

            st.set_page_config(page_title="Bare", layout="wide")
            registered = {
                ENTRIES
            }
            current = st.navigation(list(registered.values()), position="hidden")
            with st.sidebar:
                st.markdown("### Bare app")
                for page in registered.values():
                    st.page_link(page)
            current.run()
            """
        ).replace("ENTRIES", entries)
    )
    return main


def _switch(tab: Tab, spec: PageSpec, *, timed: bool) -> None:
    """Click the link of ``spec`` in ``tab`` and wait until the page has finished its run; record the time."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page = tab.page
    link = tab.link(spec.key, spec.title)
    # Not the link's href: the default page's link has an empty one (the current URL, whatever page that is).
    target = "/" if spec.default else f"/{spec.url_path}"
    page.evaluate(ARM_JS, [target, tab.titles.get(spec.key, "")])
    clicked = time.perf_counter()
    link.click()
    if spec.key in tab.titles:
        try:
            page.wait_for_function("() => window.__bench.done", polling="raf", timeout=SWITCH_TIMEOUT_MS)
            seen_done = time.perf_counter() - clicked
        except PlaywrightTimeout:
            seen = page.evaluate(DIAGNOSE_JS)
            raise RuntimeError(
                f"{tab.name}: {spec.key} ({target}, title {tab.titles[spec.key]!r}) never finished: {seen}"
            ) from None
        result = page.evaluate(
            "() => ({ms: window.__bench.t1 - window.__bench.t0, title: window.__bench.tTitle - window.__bench.t0,"
            " sawRun: window.__bench.sawRun})"
        )
        if timed:
            tab.times.setdefault(spec.key, []).append(result["ms"] / 1000)
            tab.title_shown.setdefault(spec.key, []).append(result["title"] / 1000)
            tab.outside.setdefault(spec.key, []).append(seen_done)
            tab.missed_running += not result["sawRun"]
    else:  # warm-up, first visit: fixed pauses are fine here; read the page's title for the timed rounds
        for attempt in range(3):  # a click during a rerun (after the login: the cookie's) can be lost
            try:
                page.wait_for_function(
                    "(p) => location.pathname.replace(/\\/+$/, '') === p.replace(/\\/+$/, '')",
                    arg=target,
                    timeout=20_000,
                )
                break
            except PlaywrightTimeout:
                print(f"  {tab.name}: still at {page.url} after clicking {spec.title!r} ({target}); again")
                if attempt == 2:
                    raise
                link.click()
        for _ in range(2):
            page.wait_for_timeout(600)
            page.wait_for_function(
                "() => document.querySelector('[data-testid=\"stApp\"]')"
                ".getAttribute('data-test-script-state') === 'notRunning'",
                timeout=SWITCH_TIMEOUT_MS,
            )
        if page.locator('[data-testid="stException"]').count():
            print(f"  note: {tab.name}/{spec.key} shows an exception")
        tab.titles[spec.key] = page.evaluate(MAIN_TITLE_JS)
    tab.current = spec.key


def _plan(specs: list[PageSpec], wanted: list[str] | None) -> list[tuple[PageSpec, bool]]:
    """The clicks of one round: (page, timed). All pages in sidebar order ending on Home, or each wanted one
    reached from Home (Home from the first other page) with that move untimed."""
    by_key = {s.key: s for s in specs}
    home = next(s for s in specs if s.default) if any(s.default for s in specs) else specs[0]
    if wanted is None:
        others = [s for s in specs if s is not home]
        return [(s, True) for s in [*others, home]]
    plan: list[tuple[PageSpec, bool]] = []
    for key in wanted:
        spec = by_key[key]
        start = home if spec is not home else next(s for s in specs if s is not home)
        plan += [(start, False), (spec, True)]
    return plan


def _run_round(tabs: list[Tab], plan: list[tuple[PageSpec, bool]], *, timed: bool) -> None:
    for spec, timed_step in plan:
        for tab in tabs:
            if tab.current == spec.key:  # already there (a subset's start): nothing to click
                continue
            _switch(tab, spec, timed=timed and timed_step)


@contextmanager
def _browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _workspace(stack: ExitStack) -> tuple[Path, str]:
    """The throwaway embedded workspace with the demo; returns (data dir, workspace DSN)."""
    data_dir, _ = stack.enter_context(throwaway_server("dba-admin-bench-browser-", fast=True))
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("READONLY_DATABASE_URL", None)
    prepared = prepare_database(Settings(data_dir=data_dir, load_demo=True))
    return data_dir, prepared.dsn


def _admin(dsn: str) -> str:
    username = f"bench{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        UserStore(conn).create_user(
            actor="bench", username=username, email=f"{username}@example.com", role="admin", password=PASSWORD
        )
    return username


def measure(rounds: int, wanted: list[str] | None, before: str | None = None) -> tuple[list[PageSpec], list[Tab]]:
    with ExitStack() as stack:
        scratch = Path(tempfile.mkdtemp(prefix="dba-admin-bench-browser-apps-"))
        stack.callback(shutil.rmtree, scratch, ignore_errors=True)
        data_dir, dsn = _workspace(stack)
        specs = [s for specs in pages_by_section("admin").values() for s in specs if (ROOT / s.file).is_file()]
        if wanted is not None:
            unknown = sorted(set(wanted) - {s.key for s in specs})
            if unknown:
                raise SystemExit(f"not sidebar pages of an admin: {', '.join(unknown)}")
        username = _admin(dsn)
        app_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "READONLY_DATABASE_URL")}
        app_env["DBA_ADMIN_DATA_DIR"] = str(data_dir)
        app_url = stack.enter_context(serve(ROOT / "app.py", cwd=ROOT, env=app_env, log=scratch / "app.log"))
        bare = bare_app(scratch, specs)
        bare_url = stack.enter_context(serve(bare, cwd=scratch, env=app_env, log=scratch / "bare.log"))
        urls = {"app": app_url, "bare": bare_url}
        if before:
            tree = stack.enter_context(checkout(before))
            before_env = {**app_env, "PYTHONPATH": str(tree)}
            urls["before"] = stack.enter_context(
                serve(tree / "app.py", cwd=tree, env=before_env, log=scratch / "before.log")
            )
        browser = stack.enter_context(_browser())
        tabs = []
        for name in urls:
            context = browser.new_context(viewport=VIEWPORT)
            stack.callback(context.close)
            page = context.new_page()
            page.set_default_timeout(60_000)
            tabs.append(Tab(name, page, [s.key for s in specs]))
        bare_tab = tabs[1]
        for tab in tabs:
            if tab is not bare_tab:
                log_in(tab.page, urls[tab.name], username, PASSWORD)
        bare_tab.page.goto(bare_url)
        bare_tab.page.wait_for_function(
            "() => document.querySelector('[data-testid=\"stApp\"]')?.getAttribute('data-test-script-state')"
            " === 'notRunning' && document.querySelector('[data-testid=\"stMain\"] h1')",
            timeout=60_000,
        )
        plan = _plan(specs, wanted)
        print(f"warm-up round (not timed) over {len(specs)} sidebar pages ...", flush=True)
        _run_round(tabs, _plan(specs, None), timed=False)
        for r in range(rounds):
            print(f"round {r + 1}/{rounds} ...", flush=True)
            _run_round(tabs if r % 2 == 0 else tabs[::-1], plan, timed=True)
        return specs, tabs


def _median_of_all(times: dict[str, list[float]]) -> float:
    """The median over every timed switch of a tab, all pages together."""
    return statistics.median(t for ts in times.values() for t in ts)


def report(specs: list[PageSpec], tabs: list[Tab], rounds: int) -> dict[str, Any]:
    app, bare = tabs[0], tabs[1]
    old = tabs[2] if len(tabs) > 2 else None
    rows: list[dict[str, Any]] = []
    print(f"\nmedians of {rounds} rounds, click to finished run, seconds")
    extra = f" {'before s':>8} {'ratio':>6}" if old else ""
    print(f"{'page':<18} {'app s':>7} {'bare s':>7} {'ratio':>6}{extra}  target <= {PAGE_RATIO_TARGET:g}x")
    for spec in specs:
        if spec.key not in app.times:
            continue
        a, b = statistics.median(app.times[spec.key]), statistics.median(bare.times[spec.key])
        ratio = a / b
        rows.append({"page": spec.key, "app_s": a, "bare_s": b, "ratio": ratio})
        rows[-1].update(app_all=app.times[spec.key], bare_all=bare.times[spec.key])
        then = ""
        if old:
            o = statistics.median(old.times[spec.key])
            rows[-1].update(before_s=o, before_ratio=o / b, before_all=old.times[spec.key])
            then = f" {o:8.3f} {o / b:5.2f}x"
        flag = "OVER" if ratio > PAGE_RATIO_TARGET else "ok"
        print(f"{spec.key:<18} {a:7.3f} {b:7.3f} {ratio:5.2f}x{then}  {flag}")
    a, b = _median_of_all(app.times), _median_of_all(bare.times)
    median_of_ratios = statistics.median(r["ratio"] for r in rows)
    flag = "OVER" if a / b > MEDIAN_RATIO_TARGET else "ok"
    then = ""
    if old:
        o = _median_of_all(old.times)
        then = f" {o:8.3f} {o / b:5.2f}x"
    print(f"{'all switches':<18} {a:7.3f} {b:7.3f} {a / b:5.2f}x{then}  {flag} (target <= {MEDIAN_RATIO_TARGET:g}x)")
    print(f"median of the per-page ratios: {median_of_ratios:.2f}x")
    over = [r["page"] for r in rows if r["ratio"] > PAGE_RATIO_TARGET]
    print(f"pages over {PAGE_RATIO_TARGET:g}x: {', '.join(over) if over else 'none'}")
    # From outside the page (Playwright's click call to its seeing the end): a fixed cost of the harness is in both
    # apps' figures, so the ratios are lower than the in-page ones.
    compared = [t for t in (app, bare, old) if t is not None]
    outside = _other_view(
        "as Playwright sees them (click call to seeing the end, its round trips included)",
        rows,
        tuple(t.outside for t in compared),
    )
    title_shown = _other_view(
        "first view (click to the first frame showing the page's title; the run may still be going)",
        rows,
        tuple(t.title_shown for t in compared),
    )
    if any(t.missed_running for t in tabs):
        missed = ", ".join(f"{t.name} {t.missed_running}" for t in tabs)
        print(f"(switches whose 'running' state was never rendered: {missed})")
    return {
        "rounds": rounds,
        "pages": rows,
        "median_app_s": a,
        "median_bare_s": b,
        "median_ratio": a / b,
        "median_of_page_ratios": median_of_ratios,
        "over": over,
        "playwright_view": outside,
        "first_view": title_shown,
        "load_average": os.getloadavg(),
    }


def _other_view(what: str, rows: list[dict[str, Any]], times: tuple[dict[str, list[float]], ...]) -> dict[str, Any]:
    """The same switches timed another way (``times`` of the app, the bare app and perhaps the before tab), printed
    in one line beside the targets' figure, not instead of it."""
    app, bare = times[0], times[1]
    per_page = {r["page"]: statistics.median(app[r["page"]]) / statistics.median(bare[r["page"]]) for r in rows}
    a, b = _median_of_all(app), _median_of_all(bare)
    over = [page for page, ratio in per_page.items() if ratio > PAGE_RATIO_TARGET]
    then = ""
    if len(times) > 2:
        o = _median_of_all(times[2])
        then = f"; before {o:.3f} s ({o / b:.2f}x)"
    print(
        f"{what}: median app {a:.3f} s, bare {b:.3f} s, {a / b:.2f}x{then}; "
        f"pages over {PAGE_RATIO_TARGET:g}x: {', '.join(over) if over else 'none'}"
    )
    return {"median_app_s": a, "median_bare_s": b, "median_ratio": a / b, "page_ratios": per_page, "over": over}


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # runs every cleanup on the way out, as Ctrl+C does


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pages", default="", help="comma-separated page keys (default: every sidebar page)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--before", help="also time app.py of this git revision (e.g. main~5) in the same run")
    args = parser.parse_args(argv)
    wanted = [k.strip() for k in args.pages.split(",") if k.strip()] or None
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background (SIGINT ignored)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    specs, tabs = measure(args.rounds, wanted, args.before)
    result = report(specs, tabs, args.rounds)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
