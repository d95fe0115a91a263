"""Speed of the book's three models: training and inference rates, latency, memory and FLOP efficiency.

    python benchmarks/speed.py [--quick] [--out PATH]

For FCN-8s, U-Net and V-Net, in several settings side by side (batch size,
XLA compilation, input pipeline, and mixed precision on a GPU), the script
times real ``model.fit`` training and ``model.predict`` inference on random
M2NIST-shaped data after a warm-up, and relates the achieved FLOP rate to the
float32 matrix-multiply rate of the same machine, measured in the same run. A
per-layer profile of a U-Net training step (on a CPU, where the target is
missed) and the growth of the step time with the batch show what limits it.

Each run writes one JSON file (default ``benchmarks/results/<device>-<backend>.json``);
run it once per backend, e.g. ``KERAS_BACKEND=jax python benchmarks/speed.py``.
``--quick`` measures tiny models once, to test the script. Under JAX the
script needs no TensorFlow (Keras only looks for it where it is installed).
"""

from __future__ import annotations

import argparse
import datetime
import inspect
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # as helpers sets it; needed before keras imports TensorFlow
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the helpers package, without installing it

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

from helpers import HEIGHT, NUM_CLASSES, WIDTH, artifacts, inference, machine, training  # noqa: E402
from helpers.models import MODEL_BUILDERS, build_model, count_flops  # noqa: E402

BACKEND = keras.backend.backend()
RESULTS_DIR = Path(__file__).resolve().parent / "results"
TRAINING_FLOPS_PER_FORWARD = 3
MIXED_PRECISIONS = ("mixed_bfloat16", "mixed_float16")
GPU_BUDGET_REASON = {
    "mixed_bfloat16": "measured for U-Net alone, to keep the GPU run near 150 s: every model and precision compiles anew",
    "mixed_float16": "left out to keep the GPU run near 150 s: mixed_bfloat16, measured instead, needs no loss scaling "
                     "and Hopper GPUs run it at the float16 tensor-core rate",
}

CONVENTIONS = {
    "flops": "models.count_flops: Conv2D, Conv2DTranspose and Dense layers only, a multiply-add counts as 2 FLOPs",
    "training_flops_per_image": f"{TRAINING_FLOPS_PER_FORWARD} x forward FLOPs "
                                "(forward, gradients of activations, gradients of weights)",
    "matmul_reference": "median FLOP rate of a jit-compiled keras.ops.matmul of two float32 n x n matrices "
                        "(2 n^3 FLOPs), measured at the start and after every model; the highest median over sizes and times is "
                        "the reference",
    "fraction_of_matmul": "achieved model FLOP rate / matmul reference of the same run",
    "rates": "median, min and max over the timed repeats, after a warm-up that includes compilation; the settings "
             "of a model are timed in turns, one repeat of each per round, so that the machine's drift over the run "
             "hits every setting alike",
    "train_speedup_over_book": "a setting's training rate / the book setting's rate in the same round, median, min "
                               "and max over the rounds",
    "variant_verdicts": "a variant beats the book's setting where its training speed-up exceeds 1 in every round, "
                        "for every model measured; batch size and precision change the training itself, XLA and the "
                        "input pipeline only rounding and shuffle order",
    "training": "one timed repeat = one model.fit epoch over train_images random images (whole batches), timed "
                "from the start of its first batch to its end; the seconds before the first batch (the input "
                "pipeline's set-up) are epoch_start_seconds; the first epoch is the warm-up",
    "inference": "model.predict over inference_images images at the setting's batch size",
    "latency": "seconds per model.predict_on_batch call with one image (the compiled predict function)",
}


@dataclass(frozen=True)
class Sizes:
    """How much work each measurement does, and which variants and profile a run can afford."""

    model_kwargs: dict[str, dict[str, int]]
    batch_sizes: tuple[int, int]
    train_images: int
    inference_images: int
    latency_calls: int
    repeats: int
    matmul_sizes: tuple[int, ...]
    matmul_repeats: int
    variants: bool
    mixed_precisions: dict[str, tuple[str, ...]]
    profile: bool
    profile_layers: int | None
    profile_repeats: int


SIZES = {
    "quick": Sizes(model_kwargs={"fcn8s": {"base_filters": 4}, "unet": {"base_filters": 4, "depth": 1},
                                 "vnet": {"base_filters": 4, "depth": 1}},
                   batch_sizes=(4, 8), train_images=8, inference_images=8, latency_calls=2, repeats=1,
                   matmul_sizes=(256,), matmul_repeats=3, variants=False, mixed_precisions={},
                   profile=True, profile_layers=4, profile_repeats=1),
    "cpu": Sizes(model_kwargs={name: {} for name in MODEL_BUILDERS}, batch_sizes=(32, 128), train_images=64,
                 inference_images=64, latency_calls=10, repeats=4, matmul_sizes=(1024, 2048), matmul_repeats=10,
                 variants=True, mixed_precisions={},
                 profile=True, profile_layers=None, profile_repeats=3),
    "gpu": Sizes(model_kwargs={name: {} for name in MODEL_BUILDERS}, batch_sizes=(32, 128), train_images=2048,
                 inference_images=2048, latency_calls=50, repeats=3, matmul_sizes=(2048, 4096), matmul_repeats=10,
                 variants=True, mixed_precisions={"unet": ("mixed_bfloat16",)},
                 profile=False, profile_layers=None, profile_repeats=3),
}
"""``quick`` tests the script: tiny models, a few layers profiled, the book's setting only (every variant
traces or compiles anew, which dominates a tiny run). ``cpu`` and ``gpu`` are the full mode on a CPU and on an
accelerator; on a GPU, where XLA compiles anew for every model, shape and precision and compilation dominates
the run, mixed precision is measured for U-Net alone and the per-layer profile (one compilation per layer) is
left out: the batch-size scaling says what limits the rate there."""

