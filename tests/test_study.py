"""Specification of helpers.train.study and scripts/study.py: manifests checked first,
finished runs skipped, no overwrite."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.config import COMMITTED_ARTIFACTS, PROFILES
from helpers.train import artifacts, study
from helpers.train.runs import RunFolderConflict

REPOSITORY = Path(__file__).resolve().parents[1]
SCRIPT = REPOSITORY / "scripts" / "study.py"
MANIFEST = study.BOOK_MANIFEST
DATA = {"sizes": [40, 16, 16], "seed": 0}
ENTRY = {"run": "unet", "model": "unet", "preset": "book", "seeds": [0, 1]}


def config_of(job: study.Job, manifest: study.Manifest, mode: str) -> dict:
    """The job's config.json, with its network's digest built in this process."""
    from helpers.nets.architecture import digest_of

    return study.job_config(job, manifest, mode, digest_of(job.model, job.model_kwargs))


def write_manifest(folder: Path, runs: list, **extra) -> Path:
    path = folder / "manifest.json"
    path.write_text(json.dumps({"name": "test", "data": DATA, "runs": runs, **extra}))
    return path


def test_the_committed_manifest_holds_the_study_of_the_book():
    manifest = study.read_manifest(MANIFEST)
    seeds = {}
    for job in manifest.jobs:
        seeds.setdefault(job.run, []).append(job.seed)
    # every run the book draws a conclusion from has 3 seeds; the original project's
    # budgets illustrate its claims with one
    assert {run: runs for run, runs in seeds.items() if runs != [0, 1, 2]} == {
        "unet-original-budget": [0],
        "vnet-original-budget": [0],
    }
    assert set(seeds) == {
        "fcn8s",
        "unet",
        "vnet",
        "fcn16s",
        "fcn32s",
        "vnet-dice",
        "vnet-batch-dice",
        "unet-original-budget",
        "vnet-original-budget",
    }
    by_run = {job.run: job for job in manifest.jobs}
    assert (
        by_run["vnet"].settings.loss,
        by_run["vnet-dice"].settings.loss,
        by_run["vnet-batch-dice"].settings.loss,
    ) == ("cross-entropy", "dice", "cross-entropy+batch-dice")
    assert (
        by_run["unet-original-budget"].settings.epochs,
        by_run["vnet-original-budget"].settings.epochs,
    ) == (10, 30)
    assert manifest.data.sizes == (4000, 1000, 3000)


def test_entry_settings_go_on_top_of_the_preset_and_the_shared_settings(tmp_path):
    entry = {**ENTRY, "settings": {"loss": "dice"}}
    manifest = study.read_manifest(
        write_manifest(tmp_path, [entry], settings={"batch_size": 64})
    )
    settings = manifest.jobs[0].settings
    assert (settings.loss, settings.batch_size, settings.fresh_images) == (
        "dice",
        64,
        True,
    )
    assert [job.label for job in manifest.jobs] == ["unet seed 0", "unet seed 1"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"model": "segnet"}, r"runs\[1\] \(unet\): unknown model 'segnet'"),
        ({"preset": "fast"}, r"runs\[1\] \(unet\): unknown preset 'fast'"),
        ({"settings": {"loss": "focal"}}, r"runs\[1\] \(unet\): .*loss='focal'"),
        (
            {"settings": {"epoch": 3}},
            r"runs\[1\] \(unet\): unknown training settings \['epoch'\]",
        ),
        (
            {"seeds": [0, "1"]},
            r"runs\[1\] \(unet\): 'seeds' must be a list of whole numbers",
        ),
        (
            {"seeds": [0, 1.5]},
            r"runs\[1\] \(unet\): 'seeds' must be a list of whole numbers",
        ),
        ({"colour": "red"}, r"runs\[1\]: unknown keys \['colour'\]"),
    ],
)
def test_a_bad_entry_is_named_with_what_is_wrong(tmp_path, change, message):
    path = write_manifest(
        tmp_path, [{**ENTRY, "run": "fcn8s", "model": "fcn8s"}, {**ENTRY, **change}]
    )
    with pytest.raises(study.ManifestError, match=message):
        study.read_manifest(path)


def test_a_data_block_with_digit_pools_is_refused_by_name(tmp_path):
    """The digits are MNIST's own splits: a manifest of older code that sized its own
    digit pools is not run as if it had none."""
    path = tmp_path / "manifest.json"
    data = {**DATA, "pools": [3500, 500, 1000]}
    path.write_text(json.dumps({"name": "old", "data": data, "runs": [ENTRY]}))
    with pytest.raises(
        study.ManifestError, match=r"unknown keys \['pools'\] in 'data'"
    ):
        study.read_manifest(path)


def test_two_entries_that_share_a_run_folder_are_refused(tmp_path):
    with pytest.raises(study.ManifestError, match="twice: unet seed 1"):
        study.read_manifest(
            write_manifest(tmp_path, [ENTRY, {**ENTRY, "seeds": [1, 2]}])
        )


def test_a_folder_of_another_run_stops_the_plan_and_is_left_alone(tmp_path):
    manifest = study.read_manifest(write_manifest(tmp_path, [ENTRY]))
    folder = manifest.jobs[1].folder(tmp_path / "artifacts")
    folder.mkdir(parents=True)
    other = config_of(manifest.jobs[1], manifest, "quick") | {"seed": 7}
    artifacts.write_json(folder / artifacts.CONFIG_FILE, other)
    with pytest.raises(
        RunFolderConflict,
        match=r"nothing was started(.|\n)*unet seed 1: .*seed: 7 -> 1",
    ):
        study.plan(manifest, "quick", tmp_path / "artifacts")
    assert [path.name for path in folder.iterdir()] == [artifacts.CONFIG_FILE]
    assert artifacts.read_json(folder / artifacts.CONFIG_FILE) == other


def test_the_plan_skips_finished_runs_and_resumes_unfinished_ones(tmp_path):
    manifest = study.read_manifest(write_manifest(tmp_path, [ENTRY]))
    root = tmp_path / "artifacts"
    for job, files in zip(
        manifest.jobs,
        ([artifacts.CONFIG_FILE, artifacts.RUN_FILE], [artifacts.CONFIG_FILE]),
    ):
        job.folder(root).mkdir(parents=True)
        for name in files:
            artifacts.write_json(
                job.folder(root) / name, config_of(job, manifest, "quick")
            )
    states = study.plan(manifest, "quick", root)
    assert [
        [job.label for job in states[state]]
        for state in ("finished", "unfinished", "stale", "new")
    ] == [
        ["unet seed 0"],
        ["unet seed 1"],
        [],
        [],
    ]


def run_study(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
        env=os.environ.copy(),
    )


def test_a_bad_manifest_stops_the_command_before_any_folder_is_made(tmp_path):
    path = write_manifest(tmp_path, [{**ENTRY, "model": "segnet"}])
    done = run_study(str(path), "--quick", "--artifacts", str(tmp_path / "artifacts"))
    assert done.returncode == 2 and "unknown model 'segnet'" in done.stderr
    assert not (tmp_path / "artifacts").exists()


def test_a_fresh_image_entry_and_a_fixed_split_entry_run_quick_then_are_skipped(
    tmp_path,
):
    """One small network of each kind of entry, side by side in two processes."""
    small = {"base_filters": 4, "depth": 2}
    fresh = {**ENTRY, "run": "unet-small", "seeds": [0], "model_kwargs": small}
    fixed = {
        "run": "unet-fixed",
        "model": "unet",
        "preset": "fixed-split",
        "seeds": [1],
        "model_kwargs": small,
    }
    path = write_manifest(tmp_path, [fresh, fixed])
    root = tmp_path / "artifacts"
    first = run_study(
        str(path),
        "--quick",
        "--parallel",
        "2",
        "--threads",
        "1",
        "--artifacts",
        str(root),
    )
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    manifest = study.read_manifest(path)
    for job in manifest.jobs:
        assert (job.folder(root) / artifacts.CONFUSIONS_FILE).is_file(), job.label
        stored = artifacts.read_json(job.folder(root) / artifacts.RUN_FILE)["config"]
        assert stored == artifacts.to_json(config_of(job, manifest, "quick")), job.label
    assert "[2/2 done" in first.stdout and "s left]" in first.stdout
    second = run_study(str(path), "--quick", "--artifacts", str(root))
    assert second.returncode == 0 and "2 finished (skipped)" in second.stdout
    assert "started" not in second.stdout


def test_the_architectures_built_in_a_child_process_are_those_built_here(tmp_path):
    from helpers.nets.architecture import digest_of

    vnet = {"run": "vnet-small", "model": "vnet", "seeds": [0]}
    narrow = {**ENTRY, "run": "unet-narrow", "model_kwargs": {"base_filters": 4}}
    manifest = study.read_manifest(write_manifest(tmp_path, [ENTRY, vnet, narrow]))
    assert study.architectures(manifest.jobs) == {
        job.label: digest_of(job.model, job.model_kwargs) for job in manifest.jobs
    }


def test_a_network_that_cannot_be_built_stops_the_plan_naming_it(tmp_path):
    narrow = {**ENTRY, "model_kwargs": {"base_filter": 4}}
    manifest = study.read_manifest(write_manifest(tmp_path, [narrow]))
    with pytest.raises(
        study.ManifestError,
        match=r"cannot be built: model 'unet' with \{'base_filter': 4\}: .*keyword",
    ):
        study.plan(manifest, "quick", tmp_path / "artifacts")
    assert not (tmp_path / "artifacts").exists()


def test_the_committed_manifest_plans_against_the_committed_runs_without_a_conflict():
    manifest = study.read_manifest(MANIFEST)
    states = study.plan(manifest, "full", COMMITTED_ARTIFACTS)
    assert sum(len(jobs) for jobs in states.values()) == len(manifest.jobs)


def test_checking_and_planning_a_manifest_import_neither_keras_nor_tensorflow():
    script = (
        "import sys; from helpers.train import study; from helpers.config import "
        "COMMITTED_ARTIFACTS\n"
        f"study.plan(study.read_manifest({str(MANIFEST)!r}), 'full', "
        "COMMITTED_ARTIFACTS)\n"
        "print(sorted(name for name in ('keras', 'tensorflow', 'jax') if name in "
        "sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPOSITORY
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_the_books_data_train_in_the_full_profile_and_other_data_in_their_own():
    book = study.read_manifest(MANIFEST)
    assert book.profile("full") == PROFILES["full"]
    other = study.Manifest(
        "small", study.DataSpec((40, 16, 16), (3500, 500, 1000)), book.jobs
    )
    assert (
        other.profile("full").name not in PROFILES
        and other.profile("full").n_test == 16
    )


def test_a_folder_of_a_run_made_by_older_code_is_planned_to_train_again(tmp_path):
    manifest = study.read_manifest(write_manifest(tmp_path, [ENTRY]))
    folder = manifest.jobs[0].folder(tmp_path)
    folder.mkdir(parents=True)
    config = config_of(manifest.jobs[0], manifest, "quick")
    older = {
        **config,
        "data": {**config["data"], "generator": config["data"]["generator"] - 1},
    }
    artifacts.write_json(folder / artifacts.CONFIG_FILE, older)
    assert [job.label for job in study.plan(manifest, "quick", tmp_path)["stale"]] == [
        "unet seed 0"
    ]


def test_the_three_models_train_first_seed_by_seed_then_the_variants_then_single_runs():
    order = [
        job.label
        for job in study.training_order(list(study.read_manifest(MANIFEST).jobs))
    ]
    assert order[:4] == ["fcn8s seed 0", "unet seed 0", "vnet seed 0", "fcn8s seed 1"]
    assert order[8:14] == [
        "vnet seed 2",
        "fcn16s seed 0",
        "fcn32s seed 0",
        "vnet-dice seed 0",
        "vnet-batch-dice seed 0",
        "fcn16s seed 1",
    ]
    assert order[-2:] == ["unet-original-budget seed 0", "vnet-original-budget seed 0"]


def test_the_last_seed_left_of_a_run_of_several_still_trains_before_the_single_runs():
    jobs = list(study.read_manifest(MANIFEST).jobs)
    left = [
        job
        for job in jobs
        if (job.seed == 2 and job.run in ("fcn8s", "vnet-dice"))
        or job.run.endswith("original-budget")
    ]
    order = [job.label for job in study.training_order(left, jobs)]
    assert order == [
        "fcn8s seed 2",
        "vnet-dice seed 2",
        "unet-original-budget seed 0",
        "vnet-original-budget seed 0",
    ]


def test_the_readme_quotes_the_time_report_of_the_committed_study():
    report = study.time_report(study.read_manifest(MANIFEST), COMMITTED_ARTIFACTS)
    assert f"    {report}\n" in (REPOSITORY / "README.md").read_text()


def test_the_time_report_counts_runs_of_todays_code_and_sums_their_hours(tmp_path):
    """Seed 0 finished by today's code counts; seed 1, finished by older code (a config
    of other fields), does not."""
    manifest = study.read_manifest(write_manifest(tmp_path, [ENTRY]))
    digests = study.architectures(manifest.jobs)
    facts = {"device": "CPU", "versions": {"backend": "jax"}, "train_seconds": 5400}
    for job in manifest.jobs:
        folder = job.folder(tmp_path)
        folder.mkdir(parents=True)
        config = study.job_config(job, manifest, "full", digests[job.label])
        if job.seed == 1:
            config = {**config, "older_field": True}
        artifacts.write_json(folder / artifacts.CONFIG_FILE, config)
        artifacts.write_json(folder / artifacts.RUN_FILE, facts)
    assert study.time_report(manifest, tmp_path) == (
        "1 of 2 runs finished, trained for 1.5 h on CPU (jax)"
    )
