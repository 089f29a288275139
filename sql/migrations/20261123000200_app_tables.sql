-- sql/migrations/20261123000200_app_tables.sql
-- The app tables in `public`, with the names of the original PetCare system (DESIGN.md "App tables"):
-- projects, their current scripts, every saved version, every run, and the assistant's Q&A. They live in
-- public like any Supabase table, so row-level security (next migration) - not the app - decides who sees a
-- row. Defaults such as `created_by default auth.email()` fill the acting user from the JWT claims of the
-- transaction (dba_admin/rls.py); the policies then check those columns, so they cannot be forged.
-- Every foreign key column is covered by an index whose leading column it is (the advisors check this).

-- Trigger functions -----------------------------------------------------------------------------------------
create or replace function dba_admin.normalize_projeto()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  bad text;
begin
  -- Emails compare exactly in the policies, so store them lower-cased; a member list holds each email once
  -- and never the owner.
  new.created_by := pg_catalog.lower(pg_catalog.btrim(new.created_by));
  select m into bad
  from pg_catalog.unnest(new.membros) as m
  where m is null or pg_catalog.btrim(m) !~ '^[^@[:space:]]+@[^@[:space:]]+$'
  limit 1;
  if found then
    raise exception 'invalid member email: %', coalesce(bad, 'NULL')
      using errcode = 'check_violation',
            hint = 'membros must be a list of email addresses.';
  end if;
  new.membros := coalesce(
    array(
      select distinct pg_catalog.lower(pg_catalog.btrim(m))
      from pg_catalog.unnest(new.membros) as m
      where pg_catalog.lower(pg_catalog.btrim(m)) <> new.created_by
      order by 1
    ),
    '{}'::text[]
  );
  if tg_op = 'UPDATE' then
    new.updated_at := pg_catalog.now();
  end if;
  return new;
end;
$$;
comment on function dba_admin.normalize_projeto() is 'projetos_analytics trigger: lower-cases emails, dedupes members, drops the owner from membros.';

create or replace function dba_admin.stamp_script()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  -- updated_by is the user of the transaction when there is one, so "who changed it" cannot be forged;
  -- without claims (superuser maintenance) the given value is kept.
  new.updated_by := coalesce(auth.email(), new.updated_by, new.created_by);
  if tg_op = 'UPDATE' then
    new.updated_at := pg_catalog.now();
  end if;
  return new;
end;
$$;
comment on function dba_admin.stamp_script() is 'scripts_projetos trigger: stamps updated_by from the JWT claims and updated_at.';

revoke all on function dba_admin.normalize_projeto(), dba_admin.stamp_script() from public, anon, authenticated, service_role;

