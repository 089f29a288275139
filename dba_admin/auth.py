"""Users, password hashing, roles and login lockout. Users live in dba_admin.users so every app server shares them.

The Streamlit login form (streamlit-authenticator) only checks a bcrypt hash against the credentials we hand
it; everything that must hold across app servers — lockout, deactivation, the audit trail, the last-admin rule —
is decided here, against the database, inside transactions.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import bcrypt
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from dba_admin import audit
from dba_admin.errors import AccountLocked, AuthError, LastAdminError, NotFound
from dba_admin.rls import UserClaims

ROLES = ("admin", "dba", "analyst", "viewer")
DBA_ROLES = frozenset({"admin", "dba"})
FIRST_ADMIN_USERNAME = "admin"
FIRST_ADMIN_EMAIL = "admin@dba-admin.local"
_FIRST_ADMIN_LOCK = 0x0DBA_AD02
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.@-]{1,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
MIN_PASSWORD_LENGTH = 8


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
    "id, username, email, name, role, auth_source, is_active, failed_attempts, locked_until, last_login_at, created_at"
)


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

    def __init__(self, conn: psycopg.Connection[Any], *, max_failures: int = 5, lockout_minutes: int = 15) -> None:
        self.conn = conn
        self.max_failures = max_failures
        self.lockout = dt.timedelta(minutes=lockout_minutes)

    # ---- reading ---------------------------------------------------------------------------------------
    def list_users(self) -> list[AppUser]:
        with self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                sql.SQL("select {} from dba_admin.users order by username /* dba_admin */").format(_USER_COLUMNS)
            )
            return [_user(row) for row in cur.fetchall()]

    def get(self, username: str) -> AppUser:
        with self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                sql.SQL("select {} from dba_admin.users where username = %s /* dba_admin */").format(_USER_COLUMNS),
                (username.strip().lower(),),
            )
            row = cur.fetchone()
        if row is None:
            raise NotFound(f"no user {username!r}")
        return _user(row)

    def get_by_email(self, email: str) -> AppUser | None:
        with self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                sql.SQL("select {} from dba_admin.users where email = %s /* dba_admin */").format(_USER_COLUMNS),
                (email.strip().lower(),),
            )
            row = cur.fetchone()
        return _user(row) if row else None

    def session_user(self, username: str) -> AppUser | None:
        """The user behind a session, or None when they were deactivated, locked or removed since login."""
        try:
            user = self.get(username)
        except NotFound:
            return None
        if not user.is_active or user.is_locked():
            return None
        return user

    def authenticator_credentials(self) -> dict[str, Any]:
        """The credentials dict streamlit-authenticator expects, built fresh from the database on every run.

        Locked users are listed with their failure count at the limit, so the form refuses them before checking
        the password; deactivated and Supabase-auth users are left out, so even a valid cookie cannot log them in.
        """
        with self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                "select username, email, name, role, password_hash, locked_until > now() as locked"
                " from dba_admin.users where is_active and auth_source = 'local' /* dba_admin */"
            )
            rows = cur.fetchall()
        return {
            "usernames": {
                row["username"]: {
                    "email": row["email"],
                    "name": row["name"] or row["username"],
                    "password": row["password_hash"],
                    "roles": [row["role"]],
                    "failed_login_attempts": self.max_failures if row["locked"] else 0,
                    "logged_in": False,
                }
                for row in rows
            }
        }

    # ---- login events ----------------------------------------------------------------------------------
    def authenticate(self, username: str, password: str) -> AppUser:
        """Check a password with lockout; used by the CLI, the tests and as the single source of the rules."""
        username = username.strip().lower()
        refusal: AuthError | None = None
        with self.conn.transaction():  # the audit row commits even when the login is refused
            with self.conn.cursor(row_factory=dict_row) as cur:
                cur.execute(
                    sql.SQL(
                        "select {}, password_hash from dba_admin.users where username = %s for update /* dba_admin */"
                    ).format(_USER_COLUMNS),
                    (username,),
                )
                row = cur.fetchone()
            if row is None or not row["is_active"] or row["auth_source"] != "local":
                audit.record(self.conn, "login.failed", actor=username, details={"reason": "unknown or inactive user"})
                refusal = AuthError("wrong username or password")
            elif _user(row).is_locked():
                audit.record(self.conn, "login.refused_locked", actor=username)
                refusal = AccountLocked(username, row["locked_until"])
        if refusal is not None:
            raise refusal
        assert row is not None
        if not verify_password(password, row["password_hash"]):
            locked_until = self.record_failure(username)
            if locked_until:
                raise AccountLocked(username, locked_until)
            raise AuthError("wrong username or password")
        return self.record_success(username)

    def record_failure(self, username: str) -> dt.datetime | None:
        """Count a failed login; at the limit lock the account. Returns the lock's end when it locked now."""
        with self.conn.transaction():
            row = self.conn.execute(
                "update dba_admin.users set failed_attempts = failed_attempts + 1,"
                " locked_until = case when failed_attempts + 1 >= %s then now() + %s else locked_until end"
                " where username = %s returning failed_attempts, locked_until /* dba_admin */",
                (self.max_failures, self.lockout, username),
            ).fetchone()
            audit.record(
                self.conn, "login.failed", actor=username, details={"failed_attempts": row[0] if row else None}
            )
            if row and row[0] >= self.max_failures:
                audit.record(
                    self.conn, "login.locked", actor=username, details={"until": row[1].isoformat(), "attempts": row[0]}
                )
                return row[1]
        return None

    def record_success(self, username: str) -> AppUser:
        with self.conn.transaction():
            self.conn.execute(
                "update dba_admin.users set failed_attempts = 0, locked_until = null, last_login_at = now()"
                " where username = %s /* dba_admin */",
                (username,),
            )
            audit.record(self.conn, "login.success", actor=username)
        return self.get(username)

    def record_logout(self, username: str) -> None:
        with self.conn.transaction():
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
    ) -> tuple[AppUser, str | None]:
        """Create a user; with no password given for a local user, a random one is generated and returned once."""
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
            with self.conn.transaction():
                self.conn.execute(
                    "insert into dba_admin.users"
                    " (username, email, name, role, password_hash, auth_source, password_changed_at)"
                    " values (%s, %s, %s, %s, %s, %s, now()) /* dba_admin */",
                    (username, email, name, role, password_hash, auth_source),
                )
                audit.record(
                    self.conn, "user.create", actor=actor, target=username, details={"role": role, "email": email}
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

    def set_role(self, *, actor: str | None, username: str, role: str) -> AppUser:
        _validate(role=role)
        user = self.get(username)
        with self.conn.transaction():
            if user.role == "admin" and role != "admin":
                self._guard_last_admin(user.username)
            self.conn.execute(
                "update dba_admin.users set role = %s where username = %s /* dba_admin */", (role, user.username)
            )
            audit.record(
                self.conn, "user.set_role", actor=actor, target=user.username, details={"from": user.role, "to": role}
            )
        return self.get(username)

    def reset_password(self, *, actor: str | None, username: str, password: str | None = None) -> str | None:
        """Set a new password (random when none is given, returned once); also clears a lock."""
        user = self.get(username)
        if user.auth_source != "local":
            raise AuthError(f"{username} logs in through Supabase Auth: reset the password there")
        generated = None
        if password is None:
            password = generated = secrets.token_urlsafe(12)
        _check_password_strength(password)
        with self.conn.transaction():
            self.conn.execute(
                "update dba_admin.users set password_hash = %s, password_changed_at = now(), failed_attempts = 0,"
                " locked_until = null where username = %s /* dba_admin */",
                (hash_password(password), user.username),
            )
            audit.record(self.conn, "user.reset_password", actor=actor, target=user.username)
        return generated

    def lock(self, *, actor: str | None, username: str, minutes: int | None = None) -> AppUser:
        user = self.get(username)
        until = dt.timedelta(minutes=minutes) if minutes else dt.timedelta(days=36500)
        with self.conn.transaction():
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
        with self.conn.transaction():
            self.conn.execute(
                "update dba_admin.users set locked_until = null, failed_attempts = 0"
                " where username = %s /* dba_admin */",
                (user.username,),
            )
            audit.record(self.conn, "user.unlock", actor=actor, target=user.username)
        return self.get(username)

    def set_active(self, *, actor: str | None, username: str, active: bool) -> AppUser:
        user = self.get(username)
        with self.conn.transaction():
            if not active and user.role == "admin":
                self._guard_last_admin(user.username)
            self.conn.execute(
                "update dba_admin.users set is_active = %s where username = %s /* dba_admin */", (active, user.username)
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
