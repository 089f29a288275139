"""The Projects pages through AppTest, from app.py, against the suite's real PostgreSQL.

AppTest 1.67 keeps re-running the page last chosen with ``at.switch_page`` even after the app itself switched
pages, so after every in-app navigation the tests pin the new page with ``follow``.
"""

from __future__ import annotations

import html
import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from apptest_helpers import APP, app_as, as_read, claims_of, logged_in_app, make_user, texts
from db_helpers import demo_manager
from streamlit.testing.v1 import AppTest

from dba_admin.projects import ProjectManager


@pytest.fixture(autouse=True)
def _app_env(app_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))


@pytest.fixture(scope="module")
def manager(app_db: Any) -> Iterator[ProjectManager]:
    """The core, used as "another user" working beside the one in the browser; its runs go to connection demo."""
    db = demo_manager(app_db)
    yield ProjectManager(db)
    db.close()


def email_of(username: str) -> str:
    return f"{username}@example.com"  # make_user's convention


def open_page(at: AppTest, page: str, object_id: Any = None) -> AppTest:
    """Open a page as a typed URL would: ``/page?id=…`` or the bare page."""
    at.query_params = {"id": str(object_id)} if object_id is not None else {}
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def follow(at: AppTest, page: str) -> None:
    """Stay on ``page`` (where the app just switched to) for the next runs; see the module docstring."""
    at.switch_page(page)


def button(at: AppTest, label: str) -> Any:
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r}; buttons: {[b.label for b in at.button]}"
    return matches[0]


def click(at: AppTest, label: str) -> AppTest:
    button(at, label).click().run()
    assert not at.exception, at.exception
    return at


def type_sql(at: AppTest, editor: str, text: str) -> AppTest:
    """Type into the script editor: the code editor is a custom component (unknown to AppTest); the page keeps its
    text in ``st.session_state[editor]``, as the component's events do."""
    at.session_state[editor] = text
    return at


def html_text(at: AppTest) -> str:
    return html.unescape("\n".join(str(e.proto.body) for e in at.get("html")))


