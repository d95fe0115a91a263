"""Speed of the book's three models on this machine and Keras backend: the numbers of
the speed appendix.

    python benchmarks/speed.py [--quick] [--out PATH]    # default PATH:
    results/<device>-<backend>.json

Times ``model.fit`` and prediction of FCN-8s, U-Net and V-Net on random M2NIST-shaped
data in the book's setting and in variants that each change one thing (batch size, XLA,
a ``tf.data`` pipeline under TensorFlow, mixed precision on a GPU). The settings of a
model are timed in turns, one epoch each per round, so that a shared machine's ups and
downs hit them alike; a variant's speed-up is taken against the book's setting within a
round. Each model runs in a fresh process, so that its peak memory is its own.
``--quick``: tiny models, for the test.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import resource
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

os.environ.setdefault(
    "TF_CPP_MIN_LOG_LEVEL", "3"
)  # as helpers sets it, but before keras imports TensorFlow
sys.path.insert(
    0, str(Path(__file__).resolve().parent.parent)
)  # the helpers package, without installing it

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

from helpers import HEIGHT, NUM_CLASSES, WIDTH  # noqa: E402
from helpers.data.streaming import as_model_input  # noqa: E402
from helpers.evaluate.inference import predict
from helpers.nets.names import BOOK_MODELS  # noqa: E402
from helpers.nets.registry import build_model, count_flops  # noqa: E402
from helpers.train import machine
from helpers.train.artifacts import write_json  # noqa: E402
from helpers.train.loop import compile_for_training  # noqa: E402
from helpers.train.machine import dtype_policy  # noqa: E402
from helpers.train.recipe import PRESETS  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"
TRAINING_FLOPS_PER_FORWARD = (
    3  # the forward pass, the gradients of the activations and those of the weights
)
BOOK_BATCH = PRESETS["book"].batch_size


@dataclass(frozen=True)
class Sizes:
    """How much work one run does: tiny models once for a test, or the real models on a
    CPU or a GPU."""

    model_kwargs: dict[str, dict[str, int]]
    batch_sizes: tuple[int, int]  # the book's and the larger variant's
    images: int  # per training epoch and per prediction pass, rounded to whole batches
    rounds: int
    latency_calls: int
    matmul_size: int
    matmul_calls: int
    # Under TensorFlow; the quick test leaves it out, as its compilation would dominate.
    switch_xla: bool = True


TINY = {
    "fcn8s": {"base_filters": 4},
    "unet": {"base_filters": 4, "depth": 1},
    "vnet": {"base_filters": 4, "depth": 1},
}
REAL: dict[str, dict[str, int]] = {name: {} for name in BOOK_MODELS}
SIZES = {
    "quick": Sizes(
        TINY,
        (4, 8),
        8,
        rounds=2,
        latency_calls=2,
        matmul_size=256,
        matmul_calls=3,
        switch_xla=False,
    ),
    "cpu": Sizes(
        REAL,
        (BOOK_BATCH, 128),
        96,
        rounds=5,
        latency_calls=10,
        matmul_size=2048,
        matmul_calls=10,
    ),
    "gpu": Sizes(
        REAL,
        (BOOK_BATCH, 256),
        4096,
        rounds=3,
        latency_calls=20,
        matmul_size=8192,
        matmul_calls=5,
    ),
}


SIDE_BY_SIDE = {"quick": (1, 2), "gpu": (1, 8)}
"""How many U-Net trainings share the device at once when their total rate is measured
(CPU: not measured)."""


@dataclass(frozen=True)
class Setting:
    """One way to train a model: the book's, or a variant of it."""

    batch_size: int
    jit_compile: bool | str  # "auto": Keras' choice
    pipeline: str = "numpy"
    precision: str = "float32"

    @property
    def label(self) -> str:
        """The whole setting in a few words, e.g. "batch 32, XLA off, numpy,
        float32"."""
        return (
            f"batch {self.batch_size}, XLA {'on' if self.jit_compile else 'off'}, "
            f"{self.pipeline}, {self.precision}"
        )

    def change_from(self, book: Setting) -> str:
        """What this setting changes in the book's, in a few words ("book" for the
        book's own)."""
        words = {
            "batch_size": f"batch {self.batch_size}",
            "jit_compile": f"XLA {'on' if self.jit_compile else 'off'}",
            "pipeline": f"{self.pipeline} input",
            "precision": self.precision,
        }
        return (
            ", ".join(
                text
                for name, text in words.items()
                if getattr(self, name) != getattr(book, name)
            )
            or "book"
        )


