"""The Portuguese interface in a real browser (Chromium via Playwright, the shared app server of browser_fixtures).

A user switches the language in the sidebar, sees Portuguese, reloads (a new Streamlit session, logged in again by
the cookie) and still sees Portuguese: the choice is saved with the account. A browser whose language is pt-BR sees
the login page in Portuguese before anyone logs in.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from apptest_helpers import make_user
from browser_fixtures import VIEWPORT
from test_browser import log_in, settle

from dba_admin.auth import UserStore

pytestmark = pytest.mark.browser


def test_switch_to_portuguese_in_the_sidebar_and_keep_it_after_a_reload(
    app_db: Any, app_url: str, browser_page: Any
) -> None:
    from playwright.sync_api import expect

    context = browser_page.context.browser.new_context(viewport=VIEWPORT)  # fresh cookies, the browser in English
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        username, password = make_user(app_db.dsn, "analyst")
        log_in(page, app_url, username, password)
        sidebar = page.locator('[data-testid="stSidebar"]')
        main = page.locator('[data-testid="stMain"]')
        expect(sidebar.get_by_role("button", name="Log out")).to_be_visible()
        expect(main.get_by_text("Where to go")).to_be_visible()

        picker = sidebar.get_by_test_id("stSelectbox").filter(has_text="Language")
        picker.scroll_into_view_if_needed()
        picker.get_by_role("combobox").click()
        page.keyboard.type("Portug")  # filter the list, as a user would, then take the one left
        page.keyboard.press("Enter")
        settle(page, 800)
        expect(sidebar.get_by_role("button", name="Sair")).to_be_visible(timeout=30_000)
        expect(sidebar.get_by_role("link", name="Início")).to_be_visible()
        expect(main.get_by_text("Para onde ir")).to_be_visible()
        expect(main.get_by_text("Where to go")).to_have_count(0)
        with psycopg.connect(app_db.dsn) as conn:
            assert UserStore(conn).get(username).locale == "pt_BR"

        page.reload()  # a new session: the cookie logs the user in, the saved language comes with the account
        expect(sidebar.get_by_text(username, exact=True)).to_be_visible(timeout=60_000)
        settle(page, 800)
        expect(sidebar.get_by_role("button", name="Sair")).to_be_visible(timeout=30_000)
        expect(main.get_by_text("Para onde ir")).to_be_visible()
        # The picker follows the saved choice once the cookie's login rerun reaches the browser (seen taking more than
        # the default 5 s on a loaded machine, while the labels around it were already Portuguese).
        expect(sidebar.get_by_role("combobox", name="Idioma")).to_have_value("Português (Brasil)", timeout=30_000)
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    finally:
        context.close()


def test_a_portuguese_browser_sees_the_login_page_in_portuguese(app_url: str, browser_page: Any) -> None:
    from playwright.sync_api import expect

    context = browser_page.context.browser.new_context(viewport=VIEWPORT, locale="pt-BR")
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(app_url)
        expect(page.get_by_label("Usuário")).to_be_visible(timeout=60_000)
        settle(page)
        expect(page.get_by_label("Senha", exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="Entrar", exact=True)).to_be_visible()
        expect(page.get_by_text("entre para continuar")).to_be_visible()
        expect(page.get_by_label("Username")).to_have_count(0)
    finally:
        context.close()
