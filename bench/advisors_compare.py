"""Benchmark: the defect-by-tool table on the planted database of issue 13 (tests/planted): ours, splinter, PgHero.

Usage:
    python bench/advisors_compare.py [DSN] [--json] [--keep] [--no-fixes]
    BENCH_DSN=... python bench/advisors_compare.py

With no DSN the embedded server is started in a throwaway data dir (benchlib.throwaway_server). A scratch database
``advisors_compare`` is created and planted (tests/planted: defects.sql plus the dynamic defects: statistics, a cold
table, live sessions), then three tools look at it:

* ours      every check in sql/checks (dba_admin.advisors.run_checks_on), with the planted thresholds (volume- and
            time-bound checks lowered to what a small database can show; listed in the output)
* splinter  bench/splinter/splinter.sql, unmodified (else splinter.sql of the fetched mirror), with
            pgrst.db_schemas set to the project's API schemas, as on Supabase
* PgHero    bench/pghero/queries.py: PgHero's check methods, at PgHero's own default thresholds (column "PgHero"),
            and with the same lowering as ours where PgHero has a parameter for it (column "PgHero*")

One row per planted defect: found / - (not found) / n.a. (the tool has no such check), then the totals, the
innocent objects each tool reported, and ours' fix_sql: applied one by one (each in its own autocommit
connection, every check run again after each), how many applied cleanly, cleared their finding, and caused a
new one. The scratch database is dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))  # tests/planted

from benchlib import drop_database, recreate_database, throwaway_server  # noqa: E402
from pghero import queries as pghero  # noqa: E402
from planted import (  # noqa: E402
    EXPOSED_SCHEMAS,
    FUNCTION_CALLS,
    INNOCENTS,
    Defect,
    Planted,
    apply_every_fix,
    build,
    keyed,
    run_ours,
)

from dba_admin.advisors import Finding  # noqa: E402

SPLINTER_COPY = HERE / "splinter" / "splinter.sql"
SPLINTER_MIRROR = Path("/work/.mirror/supabase+splinter/repo")
DATABASE = "advisors_compare"
# Neither splinter nor PgHero sets one; a planted lock must not hang the benchmark (ours run with 5 s).
LOCK_TIMEOUT = "SELECT set_config('lock_timeout', '10s', true)"


def splinter_sql() -> str:
    """The unmodified splinter.sql: the copy in bench/splinter, else the fetched mirror's HEAD."""
    if SPLINTER_COPY.is_file():
        return SPLINTER_COPY.read_text(encoding="utf-8")
    return subprocess.run(
        ["git", "-C", str(SPLINTER_MIRROR), "show", "HEAD:splinter.sql"], capture_output=True, text=True, check=True
    ).stdout


def run_splinter(dsn: str) -> list[dict[str, Any]]:
    """splinter.sql in one transaction (it starts with SET LOCAL search_path = ''), as PostgREST's API schemas."""
    with psycopg.connect(dsn) as conn, conn.transaction(force_rollback=True), conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT set_config('pgrst.db_schemas', %s, true)", (", ".join(EXPOSED_SCHEMAS),))
        cur.execute(LOCK_TIMEOUT)
        cur.execute(splinter_sql().encode())  # two statements: SET LOCAL search_path, then the lints' UNION ALL
        while cur.description is None and cur.nextset():
            pass
        return cur.fetchall()


def lowered_pghero(planted: Planted, dsn: str) -> pghero.Thresholds:
    """PgHero's parameters lowered as ours are (planted.thresholds), where PgHero has such a parameter."""
    t = planted.thresholds
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SHOW autovacuum_freeze_max_age").fetchone()
    freeze_max = int(row[0]) if row else 200_000_000
    return pghero.Thresholds(
        long_running_query_sec=int(t["long_running_query_seconds"]),
        slow_query_calls=1,
        total_connections_threshold=1,
        idle_in_transaction_connections=1,
        unused_index_bytes=0,
        index_bloat_bytes=int(t["index_bloat_min_bytes"]),
        transaction_id_danger_threshold=2146483648 - int(t["xid_age_warn"]),
        autovacuum_danger_threshold=freeze_max - int(t["xid_age_warn"]),
    )


