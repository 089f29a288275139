"""ER diagram DOT: names with quotes, angle brackets, ampersands and backslashes stay data, never DOT syntax.

No Graphviz binary is needed: a small lexer that follows Graphviz's own rules (scan.l) checks the text splits
into the statements we meant, and every HTML label is well-formed markup whose text is the original name.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dba_admin.activity import blocking_dot, build_report
from dba_admin.catalog import ColumnDetail, ForeignKey, PrimaryKey, TableDetail, TableSizes
from dba_admin.database import DatabaseManager
from dba_admin.erd import dot_id, html_escape, table_erd_dot

_SIMPLE = re.compile(r"\s+|(?P<id>[A-Za-z_][A-Za-z0-9_]*|-?\d+(?:\.\d+)?)|(?P<edge>->)|(?P<punct>[{}\[\];,=])")


def lex(dot: str) -> list[tuple[str, str]]:
    """Tokens (kind, text) by Graphviz's rules; raises on anything it could not read."""
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(dot):
        ch = dot[i]
        if ch == '"':
            j = i + 1
            while True:
                if j >= len(dot):
                    raise AssertionError(f"unterminated quoted string at {i}")
                if dot[j] == "\\" and j + 1 < len(dot) and dot[j + 1] == '"':
                    j += 2
                    continue
                if dot[j] == '"':
                    break
                j += 1
            tokens.append(("quoted", dot[i + 1 : j]))
            i = j + 1
        elif ch == "<":
            depth, j = 0, i
            while True:
                if j >= len(dot):
                    raise AssertionError(f"unterminated HTML string at {i}")
                depth += {"<": 1, ">": -1}.get(dot[j], 0)
                if depth == 0:
                    break
                j += 1
            tokens.append(("html", dot[i + 1 : j]))
            i = j + 1
        else:
            m = _SIMPLE.match(dot, i)
            if not m or m.end() == i:
                raise AssertionError(f"unexpected character {ch!r} at {i}: {dot[i : i + 30]!r}")
            kind = m.lastgroup
            if kind:
                tokens.append((kind, m.group(kind)))
            i = m.end()
    return tokens


def statements(dot: str) -> list[list[tuple[str, str]]]:
    tokens = lex(dot)
    assert tokens[:2] == [("id", "digraph"), ("id", "erd")] or tokens[0] == ("id", "digraph")
    assert tokens[2] == ("punct", "{") and tokens[-1] == ("punct", "}")
    body, out, current, depth = tokens[3:-1], [], [], 0
    for tok in body:
        depth += {"[": 1, "]": -1}.get(tok[1], 0) if tok[0] == "punct" else 0
        if tok == ("punct", ";") and depth == 0:
            out.append(current)
            current = []
        else:
            current.append(tok)
    assert not current, f"statement without ';': {current}"
    return out


def html_text(label: str) -> str:
    """The plain text of an HTML label (it must be well-formed markup)."""
    root = ET.fromstring(f"<root>{label}</root>")  # noqa: S314 - our own generated text, checked for well-formedness
    for element in root.iter():
        if element.tag.lower() in ("font", "b", "i", "u", "s", "sub", "sup"):
            # Graphviz's HTML grammar has no empty styling element; one loses the node's whole label.
            assert "".join(element.itertext()).strip(), f"empty <{element.tag}> in {label!r}"
    return " ".join(t.strip() for t in root.itertext() if t.strip())


def test_escaping_helpers() -> None:
    assert html_escape('a"b<c>&d\n') == "a&quot;b&lt;c&gt;&amp;d "
    assert dot_id("t0") == "t0"
    assert dot_id('x"y\\') == "<x&quot;y\\>"
    assert lex(f"digraph {{ {dot_id('a->b;}')} ; }}")[2] == ("html", "a-&gt;b;}")


NASTY = ['order"s', "x<y>&z", "back\\slash\\", "semi;colon}", "ação"]


@pytest.fixture
def nasty_db(app_db: Any, empty_db_dsn: str, tmp_path: Path) -> Iterator[DatabaseManager]:
    with psycopg.connect(empty_db_dsn, autocommit=True) as conn:
        conn.execute('create schema "we""ird <s>"')
        conn.execute('create table "we""ird <s>"."order""s" ("id""" int primary key, "a<b" text)')
        conn.execute(
            'create table public."x<y>&z" (id int primary key, "order""s_id" int references "we""ird <s>"."order""s")'
        )
        conn.execute(
            'create table public."back\\slash\\" (id int primary key,'
            ' "x_id\\" int references public."x<y>&z", parent int references public."back\\slash\\")'
        )
        conn.execute('create table public."semi;colon}" (k int references public."x<y>&z")')
    manager = DatabaseManager(app_db.settings.with_overrides(data_dir=tmp_path), empty_db_dsn)
    yield manager
    manager.close()


