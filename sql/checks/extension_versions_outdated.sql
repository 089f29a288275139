-- check: extension_versions_outdated
-- category: SECURITY
-- Finds: installed extensions whose version differs from the default version the server's extension files
-- offer (pg_available_extensions.default_version), when the installed version is one those files know.
-- Why it matters: extension updates carry security and bug fixes that only ALTER EXTENSION ... UPDATE brings in;
-- a new server package updates the library, not the SQL objects of the extension already installed. Supabase's
-- splinter lint 0022.
with outdated as materialized (
    -- one read of the extension control files, only for the extensions installed here
    select e.extname, e.extversion, a.default_version
    from pg_catalog.pg_extension e
    join pg_catalog.pg_available_extensions() as a (name, default_version, comment) on a.name = e.extname
    where a.default_version is not null
      and e.extversion <> a.default_version
),
paths as (
    -- the versions the server's update scripts know, from the installed one (none: a residue, e.g. of pg_upgrade)
    select o.extname, o.extversion, o.default_version, bool_or(p.target = o.default_version and p.path is not null)
               as updatable
    from outdated o
    cross join lateral pg_catalog.pg_extension_update_paths(o.extname) p
    where p.source = o.extversion
    group by o.extname, o.extversion, o.default_version
)
select
    'extension_versions_outdated' as name,
    'Extension not at its default version' as title,
    'WARN' as level,
    'SECURITY' as category,
    extname as object,
    format('Extension %I is at version %s; the server offers %s as its default%s.', extname, extversion,
           default_version, case when updatable then '' else ', but has no update path from the installed version' end)
        as detail,
    case when updatable
         then 'Update it (the fix below) after reading the extension''s release notes, in a quiet moment: the '
              'update takes locks on the extension''s objects. Test it on a copy first when the jump is large.'
         else 'No update script leads from the installed version to the default one (a newer version than the '
              'server''s files, or a gap): check the server''s extension package, or drop and recreate the '
              'extension if its objects can be rebuilt.' end as remediation,
    case when updatable then format('ALTER EXTENSION %I UPDATE;', extname) end as fix_sql,
    format('extension_versions_outdated_%s_%s', extname, extversion) as cache_key
from paths
order by extname
/* dba_admin */
