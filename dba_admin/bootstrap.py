"""Bring a database to the state the app needs: server up, schema migrated, read-only login, demo, first admin.

The app, the CLI and the test suite all go through ``prepare_database`` so they can never disagree about
what a ready database is. Every step is idempotent and safe for several app servers starting together.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.json import Jsonb

from dba_admin.config import Settings
from dba_admin.errors import ConfigError, one_line
from dba_admin.local_pg import (
    AUTHENTICATOR_ROLE,
    DBA_ROLE,
    DEMO_DATABASE,
    MONITOR_ROLE,
    READONLY_ROLE,
    EmbeddedPostgres,
)
from dba_admin.migrations import (
    SchemaReport,
    apply_local_compat,
    migration_status,
    needs_local_compat,
    prepare_schema,
    schema_present,
)

if TYPE_CHECKING:
    from dba_admin.auth import NewCredentials

# pg_advisory_xact_lock key for giving the app's logins their passwords: two servers starting together must not
# both ALTER ROLE at once (PostgreSQL answers the second with "tuple concurrently updated").
_LOGINS_LOCK_KEY = 0x0DBA_AD02
# The embedded demo's SELECT policy for its monitor login, on the demo tables with RLS.
MONITOR_POLICY = "dba_admin_monitor_select"

log = logging.getLogger(__name__)


class DatabaseUnreachable(ConfigError):
    """The database did not answer a connection: down, not started, or not reachable from here.

    A ConfigError for callers that only know that one; the app shows it as an outage page that retries.
    """


class SchemaMissing(ConfigError):
    """The database answers but was never prepared for the app (read-only commands never prepare it)."""


def connect_owner(dsn: str, *, connect_timeout: int = 10) -> psycopg.Connection:
    """An autocommit connection on the owner login, or DatabaseUnreachable saying where and what to do."""
    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=connect_timeout, application_name="dba_admin")
    except psycopg.OperationalError as exc:
        raise DatabaseUnreachable(
            f"cannot connect to the database: {one_line(exc)}. Check DATABASE_URL and that the server runs."
        ) from exc


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
    authenticator_dsn: str | None = None
    pending_migrations: list[str] = field(default_factory=list)  # open_prepared reports them; prepare applies them


def embedded_server(settings: Settings) -> EmbeddedPostgres:
    # pg_cron keeps its jobs in the demo database; without the demo there is no database for it to wait on.
    return EmbeddedPostgres(settings.data_dir, cron_database=DEMO_DATABASE if settings.load_demo else None)


def _login_works(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=5):
            return True
    except psycopg.OperationalError:
        return False


def _give_login(conn: psycopg.Connection, role: str, password: str) -> None:
    """LOGIN and a password for one of the app's migration-created roles, under the logins' advisory lock."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s) /* dba_admin */", (_LOGINS_LOCK_KEY,))
        conn.execute(
            sql.SQL("alter role {} with login password {} /* dba_admin */").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )


def _ensure_readonly_login(conn: psycopg.Connection, server: EmbeddedPostgres) -> None:
    """Give the migration-created read-only role its login password from the data dir (embedded only).

    The password is checked on template1, which every login may connect to, so the check never depends on the
    grants of the workspace or the demo database.
    """
    if not _login_works(server.readonly_dsn("template1")):
        _give_login(conn, READONLY_ROLE, server.readonly_password())


def login_dsn(dsn: str, role: str, password: str) -> str:
    """``dsn`` with another login: same host, port, database and options.

    Supabase's pooler names the user ``<role>.<project ref>``; the project part is kept so the pooler routes the
    new login to the same project.
    """
    params = {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}
    user = params.get("user", "")
    suffix = user[user.index(".") :] if "." in user else ""
    params.update(user=role + suffix, password=password)
    return make_conninfo(**params)


