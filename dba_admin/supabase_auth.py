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


def login_with_supabase(store: UserStore, url: str, anon_key: str, email: str, password: str) -> AppUser:
    """Sign in with Supabase, then map the account to an app user (created on first login when metadata says so)."""
    try:
        identity = sign_in(url, anon_key, email, password)
    except AuthError:
        with store.conn.transaction():
            audit.record(store.conn, "login.failed", actor=email.strip().lower(), details={"source": "supabase"})
        raise
    existing = store.get_by_email(identity.email)
    if existing is not None and existing.auth_source != "supabase":
        raise AuthError("this email belongs to a local account: log in with its username and password")
    if existing is None:
        if identity.app_role is None:
            with store.conn.transaction():
                audit.record(store.conn, "login.refused_no_role", actor=identity.email, details={"source": "supabase"})
            raise AuthError("your Supabase account has no DBA Admin role yet: ask an admin to grant you one")
        existing, _ = store.create_user(
            actor="supabase-auth",
            username=identity.email[:64],
            email=identity.email,
            role=identity.app_role,
            auth_source="supabase",
        )
    elif identity.app_role and identity.app_role != existing.role:
        existing = store.set_role(actor="supabase-auth", username=existing.username, role=identity.app_role)
    if not existing.is_active:
        raise AuthError("this account is deactivated: ask an admin")
    return store.record_success(existing.username)
