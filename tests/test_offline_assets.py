"""What the code editor's served frontend would fetch from the internet (the app must work with no internet).

streamlit-code-editor serves its prebuilt bundle (code_editor/frontend/build) into an iframe. Scanned here: the
files its index.html loads, for what a browser fetches by itself (CSS ``@import``, ``<link href>``,
``<script src>``, ``url(...)``) from another host.

Known, and not switchable from Python: the component's two Ace themes (``ace/theme/streamlit_light.css`` and
``ace/theme/streamlit_dark.css``, in static/js/2.*.chunk.js) start with
``@import url('https://fonts.googleapis.com/css2?family=Source+Code+Pro…')``, and every ``theme`` value maps to one of
them. The app therefore serves a copy of the build without it (dba_admin/offline_assets.py, registered by
ui/sql_workbench.py) and tells the editor to use local fonts. These tests pin that request in the package (so a new
external fetch, or an update that drops this one, is noticed) and check the copy fetches nothing at all.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dba_admin.offline_assets import offline_build

code_editor = pytest.importorskip("code_editor")

BUILD = Path(code_editor.__file__).resolve().parent / "frontend" / "build"
EXTERNAL = re.compile(
    r"""@import\s+(?:url\()?\s*['"]?(?P<imp>(?:https?:)?//[^'")\s;]+)"""
    r"""|url\(\s*['"]?(?P<url>(?:https?:)?//[^'")\s]+)"""
    r"""|<(?:link|script|img)\b[^>]*\b(?:href|src)\s*=\s*['"](?P<tag>(?:https?:)?//[^'"]+)"""
)
THEME = re.compile(r'ace\.define\("ace/theme/(?P<name>[a-z_]+)\.css"')


def loaded_files(build: Path = BUILD) -> list[Path]:
    """index.html and the scripts and stylesheets it names (the rest of the build are Ace modes loaded on demand)."""
    index = build / "index.html"
    names = re.findall(r"""(?:src|href)\s*=\s*["']\.?/?([^"']+\.(?:js|css))["']""", index.read_text())
    return [index, *(build / name for name in names)]


def external_fetches(build: Path = BUILD, files: list[Path] | None = None) -> list[tuple[str, str, str | None]]:
    """(file, url, Ace theme module the URL is in, if any) for every external fetch in the given (else loaded) files."""
    found = []
    for path in loaded_files(build) if files is None else files:
        text = path.read_text(errors="replace")
        for match in EXTERNAL.finditer(text):
            url = next(g for g in match.groups() if g)
            themes = list(THEME.finditer(text, 0, match.start()))
            found.append((path.relative_to(build).as_posix(), url, themes[-1]["name"] if themes else None))
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


def test_the_served_copy_fetches_nothing_from_the_internet(tmp_path: Path) -> None:
    served = offline_build(BUILD, tmp_path)
    assert served != BUILD and (served / "index.html").is_file()
    # What a browser loads: the index, its bundles, and the Ace theme modules fetched on demand (the other modules'
    # URLs are snippet text, e.g. an html5shiv <script> for HTML, never fetched).
    themes = [p for p in served.rglob("*.js") if THEME.search(p.read_text(errors="replace"))]
    assert len(themes) >= 2 and not list(served.rglob("*.map"))
    assert external_fetches(served, loaded_files(served) + themes) == []
    assert offline_build(BUILD, tmp_path) == served, "made once, then reused"
    assert [p.name for p in tmp_path.iterdir()] == [served.name], "no staging folder left behind"
