"""The checks ported from Supabase's splinter in the second round (lints 0002, 0006, 0015, 0018, 0019, 0021, 0022,
0025, 0026, 0027): each is triggered on a planted defect (positive), then fixed with its own fix_sql or the defect
undone (negative). Supabase's own objects (auth.users, storage, pgmq, pg_graphql) do not exist here: each test
plants the minimal shape the check reads, and the checks must stay silent without them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from advisor_helpers import Db, one

from dba_admin.advisors import run_checks

SPLINTER_CHECKS = (
    "auth_users_exposed",
    "fkey_to_auth_unique",
    "multiple_permissive_policies",
    "rls_references_user_metadata",
    "unsupported_reg_types",
    "insecure_queue_exposed_in_api",
    "extension_versions_outdated",
    "public_bucket_allows_listing",
    "pg_graphql_anon_table_exposed",
    "pg_graphql_authenticated_table_exposed",
)
QUEUE_API = "public,graphql_public,pgmq_public"  # Supabase's exposed schemas with "Expose Queues via PostgREST" on


def _auth_users(db: Db) -> None:
    """The part of Supabase Auth's auth.users the checks read (the api_db fixture has no such table)."""
    db.sql(
        "create table auth.users (id uuid primary key, email text unique, phone text unique,"
        " raw_user_meta_data jsonb, raw_app_meta_data jsonb)"
    )


def _storage(db: Db) -> None:
    """Supabase Storage's two tables, as far as the check reads them."""
    db.sql(
        "create schema storage;"
        " create table storage.buckets (id text primary key, name text not null, public boolean default false);"
        " create table storage.objects (id uuid primary key, bucket_id text references storage.buckets,"
        "   name text, owner uuid);"
        " alter table storage.buckets enable row level security;"
        " alter table storage.objects enable row level security"
    )


def _plant_pg_graphql(db: Db) -> None:
    """pg_graphql is not installable on this server: plant the pg_extension row the checks look for (this test
    database is dropped afterwards)."""
    db.sql(
        "insert into pg_catalog.pg_extension (oid, extname, extowner, extnamespace, extrelocatable, extversion)"
        " values (4000000001, 'pg_graphql', 10, 'extensions'::regnamespace, false, '1.5.11')"
    )


@pytest.fixture
def bypass_role(api_db: Db) -> Iterator[str]:
    """A cluster-wide role with BYPASSRLS, unique to this test, dropped at the end."""
    name = f"bypass_{uuid.uuid4().hex[:10]}"
    api_db.sql(f"create role {name} nologin bypassrls")
    yield name
    api_db.sql(f"drop owned by {name}; drop role {name}")


# ---------------------------------------------------------------------------------------------------
# Silent where there is nothing to find
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["plain_db", "api_db"])
def test_the_new_checks_find_nothing_without_a_defect(fixture: str, request: pytest.FixtureRequest) -> None:
    # No auth.users, storage, pgmq or pg_graphql here: the checks must parse, run and find nothing.
    db: Db = request.getfixturevalue(fixture)
    report = run_checks(db.manager, names=SPLINTER_CHECKS, thresholds={"exposed_schemas": QUEUE_API})
    assert {r.name for r in report.runs} == set(SPLINTER_CHECKS)
    assert [r for r in report.runs if r.status != "ok"] == []
    assert report.findings == []


def test_the_new_checks_find_nothing_in_the_apps_own_schema_with_supabase_objects_present(api_db: Db) -> None:
    # auth.users, storage and pgmq present but sound: still nothing (the app's tables included).
    _auth_users(api_db)
    _storage(api_db)
    api_db.sql("create schema pgmq; create table pgmq.q_jobs (msg_id bigint primary key, message jsonb)")
    report = run_checks(
        api_db.manager,
        names=[n for n in SPLINTER_CHECKS if n != "multiple_permissive_policies"],
        thresholds={"exposed_schemas": QUEUE_API},
        include_app_objects=True,
    )
    assert [r for r in report.runs if r.status != "ok"] == []
    assert report.findings == []


