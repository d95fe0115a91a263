"""Fitting a model: the book's one training loop, with run folders that resume and are
reused when finished.

:func:`train` is the entry point every chapter and the study command call.
The recipe is a :class:`helpers.train.recipe.TrainSettings`; the profile decides
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
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import keras
import numpy as np

from helpers.config import Profile, artifacts_dir, current_profile
from helpers.data import splits
from helpers.data.streaming import (
    EpochBatches,
    FreshCompositions,
    ShuffledSplit,
    as_model_input,
)
from helpers.evaluate.diagnostics import SilenceMonitor
from helpers.nets.architecture import digest_of, run_name
from helpers.nets.registry import build_model
from helpers.train import recipe
from helpers.train.finish import finish_run
from helpers.train.losses import segmentation_loss
from helpers.train.machine import describe_device, dtype_policy
from helpers.train.recipe import DEFAULT_SETTINGS, TrainSettings
from helpers.train.resume import (
    BACKUP_DIR,
    BEST_WEIGHTS,
    HISTORY_LOG,
    ResumableEarlyStopping,
    TrainResult,
    backup_epochs,
    history_up_to,
    prepare_run_dir,
    training_complete,
    training_in,
)
from helpers.train.runs import run_config, run_folder

# Validation images on which the silent foreground is measured every epoch.
_SILENCE_IMAGES = 256


class _EpochTimer(keras.callbacks.Callback):
    """Adds ``epoch_seconds`` to the logs, so the history records the wall time of every
    epoch."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


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


def compile_for_training(
    model: keras.Model,
    steps: int,
    settings: TrainSettings,
    jit_compile: bool | str = "auto",
) -> keras.Model:
    """Compile ``model`` as :func:`train` does: the recipe's optimiser and schedule over
    ``steps`` batches (:func:`helpers.train.recipe.optimizer`), the settings' loss,
    pixel accuracy and the mean IoU over the digits as metrics.

    One function, so that ``benchmarks/speed.py`` measures exactly the training
    the book runs.
    """
    model.compile(
        optimizer=recipe.optimizer(settings, steps),
        loss=segmentation_loss(settings.loss),
        metrics=["accuracy", recipe.digit_iou_metric()],
        jit_compile=jit_compile,
    )
    return model


