"""Specification of benchmarks/speed.py: one run of its quick mode under the current
backend, and its rules."""

from __future__ import annotations

import json
import runpy
import statistics
import subprocess
import sys
from typing import Any

import keras
import pytest

from helpers.config import REPO_ROOT
from helpers.nets.names import BOOK_MODELS
from helpers.nets.registry import build_model, count_flops

SCRIPT = REPO_ROOT / "benchmarks" / "speed.py"
TRAINING_CHANGES = {
    "batch_size",
    "precision",
}  # a variant that changes these trains another model, not faster


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The report of ``speed.py --quick``, read from the file that ``--out`` named."""
    out = tmp_path_factory.mktemp("benchmark") / "quick.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def speed() -> dict[str, Any]:
    """The script's functions (it is a script, not a module of a package)."""
    return runpy.run_path(str(SCRIPT), run_name="speed")


def books(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each model's row in the book's setting."""
    return {
        row["model"]: row
        for row in report["results"]
        if row["setting"]["keras_default"]
    }


def variants(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of every other setting."""
    return [row for row in report["results"] if not row["setting"]["keras_default"]]


def test_every_model_is_measured_once_in_the_books_setting_and_in_variants(report):
    assert report["machine"]["backend"] == keras.backend.backend()
    assert sorted(row["model"] for row in books(report).values()) == sorted(BOOK_MODELS)
    assert sum(row["setting"]["keras_default"] for row in report["results"]) == len(
        BOOK_MODELS
    )
    assert {row["model"] for row in variants(report)} == set(BOOK_MODELS)


def test_every_measurement_is_positive_with_its_median_between_min_and_max(report):
    summaries = [
        value
        for row in report["results"]
        for value in row.values()
        if isinstance(value, dict) and "values" in value
    ]
    assert len(summaries) >= 5 * len(
        report["results"]
    )  # rates, speed-up, fraction of matmul, latency
    for summary in summaries:
        assert 0 < summary["min"] <= summary["median"] <= summary["max"]
        assert (summary["min"], summary["max"]) == (
            min(summary["values"]),
            max(summary["values"]),
        )
        assert summary["median"] == pytest.approx(statistics.median(summary["values"]))


def test_the_settings_of_a_model_are_timed_in_the_same_rounds(report):
    for row in report["results"]:
        for name in (
            "train_images_per_second",
            "train_speedup_over_book",
            "inference_images_per_second",
        ):
            assert len(row[name]["values"]) == report["rounds"] > 1


def test_each_variant_changes_one_thing_and_says_whether_that_changes_the_training(
    report,
):
    for row in variants(report):
        book = books(report)[row["model"]]["setting"]
        changed = {
            key
            for key, value in row["setting"].items()
            if key != "keras_default" and value != book[key]
        }
        assert len(changed) == 1, row["label"]
        assert row["changes_training"] == bool(changed & TRAINING_CHANGES), row["label"]


def test_the_tf_data_pipeline_is_measured_only_under_tensorflow(report):
    pipelines = {row["setting"]["pipeline"] for row in report["results"]}
    assert ("tf.data" in pipelines) == (keras.backend.backend() == "tensorflow")


def test_the_fraction_of_matmul_is_the_training_flop_rate_over_the_matmul_reference(
    report,
):
    reference = report["matmul"]["flops_per_second"]
    assert (
        reference == max(report["matmul"]["measured_flops_per_second"]) > 0
    )  # a slow moment never flatters
    for row in report["results"]:
        achieved = [
            rate * row["training_flops_per_image"]
            for rate in row["train_images_per_second"]["values"]
        ]
        assert row["train_fraction_of_matmul"]["values"] == pytest.approx(
            [flops / reference for flops in achieved]
        )


def test_flops_and_parameters_are_those_of_the_measured_model(report):
    for name, row in books(report).items():
        model = build_model(name, **row["model_kwargs"])
        assert row["forward_flops_per_image"] == count_flops(model) > 0
        assert row["parameters"] == model.count_params()
        assert (
            row["training_flops_per_image"] == 3 * row["forward_flops_per_image"]
        )  # forward and two gradients


def test_the_peak_memory_of_the_books_setting_holds_at_least_the_weights(report):
    for row in books(report).values():
        assert row["peak_memory_bytes"] >= 4 * row["parameters"]


def test_the_reported_verdicts_follow_from_the_reported_rounds(report, speed):
    assert report["variants"] == speed["verdicts"](report["results"])
    assert {verdict["variant"] for verdict in report["variants"]} == {
        row["variant"] for row in variants(report)
    }


def rows_with(
    speed: dict[str, Any], speedups: dict[str, list[float]]
) -> list[dict[str, Any]]:
    """The book's rows and a variant's, per model, with the variant's speed-up in each
    round."""
    rows = []
    for model, rounds in speedups.items():
        for is_book, values in ((True, [1.0] * len(rounds)), (False, rounds)):
            rows.append(
                {
                    "model": model,
                    "variant": "book" if is_book else "batch 128",
                    "changes_training": not is_book,
                    "setting": {"keras_default": is_book},
                    "train_speedup_over_book": speed["spread"](values),
                }
            )
    return rows


def test_a_variant_beats_the_book_only_if_faster_in_every_round_for_every_model(speed):
    def verdict(speedups: dict[str, list[float]]) -> dict[str, Any]:
        (found,) = speed["verdicts"](rows_with(speed, speedups))
        return found

    faster = verdict({"unet": [1.2, 1.1, 1.3], "vnet": [1.05, 1.4, 1.2]})
    assert faster["faster_in_every_round"] and faster["changes_training"]
    assert faster["median_speedup"] == {"unet": 1.2, "vnet": 1.2}
    assert faster["slower_in_every_round_for"] == []
    one_slow_round = verdict({"unet": [1.5, 0.98, 1.5], "vnet": [0.9, 0.8, 0.99]})
    assert not one_slow_round["faster_in_every_round"]
    assert one_slow_round["slower_in_every_round_for"] == ["vnet"]
    a_tie = verdict({"unet": [1.2, 1.1, 1.3], "vnet": [1.0, 1.1, 1.1]})
    assert (
        not a_tie["faster_in_every_round"] and a_tie["slower_in_every_round_for"] == []
    )


def test_the_default_file_is_named_after_the_device_and_the_backend(speed):
    assert speed["default_path"]([], "tensorflow").name == "cpu-tensorflow.json"
    assert (
        speed["default_path"](["NVIDIA H100 80GB HBM3"], "jax").name == "h100-jax.json"
    )
    assert (
        speed["default_path"](["NVIDIA H200"], "tensorflow").name
        == "h200-tensorflow.json"
    )


def test_runs_side_by_side_are_timed_together(report):
    together = report["side_by_side"]
    assert [row["processes"] for row in together] == [1, 2]
    for row in together:
        assert (
            row["model"] == "unet"
            and len(row["per_process_images_per_second"]) == row["processes"]
        )
        assert (
            0
            < row["images_per_second"]
            <= sum(row["per_process_images_per_second"]) * 1.001
        )


@pytest.mark.parametrize(
    "path",
    sorted((REPO_ROOT / "benchmarks" / "results").glob("*.json")),
    ids=lambda path: path.stem,
)
def test_a_committed_benchmark_measured_the_models_the_builders_make_today(path):
    """A benchmark of older models is stale: the appendix and chapter 5 quote it."""
    committed = json.loads(path.read_text())
    for name, row in books(committed).items():
        model = build_model(name, **row["model_kwargs"])
        assert row["parameters"] == model.count_params(), (
            f"{path.name}: {name} had {row['parameters']:,} parameters, today's "
            f"builder makes {model.count_params():,}; run benchmarks/speed.py again"
        )
