"""The Projects, My history, Advisors and Connections pages in Portuguese (AppTest from app.py, real login).

One admin session, its language pinned to pt_BR the way a saved choice does (``ui.i18n.SESSION_KEY``), opens each
page: it must draw without an exception and show its labels from the catalog, not the English source.
"""

from __future__ import annotations

from typing import Any

import pytest
from apptest_helpers import logged_in_app, texts
from streamlit.testing.v1 import AppTest

from ui.i18n import SESSION_KEY


@pytest.fixture(autouse=True)
def _app_env(app_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))


def open_in_portuguese(at: AppTest, page: str) -> AppTest:
    at.session_state[SESSION_KEY] = "pt_BR"
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def labels(elements: Any) -> set[str]:
    return {e.label for e in elements}


def test_project_history_advisors_and_connections_pages_speak_portuguese(app_db: Any) -> None:
    at, _username = logged_in_app(app_db.dsn, "admin")

    open_in_portuguese(at, "pages/projects.py")
    shown = texts(at)
    assert [t.value for t in at.title] == ["Projetos"]
    assert {"Novo projeto", "Buscar scripts", "Lixeira"} <= {s.value for s in at.subheader}
    assert "Criar projeto" in labels(at.button) and "Mostrar arquivados" in labels(at.toggle)
    assert "Projetos e scripts excluídos ficam aqui" in shown and "Deleted projects" not in shown  # the trash note

    open_in_portuguese(at, "pages/history.py")
    assert [t.value for t in at.title] == ["Meu histórico"]
    assert "Nenhuma execução ainda" in texts(at)  # a new user has no runs
    assert {"Situação", "De (UTC)"} <= labels(at.selectbox) | labels(at.date_input)

    open_in_portuguese(at, "pages/advisors.py")
    assert [t.value for t in at.title] == ["Recomendações"]
    assert {"Silenciados", "Verificações não executadas"} <= labels(at.metric)
    assert "Executar verificações" in labels(at.button) and "Run checks" not in labels(at.button)
    assert "Categoria" in labels(at.multiselect)

    open_in_portuguese(at, "pages/connections.py")
    assert [t.value for t in at.title] == ["Conexões"]
    assert [t.label for t in at.tabs] == ["Adicionar", "Acesso", "Remover", "Criar logins"]
    assert "Verificar e adicionar" in labels(at.button)
