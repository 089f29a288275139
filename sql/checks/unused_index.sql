-- check: unused_index
-- category: PERFORMANCE
-- Finds: indexes never used by a scan since statistics were last reset (idx_scan = 0) that do not enforce anything
-- (not unique, not a primary key or exclusion constraint) and are valid, except:
--   * indexes duplicate_index reports (it gives the one action, DROP, and says when the index is unused too);
--   * the index a foreign key needs: when every index that covers a foreign key (its leading columns are the
--     key's columns, in any order: unindexed_foreign_keys' rule) would be dropped by this check or by
--     duplicate_index, the smallest one this check would drop stays, so following both never makes
--     unindexed_foreign_keys fire;
--   * indexes younger than dba_admin.unused_index_min_age_days (default 7): a new index has had no time to be used;
--   * indexes smaller than dba_admin.unused_index_min_bytes (default 0), of extension tables, of partitions (they go
--     with their parent's), and the app's own (schemas dba_admin, dba_admin_api).
-- Index age: PostgreSQL does not record when an index was created. The evidence, best first: the commit time of the
-- index's pg_class row (pg_xact_commit_timestamp(xmin): its creation or its last REINDEX / ALTER) when
-- track_commit_timestamp is on; else a snapshot of this connection at least that old that listed it (the runner
-- passes them in dba_admin.indexes_first_seen, a JSON object "schema.index" -> snapshot time); else the age is
-- unknown: the index is reported and the detail says so, and how to be sure.
-- Why it matters: every index slows every write to its table and takes disk and cache; one nobody reads is pure
-- cost. PgHero's "unused indexes"; Supabase's splinter lint 0005. Check on replicas too before dropping: usage is
-- counted per server.
-- One plan with duplicate_index: the CTEs up to `redundant` are the same text in both files (a test keeps them in
-- step). Each catalog is read once: no per-index sub-query.
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
),
fks as materialized (
    select ct.oid as conoid, ct.conrelid, ct.conkey
    from pg_catalog.pg_constraint ct
    where ct.contype = 'f' and ct.conparentid = 0
),
covers as (
    -- (foreign key, an index that covers it, would the two checks drop it, may this one keep it)
    select f.conoid, x.indexrelid, x.relpages,
           x.indexrelid in (select u.indexrelid from unused u)
               or x.indexrelid in (select r.indexrelid from redundant r) as dropped,
           x.indexrelid in (select u.indexrelid from unused u)
               and x.indexrelid not in (select r.indexrelid from redundant r) as keepable
    from fks f
    join idx x on x.indrelid = f.conrelid
    where x.pred is null
      -- the key's columns are the index's leading columns in any order (a key has no column twice)
      and x.keys[1:cardinality(f.conkey)] @> f.conkey
),
keepers as (
    -- a foreign key whose every covering index would be dropped keeps the smallest one this check would drop
    -- (there is one: the index a redundant one is covered by covers the key too, and is not redundant itself)
    select distinct on (t.conoid) t.indexrelid
    from (select cv.*, bool_and(cv.dropped) over (partition by cv.conoid) as all_dropped from covers cv) t
    where t.all_dropped and t.keepable
    order by t.conoid, t.relpages, t.indexrelid
)
select
    'unused_index' as name,
    'Unused index' as title,
    'INFO' as level,
    'PERFORMANCE' as category,
    format('%s.%s', c.nspname, c.index_name) as object,
    format('Index %I.%I on %I (%s) has not been used by any scan since statistics were reset%s.',
           c.nspname, c.index_name, c.table_name, pg_catalog.pg_size_pretty(c.bytes),
           coalesce(' on ' || (select to_char(d.stats_reset, 'YYYY-MM-DD') from pg_catalog.pg_stat_database d
                                where d.datname = current_database()), ''))
        || case
               when c.min_age <= interval '0' then ''
               when c.changed_at is not null
                   then format(' It was created (or last rebuilt or altered) on %s, by its commit timestamp.',
                               to_char(c.changed_at, 'YYYY-MM-DD'))
               when c.age = 'old'
                   then format(' A snapshot of this connection taken on %s already listed it.',
                               to_char(c.listed_at, 'YYYY-MM-DD'))
               else format(' Its age is unknown: PostgreSQL does not record when an index was created%s, and no '
                           'snapshot of this connection taken %s or more ago lists it (snapshots keep the biggest '
                           'indexes). A new index has had no time to be used: make sure this one is older than that '
                           '(your migrations), or turn track_commit_timestamp on, before dropping it.',
                           case when c.commit_ts then ' (its commit timestamp is no longer kept)'
                                else ' (track_commit_timestamp is off)' end,
                           c.min_age)
           end as detail,
    'Drop it if no query on this server or its replicas needs it (usage statistics are per server and start from '
        'the last stats reset). DROP INDEX CONCURRENTLY does not block the table.' as remediation,
    format('DROP INDEX CONCURRENTLY %I.%I;', c.nspname, c.index_name) as fix_sql,
    format('unused_index_%s_%s', c.nspname, c.index_name) as cache_key
from (select u.*, pg_catalog.pg_relation_size(u.indexrelid) as bytes
      from unused u
      where u.indexrelid not in (select r.indexrelid from redundant r)
        and u.indexrelid not in (select k.indexrelid from keepers k)) c
order by c.bytes desc, c.nspname, c.index_name
/* dba_admin */
