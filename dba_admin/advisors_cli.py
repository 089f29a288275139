"""`dba-admin advise` and `dba-admin snapshot`: the advisors and metrics snapshots for cron and CI.

``advise --fail-on ERROR`` exits 1 when an unmuted finding at that level or above exists, so a CI job can
refuse a migration that leaves a table unprotected. ``advise --all`` checks every registered connection at once,
each within ``FLEET_TIMEOUT_S``: one dead or slow database is reported as such without slowing the rest, and makes
the exit code 1. Both run on a connection's monitor login; what they store (snapshots, mutes) goes to the
workspace. dba_admin/cli.py calls :func:`register` to add them.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dba_admin.config import Settings
from dba_admin.errors import DbaAdminError, one_line
from dba_admin.levels import CATEGORIES, LEVELS

if TYPE_CHECKING:
    from dba_admin.advisors import AdvisorReport, Finding

FLEET_MAX_WORKERS = 32
# Connections checked at once by default. Measured (bench/advise_all_bench.py, 19 databases on one 2-CPU server): 8
# finishes as fast as 20 at once, and each connection's own clock (its FLEET_TIMEOUT_S) then measures its database,
# not the queue for the CPU; all at once pushed per-connection times to the timeout and reported healthy ones late.
FLEET_DEFAULT_WORKERS = 8


def register(subparsers: Any) -> None:
    """Add `advise` and `snapshot` to the `dba-admin` sub-command parser (an argparse subparsers action)."""
    # cli imports this module only inside its parser builder
    from dba_admin.cli import add_connection_option, add_json_flags

    advise = subparsers.add_parser(
        "advise", help="run the advisor checks (security, performance, maintenance) and print the findings"
    )
    add_json_flags(advise, "print the findings and check runs as JSON")
    advise.add_argument(
        "--category",
        action="append",
        type=str.upper,
        choices=CATEGORIES,
        default=None,
        help="only this category (repeatable)",
    )
    advise.add_argument(
        "--fail-on",
        type=str.upper,
        choices=LEVELS,
        default=None,
        help="exit 1 when an unmuted finding at this level or above exists (for cron and CI)",
    )
    advise.add_argument(
        "--all", action="store_true", help="every registered connection, in parallel (exit 1 if one is unreachable)"
    )
    advise.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"with --all: connections checked at once (default {FLEET_DEFAULT_WORKERS}, at most {FLEET_MAX_WORKERS};"
        " 1: one by one)",
    )
    advise.add_argument(
        "--timeout", type=float, default=None, help="with --all: seconds per connection (default FLEET_TIMEOUT_S)"
    )
    add_connection_option(advise)
    advise.set_defaults(func=cmd_advise)

    snapshot = subparsers.add_parser(
        "snapshot", help="store database/table sizes, index usage and top statement stats (run it from cron)"
    )
    add_json_flags(snapshot)
    snapshot.add_argument("--if-due", action="store_true", help="only when the newest snapshot is over an hour old")
    add_connection_option(snapshot)
    snapshot.set_defaults(func=cmd_snapshot)


def _actor() -> str:
    return f"cli:{os.environ.get('USER', 'unknown')}"


def _print_finding(finding: Finding) -> None:
    print(f"{finding.level:<5}  {finding.category:<11}  {finding.name}  {finding.object}")
    print(f"       {finding.detail}")
    if finding.remediation:
        print(f"       fix: {finding.remediation}")
    if finding.fix_sql:
        print(f"       sql: {finding.fix_sql}")


def print_report(report: AdvisorReport) -> None:
    """The human-readable report: counts, then findings by level, then the muted ones, then check problems."""
    counts = report.counts()
    summary = ", ".join(f"{counts[level]} {level}" for level in reversed(LEVELS))
    print(
        f"{len(report.active)} finding(s): {summary}; {len(report.muted)} muted;"
        f" {len(report.runs)} check(s) run, {len(report.unavailable_checks)} not available,"
        f" {len(report.failed_checks)} failed"
    )
    for finding in report.active:
        print()
        _print_finding(finding)
    if report.muted:
        print("\nmuted:")
        for finding in report.muted:
            why = finding.mute_reason or "-"
            print(f"  {finding.level:<5}  {finding.name}  {finding.object}  (by {finding.muted_by}: {why})")
    for run in report.unavailable_checks:
        print(f"\nnot available: {run.name}: {run.message}", file=sys.stderr)


def cmd_advise(settings: Settings, args: argparse.Namespace) -> int:
    from dba_admin.cli import _manager, _print_json

    if getattr(args, "all", False):
        return _advise_all(settings, args)
    with _manager(settings) as db:
        from dba_admin.advisors import run_checks

        report = run_checks(db, categories=args.category)
    if args.json:
        _print_json(report.to_dict(), pretty=args.pretty)
    else:
        print_report(report)
    if args.fail_on and report.fails_at(args.fail_on):
        return 1
    return 0


def cmd_snapshot(settings: Settings, args: argparse.Namespace) -> int:
    from dba_admin.cli import _manager, _print_json

    with _manager(settings) as db:
        from dba_admin.advisors import take_snapshot, take_snapshot_if_due

        summary = take_snapshot_if_due(db, actor=_actor()) if args.if_due else take_snapshot(db, actor=_actor())
    if summary is None:
        message = {"taken": False, "reason": "the newest snapshot is less than an hour old"}
        if args.json:
            _print_json(message, pretty=args.pretty)
        else:
            print("no snapshot taken: the newest is less than an hour old")
        return 0
    if args.json:
        _print_json(summary, pretty=args.pretty)
    else:
        print(
            f"snapshot {summary.id} at {summary.taken_at:%Y-%m-%d %H:%M:%S %Z}:"
            f" database {summary.database_size_bytes} bytes,"
            f" {summary.tables} table(s), {summary.indexes} index(es), {summary.statements} statement(s)"
            + ("" if summary.statements_available else " (pg_stat_statements not available)")
        )
    return 0


# ---------------------------------------------------------------------------------------------------------------
# advise --all: every registered connection at once
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class FleetResult:
    """One connection's outcome: ``ok`` (its report), ``unreachable``, ``timeout`` or ``error`` (and why)."""

    connection: str
    status: str = "timeout"
    seconds: float = 0.0
    message: str | None = None
    report: AdvisorReport | None = None
    started: float | None = field(default=None, repr=False)

    def fails(self, level: str | None) -> bool:
        if self.status != "ok" or self.report is None:
            return True
        return bool(level) and self.report.fails_at(str(level))

    def to_dict(self, level: str | None) -> dict[str, Any]:
        return {
            "connection": self.connection,
            "status": self.status,
            "seconds": round(self.seconds, 3),
            "message": self.message,
            "fails": self.fails(level),
            "counts": self.report.counts() if self.report is not None else None,
            "muted": len(self.report.muted) if self.report is not None else None,
            "report": self.report.to_dict() if self.report is not None else None,
        }


