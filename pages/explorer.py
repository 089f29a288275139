"""Workbench · Table explorer: find a table, read its structure, policies, DDL and neighbours, page its rows.

The page works on the chosen connection; the selected table lives in the URL (``?connection=demo&schema=public&
table=orders``) so a link opens the same table for a colleague. Catalog reads are cached for a short time per
connection name (a string, not the manager); the data preview is not cached (it must show current rows) and runs
only while its tab is open. Analysts and viewers see non-platform schemas and preview rows on the connection's
read-only login (dba_admin.browse).

DBAs on a connection with a DBA login also change the schema here (dialogs of ui/schema_dialogs.py: new table,
columns, indexes, constraints, policies, row level security) and edit rows of tables with a primary key (an editable
grid over the current page; dba_admin.row_edit turns the edits into SQL shown before it runs in one transaction).
Both run through the SQL editor's guarded path: recorded in the history and audited.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal
from typing import Any, Literal

import pandas as pd
import streamlit as st

from dba_admin import browse, maintenance, row_edit
from dba_admin.catalog import FILTER_OPERATORS, Filter, TableDetail, TableInfo
from dba_admin.erd import table_erd_dot
from dba_admin.errors import NotFound
from dba_admin.export import to_csv_bytes, to_json_bytes
from dba_admin.i18n import N_
from ui.i18n import _, ngettext, number, when
from ui.markdown import escape_markdown
from ui.schema_dialogs import DONE_KEY, DialogContext, open_dialog, show_open_dialog
from ui.session import (
    connection_param,
    current_connection,
    dba_login_notice,
    get_services,
    require_page,
    show_connection,
    show_error,
)
from ui.sql_workbench import show_sql_error
from ui.widgets import fmt_bytes, lazy_tabs, page_part, tab_open

CATALOG_TTL_S = 30
PAGE_SIZES = (25, 50, 100, 250, 500)
KIND_LABELS = {  # shown translated: _(KIND_LABELS[kind])
    "table": N_("table"),
    "partitioned_table": N_("partitioned table"),
    "view": N_("view"),
    "materialized_view": N_("materialized view"),
    "foreign_table": N_("foreign table"),
}
# The tabs, by the name the page (and its tests) use for them; the labels are translated where drawn.
TAB_LABELS = {
    "Data": N_("Data"),
    "Columns": N_("Columns"),
    "Keys": N_("Keys"),
    "Indexes": N_("Indexes"),
    "Constraints & triggers": N_("Constraints & triggers"),
    "Policies & grants": N_("Policies & grants"),
    "DDL": "DDL",
    "Diagram": N_("Diagram"),
    "Stats": N_("Stats"),
    "Maintenance": N_("Maintenance"),
}
PRIMARY_KEY_ORDER = N_("(primary key)")  # the "Sort by" option for the table's own order (shown translated)
NO_VALUE_OPS = ("is_null", "is_not_null")
DOWNLOAD_LIMIT_BYTES = 200 * 1024 * 1024

user = require_page("explorer")
services = get_services()
conn = current_connection(services, user)
WORKSPACE_KEY = services.database_label
# Schema changes and row edits: DBAs, on a connection that has a DBA login (the monitor login never writes).
CAN_CHANGE = user.is_dba and conn.has_dba_login
TABLE_KINDS = ("table", "partitioned_table")


# ---------------------------------------------------------------------------------------------------
# Cached catalog reads
# ---------------------------------------------------------------------------------------------------


@st.cache_data(ttl=CATALOG_TTL_S, show_spinner=False)
def load_tables(workspace_key: str, connection: str, nonce: int) -> list[TableInfo]:
    """Every relation of a connection, cached per connection name (the page checked the user may use it);
    ``nonce`` lets "Reload" skip the cache."""
    return get_services().connection(connection).get_tables()


@st.cache_data(ttl=CATALOG_TTL_S, show_spinner=False)
def load_detail(workspace_key: str, connection: str, schema: str, name: str, nonce: int) -> TableDetail:
    return get_services().connection(connection).describe_table(schema, name)


def fmt_time(value: dt.datetime | None) -> str:
    return when(value.astimezone()) if value else _("never")


def for_display(frame: pd.DataFrame) -> pd.DataFrame:
    """Values Arrow cannot show as they are (uuid, json dicts/lists, ranges) become their text."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            sample = next((v for v in out[column] if v is not None), None)
            if sample is not None and not isinstance(sample, (str, int, float, bool, bytes, dt.date, dt.time, Decimal)):
                out[column] = [None if v is None else as_text(v) for v in out[column]]
    return out


def as_text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def label_of(schema: str, name: str) -> str:
    return f"{schema}.{name}"


# ---------------------------------------------------------------------------------------------------
# Schema changes (DBAs): the dialogs live in ui/schema_dialogs.py; the page opens them and refreshes after
# ---------------------------------------------------------------------------------------------------


def refresh_catalog() -> None:
    """After a schema change: the cached list and details are stale."""
    load_tables.clear()
    load_detail.clear()
    st.session_state["explorer_nonce"] = time.time_ns()


def columns_of(schema: str, name: str) -> list[str]:
    try:
        return [c.name for c in load_detail(WORKSPACE_KEY, conn.name, schema, name, nonce).columns]
    except Exception:  # the dialog then offers no column; the server still checks what is typed
        return []


def draw_dialogs(d: TableDetail | None = None) -> None:
    """The open dialog, if any (called once per run, also before the page stops early)."""
    if not CAN_CHANGE:
        return
    show_open_dialog(
        DialogContext(
            services=services,
            user=user,
            db=conn,
            schema=d.schema if d else None,
            table=d.name if d else None,
            columns=tuple(c.name for c in d.columns) if d else (),
            tables=tuple(sorted((t.schema, t.name) for t in all_tables if t.kind in TABLE_KINDS)),
            schemas=tuple(sorted({t.schema for t in all_tables if not t.is_system_like} | {"public"})),
            columns_of=columns_of,
            on_done=refresh_catalog,
        )
    )


