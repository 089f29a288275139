"""Evaluate the offline assistant on public / hand-written schemas: answers compared by result set (issue 14).

Each schema lives in ``tests/eval/<name>/``: ``schema.sql`` (DDL + deterministic data) and ``questions.jsonl``
(one question per line and language, with the reference SQL written before looking at any answer). For every
schema the script loads it into a scratch database, asks every question through the same ``GeminiAssistant`` the pages
and the CLI use (offline, in process), runs the first SQL the answer proposes read-only with a timeout, and
compares it with the reference:

* ``rows``     the multisets of rows match (numeric tolerance, column names ignored; the answer may carry extra
               columns, every reference column must be found in it); with ``ordered`` the order of the reference's
               last column (the sort key) must match too. A list of entities may name ``alt_sql`` references (the
               same rows identified by their key instead of their label): matching any one is right;
* ``scalar``   the answer returns one row holding the reference's single value;
* ``tables``   describe / find: the answer's first table is the expected one; join: every expected table is in the
               proposed SQL (the path), or in the answer's first tables when there is no SQL;
* ``mentions`` "why does this fail": the answer's text names the fix (the real column, table or allowed value, as
               a whole name) and any corrected SQL it proposes passes its check.

recall@5 is the share of ``expected_tables`` among the answer's first five context tables, averaged per question.

    .venv/bin/python bench/assistant_eval.py                    # throwaway server, every schema, summary table
    .venv/bin/python bench/assistant_eval.py --verbose          # + every wrong answer: question, SQL, why
    .venv/bin/python bench/assistant_eval.py --json             # one JSON document (per-question results)
    .venv/bin/python bench/assistant_eval.py --dsn "host=... user=postgres" --schema energia

``--dsn`` takes a superuser DSN of an existing server: scratch databases ``assistant_eval_<schema>`` are
(re)created on it and dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import logging
import math
import re
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, redirect_stdout
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql as pgsql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: the package sits next to bench/
    sys.path.insert(0, str(ROOT))

EVAL_DIR = ROOT / "tests" / "eval"
INTENTS = ("describe", "find", "join", "count", "aggregate", "top_n", "filter", "anti_join", "latest", "error")
COMPARES = ("rows", "scalar", "tables", "mentions")
LANGS = ("en", "pt")
TARGET_RIGHT = 0.80
TARGET_RECALL = 0.90
MAX_ROWS = 10_000

__all__ = [
    "Question",
    "Result",
    "compare_results",
    "evaluate_schema",
    "load_questions",
    "load_schema",
    "main",
    "run_read_only",
    "schema_names",
    "summarize",
]


# --------------------------------------------------------------------------------------------------
# Questions and schemas
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    id: str
    lang: str
    question: str
    intent: str
    reference_sql: str
    expected_tables: tuple[str, ...]
    compare: str
    ordered: bool = False
    mentions: tuple[str, ...] = ()
    alt_sql: tuple[str, ...] = ()  # other equally right forms, e.g. the entity's key instead of its label


def schema_names(eval_dir: Path = EVAL_DIR) -> list[str]:
    return sorted(
        p.name for p in eval_dir.iterdir() if (p / "schema.sql").is_file() and (p / "questions.jsonl").is_file()
    )


def load_questions(name: str, eval_dir: Path = EVAL_DIR) -> list[Question]:
    """The schema's questions; a malformed line is an error (the evaluation must be sound before it counts)."""
    out = []
    path = eval_dir / name / "questions.jsonl"
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        raw = json.loads(line)
        q = Question(
            id=raw["id"],
            lang=raw["lang"],
            question=raw["question"],
            intent=raw["intent"],
            reference_sql=raw["reference_sql"],
            expected_tables=tuple(raw["expected_tables"]),
            compare=raw["compare"],
            ordered=bool(raw.get("ordered", False)),
            mentions=tuple(raw.get("mentions", ())),
            alt_sql=tuple(raw.get("alt_sql", ())),
        )
        problems = [
            f"lang {q.lang!r}" if q.lang not in LANGS else "",
            f"intent {q.intent!r}" if q.intent not in INTENTS else "",
            f"compare {q.compare!r}" if q.compare not in COMPARES else "",
            "no expected_tables" if not q.expected_tables else "",
            "unqualified expected table" if any("." not in t for t in q.expected_tables) else "",
            "mentions without words" if q.compare == "mentions" and not q.mentions else "",
        ]
        bad = [p for p in problems if p]
        if bad:
            raise ValueError(f"{path}:{n}: {', '.join(bad)}")
        out.append(q)
    return out


