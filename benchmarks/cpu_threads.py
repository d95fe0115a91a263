"""How to spend a CPU's cores on training: one process with every core, or one process
per core side by side?

    python benchmarks/cpu_threads.py [--model unet] [--batches 40] [--rounds 2] [--out
    PATH]

Trains the book's model (TensorFlow, the book's compile settings) on random
M2NIST-shaped batches, first in one process with all cores as TensorFlow's threads, then
in one process per core with one thread each, all started together, and prints the
training images per second of each layout in total. The study command's ``--threads``
takes the faster layout. Rounds alternate the two layouts, so a busy machine slows both
alike. The result goes to ``benchmarks/cpu_threads.json`` unless ``--out`` names another
file.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
_WORKER = """
import os, sys, time
import tensorflow as tf
threads = int(sys.argv[1])
tf.config.threading.set_intra_op_parallelism_threads(threads)
tf.config.threading.set_inter_op_parallelism_threads(threads)
import numpy as np
from helpers.nets.registry import build_model
from helpers.train.recipe import PRESETS
from helpers.train.loop import compile_for_training
model_name, batches, start_at = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
batch = PRESETS["book"].batch_size
rng = np.random.default_rng(0)
x = rng.uniform(0, 255, (batch * batches, 64, 84, 1)).astype("float32")
y = rng.integers(0, 11, (batch * batches, 64, 84)).astype("int32")
model = compile_for_training(build_model(model_name), 1000, PRESETS["book"])
# Compile before the clock starts.
    model.fit(x[:batch], y[:batch], batch_size=batch, epochs=1, verbose=0)
while time.time() < start_at:
    time.sleep(0.01)
start = time.perf_counter()
model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
print(len(x) / (time.perf_counter() - start))
"""


def images_per_second(processes: int, threads: int, model: str, batches: int) -> float:
    """Training images a second of ``processes`` runs with ``threads`` threads each,
    started together, in total."""
    start_at = (
        time.time() + 25
    )  # after every process has imported TensorFlow and compiled
    env = {
        **os.environ,
        "KERAS_BACKEND": "tensorflow",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONPATH": str(REPOSITORY),
    }
    command = [
        sys.executable,
        "-c",
        _WORKER,
        str(threads),
        model,
        str(batches),
        str(start_at),
    ]
    workers = [
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(processes)
    ]
    rates = [float(worker.communicate()[0].split()[-1]) for worker in workers]
    return sum(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="unet")
    parser.add_argument(
        "--batches", type=int, default=40, help="training batches each process times"
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).with_suffix(".json"),
        help="the JSON file to write",
    )
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    layouts = {
        f"1 process x {cores} threads": (1, cores),
        f"{cores} processes x 1 thread": (cores, 1),
    }
    rates: dict[str, list[float]] = {name: [] for name in layouts}
    for round_number in range(args.rounds):
        for name, (processes, threads) in layouts.items():
            rates[name].append(
                images_per_second(processes, threads, args.model, args.batches)
            )
            print(
                f"round {round_number + 1}, {name}: {rates[name][-1]:.1f} training "
                "images/s",
                flush=True,
            )
    best = max(rates, key=lambda name: min(rates[name]))
    print(f"faster on this machine ({cores} cores, {args.model}): {best}")
    args.out.write_text(
        json.dumps(
            {"model": args.model, "cores": cores, "rates": rates, "faster": best},
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
