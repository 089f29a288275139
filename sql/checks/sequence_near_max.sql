-- check: sequence_near_max
-- category: MAINTENANCE
-- Finds: sequences that have used at least dba_admin.sequence_used_pct percent (default 75; ERROR from 90) of
-- the range they can really hand out: the sequence's own maximum or the largest value the narrowest column it
-- feeds can hold (smallint 32767, integer 2147483647), whichever is smaller. So an integer id column fed by a
-- bigint sequence is measured against 2^31, not 2^63. Columns fed: serial and identity columns (the sequence is
-- owned by them) and columns whose DEFAULT calls nextval() on it.
-- Why it matters: when the sequence or the column reaches its maximum every INSERT fails ("nextval: reached
-- maximum value", or "integer out of range"), and widening a large integer column takes a table rewrite, so it
-- must be planned well ahead. PgHero's sequence_danger (measured against the column's type).
with seqs as not materialized (
    select c.oid as seq_oid, s.schemaname, s.sequencename, s.data_type::text as data_type, s.min_value, s.max_value,
           s.increment_by, s.last_value
    from pg_catalog.pg_sequences s
    join pg_catalog.pg_namespace n on n.nspname = s.schemaname
    join pg_catalog.pg_class c on c.relnamespace = n.oid and c.relname = s.sequencename
    where s.last_value is not null
),
deps as (
    -- one pass over pg_depend: owned sequences (serial 'a', identity 'i': sequence -> column) and column DEFAULTs
    -- that call nextval() on a sequence (pg_attrdef -> sequence; also a sequence created on its own)
    select case when d.classid = 'pg_catalog.pg_class'::regclass then d.objid else d.refobjid end as seq_oid,
           case when d.classid = 'pg_catalog.pg_class'::regclass then d.refobjid else ad.adrelid end as table_oid,
           case when d.classid = 'pg_catalog.pg_class'::regclass then d.refobjsubid else ad.adnum end as attnum,
           case when d.classid = 'pg_catalog.pg_class'::regclass then d.deptype else 'n' end as deptype
    from pg_catalog.pg_depend d
    left join pg_catalog.pg_attrdef ad on d.classid = 'pg_catalog.pg_attrdef'::regclass and ad.oid = d.objid
    where d.refclassid = 'pg_catalog.pg_class'::regclass
      and ((d.classid = 'pg_catalog.pg_class'::regclass and d.deptype in ('a', 'i') and d.refobjsubid > 0)
           -- a call of nextval(regclass) (function 1574) in the default; read without deparsing every default
           or (ad.oid is not null and ad.adbin::text like '%:funcid 1574 %'))
),
feeds as not materialized (
    select dp.seq_oid, tn.nspname as table_schema, t.relname as table_name, a.attname as column_name,
           a.attrelid, a.attnum, pg_catalog.format_type(a.atttypid, a.atttypmod) as column_type,
           bool_or(dp.deptype = 'i') as is_identity, bool_or(dp.deptype = 'a') as is_serial,
           case coalesce(nullif(ty.typbasetype, 0), a.atttypid)
                when 'pg_catalog.int2'::regtype then 32767::numeric
                when 'pg_catalog.int4'::regtype then 2147483647::numeric
                else 9223372036854775807::numeric end as type_max,
           case coalesce(nullif(ty.typbasetype, 0), a.atttypid)
                when 'pg_catalog.int2'::regtype then -32768::numeric
                when 'pg_catalog.int4'::regtype then -2147483648::numeric
                else -9223372036854775808::numeric end as type_min
    from deps dp
    join pg_catalog.pg_class sc on sc.oid = dp.seq_oid and sc.relkind = 'S'
    join pg_catalog.pg_class t on t.oid = dp.table_oid
    join pg_catalog.pg_namespace tn on tn.oid = t.relnamespace
    join pg_catalog.pg_attribute a on a.attrelid = dp.table_oid and a.attnum = dp.attnum and not a.attisdropped
    join pg_catalog.pg_type ty on ty.oid = a.atttypid
    where t.relpersistence <> 't'
    group by 1, 2, 3, 4, 5, 6, 7, 10, 11
),
-- integer foreign-key columns that point at a narrow fed column (they overflow as soon as the column is widened)
referrers as (
    select f.seq_oid,
           string_agg(format('%I.%I.%I (%s, constraint %I)', rn.nspname, r.relname, ra.attname,
                             pg_catalog.format_type(ra.atttypid, ra.atttypmod), con.conname), ', '
                      order by rn.nspname, r.relname, ra.attname) as columns
    from feeds f
    join pg_catalog.pg_constraint con on con.contype = 'f' and con.confrelid = f.attrelid
    cross join lateral unnest(con.conkey, con.confkey) as k(attnum, refnum)
    join pg_catalog.pg_class r on r.oid = con.conrelid
    join pg_catalog.pg_namespace rn on rn.oid = r.relnamespace
    join pg_catalog.pg_attribute ra on ra.attrelid = con.conrelid and ra.attnum = k.attnum
    where k.refnum = f.attnum and f.type_max < 9223372036854775807
      and ra.atttypid in ('pg_catalog.int2'::regtype, 'pg_catalog.int4'::regtype)
    group by f.seq_oid
),
measured as (
    select s.*,
           least(s.max_value, coalesce(min(f.type_max), s.max_value)) as top,
           greatest(s.min_value, coalesce(max(f.type_min), s.min_value)) as bottom,
           count(f.*) filter (where f.type_max < 9223372036854775807) as narrow_columns,
           bool_or(f.is_identity) filter (where f.type_max < 9223372036854775807) as narrow_identity,
           min(format('%I.%I', f.table_schema, f.table_name)) filter (where f.type_max < 9223372036854775807)
               as narrow_table,
           min(format('%I', f.column_name)) filter (where f.type_max < 9223372036854775807) as narrow_column,
           string_agg(format('%I.%I.%I (%s%s)', f.table_schema, f.table_name, f.column_name, f.column_type,
                             case when f.is_identity then ', identity' when f.is_serial then ', serial'
                                  else ', DEFAULT nextval()' end), ', '
                      order by f.table_schema, f.table_name, f.column_name)
               filter (where f.seq_oid is not null) as fed_columns,
           s.max_value < 9223372036854775807 as narrow_sequence,
           s.max_value = case s.data_type when 'smallint' then 32767 when 'integer' then 2147483647
                                          else 9223372036854775807 end as default_max
    from seqs s
    left join feeds f on f.seq_oid = s.seq_oid
    group by s.seq_oid, s.schemaname, s.sequencename, s.data_type, s.min_value, s.max_value, s.increment_by,
             s.last_value
),
scored as (
    select m.*, r.columns as referrers,
           case when m.increment_by > 0
                then 100.0 * (m.last_value - m.min_value)::numeric / nullif(m.top - m.min_value, 0)
                else 100.0 * (m.max_value - m.last_value)::numeric / nullif(m.max_value - m.bottom, 0) end as used_pct
    from measured m
    left join referrers r on r.seq_oid = m.seq_oid
)
select
    'sequence_near_max' as name,
    'Sequence near its maximum' as title,
    case when used_pct >= 90 then 'ERROR' else 'WARN' end as level,
    'MAINTENANCE' as category,
    format('%s.%s', schemaname, sequencename) as object,
    format('Sequence %I.%I (%s, maximum %s) is at %s of the %s it can reach: %s%% used%s%s.', schemaname, sequencename,
           data_type, case when increment_by > 0 then max_value else min_value end, last_value,
           case when increment_by < 0 then bottom else top end, round(used_pct, 2),
           case when fed_columns is not null then format('; it feeds %s', fed_columns) else '' end,
           case when increment_by > 0 and top < max_value
                then format('; the column type, not the sequence, is the limit (%s)', top) else '' end)
        || case when referrers is not null
                then format(' Foreign keys reference it from narrow columns: %s; widen them too.', referrers)
                else '' end as detail,
    case when increment_by < 0
         then 'Widen the sequence (and the column it feeds) to bigint before it runs out.'
         when narrow_columns = 0
         then 'Widen the sequence to bigint / remove its lower MAXVALUE.'
         when narrow_columns = 1 and narrow_identity and default_max
         then 'Widen the identity column to bigint (this also widens its sequence; it rewrites the table under an '
              'ACCESS EXCLUSIVE lock, so plan it).'
         when narrow_columns = 1 and not narrow_sequence
         then 'Widen the column to bigint: ALTER TABLE ... ALTER COLUMN ... TYPE bigint (rewrites the table and its '
              'indexes under an ACCESS EXCLUSIVE lock; plan it, or migrate through a new bigint column). The sequence '
              'is already bigint.'
         when narrow_columns = 1
         then 'Widen the column and then the sequence to bigint: ALTER TABLE ... ALTER COLUMN ... TYPE bigint (rewrites '
              'the table under an ACCESS EXCLUSIVE lock; plan it, or migrate through a new column), then ALTER SEQUENCE ... '
              'AS bigint NO MAXVALUE.'
         else 'Several columns take their values from this sequence: widen each of them with ALTER TABLE ... ALTER '
              'COLUMN ... TYPE bigint (each rewrites its table under an ACCESS EXCLUSIVE lock; plan it), and the '
              'sequence with ALTER SEQUENCE ... AS bigint NO MAXVALUE if it is narrower.' end
        || case when referrers is not null then ' Widen the referencing foreign-key columns as well.' else '' end
        as remediation,
    case when increment_by < 0 then null
         when narrow_columns = 0 and data_type <> 'bigint'
         then format('ALTER SEQUENCE %I.%I AS bigint NO MAXVALUE;', schemaname, sequencename)
         when narrow_columns = 0 and narrow_sequence
         then format('ALTER SEQUENCE %I.%I NO MAXVALUE;', schemaname, sequencename)
         when narrow_columns = 1 and ((narrow_identity and default_max) or not narrow_sequence)
         then format('ALTER TABLE %s ALTER COLUMN %s TYPE bigint;', narrow_table, narrow_column)
    end as fix_sql,
    format('sequence_near_max_%s_%s', schemaname, sequencename) as cache_key
from scored
where used_pct >= coalesce(nullif(current_setting('dba_admin.sequence_used_pct', true), ''), '75')::numeric
order by used_pct desc, schemaname, sequencename
/* dba_admin */
