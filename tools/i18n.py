"""Keep the message catalogs in step with the code (Babel: extract, then update each locale's .po).

    .venv/bin/python tools/i18n.py          # extract the marked strings, merge them into locale/*/messages.po
    .venv/bin/python tools/i18n.py --check  # list the strings with no translation; exit 1 if any

New strings arrive in the .po with an empty msgstr; translate them there (a changed English string comes back
marked fuzzy, which counts as untranslated until someone checks it and removes the flag).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dba_admin import i18n  # noqa: E402 - after the path is set, for a run from any folder


def extract() -> Catalog:
    """Every string marked with ``_``, ``ngettext`` or ``N_`` in the places babel.cfg names."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    template = Catalog(project="DBA Admin", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=DEFAULT_KEYWORDS, comment_tags=("Translators:",)
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def catalog(locale: str) -> Catalog:
    path = Path(i18n.catalog_path(locale))
    if not path.is_file():
        return Catalog(locale=locale, project="DBA Admin", charset="utf-8")
    with open(path, "rb") as po:
        return read_po(po, locale=locale)


def missing(template: Catalog, translated: Catalog) -> list[str]:
    """The template's messages with no usable translation (absent, empty or fuzzy) in ``translated``."""
    gaps = []
    for message in template:
        if not message.id:
            continue
        entry = translated.get(message.id, context=message.context)
        strings = entry.string if entry is not None else None
        values = strings if isinstance(strings, tuple) else (strings,)
        if entry is None or entry.fuzzy or not all(values):
            gaps.append(message.id if isinstance(message.id, str) else message.id[0])
    return gaps


def update(template: Catalog) -> None:
    for locale in i18n.LOCALES:
        if locale == i18n.DEFAULT_LOCALE:
            continue
        current = catalog(locale)
        current.update(template, no_fuzzy_matching=False, update_creation_date=False)
        path = Path(i18n.catalog_path(locale))
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as po:
            # Sorted, without source locations: an entry moves only when its text changes, so merges stay small.
            write_po(po, current, width=120, no_location=True, ignore_obsolete=True, sort_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="list untranslated strings; change nothing")
    args = parser.parse_args()
    template = extract()
    if not args.check:
        update(template)
    status = 0
    for locale in i18n.LOCALES:
        if locale == i18n.DEFAULT_LOCALE:
            continue
        gaps = missing(template, catalog(locale))
        print(f"{locale}: {len(template) - len(gaps)} of {len(template)} strings translated")
        for gap in gaps:
            print(f"  untranslated: {gap!r}")
        status = status or (1 if gaps else 0)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
