-- sql/migrations/20261123000400_readonly_role.sql
-- The least-privilege role for SQL typed by non-admin users (the Workbench in read-only mode, analysts'
-- script runs, the assistant's "run" button). Created NOLOGIN here; on the embedded default the app's bootstrap
-- gives it LOGIN and a password kept in the data dir, on Supabase the team supplies READONLY_DATABASE_URL.
--
-- What it can do: USAGE on schema public and SELECT on its tables, present and future (default privileges for
-- tables the migrating role creates later, e.g. the demo data). Nothing else: no INSERT/UPDATE/DELETE grant
-- anywhere, so even a user who types `SET TRANSACTION READ WRITE` or turns default_transaction_read_only off
-- cannot write - the read-only transaction setting is only the first of two locks.
--
-- What it must never get:
--   * anything in schema dba_admin (password hashes, audit log) or in auth beyond what PUBLIC has;
--   * membership of authenticated (or anon/service_role). Deliberate: `request.jwt.claims` is an ordinary,
--     user-settable GUC. Anyone whose SQL is typed freely could `select set_config('request.jwt.claims',
--     '{"email":"boss@corp","app_role":"admin"}', false)` and, if they could also become `authenticated`,
--     pass every claim-based policy as anyone. The claims are trustworthy only when the app sets them in a
--     transaction whose SQL the app itself writes. So this role reaches the app tables only through RLS with
--     no policy for it, i.e. it sees zero rows of projects, scripts, runs and conversations.
--   * BYPASSRLS or SUPERUSER: checked below; the migration fails rather than hand such a role to users.

do $$
declare
  r record;
begin
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'dba_admin_readonly') then
    create role dba_admin_readonly nologin nocreatedb nocreaterole noreplication nobypassrls;
  end if;

  select rolsuper, rolbypassrls into r from pg_catalog.pg_roles where rolname = 'dba_admin_readonly';
  if r.rolsuper or r.rolbypassrls then
    raise exception 'role dba_admin_readonly exists with SUPERUSER or BYPASSRLS; it must be an ordinary role'
      using hint = 'ALTER ROLE dba_admin_readonly NOSUPERUSER NOBYPASSRLS, then migrate again.';
  end if;

  -- Drop any membership in the API roles that someone may have granted by hand.
  for r in
    select granted.rolname
    from pg_catalog.pg_auth_members m
    join pg_catalog.pg_roles granted on granted.oid = m.roleid
    join pg_catalog.pg_roles grantee on grantee.oid = m.member
    where grantee.rolname = 'dba_admin_readonly'
      and granted.rolname in ('anon', 'authenticated', 'service_role', 'postgres')
  loop
    execute pg_catalog.format('revoke %I from dba_admin_readonly', r.rolname);
  end loop;
end
$$;

comment on role dba_admin_readonly is 'DBA Admin: read-only role for SQL typed by non-admins. SELECT on public only; no app-table rows (RLS).';

-- Session defaults: every connection starts read-only and time-limited.
alter role dba_admin_readonly set default_transaction_read_only = on;
alter role dba_admin_readonly set statement_timeout = '30s';
alter role dba_admin_readonly set idle_in_transaction_session_timeout = '60s';

grant usage on schema public to dba_admin_readonly;
grant select on all tables in schema public to dba_admin_readonly;
alter default privileges in schema public grant select on tables to dba_admin_readonly;

-- Belt and braces: nothing in the private schema, nothing in auth.
revoke all on schema dba_admin from dba_admin_readonly;
revoke all on all tables in schema dba_admin from dba_admin_readonly;
revoke all on all sequences in schema dba_admin from dba_admin_readonly;
revoke all on schema auth from dba_admin_readonly;
