-- check: sensitive_columns_exposed
-- category: SECURITY
-- Finds: tables, views, materialized views and foreign tables in an exposed schema whose columns are named like
-- credentials or personal identifiers (password, token, secret, api_key, ssn, card_number, ...) and which anon or
-- authenticated can read (SELECT on the column and USAGE on the schema) without row level security in the way.
-- Why it matters: anyone with the API key can read those values for every row. Supabase's splinter lint 0023.
with exposed as (
    select btrim(s) as nspname
    from unnest(string_to_array(coalesce(current_setting('dba_admin.exposed_schemas', true), 'public'), ',')) as s
    where btrim(s) <> ''
),
api_roles as (
    select oid, rolname from pg_catalog.pg_roles where rolname in ('anon', 'authenticated')
),
hits as (
    select n.nspname, c.relname, c.relkind, a.attname, r.rolname
    from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    join api_roles r
      on pg_catalog.has_column_privilege(r.oid, c.oid, a.attnum, 'SELECT')
     and pg_catalog.has_schema_privilege(r.oid, n.oid, 'USAGE')
    where c.relkind in ('r', 'p', 'v', 'm', 'f')
      and not (c.relkind in ('r', 'p') and c.relrowsecurity)
      and n.nspname in (select nspname from exposed)
      and replace(lower(a.attname), '-', '_') ~ ('(^|_)(password|passwd|pwd|passphrase|secret|secret_key|private_key|'
          'api_?key|auth_key|token|jwt|access_token|refresh_token|session_token|session_secret|otp|'
          'recovery_code|backup_code|ssn|social_security|social_security_number|passport_number|national_id|tax_id|'
          'credit_card|card_number|cvv|cvc|iban|bank_account|account_number|routing_number)(_|$)')
)
select
    'sensitive_columns_exposed' as name,
    'Sensitive columns readable through the API' as title,
    'ERROR' as level,
    'SECURITY' as category,
    format('%s.%s', nspname, relname) as object,
    format('%s %I.%I has column(s) %s, readable by %s with no row level security in the way.',
           case relkind when 'v' then 'View' when 'm' then 'Materialized view' when 'f' then 'Foreign table' else 'Table' end,
           nspname, relname, string_agg(distinct quote_ident(attname), ', '), string_agg(distinct rolname, ', ')) as detail,
    case when relkind in ('r', 'p')
         then 'Enable row level security and give the API roles policies that expose only the caller''s own rows; '
              'better, keep secrets out of exposed tables (a private schema) or revoke SELECT on those columns.'
         else 'Revoke SELECT from anon and authenticated, or rebuild it without the sensitive columns.' end as remediation,
    case when relkind in ('r', 'p')
         then format('ALTER TABLE %I.%I ENABLE ROW LEVEL SECURITY;', nspname, relname)
         else format('REVOKE SELECT ON %I.%I FROM %s;', nspname, relname,
                     (select string_agg(quote_ident(rolname), ', ' order by rolname) from api_roles)) end as fix_sql,
    format('sensitive_columns_exposed_%s_%s', nspname, relname) as cache_key
from hits
group by nspname, relname, relkind
order by nspname, relname
/* dba_admin */