def settings_for(sizes: Sizes, book_jit: bool, gpu: bool) -> list[Setting]:
    """The book's setting, then its variants: each changes one thing, which the paired
    speed-up measures."""
    book = Setting(sizes.batch_sizes[0], book_jit)
    variants = [replace(book, batch_size=sizes.batch_sizes[1])]
    if (
        keras.backend.backend() == "tensorflow"
    ):  # under JAX every step is XLA-compiled, and tf.data is TensorFlow's
        variants.append(replace(book, pipeline="tf.data"))
        if sizes.switch_xla:
            variants.append(replace(book, jit_compile=not book_jit))
    if gpu:
        variants.append(replace(book, precision="mixed_bfloat16"))
    return [book, *variants]


def spread(values: list[float]) -> dict[str, Any]:
    """Repeated measurements with their median, min and max."""
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "values": list(values),
    }


def seconds_of(work: Callable[[], Any]) -> float:
    """Wall time of one call of ``work``."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def peak_memory_bytes() -> tuple[int, str]:
    """Peak memory of this process so far, and where: the GPU's under JAX where it
    reports it, else the host's."""
    if keras.backend.backend() == "jax":
        import jax

        stats = jax.devices()[0].memory_stats()  # None on a CPU
        if stats and "peak_bytes_in_use" in stats:
            return int(stats["peak_bytes_in_use"]), "gpu"
    scale = (
        1 if sys.platform == "darwin" else 1024
    )  # ru_maxrss is in bytes on macOS, in KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale, "host"


class Product(keras.layers.Layer):
    """The largest entry of the product of two fixed n x n float32 matrices: one number
    leaves the device."""

    def __init__(self, n: int) -> None:
        super().__init__(dtype="float32")
        self.a = self.add_weight(
            shape=(n, n),
            initializer=keras.initializers.RandomNormal(seed=1),
            trainable=False,
        )
        self.b = self.add_weight(
            shape=(n, n),
            initializer=keras.initializers.RandomNormal(seed=2),
            trainable=False,
        )

    def call(self, x: Any) -> Any:
        return x + ops.max(ops.matmul(self.a, self.b))


def matmul_timer(n: int, calls: int) -> Callable[[], float]:
    """A function that measures the machine's float32 rate now: median over calls of a
    compiled n x n matmul."""
    inputs = keras.Input((1,))
    model = keras.Model(inputs, Product(n)(inputs))
    model.compile(jit_compile=True)
    dummy = np.zeros((1, 1), "float32")
    model.predict_on_batch(dummy)  # compiles

    def flops_per_second() -> float:
        return statistics.median(
            2 * n**3 / seconds_of(lambda: model.predict_on_batch(dummy))
            for _ in range(calls)
        )

    return flops_per_second


