"""The suite starts its own PostgreSQL (the same embedded default the app uses) — nothing is mocked.

`pg_server` is one throwaway cluster for the whole session; `app_db` is that cluster made ready by the
app's own bootstrap (compat layer, migrations, read-only login, demo data, first admin); `empty_db_dsn`
gives a test a brand-new empty database of its own.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from dba_admin.bootstrap import PreparedDatabase, prepare_database
from dba_admin.config import Settings
from dba_admin.local_pg import DBA_ROLE, DEMO_DATABASE, MONITOR_ROLE, EmbeddedPostgres

# shared fixtures: the module-scoped ``db`` manager, the local GoTrue and Gemini servers, the browser tests' server
pytest_plugins = ["db_helpers", "advisor_helpers", "gotrue_stub", "gemini_stub", "extra_servers", "browser_fixtures"]

# The embedded demo's made-up month of history (dba_admin/demo_history.py) stays out of the suite: many tests expect a
# fresh workspace's empty states. Set at import, so every process the suite starts (the browser tests' app server, the
# CLI) inherits it; tests/test_demo_history.py seeds a workspace of its own.
os.environ.setdefault("DBA_ADMIN_DEMO_HISTORY", "0")

# Every process the suite starts inherits this variable; at the end, any process still carrying it outlived the
# suite (a server a test forgot to stop, an orphan of a killed parent) and fails the run.
SESSION_MARK = "DBA_ADMIN_TEST_SESSION"


def _is_xdist_worker() -> bool:
    return "PYTEST_XDIST_WORKER" in os.environ


def pytest_configure(config: pytest.Config) -> None:
    # A fresh mark per test run; parallel workers keep the one of the run that started them, so the run's own
    # session-end check (which waits for the workers to end first) sees every process any worker started.
    if not (_is_xdist_worker() and os.environ.get(SESSION_MARK)):
        os.environ[SESSION_MARK] = uuid.uuid4().hex


@functools.cache
def _drives_the_ui(path: str) -> bool:
    """A test module that renders pages (Streamlit's AppTest, or Chromium through Playwright)."""
    source = Path(path).read_text(encoding="utf-8")
    return "AppTest" in source or "apptest_helpers" in source or "browser_page" in source


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that render pages run without coverage's line tracing.

    The gate measures the core (``dba_admin/``, see [tool.coverage.run]) by its own tests. On Python 3.11 a trace
    function on every line of Streamlit's script runs doubled the CPU of the page tests (AppTest: 16.5 -> 33.9 CPU-s
    on test_pages_statements + test_pages_fleet), the larger part of the suite, for lines the gate does not count.
    """
    for item in items:
        if item.get_closest_marker("browser") or _drives_the_ui(str(item.path)):
            item.add_marker(pytest.mark.no_cover)
    # The longest files first (Chromium, then the long files named below, then AppTest): xdist hands out whole files
    # in this order, so the run does not end with one worker alone on a long file while the other waits. Stable: the
    # rest keep their order.
    items.sort(key=_start_order)


# The files besides the Chromium ones that take 15 s or more (on the 2-CPU machine, in a full run): left in
# alphabetical order among the short ones, one of them could start last and keep a worker busy alone at the end.
# Only the order of the run depends on this list (a file missing from it, or named and gone, changes nothing else).
LONG_FILES = frozenset(
    {
        "test_advisors.py",
        "test_assistant_gemini.py",
        "test_demo.py",
        "test_connections_cli.py",
        "test_first_run.py",
        "test_advisors_splinter.py",
        "test_startup.py",
        "test_assistant_eval.py",
        "test_advisor_fixes.py",
        "test_worker.py",
        "test_local_pg.py",
        "test_database.py",
        "test_assistant_context.py",
        "test_assistant_retrieval.py",
    }
)


def _start_order(item: pytest.Item) -> int:
    if item.get_closest_marker("browser"):
        return 0
    if item.path.name in LONG_FILES:
        return 1
    return 2 if _drives_the_ui(str(item.path)) else 3


def _processes_started_by_this_session() -> list[tuple[int, str]]:
    mark = f"{SESSION_MARK}={os.environ.get(SESSION_MARK, '')}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if mark in (entry / "environ").read_bytes().split(b"\0"):
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                found.append((int(entry.name), command))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if a process it started is still alive (after a grace period), and end that process."""
    if _is_xdist_worker() or os.environ.get(SESSION_MARK) is None or not Path("/proc").is_dir():
        return
    deadline = time.monotonic() + 10
    leftovers = _processes_started_by_this_session()
    while leftovers and time.monotonic() < deadline:
        time.sleep(0.5)
        leftovers = _processes_started_by_this_session()
    if not leftovers:
        return
    for pid, _command in leftovers:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    listing = "\n".join(f"  pid {pid}: {command[:200]}" for pid, command in leftovers)
    print(f"\nprocesses outlived the test session (now killed):\n{listing}")
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@dataclass
class TestServer:
    """Handle on the suite's PostgreSQL."""

    __test__ = False
    server: EmbeddedPostgres
    data_dir: Path

    @property
    def dsn(self) -> str:
        return self.server.dsn()

    def restart(self) -> None:
        """Stop and start the server, as a crash-and-recover or a maintenance restart would."""
        self.server.stop(mode="fast")
        self.server.ensure_running()


