"""The Fleet and Connections pages through AppTest (from app.py, real login, the suite's real server).

A dead connection (a closed loopback port) is registered next to the demo: the Fleet page must show it as such
while the demo's figures are there. The Connections page adds a real database (after checking its login),
refuses a dead one without saving or echoing its password, edits access and removes with a typed confirmation.
"""

from __future__ import annotations

import contextlib
import json
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from apptest_helpers import logged_in_page, texts
from db_helpers import workspace_manager
from streamlit.testing.v1 import AppTest

from dba_admin.connections import DEMO_CONNECTION, ConnectionSecrets, Registry
from dba_admin.errors import DbaAdminError, NotFound
from dba_admin.services import Services

FLEET = "pages/fleet.py"
CONNECTIONS = "pages/connections.py"
SECRET = "page-s3cret-pw"


@pytest.fixture(autouse=True)
def _app_env(app_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))


@pytest.fixture(scope="module")
def registry(app_db: Any) -> Iterator[Registry]:
    """The registry the app reads (same workspace, same data-dir key)."""
    services = Services(settings=app_db.settings, db=workspace_manager(app_db), embedded=True, dsn=app_db.dsn)
    yield services.registry
    services.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def dead_connection(registry: Registry) -> Iterator[str]:
    name = f"dead-{uuid.uuid4().hex[:6]}"
    dsn = f"postgresql://monitor:{SECRET}@127.0.0.1:{closed_port()}/gone"
    registry.add(name, ConnectionSecrets(dsn), actor="tests", roles=("admin", "dba"))
    yield name
    with contextlib.suppress(DbaAdminError):
        registry.remove(name, actor="tests")


def fleet_table(at: AppTest) -> pd.DataFrame:
    frame = at.dataframe[0].value
    assert isinstance(frame, pd.DataFrame)
    return frame


def metric(at: AppTest, label: str) -> str:
    return str(next(m for m in at.metric if m.label == label).value)


def submit(at: AppTest, label: str) -> None:
    next(b for b in at.button if b.label == label).click().run()


# -- Fleet --------------------------------------------------------------------------------------------------


def test_fleet_shows_the_demo_and_a_dead_connection_as_such(app_db: Any, dead_connection: str) -> None:
    at, _ = logged_in_page(app_db.dsn, FLEET, "dba")
    assert not at.exception, at.exception
    table = fleet_table(at).set_index("connection")
    assert table.loc[DEMO_CONNECTION, "status"] == "ok"
    assert table.loc[DEMO_CONNECTION, "version"] != "—" and table.loc[DEMO_CONNECTION, "size"] != "—"
    assert table.loc[DEMO_CONNECTION, "ERROR"] is not None
    assert table.loc[dead_connection, "status"] == "unreachable"
    assert table.loc[dead_connection, ""] == "🔴"
    assert "refused" in table.loc[dead_connection, "note"]
    shown = texts(at)
    assert "Not every connection answered" in shown and dead_connection in shown
    assert int(metric(at, "Down or slow")) >= 1 and int(metric(at, "Reachable")) >= 1
    assert SECRET not in shown and SECRET not in fleet_table(at).to_string()
    assert [t.label for t in at.tabs] == ["Table", "Charts"] and not at.get("plotly_chart"), "the charts wait"
    at.session_state["fleet_tab"] = "Charts"
    at.run()
    assert not at.exception, at.exception
    assert not at.dataframe, "only the open tab is drawn"
    assert len(at.get("plotly_chart")) >= 2, "connections and findings charts"
    findings_chart = json.loads(at.get("plotly_chart")[1].proto.spec)
    assert [(t["name"], t["marker"]["color"]) for t in findings_chart["data"]] == [
        ("ERROR", "#d62728"),
        ("WARN", "#ff7f0e"),
        ("INFO", "#1f77b4"),
    ], "one bar part per level, ERROR red"
    assert DEMO_CONNECTION in findings_chart["data"][0]["y"]

    at.session_state["fleet_tab"] = "Table"
    at.button(key="fleet_refresh").click().run()
    assert not at.exception, at.exception
    assert dead_connection in set(fleet_table(at)["connection"])

    at.toggle(key="fleet_advisors").set_value(False).run()
    assert not at.exception, at.exception
    assert fleet_table(at).set_index("connection").loc[DEMO_CONNECTION, "ERROR"] is None or pd.isna(
        fleet_table(at).set_index("connection").loc[DEMO_CONNECTION, "ERROR"]
    )
    at.session_state["fleet_tab"] = "Charts"
    at.run()
    assert "Advisor counts are off" in texts(at)


def test_fleet_is_for_dbas(app_db: Any) -> None:
    at, _ = logged_in_page(app_db.dsn, FLEET, "analyst")
    assert "needs the role" in texts(at)
    assert not at.dataframe


