"""An index advisor that proves its advice (issue 15).

Candidates come from the statement's plan and predicates: a sequential scan filtered on columns no index leads with,
a join key on a scanned table, a sort under a LIMIT. With the ``hypopg`` extension each candidate is then created
*hypothetically* (in the backend's memory, never on disk) and the statement planned again: a candidate is kept as
proven only when the planner's total cost drops and the new plan uses it, the way Supabase's ``index_advisor``
works. Without hypopg the candidates are returned unproven, with the sentence that says so.

The whole proof runs in one rolled-back READ ONLY transaction with a statement timeout; hypothetical indexes live
in the session, not the transaction, so they are reset before the connection goes back to its pool, error or not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import psycopg
from psycopg import sql

from dba_admin.assistant.offline import IndexSuggestion, suggest_indexes_from_plan
from dba_admin.assistant.schema_index import SchemaIndex
from dba_admin.plan import as_plan_object
from dba_admin.sql_text import split_statements

__all__ = ["IndexAdvice", "IndexSuggestion", "candidates_from_plan", "prove_candidates"]

# A candidate must lower the planner's total cost by at least this share to count as proven (plans are estimates:
# a 0.1 % change is noise, not a reason to build and maintain an index).
MIN_GAIN = 0.05
MAX_CANDIDATES = 8


@dataclass
class Proof:
    candidate: IndexSuggestion
    cost_after: float | None = None
    used: bool = False

    def proven(self, cost_before: float) -> bool:
        return self.used and self.cost_after is not None and self.cost_after <= cost_before * (1 - MIN_GAIN)


@dataclass
class IndexAdvice:
    """What the advisor found for one statement."""

    statement: str
    cost_before: float
    hypopg: bool  # could the advice be proven here?
    note: str
    proofs: list[Proof] = field(default_factory=list)

    @property
    def proven(self) -> list[Proof]:
        return [p for p in self.proofs if p.proven(self.cost_before)]

    def to_dicts(self) -> list[dict[str, Any]]:
        """One object per candidate, best first: table, columns, create_sql, cost_before, cost_after, proven."""
        rows = []
        for p in sorted(self.proofs, key=lambda p: (not p.proven(self.cost_before), p.cost_after or self.cost_before)):
            rows.append(
                {
                    "table": p.candidate.table,
                    "columns": list(p.candidate.columns),
                    "reason": p.candidate.reason,
                    "create_sql": p.candidate.sql,
                    "cost_before": round(self.cost_before, 2),
                    "cost_after": round(p.cost_after, 2) if p.cost_after is not None else None,
                    "proven": p.proven(self.cost_before),
                }
            )
        return rows

    def to_json(self) -> dict[str, Any]:
        return {
            "statement": self.statement,
            "cost_before": round(self.cost_before, 2),
            "hypopg": self.hypopg,
            "note": self.note,
            "candidates": self.to_dicts(),
        }


def _walk(node: dict[str, Any]) -> Iterable[tuple[bool, dict[str, Any]]]:
    """Every node of a plan, with whether a Limit is above it (through Gather Merge and the like, not a join)."""
    stack: list[tuple[bool, dict[str, Any]]] = [(False, node)]
    while stack:
        limited, current = stack.pop()
        yield limited, current
        kind = str(current.get("Node Type") or "")
        below = (limited or kind == "Limit") and "Join" not in kind and kind != "Nested Loop"
        for child in current.get("Plans", []) or []:
            stack.append((below, child))


_QUALIFIED = re.compile(r"\b([a-z_][a-z0-9_$]*|\"(?:[^\"]|\"\")+\")\.([a-z_][a-z0-9_$]*|\"(?:[^\"]|\"\")+\")", re.I)


def _unquote(name: str) -> str:
    return name[1:-1].replace('""', '"') if name.startswith('"') else name


def candidates_from_plan(index: SchemaIndex, plan: dict[str, Any]) -> list[IndexSuggestion]:
    """Candidate indexes for a plan: filtered sequential scans (the assistant's rule), the join key of a scanned
    table, and the sort key under a LIMIT; none that an existing index already leads with."""
    root = plan.get("Plan", plan)
    found: list[IndexSuggestion] = list(suggest_indexes_from_plan(index, plan))
    scans: dict[str, str] = {}  # alias -> qualified table, of sequential scans
    for _limited, node in _walk(root):
        if node.get("Node Type") == "Seq Scan" and node.get("Relation Name"):
            qn = f"{node.get('Schema', 'public')}.{node['Relation Name']}"
            scans[str(node.get("Alias") or node["Relation Name"])] = qn
    for limited, node in _walk(root):
        cond = str(node.get("Hash Cond") or node.get("Merge Cond") or node.get("Join Filter") or "")
        for alias, column in _QUALIFIED.findall(cond):
            joined = scans.get(_unquote(alias))
            if joined is not None:
                found.append(
                    IndexSuggestion(joined, (_unquote(column),), f"join key {_unquote(column)} of a scanned table")
                )
        if node.get("Node Type") in ("Sort", "Incremental Sort") and limited:
            keys = [str(k) for k in node.get("Sort Key", [])]
            tables = {scans.get(_unquote(a)) for k in keys for a, _c in _QUALIFIED.findall(k)}
            columns = [_unquote(c) for k in keys for _a, c in _QUALIFIED.findall(k)]
            plain = [k for k in keys if re.fullmatch(r"[a-z_][a-z0-9_$]*", k, re.I)]
            if len(scans) == 1 and plain and not columns:
                tables, columns = set(scans.values()), plain
            if len(tables) == 1 and None not in tables and columns and not any(" DESC" in k for k in keys):
                (sorted_table,) = tables
                found.append(IndexSuggestion(str(sorted_table), tuple(columns[:3]), "sort key under a LIMIT"))
    out: list[IndexSuggestion] = []
    for cand in found:
        table = index.by_name.get(cand.table)
        if table is None or any(table.column(c) is None for c in cand.columns):
            continue
        if any(ix_cols[: len(cand.columns)] == cand.columns for _n, _u, ix_cols in table.indexes):
            continue
        if all((o.table, o.columns) != (cand.table, cand.columns) for o in out):
            out.append(replace(cand, partitioned=table.kind == "partitioned_table"))
    return out[:MAX_CANDIDATES]


def _explain(conn: psycopg.Connection[Any], statement: str) -> dict[str, Any]:
    # the DBA's statement is SQL by design (only planned, never run, in a READ ONLY transaction)
    row = conn.execute(sql.SQL("EXPLAIN (FORMAT JSON) ") + sql.SQL(statement)).fetchone()
    return dict(as_plan_object(row[0] if row else ()))


def _total_cost(plan: dict[str, Any]) -> float:
    return float(plan.get("Plan", plan).get("Total Cost") or 0.0)


def _uses_hypothetical(plan: dict[str, Any]) -> bool:
    """hypopg names its indexes ``<oid>btree_...``: the plan uses one when a node's index name starts so."""
    return any(str(n.get("Index Name") or "").startswith("<") for _l, n in _walk(plan.get("Plan", plan)))


def hypopg_schema(conn: psycopg.Connection[Any]) -> tuple[str | None, bool]:
    """(the schema hypopg is installed in, whether this login may use it); (None, False) when not installed."""
    row = conn.execute(
        "SELECT n.nspname, has_schema_privilege(n.oid, 'USAGE') FROM pg_extension e "
        "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'hypopg' /* dba_admin */"
    ).fetchone()
    return (str(row[0]), bool(row[1])) if row else (None, False)


def one_statement(sql_text: str) -> str:
    """The single statement to advise on (ValueError when there are none or several, or it is an EXPLAIN)."""
    statements = split_statements(sql_text)
    if len(statements) != 1:
        raise ValueError(f"the index advisor takes exactly one statement; the text has {len(statements)}")
    stmt = statements[0]
    if stmt.command.startswith("EXPLAIN"):
        raise ValueError("give the statement without EXPLAIN; the advisor plans it itself")
    if re.search(r"\$\d+", stmt.text):
        raise ValueError(
            "the statement has parameters ($1...): type a representative query with real values, so it can be planned"
        )
    return stmt.text


def prove_candidates(
    conn: psycopg.Connection[Any],
    index: SchemaIndex,
    sql_text: str,
    *,
    timeout_ms: int = 10_000,
    extra: Sequence[IndexSuggestion] = (),
) -> IndexAdvice:
    """Plan ``sql_text``, find candidate indexes and, with hypopg, price each one (see the module's docstring).

    ``conn`` is a pooled connection in autocommit; everything runs in a READ ONLY transaction that is rolled
    back, and hypothetical indexes are reset before returning."""
    statement = one_statement(sql_text)
    installed, usable = hypopg_schema(conn)
    schema = installed if usable else None
    conn.execute(
        sql.SQL("BEGIN READ ONLY; SET LOCAL statement_timeout = {} /* dba_admin */").format(
            sql.Literal(f"{int(timeout_ms)}ms")
        )
    )
    reset = sql.SQL("SELECT {}.hypopg_reset() /* dba_admin */").format(sql.Identifier(schema)) if schema else None
    try:
        if reset is not None:
            conn.execute(reset)
        plan = _explain(conn, statement)
        cost_before = _total_cost(plan)
        candidates = [*extra, *candidates_from_plan(index, plan)]
        unique = list(dict.fromkeys(candidates))
        if schema is None:
            note = (
                "Unproven: the hypopg extension is not installed in this database, so the planner could not price "
                "these indexes. A DBA can run CREATE EXTENSION hypopg (package postgresql-<version>-hypopg; it "
                "creates nothing on disk) and ask again."
                if installed is None
                else f"Unproven: hypopg is installed in schema {installed}, but this login may not use that schema "
                f"(GRANT USAGE ON SCHEMA {installed} TO the DBA login, and ask again)."
            )
            return IndexAdvice(statement, cost_before, False, note, [Proof(c) for c in unique])
        proofs: list[Proof] = []
        create = sql.SQL("SELECT indexrelid FROM {}.hypopg_create_index(%s) /* dba_admin */").format(
            sql.Identifier(schema)
        )
        for cand in unique:
            conn.execute(create, (cand.definition,))
            after = _explain(conn, statement)
            proofs.append(Proof(cand, _total_cost(after), _uses_hypothetical(after)))
            conn.execute(reset)  # type: ignore[arg-type]
        advice = IndexAdvice(statement, cost_before, True, "", proofs)
        kept = advice.proven
        if not unique:
            advice.note = "No candidate: the plan has no filtered scan, join key or sorted LIMIT an index would serve."
        elif kept:
            advice.note = (
                f"Proven with hypopg: {len(kept)} of {len(unique)} candidate(s) lower the planner's cost by at least "
                f"{MIN_GAIN:.0%} and are used by the new plan."
            )
        else:
            advice.note = (
                f"None of the {len(unique)} candidate(s) lowers the planner's cost by {MIN_GAIN:.0%} or more: "
                "an index would not help this statement as written."
            )
        return advice
    finally:
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE and not conn.broken:
            conn.execute("ROLLBACK")
        if reset is not None and not conn.broken:
            conn.execute(reset)
