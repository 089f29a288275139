-- Scheduled runs (issue 16, section 1).
--
--   * dba_admin_jobs: the schema of the job library (procrastinate). Its tables, types and functions are installed
--     there by the bootstrap (dba_admin/jobs/schema.py, procrastinate's own schema SQL with search_path set to this
--     schema), never in public: no API role (anon, authenticated, service_role) and no connection login has USAGE
--     on it, so the queue is out of reach of a JWT and of any SQL a user types.
--   * public.agendamentos: a saved script run on a cron expression in an IANA time zone on a connection, owned by the
--     user who made it. RLS as the projects: a member of the script's project who may use the connection may
--     schedule it (who may run it), only the owner changes or deletes it, admins read every schedule. The run
--     happens as the owner, with the owner's rights at that moment (the worker loads the user when it runs).
--   * public.agendamentos_ocorrencias: one row per due time of a schedule, primary key (agendamento_id,
--     previsto_para): whatever the job queue does (two workers, a retried job, a tick run twice), one occurrence
--     can never start two runs. Written only by the workers on the owner login; read by the schedule's readers.
--   * public.execucoes_scripts.origem: 'interactive' (a person pressed Run) or 'scheduled' (a worker ran it). Part
--     of a run's identity: the run guard now keeps it unchanged too. Runs are still written only by the app's
--     trusted path (no API role gains any privilege on the history here).

create schema if not exists dba_admin_jobs;
comment on schema dba_admin_jobs is
    'The job queue (procrastinate) of the scheduled runs. Private: not granted to PUBLIC or any API role.';
revoke all on schema dba_admin_jobs from public;

-- Runs: where they came from ------------------------------------------------------------------------------------
alter table public.execucoes_scripts
    add column origem text not null default 'interactive'
        constraint execucoes_origem_valid check (origem in ('interactive', 'scheduled'));
comment on column public.execucoes_scripts.origem is
    'interactive: a person ran it; scheduled: a worker ran it for a schedule (public.agendamentos), as its owner.';

create or replace function dba_admin.guard_run_update()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if (new.executado_por, new.user_id, new.sql_executado, new.started_at, new.versao, new.banco, new.backend_pid,
      new.backend_start, new.app_instance, new.origem)
     is distinct from
     (old.executado_por, old.user_id, old.sql_executado, old.started_at, old.versao, old.banco, old.backend_pid,
      old.backend_start, old.app_instance, old.origem)
     or (new.script_id is distinct from old.script_id and new.script_id is not null)
     or (new.projeto_id is distinct from old.projeto_id and new.projeto_id is not null) then
    raise exception 'run %: who ran what, where, when and from where never changes once recorded', old.id
      using errcode = 'insufficient_privilege';
  end if;
  if old.status not in ('running', 'interrupted')
     and (new.status, new.linhas, new.duracao_ms, new.erro, new.sqlstate, new.finished_at)
         is distinct from (old.status, old.linhas, old.duracao_ms, old.erro, old.sqlstate, old.finished_at) then
    raise exception 'run % finished as %; its outcome never changes', old.id, old.status
      using errcode = 'insufficient_privilege';
  end if;
  if new.status = 'running' and old.status <> 'running' then
    raise exception 'run % already ended (%); it cannot be running again', old.id, old.status
      using errcode = 'insufficient_privilege';
  end if;
  return new;
end;
$$;
comment on function dba_admin.guard_run_update() is
  'execucoes_scripts trigger: who/what/where/when/origin of a run never change; a finished outcome is final (running or interrupted rows may be finished once).';
revoke all on function dba_admin.guard_run_update() from public, anon, authenticated, service_role;

