-- check: autovacuum_disabled
-- category: MAINTENANCE
-- Finds: tables with autovacuum turned off (autovacuum_enabled = false or toast.autovacuum_enabled = false), and
-- the server-wide case (autovacuum = off, or track_counts = off, which stops autovacuum too).
-- Why it matters: without autovacuum, dead rows pile up (bloat), statistics go stale, and - the serious part -
-- nothing freezes old rows, so the table drifts toward transaction ID wraparound. (Neither splinter nor PgHero
-- has this check.)
select
    'autovacuum_disabled' as name,
    'Autovacuum disabled on a table' as title,
    'WARN' as level,
    'MAINTENANCE' as category,
    format('%s.%s', n.nspname, c.relname) as object,
    format('Table %I.%I has autovacuum turned off (%s).', n.nspname, c.relname,
           concat_ws(', ', array_to_string(c.reloptions, ', '),
                     (select string_agg('toast.' || o, ', ') from unnest(t.reloptions) o))) as detail,
    'Turn autovacuum back on for the table; if it was disabled to avoid load, tune its cost settings instead '
        '(autovacuum_vacuum_cost_delay, scale factors per table).' as remediation,
    format('ALTER TABLE %I.%I RESET (autovacuum_enabled, toast.autovacuum_enabled);', n.nspname, c.relname) as fix_sql,
    format('autovacuum_disabled_%s_%s', n.nspname, c.relname) as cache_key
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
left join pg_catalog.pg_class t on t.oid = c.reltoastrelid -- toast.* options live on the TOAST table
where c.relkind in ('r', 'm', 'p')
  and (exists (select 1 from unnest(coalesce(c.reloptions, '{}')) as o
               where lower(o) in ('autovacuum_enabled=false', 'autovacuum_enabled=off', 'autovacuum_enabled=0',
                                  'autovacuum_enabled=no'))
       or exists (select 1 from unnest(coalesce(t.reloptions, '{}')) as o
                  where lower(o) in ('autovacuum_enabled=false', 'autovacuum_enabled=off', 'autovacuum_enabled=0',
                                     'autovacuum_enabled=no')))
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
union all
select
    'autovacuum_disabled',
    'Autovacuum disabled on the server',
    'ERROR',
    'MAINTENANCE',
    'server.autovacuum',
    format('autovacuum = %s and track_counts = %s: no table is vacuumed, analyzed or frozen automatically '
           '(only anti-wraparound vacuums still run).', current_setting('autovacuum'), current_setting('track_counts')),
    'Set autovacuum = on and track_counts = on (ALTER SYSTEM SET ... ; then SELECT pg_reload_conf()).',
    null::text,
    'autovacuum_disabled_server'
where current_setting('autovacuum') = 'off' or current_setting('track_counts') = 'off'
/* dba_admin */
