"""Settings precedence: environment > secrets.toml > defaults, with typed values and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dba_admin.config import Settings, load_settings, read_secrets_file
from dba_admin.errors import ConfigError


def test_defaults_mean_embedded() -> None:
    settings = load_settings(env={}, secrets={})
    assert settings.embedded
    assert settings.max_rows == 10_000 and settings.statement_timeout_ms == 30_000
    assert settings.backups_dir == settings.data_dir / "backups"


def test_environment_beats_secrets_file() -> None:
    settings = load_settings(
        env={"DATABASE_URL": "postgresql://env/db", "MAX_ROWS": "500"},
        secrets={"DATABASE_URL": "postgresql://secrets/db", "STATEMENT_TIMEOUT_MS": "1000"},
    )
    assert settings.database_url == "postgresql://env/db"
    assert not settings.embedded
    assert settings.max_rows == 500
    assert settings.statement_timeout_ms == 1000


def test_prefixed_names_and_types(tmp_path: Path) -> None:
    settings = load_settings(
        env={"DBA_ADMIN_DATA_DIR": str(tmp_path), "EXPOSED_SCHEMAS": "public, api", "LOAD_DEMO": "false"},
        secrets={},
    )
    assert settings.data_dir == tmp_path
    assert settings.exposed_schemas == ("public", "api")
    assert settings.load_demo is False


def test_bad_values_are_named() -> None:
    with pytest.raises(ConfigError, match="MAX_ROWS"):
        load_settings(env={"MAX_ROWS": "lots"}, secrets={})
    with pytest.raises(ConfigError, match="positive"):
        load_settings(env={"MAX_ROWS": "0"}, secrets={})
    with pytest.raises(ConfigError, match="32 bytes"):
        load_settings(env={"COOKIE_KEY": "short"}, secrets={})


def test_secrets_file_is_read_and_bad_toml_is_named(tmp_path: Path) -> None:
    good = tmp_path / "secrets.toml"
    good.write_text('database_url = "postgresql://file/db"\n[section]\nx = 1\n')
    assert read_secrets_file(good) == {"DATABASE_URL": "postgresql://file/db"}
    bad = tmp_path / "bad.toml"
    bad.write_text("database_url = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_secrets_file(bad)
    assert read_secrets_file(tmp_path / "missing.toml") == {}


def test_overrides_keep_the_rest() -> None:
    base = Settings(max_rows=5)
    assert base.with_overrides(statement_timeout_ms=10).max_rows == 5


def test_connection_settings_and_their_defaults() -> None:
    defaults = load_settings(env={}, secrets={})
    assert (defaults.connection_pool_size, defaults.max_open_connections, defaults.fleet_timeout_s) == (3, 8, 5.0)
    assert defaults.exposed_schemas == ()  # detected per connection: nothing is assumed exposed
    assert (defaults.secrets_key, defaults.dba_database_url, defaults.connection) == (None, None, None)
    key = "x" * 43 + "="  # any text: the key is checked where it is used (connections.SecretBox)
    loaded = load_settings(
        env={
            "CONNECTION_POOL_SIZE": "2",
            "MAX_OPEN_CONNECTIONS": "20",
            "FLEET_TIMEOUT_S": "1.5",
            "DBA_ADMIN_CONNECTION": "neon",
            "DBA_DATABASE_URL": "postgresql://dba@db.example.com/app",
        },
        secrets={"SECRETS_KEY": key},
    )
    assert (loaded.connection_pool_size, loaded.max_open_connections, loaded.fleet_timeout_s) == (2, 20, 1.5)
    assert (loaded.connection, loaded.dba_database_url, loaded.secrets_key) == (
        "neon",
        "postgresql://dba@db.example.com/app",
        key,
    )
    with pytest.raises(ConfigError, match="MAX_OPEN_CONNECTIONS"):
        load_settings(env={"MAX_OPEN_CONNECTIONS": "many"}, secrets={})