def generated_setting(conn: psycopg.Connection, key: str, nbytes: int) -> str:
    """A random secret generated once into dba_admin.settings and read back, so every app server gets the same one.

    ``on conflict do nothing`` then a read: two servers starting together both end with the first one's value.
    """
    conn.execute(
        "insert into dba_admin.settings (key, value, updated_by) values (%s, %s, 'system')"
        " on conflict (key) do nothing /* dba_admin */",
        (key, Jsonb(secrets.token_urlsafe(nbytes))),
    )
    row = conn.execute("select value from dba_admin.settings where key = %s /* dba_admin */", (key,)).fetchone()
    assert row is not None
    return str(row[0])


def _ensure_authenticator_login(
    conn: psycopg.Connection, settings: Settings, server: EmbeddedPostgres | None, owner_dsn: str
) -> str:
    """The DSN of the login that carries per-user RLS transactions (NOINHERIT, no privilege of its own).

    AUTHENTICATOR_DATABASE_URL when set (the team made the login). Otherwise the migration-created role gets a
    password: from the data dir (embedded), or generated once into dba_admin.settings (remote), so every app
    server behind a load balancer uses the same one.
    """
    if settings.authenticator_database_url:
        return settings.authenticator_database_url
    if server is not None:
        password = server.authenticator_password()
        dsn = server.authenticator_dsn()
    else:
        with conn.transaction():
            password = generated_setting(conn, "authenticator_password", 24)
        dsn = login_dsn(owner_dsn, AUTHENTICATOR_ROLE, password)
    if not _login_works(dsn):
        _give_login(conn, AUTHENTICATOR_ROLE, password)
    return dsn


def _ensure_login(conn: psycopg.Connection, server: EmbeddedPostgres, role: str, *, grants: tuple[str, ...]) -> None:
    """An embedded demo login: created (never SUPERUSER, CREATEROLE or BYPASSRLS), its password, its grants."""
    password = server.login_password(role)
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s) /* dba_admin */", (_LOGINS_LOCK_KEY,))
        exists = conn.execute("select 1 from pg_catalog.pg_roles where rolname = %s /* dba_admin */", (role,))
        if exists.fetchone() is None:
            conn.execute(
                sql.SQL(
                    "create role {} login nosuperuser nocreaterole nocreatedb noreplication nobypassrls password {}"
                    " /* dba_admin */"
                ).format(sql.Identifier(role), sql.Literal(password))
            )
        for granted in grants:
            conn.execute(
                sql.SQL("grant {} to {} /* dba_admin */").format(sql.Identifier(granted), sql.Identifier(role))
            )
    if not _login_works(server.login_dsn(role, "template1")):
        _give_login(conn, role, password)