# ---------------------------------------------------------------------------------------------------
# 0002 auth_users_exposed
# ---------------------------------------------------------------------------------------------------


def test_auth_users_exposed_through_a_view(api_db: Db) -> None:
    _auth_users(api_db)
    api_db.sql("create view public.members as select id, email from auth.users")
    assert api_db.findings("auth_users_exposed") == []  # not selectable by the API roles yet
    api_db.sql("grant select on public.members to anon")
    finding = one(api_db.findings("auth_users_exposed"))
    assert (finding.object, finding.level, finding.category) == ("public.members", "ERROR", "SECURITY")
    assert "owner's rights" in finding.detail and "anon" in finding.detail
    assert finding.fix_sql == "REVOKE SELECT ON public.members FROM anon, authenticated;"
    assert finding.cache_key == "auth_users_exposed_public_members"
    api_db.fix(finding)
    assert api_db.findings("auth_users_exposed") == []


def test_auth_users_exposed_through_a_materialized_view_granted_to_public(api_db: Db) -> None:
    _auth_users(api_db)
    api_db.sql(
        'create materialized view public."User List" as select id from auth.users;'
        ' grant select on public."User List" to public'
    )
    finding = one(api_db.findings("auth_users_exposed"))
    assert finding.object == "public.User List" and "materialized view" in finding.detail
    assert finding.fix_sql == 'REVOKE SELECT ON public."User List" FROM PUBLIC, anon, authenticated;'
    api_db.fix(finding)
    assert api_db.findings("auth_users_exposed") == []


def test_auth_users_exposed_security_invoker_view_needs_rls_on_auth_users(api_db: Db) -> None:
    _auth_users(api_db)
    api_db.sql(
        "create view public.me with (security_invoker = on) as select id, email from auth.users;"
        " grant select on public.me to authenticated"
    )
    assert "row level security disabled" in one(api_db.findings("auth_users_exposed")).detail
    api_db.sql(
        "alter table auth.users enable row level security;"
        " create policy self on auth.users for select to authenticated using (id = (select auth.uid()))"
    )
    assert api_db.findings("auth_users_exposed") == []
    # Outside the exposed schemas, nothing is reported.
    api_db.sql(
        "create schema internal; grant usage on schema internal to anon;"
        " create view internal.all_users as select id from auth.users; grant select on internal.all_users to anon"
    )
    assert api_db.findings("auth_users_exposed") == []


# ---------------------------------------------------------------------------------------------------
# 0021 fkey_to_auth_unique
# ---------------------------------------------------------------------------------------------------


def test_fkey_to_auth_unique(api_db: Db) -> None:
    _auth_users(api_db)
    api_db.sql(
        "create table public.profiles (id uuid primary key, email text constraint profiles_email_fk"
        " references auth.users (email) on delete cascade)"
    )
    api_db.sql("create table public.orders (id int primary key, user_id uuid references auth.users (id))")
    finding = one(api_db.findings("fkey_to_auth_unique"))
    assert (finding.object, finding.level, finding.fix_sql) == ("public.profiles", "ERROR", None)
    assert "profiles_email_fk" in finding.detail and "users_email_key" in finding.detail
    assert finding.cache_key == "fkey_to_auth_unique_public_profiles_profiles_email_fk"
    # The remediation: reference the primary key instead.
    api_db.sql(
        "alter table public.profiles drop constraint profiles_email_fk,"
        " add constraint profiles_id_fk foreign key (id) references auth.users (id) on delete cascade"
    )
    assert api_db.findings("fkey_to_auth_unique") == []


# ---------------------------------------------------------------------------------------------------
# 0006 multiple_permissive_policies
# ---------------------------------------------------------------------------------------------------


