"""Benchmark: catalog.list_tables() against one raw catalog query over the same tables and columns.

Usage:
    python bench/catalog_bench.py [DSN] [--sizes 100,1000,5000] [--runs 5]
    BENCH_DSN=... python bench/catalog_bench.py

With no DSN the embedded server (dba_admin.local_pg) is started in a throwaway data dir. For each size N a
scratch database ``catalog_bench_<N>`` is created with N tables of 6 columns (created in transactions of
500 tables: one transaction would run out of lock slots), then timed on ONE connection, side by side,
median of --runs runs each (interleaved, after a warm-up):

* ``list_tables``     dba_admin.catalog.list_tables(conn) -> list[TableInfo] (what the app calls)
* ``two-query``       the alternative shape: tables query + columns query grouped in Python
* ``raw same data``   one flat raw query returning the same table fields and columns, plain fetchall()
* ``raw minimal``     one raw pg_class x pg_attribute query, names and types only (a lower bound)

Round trips are counted from libpq's own protocol trace (every Query/Sync message the client sends),
so BEGIN/settings/ROLLBACK are included. The scratch databases are dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchlib import count_round_trips, drop_database, recreate_database, throwaway_server

from dba_admin import catalog

BATCH = 500

RAW_SAME_DATA_SQL = """
SELECT /* dba_admin bench */
       t.nspname, t.relname, t.relkind, t.reltuples, t.size, t.relrowsecurity, t.relforcerowsecurity,
       t.policies, t.description, t.owner,
       a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(ad.adbin, ad.adrelid), cd.description, a.attnum
