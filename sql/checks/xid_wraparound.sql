-- check: xid_wraparound
-- category: MAINTENANCE
-- Finds: a database whose tables have gone too long without being frozen: the oldest unfrozen transaction ID
-- (relfrozenxid, of a table or its TOAST table) is older than dba_admin.xid_age_warn transactions (default
-- 1,000,000,000; ERROR from dba_admin.xid_age_error, default 1,600,000,000). One finding for the database (they
-- share one cause), its level from the oldest table, listing the 10 oldest tables and how many more are over the
-- limit; the fix freezes every one of them in one VACUUM statement, oldest first. PostgreSQL stops accepting
-- writes when any table reaches about 2,147,000,000.
-- Why it matters: anti-wraparound autovacuum normally freezes tables long before (autovacuum_freeze_max_age,
-- default 200 million); an age this high means it cannot keep up or is blocked (long transactions, an abandoned
-- replication slot or prepared transaction). PgHero's "transaction ID danger". pg_class is read once.
with limits as (
    select coalesce(nullif(current_setting('dba_admin.xid_age_warn', true), ''), '1000000000')::bigint as warn,
           coalesce(nullif(current_setting('dba_admin.xid_age_error', true), ''), '1600000000')::bigint as error
),
ages as (
    select c.oid, c.relnamespace, c.relname, c.reltoastrelid, c.relfrozenxid,
           pg_catalog.age(c.relfrozenxid) as own_age
    from pg_catalog.pg_class c
    where c.relkind in ('r', 'm', 't')
      and c.relpersistence <> 't'
),
tables as (
    -- a table's age is its own or its TOAST table's, whichever is older (VACUUM of the table does both)
    select n.nspname, a.relname, greatest(a.own_age, coalesce(t.own_age, 0)) as xid_age
    from ages a
    join pg_catalog.pg_namespace n on n.oid = a.relnamespace
    left join ages t on t.oid = a.reltoastrelid
    where n.nspname <> 'pg_toast'
),
old as (
    select t.*, row_number() over (order by t.xid_age desc, t.nspname, t.relname) as rank
    from tables t
    cross join limits l
    where t.xid_age >= l.warn
),
summary as (
    select count(*) as tables, max(o.xid_age) as worst,
           string_agg(format('%I.%I (%s)', o.nspname, o.relname, o.xid_age), ', ' order by o.rank)
               filter (where o.rank <= 10) as oldest,
           string_agg(format('    %I.%I', o.nspname, o.relname), E',\n' order by o.rank) as vacuum_list
    from old o
)
select
    'xid_wraparound' as name,
    'Transaction ID wraparound approaching' as title,
    case when s.worst >= l.error then 'ERROR' else 'WARN' end as level,
    'MAINTENANCE' as category,
    current_database()::text as object,
    format('Database %I has %s table(s) not frozen for more than %s transactions; the oldest has %s left before '
           'PostgreSQL must stop accepting writes to protect it (autovacuum_freeze_max_age is %s). Oldest (age in '
           'transactions): %s%s.', current_database(), s.tables, l.warn, 2146483647 - s.worst,
           current_setting('autovacuum_freeze_max_age'), s.oldest,
           case when s.tables > 10 then format(', and %s more', s.tables - 10) else '' end) as detail,
    'Freeze them now with VACUUM (FREEZE) (the fix lists every table over the limit, oldest first, in one statement; '
        'run it as their owner or a superuser, outside a transaction block), and find what holds autovacuum back: '
        'long-running or idle-in-transaction sessions, abandoned replication slots or prepared transactions '
        '(pg_prepared_xacts).' as remediation,
    format(E'VACUUM (FREEZE, VERBOSE)\n%s;', s.vacuum_list) as fix_sql,
    format('xid_wraparound_%s', current_database()) as cache_key
from summary s
cross join limits l
where s.tables > 0
/* dba_admin */
