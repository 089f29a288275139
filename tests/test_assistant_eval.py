"""The assistant's own evaluation (issue 14): two non-PetCare schemas, questions in English and Portuguese, answers
compared by result set with the reference SQL written beforehand (see bench/assistant_eval.py for the rules).

Two kinds of test per schema, each on a database of its own (``empty_db_dsn``):

* the evaluation is sound: the question file is well formed, both languages ask every question, the expected
  tables exist, and every reference SQL runs and returns at least one row;
* the assistant meets the issue's bar offline: >= 80 % right per schema and per language, recall@5 of the
  expected tables >= 0.9. The figures are printed (run with -s) whatever the outcome.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import assistant_eval as ev  # bench/ is not a package: imported by path

SCHEMAS = ev.schema_names()
MIN_QUESTIONS_PER_LANGUAGE = 35


def test_there_are_two_schemas_beside_petcare() -> None:
    assert len(SCHEMAS) >= 2, SCHEMAS
    assert not any("pet" in name.lower() for name in SCHEMAS)


@pytest.mark.parametrize("schema", SCHEMAS)
def test_evaluation_is_sound(schema: str, empty_db_dsn: str) -> None:
    questions = ev.load_questions(schema)
    ids = [q.id for q in questions]
    assert len(ids) == len(set(ids)), "question ids repeat"
    per_lang = Counter(q.lang for q in questions)
    assert per_lang["en"] >= MIN_QUESTIONS_PER_LANGUAGE and per_lang["pt"] >= MIN_QUESTIONS_PER_LANGUAGE, per_lang
    # every question is asked in both languages (ids <base>-en / <base>-pt), with the same reference
    by_base: dict[str, dict[str, ev.Question]] = {}
    for q in questions:
        base, _, lang = q.id.rpartition("-")
        assert lang == q.lang, q.id
        by_base.setdefault(base, {})[lang] = q
    for base, pair in by_base.items():
        assert set(pair) == {"en", "pt"}, base
        assert pair["en"].reference_sql == pair["pt"].reference_sql, base
    # every category of the issue is covered
    assert {q.intent for q in questions} == set(ev.INTENTS)

    ev.load_schema(empty_db_dsn, schema)
    with psycopg.connect(empty_db_dsn) as conn:
        existing = {
            f"{r[0]}.{r[1]}"
            for r in conn.execute(
                "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')"
            )
        }
    for q in questions:
        missing = set(q.expected_tables) - existing
        assert not missing, f"{q.id}: expected tables not in the schema: {missing}"
        rows = ev.run_read_only(empty_db_dsn, q.reference_sql)
        assert rows, f"{q.id}: the reference SQL returns no row"
        if q.compare == "scalar":
            assert len(rows) == 1 and len(rows[0]) == 1, f"{q.id}: a scalar reference returns one value"
        # a reference always matches itself (the comparison is not broken)
        assert ev.compare_results(rows, rows, compare=q.compare if q.compare != "tables" else "rows")[0], q.id
        for alt in q.alt_sql:
            alt_rows = ev.run_read_only(empty_db_dsn, alt)
            assert len(alt_rows) == len(rows), f"{q.id}: an alternative reference returns other rows"


def test_comparison_rules() -> None:
    """Extra columns and column order do not matter; values, row counts and (when asked) the order do."""
    ref = [("Rock", 10), ("Jazz", 5)]
    assert ev.compare_results(ref, [(5, "Jazz", 2), (10, "Rock", 1)], compare="rows")[0]
    assert not ev.compare_results(ref, [("Rock", 10)], compare="rows")[0]
    assert not ev.compare_results(ref, [("Rock", 5), ("Jazz", 10)], compare="rows")[0]
    assert ev.compare_results(ref, [("Rock", 10.0004), ("Jazz", 5)], compare="rows")[0]
    assert not ev.compare_results(ref, [("Jazz", 5), ("Rock", 10)], compare="rows", ordered=True)[0]
    assert ev.compare_results([(42,)], [("total", 42)], compare="scalar")[0]
    assert not ev.compare_results([(42,)], [(42,), (43,)], compare="scalar")[0]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_offline_assistant_meets_the_bar(schema: str, empty_db_dsn: str) -> None:
    ev.load_schema(empty_db_dsn, schema)
    results = ev.evaluate_schema(schema, empty_db_dsn, ev.load_questions(schema))
    summary = ev.summarize(results)
    print(f"\n{ev.render_table(summary)}\n\nWrong answers:\n{ev.render_wrong(results)}")
    entry = summary["schemas"][schema]
    for lang in ev.LANGS:
        figures = entry["by_lang"][lang]
        assert figures["rate"] >= ev.TARGET_RIGHT, f"{schema} {lang}: {figures['right']}/{figures['total']} right"
    assert entry["all"]["recall5"] >= ev.TARGET_RECALL, f"{schema}: recall@5 {entry['all']['recall5']}"