def _prepare_embedded_demo(conn: psycopg.Connection, server: EmbeddedPostgres) -> bool:
    """The `petcare` database of the embedded default, with its three logins; True when the demo was loaded now.

    monitor: pg_monitor and SELECT on the demo; read-only: SELECT on the demo; DBA: owns the demo database and its
    tables (DDL, VACUUM, killing non-superuser backends), never a superuser and nothing in the workspace.
    """
    _ensure_login(conn, server, MONITOR_ROLE, grants=("pg_monitor",))
    _ensure_login(conn, server, DBA_ROLE, grants=("pg_signal_backend", "pg_read_all_stats"))
    server.readonly_password()
    # Made by an earlier start, or by another app server starting at the same time: either way it is there.
    with contextlib.suppress(psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
        conn.execute(
            sql.SQL("create database {} owner {} /* dba_admin */").format(
                sql.Identifier(DEMO_DATABASE), sql.Identifier(DBA_ROLE)
            )
        )
    from dba_admin.demo import DEMO_TABLES, install_demo_cron, load_demo

    with connect_owner(server.dsn(dbname=DEMO_DATABASE)) as demo:
        with demo.transaction():
            demo.execute("select pg_advisory_xact_lock(%s) /* dba_admin */", (_LOGINS_LOCK_KEY,))
            if needs_local_compat(demo):
                apply_local_compat(demo)
        loaded = load_demo(demo).loaded
        with demo.transaction():
            demo.execute("select pg_advisory_xact_lock(%s) /* dba_admin */", (_LOGINS_LOCK_KEY,))
            dba, monitor, readonly = (sql.Identifier(r) for r in (DBA_ROLE, MONITOR_ROLE, READONLY_ROLE))
            demo.execute(sql.SQL("alter schema public owner to {} /* dba_admin */").format(dba))
            # Only the tables not yet the DBA login's: ALTER TABLE ... OWNER takes an ACCESS EXCLUSIVE lock even when
            # nothing changes, so every app start would wait on a table someone holds locked.
            not_yet = demo.execute(
                "select c.relname from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace"
                " where n.nspname = 'public' and c.relname = any(%s) and c.relowner <> %s::regrole /* dba_admin */",
                (list(DEMO_TABLES), DBA_ROLE),
            ).fetchall()
            for (table,) in not_yet:
                demo.execute(
                    sql.SQL("alter table {} owner to {} /* dba_admin */").format(sql.Identifier("public", table), dba)
                )
            demo.execute(sql.SQL("grant usage on schema auth, extensions to {} /* dba_admin */").format(dba))
            # pg_stat_statements lives in `extensions` (as on Supabase): the monitor reads it there.
            demo.execute(sql.SQL("grant usage on schema extensions to {} /* dba_admin */").format(monitor))
            # The Statements page's reset runs on the DBA login; PostgreSQL lets only superusers call it unless granted
            # (its signature differs between versions: the server names it).
            for (reset,) in demo.execute(
                "select p.oid::regprocedure::text from pg_proc p where p.proname = 'pg_stat_statements_reset'"
                " /* dba_admin */"
            ).fetchall():
                demo.execute(sql.SQL("grant execute on function {} to {} /* dba_admin */").format(sql.SQL(reset), dba))
            for reader in (monitor, readonly):
                demo.execute(
                    sql.SQL("grant connect on database {} to {} /* dba_admin */").format(
                        sql.Identifier(DEMO_DATABASE), reader
                    )
                )
                demo.execute(sql.SQL("grant usage on schema public to {} /* dba_admin */").format(reader))
                demo.execute(
                    sql.SQL("grant select on all tables in schema public to {} /* dba_admin */").format(reader)
                )
                demo.execute(
                    sql.SQL(
                        "alter default privileges for role {} in schema public grant select on tables to {}"
                        " /* dba_admin */"
                    ).format(dba, reader)
                )
            install_demo_cron(demo, owner=DBA_ROLE, readers=(MONITOR_ROLE,))
            # DBAs preview rows on the monitor login: like the read-only login (demo.READONLY_POLICY) it has no
            # BYPASSRLS, so without a policy of its own it reads zero rows of every RLS table. Made once: CREATE
            # POLICY locks the table.
            missing = demo.execute(
                "select c.relname from pg_catalog.pg_class c where c.relnamespace = 'public'::regnamespace"
                " and c.relname = any(%s) and c.relrowsecurity and not exists (select 1 from pg_catalog.pg_policy p"
                " where p.polrelid = c.oid and p.polname = %s) /* dba_admin */",
                (list(DEMO_TABLES), MONITOR_POLICY),
            ).fetchall()
            for (table,) in missing:
                demo.execute(
                    sql.SQL("create policy {} on {} for select to {} using (true) /* dba_admin */").format(
                        sql.Identifier(MONITOR_POLICY), sql.Identifier("public", table), monitor
                    )
                )
    return loaded


def _lock_down_workspace(conn: psycopg.Connection, server: EmbeddedPostgres) -> None:
    """Embedded: only the owner and the authenticator login may connect to the workspace database.

    The demo's logins (monitor, read-only, DBA) live on the same cluster; CONNECT is granted to PUBLIC by default,
    so without this they could open a session in the workspace (where they have no right, but a session is a start).
    """
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s) /* dba_admin */", (_LOGINS_LOCK_KEY,))
        database = sql.Identifier(conn.info.dbname)
        conn.execute(sql.SQL("revoke connect, temporary on database {} from public /* dba_admin */").format(database))
        conn.execute(
            sql.SQL("grant connect on database {} to {} /* dba_admin */").format(
                database, sql.Identifier(AUTHENTICATOR_ROLE)
            )
        )


