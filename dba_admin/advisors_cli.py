"""`dba-admin advise` and `dba-admin snapshot`: the advisors and metrics snapshots for cron and CI.

``advise --fail-on ERROR`` exits 1 when an unmuted finding at that level or above exists, so a CI job can
refuse a migration that leaves a table unprotected. dba_admin/cli.py calls :func:`register` to add them.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from dba_admin.advisors import (
    CATEGORIES,
    LEVELS,
    AdvisorReport,
    Finding,
    run_checks,
    take_snapshot,
    take_snapshot_if_due,
)
from dba_admin.config import Settings


def register(subparsers: Any) -> None:
    """Add `advise` and `snapshot` to the `dba-admin` sub-command parser (an argparse subparsers action)."""
    advise = subparsers.add_parser(
        "advise", help="run the advisor checks (security, performance, maintenance) and print the findings"
    )
    advise.add_argument("--json", action="store_true", help="print the findings and check runs as JSON")
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
    advise.set_defaults(func=cmd_advise)

    snapshot = subparsers.add_parser(
        "snapshot", help="store database/table sizes, index usage and top statement stats (run it from cron)"
    )
    snapshot.add_argument("--json", action="store_true")
    snapshot.add_argument("--if-due", action="store_true", help="only when the newest snapshot is over an hour old")
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

    with _manager(settings) as db:
        report = run_checks(db, categories=args.category)
    if args.json:
        _print_json(report.to_dict())
    else:
        print_report(report)
    if args.fail_on and report.fails_at(args.fail_on):
        return 1
    return 0


def cmd_snapshot(settings: Settings, args: argparse.Namespace) -> int:
    from dba_admin.cli import _manager, _print_json

    with _manager(settings) as db:
        summary = take_snapshot_if_due(db, actor=_actor()) if args.if_due else take_snapshot(db, actor=_actor())
    if summary is None:
        message = {"taken": False, "reason": "the newest snapshot is less than an hour old"}
        if args.json:
            _print_json(message)
        else:
            print("no snapshot taken: the newest is less than an hour old")
        return 0
    if args.json:
        _print_json(summary)
    else:
        print(
            f"snapshot {summary.id} at {summary.taken_at:%Y-%m-%d %H:%M:%S %Z}:"
            f" database {summary.database_size_bytes} bytes,"
            f" {summary.tables} table(s), {summary.indexes} index(es), {summary.statements} statement(s)"
            + ("" if summary.statements_available else " (pg_stat_statements not available)")
        )
    return 0
