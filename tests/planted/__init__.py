"""The planted database of issue 13: one defect (at least) for every advisor check, plus innocent objects no check
may report, and the manifest saying which tool should find which defect.

``build(dsn)`` turns an EMPTY database into a small Supabase-like project (apply_local_compat, auth.users,
storage buckets and objects with RLS, a pgmq-like queue, pg_graphql's schemas and extension row), runs
tests/planted/defects.sql (the static defects) and then makes the dynamic ones that need statistics, VACUUM,
CREATE INDEX CONCURRENTLY or live sessions (unused / seq-scanned counters, a cold table, an invalid index, an
xid-old table, a replication slot, long-running, blocked and idle-in-transaction sessions). It returns a
:class:`Planted`: the manifest (:data:`DEFECTS` with the live sessions' pids filled in), the thresholds a run
needs to see volume- or time-bound defects in a small test database, the functions to call after the fixes, and
the sessions to end with :meth:`Planted.close`.

Used by tests/test_advisor_fixes.py (apply every fix, nothing new may appear) and bench/advisors_compare.py (the
defect-by-tool table: ours, splinter, PgHero). The tools' names are their own: splinter's lint ``name`` column,
PgHero's method names in lib/pghero/methods/*.rb.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from dba_admin.advisors import AdvisorReport, Finding, run_checks_on
from dba_admin.migrations import apply_local_compat
from dba_admin.sql_text import split_statements

SQL_FILE = Path(__file__).with_name("defects.sql")
# The API's schemas in this project (Supabase's default plus Supabase Queues' pgmq_public), as PostgREST's
# pgrst.db_schemas would list them.
EXPOSED_SCHEMAS = ("public", "graphql_public", "pgmq_public")
SUPABASE_SEARCH_PATH = '"$user", public, extensions'
XID_BURN = 3000  # transactions between the xid-old table and everything else
COLD_TABLE_ROWS = 400_000  # public.measurements: ~45 MB, over a quarter of shared_buffers (128 MB): ring-buffer reads


@dataclass(frozen=True)
class Defect:
    """One planted defect and who should find it, by each tool's own definition (empty tuple: no such check).

    ``needle`` is the text that names the object in a tool's row (default: the object's bare name), matched as a
    whole word in the finding's object or detail. ``database_wide``: the tool judges the database, not the object
    (cache hit rate, connections), so any row of that check counts.
    """

    id: str
    description: str
    object: str
    ours: tuple[str, ...]
    splinter: tuple[str, ...] = ()
    pghero: tuple[str, ...] = ()
    needle: str | None = None
    database_wide: bool = False

    @property
    def key(self) -> str:
        return self.needle or self.object.rsplit(".", 1)[-1]

    def named_in(self, *texts: Any) -> bool:
        """True when the object's name appears as a whole word (identifier) in one of ``texts``."""
        pattern = re.compile(r"(?<![\w$])" + re.escape(self.key) + r"(?![\w$])")
        return any(pattern.search(str(t)) for t in texts if t is not None)


@dataclass(frozen=True)
class Innocent:
    """A realistic, correct object. ``allowed``: checks that report it by their own (broad) definition."""

    object: str
    description: str
    allowed: tuple[str, ...] = ()

    def named_in(self, *texts: Any) -> bool:
        key = self.object.rsplit(".", 1)[-1]
        pattern = re.compile(r"(?<![\w$])" + re.escape(key) + r"(?![\w$])")
        return any(pattern.search(str(t)) for t in texts if t is not None)


_SD_LINTS = ("anon_security_definer_function_executable", "authenticated_security_definer_function_executable")