FROM (
    SELECT c.oid, n.nspname, c.relname, c.relkind, c.reltuples, pg_total_relation_size(c.oid) AS size,
           c.relrowsecurity, c.relforcerowsecurity,
           (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies,
           d.description, pg_get_userbyid(c.relowner) AS owner
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
    OFFSET 0
) t
LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN pg_description cd ON cd.objoid = a.attrelid AND cd.classoid = 'pg_class'::regclass
                           AND cd.objsubid = a.attnum
ORDER BY t.nspname, t.relname, a.attnum
"""

RAW_MINIMAL_SQL = """
SELECT /* dba_admin bench */ n.nspname, c.relname, c.relkind, a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
ORDER BY n.nspname, c.relname, a.attnum
"""

# The shape list_tables did NOT keep: one tables query and one columns query, grouped in Python.
TWO_Q_TABLES_SQL = """
SELECT /* dba_admin bench */ c.oid, n.nspname, c.relname, c.relkind::text, c.reltuples::float8,
       coalesce(pg_total_relation_size(c.oid), 0), c.relrowsecurity, c.relforcerowsecurity,
       coalesce(pol.cnt, 0)::int, d.description, pg_get_userbyid(c.relowner), c.relispartition
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN (SELECT polrelid, count(*) AS cnt FROM pg_policy GROUP BY polrelid) pol ON pol.polrelid = c.oid
LEFT JOIN pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
ORDER BY n.nspname, c.relname
"""
TWO_Q_COLUMNS_SQL = """
SELECT /* dba_admin bench */ a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       pg_get_expr(ad.adbin, ad.adrelid), cd.description, a.attnum
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN pg_description cd ON cd.objoid = a.attrelid AND cd.classoid = 'pg_class'::regclass
                           AND cd.objsubid = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
ORDER BY a.attrelid, a.attnum
"""


def list_tables_two_queries(conn: psycopg.Connection[Any]) -> list[catalog.TableInfo]:
    """The alternative implementation, kept here so the choice stays reproducible."""
    with conn.transaction(force_rollback=True):
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # both queries see one snapshot
        tables = conn.execute(TWO_Q_TABLES_SQL).fetchall()
        cols = conn.execute(TWO_Q_COLUMNS_SQL).fetchall()
    by_rel: dict[int, list[catalog.ColumnInfo]] = {}
    for relid, *rest in cols:
        by_rel.setdefault(relid, []).append(catalog.ColumnInfo(*rest))
    out = []
    for oid, schema, name, relkind, reltuples, size, rls, forced, npol, comment, owner, part in tables:
        out.append(
            catalog.TableInfo(
                schema,
                name,
                catalog._KINDS[relkind],
                None if reltuples < 0 or relkind in ("v", "f") else int(reltuples),
                size,
                rls,
                forced,
                npol,
                comment,
                owner,
                schema in catalog.SYSTEM_LIKE_SCHEMAS,
                part,
                False,
                tuple(by_rel.get(oid, ())),
            )
        )
    return out


def raw_query(query: str) -> Callable[[psycopg.Connection[Any]], list[Any]]:
    def run(conn: psycopg.Connection[Any]) -> list[Any]:
        return conn.execute(query).fetchall()

    return run


def create_tables(dsn: str, n: int) -> None:
    """N tables x 6 columns (a PK, defaults, a NOT NULL, a comment on every 10th), 500 per transaction."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for start in range(0, n, BATCH):
            with conn.transaction():
                for i in range(start, min(n, start + BATCH)):
                    t = sql.Identifier("public", f"bench_table_{i:05d}")
                    conn.execute(
                        sql.SQL(
                            "CREATE TABLE {} (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
                            " name text NOT NULL, amount numeric(12,2) DEFAULT 0, created_at timestamptz"
                            " DEFAULT now(), payload jsonb, flag boolean DEFAULT false)"
                        ).format(t)
                    )
                    if i % 10 == 0:
                        conn.execute(sql.SQL("COMMENT ON TABLE {} IS 'bench table'").format(t))
        conn.execute("ANALYZE")


def median_time(conn: psycopg.Connection[Any], fn: Callable[[psycopg.Connection[Any]], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn(conn)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_size(admin_dsn: str, n: int, runs: int, keep: bool) -> dict[str, Any]:
    db = f"catalog_bench_{n}"
    dsn = recreate_database(admin_dsn, db)
    t0 = time.perf_counter()
    create_tables(dsn, n)
    setup_s = time.perf_counter() - t0
    contenders: dict[str, Callable[[psycopg.Connection[Any]], Any]] = {
        "list_tables": catalog.list_tables,
        "two-query": list_tables_two_queries,
        "raw same data": raw_query(RAW_SAME_DATA_SQL),
        "raw minimal": raw_query(RAW_MINIMAL_SQL),
    }
    result: dict[str, Any] = {"tables": n, "setup_s": round(setup_s, 2)}
    with psycopg.connect(dsn, autocommit=True) as conn:
        found = catalog.list_tables(conn)
        assert len(found) == n, (len(found), n)
        assert all(len(t.columns) == 6 for t in found)
        assert len(list_tables_two_queries(conn)) == n
        for fn in contenders.values():  # warm-up: caches, plans, imports
            fn(conn)
        samples: dict[str, list[float]] = {k: [] for k in contenders}
        for _ in range(runs):  # interleaved so drift hits every contender alike
            for name, fn in contenders.items():
                samples[name].append(median_time(conn, fn, 1))
        for name, fn in contenders.items():
            result[name] = {
                "median_ms": round(statistics.median(samples[name]) * 1000, 1),
                "round_trips": count_round_trips(conn, fn),
            }
    base = result["raw same data"]["median_ms"]
    for name in contenders:
        result[name]["ratio_vs_raw"] = round(result[name]["median_ms"] / base, 2) if base else None
    if not keep:
        drop_database(admin_dsn, db)
    return result


def print_table(results: list[dict[str, Any]]) -> None:
    names = ["list_tables", "two-query", "raw same data", "raw minimal"]
    print()
    print(f"{'tables':>7} | " + " | ".join(f"{n:>28}" for n in names))
    print(f"{'':>7} | " + " | ".join(f"{'ms (ratio, round trips)':>28}" for _ in names))
    print("-" * (10 + 31 * len(names)))
    for r in results:
        cells = []
        for n in names:
            c = r[n]
            cells.append(f"{c['median_ms']:>10.1f} ({c['ratio_vs_raw']:>4.2f}x, {c['round_trips']:>2} rt)".rjust(28))
        print(f"{r['tables']:>7} | " + " | ".join(cells))
    print("\nratio = median / median of 'raw same data'; rt = client->server round trips (libpq trace)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dsn", nargs="?", default=os.environ.get("BENCH_DSN"), help="superuser DSN (or BENCH_DSN)")
    ap.add_argument("--sizes", default="100,1000,5000")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="keep the scratch databases")
    ap.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = ap.parse_args(argv)

    with contextlib.ExitStack() as stack:
        # With no DSN: a throwaway cluster, stopped and deleted at the end.
        dsn = args.dsn or stack.enter_context(throwaway_server())[1]
        with psycopg.connect(dsn, autocommit=True) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        print(
            f"PostgreSQL {version[0] if version else '?'}; psycopg {psycopg.__version__}; "
            f"Python {sys.version.split()[0]}; median of {args.runs} runs"
        )
        results = []
        for n in (int(s) for s in args.sizes.split(",")):
            r = bench_size(dsn, n, args.runs, args.keep)
            print(f"  {n} tables: setup {r['setup_s']} s, list_tables {r['list_tables']['median_ms']} ms")
            results.append(r)
        print_table(results)
        if args.json:
            print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
