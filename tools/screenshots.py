"""Refresh the README's screenshots (docs/screenshots/) from the real-browser test, on the demo database.

A normal test run keeps its screenshots in a temporary folder, so running the tests never changes a tracked file.
Run this inside the venv from the repository root when the UI changed: `python tools/screenshots.py`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    env = dict(os.environ, DBA_ADMIN_SCREENSHOTS_DIR=str(ROOT / "docs" / "screenshots"))
    # The DBA workbench's pages, and the Schedules, Alerts and Usage pages, beside the main journey.
    tests = ["tests/test_browser.py", "tests/test_browser_workbench.py", "tests/test_browser_automation.py"]
    command = [sys.executable, "-m", "pytest", *tests, "-q", "-p", "no:cacheprovider"]
    return subprocess.run(command, cwd=ROOT, env=env).returncode  # noqa: S603 - our own fixed pytest invocation


if __name__ == "__main__":
    sys.exit(main())
