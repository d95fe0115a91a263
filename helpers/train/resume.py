"""Run folders while they train: a finished run is reused, an interrupted one resumes
from its last finished epoch, and a folder is trained in by one process at a time.

:func:`prepare_run_dir` decides which, from the folder's state
(:func:`helpers.train.runs.folder_state`). A run in training keeps Keras'
backup of its last finished epoch and a log of every epoch; both stay until
``run.json`` is written, so a process killed at any point resumes or finishes
the run without training an epoch twice.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras

from helpers.config import display_path
from helpers.evaluate.inference import MODEL_FILE, load_model
from helpers.train.artifacts import (
    CONFIG_FILE,
    HISTORY_FILE,
    RUN_FILE,
    read_json,
    write_json,
)
from helpers.train.runs import (
    RunFolderConflict,
    folder_state,
    is_committed,
    read_history_log,
    stored_differences,
)

HISTORY_LOG = "history.csv"
BEST_WEIGHTS = "best.weights.h5"
BACKUP_DIR = "backup"
# The process id of the process training in the folder, while it trains.
_TRAINING_PID = "training.pid"
# Written by Keras' BackupAndRestore: {"epoch": epochs finished, "batch": ...}
_BACKUP_METADATA = "training_metadata.json"


@dataclass
class TrainResult:
    """What a run leaves behind: the model (best weights), its history, its facts and
    its folder."""

    model: keras.Model
    history: dict[str, list[float]]
    facts: dict[str, Any]
    run_dir: Path


def prepare_run_dir(
    run_dir: Path, config: dict[str, Any], retrain: bool
) -> TrainResult | None:
    """Return the finished run in ``run_dir`` if it has ``config``; otherwise make the
    folder ready to train.

    An unfinished run with the same settings is kept if it has a backup to
    resume from; one without (its first epoch never finished), a run made by
    older code, and (only if ``retrain`` is set) a run with other settings are
    cleared first. A run that older code made in the committed artifacts
    (:func:`helpers.train.runs.is_committed`) is refused like one with other settings
    unless ``retrain`` is set: replacing it is hours of training.
    """
    try:
        state = folder_state(run_dir, config)
    except RunFolderConflict as conflict:
        if not retrain:
            raise RunFolderConflict(
                f"{conflict}; pass retrain=True to replace it, or choose another folder"
            ) from None
        state = "other"
    if state == "stale" and not retrain and is_committed(run_dir):
        raise RunFolderConflict(
            f"{display_path(run_dir)} holds a committed run made by older code "
            f"({stored_differences(run_dir, config)}); nothing was changed. Pass "
            "retrain=True to train it again and replace it, or choose another folder"
        )
    if state != "finished" and (trainer := _training_process(run_dir)) is not None:
        raise RunFolderConflict(
            f"{display_path(run_dir)} is being trained by process {trainer} (its "
            f"{_TRAINING_PID}); nothing was changed. Wait until it finishes or stop it"
        )
    if state == "finished" and not retrain:
        remove_training_state(
            run_dir
        )  # left behind if a process died right after writing run.json
        facts = read_json(run_dir / RUN_FILE)
        print(
            f"Loaded the finished run in {display_path(run_dir)} "
            f"({facts['epochs_run']} epochs, "
            f"{facts['train_seconds']:.0f} s on {facts['device']}"
            f"{'; it diverged' if facts.get('diverged') else ''}); pass retrain=True "
            "to train again."
        )
        return TrainResult(
            load_model(run_dir / MODEL_FILE),
            read_json(run_dir / HISTORY_FILE),
            facts,
            run_dir,
        )
    if state == "unfinished" and not retrain:
        if (backed_up := backup_epochs(run_dir)) is not None:
            print(
                f"Resuming the unfinished run in {display_path(run_dir)} after epoch "
                f"{backed_up}."
            )
            return None
        print(
            f"{display_path(run_dir)} holds a run stopped before its first epoch "
            "ended; training it from the start."
        )
    elif state == "stale":
        print(
            f"{display_path(run_dir)} holds a run made by older code (other data or "
            "recipe); training it again."
        )
    elif state in ("finished", "unfinished", "other"):
        print(f"Clearing {display_path(run_dir)} to train again (retrain=True).")
    if state != "empty":
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / CONFIG_FILE, config)
    return None


def _training_process(run_dir: Path) -> int | None:
    """The id of another live process that is training in ``run_dir``, from its
    ``training.pid``; None if there is none (a process that was killed leaves a stale
    file behind, which is ignored)."""
    try:
        pid = int((run_dir / _TRAINING_PID).read_text())
    except (FileNotFoundError, ValueError):
        return None
    if pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # alive, but another user's
        pass
    return pid


@contextlib.contextmanager
def training_in(run_dir: Path):
    """Marks ``run_dir`` as trained by this process while the block runs, so that a
    second process refuses to resume or clear it (its log and backup are in use)."""
    marker = run_dir / _TRAINING_PID
    marker.write_text(str(os.getpid()))
    try:
        yield
    finally:
        marker.unlink(missing_ok=True)


def backup_epochs(run_dir: Path) -> int | None:
    """How many epochs the run's backup holds (None without a backup): where a resumed
    run goes on from."""
    metadata = run_dir / BACKUP_DIR / _BACKUP_METADATA
    return int(read_json(metadata)["epoch"]) if metadata.is_file() else None


def history_up_to(run_dir: Path, epochs: int) -> dict[str, list[float]]:
    """The history log cut to its first ``epochs`` epochs (rewritten so), the epochs the
    backup's weights have seen.

    A process killed between logging an epoch and backing it up leaves a row
    that the resumed run trains again; the row goes, so it is not counted twice.
    """
    log = run_dir / HISTORY_LOG
    if not log.is_file():
        return {}
    with log.open() as file:
        rows = [row for row in csv.DictReader(file) if int(row["epoch"]) < epochs]
    if rows:
        temporary = log.with_suffix(".tmp")
        with temporary.open("w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        os.replace(temporary, log)
    else:
        log.unlink()
    return read_history_log(log)


def training_complete(
    val_losses: list[float], epochs: int, patience: int | None
) -> bool:
    """Whether a run with these validation losses so far has nothing left to train: all
    its epochs, or early stopped.

    Early stopping as Keras decides it (:func:`_early_stopping_state`).
    """
    if len(val_losses) >= epochs:
        return True
    if patience is None or not val_losses:
        return False
    return _early_stopping_state(val_losses, patience)[3]


def _early_stopping_state(
    val_losses: list[float], patience: int
) -> tuple[float, int, int, bool]:
    """Keras' early stopping after these validation losses: the best loss, its epoch
    (from 0), the epochs since, and whether it stopped training after the last one.

    As Keras decides it: the first epoch is always an improvement, a later one
    only if its loss is strictly lower, which a NaN never is, nor anything after
    a NaN first epoch; it stops after ``patience`` epochs without improvement,
    never after the first epoch. A resumed run replays its epochs here, so that
    it stops where an uninterrupted one does, a diverged one included.
    """
    best, best_epoch, wait, stopped = None, 0, 0, False
    for epoch, loss in enumerate(val_losses):
        wait += 1
        if best is None or loss < best:
            best, best_epoch, wait, stopped = loss, epoch, 0, False
        else:
            stopped = wait >= patience and epoch > 0
    return best, best_epoch, wait, stopped


def remove_training_state(run_dir: Path) -> None:
    """Delete what only training needs (the backup, the best weights so far): once
    run.json is written."""
    shutil.rmtree(run_dir / BACKUP_DIR, ignore_errors=True)
    (run_dir / BEST_WEIGHTS).unlink(missing_ok=True)


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """Keras' early stopping on the validation loss, starting from the validation losses
    of the epochs already run."""

    def __init__(self, patience: int, val_losses: list[float]) -> None:
        super().__init__(monitor="val_loss", patience=patience)
        self.val_losses = list(val_losses)

    def on_train_begin(self, logs: dict | None = None) -> None:
        super().on_train_begin(logs)
        if self.val_losses:
            self.best, self.best_epoch, self.wait, _ = _early_stopping_state(
                self.val_losses, self.patience
            )
