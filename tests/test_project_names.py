"""Project names are unique per owner (issue 15, section 3), decided by the database's index, said clearly by the core.

Against the suite's real workspace: create and rename are refused with "You already have a project named …",
case and surrounding spaces do not make a different name, other owners and trashed projects do not hold a name,
a restore into a name taken meanwhile is refused, and the migration renames duplicates an older workspace has.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from db_helpers import user

from dba_admin.errors import ConflictError
from dba_admin.migrations import apply_local_compat, apply_migrations, discover_migrations
from dba_admin.projects import ProjectManager

MIGRATION = "20261129005000_project_names_unique_per_owner.sql"


def tag() -> str:
    return uuid.uuid4().hex[:8]


def test_create_refuses_a_name_the_owner_already_has(pm: ProjectManager) -> None:
    owner, other = user("names-owner"), user("names-other")
    name = f'Sales "Q1" {tag()}'  # quotes on purpose
    first = pm.create_project(owner, name)
    with pytest.raises(ConflictError, match=r"You already have a project named .*choose another name"):
        pm.create_project(owner, f"  {name.upper()} ")  # case and surrounding spaces are the same name
    assert [p.id for p in pm.list_projects(owner) if p.name.lower() == name.lower()] == [first.id]
    assert pm.create_project(other, name).name == name, "another owner may use the same name"


def test_rename_refuses_a_name_the_owner_already_has(pm: ProjectManager) -> None:
    owner = user("names-rename")
    a = pm.create_project(owner, f"alpha {tag()}")
    b = pm.create_project(owner, f"beta {tag()}")
    with pytest.raises(ConflictError, match=rf"You already have a project named '{a.name.title()}'"):
        pm.rename_project(owner, b.id, a.name.title())
    assert pm.get_project(owner, b.id).name == b.name, "nothing changed"
    assert pm.rename_project(owner, b.id, b.name + " renamed").name == b.name + " renamed"


def test_a_trashed_project_frees_its_name_and_its_restore_into_a_taken_name_is_refused(pm: ProjectManager) -> None:
    owner = user("names-trash")
    name = f"reports {tag()}"
    old = pm.create_project(owner, name)
    pm.delete_project(owner, old.id)
    new = pm.create_project(owner, name)  # the trashed one does not hold the name
    with pytest.raises(ConflictError, match=r"You already have a project named .*rename the other project first"):
        pm.restore_project(owner, old.id)
    assert {t.kind for t in pm.list_trash(owner) if t.id == old.id} == {"project"}, "still in the trash"
    pm.rename_project(owner, new.id, name + " (new)")
    assert pm.restore_project(owner, old.id).name == name


def test_the_migration_renames_existing_duplicates(empty_db_dsn: str, tmp_path: Path) -> None:
    """A workspace that already has duplicates: the oldest keeps the name, later ones get a free suffix."""
    earlier = [m for m in discover_migrations() if m.label < MIGRATION]
    for m in earlier:
        shutil.copy(m.path, tmp_path / m.label)
    owner = "dup-owner@example.com"
    with psycopg.connect(empty_db_dsn, autocommit=True) as conn:
        apply_local_compat(conn)
        apply_migrations(conn, tmp_path)

        def add(name: str, who: str = owner, minutes: int = 0) -> Any:
            row = conn.execute(
                "insert into public.projetos_analytics (nome, created_by, created_at)"
                " values (%s, %s, now() + make_interval(mins => %s)) returning id",
                (name, who, minutes),
            ).fetchone()
            assert row is not None
            return row[0]

        first = add("Sales", minutes=0)
        second = add(" sales ", minutes=1)
        third = add("SALES", minutes=2)
        taken = add("Sales (2)", minutes=3)  # the first suffix is already used by a real project
        someone_else = add("Sales", who="other@example.com", minutes=4)
        applied = apply_migrations(conn)
        assert MIGRATION in applied
        names = dict(conn.execute("select id, nome from public.projetos_analytics").fetchall())
        assert names[first] == "Sales"
        assert names[taken] == "Sales (2)"
        assert {names[second], names[third]} == {"sales (3)", "SALES (4)"}
        assert names[someone_else] == "Sales"
        with pytest.raises(psycopg.errors.UniqueViolation):
            add("sales")
