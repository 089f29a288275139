"""Everything a page needs, built once per app server: settings, the DatabaseManager, stores and managers.

app.py keeps one ``Services`` in Streamlit's cache_resource; the CLI and tests build their own. Nothing here
holds per-user state, so several app servers behind a load balancer behave the same.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from dba_admin.auth import NewCredentials, UserStore
from dba_admin.bootstrap import embedded_server, generated_setting, prepare_database
from dba_admin.config import Settings
from dba_admin.database import RECENTLY_USED_SECONDS, connection_seems_alive
from dba_admin.errors import DbaAdminError, one_line
from dba_admin.local_pg import write_secret_once

if TYPE_CHECKING:
    from dba_admin.connections import Registry, Targets
    from dba_admin.database import DatabaseManager
    from dba_admin.projects import ProjectManager

COOKIE_NAME = "dba_admin_auth"
# The outage check before each page: a dead server is told in this long at most (libpq's minimum is 2 s), instead
# of the pool's 15 s wait for a connection that ends in an error.
PROBE_CONNECT_TIMEOUT_S = 3
# How long a page waits for the embedded server it restarts after a crash.
RESTART_TIMEOUT_S = 30.0


def mask_dsn(dsn: str) -> str:
    """Host and database of a DSN for display: never the password, and the host shortened."""
    try:
        params = conninfo_to_dict(dsn)
    except Exception:  # a malformed DSN must not leak through an error message either
        return "unparseable connection string"
    host = str(params.get("host") or "local socket")
    if host.startswith("/"):
        host = "local socket"
    elif len(host) > 12:
        host = host[:4] + "…" + host[-8:]
    return f"{host}/{params.get('dbname', '')}"


@dataclass
class Services:
    settings: Settings
    db: DatabaseManager
    embedded: bool
    dsn: str = field(repr=False, default="")
    first_admin: NewCredentials | None = None
    _cookie_key: str | None = field(default=None, repr=False)
    _probe_conn: psycopg.Connection[Any] | None = field(default=None, repr=False)
    _probe_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _probe_at: float = field(default=0.0, repr=False)
    _probe_result: str | None = field(default=None, repr=False)
    _targets: Targets | None = field(default=None, repr=False)

    @classmethod
    def build(cls, settings: Settings) -> Services:
        from dba_admin.database import DatabaseManager

        prepared = prepare_database(settings)
        # The workspace: the app's own data only. No read-only or DBA login: user SQL never runs here, only on a
        # registered connection (``connection_for``).
        db = DatabaseManager(settings, prepared.dsn, authenticator_dsn=prepared.authenticator_dsn)
        from dba_admin.projects import purge_expired_trash

        purge_expired_trash(db)  # the trash's age limit, once per app server start (advisory lock, never raises)
        return cls(
            settings=settings, db=db, embedded=prepared.embedded, dsn=prepared.dsn, first_admin=prepared.first_admin
        )

    @property
    def database_label(self) -> str:
        kind = "embedded" if self.embedded else "remote"
        return f"{kind} · {mask_dsn(self.dsn)}"

    @property
    def database_where(self) -> str:
        """Where the database is, for messages: the masked DSN (never a password)."""
        return mask_dsn(self.dsn)

    def check_database(self) -> str | None:
        """None when the main database answers, else why not (one line), within a few seconds.

        One connection of its own, kept open and reused, so a healthy check is one round trip, and none within a few
        seconds of the last one while its socket shows the server has not ended the session (a page switch after
        another). app.py asks this before any page borrows from the pool.
        """
        asked_at = time.monotonic()
        with self._probe_lock:
            if self._probe_at >= asked_at:  # another session checked while this one waited: share its answer
                return self._probe_result
            if (
                self._probe_result is None
                and asked_at - self._probe_at < RECENTLY_USED_SECONDS
                and self._probe_conn is not None
                and connection_seems_alive(self._probe_conn)
            ):  # answered moments ago and the server has not ended the session since: no round trip
                return None
            self._probe_result = self._probe()
            self._probe_at = time.monotonic()
            return self._probe_result

    def _probe(self) -> str | None:
        """One check on the probe connection (the caller holds ``_probe_lock``)."""
        conn = self._probe_conn
        try:
            if conn is None or conn.closed or conn.broken:
                conn = psycopg.connect(
                    self.dsn,
                    autocommit=True,
                    connect_timeout=PROBE_CONNECT_TIMEOUT_S,
                    application_name="dba_admin",
                    prepare_threshold=None,
                    tcp_user_timeout=PROBE_CONNECT_TIMEOUT_S * 1000,  # a black-holed network; ignored on sockets
                )
                self._probe_conn = conn
            conn.execute("select 1 /* dba_admin */")
        except psycopg.Error as exc:
            self._drop_probe()
            return one_line(exc)
        return None

    def _drop_probe(self) -> None:
        conn, self._probe_conn = self._probe_conn, None
        if conn is not None:
            conn.close()

    def restart_embedded(self) -> str | None:
        """Start the embedded PostgreSQL again after it died (crash, kill, reboot); None once it answers, else why
        not. Safe when several sessions and app servers try at once: the data dir's file lock serialises them and
        the later ones find it running."""
        if not self.embedded:
            return "the database is not the embedded one; it cannot be restarted from here"
        try:
            embedded_server(self.settings).ensure_running(timeout=RESTART_TIMEOUT_S)
        except DbaAdminError as exc:
            return str(exc)
        return self.check_database()

    @contextmanager
    def users(self) -> Iterator[UserStore]:
        with self.db.connection() as conn:
            yield UserStore.from_settings(conn, self.settings)

    def cookie_key(self) -> str:
        """The re-login cookie's signing key: from settings, else generated once and shared.

        Embedded: kept in the data dir (0600). Remote: kept in dba_admin.settings, so every app server behind a
        load balancer signs and accepts the same cookies without a local file.
        """
        if self.settings.cookie_key:
            return self.settings.cookie_key
        if self._cookie_key:
            return self._cookie_key
        if self.embedded:
            path = self.settings.data_dir / "secrets" / "cookie.key"
            if not path.is_file():
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                # Created whole and only once: two app servers on one data dir sign with the same key.
                write_secret_once(path, secrets.token_urlsafe(48))
            self._cookie_key = path.read_text().strip()
        else:
            with self.db.connection() as conn:
                self._cookie_key = generated_setting(conn, "cookie_key", 48)
        return self._cookie_key

    @property
    def targets(self) -> Targets:
        """The registered connections' managers on this app server (opened on first use, bounded, LRU)."""
        if self._targets is None:
            from dba_admin.connections import Registry, SecretBox, Targets

            try:
                box: SecretBox | None = SecretBox.from_settings(self.settings, embedded=self.embedded)
            except DbaAdminError:
                box = None  # remote without SECRETS_KEY: connection `default` still works; adding one says why not
            self._targets = Targets(self.db, Registry(self.db, box))
        return self._targets

    @property
    def registry(self) -> Registry:
        return self.targets.registry

    def connection(self, name: str) -> DatabaseManager:
        """A registered connection's manager (no access check; pages use ``connection_for``)."""
        return self.targets.get(name)

    def connection_for(self, claims: Any, name: str) -> DatabaseManager:
        """A registered connection's manager for a user, after RLS on public.conexoes allowed it."""
        return self.targets.for_user(claims, name)

    @property
    def projects(self) -> ProjectManager:
        """Stateless apart from the shared pool: every call names the user whose RLS claims it runs under."""
        from dba_admin.projects import ProjectManager

        return ProjectManager(self.db)

    def close(self) -> None:
        with self._probe_lock:
            self._drop_probe()
        if self._targets is not None:
            self._targets.close()
        self.db.close()

    def describe(self) -> dict[str, Any]:
        return {"database": self.database_label}


def outage_where(settings: Settings) -> str:
    """Where the configured database is, for the outage page when the services could not even be built."""
    if settings.database_url:
        return mask_dsn(settings.database_url)
    return f"embedded PostgreSQL in {settings.data_dir}"
