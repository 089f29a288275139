"""Advisors on the real PostgreSQL: every check is triggered (positive), then fixed with its own fix_sql where it
has one (negative), as in Supabase splinter's tests. Plus muting, the runner's robustness, the CLI, snapshots and
the extended health.

Each test gets a brand-new database (``empty_db_dsn``); ``api_db`` also applies the app's schema (Supabase
compatibility roles anon/authenticated, auth.*, schema extensions with pg_stat_statements, the migrations).
Checks that depend on volume or time are made testable through the runner's thresholds, never by skipping.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from advisor_helpers import Db, one
from db_helpers import demo_manager, workspace_manager

from dba_admin import advisors
from dba_admin.advisors import (
    CATEGORIES,
    LEVELS,
    SUPABASE_DEFAULT_SCHEMAS,
    THRESHOLD_DEFAULTS,
    detect_exposed_schemas,
    filter_findings,
    load_checks,
    run_checks,
    run_checks_on,
)
from dba_admin.advisors_cli import register
from dba_admin.bootstrap import prepare_database
from dba_admin.config import Settings
from dba_admin.database import DatabaseManager

ALL_CHECKS = {c.name: c for c in load_checks()}


# ---------------------------------------------------------------------------------------------------
# Fixtures and helpers
# ---------------------------------------------------------------------------------------------------


# Db, one(), plain_db and api_db live in advisor_helpers (shared with the other advisor test files).


# ---------------------------------------------------------------------------------------------------
# The check files themselves
# ---------------------------------------------------------------------------------------------------


def test_every_check_file_has_a_header_the_tag_and_a_unique_name() -> None:
    assert len(ALL_CHECKS) >= 26
    for check in ALL_CHECKS.values():
        text = check.path.read_text()
        assert text.startswith(f"-- check: {check.name}\n-- category: {check.category}\n")
        assert "Why it matters" in text, check.name
        assert "/* dba_admin */" in text
        assert f"'{check.name}'" in text, "the name column must be the file's name"
    by_category = {c: [k for k in ALL_CHECKS.values() if k.category == c] for c in CATEGORIES}
    assert len(by_category["SECURITY"]) >= 10
    assert len(by_category["PERFORMANCE"]) >= 9
    assert len(by_category["MAINTENANCE"]) >= 7


def test_threshold_defaults_match_the_sql_fallbacks() -> None:
    texts = "\n".join(c.text for c in ALL_CHECKS.values())
    for key, default in THRESHOLD_DEFAULTS.items():
        pattern = rf"current_setting\('dba_admin\.{key}', true\), ''\), '{re.escape(default)}'\)"
        assert re.search(pattern, texts), f"{key}: SQL fallback differs from THRESHOLD_DEFAULTS ({default})"
    used = set(re.findall(r"current_setting\('dba_admin\.([a-z_]+)'", texts))
    assert used <= set(THRESHOLD_DEFAULTS) | {"exposed_schemas"}


def test_every_check_runs_on_an_empty_database_with_the_shared_shape(plain_db: Db) -> None:
    report = run_checks(plain_db.manager)
    assert {r.name for r in report.runs} == set(ALL_CHECKS)
    assert report.failed_checks == []
    # A plain database has no pg_stat_statements extension: those checks say so instead of failing.
    unavailable = {r.name for r in report.unavailable_checks}
    assert unavailable == {"top_statements", "n_plus_one_statements"}
    assert all("pg_stat_statements" in (r.message or "") for r in report.unavailable_checks)
    for finding in report.findings:
        assert finding.level in LEVELS and finding.category in CATEGORIES


def test_the_apps_own_migrations_have_no_error_or_warn_security_finding(api_db: Db) -> None:
    report = run_checks(api_db.manager, categories=["SECURITY"], include_app_objects=True)
    assert report.failed_checks == []
    serious = [f for f in report.findings if f.level in ("ERROR", "WARN")]
    assert serious == []
    # ... and no RLS policy of the app re-evaluates auth.*() per row.
    assert api_db.findings("auth_rls_initplan") == []


# ---------------------------------------------------------------------------------------------------
# Security
# ---------------------------------------------------------------------------------------------------


def test_rls_disabled_in_exposed_schema_with_an_odd_table_name(api_db: Db) -> None:
    api_db.sql('create table public."Odd ""name"" tbl" (id int primary key)')
    finding = one(api_db.on("rls_disabled_in_exposed_schema", 'public.Odd "name" tbl'))
    assert (finding.level, finding.category) == ("ERROR", "SECURITY")
    assert finding.fix_sql == (
        'ALTER TABLE public."Odd ""name"" tbl" ENABLE ROW LEVEL SECURITY;\n'
        'CREATE POLICY "deny API access until policies are written" ON public."Odd ""name"" tbl" AS PERMISSIVE'
        " FOR ALL TO public USING (false) WITH CHECK (false);"
    )
    api_db.sql('grant select on public."Odd ""name"" tbl" to anon; insert into public."Odd ""name"" tbl" values (1)')
    api_db.fix(finding)
    assert api_db.findings("rls_disabled_in_exposed_schema") == []
    # Closed on purpose: no "RLS enabled, no policy" follow-up, no overlap cost, and the API reads nothing.
    assert api_db.on("rls_enabled_no_policy", 'public.Odd "name" tbl') == []
    assert api_db.on("multiple_permissive_policies", 'public.Odd "name" tbl') == []
    api_db.sql("set role anon")
    try:
        assert api_db.sql('select * from public."Odd ""name"" tbl"') == []
    finally:
        api_db.sql("reset role")


def test_rls_disabled_follows_the_exposed_schemas_setting(api_db: Db) -> None:
    api_db.sql("create schema api; create table api.items (id int primary key)")
    assert api_db.findings("rls_disabled_in_exposed_schema") == []
    assert one(api_db.findings("rls_disabled_in_exposed_schema", exposed_schemas="public,api")).object == "api.items"
    # Settings.exposed_schemas is what the app passes by default.
    manager = DatabaseManager(Settings(database_url=api_db.dsn, exposed_schemas=("public", "api")), api_db.dsn)
    try:
        report = run_checks(manager, names=["rls_disabled_in_exposed_schema"])
    finally:
        manager.close()
    assert [f.object for f in report.findings] == ["api.items"]


def test_rls_enabled_no_policy(api_db: Db) -> None:
    api_db.sql(
        "create table public.notes (id int primary key, owner uuid); alter table public.notes enable row level security"
    )
    finding = one(api_db.on("rls_enabled_no_policy", "public.notes"))
    assert (finding.level, finding.fix_sql) == ("INFO", None)
    api_db.sql(
        "create policy notes_own on public.notes for select to authenticated using (owner = (select auth.uid()))"
    )
    assert api_db.on("rls_enabled_no_policy", "public.notes") == []


def test_policy_exists_rls_disabled(api_db: Db) -> None:
    api_db.sql(
        "create table public.docs (id int primary key, owner uuid);"
        " create policy docs_own on public.docs for select to authenticated using (owner = (select auth.uid()))"
    )
    finding = one(api_db.on("policy_exists_rls_disabled", "public.docs"))
    assert finding.level == "ERROR" and "docs_own" in finding.detail
    api_db.fix(finding)
    assert api_db.findings("policy_exists_rls_disabled") == []


def test_rls_policy_always_true_for_writes(api_db: Db) -> None:
    api_db.sql(
        "create table public.posts (id int primary key, owner uuid);"
        " alter table public.posts enable row level security;"
        " create policy posts_read_all on public.posts for select to anon, authenticated using (true);"
        " create policy posts_insert_any on public.posts for insert to authenticated with check (true)"
    )
    finding = one(api_db.on("rls_policy_always_true", "public.posts"))
    assert finding.level == "WARN" and "posts_insert_any" in finding.detail and finding.fix_sql is None
    assert finding.cache_key == "rls_policy_always_true_public_posts_posts_insert_any"
    api_db.sql("alter policy posts_insert_any on public.posts with check (owner = (select auth.uid()))")
    assert api_db.on("rls_policy_always_true", "public.posts") == []
    api_db.sql("create policy posts_update_any on public.posts for update to authenticated using (1 = 1)")
    assert "posts_update_any" in one(api_db.on("rls_policy_always_true", "public.posts")).detail


def test_auth_rls_initplan(api_db: Db) -> None:
    api_db.sql(
        "create table public.tasks (id int primary key, owner uuid, team text);"
        " alter table public.tasks enable row level security;"
        " create policy tasks_own on public.tasks for all to authenticated"
        "   using (owner = auth.uid()) with check (owner = auth.uid() and team = auth.jwt() ->> 'team');"
        " create policy tasks_wrapped on public.tasks for select to authenticated"
        "   using (owner = (select auth.uid()) or (select coalesce(auth.jwt() ->> 'role', '')) = 'admin')"
    )
    finding = one(api_db.on("auth_rls_initplan", "public.tasks"))
    assert finding.category == "PERFORMANCE" and "tasks_own" in finding.detail
    assert finding.fix_sql and finding.fix_sql.startswith("ALTER POLICY tasks_own ON public.tasks USING (")
    api_db.fix(finding)
    assert api_db.findings("auth_rls_initplan") == []
    # A call inside a correlated sub-query with FROM still runs per row.
    api_db.sql(
        "create table public.members (team text, member uuid);"
        " create policy tasks_team on public.tasks for select to authenticated using (exists ("
        "   select 1 from public.members m where m.team = tasks.team and m.member = auth.uid()))"
    )
    assert "tasks_team" in one(api_db.on("auth_rls_initplan", "public.tasks")).detail


def test_security_definer_view(api_db: Db) -> None:
    api_db.sql(
        "create table public.secrets_src (id int primary key, v text);"
        " create view public.v_all as select * from public.secrets_src"
    )
    assert api_db.findings("security_definer_view") == []  # not reachable by anon/authenticated yet
    api_db.sql("grant select on public.v_all to anon")
    finding = one(api_db.on("security_definer_view", "public.v_all"))
    assert finding.level == "ERROR" and "anon" in finding.detail
    api_db.fix(finding)
    assert api_db.findings("security_definer_view") == []


def test_security_definer_function_executable(api_db: Db) -> None:
    api_db.sql(
        'create function public."Grant Me"(who text, n int) returns int language sql security definer'
        " set search_path = '' as 'select 1'"
    )
    finding = one(api_db.on("security_definer_function_executable", "public.Grant Me(who text, n integer)"))
    assert finding.level == "WARN"
    assert finding.fix_sql == (
        'REVOKE EXECUTE ON FUNCTION public."Grant Me"(who text, n integer) FROM PUBLIC, anon, authenticated;'
    )
    api_db.fix(finding)
    assert api_db.findings("security_definer_function_executable") == []


def test_security_definer_function_in_a_schema_the_api_does_not_serve_is_not_reported(api_db: Db) -> None:
    api_db.sql("create schema internal_rpc")
    api_db.sql("grant usage on schema internal_rpc to authenticated")
    api_db.sql(
        "create function internal_rpc.audit_me() returns int language sql security definer"
        " set search_path = '' as 'select 1'"
    )
    assert api_db.findings("security_definer_function_executable") == []


def test_function_search_path_mutable(api_db: Db) -> None:
    api_db.sql("create function public.add_one(x int) returns int language sql as 'select x + 1'")
    api_db.sql(
        "create function public.add_one(x bigint) returns bigint language sql set search_path = '' as 'select x + 1'"
    )
    finding = one(api_db.findings("function_search_path_mutable"))
    assert finding.object == "public.add_one(x integer)"
    api_db.fix(finding)
    assert api_db.findings("function_search_path_mutable") == []


def test_extension_in_public(api_db: Db) -> None:
    api_db.sql("create extension pg_trgm with schema public")
    finding = one(api_db.findings("extension_in_public"))
    assert (finding.object, finding.fix_sql) == ("public.pg_trgm", "ALTER EXTENSION pg_trgm SET SCHEMA extensions;")
    # The extension's own functions are not reported as the project's functions.
    assert api_db.findings("function_search_path_mutable") == []
    api_db.fix(finding)
    assert api_db.findings("extension_in_public") == []


def test_sensitive_columns_exposed(api_db: Db) -> None:
    api_db.sql(
        "create table public.accounts (id int primary key, email text, password_hash text, api_key text);"
        " grant select on public.accounts to anon"
    )
    finding = one(api_db.findings("sensitive_columns_exposed"))
    assert finding.object == "public.accounts" and finding.level == "ERROR"
    assert "password_hash" in finding.detail and "api_key" in finding.detail and "email" not in finding.detail
    api_db.fix(finding)  # RLS on: rows are now filtered by policies (none yet, so none at all)
    assert api_db.findings("sensitive_columns_exposed") == []
    api_db.sql(
        "create view public.v_accounts as select id, password_hash from public.accounts;"
        " grant select on public.v_accounts to authenticated"
    )
    view_finding = one(api_db.findings("sensitive_columns_exposed"))
    assert view_finding.object == "public.v_accounts"
    api_db.fix(view_finding)
    assert api_db.findings("sensitive_columns_exposed") == []


def test_materialized_view_in_api(api_db: Db) -> None:
    api_db.sql("create materialized view public.mv_totals as select 1 as total")
    assert api_db.findings("materialized_view_in_api") == []
    api_db.sql("grant select on public.mv_totals to authenticated")
    finding = one(api_db.findings("materialized_view_in_api"))
    assert finding.object == "public.mv_totals"
    api_db.fix(finding)
    assert api_db.findings("materialized_view_in_api") == []


def test_foreign_table_in_api(api_db: Db) -> None:
    api_db.sql(
        "create extension file_fdw with schema extensions;"
        " create server files foreign data wrapper file_fdw;"
        " create foreign table public.host_name (line text) server files options (filename '/etc/hostname');"
        " grant select on public.host_name to anon"
    )
    finding = one(api_db.findings("foreign_table_in_api"))
    assert finding.object == "public.host_name" and finding.level == "WARN"
    api_db.fix(finding)
    assert api_db.findings("foreign_table_in_api") == []


# ---------------------------------------------------------------------------------------------------
# Performance
# ---------------------------------------------------------------------------------------------------


def test_unindexed_foreign_keys(plain_db: Db) -> None:
    plain_db.sql(
        "create table parent (id int primary key, k int, unique (id, k));"
        " create table child (id int primary key, parent_id int references parent (id),"
        "   p_id int, p_k int, foreign key (p_k, p_id) references parent (k, id));"
        " create index child_pid_pk on child (p_id, p_k)"  # composite key covered, columns in another order
    )
    finding = one(plain_db.findings("unindexed_foreign_keys"))
    assert finding.object == "public.child" and "parent_id" in finding.detail
    assert finding.fix_sql == "CREATE INDEX CONCURRENTLY ON public.child (parent_id);"
    plain_db.fix(finding)
    assert plain_db.findings("unindexed_foreign_keys") == []


def test_unused_index(plain_db: Db) -> None:
    plain_db.sql(
        "create table events (id int primary key, kind int, at int);"
        " insert into events select g, g % 10, g from generate_series(1, 1000) g;"
        " create index events_kind_idx on events (kind); create index events_at_idx on events (at); analyze events"
    )
    objects = {f.object for f in plain_db.findings("unused_index")}
    assert objects == {"public.events_kind_idx", "public.events_at_idx"}  # the primary key is never reported
    plain_db.sql("set enable_seqscan = off; set enable_bitmapscan = off")
    plain_db.sql("select * from events where kind = 3")
    plain_db.flush_stats()
    finding = one(plain_db.findings("unused_index"))
    assert finding.object == "public.events_at_idx"
    plain_db.fix(finding)
    assert plain_db.findings("unused_index") == []


def test_duplicate_index_exact(plain_db: Db) -> None:
    plain_db.sql(
        "create table t1 (id int primary key, a int);"
        " create index t1_a on t1 (a); create index t1_a_copy on t1 (a);"
        " create index t1_id on t1 (id)"  # duplicates the primary key's index: the plain one is reported
    )
    findings = plain_db.findings("duplicate_index")
    assert {f.object for f in findings} == {"public.t1_a_copy", "public.t1_id"}
    for finding in findings:
        plain_db.fix(finding)
    assert plain_db.findings("duplicate_index") == []
    assert plain_db.sql("select count(*) from pg_indexes where tablename = 't1'") == [(2,)]


def test_duplicate_index_prefix_covered(plain_db: Db) -> None:
    plain_db.sql(
        "create table t2 (id int primary key, a int, b int);"
        " create index t2_a on t2 (a); create index t2_a_b on t2 (a, b);"
        " create unique index t2_b_uq on t2 (b); create index t2_b_a on t2 (b, a)"  # unique: enforces something
    )
    finding = one(plain_db.findings("duplicate_index"))
    assert finding.object == "public.t2_a" and "t2_a_b" in finding.detail
    plain_db.fix(finding)
    assert plain_db.findings("duplicate_index") == []


def test_invalid_index(plain_db: Db) -> None:
    plain_db.sql("create table dupes (a int); insert into dupes values (1), (1)")
    with pytest.raises(psycopg.errors.UniqueViolation):
        plain_db.sql("create unique index concurrently dupes_a_uq on dupes (a)")
    finding = one(plain_db.findings("invalid_index"))
    assert finding.object == "public.dupes_a_uq" and finding.level == "WARN"
    plain_db.fix(finding)
    assert plain_db.findings("invalid_index") == []


def test_no_primary_key(plain_db: Db) -> None:
    plain_db.sql(
        "create table loose (a int); create table keyed (code text not null, v int);"
        " create unique index keyed_code on keyed (code)"
    )
    by_object = {f.object: f for f in plain_db.findings("no_primary_key")}
    assert set(by_object) == {"public.loose", "public.keyed"}
    assert by_object["public.loose"].fix_sql is None
    plain_db.fix(by_object["public.keyed"])
    plain_db.sql("alter table loose add column id bigint generated always as identity primary key")
    assert plain_db.findings("no_primary_key") == []


def test_seq_scan_heavy_table(plain_db: Db) -> None:
    plain_db.sql(
        "create table big (id int primary key, v text);"
        " insert into big select g, md5(g::text) from generate_series(1, 3000) g; analyze big"
    )
    plain_db.sql("set enable_indexscan = off; set enable_bitmapscan = off; set enable_indexonlyscan = off")
    for _ in range(3):
        plain_db.sql("select count(*) from big where v like 'a%'")
    plain_db.flush_stats()
    assert plain_db.findings("seq_scan_heavy_table") == []  # 3,000 rows is not large by default
    # Three sequential reads are no pattern yet (seq_scan_min_reads, default 100); from one on they count.
    assert plain_db.findings("seq_scan_heavy_table", seq_scan_min_rows=1000) == []
    assert plain_db.findings("seq_scan_heavy_table", seq_scan_min_rows=1000, seq_scan_min_reads=4) == []
    finding = one(plain_db.findings("seq_scan_heavy_table", seq_scan_min_rows=1000, seq_scan_min_reads=3))
    assert finding.object == "public.big" and finding.fix_sql is None
    plain_db.sql("reset all")
    for i in range(1, 150):
        plain_db.sql("select v from big where id = %s", (i,))
    plain_db.flush_stats()
    assert plain_db.findings("seq_scan_heavy_table", seq_scan_min_rows=1000, seq_scan_min_reads=1) == []


def test_table_bloat(plain_db: Db) -> None:
    plain_db.sql(
        "create table bloated (id int primary key, pad text) with (autovacuum_enabled = false);"
        " insert into bloated select g, repeat('x', 200) from generate_series(1, 20000) g;"
        " delete from bloated where id % 10 <> 0; analyze bloated"
    )
    thresholds = {"bloat_min_bytes": 0, "bloat_min_pct": 50}
    assert plain_db.on("table_bloat", "public.bloated") == []  # under the default 100 MB of waste
    finding = one(plain_db.on("table_bloat", "public.bloated", **thresholds))
    assert finding.fix_sql == "VACUUM (FULL, ANALYZE) public.bloated;"
    plain_db.fix(finding)
    assert plain_db.on("table_bloat", "public.bloated", **thresholds) == []


def test_top_statements(api_db: Db) -> None:
    for _ in range(3):
        api_db.sql("select pg_sleep(%s)", (0.02,))
    findings = [
        f
        for f in api_db.findings("top_statements", top_statements_min_total_ms=10, top_statements_limit=1000)
        if "pg_sleep" in f.detail
    ]
    finding = one(findings)
    assert finding.object.startswith("statement ") and finding.level == "INFO" and finding.fix_sql is None
    assert finding.cache_key == "top_statements_" + finding.object.removeprefix("statement ")
    assert api_db.findings("top_statements", top_statements_min_total_ms=10**9) == []


def test_n_plus_one_statements(api_db: Db) -> None:
    api_db.sql(
        "create table pets (id int primary key, name text);"
        " insert into pets select g, 'pet ' || g from generate_series(1, 300) g"
    )
    for i in range(1, 151):
        api_db.sql("select name from pets where id = %s", (i,))
    thresholds = {"n_plus_one_min_calls": 100, "n_plus_one_max_mean_ms": 50}
    finding = one([f for f in api_db.findings("n_plus_one_statements", **thresholds) if "from pets" in f.detail])
    assert "150" in finding.detail
    assert [f for f in api_db.findings("n_plus_one_statements") if "from pets" in f.detail] == []  # default 10,000


# ---------------------------------------------------------------------------------------------------
# Maintenance
# ---------------------------------------------------------------------------------------------------


def test_xid_wraparound(plain_db: Db) -> None:
    plain_db.sql("create table old_rows (id int primary key); insert into old_rows values (1)")
    for _ in range(250):
        plain_db.sql("select txid_current()")
    assert plain_db.findings("xid_wraparound") == []  # default: a billion transactions
    # One finding for the database (every table here is over 200), not one per table.
    finding = one(plain_db.findings("xid_wraparound", xid_age_warn=200))
    database = plain_db.sql("select current_database()")[0][0]
    assert (finding.object, finding.level, finding.cache_key) == (database, "WARN", f"xid_wraparound_{database}")
    assert finding.fix_sql and finding.fix_sql.startswith("VACUUM (FREEZE, VERBOSE)\n")
    assert "    public.old_rows" in {line.rstrip(",;") for line in finding.fix_sql.splitlines()}
    assert one(plain_db.findings("xid_wraparound", xid_age_warn=200, xid_age_error=200)).level == "ERROR"
    plain_db.fix(finding)  # one statement: VACUUM takes the list of tables
    left = plain_db.findings("xid_wraparound", xid_age_warn=200)
    # A shared catalog's freeze horizon is the whole cluster's: another test's open snapshot may hold it back.
    shared = {f"    pg_catalog.{r[0]}" for r in plain_db.sql("select relname from pg_class where relisshared")}
    assert left == [] or {line.rstrip(",;") for line in (left[0].fix_sql or "").splitlines()[1:]} <= shared


def test_sequence_near_max(plain_db: Db) -> None:
    plain_db.sql("create sequence order_no as integer; select setval('order_no', 2000000000)")
    finding = one(plain_db.findings("sequence_near_max"))
    assert (finding.object, finding.level) == ("public.order_no", "ERROR")  # 93 % used
    assert finding.fix_sql == "ALTER SEQUENCE public.order_no AS bigint NO MAXVALUE;"
    plain_db.fix(finding)
    assert plain_db.findings("sequence_near_max") == []
    # An integer identity column: widening the column widens its sequence too.
    plain_db.sql(
        "create table tickets (id int generated always as identity primary key);"
        " select setval(pg_get_serial_sequence('tickets', 'id'), 1700000000)"
    )
    identity = one(plain_db.findings("sequence_near_max"))
    assert identity.level == "WARN" and identity.fix_sql == "ALTER TABLE public.tickets ALTER COLUMN id TYPE bigint;"
    plain_db.fix(identity)
    assert plain_db.findings("sequence_near_max") == []
    # An integer serial column needs two statements: no single fix_sql, the remediation says what to do.
    plain_db.sql("create table legacy (id serial primary key); select setval('legacy_id_seq', 1700000000)")
    serial = one(plain_db.findings("sequence_near_max"))
    assert serial.fix_sql is None and "ALTER COLUMN" in serial.remediation
    assert plain_db.findings("sequence_near_max", sequence_used_pct=80) == []


def test_vacuum_overdue(plain_db: Db) -> None:
    plain_db.sql(
        "create table churn (id int primary key, v text) with (autovacuum_enabled = false);"
        " insert into churn select g, 'x' from generate_series(1, 2000) g; delete from churn where id > 100"
    )
    plain_db.flush_stats()
    assert plain_db.on("vacuum_overdue", "public.churn") == []  # default minimum 10,000 dead rows
    finding = one(plain_db.on("vacuum_overdue", "public.churn", vacuum_min_dead_rows=100))
    assert "1900 dead rows" in finding.detail
    plain_db.fix(finding)
    assert plain_db.on("vacuum_overdue", "public.churn", vacuum_min_dead_rows=100) == []


def test_analyze_overdue(plain_db: Db) -> None:
    plain_db.sql(
        "create table fresh (id int primary key) with (autovacuum_enabled = false);"
        " insert into fresh select generate_series(1, 2000)"
    )
    plain_db.flush_stats()
    finding = one(plain_db.on("analyze_overdue", "public.fresh", analyze_min_changed_rows=100))
    assert "never" in finding.detail and finding.fix_sql == "ANALYZE public.fresh;"
    plain_db.fix(finding)
    assert plain_db.on("analyze_overdue", "public.fresh", analyze_min_changed_rows=100) == []


def test_autovacuum_disabled(plain_db: Db) -> None:
    plain_db.sql(
        "create table quiet (id int primary key, doc text) with (autovacuum_enabled = false);"
        " create table quiet_toast (id int primary key, doc text) with (toast.autovacuum_enabled = off)"
    )
    findings = plain_db.findings("autovacuum_disabled")
    assert {f.object for f in findings} == {"public.quiet", "public.quiet_toast"}
    for finding in findings:
        plain_db.fix(finding)
    assert plain_db.findings("autovacuum_disabled") == []


def test_idle_in_transaction(plain_db: Db) -> None:
    idle = psycopg.connect(plain_db.dsn)  # not autocommit: the SELECT opens a transaction that stays open
    try:
        idle.execute("select 1")
        pid = idle.info.backend_pid
        assert plain_db.on("idle_in_transaction", f"pid {pid}") == []  # default: a minute
        finding = one(plain_db.on("idle_in_transaction", f"pid {pid}", idle_in_transaction_seconds=0))
        assert finding.fix_sql is not None
        assert finding.fix_sql.startswith(
            "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity"
            f" WHERE pid = {pid} AND xact_start = "
        )
        # A fix read before the session moved on to another transaction ends nothing.
        stale = finding
        idle.commit()
        idle.execute("select 2")
        plain_db.fix(stale)
        assert idle.execute("select 3").fetchone() == (3,)
        finding = one(plain_db.on("idle_in_transaction", f"pid {pid}", idle_in_transaction_seconds=0))
        plain_db.fix(finding)
        for _ in range(100):  # the backend exits asynchronously after the signal
            if not plain_db.on("idle_in_transaction", f"pid {pid}", idle_in_transaction_seconds=0):
                break
            time.sleep(0.05)
        assert plain_db.on("idle_in_transaction", f"pid {pid}", idle_in_transaction_seconds=0) == []
    finally:
        idle.close()


def test_an_idle_session_that_blocks_others_is_one_blocked_queries_finding_not_two(plain_db: Db) -> None:
    plain_db.sql("create table held (id int primary key)")
    idle = psycopg.connect(plain_db.dsn)
    waiter = psycopg.connect(plain_db.dsn, autocommit=True)
    try:
        idle.execute("lock table held in access exclusive mode")
        blocked = threading.Thread(target=lambda: waiter.execute("select count(*) from held"), daemon=True)
        blocked.start()
        for _ in range(200):
            if plain_db.sql("select 1 from pg_locks where pid = %s and not granted", (waiter.info.backend_pid,)):
                break
            time.sleep(0.05)
        thresholds = {"idle_in_transaction_seconds": 0, "blocked_query_seconds": 0}
        assert plain_db.on("idle_in_transaction", f"pid {idle.info.backend_pid}", **thresholds) == []
        root = one(plain_db.findings("blocked_queries", **thresholds))
        assert str(idle.info.backend_pid) in root.object
    finally:
        idle.close()
        blocked.join(timeout=10)
        waiter.close()


def test_inactive_replication_slot(plain_db: Db) -> None:
    name = f"test_slot_{uuid.uuid4().hex[:8]}"
    plain_db.sql("select pg_create_physical_replication_slot(%s, true)", (name,))
    try:
        finding = one(plain_db.on("inactive_replication_slot", name))
        assert finding.level == "WARN" and "retains" in finding.detail
        assert finding.fix_sql == f"SELECT pg_drop_replication_slot('{name}');"
        plain_db.fix(finding)
        assert plain_db.on("inactive_replication_slot", name) == []
    finally:
        plain_db.sql(
            "select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = %s", (name,)
        )


def test_connections_near_max(plain_db: Db) -> None:
    assert plain_db.findings("connections_near_max", connections_warn_pct=100) == []
    finding = one(plain_db.findings("connections_near_max", connections_warn_pct=0.5))
    assert finding.object == "server.max_connections" and finding.fix_sql is None
    assert re.match(r"\d+ of \d+ connections in use", finding.detail)


# ---------------------------------------------------------------------------------------------------
# Runner, muting, filters
# ---------------------------------------------------------------------------------------------------


def test_a_failing_or_slow_check_does_not_sink_the_run(plain_db: Db, tmp_path: Path) -> None:
    (tmp_path / "broken.sql").write_text(
        "-- check: broken\n-- category: MAINTENANCE\n-- Why it matters: it does not.\nselect 1 / 0 /* dba_admin */\n"
    )
    (tmp_path / "slow.sql").write_text(
        "-- check: slow\n-- category: PERFORMANCE\n-- Why it matters: it is slow.\n"
        "select 'slow' as name from pg_sleep(5) /* dba_admin */\n"
    )
    (tmp_path / "no_primary_key.sql").write_text(ALL_CHECKS["no_primary_key"].text)
    plain_db.sql("create table loose (a int)")
    with plain_db.manager.connection() as conn:
        report = run_checks_on(conn, checks=load_checks(tmp_path), timeout_ms=200)
    status = {r.name: r.status for r in report.runs}
    assert status == {"broken": "error", "slow": "error", "no_primary_key": "ok"}
    failed = {f.name: f for f in report.findings if f.check_failed}
    assert "22012" in failed["broken"].detail and "57014" in failed["slow"].detail
    assert failed["broken"].level == "ERROR" and failed["broken"].cache_key == "check_failed_broken"
    assert [f.object for f in report.findings if f.name == "no_primary_key"] == ["public.loose"]


def test_checks_run_read_only(plain_db: Db, tmp_path: Path) -> None:
    (tmp_path / "writer.sql").write_text(
        "-- check: writer\n-- category: SECURITY\ncreate table sneaky (a int) /* dba_admin */\n"
    )
    with plain_db.manager.connection() as conn:
        report = run_checks_on(conn, checks=load_checks(tmp_path))
    assert report.runs[0].status == "error" and "read-only" in (report.runs[0].message or "")
    assert plain_db.sql("select to_regclass('public.sneaky')") == [(None,)]


def test_mute_and_unmute_are_audited_and_muted_findings_stay_listed(api_db: Db) -> None:
    api_db.sql("create table public.open_table (id int primary key)")
    finding = one(api_db.findings("rls_disabled_in_exposed_schema"))
    advisors.mute_finding(api_db.manager, finding, actor="dba@example.com", reason="public reference data")
    report = run_checks(api_db.manager, categories=["SECURITY"])
    listed = one([f for f in report.findings if f.cache_key == finding.cache_key])
    assert listed.muted and listed.muted_by == "dba@example.com" and listed.mute_reason == "public reference data"
    assert listed not in report.active and listed in report.muted
    assert not report.fails_at("ERROR") and report.counts()["ERROR"] == 0
    mutes = advisors.muted_findings(api_db.manager)
    assert list(mutes["cache_key"]) == [finding.cache_key] and list(mutes["object"]) == ["public.open_table"]
    assert advisors.unmute(api_db.manager, finding.cache_key, actor="dba@example.com") is True
    assert advisors.unmute(api_db.manager, finding.cache_key, actor="dba@example.com") is False
    assert run_checks(api_db.manager, categories=["SECURITY"]).fails_at("ERROR")
    audit_rows = api_db.sql(
        "select action, actor, target, details ->> 'reason' from dba_admin.audit_log"
        " where action like 'advisor.%%' order by id"
    )
    assert audit_rows == [
        ("advisor.mute", "dba@example.com", finding.cache_key, "public reference data"),
        ("advisor.unmute", "dba@example.com", finding.cache_key, None),
    ]


def test_filters_and_category_selection(api_db: Db) -> None:
    api_db.sql("create table public.loose_public (a int)")  # no RLS (ERROR, SECURITY) and no key (INFO, PERFORMANCE)
    report = run_checks(api_db.manager)
    mine = [f for f in report.findings if f.object == "public.loose_public"]
    assert {(f.name, f.level) for f in mine} >= {
        ("rls_disabled_in_exposed_schema", "ERROR"),
        ("no_primary_key", "INFO"),
    }
    assert {f.category for f in filter_findings(mine, categories=["security"])} == {"SECURITY"}
    assert {f.level for f in filter_findings(mine, min_level="WARN")} == {"ERROR"}
    assert {f.level for f in filter_findings(mine, levels=["INFO"])} == {"INFO"}
    only_perf = run_checks(api_db.manager, categories=["PERFORMANCE"])
    assert {r.category for r in only_perf.runs} == {"PERFORMANCE"}
    with pytest.raises(ValueError, match="category"):
        filter_findings(mine, categories=["NOPE"])
    with pytest.raises(ValueError, match="threshold"):
        run_checks(api_db.manager, thresholds={"bad name; drop": 1})


# ---------------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------------


def _cli(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="dba-admin")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return int(args.func(settings, args))


def _prepared_remote(app_db: Any, dsn: str) -> Settings:
    """A migrated remote database; read-only commands never prepare one themselves (`dba-admin migrate` does).

    The suite's authenticator login is reused: roles are cluster-wide, and a generated password for this database
    would replace the one every other test's workspace uses.
    """
    settings = Settings(database_url=dsn, load_demo=False, authenticator_database_url=app_db.authenticator_dsn)
    prepare_database(settings)
    return settings


def test_advise_fails_on_error_when_a_table_is_unprotected(
    app_db: Any, empty_db_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _prepared_remote(app_db, empty_db_dsn)
    assert _cli(settings, "advise", "--fail-on", "ERROR", "--category", "security") == 0  # the app's own schema
    with psycopg.connect(empty_db_dsn, autocommit=True) as conn:
        conn.execute("create table public.customers (id int primary key, email text)")
    capsys.readouterr()
    assert _cli(settings, "advise", "--fail-on", "ERROR") == 1
    out = capsys.readouterr().out
    assert "rls_disabled_in_exposed_schema  public.customers" in out
    assert "ALTER TABLE public.customers ENABLE ROW LEVEL SECURITY;" in out
    assert _cli(settings, "advise", "--json", "--category", "SECURITY") == 0  # no --fail-on: report only
    data = json.loads(capsys.readouterr().out)
    assert data["counts"]["ERROR"] >= 1
    assert any(f["object"] == "public.customers" and f["fix_sql"] for f in data["findings"])
    assert {c["name"] for c in data["checks"]} == {n for n, c in ALL_CHECKS.items() if c.category == "SECURITY"}


def test_snapshot_command(app_db: Any, empty_db_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    settings = _prepared_remote(app_db, empty_db_dsn)
    assert _cli(settings, "snapshot", "--json") == 0
    first = json.loads(capsys.readouterr().out)
    assert first["tables"] > 0 and first["database_size_bytes"] > 0
    assert _cli(settings, "snapshot", "--if-due") == 0
    assert "no snapshot taken" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------------
# Snapshots and extended health
# ---------------------------------------------------------------------------------------------------


def test_snapshots_and_their_history(api_db: Db) -> None:
    manager = api_db.manager
    assert advisors.snapshot_due(manager)
    api_db.sql(
        "create table public.growing (id int primary key, v text);"
        " insert into public.growing select g, md5(g::text) from generate_series(1, 500) g; analyze public.growing"
    )
    first = advisors.take_snapshot(manager, actor="test")
    assert first.tables > 0 and first.indexes > 0 and first.statements_available and first.statements > 0
    assert not advisors.snapshot_due(manager)
    assert advisors.take_snapshot_if_due(manager) is None
    # Only this database's statements from here on: the snapshot keeps the top 100 by time, and the checks run by the
    # tests before this one would otherwise outrank a fast select called 20 times.
    api_db.sql(
        "select extensions.pg_stat_statements_reset(0, d.oid, 0) from pg_database d"
        " where d.datname = current_database()"
    )
    for i in range(20):
        api_db.sql("select v from public.growing where id = %s", (i,))
    api_db.sql(
        "insert into public.growing select g, md5(g::text) from generate_series(501, 5000) g; analyze public.growing"
    )
    second = advisors.take_snapshot(manager, actor="test")
    assert second.id > first.id

    sizes = advisors.database_size_history(manager)
    assert list(sizes.columns) == ["taken_at", "database_size_bytes"] and len(sizes) == 2
    tables = advisors.table_size_history(manager, top=5)
    growing = tables[tables["table"] == "public.growing"]
    assert len(growing) == 2 and growing["estimated_rows"].tolist() == [500, 5000]
    statements = advisors.statement_time_by_day(manager)
    assert list(statements.columns) == ["day", "queryid", "query", "calls", "total_exec_ms"]
    assert any("from public.growing" in q for q in statements["query"]), statements["query"].tolist()
    assert (statements["total_exec_ms"] >= 0).all()
    assert advisors.take_snapshot_if_due(manager, max_age=timedelta(0)) is not None


def test_extended_health_probes_each_foreign_server(api_db: Db) -> None:
    api_db.sql(
        "create extension file_fdw with schema extensions;"
        " create extension postgres_fdw with schema extensions;"
        " create server files foreign data wrapper file_fdw;"
        " create foreign table public.host_name (line text) server files options (filename '/etc/hostname');"
        " create server gone foreign data wrapper postgres_fdw options (host '/nonexistent-socket-dir', dbname 'x');"
        " create user mapping for current_user server gone options (user 'nobody');"
        " create foreign table public.remote_rows (id int) server gone;"
        " create server unused foreign data wrapper postgres_fdw options (host '/nonexistent-socket-dir')"
    )
    health = advisors.extended_health(api_db.manager)
    assert health["pg_stat_statements"]["available"] is True
    servers = {s["server"]: s for s in health["foreign_servers"]}
    assert servers["files"]["reachable"] is True and servers["files"]["table"] == "public.host_name"
    assert servers["gone"]["reachable"] is False and "08001" in servers["gone"]["error"]
    assert servers["unused"]["reachable"] is None and servers["unused"]["table"] is None
    assert health["ok"] is False


def test_extended_health_without_pg_stat_statements(plain_db: Db) -> None:
    health = advisors.extended_health(plain_db.manager)
    assert health["pg_stat_statements"]["available"] is False
    assert "shared_preload_libraries" in health["pg_stat_statements"]["message"]
    assert health["foreign_servers"] == [] and health["ok"] is True


def test_snapshot_helpers_need_the_migration(plain_db: Db) -> None:
    from dba_admin.errors import ConfigError

    with pytest.raises(ConfigError, match="migrate"):
        advisors.take_snapshot(plain_db.manager)
    with pytest.raises(ConfigError, match="migrate"):
        advisors.mute(plain_db.manager, "x", actor="t")


# ---------------------------------------------------------------------------------------------------
# Exposed schemas: detected per connection, not assumed
# ---------------------------------------------------------------------------------------------------

EXPOSURE_CHECKS = [
    "rls_disabled_in_exposed_schema",
    "security_definer_function_executable",
    "sensitive_columns_exposed",
    "extension_in_public",
]


def test_plain_postgresql_exposes_no_schema_so_no_exposure_error(plain_db: Db) -> None:
    plain_db.sql(
        "create table public.customers (id int primary key, password text);"
        " create function public.f() returns int language sql security definer set search_path = '' as 'select 1'"
    )
    with plain_db.manager.connection() as conn:
        exposed = detect_exposed_schemas(conn)
    assert exposed.schemas == () and exposed.source == "none"
    report = run_checks(plain_db.manager, names=EXPOSURE_CHECKS)
    assert report.failed_checks == [] and report.findings == []
    assert report.exposed_schemas == () and report.to_dict()["exposed_schemas"] == []
    # An explicit EXPOSED_SCHEMAS still wins.
    configured = DatabaseManager(Settings(database_url=plain_db.dsn, exposed_schemas=("public",)), plain_db.dsn)
    try:
        found = run_checks(configured, names=["rls_disabled_in_exposed_schema"])
    finally:
        configured.close()
    assert [f.object for f in found.findings] == ["public.customers"]


def test_a_supabase_like_database_without_the_setting_exposes_public_and_graphql_public(api_db: Db) -> None:
    with api_db.manager.connection() as conn:
        exposed = detect_exposed_schemas(conn)
    assert exposed.schemas == SUPABASE_DEFAULT_SCHEMAS and exposed.source == "supabase default"


def test_the_api_roles_pgrst_db_schemas_setting_decides(app_db: Any, plain_db: Db) -> None:
    """PostgREST's role and its pgrst.db_schemas, database-specific first. Roles are cluster-wide on the suite's
    server, so the role has a name of its own (detection takes it as a parameter) and is dropped at the end."""
    role = f"authn_{uuid.uuid4().hex[:8]}"
    dbname = plain_db.sql("select current_database()")[0][0]
    plain_db.sql(f"create role {role} nologin")
    try:
        plain_db.sql(f"alter role {role} set pgrst.db_schemas = 'public'")
        with plain_db.manager.connection() as conn:
            assert detect_exposed_schemas(conn, api_role=role).schemas == ("public",)
        plain_db.sql(f'alter role {role} in database "{dbname}" set pgrst.db_schemas = \'api, "Public Stuff"\'')
        plain_db.sql("create schema api; create table api.items (id int primary key); create table public.t (a int)")
        with plain_db.manager.connection() as conn:
            exposed = detect_exposed_schemas(conn, api_role=role)
            assert exposed.schemas == ("api", "Public Stuff") and exposed.source == "pgrst.db_schemas"
            report = run_checks_on(conn, names=["rls_disabled_in_exposed_schema"], exposed=exposed)
        assert [f.object for f in report.findings] == ["api.items"]
        # ... and the monitor login of a plain database reads the setting too (pg_db_role_setting is public).
        with psycopg.connect(app_db.demo_monitor_dsn) as conn:
            assert detect_exposed_schemas(conn, api_role=role).source in ("pgrst.db_schemas", "supabase default")
    finally:
        plain_db.sql(f"drop role {role}")


def test_an_empty_exposed_list_runs_every_exposure_check_without_rows(api_db: Db) -> None:
    api_db.sql(
        "create table public.accounts (id int primary key, password_hash text);"
        " grant select on public.accounts to anon; create extension pg_trgm with schema public"
    )
    assert api_db.findings("rls_disabled_in_exposed_schema")  # exposed by default here (Supabase-like)
    for name in EXPOSURE_CHECKS:
        assert api_db.findings(name, exposed_schemas="") == [], name
        assert api_db.findings(name, exposed_schemas=" , ") == [], name


# ---------------------------------------------------------------------------------------------------
# A connection: read with its monitor login, never written to; the app's own objects left out of the workspace
# ---------------------------------------------------------------------------------------------------

_CATALOG_FINGERPRINT = """
select md5(string_agg(x, '|' order by x)) from (
    select format('rel %s.%s %s %s %s', n.nspname, c.relname, c.relkind, c.relacl, c.relowner::regrole)
    from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
    union all select format('nsp %s %s', nspname, nspacl) from pg_namespace
    union all select format('role %s', rolname) from pg_roles
    union all select format('fn %s', p.oid::regprocedure) from pg_proc p
    union all select format('defacl %s %s', defaclrole, defaclacl) from pg_default_acl
) f(x)
"""


def _fingerprint(dsn: str) -> tuple[str, int]:
    with psycopg.connect(dsn) as conn:
        digest = conn.execute(_CATALOG_FINGERPRINT).fetchone()
        rows = conn.execute("select coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) from pg_stat_all_tables")
        writes = rows.fetchone()
    assert digest and writes
    return str(digest[0]), int(writes[0])


def test_advisors_snapshot_and_mute_on_the_monitor_login_never_write_to_the_connection(app_db: Any) -> None:
    demo = demo_manager(app_db, monitor=True)
    try:
        before, _ = _fingerprint(app_db.demo_dsn)
        report = run_checks(demo)
        # Every check runs (or says why it is skipped) with only pg_monitor and SELECT on public.
        assert report.failed_checks == [], [(r.name, r.message) for r in report.failed_checks]
        assert all(r.message for r in report.unavailable_checks)
        # The demo is described as a Supabase project: its deliberate defect is found.
        assert "public" in report.exposed_schemas
        finding = next(
            f
            for f in report.findings
            if f.name == "rls_disabled_in_exposed_schema" and f.object == "public.campaign_recipients"
        )
        summary = advisors.take_snapshot(demo, actor="test")
        assert summary.tables > 0
        advisors.mute_finding(demo, finding, actor="dba@example.com", reason="test")
        try:
            muted = next(f for f in run_checks(demo, names=[finding.name]).findings if f.cache_key == finding.cache_key)
            assert muted.muted and list(advisors.muted_findings(demo)["cache_key"]) == [finding.cache_key]
        finally:
            assert advisors.unmute(demo, finding.cache_key, actor="dba@example.com")
        assert _fingerprint(app_db.demo_dsn)[0] == before, "the connection's catalog is unchanged"
        with psycopg.connect(app_db.demo_dsn) as conn:
            assert conn.execute("select to_regclass('dba_admin.snapshots')").fetchone() == (None,)
        with psycopg.connect(app_db.dsn) as conn:
            row = conn.execute(
                "select connection_name, database_name from dba_admin.snapshots where id = %s", (summary.id,)
            ).fetchone()
            assert row == ("demo", "petcare")
            audited = conn.execute(
                "select details ->> 'connection' from dba_admin.audit_log where action like 'advisor.%%'"
                " and target = %s order by id",
                (finding.cache_key,),
            ).fetchall()
            assert audited[-2:] == [("demo",), ("demo",)]
        assert not advisors.snapshot_due(demo)
        assert len(advisors.database_size_history(demo)) >= 1
    finally:
        demo.close()


def test_snapshots_and_mutes_are_kept_per_connection(app_db: Any) -> None:
    one_conn = demo_manager(app_db, monitor=True)
    other = demo_manager(app_db, monitor=True)
    other.name = f"other-{uuid.uuid4().hex[:6]}"
    try:
        assert advisors.snapshot_due(other)
        advisors.take_snapshot(one_conn, actor="test")
        assert advisors.snapshot_due(other) and advisors.database_size_history(other).empty
        advisors.mute(one_conn, "some_key", actor="t")
        try:
            assert advisors.muted_findings(other).empty
            advisors.mute(other, "some_key", actor="t")  # same key, another connection: its own row
            assert list(advisors.muted_findings(other)["cache_key"]) == ["some_key"]
        finally:
            advisors.unmute(one_conn, "some_key", actor="t")
            advisors.unmute(other, "some_key", actor="t")
    finally:
        one_conn.close()
        other.close()


def test_the_apps_own_objects_stay_out_when_the_connection_is_the_workspace(app_db: Any) -> None:
    """Connection `default` (the workspace database itself): no advice on the app's own indexes or tables."""
    index = f"app_idx_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(app_db.dsn, autocommit=True) as conn:
        conn.execute(f"create index {index} on public.execucoes_scripts (finished_at)")  # never used
    default = DatabaseManager(
        app_db.settings, app_db.dsn, name="default", workspace=workspace_manager(app_db), own_workspace=True
    )
    default.includes_workspace = True  # type: ignore[attr-defined]
    try:
        everything = run_checks(default, names=["unused_index", "no_primary_key"], include_app_objects=True)
        assert f"public.{index}" in {f.object for f in everything.findings}
        report = run_checks(default, names=["unused_index", "no_primary_key", "function_search_path_mutable"])
        objects = {f.object for f in report.findings}
        assert f"public.{index}" not in objects
        assert not [o for o in objects if o.split(".", 1)[0] in ("dba_admin", "dba_admin_api")]
        assert not [o for o in objects if o.startswith("public.execucoes_scripts")]
    finally:
        default.close()
        with psycopg.connect(app_db.dsn, autocommit=True) as conn:
            conn.execute(f"drop index if exists public.{index}")
