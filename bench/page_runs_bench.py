"""What one page run costs the app server: its time, its CPU and its database round trips, page by page (issue 17).

The Chromium benchmark (browser_pages_bench.py) times what a person waits for; on a busy 2-CPU machine that figure
moves with the load. This one counts what does not: the database round trips each page run makes, which is what a
remote workspace (Supabase across a network) pays in latency on every page switch. It also reports the run's
server time and CPU.

How: the app is served as in browser_pages_bench.py (throwaway embedded workspace with the demo, a throwaway admin,
one headless Chromium clicking every sidebar link in rounds after an untimed warm-up), with a ``sitecustomize``
module on its PYTHONPATH (written to a temp dir by this script, never part of the app) that

* times every script run (wall clock and the run thread's CPU) and notes its page, and
* turns on libpq's protocol trace for every connection the server opens, one file per connection.

A round trip is a wait: in a connection's trace, messages the client sent followed by the server's answer (a change
from "F" lines to "B" lines). That counts what the network latency is paid for, whatever the protocol (a simple
query, an extended-protocol Sync, a pipeline's Flush). Round trips are given to the run during which the answer
came (by the trace's timestamps), including the ones of pool threads working for that run.

``--before REV`` serves app.py of that revision too, on the same workspace, and clicks it in the same rounds.

``--latency-ms N`` makes every answer of the database come N ms later in both served apps (in the same hook: N ms
per request sent, paid before the answer is read), as if the workspace and the connections were that far away: the
run times then show what the round trips cost a person on a remote Supabase. The requests are counted on psycopg's
Python implementation of libpq (``PSYCOPG_IMPL=python``, set for both apps; it needs the system's libpq), so the CPU
column is not comparable with a run without the option.

Usage: .venv/bin/python bench/page_runs_bench.py [--rounds 3] [--before REV] [--latency-ms 10]
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import browser_pages_bench as pages  # noqa: E402
from benchlib import checkout  # noqa: E402

HOOK = '''
"""Written by bench/page_runs_bench.py: run timing and libpq traces of a Streamlit server (measurement only)."""
import os

if os.environ.get("PAGE_RUNS_DIR"):
    import json, threading, time
    import psycopg
    from streamlit.runtime.scriptrunner import script_runner

    OUT = os.environ["PAGE_RUNS_DIR"]
    LOCK = threading.Lock()
    TRACES = []  # kept open for libpq, which writes to their descriptors
    original_connect = psycopg.Connection.connect.__func__

    def connect(cls, *args, **kwargs):
        conn = original_connect(cls, *args, **kwargs)
        with LOCK:
            trace = open(os.path.join(OUT, f"trace-{len(TRACES):05}.log"), "w", buffering=1)
            TRACES.append(trace)
        conn.pgconn.trace(trace.fileno())
        return conn

    psycopg.Connection.connect = classmethod(connect)

    LATENCY_S = float(os.environ.get("PAGE_RUNS_LATENCY_MS") or 0) / 1000
    if LATENCY_S:
        # A database that far away: every request a connection sends (a simple query, an extended-protocol
        # Parse/Bind/Execute/Sync) is answered that much later, paid before the connection reads the answer. The
        # sends are counted on psycopg's Python implementation of libpq (PSYCOPG_IMPL=python, which --latency-ms sets
        # for both apps): a wait that sends nothing (the autocommit switch, a rollback with no transaction open) is
        # not slowed. New connections are not slowed either: the pools keep theirs.
        from psycopg.pq import pq_ctypes
        from psycopg.waiting import Wait

        PENDING = {}  # id(pgconn) -> requests sent whose latency is not paid yet

        def counting(name):
            original = getattr(pq_ctypes.PGconn, name)

            def send(self, *args, **kwargs):
                PENDING[id(self)] = PENDING.get(id(self), 0) + 1
                return original(self, *args, **kwargs)

            setattr(pq_ctypes.PGconn, name, send)

        for name in dir(pq_ctypes.PGconn):
            if name.startswith("send_") and name != "send_flush_request" or name == "pipeline_sync":
                counting(name)

        def pay(pgconn):
            owed = PENDING.pop(id(pgconn), 0)
            if owed:
                time.sleep(owed * LATENCY_S)

        def delayed(gen, pgconn):
            try:
                state = next(gen)
                while True:
                    if state != Wait.W:
                        pay(pgconn)
                    state = gen.send((yield state))
            except StopIteration as stop:
                pay(pgconn)  # an answer read without waiting on the socket still took its trip
                return stop.value

        original_wait = psycopg.Connection.wait

        def wait(self, gen, *args, **kwargs):
            return original_wait(self, delayed(gen, self.pgconn), *args, **kwargs)

        psycopg.Connection.wait = wait

    original_run = script_runner.ScriptRunner._run_script

    def run_script(self, rerun_data):
        started, cpu = time.time(), time.thread_time()
        try:
            return original_run(self, rerun_data)
        finally:
            record = {
                "page": rerun_data.page_script_hash,
                "start": started,
                "end": time.time(),
                "cpu": time.thread_time() - cpu,
            }
            with LOCK, open(os.path.join(OUT, "runs.jsonl"), "a") as fh:
                fh.write(json.dumps(record) + "\\n")

    script_runner.ScriptRunner._run_script = run_script
'''

# libpq's trace line: "<timestamp>\t<F or B>\t<length>\t<message>..." (F: sent by the client, B: by the server)
_TRACE_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\t([FB])\t", re.MULTILINE)


def _round_trip_times(folder: Path) -> list[float]:
    """When each wait of every traced connection ended: a "B" line right after an "F" line of the same trace."""
    times: list[float] = []
    for trace in folder.glob("trace-*.log"):
        previous = ""
        for match in _TRACE_LINE.finditer(trace.read_text(errors="replace")):
            if previous == "F" and match.group(2) == "B":
                times.append(dt.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp())
            previous = match.group(2)
    return sorted(times)


def _runs(folder: Path, since: float) -> list[dict[str, Any]]:
    runs = [json.loads(line) for line in (folder / "runs.jsonl").read_text().splitlines()]
    trips = _round_trip_times(folder)
    for run in runs:
        run["trips"] = bisect.bisect_right(trips, run["end"]) - bisect.bisect_left(trips, run["start"])
    return [r for r in runs if r["start"] >= since]


def measure(rounds: int, before: str | None, latency_ms: float = 0) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Per served app ("app", "before"), per page key: the runs of the timed rounds."""
    with ExitStack() as stack:
        scratch = Path(tempfile.mkdtemp(prefix="dba-admin-bench-runs-"))
        stack.callback(shutil.rmtree, scratch, ignore_errors=True)
        (scratch / "hook").mkdir()
        (scratch / "hook" / "sitecustomize.py").write_text(HOOK)
        data_dir, dsn = pages._workspace(stack)
        specs = [s for ss in pages.pages_by_section("admin").values() for s in ss if (ROOT / s.file).is_file()]
        username = pages._admin(dsn)
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "READONLY_DATABASE_URL")}
        env["DBA_ADMIN_DATA_DIR"] = str(data_dir)
        trees = {"app": ROOT}
        if before:
            trees["before"] = stack.enter_context(checkout(before))
        urls, outs = {}, {}
        for name, tree in trees.items():
            outs[name] = scratch / name
            outs[name].mkdir()
            served_env = {**env, "PYTHONPATH": f"{scratch / 'hook'}:{tree}", "PAGE_RUNS_DIR": str(outs[name])}
            if latency_ms:
                served_env.update(PAGE_RUNS_LATENCY_MS=str(latency_ms), PSYCOPG_IMPL="python")
            urls[name] = stack.enter_context(
                pages.serve(tree / "app.py", cwd=tree, env=served_env, log=scratch / f"{name}.log")
            )
        browser = stack.enter_context(pages._browser())
        tabs = []
        for name, url in urls.items():
            context = browser.new_context(viewport=pages.VIEWPORT)
            stack.callback(context.close)
            page = context.new_page()
            page.set_default_timeout(60_000)
            pages.log_in(page, url, username, pages.PASSWORD)
            tabs.append(pages.Tab(name, page, [s.key for s in specs]))
        plan = pages._plan(specs, None)
        print(f"warm-up round (not counted) over {len(specs)} sidebar pages ...", flush=True)
        pages._run_round(tabs, plan, timed=False)
        since = dt.datetime.now().timestamp()
        for r in range(rounds):
            print(f"round {r + 1}/{rounds} ...", flush=True)
            pages._run_round(tabs if r % 2 == 0 else tabs[::-1], plan, timed=True)
        # A page's runs are told apart by their script hash; the click order gives each hash its page key.
        result: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for name in trees:
            runs = _runs(outs[name], since)
            by_hash: dict[str, list[dict[str, Any]]] = {}
            for run in runs:
                by_hash.setdefault(run["page"], []).append(run)
            order = list(dict.fromkeys(run["page"] for run in runs))  # first appearance = click order
            keys = [spec.key for spec, _ in plan]
            result[name] = {keys[i]: by_hash[h] for i, h in enumerate(order[: len(keys)])}
        return result


