"""Users, password hashing, roles, login throttling and session revocation, against dba_admin.users.

Users live in the database so every app server shares them. The Streamlit login form (streamlit-authenticator)
only renders the form and carries the cookie; everything that must hold across app servers — throttling,
deactivation, admin locks, the session version that revokes re-login cookies, the audit trail, the last-admin
rule — is decided here, inside transactions that carry the app's lock and statement timeouts, so a lock held on
dba_admin.users makes a login say "busy" instead of hanging every page.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import bcrypt
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from dba_admin import audit, i18n, login_throttle
from dba_admin.access import DBA_ROLES, ROLES
from dba_admin.config import Settings
from dba_admin.database import read_in_one_round_trip, timeout_settings
from dba_admin.errors import AccountLocked, AuthError, LastAdminError, NotFound
from dba_admin.login_throttle import ThrottlePolicy, ThrottleState
from dba_admin.rls import UserClaims

FIRST_ADMIN_USERNAME = "admin"
FIRST_ADMIN_EMAIL = "admin@dba-admin.local"
_FIRST_ADMIN_LOCK = 0x0DBA_AD02
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.@-]{1,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
MIN_PASSWORD_LENGTH = 8


class LoginThrottled(AuthError):
    """Too many failed logins from this address or for this username: wait ``retry_after_seconds``."""

    def __init__(self, state: ThrottleState) -> None:
        self.state = state
        self.retry_after_seconds = state.retry_after_seconds
        wait = max(1, round(state.retry_after_seconds))
        super().__init__(f"too many failed logins: wait {wait} s before trying again")


class UserStoreBusy(AuthError):
    """dba_admin.users could not be read within the app's lock or statement timeout (someone holds a lock)."""

    def __init__(self) -> None:
        super().__init__("the user store is busy (another session holds a lock on it): try again in a moment")