def _dsn_for(dsn: str, dbname: str) -> str:
    params = conninfo_to_dict(dsn)
    params["dbname"] = dbname
    return make_conninfo("", **{k: str(v) for k, v in params.items() if v is not None})


def load_schema(dsn: str, name: str, eval_dir: Path = EVAL_DIR) -> None:
    """Run ``schema.sql`` on the (empty) database of ``dsn``, in one transaction, then ANALYZE it.

    A database in use has statistics (autovacuum analyzes a loaded table within a minute); the assistant reads
    them (pg_stats' common values) and must be judged on a database as it is used, not in the minute after a load.
    """
    text = (eval_dir / name / "schema.sql").read_text(encoding="utf-8")
    with psycopg.connect(dsn) as conn:
        # The script is ours (a file in the repo); several statements in one simple-protocol Query.
        conn.execute(text.encode())
        conn.commit()
        conn.execute("SELECT pg_catalog.pg_stat_force_next_flush()")
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE")


@contextmanager
def scratch_database(admin_dsn: str, name: str, *, keep: bool = False) -> Iterator[str]:
    """(Re)create ``name`` on the server of ``admin_dsn``; yield its DSN; drop it at the end unless ``keep``."""
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(name)))
        admin.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name)))
    try:
        yield _dsn_for(admin_dsn, name)
    finally:
        if not keep:
            with psycopg.connect(admin_dsn, autocommit=True) as admin:
                admin.execute(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(name)))


# --------------------------------------------------------------------------------------------------
# Running SQL and comparing results
# --------------------------------------------------------------------------------------------------


def run_read_only(dsn: str, sql_text: str, *, timeout_ms: int = 5000) -> list[tuple[Any, ...]]:
    """Rows of one statement, in a READ ONLY transaction with a statement timeout (always rolled back)."""
    with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction(force_rollback=True):
        conn.execute("SET TRANSACTION READ ONLY")
        conn.execute(pgsql.SQL("SET LOCAL statement_timeout = {}").format(pgsql.Literal(int(timeout_ms))))
        cur = conn.execute(sql_text.encode())
        if cur.description is None:
            return []
        return [tuple(r) for r in cur.fetchmany(MAX_ROWS)]


