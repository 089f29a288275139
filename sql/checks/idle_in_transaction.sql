-- check: idle_in_transaction
-- category: MAINTENANCE
-- Finds: sessions connected to this database that have sat idle inside an open transaction for at least
-- dba_admin.idle_in_transaction_seconds seconds (default 60).
-- Why it matters: an open transaction keeps its locks (blocking DDL and, behind it, everyone else) and holds back
-- the xmin horizon, so vacuum cannot remove dead rows anywhere in the cluster. Usually an application that forgot
-- to commit, or a console left open. PgHero's long-running / idle-in-transaction queries.
-- A session that blocks another one waiting at least dba_admin.blocked_query_seconds is left to blocked_queries,
-- whose finding names the same session as the root of the chain: one action per session, not two. The fix ends
-- the session only while that same transaction is still open (a pid can be reused by a later session).
select
    'idle_in_transaction' as name,
    'Session idle in transaction' as title,
    'WARN' as level,
    'MAINTENANCE' as category,
    format('pid %s', a.pid) as object,
    format('Session %s (%s, application %s, from %s) has been %s for %s; its transaction started %s ago and holds %s '
           'lock(s). Last statement: %s', a.pid, a.usename, coalesce(nullif(a.application_name, ''), '-'),
           coalesce(host(a.client_addr), 'local socket'), a.state, date_trunc('second', now() - a.state_change),
           date_trunc('second', now() - a.xact_start),
           (select count(*) from pg_catalog.pg_locks l where l.pid = a.pid and l.granted),
           left(regexp_replace(coalesce(a.query, ''), '\s+', ' ', 'g'), 300)) as detail,
    'End the session (its transaction is rolled back), then fix the client so it commits or rolls back promptly. '
        'Setting idle_in_transaction_session_timeout (per role or database) makes PostgreSQL do this by itself.'
        as remediation,
    format('SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE pid = %s'
           ' AND xact_start = %L::timestamptz;', a.pid, a.xact_start) as fix_sql,
    format('idle_in_transaction_%s_%s', a.pid, extract(epoch from a.backend_start)::bigint) as cache_key
from pg_catalog.pg_stat_activity a
where a.datname = current_database()
  and a.pid <> pg_catalog.pg_backend_pid()
  and a.state in ('idle in transaction', 'idle in transaction (aborted)')
  and now() - a.state_change
      >= make_interval(secs => coalesce(nullif(current_setting('dba_admin.idle_in_transaction_seconds', true), ''), '60')::float8)
  and a.pid not in ( -- root blockers are blocked_queries' findings (same threshold as there)
      select b.pid
      from pg_catalog.pg_locks l
      join pg_catalog.pg_stat_activity w on w.pid = l.pid
      cross join lateral pg_catalog.unnest(pg_catalog.pg_blocking_pids(l.pid)) as b(pid)
      where not l.granted
        and w.datname = pg_catalog.current_database()
        and now() - coalesce(l.waitstart, w.query_start, now())
            >= make_interval(secs => coalesce(nullif(current_setting('dba_admin.blocked_query_seconds', true), ''), '5')::float8))
order by a.state_change, a.pid
/* dba_admin */
