"""Advisors: the checks in sql/checks/*.sql, muting, health beyond the basics, and metrics over time.

Every check is one SQL file returning the same columns (name, title, level, category, object, detail,
remediation, fix_sql, cache_key), like Supabase's splinter lints and PgHero's methods, so adding a check is
adding a file. The runner gives each check its own read-only transaction with a statement and lock timeout,
``search_path = ''`` (so deparsed policies and definitions name every schema), and its thresholds as
transaction-local settings (``dba_admin.<name>``) — never formatted into the SQL text. A check that fails
becomes one error entry in the report; it never sinks the run. A check the login may not run (SQLSTATE 42501:
a monitor login with ``pg_monitor`` and SELECT on the chosen schemas only) is reported as skipped, with why.
fix_sql is shown, never applied here.

Where things are read and written (workspace and connections): the checks and the figures of a snapshot are read
on the connection through its monitor login (``db.connection()``), which never writes; snapshots, muted findings
and the audit rows are the app's own records and go to the workspace (``db.workspace``), keyed by the
connection's name. When the connection is the workspace database itself, the app's own objects
(:data:`dba_admin.catalog.APP_SCHEMAS`, :data:`~dba_admin.catalog.APP_TABLES`, their indexes and sequences) are
left out of the findings unless ``include_app_objects=True``.

Exposed schemas (the API surface the security checks judge: RLS disabled, SECURITY DEFINER functions, sensitive
columns, extensions) are detected per connection, not assumed (:func:`detect_exposed_schemas`):

1. ``EXPOSED_SCHEMAS`` (Settings.exposed_schemas), when set, wins; so does a run's ``exposed_schemas`` threshold.
2. PostgREST's role ``authenticator`` has a ``pgrst.db_schemas`` setting (``ALTER ROLE authenticator [IN DATABASE
   ...] SET pgrst.db_schemas = 'public, api'``; the database-specific one first): those schemas.
3. A Supabase-like database (schema ``auth`` in this database and the API roles ``anon`` and ``authenticated``),
   without that setting: Supabase's default, ``public`` and ``graphql_public``. The role ``authenticator`` is
   not required here: roles are cluster-wide, the schema ``auth`` is not, and a local Supabase-compatible setup
   (the embedded PetCare demo) has the auth schema and the API roles without PostgREST's login, and is meant to be
   judged as the Supabase project it stands for.
4. Anything else (plain PostgreSQL, Neon, RDS): no schema is exposed, so the API-exposure checks report nothing.

Snapshots store sizes, row estimates, index usage and pg_stat_statements figures in ``dba_admin`` tables of the
workspace so the dashboard can chart growth and statement time over days; the query helpers return DataFrames.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from dba_admin import audit
from dba_admin.errors import ConfigError, QueryError, SqlErrorInfo, query_error_from, sql_error_info
from dba_admin.levels import CATEGORIES, LEVELS
from dba_admin.paths import SQL_DIR

if TYPE_CHECKING:
    import pandas as pd

    from dba_admin.config import Settings
    from dba_admin.database import DatabaseManager

log = logging.getLogger(__name__)

CHECKS_DIR = SQL_DIR / "checks"
TAG = "/* dba_admin */"
LEVEL_RANK = {level: rank for rank, level in enumerate(LEVELS)}
COLUMNS: tuple[str, ...] = (
    "name",
    "title",
    "level",
    "category",
    "object",
    "detail",
    "remediation",
    "fix_sql",
    "cache_key",
)
# A check should answer in well under a second; this bounds a pathological catalog, not a normal run.
DEFAULT_CHECK_TIMEOUT_MS = 15_000
DEFAULT_SNAPSHOT_MAX_AGE = timedelta(hours=1)
DEFAULT_PROBE_TIMEOUT_MS = 3_000
_SNAPSHOT_LOCK_KEY = 0x0DBA_AD02  # pg_advisory_xact_lock key: one snapshot at a time per database

# Thresholds the checks read with current_setting('dba_admin.<name>', true). Each SQL file repeats its default
# in a coalesce(...) so it also runs standalone in psql; a test keeps the two in step.
THRESHOLD_DEFAULTS: dict[str, str] = {
    "unused_index_min_bytes": "0",
    "seq_scan_min_rows": "10000",
    "seq_scan_max_index_pct": "95",
    "seq_scan_min_reads": "100",
    "bloat_min_pct": "50",
    "bloat_min_bytes": "104857600",
    "top_statements_limit": "5",
    "top_statements_min_total_ms": "60000",
    "n_plus_one_min_calls": "10000",
    "n_plus_one_max_mean_ms": "1",
    "xid_age_warn": "1000000000",
    "xid_age_error": "1600000000",
    "sequence_used_pct": "75",
    "vacuum_min_dead_rows": "10000",
    "analyze_min_changed_rows": "10000",
    "idle_in_transaction_seconds": "60",
    "connections_warn_pct": "80",
    # second round: PgHero's live and maintenance checks
    "long_running_query_seconds": "60",
    "blocked_query_seconds": "5",
    "cache_hit_rate_min_pct": "99",
    "cache_hit_min_reads": "100000",
    "index_bloat_min_pct": "50",
    "index_bloat_min_bytes": "104857600",
    "autovacuum_freeze_used_pct": "95",
    # second round: coherent index advice
    "unused_index_min_age_days": "7",
    # not a threshold: the evidence of index age the runner reads from the workspace's snapshots, a JSON object
    # "schema.index" -> when a snapshot at least unused_index_min_age_days old listed it (see run_checks)
    "indexes_first_seen": "{}",
}
_THRESHOLD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_HEADER_FIELD = re.compile(r"^--\s*(check|category|requires):\s*(\S+)\s*$")

PG_STAT_STATEMENTS = "pg_stat_statements"
PG_STAT_STATEMENTS_HINT = (
    "pg_stat_statements is not enabled: add it to shared_preload_libraries in postgresql.conf, restart "
    "PostgreSQL, then run CREATE EXTENSION pg_stat_statements WITH SCHEMA extensions (on Supabase: Database > "
    "Extensions)."
)


# ---------------------------------------------------------------------------------------------------
# Checks and findings
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One sql/checks file: its name and category come from the header, so a failed run can still be filed."""

    name: str
    category: str
    path: Path
    text: str
    requires: frozenset[str] = frozenset()
    summary: str = ""


@dataclass(frozen=True)
class Finding:
    """One row of a check, plus whether a DBA muted it. ``check_failed`` marks the entry of a check that errored."""

    name: str
    title: str
    level: str
    category: str
    object: str
    detail: str
    remediation: str
    fix_sql: str | None
    cache_key: str
    muted: bool = False
    muted_by: str | None = None
    muted_at: datetime | None = None
    mute_reason: str | None = None
    check_failed: bool = False

    @property
    def rank(self) -> int:
        return LEVEL_RANK.get(self.level, 0)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["muted_at"] = self.muted_at.isoformat() if self.muted_at else None
        return data


