"""Code rules that keep SQL injection out: no SQL text built with f-strings, % or .format reaching execute().

A grep cannot see through a variable, so this walks the syntax tree: an execute-like call whose SQL
argument is an f-string, a `%`-formatted string, a `.format()` call or string concatenation — directly
or through a local variable assigned that way — fails the run. Identifiers go through psycopg.sql.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXECUTE_NAMES = {"execute", "executemany", "stream", "copy", "mogrify", "read_sql", "read_sql_query"}


def _is_built_string(node: ast.AST) -> bool:
    """True for an expression that builds text at run time from pieces."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return isinstance(node.left, ast.Constant | ast.JoinedStr | ast.BinOp) and (
            (isinstance(node.left, ast.Constant) and isinstance(node.left.value, str)) or _is_built_string(node.left)
        )
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return isinstance(node.func.value, ast.Constant) and isinstance(node.func.value.value, str)
    return False


def _scope_nodes(scope: ast.AST) -> list[ast.AST]:
    """The nodes of one scope: a function's own body, not the bodies of functions defined inside it."""
    found: list[ast.AST] = []
    todo = list(ast.iter_child_nodes(scope))
    while todo:
        node = todo.pop()
        found.append(node)
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            todo.extend(ast.iter_child_nodes(node))
    return found


def find_unsafe_sql(source: str, filename: str = "<string>") -> list[str]:
    """Every execute-like call in ``source`` whose SQL is built with string formatting."""
    tree = ast.parse(source, filename)
    problems: list[str] = []
    for func in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.Module)]:
        built: set[str] = set()
        nodes = _scope_nodes(func)
        for node in nodes:
            if isinstance(node, ast.Assign) and _is_built_string(node.value):
                built.update(t.id for t in node.targets if isinstance(t, ast.Name))
            if (
                isinstance(node, ast.AugAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(node.op, ast.Add)
                and isinstance(node.value, ast.JoinedStr)
                and _is_built_string(node.value)
            ):
                built.add(node.target.id)
        for node in nodes:
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr not in EXECUTE_NAMES or not node.args:
                continue
            first = node.args[0]
            if _is_built_string(first) or (isinstance(first, ast.Name) and first.id in built):
                problems.append(
                    f"{filename}:{node.lineno}: SQL built with string formatting passed to {node.func.attr}()"
                )
    return sorted(set(problems))


def _python_files() -> list[Path]:
    files = sorted((ROOT / "dba_admin").rglob("*.py"))
    files += sorted((ROOT / "pages").glob("*.py")) if (ROOT / "pages").is_dir() else []
    files += [ROOT / "app.py"]
    return [f for f in files if f.is_file()]


@pytest.mark.parametrize(
    "snippet",
    [
        "def f(cur, t):\n    cur.execute(f'select * from {t}')\n",
        "def f(cur, t):\n    cur.execute('select * from %s' % t)\n",
        "def f(cur, t):\n    cur.execute('select * from {}'.format(t))\n",
        "def f(cur, t):\n    q = f'select * from {t}'\n    cur.execute(q)\n",
        "def f(cur, t):\n    q = 'select * from ' + t\n    cur.execute(q)\n",
    ],
)
def test_the_rule_catches_each_pattern(snippet: str) -> None:
    assert find_unsafe_sql(snippet), "the checker must flag this snippet"


@pytest.mark.parametrize(
    "snippet",
    [
        "def f(cur, t):\n    cur.execute('select * from x where id = %s', (t,))\n",
        "from psycopg import sql\n"
        "def f(cur, t):\n    cur.execute(sql.SQL('select * from {}').format(sql.Identifier(t)))\n",
        "def f(cur):\n    cur.execute('select 1')\n",
    ],
)
def test_the_rule_accepts_safe_code(snippet: str) -> None:
    assert find_unsafe_sql(snippet) == []


def test_no_sql_built_with_string_formatting_in_the_product() -> None:
    problems: list[str] = []
    for path in _python_files():
        problems += find_unsafe_sql(path.read_text(), str(path.relative_to(ROOT)))
    assert problems == [], "\n".join(problems)


def test_pages_never_talk_to_the_database_directly() -> None:
    pages = sorted((ROOT / "pages").glob("*.py")) if (ROOT / "pages").is_dir() else []
    offenders = []
    for path in [*pages, ROOT / "app.py"]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name} imports {n}" for n in names if n.split(".")[0] in {"psycopg", "psycopg_pool"}]
    assert offenders == []


def test_core_never_imports_streamlit() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "dba_admin").rglob("*.py")
        if any(
            isinstance(node, ast.Import | ast.ImportFrom)
            and any(
                (getattr(node, "module", None) or "").startswith("streamlit") or alias.name.startswith("streamlit")
                for alias in node.names
            )
            for node in ast.walk(ast.parse(path.read_text()))
        )
    ]
    assert offenders == []
