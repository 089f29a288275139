-- check: cache_hit_rate
-- category: PERFORMANCE
-- Finds: a table or index cache hit rate of this database (blocks found in shared_buffers / blocks accessed, over
-- the user tables and indexes, since statistics were last reset) below dba_admin.cache_hit_rate_min_pct percent
-- (default 99). A rate is judged only once at least dba_admin.cache_hit_min_reads blocks (hits + reads) were
-- accessed (default 100,000), so a fresh or idle database is not flagged. One finding for the database, with the
-- tables and indexes that read the most blocks from outside shared_buffers.
-- Why it matters: a block not in shared_buffers comes from the OS cache at best, from disk at worst; an OLTP
-- database below about 99 % usually has a working set bigger than its memory. PgHero's table_hit_rate and
-- index_hit_rate (its "cache hit rate" check).
with limits as (
    select coalesce(nullif(current_setting('dba_admin.cache_hit_rate_min_pct', true), ''), '99')::numeric as min_pct,
           coalesce(nullif(current_setting('dba_admin.cache_hit_min_reads', true), ''), '100000')::numeric as min_reads
),
tables as (
    select s.schemaname, s.relname, coalesce(s.heap_blks_hit, 0) as hit, coalesce(s.heap_blks_read, 0) as read
    from pg_catalog.pg_statio_user_tables s
),
indexes as (
    select s.schemaname, s.indexrelname, coalesce(s.idx_blks_hit, 0) as hit, coalesce(s.idx_blks_read, 0) as read
    from pg_catalog.pg_statio_user_indexes s
),
rates as (
    select (select coalesce(sum(hit), 0) from tables) as table_hit, (select coalesce(sum(read), 0) from tables) as table_read,
           (select coalesce(sum(hit), 0) from indexes) as index_hit,
           (select coalesce(sum(read), 0) from indexes) as index_read
),
judged as (
    select r.*,
           case when r.table_hit + r.table_read >= l.min_reads
                then round(100 * r.table_hit / (r.table_hit + r.table_read), 2) end as table_pct,
           case when r.index_hit + r.index_read >= l.min_reads
                then round(100 * r.index_hit / (r.index_hit + r.index_read), 2) end as index_pct,
           l.min_pct
    from rates r
    cross join limits l
),
worst as (
    select (select string_agg(format('%I.%I (%s blocks read, %s%% hit)', t.schemaname, t.relname, t.read,
                                     round(100.0 * t.hit / nullif(t.hit + t.read, 0), 1)), ', '
                              order by t.read desc, t.schemaname, t.relname)
            from (select * from tables where read > 0 order by read desc, schemaname, relname limit 5) t) as tables,
           (select string_agg(format('%I.%I (%s blocks read, %s%% hit)', i.schemaname, i.indexrelname, i.read,
                                     round(100.0 * i.hit / nullif(i.hit + i.read, 0), 1)), ', '
                              order by i.read desc, i.schemaname, i.indexrelname)
            from (select * from indexes where read > 0 order by read desc, schemaname, indexrelname limit 5) i) as indexes
)
select
    'cache_hit_rate' as name,
    'Low cache hit rate' as title,
    'WARN' as level,
    'PERFORMANCE' as category,
    'database.cache_hit_rate' as object,
    format('Cache hit rate of database %I: tables %s, indexes %s (minimum %s%%; statistics %s). '
           'Most blocks read from outside shared_buffers - tables: %s; indexes: %s.',
           pg_catalog.current_database(),
           coalesce(j.table_pct || '%', format('not judged (%s blocks accessed)', j.table_hit + j.table_read)),
           coalesce(j.index_pct || '%', format('not judged (%s blocks accessed)', j.index_hit + j.index_read)),
           j.min_pct,
           coalesce((select format('last reset %s ago', date_trunc('second', now() - d.stats_reset))
                     from pg_catalog.pg_stat_database d
                     where d.datname = pg_catalog.current_database() and d.stats_reset is not null),
                    'never reset'),
           coalesce(w.tables, 'none'), coalesce(w.indexes, 'none')) as detail,
    'Look at the tables and indexes listed first: an unused or bloated index, or a table scanned sequentially (see '
        'seq_scan_heavy_table and top_statements), often accounts for most of the reads. If the working set simply '
        'does not fit, give PostgreSQL more memory: raise shared_buffers (about 25 % of RAM is the usual start; a '
        'restart is needed) and effective_cache_size, or move to a server with more RAM.' as remediation,
    null::text as fix_sql,
    'cache_hit_rate' as cache_key
from judged j
cross join worst w
where j.table_pct < j.min_pct or j.index_pct < j.min_pct
/* dba_admin */
