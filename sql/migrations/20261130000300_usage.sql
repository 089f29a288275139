-- Usage metrics for admins (issue 16, section 3), computed in the database from what it already records: the run
-- history (public.execucoes_scripts), the assistant's questions (public.duvidas_analitics_ia), projects and scripts
-- (their created_at / created_by) and the audit log's logins. No second store, no copy: every figure is an
-- aggregate over those rows at the time it is asked.
--
--   * dba_admin.usage_breakdown / dba_admin.usage_daily do the work. They live in the private schema, so only the
--     owner (the app's trusted side: the CLI, maintenance) may call them directly.
--   * dba_admin_api.usage_breakdown / dba_admin_api.usage_daily are the only doors for a user's session (the
--     per-user RLS transaction, role authenticated): SECURITY DEFINER, and they refuse (42501) unless the claim
--     app_role of the transaction is admin, read as the admin policies read it. Why owner's rights at all: no
--     policy shows even an admin the others' assistant conversations (they are private), nor the audit log; these
--     functions return counts, percentiles and token sums only, never a question, an answer or a SQL text.
--   * The role of a run, a question, a project... is the user's CURRENT role in dba_admin.users (matched by email;
--     logins by username): the history does not record the role a person had at the time. A person no longer in
--     dba_admin.users has no role (NULL); a role filter leaves them out.
--   * Projects, scripts and logins belong to no connection: a connection filter does not narrow them, and a
--     breakdown by connection leaves them out.
--   * Days are calendar days in p_tz (UTC by default), from p_since to p_until (exclusive); a day without any run is
--     a row of zeros (generate_series), so a chart shows the gap.
--   * Error rate: runs that ended in error or timeout over the runs that ended (running ones left out). Durations
--     (p50/p95, percentile_cont) are those of successful runs: a statement refused in a millisecond says nothing
--     of how long queries take.

-- Every figure is over a window of started_at (created_at, at): without an index on it, a report scans the whole
-- history (100,000 runs over a year: a 7-day report went from about 300-470 ms to 65-130 ms, a 30-day one from
-- about 490-580 ms to 220-350 ms, on a loaded 2-CPU machine). The audit log's window is covered by its (at) index;
-- the other tables are small.
create index execucoes_scripts_started_at_idx on public.execucoes_scripts (started_at);

-- Argument checks, shared by both functions --------------------------------------------------------------------
create or replace function dba_admin.usage_check(p_since timestamptz, p_until timestamptz, p_group text)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_since is null or p_until is null or p_until <= p_since then
    raise exception 'usage window: the end (%) must come after the start (%)', p_until, p_since
      using errcode = 'invalid_parameter_value';
  end if;
  if p_until - p_since > interval '1100 days' then
    raise exception 'usage window: at most 1100 days, not %', p_until - p_since
      using errcode = 'invalid_parameter_value';
  end if;
  if p_group is null or p_group not in ('none', 'connection', 'role') then
    raise exception 'usage: group by none, connection or role, not %', coalesce(p_group, 'NULL')
      using errcode = 'invalid_parameter_value';
  end if;
end;
$$;
comment on function dba_admin.usage_check(timestamptz, timestamptz, text) is
  'Usage metrics: refuses an empty, reversed or too long window, and an unknown grouping.';

