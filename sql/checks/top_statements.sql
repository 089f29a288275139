-- check: top_statements
-- category: PERFORMANCE
-- requires: pg_stat_statements
-- Finds: the statements of this database that took the most execution time since pg_stat_statements was last
-- reset: the top dba_admin.top_statements_limit (default 5) by total time, each with at least
-- dba_admin.top_statements_min_total_ms milliseconds in all (default 60000). The app's own queries (tagged
-- dba_admin) are left out.
-- Why it matters: a handful of statements usually account for most of the load; speeding up the top one
-- (an index, a better plan, caching, fewer calls) helps more than anything else. PgHero's "slow queries" /
-- Supabase's Query Performance report.
-- The runner puts the extension's schema on the search_path; without pg_stat_statements it reports "not available".
with s as (
    select queryid, min(query) as query, sum(calls) as calls, sum(total_exec_time) as total_ms, sum(rows) as rows
    from pg_stat_statements
    where dbid = (select oid from pg_catalog.pg_database where datname = current_database())
      and queryid is not null
      and query not like '%/* dba_admin */%'
    group by queryid
),
ranked as (
    select s.*, row_number() over (order by total_ms desc, queryid) as rank,
           100 * total_ms / nullif(sum(total_ms) over (), 0) as share_pct
    from s
)
select
    'top_statements' as name,
    format('Top statement #%s by total time', rank) as title,
    'INFO' as level,
    'PERFORMANCE' as category,
    format('statement %s', queryid) as object,
    format('%s ms in all (%s%% of this database''s statement time): %s call(s), %s ms on average, %s row(s) per call. '
           'Query: %s', round(total_ms::numeric, 1), round(share_pct::numeric, 1), calls,
           round((total_ms / nullif(calls, 0))::numeric, 3), round(rows::numeric / nullif(calls, 0), 1),
           left(regexp_replace(query, '\s+', ' ', 'g'), 500)) as detail,
    'Run EXPLAIN (ANALYZE, BUFFERS) on it with typical parameters: look for sequential scans of large tables (add an '
        'index), row estimates far off (ANALYZE), sorts spilling to disk; if it is fast but called very often, '
        'cache it or batch the calls.' as remediation,
    null::text as fix_sql,
    format('top_statements_%s', queryid) as cache_key
from ranked
where rank <= coalesce(nullif(current_setting('dba_admin.top_statements_limit', true), ''), '5')::int
  and total_ms >= coalesce(nullif(current_setting('dba_admin.top_statements_min_total_ms', true), ''), '60000')::numeric
order by rank
/* dba_admin */
