-- check: unused_index
-- category: PERFORMANCE
-- Finds: indexes never used by a scan since statistics were last reset (pg_stat_user_indexes.idx_scan = 0) that
-- do not enforce anything (not unique, not a primary key or exclusion constraint) and are valid. Indexes smaller
-- than dba_admin.unused_index_min_bytes (default 0) are left out.
-- Why it matters: every index slows every write to its table and takes disk and cache; one nobody reads is pure
-- cost. PgHero's "unused indexes"; Supabase's splinter lint 0005. Check on replicas too before dropping: usage is
-- counted per server.
select
    'unused_index' as name,
    'Unused index' as title,
    'INFO' as level,
    'PERFORMANCE' as category,
    format('%s.%s', s.schemaname, s.indexrelname) as object,
    format('Index %I.%I on %I (%s) has not been used by any scan since statistics were reset%s.',
           s.schemaname, s.indexrelname, s.relname, pg_catalog.pg_size_pretty(pg_catalog.pg_relation_size(s.indexrelid)),
           coalesce(' on ' || (select to_char(stats_reset, 'YYYY-MM-DD') from pg_catalog.pg_stat_database
                                where datname = current_database()), '')) as detail,
    'Drop it if no query on this server or its replicas needs it (usage statistics are per server and start from '
        'the last stats reset). DROP INDEX CONCURRENTLY does not block the table.' as remediation,
    format('DROP INDEX CONCURRENTLY %I.%I;', s.schemaname, s.indexrelname) as fix_sql,
    format('unused_index_%s_%s', s.schemaname, s.indexrelname) as cache_key
from pg_catalog.pg_stat_user_indexes s
join pg_catalog.pg_index i on i.indexrelid = s.indexrelid
left join pg_catalog.pg_depend dep on dep.objid = s.relid and dep.classid = 'pg_catalog.pg_class'::regclass and dep.deptype = 'e'
where s.idx_scan = 0
  and i.indisvalid
  and not i.indisunique
  and not i.indisprimary
  and not i.indisexclusion
  and not exists (select 1 from pg_catalog.pg_constraint ct where ct.conindid = s.indexrelid)
  and dep.objid is null
  and not exists (select 1 from pg_catalog.pg_inherits inh where inh.inhrelid = s.indexrelid) -- a partition's index goes with its parent's
  and pg_catalog.pg_relation_size(s.indexrelid)
      >= coalesce(nullif(current_setting('dba_admin.unused_index_min_bytes', true), ''), '0')::bigint
  and s.schemaname not in (
      '_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_config', '_timescaledb_internal', 'auth', 'cron',
      'extensions', 'graphql', 'graphql_public', 'information_schema', 'net', 'pgmq', 'pgroonga', 'pgsodium',
      'pgsodium_masks', 'pgtle', 'pgbouncer', 'pg_catalog', 'realtime', 'repack', 'storage', 'supabase_functions',
      'supabase_migrations', 'tiger', 'topology', 'vault')
order by pg_catalog.pg_relation_size(s.indexrelid) desc, s.schemaname, s.indexrelname
/* dba_admin */
