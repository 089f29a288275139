"""Settings in one typed place: environment variables > .streamlit/secrets.toml > defaults.

Every other module receives a ``Settings`` object instead of reading the environment itself, so a
test can build one explicitly and two app servers configured the same way behave the same way.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

from dba_admin.errors import ConfigError

SECRETS_FILE = Path(".streamlit") / "secrets.toml"
DEFAULT_GEMINI_MODEL = "gemini-2.5-flash"


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("dba-admin", appauthor=False))


@dataclass(frozen=True)
class Settings:
    """Everything the app can be told. Env var names are the field names upper-cased."""

    database_url: str | None = None
    readonly_database_url: str | None = None
    # The login for per-user RLS transactions (NOINHERIT, member of anon and authenticated only); generated if unset.
    authenticator_database_url: str | None = None
    data_dir: Path = field(default_factory=_default_data_dir)
    statement_timeout_ms: int = 30_000
    lock_timeout_ms: int = 5_000
    max_rows: int = 10_000
    max_result_bytes: int = 64 * 1024 * 1024  # beside the row cap: fetching a result stops past this many bytes
    max_concurrent_runs_per_user: int = 2  # SQL runs at once per user (0: no cap), so no one holds every connection
    pool_max_size: int = 10
    # Per registered connection and login (monitor, read-only, DBA): pools open on first use, close idle connections.
    connection_pool_size: int = 3
    # Registered connections whose pools an app server keeps open at once; the least recently used is closed first.
    max_open_connections: int = 8
    # The DBA login of connection `default` (the workspace database itself, when no connection is registered).
    dba_database_url: str | None = None
    # Fernet key (urlsafe base64, 32 bytes) that encrypts connection secrets in the workspace; generated into the data
    # dir on the embedded default, required on a remote workspace (every app server must share it).
    secrets_key: str | None = None
    connection: str | None = None  # the connection the CLI works on (DBA_ADMIN_CONNECTION); the first one if unset
    fleet_timeout_s: float = 5.0  # the Fleet page and `advise --all`: a connection that takes longer shows as such
    # Schemas an API (PostgREST) serves, for the security advisors. Empty: detected per connection (Supabase's
    # authenticator role and its pgrst.db_schemas), and none on a plain PostgreSQL.
    exposed_schemas: tuple[str, ...] = ()
    gemini_api_key: str | None = None
    gemini_model: str = DEFAULT_GEMINI_MODEL
    gemini_base_url: str | None = None  # only for a proxy or a test server; the SDK's default otherwise
    gemini_timeout_s: float = 30.0
    # The most one question waits for Gemini (every attempt, retry and the SQL repair included); then offline.
    assistant_deadline_s: float = 30.0
    assistant_token_budget: int = 8_000
    assistant_daily_token_limit: int = 200_000
    assistant_send_samples: bool = False
    supabase_url: str | None = None
    supabase_anon_key: str | None = None
    cookie_key: str | None = None
    cookie_expiry_days: float = 0.0  # when > 0, overrides cookie_expiry_hours (kept for older configs)
    cookie_expiry_hours: float = 8.0  # lifetime of the re-login cookie; 0 = no cookie, log in every visit
    login_max_failures: int = 3  # failed logins (per address and per username) before delays start
    login_delay_base_seconds: float = 1.0  # the first delay; it doubles with each further failure
    login_delay_max_seconds: float = 60.0  # the cap: a failed login never locks an account
    trusted_proxy_hops: int = 0  # reverse proxies in front that append X-Forwarded-For; 0 = trust no header
    trash_retention_days: int = 30  # trashed projects/scripts purged at app start after this many days; 0 = never
    load_demo: bool = True
    # The embedded demo's made-up month of runs, projects and questions by three deactivated demo people
    # (dba_admin/demo_history.py), written once on a fresh workspace; DBA_ADMIN_DEMO_HISTORY=0 turns it off.
    demo_history: bool = True
    # Alert e-mails (dba_admin/jobs/delivery.py): the SMTP server, its login (optional) and the sender. STARTTLS is
    # used when SMTP_STARTTLS is true (the default; turn it off only for a server on loopback or a trusted network).
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str | None = None
    smtp_starttls: bool = True
    smtp_timeout_s: float = 10.0

    @property
    def embedded(self) -> bool:
        """True when no DATABASE_URL is set and the app runs its own PostgreSQL."""
        return not self.database_url

    @property
    def backups_dir(self) -> Path:
        return self.data_dir / "backups"

    @property
    def cookie_lifetime_seconds(self) -> float:
        """How long a re-login cookie (and the token inside it) stays valid; 0 means none is written."""
        if self.cookie_expiry_days > 0:
            return self.cookie_expiry_days * 86_400
        return max(0.0, self.cookie_expiry_hours) * 3_600

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def _coerce(name: str, raw: Any, default: Any) -> Any:
    """Turn a string from the environment into the type of the field's default."""
    if raw is None:
        return None
    try:
        if isinstance(default, bool):
            if isinstance(raw, bool):
                return raw
            return str(raw).strip().lower() in {"1", "true", "yes", "on"}
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, Path):
            return Path(str(raw)).expanduser()
        if isinstance(default, tuple):
            items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
            return tuple(str(item).strip() for item in items if str(item).strip())
    except ValueError as exc:
        raise ConfigError(f"setting {name.upper()}={raw!r} is not a valid {type(default).__name__}") from exc
    return str(raw) if raw != "" else None


