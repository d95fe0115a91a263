"""Specification of benchmarks/speed.py, from one run of its quick mode."""

import json
import runpy
import subprocess
import sys

import keras
import pytest

from helpers.config import REPO_ROOT
from helpers.models import build_model, count_flops

SCRIPT = REPO_ROOT / "benchmarks" / "speed.py"
MODELS = ["fcn8s", "unet", "vnet"]
REPORT_FIELDS = {"mode", "command", "date", "machine", "conventions", "sizes", "matmul", "skipped", "results",
                 "targets", "batch_scaling", "variant_verdicts", "profile", "notes", "wall_seconds"}
MACHINE_FIELDS = {"cpu_model", "cpu_cores", "usable_cores", "memory_bytes", "gpu", "device", "backend", "versions",
                  "platform", "load_average_start", "load_average_end"}
CONVENTION_FIELDS = {"flops", "training_flops_per_image", "matmul_reference", "fraction_of_matmul", "rates",
                     "training", "inference", "latency", "peak_memory", "peak_memory_scope",
                     "train_speedup_over_book", "variant_verdicts"}
ROW_FIELDS = {"model", "setting", "label", "parameters", "forward_flops_per_image", "training_flops_per_image",
              "train_images", "inference_images", "first_epoch_seconds", "epoch_start_seconds", "train_images_per_second",
              "train_speedup_over_book", "train_fraction_of_matmul", "inference_images_per_second", "inference_fraction_of_matmul",
              "latency_seconds", "peak_memory_bytes"}
SETTING_FIELDS = {"batch_size", "jit_compile", "pipeline", "precision", "keras_default"}
SPREADS = ["train_images_per_second", "train_fraction_of_matmul", "inference_images_per_second",
           "inference_fraction_of_matmul", "latency_seconds"]
PROFILE_FIELDS = {"model", "label", "method", "matmul_flops_per_second", "measured_train_step_seconds",
                  "sum_of_layers_seconds", "outside_layers_share", "convolution_share",
                  "convolutions_only_fraction_of_matmul", "by_type", "layers"}
TARGET_FIELDS = {"name", "device", "model", "metric", "threshold", "text", "applies", "value", "label", "met"}


@pytest.fixture(scope="module")
def speed() -> dict:
    """The script's functions (it is a script, not a module)."""
    return runpy.run_path(str(SCRIPT), run_name="speed")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("benchmark") / "quick.json"
    done = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--out", str(out)], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert str(out) in done.stdout
    return json.loads(out.read_text())


def test_the_report_has_every_field(report):
    assert set(report) == REPORT_FIELDS
    assert set(report["machine"]) == MACHINE_FIELDS
    assert set(report["conventions"]) == CONVENTION_FIELDS
    assert report["mode"] == "quick" and report["notes"] and all(isinstance(note, str) for note in report["notes"])
    assert set(report["profile"]) == PROFILE_FIELDS
    assert [set(target) for target in report["targets"]] == [TARGET_FIELDS] * 2


def test_every_model_has_a_row_in_the_books_setting_with_every_field(report):
    rows = report["results"]
    assert [row["model"] for row in rows if row["setting"]["keras_default"]] == MODELS
    for row in rows:
        assert set(row) == ROW_FIELDS and set(row["setting"]) == SETTING_FIELDS
        assert row["setting"]["batch_size"] == report["sizes"]["batch_sizes"][0]


def test_rates_are_positive_with_a_spread_around_the_median(report):
    for row in report["results"]:
        for name in SPREADS:
            summary = row[name]
            assert 0 < summary["min"] <= summary["median"] <= summary["max"], (row["label"], name)
            assert summary["repeats"] >= 1
        assert 0 < row["train_fraction_of_matmul"]["median"] < 2
        assert 0 < row["inference_fraction_of_matmul"]["median"] < 2
        assert row["peak_memory_bytes"] > 10 * 2**20  # a process holding Keras takes more than 10 MiB


def test_training_flops_are_three_forward_passes_of_the_measured_model(report):
    for row in report["results"]:
        model = build_model(row["model"], **report["sizes"]["model_kwargs"][row["model"]])
        assert row["forward_flops_per_image"] == count_flops(model)
        assert row["parameters"] == model.count_params()
        assert row["training_flops_per_image"] == 3 * row["forward_flops_per_image"]
    assert "3 x forward" in report["conventions"]["training_flops_per_image"]


def test_the_fraction_relates_the_training_rate_to_the_matmul_rate_of_the_run(report):
    matmul = report["matmul"]
    assert [session["when"] for session in matmul["sessions"]][:4] == ["start"] + [f"after {model}" for model in MODELS]
    medians = [size["median"] for session in matmul["sessions"] for size in session["by_size"].values()]
    assert matmul["reference_flops_per_second"] == max(medians)  # the fastest moment: slow ones never flatter
    for row in report["results"]:
        achieved = row["train_images_per_second"]["median"] * row["training_flops_per_image"]
        assert row["train_fraction_of_matmul"]["median"] == pytest.approx(achieved / matmul["reference_flops_per_second"])


