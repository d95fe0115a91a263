"""Fitting a model: the book's one training loop, with run folders that resume and are reused when finished.

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

from helpers import data, metrics
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
from helpers.inference import as_model_input, load_model, predict, score_predictions
from helpers.losses import segmentation_loss
from helpers.machine import describe_device, versions
from helpers.models import build_model, count_flops
from helpers.runs import RunFolderConflict, folder_state, read_history_log, run_config, run_folder
from helpers.settings import PRESETS, TrainSettings
from helpers.streaming import FreshCompositions

DEFAULT_SETTINGS = PRESETS["book"]
"""The recipe of the book's runs: what :func:`train` uses unless given other settings."""

_HISTORY_LOG = "history.csv"
_BEST_WEIGHTS = "best.weights.h5"
_BACKUP_DIR = "backup"


@dataclass
class TrainResult:
    """What a run leaves behind: the model (best weights), its history, its facts and its folder."""

    model: keras.Model
    history: dict[str, list[float]]
    facts: dict[str, Any]
    run_dir: Path


class _EpochTimer(keras.callbacks.Callback):
    """Adds ``epoch_seconds`` to the logs, so the history records the wall time of every epoch."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


def _prepare_run_dir(run_dir: Path, config: dict[str, Any], retrain: bool) -> TrainResult | None:
    """Return the finished run in ``run_dir`` if it has ``config``; otherwise make the folder ready to train.

    An unfinished run with the same settings is kept, so that training resumes
    from it; a folder with another run is cleared only if ``retrain`` is set.
    """
    try:
        state = folder_state(run_dir, config)
    except RunFolderConflict as conflict:
        if not retrain:
            raise RunFolderConflict(f"{conflict}; pass retrain=True to replace it, or choose another folder") from None
        state = "other"
    if state == "finished" and not retrain:
        facts = read_json(run_dir / RUN_FILE)
        print(
            f"Loaded the finished run in {display_path(run_dir)} ({facts['epochs_run']} epochs, "
            f"{facts['train_seconds']:.0f} s on {facts['device']}); pass retrain=True to train again."
        )
        return TrainResult(load_model(run_dir / MODEL_FILE), read_json(run_dir / HISTORY_FILE), facts, run_dir)
    if state == "unfinished" and not retrain:
        print(f"Resuming the unfinished run in {display_path(run_dir)} from its last finished epoch.")
        return None
    if state != "empty":
        print(f"Clearing {display_path(run_dir)} to train again (retrain=True).")
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / CONFIG_FILE, config)
    return None


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
    """The strategy's scope under TensorFlow (several GPUs: MirroredStrategy), else a no-op."""
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
    model: keras.Model, steps: int, settings: TrainSettings, jit_compile: bool | str = "auto"
) -> keras.Model:
    """Compile ``model`` as :func:`train` does: Adam with a cosine decay over ``steps`` batches, the settings' loss.

    One function, so that ``benchmarks/speed.py`` measures exactly the training the book runs.
    """
    schedule = keras.optimizers.schedules.CosineDecay(
        settings.learning_rate, decay_steps=steps, alpha=settings.lr_floor
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=segmentation_loss(settings.loss),
        metrics=["accuracy"],
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
    strategy: Any = "auto",
    run_dir: str | os.PathLike | None = None,
    retrain: bool = False,
    verbose: int | str = "auto",
    callbacks: list[keras.callbacks.Callback] | None = None,
    jit_compile: bool | str = "auto",
) -> TrainResult:
    """Train ``model_name`` (a key of ``MODEL_BUILDERS``) with ``settings`` in a profile and save its artifacts.

    ``settings`` defaults to :data:`DEFAULT_SETTINGS`, ``profile`` to the current
    one (it sets the data sizes and caps the epochs), ``dataset`` to the
    book's data. With ``settings.fresh_images`` the training images are
    composed anew every epoch from ``train_digits`` (pixels, labels: the
    training digit pool of ``dataset``; by default that of the book's data).
    The run folder (default ``artifacts/<model>/seed-<seed>``) is reused when
    it holds a finished run with the same settings, resumed when it holds an
    unfinished one, and refused (:class:`RunFolderConflict`) when it holds a
    run with other settings, unless ``retrain`` is set.

    ``strategy``: "auto" mirrors over several GPUs under TensorFlow, or pass a
    ``tf.distribute`` strategy. ``callbacks`` are extra Keras callbacks, run
    after the book's own. ``jit_compile``: XLA compilation of the training
    step ("auto" is Keras' choice); it changes only the rounding, so it is not
    one of the settings that decide whether a run is reused.
    """
    settings = settings or DEFAULT_SETTINGS
    profile = profile or current_profile()
    if settings.fresh_images and train_digits is None:
        if dataset is not None:
            raise ValueError("fresh_images needs the training digit pool of the given dataset: pass train_digits")
        train_digits = data.training_digits()
    dataset = (dataset or data.load_m2nist()).for_profile(profile)
    model_kwargs = dict(model_kwargs or {})
    n_digits = len(train_digits[0]) if settings.fresh_images else None
    images = {name: len(split) for name, split in dataset._asdict().items()}
    config = run_config(model_name, profile, settings, images, model_kwargs, seed, n_digits)
    run_dir = Path(run_dir) if run_dir is not None else run_folder(artifacts_dir(profile), model_name, seed)
    if finished := _prepare_run_dir(run_dir, config, retrain):
        return finished

    keras.utils.set_random_seed(seed)
    epochs = profile.epochs_of(settings.epochs)
    training_images = _training_images(settings, dataset.train, train_digits, images["train"], seed)
    with dtype_policy(settings.mixed_precision), _distribution_scope(strategy):
        model = build_model(model_name, **model_kwargs)
        compile_for_training(model, epochs * math.ceil(images["train"] / settings.batch_size), settings, jit_compile)

    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    source = "fresh compositions" if settings.fresh_images else "a fixed set"
    print(
        f"Training {model_name} ({model.count_params():,} parameters) on {images['train']:,} images an epoch "
        f"({source}), {epochs} epochs, batch {settings.batch_size}, {settings.loss} loss, "
        f"profile '{profile.name}', {describe_device()}"
    )
    if isinstance(training_images, FreshCompositions):
        fit_input = {"x": training_images}  # the stream makes its own batches
    else:
        x, y = as_model_input(training_images.images), training_images.masks.astype("int32")
        fit_input = {"x": x, "y": y, "batch_size": settings.batch_size, "shuffle": True}
    model.fit(
        **fit_input,
        validation_data=(as_model_input(dataset.val.images), dataset.val.masks.astype("int32")),
        epochs=epochs,
        verbose=verbose,
        callbacks=_book_callbacks(run_dir, settings, training_images) + list(callbacks or []),
    )
    return _finish_run(model, config, dataset.test, run_dir, settings)


