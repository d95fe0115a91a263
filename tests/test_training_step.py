"""In the full profile a chapter's training step loads the committed run and trains
nothing: run in this environment, and on a simulated fresh Colab runtime that clones
the book.

Training is made to fail (``keras.Model.fit`` raises), so a step that would train
fails at once instead of training for an hour.
"""

from __future__ import annotations

from pathlib import Path

import keras
import nbformat
import pytest
from committed_study import RETRAINED_NEXT
from test_colab import changes_in, execute_in, fresh_runtime

from helpers import chapter, config, training
from helpers.config import COMMITTED_ARTIFACTS, REPO_ROOT

TRAINING_STEP = "chapter.train_and_report(MODEL_NAME, profile)"
CHAPTERS = {"02_fcn": "fcn8s", "03_unet": "unet", "04_vnet": "vnet"}
NO_TRAINING = (
    "import keras\n\n"
    "def _refuse(*args, **kwargs):\n"
    "    raise RuntimeError('the training step trained')\n\n"
    "keras.Model.fit = _refuse"
)


def refuse_training(*args, **kwargs):
    raise RuntimeError("the training step trained")


def modification_times(folder: Path) -> dict[str, int]:
    return {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}


def main_run(name: str) -> training.TrainResult:
    """A chapter's training step for its model's main run."""
    return chapter.train_and_report(name, config.PROFILES["full"])[0]


def variant_run(name: str) -> training.TrainResult:
    """A chapter's training step for a variant of the study (chapters 2 and 4)."""
    return chapter.train_study_run(name, config.PROFILES["full"])


@RETRAINED_NEXT
@pytest.mark.parametrize(
    "run_name, step",
    [(name, main_run) for name in CHAPTERS.values()]
    + [(name, variant_run) for name in ("fcn32s", "fcn16s", "vnet-dice")],
)
def test_the_training_step_loads_the_committed_run_without_training(
    run_name, step, monkeypatch, capsys
):
    monkeypatch.delenv(config.ARTIFACTS_ENV)
    monkeypatch.setattr(keras.Model, "fit", refuse_training)
    run_dir = COMMITTED_ARTIFACTS / run_name / "seed-0"
    before = modification_times(run_dir)
    result = step(run_name)
    assert result.run_dir == run_dir
    assert f"Loaded the finished run in artifacts/{run_name}/seed-0" in (
        capsys.readouterr().out
    )
    assert modification_times(run_dir) == before


def chapter_cells(notebook: Path) -> list[nbformat.NotebookNode]:
    """The setup cell, the imports, and the training step, with training refused."""
    cells = [
        cell for cell in nbformat.read(notebook, 4).cells if cell.cell_type == "code"
    ]
    step = next(cell for cell in cells if TRAINING_STEP in cell.source)
    return [cells[0], cells[1], nbformat.v4.new_code_cell(NO_TRAINING), step]


@RETRAINED_NEXT
@pytest.mark.parametrize("notebook", list(CHAPTERS), ids=str)
def test_on_a_fresh_colab_runtime_the_training_step_loads_the_cloned_run(
    notebook, tmp_path, monkeypatch
):
    runtime, _ = fresh_runtime(tmp_path, monkeypatch)
    monkeypatch.setenv(config.PROFILE_ENV, "full")
    monkeypatch.delenv(config.ARTIFACTS_ENV)
    path = REPO_ROOT / "notebooks" / f"{notebook}.ipynb"
    document = nbformat.v4.new_notebook(
        cells=chapter_cells(path), metadata=nbformat.read(path, 4).metadata
    )

    step_output = execute_in(document, runtime)[3]

    model_name = CHAPTERS[notebook]
    assert f"Loaded the finished run in artifacts/{model_name}/seed-0" in step_output
    clone = runtime / "segmentation-book"
    assert not changes_in(clone), "the training step wrote into the clone"
