"""ER diagrams as Graphviz DOT text: a table with its foreign-key neighbours, for ``st.graphviz_chart``.

Names in PostgreSQL may hold any character (quotes, ``<``, braces, newlines), so nothing a database returns
is pasted into DOT syntax raw: node ids are synthetic (``t0``, ``t1``...), and every label is an HTML-like
label whose text goes through :func:`html_escape`. That keeps a table called ``a"b`` or ``x<y>`` from breaking
(or rewriting) the diagram.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dba_admin.catalog import ForeignKey, TableDetail

__all__ = ["ErdTable", "dot_id", "html_escape", "styled", "table_erd_dot"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PLAIN_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_FOCUS_COLUMNS = 40
MAX_NEIGHBOURS = 30


def html_escape(text: str | None) -> str:
    """Text for inside an HTML-like DOT label: entities for & < > " ', control characters as spaces."""
    return html.escape(_CONTROL.sub(" ", text or ""), quote=True)


def styled(text: str | None, tag: str, **attrs: str) -> str:
    """Escaped text inside a <font>/<b>/<i> element, or nothing when empty: Graphviz's HTML grammar refuses
    an empty styling element, and the whole label (in the browser, the whole node) is then lost."""
    if not text:
        return ""
    attributes = "".join(f' {k}="{html_escape(v)}"' for k, v in attrs.items())
    return f"<{tag}{attributes}>{html_escape(text)}</{tag}>"


def dot_id(text: str) -> str:
    """A DOT id: plain ids as they are, anything else as an HTML string (``<...>``, escaped).

    Not a double-quoted string: Graphviz's lexer reads ``\\"`` as a backslash plus an escaped quote, so a name
    ending in a backslash would run the string on into the rest of the file.
    """
    if _PLAIN_ID.match(text):
        return text
    return f"<{html_escape(text)}>"


@dataclass
class ErdTable:
    """A box in the diagram: a table and the rows (columns) it shows."""

    schema: str
    name: str
    columns: list[tuple[str, str, str]] = field(default_factory=list)  # (name, type, marker: PK/FK/"")
    focus: bool = False
    more: int = 0  # columns not shown

    @property
    def key(self) -> tuple[str, str]:
        return (self.schema, self.name)


def _add_column(table: ErdTable, name: str, type_: str, marker: str) -> None:
    for i, (existing, t, m) in enumerate(table.columns):
        if existing == name:
            if marker and marker not in m:
                table.columns[i] = (existing, t, "/".join(x for x in (m, marker) if x))
            return
    table.columns.append((name, type_, marker))


def _label(table: ErdTable, show_schema: bool) -> str:
    title = f"{table.schema}.{table.name}" if show_schema else table.name
    head_bg = "#3d6fb6" if table.focus else "#6b7785"
    rows = [f'<tr><td bgcolor="{head_bg}" colspan="3"><font color="white"><b>{html_escape(title)}</b></font></td></tr>']
    for name, type_, marker in table.columns:
        rows.append(
            f'<tr><td align="left">{html_escape(marker)}</td>'
            f'<td align="left">{html_escape(name)}</td>'
            f'<td align="left">{styled(type_, "font", color="#666666")}</td></tr>'
        )
    if table.more:
        rows.append(f'<tr><td colspan="3">{styled(f"… {table.more} more column(s)", "i")}</td></tr>')
    return '<<table border="0" cellborder="1" cellspacing="0" cellpadding="3">' + "".join(rows) + "</table>>"


def table_erd_dot(
    detail: TableDetail,
    *,
    max_columns: int = MAX_FOCUS_COLUMNS,
    max_neighbours: int = MAX_NEIGHBOURS,
) -> str:
    """DOT for ``detail`` and the tables its foreign keys point to or come from.

    The focus table shows its columns (PK/FK marked); a neighbour shows the key columns of the relationship.
    One edge per foreign key, from the referencing table to the referenced one, labelled with the columns.
    """
    focus = ErdTable(schema=detail.schema, name=detail.name, focus=True)
    pk = set(detail.primary_key.columns) if detail.primary_key else set()
    fk_cols = {c for fk in detail.foreign_keys_out for c in fk.columns}
    for col in detail.columns[:max_columns]:
        marker = "/".join(m for m, on in (("PK", col.name in pk), ("FK", col.name in fk_cols)) if on)
        focus.columns.append((col.name, col.type, marker))
    focus.more = max(0, len(detail.columns) - max_columns)
    types = {c.name: c.type for c in detail.columns}

    tables: dict[tuple[str, str], ErdTable] = {focus.key: focus}
    edges: list[tuple[tuple[str, str], tuple[str, str], str]] = []

    def neighbour(schema: str, name: str) -> ErdTable | None:
        key = (schema, name)
        if key not in tables:
            if len(tables) > max_neighbours:
                return None
            tables[key] = ErdTable(schema=schema, name=name)
        return tables[key]

    dropped = 0
    fks: Sequence[ForeignKey] = detail.foreign_keys_out
    for fk in fks:
        target = neighbour(fk.ref_schema, fk.ref_table)
        if target is None:
            dropped += 1
            continue
        for c in fk.ref_columns:
            _add_column(target, c, types.get(c, "") if target is focus else "", "PK" if target is not focus else "")
        edges.append((focus.key, target.key, _edge_text(fk.columns, fk.ref_columns)))
    for fk in detail.foreign_keys_in:
        if (fk.schema, fk.table) == focus.key:
            continue  # a self-reference is already drawn from foreign_keys_out
        source = neighbour(fk.schema, fk.table)
        if source is None:
            dropped += 1
            continue
        if source is not focus:
            for c in fk.columns:
                _add_column(source, c, "", "FK")
        edges.append((source.key, focus.key, _edge_text(fk.columns, fk.ref_columns)))

    schemas = {k[0] for k in tables}
    show_schema = len(schemas) > 1 or detail.schema != "public"
    ids = {key: f"t{i}" for i, key in enumerate(tables)}
    lines = [
        "digraph erd {",
        "  graph [rankdir=LR, bgcolor=transparent];",
        '  node [shape=plain, fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9, color="#888888", dir=both, arrowhead=crow, arrowtail=tee];',
    ]
    for key, table in tables.items():
        lines.append(f"  {ids[key]} [label={_label(table, show_schema)}];")
    for child, parent, text in edges:
        # parent (referenced, "one") on the left, crow's foot at the referencing ("many") side.
        lines.append(f"  {ids[parent]} -> {ids[child]} [label=<{html_escape(text)}>];")
    if dropped > 0:
        lines.append(f'  more [shape=note, label="{dropped} more relationship(s) not drawn"];')
    lines.append("}")
    return "\n".join(lines)


def _edge_text(columns: Sequence[str], ref_columns: Sequence[str]) -> str:
    return f"{', '.join(columns)} → {', '.join(ref_columns)}"
