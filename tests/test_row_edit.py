"""Row editing: the grid's edits become statements run in one transaction, with an optimistic check per row.

On a real scratch database through ProjectManager.run_adhoc on the connection's DBA login: inserts, updates and
deletes commit together; a row changed by another session since it was read makes everything roll back and is
named; values of several types round-trip; tables that cannot be edited and non-DBAs are refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from db_helpers import scratch_connection, user

from dba_admin import row_edit
from dba_admin.browse import preview_as
from dba_admin.database import DatabaseManager
from dba_admin.errors import PermissionDenied
from dba_admin.projects import ProjectManager
from dba_admin.row_edit import NotEditable

ROWS = """insert into "Pet Visits" values
  (1, '2024-01-02', 10.50, false, '{"a": 1}', '{x,"y z"}', 'one', null),
  (2, '2024-02-03', 20.00, true, null, null, 'two', '\\x00'),
  (3, '2024-03-04', null, null, '"just text"', '{}', null, null)"""
SETUP = """
create table "Pet Visits" (
  id int primary key,
  "Visit Day" date not null,
  fee numeric(10,2),
  paid boolean,
  extra jsonb,
  tags text[],
  note varchar(10),
  raw bytea,
  total numeric generated always as (fee * 2) stored
);
create table no_key (a int);
create view v as select * from "Pet Visits";
create table parted (id int, part int, v text, primary key (id, part)) partition by list (part);
create table parted_1 partition of parted for values in (1);
insert into parted values (1, 1, 'a');
"""


@pytest.fixture(scope="module")
def target(app_db: Any, pg_server: Any) -> Iterator[DatabaseManager]:
    from conftest import scratch_database

    with scratch_database(pg_server.dsn, "rowedit") as dsn:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(SETUP)
            conn.execute(
                """alter table "Pet Visits" owner to dba_admin_dba; alter table parted owner to dba_admin_dba"""
            )
        manager = scratch_connection(app_db, dsn)
        try:
            yield manager
        finally:
            manager.close()


@pytest.fixture(scope="module")
def pm(target: DatabaseManager) -> ProjectManager:
    return ProjectManager(target)


def page(target: DatabaseManager, table: str = "Pet Visits") -> Any:
    return preview_as(target, None, "public", table, page_size=50).rows


def rows(target: DatabaseManager) -> list[tuple[Any, ...]]:
    with target.dba_connection() as conn, conn.transaction(force_rollback=True):
        return conn.execute(
            'select id, "Visit Day", fee, paid, extra, tags, note from "Pet Visits" order by id'
        ).fetchall()


def reset(target: DatabaseManager) -> None:
    with target.dba_connection() as conn:
        conn.execute('delete from "Pet Visits"')
        conn.execute(ROWS)
        conn.commit()


@pytest.fixture
def fresh(target: DatabaseManager) -> DatabaseManager:
    reset(target)
    return target


def test_the_table_and_its_editable_columns(fresh: DatabaseManager) -> None:
    table = row_edit.load_table(fresh, "public", "Pet Visits")
    assert table.primary_key == ("id",)
    editors = {c.name: (c.editor, c.editable) for c in table.columns}
    assert editors["id"] == ("integer", True)
    assert editors["fee"] == ("text", True) and editors["paid"] == ("bool", True)
    assert editors["extra"] == ("text", True) and editors["tags"] == ("text", True)
    assert editors["raw"][1] is False and editors["total"][1] is False
    assert "generated" in (table.column("total").why_not or "")
    frame = row_edit.editor_frame(table, page(fresh))
    first = frame.iloc[0]
    assert first["Visit Day"] == "2024-01-02" and first["fee"] == "10.50" and first["extra"] == '{"a": 1}'
    assert first["tags"] == '{"x","y z"}' and bool(first["paid"]) is False
    assert row_edit.load_table(fresh, "public", "parted").primary_key == ("id", "part"), "a partitioned parent is fine"


def test_tables_that_cannot_be_edited_are_refused(fresh: DatabaseManager) -> None:
    with pytest.raises(NotEditable, match="no primary key"):
        row_edit.load_table(fresh, "public", "no_key")
    with pytest.raises(NotEditable, match="a view"):
        row_edit.load_table(fresh, "public", "v")


def test_insert_update_delete_in_one_transaction_recorded_and_audited(
    fresh: DatabaseManager, pm: ProjectManager, app_db: Any
) -> None:
    table = row_edit.load_table(fresh, "public", "Pet Visits")
    original = page(fresh)
    state = {
        "edited_rows": {
            0: {"fee": "11.25", "paid": True, "extra": '{"b": [1, 2]}', "tags": "{a,b}", "note": ""},
            2: {"Visit Day": "2025-12-31", "fee": "0.10", "extra": "[1, 2]"},
        },
        "added_rows": [{"id": 4, "Visit Day": "2026-01-01", "paid": False, "note": "new"}],
        "deleted_rows": [1],
    }
    changes = row_edit.plan_changes(table, original, state)
    assert changes.summary == "1 insert, 2 updates, 1 delete"
    assert changes.destructive == ("deletes row (id)=(2) of public.Pet Visits",)
    update = changes.changes[0].sql
    assert 'UPDATE "public"."Pet Visits" SET "fee" = \'11.25\'' in update
    assert "\"fee\" IS NOT DISTINCT FROM '10.50'" in update, "the optimistic check of a changed column"
    assert '"note" = NULL' in update, "an emptied cell is NULL"
    assert '"extra" IS NOT DISTINCT FROM \'"just text"\'' in changes.changes[1].sql, "a JSON string stays one"
    dba = user("dba", "dba")
    result = row_edit.apply_changes(pm, dba, fresh, changes)
    assert result.ok and result.conflict is None
    assert rows(fresh) == [
        (1, dt.date(2024, 1, 2), Decimal("11.25"), True, {"b": [1, 2]}, ["a", "b"], None),
        (3, dt.date(2025, 12, 31), Decimal("0.10"), None, [1, 2], [], None),
        (4, dt.date(2026, 1, 1), None, False, None, None, "new"),
    ]
    execution = result.outcome.execution
    assert execution is not None
    with psycopg.connect(app_db.dsn) as conn:
        run = conn.execute(
            "select sql_executado, executado_por from public.execucoes_scripts where id = %s", (execution.id,)
        ).fetchone()
        audit = conn.execute(
            "select actor from dba_admin.audit_log where action = 'sql.run' and target = %s",
            (f"execution:{execution.id}",),
        ).fetchone()
    assert run is not None and 'UPDATE "public"."Pet Visits"' in run[0] and run[1] == dba.normalized_email
    assert audit == (dba.normalized_email,)


def test_a_row_changed_meanwhile_rolls_everything_back_and_is_named(fresh: DatabaseManager, pm: ProjectManager) -> None:
    table = row_edit.load_table(fresh, "public", "Pet Visits")
    original = page(fresh)
    state = {
        "edited_rows": {0: {"note": "mine"}, 1: {"fee": "99.00"}},
        "added_rows": [{"id": 7, "Visit Day": "2026-01-01"}],
        "deleted_rows": [],
    }
    changes = row_edit.plan_changes(table, original, state)
    with fresh.dba_connection() as conn:  # someone else, after the page was read
        conn.execute("""update "Pet Visits" set fee = 21 where id = 2""")
        conn.commit()
    before = rows(fresh)
    result = row_edit.apply_changes(pm, user("dba", "dba"), fresh, changes)
    assert not result.ok
    assert result.conflict is not None and result.conflict.key == "(id)=(2)"
    failed = next(r for r in result.outcome.results if r.status == "error")
    assert failed.error is not None and failed.error.sqlstate == "40001"
    assert "row (id)=(2) of public.Pet Visits was changed or deleted by someone else" in failed.error.message
    assert rows(fresh) == before, "the first update and the insert were rolled back too"
    # A row deleted meanwhile is caught the same way.
    gone = row_edit.plan_changes(table, original, {"deleted_rows": [2]})
    with fresh.dba_connection() as conn:
        conn.execute('delete from "Pet Visits" where id = 3')
        conn.commit()
    again = row_edit.apply_changes(pm, user("dba", "dba"), fresh, gone)
    assert again.conflict is not None and again.conflict.key == "(id)=(3)"


def test_bad_values_and_key_edits_are_refused(fresh: DatabaseManager, pm: ProjectManager) -> None:
    table = row_edit.load_table(fresh, "public", "Pet Visits")
    original = page(fresh)
    with pytest.raises(NotEditable, match="primary key"):
        row_edit.plan_changes(table, original, {"edited_rows": {0: {"id": 10}}})
    with pytest.raises(NotEditable, match="generated"):
        row_edit.plan_changes(table, original, {"edited_rows": {0: {"total": "5"}}})
    with pytest.raises(NotEditable, match="key column id"):
        row_edit.plan_changes(table, original, {"added_rows": [{"note": "x"}]})
    before = rows(fresh)
    too_long = row_edit.plan_changes(table, original, {"edited_rows": {0: {"note": "far too long for ten"}}})
    result = row_edit.apply_changes(pm, user("dba", "dba"), fresh, too_long)
    failed = next(r for r in result.outcome.results if r.status == "error")
    assert failed.error is not None and failed.error.sqlstate == "22001", "the column's type decides, no cut"
    assert rows(fresh) == before
    unchanged = row_edit.plan_changes(table, original, {"edited_rows": {0: {"fee": "10.50", "paid": False}}})
    assert unchanged.empty, "a cell set to the value it had is no change"


def test_non_dbas_are_refused(fresh: DatabaseManager, pm: ProjectManager) -> None:
    table = row_edit.load_table(fresh, "public", "Pet Visits")
    changes = row_edit.plan_changes(table, page(fresh), {"edited_rows": {0: {"note": "x"}}})
    before = rows(fresh)
    for role in ("analyst", "viewer"):
        with pytest.raises(PermissionDenied, match="DBAs"):
            row_edit.apply_changes(pm, user(role, role), fresh, changes)
    assert rows(fresh) == before