TARGETS = (
    {"name": "U-Net training on a CPU", "device": "cpu", "model": "unet", "metric": "train_fraction_of_matmul",
     "threshold": 0.6, "text": "at least 60 % of the machine's float32 matmul FLOP rate"},
    {"name": "U-Net training on a GPU", "device": "gpu", "model": "unet", "metric": "train_images_per_second",
     "threshold": 10_000, "text": "at least 10,000 images per second"},
)


@dataclass(frozen=True)
class Setting:
    """One way to run a model: what a row of the benchmark table varies."""

    batch_size: int
    jit_compile: bool
    pipeline: str = "numpy"
    precision: str = "float32"
    keras_default: bool = False

    @property
    def label(self) -> str:
        return f"batch {self.batch_size}, XLA {'on' if self.jit_compile else 'off'}, {self.pipeline}, {self.precision}"


# --------------------------------------------------------------------------- the backend


def keras_default_jit(accelerator: str | None) -> bool:
    """What ``jit_compile="auto"`` resolves to: XLA everywhere under JAX, only on a GPU under TensorFlow."""
    return BACKEND == "jax" or accelerator is not None


def xla_compiled(function: Callable) -> Callable:
    """``function`` compiled by XLA through the backend."""
    if BACKEND == "jax":
        import jax

        return jax.jit(function)
    import tensorflow as tf

    return tf.function(function, jit_compile=True)


def float32_precision() -> str:
    """The backend's setting that decides whether float32 matmuls and convolutions may run as TF32 on a GPU."""
    if BACKEND == "jax":
        import jax

        return (f"jax_default_matmul_precision={jax.config.jax_default_matmul_precision} "
                "(None: XLA's default, TF32 allowed on NVIDIA GPUs, for the models as for the reference)")
    import tensorflow as tf

    return f"tensor_float_32_execution_enabled={tf.config.experimental.tensor_float_32_execution_enabled()}"


def wait_for(result: Any) -> None:
    """Block until the device has computed ``result`` (backends return before they finish)."""
    if BACKEND == "jax":
        import jax

        jax.block_until_ready(result)
    else:
        for tensor in keras.tree.flatten(result):
            ops.convert_to_numpy(tensor)


def training_mode(layer: keras.layers.Layer) -> dict[str, bool]:
    """``{"training": True}`` for layers whose call takes it (batch norm), else nothing."""
    return {"training": True} if "training" in inspect.signature(layer.call).parameters else {}


def gradient_step(layer: keras.layers.Layer, input_gradient: bool, jit_compile: bool) -> Callable:
    """Compiled forward and backward pass of one layer: ``(weights, state, inputs, upstream) -> gradients``.

    Gradients of the weights always, of the inputs only where a training step
    needs them (``input_gradient``), the cotangent ``upstream`` standing for
    the rest of the network.
    """
    def forward(weights, state, inputs):
        return layer.stateless_call(weights, state, inputs, **training_mode(layer))[0]

    if BACKEND == "jax":
        import jax

        def step(weights, state, inputs, upstream):
            if input_gradient:
                return jax.vjp(lambda w, x: forward(w, state, x), weights, inputs)[1](upstream)
            return jax.vjp(lambda w: forward(w, state, inputs), weights)[1](upstream)

        return jax.jit(step)
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # one new function per layer is intended: no retracing warnings

    def step(weights, state, inputs, upstream):
        sources = (weights, inputs) if input_gradient else (weights,)
        with tf.GradientTape() as tape:
            tape.watch(sources)
            outputs = forward(weights, state, inputs)
        return tape.gradient(outputs, sources, output_gradients=upstream)

    return tf.function(step, jit_compile=jit_compile)


