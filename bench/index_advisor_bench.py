"""Index advisor time per statement (issue 15), next to its baseline: one plain EXPLAIN of the same statement.

    .venv/bin/python bench/index_advisor_bench.py [--rows 200000] [--runs 11] [--dsn SUPERUSER_DSN]

A throwaway embedded server (or ``--dsn``) gets a table of ``--rows`` visits and the hypopg extension; each statement
is advised ``--runs`` times (catalog read for the candidates' checks excluded: the page reuses the assistant's
index). Prints medians: EXPLAIN alone, the whole advice, and how many candidates were priced.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import drop_database, recreate_database, throwaway_server

from dba_admin.assistant.schema_index import SchemaIndex
from dba_admin.index_advisor import prove_candidates

STATEMENTS = [
    "select * from visit where pet_code = 'P42'",
    "select visit_id from visit where clinic_id = 7 and visited_at >= '2024-03-01' and visited_at < '2024-04-01'",
    "select v.visit_id, c.name from visit v join clinic c on c.clinic_id = v.clinic_id where v.fee > 310",
    "select visit_id from visit order by visited_at limit 10",
    "select * from visit where reason = 'checkup'",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--dsn", help="superuser DSN of an existing server with hypopg installed")
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        admin = args.dsn or stack.enter_context(throwaway_server("dba-admin-advisor-bench-", fast=True))[1]
        dsn = recreate_database(admin, "index_advisor_bench")
        stack.callback(drop_database, admin, "index_advisor_bench")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                "create extension hypopg;"
                "create table clinic (clinic_id int primary key, name text not null);"
                "create table visit (visit_id int primary key, clinic_id int not null references clinic,"
                " pet_code text not null, reason text not null, visited_at timestamp not null,"
                " fee numeric(8,2) not null);"
                "insert into clinic select g, 'Clinic ' || g from generate_series(1, 200) g;"
            )
            conn.execute(
                "insert into visit select g, 1 + g %% 200, 'P' || (g %% 50000), (array['checkup','vaccine','surgery'])"
                "[1 + g %% 3], timestamp '2024-01-01' + g * interval '2 minutes', 20 + g %% 300"
                " from generate_series(1, %s) g",
                (args.rows,),
            )
            conn.execute("analyze")
            index = SchemaIndex.from_connection(conn)
            print(f"{args.rows:,} visits, {args.runs} runs per statement, medians")
            print(f"{'statement':<72} {'EXPLAIN':>9} {'advice':>9} {'ratio':>6} {'priced':>6} {'proven':>6}")
            for statement in STATEMENTS:
                explain, advice_times = [], []
                advice = None
                for _ in range(args.runs):
                    started = time.perf_counter()
                    conn.execute("explain (format json) " + statement)
                    explain.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    advice = prove_candidates(conn, index, statement)
                    advice_times.append(time.perf_counter() - started)
                assert advice is not None
                e, a = statistics.median(explain), statistics.median(advice_times)
                label = statement if len(statement) <= 70 else statement[:67] + "..."
                print(
                    f"{label:<72} {e * 1000:>7.2f}ms {a * 1000:>7.2f}ms {a / e:>5.1f}x {len(advice.proofs):>6}"
                    f" {len(advice.proven):>6}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
