"""A study: a named set of runs (models x seeds x variants) read from a JSON manifest,
planned and run.

A manifest looks like this (``settings`` at the top apply to every run, an
entry's own ``settings`` on top of its preset)::

    {"name": "main study",
     "data": {"sizes": [4000, 1000, 3000], "seed": 0},
     "settings": {"mixed_precision": "mixed_bfloat16"},
     "runs": [{"run": "unet", "model": "unet", "preset": "book", "seeds": [0, 1, 2]},
              {"run": "vnet-dice", "model": "vnet", "preset": "book", "settings":
              {"loss": "dice"}, "seeds": [0]}]}

:func:`read_manifest` checks every entry before anything runs and names the
entry that is wrong. :func:`plan` checks every run folder: a finished run is
skipped, an unfinished one resumed, and a folder written by other settings
stops the study before it starts, so nothing is overwritten. A run that
older code made (:func:`helpers.train.runs.is_stale`) is trained again, in the
committed ``artifacts/`` only when asked for (``scripts/study.py
--retrain-stale``).

The study and the chapters share their runs: a manifest whose data are the
book's (the full profile's sizes, seed 0) trains in the full profile into
``artifacts/<run>/seed-<k>/``, where a chapter's :func:`helpers.train.loop.train`
finds the same run finished. This module imports no Keras: the networks whose
architecture a run records are built in a child process (:func:`architectures`),
so a manifest is checked in seconds, and the GPU is left to the runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from helpers.checks import are_whole, is_whole
from helpers.config import (
    COMMITTED_ARTIFACTS,
    PROFILES,
    REPO_ROOT,
    Profile,
    display_path,
)
from helpers.data import mnist, splits
from helpers.nets.names import BOOK_MODELS, MODEL_LABELS
from helpers.train.artifacts import RUN_FILE, read_json
from helpers.train.recipe import PRESETS, TrainSettings
from helpers.train.runs import RunFolderConflict, folder_state, run_config, run_folder

BOOK_MANIFEST = COMMITTED_ARTIFACTS / "study.json"
"""The book's study: the runs that ``artifacts/`` holds and the chapters show."""

MODES = ("full", "quick")
"""``full`` trains on the manifest's data sizes; ``quick`` runs every entry in the quick
profile (CPU, minutes)."""

_ENTRY_KEYS = {"run", "model", "preset", "seeds", "settings", "model_kwargs"}


@dataclass(frozen=True)
class DataSpec:
    """The data of a study: images per split (train per epoch, val, test) and the seed;
    the digits are MNIST's (:func:`helpers.data.mnist.digit_pools`)."""

    sizes: tuple[int, int, int]
    seed: int = 0

    def source(self) -> dict[str, Any]:
        """The data as a run's configuration records them
        (:func:`helpers.data.splits.describe_source`)."""
        return splits.describe_source(seed=self.seed, sizes=self.sizes)

    def is_the_books(self) -> bool:
        """Whether these are the data of the book's full profile, so that the chapters
        read the same runs."""
        return (self.sizes, self.seed) == (splits.DEFAULT_SPLIT, 0)


@dataclass(frozen=True)
class Job:
    """One training run of a study: a run name, a model, one seed, its settings."""

    run: str
    model: str
    seed: int
    settings: TrainSettings
    model_kwargs: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.run} seed {self.seed}"

    def folder(self, root: Path) -> Path:
        """Where the run keeps its artifacts: ``<root>/<run>/seed-<seed>``."""
        return run_folder(root, self.run, self.seed)


@dataclass(frozen=True)
class Manifest:
    name: str
    data: DataSpec
    jobs: tuple[Job, ...]

    def profile(self, mode: str) -> Profile:
        """The profile of a mode: the quick profile in quick; in full, the book's full
        profile if the data are the book's, else a profile named after the manifest (no
        book profile's name for other data)."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose one of {MODES}")
        if mode == "quick":
            return PROFILES["quick"]
        return (
            PROFILES["full"]
            if self.data.is_the_books()
            else Profile(f"manifest {self.name}", *self.data.sizes)
        )

    def dataset(self) -> splits.Dataset:
        """The study's fixed splits (generated once, then read from the cache)."""
        return splits.generate(self.data.sizes, seed=self.data.seed, progress=False)

    @cached_property
    def training_digits(self) -> tuple:
        """The training digit pool that fresh compositions are made from (pixels,
        labels)."""
        return splits.training_digits()


class ManifestError(ValueError):
    """A manifest that cannot be run as written; the message names the file and the
    entry."""


_DATA_KEYS = {"sizes", "seed"}