class PeakMemory:
    """Peak memory of the work since :meth:`reset`: device memory on a GPU, peak resident memory on a CPU."""

    def __init__(self, accelerator: str | None) -> None:
        self.accelerator = accelerator
        if accelerator and BACKEND == "jax":
            self.method = "jax Device.memory_stats()['peak_bytes_in_use']"
            self.scope = "process: JAX cannot reset its peak, so a row shows the peak of all rows up to it"
        elif accelerator:
            self.method = "tf.config.experimental.get_memory_info('GPU:0')['peak'], reset before each row"
            self.scope = "row"
        else:
            resettable = self._reset_resident_peak()
            self.method = ("peak resident set size (VmHWM), reset before each row through /proc/self/clear_refs"
                           if resettable else "resource.getrusage(RUSAGE_SELF).ru_maxrss")
            self.scope = "row" if resettable else "process: the kernel does not let the peak be reset"

    @staticmethod
    def _reset_resident_peak() -> bool:
        try:
            Path("/proc/self/clear_refs").write_text("5")
            return True
        except OSError:
            return False

    def reset(self) -> None:
        if self.accelerator and BACKEND == "tensorflow":
            import tensorflow as tf

            tf.config.experimental.reset_memory_stats("GPU:0")
        elif not self.accelerator and self.scope == "row":
            self._reset_resident_peak()

    def peak_bytes(self) -> int:
        if self.accelerator and BACKEND == "jax":
            import jax

            return int(jax.devices()[0].memory_stats()["peak_bytes_in_use"])
        if self.accelerator:
            import tensorflow as tf

            return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])
        if self.scope == "row":
            status = Path("/proc/self/status").read_text()
            return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# --------------------------------------------------------------------------- measurements


def spread(values: list[float]) -> dict[str, float]:
    """Median, min and max of repeated measurements."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "repeats": len(values)}


def scaled(summary: dict[str, float], factor: float) -> dict[str, float]:
    """A :func:`spread` multiplied by a positive ``factor`` (e.g. images/s -> FLOP/s)."""
    return {key: value * factor if key != "repeats" else value for key, value in summary.items()}


def seconds_of(work: Callable[[], Any]) -> float:
    """Wall time of one call of ``work``."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


class MatmulReference:
    """The machine's own float32 FLOP rate: a jit-compiled ``keras.ops.matmul`` of square matrices.

    Measured at the start and after every model, because a shared machine
    slows down and speeds up; the highest median is the reference, so that a
    slow moment never flatters the models' fractions.
    """

    def __init__(self, sizes: tuple[int, ...], repeats: int) -> None:
        self.multiply = xla_compiled(ops.matmul)
        self.operands = {n: (keras.random.normal((n, n), seed=1), keras.random.normal((n, n), seed=2)) for n in sizes}
        self.repeats = repeats
        self.sessions: list[dict[str, Any]] = []

    def measure(self, when: str) -> None:
        by_size = {}
        for n, (a, b) in self.operands.items():
            wait_for(self.multiply(a, b))
            seconds = [seconds_of(lambda: wait_for(self.multiply(a, b))) for _ in range(self.repeats)]
            by_size[str(n)] = spread([2 * n**3 / s for s in seconds])
        self.sessions.append({"when": when, "by_size": by_size})

    def latest_flops_per_second(self) -> float:
        """The best median of the latest measurement: the machine's rate right now."""
        return max(size["median"] for size in self.sessions[-1]["by_size"].values())

    def report(self) -> dict[str, Any]:
        session, size = max(((session, size) for session in self.sessions for size in session["by_size"]),
                            key=lambda pair: pair[0]["by_size"][pair[1]]["median"])
        return {"function": f"keras.ops.matmul, jit-compiled by {BACKEND}", "dtype": "float32",
                "precision": float32_precision(), "sessions": self.sessions, "reference_when": session["when"],
                "reference_size": int(size), "reference_flops_per_second": session["by_size"][size]["median"]}


class EpochTimes(keras.callbacks.Callback):
    """Per epoch of a ``fit``: seconds until its first batch starts (input pipeline set-up) and of its steps."""

    def __init__(self) -> None:
        super().__init__()
        self.start_seconds: list[float] = []
        self.step_seconds: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_start = time.perf_counter()

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        if batch == 0:
            self._steps_start = time.perf_counter()
            self.start_seconds.append(self._steps_start - self._epoch_start)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        float(logs["loss"])  # reading the loss waits until the device has finished the epoch
        self.step_seconds.append(time.perf_counter() - self._steps_start)


def random_batches(n_images: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """M2NIST-shaped data: grey images ``uint8 (n, 64, 84)`` and class maps ``uint8 (n, 64, 84)``."""
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (n_images, HEIGHT, WIDTH), dtype=np.uint8),
            rng.integers(0, NUM_CLASSES, (n_images, HEIGHT, WIDTH), dtype=np.uint8))


def training_input(images: np.ndarray, masks: np.ndarray, setting: Setting) -> dict[str, Any]:
    """``fit`` arguments for a pipeline: numpy arrays, or a ``tf.data`` pipeline casting compact uint8 batches."""
    if setting.pipeline == "numpy":
        return {"x": inference.as_model_input(images), "y": masks.astype("int32"), "batch_size": setting.batch_size,
                "shuffle": True}
    import tensorflow as tf

    def to_model_input(image_batch, mask_batch):
        return tf.cast(image_batch, "float32")[..., None], tf.cast(mask_batch, "int32")

    pipeline = (tf.data.Dataset.from_tensor_slices((images, masks)).shuffle(len(images)).batch(setting.batch_size)
                .map(to_model_input, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE))
    return {"x": pipeline, "shuffle": False}


