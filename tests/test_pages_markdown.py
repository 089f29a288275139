"""Names and descriptions from users reach the Projects, Project and Script pages as text, never as Markdown.

A project named ``![x](http://127.0.0.1:9/p)`` would make every member's browser fetch that image, and a
description ``[login again](http://…)`` would be a working phishing link. AppTest sees the Markdown source
each element is given; every element that Streamlit renders as Markdown (text, alerts, titles, and the labels
of buttons, expanders, tabs, metrics, inputs, radios, page links) must hold the escaped form, while the text
still reads as typed. Chromium's view of the same is in tests/test_browser_markdown.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from apptest_helpers import as_read, logged_in_app
from streamlit.testing.v1 import AppTest

PROJECT_NAME = "![x](http://127.0.0.1:9/p)"
DESCRIPTION = "[login again](http://127.0.0.1:9/phish)"
SCRIPT_NAME = "**bold** :red[alarm] [s](http://127.0.0.1:9/s) <img src=http://127.0.0.1:9/h>"


@pytest.fixture(autouse=True)
def _app_env(app_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))


def markdown_sources(at: AppTest) -> list[str]:
    """The source of every element on the page that Streamlit 1.67 renders as Markdown (see ui/markdown.py)."""
    out: list[str] = []
    for kind in ("markdown", "caption", "title", "header", "subheader", "error", "warning", "info", "success"):
        out += [str(e.value) for e in getattr(at, kind)]
    out += [str(t.value) for t in at.get("toast")]
    out += [str(e.label) for e in at.expander]
    out += [str(t.label) for t in at.tabs]
    out += [str(b.label) for b in [*at.button, *at.get("download_button")]]
    out += [str(b.proto.help) for b in at.button]
    for m in at.metric:
        out += [str(m.label), str(m.value), str(m.proto.delta)]
    for widgets in (at.text_input, at.text_area, at.checkbox, at.toggle, at.radio):
        out += [str(w.label) for w in widgets]
    out += [str(o) for r in at.radio for o in r.options]
    out += [str(p.proto.label) for p in at.get("page_link")]
    return out


def assert_no_live_markdown(at: AppTest, where: str) -> None:
    assert not at.exception, at.exception
    sources = markdown_sources(at)
    assert sources, f"{where}: nothing collected"
    for source in sources:
        assert "](http" not in source, f"{where}: an unescaped link or image in {source!r}"
        assert "http://" not in source, f"{where}: a URL GFM would autolink in {source!r}"
        assert ":red[" not in source and "<img" not in source.replace("\\<img", ""), f"{where}: {source!r}"


def shown(at: AppTest, text: str) -> bool:
    return any(as_read(source) == text for source in markdown_sources(at))


def test_hostile_names_are_shown_as_text(app_db: Any) -> None:
    at, _ = logged_in_app(app_db.dsn, "analyst")

    # Projects: create it through the form; the flash, the list and the search name it.
    at.switch_page("pages/projects.py").run()
    at.text_input(key="projects_new_name").input(PROJECT_NAME)
    at.text_area(key="projects_new_description").input(DESCRIPTION)
    next(b for b in at.button if b.label == "Create project").click().run()
    at.switch_page("pages/project.py")  # creating a project opens it, with the flash
    assert_no_live_markdown(at, "project after create")
    assert any(as_read(s) == f"Created project {PROJECT_NAME}." for s in markdown_sources(at))
    at.switch_page("pages/projects.py").run()
    assert_no_live_markdown(at, "projects")
    assert list(at.dataframe[0].value["name"]) == [PROJECT_NAME], "the table shows it as it is (plain text)"

    # Project: title, description; then a script with a hostile name (the app opens it).
    at.button(key="projects_open").click().run()
    at.switch_page("pages/project.py").run()
    assert_no_live_markdown(at, "project")
    assert as_read(at.title[0].value) == PROJECT_NAME
    assert shown(at, DESCRIPTION)
    project_id = at.query_params["id"]
    at.text_input(key="project_new_script_name").input(SCRIPT_NAME)
    at.text_area(key="project_new_script_sql").input("select 1 as one")
    next(b for b in at.button if b.label == "Create script").click().run()

    # Script: the back link names the project, the title the script.
    at.switch_page("pages/script.py").run()
    assert_no_live_markdown(at, "script")
    assert as_read(at.title[0].value) == SCRIPT_NAME
    assert [as_read(p.proto.label) for p in at.get("page_link")][-1:] == [PROJECT_NAME]

    # The project page lists the script; its delete button names it.
    at.query_params = {"id": project_id}
    at.switch_page("pages/project.py").run()
    assert_no_live_markdown(at, "project with a script")
    assert shown(at, f"**{SCRIPT_NAME}**  \n`v1`")
    assert any(as_read(b.label) == f"Move {SCRIPT_NAME} to the trash…" for b in at.button)

    # Searching the scripts names both.
    at.query_params = {}
    at.switch_page("pages/projects.py").run()
    at.text_input(key="projects_search").input("select 1").run()
    assert_no_live_markdown(at, "projects search")
    assert any(SCRIPT_NAME in as_read(s) and PROJECT_NAME in as_read(s) for s in markdown_sources(at))
