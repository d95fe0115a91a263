"""Figures of the book, all drawn with one colour-blind-friendly palette.

Digits get the seven colours of the Okabe-Ito palette and three of Paul Tol's
(purple, pale grey, indigo), picked so that every pair stays apart under
simulated protanopia, deuteranopia and tritanopia. Digits that are easy to
confuse (4/9, 3/5, 1/7, 6/8) get contrasting colours, so a model's mistakes
stand out. Background is near-black, like the MNIST background.
"""

from __future__ import annotations

import math
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap, to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from helpers import BACKGROUND, CLASS_NAMES, NUM_CLASSES

_PALETTE_HEX = [
    "#E69F00",  # 0 orange (Okabe-Ito)
    "#56B4E9",  # 1 sky blue (Okabe-Ito)
    "#AA3377",  # 2 purple (Tol bright)
    "#D55E00",  # 3 vermillion (Okabe-Ito)
    "#F0E442",  # 4 yellow (Okabe-Ito)
    "#0072B2",  # 5 blue (Okabe-Ito)
    "#009E73",  # 6 bluish green (Okabe-Ito)
    "#DDDDDD",  # 7 pale grey (Tol)
    "#CC79A7",  # 8 reddish purple (Okabe-Ito)
    "#332288",  # 9 indigo (Tol muted)
    "#1A1A1A",  # background: near-black
]
PALETTE: list[tuple[float, float, float]] = [to_rgb(colour) for colour in _PALETTE_HEX]


def class_cmap() -> ListedColormap:
    """The palette as a colormap: class ``k`` maps to ``PALETTE[k]`` (use ``vmin=0, vmax=10``)."""
    return ListedColormap(PALETTE, name="m2nist_classes")


def colorize(mask: np.ndarray) -> np.ndarray:
    """Class map ``(..., H, W)`` -> RGB image ``float (..., H, W, 3)`` in the book's palette."""
    mask = np.asarray(mask)
    if not np.issubdtype(mask.dtype, np.integer):
        raise ValueError(f"colorize needs integer class maps, got dtype {mask.dtype}")
    if mask.size and (mask.min() < 0 or mask.max() >= NUM_CLASSES):
        raise ValueError(f"class maps must hold values 0..{NUM_CLASSES - 1}, got {mask.min()}..{mask.max()}")
    return np.array(PALETTE)[mask]


def legend_handles() -> list[Patch]:
    """One coloured patch per class, labelled with its name, for ``fig.legend``."""
    return [Patch(facecolor=colour, edgecolor="grey", label=name) for colour, name in zip(PALETTE, CLASS_NAMES)]


def _add_class_legend(fig: Figure) -> None:
    fig.legend(handles=legend_handles(), loc="lower center", ncol=NUM_CLASSES, frameon=False, fontsize="small", handlelength=1.2, columnspacing=0.8)


def _show_image(ax: Axes, image: np.ndarray, title: str | None = None) -> None:
    ax.imshow(image, cmap="gray", vmin=0, vmax=255)
    ax.set_title(title, fontsize="small")
    ax.axis("off")


def _show_mask(ax: Axes, mask: np.ndarray, title: str | None = None) -> None:
    ax.imshow(colorize(mask), interpolation="nearest")
    ax.set_title(title, fontsize="small")
    ax.axis("off")


def _digits_in(mask: np.ndarray) -> str:
    digits = [str(d) for d in np.unique(mask) if d != BACKGROUND]
    return "digits " + ", ".join(digits) if digits else "no digits"


def show_segmentation(image: np.ndarray, true_mask: np.ndarray, pred_mask: np.ndarray | None = None, title: str | None = None, ax_row: Sequence[Axes] | None = None) -> Figure:
    """Image, true mask and (if given) predicted mask side by side.

    Draws into ``ax_row`` (2 or 3 axes) when given, leaving the legend to the
    caller who owns the figure; otherwise makes a figure with a class legend.
    """
    panels = 2 if pred_mask is None else 3
    if ax_row is None:
        fig, ax_row = plt.subplots(1, panels, figsize=(3.2 * panels, 2.9), layout="constrained")
        _add_class_legend(fig)
        fig.get_layout_engine().set(rect=(0, 0.1, 1, 0.9))
    elif len(ax_row) != panels:
        raise ValueError(f"ax_row must hold {panels} axes, one per panel, got {len(ax_row)}")
    _show_image(ax_row[0], image, "image")
    _show_mask(ax_row[1], true_mask, f"true mask ({_digits_in(true_mask)})")
    if pred_mask is not None:
        _show_mask(ax_row[2], pred_mask, "predicted mask")
    fig = ax_row[0].figure
    if title:
        fig.suptitle(title)
    return fig