@dataclass
class Contender:
    """One setting of one model during a measurement: its compiled model, its data and what was timed so far."""

    setting: Setting
    model: keras.Model
    fit_arguments: dict[str, Any]
    train_images: int
    inference_batch: np.ndarray
    timer: EpochTimes
    inference_seconds: list[float]
    peak_memory_bytes: int = 0

    def train_one_epoch(self, memory: PeakMemory) -> None:
        memory.reset()
        self.model.fit(**self.fit_arguments, epochs=1, verbose=0, callbacks=[self.timer])
        self.peak_memory_bytes = max(self.peak_memory_bytes, memory.peak_bytes())

    def training_rates(self) -> list[float]:
        """Training images per second of each timed epoch (the first, the warm-up, is left out)."""
        return [self.train_images / seconds for seconds in self.timer.step_seconds[1:]]

    def predict_all(self) -> np.ndarray:
        return self.model.predict(self.inference_batch, batch_size=self.setting.batch_size, verbose=0)


def contender(model: keras.Model, setting: Setting, sizes: Sizes) -> Contender:
    """A setting ready to be timed: whole batches of random training and inference data."""
    train_images = max(1, round(sizes.train_images / setting.batch_size)) * setting.batch_size
    inference_images = max(1, round(sizes.inference_images / setting.batch_size)) * setting.batch_size
    return Contender(setting, model, training_input(*random_batches(train_images), setting), train_images,
                     inference.as_model_input(random_batches(inference_images, seed=1)[0]), EpochTimes(), [])


def measure_model(name: str, settings: list[Setting], sizes: Sizes, memory: PeakMemory) -> list[dict[str, Any]]:
    """The rows of one model: every setting timed in turns, so that a shared machine's drift hits them all alike.

    After one warm-up epoch and prediction per setting (compilation), each
    round trains every setting for one epoch and times one prediction pass
    over its inference images; the settings' repeats are the rounds. Each row
    also gets its training rate relative to the book's setting in the same
    round (``train_speedup_over_book``), the fair comparison of two settings.
    """
    contenders = []
    for group in grouped_by_model(settings):
        model = build_compiled(name, group[0], sizes)
        contenders += [contender(model, setting, sizes) for setting in group]
    for entry in contenders:
        entry.train_one_epoch(memory)
        entry.predict_all()
    for _ in range(sizes.repeats):
        for entry in contenders:
            entry.train_one_epoch(memory)
            entry.inference_seconds.append(seconds_of(entry.predict_all))
    book = next(entry for entry in contenders if entry.setting.keras_default)
    return [row_of(entry, book.training_rates(), sizes.latency_calls) for entry in contenders]


def row_of(entry: Contender, book_rates: list[float], latency_calls: int) -> dict[str, Any]:
    """One row of the table: training and inference rates, single-image latency and peak memory."""
    model, setting, timer = entry.model, entry.setting, entry.timer
    rates = entry.training_rates()
    one_image = entry.inference_batch[:1]
    for _ in range(3):
        model.predict_on_batch(one_image)
    forward_flops = count_flops(model)
    return {
        "model": model.name, "setting": asdict(setting), "label": setting.label,
        "parameters": model.count_params(), "forward_flops_per_image": forward_flops,
        "training_flops_per_image": TRAINING_FLOPS_PER_FORWARD * forward_flops,
        "train_images": entry.train_images, "inference_images": len(entry.inference_batch),
        "first_epoch_seconds": timer.start_seconds[0] + timer.step_seconds[0],
        "epoch_start_seconds": spread(timer.start_seconds[1:]),
        "train_images_per_second": spread(rates),
        "train_speedup_over_book": spread([rate / book for rate, book in zip(rates, book_rates)]),
        "inference_images_per_second": spread([len(entry.inference_batch) / seconds
                                               for seconds in entry.inference_seconds]),
        "latency_seconds": spread([seconds_of(lambda: model.predict_on_batch(one_image))
                                   for _ in range(latency_calls)]),
        "peak_memory_bytes": entry.peak_memory_bytes,
    }


def with_fractions(row: dict[str, Any], matmul_flops: float) -> dict[str, Any]:
    """``row`` with its training and inference FLOP rates as fractions of the matmul reference."""
    return {**row,
            "train_fraction_of_matmul": scaled(row["train_images_per_second"],
                                               row["training_flops_per_image"] / matmul_flops),
            "inference_fraction_of_matmul": scaled(row["inference_images_per_second"],
                                                   row["forward_flops_per_image"] / matmul_flops)}