class EpochTimer(keras.callbacks.Callback):
    """Seconds of each epoch from the start of its first batch: the input pipeline's
    set-up is left out."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        if batch == 0:
            self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        float(
            logs["loss"]
        )  # reading the loss waits until the device has finished the epoch
        self.seconds.append(time.perf_counter() - self._start)


def random_data(n_images: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """M2NIST-shaped grey images and class maps, both ``uint8 (n, 64, 84)``."""
    rng = np.random.default_rng(seed)
    return (
        rng.integers(0, 256, (n_images, HEIGHT, WIDTH), dtype=np.uint8),
        rng.integers(0, NUM_CLASSES, (n_images, HEIGHT, WIDTH), dtype=np.uint8),
    )


def fit_arguments(
    images: np.ndarray, masks: np.ndarray, setting: Setting
) -> dict[str, Any]:
    """``fit``'s data: numpy arrays as the book passes them, or a ``tf.data`` pipeline
    casting uint8 batches."""
    if setting.pipeline == "numpy":
        return {
            "x": as_model_input(images),
            "y": masks.astype("int32"),
            "batch_size": setting.batch_size,
            "shuffle": True,
        }
    # Only this variant needs it, and it exists only under TensorFlow.
    import tensorflow as tf

    batches = (
        tf.data.Dataset.from_tensor_slices((images, masks))
        .shuffle(len(images))
        .batch(setting.batch_size)
    )
    batches = batches.map(
        lambda x, y: (tf.cast(x, "float32")[..., None], tf.cast(y, "int32")),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return {"x": batches.prefetch(tf.data.AUTOTUNE), "shuffle": False}


def compiled(
    name: str, kwargs: dict[str, int], precision: str, jit_compile: bool | str
) -> keras.Model:
    """The model compiled as the book trains it, under a precision and XLA choice."""
    with dtype_policy(precision):
        return compile_for_training(
            build_model(name, **kwargs), 1000, PRESETS["book"], jit_compile=jit_compile
        )


@dataclass
class Trial:
    """One setting of one model while it is timed: its compiled model, its data and its
    times so far."""

    setting: Setting
    model: keras.Model
    fit: dict[str, Any]
    images: np.ndarray  # to predict: as many as one epoch trains on
    timer: EpochTimer = field(default_factory=EpochTimer)
    predict_seconds: list[float] = field(default_factory=list)

    def train_epoch(self) -> None:
        """One epoch of ``fit``, timed by the epoch timer."""
        self.model.fit(**self.fit, epochs=1, verbose=0, callbacks=[self.timer])

    def warm_up(self) -> None:
        """Compile and run training and prediction once: the first epoch, which is not
        timed."""
        self.train_epoch()
        self.predict_all()

    def predict_all(self) -> float:
        """Seconds to predict the class maps of all images, as the chapters predict
        them."""
        return seconds_of(
            lambda: predict(self.model, self.images, self.setting.batch_size)
        )

    def training_rates(self) -> list[float]:
        """Training images per second in each round (the first epoch, the warm-up, is
        left out)."""
        return [len(self.images) / seconds for seconds in self.timer.seconds[1:]]

    def latency_ms(self, calls: int) -> list[float]:
        """Milliseconds per compiled prediction of one image."""
        one = as_model_input(self.images[:1])
        self.model.predict_on_batch(one)  # compiles for a batch of one
        return [
            1000 * seconds_of(lambda: self.model.predict_on_batch(one))
            for _ in range(calls)
        ]


def trials_for(name: str, sizes: Sizes, gpu: bool) -> list[Trial]:
    """The book's setting and its variants, ready to time; settings with one precision
    and XLA share a model."""
    kwargs = sizes.model_kwargs[name]
    book_model = compiled(
        name, kwargs, "float32", "auto"
    )  # "auto": Keras decides XLA for the book's setting
    models = {("float32", book_model.jit_compile): book_model}
    trials = []
    for setting in settings_for(sizes, book_model.jit_compile, gpu):
        key = (setting.precision, setting.jit_compile)
        if key not in models:
            models[key] = compiled(name, kwargs, *key)
        n_images = max(1, round(sizes.images / setting.batch_size)) * setting.batch_size
        images, masks = random_data(n_images, seed=0)
        trials.append(
            Trial(
                setting,
                models[key],
                fit_arguments(images, masks, setting),
                random_data(n_images, 1)[0],
            )
        )
    return trials


def row_of(name: str, trial: Trial, book: Trial, sizes: Sizes) -> dict[str, Any]:
    """One row of the benchmark: a model in one setting, its rates per round and its
    paired speed-up."""
    setting, forward_flops, rates = (
        trial.setting,
        count_flops(trial.model),
        trial.training_rates(),
    )
    speedups = [
        rate / book_rate
        for rate, book_rate in zip(rates, book.training_rates(), strict=True)
    ]
    changes_training = (
        setting.batch_size != book.setting.batch_size
        or setting.precision != book.setting.precision
    )
    return {
        "model": name,
        "variant": setting.change_from(book.setting),
        "label": setting.label,
        "setting": {**asdict(setting), "keras_default": trial is book},
        "changes_training": changes_training,
        "model_kwargs": sizes.model_kwargs[name],
        "parameters": trial.model.count_params(),
        "forward_flops_per_image": forward_flops,
        "training_flops_per_image": TRAINING_FLOPS_PER_FORWARD * forward_flops,
        "train_images_per_second": spread(rates),
        "train_speedup_over_book": spread(speedups),
        "inference_images_per_second": spread(
            [len(trial.images) / seconds for seconds in trial.predict_seconds]
        ),
        "latency_ms": spread(trial.latency_ms(sizes.latency_calls)),
    }


def measure_model(name: str, mode: str) -> dict[str, Any]:
    """One model in every setting and the machine's matmul rate, timed in turns; run in
    a fresh process."""
    gpu = bool(machine.accelerators())
    sizes = SIZES["quick" if mode == "quick" else "gpu" if gpu else "cpu"]
    book, *variants = trials = trials_for(name, sizes, gpu)
    book.warm_up()
    peak, memory_of = (
        peak_memory_bytes()
    )  # of the book's setting alone: nothing else has run in this process
    for trial in variants:
        trial.warm_up()
    matmul, matmul_rates = matmul_timer(sizes.matmul_size, sizes.matmul_calls), []
    for _ in range(sizes.rounds):
        for trial in trials:
            trial.train_epoch()
            trial.predict_seconds.append(trial.predict_all())
        matmul_rates.append(matmul())
    rows = [row_of(name, trial, book, sizes) for trial in trials]
    rows[0]["peak_memory_bytes"] = peak
    return {
        "rows": rows,
        "rounds": sizes.rounds,
        "peak_memory_of": memory_of,
        "matmul_size": sizes.matmul_size,
        "matmul_flops_per_second": matmul_rates,
        "machine": {
            "device": machine.describe_device(),
            "accelerators": machine.accelerators(),
            "cores": os.cpu_count(),
            "backend": keras.backend.backend(),
            "versions": machine.versions(),
        },
    }


def in_own_process(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` in a fresh Python process, whose peak memory is the
    function's own."""
    with ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        return pool.submit(function, *args).result()


