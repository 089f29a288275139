"""The embedded default: a local PostgreSQL kept in the data dir, started on first use and reused.

Why it is written by hand rather than through pgserver's Python API: pgserver, when run as root, adds
o+rx to every parent folder of its data dir, and a server left behind by a killed process is never
stopped by a later one. Here we only borrow binaries (an installed PostgreSQL first, because it ships
contrib and pg_stat_statements; pgserver's bundled build when pip is all there is) and manage the
cluster ourselves:

* as root, PostgreSQL runs as an unprivileged OS user (``postgres`` when it exists), and the cluster
  lives in the data dir only when that user can already reach it; otherwise it lives under
  ``/var/lib/dba-admin`` — no permissions of unrelated folders are changed;
* the server listens on a Unix socket inside its own folder only, so there is no TCP port to clash;
* a server left behind by a killed run is found through ``postmaster.pid`` and reused when it answers,
  stopped and restarted when it does not;
* a file lock serialises concurrent starts (the CLI and the app starting together).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import pwd
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from dba_admin.errors import EmbeddedServerError

log = logging.getLogger(__name__)

SUPERUSER = "postgres"
READONLY_ROLE = "dba_admin_readonly"
AUTHENTICATOR_ROLE = "dba_admin_authenticator"
MONITOR_ROLE = "dba_admin_monitor"  # the embedded demo's monitor login (pg_monitor, SELECT on the demo)
DBA_ROLE = "dba_admin_dba"  # the embedded demo's DBA login: owns the demo database, never a superuser
DEMO_DATABASE = "petcare"
DEFAULT_PORT = 5432
SERVICE_USER_FALLBACK = "dba-admin-pg"
ROOT_CLUSTER_HOME = Path("/var/lib/dba-admin")
_MAX_SOCKET_PATH = 100  # the kernel's sun_path limit is 108 bytes including ".s.PGSQL.5432"


@dataclass(frozen=True)
class PgBinaries:
    """Where the PostgreSQL programs are and what they can do."""

    bin_dir: Path
    source: str  # "system" or "pgserver"
    has_pg_stat_statements: bool
    has_pg_cron: bool = False  # Debian's postgresql-NN-cron; pgserver's bundle has none

    def tool(self, name: str) -> str:
        return str(self.bin_dir / name)


def _system_bin_dirs() -> list[Path]:
    """Installed PostgreSQL servers, newest first (Debian keeps them under /usr/lib/postgresql/N/bin)."""
    found: list[Path] = []
    explicit = os.environ.get("DBA_ADMIN_PG_BIN")
    if explicit:
        found.append(Path(explicit))
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    found.extend(debian)
    on_path = shutil.which("postgres")
    if on_path:
        found.append(Path(on_path).resolve().parent)
    return [d for d in found if (d / "postgres").is_file() and (d / "initdb").is_file()]


def _pgserver_bin_dir() -> Path | None:
    try:
        import pgserver  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        return None
    candidate = Path(pgserver.__file__).resolve().parent / "pginstall" / "bin"
    return candidate if (candidate / "postgres").is_file() else None


def _has_extension(bin_dir: Path, name: str) -> bool:
    """True when the extension's library and control file are both installed next to these binaries."""
    pg_config = bin_dir / "pg_config"
    lib_dirs: list[Path] = [bin_dir.parent / "lib", bin_dir.parent / "lib" / "postgresql"]
    share_dirs: list[Path] = [bin_dir.parent / "share", bin_dir.parent / "share" / "postgresql"]
    if pg_config.is_file():
        try:
            out = subprocess.run(  # fixed argument list  # noqa: S603  # nosec B603
                [str(pg_config), "--pkglibdir", "--sharedir"], capture_output=True, text=True, check=True
            ).stdout.split()
            lib_dirs.insert(0, Path(out[0]))
            share_dirs.insert(0, Path(out[1]))
        except (OSError, subprocess.CalledProcessError, IndexError):
            pass
    has_lib = any((d / f"{name}.so").is_file() for d in lib_dirs)
    has_control = any((d / "extension" / f"{name}.control").is_file() for d in share_dirs)
    return has_lib and has_control


def _has_pg_stat_statements(bin_dir: Path) -> bool:
    """Kept for callers that only ask about pg_stat_statements (the pip-only fallback test)."""
    return _has_extension(bin_dir, "pg_stat_statements")


