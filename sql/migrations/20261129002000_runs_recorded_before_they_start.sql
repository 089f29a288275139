-- A run is recorded before it starts (issue 12, section 1).
--
-- The app writes the history row as `running` and commits it BEFORE the user's SQL reaches the server: who
-- (executado_por, user_id), what (sql_executado, already redacted), which script and version, where (banco: the
-- label of the database it runs on), when (started_at), and which backend runs it (backend_pid + backend_start of
-- the connection the app borrowed for it) from which app server (app_instance). The finish then updates that row
-- with the outcome. A row left `running` by a dead server or a dead app server is turned into `interrupted` by
-- dba_admin.mark_interrupted_runs(): its backend (pid, backend_start) is no longer in pg_stat_activity. The bootstrap
-- calls it at every start, and the app calls it before it reads the history.

alter table public.execucoes_scripts drop constraint execucoes_status_valid;
alter table public.execucoes_scripts add constraint execucoes_status_valid
    check (status in ('running', 'success', 'error', 'timeout', 'cancelled', 'interrupted'));

-- A running row has no end yet; the old default stamped one at insert.
alter table public.execucoes_scripts alter column finished_at drop default;

alter table public.execucoes_scripts
    add column banco text,
    add column backend_pid integer,
    add column backend_start timestamptz,
    add column app_instance text;
comment on column public.execucoes_scripts.status is
    'running (recorded before the SQL started), success, error, timeout, cancelled, or interrupted (the server or the app stopped before the outcome was known: its statements may or may not have committed).';
comment on column public.execucoes_scripts.banco is 'Label of the database the SQL ran on.';
comment on column public.execucoes_scripts.backend_pid is 'PostgreSQL backend pid of the connection that ran the SQL (with backend_start: tells a live run from a dead one).';
comment on column public.execucoes_scripts.backend_start is 'backend_start of that backend in pg_stat_activity (pids are reused; the pair is not).';
comment on column public.execucoes_scripts.app_instance is 'Which app server (host:pid) ran it.';

-- Finished rows have an end; a running row has none.
alter table public.execucoes_scripts add constraint execucoes_finished_matches_status
    check ((status = 'running') = (finished_at is null));

-- The sweep looks only at running rows.
create index execucoes_scripts_running_idx on public.execucoes_scripts (backend_pid) where status = 'running';

create or replace function dba_admin.mark_interrupted_runs()
returns integer
language plpgsql
set search_path = ''
as $$
declare
  n integer;
begin
  -- A backend's (pid, backend_start) identifies it for its whole life; a pid alone may have been reused. When the
  -- caller may not see another role's backend_start (NULL without pg_read_all_stats), the pid alone keeps the row
  -- running: a live run is never marked interrupted by mistake.
  update public.execucoes_scripts e
     set status = 'interrupted',
         finished_at = pg_catalog.now(),
         erro = coalesce(e.erro, 'the run was interrupted: the database server or the app server stopped before it '
                                 'finished, so whether its statements committed is unknown. Check the data, then run it again if needed.')
   where e.status = 'running'
     and not exists (
           select 1
             from pg_catalog.pg_stat_activity a
            where a.pid = e.backend_pid
              and (a.backend_start is null or e.backend_start is null or a.backend_start = e.backend_start));
  get diagnostics n = row_count;
  return n;
end;
$$;
comment on function dba_admin.mark_interrupted_runs() is
  'Turns runs left running by a dead backend (server or app stopped) into interrupted; returns how many. Called at bootstrap and before history reads.';
revoke all on function dba_admin.mark_interrupted_runs() from public, anon, authenticated, service_role;
