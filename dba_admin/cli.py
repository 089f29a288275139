"""`dba-admin`: the terminal face of the core (run the app, migrate, health, tables, sql, db-url).

Every sub-command goes through the same bootstrap and DatabaseManager the app uses, so cron jobs and CI
see exactly what the browser sees. Errors print one clear line on stderr and exit non-zero.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import decimal
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from dba_admin.config import Settings, load_settings
from dba_admin.errors import ConfigError, DbaAdminError, one_line

if TYPE_CHECKING:
    from dba_admin.bootstrap import PreparedDatabase
    from dba_admin.connections import ConnectionSecrets, Registry
    from dba_admin.database import DatabaseManager, Health, StatementResult

APP_FILE = Path(__file__).resolve().parent.parent / "app.py"


def _json_default(value: Any) -> Any:
    """What orjson does not serialise itself: DataFrames (records, NaN as null), Decimal, Path, bytes, intervals,
    and the catalog's NamedTuples (orjson writes a tuple as an array; their field names matter)."""
    if isinstance(value, tuple):  # NamedTuple rows such as catalog.TableInfo (55,000 of them at 5,000 tables)
        return value._asdict() if hasattr(value, "_asdict") else list(value)
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # a pandas DataFrame, without importing pandas
        return value.astype(object).where(value.notna(), None).to_dict(orient="records")
    if isinstance(value, dt.datetime | dt.date | dt.time):  # subclasses orjson leaves out: pandas.Timestamp
        return value.isoformat()
    if isinstance(value, decimal.Decimal | Path):
        return str(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_json_bytes(value: Any, *, pretty: bool = False) -> bytes:
    """Result objects (dataclasses, DataFrames, enums, dates, UUIDs, NumPy values) as UTF-8 JSON.

    orjson serialises dataclasses, dates, UUIDs, enums and NumPy natively in C; only what it cannot is handed to
    ``_json_default``. Compact for machines, indented (``--pretty``) for people."""
    option = orjson.OPT_NON_STR_KEYS | (orjson.OPT_INDENT_2 if pretty else 0)
    if "numpy" in sys.modules:  # NumPy values exist only once NumPy is loaded; the option itself imports NumPy
        option |= orjson.OPT_SERIALIZE_NUMPY
    return orjson.dumps(value, default=_json_default, option=option)


def add_json_flags(parser: argparse.ArgumentParser, help_text: str | None = None) -> None:
    """``--json`` (compact, one line: for machines) and ``--pretty`` (indented, for people reading JSON)."""
    parser.add_argument("--json", action="store_true", help=help_text)
    parser.add_argument("--pretty", action="store_true", help="with --json: indent the JSON for people")


_JSON_CHUNK_BYTES = 1 << 20


def write_json(out: Any, value: Any, *, pretty: bool = False) -> None:
    """Write ``value`` as JSON to a binary stream; a compact list goes out element by element (the same bytes as
    one ``dumps``), so 5,000 tables reach a pipe as they are serialised and are never held twice in memory."""
    if pretty or not isinstance(value, list):
        out.write(to_json_bytes(value, pretty=pretty) + b"\n")
        return
    chunk = bytearray(b"[")
    for i, item in enumerate(value):
        if i:
            chunk += b","
        chunk += to_json_bytes(item)
        if len(chunk) >= _JSON_CHUNK_BYTES:  # one write per megabyte, not one system call per element
            out.write(chunk)
            chunk.clear()
    out.write(chunk + b"]\n")


def _print_json(value: Any, *, pretty: bool = False) -> None:
    sys.stdout.flush()
    write_json(sys.stdout.buffer, value, pretty=pretty)
    sys.stdout.buffer.flush()


def _prepare(settings: Settings, *, quiet: bool = False) -> PreparedDatabase:
    """Make the database ready; the first admin's password, if this start created one, goes to stderr once."""
    from dba_admin.bootstrap import prepare_database

    prepared = prepare_database(settings)
    if prepared.first_admin and not quiet:
        print(
            "\n  First admin created (shown only this once; it is stored only as a bcrypt hash):\n"
            f"    username: {prepared.first_admin.username}\n    password: {prepared.first_admin.password}\n",
            file=sys.stderr,
        )
    return prepared


def _actor() -> str:
    return f"cli:{os.environ.get('USER', 'unknown')}"


def _opened(settings: Settings, *, quiet: bool = False) -> PreparedDatabase:
    """The workspace as it is, for commands that only read: never prepared, migrated or given a first admin.

    Pending migrations are named on stderr and left alone; a database never prepared is an error that says to run
    `dba-admin migrate`.
    """
    from dba_admin.bootstrap import open_prepared

    prepared = open_prepared(settings)
    if prepared.pending_migrations and not quiet:
        print(
            f"dba-admin: {len(prepared.pending_migrations)} migration(s) pending"
            f" ({', '.join(prepared.pending_migrations)}): run `dba-admin migrate`",
            file=sys.stderr,
        )
    return prepared


def _workspace(settings: Settings, *, quiet: bool = False) -> DatabaseManager:
    """The workspace's manager (the app's own data) on a database already prepared: never migrates or prepares.

    A database never prepared is an error that says to run `dba-admin migrate`; pending migrations are named on
    stderr and left alone.
    """
    from dba_admin.database import DatabaseManager

    prepared = _opened(settings, quiet=quiet)
    # No read-only or DBA login here: SQL typed by people runs only on a registered connection. Lazy: a command
    # opens the one connection it uses when it first needs it, not one more in the background at start.
    return DatabaseManager(settings, prepared.dsn, authenticator_dsn=prepared.authenticator_dsn, lazy=True)


def _registry(settings: Settings, workspace: DatabaseManager) -> Registry:
    """The connection registry; without SECRETS_KEY on a remote workspace only connection `default` opens."""
    from dba_admin.connections import Registry, SecretBox

    try:
        box: SecretBox | None = SecretBox.from_settings(settings, embedded=settings.embedded)
    except DbaAdminError:
        box = None
    return Registry(workspace, box)


def _has_registry(workspace: DatabaseManager) -> bool:
    """False on a workspace whose connections migration is still pending (it is then its own, only connection)."""
    with workspace.connection() as conn:
        row = conn.execute("select to_regclass('dba_admin.connections') is not null /* dba_admin */").fetchone()
    return bool(row and row[0])


def default_connection(settings: Settings, registry: Registry) -> str | None:
    """The connection a command works on: --connection / DBA_ADMIN_CONNECTION, else the first one registered
    (``demo`` on the embedded default, ``default`` on a remote workspace); None when nothing is registered."""
    infos = registry.list()
    if settings.connection:
        if settings.connection not in {i.name for i in infos}:
            known = ", ".join(sorted(i.name for i in infos)) or "none"
            raise ConfigError(
                f"no connection named {settings.connection} (registered: {known}): check --connection or"
                " DBA_ADMIN_CONNECTION, or register it with `dba-admin connection add`"
            )
        return settings.connection
    if not infos:
        return None
    return min(infos, key=lambda i: (i.created_at, i.name)).name


def _legacy_secrets(settings: Settings) -> ConnectionSecrets:
    """A workspace from before connections, or with none registered, is its own connection, with the logins of
    the settings (READONLY_DATABASE_URL, DBA_DATABASE_URL), as the original single-database setup had it."""
    from dba_admin.bootstrap import embedded_server
    from dba_admin.connections import ConnectionSecrets

    readonly = settings.readonly_database_url
    main = settings.database_url
    if settings.embedded:
        server = embedded_server(settings)
        main = server.dsn()
        if readonly is None and server.stored_password(server.readonly_password_file):
            readonly = server.readonly_dsn()
    assert main is not None
    return ConnectionSecrets(main, readonly, settings.dba_database_url)


def _legacy_target(settings: Settings, workspace: DatabaseManager) -> DatabaseManager:
    from dba_admin.connections import DEFAULT_CONNECTION
    from dba_admin.database import DatabaseManager

    secrets = _legacy_secrets(settings)
    return DatabaseManager(
        settings,
        secrets.monitor,
        secrets.readonly,
        dba_dsn=secrets.dba,
        name=DEFAULT_CONNECTION,
        workspace=workspace,
        lazy=True,
    )


@contextlib.contextmanager
def _manager(settings: Settings, *, quiet: bool = False) -> Iterator[DatabaseManager]:
    """The chosen connection's manager, with the workspace behind it (``db.workspace``); both closed at the end.

    Used by health, tables, sql, ask, advise and snapshot. Reads of the administered database go through its
    monitor login; the app's own records (conversations, snapshots, mutes, audit) go to the workspace.
    """
    from dba_admin.connections import Targets

    workspace = _workspace(settings, quiet=quiet)
    targets: Targets | None = None
    legacy: DatabaseManager | None = None
    try:
        if _has_registry(workspace):
            targets = Targets(workspace, _registry(settings, workspace))
            name = default_connection(settings, targets.registry)
        else:
            name = None
            if settings.connection:
                raise ConfigError(
                    "this workspace has no connection registry yet: run `dba-admin migrate`, then use --connection"
                )
        if name is None:
            legacy = _legacy_target(settings, workspace)
            yield legacy
        else:
            assert targets is not None
            yield targets.get(name)
    finally:
        if legacy is not None:
            legacy.close()
        if targets is not None:
            targets.close()
        workspace.close()


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    prepared = _prepare(settings)
    applied = prepared.schema.migrations
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else " (up to date)"))
    return 0


