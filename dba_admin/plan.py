"""EXPLAIN (FORMAT JSON [, ANALYZE]) output as a flat tree the plan view can draw and rank.

PostgreSQL's JSON plan is nested and reports, per node, the *inclusive* time of ONE loop. What a DBA wants
to know is where the time went, so each node gets its exclusive time (its own inclusive time over all loops
minus that of its children), the share of the whole it represents, and a flag on the slowest few. Without
ANALYZE there is no time, so the same is done with the planner's cost.

Known limits (as in explain.depesz.com): under a Gather the workers' loops are averaged by PostgreSQL, so
children can add up to more than their parent's wall time; exclusive values are clamped at zero. InitPlans
and SubPlans are children like any other node.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


__all__ = ["PlanNode", "PlanTree", "parse_plan"]

# Keys of a plan node worth a short "detail" line, in the order a DBA reads them.
_DETAIL_KEYS = (
    "Index Cond",
    "Recheck Cond",
    "Hash Cond",
    "Merge Cond",
    "Join Filter",
    "Filter",
    "Sort Key",
    "Group Key",
    "Sort Method",
)


@dataclass(frozen=True)
class PlanNode:
    """One node of a plan, flattened: ``parent_id`` is None for the root; ids are depth-first order."""

    id: int
    parent_id: int | None
    depth: int
    node_type: str
    relation: str | None
    parent_relationship: str | None
    startup_cost: float
    total_cost: float
    plan_rows: float
    plan_width: int | None
    actual_rows: float | None  # rows per loop, as PostgreSQL reports them
    loops: float | None
    actual_startup_ms: float | None  # per loop
    actual_total_ms: float | None  # per loop, inclusive
    inclusive_ms: float | None  # over all loops
    exclusive_ms: float | None  # inclusive minus the children's inclusive, never below zero
    exclusive_cost: float  # total cost minus the children's total cost, never below zero
    share: float  # exclusive time (or cost) as a fraction of the plan's total
    detail: str = ""
    rows_removed: float | None = None  # by filter, per loop
    shared_hit: int | None = None
    shared_read: int | None = None
    slow: bool = False

    @property
    def label(self) -> str:
        """'Seq Scan on public.pets p' - the way EXPLAIN's text format names a node."""
        return f"{self.node_type} on {self.relation}" if self.relation else self.node_type

    @property
    def total_actual_rows(self) -> float | None:
        if self.actual_rows is None:
            return None
        return self.actual_rows * (self.loops or 1)

    @property
    def estimate_factor(self) -> float | None:
        """How far the planner's row estimate was off (>1 means more rows than estimated); None without ANALYZE."""
        if self.actual_rows is None:
            return None
        est = max(self.plan_rows, 1.0)
        act = max(self.actual_rows, 1.0)
        return act / est


@dataclass(frozen=True)
class PlanTree:
    """A whole plan: nodes in depth-first order plus the statement-level figures."""

    nodes: tuple[PlanNode, ...]
    analyzed: bool
    planning_ms: float | None = None
    execution_ms: float | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def root(self) -> PlanNode:
        return self.nodes[0]

    @property
    def total_cost(self) -> float:
        return self.root.total_cost

    @property
    def slowest(self) -> list[PlanNode]:
        """The flagged nodes, slowest first."""
        key = (lambda n: n.exclusive_ms or 0.0) if self.analyzed else (lambda n: n.exclusive_cost)
        return sorted((n for n in self.nodes if n.slow), key=key, reverse=True)

    def to_frame(self) -> pd.DataFrame:
        """One row per node, indented by depth, for st.dataframe."""
        import pandas as pd  # only here: the command line's start does not pay for pandas

        rows = []
        for n in self.nodes:
            rows.append(
                {
                    "id": n.id,
                    "parent": n.parent_id,
                    "node": ("\u2003" * n.depth) + ("→ " if n.depth else "") + n.label,
                    "startup cost": n.startup_cost,
                    "total cost": n.total_cost,
                    "est. rows": n.plan_rows,
                    "actual rows": n.actual_rows,
                    "loops": n.loops,
                    "time ms": n.inclusive_ms,
                    "self ms": n.exclusive_ms,
                    "self cost": n.exclusive_cost,
                    "share": n.share,
                    "slow": n.slow,
                    "detail": n.detail,
                }
            )
        frame = pd.DataFrame(rows)
        if not self.analyzed:
            frame = frame.drop(columns=["actual rows", "loops", "time ms", "self ms"])
        return frame


def as_plan_object(plan: Mapping[str, Any] | Sequence[Any] | str) -> Mapping[str, Any]:
    """Accept what DatabaseManager.explain returns, the raw EXPLAIN column (list of one object), or its text."""
    value: Any = json.loads(plan) if isinstance(plan, str) else plan
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        if not value:
            raise ValueError("empty EXPLAIN output")
        value = value[0]
    if not isinstance(value, Mapping) or not isinstance(value.get("Plan"), Mapping):
        raise ValueError("not EXPLAIN (FORMAT JSON) output: no 'Plan' object")
    return value


