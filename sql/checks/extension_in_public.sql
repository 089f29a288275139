-- check: extension_in_public
-- category: SECURITY
-- Finds: extensions installed in a schema an API exposes (dba_admin.exposed_schemas: `public` on Supabase).
-- Why it matters: the extension's functions, types and tables become part of the API surface and can clash with
-- or shadow application objects; Supabase installs extensions in the `extensions` schema for this reason.
-- Supabase's splinter lint 0014.
with exposed as (
    select btrim(s) as nspname
    from unnest(string_to_array(coalesce(current_setting('dba_admin.exposed_schemas', true), 'public'), ',')) as s
    where btrim(s) <> ''
)
select
    'extension_in_public' as name,
    'Extension in an exposed schema' as title,
    'WARN' as level,
    'SECURITY' as category,
    format('%s.%s', n.nspname, e.extname) as object,
    format('Extension %I is installed in the exposed schema %I, so its objects are reachable through the API.',
           e.extname, n.nspname) as detail,
    case when e.extrelocatable
         then 'Move it to the extensions schema (create that schema first if it does not exist).'
         else 'This extension cannot be moved: drop it and create it again WITH SCHEMA extensions (dependent objects '
              'must be recreated too).' end as remediation,
    case when e.extrelocatable and exists (select 1 from pg_catalog.pg_namespace where nspname = 'extensions')
         then format('ALTER EXTENSION %I SET SCHEMA extensions;', e.extname) end as fix_sql,
    format('extension_in_public_%s_%s', n.nspname, e.extname) as cache_key
from pg_catalog.pg_extension e
join pg_catalog.pg_namespace n on n.oid = e.extnamespace
where n.nspname in (select nspname from exposed)
  and e.extname <> 'plpgsql'
order by n.nspname, e.extname
/* dba_admin */
