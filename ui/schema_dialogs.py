"""Create/change/drop dialogs for tables, columns, indexes, constraints and policies (UI only; DBAs only).

A page opens a dialog with :func:`open_dialog` (a button's ``on_click``) and calls :func:`show_open_dialog` on every
run: the open dialog is kept in the session, so it survives reruns (and AppTest's full reruns) until it is run,
cancelled or dismissed. Each dialog is a form whose "Preview SQL" builds the DDL with dba_admin.schema_changes on
the connection's DBA login and shows it with its destructive parts; "Run" runs exactly that DDL through the guarded,
recorded and audited path (after a confirmation when something is destroyed). A preview is dropped as soon as the
form changes, so what runs is always what was shown. Errors are shown with their position in the DDL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from dba_admin import schema_changes as sc
from dba_admin.errors import DbaAdminError, QueryError
from dba_admin.schema_changes import ColumnSpec, DdlPlan, PolicySpec
from ui.markdown import escape_markdown
from ui.session import show_error
from ui.sql_workbench import show_sql_error

if TYPE_CHECKING:
    from dba_admin.auth import AppUser
    from dba_admin.database import DatabaseManager
    from dba_admin.services import Services

__all__ = ["DONE_KEY", "DialogContext", "close_dialog", "open_dialog", "show_open_dialog"]

OPEN_KEY = "schema_dialog"  # {"kind": ..., "args": {...}} of the open dialog
PLAN_KEY = "schema_dialog_plan"  # (kind, signature, DdlPlan) of the last preview
RESULT_KEY = "schema_dialog_result"  # a failed run shown in the dialog
DONE_KEY = "schema_dialog_done"  # the message of the last successful run, shown by the page
OTHER_TYPE = "other (type it)…"
TABLELESS = frozenset({"new_table"})  # dialogs that need no open table


@dataclass(frozen=True)
class DialogContext:
    """What a dialog needs from the page: who, where, and how to refresh the page's caches afterwards."""

    services: Services
    user: AppUser
    db: DatabaseManager
    schema: str | None = None
    table: str | None = None
    columns: tuple[str, ...] = ()
    tables: tuple[tuple[str, str], ...] = ()  # (schema, name) of the tables a foreign key may reference
    schemas: tuple[str, ...] = ("public",)
    columns_of: Callable[[str, str], list[str]] | None = None
    on_done: Callable[[], None] | None = None


def open_dialog(kind: str, **args: Any) -> None:
    """Open a dialog (use as a button's on_click); any previous preview is dropped."""
    st.session_state[OPEN_KEY] = {"kind": kind, "args": args}
    st.session_state.pop(PLAN_KEY, None)
    st.session_state.pop(RESULT_KEY, None)


def close_dialog() -> None:
    for key in (OPEN_KEY, PLAN_KEY, RESULT_KEY):
        st.session_state.pop(key, None)


# ---------------------------------------------------------------------------------------------------
# Preview and run (shared by every dialog)
# ---------------------------------------------------------------------------------------------------


def _footer(ctx: DialogContext, kind: str, signature: str, build: Callable[[Any], DdlPlan]) -> None:
    """Preview SQL → the DDL and what it destroys → Run (confirmed when destructive) → result."""
    kept = st.session_state.get(PLAN_KEY)
    plan: DdlPlan | None = kept[2] if kept and kept[:2] == (kind, signature) else None
    if kept and plan is None:  # the form changed since the preview: it no longer says what would run
        st.session_state.pop(PLAN_KEY, None)
        st.session_state.pop(RESULT_KEY, None)
    c1, c2 = st.columns(2)
    if c1.button("Preview SQL", key=f"sd_{kind}_preview", icon=":material/preview:"):
        try:
            with st.spinner("Checking the names, types and expressions on the server…"):
                plan = sc.prepare(ctx.db, build)
            st.session_state[PLAN_KEY] = (kind, signature, plan)
            st.session_state.pop(RESULT_KEY, None)
        except QueryError as exc:
            plan = None
            show_sql_error(exc.info, "")
        except (DbaAdminError, ValueError) as exc:
            plan = None
            st.error(escape_markdown(str(exc)))
    if c2.button("Cancel", key=f"sd_{kind}_cancel"):
        close_dialog()
        st.rerun()
    if plan is None:
        st.caption("Preview the SQL to see exactly what will run; nothing runs before you press Run.")
        return
    st.code(plan.sql, language="sql", wrap_lines=True)
    for note in plan.notes:
        st.caption(escape_markdown(note))
    confirmed = True
    if plan.destructive:
        st.warning(
            "**This cannot be undone:**\n" + "\n".join(f"- {escape_markdown(d)}" for d in plan.destructive),
            icon=":material/warning:",
        )
        confirmed = st.checkbox("I understand, run it", key=f"sd_{kind}_confirm")
    if not plan.single_transaction:
        st.caption("Runs outside a transaction (CONCURRENTLY).")
    if st.button("Run", key=f"sd_{kind}_run", type="primary", disabled=not confirmed, icon=":material/play_arrow:"):
        _run(ctx, plan, confirmed=bool(plan.destructive))
    failed = st.session_state.get(RESULT_KEY)
    if failed is not None:
        _show_failure(ctx, kind, failed)