def hash_password(password: str) -> str:
    """bcrypt, the same scheme streamlit-authenticator checks."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), password_hash.encode())
    except ValueError:
        return False


@dataclass(frozen=True)
class NewCredentials:
    """A password shown once to a person and never stored in clear."""

    username: str
    email: str
    password: str


@dataclass(frozen=True)
class AppUser:
    """A user as the app needs them: identity, role and state. Never carries the hash."""

    id: uuid.UUID
    username: str
    email: str
    name: str | None
    role: str
    auth_source: str
    is_active: bool
    failed_attempts: int
    locked_until: dt.datetime | None
    last_login_at: dt.datetime | None
    created_at: dt.datetime
    session_version: int = 1
    password_changed_at: dt.datetime | None = None
    locale: str | None = None  # the interface language the user chose; None: the browser's decides

    @property
    def is_dba(self) -> bool:
        return self.role in DBA_ROLES

    def is_locked(self, now: dt.datetime | None = None) -> bool:
        now = now or dt.datetime.now(dt.UTC)
        return self.locked_until is not None and self.locked_until > now

    @property
    def claims(self) -> UserClaims:
        """What the database is told about this user inside a per-user RLS transaction."""
        return UserClaims(sub=self.id, email=self.email, app_role=self.role)


_USER_COLUMNS = sql.SQL(
    "id, username, email, name, role, auth_source, is_active, failed_attempts, locked_until, last_login_at,"
    " created_at, session_version, password_changed_at, locale"
)
# Bumped by every change that must revoke the re-login cookies already issued (logout, password, role, active).
_BUMP_VERSION = "session_version = session_version + 1"


def _user(row: dict[str, Any]) -> AppUser:
    return AppUser(**{key: row[key] for key in AppUser.__dataclass_fields__})


def _validate(username: str | None = None, email: str | None = None, role: str | None = None) -> None:
    if username is not None and not _USERNAME.match(username):
        raise AuthError(
            "username: 2-64 characters, lower-case letters, digits and . _ @ - (starting with a letter or digit)"
        )
    if email is not None and not _EMAIL.match(email):
        raise AuthError(f"{email!r} is not an email address")
    if role is not None and role not in ROLES:
        raise AuthError(f"role must be one of {', '.join(ROLES)}")


def _check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")


class UserStore:
    """Every user-administration and login decision, against dba_admin.users, audited.

    Takes an owner connection factory (``DatabaseManager.connection``) so it works with the app's pool and with
    a plain connection in the CLI.
    """

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        *,
        throttle: ThrottlePolicy | None = None,
        statement_timeout_ms: int = 30_000,
        lock_timeout_ms: int = 5_000,
    ) -> None:
        self.conn = conn
        self.throttle = throttle or ThrottlePolicy()
        self.statement_timeout_ms = statement_timeout_ms
        self.lock_timeout_ms = lock_timeout_ms

    @classmethod
    def from_settings(cls, conn: psycopg.Connection[Any], settings: Settings) -> UserStore:
        return cls(
            conn,
            throttle=ThrottlePolicy(
                free_failures=settings.login_max_failures,
                base_seconds=settings.login_delay_base_seconds,
                max_seconds=settings.login_delay_max_seconds,
            ),
            statement_timeout_ms=settings.statement_timeout_ms,
            lock_timeout_ms=settings.lock_timeout_ms,
        )

    @contextmanager
    def _tx(self) -> Iterator[None]:
        """A transaction with the app's lock and statement timeouts; running out of either is UserStoreBusy."""
        try:
            with self.conn.transaction():
                self.conn.execute(
                    sql.SQL("SET LOCAL statement_timeout = {}; SET LOCAL lock_timeout = {} /* dba_admin */").format(
                        sql.Literal(str(self.statement_timeout_ms)), sql.Literal(str(self.lock_timeout_ms))
                    )
                )
                yield
        except (psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled) as exc:
            raise UserStoreBusy() from exc

    def _read(self, query: sql.SQL | sql.Composed, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """A read under the same timeouts: one round trip on an idle connection (every page run checks the signed-in
        account), inside the caller's transaction otherwise."""
        if self.conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            limits = timeout_settings(self.statement_timeout_ms, self.lock_timeout_ms)
            try:
                return read_in_one_round_trip(self.conn, limits, query, params)
            except (psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled) as exc:
                raise UserStoreBusy() from exc
        with self._tx(), self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(query, params)
            return cur.fetchall()

    # ---- reading ---------------------------------------------------------------------------------------
    def list_users(self) -> list[AppUser]:
        rows = self._read(
            sql.SQL("select {} from dba_admin.users order by username /* dba_admin */").format(_USER_COLUMNS)
        )
        return [_user(row) for row in rows]

    def get(self, username: str) -> AppUser:
        rows = self._read(
            sql.SQL("select {} from dba_admin.users where username = %s /* dba_admin */").format(_USER_COLUMNS),
            (username.strip().lower(),),
        )
        if not rows:
            raise NotFound(f"no user {username!r}")
        return _user(rows[0])

    def get_by_email(self, email: str) -> AppUser | None:
        rows = self._read(
            sql.SQL("select {} from dba_admin.users where email = %s /* dba_admin */").format(_USER_COLUMNS),
            (email.strip().lower(),),
        )
        return _user(rows[0]) if rows else None

    def session_user(self, username: str, *, new_session: bool = False) -> AppUser | None:
        """The user behind a session, or None when they were deactivated or removed since.

        An admin lock refuses only a ``new_session`` (a password or cookie login): a session already open goes
        on, so nobody can end someone else's work by making logins fail.
        """
        try:
            user = self.get(username)
        except NotFound:
            return None
        if not user.is_active or (new_session and user.is_locked()):
            return None
        return user

    def authenticator_credentials(self) -> dict[str, Any]:
        """The credentials dict streamlit-authenticator expects, built fresh from the database on every run.

        Deactivated and Supabase-auth users are left out, so even a valid cookie cannot log them in; each entry
        carries the user's ``session_version``, which a re-login cookie must match.
        """
        rows = self._read(
            sql.SQL(
                "select username, email, name, role, password_hash, session_version"
                " from dba_admin.users where is_active and auth_source = 'local' /* dba_admin */"
            )
        )
        return {
            "usernames": {
                row["username"]: {
                    "email": row["email"],
                    "name": row["name"] or row["username"],
                    "password": row["password_hash"],
                    "roles": [row["role"]],
                    "failed_login_attempts": 0,
                    "logged_in": False,
                    "session_version": row["session_version"],
                }
                for row in rows
            }
        }

    def cookie_user(self, username: str, session_version: int) -> AppUser | None:
        """The user a signed re-login cookie names, when its session version is still the current one."""
        user = self.session_user(username, new_session=True)
        if user is None or user.auth_source != "local" or user.session_version != session_version:
            return None
        return user

    # ---- login events ----------------------------------------------------------------------------------
    def check_throttle(self, username: str, address: str | None) -> None:
        """Refuse (and audit) an attempt made while a delay runs for this address or username."""
        keys = login_throttle.throttle_keys(username, address)
        with self._tx():
            state = login_throttle.blocking(self.conn, keys)
            if state is not None:
                audit.record(
                    self.conn,
                    "login.throttled",
                    actor=username or None,
                    details={
                        "address": address,
                        "by": state.kind,
                        "failures": state.failures,
                        "until": state.next_allowed_at.isoformat(),
                    },
                )
        if state is not None:
            raise LoginThrottled(state)

    def authenticate(self, username: str, password: str, *, address: str | None = None) -> AppUser:
        """Check a password with throttling, locks and audit: the single source of the login rules.

        The form, the CLI and the tests all come here. ``address`` is the client's source address (None when
        unknown); failures slow down further attempts from it and for the username, never lock the account.
        """
        username = username.strip().lower()
        self.check_throttle(username, address)
        refusal: AuthError | None = None
        with self._tx(), self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                sql.SQL("select {}, password_hash from dba_admin.users where username = %s /* dba_admin */").format(
                    _USER_COLUMNS
                ),
                (username,),
            )
            row = cur.fetchone()
        if row is not None and row["is_active"] and row["auth_source"] == "local" and _user(row).is_locked():
            with self._tx():
                audit.record(self.conn, "login.refused_locked", actor=username, details={"address": address})
            refusal = AccountLocked(username, row["locked_until"])
        elif row is None or not row["is_active"] or row["auth_source"] != "local":
            self.record_failure(username, address, reason="unknown or inactive user")
            refusal = AuthError("wrong username or password")
        elif not verify_password(password, row["password_hash"]):
            self.record_failure(username, address)
            refusal = AuthError("wrong username or password")
        if refusal is not None:
            raise refusal
        return self.record_success(username, address)

    def record_failure(self, username: str, address: str | None = None, *, reason: str | None = None) -> float:
        """Count a failed login for the address and the username; returns the delay (s) now before the next try."""
        keys = login_throttle.throttle_keys(username, address)
        with self._tx():
            self.conn.execute(
                "update dba_admin.users set failed_attempts = failed_attempts + 1 where username = %s /* dba_admin */",
                (username,),
            )
            states = login_throttle.record_failure(self.conn, keys, self.throttle)
            delay = max((s.retry_after_seconds for s in states), default=0.0)
            details: dict[str, Any] = {"address": address, "failures": {s.kind: s.failures for s in states}}
            if reason:
                details["reason"] = reason
            if delay > 0:
                details["delay_seconds"] = round(delay, 1)
            audit.record(self.conn, "login.failed", actor=username or None, details=details)
        return delay

    def record_success(self, username: str, address: str | None = None, *, via: str = "password") -> AppUser:
        with self._tx():
            self.conn.execute(
                "update dba_admin.users set failed_attempts = 0, last_login_at = now()"
                " where username = %s /* dba_admin */",
                (username,),
            )
            login_throttle.reset(self.conn, login_throttle.throttle_keys(username, address))
            details = {"address": address} if via == "password" else {"address": address, "via": via}
            audit.record(self.conn, "login.success", actor=username, details=details)
        return self.get(username)

    def record_logout(self, username: str) -> None:
        """Audit the logout and revoke every re-login cookie of the user (the session version moves on)."""
        with self._tx():
            self.conn.execute(
                sql.SQL("update dba_admin.users set {} where username = %s /* dba_admin */").format(
                    sql.SQL(_BUMP_VERSION)
                ),
                (username,),
            )
            audit.record(self.conn, "logout", actor=username)

    # ---- administration --------------------------------------------------------------------------------
    def create_user(
        self,
        *,
        actor: str | None,
        username: str,
        email: str,
        role: str,
        name: str | None = None,
        password: str | None = None,
        auth_source: str = "local",
        via: str | None = None,
    ) -> tuple[AppUser, str | None]:
        """Create a user; with no password given for a local user, a random one is generated and returned once.

        ``via`` names what did it when no person did (e.g. "supabase_auth" on a first Supabase login); it goes to
        the audit row's details, the actor staying a username.
        """
        username, email = username.strip().lower(), email.strip().lower()
        _validate(username, email, role)
        generated = None
        password_hash = None
        if auth_source == "local":
            if password is None:
                password = generated = secrets.token_urlsafe(12)
            _check_password_strength(password)
            password_hash = hash_password(password)
        try:
            with self._tx():
                self.conn.execute(
                    "insert into dba_admin.users"
                    " (username, email, name, role, password_hash, auth_source, password_changed_at)"
                    " values (%s, %s, %s, %s, %s, %s, now()) /* dba_admin */",
                    (username, email, name, role, password_hash, auth_source),
                )
                audit.record(
                    self.conn,
                    "user.create",
                    actor=actor,
                    target=username,
                    details={"role": role, "email": email, **({"via": via} if via else {})},
                )
        except psycopg.errors.UniqueViolation as exc:
            raise AuthError(f"a user with username {username!r} or email {email!r} already exists") from exc
        return self.get(username), generated

    def _guard_last_admin(self, username: str) -> None:
        """Refuse a change that would leave no active admin (called inside the change's transaction)."""
        self.conn.execute("select pg_advisory_xact_lock(%s) /* dba_admin */", (_FIRST_ADMIN_LOCK,))
        row = self.conn.execute(
            "select count(*) from dba_admin.users"
            " where role = 'admin' and is_active and username <> %s /* dba_admin */",
            (username,),
        ).fetchone()
        if not row or row[0] == 0:
            raise LastAdminError("this is the last active admin: make another user admin first")

    def set_role(self, *, actor: str | None, username: str, role: str, via: str | None = None) -> AppUser:
        """Change a user's role (``via`` as in create_user); the last active admin cannot lose the role."""
        _validate(role=role)
        user = self.get(username)
        with self._tx():
            if user.role == "admin" and role != "admin":
                self._guard_last_admin(user.username)
            self.conn.execute(
                "update dba_admin.users set role = %s, session_version = session_version + case when role = %s then 0"
                " else 1 end where username = %s /* dba_admin */",
                (role, role, user.username),
            )
            audit.record(
                self.conn,
                "user.set_role",
                actor=actor,
                target=user.username,
                details={"from": user.role, "to": role, **({"via": via} if via else {})},
            )
        return self.get(username)

    def reset_password(self, *, actor: str | None, username: str, password: str | None = None) -> str | None:
        """Set a new password (random when none is given, returned once); also clears a lock.

        Revokes every re-login cookie of the user, and open sessions end at their next rerun (the gate compares
        ``password_changed_at``).
        """
        user = self.get(username)
        if user.auth_source != "local":
            raise AuthError(f"{username} logs in through Supabase Auth: reset the password there")
        generated = None
        if password is None:
            password = generated = secrets.token_urlsafe(12)
        _check_password_strength(password)
        with self._tx():
            self.conn.execute(
                "update dba_admin.users set password_hash = %s, password_changed_at = now(), failed_attempts = 0,"
                " locked_until = null, session_version = session_version + 1 where username = %s /* dba_admin */",
                (hash_password(password), user.username),
            )
            audit.record(self.conn, "user.reset_password", actor=actor, target=user.username)
        return generated

    def lock(self, *, actor: str | None, username: str, minutes: int | None = None) -> AppUser:
        user = self.get(username)
        until = dt.timedelta(minutes=minutes) if minutes else dt.timedelta(days=36500)
        with self._tx():
            if user.role == "admin":
                self._guard_last_admin(user.username)
            self.conn.execute(
                "update dba_admin.users set locked_until = now() + %s where username = %s /* dba_admin */",
                (until, user.username),
            )
            audit.record(self.conn, "user.lock", actor=actor, target=user.username, details={"minutes": minutes})
        return self.get(username)

    def unlock(self, *, actor: str | None, username: str) -> AppUser:
        user = self.get(username)
        with self._tx():
            self.conn.execute(
                "update dba_admin.users set locked_until = null, failed_attempts = 0"
                " where username = %s /* dba_admin */",
                (user.username,),
            )
            audit.record(self.conn, "user.unlock", actor=actor, target=user.username)
        return self.get(username)

    def set_locale(self, username: str, locale: str | None) -> AppUser:
        """Save the user's interface language (None: follow the browser's); a person changes only their own.

        Not audited: it changes what one person reads, no right and no data; the users table's check constraint
        refuses a locale the app has no catalog for.
        """
        if locale is not None and locale not in i18n.LOCALES:
            raise AuthError(f"locale must be one of {', '.join(i18n.LOCALES)} (or none, for the browser's)")
        user = self.get(username)
        with self._tx():
            self.conn.execute(
                "update dba_admin.users set locale = %s where username = %s /* dba_admin */", (locale, user.username)
            )
        return self.get(username)

    def set_active(self, *, actor: str | None, username: str, active: bool) -> AppUser:
        user = self.get(username)
        with self._tx():
            if not active and user.role == "admin":
                self._guard_last_admin(user.username)
            self.conn.execute(
                "update dba_admin.users set is_active = %s, session_version = session_version + 1"
                " where username = %s /* dba_admin */",
                (active, user.username),
            )
            audit.record(self.conn, "user.activate" if active else "user.deactivate", actor=actor, target=user.username)
        return self.get(username)


def ensure_first_admin(conn: psycopg.Connection[Any]) -> NewCredentials | None:
    """Create the first admin with a random password when the database has no admin yet.

    Returns the credentials exactly once (the caller prints them); later calls, on any app server,
    return None. The advisory lock keeps two servers starting together from creating two admins.
    """
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s) /* dba_admin */", (_FIRST_ADMIN_LOCK,))
        exists = conn.execute("select 1 from dba_admin.users where role = 'admin' limit 1 /* dba_admin */").fetchone()
        if exists:
            return None
        password = secrets.token_urlsafe(12)
        conn.execute(
            "insert into dba_admin.users (username, email, name, password_hash, role, password_changed_at)"
            " values (%s, %s, %s, %s, 'admin', now()) /* dba_admin */",
            (FIRST_ADMIN_USERNAME, FIRST_ADMIN_EMAIL, "Administrator", hash_password(password)),
        )
        audit.record(
            conn, "user.create", actor=None, target=FIRST_ADMIN_USERNAME, details={"role": "admin", "first_admin": True}
        )
        return NewCredentials(FIRST_ADMIN_USERNAME, FIRST_ADMIN_EMAIL, password)
