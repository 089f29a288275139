"""Monitor · Alerts: the rules and their state, a form to create or edit one, test messages, recent deliveries.

Everything goes through dba_admin.jobs.alerts.AlertEngine (rules, audit, delivery); this page only draws and collects
input. A webhook URL is typed into a password field and never shown again: the page lists it as ``scheme://host/…``.
Rules are evaluated by the worker each minute (``AlertEngine.evaluate``), not by this page.
"""

from __future__ import annotations

import uuid
from typing import Any

import pandas as pd
import streamlit as st

from dba_admin.errors import DbaAdminError
from dba_admin.jobs.alerts import (
    ADVISOR_FINDINGS,
    CONDITIONS,
    CONNECTION_UNREACHABLE,
    DEFAULT_WINDOW_MINUTES,
    ERROR_RATE,
    KINDS,
    MAX_WINDOW_MINUTES,
    RUN_FAILURE,
    SCRIPT_RESULT,
    AlertEngine,
    DeliveryRow,
    Rule,
    RuleSpec,
)
from dba_admin.jobs.delivery import WEBHOOK
from dba_admin.levels import LEVELS
from ui.i18n import _, number, when
from ui.markdown import escape_markdown
from ui.session import get_services, require_page, show_error

EDITING = "alerts_editing"  # the id (text) of the rule in the form, or absent for a new one
FLASH = "alerts_flash"  # (kind, text) shown once after an action

user = require_page("alerts")
services = get_services()
engine = AlertEngine(services)


def kind_label(kind: str) -> str:
    return {
        SCRIPT_RESULT: _("Scheduled script result"),
        RUN_FAILURE: _("Run failure"),
        ADVISOR_FINDINGS: _("Advisor findings"),
        ERROR_RATE: _("Error rate of runs"),
        CONNECTION_UNREACHABLE: _("Connection unreachable"),
    }.get(kind, kind)


def condition_label(condition: str) -> str:
    return {
        "rows_above": _("More rows than the threshold"),
        "value_above": _("First value above the threshold"),
        "value_below": _("First value below the threshold"),
    }.get(condition, condition)


def what_it_watches(rule: Rule) -> str:
    """One line, in the reader's language, of the rule's condition."""
    p = rule.parameters
    script = p.get("script_id")
    if rule.kind == SCRIPT_RESULT:
        threshold = number(float(p.get("threshold", 0)))
        text = {
            "rows_above": _("more than {threshold} rows"),
            "value_above": _("first value above {threshold}"),
            "value_below": _("first value below {threshold}"),
        }[p.get("condition", "rows_above")].format(threshold=threshold)
        where = _("script {script}").format(script=str(script)[:8]) if script else _("any scheduled script")
        return f"{where}: {text}"
    if rule.kind == RUN_FAILURE:
        if script:
            return _("failed runs of script {script}").format(script=str(script)[:8])
        return _("any failed run (error, timeout, interrupted)")
    if rule.kind == ADVISOR_FINDINGS:
        return _("{count} or more findings at {level} or above").format(count=p.get("min_count", 1), level=p["level"])
    if rule.kind == ERROR_RATE:
        return _("more than {percent}% of at least {runs} runs failed").format(
            percent=number(float(p.get("percent", 0))), runs=p.get("min_runs", 1)
        )
    return _("the connection does not answer") if rule.connection else _("a registered connection does not answer")


def state_label(rule: Rule) -> str:
    if not rule.enabled:
        return _("disabled")
    return _("firing") if rule.firing else _("ok")


def channel_label(channel: str) -> str:
    return _("Webhook") if channel == WEBHOOK else _("E-mail")


def delivery_status(status: str) -> str:
    return {"sent": _("sent"), "failed": _("failed"), "retrying": _("retrying"), "pending": _("pending")}.get(
        status, status
    )


def delivery_kind(kind: str) -> str:
    return {"alert": _("alert"), "summary": _("summary"), "test": _("test")}.get(kind, kind)


def flash(kind: str, text: str) -> None:
    st.session_state[FLASH] = (kind, text)


def show_flash() -> None:
    said = st.session_state.pop(FLASH, None)
    if not said:
        return
    kind, text = said
    (st.success if kind == "success" else st.error)(escape_markdown(text))


