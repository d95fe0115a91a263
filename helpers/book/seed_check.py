"""The committed seed checks (``scripts/seed_check.py``): does every seed of the recipe
learn in its first epochs? Read and shown as tables, per model and run by run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

from helpers.book import tables
from helpers.config import REPO_ROOT
from helpers.nets.names import MODEL_LABELS


def summary_table(report: dict) -> Styler:
    """A seed check (``scripts/seed_check.py``) per model: runs, how many reached the
    pass mark, and the lowest and median validation digit IoU after its last epoch."""
    rows = []
    for model in dict.fromkeys(run["model"] for run in report["runs"]):
        seeds = [run for run in report["runs"] if run["model"] == model]
        final = [run["val_digit_iou"][-1] for run in seeds]
        mark = report["pass_digit_iou"]
        rows.append(
            {
                "model": MODEL_LABELS.get(model, model),
                "seeds": ", ".join(str(run["seed"]) for run in seeds),
                "reached the mark": sum(value >= mark for value in final),
                "lowest digit IoU": min(final),
                "median digit IoU": float(np.median(final)),
            }
        )
    return tables.book_table(
        pd.DataFrame(rows).set_index("model"),
        {
            "seeds": "label",
            "reached the mark": "count",
            "lowest digit IoU": "score",
            "median digit IoU": "score",
        },
        f"Validation mean IoU over the digits after the first {report['epochs']} "
        f"epochs of the recipe; the mark is {report['pass_digit_iou']}",
    )


def read(name: str) -> dict:
    """The committed seed check ``benchmarks/results/seed-check/<name>.json``."""
    path = REPO_ROOT / "benchmarks" / "results" / "seed-check" / f"{name}.json"
    return json.loads(path.read_text())


def runs_table(report: dict) -> Styler:
    """A seed check run by run: the validation digit IoU after each epoch, and the share
    of digit pixels with every last feature off after the last one."""
    rows = [
        {
            "model": MODEL_LABELS.get(run["model"], run["model"]),
            "seed": run["seed"],
            **{
                f"digit IoU, epoch {epoch}": value
                for epoch, value in enumerate(run["val_digit_iou"], start=1)
            },
            "digit pixels with all features off": run["val_silent_foreground"][-1],
        }
        for run in report["runs"]
    ]
    table = pd.DataFrame(rows).set_index(["model", "seed"])
    return tables.book_table(
        table,
        {
            column: "share" if column.startswith("digit pixels") else "score"
            for column in table.columns
        },
        "Validation figures after each epoch of the recipe's first epochs",
    )