@dataclass(frozen=True)
class CheckRun:
    """How one check went: ``ok``, ``error`` (message says why) or ``not_available``: skipped, the message says
    why (no pg_stat_statements, or the login lacks a privilege the check needs)."""

    name: str
    category: str
    status: str
    duration_ms: float
    findings: int = 0
    message: str | None = None


@dataclass(frozen=True)
class AdvisorReport:
    """Everything one run found, muted findings included (flagged), and how each check went."""

    findings: list[Finding]
    runs: list[CheckRun]
    ran_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    exposed_schemas: tuple[str, ...] = ()  # what the API-exposure checks judged (see detect_exposed_schemas)
    exposure: str = ""  # how that list was decided

    @property
    def active(self) -> list[Finding]:
        return [f for f in self.findings if not f.muted]

    @property
    def muted(self) -> list[Finding]:
        return [f for f in self.findings if f.muted]

    @property
    def failed_checks(self) -> list[CheckRun]:
        return [r for r in self.runs if r.status == "error"]

    @property
    def unavailable_checks(self) -> list[CheckRun]:
        return [r for r in self.runs if r.status == "not_available"]

    def counts(self) -> dict[str, int]:
        """Unmuted findings per level, every level present (the page's counters)."""
        counts = dict.fromkeys(LEVELS, 0)
        for finding in self.active:
            counts[finding.level] = counts.get(finding.level, 0) + 1
        return counts

    def counts_by_category(self) -> dict[str, dict[str, int]]:
        table = {category: dict.fromkeys(LEVELS, 0) for category in CATEGORIES}
        for finding in self.active:
            table.setdefault(finding.category, dict.fromkeys(LEVELS, 0))[finding.level] += 1
        return table

    def fails_at(self, level: str) -> bool:
        """True when an unmuted finding at ``level`` or above exists (the CLI's --fail-on)."""
        threshold = _level(level)
        return any(f.rank >= LEVEL_RANK[threshold] for f in self.active)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ran_at": self.ran_at.isoformat(),
            "counts": self.counts(),
            "exposed_schemas": list(self.exposed_schemas),
            "exposure": self.exposure,
            "findings": [f.to_dict() for f in self.findings],
            "checks": [asdict(r) for r in self.runs],
        }


def _level(level: str) -> str:
    value = level.strip().upper()
    if value not in LEVEL_RANK:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    return value


def _category(category: str) -> str:
    value = category.strip().upper()
    if value not in CATEGORIES:
        raise ValueError(f"category must be one of {', '.join(CATEGORIES)}, not {category!r}")
    return value


def filter_findings(
    findings: Iterable[Finding],
    *,
    categories: Iterable[str] | None = None,
    min_level: str | None = None,
    levels: Iterable[str] | None = None,
    include_muted: bool = True,
) -> list[Finding]:
    """The findings the page or CLI asked for: by category, by level (exact or at least), muted or not."""
    wanted_categories = {_category(c) for c in categories} if categories else None
    wanted_levels = {_level(v) for v in levels} if levels else None
    floor = LEVEL_RANK[_level(min_level)] if min_level else 0
    return [
        f
        for f in findings
        if (wanted_categories is None or f.category in wanted_categories)
        and (wanted_levels is None or f.level in wanted_levels)
        and f.rank >= floor
        and (include_muted or not f.muted)
    ]


def load_checks(directory: Path | None = None) -> list[Check]:
    """Every check file, sorted by name; a file without its header fields is an error, not silently skipped."""
    directory = directory or CHECKS_DIR
    checks: list[Check] = []
    for path in sorted(directory.glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        fields: dict[str, list[str]] = {}
        summary: list[str] = []
        for line in text.splitlines():
            if not line.startswith("--"):
                break
            match = _HEADER_FIELD.match(line)
            if match:
                fields.setdefault(match[1], []).append(match[2])
            else:
                summary.append(line.lstrip("-").strip())
        name = (fields.get("check") or [path.stem])[0]
        category = (fields.get("category") or [""])[0].upper()
        if name != path.stem or category not in CATEGORIES:
            raise ConfigError(f"{path.name}: the header must say '-- check: {path.stem}' and a valid '-- category:'")
        if TAG not in text:
            raise ConfigError(f"{path.name}: every check carries the {TAG} tag")
        checks.append(
            Check(
                name=name,
                category=category,
                path=path,
                text=text.strip().rstrip(";"),
                requires=frozenset(fields.get("requires", [])),
                summary=" ".join(s for s in summary if s),
            )
        )
    return checks


# ---------------------------------------------------------------------------------------------------
# pg_stat_statements
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementsStatus:
    """Whether pg_stat_statements can be read in this database, where it lives, and if not, why not."""

    available: bool
    schema: str | None
    message: str


def pg_stat_statements_status(conn: psycopg.Connection[Any]) -> StatementsStatus:
    """Probe the extension inside a savepoint: "must be loaded via shared_preload_libraries" is an error."""
    row = conn.execute(
        "SELECT n.nspname, EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c"
        " ON c.oid = a.attrelid WHERE c.relnamespace = n.oid AND c.relname = 'pg_stat_statements'"
        " AND a.attname = 'total_exec_time')"
        " FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'pg_stat_statements' /* dba_admin */"
    ).fetchone()
    if row is None:
        return StatementsStatus(False, None, f"not installed in this database. {PG_STAT_STATEMENTS_HINT}")
    schema, current = str(row[0]), bool(row[1])
    if not current:
        return StatementsStatus(
            False, schema, "installed but older than version 1.8: run ALTER EXTENSION pg_stat_statements UPDATE"
        )
    probe = sql.SQL("SELECT 1 FROM {} LIMIT 1 /* dba_admin */").format(sql.Identifier(schema, PG_STAT_STATEMENTS))
    try:
        with conn.transaction():
            conn.execute(probe)
    except psycopg.Error as exc:
        _, reason = _error_message(exc)
        return StatementsStatus(False, schema, f"installed but cannot be read ({reason}). {PG_STAT_STATEMENTS_HINT}")
    return StatementsStatus(True, schema, f"available in schema {schema}")


# ---------------------------------------------------------------------------------------------------
# Running checks
# ---------------------------------------------------------------------------------------------------


SUPABASE_DEFAULT_SCHEMAS: tuple[str, ...] = ("public", "graphql_public")
API_LOGIN_ROLE = "authenticator"  # PostgREST's login on Supabase; its pgrst.db_schemas names the API's schemas


@dataclass(frozen=True)
class ExposedSchemas:
    """The schemas an API serves on one connection, and how that was decided (shown with the report)."""

    schemas: tuple[str, ...]
    source: str  # "settings", "pgrst.db_schemas", "supabase default", "none", "run override"
    reason: str


def _schema_list(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip().strip('"') for part in text.split(",") if part.strip().strip('"')))


