-- Workspace and connections (issue 11).
--
-- The workspace (this database) holds the app's own data; the databases the team administers are registered
-- connections, reached with their own least-privilege logins and never written to unless a person applies a plan.
--
--   * dba_admin.connections: the registry. Private like the rest of the schema: the logins' DSNs are stored only
--     as Fernet tokens (encrypted with SECRETS_KEY, which never enters the database), and nothing is granted to
--     PUBLIC or the API roles. `is_workspace` marks connection `default`, the workspace database itself (the
--     original single-database setup), whose DSNs come from the app servers' settings instead.
--     `same_cluster`: its backends live on the workspace's server, so the start-up sweep of runs left "running"
--     can look them up in this server's pg_stat_activity.
--   * public.conexoes: who may use which connection, per app role (`funcoes`) or per user (`usuarios`, emails),
--     decided by admins and enforced here by RLS: a user lists only what the policy shows him, and the app opens a
--     connection for a user only after reading its row as that user.
--   * snapshots and muted findings are kept per connection.
--   * runs: `banco` now holds the connection's name.

create table dba_admin.connections (
    name text primary key constraint connections_name_valid check (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    monitor_secret text,
    readonly_secret text,
    dba_secret text,
    is_workspace boolean not null default false,
    same_cluster boolean not null default false,
    created_by text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint connections_has_monitor check (is_workspace or monitor_secret is not null)
);
comment on table dba_admin.connections is
    'Registered connections: the databases the app administers. DSNs are Fernet tokens (key outside the database).';

create table public.conexoes (
    nome text primary key references dba_admin.connections (name) on delete cascade,
    descricao text,
    funcoes text[] not null default array['admin', 'dba', 'analyst', 'viewer']::text[],
    usuarios text[] not null default '{}'::text[],
    criado_em timestamptz not null default now(),
    constraint conexoes_funcoes_valid check (funcoes <@ array['admin', 'dba', 'analyst', 'viewer']::text[])
);
comment on table public.conexoes is
    'Who may use which registered connection: app roles (funcoes) or user emails (usuarios). Admins see all.';

alter table public.conexoes enable row level security;
alter table public.conexoes force row level security;
revoke all on public.conexoes from public, anon, authenticated;
grant select on public.conexoes to authenticated;

create policy conexoes_select on public.conexoes for select to authenticated
    using (
        (select coalesce(auth.jwt() ->> 'app_role', auth.jwt() -> 'app_metadata' ->> 'app_role')) = 'admin'
        or (select coalesce(auth.jwt() ->> 'app_role', auth.jwt() -> 'app_metadata' ->> 'app_role')) = any (funcoes)
        or (select lower(auth.jwt() ->> 'email')) = any (usuarios)
    );

alter table dba_admin.snapshots add column connection_name text not null default 'default';
create index snapshots_connection_taken_at_idx on dba_admin.snapshots (connection_name, taken_at desc);

alter table dba_admin.muted_findings add column connection_name text not null default 'default';
alter table dba_admin.muted_findings drop constraint muted_findings_pkey;
alter table dba_admin.muted_findings add primary key (connection_name, cache_key);

comment on column public.execucoes_scripts.banco is 'The connection (registered name) the SQL ran on.';
create index execucoes_scripts_banco_idx on public.execucoes_scripts (banco, started_at desc);

-- The start-up sweep looks only at runs whose backend lives on this server: runs with no connection recorded (the
-- single-database era) and runs on connections of the same cluster. A run on a remote connection is swept by
-- dba_admin.mark_interrupted_runs_on(), with the live backends the app read there through the monitor login.
create or replace function dba_admin.mark_interrupted_runs()
returns integer
language plpgsql
set search_path = ''
as $$
declare
  n integer;
begin
  update public.execucoes_scripts e
     set status = 'interrupted',
         finished_at = pg_catalog.now(),
         erro = coalesce(e.erro, 'the run was interrupted: the database server or the app server stopped before it '
                                 'finished, so whether its statements committed is unknown. Check the data, then run it again if needed.')
   where e.status = 'running'
     and (e.banco is null
          or not exists (select 1 from dba_admin.connections c where c.name = e.banco)
          or exists (select 1 from dba_admin.connections c where c.name = e.banco and (c.same_cluster or c.is_workspace)))
     and not exists (
           select 1
             from pg_catalog.pg_stat_activity a
            where a.pid = e.backend_pid
              and (a.backend_start is null or e.backend_start is null or a.backend_start = e.backend_start));
  get diagnostics n = row_count;
  return n;
end;
$$;
revoke all on function dba_admin.mark_interrupted_runs() from public, anon, authenticated, service_role;

-- p_live: the (pid, backend_start) pairs the app read from the connection's pg_stat_activity just before.
create or replace function dba_admin.mark_interrupted_runs_on(p_banco text, p_live jsonb)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  n integer;
begin
  update public.execucoes_scripts e
     set status = 'interrupted',
         finished_at = pg_catalog.now(),
         erro = coalesce(e.erro, 'the run was interrupted: the database server or the app server stopped before it '
                                 'finished, so whether its statements committed is unknown. Check the data, then run it again if needed.')
   where e.status = 'running'
     and e.banco = p_banco
     and not exists (
           select 1
             from pg_catalog.jsonb_array_elements(p_live) l
            where (l ->> 'pid')::integer = e.backend_pid
              and (l ->> 'backend_start' is null or e.backend_start is null
                   or (l ->> 'backend_start')::timestamptz = e.backend_start));
  get diagnostics n = row_count;
  return n;
end;
$$;
revoke all on function dba_admin.mark_interrupted_runs_on(text, jsonb) from public, anon, authenticated, service_role;

-- The assistant's conversations say which connection's schema they were about.
alter table public.duvidas_analitics_ia add column conexao text;
comment on column public.duvidas_analitics_ia.conexao is 'The connection (registered name) whose schema the question was about.';
