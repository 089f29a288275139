-- check: long_running_queries
-- category: PERFORMANCE
-- Finds: sessions of this database whose current statement has been running for at least
-- dba_admin.long_running_query_seconds seconds (default 60). Client sessions only (not autovacuum, walsenders or
-- parallel workers); the app's own queries (tagged dba_admin) are left out, and so is a session that waits on a
-- lock for at least dba_admin.blocked_query_seconds: blocked_queries reports it with its root blocker, which is
-- what needs the action. Idle-in-transaction sessions are idle_in_transaction's.
-- Why it matters: a long statement holds its locks and snapshot the whole time (vacuum cannot clean up behind it,
-- DDL queues behind it and every query behind the DDL), and is often a runaway: a missing index, a bad plan, a
-- forgotten report. PgHero's long_running_queries.
with limits as (
    select make_interval(secs => coalesce(nullif(current_setting('dba_admin.long_running_query_seconds', true), ''), '60')::float8) as running,
           make_interval(secs => coalesce(nullif(current_setting('dba_admin.blocked_query_seconds', true), ''), '5')::float8) as blocked
),
running as (
    select a.pid, a.usename, a.application_name, a.client_addr, a.query_start, a.xact_start, a.wait_event_type,
           a.wait_event, a.query, a.backend_start
    from pg_catalog.pg_stat_activity a
    cross join limits lim
    where a.datname = pg_catalog.current_database()
      and a.pid <> pg_catalog.pg_backend_pid()
      and a.backend_type = 'client backend'
      and a.state in ('active', 'fastpath function call')
      and a.query_start is not null
      and now() - a.query_start >= lim.running
      and strpos(coalesce(a.query, ''), '/* dba_admin */') = 0
      and not exists (
          select 1 from pg_catalog.pg_locks l
          where l.pid = a.pid and not l.granted
            and now() - coalesce(l.waitstart, a.query_start) >= lim.blocked)
)
select
    'long_running_queries' as name,
    'Long-running query' as title,
    'WARN' as level,
    'PERFORMANCE' as category,
    format('pid %s', r.pid) as object,
    format('Session %s (user %s, application %s, from %s) has been running its current statement for %s%s%s. '
           'Statement: %s', r.pid, coalesce(r.usename::text, '-'), coalesce(nullif(r.application_name, ''), '-'),
           coalesce(host(r.client_addr), 'local socket'), date_trunc('second', now() - r.query_start),
           case when r.xact_start < r.query_start
                then format(' (its transaction started %s ago)', date_trunc('second', now() - r.xact_start))
                else '' end,
           case when r.wait_event is not null
                then format('; now waiting on %s:%s', r.wait_event_type, r.wait_event) else '' end,
           left(regexp_replace(coalesce(r.query, ''), '\s+', ' ', 'g'), 300)) as detail,
    format('Ask the owner of session %s (user %s, application %s) whether its statement, running for %s ("%s"), is '
           'still wanted. If not, cancel it: the fix cancels only this statement, and only while it is still the one '
           'running; the session stays connected. Then fix the cause: EXPLAIN it for a missing index or a bad plan, '
           'and set statement_timeout for the role or application so a runaway stops by itself.',
           r.pid, coalesce(r.usename::text, '-'), coalesce(nullif(r.application_name, ''), '-'),
           date_trunc('second', now() - r.query_start),
           left(regexp_replace(coalesce(r.query, ''), '\s+', ' ', 'g'), 80)) as remediation,
    format('SELECT pg_catalog.pg_cancel_backend(pid) FROM pg_catalog.pg_stat_activity WHERE pid = %s AND '
           'query_start = %L::timestamptz;', r.pid,
           to_char(r.query_start at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')) as fix_sql,
    format('long_running_queries_%s_%s', r.pid, to_char(r.query_start at time zone 'UTC', 'YYYYMMDDHH24MISSUS'))
        as cache_key
from running r
order by r.query_start, r.pid
/* dba_admin */
