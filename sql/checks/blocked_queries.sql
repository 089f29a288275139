-- check: blocked_queries
-- category: PERFORMANCE
-- Finds: sessions of this database that have waited on a lock for at least dba_admin.blocked_query_seconds
-- seconds (default 5, from pg_locks.waitstart), followed through pg_blocking_pids() down to the root blocker:
-- the session that blocks them and waits on nobody itself. One finding per root blocker, with every chain
-- (who waits on whom, for which lock) in the detail: ending the root blocker's transaction releases them all.
-- Why it matters: blocked sessions pile up (a migration waiting for an ACCESS EXCLUSIVE lock behind one idle
-- transaction blocks every query on that table behind it) until the pool runs dry and the application stalls.
-- PgHero's blocked_queries (which lists blocked/blocking pairs; this follows the chain to its root).
with recursive limits as (
    select make_interval(secs => coalesce(nullif(current_setting('dba_admin.blocked_query_seconds', true), ''), '5')::float8) as blocked
),
waiting as (
    -- the oldest lock each session of this database waits for, if it has waited long enough
    select distinct on (a.pid) a.pid, a.usename, a.application_name, a.query, l.locktype, l.mode, l.relation,
           l.transactionid, now() - coalesce(l.waitstart, a.query_start, now()) as waited
    from pg_catalog.pg_stat_activity a
    join pg_catalog.pg_locks l on l.pid = a.pid and not l.granted
    cross join limits lim
    where a.datname = pg_catalog.current_database()
      and a.pid <> pg_catalog.pg_backend_pid()
      and now() - coalesce(l.waitstart, a.query_start, now()) >= lim.blocked
    order by a.pid, l.waitstart nulls last
),
chain (waiter, blocker, path) as (
    select w.pid, b.pid, array[w.pid, b.pid]
    from waiting w
    cross join lateral unnest(pg_catalog.pg_blocking_pids(w.pid)) as b(pid)
    union all
    select c.waiter, b.pid, c.path || b.pid
    from chain c
    cross join lateral unnest(pg_catalog.pg_blocking_pids(c.blocker)) as b(pid)
    where c.blocker <> 0 -- 0: a prepared transaction, which waits on nobody
      and b.pid <> all (c.path) -- a cycle is a deadlock: the deadlock detector resolves it
      and cardinality(c.path) < 64
),
roots as (
    -- a blocker that waits on nobody; shortest path per (waiter, root)
    select distinct on (c.waiter, c.blocker) c.waiter, c.blocker as root, c.path
    from chain c
    where c.blocker = 0 or cardinality(pg_catalog.pg_blocking_pids(c.blocker)) = 0
    order by c.waiter, c.blocker, cardinality(c.path)
),
described as (
    select r.root, w.waited, w.pid,
           format('pid %s (user %s, application %s) has waited %s for %s, blocked by %s; its statement: %s',
                  w.pid, coalesce(w.usename::text, '-'), coalesce(nullif(w.application_name, ''), '-'),
                  date_trunc('second', w.waited),
                  case when w.locktype = 'relation' then format('%s on %s', w.mode, w.relation::regclass)
                       when w.locktype = 'tuple' then format('%s on a row of %s', w.mode, w.relation::regclass)
                       when w.locktype = 'transactionid'
                       then format('%s on transaction %s (a row that transaction changed)', w.mode, w.transactionid)
                       else format('%s on a %s lock', w.mode, w.locktype) end,
                  array_to_string((select array_agg(case when p = 0 then 'a prepared transaction' else 'pid ' || p end
                                                    order by o)
                                   from unnest(r.path[2:]) with ordinality as x(p, o)), ' <- blocked by '),
                  left(regexp_replace(coalesce(w.query, ''), '\s+', ' ', 'g'), 200)) as line
    from roots r
    join waiting w on w.pid = r.waiter
),
grouped as (
    select d.root, count(*) as blocked, max(d.waited) as longest,
           string_agg(d.line, '; ' order by d.waited desc, d.pid) as chains
    from described d
    group by d.root
)
select
    'blocked_queries' as name,
    'Session blocking others' as title,
    'WARN' as level,
    'PERFORMANCE' as category,
    case when g.root = 0 then 'prepared transaction' else format('pid %s', g.root) end as object,
    case when g.root = 0
         then format('A prepared transaction (two-phase commit, see pg_prepared_xacts) blocks %s session(s), the longest '
                     'waiting %s. ', g.blocked, date_trunc('second', g.longest))
         else format('Session %s (user %s, application %s, database %s, from %s) is %s%s, its transaction open for %s; '
                     'it blocks %s session(s), the longest waiting %s. Its last statement: %s. ',
                     g.root, coalesce(a.usename::text, '-'), coalesce(nullif(a.application_name, ''), '-'),
                     coalesce(a.datname::text, '-'), coalesce(host(a.client_addr), 'local socket'),
                     coalesce(a.state, 'unknown'),
                     case when a.state = 'active' and a.query_start is not null
                          then format(' (running for %s)', date_trunc('second', now() - a.query_start)) else '' end,
                     coalesce(date_trunc('second', now() - a.xact_start)::text, 'unknown'),
                     g.blocked, date_trunc('second', g.longest),
                     left(regexp_replace(coalesce(a.query, ''), '\s+', ' ', 'g'), 200)) end
        || 'Blocked: ' || g.chains || '.' as detail,
    case when g.root <> 0
         then format('The root blocker is session %s (user %s, application %s). ', g.root,
                     coalesce(a.usename::text, '-'), coalesce(nullif(a.application_name, ''), '-'))
         else '' end ||
    case when g.root = 0
         then 'Find the prepared transaction in pg_prepared_xacts and finish it with COMMIT PREPARED or ROLLBACK '
              'PREPARED (its transaction manager should have); an orphaned one also holds back vacuum.'
         when a.xact_start is null
         then 'It holds a lock outside any transaction (a session-level advisory lock, or it has just '
              'ended): if it is still listed, have its owner release the lock (pg_advisory_unlock) or terminate the '
              'session with pg_terminate_backend.'
         when a.state like 'idle in transaction%'
         then 'It is idle in a transaction: it holds its locks and does nothing. End it (the fix '
              'terminates the session only if that same transaction is still open; its work is rolled back), then '
              'fix the client so it commits promptly; idle_in_transaction_session_timeout and lock_timeout (for '
              'migrations) keep this from recurring.'
         else 'Decide whether its work matters more than the sessions it blocks. If not, cancel its '
              'statement (the fix does so only while that same transaction is still open); if it still holds the '
              'locks afterwards, terminate it with pg_terminate_backend. Set lock_timeout for migrations and DDL so '
              'they give up instead of queueing everyone behind them.' end as remediation,
    case when g.root = 0 or a.xact_start is null then null
         else format('SELECT pg_catalog.%s(pid) FROM pg_catalog.pg_stat_activity WHERE pid = %s AND '
                     'xact_start = %L::timestamptz;',
                     case when a.state like 'idle in transaction%' then 'pg_terminate_backend'
                          else 'pg_cancel_backend' end,
                     g.root, to_char(a.xact_start at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')) end as fix_sql,
    case when g.root = 0 then 'blocked_queries_prepared'
         else format('blocked_queries_%s_%s', g.root,
                     coalesce(to_char(a.xact_start at time zone 'UTC', 'YYYYMMDDHH24MISSUS'), 'none')) end as cache_key
from grouped g
left join pg_catalog.pg_stat_activity a on a.pid = g.root and g.root <> 0
order by g.longest desc, g.root
/* dba_admin */
