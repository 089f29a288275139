-- check: pg_graphql_anon_table_exposed
-- category: SECURITY
-- Finds: when the pg_graphql extension is installed, the tables, views, materialized views and foreign tables
-- (pg_graphql's own set; partitioned parents are not shown, their partitions are) that anon can read: SELECT on the
-- relation or on one of its columns, and USAGE on its schema. System and Supabase-managed schemas are left out.
-- Without pg_graphql nothing is read and nothing is reported.
-- Why it matters: pg_graphql's introspection shows every relation the calling role can select from, with its
-- columns and relationships, to anyone holding the public anon key, even where RLS hides every row. Many such
-- relations are public on purpose: mute those. Supabase's splinter lint 0026 (see also
-- pg_graphql_authenticated_table_exposed, 0027).
with graphql as (
    select 1 from pg_catalog.pg_extension where extname = 'pg_graphql'
),
api_role as (
    select oid, rolname from pg_catalog.pg_roles where rolname = 'anon' and exists (select 1 from graphql)
),
column_grants as (
    -- relations readable only through a column grant: one read of pg_attribute, of the columns that have an ACL
    select distinct a.attrelid
    from pg_catalog.pg_attribute a
    cross join api_role r
    where a.attacl is not null
      and a.attnum > 0
      and not a.attisdropped
      and pg_catalog.has_column_privilege(r.oid, a.attrelid, a.attnum, 'SELECT')
)
select
    'pg_graphql_anon_table_exposed' as name,
    'Visible to anon in the GraphQL schema' as title,
    'WARN' as level,
    'SECURITY' as category,
    format('%s.%s', n.nspname, c.relname) as object,
    format('%s %I.%I is listed, with its columns and relationships, by pg_graphql''s introspection to anyone with '
           'the public anon key, because anon can select from it%s.',
           case c.relkind when 'v' then 'View' when 'm' then 'Materialized view' when 'f' then 'Foreign table'
                          else 'Table' end, n.nspname, c.relname,
           case when c.relkind = 'r' and c.relrowsecurity then ' (RLS filters rows, not the schema)' else '' end)
        as detail,
    format('If it should not be discoverable before sign-in: REVOKE SELECT ON %I.%I FROM anon (and from PUBLIC if '
           'granted there); keep what signed-in users need with GRANT SELECT ... TO authenticated. To stop anon '
           'grants on new tables: ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE SELECT ON TABLES FROM anon. Without '
           'GraphQL in the app, DROP EXTENSION pg_graphql removes the exposure. If it is public on purpose, mute '
           'this finding.', n.nspname, c.relname, n.nspname) as remediation,
    null::text as fix_sql,
    format('pg_graphql_anon_table_exposed_%s_%s', n.nspname, c.relname) as cache_key
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
cross join api_role r
where c.relkind in ('r', 'v', 'm', 'f')
  and pg_catalog.has_schema_privilege(r.oid, n.oid, 'USAGE')
  and (pg_catalog.has_table_privilege(r.oid, c.oid, 'SELECT') or c.oid in (select attrelid from column_grants))
  and n.nspname not in (
      '_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_config', '_timescaledb_internal', 'auth', 'cron',
      'extensions', 'graphql', 'graphql_public', 'information_schema', 'net', 'pgmq', 'pgroonga', 'pgsodium',
      'pgsodium_masks', 'pgtle', 'pgbouncer', 'pg_catalog', 'realtime', 'repack', 'storage', 'supabase_functions',
      'supabase_migrations', 'tiger', 'topology', 'vault')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
order by n.nspname, c.relname
/* dba_admin */