DEFECTS: tuple[Defect, ...] = (
    # --- security (splinter's ground) -------------------------------------------------------------------------
    Defect(
        "D_rls_disabled",
        "API table without RLS",
        "public.feature_flags",
        ("rls_disabled_in_exposed_schema",),
        ("rls_disabled_in_public",),
    ),
    Defect(
        "D_rls_no_policy",
        "RLS enabled, no policy",
        "public.private_audit",
        ("rls_enabled_no_policy",),
        ("rls_enabled_no_policy",),
    ),
    Defect(
        "D_policy_rls_disabled",
        "policies exist, RLS disabled",
        "public.legacy_notes",
        ("policy_exists_rls_disabled",),
        ("policy_exists_rls_disabled",),
    ),
    Defect(
        "D_policy_always_true",
        "INSERT policy WITH CHECK (true) for anon",
        "public.guestbook",
        ("rls_policy_always_true",),
        ("rls_policy_always_true",),
    ),
    Defect(
        "D_rls_initplan",
        "policy calls auth.uid() per row",
        "public.appointments",
        ("auth_rls_initplan",),
        ("auth_rls_initplan",),
    ),
    Defect(
        "D_multiple_permissive",
        "two permissive SELECT policies for authenticated",
        "public.posts",
        ("multiple_permissive_policies",),
        ("multiple_permissive_policies",),
    ),
    Defect(
        "D_user_metadata_policy",
        "policy trusts auth.jwt() -> user_metadata",
        "public.team_docs",
        ("rls_references_user_metadata",),
        ("rls_references_user_metadata",),
    ),
    Defect(
        "D_security_definer_view",
        "view runs as its owner, readable by anon",
        "public.pet_directory",
        ("security_definer_view",),
        ("security_definer_view",),
    ),
    Defect(
        "D_auth_users_exposed",
        "view over auth.users readable by anon/authenticated",
        "public.user_directory",
        ("auth_users_exposed",),
        ("auth_users_exposed",),
    ),
    Defect(
        "D_fkey_to_auth_unique",
        "foreign key to auth.users' unique email",
        "public.user_emails",
        ("fkey_to_auth_unique",),
        ("fkey_to_auth_unique",),
    ),
    Defect(
        "D_security_definer_function",
        "SECURITY DEFINER function in public, executable by anon",
        "public.get_pet_count",
        ("security_definer_function_executable",),
        _SD_LINTS,
    ),
    Defect(
        "D_search_path_public",
        "no search_path; body names public.pets unqualified",
        "public.pet_name_upper",
        ("function_search_path_mutable",),
        ("function_search_path_mutable",),
    ),
    Defect(
        "D_search_path_extensions",
        "no search_path; body calls extensions.hstore() unqualified",
        "public.tag_pair",
        ("function_search_path_mutable",),
        ("function_search_path_mutable",),
    ),
    Defect(
        "D_search_path_citext",
        "no search_path; body uses the citext type (extension in public)",
        "public.same_email",
        ("function_search_path_mutable",),
        ("function_search_path_mutable",),
    ),
    Defect(
        "D_search_path_trigger",
        "no search_path; trigger body uses pg_catalog only",
        "public.touch_updated_at",
        ("function_search_path_mutable",),
        ("function_search_path_mutable",),
    ),
    Defect(
        "D_extension_in_public",
        "citext installed in schema public",
        "citext",
        ("extension_in_public",),
        ("extension_in_public",),
    ),
    Defect(
        "D_extension_outdated",
        "hstore at version 1.4, default 1.8",
        "hstore",
        ("extension_versions_outdated",),
        ("extension_versions_outdated",),
    ),
    Defect(
        "D_sensitive_columns",
        "token/password columns readable by anon, no RLS",
        "public.api_tokens",
        ("sensitive_columns_exposed",),
        ("sensitive_columns_exposed",),
    ),
    Defect(
        "D_matview_in_api",
        "materialized view readable by authenticated",
        "public.pet_counts",
        ("materialized_view_in_api",),
        ("materialized_view_in_api",),
    ),
    Defect(
        "D_foreign_table_in_api",
        "foreign table readable by anon",
        "public.host_info",
        ("foreign_table_in_api",),
        ("foreign_table_in_api",),
    ),
    Defect(
        "D_reg_types",
        "regproc column (pg_upgrade refuses it)",
        "public.job_handlers",
        ("unsupported_reg_types",),
        ("unsupported_reg_types",),
    ),
    Defect(
        "D_queue_exposed",
        "pgmq queue table readable by the API roles, no RLS",
        "pgmq.q_jobs",
        ("insecure_queue_exposed_in_api",),
        ("insecure_queue_exposed_in_api",),
    ),
    Defect(
        "D_public_bucket_listing",
        "public bucket with a broad SELECT policy on storage.objects",
        "storage.avatars",
        ("public_bucket_allows_listing",),
        ("public_bucket_allows_listing",),
    ),
    Defect(
        "D_graphql_anon",
        "table anon can select: visible in pg_graphql before sign-in",
        "public.internal_api_keys",
        ("pg_graphql_anon_table_exposed",),
        ("pg_graphql_anon_table_exposed",),
    ),
    Defect(
        "D_graphql_authenticated",
        "table every signed-in user sees in pg_graphql",
        "public.member_stats",
        ("pg_graphql_authenticated_table_exposed",),
        ("pg_graphql_authenticated_table_exposed",),
    ),
    # --- indexes and tables ---------------------------------------------------------------------------------------
    Defect(
        "D_unindexed_fk",
        "foreign key visits.pet_id without an index",
        "public.visits",
        ("unindexed_foreign_keys",),
        ("unindexed_foreign_keys",),
    ),
    Defect(
        "D_no_primary_key",
        "table without a primary key",
        "public.import_batches",
        ("no_primary_key",),
        ("no_primary_key",),
    ),
    Defect(
        "D_unused_index",
        "index never scanned",
        "public.reports_created_at_idx",
        ("unused_index",),
        ("unused_index",),
        ("unused_indexes",),
    ),
    Defect(
        "D_duplicate_index",
        "exact duplicate of an index, neither used (one DROP expected)",
        "public.customers_email_copy_idx",
        ("duplicate_index",),
        ("duplicate_index",),
        ("duplicate_indexes",),
        needle="customers_email_copy_idx",
    ),
    Defect(
        "D_duplicate_prefix",
        "(last_name) covered by (last_name, first_name)",
        "public.customers_last_name_idx",
        ("duplicate_index",),
        ("duplicate_index",),
        ("duplicate_indexes",),
    ),
    Defect(
        "D_invalid_index",
        "unique index left invalid by a failed CREATE INDEX CONCURRENTLY",
        "public.dupes_a_uq",
        ("invalid_index",),
        (),
        ("invalid_indexes",),
    ),
    Defect(
        "D_index_bloat",
        "btree index with 90 % of its entries deleted",
        "public.event_log_kind_idx",
        ("index_bloat",),
        (),
        ("index_bloat",),
    ),
    Defect(
        "D_table_bloat", "table with 90 % dead space", "public.bloated_sessions", ("table_bloat",), ("table_bloat",)
    ),
    Defect(
        "D_seq_scan_heavy",
        "20,000-row table read by sequential scans",
        "public.orders",
        ("seq_scan_heavy_table",),
        (),
        ("missing_indexes",),
    ),
    Defect(
        "D_not_valid_constraint",
        "CHECK constraint added NOT VALID",
        "public.payments",
        ("not_valid_constraints",),
        (),
        ("invalid_constraints",),
        needle="payments_amount_positive",
    ),
    Defect(
        "D_sequence_identity",
        "integer identity column at 93 % of its range",
        "public.ticket_numbers",
        ("sequence_near_max",),
        (),
        ("sequence_danger",),
        needle="ticket_numbers_id_seq",
    ),
    Defect(
        "D_sequence_column_type",
        "integer column fed by a bigint sequence at 95 % of 2^31",
        "public.legacy_orders",
        ("sequence_near_max",),
        (),
        ("sequence_danger",),
        needle="legacy_orders_id_seq",
    ),
    Defect(
        "D_cache_hit_rate",
        "45 MB table read cold (ring buffer), hit rate far under 99 %",
        "public.measurements",
        ("cache_hit_rate",),
        (),
        ("table_hit_rate", "index_hit_rate"),
        database_wide=True,
    ),
    # --- maintenance --------------------------------------------------------------------------------------------
    Defect("D_autovacuum_disabled", "autovacuum_enabled = false", "public.settings_kv", ("autovacuum_disabled",)),
    Defect("D_vacuum_overdue", "1,900 dead rows, autovacuum off", "public.churn_queue", ("vacuum_overdue",)),
    Defect("D_analyze_overdue", "2,000 rows never analyzed", "public.fresh_imports", ("analyze_overdue",)),
    Defect(
        "D_xid_age",
        "table XID_BURN transactions older than everything else",
        "public.ledger_2019",
        ("xid_wraparound",),
        (),
        ("transaction_id_danger",),
    ),
    Defect(
        "D_freeze_age",
        "table at 2 % of its own autovacuum_freeze_max_age (100,000), younger than xid_age_warn",
        "public.ledger_2020",
        ("autovacuum_freeze_danger",),
        (),
        ("autovacuum_danger",),
    ),
    Defect(
        "D_replication_slot",
        "physical replication slot nobody consumes",
        "slot",
        ("inactive_replication_slot",),
        (),
        ("replication_slots",),
    ),
    Defect(
        "D_connections",
        "connections over the (lowered) warning share of max_connections",
        "server.max_connections",
        ("connections_near_max",),
        (),
        ("total_connections",),
        database_wide=True,
    ),
    Defect("D_top_statement", "a 1.2 s statement", "pg_sleep", ("top_statements",), (), ("slow_queries",)),
    Defect("D_n_plus_one", "150 single-row SELECTs by id", "pets", ("n_plus_one_statements",)),
    # --- live sessions (object filled with the pid by build()) ----------------------------------------------------
    Defect(
        "D_idle_in_transaction",
        "session idle inside an open transaction",
        "pid",
        ("idle_in_transaction",),
        (),
        ("long_running_queries",),
    ),
    Defect("D_long_running", "pg_sleep(3600) running", "pid", ("long_running_queries",), (), ("long_running_queries",)),
    Defect(
        "D_blocked_query",
        "UPDATE waiting on a row lock held by a transaction left idle",
        "pid",
        ("blocked_queries",),
        (),
        ("blocked_queries",),
    ),
)

