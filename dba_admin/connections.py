"""The connection registry: the databases the app administers, kept in the workspace, opened on demand.

A connection is a registered name plus up to three logins, each least-privilege: **monitor** (catalogs and
statistics, never writes), **read-only** (analysts' SQL) and, optionally, **DBA** (write-mode SQL). Their DSNs are
stored in ``dba_admin.connections`` as Fernet tokens (``cryptography``), encrypted with ``SECRETS_KEY``, which lives
in the settings, never in the database; they are decrypted only in the app server's memory and never logged.

Who may use a connection is the row of ``public.conexoes`` the user can read under RLS (admins: every row). The
app opens a connection for a user only after that read (:meth:`Registry.visible_names`), so the database decides.

``Targets`` holds one :class:`~dba_admin.database.DatabaseManager` per connection in use on this app server:
created on first use with lazy, small pools that close idle connections, at most ``MAX_OPEN_CONNECTIONS`` at once
(the least recently used is closed first).
"""

from __future__ import annotations

import builtins
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from cryptography.fernet import Fernet, InvalidToken
from psycopg import sql
from psycopg.rows import dict_row

from dba_admin import audit
from dba_admin.access import ROLES as ALL_ROLES  # a connection is open to every role unless narrowed
from dba_admin.config import Settings
from dba_admin.errors import ConfigError, DbaAdminError, NotFound, PermissionDenied
from dba_admin.local_pg import write_secret_once
from dba_admin.rls import UserClaims, user_read

if TYPE_CHECKING:
    from dba_admin.database import DatabaseManager

__all__ = [
    "DEFAULT_CONNECTION",
    "DEMO_CONNECTION",
    "ConnectionInfo",
    "ConnectionSecrets",
    "ConnectionSpec",
    "Registry",
    "SecretBox",
    "Targets",
    "check_name",
]

DEFAULT_CONNECTION = "default"  # the workspace database itself, when nothing else is registered (remote only)
DEMO_CONNECTION = "demo"  # the embedded PetCare database
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def check_name(name: str) -> str:
    """A connection name: lower-case letters, digits, ``-`` and ``_``, 1 to 63 characters."""
    cleaned = (name or "").strip()
    if not _NAME.match(cleaned):
        raise ValueError(
            f"connection name {name!r} is not valid: use 1 to 63 lower-case letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    return cleaned


class SecretBox:
    """Encrypts the logins' DSNs for the registry; the key never enters the database."""

    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode() if isinstance(key, str) else key)
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                "SECRETS_KEY is not a valid key: generate one with "
                "`python -c 'from cryptography.fernet import Fernet;print(Fernet.generate_key().decode())'`"
            ) from exc

    @classmethod
    def from_settings(cls, settings: Settings, *, embedded: bool) -> SecretBox:
        """SECRETS_KEY; on the embedded default a key generated once into the data dir (mode 0600)."""
        if settings.secrets_key:
            return cls(settings.secrets_key)
        if not embedded:
            raise ConfigError(
                "connection secrets need SECRETS_KEY (the same on every app server): generate one with "
                "`python -c 'from cryptography.fernet import Fernet;print(Fernet.generate_key().decode())'`"
            )
        path = Path(settings.data_dir) / "secrets" / "connections.key"
        if not path.is_file():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_secret_once(path, Fernet.generate_key().decode())
        return cls(path.read_text().strip())

    def seal(self, value: str | None) -> str | None:
        return None if value is None else self._fernet.encrypt(value.encode()).decode()

    def open(self, token: str | None, *, what: str = "secret") -> str | None:
        if token is None:
            return None
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ConfigError(
                f"the {what} cannot be decrypted with this SECRETS_KEY: every app server must use the key the "
                "connection was registered with (or register the connection again)"
            ) from exc


@dataclass(frozen=True)
class ConnectionSecrets:
    """The DSNs of a connection's logins: in memory only, never shown or logged (``repr`` hides them)."""

    monitor: str
    readonly: str | None = None
    dba: str | None = None

    def __repr__(self) -> str:
        return (
            f"ConnectionSecrets(monitor=***, readonly={'***' if self.readonly else None}, "
            f"dba={'***' if self.dba else None})"
        )


