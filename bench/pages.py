"""Time to first render of every page on the demo data, cold and warm, through AppTest (issue 4 §5).

Targets: every page warm under 0.5 s, cold under 2 s.

- cold: the page's first render in the session, right after ``st.cache_data.clear()`` (catalog and metric
  caches empty; the connection pool, kept in ``st.cache_resource`` for the server's life, stays up: starting
  the database is not a page render).
- warm: the next rerun of the same page (what every widget interaction costs).

AppTest 1.67 reruns only the current page after a navigation, so the figures are the page script itself; the
row "app shell" is a full run from app.py (login gate with its user lookup, navigation, sidebar) on the home
page, which a browser adds to every rerun. The SQL editor is also timed with a 1,000-row result on screen.
AppTest runs the script in-process without a browser: rendering in the browser is not included.

Usage: .venv/bin/python bench/pages.py [--runs 5] [--pages sql_editor,explorer]
A throwaway embedded PostgreSQL with the PetCare demo is started and removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from dba_admin.access import PAGES  # noqa: E402
from dba_admin.auth import UserStore  # noqa: E402
from dba_admin.bootstrap import prepare_database  # noqa: E402
from dba_admin.config import Settings  # noqa: E402
from dba_admin.local_pg import EmbeddedPostgres  # noqa: E402

APP = str(ROOT / "app.py")
WARM_TARGET_S = 0.5
COLD_TARGET_S = 2.0
PASSWORD = "bench-password-1"  # noqa: S105 - a throwaway user in a throwaway database


def _login(dsn: str) -> AppTest:
    username = f"bench{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        UserStore(conn).create_user(
            actor="bench", username=username, email=f"{username}@example.com", role="admin", password=PASSWORD
        )
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.text_input[0].input(username)
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    if at.exception:
        raise SystemExit(f"login failed: {at.exception}")
    return at


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _switch(at: AppTest, file: str) -> None:
    at.switch_page(file).run()


def _clear_data_caches() -> None:
    import streamlit as st

    st.cache_data.clear()


def measure(dsn: str, keys: list[str], runs: int) -> list[tuple[str, list[float], list[float], str]]:
    rows: list[tuple[str, list[float], list[float], str]] = []
    cold: dict[str, list[float]] = {k: [] for k in keys}
    warm: dict[str, list[float]] = {k: [] for k in keys}
    notes: dict[str, str] = dict.fromkeys(keys, "")
    extra_cold: dict[str, list[float]] = {"app shell": [], "sql_editor + 1,000-row result": []}
    extra_warm: dict[str, list[float]] = {"app shell": [], "sql_editor + 1,000-row result": []}
    for _ in range(runs):
        at = _login(dsn)  # a new session per run: every page's first render in it is its first ever
        for key in keys:
            file = f"pages/{key}.py"
            _clear_data_caches()
            cold[key].append(_timed(partial(_switch, at, file)))
            warm[key].append(_timed(at.run))
            if at.exception:
                notes[key] = f"exception: {str(at.exception[0].value)[:60]}"
            elif any("log in" in str(w.value) for w in at.warning):
                notes[key] = "not rendered: the guard asked to log in"
        # the SQL editor showing a result (dataframe, tabs, downloads, history)
        at.switch_page("pages/sql_editor.py").run()
        at.session_state["sql_editor_text"] = "select * from public.messages order by id limit 1000"
        extra_cold["sql_editor + 1,000-row result"].append(_timed(at.button(key="sql_editor_run").click().run))
        extra_warm["sql_editor + 1,000-row result"].append(_timed(at.run))
        # the whole app from app.py on the home page, as every browser rerun does
        at.switch_page("pages/home.py").run()
        at._finished_page_script_hash = ""
        _clear_data_caches()
        extra_cold["app shell"].append(_timed(at.run))
        at._finished_page_script_hash = ""
        extra_warm["app shell"].append(_timed(at.run))
    for key in keys:
        rows.append((key, cold[key], warm[key], notes[key]))
    for label in extra_cold:
        rows.append((label, extra_cold[label], extra_warm[label], ""))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pages", default="", help="comma-separated page keys (default: every page that exists)")
    args = parser.parse_args()
    keys = [p.key for p in PAGES if (ROOT / p.file).is_file()]
    if args.pages:
        wanted = {k.strip() for k in args.pages.split(",") if k.strip()}
        keys = [k for k in keys if k in wanted]

    root = Path(tempfile.mkdtemp(prefix="dba-admin-bench-pages-"))
    root.chmod(0o711)
    data_dir = root / "data"
    server = EmbeddedPostgres(data_dir, fast=True)
    server.ensure_running()
    os.environ.pop("DATABASE_URL", None)
    os.environ["DBA_ADMIN_DATA_DIR"] = str(data_dir)
    try:
        prepared = prepare_database(Settings(data_dir=data_dir, load_demo=True))
        with psycopg.connect(prepared.dsn) as conn:
            version = conn.execute("show server_version").fetchone()
        print(f"PostgreSQL {version[0] if version else '?'} with the PetCare demo; medians of {args.runs} runs")
        print(f"targets: warm < {WARM_TARGET_S} s, cold < {COLD_TARGET_S} s (AppTest, in-process, no browser)\n")
        print(f"{'page':<32} {'cold s':>8} {'target':>7} {'warm s':>8} {'target':>7}  note")
        for label, cold, warm, note in measure(prepared.dsn, keys, args.runs):
            c, w = statistics.median(cold), statistics.median(warm)
            print(
                f"{label:<32} {c:8.3f} {'ok' if c < COLD_TARGET_S else 'OVER':>7}"
                f" {w:8.3f} {'ok' if w < WARM_TARGET_S else 'OVER':>7}  {note}"
            )
    finally:
        server.destroy()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
