"""execute_query against its baselines, side by side in one run (issue 2 §6).

1. 200,000 rows x 5 columns: DatabaseManager.execute_query (max_rows lifted) vs raw psycopg fetchall +
   pd.DataFrame (target: within 1.15x) vs pandas.read_sql over SQLAlchemy (target: faster).
2. generate_series(1, 10,000,000) under the default 10,000-row cap: wall time (target < 1 s) and the extra
   peak memory of a fresh process (target < 100 MB), against a raw server-side cursor reading the same cap.

Usage: .venv/bin/python bench/execute_bench.py [--runs 5] [--dsn DSN]
Without --dsn (or BENCH_DSN) a throwaway embedded PostgreSQL is started and removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dba_admin.config import Settings  # noqa: E402
from dba_admin.database import DatabaseManager  # noqa: E402
from dba_admin.local_pg import EmbeddedPostgres  # noqa: E402

WIDE_QUERY = (
    "select g as id, md5(g::text) as label, g * 1.5 as amount, now() - g * interval '1 second' as at,"
    " (g % 2 = 0) as flag from generate_series(1, 200000) as g"
)
LAZY_10M = "select generate_series(1, 10000000) as n"
FROM_10M = "select n from generate_series(1, 10000000) as n"


def interleaved_medians(funcs: list[Callable[[], object]], runs: int) -> list[float]:
    """Median ms of each function, runs interleaved so a noisy neighbour hurts all of them alike."""
    for func in funcs:
        func()  # warm-up: connections, type caches, plan cache
    times: list[list[float]] = [[] for _ in funcs]
    for _ in range(runs):
        for index, func in enumerate(funcs):
            started = time.perf_counter()
            func()
            times[index].append((time.perf_counter() - started) * 1000)
    return [statistics.median(t) for t in times]


def wide_rows(dsn: str, runs: int) -> list[tuple[str, float, str]]:
    # The byte cap is not what this measures: 200k rows of Python objects come close to the 64 MB default.
    settings = Settings(max_rows=250_000, statement_timeout_ms=120_000, max_result_bytes=1 << 30)
    db = DatabaseManager(settings, dsn)

    def ours() -> pd.DataFrame:
        result = db.execute_query(WIDE_QUERY, read_only=False, max_rows=250_000)[0]
        assert result.error is None and len(result.rows) == 200_000
        return result.rows

    raw_conn = psycopg.connect(dsn, autocommit=True)

    def raw() -> pd.DataFrame:
        with raw_conn.cursor() as cur:
            cur.execute(WIDE_QUERY)  # type: ignore[arg-type]
            rows = cur.fetchall()
            return pd.DataFrame(rows, columns=[c.name for c in cur.description or []])

    import sqlalchemy
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(dsn)
    engine = sqlalchemy.create_engine(
        "postgresql+psycopg://", connect_args={k: v for k, v in params.items() if v is not None}
    )

    def read_sql() -> pd.DataFrame:
        with engine.connect() as conn:
            return pd.read_sql(sqlalchemy.text(WIDE_QUERY), conn)

    raw_ms, ours_ms, read_sql_ms = interleaved_medians([raw, ours, read_sql], runs)
    raw_conn.close()
    db.close()
    engine.dispose()
    return [
        ("raw psycopg fetchall + DataFrame (baseline)", raw_ms, "1.00x"),
        ("DatabaseManager.execute_query", ours_ms, f"{ours_ms / raw_ms:.2f}x raw (target <= 1.15x)"),
        ("pandas.read_sql over SQLAlchemy", read_sql_ms, f"ours is {read_sql_ms / ours_ms:.2f}x faster (target > 1x)"),
    ]


CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[3])
from dba_admin.config import Settings
from dba_admin.database import DatabaseManager
import psycopg
dsn, which, query = sys.argv[1], sys.argv[2], sys.argv[4]
def status_mb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
def reset_peak():
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")  # resets VmHWM (peak resident memory) to the current resident size
def peak_mb():
    return status_mb("VmHWM")
if which == "ours":
    db = DatabaseManager(Settings(), dsn)
    db.execute_query("select 1", read_only=False)  # pool and type caches ready before measuring
    reset_peak(); before = status_mb("VmRSS"); t = time.perf_counter()
    r = db.execute_query(query, read_only=False)[0]
    elapsed = time.perf_counter() - t
    assert r.error is None and r.truncated and len(r.rows) == 10000, r.error
else:
    conn = psycopg.connect(dsn)
    reset_peak(); before = status_mb("VmRSS"); t = time.perf_counter()
    with conn.cursor(name="bench") as cur:
        cur.execute(query)
        rows = cur.fetchmany(10001)
    elapsed = time.perf_counter() - t
    assert len(rows) == 10001
print(json.dumps({"seconds": elapsed, "extra_peak_mb": peak_mb() - before}))
"""


def capped(dsn: str, runs: int) -> list[tuple[str, float, str]]:
    out = []
    for label, which, query in (
        ("raw server-side cursor, first 10,001 rows (select list)", "raw", LAZY_10M),
        ("execute_query, cap 10,000 (select list)", "ours", LAZY_10M),
        ("raw server-side cursor, first 10,001 rows (FROM clause)", "raw", FROM_10M),
        ("execute_query, cap 10,000 (FROM clause)", "ours", FROM_10M),
    ):
        samples = []
        for _ in range(runs):
            done = subprocess.run(
                [sys.executable, "-c", CHILD, dsn, which, str(ROOT), query], capture_output=True, text=True, check=True
            )
            samples.append(json.loads(done.stdout))
        seconds = statistics.median(s["seconds"] for s in samples)
        memory = statistics.median(s["extra_peak_mb"] for s in samples)
        out.append((label, seconds * 1000, f"extra peak memory {memory:.1f} MB (targets: < 1000 ms, < 100 MB)"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dsn", default=os.environ.get("BENCH_DSN"))
    args = parser.parse_args()
    server = None
    dsn = args.dsn
    if not dsn:
        root = Path(tempfile.mkdtemp(prefix="dba-admin-bench-"))
        root.chmod(0o711)
        server = EmbeddedPostgres(root / "data", fast=True)
        dsn = server.ensure_running()
    try:
        print(
            f"PostgreSQL: {psycopg.connect(dsn).execute('show server_version').fetchone()[0]};"
            f" medians of {args.runs} runs"
        )
        print("\n200,000 rows x 5 columns")
        for label, ms, note in wide_rows(dsn, args.runs):
            print(f"  {label:<50} {ms:9.1f} ms   {note}")
        print("\ngenerate_series(1, 10,000,000) under the default cap (each run in a fresh process)")
        for label, ms, note in capped(dsn, args.runs):
            print(f"  {label:<58} {ms:9.1f} ms   {note}")
    finally:
        if server is not None:
            server.destroy()
            shutil.rmtree(server.data_dir.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
