"""The package's shape: no import cycles between tp's modules, no logic in __init__.py, no checkout lookups.

The import graph is read from the source (ast), every import counted: at the top of a module and inside
functions alike, since a lazy import only hides a cycle until the day both modules load at once.
"""

from __future__ import annotations

import ast
from pathlib import Path

import tp

PACKAGE = Path(tp.__file__).resolve().parent
CLI_MODULES = ("tp.cli", "tp.__main__")  # where sys.argv may be read


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imported(tree: ast.AST) -> set[str]:
    """tp modules that `tree` imports (`from tp.x import y` counts as tp.x.y when that is a module)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in MODULES else node.module
                      for alias in node.names}
    return {name for name in found if name == "tp" or name.startswith("tp.")}


def graph() -> dict[str, set[str]]:
    edges = {}
    for name, path in MODULES.items():
        targets = set()
        for target in imported(ast.parse(path.read_text(encoding="utf-8"))):
            while target not in MODULES:  # tp.x.attr -> tp.x
                target = target.rpartition(".")[0]
            targets.add(target)
        edges[name] = targets - {name}
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_is_read_from_the_source() -> None:
    edges = graph()
    assert "tp.models.classifier" in edges["tp.models.loading"]  # a top-level import
    assert "tp.compression.variants" in edges["tp.models.loading"]  # an import inside a function
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles() -> None:
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_init_files_hold_no_logic() -> None:
    for name, path in MODULES.items():
        if path.name != "__init__.py":
            continue
        body = ast.parse(path.read_text(encoding="utf-8")).body
        docstring = [node for node in body if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)]
        version = [node for node in body if isinstance(node, ast.Assign)
                   and [getattr(t, "id", None) for t in node.targets] == ["__version__"]]
        assert len(docstring) + len(version) == len(body), f"{name}/__init__.py holds more than a docstring"


def test_only_the_command_line_reads_argv_or_finds_the_checkout() -> None:
    for name, path in MODULES.items():
        source = path.read_text(encoding="utf-8")
        assert "parents[" not in source, f"{name} locates files relative to the checkout"
        if not name.startswith(CLI_MODULES):
            assert "sys.argv" not in source, f"{name} reads sys.argv: command lines live in tp/cli"
