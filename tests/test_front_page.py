"""Specification of helpers.book.front_page: the front page's numbers are those of the
committed runs and the benchmark, written by a script, never typed."""

import pytest

from helpers.book import front_page, speed_report
from helpers.config import PROFILES
from helpers.train.recipe import PRESETS
from helpers.train.runs import load_study


@pytest.fixture(scope="module")
def study():
    return load_study()


def test_the_committed_front_page_shows_the_committed_runs(study):
    expected = front_page.front_page_text(study, speed_report.read_reports())
    assert front_page.FRONT_PAGE_FILE.read_text() == expected, (
        "generated/front_page.md is stale: run python scripts/write_front_page.py"
    )


def test_the_headline_lists_the_models_highest_mean_first(study):
    text = front_page.headline(study)
    means = {
        label: sum(run.metrics["mean_iou_digits"] for run in runs) / len(runs)
        for label, runs in (
            ("FCN-8s", study["fcn8s"]),
            ("U-Net", study["unet"]),
            ("V-Net", study["vnet"]),
        )
    }
    shown = sorted(means, key=lambda label: text.index(f"{label} "))
    assert shown == sorted(means, key=means.get, reverse=True)
    for label, mean in means.items():
        assert f"{label} {mean:.3f} (" in text


def test_a_training_time_is_the_books_images_over_the_measured_rate():
    report = {
        "machine": {"device": "a test CPU", "backend": "jax"},
        "results": [
            {
                "model": model,
                "setting": {"keras_default": True},
                "train_images_per_second": {"median": r},
            }
            for model, r in (("unet", 100.0), ("vnet", 50.0))
        ],
    }
    images = PRESETS["book"].epochs * PROFILES["full"].n_train
    text = front_page.training_times({"cpu": report})
    assert (
        f"on a test CPU with JAX, {images / 100 / 60:.0f} to {images / 50 / 60:.0f} "
        "minutes" in text
    )