_DETECT_SQL = """
SELECT /* dba_admin */
       EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'auth') AS has_auth,
       (SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname IN ('anon', 'authenticated')) = 2 AS has_api_roles,
       EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = %(role)s) AS has_role,
       (SELECT pg_catalog.array_agg(cfg ORDER BY s.setdatabase DESC)
          FROM pg_catalog.pg_db_role_setting s
          JOIN pg_catalog.pg_roles r ON r.oid = s.setrole
          CROSS JOIN LATERAL pg_catalog.unnest(s.setconfig) AS cfg
         WHERE r.rolname = %(role)s
           AND s.setdatabase IN (0, (SELECT oid FROM pg_catalog.pg_database
                                      WHERE datname = pg_catalog.current_database()))
           AND cfg LIKE 'pgrst.db\\_schemas=%%') AS settings
"""


def detect_exposed_schemas(
    conn: psycopg.Connection[Any], *, settings: Settings | None = None, api_role: str = API_LOGIN_ROLE
) -> ExposedSchemas:
    """Which schemas an API exposes on this connection (the rule is in the module docstring).

    ``api_role`` is PostgREST's login role (``authenticator`` on Supabase); a parameter so a test can use a role
    of its own on a shared cluster. Reads only the catalogs (any login may); never raises for a catalog it cannot
    read: then nothing is taken as exposed, and the reason says why.
    """
    configured = tuple(s.strip() for s in (settings.exposed_schemas if settings is not None else ()) if s.strip())
    if configured:
        return ExposedSchemas(configured, "settings", "EXPOSED_SCHEMAS is set")
    try:
        with conn.transaction(force_rollback=True), conn.cursor(row_factory=dict_row) as cur:
            cur.execute(_DETECT_SQL, {"role": api_role})
            row = cur.fetchone()
    except psycopg.Error as exc:
        if conn.closed:
            raise
        return ExposedSchemas((), "none", f"could not read the roles' settings ({_error_message(exc)[1]})")
    assert row is not None
    for entry in row["settings"] or ():  # the database-specific setting first
        schemas = _schema_list(str(entry).split("=", 1)[1])
        if schemas:
            return ExposedSchemas(schemas, "pgrst.db_schemas", f"role {api_role} sets pgrst.db_schemas")
    if row["has_auth"] and row["has_api_roles"]:
        return ExposedSchemas(
            SUPABASE_DEFAULT_SCHEMAS,
            "supabase default",
            "a Supabase-like database (schema auth, roles anon and authenticated) without pgrst.db_schemas",
        )
    return ExposedSchemas((), "none", "plain PostgreSQL: no API role or schema, so no schema is exposed")


def default_thresholds(settings: Settings | None = None, exposed: Sequence[str] | None = None) -> dict[str, str]:
    """The settings every check run gets. ``exposed_schemas``: the detected list (``exposed``), else
    Settings.exposed_schemas; an empty list is passed as '' and the checks then see no exposed schema."""
    values = dict(THRESHOLD_DEFAULTS)
    schemas = exposed if exposed is not None else (settings.exposed_schemas if settings is not None else ())
    values["exposed_schemas"] = ",".join(s.strip() for s in schemas if s.strip())
    return values


def _thresholds(
    settings: Settings | None, overrides: Mapping[str, Any] | None, exposed: Sequence[str] | None = None
) -> dict[str, str]:
    values = default_thresholds(settings, exposed)
    for key, value in (overrides or {}).items():
        if not _THRESHOLD_NAME.match(key):
            raise ValueError(f"threshold name {key!r} must be lower_case_with_underscores")
        if isinstance(value, list | tuple):
            values[key] = ",".join(str(v) for v in value)
        else:
            values[key] = str(value)
    return values


def _error_message(exc: BaseException) -> tuple[str | None, str]:
    if isinstance(exc, psycopg.Error):
        info = sql_error_info(exc)
        return info.sqlstate, info.message
    return None, str(exc) or type(exc).__name__


@contextmanager
def _named_errors() -> Iterator[None]:
    """The public entry points raise QueryError, never psycopg's own types, so callers catch named errors."""
    try:
        yield
    except psycopg.Error as exc:
        raise query_error_from(exc) from exc


def _failed_finding(check: Check, sqlstate: str | None, message: str) -> Finding:
    return Finding(
        name=check.name,
        title=f"Check {check.name} could not run",
        level="ERROR",
        category=check.category,
        object=f"check.{check.name}",
        detail=f"The check failed{f' (SQLSTATE {sqlstate})' if sqlstate else ''}: {message}",
        remediation="Nothing was verified by this check. If it timed out, run it again when the database is "
        "quieter; otherwise report the error. Other checks are not affected.",
        fix_sql=None,
        cache_key=f"check_failed_{check.name}",
        check_failed=True,
    )


def _row_to_finding(check: Check, row: Mapping[str, Any]) -> Finding:
    values = {column: row.get(column) for column in COLUMNS}
    if values["name"] != check.name or values["level"] not in LEVEL_RANK or values["category"] not in CATEGORIES:
        raise ValueError(
            f"check {check.name} returned a malformed row (name={values['name']!r}, level={values['level']!r},"
            f" category={values['category']!r})"
        )
    if not values["cache_key"] or not values["object"]:
        raise ValueError(f"check {check.name} returned a row without object or cache_key")
    return Finding(
        name=str(values["name"]),
        title=str(values["title"] or check.name),
        level=str(values["level"]),
        category=str(values["category"]),
        object=str(values["object"]),
        detail=str(values["detail"] or ""),
        remediation=str(values["remediation"] or ""),
        fix_sql=None if values["fix_sql"] is None else str(values["fix_sql"]),
        cache_key=str(values["cache_key"]),
    )


# transaction_read_only = on is SET TRANSACTION READ ONLY; search_path is '' or pg_stat_statements' schema.
_SETTINGS_SQL = (
    "SELECT pg_catalog.set_config('search_path', coalesce(pg_catalog.quote_ident(%s::text), ''), true),"
    " (SELECT pg_catalog.count(pg_catalog.set_config(k, v, true))"
    " FROM ROWS FROM (pg_catalog.unnest(%s::text[]), pg_catalog.unnest(%s::text[])) AS s(k, v)) /* dba_admin */"
)


def _run_one(
    conn: psycopg.Connection[Any],
    check: Check,
    thresholds: Mapping[str, str],
    *,
    timeout_ms: int,
    lock_timeout_ms: int,
    statements_schema: str | None,
) -> list[Finding]:
    """One check in its own read-only transaction, always rolled back.

    search_path is empty (deparsed expressions then name every schema), or only pg_stat_statements' schema
    for the checks that read it.
    """
    keys = ["transaction_read_only", "statement_timeout", "lock_timeout", *(f"dba_admin.{k}" for k in thresholds)]
    values = ["on", str(timeout_ms), str(lock_timeout_ms), *thresholds.values()]
    with conn.transaction(force_rollback=True):
        # Every setting in one round trip (one statement per setting cost ~35 round trips per check).
        conn.execute(_SETTINGS_SQL, (statements_schema, keys, values))
        with conn.cursor(row_factory=dict_row) as cur:
            # The text is a trusted file from sql/checks (not user input); thresholds were set above as values.
            cur.execute(check.text)
            rows = cur.fetchall()
    return [_row_to_finding(check, row) for row in rows]


