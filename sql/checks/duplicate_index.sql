-- check: duplicate_index
-- category: PERFORMANCE
-- Finds: indexes made redundant by another index on the same table: an exact duplicate (same columns, operator
-- classes, collations, expressions, predicate and uniqueness), or a non-unique btree index whose columns are the
-- leading columns of another btree index with the same predicate (prefix-covered). An index that enforces a
-- constraint is never the one reported; the detail says when the reported index is never used either.
-- Why it matters: the redundant index costs every write and its disk and cache, and the other index serves the
-- same lookups (and every foreign key the dropped one covered). PgHero's "duplicate indexes"; Supabase's splinter
-- lint 0009.
-- One plan with unused_index, so that following both never drops an index twice or both indexes of a pair: the
-- CTEs up to `redundant` are the same text in both files (a test keeps them in step). An index reported here is
-- not reported by unused_index; an index in use whose cover is unused is not reported here (unused_index drops
-- the cover, and this one serves the lookups). Each catalog is read once: no per-index sub-query.
with settings as materialized (
    select coalesce(nullif(current_setting('dba_admin.unused_index_min_age_days', true), ''), '7')::numeric
               * interval '1 day' as min_age,
           coalesce(nullif(current_setting('dba_admin.unused_index_min_bytes', true), ''), '0')::bigint as min_bytes,
           current_setting('track_commit_timestamp') = 'on' as commit_ts
),
seen as materialized (
    -- "schema.index" -> when a snapshot of this connection listed it (the runner's evidence of age)
    select e.key as name, e.value::timestamptz as listed_at
    from jsonb_each_text(coalesce(nullif(current_setting('dba_admin.indexes_first_seen', true), ''), '{}')::jsonb) e
),
idx as materialized (
    -- every valid index outside the system schemas, pg_index / pg_class / pg_namespace read once
    select i.indexrelid, i.indrelid, n.nspname, ic.relname as index_name, tc.relname as table_name, ic.relam,
           (i.indkey::int2[])[0:] as keys, -- the vectors start at 0; a slice starts at 1
           (i.indclass::oid[])[0:] as classes,
           (i.indcollation::oid[])[0:] as colls,
           i.indnatts, i.indnkeyatts, i.indisunique, i.indisprimary, i.indisexclusion,
           pg_catalog.pg_get_expr(i.indexprs, i.indrelid) as exprs,
           pg_catalog.pg_get_expr(i.indpred, i.indrelid) as pred,
           ic.xmin as row_xmin, ic.relpages, tc.relkind as table_kind,
           i.indexrelid in (select ct.conindid from pg_catalog.pg_constraint ct where ct.conindid <> 0)
               as backs_constraint,
           i.indexrelid in (select inh.inhrelid from pg_catalog.pg_inherits inh) as is_partition_index,
           i.indrelid in (select d.objid from pg_catalog.pg_depend d
                          where d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass and d.deptype = 'e')
               as extension_table
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
unused as materialized (
    -- what unused_index drops unless something keeps it: never scanned, enforcing nothing, not the app's own, old
    -- enough (or of unknown age), big enough
    select e.*
    from (select x.indexrelid, x.indrelid, x.nspname, x.index_name, x.table_name, x.relpages,
                 s.min_age, s.commit_ts, c.changed_at, c.listed_at,
                 case when s.min_age <= interval '0' then 'old'
                      when c.changed_at is not null
                          then case when c.changed_at > now() - s.min_age then 'young' else 'old' end
                      when c.listed_at is not null and c.listed_at <= now() - s.min_age then 'old'
                      else 'unknown' end as age
          from idx x
          cross join settings s
          left join seen on seen.name = x.nspname || '.' || x.index_name
          cross join lateral (
              select case when s.commit_ts then pg_catalog.pg_xact_commit_timestamp(x.row_xmin) end as changed_at,
                     seen.listed_at) c
          where pg_catalog.pg_stat_get_numscans(x.indexrelid) = 0
            and not (x.indisunique or x.indisprimary or x.indisexclusion or x.backs_constraint
                     or x.is_partition_index or x.extension_table)
            and x.table_kind in ('r', 'm')
            and x.nspname not in ('dba_admin', 'dba_admin_api')
            and (s.min_bytes <= 0 or pg_catalog.pg_relation_size(x.indexrelid) >= s.min_bytes)) e
    where e.age <> 'young'
),
pairs as (
    -- (a, b): index a is redundant with index b; per a, the b to keep (one that stays if there is one)
    select distinct on (a.indexrelid)
           a.indexrelid, b.indexrelid as covering_oid,
           a.nspname, a.table_name, a.index_name, b.index_name as covering_index,
           (a.keys = b.keys and a.indnkeyatts = b.indnkeyatts) as exact,
           a.indexrelid in (select u.indexrelid from unused u) as a_unused,
           b.indexrelid in (select u.indexrelid from unused u) as b_unused
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
          (a.relam = 403 -- btree
           and not a.indisunique and a.indnatts = a.indnkeyatts
           and a.exprs is null and b.exprs is null
           and cardinality(a.keys) <= b.indnkeyatts
           and a.keys = b.keys[1:cardinality(a.keys)]
           and a.classes = b.classes[1:cardinality(a.keys)]
           and a.colls = b.colls[1:cardinality(a.keys)]
           and (cardinality(a.keys) < cardinality(b.keys) or b.indisunique))
      )
    order by a.indexrelid, b.backs_constraint desc, b.indexrelid in (select u.indexrelid from unused u),
             b.indexrelid
),
redundant as (
    -- what duplicate_index reports: not an index in use whose cover is unused (unused_index drops the cover, and
    -- this one stays)
    select p.*
    from pairs p
    where p.a_unused or not p.b_unused
)
select
    'duplicate_index' as name,
    case when r.exact then 'Duplicate index' else 'Index covered by another index' end as title,
    'WARN' as level,
    'PERFORMANCE' as category,
    format('%s.%s', r.nspname, r.index_name) as object,
    case when r.exact
         then format('Index %I.%I on %I is identical to %I', r.nspname, r.index_name, r.table_name, r.covering_index)
         else format('Index %I.%I on %I is covered by %I, whose leading columns are the same', r.nspname,
                     r.index_name, r.table_name, r.covering_index) end
        || case when pg_catalog.pg_stat_get_numscans(r.indexrelid) = 0
                then ', and it has not been used by any scan since statistics were reset.'
                else '.' end as detail,
    'Drop the redundant index; the other one serves the same lookups. DROP INDEX CONCURRENTLY does not block '
        'the table.' as remediation,
    format('DROP INDEX CONCURRENTLY %I.%I;', r.nspname, r.index_name) as fix_sql,
    format('duplicate_index_%s_%s', r.nspname, r.index_name) as cache_key
from redundant r
order by r.nspname, r.table_name, r.index_name
/* dba_admin */
