-- check: unsupported_reg_types
-- category: SECURITY
-- Finds: columns of tables, materialized views and indexes whose type is one of the reg* types pg_upgrade refuses
-- (regcollation, regconfig, regdictionary, regnamespace, regoper, regoperator, regproc, regprocedure), directly or
-- inside an array, a domain, a composite type or a range, as pg_upgrade itself checks. regclass, regrole and
-- regtype are fine: pg_upgrade keeps their OIDs.
-- Why it matters: such a column stores an internal OID that pg_upgrade cannot carry over, so pg_upgrade stops
-- and the database cannot be upgraded to a new major version in place until the column is changed. Supabase's
-- splinter lint 0018 (WARN, filed under security like splinter: it blocks the upgrades that bring security fixes).
with recursive types as materialized (
    -- one read of pg_type
    select t.oid, t.typtype, t.typelem, t.typbasetype, t.typrelid, t.typname, t.typnamespace
    from pg_catalog.pg_type t
),
base as (
    select t.oid
    from types t
    where t.typnamespace = 'pg_catalog'::regnamespace
      and t.typname in ('regcollation', 'regconfig', 'regdictionary', 'regnamespace', 'regoper', 'regoperator',
                        'regproc', 'regprocedure')
),
candidates as (
    -- the only types that can be or hold one of them: those, their arrays, and domains, composites, ranges (and
    -- arrays of these); plain scalars and their arrays cannot, so their columns are never kept below
    select t.oid
    from types t
    where t.typtype in ('c', 'd', 'r')
       or t.oid in (select oid from base)
       or t.typelem in (select oid from base)
       or t.typelem in (select oid from types where typtype in ('c', 'd', 'r'))
),
columns as (
    -- one read of pg_attribute, keeping only the columns of a candidate type
    select a.attrelid, a.attname, a.atttypid, a.attnum
    from pg_catalog.pg_attribute a
    where a.attnum > 0
      and not a.attisdropped
      and a.atttypid in (select oid from candidates)
),
ranges as (
    select r.rngtypid, r.rngsubtype from pg_catalog.pg_range r
),
bad (oid) as (
    select oid from base
    union
    -- what contains one of them (pg_upgrade's own walk); each branch is a hash join, the working set is small
    select s.oid from (
        with x as (select oid from bad)
        select t.oid from types t join x on t.typbasetype = x.oid where t.typtype = 'd'
        union all
        select t.oid from types t join x on t.typelem = x.oid where t.typtype = 'b'
        union all
        select t.oid from types t join columns a on a.attrelid = t.typrelid join x on a.atttypid = x.oid
        where t.typtype = 'c'
        union all
        select r.rngtypid from ranges r join x on r.rngsubtype = x.oid
    ) s
)
select
    'unsupported_reg_types' as name,
    'Column type blocks pg_upgrade' as title,
    'WARN' as level,
    'SECURITY' as category,
    format('%s.%s.%s', n.nspname, c.relname, a.attname) as object,
    format('Column %I of %s %I.%I has type %s, which is or contains a reg* type whose values are internal OIDs '
           'pg_upgrade cannot carry over: an in-place major-version upgrade fails while it exists.', a.attname,
           case c.relkind when 'm' then 'materialized view' when 'i' then 'index' else 'table' end,
           n.nspname, c.relname, pg_catalog.format_type(a.atttypid, null)) as detail,
    'Store the object''s name instead (a text column holding its schema-qualified name, cast back with '
        '::regprocedure etc. when needed), or, for an index, drop it before the upgrade and recreate it after. '
        'Changing the type changes what the column compares and how it prints, so no automatic fix is offered.'
        as remediation,
    null::text as fix_sql,
    format('unsupported_reg_types_%s_%s_%s', n.nspname, c.relname, a.attname) as cache_key
from columns a
join pg_catalog.pg_class c on c.oid = a.attrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where a.atttypid in (select oid from bad)
  and c.relkind in ('r', 'm', 'i')
  and n.nspname not in ('pg_catalog', 'information_schema', 'pgsodium')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
order by n.nspname, c.relname, a.attnum
/* dba_admin */
