"""Monitor · Activity: live sessions, long-running and idle-in-transaction ones highlighted, blocking chains,
and cancel / terminate with a confirmation step (audited by dba_admin.activity).

The page works on the chosen connection: the list is read on its monitor login; cancel and terminate need its DBA
login (pg_signal_backend). The live part is a fragment: the chosen interval, and every click inside it, rerun only
the fragment. The action runs in a button callback, so the list drawn right after already shows its effect.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dba_admin.activity import (
    DEFAULT_LONG_RUNNING_SECONDS,
    SessionInfo,
    blocking_chains,
    blocking_dot,
    cancel_backend,
    list_sessions,
    sessions_frame,
    terminate_backend,
)
from dba_admin.errors import NotFound
from dba_admin.i18n import N_
from ui.i18n import _
from ui.markdown import escape_markdown
from ui.session import (
    current_connection,
    dba_login_notice,
    get_services,
    require_page,
    show_connection,
    show_error,
)

# Option values stay English (the widget keeps them); the labels are translated where drawn.
INTERVALS: dict[str, int | None] = {N_("Off"): None, "5 s": 5, "10 s": 10, "30 s": 30}
ACTIONS = {"cancel": N_("Cancel query"), "terminate": N_("Terminate session")}
LONG_COLOR = "background-color: rgba(217, 83, 79, 0.22)"
IDLE_TX_COLOR = "background-color: rgba(240, 173, 78, 0.28)"
BLOCKED_COLOR = "background-color: rgba(255, 221, 87, 0.30)"

user = require_page("activity")
services = get_services()
conn = current_connection(services, user)


def highlight(row: pd.Series) -> list[str]:
    """Row colours: long-running red, idle in transaction amber, waiting on a lock yellow."""
    if row["long_running"]:
        style = LONG_COLOR
    elif row["idle_in_transaction"]:
        style = IDLE_TX_COLOR
    elif row["blocked_by"]:
        style = BLOCKED_COLOR
    else:
        style = ""
    return [style] * len(row)


def ask(pid: int | None, action: str) -> None:
    if pid is not None:
        st.session_state["activity_pending"] = {"pid": int(pid), "action": action, "connection": conn.name}
        st.session_state.pop("activity_outcome", None)


def confirm() -> None:
    """Runs before the fragment redraws: the list that follows already shows the effect."""
    pending = st.session_state.pop("activity_pending", None)
    if not pending:
        return
    if pending.get("connection") != conn.name:  # a pid means nothing on another database: never signal it there
        st.session_state["activity_outcome"] = ("gone", _("The connection changed since you picked that session."))
        return
    signal = cancel_backend if pending["action"] == "cancel" else terminate_backend
    try:
        result = signal(conn, pending["pid"], user.username)
        st.session_state["activity_outcome"] = (
            "ok",
            _("{message} Recorded in the audit log.").format(message=result.message),
        )
    except NotFound as exc:
        st.session_state["activity_outcome"] = ("gone", str(exc))
    except Exception as exc:  # shown by show_error on the next draw, never a traceback
        st.session_state["activity_outcome"] = ("error", exc)


def back() -> None:
    st.session_state.pop("activity_pending", None)


def session_table(sessions: list[SessionInfo]) -> None:
    frame = sessions_frame(sessions)
    styled = frame.style.apply(highlight, axis=1)
    st.dataframe(
        styled,
        hide_index=True,
        column_order=[
            "pid",
            "user",
            "state",
            "duration_s",
            "wait",
            "blocked_by",
            "query",
            "app",
            "application",
            "client",
            "database",
            "run_by",
            "query_start",
            "backend_type",
        ],
        column_config={
            "user": _("user"),
            "state": _("state"),
            "duration_s": st.column_config.NumberColumn(_("duration"), format="%.1f s"),
            "wait": _("wait"),
            "query": st.column_config.TextColumn(_("query"), width="large"),
            "app": st.column_config.CheckboxColumn(_("app"), help=_("The app's own query (/* dba_admin */ tag)")),
            "application": _("application"),
            "client": _("client"),
            "database": _("database"),
            "blocked_by": st.column_config.TextColumn(_("blocked by")),
            "run_by": st.column_config.TextColumn(_("run by"), help=_("App user running it (SQL editor)")),
            "query_start": st.column_config.DatetimeColumn(_("query start"), format="HH:mm:ss"),
            "backend_type": _("backend type"),
        },
        key="activity_sessions",
    )
    st.caption(_("Red: running longer than the threshold · amber: idle in transaction · yellow: waiting on a lock."))


def chains(sessions: list[SessionInfo]) -> None:
    st.subheader(_("Blocking chains"), anchor=False)
    report = blocking_chains(conn, sessions)
    if report.empty:
        st.success(_("No session waits on a lock held by another."), icon=":material/check:")
        return
    st.graphviz_chart(blocking_dot(report))
    st.code("\n".join(report.lines()), language=None)
    roots = ", ".join(str(r.pid) for r in report.roots)
    st.caption(
        _("Head of the chain: {pids}. Cancelling or terminating the head releases the sessions below it.").format(
            pids=roots
        )
    )


def actions(sessions: list[SessionInfo]) -> None:
    st.subheader(_("Cancel or terminate"), anchor=False)
    if not conn.has_dba_login:  # the monitor login reads; signalling a backend is the DBA login's
        notice = dba_login_notice(conn, _("Cancelling or terminating a session"), _("this page only reads"))
        st.info(escape_markdown(notice))
        return
    by_pid = {s.pid: s for s in sessions}
    outcome = st.session_state.get("activity_outcome")
    if outcome:
        kind, payload = outcome
        if kind == "ok":
            st.success(escape_markdown(payload))  # names a backend and its user: plain text
        elif kind == "gone":
            st.warning(escape_markdown(payload))
        else:
            show_error(payload, action=_("The signal"))
    c1, c2, c3 = st.columns([4, 2, 1], vertical_alignment="bottom")
    pid = c1.selectbox(
        _("Backend"),
        list(by_pid),
        index=None,
        format_func=lambda p: by_pid[p].label(80) if p in by_pid else str(p),
        key="activity_pid",
        placeholder=_("pick a session"),
    )
    action = c2.radio(
        _("Action"), list(ACTIONS), format_func=lambda a: _(ACTIONS[a]), key="activity_action", horizontal=True
    )
    c3.button(_("Continue…"), key="activity_ask", disabled=pid is None, on_click=ask, args=(pid, action))

    pending: dict[str, Any] | None = st.session_state.get("activity_pending")
    if pending and pending.get("connection") != conn.name:
        st.session_state.pop("activity_pending", None)
        pending = None
    if not pending:
        st.caption(
            _(
                "Cancel stops the running statement and keeps the session; terminate ends the session and rolls "
                "back its open transaction. Both are recorded in the audit log."
            )
        )
        return
    target = by_pid.get(pending["pid"])
    what = escape_markdown(
        target.label(120) if target else _("backend {pid} (no longer listed)").format(pid=pending["pid"])
    )
    consequence = (
        _("Its running statement stops with an error (57014); the session stays connected.")
        if pending["action"] == "cancel"
        else _("The session is disconnected; its open transaction is rolled back.")
    )
    with st.container(border=True):
        st.warning(
            _("**{action}** for {session}?\n\n{consequence}").format(
                action=_(ACTIONS[pending["action"]]), session=what, consequence=consequence
            )
        )
        if target is not None and pending["action"] == "cancel" and target.state != "active":
            st.caption(
                _("It is {state}: a cancel only stops a running statement. Terminate ends it.").format(
                    state=escape_markdown(target.state)
                )
            )
        if target is not None and target.is_app_query:
            st.caption(_("This is one of the app's own sessions (possibly a colleague's SQL editor run)."))
        y, n, _spacer = st.columns([1, 1, 4])
        y.button(_("Confirm"), key="activity_confirm", type="primary", on_click=confirm)
        n.button(_("Back"), key="activity_back", on_click=back)


st.title(_("Activity"))
show_connection(services, conn)
c1, c2, c3, c4, c5 = st.columns([1.3, 1, 1, 1, 1], vertical_alignment="bottom")
threshold = c1.number_input(
    _("Long-running after (s)"),
    min_value=1.0,
    value=DEFAULT_LONG_RUNNING_SECONDS,
    step=10.0,
    key="activity_threshold",
)
show_idle = c2.toggle(_("Idle sessions"), value=False, key="activity_idle")
background = c3.toggle(_("Background workers"), value=False, key="activity_background")
interval_label = c4.selectbox(_("Auto-refresh"), list(INTERVALS), format_func=_, key="activity_interval")
c5.button(_("Refresh"), key="activity_refresh", icon=":material/refresh:")


@st.fragment(run_every=INTERVALS[interval_label])
def live() -> None:
    try:
        with st.spinner(_("Reading pg_stat_activity…")):
            everything = list_sessions(conn, long_running_seconds=float(threshold), client_only=not background)
    except Exception as exc:
        show_error(exc, action=_("Reading the sessions"))
        return
    others = [s for s in everything if not s.is_self]  # the connection that just listed them
    shown = [s for s in others if show_idle or s.state != "idle"]
    m = st.columns(5)
    m[0].metric(_("Sessions"), len(others))
    m[1].metric(_("Active"), sum(s.state == "active" for s in others))
    m[2].metric(_("Idle in transaction"), sum(s.idle_in_transaction for s in others))
    m[3].metric(_("Long-running"), sum(s.long_running for s in others))
    m[4].metric(_("Waiting on locks"), sum(s.waiting_on_lock for s in others))
    if shown:
        session_table(shown)
    else:
        st.info(_("No session is doing anything right now; idle ones are hidden (turn on 'Idle sessions')."))
    chains(others)
    actions(shown)


live()