def _norm(value: Any) -> Any:
    """A value in a comparable form: numbers as float, instants in UTC, dates at midnight as dates."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return str(value).strip()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=5e-4, abs_tol=0.006)
    return bool(a == b)


def _sort_key(value: Any) -> tuple[int, Any]:
    """Sorts mixed values; numbers rounded to 2 decimals (the tolerance is 0.006), so tolerance-equal numbers sort
    together while 5.75 and 5.80 do not tie (rounding to 1 decimal paired such rows up wrongly)."""
    if value is None:
        return (0, "")
    if isinstance(value, float):
        return (1, round(value, 2))
    return (2, str(value))


def _same_multiset(a: Sequence[tuple[Any, ...]], b: Sequence[tuple[Any, ...]]) -> bool:
    if len(a) != len(b):
        return False
    sa = sorted(a, key=lambda r: tuple(_sort_key(v) for v in r))
    sb = sorted(b, key=lambda r: tuple(_sort_key(v) for v in r))
    return all(all(_same(x, y) for x, y in zip(ra, rb, strict=True)) for ra, rb in zip(sa, sb, strict=True))


def compare_results(
    reference: Sequence[Sequence[Any]], answer: Sequence[Sequence[Any]], *, compare: str, ordered: bool = False
) -> tuple[bool, str]:
    """(right, why): the answer's rows against the reference's, as described in the module docstring."""
    ref = [tuple(_norm(v) for v in r) for r in reference]
    got = [tuple(_norm(v) for v in r) for r in answer]
    if compare == "scalar":
        if len(ref) != 1 or len(ref[0]) != 1:
            return False, "reference is not a single value"
        want = ref[0][0]
        if len(got) != 1:
            return False, f"expected one row holding {want!r}, got {len(got)} rows"
        if any(_same(v, want) for v in got[0]):
            return True, "same value"
        return False, f"expected {want!r}, got {got[0][:4]!r}"
    if len(got) != len(ref):
        return False, f"expected {len(ref)} rows, got {len(got)}"
    if not ref:
        return True, "both empty"
    width_ref, width_got = len(ref[0]), len(got[0]) if got else 0
    if width_got < width_ref:
        return False, f"expected at least {width_ref} columns, got {width_got}"
    # Candidate answer columns for each reference column: same multiset of values.
    candidates: list[list[int]] = []
    for j in range(width_ref):
        col_ref = [(r[j],) for r in ref]
        cands = [c for c in range(width_got) if _same_multiset(col_ref, [(r[c],) for r in got])]
        if not cands:
            sample = [r[j] for r in ref[:3]]
            return False, f"no column of the answer holds the reference's column {j + 1} (e.g. {sample!r})"
        candidates.append(cands)
    for mapping in itertools.islice(itertools.product(*candidates), 5000):
        if len(set(mapping)) != len(mapping):
            continue
        projected = [tuple(r[c] for c in mapping) for r in got]
        if not _same_multiset(ref, projected):
            continue
        if ordered:
            key = mapping[-1]
            if not all(_same(r[-1], g[key]) for r, g in zip(ref, got, strict=True)):
                return False, "right rows in the wrong order"
        return True, "same rows"
    return False, "every column is there but the rows pair up differently"


# --------------------------------------------------------------------------------------------------
# Asking
# --------------------------------------------------------------------------------------------------


@dataclass
class Result:
    schema: str
    id: str
    lang: str
    intent: str
    compare: str
    question: str
    right: bool
    why: str
    recall5: float
    answer_intent: str | None = None
    context_tables: list[str] = field(default_factory=list)
    sql: str | None = None
    sql_valid: bool | None = None
    answer_text: str = ""


def _expected_in_sql(index: Any, sql_text: str | None, expected: Sequence[str]) -> bool:
    from dba_admin.assistant.offline import tables_in_sql

    if not sql_text:
        return False
    found = {t.qualified_name for t in tables_in_sql(index, sql_text)}
    return set(expected) <= found


def _judge(
    q: Question, answer: Any, index: Any, dsn: str, references: list[list[tuple[Any, ...]]], timeout_ms: int
) -> tuple[bool, str, str | None, bool | None]:
    """(right, why, the SQL judged, was it valid) for one answer."""
    first = answer.sql_blocks[0] if answer.sql_blocks else None
    sql_text = first.sql if first else None
    valid = first.valid if first else None
    tables = list(answer.context_tables)
    if q.compare == "tables":
        if q.intent == "join":
            if sql_text and not valid:
                return False, f"the join SQL fails its check: {first.error if first else ''}", sql_text, valid
            if sql_text and _expected_in_sql(index, sql_text, q.expected_tables):
                return True, "the SQL joins every expected table", sql_text, valid
            if not sql_text and set(q.expected_tables) <= set(tables[: len(q.expected_tables)]):
                return True, "the expected tables lead the answer", sql_text, valid
            return (
                False,
                f"expected the path over {list(q.expected_tables)}; answer tables {tables[:5]}",
                sql_text,
                valid,
            )
        if tables and tables[0] == q.expected_tables[0]:
            return True, "first table is the expected one", sql_text, valid
        return False, f"expected {q.expected_tables[0]} first; answer tables {tables[:5]}", sql_text, valid
    if q.compare == "mentions":
        # whole names only: "public.track" must not be found inside the wrong "public.tracks" echoed back
        missing = [
            m
            for m in q.mentions
            if not re.search(r"(?<![\w])" + re.escape(m) + r"(?![\w])", answer.text, re.IGNORECASE)
        ]
        if missing:
            return False, f"the answer does not mention {missing}", sql_text, valid
        if sql_text and not valid:
            return (
                False,
                f"names the fix but its corrected SQL fails its check: {first.error if first else ''}",
                sql_text,
                valid,
            )
        return True, "names the fix", sql_text, valid
    if first is None:
        return False, f"no SQL proposed (answer intent {answer.intent}; tables {tables[:3]})", None, None
    if not first.valid:
        return False, f"proposed SQL fails its check: {first.error}", sql_text, valid
    try:
        got = run_read_only(dsn, first.sql, timeout_ms=timeout_ms)
    except psycopg.Error as exc:
        return False, f"proposed SQL failed when run: {str(exc).strip().splitlines()[0]}", sql_text, valid
    verdicts = [compare_results(ref, got, compare=q.compare, ordered=q.ordered) for ref in references]
    right = any(ok for ok, _ in verdicts)
    why = next((w for ok, w in verdicts if ok), verdicts[0][1])  # the main reference's reason when all fail
    return right, why, sql_text, valid


def evaluate_schema(
    name: str,
    dsn: str,
    questions: Sequence[Question],
    *,
    timeout_ms: int = 5000,
    readonly_dsn: str | None = None,
) -> list[Result]:
    """Ask every question offline on the database of ``dsn`` (already loaded) and judge the answers."""
    from dba_admin.assistant.assistant import GeminiAssistant
    from dba_admin.assistant.cli import cli_claims
    from dba_admin.config import Settings
    from dba_admin.database import DatabaseManager

    # The scratch database has none of the app's tables: storing each turn fails (said in the answer's notice).
    logging.getLogger("dba_admin.assistant.assistant").setLevel(logging.ERROR)
    settings = Settings(data_dir=Path(tempfile.gettempdir()) / "dba-admin-assistant-eval", gemini_api_key=None)
    claims = cli_claims(f"eval-{uuid.uuid4().hex[:8]}@eval.local")
    results = []
    db = DatabaseManager(settings, dsn, readonly_dsn or dsn, name=f"eval_{name}", workspace=None)
    try:
        assistant = GeminiAssistant(db, settings, provider=None)
        index = assistant.index()
        for q in questions:
            references = [run_read_only(dsn, s, timeout_ms=timeout_ms) for s in (q.reference_sql, *q.alt_sql)]
            answer = assistant.ask(claims, q.question, offline=True)
            tables = list(answer.context_tables)
            recall = len(set(q.expected_tables) & set(tables[:5])) / len(q.expected_tables)
            right, why, sql_text, valid = _judge(q, answer, index, dsn, references, timeout_ms)
            results.append(
                Result(
                    schema=name,
                    id=q.id,
                    lang=q.lang,
                    intent=q.intent,
                    compare=q.compare,
                    question=q.question,
                    right=right,
                    why=why,
                    recall5=recall,
                    answer_intent=answer.intent,
                    context_tables=tables,
                    sql=sql_text,
                    sql_valid=valid,
                    answer_text=answer.text,
                )
            )
    finally:
        db.close()
    return results


# --------------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------------


def summarize(results: Sequence[Result]) -> dict[str, Any]:
    """Figures per schema, per schema x language, per schema x intent x language, and the issue's verdict."""

    def share(rs: Sequence[Result]) -> dict[str, Any]:
        right = sum(r.right for r in rs)
        return {
            "right": right,
            "total": len(rs),
            "rate": round(right / len(rs), 3) if rs else None,
            "recall5": round(sum(r.recall5 for r in rs) / len(rs), 3) if rs else None,
        }

    schemas = sorted({r.schema for r in results})
    out: dict[str, Any] = {"schemas": {}, "meets_bar": True}
    for s in schemas:
        rs = [r for r in results if r.schema == s]
        entry: dict[str, Any] = {"all": share(rs), "by_lang": {}, "by_intent": {}}
        for lang in LANGS:
            entry["by_lang"][lang] = share([r for r in rs if r.lang == lang])
        for intent in INTENTS:
            entry["by_intent"][intent] = {
                lang: share([r for r in rs if r.intent == intent and r.lang == lang]) for lang in LANGS
            }
        # "confidently wrong": a checked, valid SQL that computes something else (the honesty problem)
        entry["valid_but_wrong"] = sum(1 for r in rs if not r.right and r.sql_valid and r.compare in ("rows", "scalar"))
        entry["no_sql"] = sum(1 for r in rs if not r.right and r.sql is None and r.compare in ("rows", "scalar"))
        ok = (
            all(
                (entry["by_lang"][lang]["rate"] or 0) >= TARGET_RIGHT
                for lang in LANGS
                if entry["by_lang"][lang]["total"]
            )
            and (entry["all"]["rate"] or 0) >= TARGET_RIGHT
            and (entry["all"]["recall5"] or 0) >= TARGET_RECALL
        )
        entry["meets_bar"] = ok
        out["meets_bar"] = out["meets_bar"] and ok
        out["schemas"][s] = entry
    return out