# -- actions (callbacks: they run before the page is drawn again) -------------------------------------------


def toggle(rule_id: uuid.UUID, enabled: bool) -> None:
    try:
        rule = engine.set_enabled(rule_id, enabled, actor=user.username)
    except (DbaAdminError, ValueError) as exc:
        flash("error", _("Changing the rule failed: {reason}").format(reason=exc))
        return
    text = _("Rule {name} enabled.") if enabled else _("Rule {name} disabled.")
    flash("success", text.format(name=rule.name))


def delete(rule_id: uuid.UUID, name: str) -> None:
    if not st.session_state.get(f"alerts_confirm_delete_{rule_id}"):
        flash("error", _("Tick the confirmation first: nothing was deleted."))
        return
    try:
        engine.delete_rule(rule_id, actor=user.username)
    except (DbaAdminError, ValueError) as exc:
        flash("error", _("Deleting the rule failed: {reason}").format(reason=exc))
        return
    if st.session_state.get(EDITING) == str(rule_id):
        st.session_state.pop(EDITING, None)
    flash("success", _("Rule {name} deleted; its deliveries stay listed.").format(name=name))


def send_test(rule_id: uuid.UUID, channel: str) -> None:
    try:
        result = engine.send_test(rule_id, channel, actor=user.username)
    except (DbaAdminError, ValueError) as exc:
        flash("error", _("The test could not be sent: {reason}").format(reason=exc))
        return
    if result.sent:
        flash("success", _("Test message sent to {target}.").format(target=result.target))
    else:
        flash(
            "error",
            _("The test message to {target} failed after {attempts} attempt(s): {reason}").format(
                target=result.target, attempts=result.attempts, reason=result.error or ""
            ),
        )


def edit(rule_id: uuid.UUID | None) -> None:
    if rule_id is None:
        st.session_state.pop(EDITING, None)
    else:
        st.session_state[EDITING] = str(rule_id)


# -- the page --------------------------------------------------------------------------------------------------

st.title(_("Alerts"))
st.caption(
    _(
        "Rules watch scheduled results, failed runs, the error rate, advisor findings and connections. The worker "
        "checks them every minute; a rule that fires sends one message per window on its channels, then one summary "
        "of what happened since."
    )
)

try:
    rules = engine.list_rules()
    deliveries = engine.recent_deliveries(50)
    connections = [c.name for c in services.registry.list()]
except DbaAdminError as exc:
    show_error(exc, action=_("Reading the alert rules"))
    st.stop()

show_flash()
by_id = {rule.id: rule for rule in rules}

st.subheader(_("Rules"), anchor=False)
if not rules:
    st.info(
        _(
            "No alert rule yet. Create one below: for example a message to your team's chat when a run fails, or an "
            "e-mail when a connection stops answering."
        ),
        icon=":material/notifications_off:",
    )
