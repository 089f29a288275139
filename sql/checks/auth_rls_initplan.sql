-- check: auth_rls_initplan
-- category: PERFORMANCE
-- Finds: RLS policies that call auth.uid(), auth.jwt(), auth.role() or auth.email() directly, per row, instead
-- of wrapped as `(select auth.uid())`. A call inside a sub-query with a FROM clause (e.g. in EXISTS (...)) is
-- per row too; a call inside a FROM-less scalar sub-query is planned once per statement (an initplan).
-- Why it matters: the bare call is evaluated for every row the policy filters, which makes large scans hundreds
-- of times slower. Supabase's splinter lint 0003 (filed under performance, as splinter does; the issue lists it
-- with the RLS checks). The runner sets search_path = '' so the deparsed policies name the auth schema.
with recursive policies as (
    select p.oid, n.nspname, c.relname, p.polname,
           pg_catalog.pg_get_expr(p.polqual, p.polrelid) as qual,
           pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) as with_check
    from pg_catalog.pg_policy p
    join pg_catalog.pg_class c on c.oid = p.polrelid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where c.relrowsecurity
      and n.nspname not in (
          '_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_config', '_timescaledb_internal', 'auth', 'cron',
          'extensions', 'graphql', 'graphql_public', 'information_schema', 'net', 'pgmq', 'pgroonga', 'pgsodium',
          'pgsodium_masks', 'pgtle', 'pgbouncer', 'pg_catalog', 'realtime', 'repack', 'storage', 'supabase_functions',
          'supabase_migrations', 'tiger', 'topology', 'vault')
      and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
),
-- String literals blanked (their parentheses would confuse the scan), auth calls turned into a marker.
exprs as (
    select p.oid,
           regexp_replace(regexp_replace(e.expr, '''([^'']|'''')*''', '''''', 'g'),
                          'auth\.(uid|jwt|role|email)\(\)', '@AUTH@', 'g') as t
    from policies p
    cross join lateral (values (p.qual), (p.with_check)) as e(expr)
    where e.expr ~ 'auth\.(uid|jwt|role|email)\(\)'
),
-- Innermost parentheses first: a FROM-less SELECT group swallows its markers (evaluated once); any other group,
-- including a sub-query with FROM, keeps them. Repeat until no parenthesis is left.
reduced(oid, t, depth) as (
    select oid, t, 0 from exprs
    union all
    select oid,
           regexp_replace(
               regexp_replace(
                   regexp_replace(t, '\(\s*SELECT\M([^()]*\mFROM\M[^()]*)\)', '[ \1]', 'gi'),
                   '\(\s*SELECT\M[^()]*\)', '@SEL@', 'gi'),
               '\(([^()]*)\)', '[\1]', 'g'),
           depth + 1
    from reduced
    where t ~ '\(' and depth < 200
),
flagged as (
    select distinct oid from reduced where (t !~ '\(' or depth = 200) and t like '%@AUTH@%'
)
select
    'auth_rls_initplan' as name,
    'auth.<function>() re-evaluated per row in an RLS policy' as title,
    'WARN' as level,
    'PERFORMANCE' as category,
    format('%s.%s', p.nspname, p.relname) as object,
    format('Policy %I on %I.%I calls an auth.<function>() for every row it checks instead of once per statement.',
           p.polname, p.nspname, p.relname) as detail,
    'Wrap each call in a scalar sub-query: (select auth.uid()) instead of auth.uid(). PostgreSQL then evaluates it '
        'once per statement. See https://supabase.com/docs/guides/database/postgres/row-level-security#call-functions-with-select'
        as remediation,
    concat_ws(' ',
        format('ALTER POLICY %I ON %I.%I', p.polname, p.nspname, p.relname),
        'USING (' || regexp_replace(p.qual, '(?<!SELECT )auth\.(uid|jwt|role|email)\(\)', '(SELECT auth.\1())', 'g') || ')',
        'WITH CHECK (' || regexp_replace(p.with_check, '(?<!SELECT )auth\.(uid|jwt|role|email)\(\)', '(SELECT auth.\1())', 'g') || ')'
    ) || ';' as fix_sql,
    format('auth_rls_initplan_%s_%s_%s', p.nspname, p.relname, p.polname) as cache_key
from policies p
join flagged f on f.oid = p.oid
order by p.nspname, p.relname, p.polname
/* dba_admin */
