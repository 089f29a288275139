"""Every page on the chosen connection, through AppTest from app.py with a real login: the sidebar's switcher lists
what RLS allows, switching changes what the pages read, a dead connection stops only its pages, and the history
says where each run went.

A second connection is a real database on the suite's server, registered for the test and dropped after it.
"""

from __future__ import annotations

from typing import Any

import pytest
from apptest_helpers import (
    app_as,
    claims_of,
    extra_connection,
    logged_in_app,
    make_user,
    rerun_app,
    sidebar_connections,
    switch_connection,
    texts,
)
from db_helpers import workspace_manager
from streamlit.testing.v1 import AppTest

from dba_admin.connections import DEMO_CONNECTION, Registry, SecretBox
from dba_admin.projects import ProjectManager

EXPLORER = "pages/explorer.py"
SQL_EDITOR = "pages/sql_editor.py"
# Nothing listens there: connecting is refused at once.
DEAD_DSN = "host=127.0.0.1 port=1 dbname=nowhere user=nobody connect_timeout=2"


@pytest.fixture(autouse=True)
def _app_env(app_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("DBA_ADMIN_CONNECTION", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))


def listed_tables(at: AppTest) -> set[str]:
    for df in at.dataframe:
        if {"schema", "name", "RLS"} <= set(df.value.columns):
            return set(df.value["name"])
    raise AssertionError("no table list on the page")


def test_the_switcher_lists_only_what_rls_allows(app_db: Any) -> None:
    with extra_connection(app_db, roles=("admin", "dba")) as hidden:
        analyst, _ = logged_in_app(app_db.dsn, "analyst")
        assert DEMO_CONNECTION in sidebar_connections(analyst)
        assert hidden not in sidebar_connections(analyst), "a connection not granted to the role is not listed"
        assert f"Connection: {DEMO_CONNECTION}" in texts(analyst)

        # Nor can it be opened by link: the page stays on a connection the analyst may use, and says so.
        analyst.query_params["connection"] = hidden
        rerun_app(analyst)
        assert not analyst.exception, analyst.exception
        assert f"connection {hidden}, which does not exist or is not open to you" in texts(analyst)
        analyst.switch_page(EXPLORER).run()
        assert not analyst.exception, analyst.exception
        assert "only_here" not in listed_tables(analyst) and "pets" in listed_tables(analyst)
        assert analyst.query_params["connection"] in (DEMO_CONNECTION, [DEMO_CONNECTION])

        dba, _ = logged_in_app(app_db.dsn, "dba")
        assert {DEMO_CONNECTION, hidden} <= set(sidebar_connections(dba)), "granted to the role: listed"


def test_a_connection_granted_to_one_user_by_email(app_db: Any) -> None:
    username, password = make_user(app_db.dsn, "analyst")
    email = claims_of(app_db.dsn, username).email
    with extra_connection(app_db, roles=(), users=(email,)) as personal:
        at = app_as(username, password)
        assert personal in sidebar_connections(at)
        other, _ = logged_in_app(app_db.dsn, "analyst")
        assert personal not in sidebar_connections(other)


def test_switching_changes_what_the_explorer_lists(app_db: Any) -> None:
    with extra_connection(app_db, roles=("dba",)) as second:
        at, _ = logged_in_app(app_db.dsn, "dba")
        at.switch_page(EXPLORER).run()
        assert not at.exception, at.exception
        assert "pets" in listed_tables(at) and "only_here" not in listed_tables(at)
        assert "Connection: demo" in texts(at)

        switch_connection(at, second, EXPLORER)
        assert not at.exception, at.exception
        assert listed_tables(at) == {"only_here"}, "the second database's tables only"
        assert f"Connection: {second}" in texts(at)
        assert at.query_params["connection"] in (second, [second]), "the URL keeps the choice, so a link does too"

        switch_connection(at, DEMO_CONNECTION, EXPLORER)
        assert "pets" in listed_tables(at)


def test_a_link_opens_the_page_on_its_connection(app_db: Any) -> None:
    with extra_connection(app_db, roles=("dba",)) as second:
        at, _ = logged_in_app(app_db.dsn, "dba")
        at.query_params["connection"] = second
        at.query_params["schema"] = "public"
        at.query_params["table"] = "only_here"
        at.switch_page(EXPLORER).run()
        assert not at.exception, at.exception
        assert f"Connection: {second}" in texts(at)
        rows = next(df.value for df in at.dataframe if "note" in df.value.columns)
        assert sorted(rows["note"]) == ["one", "two"]


def test_write_mode_is_unavailable_without_a_dba_login(app_db: Any) -> None:
    with extra_connection(app_db, roles=("dba",)) as second:
        at, _ = logged_in_app(app_db.dsn, "dba")
        at.switch_page(SQL_EDITOR).run()
        assert "Write mode" in texts(at) and "unavailable" not in texts(at), "demo has a DBA login"
        assert any(t.key == "sql_editor_one_transaction_toggle" for t in at.toggle)

        switch_connection(at, second, SQL_EDITOR)
        assert not at.exception, at.exception
        shown = texts(at)
        assert f"Write mode is unavailable on connection {second}: it has no DBA login" in shown
        assert "dba-admin connection add" in shown, "says how to add the login"
        assert not any(t.key == "sql_editor_one_transaction_toggle" for t in at.toggle)


