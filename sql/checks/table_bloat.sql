-- check: table_bloat
-- category: PERFORMANCE
-- Finds: tables whose estimated wasted space (pages beyond what their live rows need, estimated from pg_stats)
-- is at least dba_admin.bloat_min_pct percent of the table (default 50) and dba_admin.bloat_min_bytes bytes
-- (default 100 MB). The estimate is the well-known one from pg_stats (as in Supabase's splinter lint 0020); it
-- needs ANALYZE to have run and is rough for tables with wide or TOASTed columns.
-- Why it matters: bloated tables are slower to scan and take cache and disk; plain VACUUM makes the space
-- reusable but does not give it back.
with constants as (
    select current_setting('block_size')::numeric as bs, 23 as hdr, 8 as ma
),
widths as (
    select s.schemaname, s.tablename, cs.bs, cs.hdr, cs.ma,
           sum((1 - s.null_frac) * s.avg_width) as datawidth,
           max(s.null_frac) as maxfracsum,
           cs.hdr + 1 + count(*) filter (where s.null_frac <> 0) / 8 as nullhdr
    from pg_catalog.pg_stats s
    cross join constants cs
    where not s.inherited
    group by s.schemaname, s.tablename, cs.bs, cs.hdr, cs.ma
),
headers as (
    select schemaname, tablename, bs, ma,
           (datawidth + (hdr + ma - (case when hdr % ma = 0 then ma else hdr % ma end)))::numeric as datahdr,
           (maxfracsum * (nullhdr + ma - (case when nullhdr % ma = 0 then ma else nullhdr % ma end))) as nullhdr2
    from widths
),
estimates as (
    select h.schemaname, h.tablename, c.relpages::numeric as relpages, h.bs,
           ceil(greatest(c.reltuples, 0) * ((h.datahdr + h.ma - (case when h.datahdr % h.ma = 0 then h.ma else h.datahdr % h.ma end))
                + h.nullhdr2 + 4) / (h.bs - 20))::numeric as otta
    from headers h
    join pg_catalog.pg_namespace n on n.nspname = h.schemaname
    join pg_catalog.pg_class c on c.relnamespace = n.oid and c.relname = h.tablename
    where c.relkind = 'r'
      and c.relam = (select oid from pg_catalog.pg_am where amname = 'heap')
      and n.nspname not in ('pg_catalog', 'information_schema')
      and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
),
bloat as (
    select schemaname, tablename, relpages, otta,
           case when relpages > 0 then round(100 * greatest(relpages - otta, 0) / relpages, 1) else 0 end as bloat_pct,
           (bs * greatest(relpages - otta, 0))::bigint as waste_bytes
    from estimates
)
select
    'table_bloat' as name,
    'Table bloat' as title,
    'INFO' as level,
    'PERFORMANCE' as category,
    format('%s.%s', schemaname, tablename) as object,
    format('Table %I.%I takes %s pages where its live rows need about %s: roughly %s%% (%s) is dead or free space.',
           schemaname, tablename, relpages, otta, bloat_pct, pg_catalog.pg_size_pretty(waste_bytes)) as detail,
    'Rewrite the table to give the space back: VACUUM FULL (takes an ACCESS EXCLUSIVE lock for the whole rewrite; '
        'pg_repack does it online), then tune autovacuum for this table so it does not bloat again.' as remediation,
    format('VACUUM (FULL, ANALYZE) %I.%I;', schemaname, tablename) as fix_sql,
    format('table_bloat_%s_%s', schemaname, tablename) as cache_key
from bloat
where bloat_pct >= coalesce(nullif(current_setting('dba_admin.bloat_min_pct', true), ''), '50')::numeric
  and waste_bytes >= coalesce(nullif(current_setting('dba_admin.bloat_min_bytes', true), ''), '104857600')::numeric
order by waste_bytes desc, schemaname, tablename
/* dba_admin */
