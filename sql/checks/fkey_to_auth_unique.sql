-- check: fkey_to_auth_unique
-- category: SECURITY
-- Finds: foreign keys of your tables (outside the auth schema) that reference a table of the auth schema through a
-- unique constraint or unique index that is not its primary key, e.g. REFERENCES auth.users (email).
-- Why it matters: Supabase Auth owns the auth schema and is removing those unique constraints; a foreign key that
-- depends on one makes Auth's migrations fail, which blocks its upgrades and security fixes. Referencing the
-- primary key (auth.users.id) is supported. Supabase's splinter lint 0021.
with auth_tables as (
    select c.oid
    from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'auth' and c.relkind in ('r', 'p')
),
fkeys as (
    -- one read of pg_constraint: the foreign keys into the auth schema
    select k.oid, k.conname, k.conrelid, k.confrelid, k.conindid
    from pg_catalog.pg_constraint k
    where k.contype = 'f'
      and k.confrelid in (select oid from auth_tables)
)
select
    'fkey_to_auth_unique' as name,
    'Foreign key to a non-primary unique key of the auth schema' as title,
    'ERROR' as level,
    'SECURITY' as category,
    format('%s.%s', n.nspname, c.relname) as object,
    format('Foreign key %I on %I.%I references %I.%I through its unique key %I, not its primary key (%s). '
           'Supabase Auth is dropping such unique constraints, and this foreign key would make its migrations fail.',
           f.conname, n.nspname, c.relname, rn.nspname, rc.relname, ix.relname,
           pg_catalog.pg_get_constraintdef(f.oid)) as detail,
    'Point the foreign key at the primary key instead: add a column for the user''s id (auth.users.id), fill it '
        'from the current reference, add a foreign key to auth.users (id) with the same ON DELETE action, then '
        'drop this constraint (ALTER TABLE ... DROP CONSTRAINT ...). Dropping it alone loses the referential check '
        'and any ON DELETE CASCADE, so no automatic fix is offered.' as remediation,
    null::text as fix_sql,
    format('fkey_to_auth_unique_%s_%s_%s', n.nspname, c.relname, f.conname) as cache_key
from fkeys f
join pg_catalog.pg_index i on i.indexrelid = f.conindid
join pg_catalog.pg_class ix on ix.oid = i.indexrelid
join pg_catalog.pg_class c on c.oid = f.conrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
join pg_catalog.pg_class rc on rc.oid = f.confrelid
join pg_catalog.pg_namespace rn on rn.oid = rc.relnamespace
where i.indisunique
  and not i.indisprimary
  and n.nspname <> 'auth'
order by n.nspname, c.relname, f.conname
/* dba_admin */
