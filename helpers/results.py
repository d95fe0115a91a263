"""Read the committed runs and put them side by side, for the results chapter.

Everything here reads artifacts written by :func:`helpers.training.train`
(``metrics.json``, ``run.json``, ``history.json`` in one folder per model), so
the tables in the book are the numbers in those files, not copies of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from helpers import BACKGROUND, CLASS_NAMES
from helpers.config import COMMITTED_ARTIFACTS
from helpers.training import HISTORY_FILE, METRICS_FILE, RUN_FILE

MODEL_LABELS = {"fcn8s": "FCN-8s", "unet": "U-Net", "vnet": "V-Net"}

ORIGINAL_PER_IMAGE_MEAN_IOU = {"vnet": 0.936, "unet": 0.927}
"""Mean IoU over the classes that the original M2NIST V-Net / U-Net project published.

Per-image averages: each image scores only the classes present in its truth,
so false positives on images without a digit are never counted.
"""

GOALS = {"unet": 0.95, "vnet": 0.95, "best": 0.96, "background": 0.998}
"""Test-split goals: mean digit IoU per model, of the better model, and background IoU."""


@dataclass
class Run:
    """One finished run: its test metrics, its facts and its history."""

    name: str
    metrics: dict[str, Any]
    facts: dict[str, Any]
    history: dict[str, list[float]]

    @property
    def label(self) -> str:
        return MODEL_LABELS.get(self.name, self.name)

    @property
    def seconds_to_best_epoch(self) -> float:
        """Training seconds until the epoch whose weights were kept (the reported score)."""
        return float(sum(self.history["epoch_seconds"][: self.facts["best_epoch"]]))


def _nan_for_null(values: list) -> np.ndarray:
    return np.array([np.nan if value is None else value for value in values], dtype=float)


def load_runs(folder: str | Path = COMMITTED_ARTIFACTS, names: tuple[str, ...] = tuple(MODEL_LABELS)) -> dict[str, Run]:
    """The finished runs in ``folder`` (one subfolder per model), in the order of ``names``."""
    runs = {}
    for name in names:
        run_dir = Path(folder) / name
        missing = [file for file in (METRICS_FILE, RUN_FILE, HISTORY_FILE) if not (run_dir / file).is_file()]
        if missing:
            raise FileNotFoundError(f"{run_dir} is not a finished run: missing {', '.join(missing)}")
        metrics = json.loads((run_dir / METRICS_FILE).read_text())
        for key in ("iou", "dice"):
            metrics[key] = _nan_for_null(metrics[key])
            metrics["per_image"][key] = _nan_for_null(metrics["per_image"][key])
        metrics["confusion_matrix"] = np.array(metrics["confusion_matrix"])
        runs[name] = Run(name, metrics, json.loads((run_dir / RUN_FILE).read_text()),
                         json.loads((run_dir / HISTORY_FILE).read_text()))
    return runs


def per_class_table(runs: dict[str, Run], per_image: bool = False) -> pd.DataFrame:
    """IoU and Dice per class (rows) for each run (column pairs), dataset-level or per-image."""
    columns = {}
    for run in runs.values():
        scores = run.metrics["per_image"] if per_image else run.metrics
        columns[(run.label, "IoU")] = scores["iou"]
        columns[(run.label, "Dice")] = scores["dice"]
    return pd.DataFrame(columns, index=pd.Index(CLASS_NAMES, name="class"))


def summary_table(runs: dict[str, Run]) -> pd.DataFrame:
    """One row per model: headline scores (dataset-level and per-image) beside the original project's."""
    rows = []
    for run in runs.values():
        rows.append({
            "model": run.label,
            "mean IoU, digits": run.metrics["mean_iou_digits"],
            "background IoU": run.metrics["iou"][BACKGROUND],
            "mean Dice, digits": run.metrics["mean_dice_digits"],
            "pixel accuracy": run.metrics["pixel_accuracy"],
            "per-image mean IoU, digits": run.metrics["per_image"]["mean_iou_digits"],
            "original project (per-image mean IoU)": ORIGINAL_PER_IMAGE_MEAN_IOU.get(run.name, np.nan),
        })
    return pd.DataFrame(rows).set_index("model")


def cost_table(runs: dict[str, Run]) -> pd.DataFrame:
    """Parameters, FLOPs per image, epochs and training time to the reported score, per model."""
    rows = [{
        "model": run.label,
        "parameters": run.facts["parameters"],
        "GFLOPs per image": run.facts["flops_per_image"] / 1e9,
        "epochs run": run.facts["epochs_run"],
        "best epoch": run.facts["best_epoch"],
        "seconds to best epoch": run.seconds_to_best_epoch,
        "seconds per epoch (median)": run.facts["seconds_per_epoch"],
        "device": run.facts["device"],
    } for run in runs.values()]
    return pd.DataFrame(rows).set_index("model")


def goal_checks(runs: dict[str, Run]) -> pd.DataFrame:
    """Each goal of the book on the test split, the measured figure, and whether it is met."""
    digits = {name: runs[name].metrics["mean_iou_digits"] for name in ("unet", "vnet")}
    best = max(digits, key=digits.get)
    rows = [
        ("U-Net mean digit IoU", GOALS["unet"], digits["unet"]),
        ("V-Net mean digit IoU", GOALS["vnet"], digits["vnet"]),
        (f"better of the two ({MODEL_LABELS[best]}) mean digit IoU", GOALS["best"], digits[best]),
    ]
    rows += [(f"{runs[name].label} background IoU", GOALS["background"], runs[name].metrics["iou"][BACKGROUND])
             for name in ("unet", "vnet")]
    table = pd.DataFrame(rows, columns=["goal", "target", "measured"]).set_index("goal")
    table["met"] = table["measured"] >= table["target"]
    return table


def best_model(runs: dict[str, Run]) -> str:
    """The name of the run with the highest mean digit IoU."""
    return max(runs, key=lambda name: runs[name].metrics["mean_iou_digits"])
