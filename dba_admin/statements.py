"""Statement statistics from ``pg_stat_statements`` (PgHero's query stats), and a DBA's audited reset.

Read on the connection's main (monitor) login, the one the dashboard's top statements use: ``pg_monitor`` includes
``pg_read_all_stats``, without which PostgreSQL shows other roles' statements as ``<insufficient privilege>``. The
read runs in a rolled-back transaction with the app's timeouts, and every part of the SQL that varies is either a
whitelisted identifier (the sort column, through psycopg.sql) or a bound parameter (the text, database and role
filters). The extension may live in any schema; its columns are read under either name (``total_exec_time`` since
PostgreSQL 13, ``total_time`` before).

Why the pieces:

* The app's own queries carry the ``/* dba_admin */`` tag: they are hidden by default, or a page that reads the view
  would list its own reads at the top. Reads of pg_stat_statements itself (monitoring tools) can be hidden too.
* "% of total time" is a statement's share of the execution time of every statement in the database(s) shown,
  counted before the text, role and app filters (as PgHero does), so filtering never inflates the shares.
* The reset runs ``pg_stat_statements_reset(0, <this database>, 0)`` on the DBA login: only this connection's
  database, as PgHero's reset does (the cluster may hold other databases, the app's workspace among them). It is
  refused here, not only hidden in the page, for a user who is not a DBA, and audited in the workspace in a
  transaction opened before the reset: the row commits only when the reset ran.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd
import psycopg
import psycopg.rows
from psycopg import sql

from dba_admin import audit
from dba_admin.access import DBA_ROLES
from dba_admin.activity import monitor_read, set_local_limits
from dba_admin.errors import ConfigError, PermissionDenied, query_error_from
from dba_admin.i18n import N_
from dba_admin.sql_text import PARAM, tokenize

if TYPE_CHECKING:
    from dba_admin.database import DatabaseManager
    from dba_admin.rls import UserClaims

__all__ = [
    "APP_TAG",
    "INSUFFICIENT_PRIVILEGE",
    "MAX_ROWS",
    "PG_STAT_STATEMENTS_HINT",
    "SORTS",
    "ResetResult",
    "StatementFilter",
    "StatementStat",
    "StatementsReport",
    "parameters",
    "read_statements",
    "read_statements_on",
    "reset_statements",
    "statements_frame",
]

PG_STAT_STATEMENTS_HINT = (
    "pg_stat_statements is not enabled: add it to shared_preload_libraries in postgresql.conf, restart "
    "PostgreSQL, then run CREATE EXTENSION pg_stat_statements (on Supabase: Database > Extensions)."
)
APP_TAG = "/* dba_admin"
INSUFFICIENT_PRIVILEGE = "<insufficient privilege>"
MAX_ROWS = 5000
MAX_FILTER_CHARS = 1000
STATEMENTS_VIEW = "pg_stat_statements"

# sort key -> (label, column of the read below); the only text that reaches ORDER BY, as an Identifier.
# The labels are the Statements page's (marked for the catalog, translated where shown).
SORTS: dict[str, tuple[str, str]] = {
    "total_time": (N_("Total time"), "total_ms"),
    "mean_time": (N_("Mean time"), "mean_ms"),
    "calls": (N_("Calls"), "calls"),
    "rows": (N_("Rows"), "rows"),
    "shared_blks_read": (N_("Shared blocks read"), "shared_blks_read"),
}


# --------------------------------------------------------------------------------------------------
# Result shapes
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementFilter:
    """What the page asks for. ``database`` None: the connection's own database (or every one with
    ``all_databases``); ``role`` None: every role; ``text``: a case-insensitive substring of the query text."""

    text: str = ""
    database: str | None = None
    all_databases: bool = False
    role: str | None = None
    include_app: bool = False
    include_pg_stat_statements: bool = True
    sort: str = "total_time"
    limit: int = MAX_ROWS

    def validated(self) -> StatementFilter:
        """ValueError, naming the problem, for a sort outside the whitelist, a bad limit or an overlong filter."""
        if self.sort not in SORTS:
            raise ValueError(f"unknown sort {self.sort!r}; choose one of {', '.join(SORTS)}")
        if not 1 <= int(self.limit) <= MAX_ROWS:
            raise ValueError(f"the limit must be between 1 and {MAX_ROWS:,}, not {self.limit}")
        if len(self.text) > MAX_FILTER_CHARS:
            raise ValueError(f"the text filter is longer than {MAX_FILTER_CHARS} characters")
        return self


@dataclass(slots=True)
class StatementStat:
    """One row of pg_stat_statements (a statement of one role in one database), times in milliseconds.

    Slots, not frozen: a frozen dataclass sets each field through object.__setattr__, about 20 ms more for the
    5,000 rows of bench/statements_page_bench.py (a read of about 200 ms)."""

    key: str  # database oid, role oid, queryid, toplevel: unique within a read
    queryid: int | None
    query: str  # normalised text ($1, $2... for constants), or <insufficient privilege>
    database: str | None
    role: str | None
    toplevel: bool
    calls: int
    total_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float
    stddev_ms: float
    rows: int
    shared_blks_hit: int
    shared_blks_read: int
    pct_total_time: float | None  # 0..100, share of the time of all statements in the database(s) shown
    cache_hit_pct: float | None  # 0..100, shared buffer hits / (hits + reads); None when it touched no block
    is_app: bool  # carries the /* dba_admin */ tag

    @property
    def text_hidden(self) -> bool:
        """Another role's statement that this login may not read (it lacks pg_read_all_stats)."""
        return self.query == INSUFFICIENT_PRIVILEGE

    def short(self, width: int = 60) -> str:
        """A one-line label: comments dropped, whitespace folded, cut to ``width``."""
        text = re.sub(r"/\*.*?\*/", " ", self.query, flags=re.DOTALL)
        text = " ".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
        text = " ".join(text.split()) or "(comment only)"
        return text if len(text) <= width else text[: width - 1] + "…"


