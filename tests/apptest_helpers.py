"""Helpers for AppTest tests: start from app.py, log in through the real form, switch pages and connections."""

from __future__ import annotations

import contextlib
import functools
import re
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from db_helpers import workspace_manager
from psycopg import sql
from streamlit.testing.v1 import AppTest

from dba_admin.auth import UserStore
from dba_admin.connections import ALL_ROLES, ConnectionSecrets, Registry, SecretBox
from dba_admin.errors import DbaAdminError
from dba_admin.rls import UserClaims
from ui.session import SWITCHER_KEY

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def _do_startup_work_once() -> None:
    """What a Streamlit server does once per start, AppTest does per instance or per run: each instance scans every
    installed distribution's metadata for v2 components (0.25 s of CPU), and each run compiles app.py and the page
    again (magic rewrite and compile, through a new ScriptCache). The suite makes hundreds of instances and thousands
    of runs in a process where neither the installed packages nor the scripts change, so both are done once per
    process here, as the server does them once per start: the result of each is the same, only not recomputed."""
    from streamlit.components.v2 import manifest_scanner
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test

    manifest_scanner.scan_component_manifests = functools.cache(manifest_scanner.scan_component_manifests)
    shared = ScriptCache()
    app_test.ScriptCache = lambda: shared  # type: ignore[assignment,misc]


_do_startup_work_once()


def make_user(dsn: str, role: str, password: str = "test-password-1") -> tuple[str, str]:  # noqa: S107 - test login
    """A fresh user of ``role``; returns (username, password)."""
    username = f"{role}{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        UserStore(conn).create_user(
            actor="tests", username=username, email=f"{username}@example.com", role=role, password=password
        )
    return username, password


def claims_of(dsn: str, username: str) -> UserClaims:
    """The RLS claims of an existing user, as the app builds them at login."""
    with psycopg.connect(dsn) as conn:
        return UserStore(conn).get(username).claims


def app_as(username: str, password: str) -> AppTest:
    """A browser session of an existing user, logged in through the real form."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    login(at, username, password)
    assert not at.exception, at.exception
    return at


def logged_in_app(dsn: str, role: str, *, timeout: float = 60) -> tuple[AppTest, str]:
    username, password = make_user(dsn, role)
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.run()
    assert not at.exception, at.exception
    login(at, username, password)
    return at, username


def logged_in_page(dsn: str, page: str, role: str) -> tuple[AppTest, str]:
    """A fresh user of ``role``, logged in through the real form, on ``page``; returns (app, username)."""
    at, username = logged_in_app(dsn, role)
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at, username


def login(at: AppTest, username: str, password: str) -> None:
    inputs = at.text_input
    inputs[0].input(username)
    inputs[1].input(password)
    at.button[0].click().run()


def texts(at: AppTest) -> str:
    """Every piece of text the page shows, for 'says so' assertions (as read: Markdown escapes undone)."""
    parts: list[Any] = []
    for kind in ("markdown", "error", "warning", "info", "success", "caption", "title", "header", "subheader"):
        parts += [getattr(e, "value", "") for e in getattr(at, kind)]
    return as_read("\n".join(str(p) for p in parts))


_ESCAPED_PUNCTUATION = re.compile(r"\\([!-/:-@\[-`{-~])")


def as_read(markdown: str) -> str:
    """Markdown source as a reader sees it, for the text that ui.markdown.escape_markdown made safe.

    Backslash escapes of ASCII punctuation are undone and the invisible word joiners dropped; nothing else is
    interpreted, so a real link or image stays visible as such in assertions.
    """
    return _ESCAPED_PUNCTUATION.sub(r"\1", markdown).replace("\u2060", "").replace("\u00a0", " ")


def rerun_app(at: AppTest) -> AppTest:
    """Run again from app.py, as a browser rerun does.

    AppTest 1.67 re-runs only the page a multipage app finished on, skipping the entrypoint (and so the login
    gate and sidebar); clearing the finished page makes it start from app.py again.
    """
    at._finished_page_script_hash = ""
    return at.run()


@contextmanager
def extra_connection(
    app_db: Any,
    *,
    roles: Sequence[str] = ALL_ROLES,
    users: Sequence[str] = (),
    table: str = "only_here",
    dsn: str | None = None,
    readonly: bool = False,
) -> Iterator[str]:
    """A second registered connection for a test: a new database on the suite's server with one table of its own,
    registered (monitor = the superuser DSN, no DBA login) for ``roles`` and ``users``; removed and dropped
    afterwards. ``readonly``: the same DSN is its read-only login too (the app still runs that SQL in READ ONLY
    transactions), so analysts can run SQL there. ``dsn``: register that DSN instead (e.g. one that does not
    answer) and create nothing.
    """
    name = f"t{uuid.uuid4().hex[:10]}"
    server = app_db.server
    if dsn is None:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        with psycopg.connect(server.dsn(dbname=name), autocommit=True) as conn:
            ident = sql.Identifier(table)
            conn.execute(sql.SQL("create table public.{} (id int primary key, note text)").format(ident))
            conn.execute(sql.SQL("insert into public.{} values (1, 'one'), (2, 'two')").format(ident))
    workspace = workspace_manager(app_db)
    registry = Registry(workspace, SecretBox.from_settings(app_db.settings, embedded=True))
    try:
        monitor = dsn or server.dsn(dbname=name)
        registry.add(
            name,
            ConnectionSecrets(monitor, monitor if readonly else None),
            actor="tests",
            roles=roles,
            users=users,
            same_cluster=dsn is None,
        )
        yield name
    finally:
        with contextlib.suppress(DbaAdminError):
            registry.remove(name, actor="tests")
        workspace.close()
        if dsn is None:
            with psycopg.connect(server.dsn(), autocommit=True) as conn:
                conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def _switcher(at: AppTest) -> Any:
    """The sidebar's connection switcher. AppTest runs app.py (which draws the sidebar) only when no page is asked
    for: after ``switch_page`` it runs the page alone, so the app is run again from its default page first."""
    shown = _shown_switcher(at)
    if shown is None:
        at._page_hash = ""
        rerun_app(at)
        shown = _shown_switcher(at)
    assert shown is not None, "the sidebar has no connection switcher"
    return shown


def _shown_switcher(at: AppTest) -> Any:
    """The switcher's selectbox; its key names the connection it shows (``ui.session.widget_key_for``)."""
    prefix = SWITCHER_KEY + ":"
    return next((box for box in at.selectbox if (box.key or "").startswith(prefix)), None)


def switch_connection(at: AppTest, name: str, page: str | None = None) -> AppTest:
    """Pick a connection in the sidebar's switcher, as a user does, rerun from app.py, then open ``page`` if given
    (its URL carries the new connection)."""
    _switcher(at).select(name)
    rerun_app(at)
    if page is not None:
        at.switch_page(page).run()
    return at


def sidebar_connections(at: AppTest) -> list[str]:
    """The connections the sidebar's switcher offers."""
    return list(_switcher(at).options)
