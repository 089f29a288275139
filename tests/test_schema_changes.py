"""The DDL builders of the create/change dialogs, on a real scratch database, run through the guarded write path.

Each builder's DDL is run as a DBA would through ``schema_changes.run_plan`` (ProjectManager.run_adhoc on the
connection's DBA login, never a superuser) and its effect read back from the catalog. Names carry quotes, spaces
and capitals; typed types and expressions that are not what they claim are refused before anything runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from db_helpers import scratch_connection, user

from dba_admin import schema_changes as sc
from dba_admin.database import DatabaseManager
from dba_admin.errors import PermissionDenied
from dba_admin.projects import ProjectManager
from dba_admin.schema_changes import ColumnSpec, DdlPlan, PolicySpec

ODD = 'Odd "Tab" name'  # quotes, a space and capitals


@pytest.fixture(scope="module")
def target(app_db: Any, pg_server: Any) -> Iterator[DatabaseManager]:
    from conftest import scratch_database

    with scratch_database(pg_server.dsn, "ddl") as dsn:
        manager = scratch_connection(app_db, dsn)
        try:
            yield manager
        finally:
            manager.close()


@pytest.fixture(scope="module")
def pm(target: DatabaseManager) -> ProjectManager:
    return ProjectManager(target)


@pytest.fixture(scope="module")
def dba() -> Any:
    return user("dba", "dba")


def build(db: DatabaseManager, fn: Any, *args: Any, **kwargs: Any) -> DdlPlan:
    plan: DdlPlan = sc.prepare(db, lambda conn: fn(conn, *args, **kwargs))
    return plan


def run(pm: ProjectManager, claims: Any, db: DatabaseManager, plan: DdlPlan) -> sc.DdlRun:
    result = sc.run_plan(pm, claims, db, plan, confirmed=bool(plan.destructive))
    assert result.outcome.ok, (result.outcome.status, result.outcome.results and result.outcome.results[-1].error)
    return result


def one(db: DatabaseManager, query: str, *params: Any) -> Any:
    with db.dba_connection() as conn, conn.transaction(force_rollback=True):
        row = conn.execute(query, params).fetchone()
    return row[0] if row else None


def column_info(db: DatabaseManager, table: str, column: str) -> tuple[str, bool, str | None] | None:
    with db.dba_connection() as conn, conn.transaction(force_rollback=True):
        row = conn.execute(
            "select format_type(atttypid, atttypmod), attnotnull, pg_get_expr(d.adbin, d.adrelid)"
            " from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum"
            " where attrelid = %s::regclass and attname = %s and not attisdropped",
            (psycopg.sql.Identifier("public", table).as_string(conn), column),
        ).fetchone()
    return (row[0], row[1], row[2]) if row else None


@pytest.fixture
def table(pm: ProjectManager, dba: Any, target: DatabaseManager) -> Iterator[str]:
    """A fresh table with an odd name: "Odd "Tab" name <hex>" (id, "Total Due", note)."""
    name = f"{ODD} {uuid.uuid4().hex[:6]}"
    plan = build(
        target,
        sc.create_table,
        "public",
        name,
        [
            ColumnSpec("id", "bigint", primary_key=True, default=None),
            ColumnSpec("Total Due", "numeric(12,2)", not_null=True, default="0"),
            ColumnSpec("note", "text"),
        ],
        comment="made by a test",
    )
    run(pm, dba, target, plan)
    yield name
    with target.dba_connection() as conn:
        conn.execute(psycopg.sql.SQL("drop table if exists {} cascade").format(psycopg.sql.Identifier("public", name)))
        conn.commit()


def test_create_table_with_odd_names_runs_and_is_recorded(
    table: str, target: DatabaseManager, app_db: Any, dba: Any
) -> None:
    assert column_info(target, table, "Total Due") == ("numeric(12,2)", True, "0")
    assert column_info(target, table, "id") == ("bigint", True, None)
    assert one(target, "select obj_description(%s::regclass)", f'public."{table.replace(chr(34), chr(34) * 2)}"') == (
        "made by a test"
    )
    with psycopg.connect(app_db.dsn) as conn:
        runs = conn.execute(
            "select sql_executado, status from public.execucoes_scripts where executado_por = %s and sql_executado"
            " like %s",
            (dba.normalized_email, "CREATE TABLE%"),
        ).fetchall()
        audited = conn.execute(
            "select count(*) from dba_admin.audit_log where action = 'sql.run' and actor = %s",
            (dba.normalized_email,),
        ).fetchone()
    assert any(table.replace('"', '""') in r[0] for r in runs), runs
    assert {r[1] for r in runs if table.replace('"', '""') in r[0]} <= {"success", "sucesso"}, runs
    assert audited is not None and audited[0] >= 1


def test_bad_types_and_expressions_are_refused_before_anything_runs(target: DatabaseManager) -> None:
    for bad in ("no_such_type", "int; drop table x", "int -- c", "text default 'x'", "setof int", ""):
        with pytest.raises(ValueError, match="type"):
            build(target, sc.create_table, "public", "never", [ColumnSpec("a", bad)])
    with pytest.raises(ValueError, match="one expression"):
        build(target, sc.create_table, "public", "never", [ColumnSpec("a", "int", default="1; drop table x")])
    with pytest.raises(ValueError, match="closing parenthesis"):
        build(target, sc.create_table, "public", "never", [ColumnSpec("a", "int", default="1); drop table x; --")])
    with pytest.raises(ValueError, match="comment"):
        build(target, sc.create_table, "public", "never", [ColumnSpec("a", "int", default="1 -- x")])
    with pytest.raises(ValueError, match="left open"):
        build(target, sc.create_table, "public", "never", [ColumnSpec("a", "text", default="'x")])
    with pytest.raises(ValueError, match="refused by the server"):
        build(target, sc.create_table, "public", "never", [ColumnSpec("a", "date", default="no_such_function()")])
    with pytest.raises(ValueError, match="refused by the server"):
        build(target, sc.create_table, "public", "never", [ColumnSpec("a", "int", default="'abc'")])
    assert one(target, "select to_regclass('public.never')") is None
    with target.dba_connection() as conn:
        sc.check_expression(conn, "now()", what="a default", as_type="timestamptz")
        left = conn.execute("select count(*) from pg_prepared_statements where name like '_dba_admin_check%'")
        assert left.fetchone() == (0,), "the check's prepared statement is deallocated"
        conn.rollback()


def test_columns_add_alter_rename_drop(table: str, pm: ProjectManager, dba: Any, target: DatabaseManager) -> None:
    run(
        pm,
        dba,
        target,
        build(target, sc.add_column, "public", table, ColumnSpec("Due On", "date", default="current_date")),
    )
    assert column_info(target, table, "Due On") == ("date", False, "CURRENT_DATE")
    plan = build(target, sc.alter_column, "public", table, "Due On", type="timestamp with time zone", not_null=True)
    assert plan.destructive and "converts every value" in plan.destructive[0]
    run(pm, dba, target, plan)
    assert column_info(target, table, "Due On") == ("timestamp with time zone", True, "CURRENT_DATE")
    run(pm, dba, target, build(target, sc.alter_column, "public", table, "Due On", default=None, not_null=False))
    assert column_info(target, table, "Due On") == ("timestamp with time zone", False, None)
    run(pm, dba, target, build(target, sc.alter_column, "public", table, "note", default="'n/a'"))
    assert column_info(target, table, "note") == ("text", False, "'n/a'::text")
    run(pm, dba, target, build(target, sc.rename_column, "public", table, "Due On", 'Due "At"'))
    assert column_info(target, table, 'Due "At"') is not None and column_info(target, table, "Due On") is None
    plan = build(target, sc.drop_column, "public", table, 'Due "At"')
    assert plan.destructive == (f'drops column Due "At" of public.{table} and its data',)
    with pytest.raises(PermissionDenied, match="confirm"):
        sc.run_plan(pm, dba, target, plan, confirmed=False)
    assert column_info(target, table, 'Due "At"') is not None, "nothing ran unconfirmed"
    run(pm, dba, target, plan)
    assert column_info(target, table, 'Due "At"') is None


def test_index_concurrently_runs_outside_a_transaction_with_the_default_name(
    table: str, pm: ProjectManager, dba: Any, target: DatabaseManager
) -> None:
    plan = build(target, sc.create_index, "public", table, ["Total Due", "note"], where="note IS NOT NULL")
    assert plan.single_transaction is False and "CONCURRENTLY" in plan.sql
    expected = f"{table}_Total Due_note_idx"
    assert plan.index == ("public", expected)
    run(pm, dba, target, plan)
    definition = one(target, "select indexdef from pg_indexes where indexname = %s", expected)
    assert "WHERE (note IS NOT NULL)" in definition
    again = build(target, sc.create_index, "public", table, ["Total Due", "note"])
    assert again.index == ("public", expected + "1"), "the next free name, as PostgreSQL picks it"
    for method in ("hash", "brin"):
        run(pm, dba, target, build(target, sc.create_index, "public", table, ["id"], method=method, concurrently=False))
    methods = one(
        target,
        "select array_agg(amname::text order by amname) from pg_index i join pg_class c on"
        " c.oid = i.indexrelid join pg_am a on a.oid = c.relam where indrelid = %s::regclass",
        psycopg.sql.Identifier("public", table).as_string(None),
    )
    assert {"btree", "hash", "brin"} <= set(methods)
    drop = build(target, sc.drop_index, "public", expected)
    assert drop.single_transaction is False and drop.destructive
    run(pm, dba, target, drop)
    assert one(target, "select count(*) from pg_indexes where indexname = %s", expected) == 0
    with pytest.raises(ValueError, match="btree"):
        build(target, sc.create_index, "public", table, ["id"], method="hash", unique=True)


def test_a_failed_concurrent_build_reports_its_invalid_index(
    table: str, pm: ProjectManager, dba: Any, target: DatabaseManager
) -> None:
    with target.dba_connection() as conn:
        conn.execute(
            psycopg.sql.SQL("insert into {} (id, note) values (1, 'same'), (2, 'same')").format(
                psycopg.sql.Identifier("public", table)
            )
        )
        conn.commit()
    plan = build(target, sc.create_index, "public", table, ["note"], unique=True, name="Dup Note")
    result = sc.run_plan(pm, dba, target, plan)
    assert not result.outcome.ok and result.outcome.results[0].error is not None
    assert result.outcome.results[0].error.sqlstate == "23505"
    assert result.invalid_index == "public.Dup Note"
    assert result.drop_invalid_sql == 'DROP INDEX CONCURRENTLY "public"."Dup Note";'
    with target.dba_connection() as conn, conn.transaction(force_rollback=True):
        assert sc.invalid_index(conn, "public", "Dup Note")
    run(pm, dba, target, build(target, sc.drop_index, "public", "Dup Note"))
    assert one(target, "select count(*) from pg_indexes where indexname = 'Dup Note'") == 0


def test_constraints_unique_check_foreign_key_and_drop(
    table: str, pm: ProjectManager, dba: Any, target: DatabaseManager
) -> None:
    parent = f"Parent {uuid.uuid4().hex[:6]}"
    run(
        pm,
        dba,
        target,
        build(target, sc.create_table, "public", parent, [ColumnSpec("Code", "text", primary_key=True)]),
    )
    try:
        run(pm, dba, target, build(target, sc.add_column, "public", table, ColumnSpec("Parent Code", "text")))
        run(pm, dba, target, build(target, sc.add_unique, "public", table, ["note"]))
        run(pm, dba, target, build(target, sc.add_check, "public", table, '"Total Due" >= 0', name="Non Negative"))
        fk = build(
            target,
            sc.add_foreign_key,
            "public",
            table,
            ["Parent Code"],
            "public",
            parent,
            ["Code"],
            on_delete="CASCADE",
        )
        assert fk.destructive and "CASCADE" in fk.destructive[0]
        run(pm, dba, target, fk)
        kinds = dict(_constraints(target, table))
        assert kinds[f"{table}_note_key"] == "u"
        assert kinds["Non Negative"] == "c"
        assert kinds[f"{table}_Parent Code_fkey"] == "f"
        with target.dba_connection() as conn, pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                psycopg.sql.SQL('insert into {} (id, "Total Due") values (9, -1)').format(
                    psycopg.sql.Identifier("public", table)
                )
            )
        with pytest.raises(ValueError, match="refused by the server"):
            build(target, sc.add_check, "public", table, "no_such_column > 0")
        drop = build(target, sc.drop_constraint, "public", table, "Non Negative")
        assert drop.destructive == (
            f"drops constraint Non Negative of public.{table}: the rule it enforced no longer holds",
        )
        run(pm, dba, target, drop)
        assert "Non Negative" not in dict(_constraints(target, table))
    finally:
        with target.dba_connection() as conn:
            conn.execute(psycopg.sql.SQL("drop table {} cascade").format(psycopg.sql.Identifier("public", parent)))
            conn.commit()


def _constraints(db: DatabaseManager, table: str) -> list[tuple[str, str]]:
    with db.dba_connection() as conn, conn.transaction(force_rollback=True):
        return [
            (r[0], r[1])
            for r in conn.execute(
                "select conname::text, contype::text from pg_constraint where conrelid = %s::regclass",
                (psycopg.sql.Identifier("public", table).as_string(conn),),
            ).fetchall()
        ]


def test_policies_and_rls(table: str, pm: ProjectManager, dba: Any, target: DatabaseManager) -> None:
    on = build(target, sc.set_rls, "public", table, enabled=True)
    assert not on.destructive
    run(pm, dba, target, on)
    policy = PolicySpec(
        name="Own rows", command="SELECT", permissive=True, roles=("PUBLIC",), using="note = current_user"
    )
    run(pm, dba, target, build(target, sc.create_policy, "public", table, policy))
    restrictive = PolicySpec(
        name="no negatives", command="UPDATE", permissive=False, using="true", with_check='"Total Due" >= 0'
    )
    plan = build(target, sc.create_policy, "public", table, restrictive)
    assert plan.destructive and "RESTRICTIVE" in plan.destructive[0]
    run(pm, dba, target, plan)
    with target.dba_connection() as conn, conn.transaction(force_rollback=True):
        rows = conn.execute(
            "select policyname::text, permissive, cmd, qual, with_check from pg_policies where tablename = %s"
            " order by policyname",
            (table,),
        ).fetchall()
    assert rows == [
        ("Own rows", "PERMISSIVE", "SELECT", "(note = CURRENT_USER)", None),
        ("no negatives", "RESTRICTIVE", "UPDATE", "true", '("Total Due" >= (0)::numeric)'),
    ]
    with pytest.raises(ValueError, match="only WITH CHECK"):
        build(target, sc.create_policy, "public", table, PolicySpec("x", "INSERT", using="true"))
    with pytest.raises(ValueError, match="refused by the server"):
        build(target, sc.create_policy, "public", table, PolicySpec("x", "SELECT", using="nope = 1"))
    drop = build(target, sc.drop_policy, "public", table, "Own rows")
    assert drop.destructive
    run(pm, dba, target, drop)
    off = build(target, sc.set_rls, "public", table, enabled=False)
    assert off.destructive and "OFF" in off.destructive[0]
    run(pm, dba, target, off)
    assert one(target, "select relrowsecurity from pg_class where relname = %s", table) is False


def test_only_dbas_run_schema_changes(table: str, pm: ProjectManager, target: DatabaseManager) -> None:
    plan = build(target, sc.add_column, "public", table, ColumnSpec("x", "int"))
    for role in ("analyst", "viewer"):
        with pytest.raises(PermissionDenied, match="DBAs"):
            sc.run_plan(pm, user(role, role), target, plan)
    assert column_info(target, table, "x") is None