def cmd_db_url(settings: Settings, args: argparse.Namespace) -> int:
    """The workspace's owner DSN; with --read-only, the chosen connection's read-only login (for psql)."""
    if args.read_only:
        with contextlib.closing(_workspace(settings, quiet=True)) as workspace:
            registry = _registry(settings, workspace)
            name = default_connection(settings, registry) if _has_registry(workspace) else None
            if name is None:
                readonly = _legacy_secrets(settings).readonly
                name = "default"
            else:
                readonly = registry.secrets(name)[0].readonly
        if not readonly:
            raise ConfigError(
                f"connection {name} has no read-only login: `dba-admin connection setup {name} --admin-dsn ...`"
                " creates one"
            )
        print(readonly)
        return 0
    if not settings.embedded:
        print(settings.database_url)
        return 0
    from dba_admin.bootstrap import embedded_server

    server = embedded_server(settings)
    server.ensure_running()
    print(server.dsn())
    return 0


def _health_down(settings: Settings, message: str) -> dict[str, Any]:
    return {"ok": False, "reachable": False, "embedded": settings.embedded, "messages": [message]}


def _print_health(report: dict[str, Any], args: argparse.Namespace) -> None:
    if args.json:
        _print_json(report, pretty=args.pretty)
        return

    def show(values: dict[str, Any], indent: int) -> None:
        for key, value in values.items():
            if isinstance(value, dict) and value and key in ("connection", "assistant", "pg_stat_statements"):
                print(f"{'':>{indent}}{key:>22}:")
                show(value, indent + 4)
            else:
                print(f"{'':>{indent}}{key:>22}: {value}")

    show(report, 0)


def _workspace_health(health: Health) -> tuple[bool, dict[str, Any]]:
    """The workspace part of `health`: reachable, migrations; the read-only login belongs to connections."""
    report = dataclasses.asdict(health)
    for key in ("readonly_ok", "readonly_user", "readonly_message"):
        report.pop(key, None)
    report["messages"] = [m for m in health.messages if not m.startswith("read-only role:")]
    problems = [m for m in report["messages"] if not m.startswith("applied migration file(s) edited")]
    return bool(health.reachable and not health.migrations_pending and not problems), report


def _connection_health(settings: Settings, db: DatabaseManager) -> dict[str, Any]:
    """The connection part of `health`: reachable with its monitor login, its read-only and DBA logins, extensions."""
    from dba_admin.advisors import extended_health

    health = db.health()
    report: dict[str, Any] = {
        "name": db.name,
        "ok": False,
        "reachable": health.reachable,
        "connect_ms": health.connect_ms,
        "server_version": health.server_version,
        "readonly_login": db.has_readonly_login,
        "readonly_ok": health.readonly_ok,
        "readonly_user": health.readonly_user,
        "readonly_message": health.readonly_message,
        "dba_login": db.has_dba_login,
        "messages": [m for m in health.messages if not m.startswith("read-only role:")],
    }
    if not health.reachable:
        return report
    if not db.has_readonly_login:
        report["readonly_message"] = (
            f"no read-only login: analysts' SQL cannot run on {db.name}"
            f" (`dba-admin connection setup {db.name} --admin-dsn ... --apply` creates one)"
        )
    elif not health.readonly_ok:
        report["messages"].append(f"read-only login: {health.readonly_message}")
    extended = extended_health(db)
    report["pg_stat_statements"] = extended["pg_stat_statements"]
    report["foreign_servers"] = extended["foreign_servers"]
    if extended.get("error"):
        report["messages"].append(f"extended checks failed: {extended['error']}")
    report["ok"] = bool(extended["ok"] and not report["messages"])
    return report


