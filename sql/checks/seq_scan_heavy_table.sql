-- check: seq_scan_heavy_table
-- category: PERFORMANCE
-- Finds: tables with at least dba_admin.seq_scan_min_rows rows (default 10000, estimated) that are read by
-- sequential scans more than by index scans: index scans are under dba_admin.seq_scan_max_index_pct percent
-- (default 95) of all scans since statistics were reset.
-- Why it matters: each sequential scan reads the whole table; on a large table that is the classic missing
-- index. PgHero's index usage ("tables with low index usage"). Find the queries in pg_stat_statements (the
-- top statements finding) and EXPLAIN them.
with t as (
    select s.relid, s.schemaname, s.relname, s.seq_scan, coalesce(s.idx_scan, 0) as idx_scan, s.seq_tup_read,
           greatest(c.reltuples::bigint, s.n_live_tup, 0) as est_rows
    from pg_catalog.pg_stat_user_tables s
    join pg_catalog.pg_class c on c.oid = s.relid
    where s.schemaname not in (
          '_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_config', '_timescaledb_internal', 'auth', 'cron',
          'extensions', 'graphql', 'graphql_public', 'information_schema', 'net', 'pgmq', 'pgroonga', 'pgsodium',
          'pgsodium_masks', 'pgtle', 'pgbouncer', 'pg_catalog', 'realtime', 'repack', 'storage', 'supabase_functions',
          'supabase_migrations', 'tiger', 'topology', 'vault')
)
select
    'seq_scan_heavy_table' as name,
    'Large table mostly read by sequential scans' as title,
    'WARN' as level,
    'PERFORMANCE' as category,
    format('%s.%s', schemaname, relname) as object,
    format('Table %I.%I (about %s rows) was read by %s sequential scan(s) and %s index scan(s) since statistics were '
           'reset: %s%% of scans used an index; the sequential scans read %s rows in all.',
           schemaname, relname, est_rows, seq_scan, idx_scan,
           round(100.0 * idx_scan / nullif(seq_scan + idx_scan, 0), 1), seq_tup_read) as detail,
    'Find the queries that scan it (pg_stat_statements, the top statements finding), EXPLAIN them, and add an index '
        'on the columns they filter or join on (CREATE INDEX CONCURRENTLY).' as remediation,
    null::text as fix_sql,
    format('seq_scan_heavy_table_%s_%s', schemaname, relname) as cache_key
from t
where est_rows >= coalesce(nullif(current_setting('dba_admin.seq_scan_min_rows', true), ''), '10000')::numeric
  and seq_scan > 0
  and 100.0 * idx_scan / (seq_scan + idx_scan)
      < coalesce(nullif(current_setting('dba_admin.seq_scan_max_index_pct', true), ''), '95')::numeric
order by seq_tup_read desc, schemaname, relname
/* dba_admin */
