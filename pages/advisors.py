"""Advisors: what is wrong with the database before users notice, and the SQL that fixes each finding.

The checks run when the page opens and on "Run checks"; the report is kept for the session so that filtering
and expanding findings do not query the database again. fix_sql is shown (with a copy button) and can be
opened in the SQL editor; nothing is ever applied from here. The checks read the chosen connection (its monitor
login); muting is per connection, kept in the workspace and audited by the core; a muted finding stays listed under
"Muted" so it can be unmuted.
"""

from __future__ import annotations

import datetime as dt
import re

import streamlit as st

from dba_admin.advisors import CATEGORIES, AdvisorReport, Finding, filter_findings, mute_finding, run_checks, unmute
from dba_admin.errors import DbaAdminError
from dba_admin.i18n import N_
from ui.assistant import open_in_sql_editor
from ui.i18n import _, ngettext, when
from ui.markdown import escape_markdown
from ui.session import current_connection, get_services, require_page, show_connection, show_error

REPORT = "advisors_report"  # (connection, the last AdvisorReport of this session on it)
FLASH = "advisors_flash"  # a message for the next run (after a mute or unmute)
LEVEL_ORDER = ("ERROR", "WARN", "INFO")
LEVEL_ICONS = {"ERROR": ":material/error:", "WARN": ":material/warning:", "INFO": ":material/info:"}
LEVEL_TITLES = {"ERROR": N_("Errors"), "WARN": N_("Warnings"), "INFO": N_("Info")}
# The categories as shown; the levels (ERROR, WARN, INFO) read the same in every language.
CATEGORY_TITLES = {"SECURITY": N_("Security"), "PERFORMANCE": N_("Performance"), "MAINTENANCE": N_("Maintenance")}


def category_title(category: str) -> str:
    return _(CATEGORY_TITLES.get(category, category.title()))


user = require_page("advisors")
services = get_services()
conn = current_connection(services, user)

st.title(_("Advisors"))
show_connection(services, conn)
st.caption(
    _(
        "Security, performance and maintenance checks, in the spirit of Supabase's advisors and PgHero. Every "
        "finding says how to fix it; fix SQL is shown for you to review and run — never applied from here."
    )
)


def _run() -> AdvisorReport | None:
    try:
        with st.spinner(_("Running the checks…")):
            report = run_checks(conn)
    except (DbaAdminError, ValueError) as exc:  # a lost connection is a QueryError too: a message, not a traceback
        show_error(exc, action=_("Running the checks"))
        return None
    st.session_state[REPORT] = (conn.name, report)
    return report


run_clicked = st.button(_("Run checks"), key="advisors_run", icon=":material/refresh:", type="primary")
kept = st.session_state.get(REPORT)
if run_clicked or kept is None or kept[0] != conn.name:  # on arrival, and on another connection: run the checks
    _run()
    kept = st.session_state.get(REPORT)
report: AdvisorReport | None = kept[1] if kept is not None and kept[0] == conn.name else None
if report is None:
    st.stop()

flash = st.session_state.pop(FLASH, None)
if flash:
    st.success(escape_markdown(flash))  # names the finding's object: plain text

findings = [f for f in report.findings if not f.check_failed]  # failed checks are listed on their own below
active = [f for f in findings if not f.muted]
muted = [f for f in findings if f.muted]
not_run = report.failed_checks + report.unavailable_checks
st.caption(
    ngettext("Last run {time} UTC · {count} check", "Last run {time} UTC · {count} checks", len(report.runs)).format(
        time=when(report.ran_at.astimezone(dt.UTC)), count=len(report.runs)
    )
)

cols = st.columns(5)
for column, level in zip(cols, LEVEL_ORDER, strict=False):
    column.metric(level, sum(1 for f in active if f.level == level))
cols[3].metric(_("Muted"), len(muted))
cols[4].metric(_("Checks not run"), len(not_run))

left, middle, right = st.columns([2, 2, 1], vertical_alignment="bottom")
categories = left.multiselect(
    _("Category"),
    CATEGORIES,
    default=list(CATEGORIES),
    key="advisors_categories",
    # Worked out during the run: a format_func is also called outside it (AppTest), where the locale is unknown.
    format_func={category: category_title(category) for category in CATEGORIES}.__getitem__,
)
levels = middle.multiselect(_("Level"), LEVEL_ORDER, default=list(LEVEL_ORDER), key="advisors_levels")
show_muted = right.toggle(_("Show muted"), value=True, key="advisors_show_muted")

if categories and levels:
    visible = filter_findings(findings, categories=categories, levels=levels)
else:
    visible = []
    st.info(_("Choose at least one category and one level."))

used_keys: set[str] = set()