def action_picker(label: str, names: list[str], key: str, actions: list[tuple[str, str, str]]) -> None:
    """A name picker and buttons that open a dialog on the picked one: (button label, dialog kind, its argument)."""
    if not CAN_CHANGE or not names:
        return
    cols = st.columns([3] + [1] * len(actions), vertical_alignment="bottom")
    picked = cols[0].selectbox(label, names, key=f"{key}_pick")
    for col, (text, kind, arg) in zip(cols[1:], actions, strict=True):
        col.button(_(text), key=f"{key}_{kind}", on_click=open_dialog, args=(kind,), kwargs={arg: picked})


def change_toolbar(d: TableDetail) -> None:
    if not CAN_CHANGE:
        return
    if d.kind in TABLE_KINDS:
        cols = st.columns(5)
        cols[0].button(_("Add column"), key="explorer_add_column", on_click=open_dialog, args=("add_column",))
        cols[1].button(_("New index"), key="explorer_new_index", on_click=open_dialog, args=("new_index",))
        cols[2].button(
            _("New constraint"), key="explorer_new_constraint", on_click=open_dialog, args=("new_constraint",)
        )
        cols[3].button(_("New policy"), key="explorer_new_policy", on_click=open_dialog, args=("new_policy",))
        cols[4].button(
            _("Row level security"),
            key="explorer_rls",
            on_click=open_dialog,
            args=("rls",),
            kwargs={"enabled": d.rls_enabled, "forced": d.rls_forced},
        )
    elif d.kind == "materialized_view":
        st.button(_("New index"), key="explorer_new_index", on_click=open_dialog, args=("new_index",))


# ---------------------------------------------------------------------------------------------------
# Selection (URL <-> widgets)
# ---------------------------------------------------------------------------------------------------


def select_table(schema: str, name: str) -> None:
    """Make (schema, name) the open table: in the URL, so the link is shareable."""
    st.query_params.from_dict({**connection_param(), "schema": schema, "table": name})
    st.session_state["explorer_open"] = label_of(schema, name)


def on_open_select() -> None:
    chosen = st.session_state.get("explorer_open")
    keys: dict[str, tuple[str, str]] = st.session_state.get("explorer_keys", {})
    if chosen in keys:
        select_table(*keys[chosen])
    else:
        st.query_params.from_dict(connection_param())


def on_list_select() -> None:
    state = st.session_state.get("explorer_list")
    rows = list(getattr(getattr(state, "selection", None), "rows", []) or [])
    shown: list[tuple[str, str]] = st.session_state.get("explorer_shown", [])
    if rows and rows[0] < len(shown):
        select_table(*shown[rows[0]])


def on_goto() -> None:
    chosen = st.session_state.get("explorer_goto")
    keys: dict[str, tuple[str, str]] = st.session_state.get("explorer_keys", {})
    if chosen in keys:
        select_table(*keys[chosen])


def reset_view() -> None:
    st.session_state["explorer_page"] = 1


# ---------------------------------------------------------------------------------------------------
# The list
# ---------------------------------------------------------------------------------------------------


def matches(t: TableInfo, needle: str) -> bool:
    if not needle:
        return True
    hay = [t.schema, t.name, t.comment or "", *(c.name for c in t.columns)]
    return any(needle in h.lower() for h in hay)


def table_list(tables: list[TableInfo]) -> list[TableInfo]:
    schemas = sorted({t.schema for t in tables})
    default_schemas = [s for s in schemas if not any(t.is_system_like for t in tables if t.schema == s)] or schemas
    c1, c2, c3, c4 = st.columns([3, 2, 2, 1], vertical_alignment="bottom")
    needle = (
        c1.text_input(
            _("Search"), key="explorer_search", placeholder=_("table, column or comment"), on_change=reset_view
        )
        .strip()
        .lower()
    )
    # Per connection: each database has its own schemas, and the choice made on one is kept for it.
    chosen_schemas = c2.multiselect(_("Schemas"), schemas, default=default_schemas, key=f"explorer_schemas_{conn.name}")
    kinds = c3.multiselect(
        _("Kinds"),
        list(KIND_LABELS),
        default=list(KIND_LABELS),
        format_func=lambda k: _(KIND_LABELS[k]),
        key="explorer_kinds",
    )
    if c4.button(_("Reload"), key="explorer_reload", icon=":material/refresh:", help=_("Read the catalog again")):
        # A nonce no other session used: the cache is shared by every session, so a counter could hit another
        # session's (older) entry.
        st.session_state["explorer_nonce"] = time.time_ns()
        st.rerun()
    shown = [t for t in tables if t.schema in chosen_schemas and t.kind in kinds and matches(t, needle)]
    st.session_state["explorer_shown"] = [(t.schema, t.name) for t in shown]

    unprotected = [t.qualified_name for t in tables if t.rls_missing]
    if unprotected:
        st.warning(
            ngettext(
                "{count} table in `public` has row level security OFF, so anyone holding the API key can read it "
                "through Supabase's API: {tables}.",
                "{count} tables in `public` have row level security OFF, so anyone holding the API key can read "
                "them through Supabase's API: {tables}.",
                len(unprotected),
            ).format(count=number(len(unprotected)), tables=", ".join(escape_markdown(n) for n in unprotected)),
            icon=":material/lock_open:",
        )
    locked = [t for t in tables if t.lock is not None]
    if locked:
        st.warning(
            _(
                "Locked by another session right now; their sizes are estimates (as of the last VACUUM/ANALYZE), "
                "their column defaults are left out and their details open once the lock is released:"
            )
            + "\n"
            + "\n".join(f"- {escape_markdown(t.lock.message)}" for t in locked if t.lock is not None),
            icon=":material/lock:",
        )
    if not shown:
        st.info(_("No table matches. Clear the search or pick more schemas and kinds."))
        return shown
    frame = pd.DataFrame(
        [
            {
                "schema": t.schema,
                "name": t.name,
                "kind": _(KIND_LABELS[t.kind]),
                "rows (est.)": t.estimated_rows,  # None: a view, or never analysed (reltuples -1)
                "size": t.total_bytes,
                "RLS": (_("⚠ off") if t.rls_missing else _("on") if t.rls_enabled else _("off"))
                if t.kind in ("table", "partitioned_table")
                else "—",
                "policies": t.policy_count,
                "comment": t.comment or "",
                **(
                    {"lock": _("🔒 pid {pid}, size estimated").format(pid=t.lock.pid) if t.lock else ""}
                    if locked
                    else {}
                ),
            }
            for t in shown
        ]
    )
    # Nullable integers: an unknown estimate is an empty cell (placeholder below); the column still sorts as numbers.
    frame["rows (est.)"] = frame["rows (est.)"].astype("Int64")
    with st.expander(
        _("{shown} of {total} relations").format(shown=number(len(shown)), total=number(len(tables))),
        expanded="schema" not in st.query_params,
    ):
        st.dataframe(
            frame,
            hide_index=True,
            placeholder="",
            height=min(420, 38 + 35 * len(frame)),
            column_config={
                "schema": _("schema"),
                "name": _("name"),
                "kind": _("kind"),
                "size": st.column_config.NumberColumn(_("size (bytes)"), format="compact"),
                "rows (est.)": st.column_config.NumberColumn(
                    _("rows (est.)"),
                    format="localized",
                    help=_("The planner's estimate. Empty: a view, or a table not analysed yet — run ANALYZE."),
                ),
                "policies": _("policies"),
                "comment": st.column_config.TextColumn(_("comment"), width="large"),
                "lock": _("lock"),
            },
            key="explorer_list",
            on_select=on_list_select,
            selection_mode="single-row",
        )
        st.caption(_("Click a row, or pick it below, to open the table."))
    return shown


