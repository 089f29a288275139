-- check: unindexed_foreign_keys
-- category: PERFORMANCE
-- Finds: foreign keys whose columns are not the leading columns (in any order) of a valid, non-partial index on
-- the referencing table.
-- Why it matters: every DELETE or key UPDATE on the referenced table must find the referencing rows; without an
-- index that is a sequential scan of the referencing table per row, and joins along the key cannot use an index.
-- Supabase's splinter lint 0001.
with fks as (
    select ct.conname, ct.conrelid, ct.confrelid, ct.conkey, n.nspname, c.relname, c.relkind
    from pg_catalog.pg_constraint ct
    join pg_catalog.pg_class c on c.oid = ct.conrelid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    left join pg_catalog.pg_depend dep on dep.objid = c.oid and dep.classid = 'pg_catalog.pg_class'::regclass and dep.deptype = 'e'
    where ct.contype = 'f'
      and ct.conparentid = 0
      and dep.objid is null
      and n.nspname not in (
          '_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_config', '_timescaledb_internal', 'auth', 'cron',
          'extensions', 'graphql', 'graphql_public', 'information_schema', 'net', 'pgmq', 'pgroonga', 'pgsodium',
          'pgsodium_masks', 'pgtle', 'pgbouncer', 'pg_catalog', 'realtime', 'repack', 'storage', 'supabase_functions',
          'supabase_migrations', 'tiger', 'topology', 'vault')
      and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
),
uncovered as (
    select fk.*,
           (select string_agg(quote_ident(a.attname), ', ' order by k.ord)
            from unnest(fk.conkey) with ordinality as k(attnum, ord)
            join pg_catalog.pg_attribute a on a.attrelid = fk.conrelid and a.attnum = k.attnum) as columns
    from fks fk
    where not exists (
        select 1
        from pg_catalog.pg_index i
        where i.indrelid = fk.conrelid
          and i.indisvalid
          and i.indpred is null
          and (select array_agg(k order by k) from unnest(fk.conkey) k)
              = (select array_agg(k order by k)
                 from unnest((string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(fk.conkey)]) k)
    )
)
select
    'unindexed_foreign_keys' as name,
    'Foreign key without a covering index' as title,
    'INFO' as level,
    'PERFORMANCE' as category,
    format('%s.%s', nspname, relname) as object,
    format('Foreign key %I on %I.%I (%s) referencing %s has no index that starts with its columns.',
           conname, nspname, relname, columns, confrelid::regclass) as detail,
    'Create an index on the foreign key columns (CONCURRENTLY, so writes are not blocked while it builds).' as remediation,
    format('CREATE INDEX %sON %I.%I (%s);', case when relkind = 'p' then '' else 'CONCURRENTLY ' end,
           nspname, relname, columns) as fix_sql,
    format('unindexed_foreign_keys_%s_%s_%s', nspname, relname, conname) as cache_key
from uncovered
order by nspname, relname, conname
/* dba_admin */
