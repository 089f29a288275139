"""The embedded demo's made-up month of history (dba_admin/demo_history.py) on a workspace of its own.

The suite's shared workspace never gets it (conftest turns DBA_ADMIN_DEMO_HISTORY off: many tests expect empty
states), so this module makes a scratch workspace database on the suite's server, prepared by the app's own bootstrap
(as a DATABASE_URL workspace, which must NOT seed), then seeds it: the runs span the month with errors and both
origins, a second seed adds nothing, the demo people cannot log in, row-level security still hides everything from an
unrelated analyst, nothing reached the audit log, and the Usage, My history and Projects pages render for an admin.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from apptest_helpers import claims_of, logged_in_page, make_user, texts
from conftest import with_dbname
from cryptography.fernet import Fernet
from psycopg import sql

from dba_admin import demo_history
from dba_admin.auth import UserStore
from dba_admin.bootstrap import prepare_database
from dba_admin.config import Settings, load_settings
from dba_admin.errors import AuthError
from dba_admin.rls import UserClaims, user_transaction

DEMO = "demo-history"


@dataclass(frozen=True)
class Seeded:
    dsn: str
    authenticator_dsn: str
    key: str
    data_dir: Path
    now: dt.datetime
    report: demo_history.SeedReport
    audit_before: int
    audit_after: int


def scalar(dsn: str, query: str, *params: Any) -> Any:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


@pytest.fixture(scope="module")
def seeded(app_db: Any, pg_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """A scratch workspace, prepared by the bootstrap as a DATABASE_URL workspace (history setting on), then seeded."""
    name = f"demohist_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    dsn = with_dbname(pg_server.dsn, name)
    # Roles are cluster-wide: the suite's authenticator login, on this database.
    authenticator = with_dbname(app_db.authenticator_dsn, name)
    key = Fernet.generate_key().decode()
    data_dir = tmp_path_factory.mktemp("demohist")
    try:
        settings = Settings(
            database_url=dsn,
            secrets_key=key,
            authenticator_database_url=authenticator,
            data_dir=data_dir,
            load_demo=True,
            demo_history=True,
        )
        prepare_database(settings)
        assert scalar(dsn, "select count(*) from dba_admin.settings where key = %s", demo_history.SETTING_KEY) == 0, (
            "a DATABASE_URL workspace never gets the made-up history"
        )
        now = dt.datetime.now(dt.UTC)
        audit_before = scalar(dsn, "select count(*) from dba_admin.audit_log")
        with psycopg.connect(dsn, autocommit=True) as conn:
            report = demo_history.seed_demo_history(conn, now=now)
        audit_after = scalar(dsn, "select count(*) from dba_admin.audit_log")
        yield Seeded(dsn, authenticator, key, data_dir, now, report, audit_before, audit_after)
    finally:
        with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def test_the_setting_reads_the_environment_and_defaults_on() -> None:
    assert Settings().demo_history is True
    assert load_settings(env={"DBA_ADMIN_DEMO_HISTORY": "0"}, secrets={}).demo_history is False
    assert load_settings(env={}, secrets={}).demo_history is True


def test_runs_cover_a_month_with_errors_long_tails_and_both_origins(seeded: Seeded) -> None:
    assert seeded.report.seeded and seeded.report.runs > 100
    with psycopg.connect(seeded.dsn) as conn:
        rows = conn.execute(
            "select status, sqlstate, erro, origem, banco, started_at, finished_at, duracao_ms, linhas, executado_por"
            " from public.execucoes_scripts where app_instance = %s",
            (DEMO,),
        ).fetchall()
        total = conn.execute("select count(*) from public.execucoes_scripts").fetchone()
    assert total == (len(rows),) == (seeded.report.runs,), "every run is marked as the demo's"
    days = {r[5].date() for r in rows}
    assert len(days) >= 20
    assert min(r[5] for r in rows) >= seeded.now - dt.timedelta(days=demo_history.DAYS + 1)
    assert max(r[6] for r in rows) < seeded.now + dt.timedelta(seconds=30)
    assert {r[3] for r in rows} == {"interactive", "scheduled"}
    assert sum(r[3] == "scheduled" for r in rows) >= 20
    assert {r[4] for r in rows} == {"demo"}
    failed = [r for r in rows if r[0] in ("error", "timeout")]
    assert 0.03 <= len(failed) / len(rows) <= 0.12
    assert all(r[1] and re.fullmatch(r"[0-9A-Z]{5}", r[1]) and r[2] for r in failed)
    assert {r[1] for r in failed} >= {"42P01", "42703"} or len({r[1] for r in failed}) >= 3
    assert all(r[0] != "running" and r[6] is not None and r[6] >= r[5] for r in rows)
    durations = sorted(float(r[7]) for r in rows if r[0] == "success")
    assert durations[len(durations) * 95 // 100] > 5 * durations[len(durations) // 2], "a long tail"
    assert sum(r[8] for r in rows) > 0
    people = {f"{p.username}@petcare.example" for p in demo_history.PEOPLE}
    assert {r[9] for r in rows} == people


def test_projects_scripts_versions_and_questions_follow_the_rules(seeded: Seeded) -> None:
    with psycopg.connect(seeded.dsn) as conn:
        projects = conn.execute("select nome, created_by, membros from public.projetos_analytics").fetchall()
        scripts = conn.execute(
            "select s.id, s.versao_atual, s.sql, count(v.*), max(v.versao),"
            " bool_and(v.sql = s.sql) filter (where v.versao = s.versao_atual)"
            " from public.scripts_projetos s join public.scripts_projetos_versoes v on v.script_id = s.id"
            " group by s.id"
        ).fetchall()
        # every run of a script names a version of that script whose text it ran
        mismatched = conn.execute(
            "select count(*) from public.execucoes_scripts e where e.script_id is not null and not exists ("
            " select 1 from public.scripts_projetos_versoes v where v.script_id = e.script_id"
            " and v.versao = e.versao and v.sql = e.sql_executado and v.created_at <= e.started_at)"
        ).fetchone()
        questions = conn.execute(
            "select count(*), min(tokens_entrada), min(tokens_saida), count(distinct user_email)"
            " from public.duvidas_analitics_ia"
        ).fetchone()
        users = conn.execute(
            "select username, role, is_active from dba_admin.users where email like '%%@petcare.example'"
        ).fetchall()
    assert len(projects) == len(demo_history.PROJECTS) and all(p[2] for p in projects)
    assert 3 <= len(scripts) <= 5
    assert all(count == last == current and same for _id, current, _sql, count, last, same in scripts)
    assert any(current > 1 for _id, current, *_ in scripts)
    assert mismatched == (0,)
    assert questions is not None and questions[0] >= 5 and questions[1] > 0 and questions[2] > 0
    assert sorted(users) == sorted((p.username, p.role, False) for p in demo_history.PEOPLE)


def test_nothing_reaches_the_audit_log(seeded: Seeded) -> None:
    assert seeded.audit_after == seeded.audit_before


def test_seeding_twice_adds_nothing(seeded: Seeded) -> None:
    def counts() -> tuple[Any, ...]:
        with psycopg.connect(seeded.dsn) as conn:
            row = conn.execute(
                "select (select count(*) from public.execucoes_scripts), (select count(*) from dba_admin.users),"
                " (select count(*) from public.projetos_analytics),"
                " (select count(*) from public.scripts_projetos_versoes),"
                " (select count(*) from public.duvidas_analitics_ia)"
            ).fetchone()
        assert row is not None
        return tuple(row)

    before = counts()
    with psycopg.connect(seeded.dsn, autocommit=True) as conn:
        again = demo_history.seed_demo_history(conn, now=seeded.now + dt.timedelta(days=3))
    assert not again.seeded and again.reason == "already seeded"
    assert counts() == before


def history_of(dsn: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "select e.started_at, e.executado_por, e.sql_executado, e.status, e.sqlstate, e.linhas, e.duracao_ms,"
            " e.origem, e.versao, s.nome from public.execucoes_scripts e"
            " left join public.scripts_projetos s on s.id = e.script_id order by e.started_at, e.id"
        ).fetchall()


def test_the_same_now_gives_the_same_history(seeded: Seeded, empty_db_dsn: str) -> None:
    from dba_admin.migrations import prepare_schema

    with psycopg.connect(empty_db_dsn, autocommit=True) as conn:
        prepare_schema(conn)
        assert demo_history.seed_demo_history(conn, now=seeded.now).seeded
    assert history_of(empty_db_dsn) == history_of(seeded.dsn)


def test_a_workspace_with_runs_of_its_own_is_left_alone(empty_db_dsn: str) -> None:
    """An existing team's history never gets made-up rows mixed in (remembered, so it is not asked again)."""
    from dba_admin.migrations import prepare_schema

    with psycopg.connect(empty_db_dsn, autocommit=True) as conn:
        prepare_schema(conn)
        conn.execute(
            "insert into public.execucoes_scripts (sql_executado, executado_por, status, finished_at)"
            " values ('select 1', 'someone@example.com', 'success', now())"
        )
        report = demo_history.seed_demo_history(conn, now=dt.datetime.now(dt.UTC))
        users = conn.execute("select count(*) from dba_admin.users").fetchone()
        remembered = conn.execute(
            "select value from dba_admin.settings where key = %s", (demo_history.SETTING_KEY,)
        ).fetchone()
    assert not report.seeded and report.reason == "the workspace already has runs"
    assert users == (0,)
    assert remembered is not None and remembered[0] == {"skipped": "the workspace already has runs"}


