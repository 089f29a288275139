"""Benchmark: the Fleet page's collection (dba_admin.fleet.collect_fleet) over 20 registered connections, one dead.

Usage:
    python bench/fleet_bench.py [--connections 20] [--runs 3] [--timeout 5] [--tables 30]

Starts a throwaway embedded workspace (dba_admin.local_pg, demo off) in a temp dir, creates ``--connections - 1``
databases on it (each with ``--tables`` small tables, half without a primary key so the advisors find something),
registers them as connections (superuser DSN as their monitor login) plus one dead connection, then times, side by
side, median of ``--runs`` runs each (interleaved, after a warm-up):

* ``parallel``    collect_fleet(...) as the page calls it (up to 32 probes at once)
* ``sequential``  the same code with one worker: probes one after another (the baseline)

for two kinds of dead connection: ``refused`` (a closed port: the connection is refused at once) and ``silent`` (a
TCP server that accepts and never answers: a hung server or black-holed host, which costs the whole time limit),
with and without the advisors' checks (run afresh each time: ``advisors_max_age_s=0``, what "Refresh" does; the
page's ordinary reruns reuse them for ADVISORS_MAX_AGE_S and cost what "off" costs).
Everything it started is stopped and deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dba_admin.config import Settings
from dba_admin.connections import ConnectionSecrets
from dba_admin.fleet import OK, collect_fleet
from dba_admin.local_pg import EmbeddedPostgres
from dba_admin.services import Services


class SilentServer:
    """Accepts TCP connections on loopback and never sends a byte."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port = int(self._sock.getsockname()[1])
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                self._held.append(self._sock.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()
        for conn in self._held:
            conn.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def setup(services: Services, server: EmbeddedPostgres, n: int, tables: int, silent_port: int) -> dict[str, list[str]]:
    """n-1 real connections, one refused and one silent; returns the two name lists to collect."""
    real = [f"bench-{i:02d}" for i in range(1, n)]
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        for name in real:
            database = name.replace("-", "_")
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
            with psycopg.connect(server.dsn(dbname=database), autocommit=True) as db:
                for t in range(tables):
                    key = "primary key" if t % 2 else ""
                    db.execute(sql.SQL(f"create table {{}} (id int {key}, v text)").format(sql.Identifier(f"t{t}")))
            services.registry.add(name, ConnectionSecrets(server.dsn(dbname=database)), actor="bench")
    services.registry.add(
        "dead-refused", ConnectionSecrets(f"host=127.0.0.1 port={closed_port()} dbname=x user=u"), actor="bench"
    )
    services.registry.add(
        "dead-silent", ConnectionSecrets(f"host=127.0.0.1 port={silent_port} dbname=x user=u"), actor="bench"
    )
    return {"refused": [*real, "dead-refused"], "silent": [*real, "dead-silent"]}


def timed(
    services: Services, names: list[str], *, workers: int | None, timeout: float, advisors: bool
) -> tuple[float, int]:
    """Seconds for one collection, and how many rows had partial advisor counts (checks cut by the limit)."""
    started = time.perf_counter()
    rows = collect_fleet(services, names, timeout_s=timeout, advisors=advisors, workers=workers, advisors_max_age_s=0)
    elapsed = time.perf_counter() - started
    ok = sum(1 for r in rows if r.status == OK)
    assert ok == len(names) - 1, [(r.name, r.status, r.reason) for r in rows if r.status != OK]
    return elapsed, sum(1 for r in rows if r.checks_run < r.checks_total)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connections", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=5.0, help="FLEET_TIMEOUT_S (default 5, the setting's)")
    ap.add_argument("--tables", type=int, default=30)
    args = ap.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="dba-admin-fleet-bench-"))
    root.chmod(0o711)  # the unprivileged PostgreSQL user (when run as root) must reach the cluster inside
    settings = Settings(data_dir=root / "data", load_demo=False, fleet_timeout_s=args.timeout)
    silent = SilentServer()
    services: Services | None = None
    try:
        services = Services.build(settings)
        server = EmbeddedPostgres(settings.data_dir)
        began = time.perf_counter()
        lists = setup(services, server, args.connections, args.tables, silent.port)
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            version = conn.execute("show server_version").fetchone()
        print(
            f"PostgreSQL {version[0] if version else '?'} (embedded, one server for all); psycopg "
            f"{psycopg.__version__}; Python {sys.version.split()[0]}; {args.connections} connections "
            f"({args.connections - 1} real, 1 dead), {args.tables} tables each; FLEET_TIMEOUT_S={args.timeout:g}; "
            f"setup {time.perf_counter() - began:.1f} s; median of {args.runs} runs; load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        results: list[dict[str, Any]] = []
        for dead in ("refused", "silent"):
            for advisors in (False, True):
                names = lists[dead]
                timed(services, names, workers=None, timeout=args.timeout, advisors=advisors)  # warm-up
                par: list[float] = []
                seq: list[float] = []
                partial = 0
                for _ in range(args.runs):
                    elapsed, cut = timed(services, names, workers=None, timeout=args.timeout, advisors=advisors)
                    par.append(elapsed)
                    partial = max(partial, cut)
                    seq.append(timed(services, names, workers=1, timeout=args.timeout, advisors=advisors)[0])
                results.append(
                    {
                        "dead": dead,
                        "advisors": advisors,
                        "parallel_s": statistics.median(par),
                        "sequential_s": statistics.median(seq),
                        "partial": partial,
                    }
                )
                print(f"  dead={dead:<8} advisors={'on' if advisors else 'off':<3} done", flush=True)
        print()
        header = f"{'dead connection':<17}{'advisors':<10}{'parallel (s)':>14}{'sequential (s)':>16}{'ratio':>8}"
        print(header + f"{'partial counts':>16}")
        for r in results:
            ratio = r["sequential_s"] / r["parallel_s"]
            print(
                f"{r['dead']:<17}{'on' if r['advisors'] else 'off':<10}{r['parallel_s']:>14.2f}"
                f"{r['sequential_s']:>16.2f}{ratio:>7.1f}x{r['partial']:>16}"
            )
        print("\nratio = sequential median / parallel median (same code, workers=1 vs up to 32)")
        print("partial counts = rows (parallel runs, worst) whose checks did not all fit in FLEET_TIMEOUT_S")
        print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    finally:
        if services is not None:
            services.close()
        silent.close()
        EmbeddedPostgres(settings.data_dir).destroy()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
