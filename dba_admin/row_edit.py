"""Row editing for DBAs: the edits made in a grid become INSERT/UPDATE/DELETE statements run in one transaction.

A row is found again by its primary key as it was READ (never as edited), so only tables with a primary key are
edited (a partitioned parent is fine; a view, a materialized view, a foreign table or a table without a key is
refused with the reason). Updates set only the changed columns and carry an optimistic check: the row must still
hold, in those columns, the values the DBA saw. Each UPDATE and DELETE sits in a ``DO`` block that raises
(SQLSTATE 40001) when it matched no row, so a row changed or deleted by someone else since it was read makes the
whole transaction roll back, and the DBA is told which row it was: no save is silently lost.

Values travel as text: each cell is shown to the editor as PostgreSQL's input text (ISO dates, JSON, ``{a,b}``
arrays; integers and floats as numbers, booleans as booleans) and written back as an untyped literal, so the server
converts it with the column's own type, as an INSERT of that text would (too long a varchar, a bad date: a clear
error, nothing saved). An emptied cell is NULL. Types with no faithful text round trip (bytea, intervals,
geometric and range types, nested arrays...) are not editable, and the grid says so.

The statements run through ``ProjectManager.run_adhoc`` in one transaction on the DBA login: recorded in the
history and audited like the SQL editor's runs. Analysts and viewers are refused here as in the UI.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
import psycopg
from psycopg import sql

from dba_admin.access import DBA_ROLES
from dba_admin.errors import ConfigError, NotFound, PermissionDenied, query_error_from

if TYPE_CHECKING:
    from dba_admin.database import DatabaseManager
    from dba_admin.projects import ProjectManager, RunOutcome
    from dba_admin.rls import UserClaims

__all__ = [
    "CONFLICT_SQLSTATE",
    "EditColumn",
    "EditResult",
    "EditableTable",
    "NotEditable",
    "RowChange",
    "RowChanges",
    "apply_changes",
    "editor_frame",
    "load_table",
    "plan_changes",
]

CONFLICT_SQLSTATE = "40001"
EditorKind = Literal["integer", "number", "bool", "text"]
# typcategory of the base type that round-trips as text: string, numeric, boolean, date/time, enum, network
_TEXT_CATEGORIES = frozenset("SNBDEI")
_TEXT_TYPES = frozenset({"uuid", "json", "jsonb", "citext", "xml"})
_NO_EQUALITY = frozenset({"json", "xml"})  # compared as jsonb / text in the optimistic check
_INTEGER_TYPES = frozenset({"int2", "int4"})
_FLOAT_TYPES = frozenset({"float4", "float8"})
_KIND_REFUSED = {
    "v": "a view",
    "m": "a materialized view",
    "f": "a foreign table",
    "S": "a sequence",
    "c": "a composite type",
}


class NotEditable(ValueError):
    """The table (or a value) cannot be edited here; the message says why and what to do instead."""


@dataclass(frozen=True)
class EditColumn:
    name: str
    type: str  # format_type text
    editor: EditorKind
    editable: bool
    why_not: str | None = None  # why the column cannot be edited (None when it can)
    is_json: bool = False
    is_array: bool = False
    compare_as: str | None = None  # cast for the optimistic check of a type without equality (json -> jsonb)
    has_default: bool = False
    generated: bool = False


@dataclass(frozen=True)
class EditableTable:
    schema: str
    name: str
    primary_key: tuple[str, ...]
    columns: tuple[EditColumn, ...]

    def column(self, name: str) -> EditColumn:
        for c in self.columns:
            if c.name == name:
                return c
        raise NotEditable(f"{self.qualified_name} has no column {name!r}")

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def read_only_columns(self) -> tuple[EditColumn, ...]:
        return tuple(c for c in self.columns if not c.editable)

    @property
    def key_has_defaults(self) -> bool:
        """Every key column fills itself (serial, identity, default): new rows need no key typed."""
        return all(self.column(k).has_default for k in self.primary_key)


@dataclass(frozen=True)
class RowChange:
    kind: Literal["insert", "update", "delete"]
    key: str  # the row, as the DBA knows it: "(id)=(5)", or "new row 1"
    sql: str  # one statement, with its semicolon
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class RowChanges:
    table: EditableTable
    changes: tuple[RowChange, ...]

    @property
    def sql(self) -> str:
        return "\n".join(c.sql for c in self.changes)

    @property
    def empty(self) -> bool:
        return not self.changes

    def count(self, kind: str) -> int:
        return sum(1 for c in self.changes if c.kind == kind)

    @property
    def summary(self) -> str:
        parts = [
            f"{n} {word}{'s' if n != 1 else ''}"
            for word, n in (
                ("insert", self.count("insert")),
                ("update", self.count("update")),
                ("delete", self.count("delete")),
            )
            if n
        ]
        return ", ".join(parts) or "no change"

    @property
    def destructive(self) -> tuple[str, ...]:
        return tuple(f"deletes row {c.key} of {self.table.qualified_name}" for c in self.changes if c.kind == "delete")


@dataclass(frozen=True)
class EditResult:
    outcome: RunOutcome
    conflict: RowChange | None = None  # the row changed (or deleted) by someone else: nothing was saved

    @property
    def ok(self) -> bool:
        return self.outcome.ok


# ---------------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------------

_TABLE_SQL = """/* dba_admin */
select c.oid, c.relkind,
  (select array_agg(a.attname::text order by k.ord)
     from pg_catalog.pg_index i
     cross join lateral unnest(i.indkey) with ordinality as k(attnum, ord)
     join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
    where i.indrelid = c.oid and i.indisprimary) as pk