def _binaries(bin_dir: Path, source: str) -> PgBinaries:
    return PgBinaries(
        bin_dir, source, _has_extension(bin_dir, "pg_stat_statements"), has_pg_cron=_has_extension(bin_dir, "pg_cron")
    )


def find_binaries() -> PgBinaries:
    """Prefer an installed PostgreSQL (contrib, pg_stat_statements); fall back to pgserver's bundle."""
    for bin_dir in _system_bin_dirs():
        return _binaries(bin_dir, "system")
    bundled = _pgserver_bin_dir()
    if bundled:
        if _is_root():
            bundled = _reachable_copy(bundled)
        return _binaries(bundled, "pgserver")
    raise EmbeddedServerError(
        "No PostgreSQL found: install the 'pgserver' package (pip install pgserver) or a PostgreSQL server, "
        "or set DATABASE_URL to use an existing database."
    )


def _is_root() -> bool:
    return os.geteuid() == 0


def _service_user() -> pwd.struct_passwd:
    """The unprivileged OS user that runs PostgreSQL when we are root (PostgreSQL refuses root)."""
    for name in (os.environ.get("DBA_ADMIN_PG_OS_USER"), "postgres", SERVICE_USER_FALLBACK):
        if not name:
            continue
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    command = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER_FALLBACK]
    made = subprocess.run(  # fixed argument list; root's PATH finds the system's useradd  # noqa: S603  # nosec B603
        command,
        check=False,
        capture_output=True,
        text=True,
    )
    try:  # another process starting at the same moment may have created it first: that is fine
        return pwd.getpwnam(SERVICE_USER_FALLBACK)
    except KeyError:
        raise EmbeddedServerError(
            f"cannot create the OS user {SERVICE_USER_FALLBACK} that runs PostgreSQL: {made.stderr.strip()}"
        ) from None


def _can_reach(user: pwd.struct_passwd, path: Path) -> bool:
    """Whether ``user`` can traverse every folder down to ``path`` (checked as that user, not guessed)."""
    command = ["runuser", "-u", user.pw_name, "--", "test", "-x", str(path)]  # root's PATH finds runuser
    result = subprocess.run(command, capture_output=True)  # fixed argument list  # noqa: S603  # nosec B603
    return result.returncode == 0


