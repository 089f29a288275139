"""Projects: the projects I own or am a member of, a new project, a search across every script I can see, and the
trash (what I may restore; admins also purge).

Which projects appear is decided by the database (RLS as the logged-in user), not by this page.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dba_admin.errors import DbaAdminError, ImportClash
from dba_admin.projects import ClashPolicy
from ui.markdown import escape_markdown
from ui.session import get_services, require_page, show_error
from ui.widgets import PROJECT_FLASH, fmt_time, open_project, open_script

user = require_page("projects")
claims = user.claims
manager = get_services().projects

st.title("Projects")
flash = st.session_state.pop("projects_flash", None)
if flash:
    st.success(escape_markdown(flash))  # built from project names: plain text

left, right = st.columns([1, 2], gap="large")

with left:
    st.subheader("New project")
    # Not cleared on submit: a refused name (one the owner already has) stays in the field to correct.
    with st.form("projects_create"):
        name = st.text_input("Name", key="projects_new_name")
        description = st.text_area("Description (optional)", key="projects_new_description", height=80)
        members_text = st.text_input(
            "Members (emails, comma-separated)",
            key="projects_new_members",
            help="You are the owner and always a member.",
        )
        created = st.form_submit_button("Create project", type="primary")
    if created:
        members = [m.strip() for m in members_text.replace(";", ",").split(",") if m.strip()]
        try:
            project = manager.create_project(claims, name, description or None, members)
        except (DbaAdminError, ValueError) as exc:
            show_error(exc, action="Creating the project")
        else:
            # Creating a project opens it (its page shows the message); the form's fields are left behind.
            for field in ("projects_new_name", "projects_new_description", "projects_new_members"):
                st.session_state.pop(field, None)
            st.session_state[PROJECT_FLASH] = f"Created project {project.name}."
            open_project(project.id)

    with st.expander("Import a project from a zip"):
        upload = st.file_uploader("Exported project (.zip)", type=["zip"], key="projects_import_file")
        import_name = st.text_input("Name of the new project (optional)", key="projects_import_name")
        if st.button("Import as a new project", key="projects_import", disabled=upload is None) and upload is not None:
            try:
                with st.spinner("Importing…"):
                    report = manager.import_project(
                        claims, upload.getvalue(), project_name=import_name or None, policy=ClashPolicy.RENAME
                    )
            except (DbaAdminError, ValueError) as exc:
                if isinstance(exc, ImportClash):  # a brand-new project has no names to clash with; defensive
                    st.warning(escape_markdown(exc))
                else:
                    show_error(exc, action="Importing the project")
            else:
                st.session_state["projects_flash"] = (
                    f"Imported {len(report.created)} script(s) into the new project {report.project.name}."
                )
                st.rerun()

with right:
    c1, c2 = st.columns([3, 1])
    search = c1.text_input("Filter projects by name or description", key="projects_filter")
    show_archived = c2.toggle("Show archived", key="projects_archived")
    try:
        projects = manager.list_projects(claims, include_archived=show_archived, search=search or None)
    except DbaAdminError as exc:
        show_error(exc, action="Loading your projects")
        st.stop()

    if not projects:
        if search:
            st.info(f"No project matches {escape_markdown(repr(search))}.")
        else:
            st.info("No projects yet — create one on the left, or ask a project's owner to add you as a member.")
    else:
        table = pd.DataFrame(
            [
                {
                    "name": p.name,
                    "description": p.description or "",
                    "owner": p.owner,
                    "members": ", ".join(p.members),
                    "scripts": p.script_count,
                    "runs": p.run_count,
                    "last run": fmt_time(p.last_run_at) if p.last_run_at else "never",
                    "archived": p.archived,
                    "link": f"project?id={p.id}",
                }
                for p in projects
            ]
        )
        st.dataframe(
            table,
            hide_index=True,
            column_config={"link": st.column_config.LinkColumn("link", display_text="open ↗")},
        )
        choice_labels = {p.id: f"{p.name}  ·  {p.owner}" + ("  (archived)" if p.archived else "") for p in projects}
        o1, o2 = st.columns([3, 1], vertical_alignment="bottom")
        chosen = o1.selectbox(
            "Project",
            list(choice_labels),
            format_func=choice_labels.__getitem__,
            key="projects_choice",
        )
        if o2.button("Open project", key="projects_open", type="primary") and chosen is not None:
            open_project(chosen)

    st.divider()
    st.subheader("Search scripts")
    query = st.text_input(
        "Name or SQL text, across all your projects",
        key="projects_search",
        placeholder='e.g. customers, "order by", join -draft',
    )
    if query.strip():
        try:
            hits = manager.search_scripts(claims, query)
        except DbaAdminError as exc:
            show_error(exc, action="Searching the scripts")
            hits = []
        if not hits:
            st.info(f"No script in your projects matches {escape_markdown(repr(query))}.")
        for hit in hits:
            h1, h2 = st.columns([5, 1], vertical_alignment="center")
            h1.markdown(
                f"**{escape_markdown(hit.script.name)}** · {escape_markdown(hit.project_name)} · v{hit.script.version}"
            )
            h1.code(hit.script.sql[:400] + ("\n…" if len(hit.script.sql) > 400 else ""), language="sql")
            if h2.button("Open", key=f"projects_hit_{hit.script.id}"):
                open_script(hit.script.id)

    # --- trash --------------------------------------------------------------------------------------------------
    st.divider()
    st.subheader("Trash")
    retention_days = get_services().settings.trash_retention_days
    try:
        trash = manager.list_trash(claims)
    except DbaAdminError as exc:
        show_error(exc, action="Loading the trash")
        trash = []
    keep_note = (
        f"Deleted projects and scripts stay here {retention_days} days, with their versions and runs, "
        "then they are purged for good."
        if retention_days > 0
        else "Deleted projects and scripts stay here, with their versions and runs, until an admin purges them."
    )
    if not trash:
        st.caption("Nothing in the trash that you can restore. " + keep_note)
    else:
        st.caption(keep_note + " The owner of a project (or the author of a script) can restore it.")
    for item in trash:
        t1, t2, t3 = st.columns([5, 1, 1], vertical_alignment="center")
        where = "project" if item.kind == "project" else f"script in {escape_markdown(item.project_name)}"
        t1.markdown(
            f"**{escape_markdown(item.name)}** · {where} · trashed {fmt_time(item.deleted_at)}"
            f" by {escape_markdown(item.deleted_by or 'unknown')}"
        )
        due = item.purge_due(retention_days)
        held = f"{item.scripts} script(s), " if item.kind == "project" else ""
        t1.caption(
            f"{held}{item.versions} version(s), {item.runs} run(s)"
            + (f" · purged after {fmt_time(due)}" if due is not None else "")
        )
        if item.can_restore and t2.button("Restore", key=f"projects_trash_restore_{item.id}"):
            try:
                if item.kind == "project":
                    manager.restore_project(claims, item.id)
                    message = f"Restored project {item.name}."
                else:
                    script = manager.restore_script(claims, item.id)
                    message = f"Restored {item.name}."
                    if script.name != item.name:
                        message += f" Its name was taken meanwhile, so it is now {script.name}."
            except DbaAdminError as exc:
                show_error(exc, action="Restoring from the trash")
            else:
                st.session_state["projects_flash"] = message
                st.rerun()
        if item.can_purge:
            confirm_key = "projects_trash_confirm"
            if st.session_state.get(confirm_key) != str(item.id):
                if t3.button("Purge", key=f"projects_trash_purge_{item.id}"):
                    st.session_state[confirm_key] = str(item.id)
                    st.rerun()
            else:
                st.warning(
                    f"Purge **{escape_markdown(item.name)}** for good? Its {item.versions} version(s) are removed; "
                    "its runs stay in the history. This cannot be undone."
                )
                c1, c2 = st.columns(2)
                if c1.button("Purge for good", key=f"projects_trash_purge_yes_{item.id}", type="primary"):
                    st.session_state.pop(confirm_key, None)
                    try:
                        if item.kind == "project":
                            manager.purge_project(claims, item.id)
                        else:
                            manager.purge_script(claims, item.id)
                    except DbaAdminError as exc:
                        show_error(exc, action="Purging from the trash")
                    else:
                        st.session_state["projects_flash"] = f"Purged {item.name}."
                        st.rerun()
                if c2.button("Keep it", key=f"projects_trash_purge_no_{item.id}"):
                    st.session_state.pop(confirm_key, None)
                    st.rerun()
