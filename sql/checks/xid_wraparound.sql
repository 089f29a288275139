-- check: xid_wraparound
-- category: MAINTENANCE
-- Finds: tables whose oldest unfrozen transaction ID (relfrozenxid, of the table or its TOAST table) is older
-- than dba_admin.xid_age_warn transactions (default 1,000,000,000; ERROR from dba_admin.xid_age_error, default
-- 1,600,000,000). PostgreSQL stops accepting writes when any table reaches about 2,147,000,000.
-- Why it matters: anti-wraparound autovacuum normally freezes tables long before (autovacuum_freeze_max_age,
-- default 200 million); an age this high means it cannot keep up or is blocked (long transactions, an abandoned
-- replication slot or prepared transaction). PgHero's "transaction ID danger".
with ages as (
    select n.nspname, c.relname,
           greatest(age(c.relfrozenxid), coalesce(age(t.relfrozenxid), 0)) as xid_age
    from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    left join pg_catalog.pg_class t on t.oid = c.reltoastrelid
    where c.relkind in ('r', 'm')
      and c.relpersistence <> 't'
),
limits as (
    select coalesce(nullif(current_setting('dba_admin.xid_age_warn', true), ''), '1000000000')::bigint as warn,
           coalesce(nullif(current_setting('dba_admin.xid_age_error', true), ''), '1600000000')::bigint as error
)
select
    'xid_wraparound' as name,
    'Transaction ID wraparound approaching' as title,
    case when a.xid_age >= l.error then 'ERROR' else 'WARN' end as level,
    'MAINTENANCE' as category,
    format('%s.%s', a.nspname, a.relname) as object,
    format('Table %I.%I has not been frozen for %s transactions; %s remain before PostgreSQL must stop accepting '
           'writes to protect it (autovacuum_freeze_max_age is %s).', a.nspname, a.relname, a.xid_age,
           2146483647 - a.xid_age, current_setting('autovacuum_freeze_max_age')) as detail,
    'Freeze the table now with VACUUM (FREEZE), and find what holds autovacuum back: long-running or idle-in-'
        'transaction sessions, abandoned replication slots or prepared transactions (pg_prepared_xacts).' as remediation,
    format('VACUUM (FREEZE, VERBOSE) %I.%I;', a.nspname, a.relname) as fix_sql,
    format('xid_wraparound_%s_%s', a.nspname, a.relname) as cache_key
from ages a
cross join limits l
where a.xid_age >= l.warn
order by a.xid_age desc, a.nspname, a.relname
/* dba_admin */
