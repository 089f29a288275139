-- check: autovacuum_freeze_danger
-- category: MAINTENANCE
-- Finds: tables (and materialized views) that have used at least dba_admin.autovacuum_freeze_used_pct percent
-- (default 95) of their autovacuum_freeze_max_age: the age of their oldest unfrozen transaction ID (of the table or
-- its TOAST table), against the table's own autovacuum_freeze_max_age reloption when it sets one (it can only
-- lower the server's), else the server's; multixact IDs likewise against autovacuum_multixact_freeze_max_age.
-- INFO while approaching, WARN once past the limit (the anti-wraparound vacuum is due and has not finished).
-- Why it matters: at that age autovacuum starts an aggressive anti-wraparound VACUUM of the whole table that
-- cannot be cancelled and may arrive at a busy hour; freezing the table yourself at a quiet time avoids that.
-- A table far past its limit means autovacuum cannot keep up or is blocked - xid_wraparound reports the
-- emergency that follows, and a table past dba_admin.xid_age_warn is left to it (one VACUUM, not two). PgHero's
-- autovacuum_danger.
with settings as (
    select current_setting('autovacuum_freeze_max_age')::numeric as xid_max,
           current_setting('autovacuum_multixact_freeze_max_age')::numeric as mxid_max,
           coalesce(nullif(current_setting('dba_admin.autovacuum_freeze_used_pct', true), ''), '95')::numeric as min_pct
),
rels as (
    select c.oid, n.nspname, c.relname,
           age(c.relfrozenxid)::numeric as xid_age, mxid_age(c.relminmxid)::numeric as mxid_age,
           age(t.relfrozenxid)::numeric as toast_xid_age, mxid_age(t.relminmxid)::numeric as toast_mxid_age,
           (select substr(o, 27)::numeric from unnest(c.reloptions) o where o like 'autovacuum\_freeze\_max\_age=%')
               as own_xid_max,
           (select substr(o, 37)::numeric from unnest(c.reloptions) o
            where o like 'autovacuum\_multixact\_freeze\_max\_age=%') as own_mxid_max,
           (select substr(o, 27)::numeric from unnest(t.reloptions) o where o like 'autovacuum\_freeze\_max\_age=%')
               as toast_xid_max,
           (select substr(o, 37)::numeric from unnest(t.reloptions) o
            where o like 'autovacuum\_multixact\_freeze\_max\_age=%') as toast_mxid_max
    from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    left join pg_catalog.pg_class t on t.oid = c.reltoastrelid
    where c.relkind in ('r', 'm')
      and c.relpersistence <> 't' -- another session's temporary table cannot be vacuumed from here
),
limited as (
    select r.*, s.min_pct,
           least(s.xid_max, coalesce(r.own_xid_max, s.xid_max)) as xid_limit,
           least(s.mxid_max, coalesce(r.own_mxid_max, s.mxid_max)) as mxid_limit,
           least(s.xid_max, coalesce(r.toast_xid_max, s.xid_max)) as toast_xid_limit,
           least(s.mxid_max, coalesce(r.toast_mxid_max, s.mxid_max)) as toast_mxid_limit
    from rels r
    cross join settings s
),
scored as (
    select l.*,
           round(100 * greatest(l.xid_age / l.xid_limit, l.mxid_age / l.mxid_limit,
                                coalesce(l.toast_xid_age / l.toast_xid_limit, 0),
                                coalesce(l.toast_mxid_age / l.toast_mxid_limit, 0)), 2) as used_pct,
           greatest(l.xid_age, coalesce(l.toast_xid_age, 0)) as worst_xid_age,
           greatest(l.mxid_age, coalesce(l.toast_mxid_age, 0)) as worst_mxid_age
    from limited l
)
select
    'autovacuum_freeze_danger' as name,
    case when sc.used_pct >= 100 then 'Anti-wraparound vacuum overdue' else 'Anti-wraparound vacuum approaching' end
        as title,
    case when sc.used_pct >= 100 then 'WARN' else 'INFO' end as level,
    'MAINTENANCE' as category,
    format('%s.%s', sc.nspname, sc.relname) as object,
    format('Table %I.%I is at %s%% of its freeze limit: oldest transaction ID %s transactions old (limit %s%s), oldest '
           'multixact %s old (limit %s). %s%s', sc.nspname, sc.relname, sc.used_pct, sc.worst_xid_age, sc.xid_limit,
           case when sc.own_xid_max is not null then ', the table''s own autovacuum_freeze_max_age'
                else ', autovacuum_freeze_max_age' end,
           sc.worst_mxid_age, sc.mxid_limit,
           case when sc.used_pct >= 100
                then 'Autovacuum should already be freezing it (an aggressive anti-wraparound vacuum).'
                else 'Autovacuum will soon start an aggressive anti-wraparound vacuum of the whole table.' end,
           coalesce((select format(' A VACUUM is running on it now (pid %s, phase %s).', p.pid, p.phase)
                     from pg_catalog.pg_stat_progress_vacuum p where p.relid = sc.oid limit 1), '')) as detail,
    case when sc.used_pct >= 100
         then 'If no VACUUM is running on it (pg_stat_progress_vacuum), find what keeps autovacuum from finishing: '
              'a long-running or idle-in-transaction session, an abandoned replication slot or prepared '
              'transaction holding back the xmin horizon, or too few autovacuum workers; then freeze it yourself.'
         else 'Freeze it yourself at a quiet hour so the anti-wraparound vacuum does not arrive at a busy one: VACUUM '
              '(FREEZE) reads the whole table and takes only a SHARE UPDATE EXCLUSIVE lock (reads and writes go on).'
    end as remediation,
    format('VACUUM (FREEZE, VERBOSE) %I.%I;', sc.nspname, sc.relname) as fix_sql,
    format('autovacuum_freeze_danger_%s_%s', sc.nspname, sc.relname) as cache_key
from scored sc
where sc.used_pct >= sc.min_pct
  -- past xid_age_warn the table is listed in xid_wraparound's one finding for the database, with the same VACUUM
  and sc.worst_xid_age < coalesce(nullif(current_setting('dba_admin.xid_age_warn', true), ''), '1000000000')::numeric
order by sc.used_pct desc, sc.nspname, sc.relname
/* dba_admin */