-- Schedules ------------------------------------------------------------------------------------------------------
create table public.agendamentos (
    id uuid primary key default gen_random_uuid(),
    script_id uuid not null references public.scripts_projetos (id) on delete cascade,
    conexao text not null references public.conexoes (nome) on delete cascade,
    cron text not null constraint agendamentos_cron_nonempty check (pg_catalog.btrim(cron) <> ''),
    fuso_horario text not null default 'UTC',
    created_by text not null,
    user_id uuid not null,
    pausado boolean not null default false,
    motivo_pausa text,
    verificado_ate timestamptz not null default now(),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table public.agendamentos is
    'Scheduled runs of saved scripts: cron expression in an IANA time zone, on a connection, run as the owner.';
comment on column public.agendamentos.created_by is 'The owner (email): the runs are his, with his rights at run time.';
comment on column public.agendamentos.user_id is 'The owner''s user id (dba_admin.users.id, the JWT sub).';
comment on column public.agendamentos.motivo_pausa is
    'Why a worker paused it (owner deactivated, a destructive script needing a person''s confirmation); NULL when a person paused it.';
comment on column public.agendamentos.verificado_ate is
    'The workers looked for due times up to here: the next tick starts after it (reset on resume and on edits).';
create index agendamentos_script_idx on public.agendamentos (script_id);
create index agendamentos_owner_idx on public.agendamentos (created_by);
create index agendamentos_conexao_idx on public.agendamentos (conexao);
create index agendamentos_active_idx on public.agendamentos (verificado_ate) where not pausado;

create or replace function dba_admin.agendamento_rules()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  -- An unknown time zone is refused here too (the app checks it first, with a clearer message).
  perform pg_catalog.timezone(new.fuso_horario, pg_catalog.now());
  if tg_op = 'UPDATE' then
    if (new.created_by, new.user_id, new.script_id) is distinct from (old.created_by, old.user_id, old.script_id) then
      raise exception 'schedule %: its owner and its script never change; make a new schedule instead', old.id
        using errcode = 'insufficient_privilege';
    end if;
    -- Resumed or rescheduled: due times before now are not run after the fact.
    if (old.pausado and not new.pausado) or new.cron is distinct from old.cron
       or new.fuso_horario is distinct from old.fuso_horario then
      new.verificado_ate := greatest(old.verificado_ate, pg_catalog.now());
    end if;
    if not new.pausado then
      new.motivo_pausa := null;
    end if;
    new.updated_at := pg_catalog.now();
  end if;
  return new;
end;
$$;
comment on function dba_admin.agendamento_rules() is
  'agendamentos trigger: valid time zone; owner and script fixed; a resume or a new cron starts from now.';
revoke all on function dba_admin.agendamento_rules() from public, anon, authenticated, service_role;
create trigger agendamentos_rules before insert or update on public.agendamentos
    for each row execute function dba_admin.agendamento_rules();

alter table public.agendamentos enable row level security;

create policy agendamentos_select_own on public.agendamentos
    for select to authenticated
    using (created_by = (select auth.email()));

create policy agendamentos_admin_read on public.agendamentos
    for select to authenticated
    using ((select coalesce(auth.jwt() ->> 'app_role', auth.jwt() -> 'app_metadata' ->> 'app_role')) = 'admin');

-- Who may run the script may schedule it: a member of its project (not archived, not in the trash) who may use the
-- connection (the subquery on public.conexoes runs under that table's own policy, as this user).
create policy agendamentos_insert_runner on public.agendamentos
    for insert to authenticated
    with check (
        created_by = (select auth.email())
        and user_id = (select auth.uid())
        and exists (
            select 1 from public.scripts_projetos s join public.projetos_analytics p on p.id = s.projeto_id
            where s.id = agendamentos.script_id
              and s.deleted_at is null and p.deleted_at is null and p.arquivado_em is null
              and (p.created_by = (select auth.email()) or (select auth.email()) = any (p.membros))
        )
        and exists (select 1 from public.conexoes c where c.nome = agendamentos.conexao)
    );

create policy agendamentos_update_owner on public.agendamentos
    for update to authenticated
    using (created_by = (select auth.email()))
    with check (
        created_by = (select auth.email())
        and exists (select 1 from public.conexoes c where c.nome = agendamentos.conexao)
    );

create policy agendamentos_delete_owner on public.agendamentos
    for delete to authenticated
    using (created_by = (select auth.email()));

revoke all on public.agendamentos from public, anon, authenticated, service_role;
grant select, insert, delete on public.agendamentos to authenticated;
grant update (conexao, cron, fuso_horario, pausado, motivo_pausa) on public.agendamentos to authenticated;

-- Occurrences ------------------------------------------------------------------------------------------------------
create table public.agendamentos_ocorrencias (
    agendamento_id uuid not null references public.agendamentos (id) on delete cascade,
    previsto_para timestamptz not null,
    status text not null default 'due'
        constraint agendamentos_ocorrencias_status_valid check (status in ('due', 'running', 'done', 'skipped')),
    job_id bigint,
    execucao_id bigint references public.execucoes_scripts (id) on delete set null,
    resultado text,
    nota text,
    created_at timestamptz not null default now(),
    started_at timestamptz,
    finished_at timestamptz,
    constraint agendamentos_ocorrencias_once primary key (agendamento_id, previsto_para)
);
comment on table public.agendamentos_ocorrencias is
    'One row per due time of a schedule; the primary key makes a second run of one occurrence impossible.';
comment on column public.agendamentos_ocorrencias.status is
    'due (found by a tick, job queued), running (a worker claimed it), done (ran: see execucao_id), skipped (not run: see nota).';
comment on column public.agendamentos_ocorrencias.resultado is
    'The run''s status (success, error, timeout...), or refused when nothing ran.';
create index agendamentos_ocorrencias_execucao_idx on public.agendamentos_ocorrencias (execucao_id)
    where execucao_id is not null;
create index agendamentos_ocorrencias_pending_idx on public.agendamentos_ocorrencias (created_at)
    where status = 'due';

alter table public.agendamentos_ocorrencias enable row level security;
create policy agendamentos_ocorrencias_select on public.agendamentos_ocorrencias
    for select to authenticated
    using (exists (select 1 from public.agendamentos a where a.id = agendamentos_ocorrencias.agendamento_id));
revoke all on public.agendamentos_ocorrencias from public, anon, authenticated, service_role;
grant select on public.agendamentos_ocorrencias to authenticated;

-- Audit: a schedule's owner records his changes in his own transaction, like project and script changes ------------
create or replace function dba_admin_api.audit(p_action text, p_target text, p_details jsonb, p_app_instance text)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_actor text := nullif(auth.email(), '');
begin
  if v_actor is null then
    raise exception 'no user claims: an audit row needs the caller''s email'
      using errcode = 'insufficient_privilege';
  end if;
  if p_action !~ '^(project|script|sql|assistant|schedule)\.[a-z_.]+$' then
    raise exception 'action % may not be recorded by a user transaction', p_action
      using errcode = 'insufficient_privilege';
  end if;
  insert into dba_admin.audit_log (actor, action, target, details, app_instance)
  values (v_actor, p_action, p_target, coalesce(p_details, '{}'::jsonb), p_app_instance);
end;
$$;
revoke all on function dba_admin_api.audit(text, text, jsonb, text) from public;
grant execute on function dba_admin_api.audit(text, text, jsonb, text) to authenticated;
comment on function dba_admin_api.audit(text, text, jsonb, text) is
  'Appends an audit row for the calling user (actor from auth.email()); project/script/sql/assistant/schedule actions only.';
