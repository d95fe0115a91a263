"""One way to train, save, evaluate and use the book's models.

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
import json
import math
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import ops

from helpers import NUM_CLASSES, data, metrics
from helpers.config import Profile, artifacts_dir, current_profile, display_path
from helpers.models import build_model, count_flops

MODEL_FILE = "model.keras"
HISTORY_FILE = "history.json"
METRICS_FILE = "metrics.json"
RUN_FILE = "run.json"
CONFIG_FILE = "config.json"
_HISTORY_LOG = "history.csv"
_BEST_WEIGHTS = "best.weights.h5"
_BACKUP_DIR = "backup"


@keras.saving.register_keras_serializable(package="segbook")
class SegmentationLoss(keras.losses.Loss):
    """Pixel-wise cross-entropy on integer masks, plus ``dice_weight`` times the soft Dice loss.

    Cross-entropy alone is dominated by the ~95 % background pixels; the Dice
    term weighs every class by its overlap instead of its pixel count.
    """

    def __init__(self, dice_weight: float = 0.0, name: str = "segmentation_loss", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.dice_weight = float(dice_weight)

    def call(self, y_true, y_pred):
        y_true = ops.cast(ops.reshape(y_true, ops.shape(y_pred)[:-1]), "int32")
        y_pred = ops.cast(y_pred, "float32")
        loss = ops.mean(keras.losses.sparse_categorical_crossentropy(y_true, y_pred), axis=(1, 2))
        if self.dice_weight:
            loss = loss + self.dice_weight * soft_dice_loss(y_true, y_pred)
        return loss

    def get_config(self) -> dict:
        return {**super().get_config(), "dice_weight": self.dice_weight}


def soft_dice_loss(y_true, y_pred):
    """1 - mean soft Dice over the classes, one value per image (``y_true``: integer maps)."""
    truth = ops.one_hot(y_true, NUM_CLASSES, dtype="float32")
    axes = (1, 2)
    intersection = ops.sum(truth * y_pred, axis=axes)
    total = ops.sum(truth, axis=axes) + ops.sum(y_pred, axis=axes)
    dice = (2.0 * intersection + 1.0) / (total + 1.0)
    return 1.0 - ops.mean(dice, axis=-1)


@dataclass
class TrainResult:
    """What a run leaves behind: the model (best weights), its history, its facts and its folder."""

    model: keras.Model
    history: dict[str, list[float]]
    facts: dict[str, Any]
    run_dir: Path


# --------------------------------------------------------------------------- inputs


def as_model_input(images: np.ndarray) -> np.ndarray:
    """Validated grey images ``(N, 64, 84)`` -> float32 ``(N, 64, 84, 1)`` as the models expect."""
    images = np.asarray(images)
    if images.ndim == 2:
        raise ValueError(f"images: expected a batch (N, 64, 84), got one image of shape {images.shape}; use images[None]")
    if images.dtype == bool or not np.issubdtype(images.dtype, np.number):
        raise ValueError(f"images: expected grey levels as integers or floats 0..255, got dtype {images.dtype}")
    if len(images) == 0:
        raise ValueError("images: the batch is empty")
    return data.check_images(images).astype("float32")[..., None]


def load_model(path: str | os.PathLike) -> keras.Model:
    """Load a saved ``.keras`` model (inference only), with a clear error if it is missing or not a model."""
    path = Path(path)
    if path.is_dir():
        path = path / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as error:  # Keras raises several types for a file that is not a model
        raise ValueError(f"{path} is not a Keras model file: {error}") from error


def predict(model: keras.Model | str | os.PathLike, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Class maps ``uint8 (N, 64, 84)`` for grey images ``(N, 64, 84)``.

    The last batch is filled up with blank images, so that every batch has one
    shape and the compiled predict step is traced once per model.
    """
    if not isinstance(model, keras.Model):
        model = load_model(model)
    inputs = as_model_input(images)
    batch_size = min(batch_size, len(inputs))
    blank_images = np.zeros((-len(inputs) % batch_size, *inputs.shape[1:]), inputs.dtype)
    probabilities = model.predict(np.concatenate([inputs, blank_images]), batch_size=batch_size, verbose=0)
    return probabilities[: len(inputs)].argmax(axis=-1).astype(np.uint8)


