-- Versions and runs are written only through the rules (issue 12, section 1).
--
-- Before this file, a session as `authenticated` with a member's claims (what any Supabase client holding a JWT
-- can be) could change scripts_projetos.sql without a new version, insert version 999, and insert a successful run
-- of anything. Now the database itself refuses that:
--
--   * Scripts and versions: authenticated may no longer INSERT scripts or versions, nor UPDATE sql/versao_atual.
--     A script is created, and its text changed, only by two SECURITY DEFINER functions in dba_admin_api (the
--     schema no API exposes): create_script writes the script with version 1; save_version locks the script and
--     writes version current+1 together with the new current text. The caller is the email of the verified claims,
--     never a parameter, and must be the project's owner or a member; an archived project is read-only.
--     Renaming and moving stay plain UPDATEs under the existing policies (no text changes with them).
--   * Triggers hold the same rules for every role, the owner included: the current text changes only with a new
--     version numbered current+1; a version is numbered max+1 and matches the script's current text; at commit the
--     script's current text is its latest version; versions are never updated, and deleted only together with their
--     script (the foreign key's ON DELETE CASCADE).
--   * Runs: authenticated has no INSERT/UPDATE/DELETE on execucoes_scripts at all, and no function writes one. The
--     app writes runs on its owner connection (the trusted server side), with the actor from its verified session.
--     Reads stay under RLS as before. A run's identity (who, what, where, when, which backend) never changes once
--     written, and a finished outcome is final.

-- Runs -------------------------------------------------------------------------------------------------------
drop policy if exists execucoes_insert_own on public.execucoes_scripts;
revoke insert, update, delete, truncate on public.execucoes_scripts from public, anon, authenticated, service_role;

create or replace function dba_admin.guard_run_update()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if (new.executado_por, new.user_id, new.sql_executado, new.started_at, new.versao, new.banco, new.backend_pid,
      new.backend_start, new.app_instance)
     is distinct from
     (old.executado_por, old.user_id, old.sql_executado, old.started_at, old.versao, old.banco, old.backend_pid,
      old.backend_start, old.app_instance)
     or (new.script_id is distinct from old.script_id and new.script_id is not null)
     or (new.projeto_id is distinct from old.projeto_id and new.projeto_id is not null) then
    raise exception 'run %: who ran what, where and when never changes once recorded', old.id
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
  'execucoes_scripts trigger: who/what/where/when of a run never change; a finished outcome is final (running or interrupted rows may be finished once).';
create trigger execucoes_scripts_guard before update on public.execucoes_scripts
    for each row execute function dba_admin.guard_run_update();

-- Scripts and versions: privileges ------------------------------------------------------------------------------
drop policy if exists scripts_insert_members on public.scripts_projetos;
drop policy if exists versoes_insert_members on public.scripts_projetos_versoes;
revoke insert on public.scripts_projetos from public, anon, authenticated, service_role;
revoke update (sql, versao_atual) on public.scripts_projetos from public, anon, authenticated, service_role;
revoke insert, update, delete, truncate on public.scripts_projetos_versoes from public, anon, authenticated, service_role;

-- Scripts and versions: the rules, for every role ---------------------------------------------------------------
create or replace function dba_admin.script_text_rule()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    if new.versao_atual <> 1 then
      raise exception 'a new script starts at version 1, not %', new.versao_atual
        using errcode = 'check_violation';
    end if;
  elsif (new.sql is distinct from old.sql or new.versao_atual is distinct from old.versao_atual)
        and new.versao_atual is distinct from old.versao_atual + 1 then
    raise exception 'the text of script % changes only with a new version numbered %', old.id, old.versao_atual + 1
      using errcode = 'check_violation',
            hint = 'Save through dba_admin_api.save_version, which writes the version and the text together.';
  end if;
  return new;
end;
$$;
comment on function dba_admin.script_text_rule() is
  'scripts_projetos trigger: a new script is version 1; the text or the version number change only to current+1.';
create trigger scripts_projetos_text_rule before insert or update on public.scripts_projetos
    for each row execute function dba_admin.script_text_rule();

create or replace function dba_admin.script_has_its_version()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  cur_sql text;
  cur_version integer;
begin
  select s.sql, s.versao_atual into cur_sql, cur_version from public.scripts_projetos s where s.id = new.id;
  if not found then
    return null;  -- deleted later in the same transaction
  end if;
  if not exists (
    select 1 from public.scripts_projetos_versoes v
    where v.script_id = new.id and v.versao = cur_version and v.sql = cur_sql
  ) then
    raise exception 'script % is at version % but no such version holds its text', new.id, cur_version
      using errcode = 'check_violation',
            hint = 'The current text changes only together with a new version (dba_admin_api.save_version).';
  end if;
  return null;
end;
$$;
comment on function dba_admin.script_has_its_version() is
  'Deferred check at commit: the current text of a script is its latest version.';
create constraint trigger scripts_projetos_has_version
    after insert or update of sql, versao_atual on public.scripts_projetos
    deferrable initially deferred
    for each row execute function dba_admin.script_has_its_version();

create or replace function dba_admin.version_rules()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  cur_sql text;
  cur_version integer;
  last_version integer;
begin
  if tg_op = 'INSERT' then
    select s.sql, s.versao_atual into cur_sql, cur_version
      from public.scripts_projetos s where s.id = new.script_id for update;
    select max(v.versao) into last_version from public.scripts_projetos_versoes v where v.script_id = new.script_id;
    if new.versao <> coalesce(last_version, 0) + 1 then
      raise exception 'versions of script % are numbered without gaps: the next one is %, not %',
        new.script_id, coalesce(last_version, 0) + 1, new.versao
        using errcode = 'check_violation';
    end if;
    if new.versao is distinct from cur_version or new.sql is distinct from cur_sql then
      raise exception 'version % of script % must be written together with the script''s current text', new.versao,
        new.script_id
        using errcode = 'check_violation',
              hint = 'Save through dba_admin_api.save_version.';
    end if;
    return new;
  elsif tg_op = 'DELETE' then
    -- Only the foreign key's cascade, once the script itself is gone (deleting or purging a script).
    if exists (select 1 from public.scripts_projetos s where s.id = old.script_id) then
      raise exception 'versions are kept: version % of script % cannot be deleted while its script exists',
        old.versao, old.script_id
        using errcode = 'insufficient_privilege';
    end if;
    return old;
  end if;
  raise exception 'versions are immutable: % on scripts_projetos_versoes is not allowed', tg_op
    using errcode = 'insufficient_privilege';
end;
$$;
comment on function dba_admin.version_rules() is
  'scripts_projetos_versoes trigger: numbered max+1 with the script''s current text; never updated; deleted only with the script.';
create trigger scripts_projetos_versoes_rules before insert or update or delete on public.scripts_projetos_versoes
    for each row execute function dba_admin.version_rules();
create trigger scripts_projetos_versoes_no_truncate before truncate on public.scripts_projetos_versoes
    for each statement execute function dba_admin.version_rules();

revoke all on function dba_admin.guard_run_update(), dba_admin.script_text_rule(), dba_admin.script_has_its_version(),
    dba_admin.version_rules() from public, anon, authenticated, service_role;

-- The only doors for a user's session: create a script, save a version -------------------------------------------
create or replace function dba_admin_api.create_script(p_project_id uuid, p_name text, p_sql text, p_message text)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_email text := nullif(auth.email(), '');
  v_owner text;
  v_members text[];
  v_archived timestamptz;
  v_id uuid;
begin
  if v_email is null then
    raise exception 'no user claims: a script needs the caller''s email' using errcode = 'insufficient_privilege';
  end if;
  select p.created_by, p.membros, p.arquivado_em into v_owner, v_members, v_archived
    from public.projetos_analytics p where p.id = p_project_id for share;
  if not found or not (v_owner = v_email or v_email = any (v_members)) then
    raise exception 'only members of project % can add scripts to it', p_project_id
      using errcode = 'insufficient_privilege';
  end if;
  if v_archived is not null then
    raise exception 'project % is archived; its owner must unarchive it before changes', p_project_id
      using errcode = 'object_not_in_prerequisite_state';
  end if;
  insert into public.scripts_projetos (projeto_id, nome, sql, versao_atual, created_by, updated_by)
  values (p_project_id, p_name, coalesce(p_sql, ''), 1, v_email, v_email)
  returning id into v_id;
  insert into public.scripts_projetos_versoes (script_id, versao, sql, mensagem, autor)
  values (v_id, 1, coalesce(p_sql, ''), p_message, v_email);
  return v_id;
end;
$$;
comment on function dba_admin_api.create_script(uuid, text, text, text) is
  'Creates a script with its version 1, for the calling member (email from the verified claims); returns its id.';

create or replace function dba_admin_api.save_version(
  p_script_id uuid, p_from_version integer, p_sql text, p_message text
)
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_email text := nullif(auth.email(), '');
  v_current integer;
  v_sql text;
  v_owner text;
  v_members text[];
  v_archived timestamptz;
  v_id bigint;
begin
  if v_email is null then
    raise exception 'no user claims: a version needs the caller''s email' using errcode = 'insufficient_privilege';
  end if;
  select s.versao_atual, s.sql, p.created_by, p.membros, p.arquivado_em
    into v_current, v_sql, v_owner, v_members, v_archived
    from public.scripts_projetos s join public.projetos_analytics p on p.id = s.projeto_id
   where s.id = p_script_id
     for update of s;
  if not found or not (v_owner = v_email or v_email = any (v_members)) then
    raise exception 'only members of its project can save script %', p_script_id
      using errcode = 'insufficient_privilege';
  end if;
  if v_archived is not null then
    raise exception 'the project of script % is archived; its owner must unarchive it before changes', p_script_id
      using errcode = 'object_not_in_prerequisite_state';
  end if;
  if v_current is distinct from p_from_version then
    raise exception 'script % is at version %, not %: someone saved since; reload it and save again',
      p_script_id, v_current, p_from_version
      using errcode = 'serialization_failure';
  end if;
  if v_sql = p_sql then
    return null;  -- the same text: no new version
  end if;
  update public.scripts_projetos set sql = p_sql, versao_atual = v_current + 1 where id = p_script_id;
  insert into public.scripts_projetos_versoes (script_id, versao, sql, mensagem, autor)
  values (p_script_id, v_current + 1, p_sql, p_message, v_email)
  returning id into v_id;
  return v_id;
end;
$$;
comment on function dba_admin_api.save_version(uuid, integer, text, text) is
  'Saves a new current text of a script as version current+1 (edited from p_from_version), for the calling member; returns the version id, or NULL when the text is unchanged.';

revoke all on function dba_admin_api.create_script(uuid, text, text, text),
    dba_admin_api.save_version(uuid, integer, text, text) from public, anon, service_role;
grant execute on function dba_admin_api.create_script(uuid, text, text, text),
    dba_admin_api.save_version(uuid, integer, text, text) to authenticated;
