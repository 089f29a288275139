"""The SQL workbench pieces the SQL editor and the project script editor share: the code editor and the results.

One code editor for both pages (streamlit-code-editor, Ace): highlighting, line numbers, Ctrl/Cmd+Enter (the
component's "submit"), the last error as a gutter marker at its line and column, and no font from the internet
(see ``LOCAL_MONOSPACE``). One way to show a run: a tab per statement, the error with its position and a caret,
the rows with CSV/JSON/Excel downloads and a chart builder.

The editor's text lives in ``st.session_state[text_key]`` (a plain string the pages and other pages set); each
editor event (blur, submit, a button) has its own id and is taken into that text once, by ``take_editor_event``.
Without the component (an install without the optional package) a plain text area stands in.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from dba_admin.charts import CHART_TYPES, ChartError, ChartSpec, build_figure, column_roles, default_spec
from dba_admin.database import StatementResult, run_summary
from dba_admin.editor_support import error_mark
from dba_admin.errors import SqlErrorInfo
from dba_admin.export import excel_available, to_csv_bytes, to_excel_bytes, to_json_bytes
from dba_admin.i18n import N_
from dba_admin.offline_assets import offline_build
from dba_admin.projects import RunOutcome
from dba_admin.sql_text import Kind
from ui.i18n import _, ngettext, number
from ui.markdown import escape_markdown
from ui.session import get_services

try:  # the real editor; the pages still work (plain text area) where the package is missing
    from code_editor import code_editor
except ImportError:  # pragma: no cover - exercised only without the optional component
    code_editor = None

STATUS_ICONS = {"ok": "✅", "error": "❌", "rolled_back": "↩️"}

_OFFLINE_LOCK = threading.Lock()
_offline_served = False
_LOG = logging.getLogger(__name__)


def serve_editor_offline(cache_root: Path) -> None:
    """Serve the code editor from a copy of its build without the Google Fonts import (dba_admin/offline_assets.py).

    Done once per process: the component is registered again under its own name ("code_editor.code_editor", so the
    page and its iframe are unchanged) with the copy's folder. If the copy cannot be made (a read-only disk), the
    editor keeps its own build: it works the same, and only the font request remains."""
    global _offline_served
    if code_editor is None or _offline_served:
        return
    with _OFFLINE_LOCK:
        if _offline_served:
            return
        import code_editor as package
        from streamlit.components.v1.custom_component import CustomComponent
        from streamlit.runtime import exists, get_instance

        original = package._component_func
        try:
            folder = offline_build(Path(original.abspath or ""), cache_root)
        except OSError as exc:
            _LOG.warning("code editor served from its own build (with its font import): %s", exc)
            _offline_served = True
            return
        local = CustomComponent(name=original.name, path=str(folder), url=None, module_name=original.module_name)
        if exists():
            registry_log = logging.getLogger("streamlit.components.lib.local_component_registry")
            level = registry_log.level
            registry_log.setLevel(logging.ERROR)  # "overriding previously-registered": that is the point
            try:
                get_instance().component_registry.register_component(local)
            finally:
                registry_log.setLevel(level)
        package._component_func = local
        _offline_served = True


# The component's Ace themes default to "Source Code Pro" (and its bundle @imports it from Google Fonts): the app
# must work without the internet, so the editor is told to use fonts every machine has.
LOCAL_MONOSPACE = (
    'ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace'
)

RUN_BUTTON: dict[str, Any] = {
    "name": N_("Run"),
    "feather": "Play",
    "primary": True,
    "hasText": True,
    "alwaysOn": True,
    "showWithIcon": True,
    "commands": ["submit"],
    "style": {"bottom": "0.46rem", "right": "0.4rem"},
}
RUN_SELECTION_BUTTON: dict[str, Any] = {
    "name": N_("Run selection"),
    "feather": "PlayCircle",
    "hasText": True,
    "alwaysOn": True,
    "showWithIcon": True,
    "commands": [["response", "run_selection"]],
    "style": {"bottom": "0.46rem", "right": "5.2rem"},
}


# --- the editor -------------------------------------------------------------------------------------------------


def editor_config(
    text: str,
    *,
    key: str,
    annotations: Sequence[dict[str, Any]] = (),
    buttons: Sequence[dict[str, Any]] = (RUN_BUTTON,),
    placeholder: str | None = None,
    read_only: bool = False,
    height: Sequence[int] = (10, 28),
) -> dict[str, Any]:
    """The arguments the code editor is drawn with, the same on every page (a test reads them: no external font).

    Button names and the placeholder are shown in the reader's language (the buttons' English names are marked
    where they are defined)."""
    return {
        "code": text,
        "lang": "pgsql",
        "height": list(height),
        "key": key,
        "allow_reset": True,  # a new text from the page (load, restore, format) replaces the editor's
        "response_mode": ["blur"],
        "buttons": [] if read_only else [{**button, "name": _(button["name"])} for button in buttons],
        "options": {
            "showLineNumbers": True,
            "tabSize": 2,
            "wrap": False,
            "fontFamily": LOCAL_MONOSPACE,
            "readOnly": read_only,
        },
        "props": {
            "annotations": list(annotations),
            "placeholder": placeholder if placeholder is not None else _("Type SQL here"),
            "scrollMargin": [4, 4, 0, 0],
            "readOnly": read_only,
        },
        "component_props": {"style": {"fontFamily": LOCAL_MONOSPACE}},
    }


def sql_input(
    *,
    text_key: str,
    ace_key: str,
    area_key: str,
    annotations: Sequence[dict[str, Any]] = (),
    buttons: Sequence[dict[str, Any]] = (RUN_BUTTON,),
    placeholder: str | None = None,
    read_only: bool = False,
    label: str = "SQL",
) -> None:
    """Draw the code editor on ``st.session_state[text_key]`` (or the text-area stand-in without the component)."""
    if code_editor is not None:
        serve_editor_offline(get_services().settings.data_dir / "cache" / "components")
        code_editor(
            **editor_config(
                st.session_state[text_key],
                key=ace_key,
                annotations=annotations,
                buttons=buttons,
                placeholder=placeholder,
                read_only=read_only,
            )
        )
        return

    def _on_area_change() -> None:
        st.session_state[text_key] = st.session_state[area_key]

    if st.session_state.get(area_key) != st.session_state[text_key]:
        st.session_state[area_key] = st.session_state[text_key]
    st.text_area(
        label,
        key=area_key,
        height=260,
        on_change=_on_area_change,
        label_visibility="collapsed",
        disabled=read_only,
    )


def take_editor_event(*, ace_key: str, synced_key: str, text_key: str) -> dict[str, Any] | None:
    """The editor's newest event, once: its text goes into ``text_key``; None when there is no new event.

    Each event has its own id, remembered in ``synced_key``, so a rerun never takes (or runs) the same one twice.
    """
    event = st.session_state.get(ace_key)
    if not isinstance(event, dict) or not event.get("id") or event["id"] == st.session_state.get(synced_key):
        return None
    st.session_state[synced_key] = event["id"]
    st.session_state[text_key] = str(event.get("text") or "")
    return event


def error_annotations(text: str, ran_sql: str | None, error: SqlErrorInfo | None) -> list[dict[str, Any]]:
    """An error as an Ace gutter marker at its line and column, when the SQL that failed is the editor's text."""
    if error is None or ran_sql is None or ran_sql != text:
        return []
    mark = error_mark(text, error.position)
    if mark is None:
        return []
    return [{"row": mark.line - 1, "column": mark.column - 1, "type": "error", "text": error.message}]