_APP_OBJECTS_SQL = """
WITH app AS (
    SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY (%(schemas)s)
       OR (n.nspname, c.relname) IN (SELECT * FROM ROWS FROM (
              pg_catalog.unnest(%(table_schemas)s::text[]), pg_catalog.unnest(%(tables)s::text[])))
), related AS (
    SELECT oid FROM app
    UNION SELECT i.indexrelid FROM pg_catalog.pg_index i WHERE i.indrelid IN (SELECT oid FROM app)
    UNION SELECT d.objid FROM pg_catalog.pg_depend d
          WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
            AND d.deptype IN ('a', 'i') AND d.refobjid IN (SELECT oid FROM app)
)
SELECT /* dba_admin */ n.nspname, c.relname
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid IN (SELECT oid FROM related)
"""


def app_object_names(conn: psycopg.Connection[Any]) -> frozenset[str]:
    """``schema.name`` of the app's own relations here: its tables, their indexes and sequences (the objects a
    finding names), so a run on the workspace database can leave them out."""
    from dba_admin.catalog import APP_SCHEMAS, APP_TABLES

    tables = sorted(APP_TABLES)
    with conn.transaction(force_rollback=True):
        rows = conn.execute(
            _APP_OBJECTS_SQL,
            {
                "schemas": sorted(APP_SCHEMAS),
                "table_schemas": [t[0] for t in tables],
                "tables": [t[1] for t in tables],
            },
        ).fetchall()
    return frozenset(f"{schema}.{name}" for schema, name in rows)


def _is_app_finding(finding: Finding, names: frozenset[str]) -> bool:
    from dba_admin.catalog import APP_SCHEMAS

    return finding.object in names or finding.object.split(".", 1)[0] in APP_SCHEMAS


def _skipped_message(message: str) -> str:
    return (
        f"skipped: this login may not read what the check needs ({message}). A monitor login needs pg_monitor and "
        "USAGE + SELECT on the schemas it watches; grant what is missing to run this check."
    )


@_named_errors()
def run_checks_on(
    conn: psycopg.Connection[Any],
    *,
    settings: Settings | None = None,
    categories: Iterable[str] | None = None,
    names: Iterable[str] | None = None,
    thresholds: Mapping[str, Any] | None = None,
    timeout_ms: int | None = None,
    checks: Sequence[Check] | None = None,
    exposed: ExposedSchemas | None = None,
    mutes: Mapping[str, Mapping[str, Any]] | None = None,
    skip_app_objects: bool = False,
    indexes_first_seen: Mapping[str, datetime] | None = None,
) -> AdvisorReport:
    """Run the checks on a connection of the administered database (not autocommit); see :func:`run_checks`.

    Only reads ``conn``. ``exposed``: the exposed schemas when the caller already knows them, else detected here
    (one catalog query; a ``exposed_schemas`` threshold overrides both). ``mutes``: cache_key -> the mute's row,
    read by the caller from the workspace. ``skip_app_objects``: leave the app's own objects out (the
    connection is the workspace database). ``indexes_first_seen``: "schema.index" -> when a snapshot of this
    connection listed it (:func:`indexes_seen_before`), the index checks' evidence of an index's age.
    """
    wanted_categories = {_category(c) for c in categories} if categories else None
    wanted_names = set(names) if names else None
    selected = [
        c
        for c in (checks if checks is not None else load_checks())
        if (wanted_categories is None or c.category in wanted_categories)
        and (wanted_names is None or c.name in wanted_names)
    ]
    if thresholds and "exposed_schemas" in thresholds:
        raw = thresholds["exposed_schemas"]
        listed = _schema_list(",".join(raw) if isinstance(raw, list | tuple) else str(raw))
        exposed = ExposedSchemas(listed, "run override", "exposed_schemas given for this run")
    elif exposed is None:
        exposed = detect_exposed_schemas(conn, settings=settings)
    values = _thresholds(settings, thresholds, exposed.schemas)
    limit = timeout_ms or min(
        settings.statement_timeout_ms if settings else DEFAULT_CHECK_TIMEOUT_MS, DEFAULT_CHECK_TIMEOUT_MS
    )
    lock_limit = settings.lock_timeout_ms if settings else 5_000
    statements: StatementsStatus | None = None
    findings: list[Finding] = []
    runs: list[CheckRun] = []
    for check in selected:
        started = time.perf_counter()
        schema: str | None = None
        if PG_STAT_STATEMENTS in check.requires:
            if statements is None:
                with conn.transaction():
                    statements = pg_stat_statements_status(conn)
            if not statements.available or statements.schema is None:
                runs.append(
                    CheckRun(
                        check.name, check.category, "not_available", 0.0, 0, f"pg_stat_statements {statements.message}"
                    )
                )
                continue
            schema = statements.schema
        check_values = values
        if check.name in _AGE_CHECKS and indexes_first_seen and not (thresholds or {}).get("indexes_first_seen"):
            # only the checks that judge an index's age get the (possibly long) list
            seen = {name: at.isoformat() for name, at in indexes_first_seen.items()}
            check_values = {**values, "indexes_first_seen": json.dumps(seen)}
        try:
            found = _run_one(
                conn, check, check_values, timeout_ms=limit, lock_timeout_ms=lock_limit, statements_schema=schema
            )
        except (psycopg.Error, ValueError) as exc:
            if isinstance(exc, psycopg.OperationalError) and conn.closed:
                raise QueryError(SqlErrorInfo(sqlstate="08006", message=f"the connection was lost: {exc}")) from exc
            sqlstate, message = _error_message(exc)
            elapsed = round((time.perf_counter() - started) * 1000, 2)
            if sqlstate == "42501":  # insufficient_privilege: the login's limits, not a defect of the database
                skipped = _skipped_message(message)
                runs.append(CheckRun(check.name, check.category, "not_available", elapsed, 0, skipped))
                continue
            log.warning("advisor check %s failed: %s", check.name, message)
            findings.append(_failed_finding(check, sqlstate, message))
            runs.append(CheckRun(check.name, check.category, "error", elapsed, 1, message))
            continue
        findings.extend(found)
        runs.append(
            CheckRun(check.name, check.category, "ok", round((time.perf_counter() - started) * 1000, 2), len(found))
        )
    if skip_app_objects and findings:
        app_names = app_object_names(conn)
        findings = [f for f in findings if f.check_failed or not _is_app_finding(f, app_names)]
    if mutes:
        findings = [
            Finding(
                **{
                    **asdict(f),
                    "muted": True,
                    "muted_by": mutes[f.cache_key]["muted_by"],
                    "muted_at": mutes[f.cache_key]["muted_at"],
                    "mute_reason": mutes[f.cache_key]["reason"],
                }
            )
            if f.cache_key in mutes
            else f
            for f in findings
        ]
    findings.sort(key=lambda f: (-f.rank, CATEGORIES.index(f.category), f.name, f.object))
    return AdvisorReport(
        findings=findings, runs=runs, exposed_schemas=exposed.schemas, exposure=f"{exposed.source}: {exposed.reason}"
    )


