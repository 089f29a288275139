-- sql/local/0001_roles.sql
-- Supabase compatibility for plain PostgreSQL: the three API roles Supabase creates in every project.
-- Applied by dba_admin/migrations.py only where schema `auth` is absent (never on real Supabase), before
-- sql/migrations, so the same migrations and RLS policies hold on Supabase and on the embedded default.
-- Idempotent: safe to run again on a database that already has the roles.
--
-- As on Supabase:
--   anon           the role of a request without a user        NOLOGIN NOINHERIT
--   authenticated  the role of a request with a logged-in user  NOLOGIN NOINHERIT
--   service_role   the backend's key; bypasses RLS              NOLOGIN NOINHERIT BYPASSRLS
-- The app itself never uses service_role for user data (DESIGN.md: admins read through a claim-based policy).

do $$
begin
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
end
$$;

-- Supabase grants the API roles usage on public; table privileges are granted per table by the migrations.
grant usage on schema public to anon, authenticated, service_role;

-- The connecting superuser (postgres on Supabase, where `postgres` is a member of these roles too) must be able
-- to `SET LOCAL ROLE authenticated` for the per-user RLS transaction. Granting only when missing keeps the
-- file quiet on re-runs.
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role'] loop
    -- pg_auth_members, not pg_has_role(): a superuser "has" every role without being granted it.
    if not exists (
      select 1
      from pg_catalog.pg_auth_members m
      join pg_catalog.pg_roles granted on granted.oid = m.roleid
      join pg_catalog.pg_roles grantee on grantee.oid = m.member
      where granted.rolname = r and grantee.rolname = current_user
    ) then
      execute pg_catalog.format('grant %I to %I', r, current_user);
    end if;
  end loop;
end
$$;