@pytest.mark.parametrize("person", demo_history.PEOPLE, ids=lambda p: p.username)
def test_the_demo_people_cannot_log_in(seeded: Seeded, person: demo_history.DemoPerson) -> None:
    with psycopg.connect(seeded.dsn, autocommit=True) as conn:
        store = UserStore(conn)
        assert not store.get(person.username).is_active
        with pytest.raises(AuthError):
            store.authenticate(person.username, "test-password-1")


def visible(seeded: Seeded, claims: UserClaims) -> dict[str, int]:
    """What a user's session sees of the history, under row-level security."""
    seen: dict[str, int] = {}
    with psycopg.connect(seeded.authenticator_dsn) as conn, user_transaction(conn, claims) as cur:
        for table in ("projetos_analytics", "scripts_projetos", "execucoes_scripts", "duvidas_analitics_ia"):
            cur.execute(sql.SQL("select count(*) from public.{}").format(sql.Identifier(table)))
            row = cur.fetchone()
            assert row is not None
            seen[table] = row[0]
    return seen


def test_row_level_security_still_holds(seeded: Seeded) -> None:
    stranger, _ = make_user(seeded.dsn, "analyst")
    assert visible(seeded, claims_of(seeded.dsn, stranger)) == dict.fromkeys(
        ("projetos_analytics", "scripts_projetos", "execucoes_scripts", "duvidas_analitics_ia"), 0
    )
    # a member sees her projects only, and her own questions only
    carla = visible(seeded, claims_of(seeded.dsn, "carla.dias"))
    assert carla["projetos_analytics"] == 1 and carla["scripts_projetos"] == 3
    mine = scalar(
        seeded.dsn, "select count(*) from public.duvidas_analitics_ia where user_email = 'carla.dias@petcare.example'"
    )
    assert carla["duvidas_analitics_ia"] == mine > 0