def _training_images(
    settings: TrainSettings,
    fixed: data.Split,
    train_digits: tuple[np.ndarray, np.ndarray] | None,
    images_per_epoch: int,
    seed: int,
) -> data.Split | FreshCompositions:
    """The fixed training split, or a stream that composes ``images_per_epoch`` new images every epoch."""
    if not settings.fresh_images:
        return fixed
    pixels, labels = train_digits
    augmentation = DigitAugmentation() if settings.augment else None
    # Two worker threads compose the next batches while the device trains on the current one.
    return FreshCompositions(pixels, labels, images_per_epoch, settings.batch_size, seed, augmentation, workers=2)


def _book_callbacks(
    run_dir: Path, settings: TrainSettings, training_images: data.Split | FreshCompositions
) -> list[keras.callbacks.Callback]:
    """Epoch timing, the stream's epoch, resume after an interruption, best-validation weights, early stopping, log."""
    history_log = run_dir / _HISTORY_LOG
    best_so_far = min(read_history_log(history_log).get("val_loss", [math.inf]))
    callbacks = [_EpochTimer()]
    if isinstance(training_images, FreshCompositions):
        callbacks.append(training_images.epoch_callback())
    callbacks += [
        keras.callbacks.BackupAndRestore(str(run_dir / _BACKUP_DIR)),
        keras.callbacks.ModelCheckpoint(
            str(run_dir / _BEST_WEIGHTS),
            monitor="val_loss",
            save_best_only=True,
            save_weights_only=True,
            initial_value_threshold=best_so_far,
        ),
    ]
    if settings.patience is not None:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=settings.patience))
    return [*callbacks, keras.callbacks.CSVLogger(str(history_log), append=True)]


def _finish_run(
    model: keras.Model, config: dict[str, Any], test: data.Split, run_dir: Path, settings: TrainSettings
) -> TrainResult:
    """Keep the best-validation (or last) weights, then save the model, history, test scores and the run's facts."""
    if settings.keep_best and (run_dir / _BEST_WEIGHTS).exists():
        model.load_weights(run_dir / _BEST_WEIGHTS)
    history = read_history_log(run_dir / _HISTORY_LOG)
    with dtype_policy(settings.mixed_precision):  # saved without optimizer state: a third of the size
        inference_model = build_model(config["model"], **config["model_kwargs"])
    inference_model.set_weights(model.get_weights())
    inference_model.save(run_dir / MODEL_FILE)
    write_json(run_dir / HISTORY_FILE, history)
    predicted = predict(model, test.images, settings.batch_size)
    write_json(run_dir / METRICS_FILE, score_predictions(test.masks, predicted))
    write_confusions(run_dir / CONFUSIONS_FILE, metrics.per_image_confusions(test.masks, predicted))
    facts = _run_facts(model, config, history, test, settings)
    write_json(run_dir / RUN_FILE, facts)
    (run_dir / _BEST_WEIGHTS).unlink(missing_ok=True)
    print(
        f"Test mean IoU over the digits: {read_json(run_dir / METRICS_FILE)['mean_iou_digits']:.4f}; "
        f"artifacts in {display_path(run_dir)}"
    )
    return TrainResult(model, history, facts, run_dir)


def _run_facts(
    model: keras.Model,
    config: dict[str, Any],
    history: dict[str, list[float]],
    test: data.Split,
    settings: TrainSettings,
) -> dict[str, Any]:
    """What a finished run records beside its scores: epochs, time, the kept epoch, size, speed, device, versions."""
    epoch_seconds = history.get("epoch_seconds", [])
    best_epoch = int(np.nanargmin(history["val_loss"])) + 1 if history.get("val_loss") else None
    return {
        "config": config,
        "epochs_run": len(epoch_seconds),
        "train_seconds": float(sum(epoch_seconds)),
        "seconds_per_epoch": float(np.median(epoch_seconds)) if epoch_seconds else None,
        "best_epoch": best_epoch,
        "kept_epoch": best_epoch if settings.keep_best else len(epoch_seconds),
        "parameters": model.count_params(),
        "flops_per_image": count_flops(model),
        "inference_images_per_second": _inference_rate(model, test.images, settings.batch_size),
        "device": describe_device(),
        "versions": versions(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
