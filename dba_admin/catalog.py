"""Catalog reads for the table explorer: discovery, table detail with DDL, and paged previews.

DatabaseManager delegates here; every function takes an open ``psycopg.Connection`` (autocommit or not)
and leaves it exactly as it found it: the reads run in a transaction (or a savepoint when the caller is
already inside one) that is always rolled back, so the ``SET LOCAL`` timeouts, the read-only flag and the
empty ``search_path`` used for fully qualified deparsing never leak into the caller's session.

Design points:

* ``list_tables`` is ONE catalog query whatever the table count (tables + columns in one statement,
  columns aggregated server-side), so a 5,000-table database costs the same number of round trips as a
  5-table one. ``bench/catalog_bench.py`` compares it with a raw catalog query.
* ``describe_table`` is one catalog query (every list: columns, keys, indexes, policies... comes back as a
  JSON aggregate) plus one quote_ident pass for the DDL, which matters on a remote Supabase database where
  each round trip costs 20-50 ms.
* The table is found by schema and name as parameters, never by parsing regclass text, so names with
  quotes, spaces or semicolons are just data.
* ``preview_table`` composes SQL only with ``psycopg.sql``; filter operators come from a fixed whitelist,
  column names are checked against the table's real columns, values are always parameters.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import json
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import psycopg
from psycopg import sql

from dba_admin.errors import NotFound, QueryError, SqlErrorInfo, query_error_from

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "APP_SCHEMAS",
    "APP_TABLES",
    "FILTER_OPERATORS",
    "MAX_PAGE_SIZE",
    "SYSTEM_LIKE_SCHEMAS",
    "ColumnDetail",
    "ColumnInfo",
    "ConstraintInfo",
    "Filter",
    "ForeignKey",
    "ForeignTableInfo",
    "GrantInfo",
    "IndexInfo",
    "PolicyInfo",
    "PreviewPage",
    "PrimaryKey",
    "TableDetail",
    "TableInfo",
    "TableLock",
    "TableLocked",
    "TableSizes",
    "TableStats",
    "TriggerInfo",
    "describe_table",
    "get_tables",
    "includes_app_objects",
    "is_app_object",
    "list_tables",
    "lock_from_json",
    "locks_sql",
    "preview_table",
    "tables_frame",
]

TAG = "/* dba_admin */"
DEFAULT_STATEMENT_TIMEOUT_MS = 30_000
DEFAULT_LOCK_TIMEOUT_MS = 5_000
DEFAULT_COUNT_TIMEOUT_MS = 2_000
MAX_PAGE_SIZE = 1_000
MAX_IN_VALUES = 1_000

# Schemas Supabase (and this app) manage themselves: shown, but flagged so the explorer can fold them away.
SYSTEM_LIKE_SCHEMAS: frozenset[str] = frozenset(
    {
        "auth",
        "storage",
        "realtime",
        "_realtime",
        "extensions",
        "graphql",
        "graphql_public",
        "vault",
        "supabase_functions",
        "supabase_migrations",
        "pgsodium",
        "pgsodium_masks",
        "pgbouncer",
        "net",
        "cron",
        "_analytics",
        "pgtle",
        "dba_admin",
    }
)

# The app's own objects, in ONE place: its private schemas and its tables in ``public`` (names from the original
# PetCare system). They live in the workspace; when a connection IS the workspace (connection ``default``, the
# original single-database setup) the explorer's default list, the advisors and the assistant's index leave them out
# unless a DBA asks for them (``include_app_objects=True``), so the app never advises on, or answers about, itself.
APP_SCHEMAS: frozenset[str] = frozenset({"dba_admin", "dba_admin_api", "dba_admin_jobs"})
APP_TABLES: frozenset[tuple[str, str]] = frozenset(
    {
        ("public", "projetos_analytics"),
        ("public", "scripts_projetos"),
        ("public", "scripts_projetos_versoes"),
        ("public", "execucoes_scripts"),
        ("public", "duvidas_analitics_ia"),
        ("public", "conexoes"),
        ("public", "agendamentos"),
        ("public", "agendamentos_ocorrencias"),
    }
)


def is_app_object(schema: str, name: str | None = None) -> bool:
    """True for an object in one of the app's schemas, or for one of the app's tables (``name`` given)."""
    return schema in APP_SCHEMAS or (name is not None and (schema, name) in APP_TABLES)


def includes_app_objects(db: Any) -> bool:
    """Does this manager's database hold the app's own objects? The workspace does; so does a connection that is
    the workspace database itself (the lead sets ``includes_workspace`` on connection ``default``)."""
    return bool(getattr(db, "is_workspace", False) or getattr(db, "includes_workspace", False))


Kind = Literal["table", "partitioned_table", "view", "materialized_view", "foreign_table"]
_KINDS: dict[str, Kind] = {
    "r": "table",
    "p": "partitioned_table",
    "v": "view",
    "m": "materialized_view",
    "f": "foreign_table",
}
_FK_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
_FK_MATCH = {"f": "FULL", "p": "PARTIAL", "s": "SIMPLE"}
_POLICY_COMMANDS = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"}
_CONSTRAINT_TYPES = {"c": "check", "u": "unique", "x": "exclusion"}
_TRIGGER_ENABLED = {"O": "enabled", "D": "disabled", "R": "replica", "A": "always"}
_IDENTITY = {"a": "ALWAYS", "d": "BY DEFAULT"}

# System schemas are never listed: the catalog itself, information_schema, TOAST and temp schemas.
_SCHEMA_FILTER = """n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%'
  AND n.nspname NOT LIKE 'pg\\_temp\\_%'"""


# --------------------------------------------------------------------------------------------------
# Result shapes
# --------------------------------------------------------------------------------------------------


class ColumnInfo(NamedTuple):
    """One column in the table list. A NamedTuple because list_tables builds tens of thousands of them."""

    name: str
    type: str
    nullable: bool
    default: str | None
    comment: str | None
    position: int


class TableInfo(NamedTuple):
    """One relation in the table list (kept light: list_tables builds thousands of them)."""

    schema: str
    name: str
    kind: Kind
    estimated_rows: int | None  # pg_class.reltuples; None when never vacuumed/analyzed (-1) or for views
    total_bytes: int
    rls_enabled: bool
    rls_forced: bool
    policy_count: int
    comment: str | None
    owner: str
    is_system_like: bool
    is_partition: bool
    size_is_estimate: bool  # True when a lock on this table forced the lock-free estimate (see list_tables)
    columns: tuple[ColumnInfo, ...]
    lock: TableLock | None = None  # an ACCESS EXCLUSIVE lock on it (or its index/TOAST) when the list was read

    @property
    def qualified_name(self) -> str:
        """Display name (not for SQL composition: use sql.Identifier(schema, name))."""
        return f"{self.schema}.{self.name}"

    @property
    def rls_missing(self) -> bool:
        """A table PostgREST exposes (public) without RLS is readable by anyone holding the anon key."""
        return self.schema == "public" and self.kind in ("table", "partitioned_table") and not self.rls_enabled

    def as_row(self) -> dict[str, Any]:
        """Flat dict for a DataFrame row (columns summarized by count)."""
        row = {f: getattr(self, f) for f in self._fields if f not in ("columns", "lock")}
        row["column_count"] = len(self.columns)
        row["locked_by_pid"] = self.lock.pid if self.lock else None
        return row


def tables_frame(tables: Sequence[TableInfo]) -> pd.DataFrame:
    """The table list as a DataFrame, for st.dataframe and filtering in the explorer."""
    import pandas as pd  # only here: the command line's start does not pay for pandas

    return pd.DataFrame([t.as_row() for t in tables])


@dataclass(frozen=True)
class TableLock:
    """Another session's ACCESS EXCLUSIVE lock (held, or asked for and queued) on a table, its index or TOAST.

    Only that mode conflicts with the ACCESS SHARE lock that sizes and pg_get_*def need; a queued request blocks
    new readers too, so both count. ``since`` is the holder's transaction start (PostgreSQL does not record when
    a lock was granted), or for a queued request the start of the statement waiting for it.
    """

    relation: str  # the locked table as regclass prints it (schema-qualified)
    pid: int | None  # None for a prepared (two-phase) transaction
    granted: bool
    since: _dt.datetime | None = None
    locked_object: str | None = None  # the index or TOAST table actually locked, when not the table itself

    @property
    def message(self) -> str:
        """What the user reads: which table, who, since when, and what to do next."""
        return self.describe()

    def describe(self, subject: str | None = None) -> str:
        """The message; ``subject`` names the relation that was read when it is a view over the locked table."""
        holder = f"pid {self.pid}" if self.pid is not None else "a prepared transaction"
        since = f" since {self.since.astimezone(_dt.UTC):%Y-%m-%d %H:%M:%S} UTC" if self.since else ""
        via = f" on {self.locked_object}" if self.locked_object else ""
        table = f"table {self.relation}"
        if subject and subject != self.relation:
            table = f"{subject} reads table {self.relation}, which"
        if self.granted:
            text = f"{table} is locked by {holder} (ACCESS EXCLUSIVE{via}){since}"
        else:
            text = f"{table} is queued behind {holder}, which waits for an ACCESS EXCLUSIVE lock{via}{since}"
        return text + "; try again or see Activity"


class TableLocked(QueryError):
    """A read that needs a table another session has locked exclusively; says who holds the lock, never waits."""

    def __init__(self, lock: TableLock, subject: str | None = None) -> None:
        self.lock = lock
        message = lock.describe(subject)
        super().__init__(
            SqlErrorInfo(
                sqlstate="55P03",
                message=message,
                hint="The lock is another session's (an ALTER TABLE, a migration, an open transaction after LOCK "
                "TABLE). The Activity page shows it and can cancel it; the rest of this page does not need it.",
            )
        )


def lock_from_json(text: str | None) -> TableLock | None:
    """The lock column of the catalog queries: [pid, granted, since, locked table, locked object]."""
    if not text:
        return None
    pid, granted, since, relation, locked_object = json.loads(text)
    return TableLock(
        relation=relation,
        pid=pid,
        granted=bool(granted),
        since=_dt.datetime.fromisoformat(since) if since else None,
        locked_object=locked_object,
    )


@dataclass(frozen=True)
class ColumnDetail:
    name: str
    type: str
    nullable: bool
    default: str | None
    comment: str | None
    position: int
    identity: str | None = None  # "ALWAYS" / "BY DEFAULT" for identity columns
    generated: str | None = None  # expression of a GENERATED ALWAYS AS (...) STORED column
    collation: str | None = None  # only when it differs from the type's default collation
    is_local: bool = True  # False for a column inherited from a parent (partitions)
    fdw_options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class PrimaryKey:
    name: str
    columns: tuple[str, ...]
    definition: str


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key; for foreign_keys_in, schema/table is the referencing (other) table."""

    name: str
    schema: str
    table: str
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]
    on_update: str
    on_delete: str
    match: str
    deferrable: bool
    initially_deferred: bool
    validated: bool
    inherited: bool
    definition: str


