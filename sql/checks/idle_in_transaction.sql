-- check: idle_in_transaction
-- category: MAINTENANCE
-- Finds: sessions connected to this database that have sat idle inside an open transaction for at least
-- dba_admin.idle_in_transaction_seconds seconds (default 60).
-- Why it matters: an open transaction keeps its locks (blocking DDL and, behind it, everyone else) and holds back
-- the xmin horizon, so vacuum cannot remove dead rows anywhere in the cluster. Usually an application that forgot
-- to commit, or a console left open. PgHero's long-running / idle-in-transaction queries.
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
    format('SELECT pg_terminate_backend(%s);', a.pid) as fix_sql,
    format('idle_in_transaction_%s_%s', a.pid, extract(epoch from a.backend_start)::bigint) as cache_key
from pg_catalog.pg_stat_activity a
where a.datname = current_database()
  and a.pid <> pg_catalog.pg_backend_pid()
  and a.state in ('idle in transaction', 'idle in transaction (aborted)')
  and now() - a.state_change
      >= make_interval(secs => coalesce(nullif(current_setting('dba_admin.idle_in_transaction_seconds', true), ''), '60')::float8)
order by a.state_change, a.pid
/* dba_admin */
