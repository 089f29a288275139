"""`dba-admin`: the terminal face of the core (run the app, migrate, health, tables, sql, db-url).

Every sub-command goes through the same bootstrap and DatabaseManager the app uses, so cron jobs and CI
see exactly what the browser sees. Errors print one clear line on stderr and exit non-zero.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import decimal
import enum
import json
import os
import sys
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dba_admin.config import Settings, load_settings
from dba_admin.errors import DbaAdminError

if TYPE_CHECKING:
    from dba_admin.bootstrap import PreparedDatabase

APP_FILE = Path(__file__).resolve().parent.parent / "app.py"


def to_jsonable(value: Any) -> Any:
    """Result objects (dataclasses, DataFrames, enums, dates) as plain JSON values."""
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return [{str(k): to_jsonable(v) for k, v in row.items()} for row in value.to_dict(orient="records")]
    if isinstance(value, tuple) and hasattr(value, "_asdict"):  # NamedTuple rows such as catalog.TableInfo
        return to_jsonable(value._asdict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal | uuid.UUID | Path):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, float) and value != value:  # NaN from pandas
        return None
    return value


def _print_json(value: Any) -> None:
    print(json.dumps(to_jsonable(value), indent=2, ensure_ascii=False, default=str))


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


def _manager(settings: Settings, *, quiet: bool = False) -> Any:
    """A DatabaseManager on a database already prepared: the read-only commands never migrate or prepare.

    Used by health, tables, sql, ask, advise and snapshot (ask and snapshot add rows to the app's own tables,
    which is what they are for, but change no schema and no login). A database never prepared is an error that
    says to run `dba-admin migrate`; pending migrations are named on stderr and left alone.
    """
    from dba_admin.bootstrap import open_prepared
    from dba_admin.database import DatabaseManager

    prepared = open_prepared(settings)
    if prepared.pending_migrations and not quiet:
        print(
            f"dba-admin: {len(prepared.pending_migrations)} migration(s) pending"
            f" ({', '.join(prepared.pending_migrations)}): run `dba-admin migrate`",
            file=sys.stderr,
        )
    return DatabaseManager(settings, prepared.dsn, prepared.readonly_dsn, authenticator_dsn=prepared.authenticator_dsn)


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    prepared = _prepare(settings)
    applied = prepared.schema.migrations
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else " (up to date)"))
    return 0


def cmd_db_url(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.embedded:
        print(settings.database_url)
        return 0
    from dba_admin.bootstrap import embedded_server

    server = embedded_server(settings)
    server.ensure_running()
    print(server.readonly_dsn() if args.read_only else server.dsn())
    return 0


def _health_down(settings: Settings, message: str) -> dict[str, Any]:
    return {"ok": False, "reachable": False, "embedded": settings.embedded, "messages": [message]}


def _print_health(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _print_json(report)
    else:
        for key, value in report.items():
            print(f"{key:>22}: {value}")


def cmd_health(settings: Settings, args: argparse.Namespace) -> int:
    """Database, migrations, read-only role, pg_stat_statements and foreign servers, in one report.

    Only reads: it never starts, creates, migrates or prepares anything. Pending migrations are reported (and make
    ``ok`` false, exit 1) for `dba-admin migrate` to apply. Exit 0: all well; 1: a problem the report names,
    including a database that does not answer.
    """
    from dba_admin.advisors import extended_health
    from dba_admin.assistant.assistant import Assistant
    from dba_admin.bootstrap import SchemaMissing, open_prepared
    from dba_admin.database import DatabaseManager

    if settings.embedded:
        from dba_admin.bootstrap import embedded_server

        state = embedded_server(settings).status()
        if state != "running":
            what = "does not exist yet" if state == "not initialized" else "is stopped"
            advice = "run `dba-admin migrate` first" if state == "not initialized" else "start it with `dba-admin run`"
            _print_health(
                _health_down(settings, f"the embedded PostgreSQL in {settings.data_dir} {what}: {advice}"), args.json
            )
            return 1
    try:
        prepared = open_prepared(settings, start=False, check_schema=False)
    except SchemaMissing as exc:
        _print_health(_health_down(settings, str(exc)), args.json)
        return 1
    with DatabaseManager(
        settings, prepared.dsn, prepared.readonly_dsn, authenticator_dsn=prepared.authenticator_dsn
    ) as db:
        health = db.health()
        if not health.reachable:
            _print_health(to_jsonable(health), args.json)
            return 1
        extended = extended_health(db)
        # This process's view: the breaker lives in each app server, so a fresh CLI always sees it closed.
        assistant = Assistant(db, settings).status()
    report = to_jsonable(health)
    report["pg_stat_statements"] = extended["pg_stat_statements"]
    report["foreign_servers"] = extended["foreign_servers"]
    report["assistant"] = to_jsonable(assistant)
    report["ok"] = bool(health.ok and extended["ok"])
    _print_health(report, args.json)
    return 0 if report["ok"] else 1


def cmd_tables(settings: Settings, args: argparse.Namespace) -> int:
    with _manager(settings) as db:
        tables = db.get_tables()
    if args.json:
        _print_json(tables)
    else:
        for table in tables:
            print(f"{table.schema}.{table.name}\t{table.kind}\t{table.estimated_rows}\t{table.total_bytes}")
    return 0


def cmd_sql(settings: Settings, args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.text == "-" else args.text
    with _manager(settings) as db:
        results = db.execute_query(text, read_only=args.read_only, timeout_ms=args.timeout_ms, max_rows=args.max_rows)
    failed = any(r.error is not None for r in results)
    if args.json:
        _print_json(results)
    else:
        for result in results:
            if result.error is not None:
                print(f"ERROR {result.error.sqlstate}: {result.error.message}", file=sys.stderr)
            elif result.rows is not None and len(result.columns):
                print(result.rows.to_string(index=False))
            else:
                print(f"OK ({result.rowcount} row(s))")
    return 1 if failed else 0


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

    prepared = _prepare(settings)
    actor = f"cli:{os.environ.get('USER', 'unknown')}"
    with psycopg.connect(prepared.dsn, autocommit=True) as conn:
        store = UserStore.from_settings(conn, settings)
        if args.user_command == "list":
            users = store.list_users()
            if args.json:
                _print_json(users)
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

    prepared = _prepare(settings, quiet=True)
    if args.trash_command == "list":
        with psycopg.connect(prepared.dsn, autocommit=True) as conn:
            rows = trash_contents(conn)
        if args.json:
            _print_json(rows)
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
        _print_json(purged)
    else:
        for item in purged:
            extra = f", {len(item.scripts)} script(s)" if item.kind == "project" else ""
            print(
                f"purged {item.kind} {item.name!r} ({item.id}){extra}: {item.versions} version(s) removed,"
                f" {item.runs} run(s) kept in the history"
            )
        print(f"{len(purged)} item(s) purged from the trash (trashed more than {days:g} day(s) ago)")
    return 0


def cmd_stop(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.embedded:
        print("DATABASE_URL is set: there is no embedded server to stop", file=sys.stderr)
        return 1
    from dba_admin.bootstrap import embedded_server

    embedded_server(settings).stop()
    print("embedded PostgreSQL stopped")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dba-admin", description="DBA Admin: a workbench for your Supabase/PostgreSQL."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start the web app (embedded PostgreSQL unless DATABASE_URL is set)")
    run.add_argument("--port", type=int, default=8501)
    run.add_argument("--address", default="127.0.0.1")
    run.set_defaults(func=cmd_run)

    sub.add_parser("migrate", help="apply pending migrations").set_defaults(func=cmd_migrate)

    db_url = sub.add_parser("db-url", help="print a connection string psql accepts")
    db_url.add_argument("--read-only", action="store_true", help="the read-only login role's DSN")
    db_url.set_defaults(func=cmd_db_url)

    health = sub.add_parser("health", help="database, migrations and read-only role status")
    health.add_argument("--json", action="store_true")
    health.set_defaults(func=cmd_health)

    tables = sub.add_parser("tables", help="list tables, views, materialized views and foreign tables")
    tables.add_argument("--json", action="store_true")
    tables.set_defaults(func=cmd_tables)

    run_sql = sub.add_parser("sql", help="run SQL text ('-' reads standard input)")
    run_sql.add_argument("text")
    run_sql.add_argument("--read-only", action="store_true", help="run on the read-only login role")
    run_sql.add_argument("--json", action="store_true")
    run_sql.add_argument("--timeout-ms", type=int, default=None)
    run_sql.add_argument("--max-rows", type=int, default=None)
    run_sql.set_defaults(func=cmd_sql)

    sub.add_parser("stop", help="stop the embedded PostgreSQL").set_defaults(func=cmd_stop)

    trash = sub.add_parser("trash", help="the trash of deleted projects and scripts: list, purge")
    trash_sub = trash.add_subparsers(dest="trash_command", required=True)
    trash_sub.add_parser("list", help="everything in the trash").add_argument("--json", action="store_true")
    purge = trash_sub.add_parser("purge", help="remove trashed items for good (audited)")
    purge.add_argument(
        "--older-than-days",
        type=float,
        default=None,
        help="only items trashed more than N days ago (default TRASH_RETENTION_DAYS; 0: the whole trash)",
    )
    purge.add_argument("--json", action="store_true")
    trash.set_defaults(func=cmd_trash)

    from dba_admin.advisors_cli import register as register_advisors

    register_advisors(sub)

    from dba_admin.assistant.cli import register as register_ask

    register_ask(sub)

    from dba_admin.auth import ROLES

    user = sub.add_parser("user", help="manage users: add, set-role, reset-password, unlock, list")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    user_list = user_sub.add_parser("list")
    user_list.add_argument("--json", action="store_true")
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[Settings, argparse.Namespace], int] = args.func
    try:
        return func(load_settings(), args)
    except DbaAdminError as exc:
        print(f"dba-admin: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a folder or file the command needs (data dir, backups): one line, never a traceback
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"dba-admin: {exc.strerror or exc}{where}: check that it exists and can be written", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