INNOCENTS: tuple[Innocent, ...] = (
    Innocent(
        "public.profiles",
        "correct RLS, wrapped auth.uid(), FK to auth.users' primary key",
        ("pg_graphql_authenticated_table_exposed",),
    ),
    Innocent(
        "public.pets",
        "RLS per owner; FK covered by pets_owner_id_idx",
        ("pg_graphql_authenticated_table_exposed", "n_plus_one_statements", "top_statements"),
    ),
    Innocent("public.pets_owner_id_idx", "never scanned, but the only index covering pets_owner_id_fkey"),
    Innocent(
        "public.my_pets", "security-invoker view over a table with RLS", ("pg_graphql_authenticated_table_exposed",)
    ),
    Innocent("public.pet_count_for", "pinned search_path, qualified body"),
    Innocent("private.purge_old_visits", "SECURITY DEFINER outside the exposed schemas, pinned search_path"),
    Innocent("pgmq.q_emails", "queue with RLS and a policy"),
    Innocent("storage.logos", "public bucket without a listing policy"),
    Innocent("storage.invoices", "private bucket with an owner policy"),
    Innocent("public.audit_events", "loaded, indexed, updated once, then read by index (90.9 % by the raw counters)"),
    Innocent("public.customers_last_first_idx", "the covering index of D_duplicate_prefix, used"),
)

