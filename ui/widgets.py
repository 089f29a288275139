"""Small UI pieces the Projects pages share: navigation to one project or script, diffs, run tables, formats.

Kept out of the pages so the project, script and history pages show a diff and a history the same way. A run's
results (and the code editor) are ui/sql_workbench.py's, shared by the SQL editor and the script page.
"""

from __future__ import annotations

import datetime as dt
import html
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

from dba_admin.database import Health
from dba_admin.projects import Diff, Execution
from ui.i18n import _, ngettext, number
from ui.markdown import escape_markdown
from ui.session import show_error

PROJECT_KEY = "project_id"  # the project page's selection, shared with the pages that link to it
SCRIPT_KEY = "script_id"  # the script page's selection
PROJECT_FLASH = "project_flash"  # a message the project page shows once (e.g. "Created project …")
PROJECT_PAGE = "pages/project.py"
SCRIPT_PAGE = "pages/script.py"
PROJECTS_PAGE = "pages/projects.py"

APP_ROOT = Path(__file__).resolve().parent.parent

STATUS_ICONS = {"success": "✅", "error": "❌", "timeout": "⏱️", "cancelled": "🚫"}
ORIGINS = {"interactive": "interactive", "scheduled": "🕒 scheduled"}  # run data, like the status: not translated


def selected_id(session_key: str) -> uuid.UUID | None:
    """The id a detail page shows: ``?id=`` first (a shared link), else what the previous page chose.

    The choice is written back to both places, so the URL in the address bar can be copied and shared and a
    rerun without the parameter keeps the same object.
    """
    raw = st.query_params.get("id")
    chosen: uuid.UUID | None = None
    if raw:
        try:
            chosen = uuid.UUID(str(raw))
        except ValueError:
            st.warning(
                _("The link's id {id} is not valid; showing your last selection instead.").format(
                    id=escape_markdown(repr(raw))
                )
            )
    if chosen is None:
        remembered = st.session_state.get(session_key)
        if remembered:
            try:
                chosen = uuid.UUID(str(remembered))
            except ValueError:
                chosen = None
    if chosen is not None:
        st.session_state[session_key] = str(chosen)
        if st.query_params.get("id") != str(chosen):
            st.query_params["id"] = str(chosen)
    return chosen


def page_exists(page: str) -> bool:
    """Whether a page file (relative to app.py) is installed: pages land issue by issue."""
    return (APP_ROOT / page).is_file()


def open_project(project_id: uuid.UUID) -> None:
    """Go to the project page for one project (and put its id in the URL)."""
    st.session_state[PROJECT_KEY] = str(project_id)
    st.switch_page(PROJECT_PAGE, query_params={"id": str(project_id)})


def open_script(script_id: uuid.UUID) -> None:
    """Go to the script page for one script (and put its id in the URL)."""
    st.session_state[SCRIPT_KEY] = str(script_id)
    st.switch_page(SCRIPT_PAGE, query_params={"id": str(script_id)})


def what_ran(run: Execution) -> str:
    """A run's script as people name it; runs keep their history when their script or project is deleted."""
    if run.script_name:
        return run.script_name
    if run.script_id is None and run.project_id is None and run.version is None:
        return _("ad-hoc SQL")
    return _("(deleted script)")


def fmt_time(value: dt.datetime | None) -> str:
    """A timestamp as people read it in a table cell: UTC, to the second."""
    if value is None:
        return "—"
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 1000:
        return f"{number(value / 1000, digits=2)} s"
    return f"{number(value, digits=1)} ms"


def fmt_bytes(n: float | None) -> str:
    """A size as people read it: 1,234 B, 12.3 kB … TB (binary steps); "—" when unknown."""
    if n is None:
        return "—"
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(value) < 1024 or unit == "TB":
            return f"{number(value, digits=0 if unit == 'B' else 1)} {unit}"
        value /= 1024
    return f"{number(value, digits=1)} TB"


def executions_frame(runs: Sequence[Execution], *, with_script: bool = True) -> pd.DataFrame:
    """Runs as a table: newest first, one row each, the SQL shortened to its first line."""
    records = []
    for run in runs:
        record: dict[str, object] = {
            "run": run.id,
            "when": run.started_at,
            "status": f"{STATUS_ICONS.get(run.status, '')} {run.status}".strip(),
            "rows": run.rows,
            "duration ms": None if run.duration_ms is None else round(run.duration_ms, 1),
            "by": run.executed_by,
            "connection": run.connection or "—",  # where it ran (runs from before connections existed: unknown)
            "origin": ORIGINS.get(run.origin, run.origin),  # a person, or a worker for a schedule
        }
        if with_script:
            record["project"] = run.project_name or "—"
            record["script"] = what_ran(run)
        record["version"] = run.version
        record["SQL"] = first_line(run.sql)
        record["error"] = run.error or ""
        records.append(record)
    return pd.DataFrame.from_records(records)


