"""Every committed run is a run of today's code: the study's manifest names it, its
data generator and recipe are today's, and the builder makes a model of its size.

A stale run fails here, with no skip: the book's chapters load these runs, so a
run older code made has to be trained again (``python scripts/study.py
--retrain-stale``). While the whole committed study is older than the code, the
config test is a strict expected failure (:data:`committed_study.RETRAINED_NEXT`),
whose mark goes once the study is retrained.
"""

import subprocess
from pathlib import Path

import pytest
from committed_study import RETRAINED_NEXT

from helpers.book import results
from helpers.config import COMMITTED_ARTIFACTS
from helpers.data import splits
from helpers.nets import registry
from helpers.nets.architecture import digest_of
from helpers.nets.names import BOOK_MODELS
from helpers.train import artifacts, runs, study
from helpers.train.runs import folder_state

REPOSITORY = Path(__file__).resolve().parents[1]
MANIFEST = study.read_manifest(study.BOOK_MANIFEST)
JOBS = {(job.run, job.seed): job for job in MANIFEST.jobs}
NOT_RUNS = {"logs"}  # the study's logs, git-ignored


def finished_run_folders() -> list[Path]:
    return sorted(
        folder.parent
        for folder in COMMITTED_ARTIFACTS.glob(f"*/seed-*/{artifacts.RUN_FILE}")
    )


FINISHED = finished_run_folders()


def job_of(folder: Path) -> study.Job:
    return JOBS[(folder.parent.name, int(folder.name.removeprefix("seed-")))]


def test_artifacts_hold_the_study_runs_and_nothing_else():
    run_names = {job.run for job in MANIFEST.jobs}
    folders = {path.name for path in COMMITTED_ARTIFACTS.iterdir() if path.is_dir()}
    assert folders - NOT_RUNS <= run_names
    for folder in COMMITTED_ARTIFACTS.glob("*/seed-*"):
        run, seed = folder.parent.name, int(folder.name.removeprefix("seed-"))
        assert (run, seed) in JOBS, f"{folder} is not a run of the study's manifest"


def test_the_books_three_models_have_a_finished_run():
    finished = {folder.parent.name for folder in FINISHED}
    assert {"fcn8s", "unet", "vnet"} <= finished


@RETRAINED_NEXT
@pytest.mark.parametrize(
    "folder", FINISHED, ids=[f"{f.parent.name}-{f.name}" for f in FINISHED]
)
def test_a_committed_run_has_the_config_todays_code_gives_its_manifest_entry(folder):
    job = job_of(folder)
    stored = artifacts.read_json(folder / artifacts.CONFIG_FILE)
    assert stored["data"]["generator"] == splits.GENERATOR_VERSION
    wanted = study.job_config(
        job, MANIFEST, "full", digest_of(job.model, job.model_kwargs)
    )
    assert folder_state(folder, wanted) == "finished"


@pytest.mark.parametrize(
    "folder", FINISHED, ids=[f"{f.parent.name}-{f.name}" for f in FINISHED]
)
def test_a_committed_run_has_as_many_parameters_as_the_builder_makes_today(folder):
    job = job_of(folder)
    facts = artifacts.read_json(folder / artifacts.RUN_FILE)
    model = registry.build_model(job.model, **job.model_kwargs)
    assert facts["parameters"] == model.count_params()


@pytest.mark.parametrize("name", BOOK_MODELS)
def test_seed_0_and_the_median_seed_of_each_book_model_keep_their_model_file(name):
    """Chapters load seed 0 (their training step) and the median seed (their
    prediction figures, the demo): both model files are committed."""
    seeds = runs.load_study()[name]
    tracked = subprocess.run(
        ["git", "ls-files", str(COMMITTED_ARTIFACTS / name)],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for seed in {0, results.median_seed(seeds).seed}:
        assert f"artifacts/{name}/seed-{seed}/model.keras" in tracked