else:
    frame = pd.DataFrame(
        [
            {
                "name": rule.name,
                "state": state_label(rule),
                "kind": kind_label(rule.kind),
                "watches": what_it_watches(rule),
                "connection": rule.connection or _("any"),
                "window": rule.window_minutes,
                "channels": ", ".join([rule.webhook_target or ""] * (WEBHOOK in rule.channels) + list(rule.email_to)),
                "last_fired": rule.last_fired_at,
                "suppressed": rule.suppressed,
                "last_evaluated": rule.last_evaluated_at,
            }
            for rule in rules
        ]
    )
    st.dataframe(
        frame,
        hide_index=True,
        column_config={
            "name": st.column_config.TextColumn(_("Rule")),
            "state": st.column_config.TextColumn(_("State")),
            "kind": st.column_config.TextColumn(_("Kind")),
            "watches": st.column_config.TextColumn(_("Fires when"), width="large"),
            "connection": st.column_config.TextColumn(_("Connection")),
            "window": st.column_config.NumberColumn(_("Window (min)"), format="%d"),
            "channels": st.column_config.TextColumn(_("Sends to"), width="medium"),
            "last_fired": st.column_config.DatetimeColumn(_("Last fired"), format="YYYY-MM-DD HH:mm"),
            "suppressed": st.column_config.NumberColumn(
                _("Counted"), help=_("Triggers in the open window, to be sent as one summary"), format="%d"
            ),
            "last_evaluated": st.column_config.DatetimeColumn(_("Last checked"), format="YYYY-MM-DD HH:mm"),
        },
        key="alerts_rules_table",
    )
    chosen: Any = st.selectbox(
        _("Rule to act on"), list(by_id), format_func=lambda rid: by_id[rid].name, key="alerts_chosen"
    )
    rule = by_id[chosen]
    if rule.last_message:
        st.caption(_("Last trigger: {message}").format(message=escape_markdown(rule.last_message.splitlines()[0])))
    cols = st.columns(4)
    cols[0].button(_("Edit"), key="alerts_edit", on_click=edit, args=(rule.id,), icon=":material/edit:")
    if rule.enabled:
        cols[1].button(_("Disable"), key="alerts_disable", on_click=toggle, args=(rule.id, False))
    else:
        cols[1].button(_("Enable"), key="alerts_enable", on_click=toggle, args=(rule.id, True))
    for column, channel in zip(cols[2:], rule.channels, strict=False):
        label = _("Send test to webhook") if channel == WEBHOOK else _("Send test e-mail")
        column.button(label, key=f"alerts_test_{channel}", on_click=send_test, args=(rule.id, channel))
    with st.expander(_("Delete this rule")):
        st.checkbox(
            _("Yes, delete rule {name}").format(name=rule.name), key=f"alerts_confirm_delete_{rule.id}", value=False
        )
        st.button(_("Delete rule"), key="alerts_delete", type="primary", on_click=delete, args=(rule.id, rule.name))

# -- the form: a new rule, or the one being edited ---------------------------------------------------------------

editing_id = st.session_state.get(EDITING)
current = next((r for r in rules if str(r.id) == editing_id), None)
if current is None:
    st.session_state.pop(EDITING, None)
suffix = str(current.id) if current else "new"
st.subheader(
    _("Edit rule {name}").format(name=current.name) if current else _("New rule"),
    anchor=False,
)
if current is not None:
    st.button(_("Cancel editing"), key="alerts_cancel", on_click=edit, args=(None,))

kind = st.selectbox(
    _("Fires on"),
    KINDS,
    index=KINDS.index(current.kind) if current else 0,
    format_func=kind_label,
    key=f"alerts_kind_{suffix}",
)
old = current.parameters if current and current.kind == kind else {}
with st.form(f"alerts_form_{suffix}"):
    name = st.text_input(_("Name"), value=current.name if current else "", max_chars=120)
    options = ["", *connections]
    where = current.connection if current and current.connection in connections else ""
    connection = st.selectbox(
        _("Connection"),
        options,
        index=options.index(where or ""),
        format_func=lambda c: c or _("Any connection"),
        help=_("Advisor findings need one connection; the other kinds may watch any."),
    )
    parameters: dict[str, Any] = {}
    if kind in (SCRIPT_RESULT, RUN_FAILURE):
        parameters["script_id"] = st.text_input(
            _("Script id"),
            value=str(old.get("script_id") or ""),
            help=_("Only this script (its id, from the script's page); empty for any script."),
        )
    if kind == SCRIPT_RESULT:
        parameters["condition"] = st.selectbox(
            _("Condition"),
            CONDITIONS,
            index=CONDITIONS.index(old.get("condition", "rows_above")),
            format_func=condition_label,
        )
        parameters["threshold"] = st.number_input(_("Threshold"), value=float(old.get("threshold", 0.0)))
    elif kind == ADVISOR_FINDINGS:
        parameters["level"] = st.selectbox(_("At or above level"), LEVELS, index=LEVELS.index(old.get("level", "WARN")))
        parameters["min_count"] = st.number_input(
            _("Minimum number of findings"), min_value=1, value=int(old.get("min_count", 1)), step=1
        )
    elif kind == ERROR_RATE:
        parameters["percent"] = st.number_input(
            _("Error rate above (%)"), min_value=0.0, max_value=99.9, value=float(old.get("percent", 10.0))
        )
        parameters["min_runs"] = st.number_input(
            _("Minimum number of runs in the window"), min_value=1, value=int(old.get("min_runs", 5)), step=1
        )
    elif kind == CONNECTION_UNREACHABLE:
        parameters["timeout_s"] = st.number_input(
            _("Time limit (seconds)"), min_value=0.5, max_value=60.0, value=float(old.get("timeout_s", 5.0))
        )
    window = st.number_input(
        _("Window (minutes)"),
        min_value=1,
        max_value=MAX_WINDOW_MINUTES,
        value=current.window_minutes if current else DEFAULT_WINDOW_MINUTES,
        step=1,
        help=_("One message per window; further triggers inside it are counted and sent as one summary at its end."),
    )
    webhook = st.text_input(
        _("Webhook URL"),
        type="password",
        help=_(
            "A Slack-compatible incoming webhook. Stored encrypted and shown only as its host; leave empty to keep "
            "the current one."
        ),
    )
    if current is not None and current.webhook_target:
        st.caption(_("Current webhook: {target}").format(target=current.webhook_target))
        clear_webhook = st.checkbox(_("Remove the webhook"), value=False)
    else:
        clear_webhook = False
    emails = st.text_input(
        _("E-mail addresses"),
        value=", ".join(current.email_to) if current else "",
        help=_("Separated by commas. E-mail needs SMTP_HOST (and SMTP_FROM) in the settings."),
    )
    enabled = st.checkbox(_("Enabled"), value=current.enabled if current else True)
    submitted = st.form_submit_button(_("Save rule"), type="primary")

