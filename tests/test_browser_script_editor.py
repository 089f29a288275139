"""The project script editor in a real browser with no internet (issue 15, section 3: editor parity, offline).

Every request that leaves the machine is refused, as on a server without internet: creating a project opens it,
creating a script opens the script page, whose code editor (the SQL editor's) draws, runs on Ctrl+Enter and marks
an error in its gutter. The requests refused are listed: the only one is the editor bundle's Google Fonts
@import (known, see tests/test_offline_assets.py), and the editor works without it.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlparse

import pytest
from apptest_helpers import make_user
from test_browser import log_in, open_page, settle, title_of

pytestmark = pytest.mark.browser


def test_script_editor_works_offline(app_db: Any, browser_page: Any, app_url: str) -> None:
    from playwright.sync_api import expect

    page = browser_page
    refused: list[str] = []

    def offline(route: Any) -> None:
        host = urlparse(route.request.url).hostname or ""
        if host in ("127.0.0.1", "localhost", "::1") or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort("internetdisconnected")

    page.context.route("**/*", offline)
    try:
        username, password = make_user(app_db.dsn, "analyst", password="browser-pass-789")
        log_in(page, app_url, username, password)

        # Creating a project opens it; creating a script opens the script page.
        open_page(page, title_of("projects"))
        name = f"Offline {uuid.uuid4().hex[:6]}"
        form = page.locator('[data-testid="stForm"]').first
        form.get_by_label("Name", exact=True).fill(name)
        form.get_by_role("button", name="Create project").click()
        settle(page, 800)
        expect(page.locator("h1").filter(has_text=name)).to_be_visible(timeout=30_000)
        script_form = page.locator('[data-testid="stForm"]').first
        script_form.get_by_label("Script name").fill("pets by species")
        script_form.get_by_label("SQL (optional)").fill("select 1 as one")
        script_form.get_by_role("button", name="Create script").click()
        settle(page, 800)
        expect(page.locator("h1").filter(has_text="pets by species")).to_be_visible(timeout=30_000)

        # The code editor: type a statement with an error, Ctrl+Enter, the error is marked in the gutter.
        editor = page.frame_locator('iframe[title="code_editor.code_editor"]')
        content = editor.locator(".ace_editor:not(.ace_autocomplete) .ace_content").first
        expect(content).to_be_visible(timeout=30_000)
        content.click()
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        page.keyboard.insert_text("select species,\n  nme\nfrom public.pets")
        page.keyboard.press("Escape")
        page.keyboard.press("Control+Enter")
        settle(page, 1000)
        expect(page.get_by_text("SQLSTATE 42703").first).to_be_visible(timeout=30_000)
        expect(page.get_by_text("line 2, column 3")).to_be_visible()
        expect(editor.locator(".ace_gutter-cell.ace_error")).to_have_count(1, timeout=30_000)

        # Fixed and run again: rows, with their downloads.
        content.click()
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        page.keyboard.insert_text("select species, count(*) as pets\nfrom public.pets\ngroup by species")
        page.keyboard.press("Escape")
        page.keyboard.press("Control+Enter")
        settle(page, 1000)
        expect(page.locator('[data-testid="stDataFrame"]').first).to_be_visible(timeout=30_000)
        expect(page.get_by_test_id("stDownloadButton").filter(has_text="CSV")).to_be_visible()
        expect(editor.locator(".ace_gutter-cell.ace_error")).to_have_count(0)
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    finally:
        page.context.unroute("**/*")
    print(f"requests refused (no internet): {refused}")
    # The editor is served from a copy of its build without the themes' Google Fonts import (offline_assets.py).
    assert not refused, f"requests that need the internet: {refused}"