def _read_data(spec: Any, where: str) -> DataSpec:
    if not (isinstance(spec, dict) and are_whole(spec.get("sizes"), 3, minimum=1)):
        raise ManifestError(
            f"{where}: 'data' needs 'sizes', three positive whole numbers: {spec!r}"
        )
    if unknown := set(spec) - _DATA_KEYS:
        raise ManifestError(
            f"{where}: unknown keys {sorted(unknown)} in 'data', which may have "
            f"{sorted(_DATA_KEYS)} (the digits are MNIST's own three splits)"
        )
    seed = spec.get("seed", 0)
    if not is_whole(seed):
        raise ManifestError(
            f"{where}: the data seed must be a whole number, got {seed!r}"
        )
    return DataSpec(tuple(spec["sizes"]), seed)


def _read_entry(
    entry: Any, shared: dict[str, Any], models: set[str], where: str
) -> list[Job]:
    """The jobs of one manifest entry, or a :class:`ManifestError` naming ``where`` and
    what is wrong."""
    if not isinstance(entry, dict):
        raise ManifestError(f"{where}: an entry must be an object, got {entry!r}")
    if unknown := set(entry) - _ENTRY_KEYS:
        raise ManifestError(
            f"{where}: unknown keys {sorted(unknown)}; an entry may have "
            f"{sorted(_ENTRY_KEYS)}"
        )
    if missing := {"run", "model", "seeds"} - set(entry):
        raise ManifestError(f"{where}: missing {sorted(missing)}")
    run, model = entry["run"], entry["model"]
    if not isinstance(run, str) or not run or "/" in run or run.startswith("."):
        raise ManifestError(f"{where}: 'run' must be a folder name, got {run!r}")
    if model not in models:
        raise ManifestError(
            f"{where} ({run}): unknown model {model!r}; choose one of {sorted(models)}"
        )
    preset = entry.get("preset", "book")
    if preset not in PRESETS:
        raise ManifestError(
            f"{where} ({run}): unknown preset {preset!r}; choose one of "
            f"{sorted(PRESETS)}"
        )
    seeds = entry["seeds"]
    if not (isinstance(seeds, list) and are_whole(seeds, len(seeds)) and seeds):
        raise ManifestError(
            f"{where} ({run}): 'seeds' must be a list of whole numbers, got {seeds!r}"
        )
    if len(set(seeds)) != len(seeds):
        raise ManifestError(f"{where} ({run}): seeds repeat in {seeds!r}")
    try:
        settings = PRESETS[preset].but(**{**shared, **entry.get("settings", {})})
    except (TypeError, ValueError) as error:
        raise ManifestError(f"{where} ({run}): {error}") from None
    model_kwargs = entry.get("model_kwargs", {})
    if not isinstance(model_kwargs, dict):
        raise ManifestError(
            f"{where} ({run}): 'model_kwargs' must be an object, got {model_kwargs!r}"
        )
    return [Job(run, model, seed, settings, model_kwargs) for seed in seeds]


