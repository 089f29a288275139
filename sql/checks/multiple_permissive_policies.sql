-- check: multiple_permissive_policies
-- category: PERFORMANCE
-- Finds: tables with more than one permissive RLS policy for the same role and the same action (SELECT, INSERT,
-- UPDATE, DELETE; a FOR ALL policy counts for each, a policy TO PUBLIC for every role). One finding per table,
-- listing each role and action with its overlapping policies. Roles with BYPASSRLS and pg_* roles are ignored,
-- and so are role memberships (a policy TO a group role is counted for that role only), and policies that are
-- the constant false (they grant nothing and cost nothing).
-- Why it matters: permissive policies are OR-ed, so PostgreSQL evaluates every one of them for each row it reads
-- or writes; two or three per action multiply the cost of every query on the table, and the union is also harder
-- to reason about (access can end up broader than any single policy says). Supabase's splinter lint 0006.
with role_names as (
    -- the roles policies are evaluated for (BYPASSRLS roles skip them)
    select oid, rolname from pg_catalog.pg_roles
    where not rolbypassrls and rolname !~ '^pg_' and rolname !~ '^supabase.*admin$'
),
per_role as (
    -- one read of pg_policy: per table and role it names (0 = PUBLIC), its permissive policies for each action (a
    -- FOR ALL policy counts for each). A policy TO PUBLIC names no other role (PostgreSQL drops them).
    select p.polrelid, pr.role_oid,
           coalesce(array_agg(p.polname) filter (where p.polcmd in ('r', '*')), '{}') as sel,
           coalesce(array_agg(p.polname) filter (where p.polcmd in ('a', '*')), '{}') as ins,
           coalesce(array_agg(p.polname) filter (where p.polcmd in ('w', '*')), '{}') as upd,
           coalesce(array_agg(p.polname) filter (where p.polcmd in ('d', '*')), '{}') as del
    from pg_catalog.pg_policy p
    cross join lateral unnest(p.polroles) as pr(role_oid)
    where p.polpermissive
      -- a policy whose every expression is the constant false grants nothing and is folded away by the planner:
      -- it marks a table closed on purpose (the fix of rls_disabled_in_exposed_schema), not a cost
      and not (coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), 'false') = 'false'
               and coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), 'false') = 'false')
    group by p.polrelid, pr.role_oid
),
combined as (
    -- what applies to a named role is its own policies plus PUBLIC's; PUBLIC's alone stand for the other roles
    select g.polrelid, r.rolname, g.sel || coalesce(pub.sel, '{}') as sel, g.ins || coalesce(pub.ins, '{}') as ins,
           g.upd || coalesce(pub.upd, '{}') as upd, g.del || coalesce(pub.del, '{}') as del
    from per_role g
    join role_names r on r.oid = g.role_oid
    left join per_role pub on pub.polrelid = g.polrelid and pub.role_oid = 0
    union all
    select polrelid, null, sel, ins, upd, del from per_role where role_oid = 0
),
overlapping as (
    select c.polrelid, c.rolname, x.ord, x.cmd, x.policies
    from combined c
    cross join lateral (values (1, 'SELECT', c.sel), (2, 'INSERT', c.ins), (3, 'UPDATE', c.upd),
                               (4, 'DELETE', c.del)) as x(ord, cmd, policies)
    where cardinality(x.policies) > 1
),
per_table as materialized (
    select polrelid,
           string_agg(format('%s for %s: %s', cmd, coalesce(quote_ident(rolname), 'PUBLIC'),
                             array_to_string(array(select quote_ident(x) from unnest(policies) x order by x), ', ')),
                      '; ' order by ord, coalesce(rolname, '')) as groups
    from overlapping
    group by polrelid
)
select
    'multiple_permissive_policies' as name,
    'Multiple permissive policies for the same role and action' as title,
    'WARN' as level,
    'PERFORMANCE' as category,
    format('%s.%s', n.nspname, c.relname) as object,
    format('Table %I.%I has several permissive policies for the same role and action, all evaluated for every '
           'row: %s.', n.nspname, c.relname, t.groups) as detail,
    'Merge the policies of each role and action into one permissive policy whose USING / WITH CHECK is the OR of '
        'theirs (write the auth.*() calls as (select auth.uid()) so they run once per query), then drop the old '
        'ones. If a policy is meant to narrow access, make it AS RESTRICTIVE instead. Several policies are '
        'acceptable when merging makes them unreadable: then mute this finding.' as remediation,
    null::text as fix_sql,
    format('multiple_permissive_policies_%s_%s', n.nspname, c.relname) as cache_key
from per_table t
join pg_catalog.pg_class c on c.oid = t.polrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
left join pg_catalog.pg_depend dep on dep.objid = c.oid and dep.classid = 'pg_catalog.pg_class'::regclass and dep.deptype = 'e'
where c.relkind in ('r', 'p')
  and dep.objid is null -- tables owned by an extension are the extension's business
  and n.nspname not in (
      '_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_config', '_timescaledb_internal', 'auth', 'cron',
      'extensions', 'graphql', 'graphql_public', 'information_schema', 'net', 'pgmq', 'pgroonga', 'pgsodium',
      'pgsodium_masks', 'pgtle', 'pgbouncer', 'pg_catalog', 'realtime', 'repack', 'storage', 'supabase_functions',
      'supabase_migrations', 'tiger', 'topology', 'vault')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
order by n.nspname, c.relname
/* dba_admin */