def report(result: dict[str, dict[str, list[dict[str, Any]]]]) -> None:
    names = list(result)
    head = "".join(f" {n + ' ms':>10} {'cpu':>5} {'trips':>6}" for n in names)
    print(f"\nmedians per page run (the app's script runs of each switch), server side\n{'page':<14}{head}")
    every: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    for key in result[names[0]]:
        line = f"{key:<14}"
        for n in names:
            runs = result[n].get(key, [])
            every[n] += runs
            if runs:
                wall = statistics.median(r["end"] - r["start"] for r in runs) * 1000
                cpu = statistics.median(r["cpu"] for r in runs) * 1000
                trips = statistics.median(r["trips"] for r in runs)
                line += f" {wall:10.0f} {cpu:5.0f} {trips:6.1f}"
        print(line)
    line = f"{'every run':<14}"
    for n in names:
        runs = every[n]
        wall = statistics.median(r["end"] - r["start"] for r in runs) * 1000
        line += f" {wall:10.0f} {statistics.median(r['cpu'] for r in runs) * 1000:5.0f}"
        line += f" {statistics.median(r['trips'] for r in runs):6.1f}"
    print(line)
    for n in names:
        runs = every[n]
        print(f"{n}: {len(runs)} runs, {sum(r['trips'] for r in runs) / len(runs):.1f} round trips per run on average")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", help="also serve app.py of this git revision (e.g. main~5) in the same rounds")
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0,
        help="add this much to every wait for the database's answer, in both apps: a workspace and connections that "
        "far away (Supabase across a network); the run times then show what the round trips cost a person",
    )
    args = parser.parse_args(argv)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.latency_ms:
        print(f"simulated database latency: {args.latency_ms:g} ms per round trip")
    report(measure(args.rounds, args.before, args.latency_ms))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
