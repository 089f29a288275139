-- sql/migrations/20261123000300_rls_policies.sql
-- Row-level security on every app table, and the table privileges of the API roles.
-- The app reads and writes app data inside a transaction that does `SET LOCAL ROLE authenticated` and sets
-- `request.jwt.claims` to the user's claims (dba_admin/rls.py) - what Supabase's API does - so these policies,
-- not the app's Python, decide who sees and changes what, on Supabase and on the embedded default alike.
--
-- Conventions (Supabase's advice; the advisors check our own schema too):
--   * every policy is `to authenticated`; anon gets no privilege at all on app tables;
--   * auth.* calls are wrapped as `(select auth.email())` so they run once per statement, not once per row;
--   * the admin policies read the claim `app_role`: top-level (set by the app, or by a Supabase custom access
--     token hook) or `app_metadata.app_role` (Supabase Auth; only the service key can write app_metadata).
--     Never user_metadata, which every user can edit. Admins read everything but the others' assistant Q&A;
--     they write only where an ordinary member could.
--   * membership of a project is always spelled out as owner-or-member in the policy, never delegated to the
--     projects' SELECT policies, so the admin read policy cannot turn into write access.

alter table public.projetos_analytics enable row level security;
alter table public.scripts_projetos enable row level security;
alter table public.scripts_projetos_versoes enable row level security;
alter table public.execucoes_scripts enable row level security;
alter table public.duvidas_analitics_ia enable row level security;

-- projetos_analytics ----------------------------------------------------------------------------------------
-- The original PetCare policy, kept by name.
create policy users_own_projects on public.projetos_analytics
    for select to authenticated
    using (created_by = (select auth.email()) or (select auth.email()) = any (membros));

create policy projetos_admin_read on public.projetos_analytics
    for select to authenticated
    using ((select coalesce(auth.jwt() ->> 'app_role', auth.jwt() -> 'app_metadata' ->> 'app_role')) = 'admin');

create policy projetos_insert_own on public.projetos_analytics
    for insert to authenticated
    with check (created_by = (select auth.email()));

-- Only the owner renames, archives, changes members; and cannot hand the row to someone else by accident.
create policy projetos_update_owner on public.projetos_analytics
    for update to authenticated
    using (created_by = (select auth.email()))
    with check (created_by = (select auth.email()));

create policy projetos_delete_owner on public.projetos_analytics
    for delete to authenticated
    using (created_by = (select auth.email()));

-- scripts_projetos ------------------------------------------------------------------------------------------
create policy scripts_select_members on public.scripts_projetos
    for select to authenticated
    using (exists (
        select 1 from public.projetos_analytics p
        where p.id = scripts_projetos.projeto_id
          and (p.created_by = (select auth.email()) or (select auth.email()) = any (p.membros))
    ));

create policy scripts_admin_read on public.scripts_projetos
    for select to authenticated
    using ((select coalesce(auth.jwt() ->> 'app_role', auth.jwt() -> 'app_metadata' ->> 'app_role')) = 'admin');

create policy scripts_insert_members on public.scripts_projetos
    for insert to authenticated
    with check (
        created_by = (select auth.email())
        and exists (
            select 1 from public.projetos_analytics p
            where p.id = scripts_projetos.projeto_id
              and (p.created_by = (select auth.email()) or (select auth.email()) = any (p.membros))
        )
    );

-- USING: a member of the current project; WITH CHECK: still a member of the (possibly new) project on a move.
create policy scripts_update_members on public.scripts_projetos
    for update to authenticated
    using (exists (
        select 1 from public.projetos_analytics p
        where p.id = scripts_projetos.projeto_id
          and (p.created_by = (select auth.email()) or (select auth.email()) = any (p.membros))
    ))
    with check (exists (
        select 1 from public.projetos_analytics p
        where p.id = scripts_projetos.projeto_id
          and (p.created_by = (select auth.email()) or (select auth.email()) = any (p.membros))
    ));

create policy scripts_delete_members on public.scripts_projetos
    for delete to authenticated
    using (exists (
        select 1 from public.projetos_analytics p
        where p.id = scripts_projetos.projeto_id
          and (p.created_by = (select auth.email()) or (select auth.email()) = any (p.membros))
    ));

-- scripts_projetos_versoes: read and append only. No UPDATE/DELETE policy and no such privilege: immutable.
-- (Deleting a script still removes its versions through the foreign key's ON DELETE CASCADE, which runs with
-- the table owner's rights.)
create policy versoes_select_members on public.scripts_projetos_versoes
    for select to authenticated
    using (exists (
        select 1
        from public.scripts_projetos s
        join public.projetos_analytics p on p.id = s.projeto_id
        where s.id = scripts_projetos_versoes.script_id
          and (p.created_by = (select auth.email()) or (select auth.email()) = any (p.membros))
    ));

create policy versoes_admin_read on public.scripts_projetos_versoes
    for select to authenticated
    using ((select coalesce(auth.jwt() ->> 'app_role', auth.jwt() -> 'app_metadata' ->> 'app_role')) = 'admin');

create policy versoes_insert_members on public.scripts_projetos_versoes
    for insert to authenticated
    with check (
        autor = (select auth.email())
        and exists (
            select 1
            from public.scripts_projetos s
            join public.projetos_analytics p on p.id = s.projeto_id
            where s.id = scripts_projetos_versoes.script_id
              and (p.created_by = (select auth.email()) or (select auth.email()) = any (p.membros))
        )
    );

-- execucoes_scripts: my runs, and the runs of the projects I am in. Insert my own runs only; a run filed under
-- a project needs membership of it, and its script must belong to that project. No update/delete: history.
create policy execucoes_select_own_or_members on public.execucoes_scripts
    for select to authenticated
    using (
        executado_por = (select auth.email())
        or (
            projeto_id is not null
            and exists (
                select 1 from public.projetos_analytics p
                where p.id = execucoes_scripts.projeto_id
                  and (p.created_by = (select auth.email()) or (select auth.email()) = any (p.membros))
            )
        )
    );

create policy execucoes_admin_read on public.execucoes_scripts
    for select to authenticated
    using ((select coalesce(auth.jwt() ->> 'app_role', auth.jwt() -> 'app_metadata' ->> 'app_role')) = 'admin');

create policy execucoes_insert_own on public.execucoes_scripts
    for insert to authenticated
    with check (
        executado_por = (select auth.email())
        and (user_id is null or user_id = (select auth.uid()))
        and (
            projeto_id is null
            or exists (
                select 1 from public.projetos_analytics p
                where p.id = execucoes_scripts.projeto_id
                  and (p.created_by = (select auth.email()) or (select auth.email()) = any (p.membros))
            )
        )
        and (
            script_id is null
            or exists (
                select 1 from public.scripts_projetos s
                where s.id = execucoes_scripts.script_id and s.projeto_id = execucoes_scripts.projeto_id
            )
        )
    );

-- duvidas_analitics_ia: strictly the asking user's own rows; no admin policy (conversations are private).
create policy duvidas_select_own on public.duvidas_analitics_ia
    for select to authenticated
    using (user_email = (select auth.email()));

create policy duvidas_insert_own on public.duvidas_analitics_ia
    for insert to authenticated
    with check (
        user_email = (select auth.email())
        and (user_id is null or user_id = (select auth.uid()))
    );

create policy duvidas_delete_own on public.duvidas_analitics_ia
    for delete to authenticated
    using (user_email = (select auth.email()));

-- Privileges -------------------------------------------------------------------------------------------------
-- Start from nothing (Supabase's default privileges grant ALL on new public tables to anon, authenticated and
-- service_role), then give authenticated exactly what the policies above are for. service_role gets nothing:
-- the app never reads user data with a key that bypasses RLS.
revoke all on public.projetos_analytics, public.scripts_projetos, public.scripts_projetos_versoes,
    public.execucoes_scripts, public.duvidas_analitics_ia
    from public, anon, authenticated, service_role;

grant select, insert, delete on public.projetos_analytics to authenticated;
-- Column list: id, created_by and the timestamps cannot be changed by an UPDATE at all.
grant update (nome, descricao, membros, arquivado_em) on public.projetos_analytics to authenticated;

grant select, insert, delete on public.scripts_projetos to authenticated;
grant update (projeto_id, nome, sql, versao_atual, updated_by) on public.scripts_projetos to authenticated;

grant select, insert on public.scripts_projetos_versoes to authenticated;
grant select, insert on public.execucoes_scripts to authenticated;
grant select, insert, delete on public.duvidas_analitics_ia to authenticated;
