"""In Chromium, as a DBA (issue 15): create an index through the explorer's dialog, edit a row in the grid, open the
Statements page and ask it for index advice, and look at the Objects and Cron jobs pages.

Uses the browser tests' shared server and a Chromium of its own (tests/browser_fixtures.py: `streamlit run app.py` on
the suite's database, Debian's Chromium through Playwright). The writes go to a scratch table of the test's own on
connection `demo`, created as the demo's DBA login and dropped at the end, so the shared demo data other tests read is
never changed. What is checked is what the DBA sees and what the database then holds. The screenshots go with the others
(tools/screenshots.py keeps them).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from apptest_helpers import make_user
from psycopg import sql
from test_browser import _screenshots_folder, existing, log_in, open_page, settle, shot, title_of

__all__ = ["_screenshots_folder"]  # the autouse clean-up of the screenshots

pytestmark = pytest.mark.browser


@pytest.fixture
def scratch(app_db: Any) -> Iterator[str]:
    """public.browser_edit_<hex> (id serial key, note text, amount int) with 2,000 rows, owned by the DBA login."""
    name = f"browser_edit_{uuid.uuid4().hex[:6]}"
    ident = sql.Identifier("public", name)
    with psycopg.connect(app_db.demo_dba_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create table {} (id serial primary key, note text, amount int)").format(ident))
        conn.execute(
            sql.SQL("insert into {} (note, amount) select 'row ' || g, g from generate_series(1, 2000) g").format(ident)
        )
        conn.execute(sql.SQL("analyze {}").format(ident))
    yield name
    with psycopg.connect(app_db.demo_dba_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop table if exists {}").format(ident))


def test_dba_workbench_index_dialog_row_edit_statements(
    app_db: Any, browser_page: Any, app_url: str, scratch: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    try:
        _journey(app_db, browser_page, app_url, scratch)
    except BaseException:
        failure = tmp_path_factory.mktemp("browser-workbench-failure") / "failure.png"
        browser_page.screenshot(path=str(failure), full_page=True)
        print(f"screenshot of the failure: {failure}")
        raise


def _fetch(app_db: Any, query: sql.Composable, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(app_db.demo_dba_dsn) as conn:
        return conn.execute(query, params).fetchall()


def _journey(app_db: Any, page: Any, app_url: str, table: str) -> None:
    from playwright.sync_api import expect

    username, password = make_user(app_db.dsn, "dba", password="browser-pass-456")
    log_in(page, app_url, username, password)
    no_exception = page.locator('[data-testid="stException"]')

    # -- explorer: open the scratch table ---------------------------------------------------------------------
    open_page(page, title_of("explorer"))
    # The table list is cached for every session of the server (30 s), and the server is shared with the other browser
    # modules: one of them may have listed `demo` before this test created its table. Reload, as a DBA who made a
    # table elsewhere does.
    page.get_by_role("button", name="Reload", exact=True).filter(visible=True).first.click()
    settle(page, 800)
    opener = page.get_by_test_id("stSelectbox").filter(has_text="Open table")
    expect(opener).to_be_visible(timeout=60_000)
    opener.click()
    page.keyboard.type(f"public.{table}")
    page.get_by_role("option", name=f"public.{table}", exact=True).click()
    settle(page, 1000)
    expect(page.get_by_role("heading", name=f"public.{table}")).to_be_visible()

    # -- create an index through the dialog: form -> Preview SQL -> Run ---------------------------------------
    page.get_by_role("button", name="New index").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=30_000)
    dialog.get_by_test_id("stMultiSelect").click()
    page.get_by_role("option", name="amount", exact=True).click()
    page.keyboard.press("Escape")  # close the option list, not the dialog
    settle(page)
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Preview SQL").click()
    settle(page, 800)
    expected = f"{table}_amount_idx"
    expect(dialog.get_by_text("CREATE INDEX CONCURRENTLY").first).to_be_visible(timeout=30_000)
    shot(page, "explorer_new_index")
    dialog.get_by_role("button", name="Run").click()
    settle(page, 1000)
    expect(page.get_by_text(f"Create index {expected} on public.{table}: done")).to_be_visible(timeout=60_000)
    assert _fetch(
        app_db, sql.SQL("select indexname from pg_indexes where tablename = %s and indexname = %s"), (table, expected)
    ) == [(expected,)]
    page.keyboard.press("Escape")
    settle(page)
    expect(no_exception).to_have_count(0)

    # -- edit a row in the grid, see its SQL, apply -------------------------------------------------------------
    page.get_by_text("Edit rows", exact=True).click()
    settle(page, 1000)
    grid = page.get_by_test_id("stDataFrame").filter(visible=True).first
    expect(grid).to_be_visible(timeout=30_000)
    # The grid is a canvas: the first data row is under the 35 px header; its first cell (the locked id) is selected
    # by a click right of the row markers, then the arrow key moves to `note` and Enter opens the cell's editor. A key
    # pressed before the grid has the focus is lost (seen once in four runs: Enter then opened the id cell's read-only
    # view), so the editor must show a `note` value ("row N") before it is typed into; else start again.
    cell_editor = page.locator("textarea.gdg-input")
    for _attempt in range(3):
        page.keyboard.press("Escape")  # close a cell view left open by a lost key
        # Clicks go to viewport coordinates: the grid must be in view (CI once had it below the fold, every click lost).
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + 70, box["y"] + 35 + 17)
        page.wait_for_timeout(300)
        page.keyboard.press("ArrowRight")
        page.keyboard.press("Enter")  # opens the cell's editor (an overlay text area)
        try:
            expect(cell_editor).to_have_value(re.compile(r"^row \d+$"), timeout=5_000)
            break
        except AssertionError:
            continue
    expect(cell_editor).to_have_value(re.compile(r"^row \d+$"))
    cell_editor.fill("edited in chromium")
    page.keyboard.press("Enter")
    settle(page, 1000)
    changes = page.get_by_test_id("stCode").filter(has_text="UPDATE").filter(has_text="edited in chromium")
    expect(changes.first).to_be_visible(timeout=30_000)
    shot(page, "explorer_edit_rows")
    page.get_by_role("button", name="Apply").click()
    settle(page, 1000)
    expect(page.get_by_text("Applied").first).to_be_visible(timeout=30_000)
    rows = _fetch(
        app_db,
        sql.SQL("select id from {} where note = %s").format(sql.Identifier("public", table)),
        ("edited in chromium",),
    )
    assert len(rows) == 1, rows
    expect(no_exception).to_have_count(0)

    # -- Statements: our table's statement listed; its index advice ------------------------------------------------
    for _ in range(3):  # statements pg_stat_statements will show, on the demo DBA login like any DBA tool
        _fetch(app_db, sql.SQL("select count(*) from {} where note = 'row 7'").format(sql.Identifier("public", table)))
    open_page(page, title_of("statements"))
    expect(no_exception).to_have_count(0)
    page.get_by_label("Query text contains").fill(table)
    page.keyboard.press("Enter")
    settle(page, 1000)
    expect(page.get_by_test_id("stDataFrame").filter(visible=True).first).to_be_visible(timeout=30_000)
    shot(page, "statements")
    page.get_by_role("tab", name="Statement detail").click()  # a lazy tab: drawn when opened
    advice = page.get_by_role("button", name="Index advice")
    expect(advice.first).to_be_visible(timeout=30_000)
    representative = page.get_by_role("textbox", name="Representative query")
    representative.fill(f"select count(*) from public.{table} where note = 'row 7'")
    page.keyboard.press("Control+Enter")  # commits the text area (a rerun) before the button reads it
    settle(page, 800)
    advice.first.click()
    settle(page, 1500)
    expect(page.get_by_text("CREATE INDEX CONCURRENTLY").first).to_be_visible(timeout=60_000)
    expect(no_exception).to_have_count(0)
    shot(page, "statements_index_advice")

    # -- Objects: pick the first object of the list (a table) and see its DDL ----------------------------------------
    if existing("objects"):
        open_page(page, title_of("objects"))
        expect(no_exception).to_have_count(0)
        listing = page.get_by_test_id("stDataFrame").filter(visible=True).first
        expect(listing).to_be_visible(timeout=30_000)
        listing.scroll_into_view_if_needed()  # the click below goes to viewport coordinates
        box = listing.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + 12, box["y"] + 35 + 17)  # the first row's selection box (a canvas grid)
        settle(page, 1000)
        expect(page.get_by_test_id("stCode").filter(has_text="CREATE TABLE").first).to_be_visible(timeout=30_000)
        expect(no_exception).to_have_count(0)
        shot(page, "objects")

    # -- Cron jobs: the demo's maintenance jobs --------------------------------------------------------------------
    if existing("cron"):
        open_page(page, title_of("cron"))
        expect(no_exception).to_have_count(0)
        shot(page, "cron")
