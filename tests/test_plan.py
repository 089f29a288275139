"""dba_admin.plan against real EXPLAIN (FORMAT JSON [, ANALYZE]) output of the demo database."""

from __future__ import annotations

import json

import pytest

from dba_admin.database import DatabaseManager
from dba_admin.editor_support import error_mark, offset_of, statement_at
from dba_admin.plan import parse_plan

JOIN_SQL = (
    "select p.species, count(*) as n, avg(a.price) as avg_price\n"
    "from public.pets p join public.appointments a on a.pet_id = p.id\n"
    "where p.is_active\n"
    "group by p.species order by n desc"
)


def test_analyzed_join_plan_flattens_with_exclusive_times(db: DatabaseManager) -> None:
    tree = parse_plan(db.explain(JOIN_SQL, analyze=True))
    assert tree.analyzed
    assert tree.execution_ms is not None and tree.planning_ms is not None
    root = tree.root
    assert root.parent_id is None and root.depth == 0
    ids = [n.id for n in tree.nodes]
    assert ids == list(range(len(tree.nodes))), "depth-first ids"
    by_id = {n.id: n for n in tree.nodes}
    for node in tree.nodes[1:]:
        parent = by_id[node.parent_id]  # type: ignore[index]
        assert node.depth == parent.depth + 1
    # both tables are scanned somewhere in the tree, named with their alias
    relations = " ".join(n.relation or "" for n in tree.nodes)
    assert "pets p" in relations and "appointments a" in relations
    for node in tree.nodes:
        assert node.inclusive_ms is not None and node.exclusive_ms is not None
        assert node.exclusive_ms >= 0
        kids = [k for k in tree.nodes if k.parent_id == node.id]
        expected = max(0.0, node.inclusive_ms - sum(k.inclusive_ms or 0.0 for k in kids))
        assert node.exclusive_ms == pytest.approx(expected)
    assert sum(n.share for n in tree.nodes) == pytest.approx(1.0)
    slow = tree.slowest
    assert 1 <= len(slow) <= 3
    # the flagged nodes are the ones with the largest exclusive time
    top = sorted(tree.nodes, key=lambda n: n.exclusive_ms or 0.0, reverse=True)[0]
    assert slow[0].id == top.id


def test_plain_explain_ranks_by_cost(db: DatabaseManager) -> None:
    tree = parse_plan(db.explain(JOIN_SQL))
    assert not tree.analyzed
    assert all(n.actual_rows is None and n.exclusive_ms is None for n in tree.nodes)
    assert tree.total_cost == tree.root.total_cost > 0
    top = max(tree.nodes, key=lambda n: n.exclusive_cost)
    assert tree.slowest[0].id == top.id
    frame = tree.to_frame()
    assert "self ms" not in frame.columns and "self cost" in frame.columns
    assert len(frame.index) == len(tree.nodes)
    assert frame["node"].iloc[0] == tree.root.label


def test_index_scan_names_the_index_and_condition(db: DatabaseManager) -> None:
    tree = parse_plan(db.explain("select * from public.pets where id = 42", analyze=True))
    scan = next(n for n in tree.nodes if "Index" in n.node_type)
    assert scan.relation is not None and "using" in scan.relation
    assert "Index Cond" in scan.detail
    assert scan.total_actual_rows == 1
    assert scan.estimate_factor == pytest.approx(1.0)


def test_filter_detail_and_rows_removed(db: DatabaseManager) -> None:
    tree = parse_plan(db.explain("select * from public.pets where species = 'cat'", analyze=True))
    scan = tree.nodes[-1]
    assert "Filter" in scan.detail
    assert scan.rows_removed is not None and scan.rows_removed > 0


def test_never_executed_subtree_has_zero_time(db: DatabaseManager) -> None:
    # the inner side of a nested loop whose outer side returns nothing is never executed (0 loops)
    tree = parse_plan(
        db.explain(
            "select * from public.pets p where p.id < 0 and exists "
            "(select 1 from public.appointments a where a.pet_id = p.id)",
            analyze=True,
        )
    )
    assert any(n.loops == 0 for n in tree.nodes)
    assert all((n.exclusive_ms or 0.0) >= 0 for n in tree.nodes)


def test_accepts_raw_column_and_text_forms(db: DatabaseManager) -> None:
    plan = db.explain("select 1")
    as_list = [plan]
    assert parse_plan(as_list).root.node_type == parse_plan(json.dumps(as_list)).root.node_type == "Result"
    one = parse_plan(plan)
    assert not one.slowest or one.slowest[0].id == 0
    with pytest.raises(ValueError, match="Plan"):
        parse_plan({"rows": 1})
    with pytest.raises(ValueError, match="empty"):
        parse_plan([])


def test_top_zero_flags_nothing(db: DatabaseManager) -> None:
    assert parse_plan(db.explain(JOIN_SQL), top=0).slowest == []


# --- editor_support ---------------------------------------------------------------------------------------


def test_error_mark_points_at_line_and_column() -> None:
    text = "select 1;\nselect *\n  from nope_table;"
    position = text.index("nope_table") + 1
    mark = error_mark(text, position)
    assert mark is not None
    assert (mark.line, mark.column) == (3, 8)
    assert mark.where == "line 3, column 8"
    lines = mark.snippet.splitlines()
    assert lines[-2].endswith("  from nope_table;")
    assert lines[-1].index("^") == lines[-2].index("nope_table")
    assert error_mark(text, None) is None
    assert error_mark("", 3) is None


def test_error_mark_keeps_tabs_under_the_caret() -> None:
    text = "select\n\tfoo bar baz"
    mark = error_mark(text, text.index("baz") + 1, context_lines=0)
    assert mark is not None
    code_line, caret_line = mark.snippet.splitlines()
    assert caret_line.split("| ", 1)[1] == "\t" + " " * 8 + "^"
    assert code_line.endswith("\tfoo bar baz")


def test_statement_at_cursor() -> None:
    text = "select 1;\n\nselect 2;\nselect 3"
    assert offset_of(text, 0, 3) == 3
    assert offset_of(text, 2, 0) == text.index("select 2")
    assert offset_of(text, 99, 99) == len(text)
    first = statement_at(text, offset_of(text, 0, 0))
    second = statement_at(text, offset_of(text, 1, 0))  # the blank line after statement 1 belongs to it
    third = statement_at(text, offset_of(text, 3, 4))
    assert first is not None and first.text == "select 1"
    assert second is not None and second.text == "select 1"
    assert third is not None and third.text == "select 3"
    assert statement_at("  -- nothing\n", 0) is None