# Every planted function and a call that must still work after the fixes (with the database's search_path).
FUNCTION_CALLS: tuple[tuple[str, str], ...] = (
    ("public.get_pet_count", "SELECT public.get_pet_count()"),
    ("public.pet_name_upper", "SELECT public.pet_name_upper(1)"),
    ("public.tag_pair", "SELECT public.tag_pair('a', 'b')"),
    ("public.same_email", "SELECT public.same_email('A@example.com', 'a@example.com')"),
    ("public.touch_updated_at", "UPDATE public.posts SET body = body WHERE id = 1"),
    ("public.pet_count_for", "SELECT public.pet_count_for('00000000-0000-0000-0000-000000000001')"),
    ("private.purge_old_visits", "SELECT private.purge_old_visits('2000-01-01')"),
    ("pgmq_public.send", "SELECT pgmq_public.send('jobs', '{}')"),
)


@dataclass
class Planted:
    """A built planted database: the manifest with live objects filled in, thresholds, sessions to end."""

    dsn: str
    defects: list[Defect]
    thresholds: dict[str, Any]
    slot_name: str
    session_pids: dict[str, int] = field(default_factory=dict)
    _conns: list[psycopg.Connection[Any]] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)

    def close(self) -> None:
        """End the planted sessions (those a fix did not already end), drop the slot if a fix did not."""
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            for pid in self.session_pids.values():
                conn.execute("SELECT pg_catalog.pg_terminate_backend(%s)", (pid,))
            conn.execute(
                "SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM pg_catalog.pg_replication_slots"
                " WHERE slot_name = %s AND NOT active",
                (self.slot_name,),
            )
        for thread in self._threads:
            thread.join(timeout=30)
        for conn in self._conns:
            with contextlib.suppress(Exception):
                conn.close()


def _connect(dsn: str, *, autocommit: bool = True) -> psycopg.Connection[Any]:
    return psycopg.connect(dsn, autocommit=autocommit, application_name="planted")


