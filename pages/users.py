"""Admin · Users: create, set roles, reset passwords, lock/unlock, deactivate. The last admin is protected."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dba_admin.auth import ROLES
from dba_admin.errors import DbaAdminError
from ui.i18n import _, when
from ui.markdown import escape_markdown
from ui.session import get_services, require_page, show_error

admin = require_page("users")
services = get_services()
st.title(_("Users"))

with services.users() as store:
    users = store.list_users()

if users:
    table = pd.DataFrame(
        [
            {
                "username": u.username,
                "email": u.email,
                "role": u.role,
                "source": u.auth_source,
                "active": u.is_active,
                "locked": u.is_locked(),
                "failed logins": u.failed_attempts,
                "last login": when(u.last_login_at),
            }
            for u in users
        ]
    )
    headers = {
        "username": _("username"),
        "email": _("email"),
        "role": _("role"),
        "source": _("source"),
        "active": _("active"),
        "locked": _("locked"),
        "failed logins": _("failed logins"),
        "last login": _("last login"),
    }
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={key: st.column_config.Column(label) for key, label in headers.items()},
    )
else:
    st.info(_("No users yet."))

left, right = st.columns(2)
with left, st.form("users_create", clear_on_submit=True):
    st.subheader(_("New user"))
    username = st.text_input(_("Username"), key="users_new_username")
    email = st.text_input(_("Email"), key="users_new_email")
    name = st.text_input(_("Full name"), key="users_new_name")
    role = st.selectbox(_("Role"), ROLES, index=ROLES.index("analyst"), key="users_new_role")
    source = st.radio(
        _("Logs in with"),
        ["local", "supabase"],
        horizontal=True,
        key="users_new_source",
        format_func=lambda s: _("a password here") if s == "local" else _("Supabase Auth"),
    )
    if st.form_submit_button(_("Create user")):
        try:
            with services.users() as store:
                _created, generated = store.create_user(
                    actor=admin.username,
                    username=username,
                    email=email,
                    name=name or None,
                    role=role,
                    auth_source=source,
                )
            st.success(_("Created {username}.").format(username=escape_markdown(username)))
            if generated:
                st.info(_("Initial password (shown once): `{password}`").format(password=generated))
        except DbaAdminError as exc:
            show_error(exc, action=_("Creating the user"))

with right:
    st.subheader(_("Change a user"))
    names = [u.username for u in users]
    if not names:
        st.info(_("Nobody to change yet."))
    else:
        target = st.selectbox(_("User"), names, key="users_target")
        chosen = next(u for u in users if u.username == target)
        new_role = st.selectbox(_("Role"), ROLES, index=ROLES.index(chosen.role), key="users_role")
        # Two buttons a row, each as wide as its column: four in a row of half the page cut "Reset password".
        c1, c2 = st.columns(2)
        c3, c4 = st.columns(2)
        try:
            if c1.button(_("Set role"), key="users_set_role", width="stretch"):
                with services.users() as store:
                    store.set_role(actor=admin.username, username=target, role=new_role)
                st.success(_("{username} is now {role}.").format(username=escape_markdown(target), role=new_role))
            if c2.button(
                _("Reset password"),
                key="users_reset",
                width="stretch",
                help=_(
                    "A new random password, shown once here; it also unlocks the account and ends the user's sessions."
                ),
            ):
                with services.users() as store:
                    new_password = store.reset_password(actor=admin.username, username=target)
                st.info(
                    _("New password for {username} (shown once): `{password}`").format(
                        username=escape_markdown(target), password=new_password
                    )
                )
            if chosen.is_locked():
                if c3.button(_("Unlock"), key="users_unlock", width="stretch"):
                    with services.users() as store:
                        store.unlock(actor=admin.username, username=target)
                    st.success(_("{username} unlocked.").format(username=escape_markdown(target)))
            elif c3.button(_("Lock"), key="users_lock", width="stretch"):
                with services.users() as store:
                    store.lock(actor=admin.username, username=target)
                st.success(_("{username} locked.").format(username=escape_markdown(target)))
            label = _("Deactivate") if chosen.is_active else _("Activate")
            if c4.button(label, key="users_active", width="stretch"):
                with services.users() as store:
                    store.set_active(actor=admin.username, username=target, active=not chosen.is_active)
                done = _("{username} deactivated.") if chosen.is_active else _("{username} activated.")
                st.success(done.format(username=escape_markdown(target)))
        except DbaAdminError as exc:
            show_error(exc, action=_("Changing the user"))
