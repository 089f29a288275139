-- check: n_plus_one_statements
-- category: PERFORMANCE
-- requires: pg_stat_statements
-- Finds: SELECT statements called at least dba_admin.n_plus_one_min_calls times (default 10000) that are very fast
-- each (mean at most dba_admin.n_plus_one_max_mean_ms, default 1 ms) and return at most one row per call on
-- average: the signature of the N+1 pattern, an application fetching rows one by one in a loop.
-- Why it matters: each call costs a network round trip and parsing/planning overhead; thousands of them add up to
-- seconds that one query with IN (...) or a JOIN would do in milliseconds.
with s as (
    select queryid, min(query) as query, sum(calls) as calls, sum(total_exec_time) as total_ms, sum(rows) as rows
    from pg_stat_statements
    where dbid = (select oid from pg_catalog.pg_database where datname = current_database())
      and queryid is not null
      and query not like '%/* dba_admin */%'
    group by queryid
)
select
    'n_plus_one_statements' as name,
    'Statement called very often with a tiny mean time (N+1)' as title,
    'INFO' as level,
    'PERFORMANCE' as category,
    format('statement %s', queryid) as object,
    format('Called %s times, %s ms on average (%s ms in all), %s row(s) per call: likely one query per row of an '
           'outer loop. Query: %s', calls, round((total_ms / calls)::numeric, 4), round(total_ms::numeric, 1),
           round(rows::numeric / calls, 2), left(regexp_replace(query, '\s+', ' ', 'g'), 500)) as detail,
    'Find the loop in the application that issues it and fetch the rows in one query (WHERE id = ANY($1), a JOIN, '
        'or the ORM''s eager loading such as select_related/prefetch/includes).' as remediation,
    null::text as fix_sql,
    format('n_plus_one_statements_%s', queryid) as cache_key
from s
where calls >= coalesce(nullif(current_setting('dba_admin.n_plus_one_min_calls', true), ''), '10000')::numeric
  and total_ms / calls <= coalesce(nullif(current_setting('dba_admin.n_plus_one_max_mean_ms', true), ''), '1')::numeric
  and rows <= calls
  and query ~* '^\s*select\M'
order by calls desc, queryid
/* dba_admin */