def _reachable_copy(bin_dir: Path) -> Path:
    """pgserver's binaries where the unprivileged server user can run them.

    A venv under /root is out of that user's reach; rather than opening /root up (pgserver's own approach), the
    bundle (about 34 MB) is copied once under /var/lib/dba-admin, readable by all, keyed by its source path.
    """
    user = _service_user()
    if _can_reach(user, bin_dir / "postgres"):
        return bin_dir
    install = bin_dir.parent
    digest = hashlib.sha256(str(install).encode()).hexdigest()[:12]
    target = ROOT_CLUSTER_HOME / f"pgserver-{digest}"
    if (target / "bin" / "postgres").is_file():
        return target / "bin"
    ROOT_CLUSTER_HOME.mkdir(parents=True, exist_ok=True)
    # Two data dirs starting together share this copy: one process copies, the other waits and reuses it.
    with (ROOT_CLUSTER_HOME / ".copy.lock").open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        if not (target / "bin" / "postgres").is_file():
            staging = target.with_name(target.name + ".tmp")
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(install, staging, symlinks=True)
            for folder in [ROOT_CLUSTER_HOME, *staging.rglob("*")]:
                if folder.is_dir():
                    folder.chmod(0o755)
            staging.rename(target)
    return target / "bin"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pid_is_postgres(pid: int) -> bool:
    """A live, non-zombie postgres process (containers often leave killed servers as zombies)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return _pid_alive(pid)
    if "\nState:\tZ" in status:
        return False
    return b"postgres" in cmdline or b"postmaster" in cmdline


class EmbeddedPostgres:
    """One local PostgreSQL cluster belonging to one data dir."""

    def __init__(
        self,
        data_dir: Path,
        *,
        fast: bool = False,
        binaries: PgBinaries | None = None,
        cron_database: str | None = None,
    ) -> None:
        """``fast`` turns off fsync for throwaway test servers; never use it for data you keep. ``cron_database``:
        the one database where pg_cron (when installed) keeps its jobs (``cron.database_name``); None (the default,
        for servers without that database): no pg_cron, whose launcher would otherwise restart every second."""
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.fast = fast
        self.cron_database = cron_database
        self._binaries = binaries
        self.secrets_dir = self.data_dir / "secrets"
        self.state_file = self.data_dir / "embedded.json"

    # ---- locations -------------------------------------------------------------------------------
    @property
    def binaries(self) -> PgBinaries:
        if self._binaries is None:
            self._binaries = find_binaries()
        return self._binaries

    def _state(self) -> dict[str, str]:
        if self.state_file.is_file():
            data: dict[str, str] = json.loads(self.state_file.read_text())
            return data
        return {}

    @property
    def cluster_dir(self) -> Path:
        """Where PGDATA lives: recorded at init so a later run finds the same cluster."""
        state = self._state()
        if "cluster_dir" in state:
            return Path(state["cluster_dir"])
        return self._choose_cluster_dir()

    @property
    def socket_dir(self) -> Path:
        state = self._state()
        if "socket_dir" in state:
            return Path(state["socket_dir"])
        return self._choose_socket_dir(self.cluster_dir)

    def _choose_cluster_dir(self) -> Path:
        inside = self.data_dir / "pg"
        if not _is_root():
            return inside
        user = _service_user()
        if _can_reach(user, self.data_dir):
            return inside
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:16]
        return ROOT_CLUSTER_HOME / "clusters" / digest

    def _choose_socket_dir(self, cluster_dir: Path) -> Path:
        if len(str(cluster_dir)) + len("/.s.PGSQL.5432") < _MAX_SOCKET_PATH:
            return cluster_dir
        digest = hashlib.sha256(str(cluster_dir).encode()).hexdigest()[:12]
        return Path("/tmp") / f"dba-admin-{digest}"  # a private 0700 folder for a socket  # noqa: S108  # nosec B108

    @property
    def superuser_password_file(self) -> Path:
        return self.secrets_dir / "superuser.password"

    @property
    def readonly_password_file(self) -> Path:
        return self.secrets_dir / "readonly.password"

    @property
    def authenticator_password_file(self) -> Path:
        return self.secrets_dir / "authenticator.password"

    # ---- running commands --------------------------------------------------------------------------
    def _run_as_owner(
        self, args: list[str], *, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL program as the cluster's owner (the service user when we are root)."""
        command = args
        if _is_root():
            command = ["runuser", "-u", _service_user().pw_name, "--", *args]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        try:
            return subprocess.run(  # argument list built here, no shell  # noqa: S603  # nosec B603
                command, capture_output=True, text=True, check=check, timeout=timeout, env=env
            )
        except subprocess.CalledProcessError as exc:
            raise EmbeddedServerError(
                f"{Path(args[0]).name} failed (exit {exc.returncode}): {(exc.stderr or exc.stdout).strip()}"
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise EmbeddedServerError(f"{Path(args[0]).name} did not finish within {timeout:.0f} s") from exc
        except OSError as exc:
            raise EmbeddedServerError(f"{Path(args[0]).name} failed: {exc}") from exc

    def _make_owned_dir(self, path: Path) -> None:
        """Create a folder for the cluster owner, mode 0700, without touching its parents' modes."""
        path.mkdir(parents=True, exist_ok=True)
        if _is_root():
            user = _service_user()
            os.chown(path, user.pw_uid, user.pw_gid)
        path.chmod(0o700)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Serialise creating, starting and stopping this cluster between processes (CLI, app servers, tests).

        Everything done under it that touches the disk reports a read-only, full or unusable data dir as one
        EmbeddedServerError line instead of an OSError traceback.
        """
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            handle = (self.data_dir / ".embedded.lock").open("a+")
        except OSError as exc:
            raise data_dir_error(self.data_dir, exc) from exc
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            except OSError as exc:
                raise data_dir_error(self.data_dir, exc) from exc
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # ---- life cycle --------------------------------------------------------------------------------
    def dsn(self, *, user: str = SUPERUSER, password: str | None = None, dbname: str = "postgres") -> str:
        """A libpq connection string (psql accepts it as is)."""
        if password is None and user == SUPERUSER:
            password = self.superuser_password_file.read_text().strip()
        return make_conninfo(
            host=str(self.socket_dir), port=str(DEFAULT_PORT), user=user, password=password or "", dbname=dbname
        )

    def is_initialized(self) -> bool:
        return self.state_file.is_file() and (self.cluster_dir / "PG_VERSION").exists()

    def ensure_running(self, *, timeout: float = 60.0) -> str:
        """Start the cluster (creating it first if needed) or reuse a running one; return the superuser DSN."""
        with self._lock():
            if not self.is_initialized():
                self._init_cluster()
            if self._answers():
                return self.dsn()
            self._recover_stale_server()
            self._start(timeout)
            return self.dsn()

    def stop(self, *, mode: str = "fast") -> None:
        """Stop the server if it runs; a no-op otherwise."""
        with self._lock():
            if not self.is_initialized():
                return
            self._stop(mode)

    def status(self) -> str:
        """ "running", "stopped" or "not initialized"."""
        if not self.is_initialized():
            return "not initialized"
        return "running" if self._answers() else "stopped"

    def _answers(self) -> bool:
        try:
            with psycopg.connect(self.dsn(), connect_timeout=3, autocommit=True) as conn:
                conn.execute("select 1 /* dba_admin */")
            return True
        except psycopg.Error:
            return False

    def _init_cluster(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.secrets_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        cluster_dir = self._choose_cluster_dir()
        socket_dir = self._choose_socket_dir(cluster_dir)
        if cluster_dir.exists() and any(cluster_dir.iterdir()):
            if not (cluster_dir / "PG_VERSION").exists():
                raise EmbeddedServerError(f"{cluster_dir} exists, is not empty and is not a PostgreSQL cluster")
        else:
            self._make_owned_dir(cluster_dir)
            password = secrets.token_urlsafe(24)
            write_secret(self.superuser_password_file, password)
            # initdb reads the password from a file the cluster owner can read; it is removed right after.
            pwfile = cluster_dir.parent / f".pw-{secrets.token_hex(6)}"
            write_secret(pwfile, password)
            if _is_root():
                user = _service_user()
                os.chown(pwfile, user.pw_uid, user.pw_gid)
            try:
                self._run_as_owner(
                    [
                        self.binaries.tool("initdb"),
                        "-D",
                        str(cluster_dir),
                        "-U",
                        SUPERUSER,
                        "--pwfile",
                        str(pwfile),
                        "--auth=scram-sha-256",
                        "-E",
                        "UTF8",
                        "--no-locale",
                    ]
                )
            finally:
                pwfile.unlink(missing_ok=True)
        if socket_dir != cluster_dir:
            self._make_owned_dir(socket_dir)
        self._write_config(cluster_dir, socket_dir)
        _write_atomic(
            self.state_file,
            json.dumps(
                {
                    "cluster_dir": str(cluster_dir),
                    "socket_dir": str(socket_dir),
                    "bin_dir": str(self.binaries.bin_dir),
                    "source": self.binaries.source,
                },
                indent=2,
            ),
        )

    def _preloaded(self) -> list[tuple[str, bool]]:
        """The libraries worth preloading, each with whether these binaries have it."""
        return [("pg_stat_statements", self.binaries.has_pg_stat_statements), ("pg_cron", self.wants_pg_cron)]

    @property
    def wants_pg_cron(self) -> bool:
        return self.binaries.has_pg_cron and self.cron_database is not None

    def _write_config(self, cluster_dir: Path, socket_dir: Path) -> None:
        """Our settings go in one included file, so postgresql.conf stays the stock one."""
        lines = [
            "# written by dba-admin; edit postgresql.conf, not this file",
            "listen_addresses = ''",
            f"unix_socket_directories = '{socket_dir}'",
            "unix_socket_permissions = 0700",
            f"port = {DEFAULT_PORT}",
            "max_connections = 100",
            "shared_buffers = '128MB'",
            "log_min_messages = warning",
            "track_io_timing = on",
        ]
        preload = [name for name, present in self._preloaded() if present]
        if preload:
            lines.append(f"shared_preload_libraries = '{','.join(preload)}'")
        if self.binaries.has_pg_stat_statements:
            lines.append("pg_stat_statements.track = top")
        if self.wants_pg_cron:
            # pg_cron's jobs run in background workers: with no TCP listener and passwords required, its default
            # (a libpq connection to localhost) could not log in. Its extension lives in the demo database.
            lines += [
                "cron.database_name = '{}'".format(str(self.cron_database).replace("'", "''")),
                "cron.use_background_workers = on",
                "cron.max_running_jobs = 4",
                "max_worker_processes = 16",
            ]
        if self.fast:
            lines += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        conf = "\n".join(lines) + "\n"
        include_name = "dba_admin.conf"
        self._write_as_owner(cluster_dir / include_name, conf)
        main_conf = cluster_dir / "postgresql.conf"
        text = main_conf.read_text()
        directive = f"include = '{include_name}'"
        if directive not in text:
            self._write_as_owner(main_conf, text.rstrip("\n") + f"\n{directive}\n")
        hba = "# written by dba-admin: Unix socket only, passwords required\nlocal all all scram-sha-256\n"
        self._write_as_owner(cluster_dir / "pg_hba.conf", hba)

    def _write_as_owner(self, path: Path, text: str) -> None:
        path.write_text(text)
        if _is_root():
            user = _service_user()
            os.chown(path, user.pw_uid, user.pw_gid)
        path.chmod(0o600)

    def _pid_file_pid(self) -> int | None:
        pid_file = self.cluster_dir / "postmaster.pid"
        try:
            first = pid_file.read_text().splitlines()[0]
            return int(first)
        except (OSError, IndexError, ValueError):
            return None

    def _recover_stale_server(self) -> None:
        """A server from a killed run: wait briefly if it is starting, else stop it or clear its pid file."""
        pid = self._pid_file_pid()
        if pid is None:
            return
        if _pid_alive(pid) and _pid_is_postgres(pid):
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if self._answers():
                    return
                time.sleep(0.25)
            log.warning("embedded PostgreSQL (pid %s) does not answer; stopping it", pid)
            self._stop("fast")
            if _pid_alive(pid):
                self._stop("immediate")
        else:
            # The pid in postmaster.pid is dead, a zombie, or now another program: the lock files are stale.
            (self.cluster_dir / "postmaster.pid").unlink(missing_ok=True)
            (self.socket_dir / f".s.PGSQL.{DEFAULT_PORT}.lock").unlink(missing_ok=True)
            (self.socket_dir / f".s.PGSQL.{DEFAULT_PORT}").unlink(missing_ok=True)

    def _start(self, timeout: float) -> None:
        if self._answers():
            return
        log_file = self.cluster_dir / "server.log"
        log_offset = 0
        with contextlib.suppress(OSError):
            log_offset = log_file.stat().st_size
        started = self._run_as_owner(
            [
                self.binaries.tool("pg_ctl"),
                "-D",
                str(self.cluster_dir),
                "-l",
                str(log_file),
                "-w",
                "-t",
                str(int(timeout)),
                "start",
            ],
            check=False,
            timeout=timeout + 10,
        )
        if started.returncode != 0:
            # pg_ctl -w returns as soon as the postmaster exits: a bad setting, a taken socket, a full disk. Say why
            # now, from what this start wrote to the server log, instead of waiting out the timeout.
            if self._answers():
                return
            reason = _start_failure_reason(log_file, log_offset) or (started.stderr or started.stdout).strip()
            raise EmbeddedServerError(
                f"embedded PostgreSQL failed to start: {reason or 'no reason given'} (server log: {log_file}). "
                f"Fix the cause (postgresql.conf and postgresql.auto.conf are in {self.cluster_dir}), then retry."
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._answers():
                return
            time.sleep(0.2)
        tail = ""
        with contextlib.suppress(OSError):
            tail = "\n".join(log_file.read_text().splitlines()[-15:])
        raise EmbeddedServerError(f"embedded PostgreSQL did not start within {timeout:.0f} s. Server log:\n{tail}")

    def _stop(self, mode: str) -> None:
        if self._pid_file_pid() is None:
            return
        self._run_as_owner(
            [self.binaries.tool("pg_ctl"), "-D", str(self.cluster_dir), "-m", mode, "-w", "-t", "30", "stop"],
            check=False,
            timeout=45,
        )

    def destroy(self) -> None:
        """Stop the server and delete the cluster and the data dir (tests and `dba-admin reset` only)."""
        cluster_dir = self.cluster_dir
        socket_dir = self.socket_dir
        self.stop(mode="immediate")
        shutil.rmtree(cluster_dir, ignore_errors=True)
        if socket_dir != cluster_dir:
            shutil.rmtree(socket_dir, ignore_errors=True)
        shutil.rmtree(self.data_dir, ignore_errors=True)

    # ---- the app's unprivileged logins ------------------------------------------------------------
    def _login_password(self, path: Path) -> str:
        """A login's password, generated once and kept in the data dir (mode 0600).

        Two processes starting together on a fresh data dir must end with one password that both use: the file is
        created whole and only if absent (write_secret_once), never overwritten.
        """
        try:
            if not path.is_file():
                self.secrets_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
                return write_secret_once(path, secrets.token_urlsafe(24))
            return path.read_text().strip()
        except OSError as exc:
            raise data_dir_error(self.data_dir, exc) from exc

    def stored_password(self, path: Path) -> str | None:
        """A login's password if the data dir already has one; never creates it (read-only commands)."""
        try:
            return path.read_text().strip() or None
        except OSError:
            return None

    def readonly_password(self) -> str:
        """The read-only role's password (analysts' SQL)."""
        return self._login_password(self.readonly_password_file)

    def readonly_dsn(self, dbname: str = "postgres") -> str:
        return self.dsn(user=READONLY_ROLE, password=self.readonly_password(), dbname=dbname)

    def login_password(self, role: str) -> str:
        """The password of one of the embedded logins, generated once into the data dir."""
        return self._login_password(self.secrets_dir / f"{role}.password")

    def login_dsn(self, role: str, dbname: str) -> str:
        return self.dsn(user=role, password=self.login_password(role), dbname=dbname)

    def authenticator_password(self) -> str:
        """The authenticator login's password (per-user RLS transactions)."""
        return self._login_password(self.authenticator_password_file)

    def authenticator_dsn(self, dbname: str = "postgres") -> str:
        return self.dsn(user=AUTHENTICATOR_ROLE, password=self.authenticator_password(), dbname=dbname)


def data_dir_error(data_dir: Path, exc: OSError) -> EmbeddedServerError:
    """A data dir that cannot be written (read-only, full, not a folder) as one line that says what to do."""
    reason = exc.strerror or str(exc)
    where = exc.filename or data_dir
    return EmbeddedServerError(
        f"the data dir {data_dir} cannot be used: {reason} ({where}). Free space or fix its permissions, or choose "
        "another folder with DBA_ADMIN_DATA_DIR (or set DATABASE_URL to use an existing database)."
    )


def _start_failure_reason(log_file: Path, offset: int) -> str:
    """What the server logged during this start attempt, the lines that say why it stopped."""
    try:
        with log_file.open("rb") as handle:
            handle.seek(offset)
            lines = handle.read().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    # "2026-01-01 00:00:00.000 UTC [123] FATAL:  ..." -> "FATAL:  ..."
    messages = [re.sub(r"^\S+ \S+ \S+ \[\d+\] ", "", line).strip() for line in lines if line.strip()]
    problems = [m for m in messages if m.split(":", 1)[0] in {"FATAL", "PANIC", "ERROR"}]
    if not problems:
        return "; ".join(messages[-3:])
    # The line just before the first FATAL usually names the bad setting ("invalid value for parameter ...").
    first = messages.index(problems[0])
    context = [messages[first - 1]] if first > 0 and messages[first - 1].startswith("LOG:") else []
    return "; ".join(context + problems[:3])


def _write_atomic(path: Path, text: str) -> None:
    """Replace a file whole: a reader in another process sees the old or the new content, never half."""
    staging = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    staging.write_text(text)
    os.replace(staging, path)


def write_secret_once(path: Path, value: str) -> str:
    """Create a secret file whole unless it exists; return what the file holds (ours, or another process's).

    The value is written to a private temporary file, then hard-linked into place: the link fails when another
    process got there first, so a racing reader never sees an empty or half-written file, and two writers
    never end up with different passwords.
    """
    staging = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    write_secret(staging, value)
    try:
        os.link(staging, path)
    except FileExistsError:
        pass
    finally:
        staging.unlink(missing_ok=True)
    return path.read_text().strip()


def write_secret(path: Path, value: str) -> None:
    """Write a secret readable by its owner only (created 0600, never briefly world-readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    path.chmod(0o600)
