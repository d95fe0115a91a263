"""Fitting a model: the book's one training loop, with run folders that resume and are
reused when finished.

:func:`train` is the entry point every chapter and the study command call.
The recipe is a :class:`helpers.settings.TrainSettings`; the profile decides
the data size and caps the epochs. A run writes its artifacts into one folder
per model and seed (``model.keras``, ``history.json``, ``metrics.json``,
``test_confusions.npz``, ``run.json``) and can resume after an interruption
from the last finished epoch. A folder that already holds a finished run with
the same settings is loaded instead of retrained, which is how the book shows
a full run without redoing it.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from helpers import BACKGROUND, NUM_CLASSES, data, metrics
from helpers.architecture import digest_of
from helpers.artifacts import (
    CONFIG_FILE,
    CONFUSIONS_FILE,
    HISTORY_FILE,
    METRICS_FILE,
    MODEL_FILE,
    RUN_FILE,
    read_json,
    write_confusions,
    write_json,
)
from helpers.compose import DigitAugmentation
from helpers.config import Profile, artifacts_dir, current_profile, display_path
from helpers.diagnostics import SilenceMonitor
from helpers.inference import as_model_input, load_model, predict, score_predictions
from helpers.losses import segmentation_loss
from helpers.machine import describe_device, versions
from helpers.models import build_model, count_flops
from helpers.runs import (
    RunFolderConflict,
    folder_state,
    is_committed,
    read_history_log,
    run_config,
    run_folder,
    stored_differences,
)
from helpers.settings import PRESETS, TrainSettings
from helpers.streaming import EpochBatches, FreshCompositions, ShuffledSplit

DEFAULT_SETTINGS = PRESETS["book"]
"""The recipe of the book's runs (the chapters' and the study's main runs): what
:func:`train` uses by default."""

DIGIT_IOU = "digit_iou"
"""The history's name for the mean IoU over the digits (``val_digit_iou`` on the
validation images)."""

_HISTORY_LOG = "history.csv"
# Validation images on which the silent foreground is measured every epoch.
_SILENCE_IMAGES = 256
_BEST_WEIGHTS = "best.weights.h5"
_BACKUP_DIR = "backup"
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


class _EpochTimer(keras.callbacks.Callback):
    """Adds ``epoch_seconds`` to the logs, so the history records the wall time of every
    epoch."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