def render_table(summary: dict[str, Any]) -> str:
    schemas = list(summary["schemas"])
    header = ["intent"] + [f"{s} {lang}" for s in schemas for lang in LANGS]
    rows = []
    for intent in INTENTS:
        cells = [intent]
        for s in schemas:
            for lang in LANGS:
                c = summary["schemas"][s]["by_intent"][intent][lang]
                cells.append(f"{c['right']}/{c['total']}" if c["total"] else "-")
        rows.append(cells)
    total = ["right"]
    recall = ["recall@5"]
    for s in schemas:
        for lang in LANGS:
            c = summary["schemas"][s]["by_lang"][lang]
            total.append(f"{c['right']}/{c['total']} ({100 * (c['rate'] or 0):.0f} %)")
            recall.append(f"{c['recall5']:.3f}" if c["recall5"] is not None else "-")
    rows += [total, recall]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    lines = [line, sep, *body, ""]
    for s in schemas:
        e = summary["schemas"][s]
        a = e["all"]
        lines.append(
            f"{s}: {a['right']}/{a['total']} right ({100 * (a['rate'] or 0):.0f} %), recall@5 {a['recall5']:.3f}; "
            f"valid SQL with a wrong result: {e['valid_but_wrong']}, no SQL: {e['no_sql']}; "
            f"bar (>= {TARGET_RIGHT:.0%} per language, recall@5 >= {TARGET_RECALL}): "
            + ("met" if e["meets_bar"] else "NOT met")
        )
    return "\n".join(lines)


