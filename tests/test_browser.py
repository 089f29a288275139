"""End to end in a real browser: Debian's Chromium driven by Playwright against the app served by Streamlit.

The app runs as `streamlit run app.py` on a free port, on the suite's database (DBA_ADMIN_DATA_DIR of app_db), exactly
as a user starts it: one server per test process, shared by the browser modules (tests/browser_fixtures.py). The test
logs in through streamlit-authenticator's form, opens a table in the explorer (when that page exists), runs a query in
the SQL editor with Ctrl+Enter in the Ace editor, downloads the CSV, and logs out. Screenshots of every page are taken
on the way into docs/screenshots/ for the README when `tools/screenshots.py` runs it (it sets
DBA_ADMIN_SCREENSHOTS_DIR); a plain test run only waits for the charts where a shot would be (it changes no tracked
file).

Needs /usr/bin/chromium (`apt-get install -y chromium`; Playwright's own browser download is not available).
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from apptest_helpers import extra_connection, make_user
from browser_fixtures import VIEWPORT, streamlit_server

from dba_admin.access import PAGES

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(
    os.environ.get("DBA_ADMIN_SCREENSHOTS_DIR") or Path(tempfile.gettempdir()) / f"dba-admin-shots-{os.getpid()}"
)
COOKIE_SECONDS = 15


@pytest.fixture
def short_cookie_url(app_db: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server of the expiry test's own: its re-login cookie lives COOKIE_SECONDS, so the test need not wait long
    (the shared server's lives an hour, for the tests that must see only revocation refuse it)."""
    with streamlit_server(
        app_db.settings.data_dir, tmp_path_factory.mktemp("streamlit-short-cookie"), cookie_seconds=COOKIE_SECONDS
    ) as url:
        yield url


@pytest.fixture(scope="module", autouse=True)
def _screenshots_folder() -> Iterator[None]:
    """Screenshots of a plain test run are thrown away; tools/screenshots.py keeps them for the README."""
    yield
    if not os.environ.get("DBA_ADMIN_SCREENSHOTS_DIR"):
        shutil.rmtree(SHOTS, ignore_errors=True)


def settle(page: Any, pause_ms: int = 400) -> None:
    """Wait until Streamlit has finished running the script (its 'Running…' status widget is gone)."""
    page.wait_for_timeout(pause_ms)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    page.wait_for_timeout(200)


def _charts_drawn(page: Any) -> None:
    """Plotly draws after the page has settled (a grey skeleton stands in its place until then), and later on a loaded
    machine: wait (a while, not forever) until every chart has its SVG, so a screenshot neither shows empty chart
    frames nor is measured before they take their room."""
    with contextlib.suppress(Exception):  # a chart still blank after 15 s is photographed as it is
        page.wait_for_function(
            "() => !document.querySelector('[data-testid=\"stSkeleton\"]') &&"
            " [...document.querySelectorAll('[data-testid=\"stPlotlyChart\"]')]"
            ".every(c => c.querySelector('.main-svg'))",
            timeout=15_000,
        )


def shot(page: Any, name: str) -> None:
    """The whole page: Streamlit scrolls inside its main section, so the viewport grows to fit it first.

    Taken only for tools/screenshots.py (DBA_ADMIN_SCREENSHOTS_DIR set): a plain test run threw its shots away, and
    the resizing, the pauses and the full-page PNGs cost about 2 s each, 22 times. The charts are still waited for,
    so the steps after a shot see the same page either way."""
    _charts_drawn(page)
    if not os.environ.get("DBA_ADMIN_SCREENSHOTS_DIR"):
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    height = page.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]'); return m ? m.scrollHeight : 0 }"
    )
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(VIEWPORT["height"], min(int(height), 3000))})
    page.wait_for_timeout(1000)  # let the editor and charts lay out again at the new size
    _charts_drawn(page)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    page.set_viewport_size(VIEWPORT)
    page.wait_for_timeout(200)


def log_in(page: Any, app_url: str, username: str, password: str) -> None:
    """Open the app, wait for its first run to finish (a click during it can be lost), log in, wait for the sidebar."""
    from playwright.sync_api import expect

    page.goto(app_url)
    expect(page.get_by_label("Username")).to_be_visible(timeout=60_000)
    settle(page)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Login").click()
    expect(page.locator('[data-testid="stSidebar"]').get_by_text(username, exact=True)).to_be_visible(timeout=60_000)
    settle(page, 800)


def open_page(page: Any, title: str) -> None:
    """Click the sidebar link and wait until the URL is that page's.

    A click that lands while the rerun after a login is still running can be lost (seen once in three clean-clone
    runs: the page stayed on Home); the link is then clicked again, at most twice more, and a page that never opens
    is left to the caller's expectations to report."""
    link = page.locator('[data-testid="stSidebar"]').get_by_role("link", name=title)
    path = (link.get_attribute("href") or "").rstrip("/").rsplit("/", 1)[-1]
    for _ in range(3):
        link.click()
        settle(page, 800)
        if not path or f"/{path}" in page.url:
            return


def existing(key: str) -> bool:
    return (ROOT / "pages" / f"{key}.py").is_file()


