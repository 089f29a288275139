-- check: function_search_path_mutable
-- category: SECURITY
-- Finds: functions and procedures (not owned by an extension, outside the system and Supabase schemas) without
-- a fixed search_path (no `SET search_path = ...` clause).
-- Why it matters: the function resolves unqualified names through the CALLER's search_path, so a caller who can
-- create objects in a schema earlier on the path can substitute a table or operator; for SECURITY DEFINER functions
-- that is privilege escalation. Supabase's splinter lint 0011.
-- The fix never breaks the function: it pins search_path to pg_catalog plus the schemas whose objects the body
-- names without a schema (public first, then by name). Those are found by matching the words of the body (prosrc,
-- in lower case; of a dotted name only the part before the first dot) against the names of the tables, views,
-- sequences, functions and types of every schema but pg_catalog, information_schema and pg_toast, and the body's
-- text against the operators of those schemas (and names with a $). Only when the body names no such object is it
-- pinned to '' (a body of BEGIN ATOMIC is bound at creation, so it too gets ''). Dynamic SQL (EXECUTE in PL/pgSQL)
-- builds names the words cannot show: such a function keeps public on its path, and the remediation says so.
-- A word that is not a name (a column, a string) can only add a schema, never leave one out. Each catalog is read
-- once: no per-function sub-query.
with user_schemas as materialized (
    select n.oid, n.nspname
    from pg_catalog.pg_namespace n
    where n.nspname not in ('pg_catalog', 'information_schema')
      and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
),
procs as materialized (
    -- pg_proc read once: the functions judged here, and the names a body can call
    select p.oid, p.pronamespace, p.proname, p.prokind, p.prosecdef, p.prosrc, p.prolang, p.proconfig,
           p.prosqlbody is not null as atomic
    from pg_catalog.pg_proc p
    where p.pronamespace in (select s.oid from user_schemas s)
),
languages as materialized (
    select l.oid, l.lanname from pg_catalog.pg_language l
),
funcs as materialized (
    select p.oid, n.nspname, p.proname, p.prokind, p.prosecdef, p.prosrc, l.lanname, p.atomic,
           pg_catalog.pg_get_function_identity_arguments(p.oid) as args
    from procs p
    join user_schemas n on n.oid = p.pronamespace
    join languages l on l.oid = p.prolang
    where p.prokind in ('f', 'p')
      and p.oid not in (select d.objid from pg_catalog.pg_depend d
                        where d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass and d.deptype = 'e')
      and not exists (select 1 from unnest(coalesce(p.proconfig, '{}')) as cfg where cfg like 'search\_path=%')
      and n.nspname not in (
          '_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_config', '_timescaledb_internal', 'auth', 'cron',
          'extensions', 'graphql', 'graphql_public', 'information_schema', 'net', 'pgmq', 'pgroonga', 'pgsodium',
          'pgsodium_masks', 'pgtle', 'pgbouncer', 'pg_catalog', 'realtime', 'repack', 'storage', 'supabase_functions',
          'supabase_migrations', 'tiger', 'topology', 'vault')
      and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
),
bodies as (
    -- the body in lower case with every character that cannot be part of a name turned into a space (replace()
    -- is plain C; a regular expression over every body costs ten times more). $ too: $q$select ...$q$ strings are
    -- common, names with a $ rare (those are matched as text, below)
    select f.oid,
           replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
           replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
           replace(replace(replace(replace(replace(replace(lower(f.prosrc),
               E'\n', ' '), E'\t', ' '), E'\r', ' '), '(', ' '), ')', ' '), ',', ' '), ';', ' '), '=', ' '),
               '<', ' '), '>', ' '), '''', ' '), '"', ' '), '+', ' '), '-', ' '), '*', ' '), '/', ' '), ':', ' '),
               '|', ' '), '%', ' '), '[', ' '), ']', ' '), '!', ' '), '~', ' '), '@', ' '), '#', ' '), '&', ' '),
               '^', ' '), '?', ' '), '{', ' '), '}', ' '), '\', ' '), '$', ' ') as text
    from funcs f
    where not f.atomic
      and f.lanname not in ('c', 'internal')
),
objects as materialized (
    -- lower-case name -> schema of everything a body can name without a schema (quoted names compare in lower
    -- case too: at worst a schema too many on the path, never one too few)
    select lower(c.relname) as name, c.relnamespace as nsp, c.relname::text as real_name from pg_catalog.pg_class c
        where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f') and c.relnamespace in (select s.oid from user_schemas s)
    union all
    select lower(p.proname), p.pronamespace, p.proname::text from procs p
    union all
    select lower(t.typname), t.typnamespace, t.typname::text from pg_catalog.pg_type t
        where t.typnamespace in (select s.oid from user_schemas s) and t.typisdefined
),
texts as materialized (
    -- what is matched as text in the body, not as a word: operators, and names with a $
    select distinct 'operator ' || o.oprname as label, o.oprname::text as name, o.oprnamespace as nsp
    from pg_catalog.pg_operator o
    where o.oprnamespace in (select s.oid from user_schemas s)
    union
    select o.real_name, v.name, o.nsp
    from objects o cross join lateral (values (o.name), (o.real_name)) v(name)
    where strpos(o.name, '$') > 0
),
used as (
    -- (function, schema, the names of that schema its body uses without a schema); of a dotted word only the part
    -- before the first dot can be unqualified
    select m.oid, s.nspname, string_agg(distinct o.real_name, ', ' order by o.real_name) as names
    from (select distinct b.oid, split_part(w, '.', 1) as name
          from bodies b
          cross join lateral unnest(array_remove(string_to_array(b.text, ' ', ''), null)) w
          -- "is true": a hashed sub-plan probed per word, not a join the planner may repeat per body
          where (split_part(w, '.', 1) in (select o.name from objects o)) is true) m
    join objects o on o.name = m.name
    join user_schemas s on s.oid = o.nsp
    group by m.oid, s.nspname
    union all
    select f.oid, s.nspname, string_agg(distinct o.label, ', ')
    from funcs f
    join texts o on strpos(f.prosrc, o.name) > 0
    join user_schemas s on s.oid = o.nsp
    where not f.atomic and f.lanname not in ('c', 'internal')
    group by f.oid, s.nspname
),
dynamic as (
    -- PL/pgSQL that runs SQL text it builds: the names in it cannot be seen, so public stays on the path
    select f.oid, 'public'::name as nspname, 'dynamic SQL (EXECUTE)'::text as names
    from funcs f
    where f.lanname = 'plpgsql' and f.prosrc ~* '\mexecute\M'
      and exists (select 1 from user_schemas s where s.nspname = 'public')
),
paths as (
    select u.oid,
           string_agg(quote_ident(u.nspname), ', ' order by u.nspname <> 'public', u.nspname) as schemas,
           string_agg(format('%s (%s)', u.names, u.nspname), '; ' order by u.nspname <> 'public', u.nspname)
               as evidence,
           bool_or(u.names like '%dynamic SQL%') as dynamic_sql
    from (select oid, nspname, string_agg(names, ', ') as names
          from (select * from used union all select * from dynamic) x
          group by oid, nspname) u
    group by u.oid
)
select
    'function_search_path_mutable' as name,
    'Function with a mutable search_path' as title,
    'WARN' as level,
    'SECURITY' as category,
    format('%s.%s(%s)', f.nspname, f.proname, f.args) as object,
    format('%s %I.%I(%s) has no fixed search_path: unqualified names in its body resolve through the caller''s '
           'search_path%s. %s', case f.prokind when 'p' then 'Procedure' else 'Function' end, f.nspname, f.proname,
           f.args, case when f.prosecdef then ' although it is SECURITY DEFINER' else '' end,
           case when p.schemas is null then 'Its body names no object without a schema.'
                else format('Its body names without a schema: %s.', p.evidence) end) as detail,
    case when p.schemas is null
         then 'Pin the search_path to empty: ALTER FUNCTION ... SET search_path = ''''. Safe here: the body names '
              'every table, view, function, type and operator with its schema (or is bound at creation), so nothing '
              'stops resolving; pg_catalog is always searched.'
         else format('Pin the search_path to pg_catalog and the schemas the body uses (%s), found by matching the '
                     'words of the body against the objects of each schema: the function keeps working for every '
                     'caller, and callers can no longer change what it resolves. Stricter still: schema-qualify '
                     'those names in the body, then SET search_path = ''''.%s%s', p.schemas,
                     case when p.dynamic_sql
                          then ' The body runs dynamic SQL (EXECUTE): names it builds at run time cannot be seen, '
                               'so public stays on the path; check them.' else '' end,
                     case when f.prosecdef
                          then ' For SECURITY DEFINER, pg_temp can be added last (search_path = ..., pg_temp) so a '
                               'caller''s temporary table cannot stand in for one of these.' else '' end)
    end as remediation,
    format('ALTER %s %I.%I(%s) SET search_path = %s;', case f.prokind when 'p' then 'PROCEDURE' else 'FUNCTION' end,
           f.nspname, f.proname, f.args, coalesce('pg_catalog, ' || p.schemas, '''''')) as fix_sql,
    format('function_search_path_mutable_%s_%s_%s', f.nspname, f.proname, f.args) as cache_key
from funcs f
left join paths p on p.oid = f.oid
order by f.nspname, f.proname
/* dba_admin */