@dataclass(frozen=True)
class StatementsReport:
    """A read of pg_stat_statements, or why there is none (``available`` False and ``message``)."""

    available: bool
    message: str | None = None
    schema: str | None = None
    current_database: str = ""
    login: str = ""  # the login that read the view
    statements: tuple[StatementStat, ...] = ()
    matched: int = 0  # statements matching the filters, before the limit
    in_scope: int = 0  # statements in the database(s) shown, before the text, role and app filters
    limit: int = MAX_ROWS
    total_ms_in_scope: float = 0.0
    databases: tuple[str, ...] = ()  # databases and roles that have statements (for the filters)
    roles: tuple[str, ...] = ()
    hidden_text: int = 0  # statements listed as <insufficient privilege>
    legacy_columns: bool = False  # PostgreSQL 12 and older: total_time, mean_time...
    filters: StatementFilter = field(default_factory=StatementFilter)

    @property
    def cut(self) -> bool:
        return self.matched > len(self.statements)

    @property
    def privilege_note(self) -> str | None:
        """What to grant when other roles' statements show no text."""
        if not self.hidden_text:
            return None
        return (
            f"{self.hidden_text:,} statement(s) of other roles show {INSUFFICIENT_PRIVILEGE}: the login "
            f"{self.login} may not read their text. A superuser fixes it with GRANT pg_read_all_stats TO "
            f"{sql.Identifier(self.login).as_string(None) if self.login else 'the login'} (pg_monitor includes it; on "
            "Supabase the postgres role has it)."
        )

    def find(self, key: str) -> StatementStat | None:
        return next((s for s in self.statements if s.key == key), None)


@dataclass(frozen=True)
class ResetResult:
    connection: str
    database: str
    statements: int  # how many statements of that database were forgotten
    message: str


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    schema: str
    legacy: bool
    toplevel: bool


_PROBE_SQL = """
SELECT /* dba_admin */ n.nspname AS schema, c.oid IS NOT NULL AS has_view,
       EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'total_exec_time')
         AS new_columns,
       EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'toplevel')
         AS has_toplevel,
       pg_catalog.current_database() AS db, current_user AS login
FROM pg_catalog.pg_extension e
JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = 'pg_stat_statements'
WHERE e.extname = 'pg_stat_statements'
"""


def _probe(conn: psycopg.Connection[Any]) -> tuple[_Source | None, str, str]:
    """Where the extension's view is and which column names it has; (None, ...) when it is not installed."""
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    row = cur.execute(_PROBE_SQL).fetchone()
    if row is None:
        names = cur.execute(
            "SELECT /* dba_admin */ pg_catalog.current_database() AS db, current_user AS login"
        ).fetchone()
        assert names is not None
        return None, str(names["db"]), str(names["login"])
    source = None
    if row["has_view"]:
        source = _Source(str(row["schema"]), legacy=not row["new_columns"], toplevel=bool(row["has_toplevel"]))
    return source, str(row["db"]), str(row["login"])


def _not_installed(database: str) -> str:
    return f"pg_stat_statements is not installed in database {database}. {PG_STAT_STATEMENTS_HINT}"


