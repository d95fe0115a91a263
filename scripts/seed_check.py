"""Does every seed learn? Train each model and seed for the first epochs of a recipe and
check that it has begun to tell the digits apart.

    python scripts/seed_check.py [--models fcn8s unet vnet] [--seeds 0-9]
        [--preset book] [--settings JSON] [--epochs 3] [--model-kwargs JSON]
        [--parallel 2]
        [--out benchmarks/results/seed-check/book.json] [--quick]

Each run trains with the recipe's own schedule (the first ``--epochs`` of its
epochs, not a shorter schedule) on the book's data, in a scratch folder, one
process per run, ``--parallel`` at a time with one thread each. After every
epoch it records the validation loss, the mean IoU over the digits
(``val_digit_iou``) and the share of digit pixels that the network describes
with all its last features off (``val_silent_foreground``, see
:mod:`helpers.evaluate.diagnostics`). A run passes when its validation digit IoU after
the last epoch is at least :data:`PASS_DIGIT_IOU`. The table is printed and
written as JSON, one record per run (model, seed, passed, the per-epoch
figures), with the recipe, the data, the device and the versions.

``--quick`` runs the same code path in the quick profile (tiny data, one
epoch): a check of the script itself, not of the seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from helpers import config  # noqa: E402
from helpers.train import artifacts, recipe  # noqa: E402

PASS_DIGIT_IOU = 0.01
"""The validation mean IoU over the digits a run must reach within the check's epochs.