def _check_one(targets: Any, name: str, result: FleetResult, categories: list[str] | None, timeout_s: float) -> None:
    """Reach the connection with a short connect timeout first (a dead one fails here, in seconds, instead of
    in the pool's wait), then run the advisors on its monitor login."""
    import psycopg

    result.started = time.monotonic()
    try:
        secrets, _ = targets.registry.secrets(name)
        try:
            with psycopg.connect(secrets.monitor, connect_timeout=max(2, math.ceil(timeout_s)), autocommit=True):
                pass
        except psycopg.Error as exc:
            result.status, result.message = "unreachable", one_line(exc)
            return
        from dba_admin.advisors import run_checks

        report = run_checks(targets.get(name), categories=categories)
        result.report, result.status = report, "ok"
    except (DbaAdminError, psycopg.Error) as exc:
        result.status, result.message = "error", one_line(exc)
    except Exception as exc:  # one connection's surprise must not hide the others' reports
        result.status, result.message = "error", f"{type(exc).__name__}: {one_line(exc)}"
    finally:
        result.seconds = time.monotonic() - result.started


def advise_fleet(
    settings: Settings,
    *,
    categories: list[str] | None = None,
    workers: int | None = None,
    timeout_s: float | None = None,
) -> list[FleetResult]:
    """Run the advisors on every registered connection, ``workers`` at once (default 8), each within ``timeout_s``
    counted from its own start.

    Daemon threads, not a ThreadPoolExecutor: the executor joins its threads when the interpreter exits, so one
    connection stuck past its timeout would hold a cron job until its statements end; a daemon thread does not.
    A connection's statements are bounded by the timeout too (statement_timeout), so a slow one stops on its own.
    """
    from dba_admin.cli import _registry, _workspace
    from dba_admin.connections import Targets

    limit = float(timeout_s if timeout_s is not None else settings.fleet_timeout_s)
    if limit <= 0:
        raise DbaAdminError("--timeout must be positive")
    bounded = settings.with_overrides(
        statement_timeout_ms=min(settings.statement_timeout_ms, max(1000, int(limit * 1000))),
        max_open_connections=max(settings.max_open_connections, FLEET_MAX_WORKERS),
    )
    workspace = _workspace(bounded)
    targets = Targets(workspace, _registry(bounded, workspace))
    try:
        names = [info.name for info in targets.registry.list()]
        results = {name: FleetResult(name) for name in names}
        slots = threading.Semaphore(max(1, min(workers or FLEET_DEFAULT_WORKERS, FLEET_MAX_WORKERS, len(names) or 1)))

        def run(name: str) -> None:
            with slots:
                _check_one(targets, name, results[name], categories, limit)

        threads = {name: threading.Thread(target=run, args=(name,), daemon=True) for name in names}
        for thread in threads.values():
            thread.start()
        pending = set(names)
        while pending:
            now = time.monotonic()
            for name in list(pending):
                result = results[name]
                if not threads[name].is_alive():
                    pending.discard(name)
                elif result.started is not None and now - result.started > limit:
                    result.status, result.seconds = "timeout", now - result.started
                    result.message = f"no answer within {limit:g} s (FLEET_TIMEOUT_S)"
                    result.report = None
                    pending.discard(name)
            if pending:
                time.sleep(0.02)
        # A timed-out check keeps its thread until its statement times out: its result is not read any more.
        return [FleetResult(**{**vars(results[name])}) for name in names]
    finally:
        targets.close()
        workspace.close()


