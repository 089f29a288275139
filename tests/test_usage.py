"""Usage metrics (issue 16, §3): figures computed by the database, checked against the rows they come from.

A known history is made through the app's own paths (ProjectManager runs on the demo database by users of each role,
some failing; projects and scripts created as their users; logins recorded by UserStore; assistant questions written
as the asking user), then the report must give exactly the counts, error rate, p50/p95 (against a Python computation
of the same rows), active users, projects, scripts, questions and tokens - in total, per day, per connection and per
role. A history on past days with gaps (written on the owner connection, the trusted side that writes runs anyway)
checks the days without runs and the time zone. The database refuses the aggregates to a non-admin; the page renders
for an admin (with charts, and its empty state) and refuses others; ``dba-admin usage --json`` prints the same.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from apptest_helpers import claims_of, logged_in_page, make_user, texts
from db_helpers import workspace_manager
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

from dba_admin import usage
from dba_admin.auth import UserStore
from dba_admin.database import DatabaseManager
from dba_admin.errors import PermissionDenied
from dba_admin.projects import ProjectManager
from dba_admin.rls import UserClaims, user_transaction
from dba_admin.usage import UsageQuery

USAGE = "pages/usage.py"
ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], fraction: float) -> float | None:
    """PostgreSQL's percentile_cont: linear interpolation between the closest ranks, position fraction * (n - 1)."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def db_now(dsn: str) -> dt.datetime:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("select clock_timestamp()").fetchone()
    assert row is not None
    return row[0]


@pytest.fixture(scope="module")
def people(app_db: Any) -> dict[str, tuple[str, UserClaims]]:
    """One user per role: (username, claims) by role."""
    found = {}
    for role in ("admin", "dba", "analyst", "viewer"):
        username, _ = make_user(app_db.dsn, role)
        found[role] = (username, claims_of(app_db.dsn, username))
    return found


@pytest.fixture(scope="module")
def workspace(app_db: Any) -> Iterator[DatabaseManager]:
    manager = workspace_manager(app_db)
    yield manager
    manager.close()


def connection_on_demo(app_db: Any, workspace: DatabaseManager, name: str) -> DatabaseManager:
    """A connection named ``name`` on the demo database (its runs are recorded under that name)."""
    return DatabaseManager(
        app_db.settings,
        app_db.demo_dsn,
        app_db.demo_readonly_dsn,
        dba_dsn=app_db.demo_dba_dsn,
        name=name,
        workspace=workspace,
    )


def ask(workspace: DatabaseManager, claims: UserClaims, connection: str, tokens_in: int, tokens_out: int) -> None:
    """An assistant question as the assistant writes it: as the asking user, under RLS."""
    with workspace.user_connection() as conn, user_transaction(conn, claims) as cur:
        cur.execute(
            "insert into public.duvidas_analitics_ia (conversa_id, pergunta, resposta, modelo, tokens_entrada,"
            " tokens_saida, conexao) values (%s, 'which table holds pets?', 'pets', 'offline', %s, %s, %s)",
            (uuid.uuid4(), tokens_in, tokens_out, connection),
        )


# --------------------------------------------------------------------------------------------------------------
# A history made through the app's own paths
# --------------------------------------------------------------------------------------------------------------

# role -> the SQL each user runs (on connection A unless marked B); "1/0" and the missing table fail
RUNS: dict[str, list[tuple[str, str]]] = {
    "admin": [("A", "select 1"), ("B", "select 2")],
    "dba": [("A", "select 1"), ("A", "select 1/0")],
    "analyst": [("A", "select 2"), ("B", "select * from no_such_table_for_usage"), ("B", "select 3")],
    "viewer": [("A", "select 4")],
}
QUESTIONS = {"analyst": [("A", 100, 20), ("B", 50, 10)], "viewer": [("A", 7, 3)]}