def _flush(conn: psycopg.Connection[Any]) -> None:
    """Make this session's table and index counters visible to other sessions now (PostgreSQL 15+)."""
    conn.execute("SELECT pg_catalog.pg_stat_force_next_flush()")
    conn.execute("SELECT 1")


def _run_statistics(conn: psycopg.Connection[Any]) -> None:
    """Rows, dead rows, scans and a failed concurrent build: what the statistics-based checks look at."""
    conn.execute(
        "INSERT INTO public.bloated_sessions SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g;"
        " DELETE FROM public.bloated_sessions WHERE id % 10 <> 0;"
        " INSERT INTO public.churn_queue SELECT g, 'x' FROM generate_series(1, 2000) g;"
        " DELETE FROM public.churn_queue WHERE id > 100;"
        " INSERT INTO public.fresh_imports SELECT g, 'x' FROM generate_series(1, 2000) g;"
        " INSERT INTO public.event_log SELECT g, g % 50, 'payload ' || g FROM generate_series(1, 60000) g;"
        " DELETE FROM public.event_log WHERE id % 10 <> 0;"
        " INSERT INTO public.orders SELECT g, g % 500, 'order ' || g FROM generate_series(1, 20000) g;"
        " INSERT INTO public.audit_events (id, actor, action)"
        "   SELECT g, 'actor' || (g % 300), 'login' FROM generate_series(1, 20000) g;"
        " CREATE INDEX audit_events_actor_idx ON public.audit_events (actor);"
        " UPDATE public.audit_events SET checked = true"
    )
    # Each in a transaction of its own, after the writes committed (statistics count a transaction's changes at
    # commit): bloated_sessions keeps its dead rows (only analyzed), the others are as autovacuum leaves them.
    # The writes' counters reach the shared statistics when this backend flushes them, at most once a second
    # unless forced: flush them now, or a flush after the VACUUM would bring the dead rows back.
    conn.execute("SELECT pg_catalog.pg_stat_force_next_flush()")
    conn.execute("SELECT 1")
    conn.execute("ANALYZE public.bloated_sessions")
    conn.execute("ANALYZE public.orders")
    conn.execute("VACUUM (ANALYZE) public.audit_events")
    conn.execute("VACUUM (ANALYZE) public.event_log")
    with contextlib.suppress(psycopg.errors.UniqueViolation):
        conn.execute("CREATE UNIQUE INDEX CONCURRENTLY dupes_a_uq ON public.dupes (a)")
    # Sequential scans of orders (no index serves a LIKE '%..%'), one index scan
    for i in range(10):
        conn.execute("SELECT count(*) FROM public.orders WHERE note LIKE %s", (f"%{i}7%",))
    conn.execute("SET enable_seqscan = off; SET enable_bitmapscan = off")
    conn.execute("SELECT * FROM public.orders WHERE customer_id = 42")
    # audit_events: 20 index reads against 1 index build + 1 full-table UPDATE (90.9 % by the raw counters)
    for i in range(20):
        conn.execute("SELECT * FROM public.audit_events WHERE actor = %s", (f"actor{i}",))
    conn.execute("SELECT * FROM public.customers WHERE last_name = 'last5' AND first_name = 'first5'")
    for kind in range(3):  # event_log_kind_idx is used: only its bloat is planted
        conn.execute("SELECT count(*) FROM public.event_log WHERE kind = %s", (kind,))
    conn.execute("SELECT count(*) FROM public.bloated_sessions WHERE id = 10")
    conn.execute("RESET ALL")
    # N+1: 150 single-row SELECTs by primary key (pg_stat_statements)
    for i in range(1, 151):
        conn.execute("SELECT name FROM public.pets WHERE id = %s", (i,))
    conn.execute(f"SET search_path = {SUPABASE_SEARCH_PATH}")
    _flush(conn)


