"""Specification of helpers.book.speed_report: the appendix reads the benchmark's result
files and shows them in the book's tables and sentences."""

import json
from pathlib import Path

import pytest

from helpers.book import speed_report, tables
from helpers.config import PROFILES
from helpers.train.recipe import PRESETS

REPORT = json.loads((speed_report.RESULTS / "cpu-tensorflow.json").read_text())


def test_only_the_full_mode_result_files_are_read(tmp_path: Path):
    (tmp_path / "cpu-full.json").write_text(json.dumps({"mode": "full"}))
    (tmp_path / "cpu-quick.json").write_text(json.dumps({"mode": "quick"}))
    assert list(speed_report.read_reports(tmp_path)) == ["cpu-full"]


def test_the_training_table_has_a_row_per_model_in_the_books_setting():
    table = speed_report.training_table("cpu", REPORT)
    assert list(table.data.index) == ["FCN-8s", "U-Net", "V-Net"]
    rate = next(
        row["train_images_per_second"]
        for row in REPORT["results"]
        if row["model"] == "unet" and row["setting"]["keras_default"]
    )
    assert table.data.loc["U-Net", "training, images/s"] == (
        rate["median"],
        rate["min"],
        rate["max"],
    )
    assert f'class="{tables.TABLE_CLASS}"' in table.to_html()


def test_the_settings_table_has_a_row_per_model_and_setting():
    table = speed_report.settings_table("cpu", REPORT).data
    assert len(table) == len(REPORT["results"])


def test_a_variant_faster_in_every_round_is_named_in_bold():
    verdict = {
        "variant": "batch 128",
        "changes_training": True,
        "median_speedup": {"unet": 1.2},
        "faster_in_every_round": True,
        "slower_in_every_round_for": [],
    }
    sentence = speed_report.verdict_sentence("cpu", verdict)
    assert sentence.startswith("cpu, **batch 128**: faster")
    assert "U-Net 1.20×" in sentence


def test_a_chapters_time_is_its_training_images_over_the_measured_rate(tmp_path):
    table = speed_report.chapter_times_table({"cpu": REPORT}, artifacts=tmp_path).data
    rate = next(
        row["train_images_per_second"]["median"]
        for row in REPORT["results"]
        if row["model"] == "fcn8s" and row["setting"]["keras_default"]
    )
    images = PRESETS["book"].epochs * PROFILES["full"].n_train
    assert table.loc["2. FCN-8s", "estimate, cpu, minutes"] == pytest.approx(
        images / rate / 60
    )
    assert "committed run, minutes" not in table.columns  # no runs in tmp_path