def cmd_health(settings: Settings, args: argparse.Namespace) -> int:
    """The workspace (database, migrations) and the chosen connection (monitor, read-only and DBA logins,
    pg_stat_statements, foreign servers), in one report.

    Only reads: it never starts, creates, migrates or prepares anything. Pending migrations are reported (and make
    ``ok`` false, exit 1) for `dba-admin migrate` to apply. Exit 0: all well; 1: a problem the report names,
    including a database that does not answer.
    """
    from dba_admin.assistant.assistant import GeminiAssistant
    from dba_admin.bootstrap import SchemaMissing, open_prepared
    from dba_admin.database import DatabaseManager

    if settings.embedded:
        from dba_admin.bootstrap import embedded_server

        state = embedded_server(settings).status()
        if state != "running":
            what = "does not exist yet" if state == "not initialized" else "is stopped"
            advice = "run `dba-admin migrate` first" if state == "not initialized" else "start it with `dba-admin run`"
            _print_health(
                _health_down(settings, f"the embedded PostgreSQL in {settings.data_dir} {what}: {advice}"), args
            )
            return 1
    try:
        prepared = open_prepared(settings, start=False, check_schema=False)
    except SchemaMissing as exc:
        _print_health(_health_down(settings, str(exc)), args)
        return 1
    with DatabaseManager(settings, prepared.dsn, authenticator_dsn=prepared.authenticator_dsn) as workspace:
        health = workspace.health()
        workspace_ok, report = _workspace_health(health)
        if not health.reachable:
            _print_health(report, args)
            return 1
    try:
        with _manager(settings, quiet=True) as db:
            connection = _connection_health(settings, db)
            # This process's view: the breaker lives in each app server, so a fresh CLI always sees it closed.
            assistant = GeminiAssistant(db, settings).status()
    except SchemaMissing:
        # Never migrated: no connection to look at yet (the report already says to migrate; nothing is prepared).
        report["ok"] = False
        _print_health(report, args)
        return 1
    report["messages"] += [f"connection {connection['name']}: {m}" for m in connection["messages"]]
    if not connection["reachable"]:
        report["messages"].append(f"connection {connection['name']} does not answer")
    report["connection"] = connection
    report["assistant"] = dataclasses.asdict(assistant)
    report["ok"] = bool(workspace_ok and connection["ok"])
    _print_health(report, args)
    return 0 if report["ok"] else 1