def _run_cold_table(dsn: str) -> None:
    """A table bigger than a quarter of shared_buffers, written and then read through ring buffers: most of its
    blocks are read from outside PostgreSQL's cache, so its hit rate is far under 99 %."""
    with _connect(dsn) as conn:
        conn.execute(  # CREATE TABLE AS writes through a ring buffer too: few of its blocks stay cached
            "CREATE TABLE public.measurements AS SELECT g::bigint AS id, random() AS reading, repeat('m', 80) AS pad"
            f" FROM generate_series(1, {COLD_TABLE_ROWS}) g;"
            " ALTER TABLE public.measurements ADD PRIMARY KEY (id);"
            " ALTER TABLE public.measurements ENABLE ROW LEVEL SECURITY;"
            ' CREATE POLICY "Service only" ON public.measurements FOR ALL TO service_role'
            " USING (true) WITH CHECK (true)"
        )
        conn.execute("ANALYZE public.measurements")
        for _ in range(4):
            conn.execute("SELECT count(*) FROM public.measurements WHERE reading > 0.5")
        conn.execute("SET enable_seqscan = off; SET enable_bitmapscan = off")
        conn.execute("SELECT * FROM public.measurements WHERE id = 7")
        _flush(conn)


def _wait_for(conn: psycopg.Connection[Any], query: str, params: Iterable[Any], what: str) -> None:
    for _ in range(600):
        row = conn.execute(query, tuple(params)).fetchone()
        if row and row[0]:
            return
        time.sleep(0.05)
    raise RuntimeError(f"planted session never reached its state: {what}")


def _in_thread(conn: psycopg.Connection[Any], statement: str) -> threading.Thread:
    def run() -> None:
        with contextlib.suppress(psycopg.Error):  # cancelled or terminated by a fix, or by close()
            conn.execute(statement)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _start_sessions(planted: Planted) -> None:
    """Idle in transaction, a row-lock holder (idle in its transaction) and its waiter, a long-running statement."""
    dsn = planted.dsn
    idle = _connect(dsn, autocommit=False)
    idle.execute("SELECT count(*) FROM public.pets")  # opens a transaction and leaves it open
    blocker = _connect(dsn, autocommit=False)
    blocker.execute("UPDATE public.job_locks SET holder = 'blocker' WHERE id = 1")
    waiter = _connect(dsn)
    sleeper = _connect(dsn)
    planted._conns += [idle, blocker, waiter, sleeper]
    for conn in (waiter, sleeper):
        # Not tracked: when a fix ends the wait or the sleep, its duration would land in pg_stat_statements and
        # show up as a new top statement caused by the fix.
        conn.execute("SET pg_stat_statements.track = 'none'")
    planted.session_pids = {
        "D_idle_in_transaction": idle.info.backend_pid,
        "blocker": blocker.info.backend_pid,
        "waiter": waiter.info.backend_pid,
        "D_long_running": sleeper.info.backend_pid,
    }
    planted._threads.append(_in_thread(waiter, "UPDATE public.job_locks SET holder = 'waiter' WHERE id = 1"))
    planted._threads.append(_in_thread(sleeper, "SELECT pg_catalog.pg_sleep(3600)"))
    with _connect(dsn) as probe:
        _wait_for(
            probe,
            "SELECT wait_event_type = 'Lock' FROM pg_catalog.pg_stat_activity WHERE pid = %s",
            [planted.session_pids["waiter"]],
            "the waiter waits on the lock",
        )
        _wait_for(
            probe,
            "SELECT state = 'active' AND query LIKE '%%pg_sleep%%' FROM pg_catalog.pg_stat_activity WHERE pid = %s",
            [planted.session_pids["D_long_running"]],
            "the sleeper runs",
        )


def _xid_threshold(conn: psycopg.Connection[Any]) -> int:
    """An xid_age_warn between the planted old table and everything else (the margin absorbs the fixes' xids)."""
    row = conn.execute(
        "SELECT max(greatest(age(c.relfrozenxid), coalesce(age(t.relfrozenxid), 0)))"
        "   FILTER (WHERE c.oid = 'public.ledger_2019'::regclass),"
        " max(greatest(age(c.relfrozenxid), coalesce(age(t.relfrozenxid), 0)))"
        "   FILTER (WHERE c.oid <> 'public.ledger_2019'::regclass)"
        " FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_class t ON t.oid = c.reltoastrelid"
        " WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't'"
    ).fetchone()
    assert row is not None
    old, rest = int(row[0]), int(row[1])
    if old - rest < 500:
        raise RuntimeError(f"the xid-old table is not old enough: {old} vs {rest} for everything else")
    return rest + (old - rest) // 2