def title_of(key: str) -> str:
    return next(p.title for p in PAGES if p.key == key)


def test_login_explore_query_download_logout(
    app_db: Any, browser_page: Any, app_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    try:
        _journey(app_db, browser_page, app_url)
    except BaseException:
        failure = tmp_path_factory.mktemp("browser-failure") / "failure.png"
        browser_page.screenshot(path=str(failure))
        print(f"screenshot of the failure: {failure}")
        raise


def _journey(app_db: Any, browser_page: Any, app_url: str) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    page = browser_page
    username, password = make_user(app_db.dsn, "admin", password="browser-pass-123")

    # -- login ---------------------------------------------------------------------------------------------
    page.goto(app_url)
    username_box = page.get_by_label("Username")
    expect(username_box).to_be_visible(timeout=60_000)
    settle(page)
    shot(page, "login")
    username_box.fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Login").click()
    sidebar = page.locator('[data-testid="stSidebar"]')
    expect(sidebar.get_by_text(username, exact=True)).to_be_visible(timeout=60_000)
    settle(page, 800)
    expect(page.get_by_text("Database").first).to_be_visible()
    shot(page, "home")

    # -- the other pages that exist, for the screenshots --------------------------------------------------
    for key in ("dashboard", "activity", "projects", "history", "advisors", "assistant"):
        if existing(key):
            open_page(page, title_of(key))
            expect(page.locator('[data-testid="stException"]')).to_have_count(0)
            shot(page, key)

    # -- explorer: open a table ---------------------------------------------------------------------------
    if existing("explorer"):
        open_page(page, title_of("explorer"))
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
        opener = page.get_by_test_id("stSelectbox").filter(has_text="Open table")
        expect(opener).to_be_visible(timeout=60_000)
        opener.click()
        # A table without RLS: a DBA's preview runs on the connection's monitor login, which no policy of the demo
        # lets read the tables that have RLS on (see test_a_dba_previews_every_row_of_a_table_with_rls).
        page.keyboard.type("public.campaign_recipients")
        page.get_by_role("option", name="public.campaign_recipients", exact=True).click()
        settle(page, 1000)
        expect(page.get_by_role("heading", name="public.campaign_recipients")).to_be_visible()
        expect(page.get_by_test_id("stDataFrame").filter(visible=True).first).to_be_visible()
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
        shot(page, "explorer")
    else:
        print("pages/explorer.py does not exist yet: the explorer step is skipped until it lands")

    # -- SQL editor: type, Ctrl+Enter, results, CSV download ----------------------------------------------
    open_page(page, title_of("sql_editor"))
    editor = page.frame_locator('iframe[title="code_editor.code_editor"]')
    content = editor.locator(".ace_editor:not(.ace_autocomplete) .ace_content").first
    expect(content).to_be_visible(timeout=30_000)
    content.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    query = (
        "select species, count(*) as pets, round(avg(weight_kg), 2) as avg_kg\n"
        "from public.pets\ngroup by species\norder by pets desc"
    )
    page.keyboard.insert_text(query)
    page.keyboard.press("Escape")  # close the live autocompletion list
    page.keyboard.press("Control+Enter")
    settle(page, 800)
    grid = page.locator('[data-testid="stDataFrame"]')
    expect(grid.first).to_be_visible(timeout=30_000)
    expect(page.get_by_text("saved in your history as run #")).to_be_visible()
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    page.get_by_text("Chart", exact=True).click()  # the chart builder toggle
    settle(page, 800)
    shot(page, "sql_editor")

    with page.expect_download() as info:
        page.get_by_test_id("stDownloadButton").filter(has_text="CSV").click()
    download = info.value
    assert download.suggested_filename == "result.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    assert rows and set(rows[0]) == {"species", "pets", "avg_kg"}
    assert sum(int(r["pets"]) for r in rows) > 0

    # an error marks its position
    content.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text("select id,\n  nme\nfrom public.pets")
    page.keyboard.press("Escape")
    page.keyboard.press("Control+Enter")
    settle(page, 800)
    expect(page.get_by_text("SQLSTATE 42703").first).to_be_visible()
    expect(page.get_by_text("line 2, column 3")).to_be_visible()

    # the plan view
    content.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(
        "select p.species, count(*)\nfrom public.pets p join public.appointments a on a.pet_id = p.id\ngroup by 1"
    )
    page.get_by_role("button", name="Explain analyze").click()
    settle(page, 1000)
    expect(page.get_by_text("Slowest:")).to_be_visible()
    shot(page, "sql_editor_plan")

    # -- logout -------------------------------------------------------------------------------------------
    sidebar.get_by_role("button", name="Log out").click()
    settle(page)
    # "You are logged out." shows until the cookie manager's own rerun; either way the form comes back.
    try:
        page.get_by_role("button", name="Log in again").click(timeout=3_000)
        settle(page)
    except PlaywrightTimeout:
        pass  # the cookie manager's rerun already brought the form back
    expect(page.get_by_label("Username")).to_be_visible(timeout=30_000)
    expect(page.get_by_text(username, exact=True)).to_have_count(0)
    with psycopg.connect(app_db.dsn) as conn:
        logged_out = conn.execute(
            "select count(*) from dba_admin.audit_log where actor = %s and action = 'logout'", (username,)
        ).fetchone()
    assert logged_out == (1,)

    # -- a shared link survives the login form ------------------------------------------------------------
    if existing("explorer"):
        page.goto(f"{app_url}/explorer?schema=public&table=orders")
        username_box = page.get_by_label("Username")
        expect(username_box).to_be_visible(timeout=60_000)
        # As at the first login: a click while the cookie manager's first rerun is still running can be lost (seen
        # once on a loaded machine: the form stayed, filled in, for a minute).
        settle(page)
        username_box.fill(username)
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_role("button", name="Login").click()
        expect(page.get_by_role("heading", name="public.orders")).to_be_visible(timeout=60_000)
        assert "table=orders" in page.url


@pytest.mark.browser
def test_cookie_relogin_then_expiry(app_db: Any, short_cookie_url: str, browser_page: Any) -> None:
    """A reload logs the user back in from the signed cookie; after COOKIE_EXPIRY_DAYS it no longer does."""
    from playwright.sync_api import expect

    app_url = short_cookie_url

    page = browser_page.context.browser.new_context(viewport=VIEWPORT).new_page()  # fresh cookies
    username, password = make_user(app_db.dsn, "viewer", password="cookie-pass-123")
    page.goto(app_url)
    expect(page.get_by_label("Username")).to_be_visible(timeout=60_000)
    settle(page)  # a click during the first rerun can be lost (the cookie manager's)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Login").click()
    sidebar = page.locator('[data-testid="stSidebar"]')
    expect(sidebar.get_by_text(username, exact=True)).to_be_visible(timeout=60_000)
    settle(page, 1500)
    logged_in_at = time.monotonic()
    assert any(c["name"] == "dba_admin_auth" for c in page.context.cookies()), "the re-login cookie was written"

    page.goto(app_url)  # a new Streamlit session: only the cookie can log the user in
    expect(sidebar.get_by_text(username, exact=True)).to_be_visible(timeout=60_000)
    expect(page.get_by_label("Username")).to_have_count(0)

    page.wait_for_timeout(max(0.0, COOKIE_SECONDS + 2 - (time.monotonic() - logged_in_at)) * 1000)
    page.goto(app_url)
    expect(page.get_by_label("Username")).to_be_visible(timeout=60_000)
    expect(sidebar.get_by_text(username, exact=True)).to_have_count(0)
    page.context.close()


@pytest.mark.browser
def test_switch_connections_then_the_fleet(app_db: Any, app_url: str, browser_page: Any) -> None:
    """The sidebar's switcher moves every page to another database, the URL keeps it, and the Fleet page opens."""
    from playwright.sync_api import expect

    page = browser_page.context.browser.new_context(viewport=VIEWPORT).new_page()  # a session of its own
    username, password = make_user(app_db.dsn, "admin", password="switch-pass-123")
    with extra_connection(app_db, roles=("admin",)) as second:
        page.goto(app_url)
        expect(page.get_by_label("Username")).to_be_visible(timeout=60_000)
        settle(page)  # a click during the first rerun can be lost (the cookie manager's)
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_role("button", name="Login").click()
        sidebar = page.locator('[data-testid="stSidebar"]')
        expect(sidebar.get_by_text(username, exact=True)).to_be_visible(timeout=60_000)
        settle(page, 800)
        expect(sidebar.get_by_text("Connection: demo")).to_be_visible()

        open_page(page, title_of("explorer"))
        main = page.locator('[data-testid="stMain"]')
        expect(main.get_by_text("Connection: demo")).to_be_visible(timeout=30_000)
        switcher = sidebar.get_by_test_id("stSelectbox").filter(has_text="Connection")
        switcher.click()
        page.keyboard.type(second)  # the list may be longer than it shows: filter it, as a user would
        page.get_by_role("option", name=second, exact=True).click()
        settle(page, 1000)
        expect(main.get_by_text(f"Connection: {second}")).to_be_visible(timeout=30_000)
        expect(page.get_by_test_id("stDataFrame").filter(visible=True).first).to_be_visible()
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
        assert f"connection={second}" in page.url, "the URL keeps the choice, so a copied link does too"
        shot(page, "explorer_second_connection")

        open_page(page, title_of("fleet"))
        expect(page.get_by_role("heading", name="Fleet")).to_be_visible(timeout=60_000)
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
        expect(sidebar.get_by_text(f"Connection: {second}")).to_be_visible()  # the choice survives a page change
        expect(page.get_by_test_id("stDataFrame").filter(visible=True).first).to_be_visible(timeout=30_000)
        page.get_by_role("tab", name="Charts").click()  # a lazy tab: its charts are drawn when it is opened
        charts = page.locator('[data-testid="stPlotlyChart"] .main-svg')
        expect(charts.first).to_be_visible(timeout=30_000)  # the charts drew (Plotly renders after the table)
        settle(page, 1500)
        shot(page, "fleet")
    page.context.close()