def with_fraction_of_matmul(row: dict[str, Any], matmul_flops: float) -> dict[str, Any]:
    """``row`` with its training FLOP rate as a fraction of the matmul reference, round
    by round."""
    per_image = row["training_flops_per_image"] / matmul_flops
    return {
        **row,
        "train_fraction_of_matmul": spread(
            [rate * per_image for rate in row["train_images_per_second"]["values"]]
        ),
    }


def verdicts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per variant: its median speed-ups, whether it beat the book's setting, where it
    was slower in every round.

    A variant beats the book's setting only if it trained faster in every round
    for every model: a faster median alone can be one lucky round.
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if not row["setting"]["keras_default"]:
            groups.setdefault(row["variant"], []).append(row)

    def rounds(row: dict[str, Any]) -> list[float]:
        return row["train_speedup_over_book"]["values"]

    return [
        {
            "variant": variant,
            "changes_training": group[0]["changes_training"],
            "median_speedup": {
                row["model"]: row["train_speedup_over_book"]["median"] for row in group
            },
            "faster_in_every_round": all(min(rounds(row)) > 1 for row in group),
            "slower_in_every_round_for": [
                row["model"] for row in group if max(rounds(row)) < 1
            ],
        }
        for variant, group in groups.items()
    ]


def timed_side_by_side(
    name: str, setting: Setting, sizes_name: str, barrier: Any, epochs: int
) -> dict[str, float]:
    """In its own process: warm one setting up, wait for the other processes, then
    train; when and how much."""
    sizes = SIZES[sizes_name]
    model = compiled(
        name, sizes.model_kwargs[name], setting.precision, setting.jit_compile
    )
    n_images = max(1, round(sizes.images / setting.batch_size)) * setting.batch_size
    fit = fit_arguments(*random_data(n_images, seed=0), setting)
    model.fit(**fit, epochs=1, verbose=0)  # compiles
    barrier.wait()
    start = time.time()  # wall-clock time, comparable between processes
    history = model.fit(**fit, epochs=epochs, verbose=0)
    float(history.history["loss"][-1])  # waits until the device has finished
    return {"start": start, "end": time.time(), "images": epochs * n_images}


