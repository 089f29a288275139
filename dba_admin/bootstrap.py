"""Bring a database to the state the app needs: server up, schema migrated, read-only login, demo, first admin.

The app, the CLI and the test suite all go through ``prepare_database`` so they can never disagree about
what a ready database is. Every step is idempotent and safe for several app servers starting together.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg
from psycopg import sql

from dba_admin.auth import NewCredentials, ensure_first_admin
from dba_admin.config import Settings
from dba_admin.errors import ConfigError
from dba_admin.local_pg import READONLY_ROLE, EmbeddedPostgres
from dba_admin.migrations import SchemaReport, prepare_schema

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedDatabase:
    """Where the app's connections go, and what this start changed."""

    dsn: str
    readonly_dsn: str | None
    embedded: bool
    schema: SchemaReport
    demo_loaded: bool
    first_admin: NewCredentials | None
    server: EmbeddedPostgres | None = None


def embedded_server(settings: Settings) -> EmbeddedPostgres:
    return EmbeddedPostgres(settings.data_dir)


def _ensure_readonly_login(conn: psycopg.Connection, server: EmbeddedPostgres) -> str:
    """Give the migration-created read-only role its login password from the data dir (embedded only)."""
    readonly_dsn = server.readonly_dsn()
    try:
        with psycopg.connect(readonly_dsn, connect_timeout=5):
            return readonly_dsn
    except psycopg.OperationalError:
        pass
    conn.execute(
        sql.SQL("alter role {} with login password {} /* dba_admin */").format(
            sql.Identifier(READONLY_ROLE), sql.Literal(server.readonly_password())
        )
    )
    return readonly_dsn


def prepare_database(settings: Settings) -> PreparedDatabase:
    """Start (embedded) or reach (remote) the database and make it ready; idempotent."""
    server: EmbeddedPostgres | None = None
    if settings.embedded:
        server = embedded_server(settings)
        dsn = server.ensure_running()
    else:
        assert settings.database_url is not None
        dsn = settings.database_url
    try:
        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=10, application_name="dba_admin")
    except psycopg.OperationalError as exc:
        raise ConfigError(
            f"cannot connect to the database: {exc}. Check DATABASE_URL and that the server runs."
        ) from exc
    with conn:
        schema = prepare_schema(conn)
        readonly_dsn = settings.readonly_database_url
        if server is not None:
            readonly_dsn = _ensure_readonly_login(conn, server)
        demo_loaded = False
        if server is not None and settings.load_demo:
            from dba_admin.demo import load_demo

            demo_loaded = load_demo(conn).loaded
        first_admin = ensure_first_admin(conn)
    return PreparedDatabase(
        dsn=dsn,
        readonly_dsn=readonly_dsn,
        embedded=server is not None,
        schema=schema,
        demo_loaded=demo_loaded,
        first_admin=first_admin,
        server=server,
    )