@dataclass
class AppDatabase:
    """A database as the app sees it after its bootstrap."""

    settings: Settings
    prepared: PreparedDatabase

    @property
    def dsn(self) -> str:
        return self.prepared.dsn

    @property
    def readonly_dsn(self) -> str:
        assert self.prepared.readonly_dsn is not None
        return self.prepared.readonly_dsn

    @property
    def authenticator_dsn(self) -> str:
        assert self.prepared.authenticator_dsn is not None
        return self.prepared.authenticator_dsn

    @property
    def server(self) -> EmbeddedPostgres:
        assert self.prepared.server is not None
        return self.prepared.server

    @property
    def demo_dsn(self) -> str:
        """The superuser on the demo database (connection `demo`): for tests that set up tables there."""
        return self.server.dsn(dbname=DEMO_DATABASE)

    @property
    def demo_monitor_dsn(self) -> str:
        return self.server.login_dsn(MONITOR_ROLE, DEMO_DATABASE)

    @property
    def demo_readonly_dsn(self) -> str:
        return self.server.readonly_dsn(DEMO_DATABASE)

    @property
    def demo_dba_dsn(self) -> str:
        return self.server.login_dsn(DBA_ROLE, DEMO_DATABASE)


def with_dbname(dsn: str, dbname: str) -> str:
    params = conninfo_to_dict(dsn)
    params["dbname"] = dbname
    return make_conninfo(**{k: str(v) for k, v in params.items() if v is not None})


@pytest.fixture(scope="session", autouse=True)
def _cheap_bcrypt() -> Iterator[None]:
    """Password hashes of the test process use bcrypt's lowest cost (4 rounds, about 1 ms) instead of the default 12
    (about 0.3 s of CPU for each hash and each login): the suite hashes and checks hundreds of passwords, and that
    was a third of the AppTest page tests' time. Still real bcrypt hashes, checked by real bcrypt: the cost is in
    the hash, so a login checks a test user's password as cheaply. The app's own processes (the browser tests'
    server, the CLI) keep the default cost for the hashes they make."""
    real_gensalt = bcrypt.gensalt

    def gensalt(rounds: int = 4, prefix: bytes = b"2b") -> bytes:
        return real_gensalt(rounds=4, prefix=prefix)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bcrypt, "gensalt", gensalt)
        yield


@pytest.fixture(scope="session")
def test_root() -> Iterator[Path]:
    # mkdtemp makes a 0700 folder of our own; 0711 lets the unprivileged PostgreSQL user (when the suite
    # runs as root) reach the cluster inside without listing it. No other folder's mode is touched.
    root = Path(tempfile.mkdtemp(prefix="dba-admin-test-"))
    root.chmod(0o711)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server(test_root: Path) -> Iterator[TestServer]:
    data_dir = test_root / "data"
    # pg_cron (when installed: the test command installs it) keeps its jobs in the demo database, as in the app.
    server = EmbeddedPostgres(data_dir, fast=True, cron_database=DEMO_DATABASE)
    server.ensure_running()
    yield TestServer(server=server, data_dir=data_dir)
    server.destroy()


@pytest.fixture(scope="session")
def app_settings(pg_server: TestServer) -> Settings:
    return Settings(data_dir=pg_server.data_dir, load_demo=True, demo_history=False)


@pytest.fixture(scope="session")
def app_db(pg_server: TestServer, app_settings: Settings) -> AppDatabase:
    prepared = prepare_database(app_settings)
    return AppDatabase(settings=app_settings, prepared=prepared)


@contextlib.contextmanager
def scratch_database(server_dsn: str, prefix: str = "t", setup: str | None = None) -> Iterator[str]:
    """A new database on the suite's server (its superuser DSN yielded), with ``setup`` SQL run in it; dropped at
    the end, whatever happened."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    target = with_dbname(server_dsn, name)
    try:
        if setup:
            with psycopg.connect(target, autocommit=True) as conn:
                conn.execute(setup.encode())
        yield target
    finally:
        with psycopg.connect(server_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture
def empty_db_dsn(pg_server: TestServer) -> Iterator[str]:
    with scratch_database(pg_server.dsn) as dsn:
        yield dsn
