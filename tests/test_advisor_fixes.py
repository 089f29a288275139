"""Issue 13's "Done when": on the planted database (tests/planted), the advisors find every planted defect of ours
and report no innocent object; then every fix_sql they propose is applied, each in its own autocommit connection
(live sessions included: cancelling or terminating a backend counts), with every check run again after each fix so
that a new finding is pinned on the fix that caused it. At the end:

(a) no fix caused a finding that was not there before (a new cache_key);
(b) every finding whose fix was applied is gone, except those named in NOT_CLEARABLE with why;
(c) every function planted in the database still runs.

Every problem is collected and reported together, so one run lists all contradictions ("fix of X -> new Y").
"""

from __future__ import annotations

import psycopg
from planted import (
    FUNCTION_CALLS,
    INNOCENTS,
    Planted,
    apply_every_fix,
    build,
    keyed,
    run_ours,
)

from dba_admin.advisors import Finding, load_checks

# Findings whose fix cannot clear them in a test database, by check name, with why. Empty: every applied fix must
# clear its finding.
NOT_CLEARABLE: dict[str, str] = {}


def _line(finding: Finding) -> str:
    return f"{finding.name} on {finding.object}"


def _found(planted: Planted, findings: dict[str, Finding]) -> tuple[list[str], list[str]]:
    """(defects missed because the check does not exist, defects missed by an existing check)."""
    existing = {c.name for c in load_checks()}
    no_check, missed = [], []
    for defect in planted.defects:
        hits = [
            f
            for f in findings.values()
            if f.name in defect.ours
            and (defect.database_wide or f.object == defect.object or defect.named_in(f.object, f.detail))
        ]
        if hits:
            continue
        absent = [name for name in defect.ours if name not in existing]
        label = f"{defect.id} ({defect.object}: {defect.description}) by {', '.join(defect.ours)}"
        (no_check if absent else missed).append(label)
    return no_check, missed


def _innocents_reported(findings: dict[str, Finding]) -> list[str]:
    out = []
    for innocent in INNOCENTS:
        for f in findings.values():
            if f.name in innocent.allowed:
                continue
            if innocent.named_in(f.object):
                out.append(f"{innocent.object} ({innocent.description}) reported by {_line(f)}")
    return out


def _functions_that_fail(dsn: str) -> list[str]:
    failures = []
    for name, call in FUNCTION_CALLS:
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(call.encode())  # a fixed call from the manifest
        except psycopg.Error as exc:
            failures.append(f"{name}: {call} -> {type(exc).__name__}: {str(exc).strip()}")
    return failures


def test_every_fix_applies_clears_its_finding_and_causes_no_new_one(empty_db_dsn: str) -> None:
    planted = build(empty_db_dsn)
    try:
        assert not _functions_that_fail(empty_db_dsn), "a planted function fails before any fix"
        report = run_ours(planted)
        problems: dict[str, list[str]] = {}
        problems["checks that failed"] = [f"{r.name}: {r.message}" for r in report.runs if r.status != "ok"]
        before = keyed(planted, report)
        no_check, missed = _found(planted, before)
        problems["planted defects whose check does not exist yet"] = no_check
        problems["planted defects an existing check did not find"] = missed
        problems["innocent objects reported"] = _innocents_reported(before)

        round_ = apply_every_fix(planted, report)
        problems["fixes that failed to apply"] = [
            f"{_line(r.finding)}: {r.finding.fix_sql!r} -> {r.error}" for r in round_.results if r.error
        ]
        problems["(a) new findings caused by a fix (fix of X -> new Y)"] = [
            f"fix of {_line(x)} [{x.fix_sql}] -> new {_line(y)}: {y.title}" for x, y in round_.contradictions()
        ]
        problems["(b) findings still there after their fix"] = [
            f"{_line(r.finding)} [{r.finding.fix_sql}]"
            for r in round_.not_cleared()
            if r.finding.name not in NOT_CLEARABLE
        ]
        problems["(c) planted functions that no longer run"] = _functions_that_fail(empty_db_dsn)
    finally:
        planted.close()
    text = "\n".join(
        f"{title} ({len(items)}):\n" + "\n".join(f"  - {item}" for item in items)
        for title, items in problems.items()
        if items
    )
    assert not text, "\n" + text
