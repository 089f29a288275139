-- check: foreign_table_in_api
-- category: SECURITY
-- Finds: foreign tables that anon or authenticated can select from (SELECT on it and USAGE on its schema).
-- Why it matters: row level security does not apply to foreign tables, so every API user reads every row of it.
-- Supabase's splinter lint 0017.
with api_roles as (
    select oid, rolname from pg_catalog.pg_roles where rolname in ('anon', 'authenticated')
)
select
    'foreign_table_in_api' as name,
    'Foreign table selectable by API roles' as title,
    'WARN' as level,
    'SECURITY' as category,
    format('%s.%s', n.nspname, c.relname) as object,
    format('Foreign table %I.%I is selectable by %s; row level security does not apply to it.',
           n.nspname, c.relname, string_agg(r.rolname, ', ' order by r.rolname)) as detail,
    'Revoke SELECT from anon and authenticated, or move it to a schema the API does not expose (and, if users '
        'need it, serve it through a security_invoker view or function that filters rows).' as remediation,
    format('REVOKE SELECT ON %I.%I FROM %s;', n.nspname, c.relname,
           (select string_agg(quote_ident(rolname), ', ' order by rolname) from api_roles)) as fix_sql,
    format('foreign_table_in_api_%s_%s', n.nspname, c.relname) as cache_key
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
join api_roles r
  on pg_catalog.has_table_privilege(r.oid, c.oid, 'SELECT')
 and pg_catalog.has_schema_privilege(r.oid, n.oid, 'USAGE')
left join pg_catalog.pg_depend dep on dep.objid = c.oid and dep.classid = 'pg_catalog.pg_class'::regclass and dep.deptype = 'e'
where c.relkind = 'f'
  and dep.objid is null
  and n.nspname not in (
      '_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_config', '_timescaledb_internal', 'auth', 'cron',
      'extensions', 'graphql', 'graphql_public', 'information_schema', 'net', 'pgmq', 'pgroonga', 'pgsodium',
      'pgsodium_masks', 'pgtle', 'pgbouncer', 'pg_catalog', 'realtime', 'repack', 'storage', 'supabase_functions',
      'supabase_migrations', 'tiger', 'topology', 'vault')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
group by n.nspname, c.relname
order by n.nspname, c.relname
/* dba_admin */
