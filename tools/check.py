"""The whole test command: every quality gate in one run, the same on a laptop and in CI.

Run from the repository root inside the venv: `python tools/check.py` (the README's test command
creates the venv and installs the dev extras first). All gates run even after a failure, so one run
shows everything that is wrong; the exit code is non-zero if any failed. mypy and bandit run beside
the tests at the lowest CPU priority (their output follows the tests'); the others run in order.
`--fast` skips the browser tests (pytest -m "not browser").
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def apt_install(packages: list[str], what: str) -> str | None:
    """Install Debian packages the tests need (None when done, else why not: needs root and apt-get)."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return f"{what} is not installed and cannot be installed here (needs root and apt-get)"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        result = subprocess.run(command, env=env, capture_output=True, text=True)  # noqa: S603
        if result.returncode != 0:
            return f"{' '.join(command)} failed: {result.stderr.strip()[-500:]}"
    return None


def ensure_chromium() -> str | None:
    """Debian's chromium and an emoji font (for screenshots) for the browser test: Playwright cannot fetch its own."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    emoji_font = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf").is_file()
    if found and emoji_font:
        return None
    return apt_install(["chromium", "fonts-noto-color-emoji"], "chromium")


def ensure_pg_extension(package: str, control: str) -> str | None:
    """Debian's ``postgresql-NN-<package>`` for the PostgreSQL the tests start (the newest installed, as
    dba_admin.local_pg picks), unless its ``<control>.control`` file is already there."""
    majors = sorted(
        (
            int(p.parent.parent.name)
            for p in Path("/usr/lib/postgresql").glob("*/bin/postgres")
            if p.parent.parent.name.isdigit()
        ),
        reverse=True,
    )
    if not majors:
        return "no PostgreSQL server under /usr/lib/postgresql"
    if Path(f"/usr/share/postgresql/{majors[0]}/extension/{control}.control").is_file():
        return None
    return apt_install([f"postgresql-{majors[0]}-{package}"], package)


def ensure_hypopg() -> str | None:
    """hypopg: the index advisor's proof is tested with it."""
    return ensure_pg_extension("hypopg", "hypopg")


def ensure_pg_cron() -> str | None:
    """pg_cron: the Cron page's tests need it preloaded in the test cluster (local_pg does that when installed)."""
    return ensure_pg_extension("cron", "pg_cron")


def compile_sources() -> None:
    """Byte-code for the app's own packages, written once before the tests (into the git-ignored __pycache__).

    Where PYTHONDONTWRITEBYTECODE is set (as in many containers and CI images), Python never writes .pyc: every
    process the tests start (the browser tests' Streamlit servers, `dba-admin` and worker subprocesses) compiled
    dba_admin/, ui/ and pages/ from source again. compileall writes it all the same, and those processes read it."""
    for package in ("dba_admin", "ui", "pages"):
        compileall.compile_dir(ROOT / package, quiet=1)


class BackgroundGate:
    """A gate run beside the tests at the lowest CPU priority (nice 19): pytest keeps both cores busy, so this one
    only takes the CPU the tests leave idle (their waits on browsers, servers and the database), and the run does not
    wait for it on its own. Its output is held back and printed when it is collected, after the tests."""

    def __init__(self, name: str, command: list[str]) -> None:
        self.name, self.command = name, command
        self.output = tempfile.TemporaryFile()  # noqa: SIM115 - closed in collect()
        self.started = time.monotonic()
        nice = shutil.which("nice")  # coreutils; a process spawned with preexec_fn is not safe beside threads
        self.process = subprocess.Popen(  # noqa: S603 - our own fixed tool invocations
            [nice, "-n", "19", *command] if nice else command, cwd=ROOT, stdout=self.output, stderr=subprocess.STDOUT
        )
        self.ended = self.started
        self.waiter = threading.Thread(target=self._wait, daemon=True)  # notes when it ends, for its time
        self.waiter.start()

    def _wait(self) -> None:
        self.process.wait()
        self.ended = time.monotonic()

    def collect(self) -> bool:
        self.waiter.join()
        returncode = self.process.returncode
        print(f"\n=== {self.name}: {' '.join(self.command)} (run beside the tests, at nice 19)", flush=True)
        self.output.seek(0)
        sys.stdout.buffer.write(self.output.read())
        self.output.close()
        verdict = "ok" if returncode == 0 else f"FAILED (exit {returncode})"
        print(f"=== {self.name}: {verdict} in {self.ended - self.started:.1f} s", flush=True)
        return returncode == 0


def gate(name: str, command: list[str]) -> bool:
    print(f"\n=== {name}: {' '.join(command)}", flush=True)
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT)  # noqa: S603 - our own fixed tool invocations
    verdict = "ok" if result.returncode == 0 else f"FAILED (exit {result.returncode})"
    print(f"=== {name}: {verdict} in {time.monotonic() - started:.1f} s", flush=True)
    return result.returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fast", action="store_true", help="skip the real-browser tests")
    parser.add_argument("pytest_args", nargs="*", help="extra arguments for pytest")
    args = parser.parse_args()

    results: dict[str, bool] = {}
    results["ruff check"] = gate("lint", [str(BIN / "ruff"), "check", "."])
    results["ruff format"] = gate("format", [str(BIN / "ruff"), "format", "--check", "."])
    # The slow static gates (mypy about 50 s of one core on a clean clone) run beside the tests, not before them.
    beside = {
        "mypy": BackgroundGate("types", [str(BIN / "mypy")]),
        "bandit": BackgroundGate(
            "security scan", [str(BIN / "bandit"), "-q", "-c", "pyproject.toml", "-r", "dba_admin"]
        ),
    }

    # Two workers, each with its own PostgreSQL; a test file stays on one worker (its module fixtures, e.g. the
    # Streamlit server of the browser tests, start once). The slowest tests are listed to keep the run fast.
    pytest_cmd = [
        str(BIN / "python"),
        "-m",
        "pytest",
        "-n",
        "2",
        "--dist",
        "loadfile",
        # Files in collection order (tests/conftest.py puts the long Chromium and AppTest files first), not xdist's
        # default of most tests first, which left the few long browser tests for the end with one worker idle.
        "--no-loadscope-reorder",
        "--durations=10",
        "--cov",
        "--cov-report=term-missing",
    ]
    problem = ensure_hypopg()
    if problem:
        print(f"the index advisor's proof cannot be tested: {problem}", file=sys.stderr)
        results["hypopg"] = False
    problem = ensure_pg_cron()
    if problem:
        print(f"the Cron page cannot be tested: {problem}", file=sys.stderr)
        results["pg_cron"] = False
    if args.fast:
        pytest_cmd += ["-m", "not browser"]
    else:
        problem = ensure_chromium()
        if problem:
            print(f"browser tests cannot run: {problem}", file=sys.stderr)
            results["chromium"] = False
    compile_sources()
    results["pytest"] = gate("tests + coverage", pytest_cmd + args.pytest_args)
    for key, background in beside.items():
        results[key] = background.collect()

    print("\nQuality gates:")
    for name, ok in results.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
