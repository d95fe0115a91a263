"""Fitting a model: the book's one training recipe, with run folders that resume and are reused when finished.

:func:`train` is the entry point every chapter calls. The profile decides the
data size, epochs and batch size; a run writes its artifacts into one folder
per model (``model.keras``, ``history.json``, ``metrics.json``, ``run.json``)
and can resume after an interruption from the last finished epoch. A folder
that already holds a finished run with the same settings is loaded instead of
retrained, which is how the book shows a full run without redoing it.
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

from helpers import data
from helpers.artifacts import (
    CONFIG_FILE,
    HISTORY_FILE,
    METRICS_FILE,
    MODEL_FILE,
    RUN_FILE,
    read_json,
    to_json,
    write_json,
)
from helpers.config import Profile, artifacts_dir, current_profile, display_path
from helpers.inference import as_model_input, evaluate, load_model, predict
from helpers.losses import SegmentationLoss
from helpers.machine import describe_device, versions
from helpers.models import build_model, count_flops

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


def _read_history_log(path: Path) -> dict[str, list[float]]:
    """The CSV history, one row per finished epoch (a row repeated by a resume counts once)."""
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


def _run_config(
    model_name: str,
    profile: Profile,
    dataset: data.Dataset,
    model_kwargs: dict,
    seed: int,
    dice_weight: float,
    learning_rate: float,
    mixed_precision: str | None,
) -> dict[str, Any]:
    return {
        "model": model_name,
        "model_kwargs": model_kwargs,
        "profile": profile.as_dict(),
        "seed": seed,
        "dice_weight": dice_weight,
        "learning_rate": learning_rate,
        "mixed_precision": mixed_precision,
        "images": {name: len(split) for name, split in dataset._asdict().items()},
    }


def _prepare_run_dir(run_dir: Path, config: dict[str, Any], retrain: bool) -> TrainResult | None:
    """Return the finished run in ``run_dir`` if it has ``config``; otherwise make the folder ready to train.

    A folder with other settings (or ``retrain``) is cleared; an unfinished
    run with the same settings is kept, so that training resumes from it.
    """
    config_file = run_dir / CONFIG_FILE
    same_settings = config_file.exists() and read_json(config_file) == to_json(config)
    if same_settings and not retrain and (run_dir / RUN_FILE).exists():
        facts = read_json(run_dir / RUN_FILE)
        print(
            f"Loaded the finished run in {display_path(run_dir)} ({facts['epochs_run']} epochs, "
            f"{facts['train_seconds']:.0f} s on {facts['device']}); pass retrain=True to train again."
        )
        return TrainResult(load_model(run_dir / MODEL_FILE), read_json(run_dir / HISTORY_FILE), facts, run_dir)
    if run_dir.exists() and any(run_dir.iterdir()):
        if same_settings and not retrain:
            print(f"Resuming the unfinished run in {display_path(run_dir)} from its last finished epoch.")
            return None
        settings = "the same" if same_settings else "other"
        print(f"Clearing {display_path(run_dir)}: it holds a run with {settings} settings.")
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(config_file, config)
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
    model: keras.Model,
    decay_steps: int,
    learning_rate: float = 1e-3,
    dice_weight: float = 0.0,
    jit_compile: bool | str = "auto",
) -> keras.Model:
    """Compile ``model`` as :func:`train` does: Adam with cosine decay over ``decay_steps``, the segmentation loss.

    One function, so that ``benchmarks/speed.py`` measures exactly the training the book runs.
    """
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=decay_steps, alpha=0.01)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=SegmentationLoss(dice_weight),
        metrics=["accuracy"],
        jit_compile=jit_compile,
    )
    return model


def train(
    model_name: str,
    dataset: data.Dataset | None = None,
    *,
    profile: Profile | None = None,
    model_kwargs: dict | None = None,
    seed: int = 0,
    dice_weight: float = 0.0,
    learning_rate: float = 1e-3,
    mixed_precision: str | None = None,
    strategy: Any = "auto",
    run_dir: str | os.PathLike | None = None,
    retrain: bool = False,
    verbose: int | str = "auto",
    callbacks: list[keras.callbacks.Callback] | None = None,
    jit_compile: bool | str = "auto",
) -> TrainResult:
    """Train ``model_name`` ("fcn8s", "unet" or "vnet") in the current profile and save its artifacts.

    A finished run with the same settings in ``run_dir`` is loaded, not
    retrained, unless ``retrain`` is set.

    Adam with a cosine learning-rate decay; keeps the weights of the best
    validation loss; stops early after ``profile.patience`` epochs without
    improvement; resumes an interrupted run from its last finished epoch.
    ``mixed_precision`` is None, "mixed_float16" or "mixed_bfloat16" (the
    softmax stays float32). ``strategy``: "auto" mirrors over several GPUs
    under TensorFlow, or pass a ``tf.distribute`` strategy. ``callbacks`` are
    extra Keras callbacks, run after the book's own. ``jit_compile``: XLA
    compilation of the training step; "auto" is Keras' choice (XLA under JAX
    and on a GPU, not on a CPU under TensorFlow). It changes only the rounding,
    so it is not one of the settings that decide whether a run is reused; the
    speed appendix measures what it gains.
    """
    profile = profile or current_profile()
    dataset = (dataset or data.load_m2nist()).for_profile(profile)
    model_kwargs = dict(model_kwargs or {})
    config = _run_config(model_name, profile, dataset, model_kwargs, seed, dice_weight, learning_rate, mixed_precision)
    run_dir = Path(run_dir) if run_dir is not None else artifacts_dir(profile) / model_name / f"seed-{seed}"
    if finished := _prepare_run_dir(run_dir, config, retrain):
        return finished

    keras.utils.set_random_seed(seed)
    with dtype_policy(mixed_precision), _distribution_scope(strategy):
        model = build_model(model_name, **model_kwargs)
        steps = profile.epochs * math.ceil(len(dataset.train) / profile.batch_size)
        compile_for_training(model, steps, learning_rate, dice_weight, jit_compile)

    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    print(
        f"Training {model_name} ({model.count_params():,} parameters) on {len(dataset.train):,} images, "
        f"up to {profile.epochs} epochs, batch {profile.batch_size}, profile '{profile.name}', {describe_device()}"
    )
    model.fit(
        as_model_input(dataset.train.images),
        dataset.train.masks.astype("int32"),
        validation_data=(as_model_input(dataset.val.images), dataset.val.masks.astype("int32")),
        epochs=profile.epochs,
        batch_size=profile.batch_size,
        shuffle=True,
        verbose=verbose,
        callbacks=_book_callbacks(run_dir, profile.patience) + list(callbacks or []),
    )
    return _finish_run(model, config, dataset.test, run_dir, mixed_precision)


def _book_callbacks(run_dir: Path, patience: int) -> list[keras.callbacks.Callback]:
    """Epoch timing, resume after an interruption, best-validation weights, early stopping, and the history log."""
    history_log = run_dir / _HISTORY_LOG
    best_so_far = min(_read_history_log(history_log).get("val_loss", [math.inf]))
    return [
        _EpochTimer(),
        keras.callbacks.BackupAndRestore(str(run_dir / _BACKUP_DIR)),
        keras.callbacks.ModelCheckpoint(
            str(run_dir / _BEST_WEIGHTS),
            monitor="val_loss",
            save_best_only=True,
            save_weights_only=True,
            initial_value_threshold=best_so_far,
        ),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience),
        keras.callbacks.CSVLogger(str(history_log), append=True),
    ]


def _finish_run(
    model: keras.Model, config: dict[str, Any], test: data.Split, run_dir: Path, mixed_precision: str | None
) -> TrainResult:
    """Restore the best-validation weights, then save the model, its history, its test scores and the run's facts."""
    if (run_dir / _BEST_WEIGHTS).exists():
        model.load_weights(run_dir / _BEST_WEIGHTS)
    history = _read_history_log(run_dir / _HISTORY_LOG)
    with dtype_policy(mixed_precision):  # saved without optimizer state: a third of the size
        inference_model = build_model(config["model"], **config["model_kwargs"])
    inference_model.set_weights(model.get_weights())
    inference_model.save(run_dir / MODEL_FILE)
    write_json(run_dir / HISTORY_FILE, history)
    batch_size = config["profile"]["batch_size"]
    scores = evaluate(model, test, batch_size)
    write_json(run_dir / METRICS_FILE, scores)
    epoch_seconds = history.get("epoch_seconds", [])
    facts = {
        "config": config,
        "epochs_run": len(epoch_seconds),
        "train_seconds": float(sum(epoch_seconds)),
        "seconds_per_epoch": float(np.median(epoch_seconds)) if epoch_seconds else None,
        "best_epoch": int(np.nanargmin(history["val_loss"])) + 1 if history.get("val_loss") else None,
        "parameters": model.count_params(),
        "flops_per_image": count_flops(model),
        "inference_images_per_second": _inference_rate(model, test.images, batch_size),
        "device": describe_device(),
        "versions": versions(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    write_json(run_dir / RUN_FILE, facts)
    (run_dir / _BEST_WEIGHTS).unlink(missing_ok=True)
    print(f"Test mean IoU over the digits: {scores['mean_iou_digits']:.4f}; artifacts in {display_path(run_dir)}")
    return TrainResult(model, history, facts, run_dir)