def _print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, null: str = "") -> None:
    """Aligned columns with a header, for people (``--json`` is the form for machines)."""
    cells = [[str(h) for h in headers]] + [[null if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        print("  ".join(value.ljust(widths[i]) for i, value in enumerate(row)).rstrip())


def _size(n: Any) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(n)


def cmd_tables(settings: Settings, args: argparse.Namespace) -> int:
    with _manager(settings) as db:
        name = db.name
        tables = db.get_tables()
    if args.json:
        _print_json(tables, pretty=args.pretty)
    else:
        print(f"connection {name}: {len(tables)} table(s)")
        _print_table(
            ("TABLE", "KIND", "ROWS (EST.)", "SIZE"),
            [(f"{t.schema}.{t.name}", t.kind, t.estimated_rows, _size(t.total_bytes)) for t in tables],
        )
    return 0


def statement_json(result: StatementResult) -> dict[str, Any]:
    """One statement's result for ``--json``: its fields, with the rows as objects keyed by column name (NULL as
    null, numbers as they came: no DataFrame in between, so a JSON run never imports pandas)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(result):
        if f.name == "records":
            names = result.column_names
            out["rows"] = [dict(zip(names, record, strict=True)) for record in result.records]
        else:
            out[f.name] = getattr(result, f.name)
    return out


def cmd_sql(settings: Settings, args: argparse.Namespace) -> int:
    """SQL on the connection: --read-only on its read-only login (READ ONLY, rolled back), else its DBA login."""
    text = sys.stdin.read() if args.text == "-" else args.text
    with _manager(settings) as db:
        results = db.execute_query(text, read_only=args.read_only, timeout_ms=args.timeout_ms, max_rows=args.max_rows)
    failed = any(r.error is not None for r in results)
    if args.json:
        _print_json([statement_json(r) for r in results], pretty=args.pretty)
    else:
        for result in results:
            if result.error is not None:
                print(f"ERROR {result.error.sqlstate}: {result.error.message}", file=sys.stderr)
            elif result.columns:
                _print_table(result.column_names, result.records, null="NULL")  # NULL the way psql shows it
            else:
                print(f"OK ({result.rowcount} row(s))")
    return 1 if failed else 0


def cmd_index_advice(settings: Settings, args: argparse.Namespace) -> int:
    """Candidate indexes for one statement, proven with hypopg when the database has it (exit 1 on an error)."""
    text = sys.stdin.read() if args.text == "-" else args.text
    with _manager(settings) as db:
        try:
            advice = db.index_advice(text, timeout_ms=args.timeout_ms)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    if args.json:
        _print_json(advice.to_json(), pretty=args.pretty)
        return 0
    print(f"cost before: {advice.cost_before:.2f}")
    for row in advice.to_dicts():
        after = "unproven" if row["cost_after"] is None else f"cost after {row['cost_after']:.2f}"
        mark = "PROVEN " if row["proven"] else "no gain" if row["cost_after"] is not None else "?      "
        print(f"{mark} {after:>24}  {row['create_sql']}  -- {row['reason']}")
    print(advice.note)
    return 0


# ---------------------------------------------------------------------------------------------------------------
# dba-admin connection add | list | remove | setup
# ---------------------------------------------------------------------------------------------------------------


def _scrub(text: str, *dsns: str | None) -> str:
    """An error text with any password of the given DSNs taken out (drivers may echo a DSN back)."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    for dsn in dsns:
        password = None
        with contextlib.suppress(psycopg.Error):  # a malformed DSN: nothing to take out
            password = conninfo_to_dict(dsn).get("password") if dsn else None
        if password:
            text = text.replace(str(password), "********")
    return text


def _check_logins(secrets: ConnectionSecrets, *, timeout_s: float) -> list[str]:
    """Connect with each login (within ``timeout_s``); warnings for one that is a superuser or can write.

    A login that cannot connect is a ConfigError: nothing is registered.
    """
    import psycopg

    from dba_admin.services import mask_dsn
    from dba_admin.setup_plan import check_login

    warnings: list[str] = []
    for kind, dsn in (("monitor", secrets.monitor), ("read-only", secrets.readonly), ("DBA", secrets.dba)):
        if not dsn:
            continue
        try:
            found = check_login(dsn, timeout_s=max(2, int(timeout_s)))
        except psycopg.Error as exc:
            raise ConfigError(
                f"the {kind} DSN ({mask_dsn(dsn)}) does not work: {_scrub(one_line(exc), dsn)}."
                " Check it with psql, or register without checking with --no-check"
            ) from None
        if found.superuser:
            warnings.append(
                f"warning: the {kind} login {found.user} is a SUPERUSER: it bypasses every permission and RLS;"
                " `dba-admin connection setup` creates least-privilege logins"
            )
        elif found.can_write and kind != "DBA":
            warnings.append(
                f"warning: the {kind} login {found.user} can write ({'; '.join(found.can_write)}): it should only"
                " read; `dba-admin connection setup` creates one that cannot"
            )
    return warnings


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def cmd_connection(settings: Settings, args: argparse.Namespace) -> int:
    handlers: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
        "add": _connection_add,
        "list": _connection_list,
        "remove": _connection_remove,
        "setup": _connection_setup,
    }
    return handlers[args.connection_command](settings, args)


def _connection_add(settings: Settings, args: argparse.Namespace) -> int:
    from dba_admin.connections import ALL_ROLES, ConnectionSecrets, check_name
    from dba_admin.services import mask_dsn

    name = check_name(args.name)
    secrets = ConnectionSecrets(args.dsn, args.readonly_dsn, args.dba_dsn)
    roles = _split(args.roles) or list(ALL_ROLES)
    warnings = [] if args.no_check else _check_logins(secrets, timeout_s=settings.fleet_timeout_s)
    with contextlib.closing(_workspace(settings)) as workspace:
        registry = _registry(settings, workspace)
        registry.box  # noqa: B018  # SECRETS_KEY missing on a remote workspace: said before anything is written
        info = registry.add(
            name,
            secrets,
            actor=_actor(),
            description=args.description,
            roles=roles,
            users=_split(args.users),
            replace=args.replace,
        )
    for warning in warnings:
        print(warning, file=sys.stderr)
    logins = ["monitor"] + (["read-only"] if info.has_readonly else []) + (["DBA"] if info.has_dba else [])
    checked = " (not checked)" if args.no_check else ""
    print(f"connection {info.name} registered: {mask_dsn(args.dsn)}{checked}; logins: {', '.join(logins)}")
    return 0


def _connection_list(settings: Settings, args: argparse.Namespace) -> int:
    with contextlib.closing(_workspace(settings, quiet=args.json)) as workspace:
        infos = _registry(settings, workspace).list()
    rows: list[dict[str, Any]] = [
        {
            "name": i.name,
            "description": i.description,
            "roles": list(i.roles),
            "users": list(i.users),
            "logins": ["monitor"] + (["readonly"] if i.has_readonly else []) + (["dba"] if i.has_dba else []),
            "is_workspace": i.is_workspace,
            "created_by": i.created_by,
            "created_at": i.created_at,
        }
        for i in infos
    ]
    if args.json:
        _print_json(rows, pretty=args.pretty)
        return 0
    if not rows:
        print("no connection registered: add one with `dba-admin connection add NAME --dsn ...`")
        return 0
    _print_table(
        ("NAME", "LOGINS", "ROLES", "USERS", "WORKSPACE", "DESCRIPTION"),
        [
            (
                r["name"],
                ",".join(r["logins"]),
                ",".join(r["roles"]),
                ",".join(r["users"]) or "-",
                "yes" if r["is_workspace"] else "",
                r["description"] or "",
            )
            for r in rows
        ],
    )
    return 0


def _connection_remove(settings: Settings, args: argparse.Namespace) -> int:
    with contextlib.closing(_workspace(settings)) as workspace:
        _registry(settings, workspace).remove(args.name, actor=_actor())
    print(f"connection {args.name} removed (its databases and logins are untouched)")
    return 0


def _connection_setup(settings: Settings, args: argparse.Namespace) -> int:
    """Print the plan that creates the connection's logins; with --apply, run it (one transaction), register
    the connection with the new logins and audit it. Without --apply nothing is written anywhere."""
    import psycopg

    from dba_admin import audit
    from dba_admin.connections import ConnectionSecrets, check_name
    from dba_admin.errors import NotFound
    from dba_admin.services import mask_dsn
    from dba_admin.setup_plan import SetupPlan, apply_plan, build_plan, inspect_target, login_dsn, role_names

    name = check_name(args.name)
    schemas = _split(args.schemas) or ["public"]
    if args.dba_schema_owner and not args.with_dba:
        raise ConfigError("--dba-schema-owner needs --with-dba")
    roles = role_names(name, monitor=args.monitor_role, readonly=args.readonly_role, dba=args.dba_role)
    # The workspace is only read before --apply: is the name taken, and by what.
    with contextlib.closing(_workspace(settings, quiet=True)) as workspace:
        registry = _registry(settings, workspace)
        try:
            current = registry.get(name)
        except NotFound:
            current = None
        if current is not None and current.is_workspace:
            raise ConfigError(
                f"connection {name} is the workspace database itself: its logins come from the settings"
                " (DATABASE_URL, READONLY_DATABASE_URL, DBA_DATABASE_URL); register the database under another name"
            )
        kept_dba = registry.secrets(name)[0].dba if current is not None and current.has_dba and args.apply else None
        if args.apply:
            registry.box  # noqa: B018  # SECRETS_KEY missing: said before the target is changed
        try:
            conn = psycopg.connect(args.admin_dsn, connect_timeout=max(2, int(settings.fleet_timeout_s)))
        except psycopg.Error as exc:
            raise ConfigError(
                f"the admin DSN ({mask_dsn(args.admin_dsn)}) does not work: {_scrub(one_line(exc), args.admin_dsn)}"
            ) from None

        def read_plan(passwords: dict[str, str] | None = None) -> SetupPlan:
            """What the target needs now (its roles and schemas read again each time)."""
            return build_plan(
                inspect_target(conn, list(roles.values()), schemas),
                name,
                roles,
                schemas,
                with_dba=args.with_dba,
                dba_schema_owner=args.dba_schema_owner,
                statement_timeout_ms=settings.statement_timeout_ms,
                passwords=passwords,
            )

        with conn:
            plan = read_plan()
            if args.json and not args.apply:
                _print_json(plan.to_dict(), pretty=args.pretty)
                return 0
            print(plan.render(), end="")
            for note in plan.notes:
                print(f"note: {note}", file=sys.stderr)
            if not args.apply:
                verb = "update" if current is not None else "register"
                print(
                    f"\nnothing was run. To create these logins and {verb} connection {name}, add --apply"
                    " (the same command).",
                    file=sys.stderr,
                )
                return 0
            # Again inside the applying transaction: a role made meanwhile must be ALTERed, not CREATEd.
            with conn.transaction():
                plan = read_plan({login.kind: login.password for login in plan.logins})
                apply_plan(conn, plan)
        dsns = {login.kind: login_dsn(args.admin_dsn, login.role, login.password) for login in plan.logins}
        secrets = ConnectionSecrets(dsns["monitor"], dsns["readonly"], dsns.get("dba") or kept_dba)
        try:
            registry.add(name, secrets, actor=_actor(), description=args.description, replace=current is not None)
            with workspace.connection() as wconn:
                audit.record(
                    wconn,
                    "connection.setup",
                    actor=_actor(),
                    target=f"connection:{name}",
                    details={
                        "database": plan.database,
                        "where": mask_dsn(args.admin_dsn),
                        "schemas": list(plan.schemas),
                        "roles_created": plan.roles_created,
                        "roles_updated": plan.roles_updated,
                        "dba_login": plan.login("dba") is not None,
                    },
                )
        except Exception as exc:
            raise ConfigError(
                f"the logins were created on {plan.database}, but registering connection {name} failed:"
                f" {one_line(exc)}. Run the same command again: it re-uses the roles and sets new passwords"
            ) from None
    problems = []
    for kind, dsn in dsns.items():
        try:
            with psycopg.connect(dsn, connect_timeout=max(2, int(settings.fleet_timeout_s))):
                pass
        except psycopg.Error as exc:
            problems.append(f"warning: the new {kind} login does not connect: {_scrub(one_line(exc), dsn)}")
    for problem in problems:
        print(problem + " (check pg_hba.conf for this login)", file=sys.stderr)
    made = ", ".join(f"{login.role} ({'updated' if login.exists else 'created'})" for login in plan.logins)
    print(f"\napplied in one transaction: {made}")
    print(f"connection {name} {'updated' if current is not None else 'registered'} with these logins (audited)")
    if args.show_passwords:
        print("passwords (shown this once; stored only encrypted in the workspace):")
        for login in plan.logins:
            print(f"  {login.role}: {login.password}")
    return 1 if problems else 0


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    prepared = _prepare(settings)
    where = "embedded PostgreSQL in " + str(settings.data_dir) if prepared.embedded else "DATABASE_URL"
    print(f"database ready ({where}); migrations applied this start: {len(prepared.schema.migrations)}")
    url = f"http://{args.address}:{args.port}"
    print(f"\n  DBA Admin: {url}\n", flush=True)
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_FILE),
        "--server.port",
        str(args.port),
        "--server.address",
        args.address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    env = dict(os.environ, DBA_ADMIN_DATA_DIR=str(settings.data_dir))
    # exec, not a child: the signals a supervisor sends to stop the service (SIGTERM from systemd, a container
    # runtime, Ctrl-C) reach Streamlit itself, so stopping `dba-admin run` stops the app and leaves no orphan.
    os.chdir(APP_FILE.parent)
    os.execve(sys.executable, command, env)  # fixed argument list  # noqa: S606  # nosec B606


