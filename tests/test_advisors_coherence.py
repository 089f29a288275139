"""Advice that does not contradict itself (issue 13, section 2), on the real PostgreSQL.

* unused_index never proposes the index a foreign key needs, an index younger than unused_index_min_age_days, or the
  app's own indexes; it says how it knows an index's age (commit timestamp, a snapshot) or that it does not.
* duplicate_index and unused_index give one action per index, and following both never leaves a lookup or a
  foreign key without its index.
* seq_scan_heavy_table does not count index builds, constraint validations and full-table rewrites as reads, and its
  title agrees with its numbers.
* xid_wraparound is one finding per database.
* function_search_path_mutable's fix keeps every function working.

Each test plants the defect (positive) and applies the fix_sql the advisors propose (negative), then runs the
advisors again: no new finding caused by a fix.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from advisor_helpers import Db, one
from psycopg import sql

from dba_admin import advisors
from dba_admin.advisors import CHECKS_DIR, Finding, run_checks
from dba_admin.local_pg import EmbeddedPostgres

INDEX_CHECKS = ["duplicate_index", "unused_index", "unindexed_foreign_keys"]


def _run(db: Db, names: list[str], **thresholds: Any) -> list[Finding]:
    report = run_checks(db.manager, names=names, thresholds=thresholds)
    assert [r.status for r in report.runs] == ["ok"] * len(names), [r.message for r in report.runs]
    return report.findings


def _by_name(findings: list[Finding], name: str) -> dict[str, Finding]:
    return {f.object: f for f in findings if f.name == name}


def _apply_all(db: Db, findings: list[Finding]) -> None:
    for finding in findings:
        if finding.fix_sql:
            db.fix(finding)


def _no_fix_twice(findings: list[Finding]) -> None:
    fixes = [f.fix_sql for f in findings if f.fix_sql]
    assert len(fixes) == len(set(fixes)), fixes


# ---------------------------------------------------------------------------------------------------
# unused_index and the foreign keys
# ---------------------------------------------------------------------------------------------------


def test_the_only_index_of_a_foreign_key_is_not_proposed_for_dropping(plain_db: Db) -> None:
    plain_db.sql(
        "create table parent (id int primary key);"
        " create table child (id int primary key, parent_id int references parent, v int);"
        " create index child_parent on child (parent_id); create index child_v on child (v)"
    )
    findings = _run(plain_db, INDEX_CHECKS, unused_index_min_age_days=0)
    assert set(_by_name(findings, "unused_index")) == {"public.child_v"}  # child_parent is the key's only index
    assert _by_name(findings, "unindexed_foreign_keys") == {}
    _apply_all(plain_db, findings)
    assert _run(plain_db, INDEX_CHECKS, unused_index_min_age_days=0) == []  # no new finding caused by a fix


def test_an_index_of_a_foreign_key_that_another_index_also_covers_is_proposed(plain_db: Db) -> None:
    plain_db.sql(
        "create table parent (id int primary key);"
        " create table child (id int primary key, parent_id int references parent, v int,"
        "   unique (parent_id, id));"  # enforces something: never dropped, and covers the key
        " create index child_parent on child (parent_id)"
    )
    # child_parent is covered by the unique constraint's index: duplicate_index gives the one action
    findings = _run(plain_db, INDEX_CHECKS, unused_index_min_age_days=0)
    assert [(f.name, f.object) for f in findings] == [("duplicate_index", "public.child_parent")]
    assert "not been used by any scan" in findings[0].detail
    plain_db.sql("drop index child_parent; create index child_parent_v on child (parent_id, v)")
    # not a duplicate (its second column differs), unused, and the key keeps the unique index: proposed
    findings = _run(plain_db, INDEX_CHECKS, unused_index_min_age_days=0)
    assert [(f.name, f.object) for f in findings] == [("unused_index", "public.child_parent_v")]
    _apply_all(plain_db, findings)
    assert _run(plain_db, INDEX_CHECKS, unused_index_min_age_days=0) == []


def test_when_every_index_of_a_foreign_key_is_unused_the_smallest_stays(plain_db: Db) -> None:
    plain_db.sql(
        "create table parent (id int primary key);"
        " create table child (id int primary key, parent_id int references parent, v int, w text);"
        " insert into parent select generate_series(1, 100);"
        " insert into child select g, 1 + g % 100, g, md5(g::text) || md5(g::text) from generate_series(1, 2000) g;"
        " create index child_parent_v on child (parent_id, v);"  # the smaller one
        " create index child_parent_w on child (parent_id, w); analyze child"  # not a prefix of the other
    )
    findings = _run(plain_db, INDEX_CHECKS, unused_index_min_age_days=0)
    assert set(_by_name(findings, "unused_index")) == {"public.child_parent_w"}
    _apply_all(plain_db, findings)
    assert _run(plain_db, INDEX_CHECKS, unused_index_min_age_days=0) == []
    assert plain_db.sql(
        "select indexrelid::regclass::text from pg_index where indrelid = 'child'::regclass and not indisprimary"
    ) == [("child_parent_v",)]


def test_a_composite_key_covered_in_another_column_order_keeps_its_index(plain_db: Db) -> None:
    plain_db.sql(
        "create table parent (a int, b int, primary key (a, b));"
        " create table child (id int primary key, pa int, pb int, foreign key (pa, pb) references parent);"
        " create index child_pb_pa on child (pb, pa)"
    )
    assert _run(plain_db, INDEX_CHECKS, unused_index_min_age_days=0) == []


# ---------------------------------------------------------------------------------------------------
# duplicate_index and unused_index: one action per index, never both of a pair
# ---------------------------------------------------------------------------------------------------


def test_a_duplicate_that_is_unused_is_one_finding(plain_db: Db) -> None:
    plain_db.sql(
        "create table t (id int primary key, a int);"
        " create index t_a on t (a); create index t_a_copy on t (a)"  # both unused
    )
    findings = _run(plain_db, INDEX_CHECKS, unused_index_min_age_days=0)
    _no_fix_twice(findings)
    # one finding per index: t_a_copy is a duplicate (and unused), t_a is unused
    assert sorted((f.object, f.name) for f in findings) == [
        ("public.t_a", "unused_index"),
        ("public.t_a_copy", "duplicate_index"),
    ]
    duplicate = _by_name(findings, "duplicate_index")["public.t_a_copy"]
    assert "identical to t_a" in duplicate.detail and "not been used by any scan" in duplicate.detail
    _apply_all(plain_db, findings)
    assert _run(plain_db, INDEX_CHECKS, unused_index_min_age_days=0) == []
    assert plain_db.sql("select indexname from pg_indexes where tablename = 't'") == [("t_pkey",)]


def test_a_used_duplicate_of_an_unused_index_stays(plain_db: Db) -> None:
    """t_a is used, the wider t_a_b is not: unused_index drops t_a_b, and duplicate_index does not also drop t_a
    (it would leave nothing to look up a)."""
    plain_db.sql(
        "create table t (id int primary key, a int, b int);"
        " insert into t select g, g % 50, g from generate_series(1, 2000) g;"
        " create index t_a on t (a); create index t_a_b on t (a, b); analyze t"
    )
    plain_db.sql("set enable_seqscan = off; set enable_bitmapscan = off")
    plain_db.sql("select * from t where a = 3")
    plain_db.flush_stats()
    plain_db.sql("reset all")
    assert plain_db.sql("select idx_scan > 0 from pg_stat_user_indexes where indexrelname = 't_a'") == [(True,)]
    findings = _run(plain_db, INDEX_CHECKS, unused_index_min_age_days=0)
    finding = one(findings)
    assert (finding.name, finding.object) == ("unused_index", "public.t_a_b")
    _apply_all(plain_db, findings)
    assert _run(plain_db, INDEX_CHECKS, unused_index_min_age_days=0) == []
    assert plain_db.sql("select indexname from pg_indexes where tablename = 't' order by 1") == [
        ("t_a",),
        ("t_pkey",),
    ]


def test_a_redundant_index_of_a_foreign_key_goes_and_its_unused_cover_stays(plain_db: Db) -> None:
    plain_db.sql(
        "create table parent (id int primary key);"
        " create table child (id int primary key, parent_id int references parent, v int);"
        " create index child_parent on child (parent_id); create index child_parent_v on child (parent_id, v)"
    )
    findings = _run(plain_db, INDEX_CHECKS, unused_index_min_age_days=0)
    finding = one(findings)  # child_parent_v is unused too, but the key needs one of the two
    assert (finding.name, finding.object) == ("duplicate_index", "public.child_parent")
    _apply_all(plain_db, findings)
    assert _run(plain_db, INDEX_CHECKS, unused_index_min_age_days=0) == []


def test_a_muted_duplicate_stays_muted_and_alone(api_db: Db) -> None:
    api_db.sql(
        "create table public.m (id int primary key, a int); create index m_a on public.m (a);"
        " create index m_a_again on public.m (a)"
    )
    names = ["duplicate_index", "unused_index"]
    findings = _run(api_db, names, unused_index_min_age_days=0)
    finding = _by_name(findings, "duplicate_index")["public.m_a_again"]
    assert finding.cache_key == "duplicate_index_public_m_a_again"
    advisors.mute_finding(api_db.manager, finding, actor="coherence-test", reason="kept on purpose")
    again = [f for f in _run(api_db, names, unused_index_min_age_days=0) if f.object == "public.m_a_again"]
    assert one(again).muted and again[0].cache_key == finding.cache_key and again[0].mute_reason == "kept on purpose"


def test_unused_index_and_duplicate_index_share_one_plan_word_for_word() -> None:
    """The two checks make one plan by repeating the same CTEs (settings .. redundant): they must stay the same."""

    def shared(name: str) -> str:
        text = (CHECKS_DIR / f"{name}.sql").read_text()
        start = text.index("with settings as materialized (")
        return text[start : text.index("\n)", text.index("redundant as ("))]

    assert shared("unused_index") == shared("duplicate_index")


# ---------------------------------------------------------------------------------------------------
# unused_index: the app's own indexes, and the age of an index
# ---------------------------------------------------------------------------------------------------


def test_the_apps_own_indexes_are_never_proposed(api_db: Db) -> None:
    api_db.sql("create index snapshots_database_idx on dba_admin.snapshots (database_name)")  # never used
    report = run_checks(
        api_db.manager, names=["unused_index"], thresholds={"unused_index_min_age_days": 0}, include_app_objects=True
    )
    assert [f.object for f in report.findings if f.object.startswith(("dba_admin.", "dba_admin_api."))] == []


def test_without_evidence_the_age_is_unknown_and_the_detail_says_so(plain_db: Db) -> None:
    plain_db.sql("create table e (id int primary key, v int); create index e_v on e (v)")
    assert plain_db.sql("show track_commit_timestamp") == [("off",)]
    finding = one(plain_db.findings("unused_index"))
    assert "Its age is unknown" in finding.detail and "track_commit_timestamp is off" in finding.detail
    assert "7 days" in finding.detail
    assert "age is unknown" not in one(plain_db.findings("unused_index", unused_index_min_age_days=0)).detail
    plain_db.fix(finding)
    assert plain_db.findings("unused_index") == []


def test_a_snapshot_old_enough_proves_an_index_old(api_db: Db) -> None:
    api_db.sql("create table public.s (id int primary key, v int, w int); create index s_v on public.s (v)")
    snapshot = advisors.take_snapshot(api_db.manager, actor="coherence-test")
    api_db.sql("create index s_w on public.s (w)")  # after the snapshot
    assert advisors.indexes_seen_before(api_db.manager, 7) == {}  # the only snapshot is minutes old
    api_db.sql("update dba_admin.snapshots set taken_at = now() - interval '10 days' where id = %s", (snapshot.id,))
    seen = advisors.indexes_seen_before(api_db.manager, 7)
    assert "public.s_v" in seen and "public.s_w" not in seen
    by_object = {f.object: f for f in api_db.findings("unused_index")}
    assert "A snapshot of this connection taken on" in by_object["public.s_v"].detail
    assert "age is unknown" not in by_object["public.s_v"].detail
    assert "Its age is unknown" in by_object["public.s_w"].detail


@pytest.fixture(scope="module")
def commit_ts_db() -> Iterator[Db]:
    """A throwaway server of our own with track_commit_timestamp on (a server setting: the suite's is off)."""
    root = Path(tempfile.mkdtemp(prefix="dba-admin-committs-"))
    root.chmod(0o711)
    server = EmbeddedPostgres(root / "data", fast=True)
    try:
        server.ensure_running()
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("alter system set track_commit_timestamp = on")
        server.stop(mode="fast")
        server.ensure_running()
        name = f"c_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        db = Db(server.dsn(dbname=name))
        try:
            yield db
        finally:
            db.close()
    finally:
        server.destroy()
        shutil.rmtree(root, ignore_errors=True)


def test_a_young_index_is_not_proposed_and_an_old_one_says_when_it_was_made(commit_ts_db: Db) -> None:
    db = commit_ts_db
    assert db.sql("show track_commit_timestamp") == [("on",)]
    db.sql("create table y (id int primary key, v int); create index y_v on y (v)")
    assert db.findings("unused_index") == []  # minutes old, not 7 days
    time.sleep(1.2)
    finding = one(db.findings("unused_index", unused_index_min_age_days=1 / 86400))  # older than a second
    assert finding.object == "public.y_v" and "by its commit timestamp" in finding.detail
    db.fix(finding)
    assert db.findings("unused_index", unused_index_min_age_days=0) == []


# ---------------------------------------------------------------------------------------------------
# seq_scan_heavy_table
# ---------------------------------------------------------------------------------------------------


def _big(db: Db) -> None:
    db.sql(
        "create table big (id int primary key, v text);"
        " insert into big select g, md5(g::text) from generate_series(1, 3000) g; analyze big"
    )


def test_index_builds_validations_and_full_table_updates_are_not_reads(plain_db: Db) -> None:
    _big(plain_db)
    plain_db.sql(
        "create index big_v on big (v); alter table big add constraint big_v_set check (v <> '');"
        " update big set v = v || 'x'; delete from big where false"
    )
    plain_db.flush_stats()
    seq_scan = plain_db.sql("select seq_scan, idx_scan from pg_stat_user_tables where relname = 'big'")[0]
    assert seq_scan == (4, 0)  # primary key and big_v built, the check validated, the whole table updated
    assert plain_db.findings("seq_scan_heavy_table", seq_scan_min_rows=1000, seq_scan_min_reads=1) == []


def test_the_title_agrees_with_the_numbers(plain_db: Db) -> None:
    _big(plain_db)
    plain_db.sql("set enable_indexscan = off; set enable_bitmapscan = off; set enable_indexonlyscan = off")
    for _ in range(3):
        plain_db.sql("select count(*) from big where v like 'a%'")
    plain_db.sql("reset all")
    plain_db.sql("select v from big where id = 1")
    plain_db.flush_stats()
    finding = one(plain_db.findings("seq_scan_heavy_table", seq_scan_min_rows=1000, seq_scan_min_reads=1))
    assert finding.title == "Large table mostly read by sequential scans"  # 3 sequential reads, 1 by index
    assert "3 sequential scan(s) and 1 index scan(s), so 25.0% of reads used an index" in finding.detail
    assert "1 are counted as maintenance" in finding.detail and "1 index build(s)" in finding.detail
    for i in range(2, 32):
        plain_db.sql("select v from big where id = %s", (i,))
    plain_db.flush_stats()
    finding = one(plain_db.findings("seq_scan_heavy_table", seq_scan_min_rows=1000, seq_scan_min_reads=1))
    assert finding.title == "Low index usage: 91.2 % of reads use an index"  # 3 sequential, 31 by index
    assert "3 sequential scan(s) and 31 index scan(s), so 91.2% of reads used an index" in finding.detail
    assert (
        plain_db.findings(
            "seq_scan_heavy_table", seq_scan_min_rows=1000, seq_scan_min_reads=1, seq_scan_max_index_pct=90
        )
        == []
    )


# ---------------------------------------------------------------------------------------------------
# xid_wraparound
# ---------------------------------------------------------------------------------------------------


def _vacuum_list(fix_sql: str) -> list[str]:
    lines = fix_sql.splitlines()
    assert lines[0] == "VACUUM (FREEZE, VERBOSE)"
    return [line.strip().rstrip(",;") for line in lines[1:]]


def test_xid_wraparound_is_one_finding_per_database(plain_db: Db) -> None:
    plain_db.sql("create table old_a (id int); create table old_b (id int, t text); insert into old_b values (1, 'x')")
    for _ in range(250):
        plain_db.sql("select txid_current()")
    finding = one(plain_db.findings("xid_wraparound", xid_age_warn=200))  # every table is over 200
    database = plain_db.sql("select current_database()")[0][0]
    assert finding.object == database and finding.cache_key == f"xid_wraparound_{database}"
    tables = _vacuum_list(finding.fix_sql or "")
    assert {"public.old_a", "public.old_b"} <= set(tables) and len(tables) > 10
    assert f"has {len(tables)} table(s)" in finding.detail and f"and {len(tables) - 10} more" in finding.detail
    assert len(re.findall(r"\(\d+\)", finding.detail)) == 10  # the ten oldest, with their ages
    plain_db.fix(finding)  # one statement: VACUUM takes a list of tables
    left = plain_db.findings("xid_wraparound", xid_age_warn=200)
    shared = {f"pg_catalog.{r[0]}" for r in plain_db.sql("select relname from pg_class where relisshared")}
    # A shared catalog's freeze horizon is the whole cluster's: another test's open snapshot may hold it back.
    assert left == [] or set(_vacuum_list(left[0].fix_sql or "")) <= shared


# ---------------------------------------------------------------------------------------------------
# function_search_path_mutable
# ---------------------------------------------------------------------------------------------------


FUNCTIONS = """
create schema inv;
set search_path = public, inv;
create operator inv.=== (leftarg = int, rightarg = int, function = int4eq);
create function inv.same_int(a int, b int) returns boolean language sql as 'select a === b';
create table public.pets (id int primary key, name text);
insert into public.pets values (1, 'Rex'), (2, 'Tom');
create table inv."Stock" (pet_id int, qty int);
insert into inv."Stock" values (1, 5);
create table inv.moves (pet_id int, delta int);
create function public.pet_count() returns bigint language sql as 'select count(*) from pets';
create function inv.stock_of(p int) returns int language plpgsql as $$
declare
    r pets%rowtype;
    n int;
begin
    select * into r from pets where id = p;
    select qty into n from "Stock" where pet_id = r.id;
    insert into moves values (p, 0);
    return n + pet_count()::int - 2;
end $$;
create function public.qualified() returns bigint language sql as 'select count(*) from public.pets';
create function public.atomic_count() returns bigint language sql begin atomic select count(*) from pets; end;
create function public.dyn(t text) returns bigint language plpgsql as $$
declare n bigint;
begin
    execute format('select count(*) from %s', t) into n;
    return n;
end $$;
reset search_path;
"""


def test_the_search_path_fix_keeps_every_function_working(plain_db: Db) -> None:
    plain_db.sql(FUNCTIONS)
    by_object = {f.object: f for f in plain_db.findings("function_search_path_mutable")}
    assert by_object["public.pet_count()"].fix_sql == (
        "ALTER FUNCTION public.pet_count() SET search_path = pg_catalog, public;"
    )
    assert by_object["inv.stock_of(p integer)"].fix_sql == (
        "ALTER FUNCTION inv.stock_of(p integer) SET search_path = pg_catalog, public, inv;"
    )
    stock = by_object["inv.stock_of(p integer)"]
    assert "pet_count, pets (public)" in stock.detail
    assert re.search(r"(Stock, moves|moves, Stock) \(inv\)", stock.detail), stock.detail
    assert "public, inv" in stock.remediation
    for name in ("public.qualified()", "public.atomic_count()"):  # names nothing without a schema / bound at creation
        assert by_object[name].fix_sql.endswith("SET search_path = '';"), by_object[name].fix_sql
        assert "names no object without a schema" in by_object[name].detail
    same_int = by_object["inv.same_int(a integer, b integer)"]  # only an operator of inv names it
    assert same_int.fix_sql.endswith("SET search_path = pg_catalog, inv;") and "operator === (inv)" in same_int.detail
    dynamic = by_object["public.dyn(t text)"]
    assert dynamic.fix_sql.endswith("SET search_path = pg_catalog, public;") and "EXECUTE" in dynamic.remediation

    for finding in by_object.values():
        plain_db.fix(finding)
    assert plain_db.findings("function_search_path_mutable") == []
    # Every function still works for a caller whose own search_path finds nothing.
    plain_db.sql("set search_path = ''")
    assert plain_db.sql("select public.pet_count()") == [(2,)]
    assert plain_db.sql("select inv.stock_of(1)") == [(5,)]
    assert plain_db.sql("select public.qualified(), public.atomic_count()") == [(2, 2)]
    assert plain_db.sql("select public.dyn('pets'), inv.same_int(1, 1)") == [(2, True)]
    assert plain_db.sql("select count(*) from inv.moves") == [(1,)]


def test_a_function_whose_body_names_nothing_unqualified_gets_an_empty_path(plain_db: Db) -> None:
    plain_db.sql("create function public.add_two(x int) returns int language sql as 'select x + 2'")
    finding = one(plain_db.findings("function_search_path_mutable"))
    assert finding.fix_sql == "ALTER FUNCTION public.add_two(x integer) SET search_path = '';"
    plain_db.fix(finding)
    plain_db.sql("set search_path = ''")
    assert plain_db.sql("select public.add_two(1)") == [(3,)]


def test_every_index_and_coherence_fix_applied_together_causes_no_new_finding(plain_db: Db) -> None:
    """The planted index defects of this file at once: apply every fix, run again, nothing new."""
    plain_db.sql(
        "create table parent (id int primary key);"
        " create table child (id int primary key, parent_id int references parent, a int, b int);"
        " create index child_parent on child (parent_id);"  # the key's only index, unused
        " create index child_a on child (a); create index child_a_b on child (a, b);"  # covered, both unused
        " create index child_b on child (b); create index child_b2 on child (b)"  # exact duplicates, both unused
    )
    names = [*INDEX_CHECKS, "seq_scan_heavy_table"]
    findings = _run(plain_db, names, unused_index_min_age_days=0)
    _no_fix_twice(findings)
    assert {(f.name, f.object) for f in findings} == {
        ("duplicate_index", "public.child_a"),  # covered by child_a_b
        ("unused_index", "public.child_a_b"),
        ("duplicate_index", "public.child_b2"),  # identical to child_b
        ("unused_index", "public.child_b"),
    }  # child_parent stays: the foreign key's only index
    _apply_all(plain_db, findings)
    assert _run(plain_db, names, unused_index_min_age_days=0) == []