-- Totals, per group ----------------------------------------------------------------------------------------------
create or replace function dba_admin.usage_breakdown(
  p_since timestamptz, p_until timestamptz, p_connection text, p_role text, p_group text
)
returns table (
  grp text,
  runs bigint,
  succeeded bigint,
  errors bigint,
  cancelled bigint,
  interrupted bigint,
  running bigint,
  error_rate double precision,
  p50_ms double precision,
  p95_ms double precision,
  active_users bigint,
  questions bigint,
  tokens_in bigint,
  tokens_out bigint,
  logins bigint,
  login_users bigint,
  projects_created bigint,
  scripts_created bigint
)
language plpgsql
stable
set search_path = ''
-- planned with the actual window each call: a generic plan guesses a few rows and loops over them
set plan_cache_mode = force_custom_plan
-- a year of runs sorts in memory (4MB, the default, spills it to disk)
set work_mem = '64MB'
as $$
#variable_conflict use_column
begin
  perform dba_admin.usage_check(p_since, p_until, p_group);
  return query
  with facts as (
    -- runs: who ran what where, and how it ended
    select case p_group when 'connection' then e.banco when 'role' then u.role end as grp,
           'run'::text as kind, e.executado_por as who, e.status, e.duracao_ms::float8 as ms,
           null::bigint as t_in, null::bigint as t_out
      from public.execucoes_scripts e
      left join dba_admin.users u on u.email = e.executado_por
     where e.started_at >= p_since and e.started_at < p_until
       and (p_connection is null or e.banco = p_connection)
       and (p_role is null or u.role = p_role)
    union all
    -- assistant questions and their tokens (never their text)
    select case p_group when 'connection' then q.conexao when 'role' then u.role end,
           'question', q.user_email, null, null, q.tokens_entrada, q.tokens_saida
      from public.duvidas_analitics_ia q
      left join dba_admin.users u on u.email = q.user_email
     where q.created_at >= p_since and q.created_at < p_until
       and (p_connection is null or q.conexao = p_connection)
       and (p_role is null or u.role = p_role)
    union all
    -- logins (the audit log names people by username), projects and scripts: no connection
    select case p_group when 'role' then u.role end, 'login', a.actor, null, null, null, null
      from dba_admin.audit_log a
      left join dba_admin.users u on u.username = a.actor
     where a.action = 'login.success' and a.at >= p_since and a.at < p_until
       and (p_role is null or u.role = p_role)
       and p_group <> 'connection'
    union all
    select case p_group when 'role' then u.role end, 'project', p.created_by, null, null, null, null
      from public.projetos_analytics p
      left join dba_admin.users u on u.email = p.created_by
     where p.created_at >= p_since and p.created_at < p_until
       and (p_role is null or u.role = p_role)
       and p_group <> 'connection'
    union all
    select case p_group when 'role' then u.role end, 'script', s.created_by, null, null, null, null
      from public.scripts_projetos s
      left join dba_admin.users u on u.email = s.created_by
     where s.created_at >= p_since and s.created_at < p_until
       and (p_role is null or u.role = p_role)
       and p_group <> 'connection'
  )
  select a.grp, a.runs, a.succeeded, a.errors, a.cancelled, a.interrupted, a.running,
         a.errors::float8 / nullif(a.runs - a.running, 0),
         a.pct[1], a.pct[2],
         a.active_users, a.questions, a.tokens_in, a.tokens_out, a.logins, a.login_users,
         a.projects_created, a.scripts_created
    from (
      select f.grp,
             count(*) filter (where f.kind = 'run') as runs,
             count(*) filter (where f.kind = 'run' and f.status = 'success') as succeeded,
             count(*) filter (where f.kind = 'run' and f.status in ('error', 'timeout')) as errors,
             count(*) filter (where f.kind = 'run' and f.status = 'cancelled') as cancelled,
             count(*) filter (where f.kind = 'run' and f.status = 'interrupted') as interrupted,
             count(*) filter (where f.kind = 'run' and f.status = 'running') as running,
             -- both percentiles from one sort
             percentile_cont(array[0.5, 0.95]) within group (order by f.ms)
               filter (where f.kind = 'run' and f.status = 'success') as pct,
             count(distinct f.who) filter (where f.kind in ('run', 'question')) as active_users,
             count(*) filter (where f.kind = 'question') as questions,
             coalesce(sum(f.t_in) filter (where f.kind = 'question'), 0)::bigint as tokens_in,
             coalesce(sum(f.t_out) filter (where f.kind = 'question'), 0)::bigint as tokens_out,
             count(*) filter (where f.kind = 'login') as logins,
             count(distinct f.who) filter (where f.kind = 'login') as login_users,
             count(*) filter (where f.kind = 'project') as projects_created,
             count(*) filter (where f.kind = 'script') as scripts_created
        from facts f
       group by f.grp
    ) a
   order by a.runs desc, a.grp nulls last;
