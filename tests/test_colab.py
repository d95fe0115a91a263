"""A chapter opened on a fresh Colab runtime starts: it clones the book from the address
the launch buttons use, imports ``helpers`` from the clone, and its training step
loads the cloned run instead of training.

The simulation runs the start of a chapter (its setup cell, its imports, its
training step) in an empty folder with a kernel that cannot import
``helpers`` (the editable install is hidden), and points the clone at a
snapshot of this working tree, so that no network is needed. Every chapter
has the same setup cell and the same training step (tested below and in
``test_training_step.py``), so one chapter runs there; the rest of every
chapter runs under nbval.
"""

from __future__ import annotations

import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import nbclient
import nbformat
import pytest
import yaml
from committed_study import RETRAINED_NEXT

from helpers import config
from helpers.config import REPO_ROOT

CHAPTERS = sorted((REPO_ROOT / "notebooks").glob("0*.ipynb"))

HIDE_THE_INSTALLED_BOOK = """
import sys
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != {root!r}]
sys.meta_path[:] = [
    finder
    for finder in sys.meta_path
    if "__editable__" not in getattr(finder, "__module__", "")
]
"""


def book_repository() -> str:
    """The repository address in ``_config.yml``, which the launch and repository
    buttons use."""
    return yaml.safe_load((REPO_ROOT / "_config.yml").read_text())["repository"]["url"]


def setup_cell(notebook: Path) -> str:
    return next(
        cell.source
        for cell in nbformat.read(notebook, as_version=4).cells
        if cell.cell_type == "code"
    )


def snapshot_repository(destination: Path) -> Path:
    """A git repository holding this working tree's files as they are now (committed or
    not)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        if (REPO_ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, destination / name)
    git = [
        "git",
        "-c",
        "user.name=test",
        "-c",
        "user.email=test@example.org",
        "-c",
        "init.defaultBranch=main",
    ]
    for command in (
        ["init", "--quiet"],
        ["add", "--all"],
        ["commit", "--quiet", "-m", "snapshot"],
    ):
        subprocess.run(git + command, cwd=destination, check=True)
    return destination


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.stem)
def test_the_setup_cell_clones_the_repository_of_the_launch_buttons(
    chapter: Path,
) -> None:
    assert f'"{book_repository()}"' in setup_cell(chapter)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.stem)
def test_the_setup_cell_comes_first(chapter: Path) -> None:
    assert "git" in setup_cell(chapter) and 'find_spec("helpers")' in setup_cell(
        chapter
    )


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.stem)
def test_the_setup_cell_is_collapsed_behind_a_one_line_summary(chapter: Path) -> None:
    cell = next(
        cell
        for cell in nbformat.read(chapter, as_version=4).cells
        if cell.cell_type == "code"
    )
    assert "hide-input" in cell.metadata.get("tags", [])
    assert cell.metadata["mystnb"]["code_prompt_show"].startswith("Setup:")


def test_every_chapter_has_the_same_setup_cell() -> None:
    assert len({setup_cell(chapter) for chapter in CHAPTERS}) == 1


def fresh_runtime(tmp_path: Path, monkeypatch) -> tuple[Path, str]:
    """An empty runtime folder whose kernels cannot import the installed book, and the
    address of a snapshot of this working tree that the setup cell clones from."""
    runtime = tmp_path / "content"
    runtime.mkdir()
    startup = tmp_path / "startup"
    startup.mkdir()
    (startup / "sitecustomize.py").write_text(
        "import os\n" + HIDE_THE_INSTALLED_BOOK.format(root=str(REPO_ROOT))
    )
    snapshot = snapshot_repository(tmp_path / "snapshot")
    monkeypatch.setenv("PYTHONPATH", str(startup))
    monkeypatch.setenv("SEGBOOK_REPOSITORY", snapshot.as_uri())
    return runtime, snapshot.as_uri()


def execute_in(document: nbformat.NotebookNode, runtime: Path) -> list[str]:
    """Run ``document`` on a kernel started in ``runtime``; each cell's printed text."""
    nbclient.NotebookClient(
        document,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(runtime)}},
    ).execute()
    return [
        "".join(output.get("text", "") for output in cell.outputs)
        for cell in document.cells
    ]


