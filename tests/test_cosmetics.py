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


def test_dashboard_growth_heading_once_and_in_a_place_of_its_own(app_db: Any) -> None:
    at, _ = logged_in_page(app_db.dsn, "pages/dashboard.py", "dba")
    headings = [h.value for h in at.subheader] + [h.value for h in at.header] + [m.value for m in at.markdown]
    assert headings.count("Growth over time") == 1
    # The live fragment draws a varying number of elements; in its own container it cannot shift the growth block
    # (a shifted block left a stale copy of its heading on screen during reruns).
    top_level = [child for child in at.main.children.values() if getattr(child, "type", None) != "divider"]
    keys = [getattr(child.proto, "id", "") for child in top_level]
    assert any("dashboard_live" in k for k in keys) and any("dashboard_growth_block" in k for k in keys), keys


def test_cache_hit_gauge_leaves_room_for_its_labels(app_db: Any) -> None:
    at, _ = logged_in_page(app_db.dsn, "pages/dashboard.py", "dba")
    gauges = [
        json.loads(c.proto.spec)
        for c in at.get("plotly_chart")
        if json.loads(c.proto.spec)["data"][0].get("type") == "indicator"
    ]
    assert gauges, "the cache hit ratio gauge is drawn"
    layout = gauges[0]["layout"]
    margin = layout["margin"]
    assert min(margin["l"], margin["r"]) >= 30 and margin["t"] >= 30, "tick labels 0 and 100 are not clipped"
    assert gauges[0]["data"][0]["domain"]["y"][1] < 1, "the number and arc leave room at the top"


def test_reset_password_button_has_room_for_its_label(app_db: Any) -> None:
    at, _ = logged_in_page(app_db.dsn, "pages/users.py", "admin")
    reset = at.button(key="users_reset")
    assert reset.label == "Reset password" and "shown once" in (reset.help or "")
    own = [c for c in at.columns if [b.key for b in c.button] == ["users_reset"]]
    assert len(own) == 1 and own[0].proto.weight >= 0.5, "two buttons a row, not four (which cut the label)"