end;
$$;
comment on function dba_admin.usage_breakdown(timestamptz, timestamptz, text, text, text) is
  'Usage metrics over [p_since, p_until), optionally for one connection and one app role, one row per group '
  '(p_group none: one row, NULL group; connection; role). No row when nothing happened.';

-- Per day ---------------------------------------------------------------------------------------------------------
create or replace function dba_admin.usage_daily(
  p_since timestamptz, p_until timestamptz, p_connection text, p_role text, p_group text, p_tz text
)
returns table (
  day date,
  grp text,
  runs bigint,
  errors bigint,
  error_rate double precision,
  p50_ms double precision,
  p95_ms double precision,
  active_users bigint,
  questions bigint,
  tokens bigint
)
language plpgsql
stable
set search_path = ''
-- planned with the actual window each call: a generic plan guesses a few rows and loops over them
set plan_cache_mode = force_custom_plan
-- a year of runs sorts in memory (4MB, the default, spills it to disk)
set work_mem = '64MB'
as $$
#variable_conflict use_column
begin
  perform dba_admin.usage_check(p_since, p_until, p_group);
  return query
  with facts as (
    select (e.started_at at time zone p_tz)::date as day,
           case p_group when 'connection' then e.banco when 'role' then u.role end as grp,
           true as is_run, e.executado_por as who, e.status, e.duracao_ms::float8 as ms, 0::bigint as tokens
      from public.execucoes_scripts e
      left join dba_admin.users u on u.email = e.executado_por
     where e.started_at >= p_since and e.started_at < p_until
       and (p_connection is null or e.banco = p_connection)
       and (p_role is null or u.role = p_role)
    union all
    select (q.created_at at time zone p_tz)::date,
           case p_group when 'connection' then q.conexao when 'role' then u.role end,
           false, q.user_email, null, null,
           coalesce(q.tokens_entrada, 0)::bigint + coalesce(q.tokens_saida, 0)::bigint
      from public.duvidas_analitics_ia q
      left join dba_admin.users u on u.email = q.user_email
     where q.created_at >= p_since and q.created_at < p_until
       and (p_connection is null or q.conexao = p_connection)
       and (p_role is null or u.role = p_role)
  ),
  per_day as (
    select f.day, f.grp,
           count(*) filter (where f.is_run) as runs,
           count(*) filter (where f.is_run and f.status in ('error', 'timeout')) as errors,
           (count(*) filter (where f.is_run and f.status in ('error', 'timeout')))::float8
             / nullif(count(*) filter (where f.is_run and f.status <> 'running'), 0) as error_rate,
           -- both percentiles from one sort
           percentile_cont(array[0.5, 0.95]) within group (order by f.ms)
             filter (where f.is_run and f.status = 'success') as pct,
           count(distinct f.who) as active_users,
           count(*) filter (where not f.is_run) as questions,
           coalesce(sum(f.tokens) filter (where not f.is_run), 0)::bigint as tokens
      from facts f
     group by f.day, f.grp
  ),
  days as (
    select d::date as day
      from pg_catalog.generate_series(
             (p_since at time zone p_tz)::date::timestamp,
             ((p_until - interval '1 microsecond') at time zone p_tz)::date::timestamp,
             interval '1 day') as d
  ),
  -- every day for every group seen in the window (one NULL group when not grouped), so a quiet day reads 0
  grps as (
    select distinct p.grp from per_day p
    union
    select null::text where p_group = 'none'
  )
  select d.day, g.grp,
         coalesce(p.runs, 0), coalesce(p.errors, 0), p.error_rate, p.pct[1], p.pct[2],
         coalesce(p.active_users, 0), coalesce(p.questions, 0), coalesce(p.tokens, 0)
    from days d
   cross join grps g
    left join per_day p on p.day = d.day and p.grp is not distinct from g.grp
   order by d.day, g.grp nulls last;
