"""Specification of helpers.train.runs: a run's seeds, where two run configs differ, which
folders are the committed runs, and the time a run took to its kept weights."""

from pathlib import Path

import pytest

from helpers.config import COMMITTED_ARTIFACTS
from helpers.train import runs


def test_the_seeds_of_a_run_are_two_different_streams_that_its_seed_fixes():
    seeds = runs.derived_seeds(0)
    assert set(seeds) == {"weights", "data"}
    assert seeds["weights"] != seeds["data"]
    assert runs.derived_seeds(0) == seeds
    assert all(type(value) is int and 0 <= value < 2**32 for value in seeds.values())


def test_other_run_seeds_give_other_weight_and_data_seeds():
    derived = [runs.derived_seeds(seed) for seed in range(5)]
    assert len({seeds["weights"] for seeds in derived}) == 5
    assert len({seeds["data"] for seeds in derived}) == 5


def test_differences_name_each_changed_value_by_its_path():
    stored = {
        "seed": 0,
        "settings": {"learning_rate": 0.001, "epochs": 40},
        "data": {"generator": 3, "sizes": [4000, 500, 2000]},
    }
    wanted = {
        "seed": 0,
        "settings": {"learning_rate": 0.002, "epochs": 40},
        "data": {"generator": 4, "sizes": [4000, 1000, 3000]},
        "architecture": "cd34",
    }
    assert runs.config_differences(stored, wanted) == [
        "architecture: (absent) -> 'cd34'",
        "data.generator: 3 -> 4",
        "data.sizes: [4000, 500, 2000] -> [4000, 1000, 3000]",
        "settings.learning_rate: 0.001 -> 0.002",
    ]


def test_equal_configs_have_no_differences_and_a_replaced_object_is_one():
    config = {"settings": {"loss": "dice"}, "augmentation": None}
    assert runs.config_differences(config, dict(config)) == []
    assert runs.config_differences(
        config, {"settings": {"loss": "dice"}, "augmentation": {"version": 2}}
    ) == ["augmentation: None -> {'version': 2}"]


def test_only_folders_inside_the_committed_artifacts_are_committed(tmp_path):
    assert runs.is_committed(COMMITTED_ARTIFACTS / "unet" / "seed-0")
    assert runs.is_committed(COMMITTED_ARTIFACTS)
    assert not runs.is_committed(tmp_path / "unet" / "seed-0")
    assert not runs.is_committed(COMMITTED_ARTIFACTS.parent / "artifacts-old")


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
