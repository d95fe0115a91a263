"""Run folders: a run's settings, whether a folder holds that run finished, unfinished
or another, and reading it.

Runs live in ``<artifacts>/<run name>/seed-<k>/``. No Keras here, so that the
study command can check every run folder of a manifest before any training
starts (and before a GPU is touched), and the results read without it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from helpers.config import COMMITTED_ARTIFACTS, Profile, display_path
from helpers.nets.names import MODEL_LABELS
from helpers.train import artifacts
from helpers.train.artifacts import (
    CONFIG_FILE,
    HISTORY_FILE,
    METRICS_FILE,
    RUN_FILE,
    nan_for_null,
    read_json,
    to_json,
)
from helpers.train.recipe import AUGMENTATION, TrainSettings

SPLITS = ("train", "val", "test")
# Run names of variants of a model's recipe, beside the models' own (a run name is the
# folder above seed-<k>).
RUN_LABELS = MODEL_LABELS | {
    "vnet-dice": "V-Net (soft Dice loss)",
    "vnet-batch-dice": "V-Net (cross-entropy + batch Dice)",
    "unet-original-budget": "U-Net (original budget)",
    "vnet-original-budget": "V-Net (original budget)",
}


def read_history_log(path: Path) -> dict[str, list[float]]:
    """The CSV history, one row per finished epoch (a row repeated by a resume counts
    once)."""
    if not path.exists():
        return {}
    rows: dict[int, dict[str, str]] = {}
    with path.open() as file:
        for row in csv.DictReader(file):
            rows[int(row["epoch"])] = row
    history: dict[str, list[float]] = {}
    for epoch in sorted(rows):
        for key, value in rows[epoch].items():
            if key != "epoch":
                history.setdefault(key, []).append(float(value))
    return history


def run_config(
    model_name: str,
    profile: Profile,
    settings: TrainSettings,
    split_sizes: tuple[int, int, int],
    model_kwargs: dict,
    seed: int,
    train_digits: int | None,
    data_source: dict[str, Any] | None,
    architecture: str,
) -> dict[str, Any]:
    """Everything that decides a run's result, as ``config.json`` stores it: the one
    place a run's identity is built.

    ``split_sizes``: images in the data set's splits (train, val, test), of
    which the profile takes at most its own counts; ``train_digits``: the size
    of the digit pool fresh images are composed from (None for a fixed
    training split); ``data_source``: :func:`helpers.data.splits.describe_source` of
    the data (None for a data set the caller made and does not describe). The
    augmentation's ranges and version are recorded when the settings augment.
    ``architecture``: the digest of the built network
    (:func:`helpers.nets.architecture.digest_of`), so that a changed builder or width
    is another run. ``seeds``: the two streams derived from ``seed``
    (:func:`derived_seeds`). A run is reused only with the same configuration, on
    the data it was scored on.
    """
    caps = (profile.n_train, profile.n_val, profile.n_test)
    return {
        "model": model_name,
        "model_kwargs": model_kwargs,
        "architecture": architecture,
        "profile": profile.as_dict(),
        "settings": settings.as_dict(),
        "augmentation": AUGMENTATION.as_dict() if settings.augment else None,
        "seed": seed,
        "seeds": derived_seeds(seed),
        "images": {
            name: min(size, cap) for name, size, cap in zip(SPLITS, split_sizes, caps)
        },
        "train_digits": train_digits,
        "data": data_source,
    }


def derived_seeds(seed: int) -> dict[str, int]:
    """The seeds of a run's two random streams: ``weights`` seeds Keras (the initial
    weights), ``data`` the training batches, so that neither stream moves when the
    other draws more or less.

    The weights take the run's ``seed`` itself, so that "U-Net seed 0" starts
    from the same weights under every recipe; the data seed is drawn from it
    (:class:`numpy.random.SeedSequence`)."""
    (batches,) = np.random.SeedSequence(seed).spawn(1)
    return {"weights": int(seed), "data": int(batches.generate_state(1)[0])}


class RunFolderConflict(ValueError):
    """A run folder holds a run with other settings: it is never overwritten unless a
    retrain is asked for."""


def is_stale(stored: Any, wanted: dict[str, Any]) -> bool:
    """Whether a stored run config was written by older code: today's code can neither
    reuse nor reproduce it.

    Stale: its configuration has other fields than today's, or it was made on
    another version of the data generator or of the augmentation.
    """
    if not isinstance(stored, dict) or stored.keys() != wanted.keys():
        return True
    versions = [("data", "generator"), ("augmentation", "version")]
    return any(
        isinstance(stored[part], dict)
        and isinstance(wanted[part], dict)
        and stored[part].get(key) != wanted[part].get(key)
        for part, key in versions
    )


def folder_state(run_dir: Path, config: dict[str, Any]) -> str:
    """What ``run_dir`` holds for a run with ``config``: "finished", "unfinished" (to
    resume), "stale" or "empty".

    "stale": a run made by older code (:func:`is_stale`), to be trained again.
    A folder that holds a run of today's code with other settings raises
    :class:`RunFolderConflict` naming the settings that differ; nothing is
    changed on disk.
    """
    if not run_dir.exists() or not any(run_dir.iterdir()):
        return "empty"
    config_file = run_dir / CONFIG_FILE
    stored = read_json(config_file) if config_file.exists() else None
    wanted = to_json(config)
    if stored != wanted:
        if stored is not None and is_stale(stored, wanted):
            return "stale"
        raise RunFolderConflict(
            f"{display_path(run_dir)} holds a run with other settings "
            f"({_differences(stored, wanted)})"
        )
    return "finished" if (run_dir / RUN_FILE).exists() else "unfinished"


_ABSENT = object()  # a key one config lacks


def config_differences(stored: Any, wanted: Any, path: str = "") -> list[str]:
    """Where two run configs differ, one line per differing value:
    ``"settings.learning_rate: 0.001 -> 0.002"`` (stored, then wanted).

    Nested objects are compared key by key (a key only one of them has shows
    ``(absent)`` on the other side); any other value, a list included, whole.
    """
    if isinstance(stored, dict) and isinstance(wanted, dict):
        lines = []
        for key in sorted(stored.keys() | wanted.keys()):
            lines += config_differences(
                stored.get(key, _ABSENT),
                wanted.get(key, _ABSENT),
                f"{path}.{key}" if path else str(key),
            )
        return lines
    if stored == wanted:
        return []

    def shown(value: Any) -> str:
        return "(absent)" if value is _ABSENT else repr(value)

    return [f"{path or 'config'}: {shown(stored)} -> {shown(wanted)}"]


def _differences(stored: Any, wanted: dict[str, Any]) -> str:
    """How a stored run config differs from the wanted one, for error messages."""
    if not isinstance(stored, dict):
        return "no readable config.json"
    return "stored -> wanted: " + "; ".join(config_differences(stored, wanted))


def stored_differences(run_dir: Path, config: dict[str, Any]) -> str:
    """How the config.json in ``run_dir`` differs from ``config``, for error
    messages."""
    config_file = run_dir / CONFIG_FILE
    stored = read_json(config_file) if config_file.is_file() else None
    return _differences(stored, to_json(config))


def is_committed(run_dir: str | Path) -> bool:
    """Whether ``run_dir`` lies in the committed artifacts folder (the book's runs),
    which nothing clears unless a retrain is asked for."""
    return Path(run_dir).resolve().is_relative_to(Path(COMMITTED_ARTIFACTS).resolve())


@dataclass
class Run:
    """One finished run: its test metrics, its facts, its history and the folder they
    came from."""

    name: str
    metrics: dict[str, Any]
    facts: dict[str, Any]
    history: dict[str, list[float]]
    run_dir: Path

    @property
    def label(self) -> str:
        return RUN_LABELS.get(self.name, self.name)

    @property
    def model(self) -> str:
        """The model trained (e.g. "vnet"), which several run names can share."""
        return self.facts["config"]["model"]

    @property
    def seed(self) -> int:
        return int(self.facts["config"]["seed"])

    @cached_property
    def confusions(self) -> np.ndarray:
        """The test split's per-image confusion matrices ``(N, 11, 11)``, read on first
        use: what intervals need."""
        path = self.run_dir / artifacts.CONFUSIONS_FILE
        if not path.is_file():
            raise FileNotFoundError(
                f"{self.run_dir} has no {path.name}: train it again to have intervals "
                "over images"
            )
        return artifacts.read_confusions(path)

    @property
    def seconds_to_kept_epoch(self) -> float:
        """Training seconds until the epoch whose weights were kept (the reported
        score): the best epoch's, or the last one's for a run that keeps its last
        weights."""
        return float(sum(self.history["epoch_seconds"][: self.facts["kept_epoch"]]))


def load_run(run_dir: str | Path) -> Run:
    """The finished run in ``run_dir``: the same numbers a chapter and the results
    chapter show for it."""
    run_dir = Path(run_dir)
    missing = [
        file
        for file in (METRICS_FILE, RUN_FILE, HISTORY_FILE)
        if not (run_dir / file).is_file()
    ]
    if missing:
        raise FileNotFoundError(
            f"{run_dir} is not a finished run: missing {', '.join(missing)}"
        )
    metrics = read_json(run_dir / METRICS_FILE)
    for key in ("iou", "dice"):
        metrics[key] = nan_for_null(metrics[key])
        metrics["per_image"][key] = nan_for_null(metrics["per_image"][key])
    metrics["confusion_matrix"] = np.array(metrics["confusion_matrix"])
    in_seed_folder = run_dir.name.startswith("seed-")
    name = run_dir.parent.name if in_seed_folder else run_dir.name
    run = Run(
        name,
        metrics,
        read_json(run_dir / RUN_FILE),
        read_json(run_dir / HISTORY_FILE),
        run_dir,
    )
    if in_seed_folder and _seed_of(run_dir) != run.seed:
        raise ValueError(
            f"{run_dir} holds a run of seed {run.seed}, not of the seed its folder "
            "names"
        )
    return run


def load_study(folder: str | Path = COMMITTED_ARTIFACTS) -> dict[str, list[Run]]:
    """Every finished run in ``folder``, by run name (models first, then variants), each
    name's runs sorted by seed."""
    study = {}
    for run_folder in sorted(path for path in Path(folder).iterdir() if path.is_dir()):
        if seed_dirs := _finished_seed_dirs(run_folder):
            study[run_folder.name] = [load_run(seed_dir) for seed_dir in seed_dirs]
    known = list(RUN_LABELS)
    return dict(
        sorted(
            study.items(),
            key=lambda item: known.index(item[0]) if item[0] in known else len(known),
        )
    )


def run_folder(root: Path, run_name: str, seed: int) -> Path:
    """Where a run keeps its artifacts: ``<root>/<run name>/seed-<seed>``."""
    return Path(root) / run_name / f"seed-{seed}"


def _seed_of(seed_dir: Path) -> int:
    """The seed ``k`` that names a folder ``seed-<k>``."""
    try:
        return int(seed_dir.name.removeprefix("seed-"))
    except ValueError:
        raise ValueError(f"{seed_dir}: a seed folder is named seed-<integer>") from None


def _finished_seed_dirs(run_folder: Path) -> list[Path]:
    """The ``seed-<k>`` folders of one run name that hold a finished run (a run.json),
    by increasing seed."""
    seed_dirs = sorted(
        (path for path in run_folder.glob("seed-*") if path.is_dir()), key=_seed_of
    )
    return [seed_dir for seed_dir in seed_dirs if (seed_dir / RUN_FILE).is_file()]
