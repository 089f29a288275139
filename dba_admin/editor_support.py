"""Text helpers for the SQL editor: where an error is, which statement the cursor is on.

Kept out of the page so they are tested without Streamlit; they only look at text (no database).
"""

from __future__ import annotations

from dataclasses import dataclass

from dba_admin.sql_text import Statement, split_statements

__all__ = ["ErrorMark", "error_mark", "offset_of", "statement_at"]


@dataclass(frozen=True)
class ErrorMark:
    """An error position as the editor shows it: line:column and the offending line with a caret under it."""

    line: int  # 1-based
    column: int  # 1-based
    snippet: str  # the line before (if any), the offending line, and a caret line

    @property
    def where(self) -> str:
        return f"line {self.line}, column {self.column}"


def error_mark(text: str, position: int | None, *, context_lines: int = 1) -> ErrorMark | None:
    """Mark PostgreSQL's 1-based character ``position`` in ``text``; None when there is no position.

    Tabs before the caret are kept as tabs in the caret line so the caret stays under the right character.
    """
    if position is None or position < 1 or not text:
        return None
    index = min(position - 1, len(text))
    lines = text.split("\n")
    line_no = text.count("\n", 0, index) + 1
    line_start = text.rfind("\n", 0, index) + 1
    column = index - line_start + 1
    offending = lines[line_no - 1] if line_no - 1 < len(lines) else ""
    prefix = offending[: column - 1]
    caret = "".join(c if c == "\t" else " " for c in prefix) + "^"
    first = max(1, line_no - context_lines)
    width = len(str(line_no))
    shown = [f"{n:>{width}} | {lines[n - 1]}" for n in range(first, line_no + 1)]
    shown.append(" " * width + " | " + caret)
    return ErrorMark(line=line_no, column=column, snippet="\n".join(shown))


def offset_of(text: str, row: int, column: int) -> int:
    """0-based character offset of a 0-based (row, column) cursor, as the Ace editor reports it."""
    lines = text.split("\n")
    row = max(0, min(row, len(lines) - 1))
    return sum(len(line) + 1 for line in lines[:row]) + max(0, min(column, len(lines[row])))


def statement_at(text: str, offset: int) -> Statement | None:
    """The statement the cursor is in or just after (DBeaver's "current statement"); None for empty text."""
    statements = split_statements(text)
    if not statements:
        return None
    chosen = statements[0]
    for stmt in statements:
        if stmt.start <= offset:
            chosen = stmt
        else:
            break
    return chosen
