"""The helpers package is a few subpackages by job, stacked: each imports only from
the ones below it, with no cycle, no re-export and no module a reader cannot read in
one sitting."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from helpers.config import REPO_ROOT

PACKAGE = REPO_ROOT / "helpers"
LAYERS = [
    "helpers",
    "helpers.config",
    "helpers.data",
    "helpers.nets",
    "helpers.evaluate",
    "helpers.train",
    "helpers.book",
]
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> int:
    """Index in LAYERS of the deepest layer that holds ``module``."""
    return max(
        i
        for i, name in enumerate(LAYERS)
        if module == name or module.startswith(name + ".")
    )


def helpers_imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) of every import of a helpers module in ``path``, at any depth
    (function-local imports included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.split(".")[0] == "helpers"
        ):
            names = [alias.name for alias in node.names]
            submodules = [n for n in names if f"{node.module}.{n}" in MODULES]
            if submodules:
                found += [(f"{node.module}.{n}", []) for n in submodules]
            if len(submodules) < len(names):
                found.append((node.module, [n for n in names if n not in submodules]))
        elif isinstance(node, ast.Import):
            found += [
                (alias.name, [])
                for alias in node.names
                if alias.name.startswith("helpers")
            ]
    return found


def defined_names(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {
                n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)
            }
    return names


@pytest.mark.parametrize("module", list(MODULES))
def test_each_module_imports_only_from_its_layer_or_below(module: str) -> None:
    above = [
        imported
        for imported, _ in helpers_imports(MODULES[module])
        if layer(imported) > layer(module)
    ]
    assert not above, f"{module} imports {above}, which sit above it"


def test_no_module_imports_itself_through_others() -> None:
    graph = {
        module: {
            imported for imported, _ in helpers_imports(path) if imported in MODULES
        }
        for module, path in MODULES.items()
    }
    visiting, done = [], set()

    def visit(module: str) -> None:
        assert module not in visiting, "import cycle: " + " -> ".join(
            visiting[visiting.index(module) :] + [module]
        )
        if module in done:
            return
        visiting.append(module)
        for imported in graph[module]:
            visit(imported)
        visiting.pop()
        done.add(module)

    for module in graph:
        visit(module)


@pytest.mark.parametrize("module", list(MODULES))
def test_each_name_is_imported_from_the_module_that_defines_it(module: str) -> None:
    """One import path per name: no module passes on what it imported."""
    for imported, names in helpers_imports(MODULES[module]):
        defined = defined_names(MODULES[imported])
        assert set(names) <= defined, (
            f"{module} imports {sorted(set(names) - defined)} from {imported}, which does not define them"
        )


@pytest.mark.parametrize("module", list(MODULES))
def test_each_module_is_short_enough_to_read_in_one_sitting(module: str) -> None:
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{module}: {lines} lines"


def test_helpers_read_no_files_under_scripts() -> None:
    readers = [
        module for module, path in MODULES.items() if '"scripts"' in path.read_text()
    ]
    assert not readers
