-- sql/migrations/20261129005000_project_names_unique_per_owner.sql
-- One owner cannot have two live projects with the same name (issue 15, section 3). Names compare as people read
-- them: case and surrounding spaces do not make "Sales" and " sales " two different projects.
--
--   * Only live projects hold their name: a project in the trash does not, so a new project may take it. Restoring
--     a trashed project whose name was taken meanwhile is refused with a clear message by dba_admin/projects.py
--     (the trash trigger lets a restore change nothing but deleted_at, so it cannot rename on the way back).
--   * Archived projects are live: they keep their name.
--   * A workspace may already have duplicates (nothing refused them before). This migration keeps the oldest
--     project of each clash under its name and renames the later ones "name (2)", "name (3)", ... (a suffix that is
--     itself free for that owner), so the unique index can be built. The renames are visible in the project list;
--     their history (scripts, versions, runs) is untouched.

do $$
declare
  v_row record;
  v_base text;
  v_candidate text;
  v_n integer;
begin
  for v_row in
    select id, created_by, nome
    from (
      select p.id, p.created_by, p.nome,
             pg_catalog.row_number() over (
               partition by p.created_by, pg_catalog.lower(pg_catalog.btrim(p.nome))
               order by p.created_at, p.id
             ) as rank
      from public.projetos_analytics p
      where p.deleted_at is null
    ) ranked
    where rank > 1
    order by created_by, rank
  loop
    v_base := pg_catalog.left(pg_catalog.btrim(v_row.nome), 190);
    v_n := 2;
    loop
      v_candidate := v_base || ' (' || v_n || ')';
      exit when not exists (
        select 1 from public.projetos_analytics q
        where q.created_by = v_row.created_by
          and q.deleted_at is null
          and pg_catalog.lower(pg_catalog.btrim(q.nome)) = pg_catalog.lower(v_candidate)
      );
      v_n := v_n + 1;
    end loop;
    update public.projetos_analytics set nome = v_candidate where id = v_row.id;
    raise notice 'project % of % renamed from "%" to "%" (duplicate name)', v_row.id, v_row.created_by, v_row.nome,
      v_candidate;
  end loop;
end;
$$;

create unique index projetos_analytics_owner_name_live_key
    on public.projetos_analytics (created_by, pg_catalog.lower(pg_catalog.btrim(nome)))
    where deleted_at is null;
comment on index public.projetos_analytics_owner_name_live_key is
  'One live project per name and owner (case and surrounding spaces ignored); trashed projects do not hold a name.';