# ---------------------------------------------------------------------------------------------------
# Detail tabs
# ---------------------------------------------------------------------------------------------------


def header(d: TableDetail, info: TableInfo | None) -> None:
    st.header(escape_markdown(d.qualified_name), anchor=False)
    bits = [_(KIND_LABELS[d.kind]), _("owner {owner}").format(owner=escape_markdown(d.owner))]
    if d.estimated_rows is not None:
        bits.append(_("~{count} rows").format(count=number(d.estimated_rows)))
    bits.append(_("{size} total").format(size=fmt_bytes(d.sizes.total_bytes)))
    if d.kind in ("table", "partitioned_table"):
        bits.append((_("RLS on (forced)") if d.rls_forced else _("RLS on")) if d.rls_enabled else _("RLS off"))
    link = f"?connection={conn.name}&schema={d.schema}&table={d.name}"
    bits.append(_("link: {url}").format(url=escape_markdown(link)))
    st.caption(" · ".join(bits))
    if d.comment:
        st.markdown("> " + escape_markdown(d.comment))
    if info is not None and info.rls_missing:
        st.error(
            _("Row level security is OFF on this public table: every API role with a grant reads all of its rows.")
        )
    if d.partition_of:
        st.caption(
            _("Partition of {table} {bound}").format(
                table=escape_markdown(label_of(*d.partition_of)), bound=escape_markdown(d.partition_bound)
            )
        )
    if d.partition_key:
        st.caption(_("Partitioned by {key}").format(key=escape_markdown(d.partition_key)))


def columns_tab(d: TableDetail) -> None:
    pk = set(d.primary_key.columns) if d.primary_key else set()
    fk_cols = {c for fk in d.foreign_keys_out for c in fk.columns}
    frame = pd.DataFrame(
        [
            {
                "#": c.position,
                "key": "/".join(m for m, on in (("PK", c.name in pk), ("FK", c.name in fk_cols)) if on),
                "name": c.name,
                "type": c.type,
                "nullable": c.nullable,
                "default": c.default or (_("identity {kind}").format(kind=c.identity) if c.identity else None),
                "generated": c.generated,
                "comment": c.comment or "",
            }
            for c in d.columns
        ]
    )
    st.dataframe(
        frame,
        hide_index=True,
        column_config={
            "key": _("key"),
            "name": _("name"),
            "type": _("type"),
            "nullable": _("nullable"),
            "default": _("default"),
            "generated": _("generated"),
            "comment": _("comment"),
        },
        key="explorer_columns",
    )
    if d.kind in TABLE_KINDS:
        action_picker(
            _("Column"),
            [c.name for c in d.columns],
            "explorer_col",
            [
                (N_("Change"), "change_column", "column"),
                (N_("Rename"), "rename_column", "column"),
                (N_("Drop"), "drop_column", "column"),
            ],
        )
    if d.foreign is not None:
        st.subheader(_("Foreign table"), anchor=False)
        st.markdown(
            _("Server **{server}** (wrapper {wrapper})").format(
                server=escape_markdown(d.foreign.server), wrapper=escape_markdown(d.foreign.wrapper)
            )
        )
        option_labels = {"option": _("option"), "value": _("value")}
        c1, c2 = st.columns(2)
        c1.caption(_("Table options"))
        c1.dataframe(
            pd.DataFrame(sorted(d.foreign.options.items()), columns=["option", "value"]),
            hide_index=True,
            column_config=option_labels,
        )
        c2.caption(_("Server options"))
        c2.dataframe(
            pd.DataFrame(sorted(d.foreign.server_options.items()), columns=["option", "value"]),
            hide_index=True,
            column_config=option_labels,
        )
    if d.view_definition:
        st.caption(_("Definition"))
        st.code(d.view_definition, language="sql")


