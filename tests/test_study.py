"""Specification of helpers.study and scripts/study.py: manifests checked first, finished runs skipped, no overwrite."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import artifacts, study
from helpers.runs import RunFolderConflict

REPOSITORY = Path(__file__).resolve().parents[1]
SCRIPT = REPOSITORY / "scripts" / "study.py"
MANIFEST = REPOSITORY / "scripts" / "study.json"
DATA = {"sizes": [40, 16, 16], "pools": [3500, 500, 1000], "seed": 0}
ENTRY = {"run": "unet", "model": "unet", "preset": "study", "seeds": [0, 1]}


def write_manifest(folder: Path, runs: list, **extra) -> Path:
    path = folder / "manifest.json"
    path.write_text(json.dumps({"name": "test", "data": DATA, "runs": runs, **extra}))
    return path


def test_the_committed_manifest_holds_the_study_of_the_book():
    manifest = study.read_manifest(MANIFEST)
    seeds = {}
    for job in manifest.jobs:
        seeds.setdefault(job.run, []).append(job.seed)
    assert {run: seeds[run] for run in ("fcn8s", "unet", "vnet")} == dict.fromkeys(("fcn8s", "unet", "vnet"), [0, 1, 2])
    assert {run for run, runs in seeds.items() if runs == [0]} == {
        "fcn16s",
        "fcn32s",
        "vnet-dice",
        "unet-original-budget",
        "vnet-original-budget",
    }
    by_run = {job.run: job for job in manifest.jobs}
    assert by_run["vnet-dice"].settings.loss == "dice" and by_run["vnet"].settings.loss == "cross-entropy"
    assert (by_run["unet-original-budget"].settings.epochs, by_run["vnet-original-budget"].settings.epochs) == (10, 30)
    assert manifest.data.sizes == (4000, 500, 2000) and manifest.data.pools == (3500, 500, 1000)


def test_entry_settings_go_on_top_of_the_preset_and_the_shared_settings(tmp_path):
    entry = {**ENTRY, "settings": {"loss": "dice"}}
    manifest = study.read_manifest(write_manifest(tmp_path, [entry], settings={"batch_size": 64}))
    settings = manifest.jobs[0].settings
    assert (settings.loss, settings.batch_size, settings.fresh_images) == ("dice", 64, True)
    assert [job.label for job in manifest.jobs] == ["unet seed 0", "unet seed 1"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"model": "segnet"}, r"runs\[1\] \(unet\): unknown model 'segnet'"),
        ({"preset": "fast"}, r"runs\[1\] \(unet\): unknown preset 'fast'"),
        ({"settings": {"loss": "focal"}}, r"runs\[1\] \(unet\): .*loss='focal'"),
        ({"settings": {"epoch": 3}}, r"runs\[1\] \(unet\): unknown training settings \['epoch'\]"),
        ({"seeds": [0, "1"]}, r"runs\[1\] \(unet\): 'seeds' must be a list of whole numbers"),
        ({"seeds": [0, 1.5]}, r"runs\[1\] \(unet\): 'seeds' must be a list of whole numbers"),
        ({"colour": "red"}, r"runs\[1\]: unknown keys \['colour'\]"),
    ],
)
def test_a_bad_entry_is_named_with_what_is_wrong(tmp_path, change, message):
    path = write_manifest(tmp_path, [{**ENTRY, "run": "fcn8s", "model": "fcn8s"}, {**ENTRY, **change}])
    with pytest.raises(study.ManifestError, match=message):
        study.read_manifest(path)


def test_two_entries_that_share_a_run_folder_are_refused(tmp_path):
    with pytest.raises(study.ManifestError, match="twice: unet seed 1"):
        study.read_manifest(write_manifest(tmp_path, [ENTRY, {**ENTRY, "seeds": [1, 2]}]))


def test_a_folder_of_another_run_stops_the_plan_and_is_left_alone(tmp_path):
    manifest = study.read_manifest(write_manifest(tmp_path, [ENTRY]))
    folder = manifest.jobs[1].folder(tmp_path / "artifacts")
    folder.mkdir(parents=True)
    other = study.job_config(manifest.jobs[1], manifest, "quick") | {"seed": 7}
    artifacts.write_json(folder / artifacts.CONFIG_FILE, other)
    with pytest.raises(RunFolderConflict, match=r"nothing was started(.|\n)*unet seed 1: .*seed: 7 there, 1 here"):
        study.plan(manifest, "quick", tmp_path / "artifacts")
    assert [path.name for path in folder.iterdir()] == [artifacts.CONFIG_FILE]
    assert artifacts.read_json(folder / artifacts.CONFIG_FILE) == other


def test_the_plan_skips_finished_runs_and_resumes_unfinished_ones(tmp_path):
    manifest = study.read_manifest(write_manifest(tmp_path, [ENTRY]))
    root = tmp_path / "artifacts"
    for job, files in zip(manifest.jobs, ([artifacts.CONFIG_FILE, artifacts.RUN_FILE], [artifacts.CONFIG_FILE])):
        job.folder(root).mkdir(parents=True)
        for name in files:
            artifacts.write_json(job.folder(root) / name, study.job_config(job, manifest, "quick"))
    states = study.plan(manifest, "quick", root)
    assert [[job.label for job in states[state]] for state in ("finished", "unfinished", "new")] == [
        ["unet seed 0"],
        ["unet seed 1"],
        [],
    ]


def run_study(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=REPOSITORY, env=os.environ.copy()
    )


def test_a_bad_manifest_stops_the_command_before_any_folder_is_made(tmp_path):
    path = write_manifest(tmp_path, [{**ENTRY, "model": "segnet"}])
    done = run_study(str(path), "--quick", "--artifacts", str(tmp_path / "artifacts"))
    assert done.returncode == 2 and "unknown model 'segnet'" in done.stderr
    assert not (tmp_path / "artifacts").exists()


def test_the_whole_committed_manifest_runs_in_the_quick_mode_then_skips_what_is_finished(tmp_path):
    root = tmp_path / "artifacts"
    first = run_study(str(MANIFEST), "--quick", "--parallel", "2", "--artifacts", str(root))
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    manifest = study.read_manifest(MANIFEST)
    for job in manifest.jobs:
        assert (job.folder(root) / artifacts.RUN_FILE).is_file(), job.label
        assert (job.folder(root) / artifacts.CONFUSIONS_FILE).is_file(), job.label
    assert f"[{len(manifest.jobs)}/{len(manifest.jobs)} done" in first.stdout and "s left]" in first.stdout
    second = run_study(str(MANIFEST), "--quick", "--artifacts", str(root))
    assert second.returncode == 0 and f"{len(manifest.jobs)} finished (skipped)" in second.stdout
    assert "started" not in second.stdout