def demo_connection_secrets(server: EmbeddedPostgres) -> tuple[str, str, str]:
    """The embedded demo's monitor, read-only and DBA DSNs."""
    return (
        server.login_dsn(MONITOR_ROLE, DEMO_DATABASE),
        server.readonly_dsn(DEMO_DATABASE),
        server.login_dsn(DBA_ROLE, DEMO_DATABASE),
    )


def _register(conn: psycopg.Connection, settings: Settings, *, embedded: bool, demo: EmbeddedPostgres | None) -> None:
    """The connections a fresh workspace starts with: `demo` (embedded), or `default`, the workspace database itself
    (remote, when nothing is registered: the single-database setup keeps working). Never replaces a registration."""
    from dba_admin.connections import DEFAULT_CONNECTION, DEMO_CONNECTION, SecretBox

    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s) /* dba_admin */", (_LOGINS_LOCK_KEY,))
        if demo is not None:
            if conn.execute("select 1 from dba_admin.connections where name = %s", (DEMO_CONNECTION,)).fetchone():
                return
            box = SecretBox.from_settings(settings, embedded=embedded)
            monitor, readonly, dba = demo_connection_secrets(demo)
            conn.execute(
                "insert into dba_admin.connections (name, monitor_secret, readonly_secret, dba_secret, same_cluster,"
                " created_by) values (%s, %s, %s, %s, true, 'system') /* dba_admin */",
                (DEMO_CONNECTION, box.seal(monitor), box.seal(readonly), box.seal(dba)),
            )
            conn.execute(
                "insert into public.conexoes (nome, descricao) values (%s, %s) /* dba_admin */",
                (DEMO_CONNECTION, "PetCare demo database (embedded)"),
            )
            return
        if conn.execute("select 1 from dba_admin.connections limit 1").fetchone():
            return
        conn.execute(
            "insert into dba_admin.connections (name, is_workspace, same_cluster, created_by)"
            " values (%s, true, true, 'system') /* dba_admin */",
            (DEFAULT_CONNECTION,),
        )
        conn.execute(
            "insert into public.conexoes (nome, descricao) values (%s, %s) /* dba_admin */",
            (DEFAULT_CONNECTION, "The workspace database itself"),
        )


def prepare_database(settings: Settings) -> PreparedDatabase:
    """Start (embedded) or reach (remote) the database and make it ready; idempotent."""
    server: EmbeddedPostgres | None = None
    if settings.embedded:
        server = embedded_server(settings)
        dsn = server.ensure_running()
    else:
        assert settings.database_url is not None
        dsn = settings.database_url
    with connect_owner(dsn) as conn:
        schema = prepare_schema(conn)
        from dba_admin.jobs.schema import install_job_schema  # the scheduled runs' queue (procrastinate)

        install_job_schema(conn)
        readonly_dsn = settings.readonly_database_url
        if server is not None:
            _ensure_readonly_login(conn, server)
        authenticator_dsn = _ensure_authenticator_login(conn, settings, server, dsn)
        demo_loaded = False
        if server is not None:
            _lock_down_workspace(conn, server)
        if server is not None and settings.load_demo:
            demo_loaded = _prepare_embedded_demo(conn, server)
            _register(conn, settings, embedded=True, demo=server)
            readonly_dsn = server.readonly_dsn(DEMO_DATABASE)
        elif server is None:
            _register(conn, settings, embedded=False, demo=None)
        from dba_admin.auth import ensure_first_admin  # bcrypt: not on the read commands' start

        first_admin = ensure_first_admin(conn)
        if server is not None and settings.load_demo and settings.demo_history:
            # Only the embedded default's demo workspace, never a DATABASE_URL one; after the first admin, whose
            # creation looks for an admin only (the demo people are not admins).
            from dba_admin.demo_history import seed_demo_history

            try:
                seed_demo_history(conn, now=dt.datetime.now(dt.UTC))
            except psycopg.Error as exc:  # made-up demo data never keeps the app from starting (rolled back whole)
                log.warning("the demo history was not written: %s", one_line(exc))
        # Runs left "running" by a server or app server that died are interrupted: their backend is gone.
        conn.execute("select dba_admin.mark_interrupted_runs() /* dba_admin */")
    return PreparedDatabase(
        dsn=dsn,
        readonly_dsn=readonly_dsn,
        embedded=server is not None,
        schema=schema,
        demo_loaded=demo_loaded,
        first_admin=first_admin,
        server=server,
        authenticator_dsn=authenticator_dsn,
    )


