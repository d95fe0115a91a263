"""The published results and set-up of the original M2NIST U-Net / V-Net project, as its
notebook prints them.

Source: the repository github.com/AmirhosseinKoochakian2003/Semantic-Segmentation
(cited as ``koochakian_segmentation``), notebook ``semantic-segmentation.ipynb``
at commit d42507926f65055e87053d9cecc1a6df0f563327. Its README table shows, for
each model, an IoU and a Dice column per class; the values here are copied
with the 4 decimals the notebook prints. Cell numbers count the notebook's
cells from 0, markdown included.

The project scores each class by a per-image average: the mean of the
per-image IoU (or Dice) over the test images whose true mask holds that
class (cells 20-22), the same average as ``helpers.evaluate.metrics.per_image_scores``.
Its README's U-Net Dice column is the *validation* Dice (cell 41), printed
beside the test IoU (cell 44); every other column is on the test split.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers import BACKGROUND, CLASS_NAMES
from helpers.train.runs import Run

REPOSITORY = "https://github.com/AmirhosseinKoochakian2003/Semantic-Segmentation"
COMMIT = "d42507926f65055e87053d9cecc1a6df0f563327"

PER_CLASS = {
    "unet": {
        "test IoU": (
            0.9253,
            0.9259,
            0.9475,
            0.9338,
            0.9282,
            0.9345,
            0.9444,
            0.9082,
            0.9419,
            0.8846,
            0.9973,
        ),
        "test Dice": (
            0.9470,
            0.9483,
            0.9724,
            0.9580,
            0.9502,
            0.9635,
            0.9685,
            0.9372,
            0.9671,
            0.9147,
            0.9987,
        ),
        "validation Dice": (
            0.9684,
            0.9774,
            0.9700,
            0.9658,
            0.9653,
            0.9617,
            0.9762,
            0.9460,
            0.9733,
            0.9390,
            0.9987,
        ),
    },
    "vnet": {
        "test IoU": (
            0.9457,
            0.9478,
            0.9413,
            0.9208,
            0.9122,
            0.9421,
            0.9511,
            0.9506,
            0.9348,
            0.9175,
            0.9975,
        ),
        "test Dice": (
            0.9670,
            0.9646,
            0.9670,
            0.9504,
            0.9389,
            0.9686,
            0.9738,
            0.9719,
            0.9562,
            0.9461,
            0.9987,
        ),
    },
}
"""Per-class scores, classes 0-9 then background, per-image averages (cells 41, 44 and
66)."""

README_COLUMNS = {
    "unet": ("test IoU", "validation Dice"),
    "vnet": ("test IoU", "test Dice"),
}
"""Which of the printed columns the README's results table shows, as (IoU column, Dice
column)."""

SETUP = {
    "data": (
        "Kaggle M2NIST files, 5,000 images split at random 80 / 10 / 10 % (cell 4)",
    )
    * 2,
    "input scaling": ("grey levels to -1..1 (cell 4)",) * 2,
    "base filters": (32, 32),
    "normalisation": (
        "none; dropout 0.2 in the two deepest levels",
        "none; dropout 0.3 in the two deepest levels",
    ),
    "parameters": (7_855_659, 9_163_243),
    "optimiser": (
        "Adam, Keras' default learning rate (0.001)",
        "Adam, learning rate 0.00075",
    ),
    "epochs": (10, 30),
    "batch size": (32, 32),
    "loss": ("categorical cross-entropy",) * 2,
    "weights scored": ("those of the last epoch",) * 2,
    "seconds per epoch after the first": (11, 13),
    "output crop": (
        "no padding: the decoder pads 16 x 20 to 16 x 21 on the right",
        "input padded 6 columns each side, all 12 cropped from the right (cell 51)",
    ),
}
"""The original set-up, (U-Net, V-Net), as its notebook's code and outputs state it
(cells 4, 25-57)."""

GPU = "a Kaggle T4 GPU"
"""Where the original project trained (its notebook's metadata): the device of its
seconds per epoch."""

CLAIMS = {
    "better": "The results indicate that V-Net better captures the spatial "
    "relationships and boundaries within "
    "these classes.",
    "digit 1": "The V-Net demonstrated superior accuracy in capturing spatial "
    "patterns. For example, in a test image, "
    "the V-Net excelled in outlining the boundaries of a digit 1.",
    "faster": "pooling operations can be replaced efficiently with convolutions of "
    "larger strides, resulting in "
    "networks that are quicker to train.",
    "memory": "The elimination of pooling layers in V-Net reduces memory overhead and "
    "helps maintain spatial "
    "information throughout the network.",
}
"""The README's claims about V-Net against U-Net, quoted."""


def mean_digit_iou(name: str) -> float:
    """The original project's test IoU of model ``name`` averaged over the ten digits
    (NaN if it had no such model)."""
    if name not in PER_CLASS:
        return np.nan
    return float(np.mean(PER_CLASS[name]["test IoU"][:BACKGROUND]))


def original_comparison_table(runs: dict[str, Run], name: str) -> pd.DataFrame:
    """Per class: the original project's printed scores of ``name`` beside ours,
    per-image and dataset-level."""
    run = runs[name]
    columns = {
        ("original project", column): values
        for column, values in PER_CLASS[name].items()
    }
    columns |= {
        ("this book, per-image", "test IoU"): run.metrics["per_image"]["iou"],
        ("this book, per-image", "test Dice"): run.metrics["per_image"]["dice"],
        ("this book, dataset-level", "test IoU"): run.metrics["iou"],
        ("this book, dataset-level", "test Dice"): run.metrics["dice"],
    }
    return pd.DataFrame(columns, index=pd.Index(CLASS_NAMES, name="class"))


def dice_above_iou_bound(
    iou: np.ndarray, dice: np.ndarray, rounding: float = 0.0
) -> np.ndarray:
    """Where a Dice exceeds ``2 IoU / (1 + IoU)``, which no IoU and Dice measured on the
    same images can.

    Dice is a concave function of IoU image by image, so by Jensen's inequality
    the average Dice over any set of images is at most that bound applied to
    the average IoU over the same images. For printed scores, ``rounding`` is
    half their last decimal (5e-5 for 4 decimals): a row counts only if it
    breaks the bound however the two numbers were rounded.
    """
    iou, dice = (
        np.asarray(iou, dtype=float) + rounding,
        np.asarray(dice, dtype=float) - rounding,
    )
    return dice > 2 * iou / (1 + iou)


def dice_bound_finding(runs: dict[str, Run]) -> str:
    """What the Dice bound (:func:`dice_above_iou_bound`) says about the original
    README's U-Net Dice column, in three sentences, counted from the printed scores and
    from ``runs`` (the book's median seeds)."""
    ours = [
        dice_above_iou_bound(
            run.metrics["per_image"]["iou"], run.metrics["per_image"]["dice"]
        )
        for run in runs.values()
    ]
    printed = PER_CLASS["unet"]
    readme = dice_above_iou_bound(
        printed["test IoU"], printed[README_COLUMNS["unet"][1]], rounding=5e-5
    )
    test = dice_above_iou_bound(
        printed["test IoU"], printed["test Dice"], rounding=5e-5
    )
    return (
        "Averaged over the same images, Dice can never exceed 2 IoU / (1 + IoU) of "
        "the average IoU, because Dice is a concave function of IoU image by image; "
        f"our per-image scores break that bound in {sum(row.sum() for row in ours)} "
        f"of {sum(row.size for row in ours)} classes. "
        "The Dice column of the original README's U-Net breaks it in "
        f"{readme.sum()} of {readme.size} classes, so it cannot come from the test "
        f"images of the IoU beside it: it is the notebook's "
        f"{README_COLUMNS['unet'][1]}. "
        f"Its printed test Dice, which the README left out, breaks it in "
        f"{test.sum()} of {test.size}."
    )
