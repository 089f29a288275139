"""Users, password hashing and roles. Users live in dba_admin.users so every app server shares them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import bcrypt
import psycopg

from dba_admin import audit

ROLES = ("admin", "dba", "analyst", "viewer")
FIRST_ADMIN_USERNAME = "admin"
FIRST_ADMIN_EMAIL = "admin@dba-admin.local"
_FIRST_ADMIN_LOCK = 0x0DBA_AD02


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


def ensure_first_admin(conn: psycopg.Connection) -> NewCredentials | None:
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
        audit.record(conn, "user.create", actor=None, target=FIRST_ADMIN_USERNAME, details={"role": "admin", "first_admin": True})
        return NewCredentials(FIRST_ADMIN_USERNAME, FIRST_ADMIN_EMAIL, password)