def build(dsn: str) -> Planted:
    """Plant every defect in the empty database ``dsn`` (superuser); call :meth:`Planted.close` at the end."""
    slot = f"planted_slot_{uuid.uuid4().hex[:8]}"
    with _connect(dsn) as conn:
        apply_local_compat(conn)
        dbname = conn.info.dbname
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET search_path = " + SUPABASE_SEARCH_PATH).format(sql.Identifier(dbname))
        )
        conn.execute(f"SET search_path = {SUPABASE_SEARCH_PATH}")
        conn.execute(
            "CREATE TABLE public.ledger_2019 (id bigint PRIMARY KEY, amount numeric)"
            "  WITH (autovacuum_freeze_max_age = 100000, autovacuum_enabled = false);"
            " INSERT INTO public.ledger_2019 SELECT g, g FROM generate_series(1, 100) g;"
            " ALTER TABLE public.ledger_2019 ENABLE ROW LEVEL SECURITY;"
            ' CREATE POLICY "Service only" ON public.ledger_2019 FOR ALL TO service_role USING (true) WITH CHECK (true)'
        )
        conn.execute(
            "DO $$ BEGIN FOR i IN 1.." + str(XID_BURN) + " LOOP PERFORM pg_catalog.txid_current(); COMMIT; END LOOP;"
            " END $$"
        )
        # Freeze what the new database inherited from its template, so that only the planted table is xid-old.
        others = conn.execute(
            "SELECT oid::regclass::text FROM pg_catalog.pg_class WHERE relkind IN ('r', 'm')"
            " AND oid <> 'public.ledger_2019'::regclass"
        ).fetchall()
        for (name,) in others:
            conn.execute(sql.SQL("VACUUM (FREEZE) {}").format(sql.SQL(name)))
        # A table approaching its own freeze limit but younger than xid_age_warn: autovacuum_freeze_danger's
        # (a table past xid_age_warn is xid_wraparound's, with the same VACUUM: one action, not two).
        conn.execute(
            "CREATE TABLE public.ledger_2020 (id bigint PRIMARY KEY, amount numeric)"
            "  WITH (autovacuum_freeze_max_age = 100000, autovacuum_enabled = false);"
            " INSERT INTO public.ledger_2020 SELECT g, g FROM generate_series(1, 100) g;"
            " ALTER TABLE public.ledger_2020 ENABLE ROW LEVEL SECURITY;"
            ' CREATE POLICY "Service only" ON public.ledger_2020 FOR ALL TO service_role USING (true) WITH CHECK (true)'
        )
        conn.execute("DO $$ BEGIN FOR i IN 1..2000 LOOP PERFORM pg_catalog.txid_current(); COMMIT; END LOOP; END $$")
        with conn.transaction():
            conn.execute(SQL_FILE.read_text(encoding="utf-8"))
            # pg_graphql is not installable here: register it the way CREATE EXTENSION would, for the checks that
            # look at pg_extension (splinter 0026/0027). The oid is graphql's schema oid, unused in pg_extension.
            conn.execute(
                "INSERT INTO pg_catalog.pg_extension (oid, extname, extowner, extnamespace, extrelocatable,"
                " extversion) SELECT n.oid, 'pg_graphql', r.oid, n.oid, false, '1.5.11'"
                " FROM pg_catalog.pg_namespace n, pg_catalog.pg_roles r"
                " WHERE n.nspname = 'graphql' AND r.rolname = current_user"
            )
        _run_statistics(conn)
        conn.execute("SELECT pg_catalog.pg_create_physical_replication_slot(%s, true)", (slot,))
    _run_cold_table(dsn)
    with _connect(dsn) as conn:
        conn.execute("SELECT pg_catalog.pg_sleep(1.2)")  # the top statement (pg_stat_statements)
    planted = Planted(dsn=dsn, defects=[], thresholds={}, slot_name=slot)
    _start_sessions(planted)
    pids = planted.session_pids
    # The live defects are named by pid: blocked_queries reports the root blocker (the idle transaction holding the
    # lock), so that defect's object is the blocker, whose pid PgHero lists too (blocking_pid).
    live = {**pids, "D_blocked_query": pids["blocker"]}
    planted.defects = [
        replace(d, object=f"pid {live[d.id]}", needle=str(live[d.id]))
        if d.id in live
        else replace(d, object=slot)
        if d.id == "D_replication_slot"
        else d
        for d in DEFECTS
    ]
    with _connect(dsn) as conn:
        xid_warn = _xid_threshold(conn)
    planted.thresholds = {
        "exposed_schemas": ",".join(EXPOSED_SCHEMAS),
        "unused_index_min_age_days": 0,
        "bloat_min_bytes": 1_000_000,
        "index_bloat_min_bytes": 262_144,
        "top_statements_min_total_ms": 1000,
        "top_statements_limit": 1000,
        "n_plus_one_min_calls": 100,
        "n_plus_one_max_mean_ms": 50,
        "xid_age_warn": xid_warn,
        "vacuum_min_dead_rows": 1000,
        "analyze_min_changed_rows": 1000,
        "seq_scan_min_reads": 5,  # orders: 10 sequential reads
        "idle_in_transaction_seconds": 0,
        "connections_warn_pct": 0.5,
        "long_running_query_seconds": 0,
        "blocked_query_seconds": 0,
        "cache_hit_min_reads": 1000,
        "autovacuum_freeze_used_pct": 1,  # public.ledger_2020: ~2 % of its own autovacuum_freeze_max_age
    }
    return planted


