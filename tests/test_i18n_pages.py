"""The language a user reads: saved per user (dba_admin.users.locale), else the browser's, else English.

Through AppTest from app.py: the login page, the sidebar, Home and Users in each language; the sidebar's picker
saving the choice; the store's round trip and the table's check constraint.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from apptest_helpers import APP, login, make_user, rerun_app, texts
from streamlit.testing.v1 import AppTest

from dba_admin.auth import UserStore
from dba_admin.errors import AuthError
from ui.login import LOCALE_PICKER_KEY
from ui.session import widget_key_for


@pytest.fixture(autouse=True)
def _app_env(app_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))


def _session(browser_locale: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if browser_locale:
        at.context = {"locale": browser_locale}
    at.run()
    assert not at.exception, at.exception
    return at


def _saved_locale(dsn: str, username: str) -> str | None:
    with psycopg.connect(dsn) as conn:
        return UserStore(conn).get(username).locale


def _buttons(at: AppTest) -> set[str]:
    return {b.label for b in at.button}


def test_english_by_default(app_db: Any) -> None:
    username, password = make_user(app_db.dsn, "analyst")
    at = _session()
    assert [t.label for t in at.text_input][:2] == ["Username", "Password"]
    login(at, username, password)
    assert not at.exception, at.exception
    assert "Log out" in _buttons(at)
    assert "Where to go" in texts(at)
    assert at.selectbox(key=widget_key_for(LOCALE_PICKER_KEY, "en")).value == "en"
    assert _saved_locale(app_db.dsn, username) is None


def test_a_saved_portuguese_choice_applies_at_login(app_db: Any) -> None:
    username, password = make_user(app_db.dsn, "analyst")
    with psycopg.connect(app_db.dsn, autocommit=True) as conn:
        assert UserStore(conn).set_locale(username, "pt_BR").locale == "pt_BR"
    at = _session()  # a browser in English: the saved choice wins after login
    login(at, username, password)
    assert not at.exception, at.exception
    shown = texts(at)
    assert "Sair" in _buttons(at) and "Log out" not in _buttons(at)
    assert "Para onde ir" in shown and "Where to go" not in shown
    assert "Conectado como" in shown
    assert "Início" in [link.label for link in at.get("page_link")]
    assert any(m.label == "Banco de dados" for m in at.metric)


def test_the_sidebar_picker_switches_and_saves_for_the_user(app_db: Any) -> None:
    username, password = make_user(app_db.dsn, "viewer")
    at = _session()
    login(at, username, password)
    at.selectbox(key=widget_key_for(LOCALE_PICKER_KEY, "en")).set_value("pt_BR").run()
    rerun_app(at)
    assert not at.exception, at.exception
    assert "Sair" in _buttons(at)
    assert _saved_locale(app_db.dsn, username) == "pt_BR"

    fresh = _session()  # another session (another computer): the choice travels with the account
    login(fresh, username, password)
    assert "Sair" in _buttons(fresh)

    at.selectbox(key=widget_key_for(LOCALE_PICKER_KEY, "pt_BR")).set_value("en").run()
    rerun_app(at)
    assert "Log out" in _buttons(at)
    assert _saved_locale(app_db.dsn, username) == "en"


def test_the_browser_language_decides_before_login_and_without_a_saved_choice(app_db: Any) -> None:
    username, password = make_user(app_db.dsn, "analyst")
    at = _session("pt-BR")
    assert [t.label for t in at.text_input][:2] == ["Usuário", "Senha"]
    assert "Entrar" in _buttons(at)
    assert "entre para continuar" in texts(at)
    login(at, username, password)
    assert not at.exception, at.exception
    assert "Sair" in _buttons(at)
    assert _saved_locale(app_db.dsn, username) is None  # followed, not saved

    english = _session("en-US")
    assert [t.label for t in english.text_input][:2] == ["Username", "Password"]


def test_a_wrong_password_is_refused_in_portuguese(app_db: Any) -> None:
    username, _password = make_user(app_db.dsn, "analyst")
    at = _session("pt-BR")
    login(at, username, "not-the-password")
    assert "Usuário ou senha incorretos." in [e.value for e in at.error]


def test_users_page_in_portuguese(app_db: Any) -> None:
    username, password = make_user(app_db.dsn, "admin")
    with psycopg.connect(app_db.dsn, autocommit=True) as conn:
        UserStore(conn).set_locale(username, "pt_BR")
    at = _session()
    login(at, username, password)
    at.switch_page("pages/users.py").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Usuários"]
    assert {"Criar usuário", "Definir papel", "Redefinir senha"} <= _buttons(at)
    assert {"Usuário", "E-mail", "Nome completo"} <= {t.label for t in at.text_input}


def test_set_locale_round_trip_and_refusals(app_db: Any) -> None:
    username, _password = make_user(app_db.dsn, "viewer")
    with psycopg.connect(app_db.dsn, autocommit=True) as conn:
        store = UserStore(conn)
        assert store.get(username).locale is None
        assert store.set_locale(username, "pt_BR").locale == "pt_BR"
        assert store.set_locale(username, None).locale is None  # back to the browser's language
        with pytest.raises(AuthError, match="locale must be one of"):
            store.set_locale(username, "xx")
        assert store.get(username).locale is None
        # The table refuses it too, whoever writes (a script, another tool).
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("update dba_admin.users set locale = 'xx' where username = %s", (username,))
        row = conn.execute(
            "select count(*) from dba_admin.audit_log where target = %s and action like %s", (username, "%locale%")
        ).fetchone()
    assert row == (0,)  # a reading preference, not audited