end;
$$;
comment on function dba_admin.usage_daily(timestamptz, timestamptz, text, text, text, text) is
  'Usage metrics per calendar day in p_tz over [p_since, p_until): runs, errors, p50/p95 of successful runs, '
  'active users, assistant questions and tokens; a day with nothing is a row of zeros.';

revoke all on function dba_admin.usage_check(timestamptz, timestamptz, text),
    dba_admin.usage_breakdown(timestamptz, timestamptz, text, text, text),
    dba_admin.usage_daily(timestamptz, timestamptz, text, text, text, text)
    from public, anon, authenticated, service_role;

-- The doors for a user's session: admins only, decided here ------------------------------------------------------
create or replace function dba_admin.usage_require_admin()
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if (select coalesce(auth.jwt() ->> 'app_role', auth.jwt() -> 'app_metadata' ->> 'app_role')) is distinct from 'admin'
  then
    raise exception 'usage metrics are for admins only'
      using errcode = 'insufficient_privilege',
            hint = 'An admin sees them on the Usage page or with `dba-admin usage`.';
  end if;
end;
$$;
comment on function dba_admin.usage_require_admin() is
  'Refuses (42501) unless the claim app_role of the transaction is admin, read as the admin policies read it.';
revoke all on function dba_admin.usage_require_admin() from public, anon, authenticated, service_role;

create or replace function dba_admin_api.usage_breakdown(
  p_since timestamptz, p_until timestamptz, p_connection text, p_role text, p_group text
)
returns table (
  grp text,
  runs bigint,
  succeeded bigint,
  errors bigint,
  cancelled bigint,
  interrupted bigint,
  running bigint,
  error_rate double precision,
  p50_ms double precision,
  p95_ms double precision,
  active_users bigint,
  questions bigint,
  tokens_in bigint,
  tokens_out bigint,
  logins bigint,
  login_users bigint,
  projects_created bigint,
  scripts_created bigint
)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform dba_admin.usage_require_admin();
  return query select * from dba_admin.usage_breakdown(p_since, p_until, p_connection, p_role, p_group);
end;
$$;
comment on function dba_admin_api.usage_breakdown(timestamptz, timestamptz, text, text, text) is
  'dba_admin.usage_breakdown for a user''s session: refused unless the claim app_role is admin.';

create or replace function dba_admin_api.usage_daily(
  p_since timestamptz, p_until timestamptz, p_connection text, p_role text, p_group text, p_tz text
)
returns table (
  day date,
  grp text,
  runs bigint,
  errors bigint,
  error_rate double precision,
  p50_ms double precision,
  p95_ms double precision,
  active_users bigint,
  questions bigint,
  tokens bigint
)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform dba_admin.usage_require_admin();
  return query select * from dba_admin.usage_daily(p_since, p_until, p_connection, p_role, p_group, p_tz);
end;
$$;
comment on function dba_admin_api.usage_daily(timestamptz, timestamptz, text, text, text, text) is
  'dba_admin.usage_daily for a user''s session: refused unless the claim app_role is admin.';

revoke all on function dba_admin_api.usage_breakdown(timestamptz, timestamptz, text, text, text),
    dba_admin_api.usage_daily(timestamptz, timestamptz, text, text, text, text)
    from public, anon, service_role;
grant execute on function dba_admin_api.usage_breakdown(timestamptz, timestamptz, text, text, text),
    dba_admin_api.usage_daily(timestamptz, timestamptz, text, text, text, text)
    to authenticated;