def evaluate(model: keras.Model | str | os.PathLike, split: data.Split, batch_size: int = 64) -> dict[str, Any]:
    """Metrics of a model on a split, accumulated batch by batch.

    Returns the dataset-level scores of :func:`helpers.metrics.scores_from_confusion`
    (from one confusion matrix over the whole split), the confusion matrix, and
    the per-image averages the original project reported (``per_image``).
    """
    if not isinstance(model, keras.Model):
        model = load_model(model)
    if len(split) == 0:
        raise ValueError("evaluate: the split is empty")
    predictions = predict(model, split.images, batch_size)
    accumulator = metrics.ConfusionAccumulator()
    for start in range(0, len(split), batch_size):
        accumulator.update(split.masks[start : start + batch_size], predictions[start : start + batch_size])
    scores = accumulator.scores()
    scores["confusion_matrix"] = accumulator.matrix
    scores["per_image"] = metrics.per_image_scores(split.masks, predictions)
    scores["images"] = len(split)
    return scores


# --------------------------------------------------------------------------- run facts


def accelerators() -> list[str]:
    """Model names of the GPUs Keras runs on, one per device; empty on a CPU."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return [device.device_kind for device in jax.devices() if device.platform != "cpu"]
    if backend == "tensorflow":
        import tensorflow as tf

        return [tf.config.experimental.get_device_details(gpu).get("device_name", "GPU")
                for gpu in tf.config.list_physical_devices("GPU")]
    return []


def describe_device() -> str:
    """The accelerator Keras trains on, in words (or the CPU)."""
    if found := accelerators():
        return f"GPU: {found[0]} x{len(found)}"
    return f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def versions() -> dict[str, str]:
    """Versions that decide whether a run repeats."""
    found = {"python": platform.python_version(), "keras": keras.__version__, "backend": keras.backend.backend(), "numpy": np.__version__}
    if keras.backend.backend() == "jax":
        import jax

        found["jax"] = jax.__version__
    else:
        import tensorflow as tf

        found["tensorflow"] = tf.__version__
    return found


def _to_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(item) for item in value]
    if isinstance(value, np.ndarray):
        return _to_json(value.tolist())
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def write_json(path: Path, value: Any) -> None:
    """Write JSON atomically (NaN becomes null), so a crash never leaves half a file."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(_to_json(value), indent=1))
    os.replace(temporary, path)


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())


# --------------------------------------------------------------------------- training


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


def _run_config(model_name: str, profile: Profile, dataset: data.Dataset, model_kwargs: dict, seed: int,
                dice_weight: float, learning_rate: float, mixed_precision: str | None) -> dict[str, Any]:
    return {"model": model_name, "model_kwargs": model_kwargs, "profile": profile.as_dict(), "seed": seed,
            "dice_weight": dice_weight, "learning_rate": learning_rate, "mixed_precision": mixed_precision,
            "images": {name: len(split) for name, split in dataset._asdict().items()}}


def _prepare_run_dir(run_dir: Path, config: dict[str, Any], retrain: bool) -> TrainResult | None:
    """Return the finished run in ``run_dir`` if it has ``config``; otherwise make the folder ready to train.

    A folder with other settings (or ``retrain``) is cleared; an unfinished
    run with the same settings is kept, so that training resumes from it.
    """
    config_file = run_dir / CONFIG_FILE
    same_settings = config_file.exists() and read_json(config_file) == _to_json(config)
    if same_settings and not retrain and (run_dir / RUN_FILE).exists():
        facts = read_json(run_dir / RUN_FILE)
        print(f"Loaded the finished run in {display_path(run_dir)} ({facts['epochs_run']} epochs, {facts['train_seconds']:.0f} s "
              f"on {facts['device']}); pass retrain=True to train again.")
        return TrainResult(load_model(run_dir / MODEL_FILE), read_json(run_dir / HISTORY_FILE), facts, run_dir)
    if run_dir.exists() and any(run_dir.iterdir()):
        if same_settings and not retrain:
            print(f"Resuming the unfinished run in {display_path(run_dir)} from its last finished epoch.")
            return None
        print(f"Clearing {display_path(run_dir)}: it holds a run with {'the same' if same_settings else 'other'} settings.")
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


