"""Admin · Connections: the databases the app administers — register, check, give access, remove.

Secrets never come back: DSNs are typed into password fields, checked with one connection each (who and where it
reached, never the string), encrypted by the registry, and the form is emptied after saving. Access (roles and
emails) is enforced in the workspace by RLS; every change is audited by dba_admin.connections. Creating the
least-privilege logins on a database is `dba-admin connection setup`, which prints its plan before applying it.
"""

from __future__ import annotations

import contextlib

import pandas as pd
import streamlit as st

import ui.session as session
from dba_admin.connections import ALL_ROLES, ConnectionSecrets, check_name
from dba_admin.errors import DbaAdminError
from dba_admin.fleet import LoginCheck, check_login
from dba_admin.services import mask_dsn
from ui.i18n import _
from ui.markdown import escape_markdown
from ui.session import get_services, require_page, show_error
from ui.widgets import fmt_time

FORM_GEN = "connections_form_gen"  # bumped after a save: the next run draws empty fields (no DSN kept around)
FLASH = "connections_flash"
FLASH_WARNINGS = "connections_flash_warnings"
CHECK_TIMEOUT_S = 5.0
SETUP_HINT = (
    "dba-admin connection setup {name} --admin-dsn 'postgresql://ADMIN_USER@HOST:5432/DBNAME'\n"
    "# {comment}\n"
    "dba-admin connection setup {name} --admin-dsn 'postgresql://ADMIN_USER@HOST:5432/DBNAME' --apply"
)

admin = require_page("connections")
services = get_services()
registry = services.registry

st.title(_("Connections"))
st.caption(
    _(
        "The databases this app administers. Each has its own least-privilege logins: **monitor** (pg_monitor; "
        "dashboards, advisors, assistant), **read-only** (analysts' SQL) and optionally **DBA** (write-mode SQL). "
        "The app's own data stays in the workspace; nothing is created in a connection's database from this page."
    )
)

flash = st.session_state.pop(FLASH, None)
if flash:
    st.success(escape_markdown(flash))
for warning in st.session_state.pop(FLASH_WARNINGS, []):  # the login checks' advice survives the rerun
    st.warning(escape_markdown(warning))


def _emails(text: str) -> list[str]:
    return [e.strip().lower() for e in text.replace(",", "\n").splitlines() if e.strip()]


def _refresh_sidebar() -> None:
    """The sidebar keeps the session's list of connections for a while; ask RLS again after a change."""
    refresh = getattr(session, "visible_connections", None)
    if refresh is not None:
        with contextlib.suppress(DbaAdminError):
            refresh(services, admin, fresh=True)


def _where(name: str, is_workspace: bool) -> str:
    try:
        secrets = registry.secrets(name)[0]
    except DbaAdminError:
        return _("cannot be decrypted with this SECRETS_KEY")
    return mask_dsn(secrets.monitor) + (" " + _("(the workspace)") if is_workspace else "")


# -- the list ------------------------------------------------------------------------------------------------
try:
    infos = registry.list()
except DbaAdminError as exc:
    show_error(exc, action=_("Listing the connections"))
    st.stop()

if infos:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "connection": i.name,
                    "where": _where(i.name, i.is_workspace),
                    "description": i.description or "",
                    "roles": ", ".join(i.roles),
                    "users": ", ".join(i.users),
                    "read-only login": "✅" if i.has_readonly else "—",
                    "DBA login": "✅" if i.has_dba else "—",
                    "added by": i.created_by,
                    "added": fmt_time(i.created_at),
                }
                for i in infos
            ]
        ),
        hide_index=True,
        width="stretch",
        key="connections_table",
        column_config={  # labels only: the frame keeps its column names
            "connection": st.column_config.Column(_("connection")),
            "where": st.column_config.Column(_("where")),
            "description": st.column_config.Column(_("description")),
            "roles": st.column_config.Column(_("roles")),
            "users": st.column_config.Column(_("users")),
            "read-only login": st.column_config.Column(_("read-only login")),
            "DBA login": st.column_config.Column(_("DBA login")),
            "added by": st.column_config.Column(_("added by")),
            "added": st.column_config.Column(_("added")),
        },
    )
else:
    st.info(
        _("No connection is registered yet: add the first one below (or `dba-admin connection add NAME --dsn DSN`).")
    )

add_tab, access_tab, remove_tab, setup_tab = st.tabs([_("Add"), _("Access"), _("Remove"), _("Create logins")])


def _show_check(label: str, check: LoginCheck) -> None:
    if check.ok:
        st.caption(
            _("{login}: reached {host} as {user} (PostgreSQL {version})").format(
                login=escape_markdown(label),
                host=escape_markdown(check.host),
                user=escape_markdown(check.user or "?"),
                version=escape_markdown(check.server_version or "?"),
            )
        )
        for warning in check.warnings:
            st.warning(escape_markdown(warning))
    else:
        st.error(
            _(
                "{login} could not connect: {reason}. Check the host, port, database, user and password, and that "
                "this app server may reach it; nothing was saved."
            ).format(login=escape_markdown(label), reason=escape_markdown(check.reason or _("unknown reason")))
        )


