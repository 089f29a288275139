"""Helpers for tests against the suite's real server (registered in conftest's pytest_plugins).

The ``db`` fixture: a DatabaseManager on the demo database, one per test module (a module may define its own).
For other clients' sessions: a statement running on its own connection (as another user's would), waiting for
a backend's state, and the audit rows of a signalled backend (the activity core and workbench page tests).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from dba_admin.config import Settings
from dba_admin.database import DatabaseManager
from dba_admin.local_pg import DBA_ROLE
from dba_admin.projects import ProjectManager
from dba_admin.rls import UserClaims


@pytest.fixture(scope="module")
def pm(db: DatabaseManager) -> ProjectManager:
    """The ProjectManager on the module's ``db``."""
    return ProjectManager(db)


@pytest.fixture
def user_conn(app_db: Any) -> Iterator[psycopg.Connection[Any]]:
    """The authenticator login: the base of every per-user (RLS) transaction, as any Supabase client's request."""
    with psycopg.connect(app_db.authenticator_dsn, autocommit=True) as conn:
        yield conn


def user(label: str = "user", role: str = "analyst") -> UserClaims:
    """Claims of a new, unique user (a fresh email each call)."""
    email = f"{label}-{uuid.uuid4().hex[:10]}@example.com"
    return UserClaims(sub=uuid.uuid5(uuid.NAMESPACE_URL, email), email=email, app_role=role)


def workspace_manager(app_db: Any, settings: Settings | None = None, **kwargs: Any) -> DatabaseManager:
    """The workspace's manager (the app's own data: users, projects, runs, audit), as Services builds it."""
    return DatabaseManager(
        settings or app_db.settings, app_db.dsn, authenticator_dsn=app_db.authenticator_dsn, **kwargs
    )


def demo_manager(
    app_db: Any, settings: Settings | None = None, *, monitor: bool = False, **kwargs: Any
) -> DatabaseManager:
    """Connection `demo` (the PetCare database) with the suite's workspace behind it; closing it closes both.

    Its main login is the superuser of the demo database, so a test can set up tables through ``connection()``;
    ``monitor=True`` gives the real monitor login instead (pg_monitor and SELECT, as the app uses it).
    """
    settings = settings or app_db.settings
    pool_timeout = kwargs.pop("pool_timeout", None)
    extra = {"pool_timeout": pool_timeout} if pool_timeout is not None else {}
    return DatabaseManager(
        settings,
        app_db.demo_monitor_dsn if monitor else app_db.demo_dsn,
        kwargs.pop("readonly_dsn", app_db.demo_readonly_dsn),
        dba_dsn=kwargs.pop("dba_dsn", app_db.demo_dba_dsn),
        name="demo",
        workspace=workspace_manager(app_db, settings, **extra),
        own_workspace=True,
        **extra,
        **kwargs,
    )


def scratch_connection(
    app_db: Any, dsn: str, settings: Settings | None = None, *, name: str = "scratch", **kwargs: Any
) -> DatabaseManager:
    """A connection on a throwaway database of the suite's server (``dsn``: the superuser on it), set up as a
    registered one is: the superuser as main login (to set tables up), the read-only login, and the demo's DBA login
    (``dba_admin_dba``, never a superuser) made the database's owner, so write-mode SQL runs with an owner's rights
    only. Closing it closes its own workspace manager too.
    """
    dbname = str(conninfo_to_dict(dsn)["dbname"])
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("alter database {} owner to {}").format(sql.Identifier(dbname), sql.Identifier(DBA_ROLE)))
    settings = settings or app_db.settings
    return DatabaseManager(
        settings,
        dsn,
        app_db.server.readonly_dsn(dbname),
        dba_dsn=app_db.server.login_dsn(DBA_ROLE, dbname),
        name=name,
        workspace=workspace_manager(app_db, settings),
        own_workspace=True,
        **kwargs,
    )


@pytest.fixture(scope="module")
def db(app_db: Any) -> Iterator[DatabaseManager]:
    """Connection `demo`; ``db.workspace`` is the app's own database."""
    manager = demo_manager(app_db)
    manager.same_cluster = True
    yield manager
    manager.close()


class Background:
    """A statement running on its own connection in a thread, as another client's session would."""

    def __init__(self, dsn: str, statement: str, *, application: str | None = None, setup: str | None = None) -> None:
        self.dsn = dsn
        self.statement = statement
        self.application = application or f"bg-{uuid.uuid4().hex[:8]}"
        self.setup = setup
        self.pid: int | None = None
        self.error: BaseException | None = None
        self.result: Any = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            with psycopg.connect(self.dsn, autocommit=True, application_name=self.application) as conn:
                self.pid = conn.info.backend_pid
                if self.setup:
                    conn.execute(self.setup)
                self._ready.set()
                self.result = conn.execute(self.statement).fetchall()
        except BaseException as exc:
            self.error = exc
        finally:
            self._ready.set()

    def start(self, admin_dsn: str, *, wait_state: str = "active", timeout: float = 15) -> Background:
        self._thread.start()
        assert self._ready.wait(timeout), "the background connection did not start"
        assert self.pid is not None, self.error
        wait_for_state(admin_dsn, self.pid, wait_state, timeout=timeout)
        return self

    def join(self, timeout: float = 30) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the background statement is still running"


def wait_for_state(dsn: str, pid: int, state: str, *, timeout: float = 15, wait_event_type: str | None = None) -> None:
    """Poll pg_stat_activity until the backend reaches ``state`` (its statement really started)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute("select state, wait_event_type from pg_stat_activity where pid = %s", (pid,)).fetchone()
            if row and row[0] == state and (wait_event_type is None or row[1] == wait_event_type):
                return
            time.sleep(0.05)
    raise AssertionError(f"backend {pid} never reached state {state!r}")


def audit_rows(dsn: str, action: str, pid: int) -> list[tuple[Any, ...]]:
    """The audit rows of a cancel/terminate of backend ``pid`` (actor, target, details)."""
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "select actor, target, details from dba_admin.audit_log where action = %s and target = %s",
            (action, f"pid {pid}"),
        ).fetchall()