def compile_for_training(model: keras.Model, decay_steps: int, learning_rate: float = 1e-3, dice_weight: float = 0.0,
                         jit_compile: bool | str = "auto") -> keras.Model:
    """Compile ``model`` as :func:`train` does: Adam with cosine decay over ``decay_steps``, the segmentation loss.

    One function, so that ``benchmarks/speed.py`` measures exactly the training the book runs.
    """
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=decay_steps, alpha=0.01)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=SegmentationLoss(dice_weight),
                  metrics=["accuracy"], jit_compile=jit_compile)
    return model


def train(model_name: str, dataset: data.Dataset | None = None, *, profile: Profile | None = None,
          model_kwargs: dict | None = None, seed: int = 0, dice_weight: float = 0.0,
          learning_rate: float = 1e-3, mixed_precision: str | None = None, strategy: Any = "auto",
          run_dir: str | os.PathLike | None = None, retrain: bool = False, verbose: int | str = "auto",
          callbacks: list[keras.callbacks.Callback] | None = None, jit_compile: bool | str = "auto") -> TrainResult:
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
    run_dir = Path(run_dir) if run_dir is not None else artifacts_dir(profile) / model_name
    if finished := _prepare_run_dir(run_dir, config, retrain):
        return finished

    keras.utils.set_random_seed(seed)
    with dtype_policy(mixed_precision), _distribution_scope(strategy):
        model = build_model(model_name, **model_kwargs)
        steps = profile.epochs * math.ceil(len(dataset.train) / profile.batch_size)
        compile_for_training(model, steps, learning_rate, dice_weight, jit_compile)

    history_log = run_dir / _HISTORY_LOG
    best_so_far = min(_read_history_log(history_log).get("val_loss", [math.inf]))
    own_callbacks = [
        _EpochTimer(),
        keras.callbacks.BackupAndRestore(str(run_dir / _BACKUP_DIR)),
        keras.callbacks.ModelCheckpoint(str(run_dir / _BEST_WEIGHTS), monitor="val_loss", save_best_only=True,
                                        save_weights_only=True, initial_value_threshold=best_so_far),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=profile.patience),
        keras.callbacks.CSVLogger(str(history_log), append=True),
    ]
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    print(f"Training {model_name} ({model.count_params():,} parameters) on {len(dataset.train):,} images, "
          f"up to {profile.epochs} epochs, batch {profile.batch_size}, profile '{profile.name}', {describe_device()}")
    model.fit(as_model_input(dataset.train.images), dataset.train.masks.astype("int32"),
              validation_data=(as_model_input(dataset.val.images), dataset.val.masks.astype("int32")),
              epochs=profile.epochs, batch_size=profile.batch_size, shuffle=True, verbose=verbose,
              callbacks=own_callbacks + list(callbacks or []))

    if (run_dir / _BEST_WEIGHTS).exists():
        model.load_weights(run_dir / _BEST_WEIGHTS)
    history = _read_history_log(history_log)
    with dtype_policy(mixed_precision):  # saved without optimizer state: a third of the size
        inference_model = build_model(model_name, **model_kwargs)
    inference_model.set_weights(model.get_weights())
    inference_model.save(run_dir / MODEL_FILE)
    write_json(run_dir / HISTORY_FILE, history)
    scores = evaluate(model, dataset.test, profile.batch_size)
    write_json(run_dir / METRICS_FILE, scores)
    epoch_seconds = history.get("epoch_seconds", [])
    facts = {
        "config": config, "epochs_run": len(epoch_seconds), "train_seconds": float(sum(epoch_seconds)),
        "seconds_per_epoch": float(np.median(epoch_seconds)) if epoch_seconds else None,
        "best_epoch": int(np.argmin(history["val_loss"])) + 1 if history.get("val_loss") else None,
        "parameters": model.count_params(), "flops_per_image": count_flops(model),
        "inference_images_per_second": _inference_rate(model, dataset.test.images, profile.batch_size),
        "device": describe_device(), "versions": versions(), "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    write_json(run_dir / RUN_FILE, facts)
    (run_dir / _BEST_WEIGHTS).unlink(missing_ok=True)
    print(f"Test mean IoU over the digits: {scores['mean_iou_digits']:.4f}; artifacts in {display_path(run_dir)}")
    return TrainResult(model, history, facts, run_dir)