def test_erd_of_a_table_with_hostile_names(nasty_db: DatabaseManager) -> None:
    detail = nasty_db.describe_table("public", "x<y>&z")
    dot = table_erd_dot(detail)
    stmts = statements(dot)
    nodes = [s for s in stmts if len(s) >= 2 and s[0][0] == "id" and s[1] == ("punct", "[") and s[0][1].startswith("t")]
    edges = [s for s in stmts if len(s) > 2 and s[1] == ("edge", "->")]
    assert [n[0][1] for n in nodes] == [f"t{i}" for i in range(len(nodes))], "node ids are synthetic"
    labels = {}
    for n in nodes:
        html_labels = [tok for tok in n if tok[0] == "html"]
        assert len(html_labels) == 1
        labels[n[0][1]] = html_text(html_labels[0][1])
    texts = " | ".join(labels.values())
    assert 'we"ird <s>.order"s' in texts, "the referenced table in another schema, schema shown"
    assert "public.x<y>&z" in texts
    assert "public.back\\slash\\" in texts and "public.semi;colon}" in texts
    assert 'order"s_id' in labels["t0"] and "PK" in labels["t0"] and "FK" in labels["t0"]
    # one edge per foreign key: 1 out (to order"s), 2 in (back\slash\, semi;colon})
    assert len(edges) == 3
    for e in edges:
        assert e[0][0] == "id" and e[2][0] == "id"
        assert any(tok[0] == "html" for tok in e), "edge labels are HTML strings too"
    edge_texts = [html_text(next(t[1] for t in e if t[0] == "html")) for e in edges]
    assert 'order"s_id → id"' in edge_texts


def test_self_reference_is_drawn_once(nasty_db: DatabaseManager) -> None:
    detail = nasty_db.describe_table("public", "back\\slash\\")
    stmts = statements(table_erd_dot(detail))
    edges = [s for s in stmts if len(s) > 2 and s[1] == ("edge", "->")]
    loops = [e for e in edges if e[0][1] == e[2][1]]
    assert len(loops) == 1 and len(edges) == 2


def _detail(n_out: int) -> TableDetail:
    fks = tuple(
        ForeignKey(
            name=f"fk{i}",
            schema="public",
            table="hub",
            columns=(f"c{i}",),
            ref_schema="public",
            ref_table=f"target{i}",
            ref_columns=("id",),
            on_update="NO ACTION",
            on_delete="NO ACTION",
            match="SIMPLE",
            deferrable=False,
            initially_deferred=False,
            validated=True,
            inherited=False,
            definition="",
        )
        for i in range(n_out)
    )
    cols = tuple(ColumnDetail(f"c{i}", "integer", True, None, None, i + 1) for i in range(60))
    return TableDetail(
        schema="public",
        name="hub",
        kind="table",
        oid=1,
        owner="o",
        comment=None,
        estimated_rows=0,
        columns=cols,
        primary_key=PrimaryKey("hub_pkey", ("c0",), ""),
        foreign_keys_out=fks,
        foreign_keys_in=(),
        indexes=(),
        constraints=(),
        triggers=(),
        rls_enabled=False,
        rls_forced=False,
        policies=(),
        grants=(),
        stats=None,
        sizes=TableSizes(0, 0, 0, 0),
    )


def test_big_tables_are_capped_and_say_so() -> None:
    dot = table_erd_dot(_detail(50), max_columns=10, max_neighbours=5)
    stmts = statements(dot)
    nodes = [s for s in stmts if s and s[0][0] == "id" and re.fullmatch(r"t\d+", s[0][1]) and s[1] == ("punct", "[")]
    assert len(nodes) == 6, "the focus and five neighbours"
    assert "50 more column(s)" in html_text(next(t[1] for t in nodes[0] if t[0] == "html"))
    assert "45 more relationship(s) not drawn" in dot


def test_blocking_graph_labels_are_valid_without_session_details() -> None:
    dot = blocking_dot(build_report([(11, 10), (12, 11)], {}))
    stmts = statements(dot)
    labels = [html_text(tok[1]) for st in stmts for tok in st if tok[0] == "html"]
    assert labels == ["pid 10 not visible", "pid 11 not visible", "pid 12 not visible"]
    edges = [(st[0][1], st[2][1]) for st in stmts if len(st) > 2 and st[1] == ("edge", "->")]
    assert edges == [("p10", "p11"), ("p11", "p12")]
