-- check: sequence_near_max
-- category: MAINTENANCE
-- Finds: sequences that have used at least dba_admin.sequence_used_pct percent (default 75; ERROR from 90) of
-- their range, e.g. an integer serial/identity column past 1.6 billion.
-- Why it matters: when the sequence reaches its maximum every INSERT fails ("nextval: reached maximum value"),
-- and widening a large integer column takes a table rewrite, so it must be planned well ahead. PgHero's
-- "sequence danger".
with seqs as (
    select s.schemaname, s.sequencename, s.data_type::text as data_type, s.min_value, s.max_value, s.increment_by,
           s.last_value,
           case when s.increment_by > 0
                then 100.0 * (s.last_value - s.min_value)::numeric / nullif(s.max_value - s.min_value, 0)
                else 100.0 * (s.max_value - s.last_value)::numeric / nullif(s.max_value - s.min_value, 0) end as used_pct,
           c.oid as seq_oid
    from pg_catalog.pg_sequences s
    join pg_catalog.pg_namespace n on n.nspname = s.schemaname
    join pg_catalog.pg_class c on c.relnamespace = n.oid and c.relname = s.sequencename
    where s.last_value is not null
),
owned as (
    select s.*, tn.nspname as table_schema, t.relname as table_name, a.attname as column_name,
           a.atttypid::regtype::text as column_type, d.deptype
    from seqs s
    left join pg_catalog.pg_depend d
      on d.objid = s.seq_oid and d.classid = 'pg_catalog.pg_class'::regclass
     and d.refclassid = 'pg_catalog.pg_class'::regclass and d.deptype in ('a', 'i')
    left join pg_catalog.pg_class t on t.oid = d.refobjid
    left join pg_catalog.pg_namespace tn on tn.oid = t.relnamespace
    left join pg_catalog.pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
)
select
    'sequence_near_max' as name,
    'Sequence near its maximum' as title,
    case when used_pct >= 90 then 'ERROR' else 'WARN' end as level,
    'MAINTENANCE' as category,
    format('%s.%s', schemaname, sequencename) as object,
    format('Sequence %I.%I (%s) is at %s of %s: %s%% used%s.', schemaname, sequencename, data_type, last_value,
           case when increment_by > 0 then max_value else min_value end, round(used_pct, 2),
           case when table_name is not null
                then format('; it feeds %I.%I.%I (%s)', table_schema, table_name, column_name, column_type) else '' end)
        as detail,
    case when increment_by < 0
         then 'Widen the sequence (and the column it feeds) to bigint before it runs out.'
         when column_type in ('smallint', 'integer') and deptype = 'a'
         then 'Widen the column and then the sequence to bigint: ALTER TABLE ... ALTER COLUMN ... TYPE bigint (rewrites '
              'the table under an ACCESS EXCLUSIVE lock; plan it, or migrate through a new column), then ALTER SEQUENCE ... '
              'AS bigint NO MAXVALUE.'
         when column_type in ('smallint', 'integer')
         then 'Widen the identity column to bigint (this also widens its sequence; it rewrites the table under an '
              'ACCESS EXCLUSIVE lock, so plan it).'
         else 'Widen the sequence to bigint / remove its lower MAXVALUE.' end as remediation,
    case when increment_by < 0 then null
         when column_type in ('smallint', 'integer') and deptype = 'i'
         then format('ALTER TABLE %I.%I ALTER COLUMN %I TYPE bigint;', table_schema, table_name, column_name)
         when column_type in ('smallint', 'integer') then null
         when data_type <> 'bigint' then format('ALTER SEQUENCE %I.%I AS bigint NO MAXVALUE;', schemaname, sequencename)
         when max_value < 9223372036854775807 then format('ALTER SEQUENCE %I.%I NO MAXVALUE;', schemaname, sequencename)
    end as fix_sql,
    format('sequence_near_max_%s_%s', schemaname, sequencename) as cache_key
from owned
where used_pct >= coalesce(nullif(current_setting('dba_admin.sequence_used_pct', true), ''), '75')::numeric
order by used_pct desc, schemaname, sequencename
/* dba_admin */
