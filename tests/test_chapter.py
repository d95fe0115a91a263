"""Specification of helpers.chapter: the steps chapters 2-4 share show the run's saved
numbers."""

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers import chapter, models, results


def test_the_scores_shown_are_those_the_run_saved(tiny_run, capsys):
    table = chapter.test_scores(tiny_run).data
    saved = json.loads((tiny_run.run_dir / "metrics.json").read_text())
    assert (
        f"mean IoU over the digits: {saved['mean_iou_digits']:.4f}"
        in capsys.readouterr().out
    )
    assert len(table) == 11
    assert table.loc["background", "IoU"] == pytest.approx(saved["iou"][10])


def test_predictions_are_scored_per_image_and_drawn_twice(
    tiny_run, tiny_dataset, monkeypatch
):
    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.gcf()))
    scores = chapter.show_test_predictions(tiny_run, tiny_dataset.test, n=2)
    assert scores.shape == (len(tiny_dataset.test),)
    assert len(shown) == 2
    assert np.all((scores[~np.isnan(scores)] >= 0) & (scores[~np.isnan(scores)] <= 1))


def test_the_budget_table_has_a_row_per_model(capsys):
    table = chapter.budget_table(models.build_model("unet")).data
    assert list(table.index) == list(models.MODEL_BUILDERS)
    assert "unet:" in capsys.readouterr().out


def test_the_seed_report_has_a_row_per_committed_seed_and_one_figure(
    capsys, monkeypatch
):
    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.gcf()))
    table = chapter.seed_report("fcn8s").data
    study = results.load_study()["fcn8s"]
    assert list(table.index) == [run.seed for run in study]
    assert table["mean IoU (digits)"].tolist() == [
        run.metrics["mean_iou_digits"] for run in study
    ]
    scores = [run.metrics["mean_iou_digits"] for run in study]
    assert f"mean IoU over the digits {np.mean(scores):.4f}" in capsys.readouterr().out
    assert len(shown) == 1
    assert len(shown[0].axes[0].get_lines()) >= 2 * len(study)


def test_the_seed_report_names_a_seed_far_below_the_median(monkeypatch, capsys):
    monkeypatch.setattr(plt, "show", lambda: None)
    runs = results.load_study()["unet"]
    scores = {run.seed: run.metrics["mean_iou_digits"] for run in runs}
    typical = results.median_seed(runs)
    far_below = [
        seed
        for seed, score in scores.items()
        if score < scores[typical.seed] - results.FAR_BELOW_MEDIAN
    ]
    assert far_below, "the committed U-Net seeds no longer include a failed run"
    chapter.seed_report("unet")
    printed = capsys.readouterr().out
    for seed in scores:
        assert (f"seed {seed} is far below" in printed) == (seed in far_below)
