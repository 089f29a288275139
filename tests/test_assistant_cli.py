"""`dba-admin ask` in a terminal: the text output says what --json says (a repaired SQL among it), and --batch answers
a file of questions in one process, one JSON object per line. The database is the suite's real PostgreSQL; Gemini is
the local server speaking its REST API (tests/gemini_stub.py)."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

import pytest
from gemini_stub import MODEL, FakeGemini, Scripted

from dba_admin.assistant.cli import register
from dba_admin.assistant.schema_index import SchemaIndex
from dba_admin.config import Settings
from dba_admin.errors import ConfigError

BAD_THEN_GOOD = [
    Scripted(text="```sql\nSELECT nome, especie FROM public.pets LIMIT 5;\n```"),
    Scripted(text="Fixed:\n```sql\nSELECT name, species FROM public.pets LIMIT 5;\n```"),
]


@pytest.fixture(autouse=True)
def cli_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)


def ask(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["ask", *argv])
    code: int = args.func(settings, args)
    return code


def with_gemini(app_db: Any, gemini: FakeGemini) -> Settings:
    return app_db.settings.with_overrides(
        gemini_api_key="k-test", gemini_model=MODEL, gemini_base_url=gemini.url, gemini_timeout_s=10.0
    )


def test_the_text_output_says_when_the_sql_was_repaired(
    app_db: Any, gemini: FakeGemini, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = with_gemini(app_db, gemini)
    gemini.script = list(BAD_THEN_GOOD)
    code = ask(settings, "list pet names and species", "--as", "cli-repair@example.com")
    out = capsys.readouterr().out
    assert code == 0 and len(gemini.requests) == 2
    assert f"[gemini:{MODEL}]" in out
    assert "repaired: the first SQL failed its EXPLAIN check" in out
    assert "-- SQL check (valid)\nSELECT name, species FROM public.pets LIMIT 5" in out

    gemini.script = list(BAD_THEN_GOOD)
    ask(settings, "list pet names and species", "--json", "--as", "cli-repair@example.com")
    assert json.loads(capsys.readouterr().out)["repaired"] is True  # the same fact, both outputs

    gemini.default = Scripted(text="```sql\nSELECT name, species FROM public.pets LIMIT 5;\n```")
    ask(settings, "list pet names and species", "--as", "cli-repair@example.com")
    assert "repaired" not in capsys.readouterr().out  # said only when it happened


def test_batch_json_answers_every_line_in_one_process(
    app_db: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    builds: list[int] = []
    original = SchemaIndex.from_connection.__func__  # type: ignore[attr-defined]

    def counting(cls: type[SchemaIndex], *args: Any, **kwargs: Any) -> SchemaIndex:
        builds.append(1)
        index: SchemaIndex = original(cls, *args, **kwargs)
        return index

    monkeypatch.setattr(SchemaIndex, "from_connection", classmethod(counting))
    questions = tmp_path / "questions.txt"
    questions.write_text(
        "which table holds the pets?\n"
        "\n"
        "em qual tabela está o endereço do tutor?\n"
        "how do I join pets and payments?\n"
        "explain this query: select * from public.orders where status = 'paid'\n",
        encoding="utf-8",
    )
    code = ask(app_db.settings, "--batch", str(questions), "--offline", "--json", "--as", "cli-batch@example.com")
    lines = capsys.readouterr().out.splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["line"] for r in records] == [1, 3, 4, 5]  # one object per question, blank lines skipped, in order
    assert records[1]["question"] == "em qual tabela está o endereço do tutor?"
    for record in records:
        assert {"answer", "intent", "context_tables", "sql", "mode"} <= set(record)
        assert record["answer"].strip() and record["intent"] and record["mode"] == "offline"
        for check in record["sql"]:
            assert {"sql", "valid", "status", "error"} <= set(check)
    assert "public.pets" in records[0]["context_tables"]
    assert "public.tutors" in records[1]["context_tables"]
    assert records[2]["sql"] and records[2]["sql"][0]["valid"] is True
    assert records[3]["intent"] == "explain" and "public.orders" in records[3]["context_tables"]
    assert len({r["conversation_id"] for r in records}) == 4  # independent questions
    assert builds == [1]  # the schema index is built once for the whole batch
    invalid = any(c["status"] == "invalid" for r in records for c in r["sql"])
    assert code == (1 if invalid else 0)


def test_batch_from_standard_input_as_text_and_its_arguments(
    app_db: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("which table holds the pets?\nonde fica o telefone do cliente?\n"))
    ask(app_db.settings, "--batch", "-", "--offline", "--as", "cli-batch@example.com")
    out = capsys.readouterr().out
    assert "=== 1: which table holds the pets?" in out and "=== 2: onde fica o telefone do cliente?" in out
    assert out.count("[offline]") == 2 and "public.user_profiles" in out

    with pytest.raises(ConfigError, match="either a question or --batch"):
        ask(app_db.settings, "a question", "--batch", "-")
    with pytest.raises(ConfigError, match="needs a question"):
        ask(app_db.settings, "--offline")
    with pytest.raises(ConfigError, match="cannot read the questions file"):
        ask(app_db.settings, "--batch", "/nonexistent/questions.txt", "--offline")


def test_batch_with_gemini_gives_each_question_its_own_answer(
    app_db: Any, gemini: FakeGemini, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gemini.default = Scripted(text="```sql\nSELECT name FROM public.pets LIMIT 5;\n```")
    questions = tmp_path / "q.txt"
    questions.write_text("pet names\nnomes dos pets\n", encoding="utf-8")
    code = ask(with_gemini(app_db, gemini), "--batch", str(questions), "--json", "--as", "cli-batch@example.com")
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0 and len(records) == 2 and len(gemini.requests) == 2
    assert all(r["mode"] == f"gemini:{MODEL}" and r["sql"][0]["valid"] for r in records)
    assert "nomes dos pets" in gemini.request_text(1)