def keys_tab(d: TableDetail, keys: dict[str, tuple[str, str]]) -> None:
    if d.primary_key:
        st.markdown(
            _("**Primary key** {name}: {columns}").format(
                name=escape_markdown(d.primary_key.name), columns=escape_markdown(", ".join(d.primary_key.columns))
            )
        )
    else:
        st.info(_("No primary key.") if d.kind in ("table", "partitioned_table") else _("Views have no keys."))
    neighbours: list[str] = []
    fk_labels = {
        "table": _("table"),
        "name": _("name"),
        "columns": _("columns"),
        "references": _("references"),
        "to": _("to"),
        "on delete": _("on delete"),
        "on update": _("on update"),
        "validated": _("validated"),
    }
    if d.foreign_keys_out:
        st.markdown(_("**References** (foreign keys of this table)"))
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "name": fk.name,
                        "columns": ", ".join(fk.columns),
                        "references": f"{label_of(fk.ref_schema, fk.ref_table)} ({', '.join(fk.ref_columns)})",
                        "on delete": fk.on_delete,
                        "on update": fk.on_update,
                        "validated": fk.validated,
                    }
                    for fk in d.foreign_keys_out
                ]
            ),
            hide_index=True,
            column_config=fk_labels,
            key="explorer_fks_out",
        )
        neighbours += [label_of(fk.ref_schema, fk.ref_table) for fk in d.foreign_keys_out]
    if d.foreign_keys_in:
        st.markdown("**" + _("Referenced by") + "**")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "table": label_of(fk.schema, fk.table),
                        "name": fk.name,
                        "columns": ", ".join(fk.columns),
                        "to": ", ".join(fk.ref_columns),
                        "on delete": fk.on_delete,
                    }
                    for fk in d.foreign_keys_in
                ]
            ),
            hide_index=True,
            column_config=fk_labels,
            key="explorer_fks_in",
        )
        neighbours += [label_of(fk.schema, fk.table) for fk in d.foreign_keys_in]
    reachable = sorted({n for n in neighbours if n in keys and n != d.qualified_name})
    if reachable:
        st.selectbox(
            _("Open a related table"),
            reachable,
            index=None,
            key="explorer_goto",
            on_change=on_goto,
            placeholder=_("table"),
        )
    elif not d.foreign_keys_out and not d.foreign_keys_in:
        st.caption(_("No foreign keys point from or to this table."))


def indexes_tab(d: TableDetail) -> None:
    if not d.indexes:
        st.info(_("No indexes."))
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "name": i.name,
                    "columns": ", ".join(i.columns),
                    "method": i.method,
                    "unique": i.is_unique,
                    "primary": i.is_primary,
                    "valid": i.is_valid,
                    "size": fmt_bytes(i.size_bytes),
                    "scans": i.idx_scan,
                    "definition": i.definition,
                }
                for i in d.indexes
            ]
        ),
        hide_index=True,
        column_config={
            "name": _("name"),
            "columns": _("columns"),
            "method": _("method"),
            "unique": _("unique"),
            "primary": _("primary"),
            "valid": _("valid"),
            "size": _("size"),
            "scans": _("scans"),
            "definition": _("definition"),
        },
        key="explorer_indexes",
    )
    unused = [i.name for i in d.indexes if i.idx_scan == 0 and not i.is_primary and not i.is_unique]
    if unused:
        st.caption(
            _("Never scanned since the statistics reset: {indexes}.").format(indexes=escape_markdown(", ".join(unused)))
        )
    invalid = [i.name for i in d.indexes if not i.is_valid]
    if invalid:
        st.warning(
            _(
                "INVALID: {indexes}. A CONCURRENTLY build failed (or is still running): queries do not use it, yet "
                "every write still maintains it. Drop it (CONCURRENTLY) and build it again."
            ).format(indexes=escape_markdown(", ".join(invalid))),
            icon=":material/build:",
        )
    # Indexes that back a constraint go with the constraint (Constraints tab), not with DROP INDEX.
    action_picker(
        _("Index"),
        [i.name for i in d.indexes if i.constraint is None],
        "explorer_idx",
        [(N_("Drop"), "drop_index", "index")],
    )


def constraints_tab(d: TableDetail) -> None:
    st.markdown("**" + _("Constraints") + "**")
    if d.constraints:
        st.dataframe(
            pd.DataFrame(
                [
                    {"name": c.name, "type": c.type, "definition": c.definition, "validated": c.validated}
                    for c in d.constraints
                ]
            ),
            hide_index=True,
            column_config={
                "name": _("name"),
                "type": _("type"),
                "definition": _("definition"),
                "validated": _("validated"),
            },
            key="explorer_constraints",
        )
    else:
        st.caption(_("No check, unique or exclusion constraints."))
    if d.kind in TABLE_KINDS:
        droppable = [c.name for c in d.constraints if not c.inherited]
        droppable += [fk.name for fk in d.foreign_keys_out if not fk.inherited]
        droppable += [d.primary_key.name] if d.primary_key else []
        action_picker(_("Constraint"), droppable, "explorer_con", [(N_("Drop"), "drop_constraint", "constraint")])
    st.markdown("**" + _("Triggers") + "**")
    if d.triggers:
        st.dataframe(
            pd.DataFrame(
                [
                    {"name": t.name, "enabled": t.enabled, "function": t.function, "definition": t.definition}
                    for t in d.triggers
                ]
            ),
            hide_index=True,
            column_config={
                "name": _("name"),
                "enabled": _("enabled"),
                "function": _("function"),
                "definition": _("definition"),
            },
            key="explorer_triggers",
        )
    else:
        st.caption(_("No triggers."))