def _relation(node: Mapping[str, Any]) -> str | None:
    name = node.get("Relation Name")
    if name:
        schema = node.get("Schema")
        text = f"{schema}.{name}" if schema else str(name)
        alias = node.get("Alias")
        if alias and alias != name:
            text += f" {alias}"
        index = node.get("Index Name")
        return f"{text} using {index}" if index else text
    for key in ("Index Name", "CTE Name", "Function Name", "Subplan Name"):
        if node.get(key):
            return str(node[key])
    return None


def _detail(node: Mapping[str, Any]) -> str:
    parts = []
    join = node.get("Join Type")
    if join and join != "Inner":
        parts.append(f"{join} join")
    for key in _DETAIL_KEYS:
        value = node.get(key)
        if value:
            text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            parts.append(f"{key}: {text}")
    removed = node.get("Rows Removed by Filter")
    if removed:
        parts.append(f"Rows Removed by Filter: {removed:g}")
    return "; ".join(parts)


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def parse_plan(plan: Mapping[str, Any] | Sequence[Any] | str, *, top: int = 3) -> PlanTree:
    """Flatten a JSON plan and flag the ``top`` nodes with the largest exclusive time (cost when not analyzed).

    Only nodes that carry a real part of the total (at least 1 %) are flagged, so a plan of one cheap node has
    no "slow" node to alarm anyone.
    """
    obj = as_plan_object(plan)
    flat: list[tuple[Mapping[str, Any], int | None, int]] = []

    def walk(node: Mapping[str, Any], parent: int | None, depth: int) -> None:
        my_id = len(flat)
        flat.append((node, parent, depth))
        for child in node.get("Plans") or ():
            walk(child, my_id, depth + 1)

    walk(obj["Plan"], None, 0)
    analyzed = "Actual Total Time" in obj["Plan"]

    children: dict[int, list[int]] = {i: [] for i in range(len(flat))}
    for i, (_node, parent, _depth) in enumerate(flat):
        if parent is not None:
            children[parent].append(i)

    def inclusive(node: Mapping[str, Any]) -> float | None:
        if not analyzed:
            return None
        per_loop = _num(node.get("Actual Total Time"))
        loops = _num(node.get("Actual Loops"))
        if per_loop is None:
            return None
        return per_loop * (loops if loops is not None else 1.0)  # never-executed nodes have 0 loops

    incl = [inclusive(n) for n, _p, _d in flat]
    costs = [float(n.get("Total Cost", 0.0)) for n, _p, _d in flat]
    excl_ms: list[float | None] = []
    excl_cost: list[float] = []
    for i in range(len(flat)):
        kids = children[i]
        own = incl[i]
        excl_ms.append(None if own is None else max(0.0, own - sum(incl[k] or 0.0 for k in kids)))
        excl_cost.append(max(0.0, costs[i] - sum(costs[k] for k in kids)))

    metric = [m or 0.0 for m in excl_ms] if analyzed else excl_cost
    whole = sum(metric)
    shares = [(m / whole) if whole > 0 else 0.0 for m in metric]
    ranked = sorted(range(len(flat)), key=lambda i: metric[i], reverse=True)
    slow = {i for i in ranked[: max(0, top)] if shares[i] >= 0.01}

    nodes = []
    for i, (node, parent, depth) in enumerate(flat):
        nodes.append(
            PlanNode(
                id=i,
                parent_id=parent,
                depth=depth,
                node_type=str(node.get("Node Type", "?")),
                relation=_relation(node),
                parent_relationship=node.get("Parent Relationship"),
                startup_cost=float(node.get("Startup Cost", 0.0)),
                total_cost=costs[i],
                plan_rows=float(node.get("Plan Rows", 0.0)),
                plan_width=node.get("Plan Width"),
                actual_rows=_num(node.get("Actual Rows")),
                loops=_num(node.get("Actual Loops")),
                actual_startup_ms=_num(node.get("Actual Startup Time")),
                actual_total_ms=_num(node.get("Actual Total Time")),
                inclusive_ms=incl[i],
                exclusive_ms=excl_ms[i],
                exclusive_cost=excl_cost[i],
                share=shares[i],
                detail=_detail(node),
                rows_removed=_num(node.get("Rows Removed by Filter")),
                shared_hit=node.get("Shared Hit Blocks"),
                shared_read=node.get("Shared Read Blocks"),
                slow=i in slow,
            )
        )
    return PlanTree(
        nodes=tuple(nodes),
        analyzed=analyzed,
        planning_ms=_num(obj.get("Planning Time")),
        execution_ms=_num(obj.get("Execution Time")),
        raw=obj,
    )