def read_manifest(path: str | Path) -> Manifest:
    """Read and check a study manifest; any problem is a :class:`ManifestError` naming
    the file and the entry."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ManifestError(f"{path}: not a readable JSON manifest ({error})") from None
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("runs"), list)
        or not raw["runs"]
    ):
        raise ManifestError(
            f"{path}: a manifest is an object with a non-empty list 'runs'"
        )
    shared = raw.get("settings", {})
    if not isinstance(shared, dict):
        raise ManifestError(f"{path}: 'settings' must be an object, got {shared!r}")
    jobs = []
    for index, entry in enumerate(raw["runs"]):
        jobs += _read_entry(entry, shared, set(MODEL_LABELS), f"{path}, runs[{index}]")
    labels = [job.label for job in jobs]
    if repeated := sorted({label for label in labels if labels.count(label) > 1}):
        raise ManifestError(
            f"{path}: the same run folder appears twice: {', '.join(repeated)}"
        )
    return Manifest(
        str(raw.get("name", path.stem)),
        _read_data(raw.get("data"), str(path)),
        tuple(jobs),
    )


def architectures(jobs: list[Job] | tuple[Job, ...]) -> dict[str, str]:
    """The architecture digest of each job's network, by job label
    (:mod:`helpers.nets.architecture`).

    The networks are built in a child process that sees no GPU, once per model and
    keywords: this process loads no Keras and leaves the GPU to the runs. A model
    that cannot be built (an unknown keyword) is a :class:`ManifestError`.
    """
    specs = sorted(
        {(job.model, json.dumps(job.model_kwargs, sort_keys=True)) for job in jobs}
    )
    done = subprocess.run(
        [sys.executable, "-m", "helpers.nets.architecture"],
        input=json.dumps([[model, json.loads(kwargs)] for model, kwargs in specs]),
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "CUDA_VISIBLE_DEVICES": "-1",
            "JAX_PLATFORMS": "cpu",
            "TF_CPP_MIN_LOG_LEVEL": "3",
        },
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["(no message)"]
        raise ManifestError(f"a network of the manifest cannot be built: {lines[-1]}")
    digests = dict(zip(specs, json.loads(done.stdout)))
    return {
        job.label: digests[job.model, json.dumps(job.model_kwargs, sort_keys=True)]
        for job in jobs
    }


def job_config(
    job: Job, manifest: Manifest, mode: str, architecture: str
) -> dict[str, Any]:
    """The ``config.json`` of ``job`` in ``mode``:
    :func:`helpers.train.runs.run_config`, as :func:`helpers.train.loop.train` builds
    it from the same arguments.

    ``architecture``: the digest of the job's network (:func:`architectures`).
    """
    train_digits = mnist.TRAIN_DIGITS if job.settings.fresh_images else None
    return run_config(
        job.model,
        manifest.profile(mode),
        job.settings,
        manifest.data.sizes,
        job.model_kwargs,
        job.seed,
        train_digits,
        manifest.data.source(),
        architecture,
    )


def training_order(
    jobs: list[Job], manifest_jobs: list[Job] | None = None
) -> list[Job]:
    """The order in which to train ``jobs``: the book's three models first, seed by seed
    (every model's seed 0, then seed 1, ...), then the other runs of several seeds, seed
    by seed, then the runs of one seed, each group in manifest order. A study cut
    short has compared the models first, then the variants.

    A run's seeds are counted in ``manifest_jobs`` (all the manifest's jobs, default
    ``jobs``), so a run of three seeds with only seed 2 left still goes first.
    """
    seeds_of: dict[str, int] = {}
    for job in manifest_jobs or jobs:
        seeds_of[job.run] = seeds_of.get(job.run, 0) + 1
    position = {job.label: index for index, job in enumerate(jobs)}
    return sorted(
        jobs,
        key=lambda job: (
            seeds_of[job.run] == 1,
            job.run not in BOOK_MODELS,
            job.seed,
            position[job.label],
        ),
    )


def plan(manifest: Manifest, mode: str, root: Path) -> dict[str, list[Job]]:
    """Sort the jobs into "finished", "unfinished", "stale" (older code's, to retrain)
    and "new"; a folder of another run of today's code stops the study first.

    Every folder is checked before any training starts, and all conflicts are
    reported at once, each with its entry.
    """
    states: dict[str, list[Job]] = {
        "finished": [],
        "unfinished": [],
        "stale": [],
        "new": [],
    }
    conflicts = []
    digests = architectures(manifest.jobs)
    for job in manifest.jobs:
        config = job_config(job, manifest, mode, digests[job.label])
        try:
            state = folder_state(job.folder(root), config)
        except RunFolderConflict as conflict:
            conflicts.append(f"{job.label}: {conflict}")
            continue
        states["new" if state == "empty" else state].append(job)
    if conflicts:
        raise RunFolderConflict(
            f"the study '{manifest.name}' would overwrite runs in "
            f"{display_path(root)}; nothing was started. "
            "Move these folders away or choose another artifacts folder:\n  "
            + "\n  ".join(conflicts)
        )
    return states


def time_report(manifest: Manifest, root: Path) -> str:
    """One line: how many of the manifest's runs in ``root`` are finished by today's
    code (:func:`plan`), and their recorded training time in hours on each device
    (README quotes it).

    A run that older code made (another recipe, data or network) does not count.
    Times are the runs' own ``train_seconds``; runs trained side by side each count
    their own time, so the sum is device time, not wall-clock time.
    """
    hours: dict[str, float] = {}
    finished = 0
    for job in plan(manifest, "full", root)["finished"]:
        facts_file = job.folder(root) / RUN_FILE
        if facts_file.is_file():
            facts = read_json(facts_file)
            finished += 1
            device = f"{facts['device']} ({facts['versions']['backend']})"
            hours[device] = hours.get(device, 0.0) + facts["train_seconds"] / 3600
    devices = "; ".join(f"{total:.1f} h on {name}" for name, total in hours.items())
    return (
        f"{finished} of {len(manifest.jobs)} runs finished, trained for "
        f"{devices or '0 h'}"
    )