@pytest.fixture(scope="module")
def history(app_db: Any, workspace: DatabaseManager, people: dict[str, tuple[str, UserClaims]]) -> dict[str, Any]:
    """The known history, in a window of its own: [start, end) holds nothing but what this fixture did."""
    start = db_now(app_db.dsn)
    names = {"A": f"usage-a-{uuid.uuid4().hex[:6]}", "B": f"usage-b-{uuid.uuid4().hex[:6]}"}
    targets = {key: connection_on_demo(app_db, workspace, name) for key, name in names.items()}
    manager = ProjectManager(workspace)
    run_ids = []
    try:
        for role, runs in RUNS.items():
            claims = people[role][1]
            for key, text in runs:
                outcome = manager.run_adhoc(claims, text, target=targets[key])
                assert outcome.execution is not None
                run_ids.append(outcome.execution.id)
    finally:
        for target in targets.values():
            target.close()
    for role, asked in QUESTIONS.items():
        for key, tokens_in, tokens_out in asked:
            ask(workspace, people[role][1], names[key], tokens_in, tokens_out)
    project = manager.create_project(people["analyst"][1], f"usage {uuid.uuid4().hex[:6]}")
    manager.create_script(people["analyst"][1], project.id, "one", "select 1")
    manager.create_script(people["analyst"][1], project.id, "two", "select 2")
    manager.create_project(people["dba"][1], f"usage {uuid.uuid4().hex[:6]}")
    with psycopg.connect(app_db.dsn, autocommit=True) as conn:
        store = UserStore(conn)
        store.record_success(people["analyst"][0])
        store.record_success(people["admin"][0])
        store.record_success(people["analyst"][0])
    end = db_now(app_db.dsn) + dt.timedelta(milliseconds=1)
    with psycopg.connect(app_db.dsn, row_factory=dict_row) as conn:
        rows = conn.execute(
            "select e.id, e.status, e.duracao_ms::float8 as ms, e.banco, u.role"
            " from public.execucoes_scripts e join dba_admin.users u on u.email = e.executado_por"
            " where e.id = any(%s)",
            (run_ids,),
        ).fetchall()
    return {"start": start, "end": end, "names": names, "rows": rows}


