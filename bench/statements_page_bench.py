"""Statements page at 5,000 distinct statements (issue 15), next to its baseline: the raw SELECT from
pg_stat_statements through psycopg.

    .venv/bin/python bench/statements_page_bench.py [--statements 5000] [--runs 7] [--no-render]

A throwaway embedded server with the PetCare demo (the app's own bootstrap) is started. pg_stat_statements keeps at
most ``pg_stat_statements.max`` statements (5,000 by default, the size of the test; the app's own statements and the
demo's would push some of ours out), so the bench raises it to 10,000 with ALTER SYSTEM and restarts its own server.
It then runs ``--statements`` distinct SELECTs on a scratch table in petcare (each a different column list, so each
has its own queryid) and times, as medians of ``--runs``:

* raw: ``SELECT * FROM extensions.pg_stat_statements`` on the monitor login, fetched (every database, no joins);
* page data: dba_admin.statements.read_statements (the page's read: joins, filters, shares, sort, limit 5,000) and
  statements_frame (the DataFrame the page shows), on the same login;
* page render (unless ``--no-render``): the Statements page through AppTest, cold (caches cleared) and warm (a
  rerun within the cache's 5 s), for an admin on connection demo. In-process, no browser.
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
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dba_admin.auth import UserStore  # noqa: E402
from dba_admin.bootstrap import prepare_database  # noqa: E402
from dba_admin.config import Settings  # noqa: E402
from dba_admin.database import DatabaseManager  # noqa: E402
from dba_admin.local_pg import DEMO_DATABASE, MONITOR_ROLE, EmbeddedPostgres  # noqa: E402
from dba_admin.statements import StatementFilter, read_statements, statements_frame  # noqa: E402

COLUMNS = 13  # 2**13 - 1 column lists: room for 8,191 distinct statements
MAX_SETTING = 10_000
PASSWORD = "bench-password-1"  # noqa: S105 - a throwaway user in a throwaway database


def median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def generate(dsn: str, count: int) -> None:
    """``count`` distinct statements: SELECT of a different subset of the table's columns each."""
    if count >= 2**COLUMNS:
        raise SystemExit(f"at most {2**COLUMNS - 1} distinct statements")
    names = [f"c{i}" for i in range(COLUMNS)]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("create table bench_stmt (id int primary key, {})").format(
                sql.SQL(", ").join(sql.SQL("{} int").format(sql.Identifier(n)) for n in names)
            )
        )
        conn.execute(
            "insert into bench_stmt select g, " + ", ".join(["g"] * COLUMNS) + " from generate_series(1, 50) g"
        )
        for i in range(1, count + 1):
            chosen = [sql.Identifier(n) for bit, n in enumerate(names) if i >> bit & 1]
            query = sql.SQL("select {} from bench_stmt where id = %s").format(sql.SQL(", ").join(chosen))
            for _ in range(1 + i % 3):  # 1 to 3 calls, so the sorts have something to sort
                conn.execute(query, (i % 50,))


def render_times(dsn: str, runs: int) -> tuple[float, float, int]:
    """Cold and warm medians (ms) of the page through AppTest, and the rows its table showed."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    username = f"bench{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        UserStore(conn).create_user(
            actor="bench", username=username, email=f"{username}@example.com", role="admin", password=PASSWORD
        )
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    at.text_input[0].input(username)
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    at.switch_page("pages/statements.py").run()
    if at.exception:
        raise SystemExit(f"the page failed: {at.exception}")
    cold, warm = [], []
    for _ in range(runs):
        st.cache_data.clear()
        started = time.perf_counter()
        at.run()
        cold.append(time.perf_counter() - started)
        started = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - started)
    if at.exception:
        raise SystemExit(f"the page failed: {at.exception}")
    shown = len(at.dataframe[0].value)
    return statistics.median(cold) * 1000, statistics.median(warm) * 1000, shown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-render", action="store_true", help="skip the AppTest render")
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="dba-admin-bench-statements-"))
    root.chmod(0o711)
    data_dir = root / "data"
    server = EmbeddedPostgres(data_dir, fast=True)
    os.environ.pop("DATABASE_URL", None)
    os.environ["DBA_ADMIN_DATA_DIR"] = str(data_dir)
    try:
        server.ensure_running()
        settings = Settings(data_dir=data_dir, load_demo=True)
        prepared = prepare_database(settings)
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            before = conn.execute("show pg_stat_statements.max").fetchone()
            conn.execute(sql.SQL("alter system set pg_stat_statements.max = {}").format(sql.Literal(MAX_SETTING)))
        server.stop(mode="fast")
        server.ensure_running()
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            after = conn.execute("show pg_stat_statements.max").fetchone()
            version = conn.execute("show server_version").fetchone()
        print(
            f"PostgreSQL {version[0] if version else '?'}; pg_stat_statements.max {before[0] if before else '?'} -> "
            f"{after[0] if after else '?'} (raised so {args.statements:,} statements all fit)"
        )
        demo_dsn = server.dsn(dbname=DEMO_DATABASE)
        with psycopg.connect(demo_dsn, autocommit=True) as conn:
            conn.execute("select extensions.pg_stat_statements_reset()")
        started = time.perf_counter()
        generate(demo_dsn, args.statements)
        print(f"generated {args.statements:,} distinct statements in {time.perf_counter() - started:.1f} s")

        monitor_dsn = server.login_dsn(MONITOR_ROLE, DEMO_DATABASE)
        db = DatabaseManager(settings, monitor_dsn, name="demo")
        try:
            with psycopg.connect(monitor_dsn, autocommit=True) as conn:
                in_view = conn.execute(
                    "select count(*) filter (where query like '%%bench_stmt where id%%'), count(*)"
                    " from extensions.pg_stat_statements"
                ).fetchone()

                def raw() -> None:
                    conn.execute("select * from extensions.pg_stat_statements").fetchall()

                raw_ms = median_ms(raw, args.runs)

            def page_data() -> None:
                report = read_statements(db, StatementFilter())
                statements_frame(report.statements)

            report = read_statements(db, StatementFilter())
            read_ms = median_ms(lambda: read_statements(db, StatementFilter()), args.runs)
            data_ms = median_ms(page_data, args.runs)
        finally:
            db.close()
        assert in_view is not None
        print(
            f"pg_stat_statements holds {in_view[1]:,} statements, {in_view[0]:,} of them the bench's; the page lists "
            f"{len(report.statements):,} of {report.matched:,} in petcare (limit {report.limit:,})\n"
        )
        print(f"medians of {args.runs} runs")
        print(f"{'what':<52} {'ms':>9} {'vs raw':>7}")
        print(f"{'raw SELECT * FROM pg_stat_statements (psycopg)':<52} {raw_ms:9.1f} {1:>6.1f}x")
        print(f"{'page read (read_statements)':<52} {read_ms:9.1f} {read_ms / raw_ms:>6.1f}x")
        print(f"{'page data (read_statements + statements_frame)':<52} {data_ms:9.1f} {data_ms / raw_ms:>6.1f}x")
        if not args.no_render:
            cold, warm, shown = render_times(prepared.dsn, max(3, args.runs // 2))
            print(f"{'page render, cold (AppTest, caches cleared)':<52} {cold:9.1f} {cold / raw_ms:>6.1f}x")
            print(f"{'page render, warm (AppTest rerun, cached read)':<52} {warm:9.1f} {warm / raw_ms:>6.1f}x")
            print(f"(the page's table showed {shown:,} rows)")
    finally:
        server.destroy()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