from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where n.nspname = %s and c.relname = %s"""

_COLUMNS_SQL = """/* dba_admin */
select a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), b.typname::text, b.typcategory::text,
       coalesce(e.typname::text, ''), coalesce(e.typcategory::text, ''), a.attgenerated::text, a.attidentity::text,
       a.atthasdef
from pg_catalog.pg_attribute a
join pg_catalog.pg_type t on t.oid = a.atttypid
join pg_catalog.pg_type b on b.oid = case when t.typtype = 'd' then t.typbasetype else t.oid end
left join pg_catalog.pg_type e on e.oid = b.typelem and b.typcategory = 'A'
where a.attrelid = %s and a.attnum > 0 and not a.attisdropped
order by a.attnum"""


def _column(row: Sequence[Any]) -> EditColumn:
    name, type_text, typname, category, elem, elem_category, generated, identity, has_default = row
    common = {"name": name, "type": type_text, "has_default": bool(has_default) or bool(identity)}
    if generated:
        return EditColumn(editor="text", editable=False, why_not="generated column", generated=True, **common)
    if identity == "a":
        return EditColumn(editor="integer", editable=False, why_not="identity column (GENERATED ALWAYS)", **common)
    if category == "A":
        if elem_category in _TEXT_CATEGORIES or elem in ("uuid", "citext"):
            return EditColumn(editor="text", editable=True, is_array=True, **common)
        return EditColumn(editor="text", editable=False, why_not=f"arrays of {elem} are not edited here", **common)
    if category in _TEXT_CATEGORIES or typname in _TEXT_TYPES:
        editor: EditorKind = (
            "integer"
            if typname in _INTEGER_TYPES
            else "number"
            if typname in _FLOAT_TYPES
            else "bool"
            if typname == "bool"
            else "text"
        )
        compare = "jsonb" if typname == "json" else "text" if typname in _NO_EQUALITY else None
        return EditColumn(
            editor=editor, editable=True, is_json=typname in ("json", "jsonb"), compare_as=compare, **common
        )
    return EditColumn(
        editor="text", editable=False, why_not=f"type {type_text} is not edited here (use the SQL editor)", **common
    )


def load_table(db: DatabaseManager, schema: str, name: str) -> EditableTable:
    """The table's key and columns with what can be edited; NotEditable when rows cannot be edited at all."""
    if not db.has_dba_login:
        raise ConfigError(f"connection {db.name} has no DBA login: rows cannot be edited from the app")
    try:
        with db.dba_connection() as conn, conn.transaction(force_rollback=True):
            row = conn.execute(_TABLE_SQL, (schema, name)).fetchone()
            if row is None:
                raise NotFound(f"table {schema}.{name} does not exist")
            oid, relkind, pk = row
            columns = tuple(_column(r) for r in conn.execute(_COLUMNS_SQL, (oid,)).fetchall())
    except psycopg.Error as exc:
        raise query_error_from(exc) from exc
    if relkind in _KIND_REFUSED:
        raise NotEditable(f"{schema}.{name} is {_KIND_REFUSED[relkind]}: its rows are not edited here")
    if not pk:
        raise NotEditable(
            f"{schema}.{name} has no primary key, so a row cannot be found again safely: add one (New constraint) "
            "or edit it with UPDATE in the SQL editor"
        )
    table = EditableTable(schema, name, tuple(pk), columns)
    odd_key = [c.name for c in (table.column(k) for k in table.primary_key) if c.why_not and not c.generated]
    if odd_key:
        raise NotEditable(f"the primary key of {schema}.{name} has a type not edited here ({', '.join(odd_key)})")
    return table


# ---------------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------------


