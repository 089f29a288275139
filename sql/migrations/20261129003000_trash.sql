-- sql/migrations/20261129003000_trash.sql
-- Nothing is deleted for good by a normal action (issue 12, section 1): deleting a project or a script moves it to a
-- trash, from which its owner restores it; only an admin (or the age limit, TRASH_RETENTION_DAYS) purges it.
--
--   * deleted_at / deleted_by on projetos_analytics and scripts_projetos. A trashed row keeps every version and run;
--     the app's lists and searches leave it out. A trigger stamps both columns (deleted_at is now(), deleted_by the
--     user of the claims), so neither can be forged, and freezes a trashed row: the only change it accepts is its
--     restore. Scripts of a trashed project are frozen too, and no script can be created in one.
--   * Who may trash or restore a script: its project's owner or its author (scripts_projetos.created_by), not any
--     member. A RESTRICTIVE update policy says so in the database; a member's UPDATE that sets deleted_at fails the
--     policy's WITH CHECK, and a trashed script is not even lockable (FOR UPDATE) by other members. Projects were
--     owner-only to change already (projetos_update_owner).
--   * No DELETE for ordinary users any more: the delete policies now let only an admin remove a row, and only one
--     that is in the trash (a purge). Versions go with the script (ON DELETE CASCADE, with the table owner's
--     rights); runs stay in the history, detached (ON DELETE SET NULL), as before.
--   * A trashed script no longer holds its name: the (project, name) key becomes unique among live scripts only. A
--     restore into a name taken meanwhile gets a suffix (dba_admin/projects.py).

alter table public.projetos_analytics
    add column deleted_at timestamptz,
    add column deleted_by text;
comment on column public.projetos_analytics.deleted_at is
    'When the project was moved to the trash; NULL while live. Purged by an admin or after TRASH_RETENTION_DAYS.';
comment on column public.projetos_analytics.deleted_by is 'Email of the user who moved the project to the trash.';

alter table public.scripts_projetos
    add column deleted_at timestamptz,
    add column deleted_by text;
comment on column public.scripts_projetos.deleted_at is
    'When the script was moved to the trash; NULL while live. Its versions and runs are kept until it is purged.';
comment on column public.scripts_projetos.deleted_by is 'Email of the user who moved the script to the trash.';

create index projetos_analytics_deleted_at_idx on public.projetos_analytics (deleted_at) where deleted_at is not null;
create index scripts_projetos_deleted_at_idx on public.scripts_projetos (deleted_at) where deleted_at is not null;

-- Names are unique among live scripts only; the foreign key keeps an index of its own (the unique one is partial).
alter table public.scripts_projetos drop constraint scripts_projetos_projeto_nome_key;
create unique index scripts_projetos_projeto_nome_live_key on public.scripts_projetos (projeto_id, nome)
    where deleted_at is null;
create index scripts_projetos_projeto_id_idx on public.scripts_projetos (projeto_id);

-- Triggers: stamp the trash columns and freeze trashed rows ------------------------------------------------------
create or replace function dba_admin.guard_trash_projeto()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    new.deleted_at := null;
    new.deleted_by := null;
    return new;
  end if;
  if old.deleted_at is not null then
    if new.deleted_at is not null then
      raise exception 'project "%" is in the trash', old.nome
        using errcode = 'object_not_in_prerequisite_state',
              hint = 'Its owner can restore it from the trash; then change it.';
    end if;
    if (new.nome, new.descricao, new.membros, new.arquivado_em)
       is distinct from (old.nome, old.descricao, old.membros, old.arquivado_em) then
      raise exception 'restoring project "%" from the trash changes nothing else', old.nome
        using errcode = 'object_not_in_prerequisite_state', hint = 'Restore it first, then change it.';
    end if;
    new.deleted_by := null;
    new.updated_at := old.updated_at;
  elsif new.deleted_at is not null then
    if (new.nome, new.descricao, new.membros, new.arquivado_em)
       is distinct from (old.nome, old.descricao, old.membros, old.arquivado_em) then
      raise exception 'moving project "%" to the trash changes nothing else', old.nome
        using errcode = 'object_not_in_prerequisite_state';
    end if;
    new.deleted_at := pg_catalog.now();
    new.deleted_by := coalesce(auth.email(), session_user::text);
    new.updated_at := old.updated_at;
  else
    new.deleted_by := old.deleted_by;
  end if;
  return new;
end;
$$;
comment on function dba_admin.guard_trash_projeto() is
  'projetos_analytics trigger: stamps deleted_at/deleted_by on a move to the trash; a trashed project accepts only its restore.';

