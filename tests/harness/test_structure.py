"""Import structure: no two harness modules import each other."""

import ast
from pathlib import Path

import bench.errors
import bench.suite

BENCH = Path(bench.suite.__file__).resolve().parent


def _imports(path: Path) -> set[str]:
    """The bench modules ``path`` imports (relative or absolute), at any depth of the file."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                out.add(node.module.split(".")[0])
            elif node.level == 1:
                out.update(a.name for a in node.names)
            elif node.module and node.module.startswith("bench."):
                out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("bench."))
    return out


def test_suite_error_lives_in_errors_and_is_re_exported():
    assert bench.suite.SuiteError is bench.errors.SuiteError


def test_registry_and_suite_do_not_import_each_other():
    assert "suite" not in _imports(BENCH / "registry.py")
    assert "registry" in _imports(BENCH / "suite.py")
    assert "suite" not in _imports(BENCH / "errors.py") and "registry" not in _imports(BENCH / "errors.py")