def test_multiple_permissive_policies(api_db: Db, bypass_role: str) -> None:
    api_db.sql(
        "create table public.docs (id int primary key, owner uuid, team text, public boolean);"
        " alter table public.docs enable row level security;"
        " create policy docs_own on public.docs for select to authenticated using (owner = (select auth.uid()));"
        " create policy docs_team on public.docs for all to authenticated using (team = 'x');"
        " create policy docs_public on public.docs for select to public using (public);"
        " create policy docs_narrow on public.docs as restrictive for select to authenticated using (team <> 'y');"
        f" create policy docs_admin on public.docs for select to {bypass_role} using (true);"
        f" create policy docs_admin2 on public.docs for select to {bypass_role} using (true)"
    )
    finding = one(api_db.on("multiple_permissive_policies", "public.docs"))
    assert (finding.level, finding.category, finding.fix_sql) == ("WARN", "PERFORMANCE", None)
    assert finding.cache_key == "multiple_permissive_policies_public_docs"
    # One finding per table, one entry per role and action; PUBLIC's policy applies to every role, the
    # restrictive one and the BYPASSRLS role's do not count.
    assert "SELECT for authenticated: docs_own, docs_public, docs_team" in finding.detail
    assert "UPDATE" not in finding.detail and "docs_narrow" not in finding.detail and bypass_role not in finding.detail
    # Merge them into one policy per role and action: the finding goes.
    api_db.sql(
        "drop policy docs_own on public.docs; drop policy docs_team on public.docs;"
        " create policy docs_write on public.docs for update to authenticated using (team = 'x');"
        " alter policy docs_public on public.docs using (public or owner = (select auth.uid()) or team = 'x')"
    )
    assert api_db.on("multiple_permissive_policies", "public.docs") == []


# ---------------------------------------------------------------------------------------------------
# 0015 rls_references_user_metadata
# ---------------------------------------------------------------------------------------------------


def test_rls_references_user_metadata(api_db: Db) -> None:
    _auth_users(api_db)
    api_db.sql(
        "create table public.reports (id int primary key, owner uuid);"
        " alter table public.reports enable row level security;"
        " create policy reports_admin on public.reports for select to authenticated"
        "   using (((select auth.jwt()) -> 'user_metadata' ->> 'is_admin')::boolean);"
        " create policy reports_claims on public.reports for insert to authenticated with check ("
        "   (current_setting('request.jwt.claims', true)::jsonb -> 'user_metadata' ->> 'team') = 'ops');"
        " create policy reports_stored on public.reports for update to authenticated using (exists ("
        "   select 1 from auth.users u where u.id = (select auth.uid()) and u.raw_user_meta_data ->> 'r' = 'x'));"
        " create policy reports_app on public.reports for delete to authenticated"
        "   using (((select auth.jwt()) -> 'app_metadata' ->> 'is_admin')::boolean)"
    )
    findings = api_db.on("rls_references_user_metadata", "public.reports")
    assert [f.cache_key for f in findings] == [
        "rls_references_user_metadata_public_reports_reports_admin",
        "rls_references_user_metadata_public_reports_reports_claims",
        "rls_references_user_metadata_public_reports_reports_stored",
    ]
    assert all(f.level == "ERROR" and f.fix_sql is None for f in findings)
    assert "in its USING" in findings[0].detail and "in its WITH CHECK" in findings[1].detail
    # app_metadata (reports_app) is what the user cannot edit: move the policies there.
    api_db.sql(
        "alter policy reports_admin on public.reports"
        "   using (((select auth.jwt()) -> 'app_metadata' ->> 'is_admin')::boolean);"
        " alter policy reports_claims on public.reports with check ("
        "   (current_setting('request.jwt.claims', true)::jsonb -> 'app_metadata' ->> 'team') = 'ops');"
        " alter policy reports_stored on public.reports using (owner = (select auth.uid()))"
    )
    assert api_db.findings("rls_references_user_metadata") == []


# ---------------------------------------------------------------------------------------------------
# 0018 unsupported_reg_types
# ---------------------------------------------------------------------------------------------------