@dataclass(frozen=True)
class ConnectionSpec:
    """What opening a connection needs: its logins, whether it shares the workspace's server, whether it is it."""

    secrets: ConnectionSecrets
    same_cluster: bool
    is_workspace: bool  # connection `default`: the app's own objects stay out of sight there


@dataclass(frozen=True)
class ConnectionInfo:
    """What anyone may know about a registered connection: no secret."""

    name: str
    description: str | None
    roles: tuple[str, ...]
    users: tuple[str, ...]
    is_workspace: bool
    has_readonly: bool
    has_dba: bool
    created_by: str
    created_at: datetime


_INFO_SQL = (
    "/* dba_admin */ select c.name, x.descricao, x.funcoes, x.usuarios, c.is_workspace, c.same_cluster,"
    " c.readonly_secret is not null or c.is_workspace as has_readonly, c.dba_secret is not null as has_dba,"
    " c.created_by, c.created_at from dba_admin.connections c join public.conexoes x on x.nome = c.name"
)


def _info(row: dict[str, Any], *, workspace_readonly: bool = True, workspace_dba: bool = False) -> ConnectionInfo:
    is_workspace = bool(row["is_workspace"])
    return ConnectionInfo(
        name=row["name"],
        description=row["descricao"],
        roles=tuple(row["funcoes"] or ()),
        users=tuple(row["usuarios"] or ()),
        is_workspace=is_workspace,
        has_readonly=workspace_readonly if is_workspace else bool(row["has_readonly"]),
        has_dba=workspace_dba if is_workspace else bool(row["has_dba"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
    )


class Registry:
    """Registered connections in the workspace: the owner side (add, remove, secrets) and the user side (RLS)."""

    def __init__(self, workspace: DatabaseManager, box: SecretBox | None) -> None:
        self._workspace = workspace
        self._box = box
        self._settings = workspace.settings

    @property
    def box(self) -> SecretBox:
        if self._box is None:
            raise ConfigError(
                "connection secrets need SECRETS_KEY (the same on every app server): generate one with "
                "`python -c 'from cryptography.fernet import Fernet;print(Fernet.generate_key().decode())'`"
            )
        return self._box

    # -- owner side: the trusted server path (CLI, admin page, bootstrap), audited ----------------------------

    def add(
        self,
        name: str,
        secrets: ConnectionSecrets | None,
        *,
        actor: str,
        description: str | None = None,
        roles: Sequence[str] = ALL_ROLES,
        users: Sequence[str] = (),
        is_workspace: bool = False,
        same_cluster: bool = False,
        replace: bool = False,
    ) -> ConnectionInfo:
        """Register (or with ``replace`` update) a connection; the DSNs are encrypted before they are sent."""
        name = check_name(name)
        bad = sorted(set(roles) - set(ALL_ROLES))
        if bad:
            raise ValueError(f"unknown role(s) {', '.join(bad)}: use {', '.join(ALL_ROLES)}")
        if secrets is None and not is_workspace:
            raise ValueError("a connection needs at least its monitor DSN")
        sealed = (
            (self.box.seal(secrets.monitor), self.box.seal(secrets.readonly), self.box.seal(secrets.dba))
            if secrets is not None
            else (None, None, None)
        )
        insert = (
            "/* dba_admin */ insert into dba_admin.connections (name, monitor_secret, readonly_secret, dba_secret,"
            " is_workspace, same_cluster, created_by) values (%s, %s, %s, %s, %s, %s, %s)"
        )
        if replace:
            insert += (
                " on conflict (name) do update set monitor_secret = excluded.monitor_secret,"
                " readonly_secret = excluded.readonly_secret, dba_secret = excluded.dba_secret,"
                " is_workspace = excluded.is_workspace, same_cluster = excluded.same_cluster, updated_at = now()"
            )
        with self._workspace.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            try:
                cur.execute(insert, (name, *sealed, is_workspace, same_cluster, actor))
            except psycopg.errors.UniqueViolation as exc:
                raise DbaAdminError(
                    f"a connection named {name} is already registered: remove it first or choose another name"
                ) from exc
            cur.execute(
                "/* dba_admin */ insert into public.conexoes (nome, descricao, funcoes, usuarios)"
                " values (%s, %s, %s, %s)"
                " on conflict (nome) do update set descricao = coalesce(excluded.descricao, conexoes.descricao)",
                (name, description, list(roles), [u.strip().lower() for u in users if u.strip()]),
            )
            audit.record(
                conn,
                "connection.update" if replace else "connection.add",
                actor=actor,
                target=f"connection:{name}",
                details={
                    "readonly_login": bool(secrets and secrets.readonly),
                    "dba_login": bool(secrets and secrets.dba),
                    "is_workspace": is_workspace,
                },
            )
        return self.get(name)

    def remove(self, name: str, *, actor: str) -> None:
        with self._workspace.connection() as conn:
            row = conn.execute(
                "/* dba_admin */ delete from dba_admin.connections where name = %s returning name", (name,)
            ).fetchone()
            if row is None:
                raise NotFound(f"no connection named {name}: `dba-admin connection list` shows what is registered")
            audit.record(conn, "connection.remove", actor=actor, target=f"connection:{name}")

    def set_access(
        self, name: str, *, actor: str, roles: Sequence[str] | None = None, users: Sequence[str] | None = None
    ) -> ConnectionInfo:
        """Who may use a connection (admins decide); audited."""
        bad = sorted(set(roles or ()) - set(ALL_ROLES))
        if bad:
            raise ValueError(f"unknown role(s) {', '.join(bad)}: use {', '.join(ALL_ROLES)}")
        with self._workspace.connection() as conn:
            row = conn.execute(
                "/* dba_admin */ update public.conexoes set funcoes = coalesce(%s, funcoes),"
                " usuarios = coalesce(%s, usuarios) where nome = %s returning nome",
                (
                    list(roles) if roles is not None else None,
                    [u.strip().lower() for u in users if u.strip()] if users is not None else None,
                    name,
                ),
            ).fetchone()
            if row is None:
                raise NotFound(f"no connection named {name}")
            audit.record(
                conn,
                "connection.access",
                actor=actor,
                target=f"connection:{name}",
                details={"roles": list(roles) if roles is not None else None, "users": list(users or [])},
            )
        return self.get(name)

    def list(self) -> list[ConnectionInfo]:
        """Every registered connection (owner side: the CLI, the admin page)."""
        return [self._info(r) for r in self._workspace.read(sql.SQL(_INFO_SQL + " order by c.name"))]

    def get(self, name: str) -> ConnectionInfo:
        rows = self._workspace.read(sql.SQL(_INFO_SQL + " where c.name = %s"), (name,))
        if not rows:
            raise NotFound(f"no connection named {name}: `dba-admin connection list` shows what is registered")
        return self._info(rows[0])

    def _info(self, row: dict[str, Any]) -> ConnectionInfo:
        return _info(
            row,
            workspace_readonly=bool(self._settings.readonly_database_url),
            workspace_dba=bool(self._settings.dba_database_url),
        )

    def secrets(self, name: str) -> tuple[ConnectionSecrets, bool]:
        """The decrypted DSNs of a connection and whether its backends live on the workspace's server."""
        spec = self.spec(name)
        return spec.secrets, spec.same_cluster

    def spec(self, name: str) -> ConnectionSpec:
        """Everything needed to open a connection, in one read of the registry.

        Connection `default` (``is_workspace``) has its DSNs from the settings.
        """
        rows = self._workspace.read(
            sql.SQL(
                "/* dba_admin */ select monitor_secret, readonly_secret, dba_secret, is_workspace, same_cluster"
                " from dba_admin.connections where name = %s"
            ),
            (name,),
        )
        if not rows:
            raise NotFound(f"no connection named {name}")
        row = rows[0]
        if row["is_workspace"]:
            settings = self._settings
            assert settings.database_url, "connection default exists only on a remote workspace"
            return ConnectionSpec(
                ConnectionSecrets(settings.database_url, settings.readonly_database_url, settings.dba_database_url),
                same_cluster=True,
                is_workspace=True,
            )
        monitor = self.box.open(row["monitor_secret"], what=f"monitor DSN of {name}")
        assert monitor is not None
        return ConnectionSpec(
            ConnectionSecrets(
                monitor,
                self.box.open(row["readonly_secret"], what=f"read-only DSN of {name}"),
                self.box.open(row["dba_secret"], what=f"DBA DSN of {name}"),
            ),
            same_cluster=bool(row["same_cluster"]),
            is_workspace=False,
        )

    # -- user side: what the database lets this user see ------------------------------------------------------

    def visible_names(self, claims: UserClaims) -> builtins.list[str]:
        """The connections this user may use, as RLS on public.conexoes decides."""
        with self._workspace.user_connection() as conn:
            rows = user_read(
                conn,
                claims,
                sql.SQL("/* dba_admin */ select nome from public.conexoes order by nome"),
                statement_timeout_ms=self._settings.statement_timeout_ms,
            )
        return [str(row["nome"]) for row in rows]

    def visible(self, claims: UserClaims) -> builtins.list[ConnectionInfo]:
        names = set(self.visible_names(claims))
        return [info for info in self.list() if info.name in names]

    def check_access(self, claims: UserClaims, name: str) -> None:
        """PermissionDenied unless RLS shows this user the connection's row."""
        if name not in self.visible_names(claims):
            raise PermissionDenied(
                f"connection {name} is not open to {claims.normalized_email or 'you'}: ask an admin for access"
            )


class Targets:
    """One DatabaseManager per connection in use on this app server, at most ``max_open`` at once (LRU)."""

    def __init__(self, workspace: DatabaseManager, registry: Registry) -> None:
        self._workspace = workspace
        self._registry = registry
        self._settings = workspace.settings
        self._open: OrderedDict[str, DatabaseManager] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def registry(self) -> Registry:
        return self._registry

    def get(self, name: str) -> DatabaseManager:
        """The manager of a connection (no access check: callers acting for a user use :meth:`for_user`)."""
        from dba_admin.database import DatabaseManager

        with self._lock:
            manager = self._open.get(name)
            if manager is not None:
                self._open.move_to_end(name)
                return manager
        spec = self._registry.spec(name)
        manager = DatabaseManager(
            self._settings,
            spec.secrets.monitor,
            spec.secrets.readonly,
            dba_dsn=spec.secrets.dba,
            name=name,
            workspace=self._workspace,
            lazy=True,
        )
        manager.same_cluster = spec.same_cluster
        # The workspace database seen as a connection: the advisors, the explorer's default list and the assistant
        # leave the app's own objects out unless a DBA asks for them.
        manager.includes_workspace = spec.is_workspace
        evicted: list[DatabaseManager] = []
        with self._lock:
            existing = self._open.get(name)
            if existing is not None:  # another session opened it meanwhile: keep one
                evicted.append(manager)
                manager = existing
            else:
                self._open[name] = manager
            while len(self._open) > max(1, self._settings.max_open_connections):
                _, old = self._open.popitem(last=False)
                evicted.append(old)
        for old in evicted:
            old.close()
        return manager

    def for_user(self, claims: UserClaims, name: str) -> DatabaseManager:
        self._registry.check_access(claims, name)
        return self.get(name)

    def forget(self, name: str) -> None:
        """Close a connection's pools (after it was removed or its logins changed)."""
        with self._lock:
            manager = self._open.pop(name, None)
        if manager is not None:
            manager.close()

    def open_names(self) -> list[str]:
        with self._lock:
            return list(self._open)

    def close(self) -> None:
        with self._lock:
            managers = list(self._open.values())
            self._open.clear()
        for manager in managers:
            manager.close()