def executions_column_config() -> dict[str, Any]:
    """Headers for :func:`executions_frame` in the reader's language (pass as ``column_config``); the frame's own
    column names stay English so pages can drop or pick columns by name."""
    labels = {
        "run": _("run"),
        "when": _("when"),
        "status": _("status"),
        "rows": _("rows"),
        "duration ms": _("duration ms"),
        "by": _("by"),
        "connection": _("connection"),
        "origin": _("origin"),
        "project": _("project"),
        "script": _("script"),
        "version": _("version"),
        "SQL": "SQL",
        "error": _("error"),
    }
    return {key: st.column_config.Column(label) for key, label in labels.items()}


def reachability_metric(column: Any, health: Health) -> None:
    """ "Database: reachable / down" with the connect time: the same words on Home, the Dashboard and the workspace."""
    column.metric(
        _("Database"),
        _("reachable") if health.reachable else _("down"),
        _("{ms} ms to connect").format(ms=number(health.connect_ms, digits=1))
        if health.connect_ms is not None
        else None,
        delta_color="off",
        delta_arrow="off",
    )


def first_line(text: str, width: int = 100) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


def lazy_tabs(labels: Mapping[str, str], *, key: str) -> dict[str, Any]:
    """``st.tabs`` of which only the open tab is run and sent (``on_change="rerun"``, streamlit 1.67): a page opens
    at the cost of one tab, not of all. Returns each tab by its name in the code; ``labels`` maps a name to its
    msgid, translated here. Draw in a tab only when ``tab_open`` says so."""
    return dict(zip(labels, st.tabs([_(label) for label in labels.values()], key=key, on_change="rerun"), strict=True))


def tab_open(tab: Any) -> bool:
    """Whether a tab of ``lazy_tabs`` is the open one (None: no state tracking, so every tab runs)."""
    return tab.open is not False


@contextmanager
def page_part(action: str) -> Iterator[None]:
    """One part of a page that may fail on its own (a locked table, a timeout): its error shows in its place.

    The rest of the page still renders. ``action`` names the part for the message ("Reading the largest
    tables"). st.stop / st.rerun / st.switch_page pass through untouched.
    """
    box = st.container()
    try:
        with box:
            yield
    except ScriptControlException:
        raise
    except Exception as exc:  # shown, never a traceback
        with box:
            show_error(exc, action=action)


_DIFF_COLOURS = {
    "delete": "rgba(248, 81, 73, 0.18)",
    "insert": "rgba(46, 160, 67, 0.18)",
    "replace": "rgba(210, 153, 34, 0.18)",
}


def _diff_side_html(diff: Diff, side: str) -> str:
    """One side of a side-by-side diff as escaped HTML lines, the changed ones coloured."""
    lines = []
    for row in diff.rows:
        number = row.left_no if side == "left" else row.right_no
        text = row.left if side == "left" else row.right
        colour = ""
        if row.tag != "equal" and text is not None:
            tag = row.tag
            if row.tag == "replace":
                tag = "delete" if side == "left" else "insert"
            colour = _DIFF_COLOURS[tag]
        elif text is None:
            colour = "rgba(128, 128, 128, 0.08)"
        marker = " "
        if text is not None and row.tag != "equal":
            marker = "-" if side == "left" else "+"
        gutter = f"{number:>4}" if number is not None else "    "
        body = html.escape(text if text is not None else "")
        lines.append(
            f'<div style="background:{colour or "transparent"};white-space:pre;min-height:1.3em">'
            f'<span style="opacity:.5">{gutter} {marker} </span>{body}</div>'
        )
    return (
        '<div style="font-family:monospace;font-size:0.85em;overflow-x:auto;border:1px solid rgba(128,128,128,.3);'
        'border-radius:4px;padding:4px">' + "".join(lines) + "</div>"
    )


def show_diff(diff: Diff, *, key: str) -> None:
    """Two aligned columns (removed lines red on the left, added green on the right) and the unified text."""
    if not diff.changed:
        st.info(
            _("{left} and {right} have the same text.").format(
                left=escape_markdown(diff.left_label), right=escape_markdown(diff.right_label)
            )
        )
        return
    st.caption(
        ngettext("{count} line added", "{count} lines added", diff.added).format(count=number(diff.added))
        + ", "
        + ngettext("{count} line removed", "{count} lines removed", diff.removed).format(count=number(diff.removed))
    )
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{escape_markdown(diff.left_label)}**")
        st.html(_diff_side_html(diff, "left"))
    with right:
        st.markdown(f"**{escape_markdown(diff.right_label)}**")
        st.html(_diff_side_html(diff, "right"))
    with st.expander(_("Unified diff")):
        st.code(diff.unified, language="diff")
        st.download_button(_("Download .diff"), diff.unified.encode("utf-8"), "changes.diff", "text/x-diff", key=key)
