-- check: duplicate_index
-- category: PERFORMANCE
-- Finds: indexes made redundant by another index on the same table: an exact duplicate (same columns, operator
-- classes, collations, expressions, predicate and uniqueness), or a non-unique btree index whose columns are the
-- leading columns of another btree index with the same predicate (prefix-covered). An index that enforces a
-- constraint is never the one reported.
-- Why it matters: the redundant index costs every write and its disk and cache, and the other index serves the
-- same queries. PgHero's "duplicate indexes"; Supabase's splinter lint 0009.
with idx as (
    select i.indexrelid, i.indrelid, n.nspname, ic.relname as index_name, tc.relname as table_name, ic.relam,
           string_to_array(i.indkey::text, ' ')::int2[] as keys,
           string_to_array(i.indclass::text, ' ')::oid[] as classes,
           string_to_array(i.indcollation::text, ' ')::oid[] as colls,
           i.indnatts, i.indnkeyatts, i.indisunique,
           pg_catalog.pg_get_expr(i.indexprs, i.indrelid) as exprs,
           pg_catalog.pg_get_expr(i.indpred, i.indrelid) as pred,
           exists (select 1 from pg_catalog.pg_constraint ct where ct.conindid = i.indexrelid) as backs_constraint,
           exists (select 1 from pg_catalog.pg_inherits inh where inh.inhrelid = i.indexrelid) as is_partition_index
    from pg_catalog.pg_index i
    join pg_catalog.pg_class ic on ic.oid = i.indexrelid
    join pg_catalog.pg_class tc on tc.oid = i.indrelid
    join pg_catalog.pg_namespace n on n.oid = tc.relnamespace
    where i.indisvalid
      and n.nspname not in (
          '_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_config', '_timescaledb_internal', 'auth', 'cron',
          'extensions', 'graphql', 'graphql_public', 'information_schema', 'net', 'pgmq', 'pgroonga', 'pgsodium',
          'pgsodium_masks', 'pgtle', 'pgbouncer', 'pg_catalog', 'realtime', 'repack', 'storage', 'supabase_functions',
          'supabase_migrations', 'tiger', 'topology', 'vault')
      and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
),
pairs as (
    select distinct on (a.indexrelid)
           a.nspname, a.table_name, a.index_name, b.index_name as covering_index,
           (a.keys = b.keys and a.indnkeyatts = b.indnkeyatts) as exact
    from idx a
    join idx b
      on b.indrelid = a.indrelid
     and b.indexrelid <> a.indexrelid
     and b.relam = a.relam
     and b.pred is not distinct from a.pred
    where not a.backs_constraint
      and not a.is_partition_index
      and (
          -- exact duplicate: report the newer one unless only the older can go
          (a.keys = b.keys and a.indnkeyatts = b.indnkeyatts and a.classes = b.classes and a.colls = b.colls
           and a.exprs is not distinct from b.exprs and a.indisunique = b.indisunique
           and (b.backs_constraint or a.indexrelid > b.indexrelid))
          or
          -- prefix-covered non-unique btree index without INCLUDE columns
          (a.relam = (select oid from pg_catalog.pg_am where amname = 'btree')
           and not a.indisunique and a.indnatts = a.indnkeyatts
           and a.exprs is null and b.exprs is null
           and cardinality(a.keys) <= b.indnkeyatts
           and a.keys = b.keys[1:cardinality(a.keys)]
           and a.classes = b.classes[1:cardinality(a.keys)]
           and a.colls = b.colls[1:cardinality(a.keys)]
           and (cardinality(a.keys) < cardinality(b.keys) or b.indisunique))
      )
    order by a.indexrelid, b.backs_constraint desc, b.indexrelid
)
select
    'duplicate_index' as name,
    case when exact then 'Duplicate index' else 'Index covered by another index' end as title,
    'WARN' as level,
    'PERFORMANCE' as category,
    format('%s.%s', nspname, index_name) as object,
    case when exact
         then format('Index %I.%I on %I is identical to %I.', nspname, index_name, table_name, covering_index)
         else format('Index %I.%I on %I is covered by %I, whose leading columns are the same.', nspname, index_name,
                     table_name, covering_index) end as detail,
    'Drop the redundant index; the other one serves the same lookups. DROP INDEX CONCURRENTLY does not block '
        'the table.' as remediation,
    format('DROP INDEX CONCURRENTLY %I.%I;', nspname, index_name) as fix_sql,
    format('duplicate_index_%s_%s', nspname, index_name) as cache_key
from pairs
order by nspname, table_name, index_name
/* dba_admin */