def run_pghero(dsn: str, thresholds: pghero.Thresholds) -> dict[str, list[dict[str, Any]]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(LOCK_TIMEOUT.replace("true", "false"))
        return pghero.run_checks(conn, thresholds)


def _ours_found(defect: Defect, findings: dict[str, Finding]) -> bool:
    return any(
        f.name in defect.ours
        and (defect.database_wide or f.object == defect.object or defect.named_in(f.object, f.detail))
        for f in findings.values()
    )


def _splinter_found(defect: Defect, rows: list[dict[str, Any]]) -> bool:
    return any(
        r["name"] in defect.splinter and defect.named_in(r["detail"], r["cache_key"], json.dumps(r["metadata"]))
        for r in rows
    )


def _pghero_found(defect: Defect, flagged: dict[str, list[dict[str, Any]]]) -> bool:
    return any(
        defect.database_wide or defect.named_in(*row.values())
        for method in defect.pghero
        for row in flagged.get(method, [])
    )


def _runs(dsn: str, function: str) -> bool:
    """The manifest's call of a planted function still works (with the database's search_path)."""
    call = dict(FUNCTION_CALLS)[function]
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(call.encode())
    except psycopg.Error:
        return False
    return True


def _cell(applicable: bool, found: bool) -> str:
    return "n.a." if not applicable else ("found" if found else "-")


def compare(planted: Planted, fixes: bool) -> dict[str, Any]:
    dsn = planted.dsn
    started = time.perf_counter()
    report = run_ours(planted)
    ours_ms = (time.perf_counter() - started) * 1000
    ours = keyed(planted, report)
    started = time.perf_counter()
    splinter_rows = run_splinter(dsn)
    splinter_ms = (time.perf_counter() - started) * 1000
    pghero_default = run_pghero(dsn, pghero.Thresholds())
    pghero_lowered = run_pghero(dsn, lowered_pghero(planted, dsn))

    rows = []
    for d in planted.defects:
        rows.append(
            {
                "id": d.id,
                "object": d.object,
                "description": d.description,
                "ours": _cell(True, _ours_found(d, ours)),
                "splinter": _cell(bool(d.splinter), _splinter_found(d, splinter_rows)),
                "pghero": _cell(bool(d.pghero), _pghero_found(d, pghero_default)),
                "pghero_lowered": _cell(bool(d.pghero), _pghero_found(d, pghero_lowered)),
            }
        )
    innocent = {
        "ours": sorted(
            {
                f"{i.object} ({f.name})"
                for i in INNOCENTS
                for f in ours.values()
                if f.name not in i.allowed and i.named_in(f.object)
            }
        ),
        "splinter": sorted(
            {
                f"{i.object} ({r['name']})"
                for i in INNOCENTS
                for r in splinter_rows
                if r["name"] not in i.allowed and i.named_in(r["detail"], r["cache_key"])
            }
        ),
        "pghero": sorted(
            {
                f"{i.object} ({m})"
                for i in INNOCENTS
                for m, found in pghero_default.items()
                for row in found
                if "database" not in row and i.named_in(*(v for k, v in row.items() if k != "covering_index"))
            }
        ),
    }
    result: dict[str, Any] = {
        "defects": rows,
        "innocents_reported": innocent,
        "failed_checks": [f"{r.name}: {r.message}" for r in report.runs if r.status != "ok"],
        "thresholds": planted.thresholds,
        "ours_ms": round(ours_ms, 1),
        "splinter_ms": round(splinter_ms, 1),
        "ours_findings": len(ours),
        "splinter_rows": len(splinter_rows),
    }
    if fixes:
        round_ = apply_every_fix(planted, report)
        applied = round_.applied()
        not_cleared = {r.finding.cache_key for r in round_.not_cleared()}
        result["fixes"] = {
            "proposed": len(round_.results),
            "applied_cleanly": len(applied),
            "applied_and_cleared": len([r for r in applied if r.finding.cache_key not in not_cleared]),
            "failed": [f"{r.finding.name} {r.finding.object}: {r.error}" for r in round_.results if r.error],
            "not_cleared": [f"{r.finding.name} {r.finding.object}" for r in round_.not_cleared()],
            "functions_broken": [name for name, _ in FUNCTION_CALLS if not _runs(dsn, name)],
            "caused_new_findings": [
                f"fix of {x.name} {x.object} -> new {y.name} {y.object}" for x, y in round_.contradictions()
            ],
        }
    return result


def print_table(result: dict[str, Any]) -> None:
    rows = result["defects"]
    columns = [("ours", "ours"), ("splinter", "splinter"), ("pghero", "PgHero"), ("pghero_lowered", "PgHero*")]
    width = max(len(r["id"]) for r in rows)
    print(f"\n{'defect':<{width}}  " + "  ".join(f"{title:>8}" for _, title in columns) + "  object")
    print("-" * (width + 2 + 10 * len(columns) + 30))
    for r in rows:
        print(f"{r['id']:<{width}}  " + "  ".join(f"{r[key]:>8}" for key, _ in columns) + f"  {r['object']}")
    print("-" * (width + 2 + 10 * len(columns) + 30))
    found = "  ".join(f"{sum(r[k] == 'found' for r in rows):>8}" for k, _ in columns)
    applicable = "  ".join(f"{sum(r[k] != 'n.a.' for r in rows):>8}" for k, _ in columns)
    print(f"{'found':<{width}}  {found}")
    print(f"{'has such a check':<{width}}  {applicable}")
    print(f"{'planted defects':<{width}}  {len(rows):>8}")
    print("\nPgHero: PgHero's default thresholds; PgHero*: lowered as ours are (where PgHero has the parameter).")
    print(f"thresholds given to ours: {json.dumps(result['thresholds'])}")
    print(
        f"one run: ours {result['ours_ms']} ms ({result['ours_findings']} findings), "
        f"splinter {result['splinter_ms']} ms ({result['splinter_rows']} rows)"
    )
    for tool, items in result["innocents_reported"].items():
        print(f"innocent objects reported by {tool}: {len(items)}" + "".join(f"\n  {i}" for i in items))
    if result["failed_checks"]:
        print("checks of ours that failed: " + "; ".join(result["failed_checks"]))
    fixes = result.get("fixes")
    if fixes:
        print(
            f"\nours' fix_sql: {fixes['proposed']} proposed, {fixes['applied_cleanly']} applied cleanly, "
            f"{fixes['applied_and_cleared']} applied and cleared their finding, "
            f"{len(fixes['caused_new_findings'])} new findings caused by a fix"
        )
        print(f"  planted functions that no longer run after the fixes: {len(fixes['functions_broken'])}")
        for title in ("failed", "not_cleared", "caused_new_findings", "functions_broken"):
            for item in fixes[title]:
                print(f"  {title}: {item}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dsn", nargs="?", default=os.environ.get("BENCH_DSN"), help="superuser DSN (or BENCH_DSN)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch database")
    ap.add_argument("--no-fixes", action="store_true", help="do not apply ours' fix_sql (the table only)")
    ap.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = ap.parse_args(argv)

    with contextlib.ExitStack() as stack:
        dsn = args.dsn
        if not dsn:
            _, dsn = stack.enter_context(throwaway_server(fast=True))
        with psycopg.connect(dsn, autocommit=True) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        print(f"PostgreSQL {version[0] if version else '?'}; PgHero SQL of commit {pghero.PGHERO_COMMIT[:12]}")
        db_dsn = recreate_database(dsn, DATABASE)
        planted = build(db_dsn)
        try:
            result = compare(planted, fixes=not args.no_fixes)
        finally:
            planted.close()
        print_table(result)
        if args.json:
            print(json.dumps(result, indent=2, default=str))
        if not args.keep:
            drop_database(dsn, DATABASE)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
