"""Write docs/ADVISORS.md from the headers of sql/checks/*.sql, so the list a DBA reads is the checks that run.

Run ``.venv/bin/python tools/advisors_doc.py`` after adding or changing a check; tests/test_advisor_citations.py
fails while the file is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dba_admin.advisors import CATEGORIES, THRESHOLD_DEFAULTS, load_checks  # noqa: E402

DOC = ROOT / "docs" / "ADVISORS.md"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").strip()


def render() -> str:
    """The whole document: one table per category, each check's "Finds" and "Why it matters" from its header."""
    checks = load_checks()
    lines = [
        "# Advisor checks",
        "",
        "Generated from the headers of `sql/checks/*.sql` by `tools/advisors_doc.py` (a test keeps it current).",
        f"{len(checks)} checks. Each runs on the connection's monitor login in its own read-only transaction; the",
        "thresholds below are its defaults (`dba-admin advise` and the Advisors page use them; a run can override",
        "them). A finding's fix_sql is shown, never applied by the app.",
        "",
    ]
    for category in CATEGORIES:
        lines += [f"## {category.title()}", "", "| check | finds | why it matters |", "|---|---|---|"]
        for check in (c for c in checks if c.category == category):
            finds, _, why = check.summary.partition("Why it matters:")
            finds = finds.removeprefix("Finds:")
            needs = " (needs pg_stat_statements)" if check.requires else ""
            lines.append(f"| `{check.name}`{needs} | {_cell(finds)} | {_cell(why)} |")
        lines.append("")
    lines += ["## Thresholds", "", "| setting | default |", "|---|---|"]
    lines += [f"| `dba_admin.{key}` | `{value}` |" for key, value in THRESHOLD_DEFAULTS.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    DOC.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)}")
