-- check: rls_enabled_no_policy
-- category: SECURITY
-- Finds: tables with row level security enabled but no policy at all.
-- Why it matters: such a table returns no rows to anyone but its owner and BYPASSRLS roles. That is sometimes
-- the intent (a private table) but more often a forgotten policy that makes the API answer empty lists.
-- Supabase's splinter lint 0008 (INFO).
select
    'rls_enabled_no_policy' as name,
    'RLS enabled, no policy' as title,
    'INFO' as level,
    'SECURITY' as category,
    format('%s.%s', n.nspname, c.relname) as object,
    format('Table %I.%I has row level security enabled but no policy: only its owner and BYPASSRLS roles '
           'can read or change rows.', n.nspname, c.relname) as detail,
    'Create the policies the API roles need (CREATE POLICY ... TO authenticated USING (...)), or leave it if the '
        'table is meant to be private (then revoke the API roles'' privileges and mute this finding).' as remediation,
    null::text as fix_sql,
    format('rls_enabled_no_policy_%s_%s', n.nspname, c.relname) as cache_key
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
left join pg_catalog.pg_depend dep on dep.objid = c.oid and dep.classid = 'pg_catalog.pg_class'::regclass and dep.deptype = 'e'
where c.relkind in ('r', 'p')
  and c.relrowsecurity
  and not exists (select 1 from pg_catalog.pg_policy p where p.polrelid = c.oid)
  and dep.objid is null
  and n.nspname not in (
      '_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_config', '_timescaledb_internal', 'auth', 'cron',
      'extensions', 'graphql', 'graphql_public', 'information_schema', 'net', 'pgmq', 'pgroonga', 'pgsodium',
      'pgsodium_masks', 'pgtle', 'pgbouncer', 'pg_catalog', 'realtime', 'repack', 'storage', 'supabase_functions',
      'supabase_migrations', 'tiger', 'topology', 'vault')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
order by n.nspname, c.relname
/* dba_admin */
