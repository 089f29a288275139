"""Schedules in the UI: the "Schedule this script" form (script page) and the pieces the Schedules page shares.

The core (dba_admin/jobs/schedules.py) checks everything again as the user under RLS; the form only helps: it
offers the connections the user may use, previews the next due times, and shows the core's refusal as a message.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import streamlit as st

from dba_admin.auth import AppUser
from dba_admin.errors import DbaAdminError
from dba_admin.i18n import N_
from dba_admin.jobs.schedules import InvalidSchedule, Schedule, ScheduleManager, check_cron, next_runs, timezone_names
from dba_admin.projects import Script
from dba_admin.services import Services
from ui.i18n import _, when
from ui.markdown import escape_markdown
from ui.session import show_error, visible_connections

SCHEDULES_PAGE = "pages/schedules.py"
DEFAULT_CRON = "0 6 * * *"
PRESETS = {  # translated where shown
    "0 6 * * *": N_("every day at 06:00"),
    "0 6 * * 1-5": N_("weekdays at 06:00"),
    "0 * * * *": N_("every hour"),
    "*/15 * * * *": N_("every 15 minutes"),
    "0 7 * * 1": N_("Mondays at 07:00"),
    "0 6 1 * *": N_("the 1st of each month at 06:00"),
}


def schedule_manager(services: Services) -> ScheduleManager:
    return ScheduleManager(services.db)


def state_label(schedule: Schedule) -> str:
    labels = {"active": _("▶️ active"), "paused": _("⏸️ paused"), "stopped": _("⛔ stopped")}
    return labels.get(schedule.state, schedule.state)


def browser_timezone() -> str:
    """The browser's IANA time zone when Streamlit knows it, else UTC (the form's default)."""
    try:
        zone = st.context.timezone
    except Exception:  # no browser context (AppTest, bare mode)
        zone = None
    return zone if isinstance(zone, str) and zone in set(timezone_names()) else "UTC"


def preview(cron: str, timezone: str, *, count: int = 3) -> str | None:
    """The next due times as the user reads them, or None when the expression is not valid yet."""
    try:
        moments = next_runs(check_cron(cron), timezone, after=datetime.now(UTC), count=count)
    except (InvalidSchedule, ValueError, KeyError):
        return None
    return ", ".join(when(m) for m in moments)


def cron_inputs(*, key: str, cron: str = DEFAULT_CRON, timezone: str | None = None) -> tuple[str, str]:
    """The expression (with presets to start from) and the time zone; a preview of the next runs under them."""
    zones = timezone_names()
    zone = timezone or browser_timezone()
    c1, c2 = st.columns([2, 2])
    preset = c1.selectbox(
        _("Start from"),
        [None, *PRESETS],
        format_func=lambda value: _("(your own expression)") if value is None else _(PRESETS[value]),
        key=f"{key}_preset",
    )
    expression = c1.text_input(
        _("Cron expression"),
        value=preset or cron,
        key=f"{key}_cron_{preset}",
        help=_("Five fields: minute hour day-of-month month day-of-week, e.g. 30 2 * * * for 02:30 every day."),
    )
    chosen_zone = c2.selectbox(
        _("Time zone"), zones, index=zones.index(zone) if zone in zones else zones.index("UTC"), key=f"{key}_tz"
    )
    shown = preview(expression, chosen_zone)
    if shown:
        st.caption(_("Next runs: {times}").format(times=shown))
    else:
        st.caption(_("Not a valid cron expression yet: five fields, e.g. 0 6 * * 1-5."))
    return expression, chosen_zone


def schedule_form(services: Services, user: AppUser, script_id: uuid.UUID, *, script_version: int) -> None:
    """ "Schedule this script": connection, expression, time zone; created as the user (who may run the script)."""
    key = f"schedule_form_{script_id}"
    manager = schedule_manager(services)
    try:
        existing = manager.list(user.claims, script_id=script_id, mine_only=True)
        connections = visible_connections(services, user)
    except DbaAdminError as exc:
        show_error(exc, action=_("Loading the schedules"))
        return
    if existing:
        st.caption(
            _("This script has {count} schedule(s) of yours; manage them on the Schedules page.").format(
                count=len(existing)
            )
        )
        st.page_link(SCHEDULES_PAGE, label=_("Open Schedules"), icon=":material/schedule:")
    if not connections:
        st.info(_("No connection is open to you, so nothing can be scheduled. Ask an admin for access."))
        return
    st.caption(
        _(
            "Runs the saved version (v{version} now, the latest saved one at each run) as you, with your rights at "
            "that moment: analysts and viewers run read-only. Each run is in the history with origin scheduled."
        ).format(version=script_version)
    )
    connection = st.selectbox(_("Connection"), connections, key=f"{key}_connection")
    cron, zone = cron_inputs(key=key)
    if st.button(_("Schedule"), key=f"{key}_submit", type="primary") and connection is not None:
        try:
            made = manager.create(user.claims, script_id, connection, cron, zone)
        except DbaAdminError as exc:
            show_error(exc, action=_("Scheduling"))
        else:
            nxt = made.next_run
            st.success(
                _("Scheduled: {cron} ({zone}) on {connection}; next run {next}.").format(
                    cron=escape_markdown(made.cron),
                    zone=made.timezone,
                    connection=escape_markdown(made.connection),
                    next=when(nxt) if nxt else "—",
                )
            )


def schedule_section(services: Services, user: AppUser, script: Script, *, archived: bool) -> None:
    """The script page's "Schedule this script" expander (nothing for an archived project: it cannot run changes)."""
    if archived:
        return
    with st.expander(_("Schedule this script"), icon=":material/schedule:"):
        schedule_form(services, user, script.id, script_version=script.version)