def test_unsupported_reg_types(plain_db: Db) -> None:
    plain_db.sql(
        "create domain proc_ref as regprocedure;"
        " create type handler as (fn regproc, weight int);"
        " create table hooks (id int primary key, fn regproc, cfgs regconfig[], target proc_ref, h handler,"
        "   rel regclass, typ regtype, who regrole)"
    )
    findings = {f.object: f for f in plain_db.findings("unsupported_reg_types")}
    # Directly, in an array, a domain, a composite type; regclass, regtype and regrole are fine for pg_upgrade.
    assert sorted(findings) == ["public.hooks.cfgs", "public.hooks.fn", "public.hooks.h", "public.hooks.target"]
    assert all(f.level == "WARN" and f.fix_sql is None for f in findings.values())
    assert "type regconfig[]" in findings["public.hooks.cfgs"].detail
    assert findings["public.hooks.fn"].cache_key == "unsupported_reg_types_public_hooks_fn"
    plain_db.sql(
        "alter table hooks alter column fn type text using fn::text, alter column cfgs type text[] using cfgs::text[],"
        " alter column target type text using target::text, drop column h"
    )
    assert plain_db.findings("unsupported_reg_types") == []


# ---------------------------------------------------------------------------------------------------
# 0019 insecure_queue_exposed_in_api
# ---------------------------------------------------------------------------------------------------


def test_insecure_queue_exposed_in_api(api_db: Db) -> None:
    api_db.sql(
        "create schema pgmq; create schema pgmq_public;"
        " create table pgmq.q_jobs (msg_id bigint primary key, message jsonb);"
        " create table pgmq.meta (queue_name text primary key);"
        " grant usage on schema pgmq to anon, authenticated;"
        " grant select, insert, update, delete on pgmq.q_jobs, pgmq.meta to anon, authenticated"
    )
    assert api_db.findings("insecure_queue_exposed_in_api") == []  # pgmq_public is not served by the API
    finding = one(api_db.findings("insecure_queue_exposed_in_api", exposed_schemas=QUEUE_API))
    assert (finding.object, finding.level) == ("pgmq.q_jobs", "ERROR")
    assert "anon, authenticated" in finding.detail
    assert finding.fix_sql == "ALTER TABLE pgmq.q_jobs ENABLE ROW LEVEL SECURITY;"
    assert finding.cache_key == "insecure_queue_exposed_in_api_pgmq_q_jobs"
    api_db.fix(finding)
    assert api_db.findings("insecure_queue_exposed_in_api", exposed_schemas=QUEUE_API) == []


# ---------------------------------------------------------------------------------------------------
# 0022 extension_versions_outdated
# ---------------------------------------------------------------------------------------------------


def test_extension_versions_outdated(plain_db: Db) -> None:
    plain_db.sql("create extension amcheck version '1.0'")
    finding = one(plain_db.findings("extension_versions_outdated"))
    default = plain_db.sql("select default_version from pg_available_extensions where name = 'amcheck'")[0][0]
    assert (finding.object, finding.level, finding.category) == ("amcheck", "WARN", "SECURITY")
    assert f"version 1.0; the server offers {default}" in finding.detail
    assert finding.fix_sql == "ALTER EXTENSION amcheck UPDATE;"
    assert finding.cache_key == "extension_versions_outdated_amcheck_1.0"
    plain_db.fix(finding)
    assert plain_db.findings("extension_versions_outdated") == []
    # A version the server's files do not know (e.g. left by pg_upgrade) has no update path: not reported.
    plain_db.sql("update pg_catalog.pg_extension set extversion = 'residue' where extname = 'amcheck'")
    assert plain_db.findings("extension_versions_outdated") == []


# ---------------------------------------------------------------------------------------------------
# 0025 public_bucket_allows_listing
# ---------------------------------------------------------------------------------------------------


