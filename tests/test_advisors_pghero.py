"""PgHero's live and maintenance checks on the real PostgreSQL: long-running and blocked queries (real sessions on
their own connections), NOT VALID constraints, index bloat, cache hit rate, autovacuum freeze danger, and
sequence danger measured against the column's type. Each is planted (positive) and then fixed with its own
fix_sql or undone (negative). Thresholds are lowered per run instead of waiting; nothing asserts timing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from advisor_helpers import Db, one

NEVER = 3600  # a threshold no test session reaches


# ---------------------------------------------------------------------------------------------------
# Sessions on their own connections
# ---------------------------------------------------------------------------------------------------


class Session:
    """A connection of its own that runs one statement in a thread (it may block or sleep), always cleaned up."""

    def __init__(self, db: Db, *, autocommit: bool = True) -> None:
        self.db = db
        self.conn = psycopg.connect(db.dsn, autocommit=autocommit)
        self.pid = self.conn.info.backend_pid
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def start(self, statement: str) -> None:
        def run() -> None:
            try:
                self.conn.execute(statement)
            except BaseException as exc:  # cancelled or terminated by the test: expected
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def wait_until(self, condition: str) -> None:
        """Poll pg_stat_activity until this session matches ``condition`` (say, that it waits on a lock)."""
        for _ in range(400):
            row = self.db.sql(f"select count(*) from pg_stat_activity where pid = %s and {condition}", (self.pid,))
            if row[0][0]:
                return
            time.sleep(0.025)
        raise AssertionError(f"session {self.pid} never reached: {condition}")

    def finished(self) -> bool:
        if self.thread is not None:
            self.thread.join(timeout=30)
            return not self.thread.is_alive()
        return True

    def close(self) -> None:
        self.db.sql("select pg_terminate_backend(%s)", (self.pid,))
        if self.thread is not None:
            self.thread.join(timeout=30)
        self.conn.close()


@contextmanager
def sessions(db: Db, count: int, *, autocommit: bool = True) -> Iterator[list[Session]]:
    opened = [Session(db, autocommit=autocommit) for _ in range(count)]
    try:
        yield opened
    finally:
        for session in opened:
            session.close()


def gone(db: Db, check: str, obj: str, **thresholds: Any) -> bool:
    """The finding disappears once the signalled backend has acted on it (asynchronously)."""
    for _ in range(400):
        if not db.on(check, obj, **thresholds):
            return True
        time.sleep(0.025)
    return False


# ---------------------------------------------------------------------------------------------------
# Long-running queries
# ---------------------------------------------------------------------------------------------------


def test_long_running_query_is_found_then_cancelled_by_its_fix(plain_db: Db) -> None:
    with sessions(plain_db, 2) as (sleeper, app):
        sleeper.start("select pg_sleep(120) as long_report")
        sleeper.wait_until("state = 'active' and strpos(query, 'long_report') > 0")
        app.start("select pg_sleep(120) /* dba_admin */")
        app.wait_until("state = 'active' and strpos(query, 'pg_sleep(120) /* dba_admin */') > 0")
        obj = f"pid {sleeper.pid}"
        assert plain_db.on("long_running_queries", obj, long_running_query_seconds=NEVER) == []
        finding = one(plain_db.on("long_running_queries", obj, long_running_query_seconds=0))
        assert finding.level == "WARN" and finding.category == "PERFORMANCE"
        assert str(sleeper.pid) in finding.detail and "long_report" in finding.detail
        assert f"session {sleeper.pid} (user " in finding.remediation and "long_report" in finding.remediation
        # The same statement keeps its key from run to run; the fix names this pid and this statement's start.
        again = one(plain_db.on("long_running_queries", obj, long_running_query_seconds=0))
        assert again.cache_key == finding.cache_key and finding.cache_key.startswith(
            f"long_running_queries_{sleeper.pid}_"
        )
        assert finding.fix_sql is not None and f"pid = {sleeper.pid}" in finding.fix_sql
        assert "pg_cancel_backend" in finding.fix_sql and "query_start" in finding.fix_sql
        # The app's own (tagged) query is left out.
        assert plain_db.on("long_running_queries", f"pid {app.pid}", long_running_query_seconds=0) == []
        plain_db.fix(finding)
        assert sleeper.finished() and isinstance(sleeper.error, psycopg.errors.QueryCanceled)
        assert gone(plain_db, "long_running_queries", obj, long_running_query_seconds=0)
        # The session itself was only cancelled, not ended.
        assert sleeper.conn.execute("select 1").fetchone() == (1,)


def test_long_running_fix_does_not_cancel_a_later_statement_of_the_same_session(plain_db: Db) -> None:
    with sessions(plain_db, 1) as (sleeper,):
        sleeper.start("select pg_sleep(120) as first_statement")
        sleeper.wait_until("state = 'active' and strpos(query, 'first_statement') > 0")
        finding = one(plain_db.on("long_running_queries", f"pid {sleeper.pid}", long_running_query_seconds=0))
        plain_db.sql("select pg_cancel_backend(%s)", (sleeper.pid,))
        assert sleeper.finished()
        sleeper.start("select pg_sleep(120) as second_statement")
        sleeper.wait_until("state = 'active' and strpos(query, 'second_statement') > 0")
        plain_db.fix(finding)  # a stale fix: the statement it was about is gone, so it cancels nothing
        later = one(plain_db.on("long_running_queries", f"pid {sleeper.pid}", long_running_query_seconds=0))
        assert "second_statement" in later.detail and later.cache_key != finding.cache_key


# ---------------------------------------------------------------------------------------------------
# Blocked queries
# ---------------------------------------------------------------------------------------------------


def test_blocked_queries_report_the_chain_under_one_finding_for_the_root_blocker(plain_db: Db) -> None:
    plain_db.sql("create table accounts (id int primary key, balance int); insert into accounts values (1, 10)")
    with sessions(plain_db, 1, autocommit=False) as (holder,), sessions(plain_db, 2) as (migration, reader):
        holder.conn.execute("select * from accounts")  # an open transaction holding ACCESS SHARE, then idle
        migration.start("alter table accounts add column note text")
        migration.wait_until("wait_event_type = 'Lock'")
        reader.start("select count(*) from accounts")
        reader.wait_until("wait_event_type = 'Lock'")

        assert plain_db.findings("blocked_queries", blocked_query_seconds=NEVER) == []
        finding = one(plain_db.findings("blocked_queries", blocked_query_seconds=0))
        assert finding.object == f"pid {holder.pid}" and finding.level == "WARN"
        assert finding.remediation.startswith(f"The root blocker is session {holder.pid} (user ")
        assert "idle in transaction" in finding.detail and "blocks 2 session(s)" in finding.detail
        assert f"pid {reader.pid} " in finding.detail and f"pid {migration.pid} " in finding.detail
        assert f"blocked by pid {migration.pid} <- blocked by pid {holder.pid}" in finding.detail
        assert "AccessExclusiveLock on public.accounts" in finding.detail
        assert finding.cache_key == one(plain_db.findings("blocked_queries", blocked_query_seconds=0)).cache_key
        assert finding.fix_sql is not None and "pg_terminate_backend" in finding.fix_sql
        assert f"pid = {holder.pid}" in finding.fix_sql and "xact_start" in finding.fix_sql

        # Sessions waiting on a lock are blocked_queries' findings, not long-running ones.
        thresholds = {"long_running_query_seconds": 0, "blocked_query_seconds": 0}
        for session in (holder, migration, reader):
            assert plain_db.on("long_running_queries", f"pid {session.pid}", **thresholds) == []

        plain_db.fix(finding)
        assert migration.finished() and migration.error is None
        assert reader.finished() and reader.error is None
        assert gone(plain_db, "blocked_queries", f"pid {holder.pid}", blocked_query_seconds=0)
        assert plain_db.findings("blocked_queries", blocked_query_seconds=0) == []
    assert plain_db.sql("select count(*) from information_schema.columns where column_name = 'note'") == [(1,)]


def test_an_active_root_blocker_gets_a_cancel_not_a_terminate(plain_db: Db) -> None:
    plain_db.sql("create table ledger (id int primary key)")
    with sessions(plain_db, 1, autocommit=False) as (holder,), sessions(plain_db, 1) as (writer,):
        holder.start("lock table ledger in exclusive mode; select pg_sleep(120) as batch_job")
        holder.wait_until("state = 'active' and strpos(query, 'batch_job') > 0")
        writer.start("insert into ledger values (1)")
        writer.wait_until("wait_event_type = 'Lock'")
        finding = one(plain_db.findings("blocked_queries", blocked_query_seconds=0))
        assert finding.object == f"pid {holder.pid}" and "running for" in finding.detail
        assert finding.fix_sql is not None and "pg_cancel_backend" in finding.fix_sql
        plain_db.fix(finding)
        assert holder.finished() and isinstance(holder.error, psycopg.errors.QueryCanceled)
        holder.conn.rollback()
        assert writer.finished() and writer.error is None
        assert plain_db.findings("blocked_queries", blocked_query_seconds=0) == []


# ---------------------------------------------------------------------------------------------------
# NOT VALID constraints
# ---------------------------------------------------------------------------------------------------


def test_not_valid_constraints(plain_db: Db) -> None:
    plain_db.sql(
        "create table owners (id int primary key); insert into owners values (1);"
        " create table pets (id int primary key, owner_id int, weight int); insert into pets values (1, 1, 5);"
        " alter table pets add constraint pets_owner_fk foreign key (owner_id) references owners not valid;"
        " alter table pets add constraint pets_weight_positive check (weight > 0) not valid;"
        " alter table pets add constraint pets_weight_sane check (weight < 1000)"  # validated: not reported
    )
    by_object = {f.object: f for f in plain_db.findings("not_valid_constraints")}
    assert set(by_object) == {"public.pets.pets_owner_fk", "public.pets.pets_weight_positive"}
    fk = by_object["public.pets.pets_owner_fk"]
    assert fk.level == "WARN" and "REFERENCES public.owners(id)" in fk.detail
    assert fk.fix_sql == "ALTER TABLE public.pets VALIDATE CONSTRAINT pets_owner_fk;"
    for finding in by_object.values():
        plain_db.fix(finding)
    assert plain_db.findings("not_valid_constraints") == []


def test_not_valid_constraint_on_a_partitioned_table_is_reported_once(plain_db: Db) -> None:
    plain_db.sql(
        'create table "Events" (id int, kind int) partition by range (id);'
        ' create table "Events_1" partition of "Events" for values from (0) to (100);'
        ' alter table "Events" add constraint "Kind ok" check (kind >= 0) not valid'
    )
    finding = one(plain_db.findings("not_valid_constraints"))
    assert finding.object == "public.Events.Kind ok"
    assert finding.fix_sql == 'ALTER TABLE public."Events" VALIDATE CONSTRAINT "Kind ok";'
    plain_db.fix(finding)
    assert plain_db.findings("not_valid_constraints") == []


# ---------------------------------------------------------------------------------------------------
# Index bloat
# ---------------------------------------------------------------------------------------------------


def test_index_bloat(plain_db: Db) -> None:
    plain_db.sql(
        "create table churned (id int primary key, code text) with (autovacuum_enabled = false);"
        " create index churned_code on churned (code); create index churned_lower on churned (lower(code));"
        " insert into churned select g, md5(g::text) from generate_series(1, 60000) g;"
        " delete from churned where id % 10 <> 0"
    )
    plain_db.sql("vacuum churned")
    plain_db.sql("analyze churned")
    thresholds = {"index_bloat_min_bytes": 0, "index_bloat_min_pct": 50}
    names = {"public.churned_pkey", "public.churned_code", "public.churned_lower"}
    assert not [f for f in plain_db.findings("index_bloat") if f.object in names]  # under the default 100 MB
    found = {f.object: f for f in plain_db.findings("index_bloat", **thresholds) if f.object in names}
    assert set(found) == names  # the expression index too, from its own statistics
    code = found["public.churned_code"]
    assert code.level == "INFO" and code.fix_sql == "REINDEX INDEX CONCURRENTLY public.churned_code;"
    assert "wasted space" in code.detail
    for finding in found.values():
        plain_db.fix(finding)
    assert not [f for f in plain_db.findings("index_bloat", **thresholds) if f.object in names]


def test_index_bloat_needs_statistics(plain_db: Db) -> None:
    plain_db.sql(
        "create table unanalyzed (id int primary key) with (autovacuum_enabled = false);"
        " insert into unanalyzed select generate_series(1, 20000); delete from unanalyzed where id % 10 <> 0"
    )
    plain_db.sql("vacuum unanalyzed")  # relpages and reltuples are known now, pg_stats is not: no guess
    assert plain_db.on("index_bloat", "public.unanalyzed_pkey", index_bloat_min_bytes=0, index_bloat_min_pct=1) == []


# ---------------------------------------------------------------------------------------------------
# Cache hit rate
# ---------------------------------------------------------------------------------------------------


def test_cache_hit_rate(plain_db: Db) -> None:
    plain_db.sql(
        "create table readings (id int primary key, v text);"
        " insert into readings select g, md5(g::text) from generate_series(1, 20000) g"
    )
    for i in range(1, 50):
        plain_db.sql("select v from readings where id = %s", (i,))
    plain_db.flush_stats()
    # A young database: too few blocks accessed to judge, whatever the rate.
    assert plain_db.findings("cache_hit_rate", cache_hit_rate_min_pct=100) == []
    finding = one(plain_db.findings("cache_hit_rate", cache_hit_rate_min_pct=100, cache_hit_min_reads=1))
    assert finding.object == "database.cache_hit_rate" and finding.level == "WARN" and finding.fix_sql is None
    assert "public.readings (" in finding.detail and "public.readings_pkey (" in finding.detail
    assert "shared_buffers" in finding.remediation
    assert plain_db.findings("cache_hit_rate", cache_hit_rate_min_pct=0, cache_hit_min_reads=1) == []


# ---------------------------------------------------------------------------------------------------
# Autovacuum freeze danger
# ---------------------------------------------------------------------------------------------------


def test_autovacuum_freeze_danger_uses_the_tables_own_freeze_max_age(plain_db: Db) -> None:
    plain_db.sql(
        "create table aging (id int primary key) with (autovacuum_freeze_max_age = 100000);"
        " create table plain_aging (id int primary key);"
        " insert into aging values (1); insert into plain_aging values (1)"
    )
    for _ in range(1500):
        plain_db.sql("select txid_current()")
    assert plain_db.on("autovacuum_freeze_danger", "public.aging") == []  # 95 % of 100,000 by default
    # 1 % of the table's own 100,000 is 1,000 transactions; the server's 200 million leaves plain_aging out.
    finding = one(plain_db.on("autovacuum_freeze_danger", "public.aging", autovacuum_freeze_used_pct=1))
    assert finding.level == "INFO" and "the table's own autovacuum_freeze_max_age" in finding.detail
    assert finding.fix_sql == "VACUUM (FREEZE, VERBOSE) public.aging;"
    assert plain_db.on("autovacuum_freeze_danger", "public.plain_aging", autovacuum_freeze_used_pct=1) == []
    # Past xid_age_warn the table belongs to xid_wraparound's one finding for the database: one VACUUM, not two.
    assert plain_db.on("autovacuum_freeze_danger", "public.aging", autovacuum_freeze_used_pct=1, xid_age_warn=500) == []
    database = one(plain_db.findings("xid_wraparound", xid_age_warn=500))
    assert database.fix_sql is not None and "public.aging" in database.fix_sql  # the 10 oldest are in the detail
    plain_db.fix(finding)
    assert plain_db.on("autovacuum_freeze_danger", "public.aging", autovacuum_freeze_used_pct=1) == []


def test_autovacuum_freeze_danger_quotes_the_table_it_freezes(plain_db: Db) -> None:
    plain_db.sql(
        'create table "Old Rows" (id int primary key, doc text) with (autovacuum_freeze_max_age = 100000);'
        " insert into \"Old Rows\" values (1, 'x')"
    )
    for _ in range(1500):
        plain_db.sql("select txid_current()")
    finding = one(plain_db.on("autovacuum_freeze_danger", "public.Old Rows", autovacuum_freeze_used_pct=1))
    assert finding.fix_sql == 'VACUUM (FREEZE, VERBOSE) public."Old Rows";'
    plain_db.fix(finding)
    assert plain_db.on("autovacuum_freeze_danger", "public.Old Rows", autovacuum_freeze_used_pct=1) == []


# ---------------------------------------------------------------------------------------------------
# Sequence danger against the column's type
# ---------------------------------------------------------------------------------------------------


def test_an_integer_column_fed_by_a_bigint_sequence_is_measured_against_the_column(plain_db: Db) -> None:
    plain_db.sql(
        "create sequence account_ids;"  # bigint, as every sequence created on its own
        " create table accounts (id integer primary key default nextval('account_ids'));"
        " create table invoices (id bigint primary key, account_id integer references accounts);"
        " select setval('account_ids', 2040109465)"  # 95 % of 2^31
    )
    finding = one(plain_db.findings("sequence_near_max"))
    assert (finding.object, finding.level) == ("public.account_ids", "ERROR")
    assert "public.accounts.id (integer, DEFAULT nextval())" in finding.detail
    assert "the column type, not the sequence, is the limit (2147483647)" in finding.detail
    assert "public.invoices.account_id (integer, constraint invoices_account_id_fkey)" in finding.detail
    assert finding.fix_sql == "ALTER TABLE public.accounts ALTER COLUMN id TYPE bigint;"
    assert "already bigint" in finding.remediation
    plain_db.fix(finding)
    assert plain_db.findings("sequence_near_max") == []


def test_a_serial_column_whose_sequence_was_widened_alone(plain_db: Db) -> None:
    plain_db.sql(
        'create table "Orders" ("Order No" serial primary key); alter sequence "Orders_Order No_seq" as bigint;'
        " select setval('\"Orders_Order No_seq\"', 1700000000)"
    )
    finding = one(plain_db.findings("sequence_near_max"))
    assert finding.level == "WARN" and "serial" in finding.detail
    assert finding.fix_sql == 'ALTER TABLE public."Orders" ALTER COLUMN "Order No" TYPE bigint;'
    plain_db.fix(finding)
    assert plain_db.findings("sequence_near_max") == []


def test_a_bigint_column_fed_by_the_same_value_is_not_in_danger(plain_db: Db) -> None:
    plain_db.sql(
        "create sequence wide_ids; create table wide (id bigint primary key default nextval('wide_ids'));"
        " select setval('wide_ids', 2040109465)"
    )
    assert plain_db.findings("sequence_near_max") == []


def test_a_sequence_shared_by_two_narrow_columns_gets_no_single_fix(plain_db: Db) -> None:
    plain_db.sql(
        "create sequence shared_ids;"
        " create table a1 (id integer default nextval('shared_ids'));"
        " create table a2 (id smallint default nextval('shared_ids'));"
        " select setval('shared_ids', 30000)"  # 92 % of the smallint's 32767
    )
    finding = one(plain_db.findings("sequence_near_max"))
    assert finding.level == "ERROR" and finding.fix_sql is None
    assert "public.a1.id (integer" in finding.detail and "public.a2.id (smallint" in finding.detail
    assert "Several columns" in finding.remediation
