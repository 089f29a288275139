"""The advisors' finding levels and categories, alone in a module so the command line can offer them as choices
without importing the advisors (and pandas) on every start."""

from __future__ import annotations

LEVELS: tuple[str, ...] = ("INFO", "WARN", "ERROR")
CATEGORIES: tuple[str, ...] = ("SECURITY", "PERFORMANCE", "MAINTENANCE")