@dataclass(frozen=True)
class IndexInfo:
    name: str
    definition: str
    method: str
    columns: tuple[str, ...]  # column names, or the expression text for expression keys
    is_unique: bool
    is_primary: bool
    is_valid: bool
    size_bytes: int
    idx_scan: int | None
    constraint: str | None  # the constraint this index backs (primary key / unique / exclusion)
    inherited: bool  # an index attached to the parent's partitioned index
    comment: str | None


@dataclass(frozen=True)
class ConstraintInfo:
    name: str
    type: str  # check / unique / exclusion
    definition: str
    validated: bool
    deferrable: bool
    inherited: bool


@dataclass(frozen=True)
class TriggerInfo:
    name: str
    definition: str
    enabled: str  # enabled / disabled / replica / always
    function: str
    is_constraint_trigger: bool
    inherited: bool


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    command: str  # SELECT / INSERT / UPDATE / DELETE / ALL
    permissive: bool
    roles: tuple[str, ...]  # "public" stands for PUBLIC
    using: str | None
    with_check: str | None
    create_statement: str


@dataclass(frozen=True)
class GrantInfo:
    grantee: str  # "PUBLIC" for grants to everyone
    grantor: str
    privileges: tuple[str, ...]
    grantable: tuple[str, ...]


@dataclass(frozen=True)
class TableStats:
    seq_scan: int | None
    seq_tup_read: int | None
    idx_scan: int | None
    idx_tup_fetch: int | None
    n_tup_ins: int | None
    n_tup_upd: int | None
    n_tup_del: int | None
    n_live_tup: int | None
    n_dead_tup: int | None
    last_vacuum: _dt.datetime | None
    last_autovacuum: _dt.datetime | None
    last_analyze: _dt.datetime | None
    last_autoanalyze: _dt.datetime | None
    vacuum_count: int | None
    autovacuum_count: int | None
    analyze_count: int | None
    autoanalyze_count: int | None


@dataclass(frozen=True)
class TableSizes:
    """table + toast + indexes = total (pg_total_relation_size)."""

    table_bytes: int
    indexes_bytes: int
    toast_bytes: int
    total_bytes: int


@dataclass(frozen=True)
class ForeignTableInfo:
    server: str
    wrapper: str
    options: dict[str, str]
    server_options: dict[str, str]


@dataclass(frozen=True)
class TableDetail:
    schema: str
    name: str
    kind: Kind
    oid: int
    owner: str
    comment: str | None
    estimated_rows: int | None
    columns: tuple[ColumnDetail, ...]
    primary_key: PrimaryKey | None
    foreign_keys_out: tuple[ForeignKey, ...]
    foreign_keys_in: tuple[ForeignKey, ...]
    indexes: tuple[IndexInfo, ...]
    constraints: tuple[ConstraintInfo, ...]
    triggers: tuple[TriggerInfo, ...]
    rls_enabled: bool
    rls_forced: bool
    policies: tuple[PolicyInfo, ...]
    grants: tuple[GrantInfo, ...]
    stats: TableStats | None
    sizes: TableSizes
    view_definition: str | None = None
    matview_populated: bool | None = None
    # PostgreSQL keeps no record of when a materialized view was last refreshed; the UI may show the
    # time of a refresh it ran itself (audit log). Always None here.
    matview_last_refresh: _dt.datetime | None = None
    foreign: ForeignTableInfo | None = None
    partition_key: str | None = None
    partition_of: tuple[str, str] | None = None
    partition_bound: str | None = None
    is_system_like: bool = False
    ddl: str = ""

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for st.json, JSON export, the assistant's schema context)."""
        return asdict(self)


FILTER_OPERATORS: tuple[str, ...] = (
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "contains",
    "starts_with",
    "is_null",
    "is_not_null",
    "in",
)
_COMPARISONS = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


