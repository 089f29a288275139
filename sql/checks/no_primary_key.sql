-- check: no_primary_key
-- category: PERFORMANCE
-- Finds: tables (not partitions, outside the system and Supabase schemas) without a primary key.
-- Why it matters: rows cannot be addressed reliably (editing tools, ORMs, the Table Editor), logical replication
-- cannot replicate UPDATE/DELETE, and duplicates creep in. Supabase's splinter lint 0004.
-- When the table already has a unique index on NOT NULL columns, that index can become the primary key at no cost.
with candidates as (
    select c.oid, n.nspname, c.relname, c.relkind
    from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    left join pg_catalog.pg_depend dep on dep.objid = c.oid and dep.classid = 'pg_catalog.pg_class'::regclass and dep.deptype = 'e'
    where c.relkind in ('r', 'p')
      and not c.relispartition
      and dep.objid is null
      and not exists (select 1 from pg_catalog.pg_constraint ct where ct.conrelid = c.oid and ct.contype = 'p')
      and n.nspname not in (
          '_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_config', '_timescaledb_internal', 'auth', 'cron',
          'extensions', 'graphql', 'graphql_public', 'information_schema', 'net', 'pgmq', 'pgroonga', 'pgsodium',
          'pgsodium_masks', 'pgtle', 'pgbouncer', 'pg_catalog', 'realtime', 'repack', 'storage', 'supabase_functions',
          'supabase_migrations', 'tiger', 'topology', 'vault')
      and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
)
select
    'no_primary_key' as name,
    'Table without a primary key' as title,
    'INFO' as level,
    'PERFORMANCE' as category,
    format('%s.%s', c.nspname, c.relname) as object,
    format('Table %I.%I has no primary key%s.', c.nspname, c.relname,
           case when u.index_name is not null then format('; its unique index %I on NOT NULL columns can become one', u.index_name)
                else '' end) as detail,
    case when u.index_name is not null
         then 'Promote the existing unique index to the primary key (no rebuild).'
         else 'Add a primary key: an existing unique, NOT NULL column set, or a new identity column '
              '(ALTER TABLE ... ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY; this rewrites the table).' end
        as remediation,
    case when u.index_name is not null
         then format('ALTER TABLE %I.%I ADD PRIMARY KEY USING INDEX %I;', c.nspname, c.relname, u.index_name) end as fix_sql,
    format('no_primary_key_%s_%s', c.nspname, c.relname) as cache_key
from candidates c
left join lateral (
    select ic.relname as index_name
    from pg_catalog.pg_index i
    join pg_catalog.pg_class ic on ic.oid = i.indexrelid
    where i.indrelid = c.oid
      and c.relkind = 'r'
      and i.indisunique and i.indisvalid and i.indimmediate
      and i.indpred is null and i.indexprs is null
      and i.indnatts = i.indnkeyatts
      and ic.relam = (select oid from pg_catalog.pg_am where amname = 'btree')
      and not exists (
          select 1 from unnest(string_to_array(i.indkey::text, ' ')::int2[]) k
          join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum = k
          where not a.attnotnull)
      and not exists (select 1 from pg_catalog.pg_constraint ct where ct.conindid = i.indexrelid)
    order by i.indnatts, ic.relname
    limit 1
) u on true
order by c.nspname, c.relname
/* dba_admin */
