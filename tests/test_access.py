"""The page registry: every page exists, roles see what they should, and every page renders for an admin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from apptest_helpers import logged_in_app, texts

from dba_admin.access import ADMIN_ONLY, DBA_ROLES, PAGES, SECTIONS, allowed, pages_by_section

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _app_env(app_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))


def test_every_registered_page_has_its_file() -> None:
    missing = [spec.file for spec in PAGES if not (ROOT / spec.file).is_file()]
    assert missing == []
    assert {spec.section for spec in PAGES} <= set(SECTIONS)
    assert sum(spec.default for spec in PAGES) == 1


@pytest.mark.parametrize(
    ("role", "visible", "hidden"),
    [
        ("viewer", {"home", "explorer", "sql_editor", "projects", "history", "assistant"}, {"dashboard", "users"}),
        ("analyst", {"projects", "sql_editor"}, {"activity", "advisors", "audit"}),
        ("dba", {"dashboard", "activity", "advisors"}, {"users", "audit"}),
        ("admin", {"dashboard", "users", "audit"}, set()),
    ],
)
def test_sidebar_by_role(role: str, visible: set[str], hidden: set[str]) -> None:
    shown = {spec.key for specs in pages_by_section(role).values() for spec in specs}
    assert visible <= shown and not (hidden & shown)
    assert "project" not in shown and "script" not in shown, "detail pages are reached by links"
    assert not pages_by_section(None)


def test_role_sets() -> None:
    users = next(p for p in PAGES if p.key == "users")
    assert users.roles == ADMIN_ONLY and allowed("admin", users) and not allowed("dba", users)
    activity = next(p for p in PAGES if p.key == "activity")
    assert activity.roles == DBA_ROLES and not allowed("analyst", activity)


def test_every_page_renders_for_an_admin(app_db: Any) -> None:
    at, _ = logged_in_app(app_db.dsn, "admin")
    for spec in PAGES:
        at.switch_page(spec.file).run()
        assert not at.exception, f"{spec.file}: {at.exception}"
        assert "needs the role" not in texts(at), spec.file
