"""Benchmark: peak memory of a project import fed hostile archives, against an older ProjectManager module.

Usage:
    python bench/import_bench.py [--before OLD_PROJECTS.py]

``--before`` takes an older dba_admin/projects.py given as a file, e.g. from
``git show <commit>:dba_admin/projects.py > /tmp/old_projects.py``, and reads the same archives with it in the same
run. Each archive is read by ``_read_archive`` (what an import does before it touches the database) under tracemalloc;
the table shows the archive's size, the peak of Python memory, the time, and whether it was accepted or refused.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dba_admin.projects as current

FILE_BYTES = 5 * 1024 * 1024  # one script just under the current per-file cap, repeated by the hostile manifest


def _load(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("dba_admin.projects_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, content in members:
            archive.writestr(name, content)
    return buffer.getvalue()


def _manifest(scripts: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {"format": "dba-admin-project", "format_version": 1, "project": {"name": "p"}, "scripts": scripts}
    ).encode()


def cases() -> dict[str, bytes]:
    script = b"select 1;\n" * ((FILE_BYTES - 64 * 1024) // 10)
    return {
        "manifest names one member 200x": _zip(
            [
                ("scripts/a.sql", script),
                ("manifest.json", _manifest([{"name": f"s{i}", "file": "scripts/a.sql"} for i in range(200)])),
            ]
        ),
        "40 MB of zeros in one member": _zip(
            [
                ("scripts/b.sql", b"\0" * (40 << 20)),
                ("manifest.json", _manifest([{"name": "b", "file": "scripts/b.sql"}])),
            ]
        ),
    }


def measure(module: ModuleType, data: bytes) -> tuple[float, float, str]:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = module._read_archive(data)
        outcome = f"accepted ({len(result.scripts)} scripts)"
    except Exception as exc:  # the refusal is the expected outcome; its type is shown
        outcome = f"refused: {type(exc).__name__}"
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6, elapsed, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", help="an older dba_admin/projects.py to compare with")
    args = parser.parse_args()
    modules = {"current": current}
    if args.before:
        modules["before"] = _load(args.before)
    print("| archive | zip | module | peak Python memory | time | outcome |")
    print("|---|---:|---|---:|---:|---|")
    for name, data in cases().items():
        for label, module in modules.items():
            peak, elapsed, outcome = measure(module, data)
            print(f"| {name} | {len(data) / 1024:.0f} KB | {label} | {peak:,.1f} MB | {elapsed:.2f} s | {outcome} |")


if __name__ == "__main__":
    main()
