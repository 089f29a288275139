-- check: insecure_queue_exposed_in_api
-- category: SECURITY
-- Finds: pgmq queue tables (pgmq.q_<queue>) without row level security that anon or authenticated may read or
-- write (a table privilege and USAGE on schema pgmq), when the API serves the queues: pgmq_public (Supabase's
-- queue API) or pgmq itself is among the exposed schemas (dba_admin.exposed_schemas).
-- Why it matters: through pgmq_public's send/read/pop/archive/delete, anyone holding the project's public API key
-- can read, add and delete that queue's messages. Supabase's splinter lint 0019.
with exposed as (
    select btrim(s) as nspname
    from unnest(string_to_array(coalesce(current_setting('dba_admin.exposed_schemas', true), 'public'), ',')) as s
    where btrim(s) <> ''
),
api_roles as (
    select oid, rolname from pg_catalog.pg_roles where rolname in ('anon', 'authenticated')
),
queue_tables as (
    -- a catalog lookup: nothing is read (and nothing fails) when pgmq is not installed
    select n.oid as nspoid, n.nspname, c.oid, c.relname
    from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'pgmq'
      and c.relname like 'q\_%'
      and c.relkind in ('r', 'p')
      and not c.relrowsecurity
      and exists (select 1 from exposed where nspname in ('pgmq_public', 'pgmq'))
)
select
    'insecure_queue_exposed_in_api' as name,
    'Queue exposed to the API without RLS' as title,
    'ERROR' as level,
    'SECURITY' as category,
    format('%s.%s', q.nspname, q.relname) as object,
    format('Queue table %I.%I has row level security disabled and %s may use it, while the API serves the queues '
           '(%s exposed): anyone with the public API key can read, send and delete its messages.',
           q.nspname, q.relname, string_agg(r.rolname, ', ' order by r.rolname),
           (select string_agg(nspname, ', ' order by nspname) from exposed where nspname in ('pgmq_public', 'pgmq')))
        as detail,
    'Enable row level security on the queue table (the fix below); the API then reaches no message until you '
        'add policies for the roles that should. If the queues are not meant for API clients, remove pgmq_public '
        'from the exposed schemas (Supabase: Settings > API) or revoke the API roles'' privileges on pgmq.'
        as remediation,
    format('ALTER TABLE %I.%I ENABLE ROW LEVEL SECURITY;', q.nspname, q.relname) as fix_sql,
    format('insecure_queue_exposed_in_api_%s_%s', q.nspname, q.relname) as cache_key
from queue_tables q
join api_roles r
  on pg_catalog.has_table_privilege(r.oid, q.oid, 'SELECT, INSERT, UPDATE, DELETE')
 and pg_catalog.has_schema_privilege(r.oid, q.nspoid, 'USAGE')
group by q.nspname, q.relname
order by q.nspname, q.relname
/* dba_admin */