def outcome_error(outcome: RunOutcome) -> SqlErrorInfo | None:
    """The error a run's marker points at: the run's own, else its first failed statement's."""
    if outcome.error is not None:
        return outcome.error
    return next((r.error for r in outcome.results if r.error is not None), None)


# --- results ----------------------------------------------------------------------------------------------------


def show_sql_error(info: SqlErrorInfo, sql: str, scope: str = "text") -> None:
    """SQLSTATE, message, and the offending line with a caret under the error position."""
    message = escape_markdown(info.message)
    head = f"SQLSTATE {info.sqlstate}: {message}" if info.sqlstate else message
    st.error(head, icon=":material/error:")
    mark = error_mark(sql, info.position)
    if mark is not None:
        if scope == "selection":
            st.markdown(_("At **{where}** of the selection").format(where=mark.where))
        else:
            st.markdown(_("At **{where}**").format(where=mark.where))
        st.code(mark.snippet, language=None)
    for label, value in ((_("Detail"), info.detail), (_("Hint"), info.hint), (_("Context"), info.context)):
        if value:
            st.caption(_("{label}: {value}").format(label=label, value=escape_markdown(value)))


def downloads(frame: pd.DataFrame, key: str) -> None:
    """CSV, JSON and (with openpyxl) Excel of a result; built on click only (``on_click="ignore"``: no rerun)."""
    cols = st.columns([1, 1, 1, 5])
    cols[0].download_button(
        "CSV",
        lambda: to_csv_bytes(frame),
        "result.csv",
        "text/csv",
        key=f"{key}_csv",
        icon=":material/download:",
        on_click="ignore",
    )
    cols[1].download_button(
        "JSON",
        lambda: to_json_bytes(frame),
        "result.json",
        "application/json",
        key=f"{key}_json",
        icon=":material/download:",
        on_click="ignore",
    )
    if excel_available():
        cols[2].download_button(
            "Excel",
            lambda: to_excel_bytes(frame),
            "result.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key=f"{key}_xlsx",
            icon=":material/download:",
            on_click="ignore",
        )
    else:
        cols[2].caption(_("Excel export needs openpyxl"))


