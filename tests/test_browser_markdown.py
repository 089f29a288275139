"""In Chromium: a project whose name and description are Markdown shows them as text, fetches nothing.

Issue 10, section 5: a project named ``![x](http://127.0.0.1:9/p)`` made every member's browser fetch that
image, and a description ``[login again](http://127.0.0.1:9/phish)`` was a working link. Port 9 (discard) on
loopback: nothing answers, and a request to it is recorded here whether it fails or not. The server and browser
are tests/browser_fixtures.py's, the helpers tests/test_browser.py's; no screenshot is written.
"""

from __future__ import annotations

from typing import Any

import pytest
from apptest_helpers import make_user
from test_browser import log_in, open_page, settle, title_of

pytestmark = pytest.mark.browser

HOST = "127.0.0.1:9"
PROJECT_NAME = f"![x](http://{HOST}/p)"
DESCRIPTION = f"[login again](http://{HOST}/phish)"

WORD_JOINER = "\u2060"  # escape_markdown's invisible break of GFM autolinks (after "http://")

_LINKS_AND_IMAGES = """(host) => ({
    images: [...document.querySelectorAll('img')].map((i) => i.src).filter((s) => s.includes(host)),
    links: [...document.querySelectorAll('a[href]')].map((a) => a.href).filter((h) => h.includes(host)),
})"""


def visible_text(locator: Any) -> str:
    """What a reader sees: the rendered text, without the zero-width word joiners."""
    return "\n".join(locator.all_inner_texts()).replace(WORD_JOINER, "")


def wait_for_text(page: Any, locator: Any, text: str, timeout_ms: int = 30_000) -> str:
    """The locator's visible text once it holds ``text`` (else the last text seen, for the failing assert).

    A click's rerun (and the switch to another page) brings the result later than the click: on a loaded machine
    settle() can return before that rerun has even started, so poll."""
    seen = visible_text(locator)
    for _ in range(timeout_ms // 200):
        if text in seen:
            break
        page.wait_for_timeout(200)
        seen = visible_text(locator)
    return seen


def test_markdown_in_a_project_name_is_only_text(app_db: Any, browser_page: Any, app_url: str) -> None:
    from playwright.sync_api import expect

    page = browser_page
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url) if HOST in request.url else None)

    username, password = make_user(app_db.dsn, "analyst", password="browser-pass-456")
    log_in(page, app_url, username, password)

    # Projects: create the project through the form; the app opens it, and its flash names it.
    open_page(page, title_of("projects"))
    form = page.locator('[data-testid="stForm"]').first
    form.get_by_label("Name", exact=True).fill(PROJECT_NAME)
    form.get_by_label("Description (optional)").fill(DESCRIPTION)
    form.get_by_role("button", name="Create project").click()
    settle(page, 800)
    main = page.locator('[data-testid="stMain"]')
    assert f"Created project {PROJECT_NAME}." in wait_for_text(page, main, f"Created project {PROJECT_NAME}.")
    assert page.evaluate(_LINKS_AND_IMAGES, HOST) == {"images": [], "links": []}

    # Project (opened by creating it): the title and the description read as typed; nothing links or loads from
    # the host.
    assert PROJECT_NAME in wait_for_text(page, page.locator("h1"), PROJECT_NAME)
    assert DESCRIPTION in visible_text(main)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    assert page.evaluate(_LINKS_AND_IMAGES, HOST) == {"images": [], "links": []}
    assert requested == [], f"the browser asked {HOST} for {requested}"