def _load_mutes(db: DatabaseManager) -> dict[str, dict[str, Any]]:
    """The connection's mutes, from the workspace (none when the workspace is not migrated yet)."""
    with db.workspace.connection() as conn, conn.transaction():
        exists = conn.execute("SELECT to_regclass('dba_admin.muted_findings') IS NOT NULL /* dba_admin */").fetchone()
        if not exists or not exists[0]:
            return {}
        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                "SELECT cache_key, muted_by, muted_at, reason FROM dba_admin.muted_findings"
                " WHERE connection_name = %s /* dba_admin */",
                (db.name,),
            )
            return {str(r["cache_key"]): r for r in cur.fetchall()}


# unused_index and duplicate_index share one plan (sql/checks): both judge an index's age.
_AGE_CHECKS = frozenset({"unused_index", "duplicate_index"})
_INDEXES_SEEN_SQL = (
    "SELECT si.schema_name, si.index_name, s.taken_at FROM dba_admin.snapshot_indexes si"
    " JOIN (SELECT id, taken_at FROM dba_admin.snapshots WHERE connection_name = %s"
    "   AND taken_at <= now() - make_interval(secs => %s) ORDER BY taken_at DESC, id DESC LIMIT 1) s"
    " ON s.id = si.snapshot_id /* dba_admin */"
)


def indexes_seen_before(db: DatabaseManager, min_age_days: Any) -> dict[str, datetime]:
    """Map "schema.index" -> taken_at for the indexes the newest snapshot of this connection taken at least
    ``min_age_days`` ago listed: proof that they are at least that old (PostgreSQL keeps no creation time), for
    unused_index. Snapshots keep the biggest indexes only, so an index missing here is of unknown age, not young.
    Empty when there is no such snapshot or the workspace is not migrated; never raises (the check then says the
    age is unknown)."""
    try:
        seconds = float(min_age_days) * 86400
    except (TypeError, ValueError):
        return {}
    if seconds <= 0:
        return {}
    try:
        with db.workspace.connection() as conn, conn.transaction():
            exists = conn.execute("SELECT to_regclass('dba_admin.snapshot_indexes') IS NOT NULL /* dba_admin */")
            row = exists.fetchone()
            if not row or not row[0]:
                return {}
            rows = conn.execute(_INDEXES_SEEN_SQL, (db.name, seconds)).fetchall()
    except psycopg.Error as exc:
        log.warning("no index age evidence from the snapshots: %s", _error_message(exc)[1])
        return {}
    return {f"{schema}.{index}": taken_at for schema, index, taken_at in rows}


@_named_errors()
def run_checks(
    db: DatabaseManager,
    *,
    categories: Iterable[str] | None = None,
    names: Iterable[str] | None = None,
    thresholds: Mapping[str, Any] | None = None,
    timeout_ms: int | None = None,
    include_app_objects: bool = False,
) -> AdvisorReport:
    """Run every check (or those of ``categories`` / ``names``) on the connection behind ``db`` (its monitor
    login), with the connection's mutes from the workspace.

    ``thresholds`` override :data:`THRESHOLD_DEFAULTS` (and ``exposed_schemas``) for this run only. On the
    workspace database the app's own objects are left out unless ``include_app_objects``.
    """
    from dba_admin.catalog import includes_app_objects

    names = None if names is None else list(names)
    categories = None if categories is None else list(categories)
    mutes = _load_mutes(db)
    seen: dict[str, datetime] = {}
    if (names is None or _AGE_CHECKS & set(names)) and (not categories or "PERFORMANCE" in map(_category, categories)):
        age = (thresholds or {}).get("unused_index_min_age_days", THRESHOLD_DEFAULTS["unused_index_min_age_days"])
        seen = indexes_seen_before(db, age)
    with db.connection() as conn:
        return run_checks_on(
            conn,
            settings=db.settings,
            categories=categories,
            names=names,
            thresholds=thresholds,
            timeout_ms=timeout_ms,
            mutes=mutes,
            skip_app_objects=not include_app_objects and includes_app_objects(db),
            indexes_first_seen=seen,
        )


# ---------------------------------------------------------------------------------------------------
# Muting (the workspace's records, per connection)
# ---------------------------------------------------------------------------------------------------


def _require_mutes_table(conn: psycopg.Connection[Any]) -> None:
    row = conn.execute("SELECT to_regclass('dba_admin.muted_findings') IS NOT NULL /* dba_admin */").fetchone()
    if not row or not row[0]:
        raise ConfigError("dba_admin.muted_findings does not exist: run `dba-admin migrate` first")


@_named_errors()
def mute(
    db: DatabaseManager,
    cache_key: str,
    *,
    actor: str,
    reason: str | None = None,
    name: str | None = None,
    object_name: str | None = None,
) -> None:
    """Mute a finding on this connection (by cache_key); stored and audited in the workspace, in one transaction."""
    if not cache_key.strip():
        raise ValueError("cache_key must not be empty")
    with db.workspace.connection() as conn:
        _require_mutes_table(conn)
        conn.execute(
            "INSERT INTO dba_admin.muted_findings (connection_name, cache_key, check_name, object, muted_by, reason)"
            " VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (connection_name, cache_key) DO UPDATE SET muted_by = excluded.muted_by, muted_at = now(),"
            " reason = excluded.reason, check_name = coalesce(excluded.check_name, muted_findings.check_name),"
            " object = coalesce(excluded.object, muted_findings.object) /* dba_admin */",
            (db.name, cache_key, name, object_name, actor, reason),
        )
        audit.record(
            conn,
            "advisor.mute",
            actor=actor,
            target=cache_key,
            details={"connection": db.name, "check": name, "object": object_name, "reason": reason},
        )


def mute_finding(db: DatabaseManager, finding: Finding, *, actor: str, reason: str | None = None) -> None:
    mute(db, finding.cache_key, actor=actor, reason=reason, name=finding.name, object_name=finding.object)


@_named_errors()
def unmute(db: DatabaseManager, cache_key: str, *, actor: str) -> bool:
    """Unmute; returns False when it was not muted (nothing audited then)."""
    with db.workspace.connection() as conn:
        _require_mutes_table(conn)
        row = conn.execute(
            "DELETE FROM dba_admin.muted_findings WHERE connection_name = %s AND cache_key = %s"
            " RETURNING check_name, object /* dba_admin */",
            (db.name, cache_key),
        ).fetchone()
        if row is None:
            return False
        audit.record(
            conn,
            "advisor.unmute",
            actor=actor,
            target=cache_key,
            details={"connection": db.name, "check": row[0], "object": row[1]},
        )
        return True


