"""The Portuguese interface: every marked string translated, no visible string left unmarked, formats per locale."""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path

import pytest

from dba_admin import i18n
from tools.i18n import catalog, extract, missing

ROOT = Path(__file__).resolve().parent.parent
UI_FILES = sorted([ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py")])
# Streamlit calls whose first argument (or these keywords) a person reads.
SHOWN = {
    "title", "header", "subheader", "caption", "markdown", "write", "text", "info", "warning", "error", "success",
    "toast", "button", "download_button", "link_button", "form_submit_button", "page_link", "checkbox", "toggle",
    "radio", "selectbox", "multiselect", "select_slider", "slider", "number_input", "text_input", "text_area",
    "date_input", "time_input", "file_uploader", "expander", "popover", "metric", "tabs", "status", "spinner",
    "dialog", "chat_input", "segmented_control", "pills", "progress", "badge",
    # st.column_config: a column's label (first argument) and help are the table's visible header
    "Column", "TextColumn", "NumberColumn", "CheckboxColumn", "SelectboxColumn", "MultiselectColumn",
    "DatetimeColumn", "DateColumn", "TimeColumn", "ListColumn", "LinkColumn", "ImageColumn", "JsonColumn",
    "LineChartColumn", "BarChartColumn", "AreaChartColumn", "ProgressColumn",
}  # fmt: skip
SHOWN_KEYWORDS = {"label", "help", "placeholder", "body", "text", "caption", "title"}
WORDS = re.compile(r"[A-Za-z_]{2,}")
# Names that read the same in every language: a literal made only of these needs no catalog entry.
KEPT_AS_IS = {
    "ERROR",  # advisor levels, as splinter and PgHero name them
    "WARN",
    "INFO",
    "queryid",  # pg_stat_statements' own column name
    "DBA",
    "Admin",
    "SQL",
    "DDL",
    "RLS",
    "JSON",
    "CSV",
    "PostgreSQL",
    "Supabase",
    "Gemini",
    "pg_cron",
    "hypopg",
    "Excel",
    # units
    "ms",
    "kB",
    "MB",
    "GB",
    "TB",
}


def _words(text: str) -> bool:
    return any(word not in KEPT_AS_IS for word in WORDS.findall(text))


def _visible_literal(node: ast.expr) -> bool:
    """A string literal (or f-string with literal words) handed to the screen as it is, not through ``_``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _words(node.value)
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.Constant) and _words(str(part.value)) for part in node.values)
    return False


def _is_logger(receiver: ast.expr) -> bool:
    name = (
        receiver.id if isinstance(receiver, ast.Name) else receiver.attr if isinstance(receiver, ast.Attribute) else ""
    )
    return name.lower().strip("_") in {"log", "logger", "logging"}


def unmarked_strings(path: Path) -> list[str]:
    """``file:line: text`` for each visible literal in a Streamlit call that does not go through ``_``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    shown_as = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SHOWN):
            continue
        if _is_logger(node.func.value):
            continue  # log.warning("...") goes to the server's log, in English, not to the screen
        candidates = list(node.args[:1]) + [kw.value for kw in node.keywords if kw.arg in SHOWN_KEYWORDS]
        for arg in candidates:
            if _visible_literal(arg):
                found.append(f"{shown_as}:{arg.lineno}: {ast.unparse(arg)[:80]}")
    return found


def test_every_marked_string_has_a_portuguese_translation() -> None:
    gaps = missing(extract(), catalog("pt_BR"))
    assert not gaps, f"{len(gaps)} strings have no pt_BR translation (run tools/i18n.py, then translate): {gaps[:20]}"


@pytest.mark.parametrize("path", UI_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_visible_strings_go_through_the_catalog(path: Path) -> None:
    found = unmarked_strings(path)
    assert not found, "shown without _():\n" + "\n".join(found)


def test_the_lint_finds_an_unmarked_label(tmp_path: Path) -> None:
    page = tmp_path / "probe.py"
    page.write_text('import streamlit as st\nst.button("Save")\nst.title(_("Saved"))\nst.caption(f"{n} rows")\n')
    assert unmarked_strings(page) == ["probe.py:2: 'Save'", "probe.py:4: f'{n} rows'"]


def test_the_lint_reads_column_headers_and_skips_the_server_log(tmp_path: Path) -> None:
    page = tmp_path / "probe.py"
    page.write_text(
        "import streamlit as st\n"
        'config = {"n": st.column_config.NumberColumn("count", help=_("How many"))}\n'
        'log.warning("written to the server log, in English")\n'
        'st.download_button("Excel", b"")\n'
    )
    assert unmarked_strings(page) == ["probe.py:2: 'count'"]


def test_translations_keep_their_placeholders() -> None:
    """A translated message with a different ``{name}`` set would raise (or lose a value) in ``.format``."""
    placeholder = re.compile(r"\{[^{}]*\}")
    wrong = []
    for message in catalog("pt_BR"):
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set(placeholder.findall(ids[-1]))
        wrong += [s for s in strings if set(placeholder.findall(s)) != expected]
    assert not wrong


def test_catalog_compiles_and_translates() -> None:
    pt = i18n.translations("pt_BR")
    assert pt.gettext("Table explorer") == "Explorador de tabelas"
    assert pt.gettext("a string nobody marked") == "a string nobody marked"
    assert i18n.translations("en").gettext("Table explorer") == "Table explorer"


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("pt-BR", "pt_BR"),
        ("pt", "pt_BR"),
        ("pt-PT", "pt_BR"),
        ("en-US", "en"),
        ("de-DE", "en"),
        (None, "en"),
        ("", "en"),
    ],
)
def test_browser_language_negotiation(tag: str | None, expected: str) -> None:
    assert i18n.negotiate(tag) == expected


def test_numbers_and_dates_follow_the_locale() -> None:
    assert i18n.format_number(1234.5, "en") == "1,234.5"
    assert i18n.format_number(1234.5, "pt_BR") == "1.234,5"
    assert i18n.format_number(2, "pt_BR", digits=2) == "2,00"
    assert i18n.format_percent(0.1234, "pt_BR") == "12,3%"
    moment = dt.datetime(2026, 3, 5, 14, 7, tzinfo=dt.UTC)
    assert "mar" in i18n.format_datetime(moment, "pt_BR").lower()
    assert i18n.format_datetime(moment, "en").startswith("Mar 5, 2026")
    assert i18n.format_date(moment.date(), "pt_BR", length="short") == "05/03/2026"
