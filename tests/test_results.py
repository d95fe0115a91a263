"""Specification of helpers.results, and a check that the committed runs are what they claim."""

import json

import numpy as np
import pytest

from helpers import BACKGROUND, artifacts, data, inference, original_project, results
from helpers.config import COMMITTED_ARTIFACTS


@pytest.fixture(scope="module")
def runs() -> dict[str, results.Run]:
    return results.load_runs()


@pytest.fixture(scope="module")
def test_split() -> data.Split:
    return data.generate().test


def saved_metrics(name: str) -> dict:
    return json.loads((COMMITTED_ARTIFACTS / name / artifacts.METRICS_FILE).read_text())


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
    assert summary.loc["V-Net", "original project, per-image mean IoU, digits"] == pytest.approx(0.93639)
    assert summary.loc["U-Net", "mean IoU, digits"] == saved_metrics("unet")["mean_iou_digits"]
    assert np.isnan(summary.loc["FCN-8s", "original project, per-image mean IoU, digits"])


def test_the_comparison_table_sets_the_printed_scores_beside_ours(runs):
    table = results.original_comparison_table(runs, "unet")
    assert table.loc["9", ("original project", "test IoU")] == 0.8846
    assert table.loc["9", ("original project", "validation Dice")] == 0.9390
    assert table.loc["9", ("this book, per-image", "test IoU")] == saved_metrics("unet")["per_image"]["iou"][9]
    assert (
        table.loc["background", ("this book, dataset-level", "test Dice")] == saved_metrics("unet")["dice"][BACKGROUND]
    )


def test_a_dice_above_the_bound_of_its_iou_is_flagged():
    assert results.dice_above_iou_bound([0.5, 0.5], [0.6, 2 / 3]).tolist() == [False, False]
    assert results.dice_above_iou_bound([0.5], [0.7]).tolist() == [True]


def test_rounding_slack_spares_a_row_that_rounding_alone_explains():
    assert results.dice_above_iou_bound([0.9973], [0.9987]).tolist() == [True]
    assert results.dice_above_iou_bound([0.9973], [0.9987], rounding=5e-5).tolist() == [False]


def test_the_original_readme_dice_of_unet_breaks_the_bound_of_its_test_iou():
    """The finding chapter 5 reports: the README's U-Net Dice column is not from the test split."""
    printed = original_project.PER_CLASS["unet"]
    assert results.dice_above_iou_bound(printed["test IoU"], printed["validation Dice"], 5e-5).sum() == 6
    assert not results.dice_above_iou_bound(printed["test IoU"], printed["test Dice"], 5e-5).any()


def test_per_image_scores_of_every_committed_run_respect_the_bound(runs):
    for run in runs.values():
        scores = run.metrics["per_image"]
        assert not results.dice_above_iou_bound(scores["iou"], scores["dice"]).any()


@pytest.mark.parametrize(("name", "floor"), [("unet", 0.95), ("vnet", 0.95), ("fcn8s", 0.90)])
def test_committed_runs_segment_unseen_digits_well(runs, name, floor):
    """The quality bar of the committed runs: mean digit IoU on the test split, dataset-level."""
    assert runs[name].metrics["mean_iou_digits"] >= floor


@pytest.mark.parametrize("name", ["unet", "vnet"])
def test_committed_encoder_decoders_find_the_background(runs, name):
    assert runs[name].metrics["iou"][BACKGROUND] >= 0.998


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
    fresh = inference.evaluate(COMMITTED_ARTIFACTS / name, test_split)
    saved = saved_metrics(name)
    assert fresh["images"] == saved["images"] == 500
    assert fresh["mean_iou_digits"] == pytest.approx(saved["mean_iou_digits"], abs=1e-4)
    assert fresh["iou"][BACKGROUND] == pytest.approx(saved["iou"][BACKGROUND], abs=1e-4)
    changed_pixels = np.abs(fresh["confusion_matrix"] - np.array(saved["confusion_matrix"])).sum() / 2
    assert changed_pixels < 100  # float noise between GPU/JAX and CPU/TensorFlow, out of 2.7 million pixels


def test_the_setup_table_sets_the_original_epochs_beside_ours(runs):
    table = results.setup_table(runs)
    assert table.loc["epochs", "original U-Net"] == "10"
    assert table.loc["epochs", "original V-Net"] == "30"
    assert table.loc["epochs", "this book, V-Net"] == str(runs["vnet"].facts["epochs_run"])
    assert table.loc["parameters", "this book, U-Net"] == f"{runs['unet'].facts['parameters']:,}"


def benchmark_with(unet_rate: float, vnet_rate: float, unet_memory: int, vnet_memory: int) -> dict:
    rows = [
        {
            "model": name,
            "setting": {"keras_default": True},
            "train_images_per_second": {"median": rate},
            "peak_memory_bytes": memory,
        }
        for name, rate, memory in (("unet", unet_rate, unet_memory), ("vnet", vnet_rate, vnet_memory))
    ]
    return {"machine": {"device": "CPU: test"}, "results": rows}


def test_the_claims_table_names_the_model_our_measurements_favour(runs):
    claims = results.claims_table(runs, benchmark_with(10.0, 20.0, 2 * 2**20, 1 * 2**20))["better here"]
    assert claims[original_project.CLAIMS["memory"]] == "V-Net"
    faster = "U-Net" if runs["unet"].facts["seconds_per_epoch"] < runs["vnet"].facts["seconds_per_epoch"] else "V-Net"
    assert claims[original_project.CLAIMS["faster"]] == faster
    better = "U-Net" if runs["unet"].metrics["mean_iou_digits"] > runs["vnet"].metrics["mean_iou_digits"] else "V-Net"
    assert claims[original_project.CLAIMS["better"]] == better


def test_a_lower_peak_memory_of_unet_favours_unet():
    claims = results.claims_table(results.load_runs(), benchmark_with(10.0, 20.0, 1, 2))["better here"]
    assert claims[original_project.CLAIMS["memory"]] == "U-Net"
