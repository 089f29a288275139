"""The PetCare demo database: loaded once into the embedded default so a newcomer has something real to explore.

sql/demo/01_schema.sql creates the sixteen tables of the PetCare customer-service system and
sql/demo/02_data.sql fills them with about 190,000 generated, deterministic rows (with the same anchor
day, two loads give the same rows). Both run in one transaction: a failed load leaves nothing behind.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from dba_admin.errors import DbaAdminError, NotFound
from dba_admin.local_pg import READONLY_ROLE
from dba_admin.paths import SQL_DIR
from dba_admin.sql_text import split_statements

DEMO_DIR = SQL_DIR / "demo"

# The sixteen tables, parents before children (the order the data file fills them in).
DEMO_TABLES: tuple[str, ...] = (
    "user_profiles",
    "tutors",
    "pets",
    "services",
    "appointments",
    "appointment_reminders",
    "products",
    "orders",
    "order_items",
    "payments",
    "conversations",
    "messages",
    "context_data",
    "ai_memory",
    "campaigns",
    "campaign_recipients",
)

_LOCK_KEY = 0x0DBA_DE01  # pg_advisory_xact_lock key: two app servers starting together load the demo once
_ANCHOR_SETTING = "petcare.demo_anchor"  # read by 02_data.sql; empty = today in America/Sao_Paulo


class DemoLoadError(DbaAdminError):
    """A demo SQL file failed; the whole load was rolled back. Names the file and the line."""

    def __init__(self, file: str, line: int | None, message: str) -> None:
        self.file = file
        self.line = line
        self.message = message
        where = file + (f", line {line}" if line else "")
        super().__init__(f"demo data {where} failed and was rolled back: {message}")


@dataclass(frozen=True)
class DemoLoadResult:
    """What load_demo did: loaded=False means the demo was already there and nothing changed."""

    loaded: bool
    rows: int
    tables: int
    seconds: float = 0.0


def demo_files(directory: Path | None = None) -> list[Path]:
    """The demo's SQL files in the order they run (01_schema, 02_data)."""
    return sorted((directory or DEMO_DIR).glob("*.sql"))


def demo_present(conn: psycopg.Connection[Any]) -> bool:
    """The demo counts as loaded when public.user_profiles exists, whoever created it."""
    row = conn.execute("select to_regclass('public.user_profiles') is not null /* dba_admin */").fetchone()
    return bool(row and row[0])


def _run_file(conn: psycopg.Connection[Any], path: Path) -> None:
    """Run one file statement by statement, so that an error can name its line."""
    text = path.read_text(encoding="utf-8")
    for statement in split_statements(text):
        try:
            conn.execute(statement.text.encode())  # trusted file shipped in sql/demo, not user input
        except psycopg.Error as exc:
            position = exc.diag.statement_position if exc.diag else None
            offset = statement.start + (int(position) - 1 if position else 0)
            line = text.count("\n", 0, offset) + 1
            message = (exc.diag.message_primary if exc.diag else None) or str(exc)
            raise DemoLoadError(path.name, line, message) from exc


READONLY_POLICY = "dba_admin_readonly_select"


def _grant_readonly(conn: psycopg.Connection[Any]) -> None:
    """Let the read-only login role (created by the migrations) read the demo like any team table.

    A GRANT is not enough: the role has no BYPASSRLS and the demo's policies are for anon/authenticated,
    so without a policy of its own it would see zero rows in every table but campaign_recipients.
    """
    row = conn.execute("select 1 from pg_roles where rolname = %s /* dba_admin */", (READONLY_ROLE,)).fetchone()
    if not row:
        return
    role = sql.Identifier(READONLY_ROLE)
    conn.execute(sql.SQL("grant select on all tables in schema public to {} /* dba_admin */").format(role))
    rls_tables = conn.execute(
        "select c.relname from pg_class c where c.relnamespace = 'public'::regnamespace"
        " and c.relname = any(%s) and c.relrowsecurity /* dba_admin */",
        (list(DEMO_TABLES),),
    ).fetchall()
    for (name,) in rls_tables:
        table = sql.Identifier("public", name)
        policy = sql.Identifier(READONLY_POLICY)
        conn.execute(
            sql.SQL("create policy {} on {} for select to {} using (true) /* dba_admin */").format(policy, table, role)
        )
        conn.execute(
            sql.SQL("comment on policy {} on {} is {} /* dba_admin */").format(
                policy,
                table,
                sql.Literal("DBA Admin: the read-only role used for SQL typed by analysts reads the whole demo table."),
            )
        )


