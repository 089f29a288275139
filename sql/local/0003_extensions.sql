-- sql/local/0003_extensions.sql
-- Supabase compatibility for plain PostgreSQL: Supabase installs extensions into schema `extensions`, not public.
-- pg_stat_statements is created there when the server has it (the installed PostgreSQL with contrib does; the
-- pip-only pgserver build does not), so the metrics page and advisors find it in the same place as on Supabase.
-- Creating the extension does not need it preloaded; reading its view does, and DatabaseManager reports
-- "not available" in that case. gen_random_uuid() is core since PostgreSQL 13, so pgcrypto is not needed.
-- Applied only where schema `auth` is absent. Idempotent.

create schema if not exists extensions;
grant usage on schema extensions to anon, authenticated, service_role;

do $$
begin
  if exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_stat_statements') then
    create extension if not exists pg_stat_statements with schema extensions;
  end if;
end
$$;
