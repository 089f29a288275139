"""The user's language in Streamlit: ``_`` and ``ngettext`` for pages, and locale-aware numbers and dates.

The locale is the user's saved choice, else the browser's language (``st.context.locale``), else English. It is read
from the session on every call, so a callback and the script run that follows it always agree.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dba_admin import i18n

SESSION_KEY = "ui_locale"


def current_locale() -> str:
    chosen = st.session_state.get(SESSION_KEY)
    if isinstance(chosen, str) and chosen in i18n.LOCALES:
        return chosen
    try:
        browser = st.context.locale
    except Exception:  # no browser context (bare mode, a worker thread): the source language
        browser = None
    return i18n.negotiate(browser)


def use_locale(locale: str | None) -> None:
    """Pin the session's language (a user's saved choice); None goes back to the browser's."""
    if locale in i18n.LOCALES:
        st.session_state[SESSION_KEY] = locale
    else:
        st.session_state.pop(SESSION_KEY, None)


def _(message: str) -> str:
    """``message`` in the user's language; the English text where the catalog has none."""
    return i18n.translations(current_locale()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return i18n.translations(current_locale()).ngettext(singular, plural, count)


def number(value: float | int, *, digits: int | None = None) -> str:
    return i18n.format_number(value, current_locale(), digits=digits)


def percent(fraction: float, *, digits: int = 1) -> str:
    return i18n.format_percent(fraction, current_locale(), digits=digits)


def when(value: dt.datetime | None, *, length: str = "medium") -> str:
    """A timestamp as the user reads them; an empty string for None (never 'None' on screen)."""
    return "" if value is None else i18n.format_datetime(value, current_locale(), length=length)


def day(value: dt.date | None, *, length: str = "medium") -> str:
    return "" if value is None else i18n.format_date(value, current_locale(), length=length)
