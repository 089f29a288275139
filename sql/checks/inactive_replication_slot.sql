-- check: inactive_replication_slot
-- category: MAINTENANCE
-- Finds: replication slots (physical, or logical ones of any database) with no consumer connected. ERROR when the
-- slot is already lost (invalidated), otherwise WARN.
-- Why it matters: a slot keeps every WAL segment its consumer has not confirmed and holds back vacuum (its
-- xmin / catalog_xmin); an abandoned slot fills the disk until the server stops. PgHero's "inactive replication
-- slots" (replication_slots where not active).
select
    'inactive_replication_slot' as name,
    'Inactive replication slot' as title,
    case when s.wal_status = 'lost' then 'ERROR' else 'WARN' end as level,
    'MAINTENANCE' as category,
    s.slot_name::text as object,
    format('%s replication slot %I%s is not in use (wal_status %s)%s.', initcap(s.slot_type), s.slot_name,
           case when s.database is not null then format(' (database %I, plugin %s)', s.database, s.plugin) else '' end,
           coalesce(s.wal_status, 'unknown'),
           case when s.restart_lsn is not null and not pg_catalog.pg_is_in_recovery()
                then format(' and retains %s of WAL',
                            pg_catalog.pg_size_pretty(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), s.restart_lsn)))
                else '' end) as detail,
    'If its consumer (a replica, a CDC tool, Supabase Realtime) is gone for good, drop the slot' ||
        case when s.slot_type = 'logical' then ' (logical slots are dropped from the database they belong to)' else '' end ||
        '; otherwise bring the consumer back. max_slot_wal_keep_size caps how much WAL a slot may hold.' as remediation,
    format('SELECT pg_drop_replication_slot(%L);', s.slot_name) as fix_sql,
    format('inactive_replication_slot_%s', s.slot_name) as cache_key
from pg_catalog.pg_replication_slots s
where not s.active
order by s.slot_name
/* dba_admin */
