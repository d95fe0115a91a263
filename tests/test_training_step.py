"""In the full profile a chapter's training step loads the committed run and trains
nothing (on a simulated fresh Colab runtime too: ``test_colab.py``).

Training is made to fail (``keras.Model.fit`` raises), so a step that would train
fails at once instead of training for an hour.
"""

from __future__ import annotations

from pathlib import Path

import keras
import pytest
from committed_study import RETRAINED_NEXT

from helpers import config
from helpers.book import chapter
from helpers.config import COMMITTED_ARTIFACTS
from helpers.train import resume

CHAPTERS = {"02_fcn": "fcn8s", "03_unet": "unet", "04_vnet": "vnet"}


def refuse_training(*args, **kwargs):
    raise RuntimeError("the training step trained")


def modification_times(folder: Path) -> dict[str, int]:
    return {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}


def main_run(name: str) -> resume.TrainResult:
    """A chapter's training step for its model's main run."""
    return chapter.train_and_report(name, config.PROFILES["full"])[0]


def variant_run(name: str) -> resume.TrainResult:
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
