-- check: security_definer_view
-- category: SECURITY
-- Finds: views that anon or authenticated can select from (USAGE on the schema and SELECT on the view) and that
-- run with their owner's rights, i.e. without security_invoker = on (PostgreSQL 15+).
-- Why it matters: a view reads its tables as the view's owner, usually a superuser-like role, so the RLS policies
-- of those tables are bypassed for every API user. Supabase's splinter lint 0010.
with api_roles as (
    select oid, rolname from pg_catalog.pg_roles where rolname in ('anon', 'authenticated')
)
select
    'security_definer_view' as name,
    'SECURITY DEFINER view reachable by API roles' as title,
    'ERROR' as level,
    'SECURITY' as category,
    format('%s.%s', n.nspname, c.relname) as object,
    format('View %I.%I runs with the rights of its owner %I and is selectable by %s, so the RLS policies of the '
           'tables it reads do not apply to them.', n.nspname, c.relname, pg_catalog.pg_get_userbyid(c.relowner),
           string_agg(r.rolname, ', ' order by r.rolname)) as detail,
    'Make the view check the caller''s rights (PostgreSQL 15+): ALTER VIEW ... SET (security_invoker = on). Or, if '
        'it must run as its owner, revoke SELECT from anon and authenticated.' as remediation,
    format('ALTER VIEW %I.%I SET (security_invoker = on);', n.nspname, c.relname) as fix_sql,
    format('security_definer_view_%s_%s', n.nspname, c.relname) as cache_key
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
join api_roles r
  on pg_catalog.has_table_privilege(r.oid, c.oid, 'SELECT')
 and pg_catalog.has_schema_privilege(r.oid, n.oid, 'USAGE')
left join pg_catalog.pg_depend dep on dep.objid = c.oid and dep.classid = 'pg_catalog.pg_class'::regclass and dep.deptype = 'e'
where c.relkind = 'v'
  and dep.objid is null
  and not (lower(coalesce(c.reloptions::text, '{}'))::text[]
           && array['security_invoker=1', 'security_invoker=true', 'security_invoker=yes', 'security_invoker=on'])
  and n.nspname not in (
      '_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_config', '_timescaledb_internal', 'auth', 'cron',
      'extensions', 'graphql', 'graphql_public', 'information_schema', 'net', 'pgmq', 'pgroonga', 'pgsodium',
      'pgsodium_masks', 'pgtle', 'pgbouncer', 'pg_catalog', 'realtime', 'repack', 'storage', 'supabase_functions',
      'supabase_migrations', 'tiger', 'topology', 'vault')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
group by n.nspname, c.relname, c.relowner
order by n.nspname, c.relname
/* dba_admin */