def _unreadable(exc: psycopg.Error, schema: str, login: str) -> str:
    reason = exc.diag.message_primary or str(exc)
    if exc.sqlstate == "55000":  # "must be loaded via shared_preload_libraries"
        return f"pg_stat_statements is installed but not loaded ({reason}). {PG_STAT_STATEMENTS_HINT}"
    if exc.sqlstate == "42501":
        grant = sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), sql.Identifier(login))
        return (
            f"pg_stat_statements cannot be read by login {login} ({reason}). A superuser fixes it with "
            f"{grant.as_string(None)}; add GRANT pg_read_all_stats TO the same login to see every role's statements."
        )
    return f"pg_stat_statements cannot be read: {reason}"


def _columns(source: _Source) -> dict[str, sql.Composable]:
    suffix = "time" if source.legacy else "exec_time"
    names: dict[str, sql.Composable] = {
        f"{part}_ms": sql.SQL("s.{}").format(sql.Identifier(f"{part}_{suffix}"))
        for part in ("total", "mean", "min", "max", "stddev")
    }
    names["toplevel"] = sql.SQL("s.toplevel") if source.toplevel else sql.SQL("true")
    return names


def _read_sql(source: _Source, filt: StatementFilter) -> sql.Composed:
    cols = _columns(source)
    sort_column = SORTS[filt.sort][1]
    return sql.SQL(
        """
WITH scope AS (
  SELECT s.dbid, s.userid, s.queryid, s.query, d.datname, r.rolname, {toplevel} AS toplevel, s.calls,
         {total_ms} AS total_ms, {mean_ms} AS mean_ms, {min_ms} AS min_ms, {max_ms} AS max_ms,
         {stddev_ms} AS stddev_ms, s.rows, s.shared_blks_hit, s.shared_blks_read
  FROM {view} s
  LEFT JOIN pg_catalog.pg_database d ON d.oid = s.dbid
  LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.userid
  WHERE CASE WHEN %(all_databases)s THEN true
             WHEN %(database)s::text IS NOT NULL THEN d.datname = %(database)s::text
             ELSE s.dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
        END
), totals AS (
  SELECT count(*) AS in_scope, coalesce(sum(total_ms), 0)::float8 AS total_ms FROM scope
), matched AS (
  SELECT * FROM scope
  WHERE (%(pattern)s::text IS NULL OR query ILIKE %(pattern)s::text)
    AND (%(role)s::text IS NULL OR rolname = %(role)s::text)
    AND (%(include_app)s OR pg_catalog.strpos(query, %(tag)s) = 0)
    AND (%(include_pgss)s OR query NOT ILIKE '%%pg\\_stat\\_statements%%')
)
SELECT m.*, count(*) OVER () AS matched, t.in_scope, t.total_ms AS total_in_scope
FROM totals t LEFT JOIN LATERAL (SELECT * FROM matched) m ON true
ORDER BY m.{sort} DESC NULLS LAST, m.total_ms DESC NULLS LAST, m.queryid, m.dbid, m.userid
LIMIT %(limit)s
"""
    ).format(view=sql.Identifier(source.schema, STATEMENTS_VIEW), sort=sql.Identifier(sort_column), **cols)


_FACETS_SQL = """
SELECT /* dba_admin */ array(SELECT DISTINCT d.datname FROM {fn} s JOIN pg_catalog.pg_database d ON d.oid = s.dbid
                             ORDER BY 1) AS databases,
       array(SELECT DISTINCT r.rolname FROM {fn} s JOIN pg_catalog.pg_roles r ON r.oid = s.userid ORDER BY 1) AS roles
"""


