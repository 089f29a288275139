"""In Chromium, as an admin (issue 16): the Schedules, Alerts and Usage pages on the suite's database, with a schedule,
an alert rule and a few recorded runs made through the core first, so each page shows what a team would see.

Uses the browser tests' shared server and a Chromium of its own (tests/browser_fixtures.py). The screenshots go with
the others (tools/screenshots.py keeps them).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from apptest_helpers import claims_of, make_user
from test_browser import _screenshots_folder, log_in, open_page, shot, title_of

from dba_admin.connections import DEMO_CONNECTION
from dba_admin.jobs.alerts import AlertEngine, RuleSpec
from dba_admin.jobs.schedules import ScheduleManager
from dba_admin.services import Services

__all__ = ["_screenshots_folder"]  # the autouse clean-up of the screenshots

pytestmark = pytest.mark.browser


@pytest.fixture
def services(app_db: Any) -> Iterator[Services]:
    built = Services.build(app_db.settings)
    yield built
    built.close()


def test_schedules_alerts_and_usage_pages(app_db: Any, services: Services, browser_page: Any, app_url: str) -> None:
    from playwright.sync_api import expect

    username, password = make_user(app_db.dsn, "admin")
    claims = claims_of(app_db.dsn, username)
    project = services.projects.create_project(claims, f"nightly-{uuid.uuid4().hex[:6]}")
    script = services.projects.create_script(
        claims, project.id, "appointments today", "select count(*) from public.appointments"
    )
    demo = services.connection(DEMO_CONNECTION)
    for sql_text in ("select 1", "select count(*) from public.pets", "select 1/0"):
        services.projects.run_adhoc(claims, sql_text, target=demo)
    services.projects.run_script(claims, script.id, target=demo)
    ScheduleManager(services.db).create(claims, script.id, DEMO_CONNECTION, "0 6 * * 1-5", "America/Sao_Paulo")
    rule_name = f"failed runs on demo {uuid.uuid4().hex[:4]}"
    AlertEngine(services).create_rule(
        RuleSpec(
            name=rule_name,
            kind="run_failure",
            parameters={},
            connection=DEMO_CONNECTION,
            window_minutes=15,
            webhook_url="http://127.0.0.1:9/hooks/T000/B000/secret",
            email_to="",
        ),
        actor=username,
    )

    page = browser_page
    no_exception = page.locator('[data-testid="stException"]')
    log_in(page, app_url, username, password)

    open_page(page, title_of("schedules"))
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible(timeout=30_000)
    # The grid draws on a canvas; its cells are in the page (for screen readers), not "visible" to Playwright.
    expect(page.get_by_text("0 6 * * 1-5 (America/Sao_Paulo)").first).to_be_attached()
    expect(no_exception).to_have_count(0)
    shot(page, "schedules")

    open_page(page, title_of("alerts"))
    expect(page.get_by_text(rule_name).first).to_be_attached(timeout=30_000)
    expect(page.get_by_text("secret")).to_have_count(0)  # the webhook's token is never shown
    expect(no_exception).to_have_count(0)
    shot(page, "alerts")

    open_page(page, title_of("usage"))
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible(timeout=30_000)
    expect(no_exception).to_have_count(0)
    shot(page, "usage")
