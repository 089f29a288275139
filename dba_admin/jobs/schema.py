"""procrastinate's schema in the workspace, in a schema of its own, installed and upgraded by the bootstrap.

procrastinate ships its schema as one SQL file (and versioned migration files) whose objects are not schema-qualified:
run with ``search_path`` set to ``dba_admin_jobs`` they land there, not in ``public`` (which Supabase's API serves).
The job connections set the same ``search_path`` (``job_conninfo``). The migration 20261130000100_schedules.sql made
the schema with no privilege for anyone but its owner; this module never grants any.

The SQL files are read from procrastinate's package folder without importing procrastinate (a page or the
command line does not pay for its import to check the schema).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.json import Jsonb

from dba_admin.errors import ConfigError, MigrationError

JOBS_SCHEMA = "dba_admin_jobs"
VERSION_KEY = "jobs_schema_version"  # in dba_admin.settings: the procrastinate version whose schema is installed
_LOCK_KEY = 0x0DBA_AD01  # the migrations' advisory lock: schema changes of every kind are serialised together
_MIGRATION_NAME = re.compile(r"^(\d+)\.(\d+)\.(\d+)_(\d+)_.*\.sql$")


def _sql_dir() -> Path:
    spec = importlib.util.find_spec("procrastinate")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the job library procrastinate is not installed: pip install procrastinate")
    return Path(next(iter(spec.submodule_search_locations))) / "sql"


def library_version() -> str:
    return importlib.metadata.version("procrastinate")


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def _migrations_after(installed: str, current: str) -> list[Path]:
    """procrastinate's migration files newer than ``installed`` and not newer than ``current``, in order."""
    found = []
    for path in (_sql_dir() / "migrations").glob("*.sql"):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            continue
        version = tuple(int(match[i]) for i in (1, 2, 3))
        if _version_tuple(installed) < version <= _version_tuple(current):
            found.append((version, int(match[4]), path))
    return [path for *_, path in sorted(found)]


def job_conninfo(dsn: str) -> str:
    """The workspace owner's DSN with ``search_path`` set to the jobs schema, for procrastinate's connections."""
    params: dict[str, Any] = {k: v for k, v in conninfo_to_dict(dsn).items() if v is not None}
    options = str(params.get("options") or "")
    params["options"] = (options + f" -c search_path={JOBS_SCHEMA}").strip()
    params.setdefault("application_name", "dba_admin_worker")
    return make_conninfo(**{k: str(v) for k, v in params.items()})


def installed_version(conn: psycopg.Connection[Any]) -> str | None:
    """The procrastinate version whose schema is in this workspace; None when there is none yet."""
    row = conn.execute(
        "select to_regclass(%s) is not null /* dba_admin */", (f"{JOBS_SCHEMA}.procrastinate_jobs",)
    ).fetchone()
    if not row or not row[0]:
        return None
    found = conn.execute("select value from dba_admin.settings where key = %s /* dba_admin */", (VERSION_KEY,))
    value = found.fetchone()
    return str(value[0]) if value else "0.0.0"


def install_job_schema(conn: psycopg.Connection[Any]) -> str | None:
    """Install procrastinate's schema (or its migrations since the installed version); idempotent.

    Returns what was done ("installed 3.10.0", "upgraded 3.9.0 -> 3.10.0") or None when it was up to date. Runs in
    one transaction under the migrations' advisory lock, so app servers and workers starting together are safe.
    """
    current = library_version()
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s) /* dba_admin */", (_LOCK_KEY,))
        exists = conn.execute("select to_regnamespace(%s) is not null /* dba_admin */", (JOBS_SCHEMA,)).fetchone()
        if not exists or not exists[0]:
            return None  # the schedules migration is not applied on this database (a test's bare database)
        installed = installed_version(conn)
        if installed is not None and _version_tuple(installed) >= _version_tuple(current):
            return None
        conn.execute(sql.SQL("set local search_path = {} /* dba_admin */").format(sql.Identifier(JOBS_SCHEMA)))
        if installed is None:
            files = [_sql_dir() / "schema.sql"]
            done = f"installed {current}"
        else:
            files = _migrations_after(installed, current)
            done = f"upgraded {installed} -> {current}"
        for path in files:
            try:
                conn.execute(path.read_bytes())  # procrastinate's own SQL, from its package; no parameters
            except psycopg.Error as exc:
                raise MigrationError(f"procrastinate {path.name}", None, str(exc).strip()) from exc
        schema = sql.Identifier(JOBS_SCHEMA)
        # Functions are executable by PUBLIC by default; nobody but the owner has USAGE on the schema anyway.
        conn.execute(sql.SQL("revoke all on all functions in schema {} from public /* dba_admin */").format(schema))
        conn.execute(
            "insert into dba_admin.settings (key, value, updated_by) values (%s, %s, 'system')"
            " on conflict (key) do update set value = excluded.value, updated_at = now() /* dba_admin */",
            (VERSION_KEY, Jsonb(current)),
        )
    return done