@pytest.fixture
def app_env(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app under AppTest on the seeded workspace (a DATABASE_URL workspace of its own)."""
    for var in ("READONLY_DATABASE_URL", "DBA_DATABASE_URL", "DBA_ADMIN_CONNECTION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DATABASE_URL", seeded.dsn)
    monkeypatch.setenv("SECRETS_KEY", seeded.key)
    monkeypatch.setenv("AUTHENTICATOR_DATABASE_URL", seeded.authenticator_dsn)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(seeded.data_dir))


def test_the_usage_page_shows_the_demo_month_to_an_admin(app_env: None, seeded: Seeded) -> None:
    at, _ = logged_in_page(seeded.dsn, "pages/usage.py", "admin")
    assert not at.exception, at.exception
    figures = {m.label: m.value for m in at.metric}
    assert int(figures["Queries run"].replace(",", "")) > 50
    assert float(figures["Error rate"].rstrip("%").replace(",", "")) > 0
    assert int(figures["Active users"]) >= 3
    assert len(at.get("plotly_chart")) == 2, "runs per day and active users: the other charts wait in their tabs"
    assert "No runs" not in texts(at)
    at.session_state["usage_tab"] = "Errors and durations"
    at.run()
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) == 2 and "No runs" not in texts(at), "error rate and durations per day"
    for page in ("pages/history.py", "pages/projects.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