def policies_tab(d: TableDetail) -> None:
    if d.kind not in ("table", "partitioned_table"):
        st.info(_("Row level security applies to tables; a view runs with its owner's rights unless security_invoker."))
    elif not d.rls_enabled:
        st.warning(_("Row level security is OFF: policies below (if any) are not applied."))
    elif not d.policies:
        st.info(_("RLS is on with no policy: only the owner and roles with BYPASSRLS see rows."))
    for p in d.policies:
        roles = escape_markdown(", ".join(p.roles))
        kind = _("permissive") if p.permissive else _("restrictive")
        to_roles = _("to {roles}").format(roles=roles)
        st.markdown(f"**{escape_markdown(p.name)}** · {escape_markdown(p.command)} · {kind} · {to_roles}")
        st.code(p.create_statement, language="sql")
    action_picker(_("Policy"), [p.name for p in d.policies], "explorer_pol", [(N_("Drop"), "drop_policy", "policy")])
    st.markdown("**" + _("Grants") + "**")
    if d.grants:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "grantee": g.grantee,
                        "privileges": ", ".join(g.privileges),
                        "with grant option": ", ".join(g.grantable),
                        "grantor": g.grantor,
                    }
                    for g in d.grants
                ]
            ),
            hide_index=True,
            column_config={
                "grantee": _("grantee"),
                "privileges": _("privileges"),
                "with grant option": _("with grant option"),
                "grantor": _("grantor"),
            },
            key="explorer_grants",
        )
    else:
        st.caption(_("No grants besides the owner."))


def stats_tab(d: TableDetail) -> None:
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(_("Table"), fmt_bytes(d.sizes.table_bytes))
    c2.metric(_("Indexes"), fmt_bytes(d.sizes.indexes_bytes))
    c3.metric(_("TOAST"), fmt_bytes(d.sizes.toast_bytes))
    c4.metric(_("Total"), fmt_bytes(d.sizes.total_bytes))
    s = d.stats
    if s is None:
        st.caption(_("No activity statistics for this kind of relation."))
        return
    st.dataframe(
        pd.DataFrame(
            [
                {"figure": _("sequential scans"), "value": s.seq_scan},
                {"figure": _("rows read by sequential scans"), "value": s.seq_tup_read},
                {"figure": _("index scans"), "value": s.idx_scan},
                {"figure": _("live rows"), "value": s.n_live_tup},
                {"figure": _("dead rows"), "value": s.n_dead_tup},
                {
                    "figure": _("inserted / updated / deleted"),
                    "value": f"{s.n_tup_ins} / {s.n_tup_upd} / {s.n_tup_del}",
                },
                {
                    "figure": _("last vacuum (auto)"),
                    "value": f"{fmt_time(s.last_vacuum)} ({fmt_time(s.last_autovacuum)})",
                },
                {
                    "figure": _("last analyze (auto)"),
                    "value": f"{fmt_time(s.last_analyze)} ({fmt_time(s.last_autoanalyze)})",
                },
            ]
        ).astype({"value": "string"}),
        hide_index=True,
        column_config={"figure": _("figure"), "value": _("value")},
        key="explorer_stats",
    )


def diagram_tab(d: TableDetail) -> None:
    dot = table_erd_dot(d)
    st.graphviz_chart(dot)
    with st.expander(_("DOT source")):
        st.code(dot, language="dot")


def current_filters(columns: tuple[str, ...]) -> list[Filter]:
    kept = [f for f in st.session_state.get("explorer_filters", []) if f.column in columns]
    st.session_state["explorer_filters"] = kept
    return kept


def add_filter() -> None:
    column = st.session_state.get("explorer_filter_col")
    op = st.session_state.get("explorer_filter_op")
    value = st.session_state.get("explorer_filter_value", "")
    if not column or not op:
        return
    if op == "in":
        parsed: Any = [v.strip() for v in str(value).split(",") if v.strip()]
    elif op in NO_VALUE_OPS:
        parsed = None
    else:
        parsed = value
    st.session_state.setdefault("explorer_filters", []).append(Filter(column, op, parsed))
    st.session_state["explorer_filter_value"] = ""
    reset_view()


def clear_filters() -> None:
    st.session_state["explorer_filters"] = []
    reset_view()


def step_page(delta: int) -> None:
    st.session_state["explorer_page"] = max(1, int(st.session_state.get("explorer_page", 1)) + delta)