def _prepare_run_dir(
    run_dir: Path, config: dict[str, Any], retrain: bool
) -> TrainResult | None:
    """Return the finished run in ``run_dir`` if it has ``config``; otherwise make the
    folder ready to train.

    An unfinished run with the same settings is kept if it has a backup to
    resume from; one without (its first epoch never finished), a run made by
    older code, and (only if ``retrain`` is set) a run with other settings are
    cleared first. A run that older code made in the committed artifacts
    (:func:`helpers.runs.is_committed`) is refused like one with other settings
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
        _remove_training_state(
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
        if (backed_up := _backup_epochs(run_dir)) is not None:
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
def _training_in(run_dir: Path):
    """Marks ``run_dir`` as trained by this process while the block runs, so that a
    second process refuses to resume or clear it (its log and backup are in use)."""
    marker = run_dir / _TRAINING_PID
    marker.write_text(str(os.getpid()))
    try:
        yield
    finally:
        marker.unlink(missing_ok=True)


def _backup_epochs(run_dir: Path) -> int | None:
    """How many epochs the run's backup holds (None without a backup): where a resumed
    run goes on from."""
    metadata = run_dir / _BACKUP_DIR / _BACKUP_METADATA
    return int(read_json(metadata)["epoch"]) if metadata.is_file() else None


def _history_up_to(run_dir: Path, epochs: int) -> dict[str, list[float]]:
    """The history log cut to its first ``epochs`` epochs (rewritten so), the epochs the
    backup's weights have seen.

    A process killed between logging an epoch and backing it up leaves a row
    that the resumed run trains again; the row goes, so it is not counted twice.
    """
    log = run_dir / _HISTORY_LOG
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


def _training_complete(
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


def _remove_training_state(run_dir: Path) -> None:
    """Delete what only training needs (the backup, the best weights so far): once
    run.json is written."""
    shutil.rmtree(run_dir / _BACKUP_DIR, ignore_errors=True)
    (run_dir / _BEST_WEIGHTS).unlink(missing_ok=True)


class _ResumableEarlyStopping(keras.callbacks.EarlyStopping):
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


@contextlib.contextmanager
def dtype_policy(name: str | None):
    """Build layers under a mixed-precision policy, then restore the global one."""
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy(name or "float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_dtype_policy(previous)


def _distribution_scope(strategy: Any):
    """The strategy's scope under TensorFlow (several GPUs: MirroredStrategy), else a
    no-op."""
    if strategy == "auto" and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if len(tf.config.list_logical_devices("GPU")) > 1:
            strategy = tf.distribute.MirroredStrategy()
    if strategy in (None, "auto"):
        return contextlib.nullcontext()
    return strategy.scope()


def _inference_rate(model: keras.Model, images: np.ndarray, batch_size: int) -> float:
    """Images per second of :func:`predict` on ``images``, after one warm-up pass."""
    predict(model, images[:batch_size], batch_size)
    start = time.perf_counter()
    predict(model, images, batch_size)
    return len(images) / (time.perf_counter() - start)


def compile_for_training(
    model: keras.Model,
    steps: int,
    settings: TrainSettings,
    jit_compile: bool | str = "auto",
) -> keras.Model:
    """Compile ``model`` as :func:`train` does: Adam with a cosine decay over ``steps``
    batches, the settings' loss; pixel accuracy and the mean IoU over the digits as
    metrics.

    The digit IoU (history keys ``digit_iou`` and ``val_digit_iou``) is the
    book's score: the IoU of each digit over all pixels seen, averaged over the
    ten digits, so background's share does not hide a network that has not yet
    learned which digit a stroke is. One function, so that
    ``benchmarks/speed.py`` measures exactly the training the book runs.
    """
    schedule = keras.optimizers.schedules.CosineDecay(
        settings.learning_rate, decay_steps=steps, alpha=settings.lr_floor
    )
    optimizer = keras.optimizers.Adam(
        schedule,
        beta_1=settings.adam_beta_1,
        beta_2=settings.adam_beta_2,
        epsilon=settings.adam_epsilon,
    )
    digit_iou = keras.metrics.IoU(
        num_classes=NUM_CLASSES,
        target_class_ids=[c for c in range(NUM_CLASSES) if c != BACKGROUND],
        sparse_y_pred=False,
        name=DIGIT_IOU,
    )
    model.compile(
        optimizer=optimizer,
        loss=segmentation_loss(settings.loss),
        metrics=["accuracy", digit_iou],
        jit_compile=jit_compile,
    )
    return model


def train(
    model_name: str,
    dataset: data.Dataset | None = None,
    *,
    settings: TrainSettings | None = None,
    profile: Profile | None = None,
    model_kwargs: dict | None = None,
    seed: int = 0,
    train_digits: tuple[np.ndarray, np.ndarray] | None = None,
    data_source: dict[str, Any] | None = None,
    strategy: Any = "auto",
    run_dir: str | os.PathLike | None = None,
    retrain: bool = False,
    verbose: int | str = "auto",
    callbacks: list[keras.callbacks.Callback] | None = None,
    jit_compile: bool | str = "auto",
) -> TrainResult:
    """Train ``model_name`` (a key of ``MODEL_BUILDERS``) with ``settings`` in a profile
    and save its artifacts.

    ``settings`` defaults to :data:`DEFAULT_SETTINGS`, ``profile`` to the current
    one (it sets the data sizes and caps the epochs), ``dataset`` to the
    book's data. With ``settings.fresh_images`` the training images are
    composed anew every epoch from ``train_digits`` (pixels, labels: the
    training digit pool of ``dataset``; by default that of the book's data).
    ``data_source`` describes a given ``dataset`` for the run's configuration
    (:func:`helpers.data.describe_source`); the book's data describe themselves.
    The run folder (default ``artifacts/<model>/seed-<seed>``) is reused when
    it holds a finished run with the same settings, resumed when it holds an
    unfinished one (also one killed while it was being finished: it is
    finished without training again), trained again when older code made it
    (in the committed artifacts only if ``retrain`` is set), and refused
    (:class:`RunFolderConflict`) when it holds a run with other settings,
    unless ``retrain`` is set. The network is built once first, under the
    float32 policy, for the digest of its architecture that the run records
    (:mod:`helpers.architecture`): an unknown model or keyword fails before
    anything is read or written. The initial weights and the training batches
    draw from two seeds derived from ``seed`` (:func:`helpers.runs.derived_seeds`).

    ``strategy``: "auto" mirrors over several GPUs under TensorFlow, or pass a
    ``tf.distribute`` strategy. ``callbacks`` are extra Keras callbacks, run
    after the book's own. ``jit_compile``: XLA compilation of the training
    step ("auto" is Keras' choice); it changes only the rounding, so it is not
    one of the settings that decide whether a run is reused.
    """
    settings = settings or DEFAULT_SETTINGS
    profile = profile or current_profile()
    model_kwargs = dict(model_kwargs or {})
    architecture = digest_of(model_name, model_kwargs)
    if settings.fresh_images and train_digits is None:
        if dataset is not None:
            raise ValueError(
                "fresh_images needs the training digit pool of the given dataset: pass "
                "train_digits"
            )
        if data.is_kaggle():
            # Every split of a run comes from one source: never training images
            # composed from MNIST beside the Kaggle files' validation and test images.
            raise ValueError(
                f"${data.KAGGLE_ENV} points at the Kaggle M2NIST files, but this "
                "recipe composes fresh training images (fresh_images=True), which "
                "needs single digits; the Kaggle files hold composed images only. "
                "Train on their fixed split with "
                'settings=helpers.settings.preset("fixed-split"), or unset '
                f"${data.KAGGLE_ENV} to use the data generated from MNIST."
            )
        train_digits = data.training_digits()
    if dataset is None:
        dataset, data_source = data.load_m2nist(), data.describe_source()
    n_digits = len(train_digits[0]) if settings.fresh_images else None
    split_sizes = tuple(len(split) for split in dataset)
    config = run_config(
        model_name,
        profile,
        settings,
        split_sizes,
        model_kwargs,
        seed,
        n_digits,
        data_source,
        architecture,
    )
    dataset = dataset.for_profile(profile)
    images = config["images"]
    run_dir = (
        Path(run_dir)
        if run_dir is not None
        else run_folder(artifacts_dir(profile), model_name, seed)
    )
    if finished := _prepare_run_dir(run_dir, config, retrain):
        return finished

    with _training_in(run_dir):
        keras.utils.set_random_seed(config["seeds"]["weights"])
        epochs = profile.epochs_of(settings.epochs)
        history = _history_up_to(run_dir, _backup_epochs(run_dir) or 0)
        training_images = _training_images(
            settings,
            dataset.train,
            train_digits,
            images["train"],
            config["seeds"]["data"],
        )
        with dtype_policy(settings.mixed_precision), _distribution_scope(strategy):
            model = build_model(model_name, **model_kwargs)
            compile_for_training(
                model,
                epochs * math.ceil(images["train"] / settings.batch_size),
                settings,
                jit_compile,
            )

        if verbose == "auto":
            verbose = 1 if sys.stdout.isatty() else 2
        source = "fresh compositions" if settings.fresh_images else "a fixed set"
        print(
            f"Training {model_name} ({model.count_params():,} parameters) on "
            f"{images['train']:,} images an epoch "
            f"({source}), {epochs} epochs, batch {settings.batch_size}, "
            f"{settings.loss} loss, "
            f"profile '{profile.name}', {describe_device()}"
        )
        val_losses = history.get("val_loss", [])
        # A run whose training is over (killed while it was being finished) fits no
        # epoch: the backup's weights are restored and the run is finished as it would
        # have been.
        complete = _training_complete(val_losses, epochs, settings.patience)
        model.fit(
            training_images,
            validation_data=(
                as_model_input(dataset.val.images),
                dataset.val.masks.astype("int32"),
            ),
            epochs=len(val_losses) if complete else epochs,
            verbose=verbose,
            callbacks=_book_callbacks(
                run_dir, settings, training_images, val_losses, dataset.val
            )
            + list(callbacks or []),
        )
        return _finish_run(model, config, dataset.test, run_dir, settings)


def _training_images(
    settings: TrainSettings,
    fixed: data.Split,
    train_digits: tuple[np.ndarray, np.ndarray] | None,
    images_per_epoch: int,
    seed: int,
) -> EpochBatches:
    """The fixed training split reshuffled every epoch, or a stream that composes
    ``images_per_epoch`` new images.

    Either way an epoch's batches depend on ``(seed, epoch)`` alone (``seed``: the
    run's data seed), so a resumed run trains as an uninterrupted one.
    """
    if not settings.fresh_images:
        return ShuffledSplit(fixed, settings.batch_size, seed)
    pixels, labels = train_digits
    augmentation = DigitAugmentation() if settings.augment else None
    # Two worker threads compose the next batches while the device trains on the current
    # one.
    return FreshCompositions(
        pixels,
        labels,
        images_per_epoch,
        settings.batch_size,
        seed,
        augmentation,
        workers=2,
    )


def _book_callbacks(
    run_dir: Path,
    settings: TrainSettings,
    training_images: EpochBatches,
    val_losses: list[float],
    validation: data.Split,
) -> list[keras.callbacks.Callback]:
    """Epoch timing, the stream's epoch, silent foreground on the first
    validation images (:mod:`helpers.diagnostics`), best-validation weights, early
    stopping, the log, and the backup to resume.

    ``val_losses``: those of the epochs run before a resume, so that the best
    weights and early stopping go on from where they were. The backup is
    written last at the end of an epoch, after the log: a run killed in
    between trains that epoch again, and its logged row is dropped
    (:func:`_history_up_to`). The backup is kept until the run is finished.
    """
    monitored = validation.head(_SILENCE_IMAGES)
    callbacks = [
        _EpochTimer(),
        training_images.epoch_callback(),
        SilenceMonitor(monitored.images, monitored.masks),
    ]
    best_so_far = (
        float(np.nanmin(val_losses))
        if val_losses and not np.isnan(val_losses).all()
        else math.inf
    )
    callbacks.append(
        keras.callbacks.ModelCheckpoint(
            str(run_dir / _BEST_WEIGHTS),
            monitor="val_loss",
            save_best_only=True,
            save_weights_only=True,
            initial_value_threshold=best_so_far,
        )
    )
    if settings.patience is not None:
        callbacks.append(_ResumableEarlyStopping(settings.patience, val_losses))
    return [
        *callbacks,
        keras.callbacks.CSVLogger(str(run_dir / _HISTORY_LOG), append=True),
        keras.callbacks.BackupAndRestore(
            str(run_dir / _BACKUP_DIR), double_checkpoint=True, delete_checkpoint=False
        ),
    ]


def _finish_run(
    model: keras.Model,
    config: dict[str, Any],
    test: data.Split,
    run_dir: Path,
    settings: TrainSettings,
) -> TrainResult:
    """Keep the best-validation (or last) weights, then save the model, history, test
    scores and the run's facts."""
    if settings.keep_best and (run_dir / _BEST_WEIGHTS).exists():
        model.load_weights(run_dir / _BEST_WEIGHTS)
    history = read_history_log(run_dir / _HISTORY_LOG)
    with dtype_policy(
        settings.mixed_precision
    ):  # saved without optimizer state: a third of the size
        inference_model = build_model(config["model"], **config["model_kwargs"])
    inference_model.set_weights(model.get_weights())
    inference_model.save(run_dir / MODEL_FILE)
    write_json(run_dir / HISTORY_FILE, history)
    predicted = predict(model, test.images, settings.batch_size)
    write_json(run_dir / METRICS_FILE, score_predictions(test.masks, predicted))
    write_confusions(
        run_dir / CONFUSIONS_FILE, metrics.per_image_confusions(test.masks, predicted)
    )
    # The best weights were loaded above if and only if this holds.
    kept_best = settings.keep_best and (run_dir / _BEST_WEIGHTS).exists()
    facts = _run_facts(model, config, history, test, settings, kept_best)
    write_json(
        run_dir / RUN_FILE, facts
    )  # last: a run killed before this line is finished again, not retrained
    _remove_training_state(run_dir)
    if facts["diverged"]:
        print(_diverged_message(history.get("val_loss", []), facts["kept_epoch"]))
    print(
        "Test mean IoU over the digits: "
        f"{read_json(run_dir / METRICS_FILE)['mean_iou_digits']:.4f}; "
        f"artifacts in {display_path(run_dir)}"
    )
    return TrainResult(model, history, facts, run_dir)


def _best_epoch(val_losses: list[float]) -> int | None:
    """The epoch (from 1) of the lowest finite validation loss, the first of equals, as
    the best-weights checkpoint keeps it; None if no epoch's loss is finite."""
    finite = np.isfinite(np.asarray(val_losses, dtype=float))
    if not finite.any():
        return None
    return int(np.argmin(np.where(finite, val_losses, np.inf))) + 1


def _diverged_message(val_losses: list[float], kept_epoch: int) -> str:
    """What a diverged run prints: which epochs' validation loss is not finite."""
    where = (
        "at every epoch"
        if _best_epoch(val_losses) is None
        else f"at epoch {kept_epoch}, whose weights it keeps"
    )
    return (
        f"The run diverged: its validation loss is not finite {where}; its test "
        "scores are those of broken weights (try a lower learning rate)."
    )


def _run_facts(
    model: keras.Model,
    config: dict[str, Any],
    history: dict[str, list[float]],
    test: data.Split,
    settings: TrainSettings,
    kept_best: bool,
) -> dict[str, Any]:
    """What a finished run records beside its scores: epochs, time, the kept epoch,
    size, speed, device, versions.

    ``kept_best``: whether the model holds the best-validation weights (else those
    of the last epoch, also when ``keep_best`` found no best weights saved).
    ``best_epoch`` is that of the lowest finite validation loss (None if there is
    none); ``diverged``: the kept epoch's validation loss is not finite (NaN),
    so the scores are those of broken weights.
    """
    epoch_seconds = history.get("epoch_seconds", [])
    val_losses = history.get("val_loss", [])
    best_epoch = _best_epoch(val_losses)
    kept_epoch = best_epoch if kept_best and best_epoch else len(epoch_seconds)
    return {
        "config": config,
        "epochs_run": len(epoch_seconds),
        "train_seconds": float(sum(epoch_seconds)),
        "seconds_per_epoch": float(np.median(epoch_seconds)) if epoch_seconds else None,
        "best_epoch": best_epoch,
        "kept_epoch": kept_epoch,
        "diverged": bool(val_losses)
        and not bool(np.isfinite(val_losses[kept_epoch - 1])),
        "parameters": model.count_params(),
        "flops_per_image": count_flops(model),
        "inference_images_per_second": _inference_rate(
            model, test.images, settings.batch_size
        ),
        "device": describe_device(),
        "versions": versions(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
