"""What the code editor's served frontend would fetch from the internet (the app must work with no internet).

streamlit-code-editor serves its prebuilt bundle (code_editor/frontend/build) into an iframe. Scanned here: the
files its index.html loads, for what a browser fetches by itself (CSS ``@import``, ``<link href>``,
``<script src>``, ``url(...)``) from another host.

Known and not switchable from Python: the component's two Ace themes (``ace/theme/streamlit_light.css`` and
``ace/theme/streamlit_dark.css``, in static/js/2.*.chunk.js) start with
``@import url('https://fonts.googleapis.com/css2?family=Source+Code+Pro…')``, and every ``theme`` value maps to one of
them. The app tells the editor to use local fonts (ui/sql_workbench.py, LOCAL_MONOSPACE), so without the internet
that request fails and nothing looks different; it is still made. This test pins exactly that request, so a new
external fetch (or a package update that drops this one) is noticed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

code_editor = pytest.importorskip("code_editor")

BUILD = Path(code_editor.__file__).resolve().parent / "frontend" / "build"
EXTERNAL = re.compile(
    r"""@import\s+(?:url\()?\s*['"]?(?P<imp>(?:https?:)?//[^'")\s;]+)"""
    r"""|url\(\s*['"]?(?P<url>(?:https?:)?//[^'")\s]+)"""
    r"""|<(?:link|script|img)\b[^>]*\b(?:href|src)\s*=\s*['"](?P<tag>(?:https?:)?//[^'"]+)"""
)
THEME = re.compile(r'ace\.define\("ace/theme/(?P<name>[a-z_]+)\.css"')


def loaded_files() -> list[Path]:
    """index.html and the scripts and stylesheets it names (the rest of the build are Ace modes loaded on demand)."""
    index = BUILD / "index.html"
    names = re.findall(r"""(?:src|href)\s*=\s*["']\.?/?([^"']+\.(?:js|css))["']""", index.read_text())
    return [index, *(BUILD / name for name in names)]


def external_fetches() -> list[tuple[str, str, str | None]]:
    """(file, url, Ace theme module the URL is in, if any) for every external fetch in the loaded files."""
    found = []
    for path in loaded_files():
        text = path.read_text(errors="replace")
        for match in EXTERNAL.finditer(text):
            url = next(g for g in match.groups() if g)
            themes = list(THEME.finditer(text, 0, match.start()))
            found.append((path.relative_to(BUILD).as_posix(), url, themes[-1]["name"] if themes else None))
    return found


def test_the_index_loads_the_bundle() -> None:
    files = loaded_files()
    assert any(p.name.startswith("2.") and p.suffix == ".js" for p in files), files
    assert all(p.is_file() for p in files)


def test_the_only_external_fetch_is_the_themes_google_font_import() -> None:
    fetches = external_fetches()
    hosts = {re.sub(r"^(?:https?:)?//([^/]+).*", r"\1", url) for _, url, _ in fetches}
    assert hosts == {"fonts.googleapis.com"}, fetches
    assert sorted(theme or "" for _, _, theme in fetches) == ["streamlit_dark", "streamlit_light"], fetches