if submitted:
    spec = RuleSpec(
        name=name,
        kind=kind,
        parameters=parameters,
        connection=connection or None,
        window_minutes=int(window),
        webhook_url=webhook.strip() or None,
        email_to=emails,
        enabled=enabled,
        clear_webhook=clear_webhook,
    )
    try:
        if current is not None:
            saved = engine.update_rule(current.id, spec, actor=user.username)
        else:
            saved = engine.create_rule(spec, actor=user.username)
    except (DbaAdminError, ValueError) as exc:
        show_error(exc, action=_("Saving the rule"))
    else:
        st.session_state.pop(EDITING, None)
        flash("success", _("Rule {name} saved.").format(name=saved.name))
        st.rerun()

# -- deliveries -------------------------------------------------------------------------------------------------


def deliveries_frame(rows: list[DeliveryRow]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "at": when(row.created_at, length="short"),
                "rule": row.rule_name,
                "kind": delivery_kind(row.kind),
                "channel": channel_label(row.channel),
                "target": row.target,
                "status": delivery_status(row.status),
                "attempts": row.attempts,
                "reply": str(row.http_status) if row.http_status is not None else (row.smtp_reply or ""),
                "error": row.error or "",
                "summary": row.payload_summary,
            }
            for row in rows
        ]
    )


st.subheader(_("Recent deliveries"), anchor=False)
if not deliveries:
    st.info(_("No delivery yet: messages appear here once a rule fires or a test is sent."))
else:
    st.dataframe(
        deliveries_frame(deliveries),
        hide_index=True,
        column_config={
            "at": st.column_config.TextColumn(_("When")),
            "rule": st.column_config.TextColumn(_("Rule")),
            "kind": st.column_config.TextColumn(_("Message")),
            "channel": st.column_config.TextColumn(_("Channel")),
            "target": st.column_config.TextColumn(_("Target")),
            "status": st.column_config.TextColumn(_("Status")),
            "attempts": st.column_config.NumberColumn(_("Attempts"), format="%d"),
            "reply": st.column_config.TextColumn(_("Reply"), help=_("HTTP status or SMTP reply")),
            "error": st.column_config.TextColumn(_("Error"), width="medium"),
            "summary": st.column_config.TextColumn(_("Said"), width="large"),
        },
        key="alerts_deliveries_table",
    )
    failed = sum(row.status == "failed" for row in deliveries)
    if failed:
        st.warning(
            _("{count} of the last {total} deliveries failed: check the error column and the channel.").format(
                count=failed, total=len(deliveries)
            )
        )
