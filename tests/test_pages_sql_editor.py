"""The SQL editor page through AppTest, from app.py and the real login form, against the suite's PostgreSQL.

The editor component is a custom component (an unknown element in AppTest); the page keeps its text in
``st.session_state["sql_editor_text"]``, which the tests set the way another page would before clicking.

SQL runs on connection `demo` (database petcare): tables are set up there as its DBA login (``app_db.demo_dba_dsn``,
which a DBA's write-mode SQL runs as) and checked through ``app_db.demo_dsn``; runs are recorded in the workspace
(``app_db.dsn``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from apptest_helpers import logged_in_app, logged_in_page, texts
from db_helpers import workspace_manager
from psycopg import sql
from streamlit.testing.v1 import AppTest

from dba_admin.auth import AppUser, UserStore
from dba_admin.projects import ProjectManager

PAGE = "pages/sql_editor.py"
TEXT = "sql_editor_text"


@pytest.fixture(autouse=True)
def _app_env(app_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))


@pytest.fixture(scope="module")
def projects(app_db: Any) -> Iterator[ProjectManager]:
    db = workspace_manager(app_db)
    yield ProjectManager(db)
    db.close()


def editor(app_db: Any, role: str) -> tuple[AppTest, str]:
    return logged_in_page(app_db.dsn, PAGE, role)


def run_sql(at: AppTest, text: str, button: str = "sql_editor_run") -> AppTest:
    at.session_state[TEXT] = text
    at.button(key=button).click().run()
    assert not at.exception, at.exception
    return at


def app_user(dsn: str, username: str) -> AppUser:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return UserStore(conn).get(username)


def runs_of(dsn: str, username: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "select count(*) from public.execucoes_scripts where executado_por = %s", (f"{username}@example.com",)
        ).fetchone()
    assert row is not None
    return int(row[0])


def table_exists(dsn: str, name: str) -> bool:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("select to_regclass(%s) is not null", (f"public.{name}",)).fetchone()
    return bool(row and row[0])


def test_runs_a_query_and_shows_the_result(app_db: Any) -> None:
    at, username = editor(app_db, "analyst")
    assert "Read-only" in texts(at)
    run_sql(at, "select id, name, species from public.pets order by id limit 5")
    frame = at.dataframe[0].value
    assert list(frame.columns) == ["id", "name", "species"] and len(frame.index) == 5
    shown = texts(at)
    assert "5 rows" in shown and "saved in your history as run #" in shown
    assert runs_of(app_db.dsn, username) == 1


def test_one_tab_per_statement(app_db: Any) -> None:
    at, _ = editor(app_db, "viewer")
    run_sql(at, "select 1 as a;\nselect 'x' as b, 2 as c;\nshow statement_timeout")
    assert len(at.tabs) == 3
    assert [list(df.value.columns) for df in at.dataframe] == [["a"], ["b", "c"], ["statement_timeout"]]


def test_row_cap_is_said(app_db: Any) -> None:
    at, _ = editor(app_db, "analyst")
    cap = app_db.settings.max_rows
    run_sql(at, f"select g from generate_series(1, {cap + 5}) g")
    assert len(at.dataframe[0].value.index) == cap
    assert "Row cap reached" in texts(at)


@pytest.mark.parametrize(
    ("text", "sqlstate", "where", "caret_under"),
    [
        ("select 1;\nselect *\n  from no_such_table_xyz", "42P01", "line 3, column 8", "no_such_table_xyz"),
        ("select id,\n       name\n  fro public.pets", "42601", "line 3, column 7", "public.pets"),
    ],
)
def test_error_shows_sqlstate_and_position(app_db: Any, text: str, sqlstate: str, where: str, caret_under: str) -> None:
    at, _ = editor(app_db, "analyst")
    run_sql(at, text)
    shown = texts(at)
    assert f"SQLSTATE {sqlstate}" in shown
    assert where in shown
    snippet = next(c.value for c in at.code if "^" in c.value)
    *_, code_line, caret_line = snippet.splitlines()
    assert caret_line.index("^") == code_line.index(caret_under)


def test_analyst_write_is_refused_read_only(app_db: Any) -> None:
    at, _ = editor(app_db, "analyst")
    with psycopg.connect(app_db.demo_dsn) as conn:
        before = conn.execute("select name from public.pets where id = 1").fetchone()
    run_sql(at, "update public.pets set name = 'changed by analyst' where id = 1")
    shown = texts(at)
    assert "read-only" in shown.lower()
    assert "SQLSTATE 25006" in shown or "SQLSTATE 42501" in shown
    assert not any(b.key == "sql_editor_confirm" for b in at.button), "no confirmation: it can never run"
    with psycopg.connect(app_db.demo_dsn) as conn:
        assert conn.execute("select name from public.pets where id = 1").fetchone() == before


def test_dba_drop_needs_confirmation(app_db: Any) -> None:
    name = f"sql_editor_drop_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(app_db.demo_dba_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create table public.{} (id int)").format(sql.Identifier(name)))
    at, username = editor(app_db, "dba")
    assert "Write mode" in texts(at)
    run_sql(at, f"select 1;\ndrop table public.{name}")
    shown = texts(at)
    assert "What it affects" in shown and f"DROP TABLE public.{name}" in shown
    assert "on connection demo" in shown, "the confirmation names the database it would change"
    assert table_exists(app_db.demo_dsn, name), "nothing ran before the confirmation"
    assert runs_of(app_db.dsn, username) == 0
    at.run()  # a plain rerun does not confirm it
    assert table_exists(app_db.demo_dsn, name)
    at.button(key="sql_editor_confirm").click().run()
    assert not at.exception, at.exception
    assert not table_exists(app_db.demo_dsn, name)
    assert "DROP TABLE" in texts(at)
    assert runs_of(app_db.dsn, username) == 1
    assert not any(b.key == "sql_editor_confirm" for b in at.button)


def test_dba_cancel_runs_nothing(app_db: Any) -> None:
    name = f"sql_editor_keep_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(app_db.demo_dba_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create table public.{} (id int)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("insert into public.{} values (1), (2)").format(sql.Identifier(name)))
    at, username = editor(app_db, "admin")
    run_sql(at, f"delete from public.{name}")
    assert f"DELETE without WHERE on public.{name}" in texts(at)
    at.button(key="sql_editor_cancel").click().run()
    assert not at.exception
    assert not any(b.key == "sql_editor_confirm" for b in at.button)
    with psycopg.connect(app_db.demo_dsn) as conn:
        count = conn.execute(sql.SQL("select count(*) from public.{}").format(sql.Identifier(name))).fetchone()
    assert count == (2,)
    assert runs_of(app_db.dsn, username) == 0


def test_nothing_runs_twice_on_rerun(app_db: Any) -> None:
    at, username = editor(app_db, "dba")
    run_sql(at, "select count(*) as pets from public.pets")
    assert runs_of(app_db.dsn, username) == 1
    at.run()
    at.run()
    at.toggle(key=next(t.key for t in at.toggle if t.key and t.key.endswith("_chart_on"))).set_value(True).run()
    assert not at.exception
    assert at.get("plotly_chart"), "the chart builder draws the result"
    assert runs_of(app_db.dsn, username) == 1
    assert at.dataframe[0].value["pets"].iloc[0] > 0, "the result is still shown"


def test_explain_and_explain_analyze_show_the_plan(app_db: Any) -> None:
    at, username = editor(app_db, "analyst")
    query = "select p.species, count(*) from public.pets p join public.appointments a on a.pet_id = p.id group by 1"
    run_sql(at, query, "sql_editor_explain")
    plan = at.dataframe[0].value
    assert {"node", "total cost", "self cost", "share"} <= set(plan.columns)
    assert "self ms" not in plan.columns
    assert "Slowest:" in texts(at)
    run_sql(at, query, "sql_editor_explain_analyze")
    plan = at.dataframe[0].value
    assert {"actual rows", "time ms", "self ms"} <= set(plan.columns)
    assert "Execution" in [m.label for m in at.metric]
    assert runs_of(app_db.dsn, username) == 0, "EXPLAIN is not a run of the SQL"


def test_explain_error_has_position(app_db: Any) -> None:
    at, _ = editor(app_db, "analyst")
    run_sql(at, "select nope_col from public.pets", "sql_editor_explain")
    shown = texts(at)
    assert "SQLSTATE 42703" in shown and "line 1, column 8" in shown


def test_format_rewrites_the_text(app_db: Any) -> None:
    at, _ = editor(app_db, "viewer")
    run_sql(at, "select id,name from public.pets where id=1", "sql_editor_format")
    assert at.session_state[TEXT].startswith("SELECT id,\n")


def test_prefilled_text_and_history_click(app_db: Any) -> None:
    at, _ = logged_in_app(app_db.dsn, "analyst")
    at.session_state[TEXT] = "select 42 as answer"  # as the history page or the assistant would
    at.switch_page(PAGE).run()
    assert at.session_state[TEXT] == "select 42 as answer"
    at.button(key="sql_editor_run").click().run()
    assert at.dataframe[0].value["answer"].iloc[0] == 42
    history = [b for b in at.button if (b.key or "").startswith("sql_editor_hist_")]
    assert len(history) == 1 and "select 42 as answer" in history[0].label
    at.session_state[TEXT] = "something else"
    history[0].click().run()
    assert at.session_state[TEXT] == "select 42 as answer"


def test_save_to_project_new_script_then_new_version(app_db: Any, projects: ProjectManager) -> None:
    at, username = editor(app_db, "analyst")
    claims = app_user(app_db.dsn, username).claims
    project = projects.create_project(claims, f"editor project {uuid.uuid4().hex[:6]}")
    at.run()
    at.session_state[TEXT] = "select 1 as first_version"
    at.selectbox(key="sql_editor_save_project").set_value(str(project.id))
    at.text_input(key="sql_editor_save_name").input("from the editor")
    at.button(key="sql_editor_save_new").click().run()
    assert not at.exception, at.exception
    assert "Saved as from the editor (version 1)" in texts(at)
    (script,) = projects.list_scripts(claims, project.id)
    assert script.sql == "select 1 as first_version" and script.version == 1

    at.session_state[TEXT] = "select 2 as second_version"
    at.radio(key="sql_editor_save_mode").set_value("New version of a script").run()
    at.selectbox(key="sql_editor_save_script").set_value(str(script.id))
    at.button(key="sql_editor_save_version").click().run()
    assert not at.exception, at.exception
    assert "as version 2" in texts(at)
    assert projects.get_script(claims, script.id).sql == "select 2 as second_version"


def test_index_advice_names_the_missing_index_and_says_it_is_unproven_without_hypopg(app_db: Any) -> None:
    at, _ = editor(app_db, "dba")
    run_sql(at, "select * from public.order_items where product_id = 7", button="sql_editor_index_advice")
    shown = texts(at)
    # the demo's deliberate foreign key without an index, and the honest note (hypopg is not in the demo)
    assert "Unproven" in shown and "CREATE EXTENSION hypopg" in shown
    assert any("order_items" in c.value and "product_id" in c.value for c in at.code)
    at.button(key=next(b.key for b in at.button if (b.key or "").endswith("_use_0"))).click().run()
    assert at.session_state[TEXT].startswith("CREATE INDEX CONCURRENTLY")
    assert "product_id" in at.session_state[TEXT]


def test_index_advice_is_for_dbas(app_db: Any) -> None:
    at, _ = editor(app_db, "analyst")
    assert at.button(key="sql_editor_index_advice").disabled