@dataclass(frozen=True)
class Filter:
    """One preview filter. ``value`` is ignored for is_null/is_not_null and is a sequence for ``in``."""

    column: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class PreviewPage:
    rows: pd.DataFrame
    columns: tuple[str, ...]
    page: int
    page_size: int
    total_rows: int | None
    total_is_estimate: bool
    has_next: bool
    order_by: tuple[tuple[str, bool], ...] = field(default=())  # what was applied, user's part only

    @property
    def page_count(self) -> int | None:
        if self.total_rows is None:
            return None
        return max(1, -(-self.total_rows // self.page_size))


# --------------------------------------------------------------------------------------------------
# Session handling
# --------------------------------------------------------------------------------------------------


@contextmanager
def _read_tx(conn: psycopg.Connection[Any], statement_timeout_ms: int, lock_timeout_ms: int) -> Iterator[None]:
    """A rolled-back transaction (or savepoint) with timeouts, read-only and an empty search_path.

    Rolling back (never committing) is what keeps the caller's session untouched: GUCs set with
    is_local=true are undone by the rollback even when we are only a savepoint inside their transaction.
    The empty search_path makes pg_get_*def / format_type print schema-qualified names, so the DDL means
    the same thing wherever it is run. Database errors with a SQLSTATE become QueryError; a lost
    connection propagates unchanged so the pool can replace it.
    """
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(
                "SELECT /* dba_admin */ set_config('statement_timeout', %s, true),"
                " set_config('lock_timeout', %s, true),"
                " set_config('transaction_read_only', 'on', true),"
                " set_config('search_path', '', true)",
                (f"{int(statement_timeout_ms)}ms", f"{int(lock_timeout_ms)}ms"),
            )
            yield
    except psycopg.Error as exc:
        if exc.sqlstate is None or conn.closed:
            raise
        raise query_error_from(exc) from exc


# --------------------------------------------------------------------------------------------------
# Locks: which tables a catalog read must not touch
# --------------------------------------------------------------------------------------------------

# Measured on PostgreSQL 15 with ACCESS EXCLUSIVE held on the table (tests/test_lock_resilience.py):
# pg_total_relation_size / pg_relation_size / pg_table_size / pg_indexes_size, pg_get_indexdef,
# pg_get_constraintdef of a CHECK, pg_get_expr (defaults, policies, partition bounds), pg_get_partkeydef and
# pg_get_viewdef (of the view, and of a view over the locked table) all wait for it; format_type,
# pg_get_constraintdef of a primary or foreign key, pg_get_triggerdef, pg_stat_* views, reltuples, relpages
# and pg_database_size do not. A lock on an index alone (REINDEX) stops the sizes, not the definitions.
#
# The CTEs below read pg_locks once (no lock taken: it is a snapshot of the lock table) and name, for each
# table, the other session's ACCESS EXCLUSIVE lock on it, on one of its indexes, on its TOAST table or its
# TOAST index: held, or asked for (a queued request makes new readers queue behind it). Queries then use the
# lock-free answer (relpages) for those tables only, and exact figures for every other table. A lock taken
# after this snapshot is caught by the (short) lock_timeout and the read is retried with the new snapshot.
_LOCKS_CTE = """_dba_xlock AS (
    SELECT l.relation, l.pid, l.granted
    FROM pg_catalog.pg_locks l
    WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock'
      AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d
                         WHERE d.datname = pg_catalog.current_database())
      AND l.pid IS DISTINCT FROM pg_catalog.pg_backend_pid()
), _dba_locked AS (
    SELECT DISTINCT ON (t.oid) t.oid, x.pid, x.granted, x.relation
    FROM _dba_xlock x
    CROSS JOIN LATERAL (
        SELECT x.relation AS oid
        UNION ALL SELECT i.indrelid FROM pg_catalog.pg_index i WHERE i.indexrelid = x.relation
        UNION ALL SELECT o.oid FROM pg_catalog.pg_class o WHERE o.reltoastrelid = x.relation
        UNION ALL SELECT o.oid FROM pg_catalog.pg_index ti
                  JOIN pg_catalog.pg_class o ON o.reltoastrelid = ti.indrelid
                  WHERE ti.indexrelid = x.relation
    ) t
    ORDER BY t.oid, x.granted DESC, x.pid
)"""

# The lock of row alias {lk} (a _dba_locked row, or NULLs) as JSON text, for lock_from_json. Constant fragments joined
# once at import; no input ever reaches them (aliases are literals of this module).
_LOCK_JSON_TEMPLATE = """CASE WHEN {lk}.oid IS NOT NULL THEN pg_catalog.json_build_array(
    {lk}.pid, {lk}.granted,
    (SELECT CASE WHEN {lk}.granted THEN a.xact_start ELSE a.query_start END
       FROM pg_catalog.pg_stat_get_activity({lk}.pid) a WHERE {lk}.pid IS NOT NULL),
    ({qualified}{lk}.oid),
    CASE WHEN {lk}.relation <> {lk}.oid THEN ({qualified}{lk}.relation) END)::text END"""
_QUALIFIED_NAME = (
    # schema-qualified whatever the search_path (regclass::text would drop the schema of a visible table)
    "SELECT pg_catalog.quote_ident(qn.nspname) || '.' || pg_catalog.quote_ident(qc.relname)"
    " FROM pg_catalog.pg_class qc JOIN pg_catalog.pg_namespace qn ON qn.oid = qc.relnamespace WHERE qc.oid = "
)
_LOCK_JSON = _LOCK_JSON_TEMPLATE.replace("{qualified}", _QUALIFIED_NAME)  # nosec B608 - constants only


def locks_sql(alias: str = "lk") -> tuple[str, str]:
    """The WITH items naming locked tables (``_dba_locked``: oid, pid, granted, relation) and the lock-JSON
    expression for a row alias of it; for other core modules' size queries (the dashboard's largest tables)."""
    return _LOCKS_CTE, _LOCK_JSON.format(lk=alias)


# Relations a view or materialized view reads (its rewrite rule's dependencies): pg_get_viewdef opens them.
_VIEW_DEPS = """(SELECT dep.refobjid FROM pg_catalog.pg_rewrite rw
   JOIN pg_catalog.pg_depend dep ON dep.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND dep.objid = rw.oid
    AND dep.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
  WHERE rw.ev_class = {rel})"""

# The lock that stops a read of one relation (schema, name): on it, or on a relation its view reads.
_LOCK_OF_SQL = sql.SQL("""
WITH {locks}
SELECT /* dba_admin */ n.nspname, c.relname, {lock_json}
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN LATERAL (
    SELECT l.* FROM _dba_locked l
    WHERE l.oid = c.oid OR l.oid IN {view_deps}
    ORDER BY l.oid = c.oid DESC, l.granted DESC
    LIMIT 1
) lk ON true
WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
""").format(
    locks=sql.SQL(_LOCKS_CTE),
    lock_json=sql.SQL(_LOCK_JSON.format(lk="lk")),
    view_deps=sql.SQL(_VIEW_DEPS.format(rel="c.oid")),
)


def _lock_of(conn: psycopg.Connection[Any], schema: str, name: str) -> tuple[bool, TableLock | None]:
    """(exists, the lock that stops reading it). Run inside a _read_tx."""
    row = conn.execute(_LOCK_OF_SQL, (schema, name)).fetchone()
    if row is None:
        return False, None
    return True, lock_from_json(row[2])


def _explain_lock_timeout(
    conn: psycopg.Connection[Any], exc: QueryError, schema: str, name: str, statement_timeout_ms: int
) -> QueryError:
    """A lock_timeout (55P03) on a read of (schema, name), as a TableLocked naming the holder when one is seen."""
    if exc.info.sqlstate != "55P03" or conn.closed:
        return exc
    try:
        with _read_tx(conn, statement_timeout_ms, 0):
            _exists, lock = _lock_of(conn, schema, name)
    except QueryError:
        return exc
    return TableLocked(lock, f"{schema}.{name}") if lock else exc


# --------------------------------------------------------------------------------------------------
# list_tables
# --------------------------------------------------------------------------------------------------

# Columns are aggregated server-side into one compact JSON array per table (arrays of arrays, not objects,
# so the payload stays small). Benchmarked against a second "columns" query grouped in Python: see
# bench/catalog_bench.py and docs/BENCHMARKS.md.
# Exact sizes: pg_total_relation_size opens each relation with AccessShareLock (and stats its files).
_EXACT_SIZE = "coalesce(pg_total_relation_size(c.oid), 0)::int8"
# Lock-free fallback when some table is locked exclusively (a migration running): the page counts that
# VACUUM/ANALYZE keep in pg_class, for the heap, its TOAST table and every index.
_ESTIMATED_SIZE = """((c.relpages::int8
    + coalesce((SELECT tc.relpages FROM pg_class tc WHERE tc.oid = c.reltoastrelid), 0)
    + coalesce((SELECT sum(ic.relpages) FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                 WHERE i.indrelid = c.oid), 0))
    * current_setting('block_size')::int8)::int8"""
# The same estimate split as the dashboard shows it (pg_class alias c): heap alone, and its indexes.
ESTIMATED_TOTAL_SIZE_SQL = _ESTIMATED_SIZE
ESTIMATED_TABLE_SIZE_SQL = "(c.relpages::int8 * pg_catalog.current_setting('block_size')::int8)"
ESTIMATED_INDEXES_SIZE_SQL = """(coalesce((SELECT sum(ic.relpages) FROM pg_catalog.pg_index i
    JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = c.oid), 0)::int8
    * pg_catalog.current_setting('block_size')::int8)"""

_LIST_TABLES_TEMPLATE = """
WITH {locks}
SELECT /* dba_admin */
       n.nspname,
       c.relname,
       c.relkind::text,
       c.reltuples::float8,
       {size},
       {estimated},
       c.relrowsecurity,
       c.relforcerowsecurity,
       coalesce(pol.cnt, 0)::int,
       d.description,
       pg_get_userbyid(c.relowner),
       c.relispartition,
       cols.j,
       {lock_json}
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN _dba_locked lk ON lk.oid = c.oid
LEFT JOIN (SELECT polrelid, count(*) AS cnt FROM pg_policy GROUP BY polrelid) pol ON pol.polrelid = c.oid
LEFT JOIN pg_description d
       ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
LEFT JOIN (
    SELECT a.attrelid,
           json_agg(json_build_array(a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
                                     {default}, cd.description, a.attnum)
                    ORDER BY a.attnum)::text AS j
    FROM pg_attribute a
    JOIN pg_class ac ON ac.oid = a.attrelid AND ac.relkind IN ('r', 'p', 'v', 'm', 'f')
    JOIN pg_namespace an ON an.oid = ac.relnamespace
    LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    LEFT JOIN pg_description cd
           ON cd.objoid = a.attrelid AND cd.classoid = 'pg_class'::regclass AND cd.objsubid = a.attnum
    WHERE a.attnum > 0 AND NOT a.attisdropped
      AND {column_schema_filter}
    GROUP BY a.attrelid
) cols ON cols.attrelid = c.oid
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND {schema_filter}
ORDER BY n.nspname, c.relname
"""
# pg_get_expr opens the table too: a locked table's column defaults are left out (None) rather than waited for.
_DEFAULT_UNLESS_LOCKED = """CASE WHEN a.attrelid IN (SELECT oid FROM _dba_locked) THEN NULL
                                     ELSE pg_get_expr(ad.adbin, ad.adrelid) END"""


def _list_tables_sql(*, lock_free: bool) -> sql.Composed:
    """Exact sizes and defaults except for locked tables; or (lock_free) estimates and no defaults for all."""
    return sql.SQL(_LIST_TABLES_TEMPLATE).format(
        locks=sql.SQL(_LOCKS_CTE),
        size=sql.SQL(
            _ESTIMATED_SIZE if lock_free else f"CASE WHEN lk.oid IS NULL THEN {_EXACT_SIZE} ELSE {_ESTIMATED_SIZE} END"
        ),
        estimated=sql.SQL("true" if lock_free else "lk.oid IS NOT NULL"),
        lock_json=sql.SQL(_LOCK_JSON.format(lk="lk")),
        default=sql.SQL("NULL::text" if lock_free else _DEFAULT_UNLESS_LOCKED),
        schema_filter=sql.SQL(_SCHEMA_FILTER),
        column_schema_filter=sql.SQL(_SCHEMA_FILTER.replace("n.nspname", "an.nspname")),
    )


_LIST_TABLES_SQL = _list_tables_sql(lock_free=False)
_LIST_TABLES_LOCK_FREE_SQL = _list_tables_sql(lock_free=True)
# How long a catalog read waits for a lock taken after its pg_locks snapshot before reading the snapshot again.
SIZE_LOCK_TIMEOUT_MS = 1_000


def get_tables(db: Any, *, include_app_objects: bool = False) -> list[TableInfo]:
    """The explorer's list for a connection (read with its monitor login): every table of :func:`list_tables`,
    minus the app's own objects when this database holds them, unless ``include_app_objects``."""
    settings = db.settings
    with db.connection() as conn:
        return list_tables(
            conn,
            statement_timeout_ms=settings.statement_timeout_ms,
            lock_timeout_ms=settings.lock_timeout_ms,
            exclude_app_objects=not include_app_objects and includes_app_objects(db),
        )


def list_tables(
    conn: psycopg.Connection[Any],
    *,
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
    lock_timeout_ms: int = DEFAULT_LOCK_TIMEOUT_MS,
    exclude_app_objects: bool = False,
) -> list[TableInfo]:
    """Every table, view, materialized view and foreign table of every non-system schema, with columns.

    One catalog query whatever the number of tables (plus the transaction's BEGIN/settings/ROLLBACK).
    Exact sizes and column defaults need a brief lock on each table. A table another session locks exclusively
    (an ALTER or a migration running, a LOCK TABLE left open) is never waited for: its size is estimated from
    pg_class page counts (``size_is_estimate``), its defaults are None and ``lock`` says who holds it; every
    other table keeps its exact figures. A lock taken while the query runs is waited for at most
    SIZE_LOCK_TIMEOUT_MS, then the query is read again (the lock is then seen), then answered without any lock.
    ``exclude_app_objects``: leave out :data:`APP_SCHEMAS` and :data:`APP_TABLES` (see :func:`get_tables`).
    """
    attempts = (
        (_LIST_TABLES_SQL, min(lock_timeout_ms, SIZE_LOCK_TIMEOUT_MS)),
        (_LIST_TABLES_SQL, min(lock_timeout_ms, SIZE_LOCK_TIMEOUT_MS)),
        (_LIST_TABLES_LOCK_FREE_SQL, lock_timeout_ms),
    )
    rows: list[Any] = []
    for i, (query, lock_ms) in enumerate(attempts):
        try:
            with _read_tx(conn, statement_timeout_ms, lock_ms):
                rows = conn.execute(query).fetchall()
            break
        except QueryError as exc:
            if exc.info.sqlstate != "55P03" or i == len(attempts) - 1:  # lock_not_available
                raise
    loads = json.loads
    out: list[TableInfo] = []
    append = out.append
    for (
        schema,
        name,
        relkind,
        reltuples,
        size,
        estimated,
        rls,
        forced,
        npol,
        comment,
        owner,
        is_part,
        cols,
        lock,
    ) in rows:
        if exclude_app_objects and is_app_object(schema, name):
            continue
        columns = tuple(ColumnInfo(*c) for c in loads(cols)) if cols else ()
        append(
            TableInfo(
                schema,
                name,
                _KINDS[relkind],
                None if reltuples is None or reltuples < 0 or relkind in ("v", "f") else int(reltuples),
                size,
                rls,
                forced,
                npol,
                comment,
                owner,
                schema in SYSTEM_LIKE_SCHEMAS,
                is_part,
                estimated,
                columns,
                lock_from_json(lock) if lock else None,
            )
        )
    return out


# --------------------------------------------------------------------------------------------------
# describe_table
# --------------------------------------------------------------------------------------------------

# Column names of a constraint's key, in key order ({col} is the key array, {rel} its relation).
_KEY_COLS = """(SELECT coalesce(json_agg(ka.attname ORDER BY k.ord), '[]'::json)
   FROM unnest({col}) WITH ORDINALITY k(num, ord)
   JOIN pg_attribute ka ON ka.attrelid = {rel} AND ka.attnum = k.num)"""

_FK_OBJECT = """json_build_object(
    'name', fk.conname,
    'schema', fn.nspname, 'table', fc.relname, 'columns', {cols},
    'ref_schema', rn.nspname, 'ref_table', rc.relname, 'ref_columns', {ref_cols},
    'on_update', fk.confupdtype::text, 'on_delete', fk.confdeltype::text, 'match', fk.confmatchtype::text,
    'deferrable', fk.condeferrable, 'initially_deferred', fk.condeferred, 'validated', fk.convalidated,
    'inherited', (fk.conparentid <> 0 OR NOT fk.conislocal),
    'definition', pg_get_constraintdef(fk.oid, true))""".format(
    cols=_KEY_COLS.format(col="fk.conkey", rel="fk.conrelid"),
    ref_cols=_KEY_COLS.format(col="fk.confkey", rel="fk.confrelid"),
)

_FK_FROM = """FROM pg_constraint fk
   JOIN pg_class fc ON fc.oid = fk.conrelid JOIN pg_namespace fn ON fn.oid = fc.relnamespace
   JOIN pg_class rc ON rc.oid = fk.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace"""

_DESCRIBE_TEMPLATE = """
WITH {locks}
SELECT /* dba_admin */
  c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind,
  pg_get_userbyid(c.relowner) AS owner,
  (SELECT description FROM pg_description
    WHERE objoid = c.oid AND classoid = 'pg_class'::regclass AND objsubid = 0) AS comment,
  c.reltuples::float8 AS reltuples, c.relrowsecurity AS rls_enabled, c.relforcerowsecurity AS rls_forced,
  c.relpersistence::text AS persistence, c.relispartition AS is_partition, c.reloptions AS reloptions,
  c.relispopulated AS populated,
  CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
  CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS partition_bound,
  (SELECT json_build_array(pn.nspname, pc.relname)
     FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
     JOIN pg_namespace pn ON pn.oid = pc.relnamespace
    WHERE i.inhrelid = c.oid AND c.relispartition) AS partition_of,
  CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END AS view_definition,
  coalesce(pg_table_size(c.oid), 0)::int8 AS table_and_toast_bytes,
  coalesce(pg_indexes_size(c.oid), 0)::int8 AS indexes_bytes,
  CASE WHEN c.reltoastrelid <> 0 THEN coalesce(pg_total_relation_size(c.reltoastrelid), 0) ELSE 0 END::int8
    AS toast_bytes,
  coalesce(pg_total_relation_size(c.oid), 0)::int8 AS total_bytes,
  st.relid IS NOT NULL AS has_stats,
  st.seq_scan, st.seq_tup_read, st.idx_scan, st.idx_tup_fetch, st.n_tup_ins, st.n_tup_upd, st.n_tup_del,
  st.n_live_tup, st.n_dead_tup, st.last_vacuum, st.last_autovacuum, st.last_analyze, st.last_autoanalyze,
  st.vacuum_count, st.autovacuum_count, st.analyze_count, st.autoanalyze_count,
  (SELECT coalesce(json_agg(json_build_object(
      'name', a.attname, 'type', format_type(a.atttypid, a.atttypmod), 'nullable', NOT a.attnotnull,
      'default', CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
      'generated', CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
      'identity', a.attidentity::text,
      'comment', (SELECT description FROM pg_description
                   WHERE objoid = c.oid AND classoid = 'pg_class'::regclass AND objsubid = a.attnum),
      'position', a.attnum,
      'collation', CASE WHEN a.attcollation <> t.typcollation AND co.oid IS NOT NULL
                        THEN quote_ident(con.nspname) || '.' || quote_ident(co.collname) END,
      'is_local', a.attislocal,
      'fdw_options', (SELECT coalesce(json_agg(json_build_array(o.option_name, o.option_value)), '[]'::json)
                        FROM pg_options_to_table(a.attfdwoptions) o)
    ) ORDER BY a.attnum), '[]'::json)
     FROM pg_attribute a
     JOIN pg_type t ON t.oid = a.atttypid
     LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
     LEFT JOIN pg_collation co ON co.oid = a.attcollation
     LEFT JOIN pg_namespace con ON con.oid = co.collnamespace
    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
  (SELECT json_build_object('name', pk.conname, 'columns', {pk_cols},
                            'definition', pg_get_constraintdef(pk.oid, true),
                            'inherited', (pk.conparentid <> 0 OR NOT pk.conislocal))
     FROM pg_constraint pk WHERE pk.conrelid = c.oid AND pk.contype = 'p') AS primary_key,
  (SELECT coalesce(json_agg({fk_object} ORDER BY fk.conname), '[]'::json)
     {fk_from}
    WHERE fk.conrelid = c.oid AND fk.contype = 'f') AS fks_out,
  (SELECT coalesce(json_agg({fk_object} ORDER BY fn.nspname, fc.relname, fk.conname), '[]'::json)
     {fk_from}
    WHERE fk.confrelid = c.oid AND fk.contype = 'f' AND fk.conparentid = 0) AS fks_in,
  (SELECT coalesce(json_agg(json_build_object(
      'name', ic.relname, 'definition', pg_get_indexdef(i.indexrelid), 'method', am.amname,
      'columns', (SELECT coalesce(json_agg(pg_get_indexdef(i.indexrelid, k.ord::int, true) ORDER BY k.ord),
                                  '[]'::json)
                    FROM generate_series(1, i.indnkeyatts) k(ord)),
      'is_unique', i.indisunique, 'is_primary', i.indisprimary, 'is_valid', i.indisvalid,
      'size_bytes', coalesce(pg_relation_size(i.indexrelid), 0), 'idx_scan', si.idx_scan,
      'constraint', ixc.conname, 'inherited', ic.relispartition,
      'comment', (SELECT description FROM pg_description
                   WHERE objoid = i.indexrelid AND classoid = 'pg_class'::regclass AND objsubid = 0)
    ) ORDER BY ic.relname), '[]'::json)
     FROM pg_index i
     JOIN pg_class ic ON ic.oid = i.indexrelid
     JOIN pg_am am ON am.oid = ic.relam
     LEFT JOIN pg_stat_all_indexes si ON si.indexrelid = i.indexrelid
     LEFT JOIN pg_constraint ixc
            ON ixc.conindid = i.indexrelid AND ixc.conrelid = c.oid AND ixc.contype IN ('p', 'u', 'x')
    WHERE i.indrelid = c.oid) AS indexes,
  (SELECT coalesce(json_agg(json_build_object(
      'name', k.conname, 'type', k.contype::text, 'definition', pg_get_constraintdef(k.oid, true),
      'validated', k.convalidated, 'deferrable', k.condeferrable,
      'inherited', (k.conparentid <> 0 OR NOT k.conislocal)
    ) ORDER BY k.contype, k.conname), '[]'::json)
     FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype IN ('c', 'u', 'x')) AS constraints,
  (SELECT coalesce(json_agg(json_build_object(
      'name', tg.tgname, 'definition', pg_get_triggerdef(tg.oid, true), 'enabled', tg.tgenabled::text,
      'function', quote_ident(fpn.nspname) || '.' || quote_ident(fp.proname),
      'is_constraint_trigger', tg.tgconstraint <> 0, 'inherited', tg.tgparentid <> 0
    ) ORDER BY tg.tgname), '[]'::json)
     FROM pg_trigger tg
     JOIN pg_proc fp ON fp.oid = tg.tgfoid JOIN pg_namespace fpn ON fpn.oid = fp.pronamespace
    WHERE tg.tgrelid = c.oid AND NOT tg.tgisinternal) AS triggers,
  (SELECT coalesce(json_agg(json_build_object(
      'name', pol.polname, 'command', pol.polcmd::text, 'permissive', pol.polpermissive,
      'roles', (SELECT json_agg(CASE WHEN r.r = 0 THEN 'public' ELSE pg_get_userbyid(r.r)::text END
                                ORDER BY r.r <> 0, pg_get_userbyid(r.r))
                  FROM unnest(pol.polroles) r(r)),
      'using', pg_get_expr(pol.polqual, pol.polrelid),
      'with_check', pg_get_expr(pol.polwithcheck, pol.polrelid)
    ) ORDER BY pol.polname), '[]'::json)
     FROM pg_policy pol WHERE pol.polrelid = c.oid) AS policies,
  (SELECT coalesce(json_agg(g ORDER BY g.grantee <> 'PUBLIC', g.grantee, g.grantor), '[]'::json) FROM (
     SELECT CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee)::text END AS grantee,
            pg_get_userbyid(x.grantor)::text AS grantor,
            json_agg(x.privilege_type ORDER BY x.privilege_type) AS privileges,
            coalesce(json_agg(x.privilege_type ORDER BY x.privilege_type) FILTER (WHERE x.is_grantable),
                     '[]'::json) AS grantable
       FROM aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) x
      GROUP BY 1, 2) g) AS grants,
  (SELECT json_build_object(
      'server', fs.srvname, 'wrapper', fw.fdwname,
      'options', (SELECT coalesce(json_agg(json_build_array(o.option_name, o.option_value)), '[]'::json)
                    FROM pg_options_to_table(ft.ftoptions) o),
      'server_options', (SELECT coalesce(json_agg(json_build_array(o.option_name, o.option_value)), '[]'::json)
                           FROM pg_options_to_table(fs.srvoptions) o))
     FROM pg_foreign_table ft
     JOIN pg_foreign_server fs ON fs.oid = ft.ftserver
     JOIN pg_foreign_data_wrapper fw ON fw.oid = fs.srvfdw
    WHERE ft.ftrelid = c.oid) AS foreign_info,
  (SELECT coalesce(json_agg(json_build_object(
      'schema', sn.nspname, 'name', s.relname, 'column', sa.attname, 'type', format_type(sq.seqtypid, NULL),
      'start', sq.seqstart::text, 'increment', sq.seqincrement::text, 'min', sq.seqmin::text,
      'max', sq.seqmax::text, 'cache', sq.seqcache::text, 'cycle', sq.seqcycle
    ) ORDER BY s.relname), '[]'::json)
     FROM pg_depend dep
     JOIN pg_class s ON s.oid = dep.objid AND s.relkind = 'S'
     JOIN pg_namespace sn ON sn.oid = s.relnamespace
     JOIN pg_sequence sq ON sq.seqrelid = s.oid
     JOIN pg_attribute sa ON sa.attrelid = dep.refobjid AND sa.attnum = dep.refobjsubid
    WHERE dep.classid = 'pg_class'::regclass AND dep.refclassid = 'pg_class'::regclass
      AND dep.refobjid = c.oid AND dep.deptype = 'a') AS owned_sequences
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_all_tables st ON st.relid = c.oid
WHERE n.nspname = %(schema)s AND c.relname = %(name)s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND NOT EXISTS (SELECT 1 FROM _dba_locked lk WHERE lk.oid = c.oid OR lk.oid IN {view_deps})
"""
# Composed from constant fragments only (no user input): the table is found by the two parameters.
# The NOT EXISTS guard is a filter on the pg_class scan, checked before the select list (every pg_get_*def
# and size call) is computed: a locked table gives no row at once instead of waiting for its lock.
_DESCRIBE_SQL = sql.SQL(_DESCRIBE_TEMPLATE).format(
    locks=sql.SQL(_LOCKS_CTE),
    view_deps=sql.SQL(_VIEW_DEPS.format(rel="c.oid")),
    pk_cols=sql.SQL(_KEY_COLS.format(col="pk.conkey", rel="pk.conrelid")),
    fk_object=sql.SQL(_FK_OBJECT),
    fk_from=sql.SQL(_FK_FROM),
)


def describe_table(
    conn: psycopg.Connection[Any],
    schema: str,
    name: str,
    *,
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
    lock_timeout_ms: int = DEFAULT_LOCK_TIMEOUT_MS,
) -> TableDetail:
    """Everything the table page shows about one relation, plus re-executable DDL.

    Two statements whatever the table's size: the catalog query (every list comes back as JSON) and one
    quote_ident pass over the names the DDL needs. Most of it (index and CHECK definitions, defaults, policies,
    a view's query, sizes) needs the table's ACCESS SHARE lock: when another session holds it exclusively (or a
    table a view reads), TableLocked says who, at once, instead of failing after the lock timeout.
    """
    for _attempt in range(3):
        try:
            with _read_tx(conn, statement_timeout_ms, min(lock_timeout_ms, SIZE_LOCK_TIMEOUT_MS)):
                cur = conn.cursor(row_factory=psycopg.rows.dict_row)
                row = cur.execute(_DESCRIBE_SQL, {"schema": schema, "name": name}).fetchone()
                if row is not None:
                    return _with_ddl(conn, _build_detail(row), row)
                exists, lock = _lock_of(conn, schema, name)
                if not exists:
                    raise NotFound(f"table {schema}.{name} does not exist (or is not a table, view or foreign table)")
                if lock is not None:
                    raise TableLocked(lock, f"{schema}.{name}")
                # the lock went away between the two reads: read again
        except TableLocked:
            raise
        except QueryError as exc:
            raise _explain_lock_timeout(conn, exc, schema, name, statement_timeout_ms) from exc
    raise _refuse(f"table {schema}.{name} was locked and unlocked while it was read", "55P03", hint="try again")


def _build_detail(row: Mapping[str, Any]) -> TableDetail:
    relkind: str = row["relkind"]
    kind = _KINDS[relkind]
    columns = tuple(
        ColumnDetail(
            name=c["name"],
            type=c["type"],
            nullable=c["nullable"],
            default=c["default"],
            comment=c["comment"],
            position=c["position"],
            identity=_IDENTITY.get(c["identity"]),
            generated=c["generated"],
            collation=c["collation"],
            is_local=c["is_local"],
            fdw_options=tuple((k, v) for k, v in c["fdw_options"]),
        )
        for c in row["columns"]
    )
    pk_row = row["primary_key"]
    primary_key = PrimaryKey(pk_row["name"], tuple(pk_row["columns"]), pk_row["definition"]) if pk_row else None

    def fk(d: Mapping[str, Any]) -> ForeignKey:
        return ForeignKey(
            name=d["name"],
            schema=d["schema"],
            table=d["table"],
            columns=tuple(d["columns"]),
            ref_schema=d["ref_schema"],
            ref_table=d["ref_table"],
            ref_columns=tuple(d["ref_columns"]),
            on_update=_FK_ACTIONS.get(d["on_update"], d["on_update"]),
            on_delete=_FK_ACTIONS.get(d["on_delete"], d["on_delete"]),
            match=_FK_MATCH.get(d["match"], d["match"]),
            deferrable=d["deferrable"],
            initially_deferred=d["initially_deferred"],
            validated=d["validated"],
            inherited=d["inherited"],
            definition=d["definition"],
        )

    indexes = tuple(
        IndexInfo(
            name=i["name"],
            definition=i["definition"],
            method=i["method"],
            columns=tuple(i["columns"]),
            is_unique=i["is_unique"],
            is_primary=i["is_primary"],
            is_valid=i["is_valid"],
            size_bytes=i["size_bytes"],
            idx_scan=i["idx_scan"],
            constraint=i["constraint"],
            inherited=i["inherited"],
            comment=i["comment"],
        )
        for i in row["indexes"]
    )
    constraints = tuple(
        ConstraintInfo(
            name=k["name"],
            type=_CONSTRAINT_TYPES.get(k["type"], k["type"]),
            definition=k["definition"],
            validated=k["validated"],
            deferrable=k["deferrable"],
            inherited=k["inherited"],
        )
        for k in row["constraints"]
    )
    triggers = tuple(
        TriggerInfo(
            name=t["name"],
            definition=t["definition"],
            enabled=_TRIGGER_ENABLED.get(t["enabled"], t["enabled"]),
            function=t["function"],
            is_constraint_trigger=t["is_constraint_trigger"],
            inherited=t["inherited"],
        )
        for t in row["triggers"]
    )
    grants = tuple(
        GrantInfo(g["grantee"], g["grantor"], tuple(g["privileges"]), tuple(g["grantable"])) for g in row["grants"]
    )
    stats = (
        TableStats(
            **{
                f: row[f]
                for f in TableStats.__dataclass_fields__  # same names as pg_stat_all_tables
            }
        )
        if row["has_stats"]
        else None
    )
    toast = row["toast_bytes"] or 0
    sizes = TableSizes(
        table_bytes=max(0, (row["table_and_toast_bytes"] or 0) - toast),
        indexes_bytes=row["indexes_bytes"] or 0,
        toast_bytes=toast,
        total_bytes=row["total_bytes"] or 0,
    )
    foreign = None
    if row["foreign_info"]:
        fi = row["foreign_info"]
        foreign = ForeignTableInfo(
            server=fi["server"],
            wrapper=fi["wrapper"],
            options=dict(fi["options"]),
            server_options=dict(fi["server_options"]),
        )
    view_def = row["view_definition"]
    reltuples = row["reltuples"]
    return TableDetail(
        schema=row["schema"],
        name=row["name"],
        kind=kind,
        oid=row["oid"],
        owner=row["owner"],
        comment=row["comment"],
        estimated_rows=None if reltuples is None or reltuples < 0 or relkind in ("v", "f") else int(reltuples),
        columns=columns,
        primary_key=primary_key,
        foreign_keys_out=tuple(fk(d) for d in row["fks_out"]),
        foreign_keys_in=tuple(fk(d) for d in row["fks_in"]),
        indexes=indexes,
        constraints=constraints,
        triggers=triggers,
        rls_enabled=row["rls_enabled"],
        rls_forced=row["rls_forced"],
        policies=(),  # filled by _with_ddl, which needs the connection to quote identifiers
        grants=grants,
        stats=stats,
        sizes=sizes,
        view_definition=view_def.strip() if view_def else None,
        matview_populated=row["populated"] if relkind == "m" else None,
        matview_last_refresh=None,
        foreign=foreign,
        partition_key=row["partition_key"],
        partition_of=tuple(row["partition_of"]) if row["partition_of"] else None,
        partition_bound=row["partition_bound"],
        is_system_like=row["schema"] in SYSTEM_LIKE_SCHEMAS,
    )


# ---- DDL -------------------------------------------------------------------------------------------

_SIMPLE_OPTION_VALUE = re.compile(r"^[A-Za-z0-9_.]+$")


class _Quoter:
    """Quotes identifiers like PostgreSQL's own deparser (quote_ident: only when needed), literals via libpq.

    Quoting only when needed keeps our DDL consistent with the pg_get_*def text it is mixed with; the
    server does the quoting (it knows its keyword list), one round trip for all the names of a table.
    Names not fetched in advance fall back to psycopg's always-quoted Identifier, which is equally safe.
    """

    def __init__(self, conn: psycopg.Connection[Any], names: set[str]) -> None:
        self.conn = conn
        self.quoted: dict[str, str] = {}
        if names:
            rows = conn.execute(
                "SELECT /* dba_admin */ n, quote_ident(n) FROM unnest(%s::text[]) AS n", (sorted(names),)
            ).fetchall()
            self.quoted = dict(rows)

    def ident(self, *parts: str) -> str:
        out = []
        for part in parts:
            quoted = self.quoted.get(part)
            out.append(quoted if quoted is not None else sql.Identifier(part).as_string(self.conn))
        return ".".join(out)

    def literal(self, value: str) -> str:
        return sql.Literal(value).as_string(self.conn)

    def options(self, pairs: Sequence[tuple[str, str]] | Mapping[str, str]) -> str:
        """FDW-style OPTIONS (name 'value', ...)."""
        items = pairs.items() if isinstance(pairs, Mapping) else pairs
        return "OPTIONS (" + ", ".join(f"{self.ident(k)} {self.literal(v)}" for k, v in items) + ")"

    def reloptions(self, reloptions: Sequence[str]) -> str:
        """WITH (key=value, ...) from pg_class.reloptions."""
        parts = []
        for opt in reloptions:
            key, _, value = opt.partition("=")
            parts.append(f"{key}={value}" if _SIMPLE_OPTION_VALUE.match(value) else f"{key}={self.literal(value)}")
        return "WITH (" + ", ".join(parts) + ")"


def _policy_statement(q: _Quoter, table: str, p: Mapping[str, Any]) -> str:
    roles = ", ".join("PUBLIC" if r == "public" else q.ident(r) for r in (p["roles"] or ["public"]))
    text = (
        f"CREATE POLICY {q.ident(p['name'])} ON {table}\n"
        f"  AS {'PERMISSIVE' if p['permissive'] else 'RESTRICTIVE'}\n"
        f"  FOR {_POLICY_COMMANDS.get(p['command'], 'ALL')}\n"
        f"  TO {roles}"
    )
    if p["using"] is not None:
        text += f"\n  USING ({p['using']})"
    if p["with_check"] is not None:
        text += f"\n  WITH CHECK ({p['with_check']})"
    return text + ";"


def _column_ddl(q: _Quoter, c: ColumnDetail, *, foreign: bool) -> str:
    parts = [q.ident(c.name), c.type]
    if foreign and c.fdw_options:
        parts.append(q.options(c.fdw_options))
    if c.collation:
        parts.append(f"COLLATE {c.collation}")
    if c.generated is not None:
        parts.append(f"GENERATED ALWAYS AS ({c.generated}) STORED")
    elif c.identity:
        parts.append(f"GENERATED {c.identity} AS IDENTITY")
    elif c.default is not None:
        parts.append(f"DEFAULT {c.default}")
    if not c.nullable:
        parts.append("NOT NULL")
    return " ".join(parts)


def _names_to_quote(d: TableDetail, row: Mapping[str, Any]) -> set[str]:
    names = {d.schema, d.name}
    names.update(c.name for c in d.columns)
    names.update(k for c in d.columns for k, _ in c.fdw_options)
    names.update(k.name for k in d.constraints)
    names.update(f.name for f in d.foreign_keys_out)
    names.update(i.name for i in d.indexes)
    names.update(t.name for t in d.triggers)
    if d.primary_key:
        names.add(d.primary_key.name)
    if d.partition_of:
        names.update(d.partition_of)
    if d.foreign:
        names.add(d.foreign.server)
        names.update(d.foreign.options)
    for p in row["policies"]:
        names.add(p["name"])
        names.update(r for r in p["roles"] or () if r != "public")
    for s in row["owned_sequences"] or ():
        names.update((s["schema"], s["name"]))
    return names


def _with_ddl(conn: psycopg.Connection[Any], d: TableDetail, row: Mapping[str, Any]) -> TableDetail:
    """Fill in policies (with their CREATE POLICY text) and the table's DDL script."""
    q = _Quoter(conn, _names_to_quote(d, row))
    qname = q.ident(d.schema, d.name)
    policies = tuple(
        PolicyInfo(
            name=p["name"],
            command=_POLICY_COMMANDS.get(p["command"], p["command"]),
            permissive=p["permissive"],
            roles=tuple(p["roles"] or ("public",)),
            using=p["using"],
            with_check=p["with_check"],
            create_statement=_policy_statement(q, qname, p),
        )
        for p in row["policies"]
    )
    out: list[str] = []
    if d.schema != "public":
        out.append(f"CREATE SCHEMA IF NOT EXISTS {q.ident(d.schema)};")
    relkind = row["relkind"]
    reloptions = row["reloptions"] or []

    if relkind in ("v", "m"):
        body = (d.view_definition or "").rstrip().rstrip(";")
        with_opts = f" {q.reloptions(reloptions)}" if reloptions else ""
        if relkind == "v":
            out.append(f"CREATE OR REPLACE VIEW {qname}{with_opts} AS\n{body};")
        else:
            data = "WITH DATA" if d.matview_populated else "WITH NO DATA"
            out.append(f"CREATE MATERIALIZED VIEW {qname}{with_opts} AS\n{body}\n{data};")
    else:
        seqs = row["owned_sequences"] or []
        for s in seqs:
            out.append(
                f"CREATE SEQUENCE IF NOT EXISTS {q.ident(s['schema'], s['name'])} AS {s['type']}"
                f" INCREMENT BY {s['increment']} MINVALUE {s['min']} MAXVALUE {s['max']}"
                f" START WITH {s['start']} CACHE {s['cache']}{' CYCLE' if s['cycle'] else ''};"
            )
        foreign = relkind == "f"
        inline: list[str] = []
        if d.partition_of is None:
            inline = [_column_ddl(q, c, foreign=foreign) for c in d.columns if c.is_local]
        local_pk = d.primary_key if d.primary_key and not row["primary_key"]["inherited"] else None
        later: list[str] = []  # constraints added after CREATE (partitions, and all foreign keys)
        table_constraints = []
        if local_pk:
            table_constraints.append(f"CONSTRAINT {q.ident(local_pk.name)} {local_pk.definition}")
        for k in d.constraints:
            if not k.inherited:
                table_constraints.append(f"CONSTRAINT {q.ident(k.name)} {k.definition}")
        if d.partition_of is None:
            inline.extend(table_constraints)
        else:
            later.extend(f"ALTER TABLE {qname} ADD {tc};" for tc in table_constraints)
        persistence = "UNLOGGED " if row["persistence"] == "u" else ""
        head = "CREATE FOREIGN TABLE" if foreign else f"CREATE {persistence}TABLE"
        if d.partition_of is not None:
            parent = q.ident(*d.partition_of)
            stmt = f"{head} {qname} PARTITION OF {parent}\n  {d.partition_bound}"
        else:
            stmt = f"{head} {qname} (\n" + ",\n".join(f"  {x}" for x in inline) + "\n)"
        if d.partition_key:
            stmt += f"\nPARTITION BY {d.partition_key}"
        if reloptions:
            stmt += f"\n{q.reloptions(reloptions)}"
        if foreign and d.foreign:
            stmt += f"\nSERVER {q.ident(d.foreign.server)}"
            if d.foreign.options:
                stmt += f"\n{q.options(d.foreign.options)}"
        out.append(stmt + ";")
        for s in seqs:
            out.append(
                f"ALTER SEQUENCE {q.ident(s['schema'], s['name'])} OWNED BY {q.ident(d.schema, d.name, s['column'])};"
            )
        out.extend(later)
        for f in d.foreign_keys_out:
            if not f.inherited:
                out.append(f"ALTER TABLE {qname} ADD CONSTRAINT {q.ident(f.name)} {f.definition};")

    for i in d.indexes:
        if i.constraint is None and not i.inherited:
            out.append(f"{i.definition};")
    kind_word = {
        "v": "VIEW",
        "m": "MATERIALIZED VIEW",
        "f": "FOREIGN TABLE",
    }.get(relkind, "TABLE")
    if d.comment is not None:
        out.append(f"COMMENT ON {kind_word} {qname} IS {q.literal(d.comment)};")
    for c in d.columns:
        if c.comment is not None:
            out.append(f"COMMENT ON COLUMN {q.ident(d.schema, d.name, c.name)} IS {q.literal(c.comment)};")
    for i in d.indexes:
        if i.comment is not None and i.constraint is None and not i.inherited:
            out.append(f"COMMENT ON INDEX {q.ident(d.schema, i.name)} IS {q.literal(i.comment)};")
    if d.rls_enabled:
        out.append(f"ALTER TABLE {qname} ENABLE ROW LEVEL SECURITY;")
    if d.rls_forced:
        out.append(f"ALTER TABLE {qname} FORCE ROW LEVEL SECURITY;")
    out.extend(p.create_statement for p in policies)
    for t in d.triggers:
        if t.inherited:
            continue
        out.append(f"{t.definition};")
        alter = {"disabled": "DISABLE", "replica": "ENABLE REPLICA", "always": "ENABLE ALWAYS"}.get(t.enabled)
        if alter:
            out.append(f"ALTER TABLE {qname} {alter} TRIGGER {q.ident(t.name)};")
    ddl = "\n\n".join(out) + "\n"
    return replace(d, policies=policies, ddl=ddl)


# --------------------------------------------------------------------------------------------------
# preview_table
# --------------------------------------------------------------------------------------------------

_PREVIEW_META_SQL = sql.SQL("""
WITH {locks}
SELECT /* dba_admin */ c.oid::int8, c.relkind::text, c.reltuples::float8,
  (SELECT coalesce(json_agg(a.attname ORDER BY a.attnum), '[]'::json) FROM pg_attribute a
    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
  (SELECT coalesce(json_agg(ka.attname ORDER BY k.ord), '[]'::json)
     FROM pg_constraint pk, unnest(pk.conkey) WITH ORDINALITY k(num, ord)
     JOIN pg_attribute ka ON ka.attrelid = c.oid AND ka.attnum = k.num
    WHERE pk.conrelid = c.oid AND pk.contype = 'p'),
  (SELECT {lock_json} FROM _dba_locked l
    WHERE l.oid = c.oid OR (c.relkind = 'v' AND l.oid IN {view_deps})
    ORDER BY l.oid = c.oid DESC, l.granted DESC LIMIT 1)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
""").format(
    locks=sql.SQL(_LOCKS_CTE),
    lock_json=sql.SQL(_LOCK_JSON.format(lk="l")),
    view_deps=sql.SQL(_VIEW_DEPS.format(rel="c.oid")),
)


def _refuse(message: str, sqlstate: str, hint: str | None = None) -> QueryError:
    return QueryError(SqlErrorInfo(sqlstate=sqlstate, message=message, hint=hint))


def _param_text(value: Any) -> str:
    """Filter values travel as text of unknown type, so PostgreSQL parses them as the column's own type.

    That makes ``age > '5'`` and ``created_at >= '2024-01-01'`` work whatever Python type the UI sends,
    without casting to a type name we would have to compose into the SQL.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, (int, float, decimal.Decimal, uuid.UUID, str)):
        return str(value)
    return str(value)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _unknown_column(column: str, where: str, valid: Sequence[str]) -> QueryError:
    return _refuse(
        f"unknown column {column!r} in {where}; valid columns: {', '.join(valid)}",
        "42703",
        hint="pick one of the table's columns",
    )


def _where_clause(filters: Sequence[Filter], valid: Sequence[str]) -> tuple[sql.Composable, list[Any]]:
    valid_set = set(valid)
    conds: list[sql.Composable] = []
    params: list[Any] = []
    for f in filters:
        if f.column not in valid_set:
            raise _unknown_column(f.column, "filter", valid)
        col = sql.Identifier(f.column)
        op = f.op
        if op in _COMPARISONS:
            if f.value is None:
                raise _refuse(
                    f"filter {f.column} {op} needs a value",
                    "22023",
                    hint="use is_null / is_not_null to look for NULLs",
                )
            conds.append(sql.SQL("{} {} %s").format(col, sql.SQL(_COMPARISONS[op])))
            params.append(_param_text(f.value))
        elif op in ("contains", "starts_with"):
            text = _like_escape(_param_text("" if f.value is None else f.value))
            conds.append(sql.SQL("{}::text ILIKE %s").format(col))
            params.append(f"%{text}%" if op == "contains" else f"{text}%")
        elif op == "is_null":
            conds.append(sql.SQL("{} IS NULL").format(col))
        elif op == "is_not_null":
            conds.append(sql.SQL("{} IS NOT NULL").format(col))
        elif op == "in":
            raw = f.value
            values = [raw] if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence) else list(raw)
            values = [v for v in values if v is not None]
            if len(values) > MAX_IN_VALUES:
                raise _refuse(f"filter {f.column} in: at most {MAX_IN_VALUES} values", "54000")
            if not values:
                conds.append(sql.SQL("false"))
            else:
                conds.append(sql.SQL("{} IN ({})").format(col, sql.SQL(", ").join(sql.Placeholder() for _ in values)))
                params.extend(_param_text(v) for v in values)
        else:
            raise _refuse(f"unknown filter operator {op!r}; valid operators: {', '.join(FILTER_OPERATORS)}", "22023")
    if not conds:
        return sql.SQL(""), params
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conds), params


def preview_table(
    conn: psycopg.Connection[Any],
    schema: str,
    name: str,
    *,
    filters: Sequence[Filter] = (),
    order_by: Sequence[tuple[str, bool]] = (),
    page: int = 1,
    page_size: int = 100,
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
    lock_timeout_ms: int = DEFAULT_LOCK_TIMEOUT_MS,
    count_timeout_ms: int = DEFAULT_COUNT_TIMEOUT_MS,
) -> PreviewPage:
    """One page of a table's rows. ``order_by`` items are ``(column, ascending)``, pandas' convention.

    Paging is stable: the user's order is completed by the primary key (or ctid for a table without one,
    or the whole row's text for a view/foreign table), so no row shows on two pages. The total is an exact
    count when it finishes within ``count_timeout_ms``, else the planner's estimate (total_is_estimate).
    """
    page = max(1, int(page))
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    try:
        return _preview(
            conn,
            schema,
            name,
            filters,
            order_by,
            page,
            page_size,
            statement_timeout_ms,
            lock_timeout_ms,
            count_timeout_ms,
        )
    except TableLocked:
        raise
    except QueryError as exc:
        raise _explain_lock_timeout(conn, exc, schema, name, statement_timeout_ms) from exc


def _preview(
    conn: psycopg.Connection[Any],
    schema: str,
    name: str,
    filters: Sequence[Filter],
    order_by: Sequence[tuple[str, bool]],
    page: int,
    page_size: int,
    statement_timeout_ms: int,
    lock_timeout_ms: int,
    count_timeout_ms: int,
) -> PreviewPage:
    with _read_tx(conn, statement_timeout_ms, lock_timeout_ms):
        meta = conn.execute(_PREVIEW_META_SQL, (schema, name)).fetchone()
        if meta is None:
            raise NotFound(f"table {schema}.{name} does not exist (or is not a table, view or foreign table)")
        _oid, relkind, reltuples, columns, pk_cols, lock = meta
        if lock:  # reading it would wait for the lock timeout and then fail: say who holds it, now
            raise TableLocked(lock_from_json(lock) or TableLock(f"{schema}.{name}", None, True), f"{schema}.{name}")
        where, params = _where_clause(filters, columns)

        valid_set = set(columns)
        order_parts: list[sql.Composable] = []
        applied: list[tuple[str, bool]] = []
        seen: set[str] = set()
        for col_name, ascending in order_by:
            if col_name not in valid_set:
                raise _unknown_column(col_name, "sort order", columns)
            if col_name in seen:
                continue
            seen.add(col_name)
            applied.append((col_name, bool(ascending)))
            order_parts.append(
                sql.SQL("{} {}").format(sql.Identifier(col_name), sql.SQL("ASC" if ascending else "DESC"))
            )
        if pk_cols:
            order_parts.extend(sql.Identifier(c) for c in pk_cols if c not in seen)
        elif relkind in ("r", "m"):
            order_parts.append(sql.SQL("_dba_t.ctid"))
        elif relkind == "p":
            order_parts.append(sql.SQL("_dba_t.tableoid, _dba_t.ctid"))
        else:  # views and foreign tables have no key: the row's text is a total order on distinct rows
            order_parts.append(sql.SQL("ROW(_dba_t.*)::text"))

        table = sql.Identifier(schema, name)
        select = sql.SQL("SELECT /* dba_admin */ * FROM {} AS _dba_t{} ORDER BY {} LIMIT %s OFFSET %s").format(
            table, where, sql.SQL(", ").join(order_parts)
        )
        offset = (page - 1) * page_size
        cur = conn.execute(select, [*params, page_size + 1, offset])
        names = tuple(d.name for d in cur.description or ())
        int_columns = {d.name for d in cur.description or () if d.type_code in _INT_OIDS}
        rows = cur.fetchall()
        has_next = len(rows) > page_size
        rows = rows[:page_size]

        total: int | None
        estimate = False
        if rows and not has_next:
            total = offset + len(rows)  # the last page tells the exact count for free
        elif not rows and page == 1:
            total = 0
        else:
            total, estimate = _count(conn, table, where, params, count_timeout_ms, reltuples)

    frame = _frame(rows, names, int_columns)
    return PreviewPage(
        rows=frame,
        columns=names,
        page=page,
        page_size=page_size,
        total_rows=total,
        total_is_estimate=estimate,
        has_next=has_next,
        order_by=tuple(applied),
    )


_INT_OIDS = frozenset({20, 21, 23})  # int8, int2, int4


def _frame(rows: list[Any], names: tuple[str, ...], int_columns: set[str]) -> pd.DataFrame:
    """Rows as a DataFrame; integer columns holding NULLs stay integers (nullable Int64), not 189.0 floats."""
    import pandas as pd  # only here: the command line's start does not pay for pandas

    if not rows:
        return pd.DataFrame(columns=list(names))
    frame = pd.DataFrame.from_records(rows, columns=list(names))
    for name in int_columns:
        if frame[name].dtype.kind == "f":
            frame[name] = frame[name].astype("Int64")
    return frame


def _count(
    conn: psycopg.Connection[Any],
    table: sql.Identifier,
    where: sql.Composable,
    params: list[Any],
    timeout_ms: int,
    reltuples: float | None,
) -> tuple[int | None, bool]:
    """Exact count(*) under a short timeout, else the planner's estimate."""
    count_sql = sql.SQL("SELECT /* dba_admin */ count(*) FROM {}{}").format(table, where)
    try:
        with conn.transaction(force_rollback=True):
            conn.execute("SELECT /* dba_admin */ set_config('statement_timeout', %s, true)", (f"{timeout_ms}ms",))
            row = conn.execute(count_sql, params).fetchone()
            return (int(row[0]) if row else 0), False
    except psycopg.errors.QueryCanceled:
        pass
    try:
        explain = sql.SQL("EXPLAIN (FORMAT JSON) SELECT /* dba_admin */ * FROM {}{}").format(table, where)
        with conn.transaction(force_rollback=True):
            plan = conn.execute(explain, params).fetchone()
        if plan:
            doc = plan[0] if not isinstance(plan[0], str) else json.loads(plan[0])
            return int(doc[0]["Plan"]["Plan Rows"]), True
    except psycopg.Error:
        pass
    if reltuples is not None and reltuples >= 0:
        return int(reltuples), True
    return None, True
