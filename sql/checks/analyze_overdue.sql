-- check: analyze_overdue
-- category: MAINTENANCE
-- Finds: tables with at least dba_admin.analyze_min_changed_rows rows changed since their last ANALYZE (default
-- 10000) that are past the point where autovacuum should have analyzed them (autovacuum_analyze_threshold +
-- autovacuum_analyze_scale_factor x rows, the table's own settings first), including tables never analyzed.
-- Why it matters: the planner's row estimates come from these statistics; stale ones produce bad plans (nested
-- loops over millions of rows, missed indexes). PgHero's "analyze" maintenance view.
with t as (
    select s.schemaname, s.relname, s.n_mod_since_analyze, greatest(c.reltuples, 0) as reltuples,
           greatest(s.last_analyze, s.last_autoanalyze) as last_analyzed,
           coalesce((select option_value from pg_catalog.pg_options_to_table(c.reloptions)
                     where option_name = 'autovacuum_analyze_threshold'),
                    current_setting('autovacuum_analyze_threshold'))::numeric as base,
           coalesce((select option_value from pg_catalog.pg_options_to_table(c.reloptions)
                     where option_name = 'autovacuum_analyze_scale_factor'),
                    current_setting('autovacuum_analyze_scale_factor'))::numeric as scale
    from pg_catalog.pg_stat_user_tables s
    join pg_catalog.pg_class c on c.oid = s.relid
    where c.relkind in ('r', 'm')
)
select
    'analyze_overdue' as name,
    'Analyze overdue' as title,
    'WARN' as level,
    'MAINTENANCE' as category,
    format('%s.%s', schemaname, relname) as object,
    format('Table %I.%I has %s rows changed since its statistics were gathered (last analyze: %s); autovacuum should '
           'have analyzed it at %s.', schemaname, relname, n_mod_since_analyze,
           coalesce(to_char(last_analyzed, 'YYYY-MM-DD HH24:MI:SS TZ'), 'never'), round(base + scale * reltuples)) as detail,
    'Analyze it now so the planner sees the current data, then check why autovacuum did not (disabled on the table, '
        'or its workers are busy elsewhere).' as remediation,
    format('ANALYZE %I.%I;', schemaname, relname) as fix_sql,
    format('analyze_overdue_%s_%s', schemaname, relname) as cache_key
from t
where n_mod_since_analyze >= coalesce(nullif(current_setting('dba_admin.analyze_min_changed_rows', true), ''), '10000')::numeric
  and n_mod_since_analyze > base + scale * reltuples
order by n_mod_since_analyze desc, schemaname, relname
/* dba_admin */