# ---------------------------------------------------------------------------------------------------------------
# Running our advisors on it and applying their fixes (shared by the test and bench/advisors_compare.py)
# ---------------------------------------------------------------------------------------------------------------

# Checks whose rows are about the whole cluster: only the rows about what we planted count (parallel test
# databases on the same server have slots and sessions of their own).
CLUSTER_WIDE = {"inactive_replication_slot"}


def run_ours(planted: Planted) -> AdvisorReport:
    """Every check, on a fresh connection (not autocommit: the runner opens its own read-only transactions)."""
    with psycopg.connect(planted.dsn) as conn:
        return run_checks_on(conn, thresholds=planted.thresholds)


def keyed(planted: Planted, report: AdvisorReport) -> dict[str, Finding]:
    """cache_key -> finding, cluster-wide checks limited to the planted objects."""
    return {f.cache_key: f for f in report.findings if f.name not in CLUSTER_WIDE or planted.slot_name in f.object}


@dataclass
class FixResult:
    """One finding's fix_sql, applied: the error if it failed, the findings that appeared right after it."""

    finding: Finding
    error: str | None
    caused: list[Finding]


@dataclass
class FixRound:
    """Every fix of a report applied in turn, the checks run again after each (so a new finding has a cause)."""

    before: dict[str, Finding]
    after: dict[str, Finding]
    results: list[FixResult]

    def applied(self) -> list[FixResult]:
        return [r for r in self.results if r.error is None]

    def not_cleared(self) -> list[FixResult]:
        return [r for r in self.applied() if r.finding.cache_key in self.after]

    def contradictions(self) -> list[tuple[Finding, Finding]]:
        return [(r.finding, new) for r in self.results for new in r.caused]


def _settle(planted: Planted, fix_sql: str) -> None:
    """A fix that cancels or terminates a planted session acts asynchronously: wait until the session is idle or
    gone (bounded), so the next run sees the effect."""
    named = [pid for pid in planted.session_pids.values() if re.search(rf"(?<!\d){pid}(?!\d)", fix_sql)]
    if not named:
        return
    with _connect(planted.dsn) as conn:
        for _ in range(200):
            row = conn.execute(
                "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE pid = ANY(%s) AND state <> 'idle'",
                (named,),
            ).fetchone()
            if row and row[0] == 0:
                return
            time.sleep(0.05)


def apply_fix(dsn: str, fix_sql: str) -> str | None:
    """Run a fix_sql in its own autocommit connection, statement by statement (CONCURRENTLY needs that);
    returns the error message, or None."""
    try:
        with psycopg.connect(dsn, autocommit=True, application_name="planted fix") as conn:
            for statement in split_statements(fix_sql):
                conn.execute(statement.text.encode())
    except psycopg.Error as exc:
        return f"{type(exc).__name__}: {str(exc).strip()}"
    return None


def apply_every_fix(planted: Planted, report: AdvisorReport) -> FixRound:
    """Apply each finding's fix_sql in the report's order, running every check after each one."""
    before = keyed(planted, report)
    seen = dict(before)
    results: list[FixResult] = []
    current = before
    for finding in before.values():
        if not finding.fix_sql:
            continue
        error = apply_fix(planted.dsn, finding.fix_sql)
        _settle(planted, finding.fix_sql)
        current = keyed(planted, run_ours(planted))
        caused = [f for key, f in current.items() if key not in seen]
        seen.update(current)
        results.append(FixResult(finding, error, caused))
    return FixRound(before=before, after=current, results=results)
