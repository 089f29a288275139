-- check: rls_references_user_metadata
-- category: SECURITY
-- Finds: RLS policies whose USING or WITH CHECK reads Supabase Auth's user_metadata: auth.jwt() -> 'user_metadata'
-- (or the request.jwt.claims setting it comes from), or auth.users.raw_user_meta_data, where it is stored.
-- Why it matters: user_metadata is set by the user (supabase.auth.updateUser({ data: { role: 'admin' } })), with no
-- validation, so a policy that trusts it lets any signed-in user grant themselves access. Claims the user cannot
-- change live in app_metadata. Supabase's splinter lint 0015.
with policies as materialized (
    -- one read of pg_policy, each expression deparsed once (materialized: not once per test below); search_path
    -- is '' so the text names auth.jwt() with its schema
    select p.polrelid, p.polname,
           coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), '') as qual,
           coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), '') as with_check
    from pg_catalog.pg_policy p
),
judged as (
    select polrelid, polname,
           array_remove(array[
               case when (qual like '%user\_metadata%'
                          and (qual like '%auth.jwt()%' or qual like '%request.jwt.claim%'))
                         or qual like '%raw\_user\_meta\_data%' then 'USING' end,
               case when (with_check like '%user\_metadata%'
                          and (with_check like '%auth.jwt()%' or with_check like '%request.jwt.claim%'))
                         or with_check like '%raw\_user\_meta\_data%' then 'WITH CHECK' end], null) as clauses
    from policies
)
select
    'rls_references_user_metadata' as name,
    'RLS policy trusts user_metadata' as title,
    'ERROR' as level,
    'SECURITY' as category,
    format('%s.%s', n.nspname, c.relname) as object,
    format('Policy %I on %I.%I reads user_metadata in its %s. Any signed-in user can set user_metadata to any value, '
           'so this policy can be satisfied at will.', j.polname, n.nspname, c.relname,
           array_to_string(j.clauses, ' and ')) as detail,
    'Base the policy on data the user cannot edit: app_metadata (auth.jwt() -> ''app_metadata'', set only with the '
        'service role), or a table of your own (roles, memberships) joined on (select auth.uid()). Then ALTER POLICY '
        '... USING (...) / WITH CHECK (...) with the new expression.' as remediation,
    null::text as fix_sql,
    format('rls_references_user_metadata_%s_%s_%s', n.nspname, c.relname, j.polname) as cache_key
from judged j
join pg_catalog.pg_class c on c.oid = j.polrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where cardinality(j.clauses) > 0
  and n.nspname not in (
      '_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_config', '_timescaledb_internal', 'auth', 'cron',
      'extensions', 'graphql', 'graphql_public', 'information_schema', 'net', 'pgmq', 'pgroonga', 'pgsodium',
      'pgsodium_masks', 'pgtle', 'pgbouncer', 'pg_catalog', 'repack', 'supabase_functions', 'supabase_migrations',
      'tiger', 'topology', 'vault')
  -- storage and realtime stay in: their policies (storage.objects, realtime.messages) are the project's own
order by n.nspname, c.relname, j.polname
/* dba_admin */
