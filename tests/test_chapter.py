"""Specification of helpers.chapter: the steps chapters 2-4 share show the run's saved numbers."""

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers import chapter, data, models, training
from helpers.config import Profile

TINY = Profile("tiny", n_train=16, n_val=8, n_test=8, epochs=1, batch_size=8, patience=5)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> data.Dataset:
    return data.generate((16, 8, 8), seed=2, cache=tmp_path_factory.mktemp("cache"), progress=False)


@pytest.fixture(scope="module")
def finished(dataset, tmp_path_factory) -> training.TrainResult:
    return training.train(
        "unet",
        dataset,
        profile=TINY,
        model_kwargs={"base_filters": 4, "depth": 2},
        run_dir=tmp_path_factory.mktemp("run"),
    )


def test_the_scores_shown_are_those_the_run_saved(finished, capsys):
    table = chapter.test_scores(finished).data
    saved = json.loads((finished.run_dir / "metrics.json").read_text())
    assert f"mean IoU over the digits: {saved['mean_iou_digits']:.4f}" in capsys.readouterr().out
    assert len(table) == 11
    assert table.loc["background", "IoU"] == pytest.approx(saved["iou"][10])


def test_predictions_are_scored_per_image_and_drawn_twice(finished, dataset, monkeypatch):
    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.gcf()))
    scores = chapter.show_test_predictions(finished, dataset.test, n=2)
    assert scores.shape == (len(dataset.test),)
    assert len(shown) == 2
    assert np.all((scores[~np.isnan(scores)] >= 0) & (scores[~np.isnan(scores)] <= 1))


def test_the_budget_table_has_a_row_per_model(capsys):
    table = chapter.budget_table(models.build_model("unet")).data
    assert list(table.index) == list(models.MODEL_BUILDERS)
    assert "unet:" in capsys.readouterr().out