def edit_grid(d: TableDetail, page: Any, signature: str) -> None:
    """The page's rows in an editable grid; the edits as SQL, applied in one transaction after "Apply"."""
    try:
        table = row_edit.load_table(conn, d.schema, d.name)
    except row_edit.NotEditable as exc:
        st.info(escape_markdown(str(exc)))
        if not page.rows.empty:
            st.dataframe(for_display(page.rows), hide_index=True, key="explorer_rows")
        return
    except Exception as exc:
        show_error(exc, action=_("Reading the table's key and columns"))
        return
    # A new grid (and so an empty edit state) for another page, filter or order, and after Apply/Discard.
    if st.session_state.get("explorer_edit_sig") != signature:
        st.session_state["explorer_edit_sig"] = signature
        st.session_state["explorer_edit_gen"] = int(st.session_state.get("explorer_edit_gen", -1)) + 1
    key = f"explorer_editor_{st.session_state['explorer_edit_gen']}"
    done = st.session_state.pop("explorer_edit_done", None)
    if done:
        st.success(escape_markdown(done))
    config: dict[str, Any] = {}
    for c in table.columns:
        label = f"{c.name} ({c.type})"
        if c.editor in ("integer", "number"):
            config[c.name] = st.column_config.NumberColumn(help=label, step=1 if c.editor == "integer" else None)
        elif c.editor == "bool":
            config[c.name] = st.column_config.CheckboxColumn(help=label)
        else:
            config[c.name] = st.column_config.TextColumn(help=label + (" · JSON" if c.is_json else ""))
    locked = [c.name for c in table.read_only_columns]
    if table.key_has_defaults:  # new rows get their key from the default; existing keys are never changed here
        locked += [k for k in table.primary_key if k not in locked]
    st.data_editor(
        row_edit.editor_frame(table, page.rows),
        key=key,
        num_rows="dynamic",
        hide_index=True,
        disabled=locked,
        column_config=config,
    )
    notes = [_("an emptied cell becomes NULL"), _("nothing is saved until you apply")]
    if not table.key_has_defaults:
        notes.insert(0, _("type the key of a new row; keys of existing rows are not changed here"))
    st.caption(
        _("Edit cells, add rows at the bottom, select rows to delete them: {notes}.").format(notes="; ".join(notes))
    )
    if table.read_only_columns:
        st.caption(
            _("Not editable here: {columns}.").format(
                columns=escape_markdown(", ".join(f"{c.name} ({c.why_not})" for c in table.read_only_columns))
            )
        )
    state = st.session_state.get(key) or {}
    try:
        changes = row_edit.plan_changes(table, page.rows, state)
    except row_edit.NotEditable as exc:
        st.warning(escape_markdown(str(exc)))
        return
    if changes.empty:
        return
    with st.expander(_("Changes: {summary}").format(summary=changes.summary), expanded=True):
        st.code(changes.sql, language="sql")
        if changes.destructive:
            st.warning("\n".join(f"- {escape_markdown(x)}" for x in changes.destructive), icon=":material/delete:")
        st.caption(
            _(
                "Runs as ONE transaction on the DBA login, recorded in your history and the audit log. An update "
                "also checks the row still holds what you saw: if someone changed it meanwhile, nothing is saved."
            )
        )
    a1, a2, _spacer = st.columns([1, 1, 4])
    if a2.button(_("Discard"), key="explorer_edit_discard"):
        st.session_state["explorer_edit_sig"] = None
        st.rerun()
    if a1.button(_("Apply"), key="explorer_edit_apply", type="primary", icon=":material/save:"):
        try:
            with st.spinner(_("Applying…")):
                result = row_edit.apply_changes(services.projects, user.claims, conn, changes)
        except Exception as exc:  # refused (PermissionDenied...) or no connection: nothing ran
            show_error(exc, action=_("Applying the changes"))
            return
        if result.ok:
            run_no = result.outcome.execution.id if result.outcome.execution is not None else None
            st.session_state["explorer_edit_done"] = (
                _("Applied {summary} (run #{run} in your history).").format(summary=changes.summary, run=run_no)
                if run_no is not None
                else _("Applied {summary}.").format(summary=changes.summary)
            )
            st.session_state["explorer_edit_sig"] = None
            st.rerun()
        if result.conflict is not None:
            st.error(
                _(
                    "Row {key} was changed or deleted by someone else since this page was read: nothing was saved "
                    "(the whole transaction was rolled back). Discard, then edit the current rows again."
                ).format(key=escape_markdown(result.conflict.key)),
                icon=":material/sync_problem:",
            )
            return
        error = next((r.error for r in result.outcome.results if r.error is not None), result.outcome.error)
        if error is not None:
            show_sql_error(error, changes.sql)
            st.caption(_("Nothing was saved: the whole transaction was rolled back."))


def data_tab(d: TableDetail) -> None:
    names = tuple(c.name for c in d.columns)
    filters = current_filters(names)
    editing = False
    if CAN_CHANGE and d.kind in TABLE_KINDS:
        editing = st.toggle(
            _("Edit rows"),
            key="explorer_edit_mode",
            help=_("Edit this page's rows: the changes are shown as SQL and applied in one transaction."),
        )
    c1, c2, c3 = st.columns([2, 2, 1])
    sort = c1.selectbox(
        _("Sort by"),
        [PRIMARY_KEY_ORDER, *names],
        format_func=lambda c: _(c) if c == PRIMARY_KEY_ORDER else c,
        key="explorer_sort",
        on_change=reset_view,
    )
    descending = c2.toggle(_("Descending"), key="explorer_desc", on_change=reset_view)
    page_size = c3.selectbox(_("Rows per page"), PAGE_SIZES, index=2, key="explorer_page_size", on_change=reset_view)

    with st.expander(_("Filters ({count})").format(count=len(filters)), expanded=bool(filters)):
        f1, f2, f3, f4 = st.columns([2, 1, 2, 1], vertical_alignment="bottom")
        f1.selectbox(_("Column"), names, key="explorer_filter_col")
        op = f2.selectbox(_("Operator"), FILTER_OPERATORS, key="explorer_filter_op")
        f3.text_input(
            _("Value"),
            key="explorer_filter_value",
            disabled=op in NO_VALUE_OPS,
            placeholder="a, b, c" if op == "in" else _("text; PostgreSQL reads it as the column's type"),
        )
        f4.button(_("Add filter"), key="explorer_filter_add", on_click=add_filter)
        for f in filters:
            shown = "" if f.op in NO_VALUE_OPS else f" {f.value!r}"
            st.markdown("- " + escape_markdown(f"{f.column} {f.op}{shown}"))
        if filters:
            st.button(_("Clear filters"), key="explorer_filter_clear", on_click=clear_filters)

    page_no = int(st.session_state.get("explorer_page", 1))
    order_by = [] if sort == PRIMARY_KEY_ORDER else [(sort, not descending)]
    try:
        with st.spinner(_("Reading rows…")):
            page = browse.preview_as(
                conn,
                None if user.is_dba else user.claims,
                d.schema,
                d.name,
                filters=filters,
                order_by=order_by,
                page=page_no,
                page_size=int(page_size),
            )
    except Exception as exc:
        show_error(exc, action=_("Reading the rows"))
        return
    if page.rows.empty and page_no > 1:
        st.session_state["explorer_page"] = 1
        st.rerun()
    first = (page.page - 1) * page.page_size + 1
    last = first + len(page.rows) - 1
    total = "?" if page.total_rows is None else f"{'~' if page.total_is_estimate else ''}{number(page.total_rows)}"
    if editing:  # the page's rows in an editable grid (an empty page still takes new rows)
        edit_grid(d, page, repr((conn.name, d.schema, d.name, page.page, page.page_size, filters, order_by)))
    elif page.rows.empty:
        st.info(_("No rows match the filters.") if filters else _("No rows."))
        if d.rls_enabled and not filters and (d.estimated_rows or 0) > 0:
            st.caption(
                _(
                    "Row level security is on for this table: this connection's login reads only the rows a policy "
                    "grants it (or all of them when it owns the table or bypasses RLS)."
                )
            )
    else:
        st.dataframe(for_display(page.rows), hide_index=True, key="explorer_rows")
    p1, p2, p3 = st.columns([1, 3, 1])
    p1.button(_("◀ Previous"), key="explorer_prev", disabled=page.page <= 1, on_click=step_page, args=(-1,))
    if page.rows.empty:
        position = _("Page {page}").format(page=number(page.page))
    elif page.page_count and not page.total_is_estimate:
        position = _("Rows {first}–{last} of {total} · page {page} of {pages}").format(
            first=number(first), last=number(last), total=total, page=number(page.page), pages=number(page.page_count)
        )
    else:
        position = _("Rows {first}–{last} of {total} · page {page}").format(
            first=number(first), last=number(last), total=total, page=number(page.page)
        )
    p2.caption(position)
    p3.button(_("Next ▶"), key="explorer_next", disabled=not page.has_next, on_click=step_page, args=(1,))
    if not user.is_dba:
        st.caption(
            _(
                "Rows as the connection's read-only login reads them (in a read-only transaction): the grants its "
                "owner gave that login decide what you see."
            )
        )
    if not page.rows.empty:
        stem = f"{d.schema}.{d.name}.page{page.page}"
        d1, d2, _spacer = st.columns([1, 1, 4])
        d1.download_button(
            _("Download CSV"),
            to_csv_bytes(page.rows),
            f"{stem}.csv",
            "text/csv",
            key="explorer_csv",
        )
        d2.download_button(
            _("Download JSON"),
            to_json_bytes(page.rows),
            f"{stem}.json",
            "application/json",
            key="explorer_json",
        )


