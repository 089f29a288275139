-- sql/migrations/20261129000100_authenticator_login.sql
-- The login that carries every per-user (RLS) transaction, as Supabase's API does with PostgREST's `authenticator`.
--
-- Why: a per-user transaction used to run on the app's owner (superuser) connection with `SET LOCAL ROLE
-- authenticated` on top. Code reached by the user's query - a view's function, a policy expression, written by any
-- schema owner - could `RESET ROLE` and run as the superuser (`copy ... to program`, reading password hashes).
-- This login has no privilege of its own: NOINHERIT, member of anon and authenticated only, so `RESET ROLE` (or
-- `SET ROLE NONE`, or `SET SESSION AUTHORIZATION DEFAULT`) falls back to a role that can do nothing that PUBLIC
-- cannot. Created NOLOGIN here; the bootstrap gives it LOGIN and a password (embedded: a file of mode 0600 in the
-- data dir; remote: AUTHENTICATOR_DATABASE_URL, or a generated password kept in dba_admin.settings).
do $$
declare
  r record;
begin
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'dba_admin_authenticator') then
    create role dba_admin_authenticator nologin noinherit nocreatedb nocreaterole noreplication nobypassrls;
  end if;

  select rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolinherit, rolreplication
    into r from pg_catalog.pg_roles where rolname = 'dba_admin_authenticator';
  if r.rolsuper or r.rolbypassrls or r.rolcreaterole or r.rolcreatedb or r.rolreplication or r.rolinherit then
    raise exception 'role dba_admin_authenticator exists with privileges it must not have'
      using hint = 'ALTER ROLE dba_admin_authenticator NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB '
                   'NOREPLICATION NOINHERIT, then migrate again.';
  end if;

  -- Only anon and authenticated: drop any other membership someone may have granted by hand.
  for r in
    select granted.rolname
    from pg_catalog.pg_auth_members m
    join pg_catalog.pg_roles granted on granted.oid = m.roleid
    join pg_catalog.pg_roles grantee on grantee.oid = m.member
    where grantee.rolname = 'dba_admin_authenticator'
      and granted.rolname not in ('anon', 'authenticated')
  loop
    execute pg_catalog.format('revoke %I from dba_admin_authenticator', r.rolname);
  end loop;
end
$$;

grant anon, authenticated to dba_admin_authenticator;
comment on role dba_admin_authenticator is
  'DBA Admin: login for per-user RLS transactions. NOINHERIT, no privilege of its own; only SET LOCAL ROLE authenticated.';

-- Session defaults: a per-user transaction never waits forever, even if the app forgot a limit.
alter role dba_admin_authenticator set statement_timeout = '30s';
alter role dba_admin_authenticator set lock_timeout = '5s';
alter role dba_admin_authenticator set idle_in_transaction_session_timeout = '60s';

-- The audit row of a user's change, written in the same transaction as the change, as the user. No API role may
-- touch dba_admin.audit_log, so this SECURITY DEFINER function is the only door, and it is narrow: the actor is the
-- email of the verified claims (never a parameter), only project/script/run/assistant actions are accepted, and
-- it lives in a schema of its own that no API exposes (Supabase's PostgREST serves only the schemas it is told).
create schema if not exists dba_admin_api;
revoke all on schema dba_admin_api from public;
grant usage on schema dba_admin_api to authenticated;
comment on schema dba_admin_api is 'DBA Admin: the few functions the per-user role may call into the private schema.';

create or replace function dba_admin_api.audit(p_action text, p_target text, p_details jsonb, p_app_instance text)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_actor text := nullif(auth.email(), '');
begin
  if v_actor is null then
    raise exception 'no user claims: an audit row needs the caller''s email'
      using errcode = 'insufficient_privilege';
  end if;
  if p_action !~ '^(project|script|sql|assistant)\.[a-z_.]+$' then
    raise exception 'action % may not be recorded by a user transaction', p_action
      using errcode = 'insufficient_privilege';
  end if;
  insert into dba_admin.audit_log (actor, action, target, details, app_instance)
  values (v_actor, p_action, p_target, coalesce(p_details, '{}'::jsonb), p_app_instance);
end;
$$;
revoke all on function dba_admin_api.audit(text, text, jsonb, text) from public;
grant execute on function dba_admin_api.audit(text, text, jsonb, text) to authenticated;
comment on function dba_admin_api.audit(text, text, jsonb, text) is
  'Appends an audit row for the calling user (actor from auth.email()); project/script/sql/assistant actions only.';
