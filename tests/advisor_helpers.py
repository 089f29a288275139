"""Advisor test helpers (registered in conftest's pytest_plugins): a fresh database per test with a connection to
plant defects and a DatabaseManager to run the checks, as in Supabase splinter's tests.

``plain_db``: a brand-new empty database (plain PostgreSQL). ``api_db``: the same plus the app's schema (Supabase
compatibility roles anon/authenticated, auth.*, schema extensions with pg_stat_statements, the migrations).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from dba_admin.advisors import Finding, run_checks
from dba_admin.config import Settings
from dba_admin.database import DatabaseManager
from dba_admin.migrations import prepare_schema


class Db:
    """A test database: its DSN, an autocommit connection to create defects with, and a DatabaseManager."""

    def __init__(self, dsn: str, settings: Settings | None = None) -> None:
        self.dsn = dsn
        self.conn = psycopg.connect(dsn, autocommit=True)
        self.manager = DatabaseManager(settings or Settings(database_url=dsn), dsn)

    def sql(self, text: str, params: Any = None) -> list[tuple[Any, ...]]:
        cur = self.conn.execute(text, params)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []

    def flush_stats(self) -> None:
        """Make this session's table/index counters visible to other sessions now (PostgreSQL 15+)."""
        self.conn.execute("select pg_stat_force_next_flush()")
        self.conn.execute("select 1")

    def findings(self, name: str, **thresholds: Any) -> list[Finding]:
        report = run_checks(self.manager, names=[name], thresholds=thresholds)
        assert [r.name for r in report.runs] == [name]
        assert report.runs[0].status == "ok", report.runs[0].message
        assert all(f.name == name for f in report.findings)
        return report.findings

    def on(self, name: str, obj: str, **thresholds: Any) -> list[Finding]:
        return [f for f in self.findings(name, **thresholds) if f.object == obj]

    def fix(self, finding: Finding) -> None:
        assert finding.fix_sql, f"{finding.name} has no fix_sql"
        self.conn.execute(finding.fix_sql)  # type: ignore[arg-type]

    def close(self) -> None:
        self.manager.close()
        self.conn.close()


@pytest.fixture
def plain_db(empty_db_dsn: str) -> Iterator[Db]:
    db = Db(empty_db_dsn)
    yield db
    db.close()


@pytest.fixture
def api_db(empty_db_dsn: str) -> Iterator[Db]:
    with psycopg.connect(empty_db_dsn, autocommit=True) as conn:
        prepare_schema(conn)
    db = Db(empty_db_dsn)
    yield db
    db.close()


def one(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]