def _widget_key(finding: Finding) -> str:
    """A widget key per finding that survives filtering (cache_key), made unique if two findings share one."""
    base = re.sub(r"\W+", "_", finding.cache_key)[:120]
    key, n = base, 1
    while key in used_keys:
        n += 1
        key = f"{base}_{n}"
    used_keys.add(key)
    return key


def _refresh(message: str) -> None:
    if _run() is not None:
        st.session_state[FLASH] = message
        st.rerun()


def _show(finding: Finding) -> None:
    key = _widget_key(finding)
    # Everything a finding says is built from catalog names (and, for some checks, statement text): plain text.
    label = escape_markdown(f"{finding.title} — {finding.object}")
    with st.expander(label, expanded=finding.level == "ERROR" and not finding.muted, icon=LEVEL_ICONS[finding.level]):
        st.markdown(escape_markdown(finding.detail))
        st.markdown(_("**How to fix it.** {remediation}").format(remediation=escape_markdown(finding.remediation)))
        if finding.fix_sql:
            st.code(finding.fix_sql, language="sql")
            if user.is_dba:
                st.caption(
                    _("Copy it (top-right of the block) or open it in the SQL editor to review and run it there.")
                )
                if st.button(_("Open in SQL editor"), key=f"advisors_open_{key}", icon=":material/open_in_new:"):
                    open_in_sql_editor(finding.fix_sql)
        st.caption(
            _("{level} · {category} · check {name} · key {key}").format(
                level=finding.level,
                category=category_title(finding.category),
                name=escape_markdown(finding.name),
                key=escape_markdown(finding.cache_key),
            )
        )
        if finding.muted:
            who = escape_markdown(finding.muted_by or _("someone"))
            why = escape_markdown(finding.mute_reason or _("no reason given"))
            st.caption(
                _("Muted by {user} on {time} UTC: {reason}").format(
                    user=who, time=when(finding.muted_at.astimezone(dt.UTC), length="short"), reason=why
                )
                if finding.muted_at
                else _("Muted by {user}: {reason}").format(user=who, reason=why)
            )
            if st.button(_("Unmute"), key=f"advisors_unmute_{key}", icon=":material/notifications_active:"):
                try:
                    unmute(conn, finding.cache_key, actor=user.username)
                except (DbaAdminError, ValueError) as exc:
                    show_error(exc, action=_("Unmuting"))
                else:
                    _refresh(_("Unmuted: {title} — {object}.").format(title=finding.title, object=finding.object))
            return
        reason = st.text_input(
            _("Reason to mute"),
            key=f"advisors_reason_{key}",
            placeholder=_("e.g. accepted: the table is only read by the service role"),
        )
        if st.button(_("Mute"), key=f"advisors_mute_{key}", icon=":material/notifications_off:"):
            if not reason.strip():
                st.warning(_("Say why it is muted: the reason is kept with the mute and in the audit log."))
                return
            try:
                mute_finding(conn, finding, actor=user.username, reason=reason.strip())
            except (DbaAdminError, ValueError) as exc:
                show_error(exc, action=_("Muting"))
            else:
                _refresh(
                    _("Muted: {title} — {object}. It stays listed under Muted.").format(
                        title=finding.title, object=finding.object
                    )
                )


shown_active = [f for f in visible if not f.muted]
if not active:
    st.success(_("No open findings: every check that ran came out clean (or its findings are muted)."))
elif not shown_active and categories and levels:
    st.info(_("No open findings match the filters."))

for level in LEVEL_ORDER:
    group = [f for f in shown_active if f.level == level]
    if not group:
        continue
    st.subheader(f"{_(LEVEL_TITLES[level])} · {len(group)}")
    for category in CATEGORIES:
        in_category = [f for f in group if f.category == category]
        if not in_category:
            continue
        st.markdown(f"**{category_title(category)}** · {len(in_category)}")
        for finding in in_category:
            _show(finding)

shown_muted = [f for f in visible if f.muted]
if muted and show_muted:
    st.subheader(_("Muted · {count}").format(count=len(shown_muted)))
    if not shown_muted:
        st.caption(_("No muted finding matches the filters."))
    for finding in shown_muted:
        _show(finding)
elif muted:
    st.caption(_("{count} muted finding(s) hidden; turn on “Show muted” to see them.").format(count=len(muted)))

if not_run:
    st.subheader(_("Checks that did not run · {count}").format(count=len(not_run)))
    st.caption(_("Nothing was verified by these checks; the others are not affected."))
    for run in report.failed_checks:
        st.error(
            _("**{name}** ({category}) failed: {message}").format(
                name=escape_markdown(run.name),
                category=category_title(run.category),
                message=escape_markdown(run.message or _("unknown error")),
            )
        )
    for run in report.unavailable_checks:
        st.info(
            _("**{name}** ({category}) is not available: {message}").format(
                name=escape_markdown(run.name),
                category=category_title(run.category),
                message=escape_markdown(run.message or _("not available")),
            )
        )
