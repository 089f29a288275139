-- check: public_bucket_allows_listing
-- category: SECURITY
-- Finds: public Supabase Storage buckets (storage.buckets.public) for which a permissive SELECT (or ALL) policy on
-- storage.objects, for anon, authenticated or PUBLIC, lets clients list every file: a policy that is always true,
-- or whose whole condition is bucket_id = '<that bucket>'. Policies with further conditions (owner, path) are
-- left alone. Nothing is read when the storage schema does not exist. On Supabase, storage.buckets has RLS on:
-- the login running the checks must be allowed to see its rows (BYPASSRLS or a policy), or nothing is found.
-- Why it matters: files of a public bucket are served by URL without any policy; a broad SELECT policy adds the
-- listing API on top, so anyone can enumerate the bucket's files, often more than was meant to be found.
-- Supabase's splinter lint 0025.
with api_roles as (
    select array_agg(oid) || array[0::oid] as oids
    from pg_catalog.pg_roles where rolname in ('anon', 'authenticated')
),
storage_tables as (
    -- catalog lookups, not direct references: the check must parse and run without a storage schema
    select c.oid, c.relname,
           (select count(*) from pg_catalog.pg_attribute a
             where a.attrelid = c.oid and a.attname in ('id', 'name', 'public') and not a.attisdropped) as known_columns
    from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'storage' and c.relname in ('buckets', 'objects') and c.relkind in ('r', 'p')
),
raw as (
    -- storage.buckets is read through query_to_xml, so the statement names it only as text; hex keeps the JSON
    -- free of XML escapes. Only run when both tables exist and buckets has the expected columns.
    select pg_catalog.query_to_xml(
               'select pg_catalog.encode(pg_catalog.convert_to(coalesce(pg_catalog.jsonb_agg('
               'pg_catalog.jsonb_build_object(''id'', id::text, ''name'', name::text) order by id::text), '
               '''[]'')::text, ''UTF8''), ''hex'') as h from storage.buckets where "public" is true',
               false, true, '')::text as x
    where exists (select 1 from storage_tables where relname = 'buckets' and known_columns = 3)
      and exists (select 1 from storage_tables where relname = 'objects')
),
public_buckets as (
    select b ->> 'id' as bucket_id, b ->> 'name' as bucket_name
    from raw
    cross join lateral pg_catalog.jsonb_array_elements(
        pg_catalog.convert_from(pg_catalog.decode(substring(raw.x from '<h>([0-9a-f]*)</h>'), 'hex'), 'UTF8')::jsonb) b
),
policies as (
    -- one read of pg_policy, for storage.objects only
    select p.polname, p.polcmd,
           pg_catalog.pg_get_expr(p.polqual, p.polrelid) as qual
    from pg_catalog.pg_policy p
    where p.polrelid = (select oid from storage_tables where relname = 'objects')
      and p.polpermissive
      and p.polcmd in ('r', '*')
      and p.polroles && (select oids from api_roles)
),
judged as (
    select polname, polcmd,
           qual is null
               or regexp_replace(lower(qual), '\s', '', 'g') in ('true', '(true)', '1=1', '(1=1)') as always_true,
           replace((regexp_match(qual,
               $re$^\s*\(*\s*bucket_id\s*=\s*'((?:[^']|'')*)'(\s*::\s*[[:alnum:]_.]+)?\s*\)*\s*$$re$))[1], '''''', '''')
               as only_bucket
    from policies
),
matches as (
    select b.bucket_id, b.bucket_name, j.polname, j.polcmd, j.always_true
    from public_buckets b
    join judged j on j.always_true or j.only_bucket = b.bucket_id
)
select
    'public_bucket_allows_listing' as name,
    'Public bucket allows listing its files' as title,
    'WARN' as level,
    'SECURITY' as category,
    format('storage.buckets.%s', bucket_id) as object,
    format('Public bucket %s%s has %s broad SELECT %s on storage.objects (%s): any API client can list all of its '
           'files, although they are served by URL without any policy.', quote_literal(bucket_name),
           case when bucket_name is distinct from bucket_id then format(' (id %s)', quote_literal(bucket_id)) else '' end,
           count(*), case when count(*) = 1 then 'policy' else 'policies' end,
           string_agg(quote_ident(polname), ', ' order by polname)) as detail,
    case when bool_and(not always_true and polcmd = 'r')
         then 'Drop the SELECT policy (the fix below): the bucket''s files stay reachable by their public URLs, but '
              'no client can list them any more. If listing is needed, make the bucket private instead.'
         else 'Narrow the policy rather than drop it, since it also covers other buckets or writes: restrict the '
              'SELECT to what clients must list (bucket_id and owner = (select auth.uid()), or a path prefix), or '
              'split a FOR ALL policy into INSERT/UPDATE/DELETE ones. If listing is needed, make the bucket private.'
         end as remediation,
    case when bool_and(not always_true and polcmd = 'r')
         then string_agg(format('DROP POLICY %I ON storage.objects;', polname), ' ' order by polname) end as fix_sql,
    format('public_bucket_allows_listing_%s', bucket_id) as cache_key
from matches
group by bucket_id, bucket_name
order by bucket_id
/* dba_admin */
