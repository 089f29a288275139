"""The workbench and monitor pages in Portuguese: each renders without an exception when the session's language is
pt_BR, and shows its labels from the catalog (not the English source). One login, six page runs on connection demo."""

from __future__ import annotations

from typing import Any

import pytest
from apptest_helpers import APP, as_read, login, make_user, texts
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.testing.v1 import AppTest

from ui import i18n as ui_i18n
from ui.i18n import SESSION_KEY


@pytest.fixture(autouse=True)
def _app_env(app_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))


@pytest.fixture
def _portuguese_between_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """AppTest re-reads the last page's widgets between runs, outside any script run, where Streamlit has no session:
    a translated format_func would then answer in English and AppTest would not find the option it drew. Outside a
    run the language is pt_BR, as the user's browser would have it; inside one the page reads the session as always.
    """
    in_a_run = ui_i18n.current_locale
    monkeypatch.setattr(
        ui_i18n, "current_locale", lambda: in_a_run() if get_script_run_ctx(suppress_warning=True) else "pt_BR"
    )


def _labels(at: AppTest) -> set[str]:
    """The labels of the widgets, metrics and tabs a page drew."""
    kinds = ("button", "toggle", "selectbox", "multiselect", "radio", "text_input", "text_area", "number_input")
    found = {str(w.label) for kind in kinds for w in getattr(at, kind)}
    found |= {str(m.label) for m in at.metric}
    found |= {str(t.label) for t in at.tabs}
    return found


@pytest.mark.usefixtures("_portuguese_between_runs")
def test_workbench_pages_render_in_portuguese(app_db: Any) -> None:
    username, password = make_user(app_db.dsn, "dba")
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[SESSION_KEY] = "pt_BR"  # the user's choice, as the language picker stores it
    at.run()
    login(at, username, password)
    assert not at.exception, at.exception

    expected: dict[str, tuple[str, set[str], list[str]]] = {
        # page: (its title, some widget/metric/tab labels, some texts)
        "pages/activity.py": ("Atividade", {"Sessões ociosas", "Atualização automática", "Sessões"}, []),
        "pages/dashboard.py": ("Painel", {"Atualizar agora", "Tamanho do banco", "Commits"}, ["Commits e rollbacks"]),
        "pages/objects.py": ("Objetos", {"Visão", "Schemas e papéis do sistema", "Buscar"}, ["Escolha um objeto"]),
        "pages/statements.py": ("Consultas", set(), ["Do pg_stat_statements"]),
        "pages/sql_editor.py": ("Editor SQL", {"Executar", "Formatar", "Sugestão de índices"}, []),
        "pages/explorer.py": ("Explorador de tabelas", {"Dados", "Colunas", "Linhas por página"}, []),
    }
    for page, (title, labels, phrases) in expected.items():
        if page == "pages/explorer.py":  # a table open, so its tabs and data controls are drawn
            at.query_params["schema"] = "public"
            at.query_params["table"] = "campaign_recipients"
        at.switch_page(page).run()
        assert not at.exception, f"{page}: {at.exception}"
        assert [as_read(t.value) for t in at.title][:1] == [title], page
        shown = _labels(at)
        assert labels <= shown, f"{page}: missing {labels - shown}"
        assert all(p in texts(at) for p in phrases), page
        assert not {"Refresh", "Search", "Run", "Data", "Sessions"} & shown, f"{page}: English labels left"
    assert "Linhas 1–100 de" in texts(at), "the explorer's pager in Portuguese, numbers formatted for pt_BR"