def test_a_dead_connection_stops_only_its_pages(app_db: Any) -> None:
    with extra_connection(app_db, roles=("dba",), dsn=DEAD_DSN) as dead:
        at, _ = logged_in_app(app_db.dsn, "dba")
        at.switch_page(EXPLORER).run()
        switch_connection(at, dead, EXPLORER)
        assert not at.exception, at.exception
        shown = texts(at)
        assert f"Connection {dead} (127.0.0.1/nowhere) is not answering" in shown
        assert "Pick another connection in the sidebar" in shown
        assert not at.dataframe, "nothing of the page is drawn on a connection that does not answer"
        assert dead in sidebar_connections(at), "the switcher still works"

        switch_connection(at, DEMO_CONNECTION, EXPLORER)
        assert not at.exception, at.exception
        assert "pets" in listed_tables(at), "back on a live connection, the page works"

        # Home says which one is down, and that the workspace is fine.
        switch_connection(at, dead, "pages/home.py")
        assert not at.exception, at.exception
        metrics = [(m.label, m.value) for m in at.metric]
        assert ("Database", "down") in metrics and ("Database", "reachable") in metrics


def test_home_says_what_is_missing_instead_of_down(app_db: Any) -> None:
    with extra_connection(app_db, roles=("dba",)) as second:
        at, _ = logged_in_app(app_db.dsn, "dba")
        switch_connection(at, second)
        assert not at.exception, at.exception
        metrics = {m.label: m.value for m in at.metric if m.label != "Database"}
        assert [m.value for m in at.metric if m.label == "Database"] == ["reachable", "reachable"]
        assert metrics["Read-only login"] == "missing"
        shown = texts(at)
        assert f"The read-only login of {second} is not usable (none is registered)" in shown
        assert f"Write mode is unavailable on connection {second}" in shown
        assert "down" not in [m.value for m in at.metric]


def test_history_shows_the_connection_of_each_run(app_db: Any) -> None:
    at, _ = logged_in_app(app_db.dsn, "analyst")
    at.session_state["sql_editor_text"] = "select 7 as seven"
    at.switch_page(SQL_EDITOR).run()
    at.button(key="sql_editor_run").click().run()
    assert not at.exception, at.exception
    assert "on demo" in texts(at)
    at.switch_page("pages/history.py").run()
    assert not at.exception, at.exception
    frame = next(df.value for df in at.dataframe if "connection" in df.value.columns)
    assert list(frame["connection"]) == [DEMO_CONNECTION]
    assert "Ran on connection demo" in texts(at)


def test_no_connection_is_a_clear_empty_state(app_db: Any) -> None:
    workspace = workspace_manager(app_db)
    registry = Registry(workspace, SecretBox.from_settings(app_db.settings, embedded=True))
    before = registry.get(DEMO_CONNECTION)
    registry.set_access(DEMO_CONNECTION, actor="tests", roles=("admin", "dba", "analyst"))
    try:
        at, _ = logged_in_app(app_db.dsn, "viewer")
        assert "Connection: none yet" in texts(at)
        assert "No connection yet: an admin adds one" in texts(at)
        at.switch_page(EXPLORER).run()
        assert not at.exception, at.exception
        assert "No connection yet: an admin adds one on the Connections page" in texts(at)
        assert not at.dataframe
    finally:
        registry.set_access(DEMO_CONNECTION, actor="tests", roles=before.roles, users=before.users)
        workspace.close()


def test_a_script_runs_on_the_connection_chosen_for_it(app_db: Any) -> None:
    with extra_connection(app_db, roles=("analyst",), readonly=True) as second:
        username, password = make_user(app_db.dsn, "analyst")
        claims = claims_of(app_db.dsn, username)
        workspace = workspace_manager(app_db)
        try:
            projects = ProjectManager(workspace)
            project = projects.create_project(claims, f"Where {second}")
            script = projects.create_script(claims, project.id, "count", "select count(*) as n from public.only_here")
        finally:
            workspace.close()
        at = app_as(username, password)
        at.query_params = {"id": str(script.id)}
        at.switch_page("pages/script.py").run()
        assert not at.exception, at.exception
        target = next(s for s in at.selectbox if s.label == "Run on")
        assert target.value == DEMO_CONNECTION, "the sidebar's connection by default"
        assert set(target.options) >= {DEMO_CONNECTION, second}
        target.select(second).run()
        next(b for b in at.button if b.label == "Run").click().run()
        assert not at.exception, at.exception
        assert f"Results of v1 on {second}" in texts(at)
        runs = next(df.value for df in at.dataframe if "connection" in df.value.columns)
        assert list(runs["connection"]) == [second], "the run history says where it ran"