def side_by_side(
    name: str, setting: Setting, sizes_name: str, processes: int, epochs: int
) -> dict[str, Any]:
    """Training images per second of ``processes`` runs of one model side by side on one
    device, all together."""
    context = multiprocessing.get_context("spawn")
    with (
        context.Manager() as manager,
        ProcessPoolExecutor(processes, mp_context=context) as pool,
    ):
        barrier = manager.Barrier(processes)
        runs = list(
            pool.map(
                timed_side_by_side,
                *zip(*[(name, setting, sizes_name, barrier, epochs)] * processes),
            )
        )
    seconds = max(run["end"] for run in runs) - min(run["start"] for run in runs)
    return {
        "model": name,
        "setting": asdict(setting),
        "processes": processes,
        "images_per_second": sum(run["images"] for run in runs) / seconds,
        "per_process_images_per_second": [
            run["images"] / (run["end"] - run["start"]) for run in runs
        ],
    }


def report_of(
    mode: str, parts: list[dict], together: list[dict], started: float, load: float
) -> dict[str, Any]:
    """The report of the models measured so far (``parts``) and of the side-by-side
    runs."""
    matmul_rates = [rate for part in parts for rate in part["matmul_flops_per_second"]]
    rows = [
        with_fraction_of_matmul(row, max(matmul_rates))
        for part in parts
        for row in part["rows"]
    ]
    return {
        "mode": mode,
        "machine": {**parts[0]["machine"], "load_average": [load, os.getloadavg()[0]]},
        "rounds": parts[0]["rounds"],
        "peak_memory_of": parts[0]["peak_memory_of"],
        "matmul": {
            "size": parts[0]["matmul_size"],
            "flops_per_second": max(matmul_rates),
            "measured_flops_per_second": matmul_rates,
        },
        "results": rows,
        "variants": verdicts(rows),
        "side_by_side": together,
        "wall_seconds": time.perf_counter() - started,
    }


def run(
    mode: str, models: list[str], write: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    """Measure ``models``, each in its own process, then U-Net side by side; ``write``
    the report after each step.

    A report written after each model keeps what was measured if a time limit stops the
    benchmark.
    """
    started, load_at_start = time.perf_counter(), os.getloadavg()[0]
    parts, together = [], []
    for name in models:
        parts.append(in_own_process(measure_model, name, mode))
        for row in parts[-1]["rows"]:
            print(
                f"{name}, {row['variant']}: "
                f"{row['train_images_per_second']['median']:,.1f} training images/s, "
                f"{row['train_speedup_over_book']['median']:.2f}x the book's setting",
                flush=True,
            )
        write(report_of(mode, parts, together, started, load_at_start))
    if parts[0]["machine"]["accelerators"] or mode == "quick":
        sizes_name = "quick" if mode == "quick" else "gpu"
        book = Setting(
            SIZES[sizes_name].batch_sizes[0], jit_compile="auto"
        )  # Keras' choice, as the book trains
        for processes in SIDE_BY_SIDE[sizes_name]:
            together.append(
                side_by_side(
                    "unet", book, sizes_name, processes, SIZES[sizes_name].rounds
                )
            )
            print(
                f"unet, {processes} side by side: "
                f"{together[-1]['images_per_second']:,.0f} images/s",
                flush=True,
            )
            write(report_of(mode, parts, together, started, load_at_start))
    return report_of(mode, parts, together, started, load_at_start)


def default_path(accelerators: list[str], backend: str) -> Path:
    """``results/<device>-<backend>.json``, the device ``cpu`` or a GPU model such as
    ``h100``."""
    found = (
        re.search(r"\b[A-Z]+\d+[A-Za-z]*\b", accelerators[0]) if accelerators else None
    )
    device = found.group(0).lower() if found else "gpu" if accelerators else "cpu"
    return RESULTS_DIR / f"{device}-{backend}.json"


def main() -> None:
    """Run in the mode the arguments ask for and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="tiny models, two rounds: tests the script"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="the JSON file to write (default results/<device>-<backend>.json)",
    )
    parser.add_argument(
        "--models",
        nargs="+",
        choices=BOOK_MODELS,
        default=list(BOOK_MODELS),
        help="in this order",
    )
    args = parser.parse_args()

    def write(report: dict[str, Any]) -> None:
        out = args.out or default_path(
            report["machine"]["accelerators"], report["machine"]["backend"]
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        write_json(out, report)

    report = run("quick" if args.quick else "full", args.models, write)
    print(f"Wrote the report in {report['wall_seconds']:.0f} s")


if __name__ == "__main__":
    main()