def settings_for(accelerator: str | None, sizes: Sizes) -> tuple[dict[str, list[Setting]], list[dict[str, Any]]]:
    """The rows to measure per model on this machine and backend, and the settings left out with the reason."""
    book_batch, large_batch = sizes.batch_sizes
    default_jit = keras_default_jit(accelerator)
    book = Setting(book_batch, default_jit, keras_default=True)
    variants = [Setting(large_batch, default_jit)]
    skipped: list[dict[str, Any]] = []
    if BACKEND == "tensorflow":
        variants += [Setting(book_batch, default_jit, pipeline="tf.data"), Setting(book_batch, not default_jit)]
    else:
        skipped += [{"setting": "XLA off", "models": "all", "reason": "under JAX every train and predict step is "
                     "jit-compiled by XLA"},
                    {"setting": "tf.data pipeline", "models": "all", "reason": "a TensorFlow-backend variant"}]
    settings = {name: [book, *variants] for name in MODEL_BUILDERS}
    for precision in MIXED_PRECISIONS:
        measured = [name for name in MODEL_BUILDERS if precision in sizes.mixed_precisions.get(name, ())]
        if not accelerator:
            skipped.append({"setting": precision, "models": "all", "reason": "GPU only: this run has no GPU"})
            continue
        for name in measured:
            settings[name].append(Setting(large_batch, default_jit, precision=precision))
        if left_out := [name for name in MODEL_BUILDERS if name not in measured]:
            skipped.append({"setting": precision, "models": left_out,
                            "reason": GPU_BUDGET_REASON[precision] if sizes.variants else "left out in --quick"})
    if not sizes.variants:
        return ({name: [book] for name in MODEL_BUILDERS},
                skipped + [{"setting": variant.label, "models": "all", "reason": "left out in --quick"}
                           for variant in variants])
    return settings, skipped


def build_compiled(name: str, setting: Setting, sizes: Sizes) -> keras.Model:
    """The model compiled as the book trains it, under the setting's precision and XLA choice."""
    with training.dtype_policy(None if setting.precision == "float32" else setting.precision):
        model = build_model(name, **sizes.model_kwargs[name])
        return training.compile_for_training(model, decay_steps=1000, jit_compile=setting.jit_compile)


def grouped_by_model(settings: list[Setting]) -> list[list[Setting]]:
    """Settings that can share one compiled model (same precision and XLA choice), in first-seen order."""
    groups: dict[tuple[str, bool], list[Setting]] = {}
    for setting in settings:
        groups.setdefault((setting.precision, setting.jit_compile), []).append(setting)
    return list(groups.values())


# --------------------------------------------------------------------------- profile


def layer_profile(model: keras.Model, setting: Setting, repeats: int, matmul_flops: float,
                  train_step_seconds: float, max_layers: int | None = None) -> dict[str, Any]:
    """Forward + backward time of every layer of ``model`` (the first ``max_layers``) on its own.

    Each layer is rebuilt from its config on its real input shapes and timed as
    a compiled gradient computation; identical layers are timed once. The sum
    per layer type shows where a training step spends its time; the remainder
    to the measured step is the loss, the optimizer update and the framework.
    """
    batch = setting.batch_size
    needs_gradient: set[int] = set()
    timed: dict[str, float] = {}
    rows = []
    for layer in [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)][:max_layers]:
        inputs = keras.tree.flatten(layer.input)
        input_gradient = any(id(tensor) in needs_gradient for tensor in inputs)
        if input_gradient or layer.trainable_weights:
            needs_gradient.add(id(layer.output))
        shapes = [tuple(tensor.shape[1:]) for tensor in inputs]
        config = {key: value for key, value in layer.get_config().items() if key != "name"}
        key = repr((type(layer).__name__, config, shapes, input_gradient))
        symbolic = [keras.Input(shape) for shape in shapes]
        clone = type(layer).from_config(layer.get_config())
        single = keras.Model(symbolic, clone(symbolic if len(symbolic) > 1 else symbolic[0]))
        if key not in timed:
            timed[key] = _layer_seconds(clone, shapes, batch, input_gradient, setting.jit_compile, repeats)
        flops = TRAINING_FLOPS_PER_FORWARD * count_flops(single) * batch
        rows.append({"layer": layer.name, "type": type(layer).__name__, "input_shapes": shapes,
                     "input_gradient": input_gradient, "seconds_per_step": timed[key],
                     "training_flops_per_step": flops, "fraction_of_matmul": flops / timed[key] / matmul_flops})
    layer_seconds = sum(row["seconds_per_step"] for row in rows)
    by_type: dict[str, dict[str, float]] = {}
    for row in rows:
        entry = by_type.setdefault(row["type"], {"layers": 0, "seconds_per_step": 0.0, "training_flops_per_step": 0})
        entry["layers"] += 1
        entry["seconds_per_step"] += row["seconds_per_step"]
        entry["training_flops_per_step"] += row["training_flops_per_step"]
    for entry in by_type.values():
        entry["share_of_layer_time"] = entry["seconds_per_step"] / layer_seconds
        entry["fraction_of_matmul"] = entry["training_flops_per_step"] / entry["seconds_per_step"] / matmul_flops
    convolutions = [row for row in rows if row["training_flops_per_step"]]
    convolution_seconds = sum(row["seconds_per_step"] for row in convolutions)
    convolution_flops = sum(row["training_flops_per_step"] for row in convolutions)
    return {
        "model": model.name, "label": setting.label,
        "method": "each layer rebuilt on its input shapes, compiled forward + backward (stateless_call and the "
                  "backend's gradient), median of repeats; identical layers timed once; fractions relative to the "
                  "matmul rate measured just before the profile",
        "matmul_flops_per_second": matmul_flops,
        "measured_train_step_seconds": train_step_seconds,
        "sum_of_layers_seconds": layer_seconds,
        "outside_layers_share": 1 - layer_seconds / train_step_seconds,
        "convolution_share": convolution_seconds / train_step_seconds,
        "convolutions_only_fraction_of_matmul": convolution_flops / convolution_seconds / matmul_flops,
        "by_type": dict(sorted(by_type.items(), key=lambda item: -item[1]["seconds_per_step"])),
        "layers": rows,
    }