def read_secrets_file(path: Path | None = None) -> dict[str, Any]:
    """The flat top-level keys of Streamlit's secrets.toml, if the file exists."""
    path = path or Path(os.environ.get("DBA_ADMIN_SECRETS_FILE", SECRETS_FILE))
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    return {key.upper(): value for key, value in data.items() if not isinstance(value, dict)}


def load_settings(env: Mapping[str, str] | None = None, secrets: Mapping[str, Any] | None = None) -> Settings:
    """Build settings from the environment, then the secrets file, then the defaults."""
    env = os.environ if env is None else env
    secrets = read_secrets_file() if secrets is None else secrets
    base = Settings()
    values: dict[str, Any] = {}
    for f in fields(Settings):
        key = f.name.upper()
        prefixed = f"DBA_ADMIN_{key}"
        raw: Any = None
        for source in (env, secrets):
            for candidate in (key, prefixed):
                if candidate in source and source[candidate] not in (None, ""):
                    raw = source[candidate]
                    break
            if raw is not None:
                break
        if raw is not None:
            values[f.name] = _coerce(f.name, raw, getattr(base, f.name))
    settings = replace(base, **values)
    if settings.max_rows <= 0 or settings.statement_timeout_ms <= 0:
        raise ConfigError("MAX_ROWS and STATEMENT_TIMEOUT_MS must be positive")
    if settings.max_result_bytes <= 0 or settings.max_concurrent_runs_per_user < 0:
        raise ConfigError("MAX_RESULT_BYTES must be positive and MAX_CONCURRENT_RUNS_PER_USER at least 0")
    if settings.cookie_expiry_days < 0 or settings.cookie_expiry_hours < 0 or settings.login_max_failures < 0:
        raise ConfigError("COOKIE_EXPIRY_HOURS, COOKIE_EXPIRY_DAYS and LOGIN_MAX_FAILURES must not be negative")
    if settings.login_delay_base_seconds <= 0 or settings.login_delay_max_seconds < settings.login_delay_base_seconds:
        raise ConfigError("LOGIN_DELAY_BASE_SECONDS must be positive and at most LOGIN_DELAY_MAX_SECONDS")
    if settings.cookie_key is not None and len(settings.cookie_key.encode()) < 32:
        raise ConfigError(
            "COOKIE_KEY must be at least 32 bytes; generate one with"
            " `python -c 'import secrets;print(secrets.token_urlsafe(48))'`"
        )
    return settings
