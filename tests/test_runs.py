"""Specification of helpers.runs: the time a run took to its kept weights."""

from pathlib import Path

import pytest

from helpers import runs


def run_with(best_epoch: int | None, kept_epoch: int) -> runs.Run:
    return runs.Run(
        "unet-original-budget",
        {},
        {
            "config": {"model": "unet", "seed": 0},
            "best_epoch": best_epoch,
            "kept_epoch": kept_epoch,
        },
        {"epoch_seconds": [10.0, 20.0, 30.0, 40.0]},
        Path("unused"),
    )


@pytest.mark.parametrize(
    ("best_epoch", "kept_epoch", "seconds"),
    [(2, 4, 100.0), (2, 2, 30.0), (None, 4, 100.0)],
    ids=["last weights kept", "best weights kept", "no best epoch"],
)
def test_the_time_to_the_reported_score_runs_to_the_kept_epoch(
    best_epoch, kept_epoch, seconds
):
    """Epochs of 10, 20, 30 and 40 s: a run that keeps its last weights took all
    100 s to its score, whichever epoch validated best."""
    assert run_with(best_epoch, kept_epoch).seconds_to_kept_epoch == seconds