def profile_book_setting(name: str, results: list[dict[str, Any]], sizes: Sizes, matmul_flops: float) -> dict[str, Any]:
    """The layer profile of model ``name`` in the book's setting (float32, so no precision policy to set)."""
    book = next(row for row in results if row["model"] == name and row["setting"]["keras_default"])
    setting = Setting(**book["setting"])
    step_seconds = setting.batch_size / book["train_images_per_second"]["median"]
    return layer_profile(build_model(name, **sizes.model_kwargs[name]), setting, sizes.profile_repeats, matmul_flops,
                         step_seconds, sizes.profile_layers)


def _layer_seconds(layer: keras.layers.Layer, shapes: list[tuple], batch: int, input_gradient: bool,
                   jit_compile: bool, repeats: int) -> float:
    """Median seconds of one compiled forward + backward pass of ``layer`` on a batch."""
    inputs = [keras.random.uniform((batch, *shape), seed=index) for index, shape in enumerate(shapes)]
    inputs = inputs if len(inputs) > 1 else inputs[0]
    weights = [variable.value for variable in layer.trainable_variables]
    state = [variable.value for variable in layer.non_trainable_variables]
    upstream = ops.ones_like(layer.stateless_call(weights, state, inputs, **training_mode(layer))[0])
    step = gradient_step(layer, input_gradient, jit_compile)
    wait_for(step(weights, state, inputs, upstream))
    return statistics.median(seconds_of(lambda: wait_for(step(weights, state, inputs, upstream)))
                             for _ in range(repeats))


# --------------------------------------------------------------------------- the report


def describe_machine(accelerator: str | None) -> dict[str, Any]:
    """What ran the benchmark: CPU model and cores, accelerator, backend, versions."""
    cpuinfo = Path("/proc/cpuinfo")
    models = re.findall(r"model name\s*:\s*(.+)", cpuinfo.read_text()) if cpuinfo.exists() else []
    return {
        "cpu_model": models[0].strip() if models else platform.processor() or platform.machine(),
        "cpu_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_bytes": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
        "gpu": accelerator,
        "device": machine.describe_device(),
        "backend": BACKEND,
        "versions": machine.versions(),
        "platform": platform.platform(),
    }


def device_slug(accelerator: str | None) -> str:
    """Short name for the result file: ``cpu``, or the GPU model such as ``h200``."""
    if accelerator is None:
        return "cpu"
    found = re.search(r"\b([A-Z]+\d+[A-Za-z]*)\b", accelerator)
    return found.group(1).lower() if found else "gpu"


def evaluate_targets(results: list[dict[str, Any]], accelerator: str | None) -> list[dict[str, Any]]:
    """Each target with the best value of this run and whether it is met (or why it does not apply)."""
    device = "gpu" if accelerator else "cpu"
    evaluated = []
    for target in TARGETS:
        rows = [row for row in results if row["model"] == target["model"]]
        if target["device"] != device or not rows:
            evaluated.append({**target, "applies": False, "value": None, "label": None, "met": None})
            continue
        best = max(rows, key=lambda row: row[target["metric"]]["median"])
        value = best[target["metric"]]["median"]
        evaluated.append({**target, "applies": True, "value": value, "label": best["label"],
                          "met": value >= target["threshold"]})
    return evaluated


def batch_scaling(results: list[dict[str, Any]], batch_sizes: tuple[int, int]) -> dict[str, dict[str, Any]]:
    """Per model, the training step time as ``fixed + batch * per_image``, through the book's and the large batch.

    Only the batch differs between the two rows. A large fixed part is
    per-step overhead that larger batches amortise; the per-image part bounds
    the rate at any batch size: ``1 / per_image``.
    """
    small, large = batch_sizes
    scaling = {}
    for book in (row for row in results if row["setting"]["keras_default"]):
        large_setting = {**book["setting"], "batch_size": large, "keras_default": False}
        larger = next((row for row in results if row["model"] == book["model"] and row["setting"] == large_setting), None)
        if larger is None:
            continue
        step_seconds = {batch: batch / row["train_images_per_second"]["median"]
                        for batch, row in ((small, book), (large, larger))}
        per_image = (step_seconds[large] - step_seconds[small]) / (large - small)
        fixed = step_seconds[small] - small * per_image
        scaling[book["model"]] = {"step_seconds": {str(batch): seconds for batch, seconds in step_seconds.items()},
                                  "fixed_seconds_per_step": fixed, "seconds_per_image": per_image,
                                  "fixed_share_at_book_batch": fixed / step_seconds[small],
                                  "images_per_second_limit": 1 / per_image if per_image > 0 else None}
    return scaling


