"""Train the book's three models in the current profile (full by default) and save their
artifacts.

    python scripts/train_all.py [--models fcn8s unet vnet] [--retrain] [--seed 0]
    [--preset book] [--loss LOSS]

The chapters call ``helpers.train.loop.train`` with the same settings, so after
this script they load these runs instead of training again. It needs no
Jupyter, so it also runs on a GPU machine under ``KERAS_BACKEND=jax``.
"""

from __future__ import annotations

import argparse
import time

from helpers.config import current_profile
from helpers.nets.names import BOOK_MODELS
from helpers.nets.registry import MODEL_BUILDERS
from helpers.train import artifacts, loop, machine, recipe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", nargs="+", choices=sorted(MODEL_BUILDERS), default=list(BOOK_MODELS)
    )
    parser.add_argument(
        "--retrain",
        action="store_true",
        help="train again even where a finished run exists",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of weights and shuffling (the data stay the same)",
    )
    parser.add_argument(
        "--preset",
        choices=sorted(recipe.PRESETS),
        default="book",
        help="the training recipe",
    )
    parser.add_argument(
        "--loss", choices=list(recipe.LOSSES), help="another loss than the preset's"
    )
    args = parser.parse_args()

    print(
        f"Profile {current_profile().name}; device {machine.describe_device()}",
        flush=True,
    )
    for name in args.models:
        start = time.perf_counter()
        settings = recipe.preset(args.preset).but(
            **({"loss": args.loss} if args.loss else {})
        )
        result = loop.train(
            name, settings=settings, seed=args.seed, retrain=args.retrain
        )
        scores = artifacts.read_json(result.run_dir / artifacts.METRICS_FILE)
        print(
            f"{name}: test mean IoU (digits) {scores['mean_iou_digits']:.4f}, "
            "background IoU "
            f"{scores['iou'][10]:.4f}, {result.facts['epochs_run']} epochs, "
            f"{time.perf_counter() - start:.0f} s wall",
            flush=True,
        )


if __name__ == "__main__":
    main()
