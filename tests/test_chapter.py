"""Specification of helpers.book.chapter: the steps chapters 2-4 share show the run's saved
numbers."""

import dataclasses
import json
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers import config
from helpers.book import chapter
from helpers.evaluate import metrics
from helpers.nets import registry
from helpers.nets.names import MODEL_LABELS
from helpers.train import artifacts, loop, resume, runs


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
    table = chapter.budget_table(registry.build_model("unet")).data
    assert list(table.index) == [MODEL_LABELS[name] for name in registry.MODEL_BUILDERS]
    assert "unet:" in capsys.readouterr().out


def test_a_models_budget_is_printed_in_one_line(capsys):
    model = registry.build_model("unet")
    chapter.model_budget(model)
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("unet: ")
    assert f"{model.count_params():,} parameters" in line


def test_the_seed_report_has_a_row_per_committed_seed_and_one_figure(
    capsys, monkeypatch
):
    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.gcf()))
    table = chapter.seed_report("fcn8s").data
    study = runs.load_study()["fcn8s"]
    assert list(table.index) == [run.seed for run in study]
    assert table["mean IoU (digits)"].tolist() == [
        run.metrics["mean_iou_digits"] for run in study
    ]
    scores = [run.metrics["mean_iou_digits"] for run in study]
    assert f"mean IoU over the digits {np.mean(scores):.4f}" in capsys.readouterr().out
    assert len(shown) == 1
    assert len(shown[0].axes[0].get_lines()) >= 2 * len(study)


def write_seed_run(folder: Path, seed: int, missed: int) -> None:
    """A finished U-Net run ``seed`` of three epochs, which kept its last weights
    though epoch 2 validated best, on 20 test images (image i holds 100 pixels of digit
    i % 10) that each miss ``missed`` digit pixels: mean digit IoU 1 - missed / 100."""
    run_dir = folder / "unet" / f"seed-{seed}"
    run_dir.mkdir(parents=True)
    images = np.arange(20)
    confusions = np.zeros((20, 11, 11), dtype=np.uint16)
    confusions[images, images % 10, images % 10] = 100 - missed
    confusions[images, images % 10, 10] = missed
    confusions[:, 10, 10] = 1000
    scores = metrics.scores_from_confusion(confusions.sum(axis=0))
    scores |= {
        "confusion_matrix": confusions.sum(axis=0),
        "per_image": {"iou": scores["iou"], "dice": scores["dice"]},
    }
    artifacts.write_json(run_dir / artifacts.METRICS_FILE, scores)
    artifacts.write_confusions(run_dir / artifacts.CONFUSIONS_FILE, confusions)
    facts = {
        "config": {"model": "unet", "seed": seed},
        "best_epoch": 2,
        "kept_epoch": 3,
    }
    artifacts.write_json(run_dir / artifacts.RUN_FILE, facts)
    curves = {"loss": [0.3, 0.2, 0.25], "accuracy": [0.9, 0.95, 0.94]}
    history = curves | {f"val_{key}": values for key, values in curves.items()}
    artifacts.write_json(run_dir / artifacts.HISTORY_FILE, history)


@pytest.fixture
def seed_folder(tmp_path, monkeypatch) -> Path:
    """U-Net seeds 0, 1, 2 missing 50, 2 and 4 pixels an image: seed 2 (IoU 0.96) is
    the median seed, and seed 0 (0.5) is far below it."""
    monkeypatch.setattr(plt, "show", lambda: None)
    for seed, missed in enumerate((50, 2, 4)):
        write_seed_run(tmp_path, seed, missed)
    return tmp_path


def test_the_seed_report_names_the_seed_far_below_the_median_and_only_it(
    seed_folder, capsys
):
    chapter.seed_report("unet", seed_folder)
    printed = capsys.readouterr().out
    assert "seed 0 is far below the median seed 2: mean IoU over the digits 0.5000" in (
        printed
    )
    assert "seed 1 is far below" not in printed and "seed 2 is far below" not in printed


def test_the_seed_report_gives_the_epoch_whose_weights_each_seed_kept(seed_folder):
    table = chapter.seed_report("unet", seed_folder).data
    assert table["kept epoch"].tolist() == [3, 3, 3]


def test_a_study_run_not_in_the_manifest_is_refused_with_the_runs_it_has():
    with pytest.raises(ValueError, match=r"no run 'fcn4s' with seed 0.*'fcn32s'"):
        chapter.train_study_run("fcn4s", config.PROFILES["quick"])


def test_a_study_run_trains_with_its_manifest_entrys_model_and_settings(
    monkeypatch, tmp_path
):
    calls = []
    monkeypatch.setenv(config.ARTIFACTS_ENV, str(tmp_path))
    monkeypatch.setattr(
        loop, "train", lambda model, **kwargs: calls.append((model, kwargs))
    )
    chapter.train_study_run("vnet-dice", config.PROFILES["quick"])
    [(model, kwargs)] = calls
    assert (model, kwargs["settings"].loss, kwargs["seed"]) == ("vnet", "dice", 0)
    assert kwargs["run_dir"] == tmp_path / "vnet-dice" / "seed-0"


def variant_of(run: resume.TrainResult, name: str, folder: Path) -> resume.TrainResult:
    """A copy of ``run`` filed as run ``name`` (its label is that name's)."""
    run_dir = folder / name / "seed-0"
    shutil.copytree(run.run_dir, run_dir)
    return dataclasses.replace(run, run_dir=run_dir)


def test_variants_are_compared_on_the_same_test_images_with_their_gains(
    tiny_run, tiny_dataset, tmp_path, monkeypatch, capsys
):
    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.gcf()))
    variants = [variant_of(tiny_run, name, tmp_path) for name in ("fcn16s", "fcn8s")]
    table = chapter.compare_variants(variants, tiny_dataset.test, n=2).data
    saved = runs.load_run(variants[0].run_dir).metrics["mean_iou_digits"]
    assert list(table.index) == ["FCN-16s", "FCN-8s"]
    assert table["mean IoU (digits)"].tolist() == [saved, saved]
    assert "FCN-8s gains +0.0000 mean IoU over the digits on FCN-16s." in (
        capsys.readouterr().out
    )
    [figure] = shown
    assert len(figure.axes) == 2 * (2 + len(variants))


def test_two_variants_of_one_label_are_refused(tiny_run, tiny_dataset, tmp_path):
    variants = [variant_of(tiny_run, "fcn8s", tmp_path / side) for side in "ab"]
    with pytest.raises(ValueError, match="two variants are labelled 'FCN-8s'"):
        chapter.compare_variants(variants, tiny_dataset.test, n=2)


def test_the_border_zoom_enlarges_the_worst_images_where_they_are_wrong(
    tiny_run, tiny_dataset, monkeypatch
):
    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.gcf()))
    scores = np.arange(len(tiny_dataset.test), dtype=float)
    chapter.show_border_zoom(tiny_run, tiny_dataset.test, scores, n=2, size=20)
    [figure] = shown
    titles = [ax.get_title() for ax in figure.axes[::2]]
    assert [title.split(",")[0] for title in titles] == ["test #0", "test #1"]
    assert all(ax.images[0].get_array().shape[:2] == (20, 20) for ax in figure.axes)