A network stalled on background scores exactly 0 here: it names no digit at
all. One that has begun to learn which digit a stroke is names some of them
right, however slowly it goes on.
"""
DEFAULT_EPOCHS = 3
RECORD_KEYS = ("val_loss", "val_digit_iou", "val_silent_foreground", "epoch_seconds")
CHECK_PROFILE = config.Profile("seed-check", n_train=4000, n_val=1000, n_test=64)
"""The full profile's training and validation images; only a token test split, since a
check scores the validation images."""


def parse_seeds(text: str) -> list[int]:
    """``"0-9"`` -> 0..9, ``"0,3,5"`` -> [0, 3, 5]; anything else is an error naming
    it."""
    try:
        if "-" in text:
            first, last = (int(part) for part in text.split("-"))
            seeds = list(range(first, last + 1))
        else:
            seeds = [int(part) for part in text.split(",")]
    except ValueError:
        seeds = []
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(
            f"seeds {text!r}: expected a range like 0-9 or a list like 0,3,5"
        )
    return seeds


class _StopAfter:
    """A Keras callback (made lazily, so that the parent process never imports Keras)
    that ends training after ``epochs`` epochs."""

    @staticmethod
    def make(epochs: int):
        import keras

        class StopAfter(keras.callbacks.Callback):
            def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
                if epoch + 1 >= epochs:
                    self.model.stop_training = True

        return StopAfter()


def check_run(
    model: str,
    seed: int,
    settings: recipe.TrainSettings,
    epochs: int,
    model_kwargs: dict,
    profile: config.Profile,
    folder: Path,
) -> dict:
    """Train one model and seed for ``epochs`` epochs of ``settings``; its record for
    the check."""
    from helpers.train import loop

    result = loop.train(
        model,
        settings=settings,
        profile=profile,
        model_kwargs=model_kwargs,
        seed=seed,
        run_dir=folder,
        retrain=True,
        verbose=0,
        callbacks=[_StopAfter.make(epochs)],
        # compiled as the book's full runs are, on the full profile's images
        jit_compile="auto",
    )
    history = {key: result.history.get(key, []) for key in RECORD_KEYS}
    final = history["val_digit_iou"][-1] if history["val_digit_iou"] else 0.0
    return {
        "model": model,
        "seed": seed,
        "passed": bool(final >= PASS_DIGIT_IOU),
        "epochs": len(history["val_loss"]),
        **history,
        "device": result.facts["device"],
    }


def _worker(args: argparse.Namespace) -> None:
    """One run in this process, its record written to ``--record``."""
    if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    record = check_run(
        args.models[0],
        args.seeds[0],
        _recipe(args),
        args.epochs,
        json.loads(args.model_kwargs),
        _profile(args),
        Path(args.record).with_suffix(""),
    )
    artifacts.write_json(Path(args.record), record)


def _recipe(args: argparse.Namespace) -> recipe.TrainSettings:
    return recipe.preset(args.preset).but(**json.loads(args.settings))


def _profile(args: argparse.Namespace) -> config.Profile:
    return config.PROFILES["quick"] if args.quick else CHECK_PROFILE


def _run_one(args: argparse.Namespace, model: str, seed: int, work: Path) -> dict:
    """Train one run in a worker process; its record (a failure raises, naming the
    log)."""
    record = work / f"{model}-seed-{seed}.json"
    log = record.with_suffix(".log")
    command = [
        sys.executable,
        __file__,
        "--worker",
        "--models",
        model,
        "--seeds",
        str(seed),
        "--preset",
        args.preset,
        "--settings",
        args.settings,
        "--epochs",
        str(args.epochs),
        "--model-kwargs",
        args.model_kwargs,
        "--threads",
        str(args.threads),
        "--record",
        str(record),
    ] + (["--quick"] if args.quick else [])
    start = time.perf_counter()
    with log.open("w") as output:
        status = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT)
    if status.returncode != 0 or not record.exists():
        tail = log.read_text().splitlines()[-5:]
        raise RuntimeError(
            f"{model} seed {seed} failed (log {log}):\n" + "\n".join(tail)
        )
    result = artifacts.read_json(record)
    result["seconds"] = round(time.perf_counter() - start, 1)
    return result


def _table_line(record: dict) -> str:
    ious = " ".join(f"{value:.3f}" for value in record["val_digit_iou"])
    silent = " ".join(f"{value:.2f}" for value in record["val_silent_foreground"])
    verdict = "pass" if record["passed"] else "FAIL"
    return (
        f"{record['model']:>7} {record['seed']:>4}  {verdict}  digit IoU by epoch: "
        f"{ious}   silent foreground: {silent}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["fcn8s", "unet", "vnet"])
    parser.add_argument("--seeds", type=parse_seeds, default=parse_seeds("0-9"))
    parser.add_argument("--preset", default="book", choices=sorted(recipe.PRESETS))
    parser.add_argument(
        "--settings",
        default="{}",
        help='changes to the preset\'s settings as JSON, e.g. \'{"loss": "dice"}\'',
    )
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    parser.add_argument(
        "--model-kwargs",
        default="{}",
        help="builder keywords as JSON, e.g. '{\"negative_slope\": 0}'",
    )
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, help="the JSON file to write")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--record", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.epochs < 1 or args.parallel < 1 or args.threads < 1:
        parser.error("--epochs, --parallel and --threads must be at least 1")
    try:
        model_kwargs = json.loads(args.model_kwargs)
    except json.JSONDecodeError as error:
        parser.error(f"--model-kwargs is not JSON: {error}")
    if not isinstance(model_kwargs, dict):
        parser.error("--model-kwargs must be a JSON object")
    try:
        _recipe(args)
    except (json.JSONDecodeError, TypeError, ValueError) as error:
        parser.error(f"--settings: {error}")
    if args.worker:
        _worker(args)
        return
    out = args.out or (
        REPOSITORY / "benchmarks" / "results" / "seed-check" / f"{args.preset}.json"
    )
    jobs = [(model, seed) for seed in args.seeds for model in args.models]
    print(
        f"Seed check: {len(jobs)} runs ({', '.join(args.models)} x seeds "
        f"{args.seeds[0]}..{args.seeds[-1]}), the first {args.epochs} epochs of the "
        f"'{args.preset}' recipe, {args.parallel} at a time; pass: validation digit "
        f"IoU >= {PASS_DIGIT_IOU}",
        flush=True,
    )
    records = []
    work = Path(tempfile.mkdtemp(prefix="seed-check-"))  # kept if a run fails
    with ThreadPoolExecutor(args.parallel) as pool:
        futures = [
            pool.submit(_run_one, args, model, seed, work) for model, seed in jobs
        ]
        for done, future in enumerate(futures, start=1):
            records.append(future.result())
            print(f"[{done}/{len(jobs)}] {_table_line(records[-1])}", flush=True)
    shutil.rmtree(work)
    from helpers.nets.architecture import digest_of
    from helpers.train.machine import versions

    report = {
        "recipe": args.preset,
        "settings": _recipe(args).as_dict(),
        "model_kwargs": model_kwargs,
        "architectures": {
            model: digest_of(model, model_kwargs) for model in args.models
        },
        "epochs": args.epochs,
        "profile": _profile(args).as_dict(),
        "pass_digit_iou": PASS_DIGIT_IOU,
        "versions": versions(),
        "runs": records,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    artifacts.write_json(out, report)
    failed = [f"{r['model']} seed {r['seed']}" for r in records if not r["passed"]]
    print(
        f"{len(records) - len(failed)} of {len(records)} runs passed"
        + (f"; failed: {', '.join(failed)}" if failed else "")
        + f". Written to {config.display_path(out)}"
    )


if __name__ == "__main__":
    main()