def train(
    model_name: str,
    dataset: splits.Dataset | None = None,
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
    jit_compile: bool | str | None = None,
    builder: Callable[..., keras.Model] | None = None,
) -> TrainResult:
    """Train ``model_name`` (a key of ``MODEL_BUILDERS``) with ``settings`` in a profile
    and save its artifacts.

    ``settings`` defaults to :data:`DEFAULT_SETTINGS`, ``profile`` to the current
    one (it sets the data sizes and caps the epochs), ``dataset`` to the
    book's data. With ``settings.fresh_images`` the training images are
    composed anew every epoch from ``train_digits`` (pixels, labels: the
    training digit pool of ``dataset``; by default that of the book's data).
    ``data_source`` describes a given ``dataset`` for the run's configuration
    (:func:`helpers.data.splits.describe_source`); the book's data describe themselves.
    The run folder (default ``artifacts/<model>/seed-<seed>``) is reused when
    it holds a finished run with the same settings, resumed when it holds an
    unfinished one (also one killed while it was being finished: it is
    finished without training again), trained again when older code made it
    (in the committed artifacts only if ``retrain`` is set), and refused
    (:class:`RunFolderConflict`) when it holds a run with other settings,
    unless ``retrain`` is set. The network is built once first, under the
    float32 policy, for the digest of its architecture that the run records
    (:mod:`helpers.nets.architecture`): an unknown model or keyword fails before
    anything is read or written. The initial weights and the training batches
    draw from two seeds derived from ``seed``
    (:func:`helpers.train.runs.derived_seeds`).

    ``strategy``: "auto" mirrors over several GPUs under TensorFlow, or pass a
    ``tf.distribute`` strategy. ``callbacks`` are extra Keras callbacks, run
    after the book's own. ``jit_compile``: XLA compilation of the training
    step ("auto" is Keras' choice); None leaves it to Keras in the full profile
    and switches it off in the others, whose epochs of a few dozen images take
    less time on a CPU than XLA's compilation of each step. XLA changes only the
    rounding, so it is not one of the settings that decide whether a run is
    reused.

    ``builder`` builds the network instead of the library's builder of ``model_name``:
    the function a chapter's cell defines. While it builds the library's network the
    run is the library's; an edited one trains in a folder of its own
    (:func:`helpers.nets.architecture.run_name`).
    """
    settings = settings or DEFAULT_SETTINGS
    profile = profile or current_profile()
    if jit_compile is None:
        jit_compile = "auto" if profile.name == "full" else False
    model_kwargs = dict(model_kwargs or {})
    build = builder or partial(build_model, model_name)
    architecture = digest_of(build, model_kwargs)
    if settings.fresh_images and train_digits is None:
        if dataset is not None:
            raise ValueError(
                "fresh_images needs the training digit pool of the given dataset: pass "
                "train_digits"
            )
        if splits.is_kaggle():
            # Every split of a run comes from one source: never training images
            # composed from MNIST beside the Kaggle files' validation and test images.
            raise ValueError(
                f"${splits.KAGGLE_ENV} points at the Kaggle M2NIST files, but this "
                "recipe composes fresh training images (fresh_images=True), which "
                "needs single digits; the Kaggle files hold composed images only. "
                "Train on their fixed split with "
                'settings=helpers.train.recipe.preset("fixed-split"), or unset '
                f"${splits.KAGGLE_ENV} to use the data generated from MNIST."
            )
        train_digits = splits.training_digits()
    if dataset is None:
        dataset, data_source = splits.load_m2nist(), splits.describe_source()
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
        else run_folder(
            artifacts_dir(profile),
            model_name
            if builder is None
            else run_name(model_name, model_kwargs, architecture),
            seed,
        )
    )
    if finished := prepare_run_dir(run_dir, config, retrain):
        return finished

    with training_in(run_dir):
        keras.utils.set_random_seed(config["seeds"]["weights"])
        epochs = profile.epochs_of(settings.epochs)
        history = history_up_to(run_dir, backup_epochs(run_dir) or 0)
        training_images = _training_images(
            settings,
            dataset.train,
            train_digits,
            images["train"],
            config["seeds"]["data"],
        )
        with dtype_policy(settings.mixed_precision), _distribution_scope(strategy):
            model = build(**model_kwargs)
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
        complete = training_complete(val_losses, epochs, settings.patience)
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
        return finish_run(model, config, dataset.test, run_dir, settings)


def _training_images(
    settings: TrainSettings,
    fixed: splits.Split,
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
    augmentation = recipe.AUGMENTATION if settings.augment else None
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
    validation: splits.Split,
) -> list[keras.callbacks.Callback]:
    """Epoch timing, the stream's epoch, silent foreground on the first
    validation images (:mod:`helpers.evaluate.diagnostics`), best-validation
    weights, early stopping, the log, and the backup to resume.

    ``val_losses``: those of the epochs run before a resume, so that the best
    weights and early stopping go on from where they were. The backup is
    written last at the end of an epoch, after the log: a run killed in
    between trains that epoch again, and its logged row is dropped
    (:func:`history_up_to`). The backup is kept until the run is finished.
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
            str(run_dir / BEST_WEIGHTS),
            monitor="val_loss",
            save_best_only=True,
            save_weights_only=True,
            initial_value_threshold=best_so_far,
        )
    )
    if settings.patience is not None:
        callbacks.append(ResumableEarlyStopping(settings.patience, val_losses))
    return [
        *callbacks,
        keras.callbacks.CSVLogger(str(run_dir / HISTORY_LOG), append=True),
        keras.callbacks.BackupAndRestore(
            str(run_dir / BACKUP_DIR), double_checkpoint=True, delete_checkpoint=False
        ),
    ]