def test_the_machine_is_described(report):
    machine = report["machine"]
    assert machine["cpu_model"] and machine["cpu_cores"] >= 1 and machine["memory_bytes"] > 0
    assert machine["backend"] == keras.backend.backend() == machine["versions"]["backend"]
    assert len(machine["load_average_start"]) == len(machine["load_average_end"]) == 3
    assert report["date"][:2] == "20"


def test_targets_are_judged_from_the_best_row_of_their_model(report):
    on_gpu = report["machine"]["gpu"] is not None
    for target in report["targets"]:
        assert target["applies"] == ((target["device"] == "gpu") == on_gpu)
        if target["applies"]:
            best = max(row[target["metric"]]["median"] for row in report["results"] if row["model"] == target["model"])
            assert target["value"] == best and target["met"] == (best >= target["threshold"])


def test_settings_left_out_are_named_with_a_reason(report):
    skipped = {entry["setting"]: entry["reason"] for entry in report["skipped"]}
    assert all(skipped.values()) and all(entry["models"] for entry in report["skipped"])
    if report["machine"]["gpu"] is None:
        assert "GPU only" in skipped["mixed_float16"] and "GPU only" in skipped["mixed_bfloat16"]


def test_a_run_without_variants_judges_none(report):
    assert report["variant_verdicts"] == []
    assert not any("variant" in note or "book's setting" in note for note in report["notes"])


def test_the_profile_sums_its_layers(report):
    profile = report["profile"]
    assert profile["model"] == "unet" and profile["layers"]
    assert profile["sum_of_layers_seconds"] == pytest.approx(sum(row["seconds_per_step"] for row in profile["layers"]))
    assert sum(entry["share_of_layer_time"] for entry in profile["by_type"].values()) == pytest.approx(1)
    assert sum(entry["layers"] for entry in profile["by_type"].values()) == len(profile["layers"])


def test_batch_scaling_splits_the_step_into_a_fixed_and_a_per_image_part(speed):
    batch_scaling = speed["batch_scaling"]
    book = {"model": "unet", "setting": {"batch_size": 32, "jit_compile": True, "pipeline": "numpy",
                                         "precision": "float32", "keras_default": True}}
    fixed, per_image = 0.004, 0.0001  # seconds per step, seconds per image
    rows = [{**book, "train_images_per_second": {"median": batch / (fixed + batch * per_image)},
             "setting": {**book["setting"], "batch_size": batch, "keras_default": batch == 32}} for batch in (32, 128)]
    fit = batch_scaling(rows, (32, 128))["unet"]
    assert fit["fixed_seconds_per_step"] == pytest.approx(fixed)
    assert fit["seconds_per_image"] == pytest.approx(per_image)
    assert fit["images_per_second_limit"] == pytest.approx(1 / per_image)
    assert fit["fixed_share_at_book_batch"] == pytest.approx(fixed / (fixed + 32 * per_image))


def test_settings_of_a_model_are_timed_in_rounds_against_the_books_setting(speed):
    Setting, sizes = speed["Setting"], speed["SIZES"]["quick"]
    book, larger = Setting(4, False, keras_default=True), Setting(8, False)
    rows = speed["measure_model"]("fcn8s", [book, larger], sizes, speed["PeakMemory"](None))
    assert [row["label"] for row in rows] == [book.label, larger.label]
    for row in rows:
        assert row["train_images_per_second"]["repeats"] == row["train_speedup_over_book"]["repeats"] == sizes.repeats
        assert row["inference_images_per_second"]["repeats"] == sizes.repeats
    assert rows[0]["train_speedup_over_book"] == {"median": 1.0, "min": 1.0, "max": 1.0, "repeats": sizes.repeats}
    assert rows[1]["train_images"] == 8 and rows[1]["train_speedup_over_book"]["median"] == pytest.approx(
        rows[1]["train_images_per_second"]["median"] / rows[0]["train_images_per_second"]["median"])


def _row(model: str, batch_size: int, speedups: list[float], keras_default: bool = False) -> dict:
    setting = {"batch_size": batch_size, "jit_compile": False, "pipeline": "numpy", "precision": "float32",
               "keras_default": keras_default}
    return {"model": model, "setting": setting, "label": f"batch {batch_size}",
            "train_speedup_over_book": {"median": sorted(speedups)[len(speedups) // 2], "min": min(speedups),
                                        "max": max(speedups), "repeats": len(speedups)}}


def test_a_variant_beats_the_book_only_if_faster_in_every_round_for_every_model(speed):
    verdict, = speed["variant_verdicts"]([_row("unet", 32, [1, 1, 1], keras_default=True),
                                          _row("unet", 128, [1.2, 1.1, 1.3]), _row("vnet", 128, [1.2, 1.1, 1.3])])
    assert verdict["beats_book"] and verdict["changed"] == ["batch_size"] and verdict["changes_training"]
    assert verdict["median_speedups"] == {"unet": 1.2, "vnet": 1.2}
    one_slow_round, = speed["variant_verdicts"]([_row("unet", 32, [1, 1, 1], keras_default=True),
                                                 _row("unet", 128, [1.5, 0.98, 1.5])])
    assert not one_slow_round["beats_book"]