def changes_in(clone: Path) -> str:
    """``git status --porcelain`` of the clone: empty when no cell wrote into it."""
    return subprocess.run(
        ["git", "status", "--porcelain"],
        cwd=clone,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


TRAINING_STEP = "chapter.train_and_report(MODEL_NAME, profile, builder="
NO_TRAINING = (
    "import keras\n\n"
    "def _refuse(*args, **kwargs):\n"
    "    raise RuntimeError('the training step trained')\n\n"
    "keras.Model.fit = _refuse"
)
PROBE = "import helpers\nprint('helpers from', helpers.__file__)"


def chapter_start(notebook: Path) -> list[nbformat.NotebookNode]:
    """The setup cell, the imports, a probe of where ``helpers`` comes from, the
    network cell, and the training step, with training refused."""
    cells = [
        cell for cell in nbformat.read(notebook, 4).cells if cell.cell_type == "code"
    ]
    network = next(cell for cell in cells if "network" in cell.metadata.get("tags", []))
    step = next(cell for cell in cells if TRAINING_STEP in cell.source)
    return [
        cells[0],
        cells[1],
        nbformat.v4.new_code_cell(PROBE),
        network,
        nbformat.v4.new_code_cell(NO_TRAINING),
        step,
    ]


@pytest.mark.parametrize("notebook", ["02_fcn", "03_unet", "04_vnet"])
def test_every_architecture_chapter_trains_with_the_same_step(notebook: str) -> None:
    """So that one chapter's training step on a fresh runtime stands for all three."""
    cells = nbformat.read(REPO_ROOT / "notebooks" / f"{notebook}.ipynb", 4).cells
    assert any(
        TRAINING_STEP in cell.source for cell in cells if cell.cell_type == "code"
    )


@RETRAINED_NEXT
def test_a_chapter_on_a_fresh_runtime_clones_the_book_and_loads_the_cloned_run(
    tmp_path: Path, monkeypatch
) -> None:
    notebook, model = "02_fcn", "fcn8s"
    runtime, snapshot = fresh_runtime(tmp_path, monkeypatch)
    hidden = subprocess.run(
        [
            sys.executable,
            "-c",
            "import importlib.util; print(importlib.util.find_spec('helpers'))",
        ],
        cwd=runtime,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert hidden == "None", "the simulated runtime must not see the installed book"
    monkeypatch.setenv(config.PROFILE_ENV, "full")
    monkeypatch.delenv(config.ARTIFACTS_ENV)
    path = REPO_ROOT / "notebooks" / f"{notebook}.ipynb"
    document = nbformat.v4.new_notebook(
        cells=chapter_start(path), metadata=nbformat.read(path, 4).metadata
    )

    outputs = execute_in(document, runtime)

    clone = runtime / "segmentation-book"
    assert f"Cloning {snapshot}" in outputs[0]
    assert outputs[2].strip() == f"helpers from {clone / 'helpers' / '__init__.py'}"
    assert f"Loaded the finished run in artifacts/{model}/seed-0" in outputs[4]
    assert sorted(path.name for path in runtime.iterdir()) == ["segmentation-book"]
    assert not changes_in(clone), "a cell wrote into the clone"


SET_REPOSITORY = runpy.run_path(str(REPO_ROOT / "scripts" / "set_repository.py"))


def book_copy(folder: Path) -> Path:
    """The book's settings and chapters, copied into ``folder``."""
    shutil.copy2(REPO_ROOT / "_config.yml", folder / "_config.yml")
    shutil.copytree(REPO_ROOT / "notebooks", folder / "notebooks")
    return folder


def test_setting_the_repository_writes_the_launch_buttons_and_every_setup_cell(
    tmp_path: Path,
) -> None:
    root = book_copy(tmp_path)
    fork = "https://github.com/someone/fork-of-the-book"
    changed = SET_REPOSITORY["set_repository"](fork, root)
    chapters = sorted((root / "notebooks").glob("0*.ipynb"))
    assert sorted(changed) == sorted([root / "_config.yml", *chapters])
    config = yaml.safe_load((root / "_config.yml").read_text())
    assert config["repository"]["url"] == fork
    for chapter in chapters:
        assert f'"{fork}"' in setup_cell(chapter)
        assert book_repository() not in setup_cell(chapter)
    assert SET_REPOSITORY["set_repository"](fork, root) == []


def test_a_repository_address_that_is_none_is_refused_and_nothing_written(
    tmp_path: Path,
) -> None:
    root = book_copy(tmp_path)
    before = (root / "_config.yml").read_text()
    with pytest.raises(ValueError, match="not a repository address"):
        SET_REPOSITORY["set_repository"]("my fork", root)
    assert (root / "_config.yml").read_text() == before