@_named_errors()
def muted_findings(db: DatabaseManager) -> pd.DataFrame:
    """Every mute of this connection, newest first (also those whose finding no longer fires)."""

    with db.workspace.connection() as conn:
        _require_mutes_table(conn)
        return _frame(
            conn,
            sql.SQL(
                "SELECT cache_key, check_name, object, muted_by, muted_at, reason FROM dba_admin.muted_findings"
                " WHERE connection_name = %s ORDER BY muted_at DESC, cache_key /* dba_admin */"
            ),
            (db.name,),
        )


# ---------------------------------------------------------------------------------------------------
# Health beyond the basics
# ---------------------------------------------------------------------------------------------------


def extended_health(db: DatabaseManager, *, probe_timeout_ms: int = DEFAULT_PROBE_TIMEOUT_MS) -> dict[str, Any]:
    """pg_stat_statements availability and, per foreign server, a timed ``SELECT 1`` through one foreign table.

    Never raises for a broken server: it is reported with its error. (The connect phase of postgres_fdw is
    bounded by the server's own connect_timeout option; the statement by ``probe_timeout_ms``.)
    """
    result: dict[str, Any] = {"pg_stat_statements": {}, "foreign_servers": [], "ok": True}
    try:
        with db.connection() as conn:
            with conn.transaction(force_rollback=True):
                status = pg_stat_statements_status(conn)
                servers = conn.execute(
                    "SELECT s.srvname, w.fdwname, ft.nspname, ft.relname"
                    " FROM pg_catalog.pg_foreign_server s"
                    " JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw"
                    " LEFT JOIN LATERAL (SELECT n.nspname, c.relname FROM pg_catalog.pg_foreign_table f"
                    "   JOIN pg_catalog.pg_class c ON c.oid = f.ftrelid"
                    "   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                    "   WHERE f.ftserver = s.oid ORDER BY c.oid LIMIT 1) ft ON true"
                    " ORDER BY s.srvname /* dba_admin */"
                ).fetchall()
            result["pg_stat_statements"] = {
                "available": status.available,
                "schema": status.schema,
                "message": status.message,
            }
            for server, wrapper, schema, table in servers:
                entry: dict[str, Any] = {
                    "server": server,
                    "wrapper": wrapper,
                    "table": f"{schema}.{table}" if table else None,
                    "reachable": None,
                    "ms": None,
                    "error": None,
                }
                if table is None:
                    entry["error"] = "no foreign table uses this server, nothing to probe"
                    result["foreign_servers"].append(entry)
                    continue
                started = time.perf_counter()
                try:
                    with conn.transaction(force_rollback=True):
                        conn.execute(
                            "SELECT pg_catalog.set_config('statement_timeout', %s, true) /* dba_admin */",
                            (str(probe_timeout_ms),),
                        )
                        conn.execute(
                            sql.SQL("SELECT 1 FROM {} LIMIT 1 /* dba_admin */").format(sql.Identifier(schema, table))
                        )
                    entry["reachable"] = True
                except psycopg.Error as exc:
                    if conn.closed:
                        raise
                    sqlstate, message = _error_message(exc)
                    entry["reachable"] = False
                    entry["error"] = f"{sqlstate}: {message}" if sqlstate else message
                    result["ok"] = False
                entry["ms"] = round((time.perf_counter() - started) * 1000, 2)
                result["foreign_servers"].append(entry)
    except (psycopg.Error, QueryError) as exc:
        _, message = _error_message(exc)
        result["ok"] = False
        result["error"] = message
    return result


# ---------------------------------------------------------------------------------------------------
# Snapshots (metrics over time)
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SnapshotSummary:
    id: int
    taken_at: datetime
    database_size_bytes: int
    tables: int
    indexes: int
    statements: int
    statements_available: bool


@dataclass
class _Figures:
    """What a snapshot stores, as read on the connection (monitor login), before it is written to the workspace."""

    database: tuple[Any, ...]  # database_name, size, server_version, connections, commits, rollbacks, cache hit
    tables: list[tuple[Any, ...]]
    indexes: list[tuple[Any, ...]]
    statements: list[tuple[Any, ...]]
    statements_available: bool


_FIGURES_DATABASE_SQL = (
    "SELECT pg_catalog.current_database(), pg_catalog.pg_database_size(pg_catalog.current_database()),"
    " pg_catalog.current_setting('server_version'),"
    " (SELECT count(*) FROM pg_catalog.pg_stat_activity a WHERE a.backend_type = 'client backend'"
    "   AND a.datname = pg_catalog.current_database()),"
    " d.xact_commit, d.xact_rollback,"
    " CASE WHEN d.blks_hit + d.blks_read > 0 THEN d.blks_hit::float8 / (d.blks_hit + d.blks_read) END"
    " FROM pg_catalog.pg_stat_database d WHERE d.datname = pg_catalog.current_database() /* dba_admin */"
)
_FIGURES_TABLES_SQL = (
    "SELECT n.nspname, c.relname,"
    " CASE c.relkind WHEN 'm' THEN 'materialized view' WHEN 'p' THEN 'partitioned table' ELSE 'table' END,"
    " pg_catalog.pg_total_relation_size(c.oid), pg_catalog.pg_relation_size(c.oid),"
    " pg_catalog.pg_indexes_size(c.oid), greatest(c.reltuples, 0)::int8,"
    " s.seq_scan, s.idx_scan, s.n_live_tup, s.n_dead_tup"
    " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " LEFT JOIN pg_catalog.pg_stat_all_tables s ON s.relid = c.oid"
    " WHERE c.relkind IN ('r', 'm', 'p') AND c.relpersistence <> 't'"
    " AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'"
    " ORDER BY pg_catalog.pg_total_relation_size(c.oid) DESC, n.nspname, c.relname LIMIT %(limit)s"
    " /* dba_admin */"
)
_FIGURES_INDEXES_SQL = (
    "SELECT s.schemaname, s.indexrelname, s.relname, pg_catalog.pg_relation_size(s.indexrelid),"
    " s.idx_scan, s.idx_tup_read"
    " FROM pg_catalog.pg_stat_all_indexes s"
    " WHERE s.schemaname NOT IN ('pg_catalog', 'information_schema') AND s.schemaname !~ '^pg_(toast|temp_)'"
    " ORDER BY pg_catalog.pg_relation_size(s.indexrelid) DESC, s.schemaname, s.indexrelname LIMIT %(limit)s"
    " /* dba_admin */"
)
_FIGURES_STATEMENTS_SQL = (
    "SELECT s.queryid, min(s.query), sum(s.calls), sum(s.total_exec_time),"
    " coalesce(sum(s.total_exec_time) / nullif(sum(s.calls), 0), 0), sum(s.rows),"
    " sum(s.shared_blks_hit), sum(s.shared_blks_read)"
    " FROM {view} s"
    " WHERE s.dbid = (SELECT oid FROM pg_catalog.pg_database"
    "   WHERE datname = pg_catalog.current_database()) AND s.queryid IS NOT NULL"
    " GROUP BY s.queryid ORDER BY sum(s.total_exec_time) DESC LIMIT %(limit)s /* dba_admin */"
)