def _like_pattern(text: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _float(value: Any) -> float:
    return float(value) if value is not None else 0.0


def _stat(r: dict[str, Any], total_in_scope: float, index: int) -> StatementStat:
    query = str(r["query"] or "")
    hit, read = int(r["shared_blks_hit"] or 0), int(r["shared_blks_read"] or 0)
    total = _float(r["total_ms"])
    queryid = None if r["queryid"] is None else int(r["queryid"])
    ident = str(queryid) if queryid is not None else f"hidden{index}"
    return StatementStat(
        key=f"{r['dbid']}:{r['userid']}:{ident}:{int(bool(r['toplevel']))}",
        queryid=queryid,
        query=query,
        database=r["datname"],
        role=r["rolname"],
        toplevel=bool(r["toplevel"]),
        calls=int(r["calls"] or 0),
        total_ms=total,
        mean_ms=_float(r["mean_ms"]),
        min_ms=_float(r["min_ms"]),
        max_ms=_float(r["max_ms"]),
        stddev_ms=_float(r["stddev_ms"]),
        rows=int(r["rows"] or 0),
        shared_blks_hit=hit,
        shared_blks_read=read,
        pct_total_time=100.0 * total / total_in_scope if total_in_scope > 0 else None,
        cache_hit_pct=100.0 * hit / (hit + read) if hit + read > 0 else None,
        is_app=APP_TAG in query,
    )


def read_statements_on(
    conn: psycopg.Connection[Any], filters: StatementFilter | None = None, *, facets: bool = True
) -> StatementsReport:
    """The read on a connection the caller holds, inside its transaction (the dashboard's, or
    :func:`read_statements`'). A failing read (not loaded, no privilege) is a report with a message, never an
    aborted transaction: it runs in a savepoint. ``facets``: also list the databases and roles that have statements
    (the page's filter choices; the dashboard does without)."""
    filt = (filters or StatementFilter()).validated()
    source, database, login = _probe(conn)
    if source is None:
        return StatementsReport(False, _not_installed(database), current_database=database, login=login, filters=filt)
    params = {
        "all_databases": filt.all_databases,
        "database": filt.database,
        "pattern": _like_pattern(filt.text),
        "role": filt.role,
        "include_app": filt.include_app,
        "include_pgss": filt.include_pg_stat_statements,
        "tag": APP_TAG,
        "limit": int(filt.limit),
    }
    fn = sql.SQL("{}(false)").format(sql.Identifier(source.schema, STATEMENTS_VIEW))
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    try:
        with conn.transaction():
            found: dict[str, Any] = {"databases": [], "roles": []}
            if facets:
                found = cur.execute(sql.SQL(_FACETS_SQL).format(fn=fn)).fetchone() or found
            # The tag goes last: pg_stat_statements keeps the text it first saw, and the app's reads stay hidden.
            rows = cur.execute(_read_sql(source, filt) + sql.SQL(" /* dba_admin */"), params).fetchall()
    except psycopg.Error as exc:
        if exc.sqlstate is None or conn.closed:
            raise
        return StatementsReport(
            False, _unreadable(exc, source.schema, login), schema=source.schema, current_database=database, login=login
        )
    first = rows[0] if rows else {}
    total_in_scope = _float(first.get("total_in_scope"))
    stats = tuple(_stat(r, total_in_scope, i) for i, r in enumerate(rows) if r["dbid"] is not None)
    return StatementsReport(
        available=True,
        schema=source.schema,
        current_database=database,
        login=login,
        statements=stats,
        matched=int(first.get("matched") or 0) if stats else 0,
        in_scope=int(first.get("in_scope") or 0),
        limit=filt.limit,
        total_ms_in_scope=total_in_scope,
        databases=tuple(str(d) for d in found["databases"] or ()),
        roles=tuple(str(r) for r in found["roles"] or ()),
        hidden_text=sum(1 for s in stats if s.text_hidden),
        legacy_columns=source.legacy,
        filters=filt,
    )


def read_statements(db: DatabaseManager, filters: StatementFilter | None = None) -> StatementsReport:
    """Statements of the connection, sorted and filtered, at most ``filters.limit`` of them (see module doc)."""
    filt = (filters or StatementFilter()).validated()
    with monitor_read(db) as conn:
        return read_statements_on(conn, filt)


# --------------------------------------------------------------------------------------------------
# Frames and representative queries
# --------------------------------------------------------------------------------------------------

FRAME_COLUMNS = (
    "key",
    "query",
    "database",
    "role",
    "calls",
    "total_ms",
    "mean_ms",
    "min_ms",
    "max_ms",
    "stddev_ms",
    "rows",
    "shared_blks_hit",
    "shared_blks_read",
    "pct_total_time",
    "cache_hit_pct",
    "queryid",
)


def statements_frame(stats: Sequence[StatementStat]) -> pd.DataFrame:
    """The table the page shows: one row per statement, numbers as numbers (the page formats them)."""
    columns: dict[str, list[Any]] = {name: [] for name in FRAME_COLUMNS}
    for s in stats:
        for name in FRAME_COLUMNS:
            columns[name].append(getattr(s, name))
    frame = pd.DataFrame(columns, columns=list(FRAME_COLUMNS))
    frame["queryid"] = frame["queryid"].astype("Int64")  # hidden statements have none; keep the ids exact
    for name in ("pct_total_time", "cache_hit_pct"):
        frame[name] = frame[name].astype("float64")
    return frame


def parameters(text: str) -> list[str]:
    """The placeholders ($1, $2...) left in a query, outside strings and comments, in order of appearance."""
    return list(dict.fromkeys(tok.value for tok in tokenize(text) if tok.kind == PARAM))


# --------------------------------------------------------------------------------------------------
# Reset
# --------------------------------------------------------------------------------------------------

_RESET_PROBE_SQL = """
SELECT /* dba_admin */ n.nspname AS schema, pg_catalog.format('%I.%I(%s)', n.nspname, p.proname,
       pg_catalog.pg_get_function_identity_arguments(p.oid)) AS signature,
       (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()) AS dbid,
       pg_catalog.current_database() AS db, current_user AS login
FROM pg_catalog.pg_extension e
JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
JOIN pg_catalog.pg_proc p ON p.pronamespace = n.oid AND p.proname = 'pg_stat_statements_reset'
WHERE e.extname = 'pg_stat_statements'
ORDER BY p.pronargs DESC
LIMIT 1
"""


def reset_statements(db: DatabaseManager, claims: UserClaims, actor: str) -> ResetResult:
    """Forget the statistics of the connection's database (``pg_stat_statements_reset``), on its DBA login.

    PermissionDenied for a user who is not a DBA, or when the DBA login may not execute the function (with the
    GRANT that fixes it); ConfigError when the connection has no DBA login or the extension is missing. Audited as
    ``statements.reset``, the connection's name in the details.
    """
    if claims.app_role not in DBA_ROLES:
        raise PermissionDenied(
            f"resetting statement statistics is for DBAs (admin, dba); you are logged in as {claims.app_role}"
        )
    if not db.has_dba_login:
        raise ConfigError(
            f"resetting statement statistics needs connection {db.name}'s DBA login: the monitor login may only read. "
            f"Register one with `dba-admin connection add {db.name} --dba-dsn ... --replace`."
        )
    settings = db.settings
    with db.workspace.connection() as wconn, db.dba_connection() as conn:
        try:
            with wconn.transaction(), conn.transaction():
                set_local_limits(conn, settings.statement_timeout_ms, settings.lock_timeout_ms)
                cur = conn.cursor(row_factory=psycopg.rows.dict_row)
                probe = cur.execute(_RESET_PROBE_SQL).fetchone()
                if probe is None:
                    names = cur.execute("SELECT /* dba_admin */ pg_catalog.current_database() AS db").fetchone()
                    raise ConfigError(_not_installed(str(names["db"]) if names else db.name))
                view = sql.Identifier(str(probe["schema"]), STATEMENTS_VIEW)
                count_sql = sql.SQL("SELECT /* dba_admin */ count(*) AS n FROM {}(false) WHERE dbid = %s").format(view)
                try:
                    with conn.transaction():  # a savepoint: the DBA login may lack USAGE and still reset
                        counted = cur.execute(count_sql, (probe["dbid"],)).fetchone()
                    statements = int(counted["n"]) if counted else 0
                except psycopg.errors.InsufficientPrivilege:
                    statements = -1
                # Written before the reset, in the workspace transaction that commits after it: no reset, no row.
                audit.record(
                    wconn,
                    "statements.reset",
                    actor=actor,
                    target=f"connection {db.name}",
                    details={
                        "connection": db.name,
                        "database": probe["db"],
                        "statements": statements if statements >= 0 else None,
                        "email": claims.email,
                        "role": claims.app_role,
                    },
                )
                reset = sql.SQL("SELECT /* dba_admin */ {}(0::oid, %s::oid, 0::bigint)").format(
                    sql.Identifier(str(probe["schema"]), "pg_stat_statements_reset")
                )
                try:
                    with conn.transaction():
                        cur.execute(reset, (probe["dbid"],))
                except psycopg.errors.InsufficientPrivilege as exc:
                    grant = sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(
                        sql.SQL(str(probe["signature"])), sql.Identifier(str(probe["login"]))
                    )
                    raise PermissionDenied(
                        f"the DBA login {probe['login']} may not reset pg_stat_statements "
                        f"({exc.diag.message_primary}). A superuser allows it with: {grant.as_string(conn)}"
                    ) from exc
        except psycopg.Error as exc:
            if exc.sqlstate is None:
                raise
            raise query_error_from(exc) from exc
    count = f"{statements:,} statement(s)" if statements >= 0 else "its statements"
    return ResetResult(
        connection=db.name,
        database=str(probe["db"]),
        statements=max(statements, 0),
        message=f"Statement statistics of database {probe['db']} reset ({count} forgotten). Recorded in the audit log.",
    )
