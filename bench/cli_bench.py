"""Benchmark: the `dba-admin` command line against psql, side by side, in one run (issue 17).

Usage:
    python bench/cli_bench.py [--tables 5000] [--runs 5] [--before REV]

A throwaway data dir gets its own embedded workspace (`dba-admin migrate`, which also loads the demo). Two scratch
databases on that server are registered as connections: ``bench_empty`` (no table) and ``bench_wide`` (--tables
tables of 10 columns, created 500 per transaction). Each command then runs as a new process, as a cron job or a CI
step would run it, median of --runs after a warm-up:

* ``tables --json``: dba-admin on each database, and psql running the raw catalog query (tables and their columns)
  with the same logins. What is compared is the *increment* over the empty database, which is the part that grows
  with the schema: (cli wide - cli empty) / (psql wide - psql empty).
* ``sql "select 1" --read-only --json``: dba-admin against ``psql -c 'select 1'`` on the read-only login.

``--before REV`` also runs every dba-admin command from a checkout of that git revision (a temporary detached
worktree, removed at the end) on the same workspace and databases, so the table shows before, after and psql
side by side from one run.

The scratch server is stopped and its data dir deleted at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchlib import checkout, dsn_for

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "dba_admin.cli"]
BATCH = 500

RAW_TABLES_SQL = """
SELECT n.nspname, c.relname, c.relkind, c.reltuples, pg_total_relation_size(c.oid),
       a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
ORDER BY 1, 2, a.attnum
"""


def _timed(command: list[str], env: dict[str, str]) -> float:
    # In the tree on PYTHONPATH: `python -m` puts the working directory first on sys.path, so started from this
    # repository's root the --before run would import this tree's dba_admin, not the old one.
    started = time.perf_counter()
    cwd = env.get("PYTHONPATH", str(ROOT))
    subprocess.run(command, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def _median(command: list[str], env: dict[str, str], runs: int) -> float:
    _timed(command, env)  # warm-up: page cache, catalog caches, .pyc files
    return statistics.median(_timed(command, env) for _ in range(runs))


def _wide_database(admin_dsn: str, name: str, tables: int) -> str:
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = dsn_for(admin_dsn, name)
    columns = ", ".join(f"c{i} text" for i in range(1, 10))
    with psycopg.connect(dsn) as conn:
        for start in range(0, tables, BATCH):
            for i in range(start, min(start + BATCH, tables)):
                conn.execute(
                    sql.SQL(f"CREATE TABLE {{}} (id bigint primary key, {columns})").format(sql.Identifier(f"t{i:05}"))
                )
            conn.commit()
    return dsn


def _row(label: str, ours: float, baseline: float, before: float | None = None) -> None:
    then = f" {before:>9.3f}s {before / baseline:>6.2f}x" if before is not None else ""
    print(f"{label:<44} {ours:>9.3f}s {baseline:>9.3f}s {ours / baseline:>6.2f}x{then}")


@contextlib.contextmanager
def _maybe_checkout(revision: str | None) -> Iterator[Path | None]:
    if revision is None:
        yield None
    else:
        with checkout(revision) as tree:
            yield tree


def _compile(tree: Path) -> None:
    """Bytecode for a tree's package, as ``pip install`` writes it for an installed app: with PYTHONDONTWRITEBYTECODE
    set (this sandbox sets it; so do many container images) no run writes it, and every start would compile the
    sources again (about 0.1 s of ``sql "select 1"``), which is not what an installed dba-admin does."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "dba_admin")], check=True)


def _compare(args: argparse.Namespace, env: dict[str, str], before_tree: Path | None) -> None:
    """Set up the two databases, then time each command: this tree, psql and, with --before, the old tree."""
    for tree in (ROOT, before_tree):
        if tree is not None:
            _compile(tree)
    before_env = {**env, "PYTHONPATH": str(before_tree)} if before_tree else None
    subprocess.run([*CLI, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    admin_dsn = subprocess.run([*CLI, "db-url"], env=env, check=True, capture_output=True, text=True).stdout.strip()
    dsns = {"bench_empty": _wide_database(admin_dsn, "bench_empty", 0)}
    dsns["bench_wide"] = _wide_database(admin_dsn, "bench_wide", args.tables)
    for name, dsn in dsns.items():
        subprocess.run(
            [*CLI, "connection", "add", name, "--dsn", dsn, "--readonly-dsn", dsn],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,  # the warnings that a superuser login is used: true, and expected here
        )
    print(f"{args.tables:,} tables x 10 columns; medians of {args.runs} runs, each a new process")
    header = f"{'command':<44} {'dba-admin':>10} {'psql':>10} {'ratio':>7}"
    print(header + (f" {'before':>10} {'ratio':>7}  (before = {args.before})" if before_env else ""))
    cli: dict[str, float] = {}
    raw: dict[str, float] = {}
    old: dict[str, float] = {}
    for name, dsn in dsns.items():
        command = [*CLI, "tables", "--json", "--connection", name]
        cli[name] = _median(command, env, args.runs)
        raw[name] = _median(["psql", dsn, "-Atqc", RAW_TABLES_SQL], env, args.runs)
        if before_env:
            old[name] = _median(command, before_env, args.runs)
        _row(f"tables --json ({name})", cli[name], raw[name], old.get(name))
    raw_inc = raw["bench_wide"] - raw["bench_empty"]
    old_inc = old["bench_wide"] - old["bench_empty"] if old else None
    _row("tables --json, increment over empty", cli["bench_wide"] - cli["bench_empty"], raw_inc, old_inc)
    command = [*CLI, "sql", "select 1", "--read-only", "--json", "--connection", "bench_empty"]
    one = _median(command, env, args.runs)
    psql_one = _median(["psql", dsns["bench_empty"], "-Atqc", "select 1"], env, args.runs)
    _row(
        'sql "select 1" --read-only --json',
        one,
        psql_one,
        _median(command, before_env, args.runs) if before_env else None,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--before", help="a git revision whose dba-admin is timed beside this one (e.g. main~5)")
    args = parser.parse_args(argv)

    data_dir = Path(tempfile.mkdtemp(prefix="dba-admin-cli-bench-"))
    data_dir.chmod(0o711)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "READONLY_DATABASE_URL")}
    env.update(DBA_ADMIN_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT))
    with _maybe_checkout(args.before) as before_tree:
        try:
            _compare(args, env, before_tree)
        finally:
            subprocess.run([*CLI, "stop"], env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
