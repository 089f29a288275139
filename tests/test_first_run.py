"""The README's first command on a fresh data dir: `dba-admin run` creates everything and prints URL and admin."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest
from browser_fixtures import free_port

from dba_admin.auth import verify_password
from dba_admin.local_pg import DEMO_DATABASE, EmbeddedPostgres


@pytest.mark.slow
def test_run_on_a_fresh_data_dir(test_root: Path) -> None:
    data_dir = test_root / "fresh-run"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "READONLY_DATABASE_URL"}}
    env["DBA_ADMIN_DATA_DIR"] = str(data_dir)
    env["DBA_ADMIN_DEMO_HISTORY"] = "1"  # as on a real fresh machine (conftest turns it off for the rest of the suite)
    exe = Path(sys.executable).parent / "dba-admin"
    proc = subprocess.Popen(
        [str(exe), "run", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    output = ""
    try:
        deadline = time.monotonic() + 240
        assert proc.stdout is not None
        while time.monotonic() < deadline and f"http://127.0.0.1:{port}" not in output:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            output += line
        assert f"http://127.0.0.1:{port}" in output, output
        match = re.search(r"username: (\S+)\s+password: (\S+)", output)
        assert match, output
        username, password = match.groups()
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                    if response.read() == b"ok":
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the app never answered /_stcore/health")
        server = EmbeddedPostgres(data_dir)
        with psycopg.connect(server.dsn()) as conn:  # the workspace: the app's own data
            row = conn.execute("select password_hash from dba_admin.users where username = %s", (username,)).fetchone()
            registered = conn.execute("select name from dba_admin.connections order by name").fetchall()
            history = conn.execute(
                "select count(*), count(distinct executado_por), bool_and(app_instance = 'demo-history'),"
                " (select bool_or(is_active) from dba_admin.users where email like '%@petcare.example')"
                " from public.execucoes_scripts"
            ).fetchone()
        with psycopg.connect(server.dsn(dbname=DEMO_DATABASE)) as conn:  # the demo: a database of its own
            demo = conn.execute("select count(*) from public.user_profiles").fetchone()
        assert row is not None and verify_password(password, row[0]), "the printed password is the admin's"
        assert password not in row[0], "stored only as a hash"
        assert demo is not None and demo[0] > 0, "the demo database is loaded on the first start"
        assert registered == [("demo",)], "and registered as connection demo"
        assert history is not None and history[0] > 50 and history[1] == 3 and history[2], "with a month of history"
        assert history[3] is False, "by demo people nobody can log in as"
        for secret_file in (data_dir / "secrets").iterdir():
            assert password not in secret_file.read_text(), "the admin password is never written to disk"
        # SIGTERM, as systemd or a container runtime stops a service: the app itself stops, nothing is orphaned.
        proc.terminate()
        proc.wait(timeout=10)
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        EmbeddedPostgres(data_dir).destroy()
