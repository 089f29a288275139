-- sql/migrations/20261123001000_script_search_dotted_names.sql
-- Script search (dba_admin/projects.py search_scripts) finds scripts by the tables they use. PostgreSQL's
-- default text-search parser reads a qualified name such as `public.orders` as ONE lexeme ('public.orders'),
-- so a search for "orders" missed every script that qualifies its tables. The search document now also holds
-- the text with dots and double quotes turned into spaces, so both 'public.orders' and 'orders' are lexemes.
-- PostgreSQL 15 cannot change a generated column's expression in place: drop and re-add (recomputed for
-- existing rows), then rebuild its GIN index.

drop index if exists public.scripts_projetos_busca_idx;
alter table public.scripts_projetos drop column if exists busca;
alter table public.scripts_projetos add column busca tsvector generated always as (
    to_tsvector(
        'simple'::regconfig,
        coalesce(nome, '') || ' ' || coalesce(sql, '') || ' '
            || pg_catalog.translate(coalesce(nome, '') || ' ' || coalesce(sql, ''), '."', '  ')
    )
) stored;
comment on column public.scripts_projetos.busca is
    'Full-text document (simple config) of name and SQL, qualified names also split at the dot, for script search.';
create index scripts_projetos_busca_idx on public.scripts_projetos using gin (busca);
