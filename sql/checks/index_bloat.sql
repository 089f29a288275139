-- check: index_bloat
-- category: PERFORMANCE
-- Finds: btree indexes whose estimated wasted space is at least dba_admin.index_bloat_min_pct percent of the index
-- (default 50) and dba_admin.index_bloat_min_bytes bytes (default 100 MB). The estimate is the well-known one
-- from pg_stats (ioguix's btree bloat query, which PgHero's index_bloat uses): the pages the index's tuples need
-- at its fillfactor, against the pages it has. It needs ANALYZE to have run (an index with a column without
-- statistics is left out, never guessed) and is rough for very wide or variable-width keys. Valid indexes of
-- permanent and unlogged tables only; invalid ones are invalid_index's.
-- Why it matters: a bloated index is bigger than its data: more pages to read and cache for every scan and
-- every write. VACUUM does not shrink it; only a rebuild does.
with indexes as (
    select i.indexrelid, i.indrelid, i.indkey, n.nspname, ic.relname as index_name, tc.relname as table_name,
           ic.reltuples::numeric as reltuples, ic.relpages::numeric as relpages, i.indnatts,
           coalesce((select substr(o, 12)::numeric from unnest(ic.reloptions) as o where o like 'fillfactor=%'), 90)
               as fillfactor
    from pg_catalog.pg_index i
    join pg_catalog.pg_class ic on ic.oid = i.indexrelid
    join pg_catalog.pg_class tc on tc.oid = i.indrelid
    join pg_catalog.pg_namespace n on n.oid = ic.relnamespace
    where ic.relam = (select oid from pg_catalog.pg_am where amname = 'btree')
      and ic.relkind = 'i'
      and ic.relpersistence <> 't'
      and ic.relpages > 0
      and ic.reltuples >= 0 -- -1: never analyzed or vacuumed
      and i.indisvalid
      and n.nspname not in ('pg_catalog', 'information_schema')
      and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
),
stats as materialized (
    -- pg_stats read once (it checks column privileges row by row), then joined by name
    select s.schemaname, s.tablename, s.attname, s.null_frac, s.avg_width
    from pg_catalog.pg_stats s
    where not s.inherited
      and s.schemaname not in ('pg_catalog', 'information_schema')
      and s.schemaname !~ '^pg_(toast|temp_|toast_temp_)'
),
keys as materialized (
    -- where each index column's statistics are: a table column's under the table, an expression's under the index
    select x.indexrelid, x.nspname, x.index_name, x.table_name, x.reltuples, x.relpages, x.fillfactor, x.indnatts,
           case when ta.attnum is null then x.index_name else x.table_name end as stats_table,
           coalesce(ta.attname, ia.attname) as stats_column
    from indexes x
    join pg_catalog.pg_attribute ia on ia.attrelid = x.indexrelid and ia.attnum > 0
    left join pg_catalog.pg_attribute ta on ta.attrelid = x.indrelid and ta.attnum = x.indkey[ia.attnum - 1]
),
widths as (
    select k.indexrelid, k.nspname, k.index_name, k.table_name, k.reltuples, k.relpages, k.fillfactor,
           current_setting('block_size')::numeric as bs,
           8 as maxalign, -- MAXALIGN on every 64-bit platform
           24 as pagehdr, -- page header
           16 as pageopqdata, -- btree special space per page
           case when max(s.null_frac) = 0 then 8 else 8 + (32 + 8 - 1) / 8 end as tuplehdr, -- IndexTupleData (+ null bitmap)
           sum((1 - s.null_frac) * s.avg_width) as datawidth
    from keys k
    join stats s on s.schemaname = k.nspname and s.tablename = k.stats_table and s.attname = k.stats_column
    group by k.indexrelid, k.nspname, k.index_name, k.table_name, k.reltuples, k.relpages, k.fillfactor, k.indnatts
    having count(*) = k.indnatts -- every column has statistics
),
estimates as (
    select w.*,
           (w.tuplehdr + w.maxalign - case when w.tuplehdr % w.maxalign = 0 then w.maxalign else w.tuplehdr % w.maxalign end
            + w.datawidth + w.maxalign - case when w.datawidth = 0 then 0
                                              when w.datawidth::integer % w.maxalign = 0 then w.maxalign
                                              else w.datawidth::integer % w.maxalign end)::numeric as tuplewidth
    from widths w
),
bloat as (
    select e.indexrelid, e.nspname, e.index_name, e.table_name, e.relpages, e.bs,
           1 + ceil(greatest(e.reltuples, 0)
                    / nullif(floor((e.bs - e.pageopqdata - e.pagehdr) * e.fillfactor / (100 * (4 + e.tuplewidth))), 0))
               as expected -- 4: the line pointer of each entry; 1: the metapage
    from estimates e
),
measured as (
    select b.*, (b.bs * greatest(b.relpages - b.expected, 0))::bigint as waste_bytes,
           round(100 * greatest(b.relpages - b.expected, 0) / b.relpages, 1) as bloat_pct
    from bloat b
)
select
    'index_bloat' as name,
    'Index bloat' as title,
    'INFO' as level,
    'PERFORMANCE' as category,
    format('%s.%s', m.nspname, m.index_name) as object,
    format('Index %I.%I on %I takes %s pages (%s) where its entries need about %s at its fillfactor: roughly %s%% (%s) '
           'is wasted space.', m.nspname, m.index_name, m.table_name, m.relpages,
           pg_catalog.pg_size_pretty(m.relpages * m.bs), m.expected, m.bloat_pct,
           pg_catalog.pg_size_pretty(m.waste_bytes)) as detail,
    'Rebuild it online: REINDEX INDEX CONCURRENTLY builds a fresh copy next to it and swaps them without blocking '
        'reads or writes (it needs the index''s size in free disk space, takes longer than a plain REINDEX, and '
        'cannot run inside a transaction block). If it bloats again quickly, look at the write pattern (many '
        'updates or deletes of indexed values) and at autovacuum for the table.' as remediation,
    format('REINDEX INDEX CONCURRENTLY %I.%I;', m.nspname, m.index_name) as fix_sql,
    format('index_bloat_%s_%s', m.nspname, m.index_name) as cache_key
from measured m
where m.bloat_pct >= coalesce(nullif(current_setting('dba_admin.index_bloat_min_pct', true), ''), '50')::numeric
  and m.waste_bytes >= coalesce(nullif(current_setting('dba_admin.index_bloat_min_bytes', true), ''), '104857600')::numeric
order by m.waste_bytes desc, m.nspname, m.index_name
/* dba_admin */
