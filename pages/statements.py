"""Monitor · Statements: pg_stat_statements as PgHero shows it — sortable, filterable, one statement in detail with
a plan and index advice for a representative query, and an audited reset for DBAs.

The read (dba_admin.statements) runs on the connection's monitor login and is kept CACHE_TTL_S seconds per
connection and filters; "Refresh" asks again. The filters are read from the session before the read, and drawn
after it, so the database and role choices come from the statistics themselves. Explain and Index advice work on
the text the DBA types (the normalised text, with real values in place of $1, $2...), never on the normalised
text alone: PostgreSQL cannot plan a statement with parameters it has no value for.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import streamlit as st

from dba_admin.errors import DbaAdminError, QueryError
from dba_admin.i18n import N_
from dba_admin.plan import parse_plan
from dba_admin.statements import (
    MAX_ROWS,
    SORTS,
    StatementFilter,
    StatementsReport,
    StatementStat,
    parameters,
    read_statements,
    reset_statements,
    statements_frame,
)
from ui import figures
from ui.i18n import _, ngettext, number
from ui.markdown import escape_markdown
from ui.plans import show_index_advice, show_plan
from ui.session import (
    current_connection,
    dba_login_notice,
    get_services,
    require_page,
    show_connection,
    show_error,
)
from ui.sql_workbench import show_sql_error
from ui.widgets import fmt_ms, lazy_tabs, tab_open

CACHE_TTL_S = 5
DETAIL_CHOICES = 200  # statements offered in the detail picker: the first ones by the chosen sort
CHART_TOP = 10
# Option values (kept in the session); shown translated.
ALL_DATABASES = N_("All databases")
ALL_ROLES = N_("All roles")
SQL_EDITOR_PAGE = "pages/sql_editor.py"
SQL_EDITOR_TEXT = "sql_editor_text"
# session keys
NONCE = "statements_refresh_nonce"
FOR = "statements_for"  # the connection the filters were chosen on
TEXT, DATABASE, ROLE, SORT = "statements_text", "statements_database", "statements_role", "statements_sort"
APP, PGSS, DETAIL = "statements_show_app", "statements_show_pgss", "statements_detail"
TABS = {"List": N_("Statements"), "Chart": N_("Top statements"), "Detail": N_("Statement detail")}
RESULT = "statements_result"  # the last Explain / Index advice, for one statement
PENDING = "statements_reset_pending"
OUTCOME = "statements_reset_outcome"
TO_EDITOR = "statements_to_editor"
FILTER_KEYS = (TEXT, DATABASE, ROLE, DETAIL, RESULT, PENDING)

user = require_page("statements")
services = get_services()
conn = current_connection(services, user)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False, max_entries=64)
def load(
    workspace_key: str,
    connection: str,
    text: str,
    database: str | None,
    all_databases: bool,
    role: str | None,
    include_app: bool,
    include_pgss: bool,
    sort: str,
    nonce: int,
) -> StatementsReport:
    """Cached per connection name (the page checked the user may use it) and filters; ``nonce`` only separates
    refreshes."""
    filters = StatementFilter(
        text=text,
        database=database,
        all_databases=all_databases,
        role=role,
        include_app=include_app,
        include_pg_stat_statements=include_pgss,
        sort=sort,
        limit=MAX_ROWS,
    )
    return read_statements(get_services().connection(connection), filters)


def refresh() -> None:
    st.session_state[NONCE] = time.time_ns()


def ask_reset() -> None:
    st.session_state[PENDING] = {"connection": conn.name}
    st.session_state.pop(OUTCOME, None)


def cancel_reset() -> None:
    st.session_state.pop(PENDING, None)


def confirm_reset() -> None:
    """Runs before the page redraws: the list drawn next already shows the reset."""
    pending = st.session_state.pop(PENDING, None)
    if not pending:
        return
    if pending.get("connection") != conn.name:
        st.session_state[OUTCOME] = ("error", _("The connection changed since you asked: nothing was reset."))
        return
    try:
        result = reset_statements(conn, user.claims, user.username)
        st.session_state[OUTCOME] = ("ok", result.message)
        load.clear()
        refresh()
    except Exception as exc:  # shown by show_error on the next draw, never a traceback
        st.session_state[OUTCOME] = ("exception", exc)


def to_editor(sql_text: str) -> None:
    st.session_state[SQL_EDITOR_TEXT] = sql_text
    st.session_state[TO_EDITOR] = True


# --- filters: read before the read, drawn after it ----------------------------------------------------------

if st.session_state.get(FOR) != conn.name:  # a database or role of another connection means nothing here
    for k in FILTER_KEYS:
        st.session_state.pop(k, None)
    st.session_state[FOR] = conn.name

chosen_db = st.session_state.get(DATABASE)
chosen_role = st.session_state.get(ROLE)
sort = st.session_state.get(SORT, "total_time")
try:
    with st.spinner(_("Reading pg_stat_statements…")):
        report = load(
            services.database_label,
            conn.name,
            str(st.session_state.get(TEXT, "")),
            None if chosen_db in (None, ALL_DATABASES) else str(chosen_db),
            chosen_db == ALL_DATABASES,
            None if chosen_role in (None, ALL_ROLES) else str(chosen_role),
            bool(st.session_state.get(APP, False)),
            bool(st.session_state.get(PGSS, True)),
            sort if sort in SORTS else "total_time",
            int(st.session_state.get(NONCE, 0)),
        )
except (DbaAdminError, ValueError) as exc:
    st.title(_("Statements"))
    show_error(exc, action=_("Reading pg_stat_statements"))
    st.stop()

st.title(_("Statements"))
show_connection(services, conn)
st.caption(
    _(
        "From pg_stat_statements: every statement's figures since its statistics were last reset, constants shown "
        "as $1, $2… Read on the connection's monitor login; the app's own queries are hidden unless you ask for them."
    )
)

if not report.available:
    st.info(escape_markdown(report.message or _("pg_stat_statements is not available.")), icon=":material/info:")
    st.stop()

databases = [ALL_DATABASES, *dict.fromkeys([report.current_database, *report.databases])]
roles = [ALL_ROLES, *report.roles]
c1, c2, c3, c4 = st.columns([3, 2, 2, 2], vertical_alignment="bottom")
c1.text_input(_("Query text contains"), key=TEXT, placeholder=_("e.g. orders or join"))
c2.selectbox(
    _("Database"),
    databases,
    index=databases.index(report.current_database),
    format_func=lambda d: _(d) if d == ALL_DATABASES else d,
    key=DATABASE,
    help=_("pg_stat_statements counts for the whole server; the connection's own database is shown first."),
)
c3.selectbox(_("Role"), roles, format_func=lambda r: _(r) if r == ALL_ROLES else r, key=ROLE)
c4.selectbox(_("Sort by"), list(SORTS), format_func=lambda k: _(SORTS[k][0]), key=SORT)
t1, t2, t3 = st.columns([2, 2, 1], vertical_alignment="center")
t1.toggle(_("Show the app's own queries"), key=APP, help=_("Queries tagged /* dba_admin */: this app's reads."))
t2.toggle(_("Show reads of pg_stat_statements"), value=True, key=PGSS, help=_("Off hides monitoring tools' reads."))
t3.button(_("Refresh"), key="statements_refresh", icon=":material/refresh:", on_click=refresh)

if report.privilege_note:
    st.warning(escape_markdown(report.privilege_note), icon=":material/lock:")


# --- list, chart, detail ----------------------------------------------------------------------------------------


def statement_table(stats: tuple[StatementStat, ...]) -> None:
    frame = statements_frame(stats)
    ms = "%.2f ms"
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_order=[
            "query",
            "total_ms",
            "pct_total_time",
            "calls",
            "mean_ms",
            "min_ms",
            "max_ms",
            "stddev_ms",
            "rows",
            "cache_hit_pct",
            "shared_blks_read",
            "shared_blks_hit",
            "database",
            "role",
            "queryid",
        ],
        column_config={
            "query": st.column_config.TextColumn(_("query"), width="large"),
            "total_ms": st.column_config.NumberColumn(_("total"), format="%.1f ms"),
            "pct_total_time": st.column_config.ProgressColumn(
                _("% of total time"), min_value=0.0, max_value=100.0, format="%.1f%%"
            ),
            "calls": _("calls"),
            "mean_ms": st.column_config.NumberColumn(_("mean"), format=ms),
            "min_ms": st.column_config.NumberColumn(_("min"), format=ms),
            "max_ms": st.column_config.NumberColumn(_("max"), format=ms),
            "stddev_ms": st.column_config.NumberColumn(_("stddev"), format=ms),
            "rows": _("rows"),
            "cache_hit_pct": st.column_config.ProgressColumn(
                _("cache hit"), min_value=0.0, max_value=100.0, format="%.1f%%"
            ),
            "shared_blks_read": st.column_config.NumberColumn(
                _("blocks read"), help=_("shared blocks read from disk/OS")
            ),
            "shared_blks_hit": st.column_config.NumberColumn(
                _("blocks hit"), help=_("shared blocks found in the cache")
            ),
            "database": _("database"),
            "role": _("role"),
            "queryid": st.column_config.NumberColumn("queryid", format="%d"),
        },
        key="statements_table",
    )


def top_chart(stats: tuple[StatementStat, ...], sort_key: str) -> None:
    label, column = _(SORTS[sort_key][0]), SORTS[sort_key][1]
    top = stats[:CHART_TOP]
    fig = figures.hbar(
        [f"#{i + 1} {s.short(50)}" for i, s in enumerate(top)],
        [getattr(s, column) for s in top],
        value_title=label + (" (ms)" if column.endswith("_ms") else ""),
        hover={_("calls"): [s.calls for s in top], _("mean_ms"): [round(s.mean_ms, 2) for s in top]},
        height=60 + 32 * len(top),
    )
    st.plotly_chart(fig, width="stretch", key="statements_chart")


def detail(stats: tuple[StatementStat, ...]) -> None:
    choices = stats[:DETAIL_CHOICES]
    keys = [s.key for s in choices]
    by_key = {s.key: (i, s) for i, s in enumerate(choices)}
    # The picker is a new widget whenever its choices change (a filter, a sort, a refresh): a kept widget whose
    # options changed showed the label of a statement no longer listed above the detail of another. The choice itself
    # lives in DETAIL and is kept while that statement is still listed.
    widget = f"{DETAIL}_{hashlib.sha256(chr(10).join(keys).encode()).hexdigest()[:12]}"
    chosen = st.session_state.get(DETAIL)

    def remember() -> None:
        st.session_state[DETAIL] = st.session_state[widget]

    key = st.selectbox(
        _("Statement"),
        keys,
        index=keys.index(chosen) if chosen in by_key else 0,
        format_func=lambda k: f"#{by_key[k][0] + 1} · {by_key[k][1].short(90)}",
        key=widget,
        on_change=remember,
        help=_("The first {count} statements in the order above.").format(count=DETAIL_CHOICES),
    )
    stat = by_key[key][1]
    st.code(stat.query, language="sql", wrap_lines=True)
    st.caption(
        _("database {database} · role {role} · queryid {queryid}").format(
            database=escape_markdown(stat.database or "?"),
            role=escape_markdown(stat.role or "?"),
            queryid=stat.queryid if stat.queryid is not None else "—",
        )
        + ("" if stat.toplevel else " · " + _("nested"))
    )
    row1 = st.columns(5)
    row1[0].metric(_("Calls"), number(stat.calls))
    row1[1].metric(_("Total time"), fmt_ms(stat.total_ms))
    row1[2].metric(_("Mean"), fmt_ms(stat.mean_ms))
    row1[3].metric(_("Min / max"), f"{fmt_ms(stat.min_ms)} / {fmt_ms(stat.max_ms)}")
    row1[4].metric(_("Stddev"), fmt_ms(stat.stddev_ms))
    row2 = st.columns(5)
    row2[0].metric(_("Rows"), number(stat.rows))
    row2[1].metric(_("Rows per call"), number(stat.rows / stat.calls, digits=1) if stat.calls else "—")
    row2[2].metric(
        _("% of total time"), "—" if stat.pct_total_time is None else f"{number(stat.pct_total_time, digits=1)} %"
    )
    row2[3].metric(_("Cache hit"), "—" if stat.cache_hit_pct is None else f"{number(stat.cache_hit_pct, digits=1)} %")
    row2[4].metric(_("Blocks read"), number(stat.shared_blks_read))
    if stat.text_hidden:
        st.info(escape_markdown(report.privilege_note or _("The text of this statement is hidden from this login.")))
        return
    area_key = f"statements_repr_{stat.key}"
    text = st.text_area(
        _("Representative query"),
        value=stat.query,
        key=area_key,
        height=140,
        help=_(
            "Replace $1, $2… with real values; Explain plans it (never runs it), Index advice prices indexes for it."
        ),
    )
    left = parameters(text)
    if left:
        placeholders = ", ".join(left)
        st.caption(
            _("Put real values in place of {parameters}: PostgreSQL cannot plan them without.").format(
                parameters=placeholders
            )
        )
    b1, b2, b3 = st.columns([1, 1, 2])
    explain = b1.button(
        _("Explain"), key="statements_explain", icon=":material/account_tree:", disabled=not text.strip()
    )
    advise = b2.button(
        _("Index advice"),
        key="statements_index_advice",
        icon=":material/bolt:",
        disabled=not text.strip(),
        help=_("Candidate indexes from the plan, priced with hypothetical indexes (hypopg) when it is installed."),
    )
    b3.button(_("Open in the SQL editor"), key="statements_open_editor", on_click=to_editor, args=(text,))
    if explain:
        try:
            with st.spinner(_("Explaining…")):
                plan = conn.explain(text, read_only=not conn.has_dba_login, claims=user.claims)
            st.session_state[RESULT] = {"key": stat.key, "plan": parse_plan(plan)}
        except QueryError as exc:
            st.session_state[RESULT] = {"key": stat.key, "error": exc, "sql": text}
        except (DbaAdminError, ValueError) as exc:
            st.session_state[RESULT] = {"key": stat.key, "failure": exc, "action": _("Explain")}
    elif advise:
        try:
            with st.spinner(_("Pricing candidate indexes…")):
                advice = conn.index_advice(text)
            st.session_state[RESULT] = {"key": stat.key, "advice": advice.to_json()}
        except QueryError as exc:
            st.session_state[RESULT] = {"key": stat.key, "error": exc, "sql": text}
        except (DbaAdminError, ValueError) as exc:
            st.session_state[RESULT] = {"key": stat.key, "failure": exc, "action": _("Index advice")}
    result: dict[str, Any] | None = st.session_state.get(RESULT)
    if not result or result["key"] != stat.key:
        return
    if "plan" in result:
        show_plan(result["plan"], key="statements_detail")
    elif "advice" in result:
        show_index_advice(
            result["advice"],
            key="statements_detail",
            use_label=_("Open in the SQL editor"),
            on_use=to_editor,
            use_help=_("The SQL editor runs it only when you do (CREATE INDEX CONCURRENTLY)."),
        )
    elif "error" in result:
        show_sql_error(result["error"].info, result.get("sql", ""))
    else:
        show_error(result["failure"], action=result.get("action") or _("Explain"))


scope = (
    _("all databases")
    if chosen_db == ALL_DATABASES
    else _("database {name}").format(name=chosen_db or report.current_database)
)
if report.in_scope == 0:
    st.info(
        _(
            "pg_stat_statements has recorded no statements in {scope} yet (or since the last reset). Statements "
            "appear here as soon as they have run."
        ).format(scope=escape_markdown(scope))
    )
elif not report.statements:
    st.info(
        _("No statement matches the filters. Clear the text, pick another role or database, or show the app's own.")
    )
else:
    sort_label = _(SORTS[report.filters.sort][0]).lower()
    shown = ngettext(
        "{count} statement in {scope}, by {sort}",
        "{count} statements in {scope}, by {sort}",
        len(report.statements),
    ).format(count=number(len(report.statements)), scope=escape_markdown(scope), sort=sort_label)
    if report.cut:
        st.warning(
            _(
                "Showing the first {shown} of {matched} statements by {sort}: narrow the filters to see the others."
            ).format(shown=number(len(report.statements)), matched=number(report.matched), sort=sort_label)
        )
    st.caption(
        _("{shown} · {total} in all, {time} of execution time").format(
            shown=shown, total=number(report.in_scope), time=fmt_ms(report.total_ms_in_scope)
        )
        + (" · " + _("PostgreSQL 12 or older: total_time columns") if report.legacy_columns else "")
    )
    # Lazy tabs: only the open tab runs and is drawn; the grid, the chart and the detail (ten figures, the query, a
    # text area) together took 3.5 times a bare page's opening in Chromium. Names stay English; labels translated.
    tabs = lazy_tabs(TABS, key="statements_tab")
    with tabs["List"]:
        if tab_open(tabs["List"]):
            statement_table(report.statements)
    with tabs["Chart"]:
        if tab_open(tabs["Chart"]):
            top_chart(report.statements, report.filters.sort)
    with tabs["Detail"]:
        if tab_open(tabs["Detail"]):
            detail(report.statements)

if st.session_state.pop(TO_EDITOR, False):
    st.switch_page(SQL_EDITOR_PAGE)


# --- reset ------------------------------------------------------------------------------------------------------

st.subheader(_("Reset statistics"), anchor=False)
outcome = st.session_state.get(OUTCOME)
if outcome:
    kind, payload = outcome
    if kind == "ok":
        st.success(escape_markdown(payload))
    elif kind == "exception":
        show_error(payload, action=_("Resetting the statistics"))
    else:
        st.warning(escape_markdown(payload))
if not conn.has_dba_login:
    st.info(escape_markdown(dba_login_notice(conn, _("Resetting the statistics"), _("this page only reads"))))
elif st.session_state.get(PENDING):
    st.warning(
        _(
            "Reset pg_stat_statements for database {database} on connection {connection}? Every statement's figures "
            "there start again from zero; this cannot be undone. The reset is recorded in the audit log."
        ).format(database=escape_markdown(report.current_database), connection=escape_markdown(conn.name))
    )
    y, n, _spacer = st.columns([1, 1, 3])
    y.button(_("Yes, reset"), key="statements_reset_confirm", type="primary", on_click=confirm_reset)
    n.button(_("Cancel"), key="statements_reset_cancel", on_click=cancel_reset)
else:
    st.caption(
        _(
            "Forgets the figures of database {database} only (other databases on the server keep theirs); runs on "
            "the connection's DBA login and is audited."
        ).format(database=escape_markdown(report.current_database))
    )
    st.button(_("Reset statistics…"), key="statements_reset", on_click=ask_reset)
