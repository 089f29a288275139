-- check: rls_policy_always_true
-- category: SECURITY
-- Finds: permissive RLS policies for INSERT, UPDATE, DELETE or ALL, applying to anon, authenticated or PUBLIC,
-- whose USING or WITH CHECK is always true (`true`, `1 = 1`, or a missing WITH CHECK on INSERT).
-- Why it matters: such a policy lets every API user write every row; RLS is on, but only for show.
-- SELECT policies with USING (true) are left alone: public read access is often deliberate.
-- Supabase's splinter lint 0024.
with policies as (
    select
        n.nspname as schema_name,
        c.relname as table_name,
        p.polname as policy_name,
        p.polroles,
        case p.polcmd when 'r' then 'SELECT' when 'a' then 'INSERT' when 'w' then 'UPDATE'
                      when 'd' then 'DELETE' else 'ALL' end as command,
        p.polqual is null as no_qual,
        p.polwithcheck is null as no_check,
        regexp_replace(lower(coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), '')), '\s', '', 'g') as qual,
        regexp_replace(lower(coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), '')), '\s', '', 'g') as with_check
    from pg_catalog.pg_policy p
    join pg_catalog.pg_class c on c.oid = p.polrelid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where p.polpermissive
      and c.relrowsecurity
      and p.polcmd <> 'r'
      and (
          0::oid = any (p.polroles)
          or exists (select 1 from pg_catalog.pg_roles r where r.oid = any (p.polroles) and r.rolname in ('anon', 'authenticated'))
      )
      and n.nspname not in (
          '_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_config', '_timescaledb_internal', 'auth', 'cron',
          'extensions', 'graphql', 'graphql_public', 'information_schema', 'net', 'pgmq', 'pgroonga', 'pgsodium',
          'pgsodium_masks', 'pgtle', 'pgbouncer', 'pg_catalog', 'realtime', 'repack', 'storage', 'supabase_functions',
          'supabase_migrations', 'tiger', 'topology', 'vault')
      and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
),
judged as (
    select *,
        (command in ('UPDATE', 'DELETE', 'ALL') and (qual in ('true', '(true)', '1=1', '(1=1)') or no_qual)) as open_using,
        (with_check in ('true', '(true)', '1=1', '(1=1)')
            or (no_check and command = 'INSERT')
            or (no_check and command in ('UPDATE', 'ALL') and (qual in ('true', '(true)', '1=1', '(1=1)') or no_qual))
        ) as open_check
    from policies
)
select
    'rls_policy_always_true' as name,
    'RLS policy always true for writes' as title,
    'WARN' as level,
    'SECURITY' as category,
    format('%s.%s', schema_name, table_name) as object,
    format('Policy %I on %I.%I for %s lets %s write any row: %s.', policy_name, schema_name, table_name, command,
           coalesce((select string_agg(case when r = 0 then 'PUBLIC' else r::regrole::text end, ', ') from unnest(polroles) r), '?'),
           case when open_using and open_check then 'both USING and WITH CHECK are always true'
                when open_using then 'its USING clause is always true'
                else 'its WITH CHECK clause is always true' end) as detail,
    'Replace the always-true expression with a condition on the row, usually its owner: e.g. '
        'USING (user_id = (select auth.uid())) WITH CHECK (user_id = (select auth.uid())). If every user really may '
        'write every row, mute this finding.' as remediation,
    null::text as fix_sql,
    format('rls_policy_always_true_%s_%s_%s', schema_name, table_name, policy_name) as cache_key
from judged
where open_using or open_check
order by schema_name, table_name, policy_name
/* dba_admin */