def _advise_all(settings: Settings, args: argparse.Namespace) -> int:
    from dba_admin.cli import _print_json, _print_table

    if getattr(args, "connection", None):
        raise DbaAdminError("--all checks every registered connection: leave out --connection")
    if args.workers is not None and args.workers < 1:
        raise DbaAdminError("--workers must be 1 or more")
    started = time.monotonic()
    results = advise_fleet(settings, categories=args.category, workers=args.workers, timeout_s=args.timeout)
    elapsed = time.monotonic() - started
    level = args.fail_on
    failing = [r for r in results if r.fails(level)]
    if args.json:
        _print_json(
            {
                "fail_on": level,
                "ok": not failing,
                "seconds": round(elapsed, 3),
                "connections": [r.to_dict(level) for r in results],
            },
            pretty=args.pretty,
        )
    else:
        rows = []
        for r in results:
            counts = r.report.counts() if r.report is not None else None
            rows.append(
                (
                    r.connection,
                    r.status,
                    *((counts[lv] for lv in reversed(LEVELS)) if counts else ("-",) * len(LEVELS)),
                    len(r.report.muted) if r.report is not None else "-",
                    f"{r.seconds:.2f}s",
                    "FAIL" if r.fails(level) else "",
                    r.message or "",
                )
            )
        _print_table(("CONNECTION", "STATUS", *reversed(LEVELS), "MUTED", "TIME", "", "MESSAGE"), rows)
        for r in results:
            if level and r.report is not None and r.report.fails_at(level):
                threshold = LEVELS.index(level)
                print(f"\n{r.connection}:")
                for finding in r.report.active:
                    if LEVELS.index(finding.level) >= threshold:
                        _print_finding(finding)
        summary = f"{len(results)} connection(s) in {elapsed:.2f}s"
        if failing:
            summary += f"; failing: {', '.join(r.connection for r in failing)}"
        print(f"\n{summary}")
    return 1 if failing else 0