with add_tab:
    gen = st.session_state.get(FORM_GEN, 0)
    with st.form(f"connections_add_{gen}"):
        name = st.text_input(_("Name"), key=f"connections_name_{gen}", help=_("lower-case letters, digits, - and _"))
        monitor = st.text_input(
            _("Monitor DSN"),
            type="password",
            key=f"connections_monitor_{gen}",
            help=_("postgresql://user:password@host:5432/dbname — a login with pg_monitor (catalogs, statistics)"),
        )
        readonly = st.text_input(
            _("Read-only DSN (optional)"),
            type="password",
            key=f"connections_readonly_{gen}",
            help=_("Analysts' SQL runs on this login, in READ ONLY transactions."),
        )
        dba = st.text_input(
            _("DBA DSN (optional)"),
            type="password",
            key=f"connections_dba_{gen}",
            help=_("Write-mode SQL of DBAs; leave empty to keep the connection read-only."),
        )
        description = st.text_input(_("Description"), key=f"connections_description_{gen}")
        roles = st.multiselect(_("Roles allowed"), ALL_ROLES, default=list(ALL_ROLES), key=f"connections_roles_{gen}")
        users = st.text_area(
            _("Users allowed (emails, one per line)"),
            key=f"connections_users_{gen}",
            help=_("Besides the roles above; admins always see every connection."),
        )
        submitted = st.form_submit_button(_("Check and add"), type="primary")
    if submitted:
        try:
            cleaned = check_name(name)
            if not monitor.strip():
                raise ValueError(_("the monitor DSN is required (a login with pg_monitor on that database)"))
            if cleaned in {i.name for i in infos}:
                raise ValueError(
                    _("a connection named {name} is already registered: choose another name").format(name=cleaned)
                )
        except ValueError as exc:
            show_error(exc, action=_("Adding the connection"))
        else:
            logins = [(_("Monitor login"), monitor.strip(), "monitor")]
            if readonly.strip():
                logins.append((_("Read-only login"), readonly.strip(), "read-only"))
            if dba.strip():
                logins.append((_("DBA login"), dba.strip(), "DBA"))
            with st.spinner(_("Checking each login…")):
                checks = [
                    (label, check_login(dsn, timeout_s=CHECK_TIMEOUT_S, role=role)) for label, dsn, role in logins
                ]
            for label, check in checks:
                _show_check(label, check)
            if all(check.ok for _label, check in checks):
                try:
                    registry.add(
                        cleaned,
                        ConnectionSecrets(monitor.strip(), readonly.strip() or None, dba.strip() or None),
                        actor=admin.username,
                        description=description.strip() or None,
                        roles=roles,
                        users=_emails(users),
                    )
                except (DbaAdminError, ValueError) as exc:
                    show_error(exc, action=_("Adding the connection"))
                else:
                    st.session_state[FORM_GEN] = gen + 1  # the DSNs leave the page with the old fields
                    st.session_state[FLASH] = _("Connection {name} added.").format(name=cleaned)
                    st.session_state[FLASH_WARNINGS] = [w for _label, check in checks for w in check.warnings]
                    _refresh_sidebar()
                    st.rerun()

with access_tab:
    editable = [i for i in infos if not i.is_workspace] + [i for i in infos if i.is_workspace]
    if not editable:
        st.info(_("Nothing to give access to yet."))
    else:
        target = st.selectbox(_("Connection"), [i.name for i in editable], key="connections_access_target")
        chosen = next(i for i in editable if i.name == target)
        new_roles = st.multiselect(
            _("Roles allowed"), ALL_ROLES, default=list(chosen.roles), key=f"connections_access_roles_{target}"
        )
        new_users = st.text_area(
            _("Users allowed (emails, one per line)"),
            value="\n".join(chosen.users),
            key=f"connections_access_users_{target}",
        )
        st.caption(_("Admins always see every connection. Removing a role or email takes effect on the next page."))
        if st.button(_("Save access"), key="connections_access_save"):
            try:
                registry.set_access(target, actor=admin.username, roles=new_roles, users=_emails(new_users))
            except (DbaAdminError, ValueError) as exc:
                show_error(exc, action=_("Saving the access"))
            else:
                st.session_state[FLASH] = _("Access to {name} saved.").format(name=target)
                st.rerun()

with remove_tab:
    removable = [i.name for i in infos]
    if not removable:
        st.info(_("Nothing to remove."))
    else:
        target = st.selectbox(_("Connection"), removable, key="connections_remove_target")
        st.caption(
            _(
                "Removing forgets the connection and its encrypted logins here; the database itself, its logins and "
                "the history of runs on it are left as they are."
            )
        )
        typed = st.text_input(
            _("Type {name} to confirm").format(name=target), key=f"connections_remove_confirm_{target}"
        )
        if st.button(_("Remove"), key="connections_remove", type="primary", disabled=typed.strip() != target):
            try:
                registry.remove(target, actor=admin.username)
            except DbaAdminError as exc:
                show_error(exc, action=_("Removing the connection"))
            else:
                services.targets.forget(target)
                st.session_state[FLASH] = _("Connection {name} removed.").format(name=target)
                _refresh_sidebar()
                st.rerun()

with setup_tab:
    st.markdown(
        _(
            "The logins a connection needs are created by a person, on purpose: `dba-admin connection setup` prints "
            "the exact SQL (roles, `GRANT pg_monitor`, schema grants, default privileges) and runs it only with "
            "`--apply`, audited. Run it where the CLI can reach the database, with an admin login of that database:"
        )
    )
    setup_name = st.text_input(_("Connection name for the command"), value="mydb", key="connections_setup_name")
    st.code(
        SETUP_HINT.format(
            name=setup_name.strip() or "NAME",
            comment=_("reads the plan (roles, GRANT pg_monitor, schema grants, default privileges), then:"),
        ),
        language="bash",
    )
    st.caption(_("Then add the connection on the Add tab with the logins it created."))
