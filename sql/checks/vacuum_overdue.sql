-- check: vacuum_overdue
-- category: MAINTENANCE
-- Finds: tables with at least dba_admin.vacuum_min_dead_rows dead rows (default 10000) that are past the point
-- where autovacuum should have vacuumed them (autovacuum_vacuum_threshold + autovacuum_vacuum_scale_factor x rows,
-- the table's own settings first).
-- Why it matters: dead rows make scans and indexes slower and the table grows (bloat); autovacuum being this far
-- behind means it is disabled, throttled, or blocked by a long transaction. PgHero's "vacuum" maintenance view.
with t as (
    select s.schemaname, s.relname, s.n_dead_tup, s.n_live_tup, greatest(c.reltuples, 0) as reltuples,
           greatest(s.last_vacuum, s.last_autovacuum) as last_vacuumed,
           coalesce((select option_value from pg_catalog.pg_options_to_table(c.reloptions)
                     where option_name = 'autovacuum_vacuum_threshold'),
                    current_setting('autovacuum_vacuum_threshold'))::numeric as base,
           coalesce((select option_value from pg_catalog.pg_options_to_table(c.reloptions)
                     where option_name = 'autovacuum_vacuum_scale_factor'),
                    current_setting('autovacuum_vacuum_scale_factor'))::numeric as scale
    from pg_catalog.pg_stat_user_tables s
    join pg_catalog.pg_class c on c.oid = s.relid
    where c.relkind in ('r', 'm')
)
select
    'vacuum_overdue' as name,
    'Vacuum overdue' as title,
    'WARN' as level,
    'MAINTENANCE' as category,
    format('%s.%s', schemaname, relname) as object,
    format('Table %I.%I has %s dead rows (%s live); autovacuum should have started at %s. Last vacuum: %s.',
           schemaname, relname, n_dead_tup, n_live_tup, round(base + scale * reltuples),
           coalesce(to_char(last_vacuumed, 'YYYY-MM-DD HH24:MI:SS TZ'), 'never')) as detail,
    'Vacuum it now, then find why autovacuum did not: disabled on the table, too few workers or too much throttling '
        '(autovacuum_vacuum_cost_limit), or a long-running transaction holding back the xmin horizon.' as remediation,
    format('VACUUM (ANALYZE) %I.%I;', schemaname, relname) as fix_sql,
    format('vacuum_overdue_%s_%s', schemaname, relname) as cache_key
from t
where n_dead_tup >= coalesce(nullif(current_setting('dba_admin.vacuum_min_dead_rows', true), ''), '10000')::numeric
  and n_dead_tup > base + scale * reltuples
order by n_dead_tup desc, schemaname, relname
/* dba_admin */
