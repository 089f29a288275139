"""Workbench · Objects: every object of the chosen connection, with its DDL, dependencies, grants and size; and roles.

Read-only. The catalog is read on the connection's monitor login, one query per kind (dba_admin.objects), and
cached for a short time per connection name; "Refresh" reads it again. The chosen object lives in the URL
(``?connection=demo&kind=table&schema=public&name=orders``, or ``?view=roles&role=...``) so a link opens it for a
colleague. The list is one st.dataframe with row selection (no widget per object), so it stays usable at thousands of
tables.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dba_admin import objects
from dba_admin.errors import NotFound
from dba_admin.i18n import N_
from dba_admin.objects import DbObject, ObjectCatalog, ObjectDetail, RoleGrant, RoleInfo
from ui.i18n import _, number
from ui.markdown import escape_markdown
from ui.session import connection_param, current_connection, get_services, require_page, show_connection, show_error
from ui.widgets import fmt_bytes, page_part

CATALOG_TTL_S = 30
# Option values (kept in the session and compared); shown translated.
ALL = N_("(all)")
VIEWS = (N_("Objects"), N_("Roles"))

user = require_page("objects")
services = get_services()
conn = current_connection(services, user)
WORKSPACE_KEY = services.database_label


# ---------------------------------------------------------------------------------------------------
# Cached reads (per connection name; the page checked the user may use it)
# ---------------------------------------------------------------------------------------------------


@st.cache_data(ttl=CATALOG_TTL_S, show_spinner=False)
def load_catalog(workspace_key: str, connection: str, include_system: bool, nonce: int) -> ObjectCatalog:
    return objects.catalog_of(get_services().connection(connection), include_system=include_system)


@st.cache_data(ttl=CATALOG_TTL_S, show_spinner=False)
def load_frame(workspace_key: str, connection: str, include_system: bool, nonce: int) -> pd.DataFrame:
    """The whole list as one frame, built once per catalog read (filtering it is then vectorised)."""
    cat = load_catalog(workspace_key, connection, include_system, nonce)
    return pd.DataFrame(
        {
            "schema": [o.schema for o in cat.objects],
            "name": [o.name for o in cat.objects],
            "kind": [o.kind for o in cat.objects],
            "size": pd.array([o.size_bytes for o in cat.objects], dtype="Int64"),
            "owner": [o.owner for o in cat.objects],
            "info": [o.info for o in cat.objects],
            "extension": [o.extension or "" for o in cat.objects],
            "comment": [o.comment or "" for o in cat.objects],
        }
    )


@st.cache_data(ttl=CATALOG_TTL_S, show_spinner=False)
def load_detail(workspace_key: str, connection: str, obj: DbObject, nonce: int) -> ObjectDetail:
    return objects.detail_of(get_services().connection(connection), obj)


@st.cache_data(ttl=CATALOG_TTL_S, show_spinner=False)
def load_roles(workspace_key: str, connection: str, include_system: bool, nonce: int) -> list[RoleInfo]:
    return objects.roles_of(get_services().connection(connection), include_system=include_system)


@st.cache_data(ttl=CATALOG_TTL_S, show_spinner=False)
def load_role_grants(
    workspace_key: str, connection: str, role: str, include_system: bool, nonce: int
) -> list[RoleGrant]:
    return objects.grants_of(get_services().connection(connection), role, include_system=include_system)


# ---------------------------------------------------------------------------------------------------
# Selection (URL <-> widgets)
# ---------------------------------------------------------------------------------------------------


def select_object(kind: str, schema: str, name: str) -> None:
    st.query_params.from_dict({**connection_param(), "kind": kind, "schema": schema, "name": name})


def on_list_select() -> None:
    state = st.session_state.get("objects_list")
    rows = list(getattr(getattr(state, "selection", None), "rows", []) or [])
    shown: list[tuple[str, str, str]] = st.session_state.get("objects_shown", [])
    if rows and rows[0] < len(shown):
        select_object(*shown[rows[0]])


def on_view_change() -> None:
    view = st.session_state.get("objects_view")
    st.query_params.from_dict({**connection_param(), **({"view": "roles"} if view == "Roles" else {})})


def on_role_change() -> None:
    role = st.session_state.get("objects_role")
    st.query_params.from_dict({**connection_param(), "view": "roles", **({"role": role} if role else {})})


def refresh() -> None:
    st.session_state["objects_nonce"] = st.session_state.get("objects_nonce", 0) + 1


# ---------------------------------------------------------------------------------------------------
# The list
# ---------------------------------------------------------------------------------------------------


def grant_labels() -> dict[str, str]:
    """The grant columns' labels in the user's language (read on every run, so not a module constant)."""
    return {
        "column": _("column"),
        "privilege": _("privilege"),
        "grantable": _("grantable"),
        "grantee": _("grantee"),
        "grantor": _("grantor"),
    }


def filtered(frame: pd.DataFrame, needle: str, schema: str, kind: str) -> pd.DataFrame:
    keep = pd.Series(True, index=frame.index)
    if schema != ALL:
        keep &= frame["schema"] == schema
    if kind != ALL:
        keep &= frame["kind"] == kind
    if needle:
        hay = frame["name"].str.lower() + "\n" + frame["comment"].str.lower() + "\n" + frame["info"].str.lower()
        keep &= hay.str.contains(needle, regex=False)
    return frame[keep]


def object_list(cat: ObjectCatalog, frame: pd.DataFrame) -> None:
    needle = st.text_input(_("Search"), key="objects_search", placeholder=_("name, comment, labels…")).strip().lower()
    options = [ALL, *(s.name for s in cat.schemas)]
    key = f"objects_schema_{conn.name}"  # per connection: each database has its own schemas
    if st.session_state.get(key) not in options:  # first visit (a link's schema, else public) or a schema gone
        asked = st.query_params.get("schema")
        st.session_state[key] = asked if asked in options else "public" if "public" in options else ALL
    schema = st.selectbox(_("Schema"), options, format_func=lambda s: _(s) if s == ALL else s, key=key)
    present = [k for k in objects.KINDS if k in set(frame["kind"])]
    kind = st.selectbox(_("Kind"), [ALL, *present], format_func=lambda k: _(k) if k == ALL else k, key="objects_kind")
    shown = filtered(frame, needle, schema, kind)
    st.session_state["objects_shown"] = list(
        zip(shown["kind"].tolist(), shown["schema"].tolist(), shown["name"].tolist(), strict=True)
    )
    if schema != ALL and not (frame["schema"] == schema).any():
        st.info(
            _("Schema {schema} is empty: no table, view, function, type or sequence in it yet.").format(
                schema=escape_markdown(schema)
            )
        )
        return
    if shown.empty:
        st.info(_("No object matches. Clear the search, or pick another schema or kind."))
        return
    st.caption(
        _("{shown} of {total} objects · click a row to open it").format(
            shown=number(len(shown)), total=number(len(frame))
        )
    )
    st.dataframe(
        shown[["name", "kind", "schema", "size"]],
        hide_index=True,
        height=min(560, 38 + 35 * len(shown)),
        column_config={
            "name": _("name"),
            "kind": _("kind"),
            "schema": _("schema"),
            "size": st.column_config.NumberColumn(_("size (bytes)"), format="compact"),
        },
        key="objects_list",
        on_select=on_list_select,
        selection_mode="single-row",
    )
    if cat.sizes_estimated:
        st.caption(_("Some sizes are estimates: their table was locked by another session when the list was read."))


def schemas_section(cat: ObjectCatalog) -> None:
    with st.expander(_("Schemas ({count})").format(count=number(len(cat.schemas)))):
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "schema": s.name,
                        "owner": s.owner,
                        "objects": s.object_count,
                        "size": s.total_bytes,
                        "comment": s.comment or "",
                    }
                    for s in cat.schemas
                ]
            ),
            hide_index=True,
            column_config={
                "schema": _("schema"),
                "owner": _("owner"),
                "objects": _("objects"),
                "size": st.column_config.NumberColumn(_("size (bytes)"), format="compact"),
                "comment": _("comment"),
            },
            key="objects_schemas",
        )
    extensions = cat.of_kind("extension")
    with st.expander(_("Extensions ({count})").format(count=number(len(extensions)))):
        if not extensions:
            st.caption(_("No extension is installed."))
        else:
            st.dataframe(
                pd.DataFrame(
                    [
                        {"extension": e.name, "schema": e.schema, "version": e.info, "comment": e.comment or ""}
                        for e in extensions
                    ]
                ),
                hide_index=True,
                column_config={
                    "extension": _("extension"),
                    "schema": _("schema"),
                    "version": _("version"),
                    "comment": _("comment"),
                },
                key="objects_extensions",
            )


# ---------------------------------------------------------------------------------------------------
# One object
# ---------------------------------------------------------------------------------------------------


def show_object(d: ObjectDetail) -> None:
    o = d.obj
    st.header(escape_markdown(o.qualified_name), anchor=False)
    bits = [o.kind, _("owner {owner}").format(owner=escape_markdown(o.owner))]
    if o.size_bytes is not None:
        stored = fmt_bytes(o.size_bytes)
        bits.append(_("{size} (estimate)").format(size=stored) if o.size_is_estimate else stored)
    if o.extension:
        bits.append(_("from extension {extension}").format(extension=escape_markdown(o.extension)))
    st.caption(" · ".join(bits))
    if o.comment:
        st.markdown("> " + escape_markdown(o.comment))
    for note in d.notes:
        st.info(escape_markdown(note))
    tabs = st.tabs(["DDL", _("Details"), _("Dependencies"), _("Grants"), _("Size")])
    with tabs[0]:
        st.code(d.ddl, language="sql", line_numbers=True)
        st.download_button(
            _("Download DDL"),
            d.ddl.encode(),
            f"{o.schema}.{o.name}.sql".replace("/", "_"),
            "application/sql",
            key="objects_ddl_download",
        )
    with tabs[1]:
        st.dataframe(
            pd.DataFrame(d.properties, columns=["property", "value"]),
            hide_index=True,
            column_config={"property": _("property"), "value": _("value")},
            key="objects_properties",
        )
        if d.table is not None:
            st.markdown("**" + _("Columns") + "**")
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "#": c.position,
                            "name": c.name,
                            "type": c.type,
                            "nullable": c.nullable,
                            "default": c.default
                            or (_("identity {kind}").format(kind=c.identity) if c.identity else None),
                            "generated": c.generated,
                            "comment": c.comment or "",
                        }
                        for c in d.table.columns
                    ]
                ),
                hide_index=True,
                column_config={
                    "name": _("name"),
                    "type": _("type"),
                    "nullable": _("nullable"),
                    "default": _("default"),
                    "generated": _("generated"),
                    "comment": _("comment"),
                },
                key="objects_columns",
            )
    with tabs[2]:
        dependency_lists(d)
    with tabs[3]:
        if not d.grants:
            st.caption(
                _("No grants: access follows the table the object belongs to.")
                if o.kind in ("index", "trigger")
                else _("No grants.")
            )
        else:
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "grantee": g.grantee,
                            "privilege": g.privilege,
                            "column": g.column or "",
                            "grantable": g.grantable,
                            "grantor": g.grantor,
                        }
                        for g in d.grants
                    ]
                ),
                hide_index=True,
                column_config=grant_labels(),
                key="objects_grants",
            )
            st.caption(
                _("PUBLIC is every role. Without an explicit grant list, the owner's and PUBLIC's defaults apply.")
            )
    with tabs[4]:
        if not d.sizes:
            st.caption(_("This kind of object has no storage of its own."))
        else:
            for column, (part, size) in zip(st.columns(len(d.sizes)), d.sizes, strict=True):
                column.metric(part, fmt_bytes(size))


def dependency_lists(d: ObjectDetail) -> None:
    for key, title, deps, empty in (
        ("uses", _("Uses"), d.uses, _("It uses no other object (besides its schema).")),
        ("used_by", _("Used by"), d.used_by, _("No object depends on it.")),
    ):
        st.markdown(f"**{title}**")
        if not deps:
            st.caption(empty)
            continue
        st.dataframe(
            pd.DataFrame(
                [
                    {"kind": x.kind, "object": x.identity, "through": "; ".join(x.via), "dependency": x.deptype}
                    for x in deps
                ]
            ),
            hide_index=True,
            column_config={
                "kind": _("kind"),
                "object": _("object"),
                "through": _("through"),
                "dependency": _("dependency"),
            },
            key=f"objects_deps_{key}",
        )


# ---------------------------------------------------------------------------------------------------
# Roles
# ---------------------------------------------------------------------------------------------------


def roles_view(include_system: bool, nonce: int) -> None:
    try:
        with st.spinner(_("Reading the roles…")):
            roles = load_roles(WORKSPACE_KEY, conn.name, include_system, nonce)
    except Exception as exc:
        show_error(exc, action=_("Reading the roles"))
        return

    def names(pairs: tuple[tuple[str, bool], ...]) -> str:
        return ", ".join(_("{role} (admin)").format(role=n) if admin else n for n, admin in pairs)

    st.dataframe(
        pd.DataFrame(
            [
                {
                    "role": r.name,
                    "login": r.can_login,
                    "superuser": r.superuser,
                    "createdb": r.createdb,
                    "createrole": r.createrole,
                    "replication": r.replication,
                    "bypassrls": r.bypassrls,
                    "connection limit": _("none") if r.connection_limit < 0 else str(r.connection_limit),
                    "valid until": r.valid_until.isoformat(sep=" ", timespec="seconds") if r.valid_until else "",
                    "member of": names(r.member_of),
                    "members": names(r.members),
                }
                for r in roles
            ]
        ),
        hide_index=True,
        column_config={
            "role": _("role"),
            "login": _("login"),
            "connection limit": _("connection limit"),
            "valid until": _("valid until"),
            "member of": _("member of"),
            "members": _("members"),
        },
        key="objects_roles",
    )
    options = ["PUBLIC", *(r.name for r in roles)]
    asked = st.query_params.get("role")
    if asked in options and st.session_state.get("objects_role") != asked:
        st.session_state["objects_role"] = asked
    role = st.selectbox(
        _("Grants of role"),
        options,
        index=None,
        key="objects_role",
        on_change=on_role_change,
        placeholder=_("pick a role"),
    )
    if role is None:
        st.caption(_("Pick a role to see what it was granted in this database."))
        return
    chosen = next((r for r in roles if r.name == role), None)
    if chosen is not None:
        line = f"{escape_markdown(role)}: " + (escape_markdown(" ".join(chosen.attributes)) or _("no attributes"))
        if chosen.member_of:
            line += " · " + _("member of {roles}").format(roles=escape_markdown(names(chosen.member_of)))
        if chosen.members:
            line += " · " + _("members {roles}").format(roles=escape_markdown(names(chosen.members)))
        st.caption(line)
        if chosen.superuser:
            st.info(_("A superuser passes every privilege check: the grants below are not what limits it."))
    try:
        grants = load_role_grants(WORKSPACE_KEY, conn.name, role, include_system, nonce)
    except Exception as exc:
        show_error(exc, action=_("Reading the grants of {role}").format(role=role))
        return
    if not grants:
        st.info(
            (
                _("{role} holds no explicit grant in this database (it may inherit some through its memberships).")
                if chosen and chosen.member_of
                else _("{role} holds no explicit grant in this database.")
            ).format(role=escape_markdown(role))
        )
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "kind": g.kind,
                    "object": g.object,
                    "column": g.column or "",
                    "privilege": g.privilege,
                    "grantable": g.grantable,
                    "grantor": g.grantor,
                }
                for g in grants
            ]
        ),
        hide_index=True,
        column_config={"kind": _("kind"), "object": _("object"), **grant_labels()},
        key="objects_role_grants",
    )


# ---------------------------------------------------------------------------------------------------
# Page
# ---------------------------------------------------------------------------------------------------

st.title(_("Objects"))
show_connection(services, conn)
nonce = int(st.session_state.get("objects_nonce", 0))
wanted_view = "Roles" if st.query_params.get("view") == "roles" else "Objects"
if st.session_state.get("objects_view") != wanted_view:
    st.session_state["objects_view"] = wanted_view
c1, c2, c3 = st.columns([3, 2, 1], vertical_alignment="bottom")
view = c1.radio(_("View"), VIEWS, format_func=_, horizontal=True, key="objects_view", on_change=on_view_change)
include_system = c2.toggle(
    _("System schemas and roles"),
    key="objects_system",
    help=_(
        "Also pg_catalog, information_schema, TOAST and temporary schemas, the predefined pg_* roles, and (on the "
        "workspace database itself) the app's own objects"
    ),
)
c3.button(
    _("Refresh"), key="objects_refresh", icon=":material/refresh:", on_click=refresh, help=_("Read the catalog again")
)

if view == "Roles":
    with page_part(_("Showing the roles")):
        roles_view(include_system, nonce)
    st.stop()

try:
    with st.spinner(_("Reading the catalog…")):
        cat = load_catalog(WORKSPACE_KEY, conn.name, include_system, nonce)
        frame = load_frame(WORKSPACE_KEY, conn.name, include_system, nonce)
except Exception as exc:
    show_error(exc, action=_("Reading the catalog"))
    st.stop()

left, right = st.columns([2, 3], gap="medium")
with left, page_part(_("Showing the object list")):
    object_list(cat, frame)
    schemas_section(cat)

with right:
    kind, schema, name = (st.query_params.get(k) for k in ("kind", "schema", "name"))
    if not (kind and schema and name):
        st.info(_("Pick an object in the list to see its DDL, details, dependencies, grants and size."))
        st.stop()
    obj = cat.find(kind, schema, name)
    if obj is None:
        st.warning(
            _(
                "{kind} {schema}.{name} is not in the catalog of {connection} (dropped, renamed, or in a system "
                "schema that is hidden)."
            ).format(
                kind=escape_markdown(kind),
                schema=escape_markdown(schema),
                name=escape_markdown(name),
                connection=escape_markdown(conn.name),
            )
        )
        st.stop()
    try:
        with st.spinner(_("Reading the object…")):
            detail = load_detail(WORKSPACE_KEY, conn.name, obj, nonce)
    except NotFound as exc:
        st.warning(f"{escape_markdown(exc)}.")
        st.stop()
    except Exception as exc:  # e.g. TableLocked names the session holding the lock
        show_error(exc, action=_("Reading {object}").format(object=obj.qualified_name))
        st.stop()
    with page_part(_("Showing the object")):
        show_object(detail)