-- projetos_analytics ----------------------------------------------------------------------------------------
create table public.projetos_analytics (
    id uuid primary key default gen_random_uuid(),
    nome text not null constraint projetos_nome_length check (pg_catalog.length(pg_catalog.btrim(nome)) between 1 and 200),
    descricao text,
    created_by text not null default auth.email()
        constraint projetos_created_by_email check (created_by ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    membros text[] not null default '{}',
    arquivado_em timestamptz,
    arquivado boolean generated always as (arquivado_em is not null) stored,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table public.projetos_analytics is 'SQL projects of the analytics team. Visible to the owner (created_by) and members (membros) through RLS.';
comment on column public.projetos_analytics.nome is 'Project name shown in the app.';
comment on column public.projetos_analytics.created_by is 'Owner email (lower-case). Only the owner renames, changes members, archives or deletes.';
comment on column public.projetos_analytics.membros is 'Emails (lower-case, unique, never the owner) of the members who see and edit the scripts.';
comment on column public.projetos_analytics.arquivado_em is 'When the project was archived; NULL while active.';
comment on column public.projetos_analytics.arquivado is 'True when archived (derived from arquivado_em).';
create index projetos_analytics_created_by_idx on public.projetos_analytics (created_by);
-- For "projects I am a member of" queries written as membros @> array[email].
create index projetos_analytics_membros_idx on public.projetos_analytics using gin (membros);
create trigger projetos_analytics_normalize before insert or update on public.projetos_analytics
    for each row execute function dba_admin.normalize_projeto();

-- scripts_projetos ------------------------------------------------------------------------------------------
create table public.scripts_projetos (
    id uuid primary key default gen_random_uuid(),
    projeto_id uuid not null references public.projetos_analytics (id) on delete cascade,
    nome text not null constraint scripts_nome_length check (pg_catalog.length(pg_catalog.btrim(nome)) between 1 and 200),
    sql text not null default '',
    versao_atual integer not null default 1 constraint scripts_versao_positive check (versao_atual >= 1),
    created_by text not null default auth.email(),
    updated_by text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    busca tsvector generated always as (
        to_tsvector('simple'::regconfig, coalesce(nome, '') || ' ' || coalesce(sql, ''))
    ) stored,
    constraint scripts_projetos_projeto_nome_key unique (projeto_id, nome)
);
comment on table public.scripts_projetos is 'Current text of each saved SQL script; every save also writes a row to scripts_projetos_versoes.';
comment on column public.scripts_projetos.versao_atual is 'Number of the latest version; a save names the version it was edited from (optimistic lock).';
comment on column public.scripts_projetos.updated_by is 'Email of the last editor, stamped from the JWT claims by a trigger.';
comment on column public.scripts_projetos.busca is 'Full-text document (simple config) of name and SQL, for script search.';
-- unique (projeto_id, nome) already indexes the projeto_id foreign key.
create index scripts_projetos_busca_idx on public.scripts_projetos using gin (busca);
create trigger scripts_projetos_stamp before insert or update on public.scripts_projetos
    for each row execute function dba_admin.stamp_script();

-- scripts_projetos_versoes ----------------------------------------------------------------------------------
create table public.scripts_projetos_versoes (
    id bigint generated always as identity primary key,
    script_id uuid not null references public.scripts_projetos (id) on delete cascade,
    versao integer not null constraint versoes_versao_positive check (versao >= 1),
    sql text not null,
    mensagem text,
    autor text not null default auth.email(),
    created_at timestamptz not null default now(),
    constraint scripts_projetos_versoes_script_versao_key unique (script_id, versao)
);
comment on table public.scripts_projetos_versoes is 'Every saved version of a script, immutable: no role used by the app may update or delete a row.';
comment on column public.scripts_projetos_versoes.mensagem is 'Optional message given with the save.';
comment on column public.scripts_projetos_versoes.autor is 'Email of the user who saved this version.';
-- unique (script_id, versao) already indexes the script_id foreign key.

-- execucoes_scripts -----------------------------------------------------------------------------------------
create table public.execucoes_scripts (
    id bigint generated always as identity primary key,
    script_id uuid references public.scripts_projetos (id) on delete set null,
    projeto_id uuid references public.projetos_analytics (id) on delete set null,
    versao integer,
    sql_executado text not null,
    executado_por text not null default auth.email(),
    user_id uuid default auth.uid(),
    status text not null
        constraint execucoes_status_valid check (status in ('success', 'error', 'timeout', 'cancelled')),
    linhas bigint constraint execucoes_linhas_nonneg check (linhas >= 0),
    duracao_ms numeric constraint execucoes_duracao_nonneg check (duracao_ms >= 0),
    erro text,
    sqlstate text constraint execucoes_sqlstate_format check (sqlstate ~ '^[0-9A-Z]{5}$'),
    started_at timestamptz not null default now(),
    finished_at timestamptz default now()
);
comment on table public.execucoes_scripts is 'Every SQL run from the app: a project script (script_id) or ad-hoc SQL (no script), with outcome and timing.';
comment on column public.execucoes_scripts.script_id is 'The script run; NULL for ad-hoc SQL or when the script was deleted later.';
comment on column public.execucoes_scripts.versao is 'Version of the script that was run.';
comment on column public.execucoes_scripts.executado_por is 'Email of the user who ran it.';
comment on column public.execucoes_scripts.linhas is 'Rows returned or affected.';
comment on column public.execucoes_scripts.duracao_ms is 'Wall time of the run in milliseconds.';
comment on column public.execucoes_scripts.sqlstate is 'SQLSTATE of the error when status is error or timeout.';
create index execucoes_scripts_executado_por_started_idx on public.execucoes_scripts (executado_por, started_at desc);
create index execucoes_scripts_script_started_idx on public.execucoes_scripts (script_id, started_at desc);
create index execucoes_scripts_projeto_started_idx on public.execucoes_scripts (projeto_id, started_at desc);

-- duvidas_analitics_ia --------------------------------------------------------------------------------------
create table public.duvidas_analitics_ia (
    id bigint generated always as identity primary key,
    conversa_id uuid not null,
    user_id uuid default auth.uid(),
    user_email text not null default auth.email(),
    pergunta text not null,
    resposta text,
    modelo text,
    tabelas_contexto text[] not null default '{}',
    sql_sugerido text,
    sql_valido boolean,
    tokens_entrada integer constraint duvidas_tokens_entrada_nonneg check (tokens_entrada >= 0),
    tokens_saida integer constraint duvidas_tokens_saida_nonneg check (tokens_saida >= 0),
    created_at timestamptz not null default now()
);
comment on table public.duvidas_analitics_ia is 'Questions to the schema assistant and its answers; each user sees only their own.';
comment on column public.duvidas_analitics_ia.conversa_id is 'Groups the turns of one conversation.';
comment on column public.duvidas_analitics_ia.tabelas_contexto is 'Tables whose schema was sent to the model as context.';
comment on column public.duvidas_analitics_ia.sql_valido is 'Whether the suggested SQL passed validation against the live schema (EXPLAIN).';
comment on column public.duvidas_analitics_ia.tokens_entrada is 'Prompt tokens, for the per-user daily budget.';
create index duvidas_analitics_ia_user_conversa_idx on public.duvidas_analitics_ia (user_email, conversa_id, created_at);