create or replace function dba_admin.guard_trash_script()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_trashed_project text;
begin
  -- The invoker's view of the projects is enough: a user who cannot see the project cannot write the script either.
  select p.nome into v_trashed_project
  from public.projetos_analytics p
  where p.deleted_at is not null
    and (p.id = new.projeto_id or (tg_op = 'UPDATE' and p.id = old.projeto_id))
  limit 1;
  if found then
    raise exception 'project "%" is in the trash: its scripts cannot change', v_trashed_project
      using errcode = 'object_not_in_prerequisite_state',
            hint = 'The project''s owner can restore it from the trash.';
  end if;
  if tg_op = 'INSERT' then
    new.deleted_at := null;
    new.deleted_by := null;
    return new;
  end if;
  if old.deleted_at is not null then
    if new.deleted_at is not null then
      raise exception 'script "%" is in the trash', old.nome
        using errcode = 'object_not_in_prerequisite_state',
              hint = 'The project''s owner or the script''s author can restore it from the trash; then change it.';
    end if;
    -- A restore may rename (the old name may be taken meanwhile); nothing else.
    if (new.projeto_id, new.sql, new.versao_atual) is distinct from (old.projeto_id, old.sql, old.versao_atual) then
      raise exception 'restoring script "%" from the trash changes nothing but its name', old.nome
        using errcode = 'object_not_in_prerequisite_state', hint = 'Restore it first, then change it.';
    end if;
    new.deleted_by := null;
    new.updated_by := old.updated_by;
    new.updated_at := old.updated_at;
  elsif new.deleted_at is not null then
    if (new.projeto_id, new.nome, new.sql, new.versao_atual)
       is distinct from (old.projeto_id, old.nome, old.sql, old.versao_atual) then
      raise exception 'moving script "%" to the trash changes nothing else', old.nome
        using errcode = 'object_not_in_prerequisite_state';
    end if;
    new.deleted_at := pg_catalog.now();
    new.deleted_by := coalesce(auth.email(), session_user::text);
    new.updated_by := old.updated_by;
    new.updated_at := old.updated_at;
  else
    new.deleted_by := old.deleted_by;
  end if;
  return new;
end;
$$;
comment on function dba_admin.guard_trash_script() is
  'scripts_projetos trigger: stamps deleted_at/deleted_by on a move to the trash; a trashed script (or one of a trashed project) accepts only its restore.';

revoke all on function dba_admin.guard_trash_projeto(), dba_admin.guard_trash_script()
    from public, anon, authenticated, service_role;

-- Named to run after the existing *_normalize / *_stamp triggers (same event: alphabetical order), so the values
-- those set are checked and, on a trash or restore, put back.
create trigger projetos_analytics_trash_guard before insert or update on public.projetos_analytics
    for each row execute function dba_admin.guard_trash_projeto();
create trigger scripts_projetos_trash_guard before insert or update on public.scripts_projetos
    for each row execute function dba_admin.guard_trash_script();

-- Policies ------------------------------------------------------------------------------------------------------
-- Trash and restore a script: its project's owner or its author. RESTRICTIVE, so it narrows the members' update
-- policy instead of widening it: USING keeps other members from touching (or locking) a trashed script, WITH CHECK
-- from trashing one (the trigger has stamped deleted_at before the check runs).
create policy scripts_trash_owner_or_author on public.scripts_projetos
    as restrictive
    for update to authenticated
    using (
        deleted_at is null
        or created_by = (select auth.email())
        or exists (
            select 1 from public.projetos_analytics p
            where p.id = scripts_projetos.projeto_id and p.created_by = (select auth.email())
        )
    )
    with check (
        deleted_at is null
        or created_by = (select auth.email())
        or exists (
            select 1 from public.projetos_analytics p
            where p.id = scripts_projetos.projeto_id and p.created_by = (select auth.email())
        )
    );

-- Deleting a row for good is a purge: an admin, and only rows already in the trash.
drop policy projetos_delete_owner on public.projetos_analytics;
create policy projetos_purge_admin on public.projetos_analytics
    for delete to authenticated
    using (
        deleted_at is not null
        and (select coalesce(auth.jwt() ->> 'app_role', auth.jwt() -> 'app_metadata' ->> 'app_role')) = 'admin'
    );

drop policy scripts_delete_members on public.scripts_projetos;
create policy scripts_purge_admin on public.scripts_projetos
    for delete to authenticated
    using (
        deleted_at is not null
        and (select coalesce(auth.jwt() ->> 'app_role', auth.jwt() -> 'app_metadata' ->> 'app_role')) = 'admin'
    );

-- deleted_at is the one new column a user's UPDATE may name (the trigger decides its value); deleted_by never.
grant update (deleted_at) on public.projetos_analytics to authenticated;
grant update (deleted_at) on public.scripts_projetos to authenticated;
