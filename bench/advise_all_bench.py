"""Benchmark: `dba-admin advise --all` over 20 registered connections, one of them dead; one by one vs in parallel.

Usage:
    python bench/advise_all_bench.py [--connections 20] [--runs 5] [--dead refused|silent] [--timeout S]

A throwaway embedded workspace (dba_admin.local_pg, data dir under /tmp) is prepared by the app's own bootstrap
(no demo). On the same cluster, ``--connections - 1`` databases are created, each with a small plain schema
(tables, an index, a view, a function, some rows) and registered with a monitor login of their own (pg_monitor,
CONNECT, USAGE and SELECT on public: what `connection setup` makes); the last connection is dead:

* ``refused``: a loopback port nobody listens on (connecting fails at once);
* ``silent``:  a loopback port that accepts TCP and never answers (it costs the whole --timeout).

Then the real CLI entry point, ``main(["advise", "--all", "--json", ...])``, is timed end to end (workspace
opened, registry read, every connection checked, JSON printed), median of --runs runs each, interleaved after one
warm-up of each: ``--workers 1`` (one connection after another: the baseline) and the default (all at once).
The cluster is destroyed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import secrets
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dba_admin.bootstrap import prepare_database
from dba_admin.cli import main
from dba_admin.config import Settings
from dba_admin.connections import ConnectionSecrets, Registry, SecretBox
from dba_admin.database import DatabaseManager
from dba_admin.local_pg import EmbeddedPostgres

SCHEMA = """
create table public.customers (id bigint generated always as identity primary key, email text not null unique,
                               name text, created_at timestamptz not null default now());
create table public.orders (id bigint generated always as identity primary key,
                            customer_id bigint not null references public.customers (id), total numeric(10, 2),
                            placed_at timestamptz not null default now());
create index orders_customer_id_idx on public.orders (customer_id);
create view public.order_totals as
    select c.id, count(o.id) as orders from public.customers c left join public.orders o on o.customer_id = c.id
    group by c.id;
create function public.customer_spent(p_id bigint) returns numeric language sql stable set search_path = ''
    as $$ select coalesce(sum(total), 0) from public.orders where customer_id = p_id $$;
