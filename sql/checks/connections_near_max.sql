-- check: connections_near_max
-- category: MAINTENANCE
-- Finds: the server using at least dba_admin.connections_warn_pct percent of max_connections (default 80; ERROR
-- from 95), counting every client backend of every database.
-- Why it matters: when the limit is reached new connections are refused ("too many clients already") and the
-- application goes down; many idle connections also cost memory. PgHero's "connections" check.
with c as (
    select count(*) as used,
           count(*) filter (where state = 'idle') as idle,
           count(*) filter (where state like 'idle in transaction%') as idle_in_tx,
           current_setting('max_connections')::int as max_conn,
           current_setting('superuser_reserved_connections')::int as reserved
    from pg_catalog.pg_stat_activity
    where backend_type = 'client backend'
),
pct as (
    select c.*, 100.0 * used / max_conn as used_pct from c
)
select
    'connections_near_max' as name,
    'Connections near max_connections' as title,
    case when used_pct >= 95 then 'ERROR' else 'WARN' end as level,
    'MAINTENANCE' as category,
    'server.max_connections' as object,
    format('%s of %s connections in use (%s%%; %s reserved for superusers): %s idle, %s idle in transaction.',
           used, max_conn, round(used_pct, 1), reserved, idle, idle_in_tx) as detail,
    'Put a connection pooler in front (Supavisor or PgBouncer in transaction mode), lower the pool sizes of the '
        'application servers, close idle sessions; raising max_connections needs a restart and memory.' as remediation,
    null::text as fix_sql,
    'connections_near_max' as cache_key
from pct
where used_pct >= coalesce(nullif(current_setting('dba_admin.connections_warn_pct', true), ''), '80')::numeric
/* dba_admin */