def maintenance_tab(d: TableDetail) -> None:
    if d.kind == "materialized_view":
        st.subheader(_("Refresh"), anchor=False)
        try:
            last = maintenance.last_refresh(conn, d.schema, d.name)
        except Exception as exc:
            show_error(exc, action=_("Reading the last refresh"))
            last = None
        st.caption(
            _("Last refresh from this app: {time}").format(time=fmt_time(last))
            if last
            else _("Last refresh: unknown (PostgreSQL does not record it; refreshes made here are shown).")
        )
        if d.matview_populated is False:
            st.warning(_("Not populated (created WITH NO DATA): reading it fails until it is refreshed."))
        if not conn.has_dba_login:  # a refresh writes: never on the monitor login
            notice = dba_login_notice(conn, _("A refresh"), _("this view cannot be refreshed from here"))
            st.info(escape_markdown(notice))
    if d.kind == "materialized_view" and conn.has_dba_login:
        concurrently = st.checkbox(
            _("Concurrently (readers are not blocked; needs a unique index and a populated view)"),
            key="explorer_refresh_concurrently",
        )
        if st.button(_("Refresh materialized view"), key="explorer_refresh", type="primary"):
            try:
                with st.spinner(_("Refreshing…")):
                    refreshed = maintenance.refresh_materialized_view(
                        conn, d.schema, d.name, user.username, concurrently=concurrently
                    )
                load_detail.clear()
                st.success(
                    _("Refreshed in {ms} ms (recorded in the audit log).").format(
                        ms=number(refreshed.duration_ms, digits=0)
                    )
                )
            except Exception as exc:
                show_error(exc, action=_("The refresh"))
    st.subheader(_("Backup"), anchor=False)
    st.caption(
        _(
            "Streams the whole table from one consistent snapshot into the server's backup folder; recorded in the "
            "audit log. SQL = INSERT statements to restore with psql or the SQL editor."
        )
    )
    fmt: Literal["csv", "sql"] = (
        "sql"
        if st.radio(_("File format"), ["csv", "sql"], horizontal=True, key="explorer_backup_fmt") == "sql"
        else "csv"
    )
    if st.button(_("Back up table"), key="explorer_backup", icon=":material/backup:"):
        expected = max(1, d.estimated_rows or 1)
        bar = st.progress(0.0, text=_("Starting…"))

        def written(rows: int) -> str:
            return ngettext("{count} row written", "{count} rows written", rows).format(count=number(rows))

        def progress(rows: int) -> None:
            bar.progress(min(rows / expected, 1.0), text=written(rows))

        try:
            result = maintenance.backup_table(conn, d.schema, d.name, user.username, fmt, progress=progress)
            bar.progress(1.0, text=written(result.rows))
            st.session_state["explorer_backup_result"] = (d.schema, d.name, result)
        except Exception as exc:
            bar.empty()
            show_error(exc, action=_("The backup"))
    saved = st.session_state.get("explorer_backup_result")
    if saved and saved[:2] == (d.schema, d.name):
        result = saved[2]
        st.success(
            ngettext(
                "Backed up {count} row ({size}) to {path}.", "Backed up {count} rows ({size}) to {path}.", result.rows
            ).format(count=number(result.rows), size=fmt_bytes(result.bytes), path=escape_markdown(result.path))
        )
        if result.bytes <= DOWNLOAD_LIMIT_BYTES and result.path.is_file():
            st.download_button(
                _("Download the backup file"),
                result.path.read_bytes(),
                result.path.name,
                "text/csv" if result.fmt == "csv" else "application/sql",
                key="explorer_backup_download",
            )
    else:
        try:
            previous = maintenance.last_backup(conn, d.schema, d.name)
        except Exception:
            previous = None
        if previous:
            backed_up_at, details = previous
            st.caption(
                _("Last backup: {time} · {rows} rows · {file}").format(
                    time=fmt_time(backed_up_at),
                    rows=escape_markdown(details.get("rows", "?")),
                    file=escape_markdown(details.get("file", "")),
                )
            )