def test_fleet_empty_state_when_nothing_is_open_to_you(app_db: Any, registry: Registry) -> None:
    """A DBA whose role was taken off every connection: the page says so and what to do."""
    changed = [(i.name, i.roles) for i in registry.list() if "dba" in i.roles]
    for name, roles in changed:
        registry.set_access(name, actor="tests", roles=[r for r in roles if r != "dba"])
    try:
        at, _ = logged_in_page(app_db.dsn, FLEET, "dba")
        assert not at.exception, at.exception
        assert "No connection is open to you yet" in texts(at)
        assert not at.dataframe
    finally:
        for name, roles in changed:
            with contextlib.suppress(NotFound):
                registry.set_access(name, actor="tests", roles=list(roles))


# -- Connections ------------------------------------------------------------------------------------------


def test_connections_is_for_admins(app_db: Any) -> None:
    at, _ = logged_in_page(app_db.dsn, CONNECTIONS, "dba")
    assert "needs the role admin" in texts(at)


def test_add_check_access_and_remove(app_db: Any, registry: Registry, empty_db_dsn: str) -> None:
    at, admin = logged_in_page(app_db.dsn, CONNECTIONS, "admin")
    assert not at.exception, at.exception
    listed = at.dataframe[0].value
    assert DEMO_CONNECTION in set(listed["connection"])
    assert "monitor" not in listed.columns and "password" not in listed.to_string()
    name = f"page-{uuid.uuid4().hex[:6]}"
    superuser_password = app_db.server.superuser_password_file.read_text().strip()
    try:
        # A dead DSN: said, nothing saved, the password never shown.
        at.text_input(key="connections_name_0").input(name)
        at.text_input(key="connections_monitor_0").input(
            f"postgresql://monitor:{SECRET}@127.0.0.1:{closed_port()}/gone"
        )
        submit(at, "Check and add")
        assert not at.exception, at.exception
        shown = texts(at)
        assert "could not connect" in shown and "nothing was saved" in shown
        assert SECRET not in shown
        assert name not in {i.name for i in registry.list()}

        # A real one (a superuser DSN: it works, with a warning to prefer a least-privilege login).
        at.text_input(key="connections_monitor_0").input(empty_db_dsn)
        at.text_input(key="connections_description_0").input("a database of the page test")
        at.multiselect(key="connections_roles_0").set_value(["admin", "dba"])
        at.text_area(key="connections_users_0").input("Someone@Example.com")
        submit(at, "Check and add")
        assert not at.exception, at.exception
        shown = texts(at)
        assert f"Connection {name} added." in shown
        assert "is a superuser: it works, but a least-privilege login is safer" in shown
        assert superuser_password not in shown and SECRET not in shown
        info = registry.get(name)
        assert info.roles == ("admin", "dba") and info.users == ("someone@example.com",)
        assert info.created_by == admin
        assert at.text_input(key="connections_monitor_1").value == "", "the form starts empty after a save"
        assert name in set(at.dataframe[0].value["connection"])

        # Access.
        at.selectbox(key="connections_access_target").set_value(name).run()
        at.multiselect(key=f"connections_access_roles_{name}").set_value(["admin"])
        at.text_area(key=f"connections_access_users_{name}").input("a@example.com\nb@example.com")
        at.button(key="connections_access_save").click().run()
        assert not at.exception, at.exception
        assert f"Access to {name} saved." in texts(at)
        info = registry.get(name)
        assert info.roles == ("admin",) and info.users == ("a@example.com", "b@example.com")

        # Remove: only after typing the name.
        at.selectbox(key="connections_remove_target").set_value(name).run()
        assert at.button(key="connections_remove").disabled
        at.text_input(key=f"connections_remove_confirm_{name}").input(name).run()
        at.button(key="connections_remove").click().run()
        assert not at.exception, at.exception
        assert f"Connection {name} removed." in texts(at)
        assert name not in {i.name for i in registry.list()}
    finally:
        with contextlib.suppress(DbaAdminError):
            registry.remove(name, actor="tests")


def test_add_refuses_a_bad_name_and_shows_the_setup_command(app_db: Any) -> None:
    at, _ = logged_in_page(app_db.dsn, CONNECTIONS, "admin")
    at.text_input(key="connections_name_0").input("Bad Name!")
    at.text_input(key="connections_monitor_0").input(f"postgresql://u:{SECRET}@127.0.0.1:1/x")
    submit(at, "Check and add")
    shown = texts(at)
    assert "is not valid" in shown and SECRET not in shown
    assert any("dba-admin connection setup mydb --admin-dsn" in c.value for c in at.code)