def cmd_user(settings: Settings, args: argparse.Namespace) -> int:
    """User administration from a terminal; the same rules (and audit rows) as the Users page."""
    import psycopg

    from dba_admin.auth import UserStore

    prepared = _opened(settings) if args.user_command == "list" else _prepare(settings)
    actor = f"cli:{os.environ.get('USER', 'unknown')}"
    with psycopg.connect(prepared.dsn, autocommit=True) as conn:
        store = UserStore.from_settings(conn, settings)
        if args.user_command == "list":
            users = store.list_users()
            if args.json:
                _print_json(users, pretty=args.pretty)
            else:
                for u in users:
                    state = "inactive" if not u.is_active else ("locked" if u.is_locked() else "active")
                    print(f"{u.username}\t{u.email}\t{u.role}\t{u.auth_source}\t{state}")
        elif args.user_command == "add":
            user, generated = store.create_user(
                actor=actor,
                username=args.username,
                email=args.email,
                role=args.role,
                name=args.name,
                auth_source="supabase" if args.supabase else "local",
            )
            print(f"created {user.username} ({user.role})")
            if generated:
                print(f"password (shown once): {generated}")
        elif args.user_command == "set-role":
            user = store.set_role(actor=actor, username=args.username, role=args.role)
            print(f"{user.username} is now {user.role}")
        elif args.user_command == "reset-password":
            new_password = store.reset_password(actor=actor, username=args.username)
            print(f"new password for {args.username} (shown once): {new_password}")
        elif args.user_command == "unlock":
            store.unlock(actor=actor, username=args.username)
            print(f"{args.username} unlocked")
    return 0


def cmd_trash(settings: Settings, args: argparse.Namespace) -> int:
    """Purge the trash for good (audited, as on the Projects page's Trash for admins), or list it."""
    import psycopg

    from dba_admin.projects import purge_trash, trash_contents

    prepared = _opened(settings, quiet=True) if args.trash_command == "list" else _prepare(settings, quiet=True)
    if args.trash_command == "list":
        with psycopg.connect(prepared.dsn, autocommit=True) as conn:
            rows = trash_contents(conn)
        if args.json:
            _print_json(rows, pretty=args.pretty)
        else:
            for r in rows:
                print(f"{r['kind']}\t{r['id']}\t{r['name']}\t{r['deleted_at'].isoformat()}\t{r['deleted_by'] or ''}")
        return 0
    days = args.older_than_days if args.older_than_days is not None else settings.trash_retention_days
    if args.older_than_days is None and days <= 0:
        print(
            "dba-admin: TRASH_RETENTION_DAYS is 0 (keep forever); give --older-than-days N (0 purges the whole trash)",
            file=sys.stderr,
        )
        return 2
    if days < 0:
        print("dba-admin: --older-than-days must be 0 or more", file=sys.stderr)
        return 2
    with psycopg.connect(prepared.dsn, autocommit=True) as conn:
        purged = purge_trash(conn, older_than_days=days, actor=f"cli:{os.environ.get('USER', 'unknown')}", reason="cli")
    if args.json:
        _print_json(purged, pretty=args.pretty)
    else:
        for item in purged:
            extra = f", {len(item.scripts)} script(s)" if item.kind == "project" else ""
            print(
                f"purged {item.kind} {item.name!r} ({item.id}){extra}: {item.versions} version(s) removed,"
                f" {item.runs} run(s) kept in the history"
            )
        print(f"{len(purged)} item(s) purged from the trash (trashed more than {days:g} day(s) ago)")
    return 0