def _run(ctx: DialogContext, plan: DdlPlan, *, confirmed: bool) -> None:
    try:
        with st.spinner(f"Running on {ctx.db.name}…"):
            result = sc.run_plan(ctx.services.projects, ctx.user.claims, ctx.db, plan, confirmed=confirmed)
    except QueryError as exc:
        st.session_state[RESULT_KEY] = {"sql": plan.sql, "error": exc.info}
        return
    except DbaAdminError as exc:
        st.session_state[RESULT_KEY] = {"sql": plan.sql, "failure": str(exc)}
        return
    outcome = result.outcome
    if outcome.ok:
        run_no = f" (run #{outcome.execution.id} in your history)" if outcome.execution is not None else ""
        st.session_state[DONE_KEY] = f"{plan.summary}: done{run_no}."
        close_dialog()
        if ctx.on_done is not None:
            ctx.on_done()
        st.rerun()
    if outcome.needs_confirmation:
        st.session_state[RESULT_KEY] = {
            "sql": plan.sql,
            "failure": "The SQL editor's guard asks for a confirmation: "
            + "; ".join(outcome.destructive_reasons)
            + ". Tick the confirmation and run again.",
        }
        return
    error = next((r.error for r in outcome.results if r.error is not None), outcome.error)
    st.session_state[RESULT_KEY] = {
        "sql": plan.sql,
        "single": plan.single_transaction,
        "error": error,
        "invalid_index": result.invalid_index,
        "drop_invalid_sql": result.drop_invalid_sql,
    }


def _show_failure(ctx: DialogContext, kind: str, failed: dict[str, Any]) -> None:
    if failed.get("failure"):
        st.error(escape_markdown(failed["failure"]))
    elif failed.get("error") is not None:
        show_sql_error(failed["error"], failed["sql"])
        if failed.get("single"):
            st.caption("It ran as one transaction: nothing of it was kept.")
    if failed.get("invalid_index"):
        st.warning(
            f"The failed build left the index {escape_markdown(failed['invalid_index'])} INVALID: it is not used "
            "by queries but still slows every write. Drop it:",
            icon=":material/build:",
        )
        st.code(failed["drop_invalid_sql"], language="sql")
        schema, _, name = str(failed["invalid_index"]).partition(".")
        if st.button("Drop the invalid index", key=f"sd_{kind}_drop_invalid"):
            try:
                plan = sc.prepare(ctx.db, lambda c: sc.drop_index(c, schema, name, concurrently=True))
                _run(ctx, plan, confirmed=True)
            except (DbaAdminError, ValueError) as exc:
                show_error(exc, action="Dropping the invalid index")


# ---------------------------------------------------------------------------------------------------
# The dialogs
# ---------------------------------------------------------------------------------------------------


def _type_input(key: str, label: str = "Type", *, allow_empty: bool = False) -> str:
    options = ([""] if allow_empty else []) + [*sc.COMMON_TYPES, OTHER_TYPE]
    chosen = st.selectbox(
        label,
        options,
        key=f"{key}_pick",
        format_func=lambda t: "(unchanged)" if t == "" else t,
        help="Pick a type, or type any type name (checked by the server).",
    )
    if chosen == OTHER_TYPE:
        return str(st.text_input("Type name", key=f"{key}_typed", placeholder="e.g. varchar(40), my_schema.my_enum"))
    return str(chosen)


