"""Specification of the recipe and seed-check tables that chapter 1 shows."""

from helpers.book import chapter, seed_check
from helpers.nets import blocks
from helpers.train.recipe import PRESETS

REPORT = {
    "epochs": 3,
    "pass_digit_iou": 0.01,
    "runs": [
        {"model": "unet", "seed": 0, "val_digit_iou": [0.0, 0.0, 0.0]},
        {"model": "unet", "seed": 1, "val_digit_iou": [0.0, 0.02, 0.05]},
        {"model": "vnet", "seed": 0, "val_digit_iou": [0.01, 0.1, 0.3]},
    ],
}


def test_the_recipe_table_reads_the_settings_it_is_given():
    settings = PRESETS["book"].but(epochs=7, learning_rate=0.002, lr_floor=0.5)
    rows = chapter.recipe_table(settings).data["the book's recipe"]
    assert rows["epochs"] == "7, batches of 32"
    assert rows["learning rate"] == "0.002, cosine decay to 0.001 at the end"
    assert f"slope {blocks.NEGATIVE_SLOPE:g}" in rows["activations"]


def test_the_seed_check_summary_counts_the_runs_that_reach_the_mark_per_model():
    table = seed_check.summary_table(REPORT).data
    assert list(table.index) == ["U-Net", "V-Net"]
    assert table.loc["U-Net", "reached the mark"] == 1
    assert table.loc["U-Net", "seeds"] == "0, 1"
    assert (
        table.loc["U-Net", "lowest digit IoU"],
        table.loc["V-Net", "median digit IoU"],
    ) == (0.0, 0.3)


def test_the_seed_check_runs_table_has_a_column_per_epoch_and_the_silent_share():
    report = {
        "runs": [
            {
                "model": "unet",
                "seed": 0,
                "val_digit_iou": [0.0, 0.0],
                "val_silent_foreground": [0.0, 0.25],
            }
        ]
    }
    table = seed_check.runs_table(report).data
    assert list(table.columns) == [
        "digit IoU, epoch 1",
        "digit IoU, epoch 2",
        "digit pixels with all features off",
    ]
    assert table.loc[("U-Net", 0), "digit pixels with all features off"] == 0.25
