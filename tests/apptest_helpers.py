"""Helpers for AppTest tests: start from app.py, log in through the real form, switch pages."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import psycopg
from streamlit.testing.v1 import AppTest

from dba_admin.auth import UserStore
from dba_admin.rls import UserClaims

APP = str(Path(__file__).resolve().parent.parent / "app.py")


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
