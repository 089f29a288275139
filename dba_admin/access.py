"""Which role may open which page: one table, used by the navigation and by each page's own guard.

Kept in the core (not in app.py) so the rule is testable without Streamlit and cannot drift between the
sidebar and the page a person opens by URL.
"""

from __future__ import annotations

from dataclasses import dataclass

from dba_admin.i18n import N_

ROLES: tuple[str, ...] = ("admin", "dba", "analyst", "viewer")  # in the order people read them
ALL_ROLES = frozenset(ROLES)
DBA_ROLES = frozenset({"admin", "dba"})
ADMIN_ONLY = frozenset({"admin"})
SECTIONS = (N_("Workbench"), N_("Projects"), N_("Assistant"), N_("Monitor"), N_("Admin"))  # translated where shown


@dataclass(frozen=True)
class PageSpec:
    """A page of the app: its file under pages/, where it sits in the navigation, and who may open it."""

    key: str
    title: str
    section: str
    icon: str
    roles: frozenset[str]
    default: bool = False
    in_sidebar: bool = True  # detail pages (one project, one script) are reached by links, not the sidebar

    @property
    def file(self) -> str:
        return f"pages/{self.key}.py"

    @property
    def url_path(self) -> str:
        return self.key


PAGES: tuple[PageSpec, ...] = (
    PageSpec("home", N_("Home"), "Workbench", ":material/home:", ALL_ROLES, default=True),
    PageSpec("dashboard", N_("Dashboard"), "Workbench", ":material/monitoring:", DBA_ROLES),
    PageSpec("explorer", N_("Table explorer"), "Workbench", ":material/table_view:", ALL_ROLES),
    PageSpec("objects", N_("Objects"), "Workbench", ":material/account_tree:", DBA_ROLES),
    PageSpec("sql_editor", N_("SQL editor"), "Workbench", ":material/code:", ALL_ROLES),
    PageSpec("projects", N_("Projects"), "Projects", ":material/folder:", ALL_ROLES),
    PageSpec("project", N_("Project"), "Projects", ":material/folder_open:", ALL_ROLES, in_sidebar=False),
    PageSpec("script", N_("Script"), "Projects", ":material/description:", ALL_ROLES, in_sidebar=False),
    PageSpec("history", N_("My history"), "Projects", ":material/history:", ALL_ROLES),
    PageSpec("schedules", N_("Schedules"), "Projects", ":material/schedule:", ALL_ROLES),
    PageSpec("assistant", N_("Assistant"), "Assistant", ":material/smart_toy:", ALL_ROLES),
    PageSpec("activity", N_("Activity"), "Monitor", ":material/bolt:", DBA_ROLES),
    PageSpec("statements", N_("Statements"), "Monitor", ":material/query_stats:", DBA_ROLES),
    PageSpec("advisors", N_("Advisors"), "Monitor", ":material/health_and_safety:", DBA_ROLES),
    PageSpec("cron", N_("Cron jobs"), "Monitor", ":material/schedule:", DBA_ROLES),
    PageSpec("fleet", N_("Fleet"), "Monitor", ":material/lan:", DBA_ROLES),
    PageSpec("alerts", N_("Alerts"), "Monitor", ":material/notifications_active:", DBA_ROLES),
    PageSpec("users", N_("Users"), "Admin", ":material/group:", ADMIN_ONLY),
    PageSpec("connections", N_("Connections"), "Admin", ":material/cable:", ADMIN_ONLY),
    PageSpec("audit", N_("Audit log"), "Admin", ":material/policy:", ADMIN_ONLY),
    PageSpec("usage", N_("Usage"), "Admin", ":material/insights:", ADMIN_ONLY),
)


def allowed(role: str | None, page: PageSpec) -> bool:
    return role is not None and role in page.roles


def pages_by_section(role: str | None, pages: tuple[PageSpec, ...] = PAGES) -> dict[str, list[PageSpec]]:
    """The pages a role may open, grouped in the navigation's section order."""
    grouped: dict[str, list[PageSpec]] = {}
    for section in SECTIONS:
        visible = [p for p in pages if p.section == section and p.in_sidebar and allowed(role, p)]
        if visible:
            grouped[section] = visible
    return grouped


def required_roles_text(page: PageSpec) -> str:
    return ", ".join(sorted(page.roles))
