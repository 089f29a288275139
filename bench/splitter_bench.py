"""Benchmark: the statement splitter on pathological pasted texts, against plain scans of the same text.

Usage:
    python bench/splitter_bench.py [--sizes 8,16,32,64] [--runs 5] [--sqlparse] [--before OLD_SQL_TEXT.py]

For each pathological input and each size (KB), median CPU time of --runs runs (after one warm-up), side by side:

* ``split+guard``  dba_admin.sql_text.split_statements(text) and is_read_only_escape() of every statement
                   (what DatabaseManager.execute_query does before anything runs)
* ``regex scan``   one re.finditer over the text with a plain token regex (a lower bound: one linear pass)
* ``sqlparse``     sqlparse.split(text), a widely used splitter (with --sqlparse; it is slower and, as
                   sql_text's docstring says, wrong on some PostgreSQL texts; ``err`` when it refuses the text)
* ``before``       split+guard of an older sql_text module given as a file, e.g. from
                   ``git show <commit>:dba_admin/sql_text.py > /tmp/old.py`` (with --before); larger sizes
                   are skipped ("skip") once one call took more than --budget seconds, ``crash`` on an exception

Linear work shows as the time doubling with the size; 64 KB should stay well under a second.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dba_admin import sql_text


def _pad(unit: str, size: int, head: str = "", tail: str = "") -> str:
    return head + unit * max(1, (size - len(head) - len(tail)) // len(unit)) + tail


def _chain_ctes(size: int) -> str:
    parts = ["with c0 as (select 1)"]
    i = 1
    while sum(map(len, parts)) < size - 40:
        parts.append(f", c{i} as (select * from c{i - 1})")
        i += 1
    return "".join(parts) + " select * from c0"


INPUTS: dict[str, Callable[[int], str]] = {
    "(delete nesting": lambda n: _pad("(delete ", n, "with x as (select 1) select "),
    "deep parentheses": lambda n: "select " + "(" * (n // 2 - 4) + "1" + ")" * (n // 2 - 4),
    "many statements": lambda n: _pad("select 1;\n", n),
    "dollar body": lambda n: "select $$" + _pad("x; ", n - 13) + "$$",
    "nested ctes": lambda n: _pad("with a as (", n, "", "select 1"),
    "chained ctes": _chain_ctes,
    "quoted string": lambda n: "select '" + _pad("a''b", n - 9) + "'",
    'U&"..." idents': lambda n: _pad("U&\"!0061\\0062\" uescape '!', ", n, "select ", "1"),
    "explain chain": lambda n: _pad("explain analyze ", n, "", "select 1"),
    "drop list": lambda n: _pad("a, ", n, "drop table ", "b"),
}

_TOKEN_RE = re.compile(r"\s+|--[^\n]*|'(?:[^']|'')*'?|\"(?:[^\"]|\"\")*\"?|[A-Za-z_][A-Za-z0-9_$]*|\d+|.", re.S)


def regex_scan(text: str) -> int:
    return sum(1 for _ in _TOKEN_RE.finditer(text))


def split_and_guard(module: ModuleType) -> Callable[[str], object]:
    def run(text: str) -> object:
        statements = module.split_statements(text)
        for stmt in statements:
            module.is_read_only_escape(stmt)
        return statements

    return run


def load_module(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("sql_text_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def median_cpu(fn: Callable[[str], object], text: str, runs: int, budget: float) -> float | str:
    """Median process CPU seconds of ``runs`` calls after a warm-up; a string when it failed or ran too long."""
    times: list[float] = []
    for k in range(runs + 1):
        start = time.process_time()
        try:
            fn(text)
        except RecursionError:
            return "crash"
        except Exception:  # sqlparse refuses texts past its own limits
            return "err"
        elapsed = time.process_time() - start
        if elapsed > budget:
            return f">{budget:g}s"
        if k:
            times.append(elapsed)
    return statistics.median(times)


def fmt(value: float | str) -> str:
    return f"{value * 1000:9.1f}" if isinstance(value, float) else f"{value:>9}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="8,16,32,64", help="text sizes in KB")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sqlparse", action="store_true", help="also time sqlparse.split")
    parser.add_argument("--before", help="an older dba_admin/sql_text.py to compare with")
    parser.add_argument("--budget", type=float, default=5.0, help="seconds after which a column stops growing")
    args = parser.parse_args()
    sizes = [int(s) * 1024 for s in args.sizes.split(",")]
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))

    columns: list[tuple[str, Callable[[str], object]]] = [
        ("split+guard", split_and_guard(sql_text)),
        ("regex scan", regex_scan),
    ]
    if args.sqlparse:
        import sqlparse

        columns.append(("sqlparse", sqlparse.split))
    if args.before:
        columns.append(("before", split_and_guard(load_module(args.before))))

    print(f"CPU ms, median of {args.runs} runs (Python {sys.version.split()[0]})")
    print(f"{'input':18} {'KB':>3} " + " ".join(f"{name:>11}" for name, _ in columns))
    for name, make in INPUTS.items():
        stopped: dict[str, str] = {}
        for size in sizes:
            text = make(size)
            cells = []
            for col, fn in columns:
                if col in stopped:
                    cells.append("skip")
                    continue
                value = median_cpu(fn, text, args.runs if col != "before" else 1, args.budget)
                if isinstance(value, str):
                    stopped[col] = value
                cells.append(fmt(value).strip())
            print(f"{name:18} {round(len(text) / 1024):>3} " + " ".join(f"{c:>11}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