@dataclasses.dataclass(frozen=True)
class _AlertSource:
    """The workspace and registry, as the alert engine asks for them (Services has the same two)."""

    db: DatabaseManager
    registry: Registry


def cmd_alert(settings: Settings, args: argparse.Namespace) -> int:
    """List the alert rules with their state, or send a test message on one rule's channel (recorded, audited)."""
    from dba_admin.errors import NotFound
    from dba_admin.jobs.alerts import AlertEngine

    with contextlib.closing(_workspace(settings, quiet=True)) as workspace:
        engine = AlertEngine(_AlertSource(workspace, _registry(settings, workspace)))
        rules = engine.list_rules()
        if args.alert_command == "list":
            if args.json:
                shown = [{k: v for k, v in dataclasses.asdict(r).items() if k != "webhook_secret"} for r in rules]
                _print_json(shown, pretty=args.pretty)  # never the sealed webhook URL: only its redacted target
            elif not rules:
                print("no alert rule yet: create one on the Alerts page")
            else:
                _print_table(
                    ("NAME", "KIND", "CONNECTION", "STATE", "ENABLED", "LAST FIRED", "CHANNELS"),
                    [
                        (
                            r.name,
                            r.kind,
                            r.connection or "any",
                            r.status,
                            "yes" if r.enabled else "no",
                            r.last_fired_at.isoformat(timespec="seconds") if r.last_fired_at else "",
                            " ".join([r.webhook_target or ""] * ("webhook" in r.channels) + list(r.email_to)),
                        )
                        for r in rules
                    ],
                )
            return 0
        rule = next((r for r in rules if r.name == args.rule), None)
        if rule is None:
            raise NotFound(f"no alert rule named {args.rule!r} (`dba-admin alert list`)")
        channels = [args.channel] if args.channel else list(rule.channels)
        failed = 0
        for channel in channels:
            result = engine.send_test(rule.id, channel, actor=f"cli:{os.environ.get('USER', 'unknown')}")
            said = result.error or result.smtp_reply or (f"HTTP {result.http_status}" if result.http_status else "")
            print(f"{channel} {result.target}: {result.status} after {result.attempts} attempt(s) {said}".rstrip())
            failed += not result.sent
        return 1 if failed else 0


def cmd_usage(settings: Settings, args: argparse.Namespace) -> int:
    """Usage metrics (the Usage page's figures) on the owner connection: the terminal is the trusted side."""
    import psycopg

    from dba_admin.usage import UsageQuery, report_as_owner

    query = UsageQuery.last_days(args.days, role=args.role)
    prepared = _opened(settings, quiet=True)
    with psycopg.connect(prepared.dsn, autocommit=True) as conn:
        found = report_as_owner(conn, query)
    if args.json:
        _print_json(found, pretty=args.pretty)
        return 0
    t = found.totals
    rate = "-" if t.error_rate is None else f"{t.error_rate:.1%}"
    p50 = "-" if t.p50_ms is None else f"{t.p50_ms:.1f} ms"
    p95 = "-" if t.p95_ms is None else f"{t.p95_ms:.1f} ms"
    print(f"last {args.days} day(s){f' (role {args.role})' if args.role else ''}, UTC")
    print(f"queries run\t{t.runs}\nerror rate\t{rate}\np50\t{p50}\np95\t{p95}\nactive users\t{t.active_users}")
    print(f"logins\t{t.logins}\nprojects created\t{t.projects_created}\nscripts created\t{t.scripts_created}")
    print(f"assistant questions\t{t.questions}\ntokens\t{t.tokens_in} in, {t.tokens_out} out")
    for f in found.by_connection:
        print(f"connection {f.group or '(unknown)'}\t{f.runs} run(s), {f.errors} error(s)")
    return 0