def expected(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The run figures of ``rows``, computed here the way the page explains them."""
    errors = sum(r["status"] in ("error", "timeout") for r in rows)
    finished = sum(r["status"] != "running" for r in rows)
    ok = [r["ms"] for r in rows if r["status"] == "success"]
    return {
        "runs": len(rows),
        "errors": errors,
        "error_rate": errors / finished if finished else None,
        "p50_ms": percentile(ok, 0.5),
        "p95_ms": percentile(ok, 0.95),
    }


def run_figures(figures: usage.UsageFigures | usage.DailyUsage) -> dict[str, Any]:
    return {k: getattr(figures, k) for k in ("runs", "errors", "error_rate", "p50_ms", "p95_ms")}


def test_the_history_gives_exact_figures(
    workspace: DatabaseManager, people: dict[str, tuple[str, UserClaims]], history: dict[str, Any]
) -> None:
    rows = history["rows"]
    assert sorted(r["status"] for r in rows) == ["error", "error"] + ["success"] * 6  # the history is what we meant
    query = UsageQuery(history["start"], history["end"])
    report = usage.report(workspace, people["admin"][1], query)
    t = report.totals
    assert run_figures(t) == pytest.approx(expected(rows))
    assert (t.succeeded, t.cancelled, t.interrupted, t.running) == (6, 0, 0, 0)
    assert t.active_users == 4  # everyone ran something; the askers ran too
    assert (t.questions, t.tokens_in, t.tokens_out, t.tokens) == (3, 157, 33, 190)
    assert (t.logins, t.login_users) == (3, 2)
    assert (t.projects_created, t.scripts_created) == (2, 2)

    # per day: every run falls on one of the window's days, and the days add up to the totals
    assert sum(d.runs for d in report.daily) == 8
    assert sum(d.errors for d in report.daily) == 2
    assert sum(d.questions for d in report.daily) == 3
    assert sum(d.tokens for d in report.daily) == 190
    busiest = max(report.daily, key=lambda d: d.runs)
    if busiest.runs == 8:  # not across midnight: that day's figures are the totals'
        assert run_figures(busiest) == pytest.approx(expected(rows))
        assert busiest.active_users == 4

    # per role: each role's own runs, questions, projects and scripts
    by_role = {f.group: f for f in report.by_role}
    assert set(by_role) == {"admin", "dba", "analyst", "viewer"}
    for role in by_role:
        assert run_figures(by_role[role]) == pytest.approx(expected([r for r in rows if r["role"] == role])), role
    assert by_role["analyst"].questions == 2 and by_role["analyst"].tokens == 180
    assert by_role["viewer"].questions == 1 and by_role["viewer"].tokens == 10
    assert (by_role["analyst"].projects_created, by_role["analyst"].scripts_created) == (1, 2)
    assert (by_role["dba"].projects_created, by_role["dba"].scripts_created) == (1, 0)
    assert (by_role["analyst"].logins, by_role["admin"].logins, by_role["dba"].logins) == (2, 1, 0)
    assert all(f.active_users == 1 for f in by_role.values())

    # per connection: runs and questions; projects, scripts and logins belong to none
    names = history["names"]
    by_connection = {f.group: f for f in report.by_connection}
    assert set(by_connection) == set(names.values())
    for key, name in names.items():
        mine = [r for r in rows if r["banco"] == name]
        assert run_figures(by_connection[name]) == pytest.approx(expected(mine)), key
        assert by_connection[name].projects_created == by_connection[name].logins == 0
    assert (by_connection[names["A"]].questions, by_connection[names["A"]].tokens) == (2, 130)
    assert (by_connection[names["B"]].questions, by_connection[names["B"]].tokens) == (1, 60)
    assert by_connection[names["A"]].active_users == 4  # admin, dba, analyst, viewer ran on A
    assert by_connection[names["B"]].active_users == 2
    per_day_and_connection = {(d.day, d.group): d.runs for d in report.daily_by_connection}
    assert {g for _, g in per_day_and_connection} == set(names.values())
    assert sum(per_day_and_connection.values()) == 8


def test_filters_by_connection_and_role(
    workspace: DatabaseManager, people: dict[str, tuple[str, UserClaims]], history: dict[str, Any]
) -> None:
    rows, names, admin = history["rows"], history["names"], people["admin"][1]
    window = (history["start"], history["end"])

    on_b = usage.report(workspace, admin, UsageQuery(*window, connection=names["B"])).totals
    assert run_figures(on_b) == pytest.approx(expected([r for r in rows if r["banco"] == names["B"]]))
    assert (on_b.questions, on_b.tokens, on_b.active_users) == (1, 60, 2)
    assert on_b.projects_created == 2  # not narrowed by a connection (the page says so)

    analysts = usage.report(workspace, admin, UsageQuery(*window, role="analyst")).totals
    assert run_figures(analysts) == pytest.approx(expected([r for r in rows if r["role"] == "analyst"]))
    assert (analysts.active_users, analysts.questions, analysts.tokens) == (1, 2, 180)
    assert (analysts.projects_created, analysts.scripts_created, analysts.logins) == (1, 2, 2)

    both = usage.report(workspace, admin, UsageQuery(*window, connection=names["A"], role="dba"))
    assert run_figures(both.totals) == pytest.approx(
        expected([r for r in rows if r["banco"] == names["A"] and r["role"] == "dba"])
    )
    assert [f.group for f in both.by_role] == ["dba"]

    nobody = usage.report(workspace, admin, UsageQuery(*window, connection="no-such-connection"))
    assert (nobody.totals.runs, nobody.totals.questions, nobody.has_runs) == (0, 0, False)
    assert nobody.by_connection == []


# --------------------------------------------------------------------------------------------------------------
# Past days with gaps, and the time zone
# --------------------------------------------------------------------------------------------------------------


def test_days_without_runs_are_zeros_and_days_follow_the_time_zone(
    app_db: Any, workspace: DatabaseManager, people: dict[str, tuple[str, UserClaims]]
) -> None:
    """Runs written on the owner connection (the app's trusted side) on days of 2003 nothing else touches."""
    label = f"usage-past-{uuid.uuid4().hex[:6]}"
    analyst, dba = people["analyst"][1].normalized_email, people["dba"][1].normalized_email
    planted = [  # (started_at UTC, who, status, ms)
        ("2003-02-03 10:00", analyst, "success", 10.0),
        ("2003-02-03 11:00", analyst, "success", 30.0),
        ("2003-02-03 12:00", dba, "error", 5.0),
        ("2003-02-03 13:00", dba, "success", 20.0),
        ("2003-02-05 01:30", analyst, "timeout", 900.0),  # 2003-02-04 23:30 in São Paulo (UTC-2 then)
        ("2003-02-05 15:00", analyst, "success", 7.5),
        ("2003-02-07 09:00", dba, "cancelled", 1.0),
    ]
    with psycopg.connect(app_db.dsn) as conn:
        for at, who, status, ms in planted:
            conn.execute(
                "insert into public.execucoes_scripts (sql_executado, executado_por, status, linhas, duracao_ms,"
                " started_at, finished_at, banco) values ('select 1', %s, %s, 1, %s, %s::timestamptz,"
                " %s::timestamptz, %s)",
                (who, status, ms, f"{at}+00", f"{at}+00", label),
            )
    admin = people["admin"][1]
    utc = usage.report(workspace, admin, UsageQuery.between(dt.date(2003, 2, 2), dt.date(2003, 2, 8), connection=label))
    by_day = {d.day: d for d in utc.daily}
    assert list(by_day) == [dt.date(2003, 2, d) for d in range(2, 9)]  # every day, quiet ones included
    assert [by_day[dt.date(2003, 2, d)].runs for d in range(2, 9)] == [0, 4, 0, 2, 0, 1, 0]
    assert by_day[dt.date(2003, 2, 2)].error_rate is None and by_day[dt.date(2003, 2, 2)].p50_ms is None
    assert by_day[dt.date(2003, 2, 3)].error_rate == pytest.approx(1 / 4)
    assert by_day[dt.date(2003, 2, 3)].p50_ms == pytest.approx(percentile([10.0, 30.0, 20.0], 0.5))
    assert by_day[dt.date(2003, 2, 3)].p95_ms == pytest.approx(percentile([10.0, 30.0, 20.0], 0.95))
    assert (by_day[dt.date(2003, 2, 3)].active_users, by_day[dt.date(2003, 2, 5)].active_users) == (2, 1)
    assert by_day[dt.date(2003, 2, 5)].error_rate == pytest.approx(1 / 2)
    assert by_day[dt.date(2003, 2, 7)].error_rate == 0  # cancelled is no error
    assert utc.totals.p95_ms == pytest.approx(percentile([10.0, 30.0, 20.0, 7.5], 0.95))
    assert len(utc.daily_by_connection) == 7  # one group (this label) on every day

    sao_paulo = usage.report(
        workspace,
        admin,
        UsageQuery(
            since=dt.datetime(2003, 2, 2, tzinfo=dt.UTC),
            until=dt.datetime(2003, 2, 9, tzinfo=dt.UTC),
            connection=label,
            tz="America/Sao_Paulo",
        ),
    )
    runs = {d.day: d.runs for d in sao_paulo.daily}
    assert (runs[dt.date(2003, 2, 4)], runs[dt.date(2003, 2, 5)]) == (1, 1)

    analysts_only = usage.report(
        workspace, admin, UsageQuery.between(dt.date(2003, 2, 2), dt.date(2003, 2, 8), connection=label, role="dba")
    )
    assert [d.runs for d in analysts_only.daily] == [0, 2, 0, 0, 0, 1, 0]


def test_the_database_refuses_a_bad_window(app_db: Any) -> None:
    with psycopg.connect(app_db.dsn) as conn:
        for since, until in (("2003-02-09", "2003-02-02"), ("2001-01-01", "2026-01-01")):
            with pytest.raises(pg_errors.InvalidParameterValue):
                conn.execute(
                    "select * from dba_admin.usage_daily(%s::timestamptz, %s::timestamptz, null, null, 'none', 'UTC')",
                    (since, until),
                )
            conn.rollback()
        with pytest.raises(pg_errors.InvalidParameterValue):
            conn.execute("select * from dba_admin.usage_breakdown(now(), now() + interval '1 day', null, null, 'user')")


# --------------------------------------------------------------------------------------------------------------
# Admins only, decided by the database
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["dba", "analyst", "viewer"])
def test_the_database_refuses_the_aggregates_to_a_non_admin(
    app_db: Any, workspace: DatabaseManager, people: dict[str, tuple[str, UserClaims]], role: str
) -> None:
    claims = people[role][1]
    with pytest.raises(PermissionDenied, match="admins only"):
        usage.report(workspace, claims, UsageQuery.last_days(7))
    # the same call made directly, as any client holding this user's JWT could make it
    with psycopg.connect(app_db.authenticator_dsn, autocommit=True) as conn:
        for statement in (
            "select * from dba_admin_api.usage_breakdown(now() - interval '7 days', now(), null, null, 'none')",
            "select * from dba_admin_api.usage_daily(now() - interval '7 days', now(), null, null, 'none', 'UTC')",
            "select * from dba_admin.usage_breakdown(now() - interval '7 days', now(), null, null, 'none')",
        ):
            with pytest.raises(pg_errors.InsufficientPrivilege), user_transaction(conn, claims) as cur:
                cur.execute(statement)


def test_the_read_only_login_cannot_reach_the_aggregates(app_db: Any) -> None:
    """SQL typed by users runs on a read-only login, never a member of authenticated: setting an admin claim there
    gets nothing, even where that login may connect to the workspace's database (the single-database setup)."""
    from dba_admin.local_pg import READONLY_ROLE

    workspace_db = str(conninfo_to_dict(app_db.dsn)["dbname"])
    grant = sql.SQL("grant connect on database {} to {}").format(
        sql.Identifier(workspace_db), sql.Identifier(READONLY_ROLE)
    )
    with psycopg.connect(app_db.dsn, autocommit=True) as owner:
        owner.execute(grant)
        try:
            with psycopg.connect(app_db.server.readonly_dsn(workspace_db), autocommit=True) as conn:
                conn.execute(
                    """select set_config('request.jwt.claims', '{"app_role": "admin", "email": "x@y.z"}', false)"""
                )
                for statement in (
                    "select * from dba_admin_api.usage_breakdown(now() - interval '1 day', now(), null, null, 'none')",
                    "select * from dba_admin.usage_breakdown(now() - interval '1 day', now(), null, null, 'none')",
                ):
                    with pytest.raises(pg_errors.InsufficientPrivilege):
                        conn.execute(statement)
        finally:
            owner.execute(
                sql.SQL("revoke connect on database {} from {}").format(
                    sql.Identifier(workspace_db), sql.Identifier(READONLY_ROLE)
                )
            )


def test_query_bounds_are_checked_before_the_database() -> None:
    with pytest.raises(ValueError, match="after its start"):
        UsageQuery(dt.datetime(2026, 1, 2, tzinfo=dt.UTC), dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(ValueError, match="role"):
        UsageQuery.last_days(7, role="owner")
    with pytest.raises(ValueError, match="days"):
        UsageQuery.last_days(0)
    week = UsageQuery.last_days(7, today=dt.date(2026, 11, 30))
    assert (week.since, week.until) == (
        dt.datetime(2026, 11, 24, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
    )


# --------------------------------------------------------------------------------------------------------------
# The page and the command line
# --------------------------------------------------------------------------------------------------------------


@pytest.fixture
def app_env(app_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))


def test_the_page_renders_the_demo_history(app_env: None, app_db: Any) -> None:
    """Whatever the demo workspace holds (a fresh one: no run yet), the page renders without an exception."""
    at, _ = logged_in_page(app_db.dsn, USAGE, "admin")
    assert not at.exception, at.exception
    shown = texts(at)
    assert "Usage" in shown
    assert at.get("plotly_chart") or "No runs" in shown


def test_the_page_shows_figures_and_charts_for_an_admin(app_env: None, app_db: Any, history: dict[str, Any]) -> None:
    at, _ = logged_in_page(app_db.dsn, USAGE, "admin")
    assert not at.exception, at.exception
    labels = {m.label: m.value for m in at.metric}
    assert {"Queries run", "Error rate", "p50 duration", "p95 duration", "Active users"} <= set(labels)
    assert int(labels["Queries run"].replace(",", "")) >= 8
    tabs = ["Runs per day", "Errors and durations", "Per connection and role", "Assistant"]
    assert [t.label for t in at.tabs] == tabs
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert titles == ["Queries run per day, by connection", "Active users per day"], "the open tab's charts only"
    assert not at.dataframe, "the grids wait for their tab"
    for tab, drawn in (("Errors and durations", 2), ("Per connection and role", 2)):
        at.session_state["usage_tab"] = tab
        at.run()
        assert not at.exception, at.exception
        assert len(at.get("plotly_chart")) == drawn, tab  # only the open tab's charts
    assert len(at.dataframe) == 2, "per connection and per role"
    at.session_state["usage_tab"] = "Runs per day"
    at.run()
    # the filters rerun the page without an exception
    at.selectbox(key="usage_role").select("analyst").run()
    assert not at.exception, at.exception
    assert int({m.label: m.value for m in at.metric}["Queries run"]) >= 3  # the analyst's runs at least
    assert "demo" in at.selectbox(key="usage_connection").options  # the registered connections
    at.selectbox(key="usage_connection").select("demo").run()
    assert not at.exception, at.exception
    at.selectbox(key="usage_window").select(7).run()
    assert not at.exception, at.exception
    # in Portuguese: the same page, its labels from the catalog and its numbers formatted for pt_BR
    at.session_state["ui_locale"] = "pt_BR"
    at.run()
    assert not at.exception, at.exception
    assert {"Consultas executadas", "Taxa de erro", "Usuários ativos"} <= {m.label for m in at.metric}
    assert "Últimos 7 dias" in at.selectbox(key="usage_window").options


def test_the_page_says_when_the_window_has_no_runs(app_env: None, app_db: Any) -> None:
    at, _ = logged_in_page(app_db.dsn, USAGE, "admin")
    at.selectbox(key="usage_window").select(0).run()  # a date range of my own
    at.date_input(key="usage_range").set_value((dt.date(2002, 5, 1), dt.date(2002, 5, 31))).run()
    assert not at.exception, at.exception
    assert "No runs in this window" in texts(at)
    assert not at.get("plotly_chart")


@pytest.mark.parametrize("role", ["dba", "analyst"])
def test_the_page_refuses_a_non_admin(app_env: None, app_db: Any, role: str) -> None:
    at, _ = logged_in_page(app_db.dsn, USAGE, role)
    assert not at.exception, at.exception
    assert "needs the role admin" in texts(at)
    assert not at.metric


def test_cli_prints_the_report_as_json_and_starts_lean(app_env: None, app_db: Any, history: dict[str, Any]) -> None:
    probe = (
        "import sys\nfrom dba_admin.cli import main\n"
        "code = main(['usage', '--json', '--days', '3'])\n"
        "heavy = ('pandas', 'numpy', 'streamlit', 'plotly', 'google.genai', 'pyarrow')\n"
        "print('LOADED', [m for m in heavy if m in sys.modules], file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "LOADED []"
    report = json.loads(done.stdout)
    assert report["totals"]["runs"] >= 8
    assert len(report["daily"]) == 3
    assert {history["names"]["A"], history["names"]["B"]} <= {f["group"] for f in report["by_connection"]}
    assert {"admin", "dba", "analyst", "viewer"} <= {f["group"] for f in report["by_role"]}
    assert {"tokens_in", "tokens_out", "p95_ms", "error_rate"} <= set(report["totals"])


def test_the_cli_prints_a_summary_and_refuses_a_bad_role(
    app_env: None, history: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from dba_admin.cli import main

    assert main(["usage", "--days", "2", "--role", "analyst"]) == 0
    out = capsys.readouterr().out
    assert "last 2 day(s) (role analyst), UTC" in out
    assert f"connection {history['names']['B']}" in out
    assert main(["usage", "--days", "0"]) == 2
    assert "days must be between 1 and" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["usage", "--role", "owner"])
    assert "invalid choice" in capsys.readouterr().err