def test_public_bucket_allows_listing(api_db: Db) -> None:
    _storage(api_db)
    api_db.sql(
        "insert into storage.buckets (id, name, public) values ('avatars', 'avatars', true),"
        "  ('docs', 'docs', false), ('own', 'own', true);"
        " create policy \"Avatar listing\" on storage.objects for select to anon using (bucket_id = 'avatars');"
        " create policy docs_read on storage.objects for select to authenticated using (bucket_id = 'docs');"
        " create policy own_read on storage.objects for select to authenticated"
        "   using (bucket_id = 'own' and owner = (select auth.uid()))"
    )
    finding = one(api_db.findings("public_bucket_allows_listing"))
    assert (finding.object, finding.level) == ("storage.buckets.avatars", "WARN")
    assert '"Avatar listing"' in finding.detail
    assert finding.fix_sql == 'DROP POLICY "Avatar listing" ON storage.objects;'
    assert finding.cache_key == "public_bucket_allows_listing_avatars"
    api_db.fix(finding)
    assert api_db.findings("public_bucket_allows_listing") == []
    # A policy open to every bucket: reported for each public bucket, with no DROP (it also serves private ones).
    api_db.sql("create policy read_all on storage.objects for select to public using (true)")
    findings = api_db.findings("public_bucket_allows_listing")
    assert [f.object for f in findings] == ["storage.buckets.avatars", "storage.buckets.own"]
    assert all(f.fix_sql is None and "read_all" in f.detail for f in findings)
    api_db.sql("drop policy read_all on storage.objects")
    assert api_db.findings("public_bucket_allows_listing") == []


# ---------------------------------------------------------------------------------------------------
# 0026 / 0027 pg_graphql exposure
# ---------------------------------------------------------------------------------------------------


def test_pg_graphql_anon_table_exposed(api_db: Db) -> None:
    api_db.sql(
        "create table public.api_keys (id int primary key, key_hash text);"
        " create table public.catalog (id int primary key, title text, cost numeric);"
        " alter table public.api_keys enable row level security;"
        " grant select on public.api_keys to anon; grant select (id, title) on public.catalog to anon"
    )
    assert api_db.findings("pg_graphql_anon_table_exposed") == []  # no pg_graphql, no GraphQL endpoint
    _plant_pg_graphql(api_db)
    findings = api_db.findings("pg_graphql_anon_table_exposed")
    assert [f.object for f in findings] == ["public.api_keys", "public.catalog"]  # a column grant is enough
    assert all(f.level == "WARN" and f.fix_sql is None for f in findings)
    assert "RLS filters rows, not the schema" in findings[0].detail
    assert findings[0].cache_key == "pg_graphql_anon_table_exposed_public_api_keys"
    api_db.sql("revoke select on public.api_keys from anon; revoke select (id, title) on public.catalog from anon")
    assert api_db.findings("pg_graphql_anon_table_exposed") == []


def test_pg_graphql_authenticated_table_exposed(api_db: Db) -> None:
    api_db.sql(
        "create table public.internal_notes (id int primary key, body text);"
        " create view public.v_notes as select id from public.internal_notes;"
        " grant select on public.internal_notes, public.v_notes to authenticated"
    )
    assert api_db.on("pg_graphql_authenticated_table_exposed", "public.internal_notes") == []
    _plant_pg_graphql(api_db)
    finding = one(api_db.on("pg_graphql_authenticated_table_exposed", "public.v_notes"))
    assert finding.detail.startswith("View public.v_notes") and finding.fix_sql is None
    assert one(api_db.on("pg_graphql_authenticated_table_exposed", "public.internal_notes")).level == "WARN"
    assert api_db.on("pg_graphql_anon_table_exposed", "public.internal_notes") == []
    api_db.sql("revoke select on public.internal_notes, public.v_notes from authenticated")
    assert api_db.on("pg_graphql_authenticated_table_exposed", "public.internal_notes") == []
    assert api_db.on("pg_graphql_authenticated_table_exposed", "public.v_notes") == []