# ---------------------------------------------------------------------------------------------------
# Page
# ---------------------------------------------------------------------------------------------------

st.title(_("Table explorer"))
show_connection(services, conn)
if CAN_CHANGE:
    st.button(
        _("New table"), key="explorer_new_table", icon=":material/add:", on_click=open_dialog, args=("new_table",)
    )
finished = st.session_state.pop(DONE_KEY, None)
if finished:
    st.success(escape_markdown(finished))
nonce = int(st.session_state.get("explorer_nonce", 0))
list_failed = False
all_tables: list[TableInfo] = []
try:
    with st.spinner(_("Reading the catalog…")):
        all_tables = load_tables(WORKSPACE_KEY, conn.name, nonce)
except Exception as exc:  # the list fails alone: a table named in the link still opens below
    show_error(exc, action=_("Reading the table list"))
    list_failed = True

tables = browse.visible_tables(all_tables, user.role)
if not tables and not list_failed:
    st.info(
        _(
            "Connection {name} has no tables yet (or none you may open). A DBA can create them in the SQL editor."
        ).format(name=escape_markdown(conn.name))
    )
    draw_dialogs()
    st.stop()
by_key = {(t.schema, t.name): t for t in tables}
keys = {label_of(*k): k for k in by_key}
st.session_state["explorer_keys"] = keys

shown: list[TableInfo] = []
if tables:
    with page_part(_("Showing the table list")):
        shown = table_list(tables)

params_schema = st.query_params.get("schema")
params_table = st.query_params.get("table")
selected = (params_schema, params_table) if params_schema and params_table else None
options = [label_of(t.schema, t.name) for t in shown]
if selected and label_of(*selected) not in options:
    options.insert(0, label_of(*selected))
if selected and st.session_state.get("explorer_current") != (conn.name, *selected):
    # A new table (a link, the list, a related table): start its view afresh.
    st.session_state["explorer_current"] = (conn.name, *selected)
    st.session_state["explorer_open"] = label_of(*selected)
    st.session_state["explorer_filters"] = []
    st.session_state["explorer_page"] = 1
    st.session_state.pop("explorer_sort", None)
st.selectbox(
    _("Open table"),
    options,
    index=None,
    key="explorer_open",
    on_change=on_open_select,
    placeholder=_("pick a table"),
)

if selected is None:
    st.info(_("Pick a table to see its columns, keys, indexes, policies, DDL, diagram and rows."))
    draw_dialogs()
    st.stop()
schema, name = selected
if not browse.may_see(user.role, schema):
    st.error(
        _("The schema {schema} is not open to the role {role}.").format(schema=escape_markdown(schema), role=user.role)
    )
    st.stop()
try:
    with st.spinner(_("Reading the table…")):
        detail = load_detail(WORKSPACE_KEY, conn.name, schema, name, nonce)
except NotFound:
    st.warning(
        _("{table} does not exist (any more) on connection {connection}. Pick another table.").format(
            table=escape_markdown(label_of(schema, name)), connection=escape_markdown(conn.name)
        )
    )
    draw_dialogs()
    st.stop()
except Exception as exc:  # e.g. TableLocked: names the session holding the lock; the list above still works
    show_error(exc, action=_("Reading {object}").format(object=label_of(schema, name)))
    st.stop()

header(detail, by_key.get(selected))
change_toolbar(detail)
tab_names = [
    "Data",
    "Columns",
    "Keys",
    "Indexes",
    "Constraints & triggers",
    "Policies & grants",
    "DDL",
    "Diagram",
    "Stats",
]
if user.is_dba:
    tab_names.append("Maintenance")
tabs = lazy_tabs({n: TAB_LABELS[n] for n in tab_names}, key="explorer_tab")


# Each tab fails alone (its message in its place); the header, the list and the other tabs still work.
with tabs["Data"]:
    if tab_open(tabs["Data"]):
        with page_part(_("Showing the rows")):
            data_tab(detail)
with tabs["Columns"]:
    if tab_open(tabs["Columns"]):
        with page_part(_("Showing the columns")):
            columns_tab(detail)
with tabs["Keys"]:
    if tab_open(tabs["Keys"]):
        with page_part(_("Showing the keys")):
            keys_tab(detail, keys)
with tabs["Indexes"]:
    if tab_open(tabs["Indexes"]):
        with page_part(_("Showing the indexes")):
            indexes_tab(detail)
with tabs["Constraints & triggers"]:
    if tab_open(tabs["Constraints & triggers"]):
        with page_part(_("Showing the constraints and triggers")):
            constraints_tab(detail)
with tabs["Policies & grants"]:
    if tab_open(tabs["Policies & grants"]):
        with page_part(_("Showing the policies and grants")):
            policies_tab(detail)
with tabs["DDL"]:
    if tab_open(tabs["DDL"]):
        st.code(detail.ddl or "-- " + _("no DDL available"), language="sql", line_numbers=True)
with tabs["Diagram"]:
    if tab_open(tabs["Diagram"]):
        with page_part(_("Drawing the diagram")):
            diagram_tab(detail)
with tabs["Stats"]:
    if tab_open(tabs["Stats"]):
        with page_part(_("Showing the statistics")):
            stats_tab(detail)
if "Maintenance" in tabs:
    with tabs["Maintenance"]:
        if tab_open(tabs["Maintenance"]):
            with page_part(_("Showing maintenance")):
                maintenance_tab(detail)
draw_dialogs(detail)
