-- check: seq_scan_heavy_table
-- category: PERFORMANCE
-- Finds: tables with at least dba_admin.seq_scan_min_rows rows (default 10000, estimated) whose queries read them
-- by sequential scan too often: index scans are under dba_admin.seq_scan_max_index_pct percent (default 95) of the
-- reads since statistics were reset. Sequential scans that are maintenance, not reads, are left out (estimated,
-- at most one scan each): building each of the table's indexes (CREATE INDEX, a primary key, REINDEX), validating
-- its CHECK and foreign key constraints and the foreign keys that reference it, and full-table UPDATEs and DELETEs
-- (n_tup_upd and n_tup_del over the row count: a statement that rewrites every row scans the table once).
-- A table needs at least dba_admin.seq_scan_min_reads sequential reads (default 100) after that: a handful of
-- scans is no pattern, and one more REINDEX (which the statistics cannot tell from a read) must not tip a table
-- into a finding.
-- Why it matters: each sequential scan reads the whole table; on a large table that is the classic missing
-- index. PgHero's index usage ("tables with low index usage"). Find the queries in pg_stat_statements (the
-- top statements finding) and EXPLAIN them. The title says which it is: mostly sequential (more sequential reads
-- than index reads) or low index usage. Each catalog is read once: no per-table sub-query.
with tables as (
    select c.oid, n.nspname, c.relname,
           pg_catalog.pg_stat_get_numscans(c.oid) as seq_scan,
           pg_catalog.pg_stat_get_tuples_returned(c.oid) as seq_tup_read,
           pg_catalog.pg_stat_get_live_tuples(c.oid) as live_rows,
           pg_catalog.pg_stat_get_tuples_updated(c.oid) as n_tup_upd,
           pg_catalog.pg_stat_get_tuples_deleted(c.oid) as n_tup_del,
           greatest(c.reltuples::bigint, pg_catalog.pg_stat_get_live_tuples(c.oid), 0) as est_rows
    from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'm')
      and c.relpersistence <> 't'
      and n.nspname not in (
          '_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_config', '_timescaledb_internal', 'auth', 'cron',
          'extensions', 'graphql', 'graphql_public', 'information_schema', 'net', 'pgmq', 'pgroonga', 'pgsodium',
          'pgsodium_masks', 'pgtle', 'pgbouncer', 'pg_catalog', 'realtime', 'repack', 'storage', 'supabase_functions',
          'supabase_migrations', 'tiger', 'topology', 'vault')
      and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
),
large as materialized (
    select t.*
    from tables t
    where t.est_rows >= coalesce(nullif(current_setting('dba_admin.seq_scan_min_rows', true), ''), '10000')::numeric
      and t.seq_scan > 0
),
indexes as (
    -- index scans and index builds per table (pg_index read once)
    select i.indrelid, sum(pg_catalog.pg_stat_get_numscans(i.indexrelid)) as idx_scan, count(*) as builds
    from pg_catalog.pg_index i
    group by i.indrelid
),
validations as (
    -- CHECK and foreign key constraints validated on the table, and foreign keys validated against it
    select v.relid, count(*) as validations
    from pg_catalog.pg_constraint ct
    cross join lateral (values (ct.conrelid), (case when ct.contype = 'f' then ct.confrelid end)) v(relid)
    where ct.contype in ('c', 'f')
      and v.relid is not null
    group by v.relid
),
usage as (
    select l.nspname, l.relname, l.est_rows, l.seq_scan, l.seq_tup_read,
           coalesce(i.idx_scan, 0) as idx_scan,
           coalesce(i.builds, 0) as builds,
           coalesce(v.validations, 0) as validations,
           -- integer division: whole rewrites of the table
           l.n_tup_upd / greatest(l.live_rows, l.est_rows, 1) + l.n_tup_del / greatest(l.live_rows, l.est_rows, 1)
               as rewrites
    from large l
    left join indexes i on i.indrelid = l.oid
    left join validations v on v.relid = l.oid
),
reads as (
    select u.*,
           least(u.seq_scan, u.builds + u.validations + u.rewrites) as maintenance,
           greatest(u.seq_scan - u.builds - u.validations - u.rewrites, 0) as seq_reads
    from usage u
),
judged as (
    select r.*, round(100.0 * r.idx_scan / nullif(r.seq_reads + r.idx_scan, 0), 1) as index_pct
    from reads r
)
select
    'seq_scan_heavy_table' as name,
    case when seq_reads > idx_scan then 'Large table mostly read by sequential scans'
         else format('Low index usage: %s %% of reads use an index', index_pct) end as title,
    'WARN' as level,
    'PERFORMANCE' as category,
    format('%s.%s', nspname, relname) as object,
    format('Table %I.%I (about %s rows): since statistics were reset, queries read it with %s sequential scan(s) '
           'and %s index scan(s), so %s%% of reads used an index; the sequential scans read %s rows in all. Of its '
           '%s sequential scans, %s are counted as maintenance, not reads (estimated, at most one scan each: %s '
           'index build(s), %s constraint validation(s), %s full-table update(s) or delete(s)).',
           nspname, relname, est_rows, seq_reads, idx_scan, index_pct, seq_tup_read, seq_scan, maintenance, builds,
           validations, rewrites) as detail,
    'Find the queries that scan it (pg_stat_statements, the top statements finding), EXPLAIN them, and add an index '
        'on the columns they filter or join on (CREATE INDEX CONCURRENTLY).' as remediation,
    null::text as fix_sql,
    format('seq_scan_heavy_table_%s_%s', nspname, relname) as cache_key
from judged
where seq_reads >= coalesce(nullif(current_setting('dba_admin.seq_scan_min_reads', true), ''), '100')::numeric
  and index_pct < coalesce(nullif(current_setting('dba_admin.seq_scan_max_index_pct', true), ''), '95')::numeric
order by seq_tup_read desc, nspname, relname
/* dba_admin */