def sample_grid(images: np.ndarray, masks: np.ndarray, n: int = 8, columns: int = 4, preds: np.ndarray | None = None) -> Figure:
    """The first ``n`` samples in a grid: each image above its true mask (and predicted mask)."""
    if len(images) != len(masks) or (preds is not None and len(preds) != len(images)):
        raise ValueError(f"images, masks and preds must have the same length, got {len(images)}, {len(masks)}, {'-' if preds is None else len(preds)}")
    n = min(n, len(images))
    if n < 1 or columns < 1:
        raise ValueError(f"need at least one sample and one column, got n={n}, columns={columns}")
    panels = 2 if preds is None else 3
    columns = min(columns, n)
    rows = math.ceil(n / columns)
    fig, axes = plt.subplots(rows * panels, columns, figsize=(2.4 * columns, 1.9 * rows * panels), layout="constrained", squeeze=False)
    for index in range(rows * columns):
        row, column = divmod(index, columns)
        cell = axes[row * panels : (row + 1) * panels, column]
        if index >= n:
            for ax in cell:
                fig.delaxes(ax)
            continue
        _show_image(cell[0], images[index], f"#{index}: {_digits_in(masks[index])}")
        _show_mask(cell[1], masks[index])
        if preds is not None:
            _show_mask(cell[2], preds[index], "predicted")
    _add_class_legend(fig)
    fig.get_layout_engine().set(rect=(0, 0.06 / rows, 1, 1 - 0.06 / rows))
    return fig


def class_pixel_shares(masks: np.ndarray) -> np.ndarray:
    """Fraction of all pixels that belong to each of the 11 classes."""
    counts = np.bincount(np.asarray(masks).ravel(), minlength=NUM_CLASSES)
    if len(counts) > NUM_CLASSES:
        raise ValueError(f"class maps must hold values 0..{NUM_CLASSES - 1}, found {len(counts) - 1}")
    return counts / counts.sum()


def class_share_chart(masks: np.ndarray) -> Figure:
    """Bar chart of each class's share of the pixels, on a log scale and annotated in percent."""
    shares = class_pixel_shares(masks)
    fig, ax = plt.subplots(figsize=(8, 3.6), layout="constrained")
    sns.barplot(x=CLASS_NAMES, y=shares * 100, hue=CLASS_NAMES, palette=PALETTE, saturation=1, edgecolor="grey", legend=False, ax=ax)
    ax.set_yscale("log")
    ax.set_ylim(top=300)
    for position, share in enumerate(shares):
        ax.annotate(f"{100 * share:.1f}%", (position, 100 * share), ha="center", va="bottom", fontsize="small", xytext=(0, 2), textcoords="offset points")
    ax.set_xlabel("class")
    ax.set_ylabel("share of pixels (%, log scale)")
    return fig


def confusion_heatmap(cm: np.ndarray, normalize: bool = True) -> Figure:
    """Heatmap of a confusion matrix (rows true, columns predicted).

    With ``normalize`` each row is divided by its total, so a cell reads "share
    of the pixels of this true class predicted as that class"; the diagonal is
    the recall. Rows of classes absent from the truth stay blank.
    """
    cm = np.asarray(cm)
    if cm.shape != (NUM_CLASSES, NUM_CLASSES):
        raise ValueError(f"confusion matrix must have shape ({NUM_CLASSES}, {NUM_CLASSES}), got {cm.shape}")
    if normalize:
        totals = cm.sum(axis=1, keepdims=True)
        values = np.divide(cm, totals, out=np.full(cm.shape, np.nan), where=totals > 0)
        options = {"fmt": ".2f", "vmin": 0, "vmax": 1, "cbar_kws": {"label": "share of the true class"}}
    else:
        values = cm
        options = {"fmt": "d", "cbar_kws": {"label": "pixels"}}
    fig, ax = plt.subplots(figsize=(8.5, 7), layout="constrained")
    sns.heatmap(values, annot=True, annot_kws={"fontsize": 7}, cmap="viridis", square=True, xticklabels=CLASS_NAMES, yticklabels=CLASS_NAMES, ax=ax, **options)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    return fig
