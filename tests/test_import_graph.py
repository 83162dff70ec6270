"""The project's import graph: no module imports itself back, and contacts never imports calls.

Every import statement counts, at module level and inside functions alike: an import put in a
function to dodge a cycle is still a cycle. Migrations are left out (they name models by
string and import only what they need to rebuild history).
"""
import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("xvbcrm", "calls", "contacts")


def module_files() -> dict[str, Path]:
    """The project's modules by dotted name (a package by its `__init__.py`)."""
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts:
                continue
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _imported_names(name: str, path: Path, tree: ast.AST) -> list[str]:
    """Every dotted name the module imports; `from a import b` gives `a.b` (a module or not)."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package, up `level - 1` packages
                package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                anchor = ".".join(package[: len(package) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            names += [base] + [f"{base}.{alias.name}" for alias in node.names]
    return names


def import_graph() -> dict[str, set[str]]:
    """Each project module with the project modules it imports, their packages included
    (importing `a.b.c` runs `a` and `a.b` first)."""
    modules = module_files()
    graph = {}
    for name, path in modules.items():
        imported = set()
        for dotted in _imported_names(name, path, ast.parse(path.read_text(), str(path))):
            parts = dotted.split(".")
            imported |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
        graph[name] = {module for module in imported & modules.keys() if module != name}
    return graph


def test_the_graph_holds_the_imports_made_inside_functions():
    graph = import_graph()
    assert "contacts.models" in graph["calls.models.call"]
    assert "xvbcrm.checks" in graph["xvbcrm.apps"]  # imported in AppConfig.ready()


def test_no_module_imports_itself_back():
    try:
        TopologicalSorter(import_graph()).prepare()
    except CycleError as cycle:
        # graphlib lists a cycle from the end: each module is imported by the one after it.
        pytest.fail("Import cycle: " + " -> ".join(reversed(cycle.args[1])))


def test_contacts_never_imports_calls():
    back = [
        f"{module} -> {imported}"
        for module, imports in sorted(import_graph().items())
        for imported in sorted(imports)
        if module.split(".")[0] == "contacts" and imported.split(".")[0] == "calls"
    ]
    assert back == []
