"""A component's prebuilt frontend made safe to serve with no internet: the code editor without its font import.

streamlit-code-editor's two Ace themes start with ``@import url('https://fonts.googleapis.com/css2?…')``, and every
theme value maps to one of them, so each browser that opens the editor asks Google for a font: a request to a third
party on every page view, and one that fails on a machine with no internet. The app tells the editor to use local
fonts, so the import only costs that request. It cannot be switched off from Python, and the installed package is
never patched (the next machine installs it fresh), so the app serves a copy of the build with the import removed.

The copy lives under a cache folder of this app server, named after a digest of the files it came from: made once
per package version, shared by every session of the process, rebuilt after an upgrade. Two servers (or two processes)
making it at once each write a private folder and rename it into place; the loser throws its own away.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

__all__ = ["EXTERNAL_FONT_IMPORT", "offline_build"]

# The themes' CSS is a JavaScript string in the bundle: the import ends at its `);`, before an escaped newline.
EXTERNAL_FONT_IMPORT = re.compile(r"@import url\(\s*['\"]?https?://fonts\.(?:googleapis|gstatic)\.com/[^)]*\);?")


def _digest(build: Path) -> str:
    """What identifies a build: every file's path and size, and index.html's bytes (it names the hashed bundles)."""
    h = hashlib.sha256((build / "index.html").read_bytes())
    for path in sorted(p for p in build.rglob("*") if p.is_file()):
        h.update(f"{path.relative_to(build).as_posix()}:{path.stat().st_size}\n".encode())
    return h.hexdigest()[:16]


def offline_build(build: Path, cache_root: Path) -> Path:
    """The folder to serve instead of ``build``: a copy without external font imports (and without source maps)."""
    target = cache_root / f"{build.parent.parent.name}-{_digest(build)}"
    if (target / "index.html").is_file():
        return target
    cache_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=cache_root))
    try:
        copy = staging / "build"
        shutil.copytree(build, copy, ignore=shutil.ignore_patterns("*.map"))
        for path in copy.rglob("*.js"):
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
            if "fonts.g" in text:
                path.write_text(EXTERNAL_FONT_IMPORT.sub("", text), encoding="utf-8", errors="surrogateescape")
        try:
            os.rename(copy, target)
        except OSError:  # another process made it first: theirs is the same
            if not (target / "index.html").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
