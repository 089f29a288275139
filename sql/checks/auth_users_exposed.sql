-- check: auth_users_exposed
-- category: SECURITY
-- Finds: views and materialized views in an exposed schema (dba_admin.exposed_schemas) that read auth.users
-- directly and that anon or authenticated can select from (SELECT on it and USAGE on its schema), when that read is
-- not held back by row level security: a materialized view (RLS never applies), a view that runs as its owner (no
-- security_invoker), or a security_invoker view while auth.users itself has RLS off.
-- Why it matters: auth.users holds every user's e-mail, phone, sign-in data and metadata; through such a view
-- anyone with the project's public API key reads all of it. Supabase's splinter lint 0002.
with exposed as (
    select btrim(s) as nspname
    from unnest(string_to_array(coalesce(current_setting('dba_admin.exposed_schemas', true), 'public'), ',')) as s
    where btrim(s) <> ''
),
api_roles as (
    select oid, rolname from pg_catalog.pg_roles where rolname in ('anon', 'authenticated')
),
auth_users as (
    -- a catalog lookup, not to_regclass: no error when the schema is missing or not ours to use
    select c.oid, c.relrowsecurity
    from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'auth' and c.relname = 'users' and c.relkind in ('r', 'p')
),
readers as (
    -- the views whose query names auth.users: one read of pg_depend, by the referenced object (indexed)
    select distinct r.ev_class as view_oid, u.relrowsecurity as users_rls
    from auth_users u
    join pg_catalog.pg_depend d
      on d.refclassid = 'pg_catalog.pg_class'::regclass and d.refobjid = u.oid
     and d.classid = 'pg_catalog.pg_rewrite'::regclass and d.deptype = 'n'
    join pg_catalog.pg_rewrite r on r.oid = d.objid
),
hits as (
    select n.nspname, c.relname, c.relkind, c.relacl,
           (lower(coalesce(c.reloptions::text, '{}'))::text[]
               && array['security_invoker=1', 'security_invoker=true', 'security_invoker=yes', 'security_invoker=on'])
               as invoker,
           x.users_rls,
           (select string_agg(a.rolname, ', ' order by a.rolname) from api_roles a
             where pg_catalog.has_table_privilege(a.oid, c.oid, 'SELECT')
               and pg_catalog.has_schema_privilege(a.oid, n.oid, 'USAGE')) as roles
    from readers x
    join pg_catalog.pg_class c on c.oid = x.view_oid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('v', 'm')
      and n.nspname in (select nspname from exposed)
)
select
    'auth_users_exposed' as name,
    'auth.users exposed through a view' as title,
    'ERROR' as level,
    'SECURITY' as category,
    format('%s.%s', nspname, relname) as object,
    format('%s %I.%I reads auth.users and is selectable by %s through the API; %s.',
           case relkind when 'm' then 'Materialized view' else 'View' end, nspname, relname, roles,
           case when relkind = 'm'
                then 'row level security never applies to a materialized view, so every user''s e-mail, phone and '
                     'metadata can be read with the public API key'
                when not invoker
                then 'the view runs with its owner''s rights, so no RLS policy of auth.users applies and every '
                     'user''s e-mail, phone and metadata can be read with the public API key'
                else 'it is security_invoker, but auth.users has row level security disabled, so nothing limits '
                     'the rows it returns to the caller''s own' end) as detail,
    'Take it out of the API: revoke SELECT on it from anon and authenticated (the fix below; grant it back to the '
        'server-side roles that need it), or move it to a schema the API does not serve. To give users profile '
        'data, keep a public.profiles table filled by a trigger on auth.users, with RLS policies; or use a '
        'security_invoker view and enable RLS with a per-user policy on auth.users.' as remediation,
    format('REVOKE SELECT ON %I.%I FROM %s;', nspname, relname,
           -- PUBLIC too when the grant is to PUBLIC: otherwise anon keeps it and the revoke changes nothing
           concat_ws(', ',
               case when exists (select 1 from pg_catalog.aclexplode(relacl) e
                                 where e.grantee = 0 and e.privilege_type = 'SELECT') then 'PUBLIC' end,
               (select string_agg(quote_ident(rolname), ', ' order by rolname) from api_roles))) as fix_sql,
    format('auth_users_exposed_%s_%s', nspname, relname) as cache_key
from hits
where roles is not null
  and (relkind = 'm' or not invoker or not users_rls)
order by nspname, relname
/* dba_admin */