def load_demo(
    conn: psycopg.Connection[Any], *, anchor: date | None = None, directory: Path | None = None
) -> DemoLoadResult:
    """Create and fill the PetCare tables in one transaction, unless public.user_profiles already exists.

    ``anchor`` is the day the generated history ends at (default: today in São Paulo); pass a fixed day
    to get byte-identical data. With a non-autocommit connection already inside a transaction, the load
    runs in a savepoint and the caller commits.
    """
    started = time.perf_counter()
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s) /* dba_admin */", (_LOCK_KEY,))
        if demo_present(conn):
            return DemoLoadResult(loaded=False, rows=0, tables=0)
        conn.execute(
            "select set_config(%s, %s, true) /* dba_admin */",
            (_ANCHOR_SETTING, anchor.isoformat() if anchor else ""),
        )
        for path in demo_files(directory):
            _run_file(conn, path)
        _grant_readonly(conn)
        counts = demo_row_counts(conn)
    if conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
        _analyze_after_commit(conn)
    return DemoLoadResult(
        loaded=True, rows=sum(counts.values()), tables=len(counts), seconds=time.perf_counter() - started
    )


def _analyze_after_commit(conn: psycopg.Connection[Any]) -> None:
    """ANALYZE the demo once its load has committed, so a fresh demo does not look overdue for one.

    The load's own ANALYZE runs inside its transaction, and the rows it inserted count as changes since the last
    ANALYZE only when they commit: every table then looked overdue (the analyze_overdue advisor) until autovacuum
    came by. The committed counters reach the shared statistics when this backend flushes them (at most once a
    second unless forced), so they are flushed first; an ANALYZE before that flush would be undone by it.
    """
    conn.execute("select pg_catalog.pg_stat_force_next_flush() /* dba_admin */")
    if not conn.autocommit:
        conn.commit()
    tables = sql.SQL(", ").join(sql.Identifier("public", name) for name in DEMO_TABLES)
    with conn.transaction():
        conn.execute(sql.SQL("analyze {} /* dba_admin */").format(tables))


def demo_row_counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Exact row count of every demo table, in one query (a UNION ALL of count(*))."""
    if not demo_present(conn):
        raise NotFound("the PetCare demo is not loaded in this database (public.user_profiles is missing)")
    parts = [
        sql.SQL("select {name}::text, count(*) from {table}").format(
            name=sql.Literal(name), table=sql.Identifier("public", name)
        )
        for name in DEMO_TABLES
    ]
    query = sql.SQL(" union all ").join(parts) + sql.SQL(" /* dba_admin */")
    rows = conn.execute(query).fetchall()
    return {str(name): int(count) for name, count in rows}


# The demo's maintenance jobs (pg_cron), planted once when the extension is first created: (name, schedule, command,
# active). A DBA who disables, changes or removes one keeps it that way; nothing is re-planted at the next start.
DEMO_CRON_JOBS: tuple[tuple[str, str, str, bool], ...] = (
    ("petcare-nightly-vacuum-appointments", "30 3 * * *", "VACUUM (ANALYZE) public.appointments", True),
    ("petcare-weekly-analyze-messages", "15 4 * * 0", "ANALYZE public.messages", True),
    ("petcare-monthly-reindex-orders", "0 5 1 * *", "REINDEX TABLE CONCURRENTLY public.orders", False),
)


def install_demo_cron(conn: psycopg.Connection[Any], *, owner: str, readers: tuple[str, ...] = ()) -> bool:
    """Create pg_cron in the demo database with a few maintenance jobs owned by ``owner``; True when done now.

    Skipped silently when the server has no pg_cron, does not preload it, or keeps its jobs in another database
    (``cron.database_name``): the demo works without it. Runs as the superuser inside the caller's transaction.
    cron.job is row-level secured by username, so the jobs belong to the DBA login (which sees, enables and
    disables them) and run as it; ``readers`` get USAGE on schema cron to read what they may.
    """
    ready = conn.execute(
        "select exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_cron')"
        " and pg_catalog.current_setting('cron.database_name', true) = pg_catalog.current_database()"
        " and not exists (select 1 from pg_catalog.pg_extension where extname = 'pg_cron') /* dba_admin */"
    ).fetchone()
    if not (ready and ready[0]):
        return False
    # In pg_catalog as Supabase does (its objects live in schema cron anyway): not in public, an API schema.
    conn.execute("create extension if not exists pg_cron with schema pg_catalog /* dba_admin */")
    role = sql.Identifier(owner)
    conn.execute(sql.SQL("grant usage on schema cron to {} /* dba_admin */").format(role))
    conn.execute(
        sql.SQL(
            "grant execute on function cron.alter_job(bigint, text, text, text, text, boolean) to {} /* dba_admin */"
        ).format(role)
    )
    for reader in readers:
        conn.execute(sql.SQL("grant usage on schema cron to {} /* dba_admin */").format(sql.Identifier(reader)))
    for name, schedule, command, active in DEMO_CRON_JOBS:
        conn.execute(
            "select cron.schedule_in_database(%s, %s, %s, pg_catalog.current_database(), %s, %s) /* dba_admin */",
            (name, schedule, command, owner, active),
        )
    return True