def _read_figures(
    conn: psycopg.Connection[Any], *, table_limit: int, index_limit: int, statement_limit: int, timeout_ms: int
) -> _Figures:
    """Read a snapshot's figures on the connection, in a read-only transaction that is rolled back (no write)."""
    with conn.transaction(force_rollback=True):
        conn.execute(
            "SELECT pg_catalog.set_config('statement_timeout', %s, true),"
            " pg_catalog.set_config('transaction_read_only', 'on', true) /* dba_admin */",
            (str(timeout_ms),),
        )
        status = pg_stat_statements_status(conn)
        database = conn.execute(_FIGURES_DATABASE_SQL).fetchone()
        assert database is not None  # pg_stat_database always has the current database
        tables = conn.execute(_FIGURES_TABLES_SQL, {"limit": table_limit}).fetchall()
        indexes = conn.execute(_FIGURES_INDEXES_SQL, {"limit": index_limit}).fetchall()
        statements: list[tuple[Any, ...]] = []
        stats_ok = status.available
        if status.available and status.schema:
            query = sql.SQL(_FIGURES_STATEMENTS_SQL).format(view=sql.Identifier(status.schema, PG_STAT_STATEMENTS))
            try:
                with conn.transaction():
                    statements = conn.execute(query, {"limit": statement_limit}).fetchall()
            except psycopg.Error as exc:  # the snapshot is still worth keeping without statements
                if conn.closed:
                    raise
                log.warning("snapshot without statement stats: %s", _error_message(exc)[1])
                stats_ok = False
    return _Figures(tuple(database), tables, indexes, statements, stats_ok)


def _store(
    conn: psycopg.Connection[Any],
    figures: _Figures,
    *,
    connection_name: str,
    actor: str | None,
    retention_days: int | None,
) -> SnapshotSummary:
    """Write one snapshot of a connection into the workspace (``conn`` is the workspace's, in a transaction)."""
    size = figures.database[1]
    row = conn.execute(
        "INSERT INTO dba_admin.snapshots (connection_name, database_name, database_size_bytes, server_version,"
        " connections, xact_commit, xact_rollback, cache_hit_ratio, statements_available, taken_by)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id, taken_at /* dba_admin */",
        (connection_name, *figures.database, figures.statements_available, actor),
    ).fetchone()
    assert row is not None
    snapshot_id, taken_at = int(row[0]), row[1]
    with conn.cursor() as cur:
        if figures.tables:
            cur.executemany(
                "INSERT INTO dba_admin.snapshot_tables (snapshot_id, schema_name, table_name, kind, total_bytes,"
                " table_bytes, index_bytes, estimated_rows, seq_scan, idx_scan, n_live_tup, n_dead_tup)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) /* dba_admin */",
                [(snapshot_id, *r) for r in figures.tables],
            )
        if figures.indexes:
            cur.executemany(
                "INSERT INTO dba_admin.snapshot_indexes (snapshot_id, schema_name, index_name, table_name,"
                " index_bytes, idx_scan, idx_tup_read) VALUES (%s, %s, %s, %s, %s, %s, %s) /* dba_admin */",
                [(snapshot_id, *r) for r in figures.indexes],
            )
        if figures.statements:
            cur.executemany(
                "INSERT INTO dba_admin.snapshot_statements (snapshot_id, queryid, query, calls, total_exec_ms,"
                " mean_exec_ms, rows, shared_blks_hit, shared_blks_read)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) /* dba_admin */",
                [(snapshot_id, *r) for r in figures.statements],
            )
    if retention_days is not None and retention_days > 0:
        conn.execute(
            "DELETE FROM dba_admin.snapshots WHERE connection_name = %s"
            " AND taken_at < now() - make_interval(days => %s) /* dba_admin */",
            (connection_name, retention_days),
        )
    return SnapshotSummary(
        id=snapshot_id,
        taken_at=taken_at,
        database_size_bytes=int(size),
        tables=len(figures.tables),
        indexes=len(figures.indexes),
        statements=len(figures.statements),
        statements_available=figures.statements_available,
    )


def _snapshot_tx(conn: psycopg.Connection[Any], timeout_ms: int, connection_name: str) -> None:
    """Statement timeout and the lock that makes snapshots of one connection one at a time (workspace side)."""
    conn.execute(
        "SELECT pg_catalog.set_config('statement_timeout', %s, true),"
        " pg_catalog.pg_advisory_xact_lock(%s, pg_catalog.hashtext(%s)) /* dba_admin */",
        (str(timeout_ms), _SNAPSHOT_LOCK_KEY, connection_name),
    )


@_named_errors()
def take_snapshot(
    db: DatabaseManager,
    *,
    actor: str | None = None,
    table_limit: int = 500,
    index_limit: int = 500,
    statement_limit: int = 100,
    retention_days: int | None = 90,
) -> SnapshotSummary:
    """Store sizes, row estimates, index usage and top statement stats now (cron: `dba-admin snapshot`).

    The figures are read on the connection (monitor login) and written to the workspace under the connection's
    name; snapshots of that connection older than ``retention_days`` are deleted in the same transaction.
    """
    timeout = db.settings.statement_timeout_ms
    with db.workspace.connection() as wconn:
        _require_snapshot_tables(wconn)
    with db.connection() as conn:
        figures = _read_figures(
            conn, table_limit=table_limit, index_limit=index_limit, statement_limit=statement_limit, timeout_ms=timeout
        )
    with db.workspace.connection() as wconn, wconn.transaction():
        _snapshot_tx(wconn, timeout, db.name)
        return _store(wconn, figures, connection_name=db.name, actor=actor, retention_days=retention_days)


_NO_SNAPSHOT_TABLES = "dba_admin.snapshots does not exist: run `dba-admin migrate` first"


def _require_snapshot_tables(conn: psycopg.Connection[Any]) -> None:
    row = conn.execute("SELECT to_regclass('dba_admin.snapshots') IS NOT NULL /* dba_admin */").fetchone()
    if not row or not row[0]:
        raise ConfigError(_NO_SNAPSHOT_TABLES)


@contextmanager
def _snapshot_reads(db: DatabaseManager) -> Iterator[psycopg.Connection[Any]]:
    """A workspace connection for one read of the snapshots. Snapshot tables that do not exist are the same
    ConfigError as before, taken from the query's own error instead of a check before it: one round trip less per
    read, and the dashboard makes four of these reads on every run."""
    try:
        with db.workspace.connection() as conn:
            yield conn
    except psycopg.errors.UndefinedTable as exc:
        raise ConfigError(_NO_SNAPSHOT_TABLES) from exc


def _latest(conn: psycopg.Connection[Any], connection_name: str) -> datetime | None:
    row = conn.execute(
        "SELECT max(taken_at) FROM dba_admin.snapshots WHERE connection_name = %s /* dba_admin */", (connection_name,)
    ).fetchone()
    return row[0] if row else None