def _is_null(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _array_text(values: list[Any]) -> str:
    """A one-dimensional Python list as PostgreSQL array input: every element quoted, NULL as NULL."""
    parts = []
    for v in values:
        if isinstance(v, list):
            raise NotEditable("nested arrays are not edited here (use the SQL editor)")
        if _is_null(v):
            parts.append("NULL")
        else:
            text = _scalar_text(v)
            parts.append('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(parts) + "}"


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, dt.date | dt.time | dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | Decimal | uuid.UUID | str):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        raise NotEditable("binary values are not edited here")
    return str(value)


def value_text(column: EditColumn, value: Any, *, typed: bool = False) -> str | None:
    """A value as PostgreSQL's input text for the column (None = NULL). ``typed``: the value comes from the grid,
    where JSON and arrays are already text; otherwise it is a value as psycopg read it."""
    if isinstance(value, list) and not column.is_json:
        return _array_text(value)
    if _is_null(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars from a DataFrame
        value = value.item()
    if column.is_json:
        if typed and isinstance(value, str):
            return value
        # As read, a JSON string is a Python str: dumped again so that it stays a JSON string.
        return json.dumps(value, ensure_ascii=False, default=str)
    return _scalar_text(value)


def _new_text(column: EditColumn, value: Any) -> str | None:
    """A value typed in the grid: an emptied cell is NULL; numbers and booleans as their text."""
    if isinstance(value, str) and value == "":
        return None
    return value_text(column, value, typed=True)


def editor_frame(table: EditableTable, rows: pd.DataFrame) -> pd.DataFrame:
    """The page's rows as the grid edits them: numbers as numbers, booleans as booleans, everything else as the text
    PostgreSQL reads back (so what is shown is what is compared and written)."""
    out = pd.DataFrame(index=range(len(rows)))
    for column in table.columns:
        if column.name not in rows.columns:
            continue
        values = list(rows[column.name])
        if column.editor == "integer":
            out[column.name] = pd.array([None if _is_null(v) else int(v) for v in values], dtype="Int64")
        elif column.editor == "number":
            out[column.name] = pd.array([None if _is_null(v) else float(v) for v in values], dtype="Float64")
        elif column.editor == "bool":
            out[column.name] = pd.array([None if _is_null(v) else bool(v) for v in values], dtype="boolean")
        else:
            texts: list[str | None] = []
            for v in values:
                try:
                    texts.append(value_text(column, v))
                except NotEditable:
                    texts.append(str(v))
            out[column.name] = pd.array(texts, dtype="object")
    return out


# ---------------------------------------------------------------------------------------------------
# Statements
# ---------------------------------------------------------------------------------------------------


def _lit(text: str | None) -> sql.Composable:
    return sql.SQL("NULL") if text is None else sql.Literal(text)


def _key_of(table: EditableTable, original: pd.Series) -> tuple[str, list[tuple[str, str]]]:
    pairs: list[tuple[str, str]] = []
    for k in table.primary_key:
        text = value_text(table.column(k), original[k])
        if text is None:
            raise NotEditable(f"a row of {table.qualified_name} has a NULL key column {k}")
        pairs.append((k, text))
    label = "(" + ", ".join(k for k, _ in pairs) + ")=(" + ", ".join(v for _, v in pairs) + ")"
    return label, pairs


def _where_key(pairs: Sequence[tuple[str, str]]) -> list[sql.Composable]:
    return [sql.SQL("{} = {}").format(sql.Identifier(k), sql.Literal(v)) for k, v in pairs]


def _unchanged(column: EditColumn, text: str | None) -> sql.Composable:
    """The optimistic check of one column: it still holds the value that was read."""
    target: sql.Composable = sql.Identifier(column.name)
    value = _lit(text)
    if column.compare_as:
        target = sql.SQL("{}::{}").format(target, sql.SQL(column.compare_as))
        if text is not None:
            value = sql.SQL("{}::{}").format(value, sql.SQL(column.compare_as))
    return sql.SQL("{} IS NOT DISTINCT FROM {}").format(target, value)


def _guarded(conn: Any, statement: sql.Composable, message: str) -> str:
    """``statement`` inside a DO block that raises 40001 when it touched no row (the transaction then rolls back)."""
    body = (
        sql.SQL(
            "BEGIN\n  {};\n  IF NOT FOUND THEN\n    RAISE EXCEPTION USING ERRCODE = {}, MESSAGE = {};\n  END IF;\nEND"
        )
        .format(statement, sql.Literal(CONFLICT_SQLSTATE), sql.Literal(message))
        .as_string(conn)
    )
    tag = "$dba_edit$"
    while tag in body:
        tag = f"$dba_edit_{uuid.uuid4().hex[:6]}$"
    return f"DO {tag}\n{body}\n{tag};"


def _conflict_message(table: EditableTable, label: str) -> str:
    return (
        f"row {label} of {table.qualified_name} was changed or deleted by someone else since it was read "
        "(or a policy hides it now): nothing was saved. Reload the rows and edit again."
    )


def _position(key: Any) -> int:
    return int(key)


def plan_changes(
    table: EditableTable, original: pd.DataFrame, state: Mapping[str, Any], conn: Any = None
) -> RowChanges:
    """The statements for the grid's edits. ``state`` is st.data_editor's edit state: ``edited_rows`` (position ->
    {column: value}), ``added_rows`` (list of {column: value}) and ``deleted_rows`` (positions), positions into
    ``original`` (the page as read). ``conn``: a connection to quote with (None: standard_conforming_strings)."""
    rel = sql.Identifier(table.schema, table.name)
    deleted = sorted({_position(i) for i in state.get("deleted_rows", []) or []})
    changes: list[RowChange] = []
    for pos, edits in sorted(((_position(k), v) for k, v in (state.get("edited_rows") or {}).items())):
        if pos in deleted or not edits:
            continue
        if pos >= len(original):
            raise NotEditable("the edited rows no longer match the page: reload and edit again")
        row = original.iloc[pos]
        label, pairs = _key_of(table, row)
        sets: list[sql.Composable] = []
        checks: list[sql.Composable] = []
        names: list[str] = []
        for name, new in edits.items():
            column = table.column(name)
            old_text = value_text(column, row[name]) if column.editable else None
            new_text = _new_text(column, new)
            if column.editable and new_text == old_text:
                continue
            if name in table.primary_key:
                raise NotEditable(
                    f"the primary key of row {label} was edited: a key is not changed here (delete the row and add it "
                    "again, or use the SQL editor)"
                )
            if not column.editable:
                raise NotEditable(f"column {name} cannot be edited here: {column.why_not}")
            sets.append(sql.SQL("{} = {}").format(sql.Identifier(name), _lit(new_text)))
            checks.append(_unchanged(column, old_text))
            names.append(name)
        if not sets:
            continue
        statement = sql.SQL("UPDATE {} SET {}\n   WHERE {}").format(
            rel, sql.SQL(", ").join(sets), sql.SQL("\n     AND ").join([*_where_key(pairs), *checks])
        )
        changes.append(
            RowChange("update", label, _guarded(conn, statement, _conflict_message(table, label)), tuple(names))
        )
    for n, added in enumerate(state.get("added_rows") or [], start=1):
        values = {
            k: _new_text(table.column(k), v) for k, v in (added or {}).items() if k != "_index" and not _is_null(v)
        }
        values = {k: v for k, v in values.items() if v is not None}
        for k in values:
            if not table.column(k).editable:
                raise NotEditable(f"column {k} cannot be given a value here: {table.column(k).why_not}")
        missing = [k for k in table.primary_key if k not in values and not table.column(k).has_default]
        if missing:
            raise NotEditable(f"new row {n} has no value for the key column {', '.join(missing)}")
        if values:
            statement = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                rel,
                sql.SQL(", ").join(sql.Identifier(k) for k in values),
                sql.SQL(", ").join(sql.Literal(v) for v in values.values()),
            )
        else:
            statement = sql.SQL("INSERT INTO {} DEFAULT VALUES").format(rel)
        changes.append(RowChange("insert", f"new row {n}", statement.as_string(conn) + ";", tuple(values)))
    for pos in deleted:
        if pos >= len(original):
            raise NotEditable("the deleted rows no longer match the page: reload and edit again")
        label, pairs = _key_of(table, original.iloc[pos])
        statement = sql.SQL("DELETE FROM {} WHERE {}").format(rel, sql.SQL(" AND ").join(_where_key(pairs)))
        changes.append(RowChange("delete", label, _guarded(conn, statement, _conflict_message(table, label))))
    return RowChanges(table, tuple(changes))


def apply_changes(projects: ProjectManager, claims: UserClaims, db: DatabaseManager, changes: RowChanges) -> EditResult:
    """Run every change in ONE transaction on the DBA login, recorded and audited; DBAs only.

    The DBA saw the SQL (with the deletes named) and confirmed by applying: the run is confirmed. A row changed
    under the DBA makes it fail as a whole; ``conflict`` names that row."""
    if claims.app_role not in DBA_ROLES:
        raise PermissionDenied("editing rows is for DBAs; the grid is read-only for your role")
    if not db.has_dba_login:
        raise ConfigError(f"connection {db.name} has no DBA login: rows cannot be edited from the app")
    if changes.empty:
        raise ValueError("there is no change to apply")
    outcome = projects.run_adhoc(claims, changes.sql, confirm_destructive=True, single_transaction=True, target=db)
    conflict = None
    if not outcome.ok:
        failed = next((r for r in outcome.results if r.status == "error"), None)
        if (
            failed is not None
            and failed.error is not None
            and failed.error.sqlstate == CONFLICT_SQLSTATE
            and failed.index < len(changes.changes)
        ):
            conflict = changes.changes[failed.index]
    return EditResult(outcome, conflict)
