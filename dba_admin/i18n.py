"""Message catalogs and locale-aware formatting, without Streamlit.

The catalogs are gettext ``.po`` files managed with Babel (``python tools/i18n.py`` extracts the marked strings and
updates them). Only the ``.po`` text is tracked: it is compiled in memory on first use, so there is no build step and
no binary artifact to forget. English is the source language; a missing translation falls back to it, and
``tests/test_i18n.py`` fails when any marked string has none.
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
from functools import cache
from typing import Final

from dba_admin.paths import PROJECT_ROOT

LOCALE_DIR: Final = PROJECT_ROOT / "locale"
DOMAIN: Final = "messages"
DEFAULT_LOCALE: Final = "en"
# The locales a user can choose, with the name each shows in its own language.
LOCALES: Final[dict[str, str]] = {"en": "English", "pt_BR": "Português (Brasil)"}


def N_(message: str) -> str:
    """Marks a string for the catalog where it is defined (e.g. page titles in access.py); translated where shown."""
    return message


def catalog_path(locale: str) -> str:
    return str(LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po")


@cache
def translations(locale: str) -> gettext.NullTranslations:
    """The compiled catalog for ``locale`` (fuzzy entries left out, as msgfmt does); English is the identity."""
    if locale not in LOCALES or locale == DEFAULT_LOCALE:
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with open(catalog_path(locale), "rb") as po:
        catalog = read_po(po, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def negotiate(accept: str | None) -> str:
    """The supported locale closest to a browser's language tag ('pt-BR', 'pt', 'en-US'), else English."""
    tag = (accept or "").replace("-", "_").strip()
    if not tag:
        return DEFAULT_LOCALE
    if tag in LOCALES:
        return tag
    language = tag.split("_", 1)[0].lower()
    return next((code for code in LOCALES if code.split("_", 1)[0].lower() == language), DEFAULT_LOCALE)


def format_number(value: float | int, locale: str, *, digits: int | None = None) -> str:
    """``1234.5`` as '1,234.5' or '1.234,5'; ``digits`` fixes the decimals shown."""
    from babel.numbers import format_decimal

    if digits is not None:
        pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
        return format_decimal(value, format=pattern, locale=locale)
    return format_decimal(value, locale=locale)


def format_percent(fraction: float, locale: str, *, digits: int = 1) -> str:
    """``0.123`` as '12.3%' or '12,3%'."""
    from babel.numbers import format_percent as babel_percent

    return babel_percent(fraction, format="#,##0." + "0" * digits + "%", locale=locale)


def format_datetime(value: dt.datetime, locale: str, *, length: str = "medium") -> str:
    """A timestamp in the locale's own order and month names; an aware value keeps its own zone."""
    from babel.dates import format_datetime as babel_datetime

    return babel_datetime(value, format=length, tzinfo=value.tzinfo, locale=locale)


def format_date(value: dt.date, locale: str, *, length: str = "medium") -> str:
    from babel.dates import format_date as babel_date

    return babel_date(value, format=length, locale=locale)
