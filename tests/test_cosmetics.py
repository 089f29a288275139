"""Cosmetic defects of issue 15 (section 3), each pinned where a test can see it.

"rows (est.)" (the explorer) and `dba-admin sql` printing NaN have tests of their own; the editor's font is in
tests/test_pages_script_editor.py and tests/test_offline_assets.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from apptest_helpers import logged_in_page


@pytest.fixture(autouse=True)
def _app_env(app_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))


def block_keys(node: Any) -> list[str]:
    """The ids of every keyed container under ``node`` (AppTest's tree), depth first."""
    found = [getattr(node.proto, "id", "")] if getattr(node, "proto", None) is not None else []
    for child in getattr(node, "children", {}).values():
        found += block_keys(child)
    return [k for k in found if k]


def test_dashboard_opens_on_now_and_each_tab_draws_only_its_part(app_db: Any) -> None:
    at, _ = logged_in_page(app_db.dsn, "pages/dashboard.py", "dba")
    assert [t.label for t in at.tabs] == ["Now", "Top statements", "Growth over time"]
    headings = [h.value for h in at.subheader]
    assert "Size" in headings and "Growth over time" not in headings and "Top statements by total time" not in headings
    assert any("dashboard_live_now" in k for k in block_keys(at.main))

    at.session_state["dashboard_tab"] = "Growth over time"
    at.run()
    assert not at.exception, at.exception
    headings = [h.value for h in at.subheader] + [h.value for h in at.header] + [m.value for m in at.markdown]
    assert headings.count("Growth over time") == 1 and "Size" not in headings
    # The growth block sits in a container of its own: a part above it that draws a varying number of elements
    # cannot shift it (a shifted block left a stale copy of its heading on screen during reruns).
    assert any("dashboard_growth_block" in k for k in block_keys(at.main))

    at.session_state["dashboard_tab"] = "Top statements"
    at.run()
    assert not at.exception, at.exception
    assert "Top statements by total time" in [h.value for h in at.subheader]
    assert any("dashboard_live_statements" in k for k in block_keys(at.main))


def test_cache_hit_ratio_is_a_figure_against_its_target(app_db: Any) -> None:
    at, _ = logged_in_page(app_db.dsn, "pages/dashboard.py", "dba")
    shown = next(m for m in at.metric if m.label == "Blocks found in shared buffers")
    assert shown.value.endswith("%"), shown.value
    ratio = float(shown.value.rstrip(" %").replace(",", "")) / 100
    assert 0 <= ratio <= 1
    assert shown.proto.delta.endswith("points") and shown.proto.delta.startswith("-" if ratio < 0.99 else "+")
    assert not [c for c in at.get("plotly_chart") if json.loads(c.proto.spec)["data"][0].get("type") == "indicator"]


def test_reset_password_button_has_room_for_its_label(app_db: Any) -> None:
    at, _ = logged_in_page(app_db.dsn, "pages/users.py", "admin")
    reset = at.button(key="users_reset")
    assert reset.label == "Reset password" and "shown once" in (reset.help or "")
    own = [c for c in at.columns if [b.key for b in c.button] == ["users_reset"]]
    assert len(own) == 1 and own[0].proto.weight >= 0.5, "two buttons a row, not four (which cut the label)"