def execution_count(dsn: str, script_id: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "select count(*) from public.execucoes_scripts where script_id = %s", (script_id,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_analyst_project_script_lifecycle(app_db: Any) -> None:
    at, username = logged_in_app(app_db.dsn, "analyst")
    name = f"Sales {uuid.uuid4().hex[:6]}"

    # Projects: empty, then create one and open it.
    open_page(at, "pages/projects.py")
    assert "No projects yet" in texts(at)
    at.text_input(key="projects_new_name").input(name)
    at.text_area(key="projects_new_description").input("monthly sales queries")
    click(at, "Create project")
    follow(at, "pages/project.py")  # creating a project opens it
    assert f"Created project {name}" in texts(at)
    assert at.title[0].value == name
    project_id = at.query_params["id"]
    assert "No scripts yet" in texts(at)
    open_page(at, "pages/projects.py")
    listed = at.dataframe[0].value
    assert list(listed["name"]) == [name]
    assert list(listed["owner"]) == [email_of(username)]
    assert at.text_input(key="projects_new_name").value == "", "the form is empty again"
    click(at, "Open project")
    follow(at, "pages/project.py")
    assert at.title[0].value == name

    # Project: add a script; the app opens it.
    at.text_input(key="project_new_script_name").input("orders")
    at.text_area(key="project_new_script_sql").input("select 1 as one")
    click(at, "Create script")
    follow(at, "pages/script.py")
    assert at.title[0].value == "orders"
    script_id = at.query_params["id"]
    editor = f"script_editor_{script_id}"
    assert at.session_state[editor] == "select 1 as one"
    assert "Only one version so far" in texts(at)

    # Save twice: two new versions, each with its message.
    type_sql(at, editor, "select 1 as one,\n       2 as two")
    at.text_input(key=f"script_message_{script_id}").input("add two")
    click(at, "Save")
    assert "Saved as v2." in texts(at)
    assert at.text_input(key=f"script_message_{script_id}").value == "", "the message field clears after a save"
    type_sql(at, editor, "select 1 as one,\n       3 as three")
    click(at, "Save")
    assert "Saved as v3." in texts(at)
    versions = at.dataframe[0].value
    assert list(versions["version"]) == [3, 2, 1]
    assert "add two" in set(versions["message"])

    # Diff: newest against the one before by default, side by side; then v1 against v3.
    side_by_side = html_text(at)
    assert "2 as two" in side_by_side and "3 as three" in side_by_side
    assert "rgba(248, 81, 73" in side_by_side and "rgba(46, 160, 67" in side_by_side, "removed red, added green"
    at.selectbox(key=f"script_diff_left_{script_id}_3").select(1).run()
    assert not at.exception
    assert "3 as three" in html_text(at)
    assert any("--- v1" in c.value and "+++ v3" in c.value for c in at.code), "the unified diff is offered too"

    # Restore v1: a new version v4 with v1's text, and the editor shows it.
    at.selectbox(key=f"script_restore_choice_{script_id}_3").select(1)
    click(at, "Restore")
    assert "Restored v1 as v4." in texts(at)
    assert at.session_state[editor] == "select 1 as one"
    assert list(at.dataframe[0].value["version"]) == [4, 3, 2, 1]

    # Run: results, the run recorded, the chart of runs.
    click(at, "Run")
    assert "success" in texts(at) and "read-only" in texts(at)
    result = at.dataframe[0].value
    assert list(result.columns) == ["one"] and list(result["one"]) == [1]
    assert execution_count(app_db.dsn, script_id) == 1
    assert at.get("plotly_chart"), "run history chart"
    at.run()  # a plain rerun keeps the results and runs nothing again
    assert not at.exception
    assert execution_count(app_db.dsn, script_id) == 1
    assert "Results" in texts(at)

    # The project's recent runs.
    open_page(at, "pages/project.py", project_id)
    runs = at.dataframe[0].value
    assert list(runs["script"]) == ["orders"] and list(runs["version"]) == [4]

    # My history: the run is there; re-open its script from it.
    open_page(at, "pages/history.py")
    frame = at.dataframe[0].value
    assert list(frame["script"]) == ["orders"]
    assert "success" in frame["status"].iloc[0]
    at.text_input(key="history_text").input("no such text anywhere").run()
    assert "No run of yours matches" in texts(at)
    at.text_input(key="history_text").input("1 as one").run()
    assert len(at.dataframe[0].value) == 1
    click(at, "Open the script orders (this run used v4)")
    follow(at, "pages/script.py")
    assert at.title[0].value == "orders"

    # Search across projects finds it by a fragment of its SQL and opens it.
    open_page(at, "pages/projects.py")
    at.text_input(key="projects_search").input("one").run()
    assert not at.exception
    assert "orders" in texts(at)
    at.button(key=f"projects_hit_{script_id}").click().run()
    assert not at.exception
    assert at.title[0].value == "orders"


def test_non_member_sees_nothing_of_the_project(app_db: Any, manager: ProjectManager) -> None:
    owner, _ = make_user(app_db.dsn, "analyst")
    owner_claims = claims_of(app_db.dsn, owner)
    project = manager.create_project(owner_claims, f"Secret {uuid.uuid4().hex[:6]}")
    script = manager.create_script(owner_claims, project.id, "payroll", "select 42 as answer")
    manager.run_script(owner_claims, script.id)

    at, _ = logged_in_app(app_db.dsn, "analyst")
    open_page(at, "pages/projects.py")
    assert "No projects yet" in texts(at)
    assert project.name not in texts(at)
    at.text_input(key="projects_search").input("payroll").run()
    assert "No script in your projects matches" in texts(at)
    open_page(at, "pages/project.py", project.id)  # a shared link does not open it either
    assert "not one of its members" in texts(at)
    assert not at.dataframe and not at.tabs
    open_page(at, "pages/script.py", script.id)
    assert "project you are not a member of" in texts(at)
    assert not at.text_area
    open_page(at, "pages/history.py")
    assert "No runs yet" in texts(at)


def test_members_owner_only_export_and_import(app_db: Any, manager: ProjectManager) -> None:
    at, owner = logged_in_app(app_db.dsn, "analyst")
    member, member_password = make_user(app_db.dsn, "analyst")
    project = manager.create_project(claims_of(app_db.dsn, owner), f"Shared {uuid.uuid4().hex[:6]}")
    manager.create_script(claims_of(app_db.dsn, owner), project.id, "first", "select 1")

    open_page(at, "pages/project.py", project.id)
    at.text_input(key="project_add_member_email").input(email_of(member).upper())
    click(at, "Add member")
    assert f"{email_of(member)} is now a member." in texts(at)
    assert manager.get_project(claims_of(app_db.dsn, owner), project.id).members == (email_of(member),)

    # The member sees the project but not the owner's controls.
    member_at = app_as(member, member_password)
    open_page(member_at, "pages/projects.py")
    assert project.name in set(member_at.dataframe[0].value["name"])
    open_page(member_at, "pages/project.py", project.id)
    assert f"Only the owner ({email_of(owner)}) can add or remove members." in texts(member_at)
    assert not [b for b in member_at.button if b.label in ("Add member", "Move project to the trash", "Archive")]

    # Export: prepared on demand (it is audited), then offered as a download.
    click(at, "Prepare export")
    assert at.get("download_button"), "download offered"
    archive = manager.export_project(claims_of(app_db.dsn, owner), project.id)
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        assert json.loads(zf.read("manifest.json"))["scripts"][0]["name"] == "first"

    # Import the same archive back: the clash is named and nothing is written until a policy is chosen.
    at.file_uploader(key="project_import_file").set_value(("project.zip", archive, "application/zip"))
    at.run()
    click(at, "Import")
    assert "Nothing was imported: these script names already exist here — first." in texts(at)
    assert [s.name for s in manager.list_scripts(claims_of(app_db.dsn, owner), project.id)] == ["first"]
    at.radio(key="project_import_policy").set_value("Import them under a new name")
    click(at, "Import")
    assert "renamed: first → first (imported)" in texts(at)
    names = sorted(s.name for s in manager.list_scripts(claims_of(app_db.dsn, owner), project.id))
    assert names == ["first", "first (imported)"]

    # Remove the member: they lose the project at once.
    at.selectbox(key="project_remove_member_email").select(email_of(member))
    click(at, "Remove member")
    assert f"{email_of(member)} no longer sees this project." in texts(at)
    open_page(member_at, "pages/project.py", project.id)
    assert "not one of its members" in texts(member_at)


def test_scripts_rename_move_delete_and_project_settings(app_db: Any, manager: ProjectManager) -> None:
    at, owner = logged_in_app(app_db.dsn, "analyst")
    owner_claims = claims_of(app_db.dsn, owner)
    suffix = uuid.uuid4().hex[:6]
    home = manager.create_project(owner_claims, f"Home {suffix}")
    other = manager.create_project(owner_claims, f"Other {suffix}")
    keep = manager.create_script(owner_claims, home.id, "keep", "select 1")
    gone = manager.create_script(owner_claims, home.id, "gone", "select 2")

    open_page(at, "pages/project.py", home.id)
    at.selectbox(key="project_manage_script").select("keep (v1)").run()
    at.text_input(key=f"project_rename_{keep.id}").input("kept")
    click(at, "Rename")
    assert "Renamed keep to kept." in texts(at)
    at.selectbox(key="project_manage_script").select("kept (v1)").run()
    at.selectbox(key="project_move_target").select(other.id)
    click(at, "Move")
    assert f"Moved kept to {other.name}." in texts(at)
    assert [s.name for s in manager.list_scripts(owner_claims, other.id)] == ["kept"]

    click(at, "Move gone to the trash…")
    assert "Move **gone** to the trash?" in "\n".join(w.value for w in at.warning)
    assert [s.name for s in manager.list_scripts(owner_claims, home.id)] == ["gone"], "nothing deleted yet"
    click(at, "Yes, move it to the trash")
    assert "Moved gone to the trash." in texts(at)
    assert manager.list_scripts(owner_claims, home.id) == []
    assert "No scripts yet" in texts(at)
    assert gone.id not in {s.id for s in manager.list_scripts(owner_claims, other.id)}

    at.text_input(key="project_settings_name").input(f"Renamed {suffix}")
    at.text_area(key="project_settings_description").input("what this project is for")
    click(at, "Save name and description")
    assert at.title[0].value == f"Renamed {suffix}"
    assert "what this project is for" in texts(at)
    click(at, "Archive")
    assert "archived" in at.title[0].value and "read-only" in texts(at)
    assert manager.get_project(owner_claims, home.id).archived
    click(at, "Unarchive")
    assert not manager.get_project(owner_claims, home.id).archived

    click(at, "Move project to the trash")
    assert "Type the project name" in "\n".join(e.value for e in at.error)
    assert home.id in {p.id for p in manager.list_projects(owner_claims)}, "not deleted without the name"
    at.text_input(key=f"project_delete_confirm_{home.id}").input(f"Renamed {suffix}")
    click(at, "Move project to the trash")
    follow(at, "pages/projects.py")
    assert f"Moved project Renamed {suffix} to the trash." in texts(at)
    assert home.id not in {p.id for p in manager.list_projects(owner_claims)}


def test_dba_destructive_run_needs_confirmation_and_runs_once(app_db: Any, manager: ProjectManager) -> None:
    table = f"apptest_victim_{uuid.uuid4().hex[:8]}"
    # On connection demo, owned by its DBA login (which a DBA's run goes through).
    with psycopg.connect(app_db.demo_dba_dsn, autocommit=True) as conn:
        conn.execute(
            psycopg.sql.SQL("create table public.{} (id int); insert into public.{} values (1), (2)").format(
                psycopg.sql.Identifier(table), psycopg.sql.Identifier(table)
            )
        )

    def table_exists() -> bool:
        with psycopg.connect(app_db.demo_dsn) as conn:
            row = conn.execute("select to_regclass(%s) is not null", (f"public.{table}",)).fetchone()
        return bool(row and row[0])

    at, dba = logged_in_app(app_db.dsn, "dba")
    dba_claims = claims_of(app_db.dsn, dba)
    project = manager.create_project(dba_claims, f"Cleanup {uuid.uuid4().hex[:6]}")
    script = manager.create_script(dba_claims, project.id, "drop victim", f"drop table public.{table}")

    open_page(at, "pages/script.py", script.id)
    click(at, "Run")
    shown = texts(at)
    assert "destructive statements" in shown and "Nothing has run yet" in shown and "DROP TABLE" in shown
    assert table_exists(), "nothing ran before the confirmation"
    assert execution_count(app_db.dsn, str(script.id)) == 0
    at.run()  # a rerun does not run it either
    assert not at.exception
    assert table_exists()

    click(at, "Confirm and run")
    assert not table_exists(), "the statement ran after confirming"
    assert "success" in texts(at) and "read-write" in texts(at)
    assert execution_count(app_db.dsn, str(script.id)) == 1
    assert not [b for b in at.button if b.label == "Confirm and run"], "the confirmation is spent"
    at.run()
    assert not at.exception
    assert execution_count(app_db.dsn, str(script.id)) == 1, "a rerun does not run it twice"


def test_analyst_runs_read_only(app_db: Any, manager: ProjectManager) -> None:
    at, analyst = logged_in_app(app_db.dsn, "analyst")
    analyst_claims = claims_of(app_db.dsn, analyst)
    project = manager.create_project(analyst_claims, f"Ro {uuid.uuid4().hex[:6]}")
    script = manager.create_script(analyst_claims, project.id, "bad", "select 1;\nselect * from no_such_table_x")
    open_page(at, "pages/script.py", script.id)
    click(at, "Run")
    errors = as_read("\n".join(e.value for e in at.error))
    assert "no_such_table_x" in errors and "SQLSTATE 42P01" in errors
    assert "line 2" in texts(at), "the error's position, with the offending line and a caret"
    assert "error" in texts(at)
    history = manager.history(analyst_claims, script_id=script.id)
    assert [r.status for r in history] == ["error"] and history[0].sqlstate == "42P01"


def test_save_conflict_shows_the_other_change(app_db: Any, manager: ProjectManager) -> None:
    at, me = logged_in_app(app_db.dsn, "analyst")
    colleague, _ = make_user(app_db.dsn, "analyst")
    my_claims = claims_of(app_db.dsn, me)
    their_claims = claims_of(app_db.dsn, colleague)
    project = manager.create_project(my_claims, f"Team {uuid.uuid4().hex[:6]}", members=[email_of(colleague)])
    script = manager.create_script(my_claims, project.id, "report", "select 1 as base")

    open_page(at, "pages/script.py", script.id)  # I load v1 ...
    editor = f"script_editor_{script.id}"
    # ... and they save v2 before I press Save.
    manager.save_script(their_claims, script.id, "select 1 as base, 'theirs' as who", base_version=1)
    type_sql(at, editor, "select 1 as base, 'mine' as who").run()
    assert not at.exception
    assert "saved v2 since you opened v1" in "\n".join(w.value for w in at.warning), "a rerun tells me early"
    click(at, "Save")
    errors = as_read("\n".join(e.value for e in at.error))
    assert f"Not saved: {email_of(colleague)} saved v2" in errors
    assert not any("since you opened" in w.value for w in at.warning), "the conflict is announced once"
    assert "'theirs' as who" in html_text(at) and "'mine' as who" in html_text(at), "their change beside mine"
    assert manager.get_script(my_claims, script.id).version == 2, "nothing of mine was written"

    click(at, "Keep mine: save on top of v2")
    assert "Saved your text as v3, on top of v2." in texts(at)
    current = manager.get_script(my_claims, script.id)
    assert current.version == 3 and current.sql == "select 1 as base, 'mine' as who"
    assert manager.get_version(my_claims, script.id, 2).sql == "select 1 as base, 'theirs' as who"

    # Again, and this time take theirs.
    manager.save_script(their_claims, script.id, "select 'theirs again'", base_version=3)
    type_sql(at, editor, "select 'mine again'")
    click(at, "Save")
    assert "Not saved" in "\n".join(e.value for e in at.error)
    click(at, "Load theirs (drop my edits)")
    assert at.session_state[editor] == "select 'theirs again'"
    assert "Loaded v4" in texts(at)
    type_sql(at, editor, "select 'mine on top of theirs'")
    click(at, "Save")
    assert "Saved as v5." in texts(at)


def test_unsaved_edits_run_as_adhoc_and_reopen_in_the_sql_editor(app_db: Any, manager: ProjectManager) -> None:
    at, analyst = logged_in_app(app_db.dsn, "analyst")
    analyst_claims = claims_of(app_db.dsn, analyst)
    project = manager.create_project(analyst_claims, f"Adhoc {uuid.uuid4().hex[:6]}")
    script = manager.create_script(analyst_claims, project.id, "draft", "select 1 as saved")
    open_page(at, "pages/script.py", script.id)
    type_sql(at, f"script_editor_{script.id}", "select 2 as unsaved_edit")
    click(at, "Run")
    assert "Results of your unsaved text" in texts(at)
    assert list(at.dataframe[0].value.columns) == ["unsaved_edit"]
    assert execution_count(app_db.dsn, str(script.id)) == 0, "not recorded against the script"
    assert manager.get_script(analyst_claims, script.id).version == 1, "and not saved"

    open_page(at, "pages/history.py")
    assert list(at.dataframe[0].value["script"]) == ["ad-hoc SQL"]
    assert any(c.value == "select 2 as unsaved_edit" for c in at.code), "the SQL is shown, ready to copy"
    if (Path(APP).parent / "pages" / "sql_editor.py").is_file():
        click(at, "Open this SQL in the SQL editor")
        assert at.session_state["sql_editor_text"] == "select 2 as unsaved_edit"


def test_invalid_input_says_what_is_wrong(app_db: Any) -> None:
    at, _ = logged_in_app(app_db.dsn, "analyst")
    open_page(at, "pages/projects.py")
    at.text_input(key="projects_new_name").input("   ")
    click(at, "Create project")
    assert "Creating the project failed: the project name must not be empty" in "\n".join(e.value for e in at.error)
    at.text_input(key="projects_new_name").input("Valid")
    at.text_input(key="projects_new_members").input("not-an-email")
    click(at, "Create project")
    assert "'not-an-email' is not an email address" in as_read("\n".join(e.value for e in at.error))


def test_a_duplicate_project_name_is_refused_and_the_typed_name_kept(app_db: Any) -> None:
    at, _ = logged_in_app(app_db.dsn, "analyst")
    name = f"Dup {uuid.uuid4().hex[:6]}"
    open_page(at, "pages/projects.py")
    at.text_input(key="projects_new_name").input(name)
    click(at, "Create project")
    follow(at, "pages/project.py")
    assert at.title[0].value == name
    open_page(at, "pages/projects.py")
    at.text_input(key="projects_new_name").input(name.lower())
    click(at, "Create project")
    errors = "\n".join(e.value for e in at.error)
    assert "You already have a project named" in errors and "choose another name" in errors
    assert at.text_input(key="projects_new_name").value == name.lower(), "the typed name is not lost"
    assert list(at.dataframe[0].value["name"]) == [name], "nothing was created"


@pytest.mark.parametrize("page", ["projects", "project", "script", "history"])
def test_each_page_has_an_empty_state_for_a_new_user(app_db: Any, page: str) -> None:
    at, _ = logged_in_app(app_db.dsn, "viewer")
    open_page(at, f"pages/{page}.py")
    expected = {
        "projects": "No projects yet — create one on the left",
        "project": "No project selected",
        "script": "No script selected",
        "history": "No runs yet",
    }[page]
    assert expected in texts(at)