def _owner_of_prepared(server: EmbeddedPostgres | None, dsn: str, *, start: bool) -> psycopg.Connection:
    """The owner connection of a prepared workspace; a stopped embedded server is started (``start``) and
    connected to again."""
    try:
        return connect_owner(dsn)
    except DatabaseUnreachable:
        if server is None or not start:
            raise
    return connect_owner(server.ensure_running())


def open_prepared(settings: Settings, *, start: bool = True, check_schema: bool = True) -> PreparedDatabase:
    """Reach a database that `dba-admin migrate` (or the app) already prepared, and change nothing in it.

    For the read-only commands (health, tables, sql, ask, advise, snapshot): no migration, no ALTER ROLE, no demo,
    no first admin. The embedded server is started when it is stopped (``start``), but never created; a database
    without the app's schema is a SchemaMissing that says to run `dba-admin migrate`. Pending migrations are
    reported in ``pending_migrations``, not applied.
    """
    server: EmbeddedPostgres | None = None
    if settings.embedded:
        server = embedded_server(settings)
        if not server.is_initialized():
            raise SchemaMissing(
                f"there is no embedded database in {settings.data_dir} yet: run `dba-admin migrate` first"
            )
        # A running server is the common case: the schema check's own connection finds it, and only when that
        # fails is the server started (one connection per start instead of a separate "does it answer" probe).
        dsn = server.ensure_running() if start and not check_schema else server.dsn()
    else:
        assert settings.database_url is not None
        dsn = settings.database_url
    readonly_dsn = settings.readonly_database_url
    authenticator_dsn = settings.authenticator_database_url
    if server is not None:
        ro_password = server.stored_password(server.readonly_password_file)
        readonly_dsn = server.readonly_dsn(DEMO_DATABASE) if ro_password and settings.load_demo else None
        if not authenticator_dsn and server.stored_password(server.authenticator_password_file):
            authenticator_dsn = server.authenticator_dsn()
    pending: list[str] = []
    if check_schema:
        with _owner_of_prepared(server, dsn, start=start) as conn:
            if not schema_present(conn):
                raise SchemaMissing("the database has no DBA Admin schema yet: run `dba-admin migrate` first")
            pending = migration_status(conn).pending
            if not authenticator_dsn and server is None:
                row = conn.execute(
                    "select value from dba_admin.settings where key = 'authenticator_password' /* dba_admin */"
                ).fetchone()
                if row is not None:
                    authenticator_dsn = login_dsn(dsn, AUTHENTICATOR_ROLE, str(row[0]))
    return PreparedDatabase(
        dsn=dsn,
        readonly_dsn=readonly_dsn,
        embedded=server is not None,
        schema=SchemaReport(local_compat=[], migrations=[]),
        demo_loaded=False,
        first_admin=None,
        server=server,
        authenticator_dsn=authenticator_dsn,
        pending_migrations=pending,
    )
