"""Each architecture chapter defines its network in a cell a reader can edit and run,
and that cell is the library's code: the module's text from its imports on, character
for character. Changing one without the other fails here."""

from __future__ import annotations

import ast
import difflib
import json
from types import ModuleType

import pytest

from helpers.config import REPO_ROOT
from helpers.nets import fcn, unet, vnet

NETWORK_TAG = "network"
CHAPTER_MODULES = {"02_fcn": fcn, "03_unet": unet, "04_vnet": vnet}
TRAINED_BUILDERS = {
    "02_fcn": "build_fcn8s",
    "03_unet": "build_unet",
    "04_vnet": "build_vnet",
}


def _cells(chapter: str) -> list[dict]:
    notebook = REPO_ROOT / "notebooks" / f"{chapter}.ipynb"
    return json.loads(notebook.read_text())["cells"]


def _network_cells(chapter: str) -> list[str]:
    """The source of every code cell of ``chapter`` tagged as its network."""
    return [
        "".join(cell["source"])
        for cell in _cells(chapter)
        if cell["cell_type"] == "code"
        and NETWORK_TAG in cell.get("metadata", {}).get("tags", [])
    ]


def _library_text(module: ModuleType) -> str:
    """``module``'s source without its docstring and ``from __future__`` import: what a
    notebook cell can hold."""
    source = open(module.__file__, encoding="utf-8").read()
    body = ast.parse(source).body
    first = next(
        statement
        for statement in body[1:]
        if not (
            isinstance(statement, ast.ImportFrom) and statement.module == "__future__"
        )
    )
    return "\n".join(source.splitlines()[first.lineno - 1 :]).strip()


@pytest.mark.parametrize("chapter", CHAPTER_MODULES)
def test_network_cell_is_the_library_module(chapter: str) -> None:
    module = CHAPTER_MODULES[chapter]
    (cell,) = _network_cells(chapter)
    library = _library_text(module)
    diff = "\n".join(
        difflib.unified_diff(
            library.splitlines(),
            cell.strip().splitlines(),
            module.__name__,
            f"{chapter} network cell",
            lineterm="",
        )
    )
    assert cell.strip() == library, diff


@pytest.mark.parametrize("chapter", CHAPTER_MODULES)
def test_training_cell_trains_the_network_cell(chapter: str) -> None:
    """The chapter trains the network its cell defines, so an edited cell trains the
    edited network."""
    builder = TRAINED_BUILDERS[chapter]
    calls = [
        "".join(cell["source"])
        for cell in _cells(chapter)
        if cell["cell_type"] == "code"
        and "chapter.train_and_report(" in "".join(cell["source"])
    ]
    assert calls
    assert all(f"builder={builder}" in call for call in calls), calls


def test_library_text_starts_at_the_imports() -> None:
    text = _library_text(unet)
    assert text.startswith("import keras\n")
    assert unet.__doc__.splitlines()[0] not in text
    assert "__future__" not in text