@_named_errors()
def latest_snapshot_at(db: DatabaseManager) -> datetime | None:
    """When this connection's newest snapshot was taken (None: never)."""
    with _snapshot_reads(db) as conn:
        return _latest(conn, db.name)


def snapshot_due(db: DatabaseManager, max_age: timedelta = DEFAULT_SNAPSHOT_MAX_AGE) -> bool:
    """True when there is no snapshot yet or the newest is older than ``max_age`` (the dashboard's rule)."""
    latest = latest_snapshot_at(db)
    return latest is None or datetime.now(UTC) - latest > max_age


@_named_errors()
def take_snapshot_if_due(
    db: DatabaseManager, max_age: timedelta = DEFAULT_SNAPSHOT_MAX_AGE, *, actor: str | None = None
) -> SnapshotSummary | None:
    """Take a snapshot only when due. The figures are read on the connection first (no workspace connection held
    meanwhile); the second check and the insert share one locked workspace transaction, so two app servers opening
    the dashboard together take one snapshot, not two."""
    timeout = db.settings.statement_timeout_ms
    if not snapshot_due(db, max_age):  # the cheap, usual answer: no remote read, no lock
        return None
    with db.connection() as conn:
        figures = _read_figures(conn, table_limit=500, index_limit=500, statement_limit=100, timeout_ms=timeout)
    with db.workspace.connection() as wconn, wconn.transaction():
        _snapshot_tx(wconn, timeout, db.name)
        latest = _latest(wconn, db.name)  # again, under the lock: another app server may have just taken one
        if latest is not None and datetime.now(UTC) - latest <= max_age:
            return None
        return _store(wconn, figures, connection_name=db.name, actor=actor, retention_days=90)


def _frame(conn: psycopg.Connection[Any], query: sql.SQL, params: Sequence[Any] | Mapping[str, Any]) -> pd.DataFrame:
    """Run a fixed query and return its rows as a DataFrame (the charts' input)."""
    import pandas as pd  # only here: the command line's start does not pay for pandas

    with conn.cursor() as cur:
        cur.execute(query, params)
        columns = [c.name for c in cur.description or []]
        return pd.DataFrame(cur.fetchall(), columns=columns)


@_named_errors()
def database_size_history(db: DatabaseManager, days: int = 30) -> pd.DataFrame:
    """taken_at, database_size_bytes: the database's growth (one point per snapshot)."""

    with _snapshot_reads(db) as conn:
        return _frame(
            conn,
            sql.SQL(
                "SELECT taken_at, database_size_bytes FROM dba_admin.snapshots WHERE connection_name = %s"
                " AND taken_at >= now() - make_interval(days => %s) ORDER BY taken_at /* dba_admin */"
            ),
            (db.name, days),
        )


@_named_errors()
def table_size_history(db: DatabaseManager, days: int = 30, top: int = 10) -> pd.DataFrame:
    """taken_at, schema_name, table_name, table, total_bytes, estimated_rows for the ``top`` biggest tables
    of the newest snapshot, at every snapshot of the last ``days``."""

    with _snapshot_reads(db) as conn:
        return _frame(
            conn,
            sql.SQL(
                "WITH latest AS (SELECT id FROM dba_admin.snapshots WHERE connection_name = %(conn)s"
                "   ORDER BY taken_at DESC, id DESC LIMIT 1),"
                " top_tables AS (SELECT schema_name, table_name FROM dba_admin.snapshot_tables"
                "   WHERE snapshot_id = (SELECT id FROM latest) ORDER BY total_bytes DESC, schema_name, table_name"
                "   LIMIT %(top)s)"
                " SELECT s.taken_at, t.schema_name, t.table_name, t.schema_name || '.' || t.table_name AS \"table\","
                " t.total_bytes, t.estimated_rows"
                " FROM dba_admin.snapshot_tables t"
                " JOIN dba_admin.snapshots s ON s.id = t.snapshot_id"
                " JOIN top_tables USING (schema_name, table_name)"
                " WHERE s.connection_name = %(conn)s AND s.taken_at >= now() - make_interval(days => %(days)s)"
                " ORDER BY s.taken_at, t.total_bytes DESC /* dba_admin */"
            ),
            {"top": top, "days": days, "conn": db.name},
        )


@_named_errors()
def statement_time_by_day(db: DatabaseManager, days: int = 30, top: int = 10) -> pd.DataFrame:
    """day, queryid, query, calls, total_exec_ms: statement time spent per day, for the ``top`` statements of
    the period (the rest summed as queryid NULL, "other statements").

    pg_stat_statements counters are cumulative, so each value is the difference from the previous snapshot
    of that statement; a drop means the stats were reset, and the new value counts whole. A statement first
    seen after the oldest snapshot of the period counts whole too (it is new, or just reached the top list);
    the oldest snapshot itself is only the baseline.
    """

    with _snapshot_reads(db) as conn:
        return _frame(
            conn,
            sql.SQL(
                "WITH snaps AS (SELECT id, taken_at FROM dba_admin.snapshots WHERE connection_name = %(conn)s"
                "  AND statements_available"
                "  AND taken_at >= now() - make_interval(days => %(days)s + 1)),"
                " series AS ("
                "  SELECT s.id, s.taken_at, st.queryid, st.query, st.calls, st.total_exec_ms,"
                "   lag(st.calls) OVER w AS prev_calls, lag(st.total_exec_ms) OVER w AS prev_ms"
                "  FROM dba_admin.snapshot_statements st JOIN snaps s ON s.id = st.snapshot_id"
                "  WINDOW w AS (PARTITION BY st.queryid ORDER BY s.taken_at, s.id)),"
                " deltas AS ("
                "  SELECT date_trunc('day', taken_at) AS day, queryid, query,"
                "   CASE WHEN calls >= prev_calls THEN calls - prev_calls ELSE calls END AS calls,"
                "   CASE WHEN total_exec_ms >= prev_ms THEN total_exec_ms - prev_ms ELSE total_exec_ms END AS ms"
                "  FROM series WHERE (prev_ms IS NOT NULL OR id > (SELECT min(id) FROM snaps))"
                "   AND taken_at >= now() - make_interval(days => %(days)s)),"
                " ranked AS (SELECT queryid FROM deltas GROUP BY queryid HAVING sum(ms) > 0"
                "   ORDER BY sum(ms) DESC, queryid LIMIT %(top)s)"
                " SELECT d.day, r.queryid, coalesce(min(d.query) FILTER (WHERE r.queryid IS NOT NULL),"
                "   '(other statements)') AS query, sum(d.calls)::int8 AS calls, sum(d.ms) AS total_exec_ms"
                " FROM deltas d LEFT JOIN ranked r ON r.queryid = d.queryid"
                " GROUP BY d.day, r.queryid ORDER BY d.day, total_exec_ms DESC /* dba_admin */"
            ),
            {"days": days, "top": top, "conn": db.name},
        )
