-- check: rls_disabled_in_exposed_schema
-- category: SECURITY
-- Finds: tables in an exposed schema (detected per connection, e.g. `public` on Supabase, or EXPOSED_SCHEMAS; passed
-- as dba_admin.exposed_schemas, where '' means no schema is exposed) on which row level security is not enabled.
-- Why it matters: without RLS every row is readable (and, with the usual grants, writable) by anyone holding the
-- project's public anon key. Supabase's splinter lint 0013.
with exposed as (
    select btrim(s) as nspname
    from unnest(string_to_array(coalesce(current_setting('dba_admin.exposed_schemas', true), 'public'), ',')) as s
    where btrim(s) <> ''
)
select
    'rls_disabled_in_exposed_schema' as name,
    'RLS disabled in an exposed schema' as title,
    'ERROR' as level,
    'SECURITY' as category,
    format('%s.%s', n.nspname, c.relname) as object,
    format('Table %I.%I is in the exposed schema %I but row level security is not enabled: every row is visible '
           'to anyone who may select from it through the API.', n.nspname, c.relname, n.nspname) as detail,
    'Enable row level security and write policies for the roles that need access (anon, authenticated). The fix '
        'enables it and adds an explicit deny-all policy, so the table is closed on purpose rather than by a '
        'forgotten policy: only the owner and BYPASSRLS roles (service_role) see rows until you add policies that '
        'grant access; then drop the deny-all one (it grants nothing and costs nothing meanwhile).' as remediation,
    format(E'ALTER TABLE %1$I.%2$I ENABLE ROW LEVEL SECURITY;\n'
           'CREATE POLICY "deny API access until policies are written" ON %1$I.%2$I AS PERMISSIVE FOR ALL TO public '
           'USING (false) WITH CHECK (false);', n.nspname, c.relname) as fix_sql,
    format('rls_disabled_in_exposed_schema_%s_%s', n.nspname, c.relname) as cache_key
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
left join pg_catalog.pg_depend dep on dep.objid = c.oid and dep.classid = 'pg_catalog.pg_class'::regclass and dep.deptype = 'e'
where c.relkind in ('r', 'p')
  and not c.relrowsecurity
  and n.nspname in (select nspname from exposed)
  and dep.objid is null -- tables owned by an extension are the extension's business
order by n.nspname, c.relname
/* dba_admin */