def variant_verdicts(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each variant of the book's setting: its paired speed-ups per model and whether it beats the book's setting.

    It beats it where the speed-up exceeds 1 in every round for every model
    measured; one fast round, or a faster median within the spread, does not.
    """
    book = next(row["setting"] for row in results if row["setting"]["keras_default"])
    by_label: dict[str, list[dict[str, Any]]] = {}
    for row in results:
        if not row["setting"]["keras_default"]:
            by_label.setdefault(row["label"], []).append(row)
    verdicts = []
    for label, rows in by_label.items():
        setting = rows[0]["setting"]
        verdicts.append({
            "variant": label,
            "changed": sorted(key for key in ("batch_size", "jit_compile", "pipeline", "precision")
                              if setting[key] != book[key]),
            "changes_training": setting["batch_size"] != book["batch_size"] or setting["precision"] != book["precision"],
            "median_speedups": {row["model"]: round(row["train_speedup_over_book"]["median"], 3) for row in rows},
            "beats_book": all(row["train_speedup_over_book"]["min"] > 1 for row in rows),
        })
    return verdicts


def findings(results: list[dict[str, Any]], targets: list[dict[str, Any]], scaling: dict[str, dict[str, Any]],
             profile: dict[str, Any] | None, matmul: dict[str, Any], verdicts: list[dict[str, Any]]) -> list[str]:
    """What the numbers say, in sentences built from the numbers of this run."""
    spread_of_sessions = [session["by_size"][str(matmul["reference_size"])]["median"] for session in matmul["sessions"]]
    notes = [f"float32 matmul reference: {matmul['reference_flops_per_second'] / 1e9:.1f} GFLOP/s "
             f"(n = {matmul['reference_size']}, {matmul['reference_when']}); the medians of the "
             f"{len(spread_of_sessions)} measurements in this run range from {min(spread_of_sessions) / 1e9:.1f} to "
             f"{max(spread_of_sessions) / 1e9:.1f} GFLOP/s."]
    for model in dict.fromkeys(row["model"] for row in results):
        rows = [row for row in results if row["model"] == model]
        if len(rows) == 1:
            continue
        best = max(rows, key=lambda row: row["train_speedup_over_book"]["median"])
        speedup = best["train_speedup_over_book"]
        if best["setting"]["keras_default"]:
            notes.append(f"{model}: no variant trained faster than the book's setting '{best['label']}' "
                         f"(median over {speedup['repeats']} rounds).")
            continue
        notes.append(f"{model}: fastest training in '{best['label']}', {speedup['median']:.2f}x the book's setting "
                     f"in the same round (from {speedup['min']:.2f}x to {speedup['max']:.2f}x over "
                     f"{speedup['repeats']} rounds).")
    winners = [verdict for verdict in verdicts if verdict["beats_book"]]
    if verdicts and not winners:
        notes.append("No variant trained faster than the book's setting in every round for every model: the book "
                     "keeps Keras' defaults.")
    for verdict in winners:
        notes.append(f"'{verdict['variant']}' trained faster than the book's setting in every round for every model "
                     f"(median speed-ups {verdict['median_speedups']})"
                     + ("; it changes the training itself, so it is not a default." if verdict["changes_training"]
                        else "; it leaves the training unchanged: a candidate for the book's default."))
    for target in targets:
        if target["applies"]:
            notes.append(f"Target '{target['name']}' ({target['text']}): {'met' if target['met'] else 'not met'}, "
                         f"best {target['metric']} = {target['value']:.3g} in '{target['label']}'.")
    for name, fit in scaling.items():
        small, large = sorted(int(batch) for batch in fit["step_seconds"])
        if fit["fixed_seconds_per_step"] <= 0:
            notes.append(f"{name}: per image, batch {large} trains no faster than batch {small}: a step has no fixed "
                         f"overhead worth amortising, its time grows with the batch (or faster, as activations outgrow "
                         f"the caches).")
        else:
            notes.append(f"{name}: at batch {small}, {fit['fixed_share_at_book_batch']:.0%} of a training step is a "
                         f"fixed per-step part that larger batches amortise; the per-image part caps float32 training "
                         f"at {fit['images_per_second_limit']:,.0f} images/s at any batch size.")
    if profile is None:
        return [*notes, "No layer profile in this run: the target is met, or (on a GPU) it is left out to save "
                        "compilation time; the batch-size scaling above shows what limits the rate."]
    shares = ", ".join(f"{name} {entry['share_of_layer_time']:.0%}" for name, entry in profile["by_type"].items()
                       if entry["share_of_layer_time"] >= 0.02)
    convolutions = [row for row in profile["layers"] if row["training_flops_per_step"]]
    slowest = min(convolutions, key=lambda row: row["fraction_of_matmul"])
    fastest = max(convolutions, key=lambda row: row["fraction_of_matmul"])
    full_size = max(row["input_shapes"][0][0] * row["input_shapes"][0][1] for row in convolutions)
    full_resolution = [row for row in convolutions if row["input_shapes"][0][0] * row["input_shapes"][0][1] == full_size]
    full_seconds = sum(row["seconds_per_step"] for row in full_resolution)
    full_flops = sum(row["training_flops_per_step"] for row in full_resolution)
    full_fraction = full_flops / full_seconds / profile["matmul_flops_per_second"]
    notes.append(
        f"Profile of a {profile['model']} training step ({profile['label']}), each layer's forward and backward "
        f"pass timed alone against a matmul rate of {profile['matmul_flops_per_second'] / 1e9:.1f} GFLOP/s measured "
        f"just before: timed alone, the layers sum to {1 - profile['outside_layers_share']:.0%} of the measured step "
        f"(so their shares are a guide, their absolute times only roughly); share of "
        f"the layer time: {shares}. The convolutions together run at "
        f"{profile['convolutions_only_fraction_of_matmul']:.0%} of the matmul rate, so even with every other layer "
        f"free the model could not pass about that fraction. Per convolution the rate ranges from "
        f"{slowest['fraction_of_matmul']:.0%} ({slowest['layer']}, input {slowest['input_shapes'][0]}) to "
        f"{fastest['fraction_of_matmul']:.0%} ({fastest['layer']}, input {fastest['input_shapes'][0]}); the "
        f"{len(full_resolution)} convolutions at full resolution, with the fewest channels, take "
        f"{full_seconds / sum(row['seconds_per_step'] for row in convolutions):.0%} of the convolution time at "
        f"{full_fraction:.0%} of the matmul rate.")
    convolution_share = sum(row["seconds_per_step"] for row in convolutions) / profile["sum_of_layers_seconds"]
    fraction_target = next((target for target in targets if target["applies"] and target["model"] == profile["model"]
                            and target["metric"] == "train_fraction_of_matmul"), None)
    if fraction_target:
        notes.append(
            f"Every counted FLOP is in the convolutions, which take {convolution_share:.0%} of the layer time; the "
            f"other {1 - convolution_share:.0%} (batch normalization, activations, pooling, copies) add time but no "
            f"counted work. With these shares, training reaches {fraction_target['threshold']:.0%} of the matmul rate "
            f"only if the convolutions run at {fraction_target['threshold'] / convolution_share:.0%} of it; timed alone they "
            f"run at {profile['convolutions_only_fraction_of_matmul']:.0%}.")
    return notes


def run(mode: str) -> dict[str, Any]:
    """Measure everything and return the report."""
    started = time.perf_counter()
    load_at_start = os.getloadavg()
    accelerator = next(iter(machine.accelerators()), None)
    sizes = SIZES["quick" if mode == "quick" else "gpu" if accelerator else "cpu"]
    memory = PeakMemory(accelerator)
    reference = MatmulReference(sizes.matmul_sizes, sizes.matmul_repeats)
    reference.measure("start")
    settings, skipped = settings_for(accelerator, sizes)
    measured = []
    for name, model_settings in settings.items():
        rows = measure_model(name, model_settings, sizes, memory)
        for row in rows:
            print(f"{name}, {row['label']}: {row['train_images_per_second']['median']:,.0f} training images/s, "
                  f"{row['train_speedup_over_book']['median']:.2f}x the book's setting", flush=True)
        print(f"({time.perf_counter() - started:.0f} s so far)", flush=True)
        measured += rows
        keras.backend.clear_session()
        reference.measure(f"after {name}")
    so_far = [with_fractions(row, reference.report()["reference_flops_per_second"]) for row in measured]
    target = next(target for target in evaluate_targets(so_far, accelerator) if target["applies"])
    profile = None
    if sizes.profile and not target["met"]:
        reference.measure("before the profile")
        profile = profile_book_setting(target["model"], so_far, sizes, reference.latest_flops_per_second())
    matmul = reference.report()
    results = [with_fractions(row, matmul["reference_flops_per_second"]) for row in measured]
    targets = evaluate_targets(results, accelerator)
    scaling = batch_scaling(results, sizes.batch_sizes)
    verdicts = variant_verdicts(results)
    return {
        "mode": mode,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {**describe_machine(accelerator), "load_average_start": load_at_start,
                    "load_average_end": os.getloadavg()},
        "conventions": {**CONVENTIONS, "peak_memory": memory.method, "peak_memory_scope": memory.scope},
        "sizes": asdict(sizes),
        "matmul": matmul,
        "skipped": skipped,
        "results": results,
        "targets": targets,
        "batch_scaling": scaling,
        "variant_verdicts": verdicts,
        "profile": profile,
        "notes": findings(results, targets, scaling, profile, matmul, verdicts),
        "wall_seconds": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny models, one repeat: tests the script")
    parser.add_argument("--out", type=Path, help="JSON file to write (default benchmarks/results/<device>-<backend>.json)")
    args = parser.parse_args()
    report = run("quick" if args.quick else "full")
    out = args.out or RESULTS_DIR / f"{device_slug(report['machine']['gpu'])}-{BACKEND}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    artifacts.write_json(out, report)
    for note in report["notes"]:
        print(note)
    print(f"Wrote {out} ({report['wall_seconds']:.0f} s)")


if __name__ == "__main__":
    main()
