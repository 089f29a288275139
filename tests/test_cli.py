"""`dba-admin` sub-commands against the suite's database: JSON shapes, exit codes, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from dba_admin.cli import main


@pytest.fixture
def cli_env(app_db: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("READONLY_DATABASE_URL", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))
    return app_db.settings.data_dir


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_db_url_is_usable_by_psql(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "db-url")
    assert code == 0
    dsn = out.strip()
    result = subprocess.run(["psql", dsn, "-Atc", "select current_user"], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "postgres"
    # --read-only: the connection's read-only login (connection demo: the PetCare database)
    code, out, _ = run_cli(capsys, "db-url", "--read-only")
    result = subprocess.run(
        ["psql", out.strip(), "-Atc", "select current_user, current_database()"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "dba_admin_readonly|petcare"


def test_migrate_is_a_noop_when_up_to_date(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "migrate")
    assert code == 0 and "up to date" in out


def test_health_json(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "health", "--json")
    health = json.loads(out)
    assert code == 0, health
    # the workspace (the app's own data) at the top, the connection it works on below
    assert health["ok"] is True and health["embedded"] is True and health["migrations_pending"] == []
    connection = health["connection"]
    assert connection["name"] == "demo" and connection["ok"] is True and connection["reachable"] is True
    assert connection["readonly_ok"] is True and connection["readonly_user"] == "dba_admin_readonly"
    assert connection["dba_login"] is True


def test_health_for_people(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "health")
    assert code == 0
    assert "migrations_pending: []" in out and "connection:" in out and "name: demo" in out


def test_tables_json_lists_demo_tables(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "tables", "--json")
    tables = json.loads(out)
    names = {(t["schema"], t["name"]) for t in tables}
    assert code == 0
    assert ("public", "user_profiles") in names and ("public", "pets") in names
    assert ("public", "projetos_analytics") not in names, "the app's own tables live in the workspace"
    profiles = next(t for t in tables if t["name"] == "user_profiles")
    assert any(c["name"] == "phone_number" for c in profiles["columns"])


def test_json_is_compact_for_machines_and_indented_with_pretty(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, compact, _ = run_cli(capsys, "tables", "--json")
    assert code == 0 and compact.count("\n") == 1, "one line: a pipe reads it without paying for indentation"
    code, pretty, _ = run_cli(capsys, "tables", "--json", "--pretty")
    assert code == 0 and pretty.startswith("[\n  {") and pretty.count("\n") > 100
    assert json.loads(pretty) == json.loads(compact)
    code, out, _ = run_cli(capsys, "sql", "select null::int as n, 2.5::numeric as d, now()::date as day", "--json")
    (result,) = json.loads(out)
    row = result["rows"][0]
    assert row["n"] is None and row["d"] == "2.5" and len(row["day"]) == 10  # NULL, exact numeric, ISO date


def test_tables_for_people(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "tables")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("connection demo: ")
    assert lines[1].split() == ["TABLE", "KIND", "ROWS", "(EST.)", "SIZE"]
    assert any(line.startswith("public.pets ") for line in lines)


def test_sql_json_and_read_only(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "sql", "select 1 as one, 'é' as accent", "--json")
    results = json.loads(out)
    assert code == 0 and results[0]["rows"] == [{"one": 1, "accent": "é"}]
    code, out, _ = run_cli(capsys, "sql", "create table cli_should_not_exist (v int)", "--read-only", "--json")
    results = json.loads(out)
    assert code == 1 and results[0]["error"]["sqlstate"] == "25006"


def test_sql_prints_null_as_null_not_nan(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = "select 1 as n, null::int as missing union all select 2, 3"
    code, out, _ = run_cli(capsys, "sql", text)
    assert code == 0 and "NaN" not in out and "NULL" in out
    assert out.split() == ["n", "missing", "1", "NULL", "2", "3"]
    code, out, _ = run_cli(capsys, "sql", text, "--json")
    assert code == 0 and json.loads(out)[0]["rows"] == [{"n": 1, "missing": None}, {"n": 2, "missing": 3}]


def test_sql_runs_on_the_connections_logins(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # write mode: the connection's DBA login (never the workspace's owner); --read-only: its read-only login
    code, out, _ = run_cli(capsys, "sql", "select current_user as u, current_database() as d", "--json")
    assert code == 0 and json.loads(out)[0]["rows"] == [{"u": "dba_admin_dba", "d": "petcare"}]
    code, out, _ = run_cli(capsys, "sql", "select current_user as u", "--read-only", "--json")
    assert code == 0 and json.loads(out)[0]["rows"] == [{"u": "dba_admin_readonly"}]


def test_connection_option_and_env(
    cli_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run_cli(capsys, "--connection", "demo", "sql", "select current_database() as d", "--json")
    assert code == 0 and json.loads(out)[0]["rows"] == [{"d": "petcare"}]
    code, out, _ = run_cli(capsys, "tables", "--connection", "demo", "--json")
    assert code == 0 and json.loads(out)
    code, out, err = run_cli(capsys, "tables", "--connection", "nowhere")
    assert code == 2 and out == ""
    assert err.startswith("dba-admin: no connection named nowhere") and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    monkeypatch.setenv("DBA_ADMIN_CONNECTION", "nowhere-either")
    code, _, err = run_cli(capsys, "health")
    assert code == 2 and "no connection named nowhere-either" in err
    code, _, _ = run_cli(capsys, "--connection", "demo", "health")  # the option wins over the environment
    assert code == 0


def test_usage_errors_are_one_line(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "connection", "add", "Bad Name!", "--dsn", "host=/nowhere dbname=x")
    assert code == 2 and "is not valid" in err and "Traceback" not in err
    code, _, err = run_cli(capsys, "connection", "remove", "never-registered")
    assert code == 2 and "no connection named never-registered" in err


def test_sql_syntax_error_exit_code(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "sql", "selec 1")
    assert code == 1 and "42601" in err


def test_user_commands(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = f"cli{uuid.uuid4().hex[:8]}"
    code, out, _ = run_cli(capsys, "user", "add", name, f"{name}@example.com", "--role", "viewer")
    assert code == 0 and "password (shown once)" in out
    code, out, _ = run_cli(capsys, "user", "set-role", name, "dba")
    assert code == 0 and "dba" in out
    code, out, _ = run_cli(capsys, "user", "reset-password", name)
    assert code == 0 and "new password" in out
    code, out, _ = run_cli(capsys, "user", "list", "--json")
    listed = {u["username"]: u for u in json.loads(out)}
    assert listed[name]["role"] == "dba"
    assert "password_hash" not in listed[name]
    code, _, err = run_cli(capsys, "user", "add", name, f"{name}@example.com")
    assert code == 2 and "already exists" in err


def test_remote_database_that_is_down_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"host={tmp_path} port=1 dbname=x user=x connect_timeout=2")
    code, _, err = run_cli(capsys, "migrate")
    assert code == 2 and "cannot connect" in err


def test_console_script_runs(cli_env: Path) -> None:
    exe = Path(sys.executable).parent / "dba-admin"
    result = subprocess.run(
        [str(exe), "health", "--json"], capture_output=True, text=True, env=dict(os.environ), timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ok"] is True


def test_output_cut_short_by_its_reader_is_not_an_error(cli_env: Path) -> None:
    """`dba-admin sql ... | head -1`: the reader closes the pipe after one line; the command stops quietly with the
    shell's SIGPIPE status, not a traceback or a message about a file that cannot be written."""
    command = [sys.executable, "-m", "dba_admin.cli", "sql", "select generate_series(1, 200000) as n", "--read-only"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as reader:
        assert reader.stdout is not None and reader.stderr is not None
        assert reader.stdout.readline().strip() == b"n"
        reader.stdout.close()
        err = reader.stderr.read().decode()
        code = reader.wait(timeout=120)
    assert code == 141, err
    assert err == ""


def test_one_command_parser_still_knows_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    """Only the command being run has its parser built; help and a mistyped name still list all of them."""
    with pytest.raises(SystemExit):
        main(["--help"])
    listed = capsys.readouterr().out
    with pytest.raises(SystemExit) as exited:
        main(["--connection", "demo", "sqll", "select 1"])
    err = capsys.readouterr().err
    assert exited.value.code == 2
    for command in ("sql", "tables", "health", "ask", "advise", "connection", "user", "schedule"):
        assert command in listed and f"'{command}'" in err
    with pytest.raises(SystemExit):
        main(["--connection", "demo", "ask", "--help"])
    assert "--offline" in capsys.readouterr().out


def test_advise_is_wired_and_fails_on_error(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The demo deliberately leaves public.campaign_recipients without RLS: an ERROR-level security finding.
    code, out, _ = run_cli(capsys, "advise", "--json", "--category", "SECURITY", "--fail-on", "ERROR")
    report = json.loads(out)
    assert code == 1
    names = {(f["name"], f["object"]) for f in report["findings"]}
    assert ("rls_disabled_in_exposed_schema", "public.campaign_recipients") in names


def test_health_reports_extensions_and_foreign_servers(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "health", "--json")
    report = json.loads(out)
    assert code == 0
    assert report["connection"]["pg_stat_statements"]["available"] is True, report["connection"]["pg_stat_statements"]
    assert report["connection"]["foreign_servers"] == []
    assert report["assistant"]["mode"] == "offline" and "GEMINI_API_KEY" in report["assistant"]["reason"]


@pytest.mark.parametrize(
    "command",
    [
        ["sql", "select 1", "--read-only", "--json"],
        ["sql", "select 1 as one"],
        ["tables", "--json"],
        ["health", "--json"],
    ],
    ids=["sql-json", "sql-text", "tables-json", "health-json"],
)
def test_read_commands_start_lean(cli_env: Path, command: list[str]) -> None:
    """A cron job or CI step calling the CLI pays every import on every call: pandas alone was half a second of
    `sql "select 1"`. The command runs in a fresh interpreter, which then lists the heavy modules it loaded."""
    heavy = ("pandas", "numpy", "streamlit", "plotly", "google.genai", "pyarrow")
    probe = (
        "import sys\nfrom dba_admin.cli import main\n"
        f"code = main({command!r})\n"
        f"print('LOADED', [m for m in {heavy!r} if m in sys.modules], file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), "the command printed its result"
    loaded = done.stderr.strip().splitlines()[-1]
    assert loaded == "LOADED []", f"{' '.join(command)} imported {loaded}"


def test_a_streamed_json_list_is_the_same_bytes_as_one_dump() -> None:
    import datetime as dt
    import io
    from decimal import Decimal

    from dba_admin.cli import to_json_bytes, write_json

    for value in ([], [{"a": 1}], [{"n": None, "d": Decimal("2.5"), "at": dt.date(2026, 11, 29)}, [1, "x"], "s"]):
        out = io.BytesIO()
        write_json(out, value)
        assert out.getvalue() == to_json_bytes(value) + b"\n"
