"""Optional login with Supabase Auth accounts (email + password) through the official `supabase` client.

With SUPABASE_URL and SUPABASE_ANON_KEY set, a person signs in with their Supabase account; the app role comes
from the account's ``app_metadata.app_role`` (set by an admin through the Supabase dashboard or service key — a
user cannot change app_metadata) or, failing that, from a ``dba_admin.users`` row with ``auth_source =
'supabase'`` and the same email (the mapping table). Someone with neither gets a clear refusal, not a default role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dba_admin import audit
from dba_admin.auth import ROLES, AppUser, UserStore
from dba_admin.errors import AuthError


@dataclass(frozen=True)
class SupabaseIdentity:
    user_id: str
    email: str
    app_role: str | None


def sign_in(url: str, anon_key: str, email: str, password: str, *, timeout_s: float = 10.0) -> SupabaseIdentity:
    """Check email and password with Supabase Auth (GoTrue); raises AuthError with a message safe to show."""
    from supabase import ClientOptions, create_client
    from supabase_auth.errors import AuthApiError, AuthRetryableError

    try:
        client = create_client(url, anon_key, options=ClientOptions(auto_refresh_token=False, persist_session=False))
        response = client.auth.sign_in_with_password({"email": email.strip().lower(), "password": password})
    except AuthRetryableError as exc:
        raise AuthError("Supabase Auth is not reachable right now: try again in a minute") from exc
    except AuthApiError as exc:
        if exc.status in (400, 401, 403, 422):
            raise AuthError("wrong email or password (Supabase Auth)") from exc
        raise AuthError(f"Supabase Auth failed (HTTP {exc.status}): try again later") from exc
    except Exception as exc:  # client and configuration errors: the person needs a message, not a traceback
        raise AuthError(f"Supabase Auth could not be used: {type(exc).__name__}") from exc
    user = response.user
    if user is None or not user.email:
        raise AuthError("Supabase Auth returned no user")
    metadata: dict[str, Any] = dict(user.app_metadata or {})
    role = metadata.get("app_role")
    return SupabaseIdentity(user_id=str(user.id), email=user.email.lower(), app_role=role if role in ROLES else None)


def supabase_username(email: str) -> str:
    """The app username of a Supabase Auth account: its email (lower-cased, at most 64 characters)."""
    return email.strip().lower()[:64]


def login_with_supabase(store: UserStore, url: str, anon_key: str, email: str, password: str) -> AppUser:
    """Sign in with Supabase, then map the account to an app user (created on first login when metadata says so).

    Audit rows name the person by app username like every other row: the account's username when it has one, else
    the username it would get; the email is in the details. Role syncs from app_metadata are the person's own login
    (actor: their username, details.via "supabase_auth").
    """
    typed = email.strip().lower()
    try:
        identity = sign_in(url, anon_key, email, password)
    except AuthError:
        known = store.get_by_email(typed)
        with store.conn.transaction():
            audit.record(
                store.conn,
                "login.failed",
                actor=known.username if known is not None else supabase_username(typed),
                details={"source": "supabase", "email": typed},
            )
        raise
    existing = store.get_by_email(identity.email)
    if existing is not None and existing.auth_source != "supabase":
        raise AuthError("this email belongs to a local account: log in with its username and password")
    if existing is None:
        if identity.app_role is None:
            with store.conn.transaction():
                audit.record(
                    store.conn,
                    "login.refused_no_role",
                    actor=supabase_username(identity.email),
                    details={"source": "supabase", "email": identity.email},
                )
            raise AuthError("your Supabase account has no DBA Admin role yet: ask an admin to grant you one")
        username = supabase_username(identity.email)
        existing, _ = store.create_user(
            actor=username,
            username=username,
            email=identity.email,
            role=identity.app_role,
            auth_source="supabase",
            via="supabase_auth",
        )
    elif identity.app_role and identity.app_role != existing.role:
        existing = store.set_role(
            actor=existing.username, username=existing.username, role=identity.app_role, via="supabase_auth"
        )
    if not existing.is_active:
        raise AuthError("this account is deactivated: ask an admin")
    return store.record_success(existing.username)