def cmd_stop(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.embedded:
        print("DATABASE_URL is set: there is no embedded server to stop", file=sys.stderr)
        return 1
    from dba_admin.bootstrap import embedded_server

    embedded_server(settings).stop()
    print("embedded PostgreSQL stopped")
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    """A procrastinate worker for the scheduled runs, until SIGTERM or Ctrl-C (running jobs finish first).

    Prepares the workspace like `dba-admin run` (idempotent), so a worker started before the app servers works too.
    """
    import asyncio
    import logging

    from croniter import croniter

    from dba_admin.jobs.worker import build_app, serve
    from dba_admin.services import Services

    if not croniter.is_valid(args.tick):
        print(f"dba-admin: --tick {args.tick!r} is not a cron expression (e.g. '* * * * * */15')", file=sys.stderr)
        return 2
    if args.concurrency < 1:
        print("dba-admin: --concurrency must be at least 1", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    services = Services.build(settings)
    if services.first_admin:
        print(
            f"\n  First admin created (shown only this once): {services.first_admin.username}"
            f" / {services.first_admin.password}\n",
            file=sys.stderr,
        )
    try:
        jobs = build_app(services, tick_cron=args.tick, pool_size=args.concurrency + 2)
        print(
            f"dba-admin worker {args.name}: {args.concurrency} job(s) at a time, tick {args.tick!r},"
            f" on {services.database_label}; stop with SIGTERM or Ctrl-C",
            flush=True,
        )
        # A run in progress gets the statement timeout and a margin to finish before the worker gives up on it.
        grace = settings.statement_timeout_ms / 1000 + 15
        asyncio.run(serve(jobs, name=args.name, concurrency=args.concurrency, shutdown_graceful_timeout=grace))
    finally:
        services.close()
    print(f"dba-admin worker {args.name} stopped", flush=True)
    return 0


def cmd_schedule(settings: Settings, args: argparse.Namespace) -> int:
    """Schedules from a terminal, as the user named by --user (the same rules, RLS and audit rows as the page)."""
    import uuid

    from dba_admin.auth import UserStore
    from dba_admin.jobs.schedules import ScheduleManager

    workspace = _workspace(settings, quiet=True)
    try:
        with workspace.connection() as conn:
            user = UserStore.from_settings(conn, settings).session_user(args.user)
        if user is None:
            print(f"dba-admin: no active user {args.user!r} (see `dba-admin user list`)", file=sys.stderr)
            return 2
        manager = ScheduleManager(workspace)
        claims = user.claims
        command = args.schedule_command
        if command == "list":
            schedules = manager.list(claims)
            if args.json:
                _print_json(schedules, pretty=args.pretty)
            else:
                for s in schedules:
                    nxt = s.next_run.isoformat() if s.next_run else "-"
                    print(
                        f"{s.id}\t{s.state}\t{s.cron} ({s.timezone})\t{s.connection}\t{s.script_name}\tnext {nxt}"
                        f"\tlast {s.last_status or '-'}\t{s.owner}"
                    )
            return 0
        if command == "add":
            if not settings.connection:
                print("dba-admin: give the connection the runs go to: --connection NAME", file=sys.stderr)
                return 2
            made = manager.create(claims, uuid.UUID(args.script_id), settings.connection, args.cron, args.timezone)
            print(f"scheduled {made.id}: {made.cron} ({made.timezone}) on {made.connection}; next {made.next_run}")
            return 0
        schedule_id = uuid.UUID(args.schedule_id)
        if command == "pause":
            manager.pause(claims, schedule_id)
        elif command == "resume":
            manager.resume(claims, schedule_id)
        else:
            manager.delete(claims, schedule_id)
        print(f"{ {'pause': 'paused', 'resume': 'resumed', 'delete': 'deleted'}[command] } {schedule_id}")
        return 0
    finally:
        workspace.close()


class _NotBuilt:
    """Stands in for the parser of a command that is not being run: every set-up call on it does nothing."""

    def __getattr__(self, name: str) -> Callable[..., _NotBuilt]:
        return lambda *args, **kwargs: self


class _OnlyCommand:
    """The top-level sub-command action, building the parser of one command only (``None``: all of them).

    argparse sets up every parser it is given (three gettext look-ups on disk each), so building all 36 cost
    45 ms of every start: a fifth of what ``dba-admin sql`` adds to Python and psycopg."""

    def __init__(self, action: Any, command: str | None) -> None:
        self.action, self.command, self.built = action, command, False

    def wants(self, name: str) -> bool:
        return self.command is None or name == self.command

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        if not self.wants(name):
            return _NotBuilt()
        self.built = True
        return self.action.add_parser(name, **kwargs)


def _command_word(argv: Sequence[str]) -> str | None:
    """The sub-command named on a command line (after the global ``--connection NAME``); None when there is
    none or help is asked for before it, so the whole parser is built and lists every command."""
    words = iter(argv)
    for word in words:
        if word in ("-h", "--help"):
            return None
        if word == "--connection":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or with ``command`` only that sub-command's (what one run needs)."""
    parser, sub = _build_parser(command)
    if command is not None and not sub.built:  # not a command name: the full parser names the valid ones
        parser, sub = _build_parser(None)
    return parser


def _build_parser(command: str | None) -> tuple[argparse.ArgumentParser, _OnlyCommand]:
    parser = argparse.ArgumentParser(
        prog="dba-admin", description="DBA Admin: a workbench for your Supabase/PostgreSQL."
    )
    parser.add_argument(
        "--connection",
        default=None,
        metavar="NAME",
        help="the registered connection to work on (env DBA_ADMIN_CONNECTION; default: the first registered)",
    )
    sub = _OnlyCommand(parser.add_subparsers(dest="command", required=True), command)

    run = sub.add_parser("run", help="start the web app (embedded PostgreSQL unless DATABASE_URL is set)")
    run.add_argument("--port", type=int, default=8501)
    run.add_argument("--address", default="127.0.0.1")
    run.set_defaults(func=cmd_run)

    sub.add_parser("migrate", help="apply pending migrations").set_defaults(func=cmd_migrate)

    db_url = sub.add_parser("db-url", help="print a connection string psql accepts (the workspace's owner)")
    db_url.add_argument("--read-only", action="store_true", help="the connection's read-only login instead")
    add_connection_option(db_url)
    db_url.set_defaults(func=cmd_db_url)

    health = sub.add_parser("health", help="the workspace (database, migrations) and the connection's logins")
    add_json_flags(health)
    add_connection_option(health)
    health.set_defaults(func=cmd_health)

    tables = sub.add_parser("tables", help="list tables, views, materialized views and foreign tables")
    add_json_flags(tables)
    add_connection_option(tables)
    tables.set_defaults(func=cmd_tables)

    run_sql = sub.add_parser(
        "sql", help="run SQL text on the connection ('-' reads standard input): its DBA login, or --read-only"
    )
    run_sql.add_argument("text")
    run_sql.add_argument("--read-only", action="store_true", help="run on the read-only login (READ ONLY)")
    add_connection_option(run_sql)
    add_json_flags(run_sql)
    run_sql.add_argument("--timeout-ms", type=int, default=None)
    run_sql.add_argument("--max-rows", type=int, default=None)
    run_sql.set_defaults(func=cmd_sql)

    advice = sub.add_parser(
        "index-advice",
        help="candidate indexes for one statement ('-' reads standard input), proven with hypopg when installed",
    )
    advice.add_argument("text")
    add_connection_option(advice)
    add_json_flags(advice)
    advice.add_argument("--timeout-ms", type=int, default=None)
    advice.set_defaults(func=cmd_index_advice)

    sub.add_parser("stop", help="stop the embedded PostgreSQL").set_defaults(func=cmd_stop)

    usage = sub.add_parser("usage", help="usage metrics: queries, errors, p50/p95, users, projects, assistant")
    usage.add_argument("--days", type=int, default=30, help="the last N days, today included (UTC; default 30)")
    usage.add_argument("--role", choices=("admin", "dba", "analyst", "viewer"), default=None, help="one app role")
    add_json_flags(usage)
    usage.set_defaults(func=cmd_usage)

    worker = sub.add_parser(
        "worker", help="run a worker for the scheduled runs (any number, beside the app servers, one database)"
    )
    worker.add_argument("--name", default=f"{os.uname().nodename}-{os.getpid()}", help="shown in the logs")
    worker.add_argument("--concurrency", type=int, default=4, help="scheduled runs at once in this worker")
    worker.add_argument(
        "--tick", default="* * * * * */15", help="how often to look for due schedules (cron; 6th field = seconds)"
    )
    worker.add_argument("--verbose", action="store_true", help="log every job")
    worker.set_defaults(func=cmd_worker)

    schedule = sub.add_parser("schedule", help="scheduled scripts: list, add, pause, resume, delete (as --user)")
    schedule.add_argument("--user", required=True, help="the app user to act as (the owner of what is added)")
    schedule_sub = schedule.add_subparsers(dest="schedule_command", required=True)
    add_json_flags(schedule_sub.add_parser("list", help="the user's schedules (every one for an admin)"))
    schedule_add = schedule_sub.add_parser("add", help="schedule a saved script on --connection")
    schedule_add.add_argument("script_id")
    schedule_add.add_argument("cron", help="5 fields, e.g. '0 6 * * 1-5'")
    schedule_add.add_argument("--timezone", default="UTC", help="IANA name, e.g. America/Sao_Paulo (default UTC)")
    add_connection_option(schedule_add)
    for verb in ("pause", "resume", "delete"):
        schedule_sub.add_parser(verb).add_argument("schedule_id")
    schedule.set_defaults(func=cmd_schedule)

    trash = sub.add_parser("trash", help="the trash of deleted projects and scripts: list, purge")
    trash_sub = trash.add_subparsers(dest="trash_command", required=True)
    add_json_flags(trash_sub.add_parser("list", help="everything in the trash"))
    purge = trash_sub.add_parser("purge", help="remove trashed items for good (audited)")
    purge.add_argument(
        "--older-than-days",
        type=float,
        default=None,
        help="only items trashed more than N days ago (default TRASH_RETENTION_DAYS; 0: the whole trash)",
    )
    add_json_flags(purge)
    trash.set_defaults(func=cmd_trash)

    from dba_admin.advisors_cli import register as register_advisors

    register_advisors(sub)

    if sub.wants("ask"):  # its module (uuid, getpass) is loaded only for its own command or the full help
        from dba_admin.assistant.cli import register as register_ask

        add_connection_option(register_ask(sub))

    _connection_parser(sub)

    from dba_admin.access import ROLES

    user = sub.add_parser("user", help="manage users: add, set-role, reset-password, unlock, list")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    user_list = user_sub.add_parser("list")
    add_json_flags(user_list)
    add = user_sub.add_parser("add")
    add.add_argument("username")
    add.add_argument("email")
    add.add_argument("--role", choices=ROLES, default="analyst")
    add.add_argument("--name")
    add.add_argument("--supabase", action="store_true", help="the user logs in with Supabase Auth")
    set_role = user_sub.add_parser("set-role")
    set_role.add_argument("username")
    set_role.add_argument("role", choices=ROLES)
    user_sub.add_parser("reset-password").add_argument("username")
    user_sub.add_parser("unlock").add_argument("username")
    user.set_defaults(func=cmd_user)
    return parser, sub


def add_connection_option(parser: argparse.ArgumentParser) -> None:
    """``--connection NAME`` after the sub-command too (``dba-admin tables --connection x``)."""
    parser.add_argument(
        "--connection",
        default=argparse.SUPPRESS,
        metavar="NAME",
        help="the registered connection to work on (env DBA_ADMIN_CONNECTION; default: the first registered)",
    )


def with_connection(settings: Settings, args: argparse.Namespace) -> Settings:
    """The settings with --connection applied (it wins over DBA_ADMIN_CONNECTION)."""
    name = getattr(args, "connection", None)
    return settings.with_overrides(connection=name) if name else settings


def _connection_parser(sub: Any) -> None:
    connection = sub.add_parser(
        "connection", help="the databases the app administers: add, list, remove, setup (logins and grants)"
    )
    csub = connection.add_subparsers(dest="connection_command", required=True)
    add = csub.add_parser("add", help="register a database with its logins (checked first; nothing is created)")
    add.add_argument("name")
    add.add_argument("--dsn", required=True, help="the monitor login (pg_monitor + SELECT; it never writes)")
    add.add_argument("--readonly-dsn", default=None, help="the read-only login for analysts' SQL")
    add.add_argument("--dba-dsn", default=None, help="the DBA login for write-mode SQL (optional)")
    add.add_argument("--description", default=None)
    add.add_argument("--roles", default=None, help="app roles that may use it, e.g. admin,dba (default: all)")
    add.add_argument("--users", default=None, help="e-mails that may use it, comma separated")
    add.add_argument("--replace", action="store_true", help="update a connection already registered")
    add.add_argument("--no-check", action="store_true", help="register without connecting (a database now down)")
    listing = csub.add_parser("list", help="registered connections (no secret)")
    add_json_flags(listing)
    remove = csub.add_parser("remove", help="forget a connection (its database and logins are untouched)")
    remove.add_argument("name")
    setup = csub.add_parser(
        "setup", help="print the SQL that creates the connection's logins and grants; run it with --apply"
    )
    setup.add_argument("name")
    setup.add_argument("--admin-dsn", required=True, help="a login allowed to create roles (used once, never stored)")
    setup.add_argument("--apply", action="store_true", help="run the plan (one transaction) and register the logins")
    setup.add_argument("--schemas", default="public", help="schemas the logins may read (default: public)")
    setup.add_argument("--with-dba", action="store_true", help="also a DBA login (NOSUPERUSER) for write-mode SQL")
    setup.add_argument(
        "--dba-schema-owner",
        action="store_true",
        help="make the DBA login a member of the schemas' owner (never a superuser); not done by default",
    )
    setup.add_argument("--monitor-role", default=None, help="default: dba_admin_<name>_monitor")
    setup.add_argument("--readonly-role", default=None, help="default: dba_admin_<name>_readonly")
    setup.add_argument("--dba-role", default=None, help="default: dba_admin_<name>_dba")
    setup.add_argument("--description", default=None)
    add_json_flags(setup, "the plan as JSON (passwords masked)")
    setup.add_argument("--show-passwords", action="store_true", help="after --apply, print the new passwords once")
    connection.set_defaults(func=cmd_connection)

    alert = sub.add_parser("alert", help="alert rules: list them, send a test message")
    alert_sub = alert.add_subparsers(dest="alert_command", required=True)
    add_json_flags(alert_sub.add_parser("list", help="the rules with their state (no secret)"))
    test = alert_sub.add_parser("test", help="send a test message on a rule's channels (recorded and audited)")
    test.add_argument("rule", help="the rule's name")
    test.add_argument("--channel", choices=("webhook", "email"), default=None, help="one channel (default: all)")
    alert.set_defaults(func=cmd_alert)


def main(argv: Sequence[str] | None = None) -> int:
    import psycopg

    words = sys.argv[1:] if argv is None else argv
    args = build_parser(_command_word(words)).parse_args(words)
    func: Callable[[Settings, argparse.Namespace], int] = args.func
    try:
        return func(with_connection(load_settings(), args), args)
    except DbaAdminError as exc:
        print(f"dba-admin: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # a name or option the core refused (connection name, roles)
        print(f"dba-admin: {exc}", file=sys.stderr)
        return 2
    except psycopg.Error as exc:  # a database error no command turned into its own message: still one line
        print(f"dba-admin: the database refused: {one_line(exc)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `dba-admin tables | head`: the reader has what it wanted; no error, no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the interpreter's final flush goes nowhere
        return 141  # what a shell reports for a writer stopped by SIGPIPE
    except OSError as exc:  # a folder or file the command needs (data dir, backups): one line, never a traceback
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"dba-admin: {exc.strerror or exc}{where}: check that it exists and can be written", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
