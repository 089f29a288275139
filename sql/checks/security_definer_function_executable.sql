-- check: security_definer_function_executable
-- category: SECURITY
-- Finds: SECURITY DEFINER functions and procedures in an exposed schema (EXPOSED_SCHEMAS, passed as
-- dba_admin.exposed_schemas) that anon or authenticated may execute (EXECUTE, which PUBLIC has by default, plus
-- USAGE on the schema). Only exposed schemas, as splinter does: a function in a schema the API does not serve is
-- reached only by code that is already trusted (the remediation's third option is exactly "move it there").
-- Why it matters: the function runs with its owner's rights and bypasses RLS on everything it touches, and
-- Supabase's API exposes it as /rest/v1/rpc/<name> to anyone with the anon key. Supabase's splinter lints
-- 0028 and 0029 in one.
with exposed as (
    select btrim(s) as nspname
    from unnest(string_to_array(coalesce(current_setting('dba_admin.exposed_schemas', true), 'public'), ',')) as s
    where btrim(s) <> ''
),
api_roles as (
    select oid, rolname from pg_catalog.pg_roles where rolname in ('anon', 'authenticated')
),
revokees as (
    select concat_ws(', ', 'PUBLIC', string_agg(quote_ident(rolname), ', ' order by rolname)) as list from api_roles
)
select
    'security_definer_function_executable' as name,
    'SECURITY DEFINER function executable by API roles' as title,
    'WARN' as level,
    'SECURITY' as category,
    format('%s.%s(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)) as object,
    format('SECURITY DEFINER %s %I.%I(%s) runs as %I and can be executed by %s, bypassing RLS on whatever it reads '
           'or writes.', case p.prokind when 'p' then 'procedure' else 'function' end, n.nspname, p.proname,
           pg_catalog.pg_get_function_identity_arguments(p.oid), pg_catalog.pg_get_userbyid(p.proowner),
           string_agg(r.rolname, ', ' order by r.rolname)) as detail,
    'Revoke EXECUTE from PUBLIC and the API roles and grant it only to the roles that need it; or make it SECURITY '
        'INVOKER; or move it to a schema the API does not expose.' as remediation,
    format('REVOKE EXECUTE ON %s %I.%I(%s) FROM %s;', case p.prokind when 'p' then 'PROCEDURE' else 'FUNCTION' end,
           n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid), (select list from revokees)) as fix_sql,
    format('security_definer_function_executable_%s_%s_%s', n.nspname, p.proname,
           pg_catalog.pg_get_function_identity_arguments(p.oid)) as cache_key
from pg_catalog.pg_proc p
join pg_catalog.pg_namespace n on n.oid = p.pronamespace
join api_roles r
  on pg_catalog.has_function_privilege(r.oid, p.oid, 'EXECUTE')
 and pg_catalog.has_schema_privilege(r.oid, n.oid, 'USAGE')
left join pg_catalog.pg_depend dep on dep.objid = p.oid and dep.classid = 'pg_catalog.pg_proc'::regclass and dep.deptype = 'e'
where p.prosecdef
  and dep.objid is null
  and n.nspname in (select nspname from exposed)
  and n.nspname not in (
      '_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_config', '_timescaledb_internal', 'auth', 'cron',
      'extensions', 'graphql', 'graphql_public', 'information_schema', 'net', 'pgmq', 'pgroonga', 'pgsodium',
      'pgsodium_masks', 'pgtle', 'pgbouncer', 'pg_catalog', 'realtime', 'repack', 'storage', 'supabase_functions',
      'supabase_migrations', 'tiger', 'topology', 'vault')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
group by p.oid, n.nspname, p.proname, p.prokind, p.proowner
order by n.nspname, p.proname
/* dba_admin */
