-- check: invalid_index
-- category: PERFORMANCE
-- Finds: invalid indexes (pg_index.indisvalid = false), typically left by a CREATE INDEX CONCURRENTLY or
-- REINDEX CONCURRENTLY that failed (a duplicate key, a deadlock, a cancelled statement).
-- Why it matters: the planner never uses an invalid index, yet (unless it was never ready) every write still
-- maintains it; a unique index that never became valid enforces nothing. PgHero's invalid_indexes.
select
    'invalid_index' as name,
    'Invalid index' as title,
    'WARN' as level,
    'PERFORMANCE' as category,
    format('%s.%s', n.nspname, ic.relname) as object,
    format('Index %I.%I on %I is invalid: queries do not use it%s.', n.nspname, ic.relname, tc.relname,
           case when i.indisready then ' but every write still updates it' else '' end) as detail,
    'Drop it, fix what made the build fail (e.g. duplicate keys for a unique index), then create it again with '
        'CREATE INDEX CONCURRENTLY; or rebuild it in place with REINDEX INDEX CONCURRENTLY.' as remediation,
    format('DROP INDEX %s%I.%I;', case when ic.relkind = 'I' then '' else 'CONCURRENTLY ' end, n.nspname, ic.relname) as fix_sql,
    format('invalid_index_%s_%s', n.nspname, ic.relname) as cache_key
from pg_catalog.pg_index i
join pg_catalog.pg_class ic on ic.oid = i.indexrelid
join pg_catalog.pg_class tc on tc.oid = i.indrelid
join pg_catalog.pg_namespace n on n.oid = ic.relnamespace
where not i.indisvalid
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
  and n.nspname not in ('pg_catalog', 'information_schema')
order by n.nspname, ic.relname
/* dba_admin */
