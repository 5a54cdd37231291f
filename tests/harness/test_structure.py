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


def _units_imported(path: Path) -> set[str]:
    """The top-level units of ``bench`` (a module or a subpackage) that the file at ``path`` imports."""
    rel = path.relative_to(BENCH).parts
    depth = len(rel) - 1  # 0 for bench/x.py, 1 for bench/pkg/x.py
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if node.module and node.module.startswith("bench."):
                    out.add(node.module.split(".")[1])
                continue
            up = node.level - 1  # packages climbed above the file's own
            if up > depth:
                continue
            if up < depth:  # inside the file's own subpackage
                out.add(rel[0])
            elif node.module:
                out.add(node.module.split(".")[0])
            else:
                out.update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("bench."))
    return out


def test_no_cycle_among_the_harness_units():
    """Modules and subpackages of ``bench`` import one way: the import graph between them has no cycle
    (methods and families share their vocabulary through ``bench.products``, not each other)."""
    graph: dict[str, set[str]] = {}
    for path in BENCH.rglob("*.py"):
        unit = path.relative_to(BENCH).parts[0].removesuffix(".py")
        if unit == "__init__":
            continue
        graph.setdefault(unit, set()).update(u.removesuffix(".py") for u in _units_imported(path))
    for unit in graph:
        graph[unit].discard(unit)
        graph[unit] &= set(graph)
    state: dict[str, int] = {}

    def visit(u, trail):
        state[u] = 1
        for v in sorted(graph[u]):
            if state.get(v) == 1:
                raise AssertionError("import cycle: " + " -> ".join(trail + [u, v]))
            if v not in state:
                visit(v, trail + [u])
        state[u] = 2

    for unit in sorted(graph):
        if unit not in state:
            visit(unit, [])
    assert "families" not in graph["methods"] and "methods" in graph["families"]
