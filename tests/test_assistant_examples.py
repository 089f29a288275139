"""The team's saved scripts as the assistant's examples (issue 14, section 2), against the suite's real PostgreSQL.

Scripts are created and run through ProjectManager as real users (RLS in the database decides who reads what);
runs go to connection `demo` through its read-only login and are recorded in the workspace. Gemini is the local
server speaking its REST API (tests/gemini_stub.py) with the real google-genai client.

What a user relies on: only scripts of projects they may read ever appear (in the answer or in the prompt), a script
that works on this connection is preferred over one that fails or never ran here, the scripts come first in the
answer with their SQL, and the Run of an answer is read-only and recorded like the SQL editor's.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from db_helpers import demo_manager, user
from gemini_stub import MODEL, FakeGemini, Scripted

from dba_admin.assistant.assistant import GeminiAssistant
from dba_admin.assistant.examples import (
    examples_prompt_part,
    find_team_scripts,
    lead_with_team_scripts,
    run_checked_sql,
    strip_team_scripts,
)
from dba_admin.assistant.schema_index import estimate_tokens
from dba_admin.database import DatabaseManager
from dba_admin.errors import QueryRefused
from dba_admin.projects import ProjectManager
from dba_admin.rls import UserClaims

QUESTION = "how many pets per species?"


@pytest.fixture(scope="module")
def db(app_db: Any) -> Iterator[DatabaseManager]:
    """Connection `demo` on its monitor login (as the assistant reads catalogs); the workspace behind it."""
    manager = demo_manager(app_db, monitor=True)
    yield manager
    manager.close()


@pytest.fixture(scope="module")
def pm(db: DatabaseManager) -> ProjectManager:
    return ProjectManager(db)


def tag() -> str:
    return uuid.uuid4().hex[:8]


def new_project(pm: ProjectManager, owner: UserClaims, members: tuple[UserClaims, ...] = ()) -> Any:
    return pm.create_project(owner, f"Vet ops {tag()}", members=[m.email for m in members])


def runs_of(app_db: Any, email: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(app_db.dsn) as conn:
        return conn.execute(
            "select status, banco, script_id, sql_executado from public.execucoes_scripts where executado_por = %s"
            " order by id",
            (email,),
        ).fetchall()


def gemini_assistant(db: DatabaseManager, app_db: Any, gemini: FakeGemini, **settings: Any) -> GeminiAssistant:
    s = app_db.settings.with_overrides(gemini_api_key="test-key-not-real", gemini_model=MODEL, **settings)
    return GeminiAssistant(db, s, gemini_base_url=gemini.url, gemini_timeout_s=10.0, sleep=lambda _s: None)


def test_an_analyst_sees_only_scripts_of_projects_they_belong_to(
    db: DatabaseManager, pm: ProjectManager, app_db: Any
) -> None:
    alice, bob, carol = user("alice"), user("bob"), user("carol")
    mine = new_project(pm, alice)
    theirs = new_project(pm, bob, members=(carol,))
    visible = pm.create_script(
        alice, mine.id, "Pets per species", "select species, count(*) from public.pets group by 1"
    )
    hidden_marker = f"hidden_{tag()}"
    hidden = pm.create_script(
        bob,
        theirs.id,
        "Pets per species for the board",
        f"select p.species, count(*) as {hidden_marker} from public.pets p group by p.species",
    )
    index = GeminiAssistant(db, app_db.settings).index()

    found = find_team_scripts(db.workspace, alice, QUESTION, index, "demo", limit=10)
    ids = {s.script_id for s in found}
    assert visible.id in ids
    assert hidden.id not in ids, "a script of a project alice is not in never reaches her"

    # carol is a member of bob's project, not of alice's: the database decides, per user.
    carol_ids = {s.script_id for s in find_team_scripts(db.workspace, carol, QUESTION, index, "demo", limit=10)}
    assert hidden.id in carol_ids and visible.id not in carol_ids

    # A user in no project gets nothing, without an error.
    assert find_team_scripts(db.workspace, user("dave"), QUESTION, index, "demo", limit=10) == []


def test_successful_runs_here_beat_failures_and_no_runs(db: DatabaseManager, pm: ProjectManager) -> None:
    owner = user("ranker")
    project = new_project(pm, owner)
    works = pm.create_script(
        owner, project.id, "Pets by species", "select species, count(*) as pets from public.pets group by species"
    )
    # Plans fine (EXPLAIN), fails when run: division by zero.
    fails = pm.create_script(
        owner,
        project.id,
        "Pets by species (share)",
        "select species, count(*) / (count(*) - count(*)) as pets from public.pets group by species",
    )
    never = pm.create_script(
        owner, project.id, "Species of pets", "select species, count(*) as n from public.pets group by species"
    )
    assert pm.run_script(owner, works.id, target=db).ok
    assert pm.run_script(owner, works.id, target=db).ok
    assert pm.run_script(owner, fails.id, target=db).status == "error"

    index = GeminiAssistant(db, db.settings).index()
    found = find_team_scripts(db.workspace, owner, QUESTION, index, "demo", limit=10)
    order = [s.script_id for s in found]
    assert set(order) == {works.id, fails.id, never.id}
    assert order[0] == works.id, [(s.name, s.score) for s in found]
    assert order.index(never.id) < order.index(fails.id), "a script failing here ranks below one never run"
    best = found[0]
    assert best.successes == 2 and best.failures == 0 and "public.pets" in best.tables
    assert next(s for s in found if s.script_id == fails.id).failures == 1

    # Runs on another connection are not runs here: on a connection of another name, nothing ran yet.
    elsewhere = find_team_scripts(db.workspace, owner, QUESTION, index, "some-other-connection", limit=10)
    assert {s.successes for s in elsewhere} == {0}
    assert next(s for s in elsewhere if s.script_id == works.id).runs_elsewhere == 2


def test_scripts_that_do_not_match_or_are_not_about_this_schema_stay_out(
    db: DatabaseManager, pm: ProjectManager
) -> None:
    owner = user("noise")
    project = new_project(pm, owner)
    unrelated = pm.create_script(owner, project.id, "Invoices overdue", "select 1 as invoices_overdue")
    other_db = pm.create_script(
        owner, project.id, "Pets per species elsewhere", "select species, count(*) from warehouse.pet_facts group by 1"
    )
    writes = pm.create_script(owner, project.id, "Fix pets species", "update public.pets set species = lower(species)")
    index = GeminiAssistant(db, db.settings).index()
    found = {s.script_id for s in find_team_scripts(db.workspace, owner, QUESTION, index, "demo", limit=10)}
    assert unrelated.id not in found, "does not match the question"
    assert other_db.id not in found, "names no table of this connection"
    assert writes.id not in found, "only read statements are examples"


def test_the_answer_shows_the_scripts_first_and_gemini_gets_them_as_examples(
    db: DatabaseManager, pm: ProjectManager, app_db: Any, gemini: FakeGemini
) -> None:
    member, stranger = user("member"), user("stranger")
    project = new_project(pm, member)
    script = pm.create_script(
        member,
        project.id,
        "Pets per species",
        "select p.species, count(*) as pets from public.pets p where p.name <> 'Secret Rex' group by p.species",
    )
    assert pm.run_script(member, script.id, target=db).ok
    secret_marker = f"board_only_{tag()}"
    other = new_project(pm, stranger)
    pm.create_script(
        stranger,
        other.id,
        "Pets per species (board)",
        f"select species, count(*) as {secret_marker} from public.pets group by species",
    )
    gemini.default = Scripted(
        text="Count them per species:\n```sql\nSELECT species, count(*) FROM public.pets GROUP BY species;\n```"
    )
    assistant = gemini_assistant(db, app_db, gemini, assistant_token_budget=2000)
    answer = assistant.ask(member, QUESTION)

    assert answer.mode == f"gemini:{MODEL}"
    assert [t.script_id for t in answer.team_scripts][:1] == [script.id]
    sent = gemini.request_text()
    assert "Pets per species" in sent and "count(*) as pets from public.pets" in sent
    assert "'Secret Rex'" not in sent and "'<value>'" in sent, "literal values are masked in the prompt"
    assert secret_marker not in sent, "a script the user may not read never reaches the prompt"
    assert estimate_tokens(sent) <= 2000, "the examples stay inside the budget"
    # Shown first in the answer, with its SQL, before Gemini's own text.
    assert answer.text.startswith("**From your team's saved scripts**")
    assert f"Your team's script *Pets per species* in project *{project.name}" in answer.text.replace("\\", "")
    assert answer.text.index("'Secret Rex'") < answer.text.index("Count them per species")
    assert secret_marker not in answer.text
    assert [c.sql for c in answer.sql_blocks] == ["SELECT species, count(*) FROM public.pets GROUP BY species"]

    # The next turn's history carries the answer without the scripts' section (their values stay here).
    assistant.ask(member, "and only the dogs?", conversation_id=answer.conversation_id)
    history = gemini.request_text()
    assert "Count them per species" in history
    assert "From your team's saved scripts" not in history and "'Secret Rex'" not in history


def test_the_offline_answer_shows_them_too_in_the_question_language(
    db: DatabaseManager, pm: ProjectManager, app_db: Any
) -> None:
    member = user("offline")
    project = new_project(pm, member)
    script = pm.create_script(
        member, project.id, "Pets per species", "select species, count(*) as pets from public.pets group by species"
    )
    answer = GeminiAssistant(db, app_db.settings).ask(member, "quantos pets por espécie?")
    assert answer.offline
    assert [t.script_id for t in answer.team_scripts] == [script.id]
    assert answer.text.startswith("**Dos scripts salvos da sua equipe**")
    assert "da sua equipe, no projeto" in answer.text and "ainda não rodou" in answer.text
    assert "select species, count(*) as pets from public.pets group by species" in answer.text
    assert answer.to_dict()["team_scripts"][0]["name"] == "Pets per species"


def test_examples_part_is_bounded_and_fenced() -> None:
    from dba_admin.assistant.examples import TeamScript

    big = TeamScript(
        script_id=uuid.uuid4(),
        project_id=uuid.uuid4(),
        project_name="Ops",
        name="Big one",
        sql="select " + ", ".join(f"c{i}" for i in range(3000)) + " from public.pets",
        version=1,
        successes=1,
        failures=0,
        runs_elsewhere=0,
        tables=("public.pets",),
        matched=("pet",),
        relevance=5.0,
        score=5.0,
    )
    part = examples_prompt_part([big, big, big], 300)
    assert estimate_tokens(part) <= 300
    assert "<team-scripts " in part and "Big one" in part
    assert examples_prompt_part([big], 20) == "", "nothing useful fits: no part at all"
    shown = lead_with_team_scripts("The answer.", [big])
    assert shown.endswith("The answer.") and "(cut; the script has the whole text)" in shown
    assert strip_team_scripts(shown) == "The answer."
    assert strip_team_scripts("The answer.") == "The answer."


def test_running_an_answer_is_read_only_recorded_and_refuses_writes(
    db: DatabaseManager, pm: ProjectManager, app_db: Any
) -> None:
    dba = user("runner", role="dba")
    outcome = run_checked_sql(pm, dba, "select species, count(*) as pets from public.pets group by species", db)
    assert outcome.ok and outcome.read_only, "even a DBA's run of an answer is read-only"
    assert len(outcome.results[0].rows.index) >= 1
    assert outcome.execution is not None
    assert runs_of(app_db, dba.email)[-1][:3] == ("success", "demo", None)
    with pytest.raises(QueryRefused):
        run_checked_sql(pm, dba, "delete from public.pets", db)
    with pytest.raises(QueryRefused):
        run_checked_sql(pm, dba, "select 1; select 2", db)
    assert len(runs_of(app_db, dba.email)) == 1, "a refused text is not run"