def chart_builder(frame: pd.DataFrame, key: str) -> None:
    """A "Chart" toggle, then type, X, Y and colour pickers over the result's columns, and the Plotly chart."""
    if not st.toggle(_("Chart"), key=f"{key}_chart_on"):
        return
    roles = column_roles(frame)
    columns = list(roles)
    numeric = [c for c, r in roles.items() if r == "numeric"]
    start = default_spec(frame) or ChartSpec("bar", columns[0])
    c1, c2, c3, c4 = st.columns(4)
    kind = c1.selectbox(_("Chart type"), CHART_TYPES, index=CHART_TYPES.index(start.kind), key=f"{key}_kind")
    x = c2.selectbox("X", columns, index=columns.index(start.x), key=f"{key}_x")
    # The "no column" choices are None, shown in the reader's language: a column may be named "(none)".
    y_options: list[str | None] = [None, *numeric]
    y = c3.selectbox(
        "Y",
        y_options,
        index=y_options.index(start.y) if start.y in y_options else 0,
        key=f"{key}_y",
        format_func=lambda c: _("(count rows)") if c is None else c,
    )
    color = c4.selectbox(
        _("Color"), [None, *columns], key=f"{key}_color", format_func=lambda c: _("(none)") if c is None else c
    )
    spec = ChartSpec(kind, x, y, color)
    try:
        st.plotly_chart(build_figure(frame, spec), width="stretch", key=f"{key}_fig")
    except ChartError as exc:
        st.info(escape_markdown(exc))


def show_statement(res: StatementResult, sql: str, scope: str, key: str) -> None:
    """One statement of a run: rolled back / not run, its error with the caret, or its rows (downloads, chart)."""
    if res.status == "not_run":
        st.info(_("Not run: an earlier statement failed, so the run stopped there."))
        return
    if res.status == "rolled_back":
        st.warning(
            _(
                "Rolled back: this statement ran, but the text ran as one transaction and a later statement failed, "
                "so nothing it did was kept. Fix the failing statement and run again."
            ),
            icon=":material/undo:",
        )
    elif res.rolled_back and res.status == "ok":
        st.warning(
            _("Rolled back with your transaction (BEGIN without a COMMIT that took effect): nothing it did was kept."),
            icon=":material/undo:",
        )
    if res.status == "error" and res.error is not None:
        show_sql_error(res.error, sql, scope)
    elif res.returns_rows:
        parts = [
            ngettext("{count} row", "{count} rows", res.row_count).format(count=number(res.row_count)),
            f"{number(res.duration_ms, digits=1)} ms",
        ]
        if res.affected_rows is not None and res.kind != Kind.READ:
            parts.append(_affected(res.affected_rows))
        st.caption(" · ".join(parts))
        if res.truncated:
            st.warning(
                _(
                    "Row cap reached: showing the first {count} rows; the query returns more. "
                    "Add a LIMIT or aggregate to see the rest."
                ).format(count=number(res.row_count)),
                icon=":material/content_cut:",
            )
        if res.size_cut_notice:
            st.warning(res.size_cut_notice, icon=":material/content_cut:")
        st.dataframe(res.rows, width="stretch", hide_index=True, key=f"{key}_df")
        downloads(res.rows, key)
        chart_builder(res.rows, key)
    else:
        affected = f" · {_affected(res.affected_rows)}" if res.affected_rows is not None else ""
        done = escape_markdown(res.command_tag or res.command or "OK")
        st.success(f"{done}{affected} · {number(res.duration_ms, digits=1)} ms")
    for notice in res.notices:
        st.caption(escape_markdown(notice))


def _affected(count: int) -> str:
    return ngettext("{count} row affected", "{count} rows affected", count).format(count=number(count))


def show_statements(outcome: RunOutcome, sql: str, scope: str, key: str) -> None:
    """A run's statements, one tab each (the failed one open), after a sentence on what was kept.

    Widget keys are ``{key}_{statement index}``; ``sql`` is the text that ran (error positions point into it).
    """
    if not outcome.results:
        if outcome.error is not None:
            show_sql_error(outcome.error, sql, scope)
        return
    labels = []
    for r in outcome.results:
        icon = "↩️" if r.rolled_back and r.status == "ok" else STATUS_ICONS.get(r.status, "⏸")
        labels.append(f"{icon} {r.index + 1} · {escape_markdown(r.command or r.kind.value)}")
    failed = next((r for r in outcome.results if r.status == "error"), None)
    said = run_summary(outcome.results, read_only=outcome.read_only)
    if failed is not None and said and len(outcome.results) > 1:
        where = _("The tab of statement {number} is open below.").format(number=failed.index + 1)
        text = escape_markdown(said[0].upper() + said[1:]) + " " + where
        if failed.rolled_back:
            st.error(text, icon=":material/undo:")
        else:
            st.warning(text, icon=":material/warning:")
    default = labels[failed.index] if failed is not None else None
    for res, tab in zip(outcome.results, st.tabs(labels, default=default), strict=True):
        with tab:
            show_statement(res, sql, scope, f"{key}_{res.index}")
