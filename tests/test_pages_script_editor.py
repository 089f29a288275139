"""The project script page uses the SQL editor's code editor and results (issue 15, section 3: editor parity).

Through AppTest from app.py against the suite's PostgreSQL. The code editor is a custom component: AppTest shows it
as an unknown element whose arguments (text, buttons, options, the error marker) are read from its proto, and an
editor event (what Ctrl/Cmd+Enter sends) is put in its session-state key the way the browser would.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from apptest_helpers import claims_of, logged_in_app, texts
from db_helpers import demo_manager
from streamlit.testing.v1 import AppTest

from dba_admin.projects import ProjectManager
from ui.sql_workbench import LOCAL_MONOSPACE, editor_config


@pytest.fixture(autouse=True)
def _app_env(app_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))


@pytest.fixture(scope="module")
def manager(app_db: Any) -> Iterator[ProjectManager]:
    db = demo_manager(app_db)
    yield ProjectManager(db)
    db.close()


def open_script(app_db: Any, manager: ProjectManager, sql: str) -> tuple[AppTest, uuid.UUID]:
    at, username = logged_in_app(app_db.dsn, "analyst")
    claims = claims_of(app_db.dsn, username)
    project = manager.create_project(claims, f"Parity {uuid.uuid4().hex[:6]}")
    script = manager.create_script(claims, project.id, "report", sql)
    at.query_params = {"id": str(script.id)}
    at.switch_page("pages/script.py").run()
    assert not at.exception, at.exception
    return at, script.id


def editor_args(at: AppTest) -> dict[str, Any]:
    """The arguments the page drew the code editor with (the component's JSON arguments)."""
    found = [
        json.loads(e.proto.json_args)
        for e in at.get("component_instance")
        if getattr(e.proto, "component_name", "").endswith("code_editor")
    ]
    assert len(found) == 1, "one code editor on the page"
    return found[0]


def submit(at: AppTest, script_id: uuid.UUID, text: str) -> AppTest:
    """What Ctrl/Cmd+Enter in the editor sends: a new event (its own id) of type submit with the text."""
    at.session_state[f"script_ace_{script_id}"] = {
        "id": uuid.uuid4().hex,
        "type": "submit",
        "lang": "pgsql",
        "text": text,
        "selected": "",
        "cursor": {"row": 0, "column": 0},
    }
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_script_page_uses_the_code_editor_with_the_saved_text(app_db: Any, manager: ProjectManager) -> None:
    at, _ = open_script(app_db, manager, "select 1 as one")
    args = editor_args(at)
    assert args["code"] == "select 1 as one"
    assert args["lang"] == "pgsql" and args["options"]["showLineNumbers"] is True
    assert [b["commands"] for b in args["buttons"]] == [["submit"]], "its Run button is Ctrl/Cmd+Enter's submit"
    assert args["props"]["annotations"] == []


def test_ctrl_enter_runs_the_text_once_and_results_are_downloadable(app_db: Any, manager: ProjectManager) -> None:
    at, script_id = open_script(app_db, manager, "select 1 as one")
    submit(at, script_id, "select n, n * 2 as twice from generate_series(1, 3) n")
    assert "Results of your unsaved text" in texts(at)
    frame = at.dataframe[0].value
    assert list(frame.columns) == ["n", "twice"] and len(frame) == 3
    keys = {b.proto.id for b in at.get("download_button")}
    prefix = f"script_result_{script_id}_"
    assert any(prefix in k and k.endswith("_0_csv") for k in keys), keys
    assert any(prefix in k and k.endswith("_0_json") for k in keys), keys
    assert any(t.label == "Chart" for t in at.toggle), "the chart builder is offered"
    runs = len(manager.history(claims_of(app_db.dsn, at.session_state["username"]), limit=50))
    at.run()  # a rerun takes the same event again: nothing runs twice
    assert len(manager.history(claims_of(app_db.dsn, at.session_state["username"]), limit=50)) == runs


def test_a_syntax_error_is_marked_in_the_editor(app_db: Any, manager: ProjectManager) -> None:
    bad = "select 1 as one,\n       from nowhere"
    at, _ = open_script(app_db, manager, bad)
    at.button(key="script_run").click().run()
    assert not at.exception, at.exception
    assert "SQLSTATE 42601" in "\n".join(e.value for e in at.error)
    marks = editor_args(at)["props"]["annotations"]
    assert len(marks) == 1 and marks[0]["type"] == "error"
    assert (marks[0]["row"], marks[0]["column"]) == (1, 7), "line 2, at 'from'"
    assert "line 2, column 8" in texts(at)


def test_the_editor_asks_for_no_font_from_the_internet(app_db: Any, manager: ProjectManager) -> None:
    at, _ = open_script(app_db, manager, "select 1")
    drawn = json.dumps(editor_args(at))
    for host in ("fonts.googleapis", "fonts.gstatic", "http://", "https://"):
        assert host not in drawn, host
    assert editor_args(at)["options"]["fontFamily"] == LOCAL_MONOSPACE
    assert "Source Code Pro" not in json.dumps(editor_config("select 1", key="k"))
