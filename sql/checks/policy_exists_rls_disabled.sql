-- check: policy_exists_rls_disabled
-- category: SECURITY
-- Finds: tables that have RLS policies while row level security itself is disabled.
-- Why it matters: the policies are not enforced. Whoever wrote them believes the rows are protected; they are
-- not, every role with a table privilege sees every row. Supabase's splinter lint 0007.
select
    'policy_exists_rls_disabled' as name,
    'Policies exist but RLS is disabled' as title,
    'ERROR' as level,
    'SECURITY' as category,
    format('%s.%s', n.nspname, c.relname) as object,
    format('Table %I.%I has %s polic%s (%s) but row level security is disabled, so none of them is enforced.',
           n.nspname, c.relname, count(p.oid), case when count(p.oid) = 1 then 'y' else 'ies' end,
           string_agg(quote_ident(p.polname), ', ' order by p.polname)) as detail,
    'Enable row level security on the table so its policies take effect (check first that they allow what the '
        'application needs).' as remediation,
    format('ALTER TABLE %I.%I ENABLE ROW LEVEL SECURITY;', n.nspname, c.relname) as fix_sql,
    format('policy_exists_rls_disabled_%s_%s', n.nspname, c.relname) as cache_key
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
join pg_catalog.pg_policy p on p.polrelid = c.oid
where c.relkind in ('r', 'p')
  and not c.relrowsecurity
  and n.nspname not in (
      '_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_config', '_timescaledb_internal', 'auth', 'cron',
      'extensions', 'graphql', 'graphql_public', 'information_schema', 'net', 'pgmq', 'pgroonga', 'pgsodium',
      'pgsodium_masks', 'pgtle', 'pgbouncer', 'pg_catalog', 'realtime', 'repack', 'storage', 'supabase_functions',
      'supabase_migrations', 'tiger', 'topology', 'vault')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
group by n.nspname, c.relname
order by n.nspname, c.relname
/* dba_admin */
