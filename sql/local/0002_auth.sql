-- sql/local/0002_auth.sql
-- Supabase compatibility for plain PostgreSQL: schema `auth` with auth.uid(), auth.email(), auth.role() and
-- auth.jwt(), defined as Supabase (GoTrue's migrations) defines them, so RLS policies written for Supabase run
-- unchanged on the embedded default. Applied only where schema `auth` is absent.
--
-- They read the claims of the current request the way PostgREST publishes them: the legacy per-claim settings
-- `request.jwt.claim.<name>` first (older PostgREST), then the `request.jwt.claims` JSON document (PostgREST 9+,
-- and what dba_admin/rls.py sets with set_config(..., true) inside each user transaction). An unset or empty
-- setting gives NULL, so a policy comparing with auth.email() matches nothing when no user is set.
--
-- `language sql stable` exactly as Supabase, without `set search_path`: the bodies only call pg_catalog
-- functions (always searched first), and a SET clause would stop the planner from inlining them.
-- Policies call them wrapped as `(select auth.email())` so they are evaluated once per statement (initplan).

create schema if not exists auth;

create or replace function auth.uid()
returns uuid
language sql stable
as $$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role()
returns text
language sql stable
as $$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create or replace function auth.email()
returns text
language sql stable
as $$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;

create or replace function auth.jwt()
returns jsonb
language sql stable
as $$
  select
    coalesce(
        nullif(current_setting('request.jwt.claim', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')
    )::jsonb
$$;

comment on function auth.uid() is 'Supabase compatibility: the sub claim of the current request (dba_admin sql/local).';
comment on function auth.role() is 'Supabase compatibility: the role claim of the current request (dba_admin sql/local).';
comment on function auth.email() is 'Supabase compatibility: the email claim of the current request (dba_admin sql/local).';
comment on function auth.jwt() is 'Supabase compatibility: all claims of the current request as jsonb (dba_admin sql/local).';

-- As on Supabase: the API roles may use the schema and call the helpers; nothing else lives here locally.
-- PUBLIC (and so the read-only role) gets no usage on schema auth.
revoke all on schema auth from public;
grant usage on schema auth to anon, authenticated, service_role;
grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt() to anon, authenticated, service_role;