def _names(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def _where(ctx: DialogContext) -> tuple[str, str]:
    if ctx.schema is None or ctx.table is None:
        raise ValueError("open a table first")
    return ctx.schema, ctx.table


@st.dialog("New table", width="large", on_dismiss=close_dialog)
def _new_table(ctx: DialogContext) -> None:
    c1, c2 = st.columns([1, 2])
    schema = c1.selectbox("Schema", list(ctx.schemas) or ["public"], key="sd_nt_schema")
    name = c2.text_input("Table name", key="sd_nt_name")
    st.caption("Columns: a type from the list below or any type name; a default is an SQL expression (now(), 0, 'x').")
    seed = pd.DataFrame(
        [
            {"name": "id", "type": "bigint", "not null": True, "default": "", "identity": True, "primary key": True},
            {
                "name": "created_at",
                "type": "timestamp with time zone",
                "not null": True,
                "default": "now()",
                "identity": False,
                "primary key": False,
            },
        ]
    )
    edited = st.data_editor(
        seed,
        num_rows="dynamic",
        hide_index=True,
        key="sd_nt_columns",
        column_config={
            "name": st.column_config.TextColumn(required=True),
            "type": st.column_config.TextColumn(required=True, help=", ".join(sc.COMMON_TYPES)),
            "not null": st.column_config.CheckboxColumn(default=False),
            "default": st.column_config.TextColumn(),
            "identity": st.column_config.CheckboxColumn(default=False, help="GENERATED BY DEFAULT AS IDENTITY"),
            "primary key": st.column_config.CheckboxColumn(default=False),
        },
    )
    comment = st.text_input("Comment (optional)", key="sd_nt_comment")
    specs = []
    for row in edited.to_dict("records"):
        if not str(row.get("name") or "").strip():
            continue
        specs.append(
            ColumnSpec(
                name=str(row["name"]),
                type=str(row.get("type") or ""),
                identity=bool(row.get("identity")),
                not_null=bool(row.get("not null")),
                default=str(row.get("default") or "") or None,
                primary_key=bool(row.get("primary key")),
            )
        )
    signature = repr((schema, name, specs, comment))
    _footer(ctx, "new_table", signature, lambda c: sc.create_table(c, schema, name, specs, comment=comment or None))


@st.dialog("Add column", on_dismiss=close_dialog)
def _add_column(ctx: DialogContext) -> None:
    schema, table = _where(ctx)
    name = st.text_input("Column name", key="sd_ac_name")
    col_type = _type_input("sd_ac_type")
    not_null = st.checkbox("NOT NULL", key="sd_ac_not_null")
    default = st.text_input("Default (SQL expression, optional)", key="sd_ac_default", placeholder="now()")
    spec = ColumnSpec(name, col_type, not_null=not_null, default=default or None)
    _footer(ctx, "add_column", repr(spec), lambda c: sc.add_column(c, schema, table, spec))


@st.dialog("Change column", on_dismiss=close_dialog)
def _change_column(ctx: DialogContext, column: str) -> None:
    schema, table = _where(ctx)
    st.markdown(f"Column **{escape_markdown(column)}** of {escape_markdown(f'{schema}.{table}')}")
    new_type = _type_input("sd_cc_type", "New type", allow_empty=True)
    using = st.text_input("USING (optional: how to convert)", key="sd_cc_using", placeholder=f"{column}::integer")
    default_mode = st.radio("Default", ["keep", "set", "drop"], horizontal=True, key="sd_cc_default_mode")
    default_expr = st.text_input("New default", key="sd_cc_default", disabled=default_mode != "set")
    null_mode = st.radio("Nullability", ["keep", "NOT NULL", "nullable"], horizontal=True, key="sd_cc_null")
    kwargs: dict[str, Any] = {"type": new_type or None, "using": using or None}
    if default_mode == "set":
        kwargs["default"] = default_expr
    elif default_mode == "drop":
        kwargs["default"] = None
    if null_mode != "keep":
        kwargs["not_null"] = null_mode == "NOT NULL"
    _footer(ctx, "change_column", repr((column, kwargs)), lambda c: sc.alter_column(c, schema, table, column, **kwargs))


@st.dialog("Rename column", on_dismiss=close_dialog)
def _rename_column(ctx: DialogContext, column: str) -> None:
    schema, table = _where(ctx)
    new_name = st.text_input("New name", value=column, key="sd_rc_name")
    _footer(
        ctx, "rename_column", repr((column, new_name)), lambda c: sc.rename_column(c, schema, table, column, new_name)
    )


@st.dialog("Drop column", on_dismiss=close_dialog)
def _drop_column(ctx: DialogContext, column: str) -> None:
    schema, table = _where(ctx)
    cascade = st.checkbox("CASCADE (also drop views, indexes and constraints that use it)", key="sd_dc_cascade")
    _footer(
        ctx,
        "drop_column",
        repr((column, cascade)),
        lambda c: sc.drop_column(c, schema, table, column, cascade=cascade),
    )


@st.dialog("New index", on_dismiss=close_dialog)
def _new_index(ctx: DialogContext) -> None:
    schema, table = _where(ctx)
    columns = st.multiselect("Columns (in order)", list(ctx.columns), key="sd_ni_columns")
    c1, c2 = st.columns(2)
    method = c1.selectbox("Method", sc.INDEX_METHODS, key="sd_ni_method")
    unique = c2.checkbox("Unique", key="sd_ni_unique", disabled=method != "btree")
    concurrently = st.checkbox("CONCURRENTLY (writes go on during the build)", value=True, key="sd_ni_concurrently")
    where = st.text_input("WHERE (partial index, optional)", key="sd_ni_where", placeholder="deleted_at IS NULL")
    name = st.text_input("Name (optional)", key="sd_ni_name", placeholder="PostgreSQL's default: table_columns_idx")
    args = (tuple(columns), method, unique and method == "btree", concurrently, where, name)
    _footer(
        ctx,
        "new_index",
        repr(args),
        lambda c: sc.create_index(
            c,
            schema,
            table,
            list(columns),
            method=method,
            unique=args[2],
            concurrently=concurrently,
            where=where or None,
            name=name or None,
        ),
    )


@st.dialog("Drop index", on_dismiss=close_dialog)
def _drop_index(ctx: DialogContext, index: str) -> None:
    schema, _table = _where(ctx)
    concurrently = st.checkbox("CONCURRENTLY (does not block the table)", value=True, key="sd_di_concurrently")
    _footer(
        ctx,
        "drop_index",
        repr((index, concurrently)),
        lambda c: sc.drop_index(c, schema, index, concurrently=concurrently),
    )


@st.dialog("New constraint", width="large", on_dismiss=close_dialog)
def _new_constraint(ctx: DialogContext) -> None:
    schema, table = _where(ctx)
    kind = st.radio("Kind", ["unique", "check", "foreign key"], horizontal=True, key="sd_nc_kind")
    name = st.text_input("Name (optional)", key="sd_nc_name")
    build: Callable[[Any], DdlPlan]
    if kind == "unique":
        columns = st.multiselect("Columns", list(ctx.columns), key="sd_nc_unique_cols")
        args: Any = (kind, name, tuple(columns))
        build = lambda c: sc.add_unique(c, schema, table, list(columns), name=name or None)  # noqa: E731
    elif kind == "check":
        cond = st.text_input("Condition", key="sd_nc_check", placeholder="price >= 0")
        not_valid = st.checkbox("NOT VALID (do not check existing rows now)", key="sd_nc_check_nv")
        args = (kind, name, cond, not_valid)
        build = lambda c: sc.add_check(c, schema, table, cond, name=name or None, not_valid=not_valid)  # noqa: E731
    else:
        columns = st.multiselect("Columns", list(ctx.columns), key="sd_nc_fk_cols")
        labels = {f"{s}.{t}": (s, t) for s, t in ctx.tables}
        ref = st.selectbox("References table", list(labels), index=None, key="sd_nc_fk_ref")
        ref_schema, ref_table = labels.get(ref or "", ("", ""))
        ref_options = ctx.columns_of(ref_schema, ref_table) if ref and ctx.columns_of else []
        ref_columns = st.multiselect("Referenced columns (same order)", ref_options, key="sd_nc_fk_ref_cols")
        on_delete = st.selectbox("ON DELETE", sc.FK_ACTIONS, key="sd_nc_fk_on_delete")
        args = (kind, name, tuple(columns), ref, tuple(ref_columns), on_delete)
        build = lambda c: sc.add_foreign_key(  # noqa: E731
            c,
            schema,
            table,
            list(columns),
            ref_schema,
            ref_table,
            list(ref_columns),
            on_delete=on_delete,
            name=name or None,
        )
    _footer(ctx, "new_constraint", repr(args), build)


@st.dialog("Drop constraint", on_dismiss=close_dialog)
def _drop_constraint(ctx: DialogContext, constraint: str) -> None:
    schema, table = _where(ctx)
    cascade = st.checkbox("CASCADE (also drop foreign keys that depend on it)", key="sd_dk_cascade")
    _footer(
        ctx,
        "drop_constraint",
        repr((constraint, cascade)),
        lambda c: sc.drop_constraint(c, schema, table, constraint, cascade=cascade),
    )


@st.dialog("New policy", width="large", on_dismiss=close_dialog)
def _new_policy(ctx: DialogContext) -> None:
    schema, table = _where(ctx)
    name = st.text_input("Policy name", key="sd_np_name")
    c1, c2 = st.columns(2)
    command = c1.selectbox("Command", sc.POLICY_COMMANDS, key="sd_np_command")
    permissive = c2.radio("Kind", ["permissive", "restrictive"], horizontal=True, key="sd_np_kind") == "permissive"
    roles = st.text_input("Roles (comma separated; empty = PUBLIC)", key="sd_np_roles", placeholder="authenticated")
    using = st.text_area(
        "USING (which existing rows)",
        key="sd_np_using",
        disabled=command == "INSERT",
        height=68,
        placeholder="user_id = (select auth.uid())",
    )
    check = st.text_area(
        "WITH CHECK (which new rows)", key="sd_np_check", disabled=command in ("SELECT", "DELETE"), height=68
    )
    spec = PolicySpec(
        name=name,
        command=command,
        permissive=permissive,
        roles=_names(roles),
        using=(using or None) if command != "INSERT" else None,
        with_check=(check or None) if command not in ("SELECT", "DELETE") else None,
    )
    _footer(ctx, "new_policy", repr(spec), lambda c: sc.create_policy(c, schema, table, spec))


@st.dialog("Drop policy", on_dismiss=close_dialog)
def _drop_policy(ctx: DialogContext, policy: str) -> None:
    schema, table = _where(ctx)
    st.markdown(f"Policy **{escape_markdown(policy)}** on {escape_markdown(f'{schema}.{table}')}")
    _footer(ctx, "drop_policy", repr(policy), lambda c: sc.drop_policy(c, schema, table, policy))


@st.dialog("Row level security", on_dismiss=close_dialog)
def _rls(ctx: DialogContext, enabled: bool, forced: bool) -> None:
    schema, table = _where(ctx)
    on = st.toggle("Row level security enabled", value=enabled, key="sd_rls_on")
    force = st.toggle("Forced (applies to the table's owner too)", value=forced, key="sd_rls_force")
    _footer(
        ctx,
        "rls",
        repr((on, force)),
        lambda c: sc.set_rls(c, schema, table, enabled=on, force=force if force != forced else None),
    )


_DIALOGS: dict[str, Callable[..., None]] = {
    "new_table": _new_table,
    "add_column": _add_column,
    "change_column": _change_column,
    "rename_column": _rename_column,
    "drop_column": _drop_column,
    "new_index": _new_index,
    "drop_index": _drop_index,
    "new_constraint": _new_constraint,
    "drop_constraint": _drop_constraint,
    "new_policy": _new_policy,
    "drop_policy": _drop_policy,
    "rls": _rls,
}


def show_open_dialog(ctx: DialogContext) -> None:
    """Draw the dialog that is open, if any (call on every run of the page). DBAs only."""
    state = st.session_state.get(OPEN_KEY)
    if not state:
        return
    if not ctx.user.is_dba:
        close_dialog()
        return
    dialog = _DIALOGS.get(state.get("kind"))
    if dialog is None or (ctx.table is None and state.get("kind") not in TABLELESS):
        close_dialog()
        return
    dialog(ctx, **state.get("args", {}))
