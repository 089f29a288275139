"""Projects: the projects I own or am a member of, a new project, a search across every script I can see, and the
trash (what I may restore; admins also purge).

Which projects appear is decided by the database (RLS as the logged-in user), not by this page.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dba_admin.errors import DbaAdminError, ImportClash
from dba_admin.projects import ClashPolicy
from ui.i18n import _, ngettext
from ui.markdown import escape_markdown
from ui.session import get_services, require_page, show_error
from ui.widgets import PROJECT_FLASH, fmt_time, open_project, open_script

user = require_page("projects")
claims = user.claims
manager = get_services().projects

st.title(_("Projects"))
flash = st.session_state.pop("projects_flash", None)
if flash:
    st.success(escape_markdown(flash))  # built from project names: plain text

left, right = st.columns([1, 2], gap="large")

with left:
    st.subheader(_("New project"))
    # Not cleared on submit: a refused name (one the owner already has) stays in the field to correct.
    with st.form("projects_create"):
        name = st.text_input(_("Name"), key="projects_new_name")
        description = st.text_area(_("Description (optional)"), key="projects_new_description", height=80)
        members_text = st.text_input(
            _("Members (emails, comma-separated)"),
            key="projects_new_members",
            help=_("You are the owner and always a member."),
        )
        created = st.form_submit_button(_("Create project"), type="primary")
    if created:
        members = [m.strip() for m in members_text.replace(";", ",").split(",") if m.strip()]
        try:
            project = manager.create_project(claims, name, description or None, members)
        except (DbaAdminError, ValueError) as exc:
            show_error(exc, action=_("Creating the project"))
        else:
            # Creating a project opens it (its page shows the message); the form's fields are left behind.
            for field in ("projects_new_name", "projects_new_description", "projects_new_members"):
                st.session_state.pop(field, None)
            st.session_state[PROJECT_FLASH] = _("Created project {name}.").format(name=project.name)
            open_project(project.id)

    with st.expander(_("Import a project from a zip")):
        upload = st.file_uploader(_("Exported project (.zip)"), type=["zip"], key="projects_import_file")
        import_name = st.text_input(_("Name of the new project (optional)"), key="projects_import_name")
        if (
            st.button(_("Import as a new project"), key="projects_import", disabled=upload is None)
            and upload is not None
        ):
            try:
                with st.spinner(_("Importing…")):
                    report = manager.import_project(
                        claims, upload.getvalue(), project_name=import_name or None, policy=ClashPolicy.RENAME
                    )
            except (DbaAdminError, ValueError) as exc:
                if isinstance(exc, ImportClash):  # a brand-new project has no names to clash with; defensive
                    st.warning(escape_markdown(exc))
                else:
                    show_error(exc, action=_("Importing the project"))
            else:
                st.session_state["projects_flash"] = ngettext(
                    "Imported {count} script into the new project {name}.",
                    "Imported {count} scripts into the new project {name}.",
                    len(report.created),
                ).format(count=len(report.created), name=report.project.name)
                st.rerun()

with right:
    c1, c2 = st.columns([3, 1])
    search = c1.text_input(_("Filter projects by name or description"), key="projects_filter")
    show_archived = c2.toggle(_("Show archived"), key="projects_archived")
    try:
        projects = manager.list_projects(claims, include_archived=show_archived, search=search or None)
    except DbaAdminError as exc:
        show_error(exc, action=_("Loading your projects"))
        st.stop()

    if not projects:
        if search:
            st.info(_("No project matches {search}.").format(search=escape_markdown(repr(search))))
        else:
            st.info(_("No projects yet — create one on the left, or ask a project's owner to add you as a member."))
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
                    "last run": fmt_time(p.last_run_at) if p.last_run_at else _("never"),
                    "archived": p.archived,
                    "link": f"project?id={p.id}",
                }
                for p in projects
            ]
        )
        st.dataframe(
            table,
            hide_index=True,
            column_config={  # labels only: the frame keeps its column names
                "name": st.column_config.Column(_("name")),
                "description": st.column_config.Column(_("description")),
                "owner": st.column_config.Column(_("owner")),
                "members": st.column_config.Column(_("members")),
                "scripts": st.column_config.Column(_("scripts")),
                "runs": st.column_config.Column(_("runs")),
                "last run": st.column_config.Column(_("last run")),
                "archived": st.column_config.Column(_("archived")),
                "link": st.column_config.LinkColumn(_("link"), display_text=_("open ↗")),
            },
        )
        archived_note = "  " + _("(archived)")
        choice_labels = {p.id: f"{p.name}  ·  {p.owner}" + (archived_note if p.archived else "") for p in projects}
        o1, o2 = st.columns([3, 1], vertical_alignment="bottom")
        chosen = o1.selectbox(
            _("Project"),
            list(choice_labels),
            format_func=choice_labels.__getitem__,
            key="projects_choice",
        )
        if o2.button(_("Open project"), key="projects_open", type="primary") and chosen is not None:
            open_project(chosen)

    st.divider()
    st.subheader(_("Search scripts"))
    query = st.text_input(
        _("Name or SQL text, across all your projects"),
        key="projects_search",
        placeholder=_('e.g. customers, "order by", join -draft'),
    )
    if query.strip():
        try:
            hits = manager.search_scripts(claims, query)
        except DbaAdminError as exc:
            show_error(exc, action=_("Searching the scripts"))
            hits = []
        if not hits:
            st.info(_("No script in your projects matches {query}.").format(query=escape_markdown(repr(query))))
        for hit in hits:
            h1, h2 = st.columns([5, 1], vertical_alignment="center")
            h1.markdown(
                f"**{escape_markdown(hit.script.name)}** · {escape_markdown(hit.project_name)} · v{hit.script.version}"
            )
            h1.code(hit.script.sql[:400] + ("\n…" if len(hit.script.sql) > 400 else ""), language="sql")
            if h2.button(_("Open"), key=f"projects_hit_{hit.script.id}"):
                open_script(hit.script.id)

    # --- trash --------------------------------------------------------------------------------------------------
    st.divider()
    st.subheader(_("Trash"))
    retention_days = get_services().settings.trash_retention_days
    try:
        trash = manager.list_trash(claims)
    except DbaAdminError as exc:
        show_error(exc, action=_("Loading the trash"))
        trash = []
    keep_note = (
        ngettext(
            "Deleted projects and scripts stay here {days} day, with their versions and runs, "
            "then they are purged for good.",
            "Deleted projects and scripts stay here {days} days, with their versions and runs, "
            "then they are purged for good.",
            retention_days,
        ).format(days=retention_days)
        if retention_days > 0
        else _("Deleted projects and scripts stay here, with their versions and runs, until an admin purges them.")
    )
    if not trash:
        st.caption(_("Nothing in the trash that you can restore. {note}").format(note=keep_note))
    else:
        st.caption(
            _("{note} The owner of a project (or the author of a script) can restore it.").format(note=keep_note)
        )
    for item in trash:
        t1, t2, t3 = st.columns([5, 1, 1], vertical_alignment="center")
        where = (
            _("project")
            if item.kind == "project"
            else _("script in {project}").format(project=escape_markdown(item.project_name))
        )
        t1.markdown(
            f"**{escape_markdown(item.name)}** · {where} · "
            + _("trashed {time} by {user}").format(
                time=fmt_time(item.deleted_at), user=escape_markdown(item.deleted_by or _("unknown"))
            )
        )
        due = item.purge_due(retention_days)
        held = [
            ngettext("{count} version", "{count} versions", item.versions).format(count=item.versions),
            ngettext("{count} run", "{count} runs", item.runs).format(count=item.runs),
        ]
        if item.kind == "project":
            held.insert(0, ngettext("{count} script", "{count} scripts", item.scripts).format(count=item.scripts))
        t1.caption(
            ", ".join(held) + (" · " + _("purged after {time}").format(time=fmt_time(due)) if due is not None else "")
        )
        if item.can_restore and t2.button(_("Restore"), key=f"projects_trash_restore_{item.id}"):
            try:
                if item.kind == "project":
                    manager.restore_project(claims, item.id)
                    message = _("Restored project {name}.").format(name=item.name)
                else:
                    script = manager.restore_script(claims, item.id)
                    message = _("Restored {name}.").format(name=item.name)
                    if script.name != item.name:
                        message += " " + _("Its name was taken meanwhile, so it is now {name}.").format(
                            name=script.name
                        )
            except DbaAdminError as exc:
                show_error(exc, action=_("Restoring from the trash"))
            else:
                st.session_state["projects_flash"] = message
                st.rerun()
        if item.can_purge:
            confirm_key = "projects_trash_confirm"
            if st.session_state.get(confirm_key) != str(item.id):
                if t3.button(_("Purge"), key=f"projects_trash_purge_{item.id}"):
                    st.session_state[confirm_key] = str(item.id)
                    st.rerun()
            else:
                st.warning(
                    ngettext(
                        "Purge **{name}** for good? Its {count} version is removed; "
                        "its runs stay in the history. This cannot be undone.",
                        "Purge **{name}** for good? Its {count} versions are removed; "
                        "its runs stay in the history. This cannot be undone.",
                        item.versions,
                    ).format(name=escape_markdown(item.name), count=item.versions)
                )
                c1, c2 = st.columns(2)
                if c1.button(_("Purge for good"), key=f"projects_trash_purge_yes_{item.id}", type="primary"):
                    st.session_state.pop(confirm_key, None)
                    try:
                        if item.kind == "project":
                            manager.purge_project(claims, item.id)
                        else:
                            manager.purge_script(claims, item.id)
                    except DbaAdminError as exc:
                        show_error(exc, action=_("Purging from the trash"))
                    else:
                        st.session_state["projects_flash"] = _("Purged {name}.").format(name=item.name)
                        st.rerun()
                if c2.button(_("Keep it"), key=f"projects_trash_purge_no_{item.id}"):
                    st.session_state.pop(confirm_key, None)
                    st.rerun()
