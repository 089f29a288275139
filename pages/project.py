"""One project: its scripts, its recent runs, its members, its settings, export and import.

The owner-only actions are shown to the owner; the database refuses them to anyone else anyway, and the
message it gives is what this page shows when it does.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pandas as pd
import streamlit as st

from dba_admin.errors import DbaAdminError, ImportClash, NotFound
from dba_admin.i18n import N_
from dba_admin.projects import ClashPolicy, Project, safe_file_name
from ui.i18n import _, ngettext, when
from ui.markdown import escape_markdown
from ui.session import get_services, require_page, show_error
from ui.widgets import (
    PROJECT_FLASH,
    PROJECT_KEY,
    PROJECTS_PAGE,
    executions_frame,
    fmt_time,
    open_script,
    selected_id,
)

user = require_page("project")
claims = user.claims
manager = get_services().projects

project_id = selected_id(PROJECT_KEY)
if project_id is None:
    st.title(_("Project"))
    st.info(_("No project selected — pick one on the Projects page."))
    st.page_link(PROJECTS_PAGE, label=_("Go to Projects"), icon=":material/folder:")
    st.stop()

try:
    project = manager.get_project(claims, project_id)
except NotFound:
    st.title(_("Project"))
    st.error(_("This project does not exist, or you are not one of its members. Ask its owner to add you."))
    st.page_link(PROJECTS_PAGE, label=_("Back to Projects"), icon=":material/folder:")
    st.stop()
except DbaAdminError as exc:
    show_error(exc, action=_("Loading the project"))
    st.stop()

is_owner = project.is_owner(claims)
FLASH_KEY = PROJECT_FLASH


def done(message: str) -> None:
    """Show ``message`` (plain text: it quotes names) after the rerun that redraws the page with the change."""
    st.session_state[FLASH_KEY] = message
    st.rerun()


st.page_link(PROJECTS_PAGE, label=_("All projects"), icon=":material/arrow_back:")
st.title(escape_markdown(project.name) + ("  " + _("(archived)") if project.archived else ""))
if project.description:
    st.markdown(escape_markdown(project.description))
st.caption(
    ngettext(
        "Owner {owner} · {count} other member · created {created} · updated {updated}",
        "Owner {owner} · {count} other members · created {created} · updated {updated}",
        len(project.members),
    ).format(
        owner=escape_markdown(project.owner),
        count=len(project.members),
        created=fmt_time(project.created_at),
        updated=fmt_time(project.updated_at),
    )
)
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(escape_markdown(flash))
if project.archived:
    st.info(_("This project is archived: its scripts are read-only until the owner unarchives it."))

m1, m2, m3 = st.columns(3)
m1.metric(_("Scripts"), project.script_count)
m2.metric(_("Runs"), project.run_count)
m3.metric(
    _("Last run (UTC)"),
    when(project.last_run_at.astimezone(dt.UTC), length="short") if project.last_run_at else _("never"),
    help=fmt_time(project.last_run_at) if project.last_run_at else None,
)

tab_scripts, tab_runs, tab_members, tab_settings, tab_transfer = st.tabs(
    [_("Scripts"), _("Recent runs"), _("Members"), _("Settings"), _("Export / import")]
)

# --- scripts ---------------------------------------------------------------------------------------------------------
with tab_scripts:
    try:
        scripts = manager.list_scripts(claims, project.id)
    except DbaAdminError as exc:
        show_error(exc, action=_("Loading the scripts"))
        scripts = []
    if not scripts:
        st.info(_("No scripts yet — create the first one below."))
    for script in scripts:
        s1, s2, s3 = st.columns([4, 3, 1], vertical_alignment="center")
        s1.markdown(f"**{escape_markdown(script.name)}**  \n`v{script.version}`")
        s2.caption(
            _("updated {time} by {user}").format(
                time=fmt_time(script.updated_at), user=escape_markdown(script.updated_by or script.created_by)
            )
        )
        if s3.button(_("Open"), key=f"project_open_{script.id}"):
            open_script(script.id)

    if not project.archived:
        with st.form("project_new_script", clear_on_submit=True):
            st.markdown("**" + _("New script") + "**")
            new_name = st.text_input(_("Script name"), key="project_new_script_name")
            new_sql = st.text_area(_("SQL (optional)"), key="project_new_script_sql", height=120)
            create_script = st.form_submit_button(_("Create script"), type="primary")
        if create_script:
            try:
                script = manager.create_script(claims, project.id, new_name, new_sql, message="created")
            except (DbaAdminError, ValueError) as exc:
                show_error(exc, action=_("Creating the script"))
            else:
                open_script(script.id)

    if scripts and not project.archived:
        with st.expander(_("Rename, move or trash a script")):
            by_label = {f"{s.name} (v{s.version})": s for s in scripts}
            picked = by_label[st.selectbox(_("Script"), list(by_label), key="project_manage_script")]
            r1, r2 = st.columns([3, 1], vertical_alignment="bottom")
            new_script_name = r1.text_input(_("New name"), value=picked.name, key=f"project_rename_{picked.id}")
            if r2.button(_("Rename"), key="project_rename_script"):
                try:
                    manager.rename_script(claims, picked.id, new_script_name)
                except (DbaAdminError, ValueError) as exc:
                    show_error(exc, action=_("Renaming the script"))
                else:
                    done(_("Renamed {old} to {new}.").format(old=picked.name, new=new_script_name.strip()))

            try:
                targets = [p for p in manager.list_projects(claims, include_archived=False) if p.id != project.id]
            except DbaAdminError as exc:
                show_error(exc, action=_("Loading the other projects"))
                targets = []
            if targets:
                t1, t2 = st.columns([3, 1], vertical_alignment="bottom")
                target_by_id: dict[uuid.UUID, Project] = {p.id: p for p in targets}
                target = t1.selectbox(
                    _("Move to project"),
                    list(target_by_id),
                    format_func=lambda pid: f"{target_by_id[pid].name} · {target_by_id[pid].owner}",
                    key="project_move_target",
                )
                if t2.button(_("Move"), key="project_move_script") and target is not None:
                    try:
                        manager.move_script(claims, picked.id, target)
                    except DbaAdminError as exc:
                        show_error(exc, action=_("Moving the script"))
                    else:
                        done(
                            _("Moved {name} to {project}.").format(name=picked.name, project=target_by_id[target].name)
                        )
            else:
                st.caption(_("No other project to move it to."))

            pending = st.session_state.get("project_delete_script")
            if not is_owner and picked.created_by != claims.normalized_email:
                st.caption(
                    _(
                        "Only the project's owner ({owner}) or the script's author ({author}) can move it to the trash."
                    ).format(owner=escape_markdown(project.owner), author=escape_markdown(picked.created_by))
                )
            elif pending != str(picked.id):
                if st.button(
                    _("Move {name} to the trash…").format(name=escape_markdown(picked.name)),
                    key="project_delete_script_ask",
                ):
                    st.session_state["project_delete_script"] = str(picked.id)
                    st.rerun()
            else:
                st.warning(
                    ngettext(
                        "Move **{name}** to the trash? Its {count} version and its runs are kept, and it can be "
                        "restored from Projects → Trash until it is purged.",
                        "Move **{name}** to the trash? Its {count} versions and its runs are kept, and it can be "
                        "restored from Projects → Trash until it is purged.",
                        picked.version,
                    ).format(name=escape_markdown(picked.name), count=picked.version)
                )
                d1, d2 = st.columns(2)
                if d1.button(_("Yes, move it to the trash"), key="project_delete_script_yes", type="primary"):
                    st.session_state.pop("project_delete_script", None)
                    try:
                        manager.delete_script(claims, picked.id)
                    except DbaAdminError as exc:
                        show_error(exc, action=_("Moving the script to the trash"))
                    else:
                        done(_("Moved {name} to the trash.").format(name=picked.name))
                if d2.button(_("Cancel"), key="project_delete_script_no"):
                    st.session_state.pop("project_delete_script", None)
                    st.rerun()

# --- recent runs -----------------------------------------------------------------------------------------------------
with tab_runs:
    try:
        runs = manager.history(claims, project_id=project.id, limit=100)
    except DbaAdminError as exc:
        show_error(exc, action=_("Loading the runs"))
        runs = []
    if not runs:
        st.info(_("No runs yet — open a script and run it."))
    else:
        st.caption(
            ngettext(
                "The last {count} run of this project's scripts, newest first.",
                "The last {count} runs of this project's scripts, newest first.",
                len(runs),
            ).format(count=len(runs))
        )
        st.dataframe(executions_frame(runs, with_script=True).drop(columns=["project"]), hide_index=True)

# --- members ---------------------------------------------------------------------------------------------------------
with tab_members:
    st.markdown(_("**Owner:** {owner}").format(owner=escape_markdown(project.owner)))
    if project.members:
        st.dataframe(
            pd.DataFrame({"member": list(project.members)}),
            hide_index=True,
            column_config={"member": st.column_config.Column(_("member"))},
        )
    else:
        st.info(_("No other members yet. Add one by email below.") if is_owner else _("No other members yet."))
    if not is_owner:
        st.caption(
            _("Only the owner ({owner}) can add or remove members.").format(owner=escape_markdown(project.owner))
        )
    else:
        a1, a2 = st.columns([3, 1], vertical_alignment="bottom")
        new_member = a1.text_input(_("Add a member by email"), key="project_add_member_email")
        if a2.button(_("Add member"), key="project_add_member"):
            try:
                manager.add_member(claims, project.id, new_member)
            except (DbaAdminError, ValueError) as exc:
                show_error(exc, action=_("Adding the member"))
            else:
                done(_("{email} is now a member.").format(email=new_member.strip().lower()))
        if project.members:
            b1, b2 = st.columns([3, 1], vertical_alignment="bottom")
            leaving = b1.selectbox(_("Remove a member"), list(project.members), key="project_remove_member_email")
            if b2.button(_("Remove member"), key="project_remove_member") and leaving:
                try:
                    manager.remove_member(claims, project.id, leaving)
                except (DbaAdminError, ValueError) as exc:
                    show_error(exc, action=_("Removing the member"))
                else:
                    done(_("{email} no longer sees this project.").format(email=leaving))

# --- settings (owner) ------------------------------------------------------------------------------------------------
with tab_settings:
    if not is_owner:
        st.info(
            _("Only the owner ({owner}) can rename, describe, archive or trash this project.").format(
                owner=escape_markdown(project.owner)
            )
        )
    else:
        with st.form("project_settings"):
            name_value = st.text_input(_("Name"), value=project.name, key="project_settings_name")
            description_value = st.text_area(
                _("Description"), value=project.description or "", key="project_settings_description", height=100
            )
            save_settings = st.form_submit_button(_("Save name and description"))
        if save_settings:
            try:
                if name_value.strip() != project.name:
                    manager.rename_project(claims, project.id, name_value)
                if (description_value.strip() or None) != project.description:
                    manager.describe_project(claims, project.id, description_value or None)
            except (DbaAdminError, ValueError) as exc:
                show_error(exc, action=_("Saving the project"))
            else:
                done(_("Project saved."))

        if project.archived:
            if st.button(_("Unarchive"), key="project_unarchive"):
                try:
                    manager.unarchive_project(claims, project.id)
                except DbaAdminError as exc:
                    show_error(exc, action=_("Unarchiving the project"))
                else:
                    done(_("Project unarchived: its scripts can be changed again."))
        elif st.button(_("Archive"), key="project_archive", help=_("Archived projects stay visible but read-only.")):
            try:
                manager.archive_project(claims, project.id)
            except DbaAdminError as exc:
                show_error(exc, action=_("Archiving the project"))
            else:
                done(_("Project archived."))

        st.divider()
        st.markdown("**" + _("Move the project to the trash") + "**")
        st.caption(
            _(
                "Its scripts, versions and runs are kept: you can restore it from Projects → Trash until it is purged"
                " (by an admin, or when it has been there longer than the trash keeps things)."
            )
        )
        confirm_name = st.text_input(
            _("Type the project name ({name}) to confirm").format(name=escape_markdown(project.name)),
            key=f"project_delete_confirm_{project.id}",
        )
        if st.button(_("Move project to the trash"), key="project_delete", type="primary"):
            if confirm_name.strip() != project.name:
                st.error(
                    _("Type the project name ({name}) exactly to confirm; nothing was moved.").format(
                        name=escape_markdown(project.name)
                    )
                )
            else:
                try:
                    manager.delete_project(claims, project.id)
                except DbaAdminError as exc:
                    show_error(exc, action=_("Moving the project to the trash"))
                else:
                    st.session_state.pop(PROJECT_KEY, None)
                    st.session_state["projects_flash"] = _("Moved project {name} to the trash.").format(
                        name=project.name
                    )
                    st.query_params.clear()
                    st.switch_page(PROJECTS_PAGE)

# --- export / import -------------------------------------------------------------------------------------------------
with tab_transfer:
    st.markdown(_("**Export** — a zip of one `.sql` file per script plus a manifest."))
    export_key = f"project_export_{project.id}"
    if st.button(_("Prepare export"), key="project_export"):
        try:
            with st.spinner(_("Packing the scripts…")):
                st.session_state[export_key] = manager.export_project(claims, project.id)
        except DbaAdminError as exc:
            show_error(exc, action=_("Exporting the project"))
    if export_key in st.session_state:
        st.download_button(
            _("Download zip"),
            st.session_state[export_key],
            file_name=safe_file_name(project.name, suffix=".zip"),
            mime="application/zip",
            key="project_export_download",
        )

    st.divider()
    st.markdown(_("**Import** — scripts from an exported zip into this project."))
    if project.archived:
        st.caption(_("Unarchive the project to import into it."))
    else:
        policies = {
            N_("Ask me if a name already exists"): None,
            N_("Skip scripts whose name exists"): ClashPolicy.SKIP,
            N_("Import them under a new name"): ClashPolicy.RENAME,
            N_("Save them as a new version of the existing script"): ClashPolicy.NEW_VERSION,
        }
        upload = st.file_uploader(_("Project zip"), type=["zip"], key="project_import_file")
        policy_label = st.radio(
            _("When a script name already exists"),
            list(policies),
            key="project_import_policy",
            format_func={policy: _(policy) for policy in policies}.__getitem__,
        )
        clash_key = f"project_import_clash_{project.id}"
        if st.button(_("Import"), key="project_import", disabled=upload is None) and upload is not None:
            try:
                with st.spinner(_("Importing…")):
                    report = manager.import_project(
                        claims, upload.getvalue(), project_id=project.id, policy=policies[policy_label]
                    )
            except ImportClash as exc:
                st.session_state[clash_key] = exc.names
            except (DbaAdminError, ValueError) as exc:
                show_error(exc, action=_("Importing"))
            else:
                st.session_state.pop(clash_key, None)
                parts = [_("{count} created").format(count=len(report.created))]
                if report.renamed:
                    renamed = ", ".join(f"{a} → {b}" for a, b in report.renamed)
                    parts.append(_("renamed: {names}").format(names=renamed))
                if report.skipped:
                    parts.append(_("skipped: {names}").format(names=", ".join(report.skipped)))
                if report.new_versions:
                    parts.append(_("new versions of: {names}").format(names=", ".join(report.new_versions)))
                if report.unchanged:
                    parts.append(_("unchanged: {names}").format(names=", ".join(report.unchanged)))
                done(_("Imported — {parts}.").format(parts="; ".join(parts)))
        clashes = st.session_state.get(clash_key)
        if clashes:
            st.warning(
                _(
                    "Nothing was imported: these script names already exist here — {names}. Choose above whether to "
                    "skip them, import them under new names or save them as new versions, then press Import again."
                ).format(names=", ".join(escape_markdown(name) for name in clashes))
            )