def render_wrong(results: Sequence[Result]) -> str:
    lines = []
    for r in results:
        if r.right:
            continue
        lines.append(f"- [{r.id}] ({r.intent}, answered as {r.answer_intent}) {r.question}")
        lines.append(f"    why wrong: {r.why}")
        if r.sql:
            lines.append("    SQL: " + " ".join(r.sql.split())[:300])
        lines.append(f"    tables: {', '.join(r.context_tables[:5])}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------


@contextmanager
def _server(dsn: str | None) -> Iterator[str]:
    if dsn:
        yield dsn
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from benchlib import throwaway_server

    with ExitStack() as stack:
        with redirect_stdout(sys.stderr):  # its "started ..." line must not break --json on stdout
            _data_dir, admin_dsn = stack.enter_context(throwaway_server("dba-admin-assistant-eval-", fast=True))
        yield admin_dsn


def run(
    admin_dsn: str,
    names: Sequence[str],
    *,
    keep: bool = False,
    timeout_ms: int = 5000,
    ids: str | None = None,
    eval_dir: Path = EVAL_DIR,
) -> list[Result]:
    results: list[Result] = []
    for name in names:
        questions = [q for q in load_questions(name, eval_dir) if not ids or re.search(ids, q.id)]
        with scratch_database(admin_dsn, f"assistant_eval_{name}", keep=keep) as dsn:
            load_schema(dsn, name, eval_dir)
            results += evaluate_schema(name, dsn, questions, timeout_ms=timeout_ms)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Evaluate the offline assistant on the schemas of tests/eval/ (answers compared by result set).",
    )
    parser.add_argument("--dsn", help="superuser DSN of an existing server (default: start a throwaway one)")
    parser.add_argument(
        "--eval-dir",
        type=Path,
        default=EVAL_DIR,
        help="folder of <schema>/schema.sql + questions.jsonl (default tests/eval; bench/heldout holds the "
        "held-out schemas written by people who never read the assistant's code)",
    )
    parser.add_argument(
        "--schema",
        action="append",
        dest="schemas",
        help=f"schema to evaluate (repeatable; default all of --eval-dir: {', '.join(schema_names())} in tests/eval)",
    )
    parser.add_argument("--only", dest="ids", help="regular expression on question ids (e.g. 'energia-1[0-9]')")
    parser.add_argument(
        "--timeout-ms", type=int, default=5000, help="statement timeout for each SQL run (default 5000)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases (with --dsn)")
    parser.add_argument("--json", action="store_true", help="one JSON document: summary and per-question results")
    parser.add_argument("--verbose", "-v", action="store_true", help="list every wrong answer with its SQL and why")
    parser.add_argument("--check", action="store_true", help="exit 1 when a schema misses the issue's bar")
    args = parser.parse_args(argv)
    available = schema_names(args.eval_dir)
    names = args.schemas or available
    unknown = sorted(set(names) - set(available))
    if unknown:
        parser.error(f"unknown schema(s) in {args.eval_dir}: {', '.join(unknown)}")
    with _server(args.dsn) as admin_dsn:
        results = run(
            admin_dsn, names, keep=args.keep, timeout_ms=args.timeout_ms, ids=args.ids, eval_dir=args.eval_dir
        )
    summary = summarize(results)
    if args.json:
        print(
            json.dumps(
                {"summary": summary, "results": [asdict(r) for r in results]}, ensure_ascii=False, indent=1, default=str
            )
        )
    else:
        print(render_table(summary))
        if args.verbose:
            print("\nWrong answers:")
            print(render_wrong(results))
    return 1 if args.check and not summary["meets_bar"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
