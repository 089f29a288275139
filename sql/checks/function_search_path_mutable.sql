-- check: function_search_path_mutable
-- category: SECURITY
-- Finds: functions and procedures (not owned by an extension, outside the system and Supabase schemas) without
-- a fixed search_path (no `SET search_path = ...` clause).
-- Why it matters: the function resolves unqualified names through the CALLER's search_path, so a caller who can
-- create objects in a schema earlier on the path can substitute a table or operator; for SECURITY DEFINER functions
-- that is privilege escalation. Supabase's splinter lint 0011.
select
    'function_search_path_mutable' as name,
    'Function with a mutable search_path' as title,
    'WARN' as level,
    'SECURITY' as category,
    format('%s.%s(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)) as object,
    format('%s %I.%I(%s) has no fixed search_path: unqualified names in its body resolve through the caller''s '
           'search_path%s.', case p.prokind when 'p' then 'Procedure' else 'Function' end, n.nspname, p.proname,
           pg_catalog.pg_get_function_identity_arguments(p.oid),
           case when p.prosecdef then ' although it is SECURITY DEFINER' else '' end) as detail,
    'Pin the search_path to empty and schema-qualify every name in the body (public.t, not t): '
        'ALTER FUNCTION ... SET search_path = ''''. Check the body first: unqualified names stop resolving.' as remediation,
    format('ALTER %s %I.%I(%s) SET search_path = '''';', case p.prokind when 'p' then 'PROCEDURE' else 'FUNCTION' end,
           n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)) as fix_sql,
    format('function_search_path_mutable_%s_%s_%s', n.nspname, p.proname,
           pg_catalog.pg_get_function_identity_arguments(p.oid)) as cache_key
from pg_catalog.pg_proc p
join pg_catalog.pg_namespace n on n.oid = p.pronamespace
left join pg_catalog.pg_depend dep on dep.objid = p.oid and dep.classid = 'pg_catalog.pg_proc'::regclass and dep.deptype = 'e'
where dep.objid is null
  and p.prokind in ('f', 'p')
  and not exists (select 1 from unnest(coalesce(p.proconfig, '{}')) as cfg where cfg like 'search\_path=%')
  and n.nspname not in (
      '_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_config', '_timescaledb_internal', 'auth', 'cron',
      'extensions', 'graphql', 'graphql_public', 'information_schema', 'net', 'pgmq', 'pgroonga', 'pgsodium',
      'pgsodium_masks', 'pgtle', 'pgbouncer', 'pg_catalog', 'realtime', 'repack', 'storage', 'supabase_functions',
      'supabase_migrations', 'tiger', 'topology', 'vault')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
order by n.nspname, p.proname
/* dba_admin */
