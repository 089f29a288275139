"""Everything a page needs, built once per app server: settings, the DatabaseManager, stores and managers.

app.py keeps one ``Services`` in Streamlit's cache_resource; the CLI and tests build their own. Nothing here
holds per-user state, so several app servers behind a load balancer behave the same.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import Jsonb

from dba_admin.auth import NewCredentials, UserStore
from dba_admin.bootstrap import prepare_database
from dba_admin.config import Settings
from dba_admin.local_pg import write_secret

if TYPE_CHECKING:
    from dba_admin.database import DatabaseManager
    from dba_admin.projects import ProjectManager

COOKIE_NAME = "dba_admin_auth"


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

    @classmethod
    def build(cls, settings: Settings) -> Services:
        from dba_admin.database import DatabaseManager

        prepared = prepare_database(settings)
        db = DatabaseManager(
            settings, prepared.dsn, prepared.readonly_dsn, authenticator_dsn=prepared.authenticator_dsn
        )
        return cls(
            settings=settings, db=db, embedded=prepared.embedded, dsn=prepared.dsn, first_admin=prepared.first_admin
        )

    @property
    def database_label(self) -> str:
        kind = "embedded" if self.embedded else "remote"
        return f"{kind} · {mask_dsn(self.dsn)}"

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
                write_secret(path, secrets.token_urlsafe(48))
            self._cookie_key = path.read_text().strip()
        else:
            with self.db.connection() as conn:
                conn.execute(
                    "insert into dba_admin.settings (key, value, updated_by) values ('cookie_key', %s, 'system')"
                    " on conflict (key) do nothing /* dba_admin */",
                    (Jsonb(secrets.token_urlsafe(48)),),
                )
                row = conn.execute(
                    "select value from dba_admin.settings where key = 'cookie_key' /* dba_admin */"
                ).fetchone()
            assert row is not None
            self._cookie_key = str(row[0])
        return self._cookie_key

    @property
    def projects(self) -> ProjectManager:
        """Stateless apart from the shared pool: every call names the user whose RLS claims it runs under."""
        from dba_admin.projects import ProjectManager

        return ProjectManager(self.db)

    def close(self) -> None:
        self.db.close()

    def describe(self) -> dict[str, Any]:
        return {"database": self.database_label}
