"""Admin · Users: create, set roles, reset passwords, lock/unlock, deactivate. The last admin is protected."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dba_admin.auth import ROLES
from dba_admin.errors import DbaAdminError
from ui.markdown import escape_markdown
from ui.session import get_services, require_page, show_error

admin = require_page("users")
services = get_services()
st.title("Users")

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
                "last login": u.last_login_at,
            }
            for u in users
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch")
else:
    st.info("No users yet.")

left, right = st.columns(2)
with left, st.form("users_create", clear_on_submit=True):
    st.subheader("New user")
    username = st.text_input("Username", key="users_new_username")
    email = st.text_input("Email", key="users_new_email")
    name = st.text_input("Full name", key="users_new_name")
    role = st.selectbox("Role", ROLES, index=ROLES.index("analyst"), key="users_new_role")
    source = st.radio("Logs in with", ["local", "supabase"], horizontal=True, key="users_new_source")
    if st.form_submit_button("Create user"):
        try:
            with services.users() as store:
                _, generated = store.create_user(
                    actor=admin.username,
                    username=username,
                    email=email,
                    name=name or None,
                    role=role,
                    auth_source=source,
                )
            st.success(f"Created {escape_markdown(username)}.")
            if generated:
                st.info(f"Initial password (shown once): `{generated}`")
        except DbaAdminError as exc:
            show_error(exc, action="Creating the user")

with right:
    st.subheader("Change a user")
    names = [u.username for u in users]
    if not names:
        st.info("Nobody to change yet.")
    else:
        target = st.selectbox("User", names, key="users_target")
        chosen = next(u for u in users if u.username == target)
        new_role = st.selectbox("Role", ROLES, index=ROLES.index(chosen.role), key="users_role")
        # Two buttons a row, each as wide as its column: four in a row of half the page cut "Reset password".
        c1, c2 = st.columns(2)
        c3, c4 = st.columns(2)
        try:
            if c1.button("Set role", key="users_set_role", width="stretch"):
                with services.users() as store:
                    store.set_role(actor=admin.username, username=target, role=new_role)
                st.success(f"{escape_markdown(target)} is now {new_role}.")
            if c2.button(
                "Reset password",
                key="users_reset",
                width="stretch",
                help="A new random password, shown once here; it also unlocks the account and ends the user's "
                "sessions.",
            ):
                with services.users() as store:
                    new_password = store.reset_password(actor=admin.username, username=target)
                st.info(f"New password for {escape_markdown(target)} (shown once): `{new_password}`")
            if chosen.is_locked():
                if c3.button("Unlock", key="users_unlock", width="stretch"):
                    with services.users() as store:
                        store.unlock(actor=admin.username, username=target)
                    st.success(f"{escape_markdown(target)} unlocked.")
            elif c3.button("Lock", key="users_lock", width="stretch"):
                with services.users() as store:
                    store.lock(actor=admin.username, username=target)
                st.success(f"{escape_markdown(target)} locked.")
            label = "Deactivate" if chosen.is_active else "Activate"
            if c4.button(label, key="users_active", width="stretch"):
                with services.users() as store:
                    store.set_active(actor=admin.username, username=target, active=not chosen.is_active)
                st.success(f"{escape_markdown(target)} {'deactivated' if chosen.is_active else 'activated'}.")
        except DbaAdminError as exc:
            show_error(exc, action="Changing the user")
