"""Specification of helpers.results, and a check that the committed runs are what they claim."""

import json

import numpy as np
import pytest

from helpers import BACKGROUND, data, results, training
from helpers.config import COMMITTED_ARTIFACTS


@pytest.fixture(scope="module")
def runs() -> dict[str, results.Run]:
    return results.load_runs()


@pytest.fixture(scope="module")
def test_split() -> data.Split:
    return data.generate().test


def saved_metrics(name: str) -> dict:
    return json.loads((COMMITTED_ARTIFACTS / name / training.METRICS_FILE).read_text())


def test_the_per_class_table_holds_the_numbers_of_the_metrics_files(runs):
    table = results.per_class_table(runs)
    for name, run in runs.items():
        saved = saved_metrics(name)
        np.testing.assert_array_equal(table[(run.label, "IoU")].to_numpy(), np.array(saved["iou"], dtype=float))
        np.testing.assert_array_equal(table[(run.label, "Dice")].to_numpy(), np.array(saved["dice"], dtype=float))


def test_the_per_image_table_holds_the_per_image_numbers(runs):
    table = results.per_class_table(runs, per_image=True)
    assert table[("U-Net", "IoU")].to_numpy() == pytest.approx(saved_metrics("unet")["per_image"]["iou"])


def test_dataset_level_dice_follows_from_iou_in_every_committed_run(runs):
    for run in runs.values():
        iou = run.metrics["iou"]
        np.testing.assert_allclose(run.metrics["dice"], 2 * iou / (1 + iou), rtol=1e-12)


def test_the_summary_puts_the_original_figures_beside_ours(runs):
    summary = results.summary_table(runs)
    assert summary.loc["V-Net", "original project (per-image mean IoU)"] == 0.936
    assert summary.loc["U-Net", "mean IoU, digits"] == saved_metrics("unet")["mean_iou_digits"]
    assert np.isnan(summary.loc["FCN-8s", "original project (per-image mean IoU)"])


def test_goal_checks_compare_measured_figures_with_targets(runs):
    goals = results.goal_checks(runs)
    assert goals.loc["U-Net mean digit IoU", "measured"] == saved_metrics("unet")["mean_iou_digits"]
    assert (goals["met"] == (goals["measured"] >= goals["target"])).all()


def test_training_time_to_the_reported_score_sums_epochs_up_to_the_best(runs):
    run = runs["vnet"]
    assert run.seconds_to_best_epoch == pytest.approx(sum(run.history["epoch_seconds"][: run.facts["best_epoch"]]))
    assert run.seconds_to_best_epoch <= run.facts["train_seconds"]


def test_a_folder_without_a_finished_run_is_reported(tmp_path):
    (tmp_path / "unet").mkdir()
    (tmp_path / "unet" / "metrics.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="missing run.json, history.json"):
        results.load_runs(tmp_path, names=("unet",))


@pytest.mark.parametrize("name", ["unet", "vnet"])
def test_committed_models_reproduce_their_committed_test_scores(name, test_split):
    """Loading the committed model and evaluating it on a freshly generated test split gives the book's figures."""
    fresh = training.evaluate(COMMITTED_ARTIFACTS / name, test_split)
    saved = saved_metrics(name)
    assert fresh["images"] == saved["images"] == 500
    assert fresh["mean_iou_digits"] == pytest.approx(saved["mean_iou_digits"], abs=1e-4)
    assert fresh["iou"][BACKGROUND] == pytest.approx(saved["iou"][BACKGROUND], abs=1e-4)
    changed_pixels = np.abs(fresh["confusion_matrix"] - np.array(saved["confusion_matrix"])).sum() / 2
    assert changed_pixels < 100  # float noise between GPU/JAX and CPU/TensorFlow, out of 2.7 million pixels