insert into public.customers (email, name) select 'c' || g || '@example.com', 'C ' || g from generate_series(1, 200) g;
insert into public.orders (customer_id, total) select 1 + g % 200, g from generate_series(1, 2000) g;
analyze;
"""
MONITOR = "bench_monitor"


def _setup(server: EmbeddedPostgres, settings: Settings, count: int, dead_dsn: str) -> None:
    admin = server.dsn()
    password = secrets.token_urlsafe(16)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("create role {} login password {}").format(sql.Identifier(MONITOR), sql.Literal(password)))
        conn.execute(sql.SQL("grant pg_monitor to {}").format(sql.Identifier(MONITOR)))
    workspace = DatabaseManager(settings, admin)
    registry = Registry(workspace, SecretBox.from_settings(settings, embedded=True))
    try:
        for i in range(count - 1):
            name = f"bench_{i:02d}"
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
            with psycopg.connect(server.dsn(dbname=name), autocommit=True) as conn:
                conn.execute(SCHEMA)
                conn.execute(
                    sql.SQL("grant select on all tables in schema public to {}").format(sql.Identifier(MONITOR))
                )
            registry.add(
                f"db-{i:02d}",
                ConnectionSecrets(server.dsn(user=MONITOR, password=password, dbname=name)),
                actor="bench",
            )
        registry.add("dead", ConnectionSecrets(dead_dsn), actor="bench")
    finally:
        workspace.close()


def _advise_all(*extra: str) -> tuple[float, dict[str, Any]]:
    out = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = main(["advise", "--all", "--json", *extra])
    elapsed = time.perf_counter() - started
    report = json.loads(out.getvalue())
    report["exit_code"] = code
    return elapsed, report


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dead", choices=("refused", "silent"), default="refused")
    parser.add_argument("--timeout", type=float, default=None, help="FLEET_TIMEOUT_S for the runs (default 5)")
    parser.add_argument(
        "--workers",
        type=lambda v: [int(x) for x in v.split(",") if x.strip()],
        default=[],
        help="more parallel levels to time beside the default, e.g. 4,20",
    )
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="advise-all-bench-"))
    root.chmod(0o711)  # the unprivileged server user (when run as root) reaches the cluster inside
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    if args.dead == "silent":
        listener.listen(64)  # handshakes complete in the kernel; nothing ever answers
    else:
        listener.close()  # nobody listens: refused at once
    dead_dsn = f"host=127.0.0.1 port={port} dbname=gone user=nobody password=x connect_timeout=2"
    data_dir = root / "data"
    settings = Settings(data_dir=data_dir, load_demo=False)
    server = EmbeddedPostgres(data_dir, fast=True)
    saved_env = {k: os.environ.get(k) for k in ("DBA_ADMIN_DATA_DIR", "DATABASE_URL", "FLEET_TIMEOUT_S")}
    try:
        t0 = time.perf_counter()
        prepare_database(settings)
        _setup(server, settings, args.connections, dead_dsn)
        print(f"setup: workspace + {args.connections - 1} databases + 1 dead DSN in {time.perf_counter() - t0:.1f} s")
        os.environ["DBA_ADMIN_DATA_DIR"] = str(data_dir)
        os.environ.pop("DATABASE_URL", None)
        if args.timeout is not None:
            os.environ["FLEET_TIMEOUT_S"] = str(args.timeout)
        modes: dict[str, tuple[str, ...]] = {"sequential (--workers 1)": ("--workers", "1")}
        for n in args.workers:
            modes[f"parallel (--workers {n})"] = ("--workers", str(n))
        modes["parallel (default)"] = ()
        times: dict[str, list[float]] = {mode: [] for mode in modes}
        last: dict[str, dict[str, Any]] = {}
        for extra in modes.values():  # warm-up: caches, the first decryption, pool code paths
            _advise_all(*extra)
        for _ in range(args.runs):
            for mode, extra in modes.items():
                elapsed, report = _advise_all(*extra)
                times[mode].append(elapsed)
                last[mode] = report
        print(
            f"\n`dba-admin advise --all --json` over {args.connections} connections"
            f" ({args.connections - 1} databases on one local PostgreSQL, 1 dead: {args.dead});"
            f" {os.cpu_count()} CPU(s); median of {args.runs} runs\n"
        )
        print(f"{'mode':<26}{'median s':>10}{'min s':>9}{'max s':>9}   statuses")
        for mode in modes:
            statuses: dict[str, int] = {}
            for c in last[mode]["connections"]:
                statuses[c["status"]] = statuses.get(c["status"], 0) + 1
            print(
                f"{mode:<26}{statistics.median(times[mode]):>10.2f}{min(times[mode]):>9.2f}{max(times[mode]):>9.2f}"
                f"   {statuses} exit={last[mode]['exit_code']}"
            )
        seq = statistics.median(times["sequential (--workers 1)"])
        par = statistics.median(times["parallel (default)"])
        print(f"\nparallel / sequential: {par / seq:.2f} (speed-up x{seq / par:.1f})")
        per = [c["seconds"] for c in last["parallel (default)"]["connections"] if c["status"] == "ok"]
        per_seq = [c["seconds"] for c in last["sequential (--workers 1)"]["connections"] if c["status"] == "ok"]
        if per and per_seq:
            print(
                f"per connection (advisors, median): sequential {statistics.median(per_seq):.2f} s,"
                f" parallel {statistics.median(per):.2f} s (they share {os.cpu_count()} CPU(s) and one server)"
            )
        dead = [c for c in last["parallel (default)"]["connections"] if c["connection"] == "dead"]
        if dead:
            print(f"dead connection: {dead[0]['status']} after {dead[0]['seconds']:.2f} s ({dead[0]['message']})")
    finally:
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        listener.close()
        server.destroy()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main_bench()
