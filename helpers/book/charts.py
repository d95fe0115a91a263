"""Charts every chapter shares: class shares of the pixels, learning curves, and
confusion matrices whose colours show the errors only."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from helpers import CLASS_NAMES, NUM_CLASSES
from helpers.book import palette
from helpers.book.style import FIGURE_WIDTH_IN, TEXT_PT, text_width_pt


def class_pixel_shares(masks: np.ndarray) -> np.ndarray:
    """Fraction of all pixels that belong to each of the 11 classes."""
    counts = np.bincount(np.asarray(masks).ravel(), minlength=NUM_CLASSES)
    if len(counts) > NUM_CLASSES:
        raise ValueError(
            f"class maps must hold values 0..{NUM_CLASSES - 1}, found {len(counts) - 1}"
        )
    return counts / counts.sum()


def class_share_chart(masks: np.ndarray) -> Figure:
    """Bar chart of each class's share of the pixels, on a log scale, annotated in
    percent."""
    shares = class_pixel_shares(masks)
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 3.4), layout="constrained")
    sns.barplot(
        x=CLASS_NAMES,
        y=shares * 100,
        hue=CLASS_NAMES,
        palette=palette.PALETTE,
        saturation=1,
        edgecolor="grey",
        legend=False,
        ax=ax,
    )
    ax.set_yscale("log")
    ax.set_ylim(top=300)
    for position, share in enumerate(shares):
        ax.annotate(
            f"{100 * share:.1f}%",
            (position, 100 * share),
            ha="center",
            va="bottom",
            fontsize=TEXT_PT,
            xytext=(0, 2),
            textcoords="offset points",
        )
    ax.set_xlabel("class")
    ax.set_ylabel("share of pixels (%, log scale)")
    return fig


def _count_label(count: float) -> str:
    """A pixel count short enough for a heatmap cell: ``9,999``, ``35k``, ``5.1M``."""
    if count < 10_000:
        return f"{count:,.0f}"
    if count < 999_500:
        return f"{count / 1e3:.0f}k"
    return f"{count / 1e6:.1f}M"


def _share_label(share: float) -> str:
    """A share as a percentage with one decimal, without the % sign.

    Halves round up (0.05 % reads ``0.1``, whatever the float's last bits say);
    under 0.05 % it reads ``<0.1``.
    """
    tenths = math.floor(1000 * share + 0.5 + 1e-9)
    return f"{tenths / 10:.1f}" if tenths > 0 else "<0.1"


def confusion_heatmap(cm: np.ndarray, normalize: bool = True) -> Figure:
    """Heatmap of a confusion matrix (rows true, columns predicted) whose colours show
    the errors only.

    With ``normalize`` each row is divided by its total, so a cell reads "per
    cent of the pixels of this true class predicted as that class" (one
    decimal; under 0.05 % it reads "<0.1"). Without, cells count pixels, from
    10,000 on in thousands ("35k") or millions ("5.1M"), so the numbers fit
    their cells at 9 pt. The diagonal (the recall, near 100 %) would squeeze
    every error into the bottom of the colour scale, so it is masked: grey,
    its value written in, and off the scale, which runs from 0 to the largest
    error. Cells with no pixels stay unwritten; rows of classes absent from
    the truth stay grey.
    """
    cm = np.asarray(cm)
    if cm.shape != (NUM_CLASSES, NUM_CLASSES):
        raise ValueError(
            f"confusion matrix must have shape ({NUM_CLASSES}, {NUM_CLASSES}), "
            f"got {cm.shape}"
        )
    if normalize:
        totals = cm.sum(axis=1, keepdims=True)
        values = np.divide(cm, totals, out=np.full(cm.shape, np.nan), where=totals > 0)
        unit, label, ticks = (
            "% of the true class's pixels",
            _share_label,
            lambda value, _: f"{100 * value:.3g}",
        )
    else:
        values, unit, label, ticks = (
            cm.astype(float),
            "pixels",
            _count_label,
            lambda value, _: f"{value:,.0f}",
        )
    diagonal = np.eye(NUM_CLASSES, dtype=bool)
    largest_error = np.nanmax(np.where(diagonal, np.nan, values), initial=0)
    labels = [[label(value) if value > 0 else "" for value in row] for row in values]
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 6.1), layout="constrained")
    ax.set_facecolor("#D0D0D0")
    sns.heatmap(
        values,
        mask=diagonal,
        annot=np.array(labels),
        fmt="",
        annot_kws={"fontsize": TEXT_PT},
        cmap="rocket_r",
        vmin=0,
        vmax=largest_error or 1,
        square=True,
        xticklabels=CLASS_NAMES,
        yticklabels=CLASS_NAMES,
        ax=ax,
        cbar_kws={
            "label": f"{unit} (errors only; diagonal in grey)",
            "format": FuncFormatter(ticks),
        },
    )
    for index in range(NUM_CLASSES):
        ax.text(
            index + 0.5,
            index + 0.5,
            labels[index][index],
            ha="center",
            va="center",
            fontsize=TEXT_PT,
            color="#333333",
        )
    ax.tick_params(axis="y", labelrotation=0)
    for tick_label in ax.get_xticklabels():  # "background" turned up, clear of the 9
        tick_label.set_rotation(90 if len(tick_label.get_text()) > 2 else 0)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    return fig


_CURVE_KEYS = ("loss", "val_loss", "accuracy", "val_accuracy")


def learning_curves(
    histories: dict[str, dict[str, Sequence[float]]],
    loss_name: str = "cross-entropy per pixel",
) -> Figure:
    """Loss and pixel accuracy per epoch, training solid and validation dashed, one
    colour per run.

    ``loss_name`` labels the loss axis: the runs compared on one figure must have
    been trained with that loss (the book's recipe: cross-entropy).

    Takes ``{label: history}`` with the Keras keys ``loss``, ``val_loss``,
    ``accuracy`` and ``val_accuracy``, so one figure compares several models.
    A dot marks each run's lowest validation loss: the epoch whose weights
    :func:`helpers.train.loop.train` keeps. The loss is on a log scale and the
    accuracy on a logit scale (0.9, 0.99, 0.999 equally spaced), so the late,
    small improvements stay visible.
    """
    if not histories:
        raise ValueError("learning_curves needs at least one history")
    for label, history in histories.items():
        if missing := [key for key in _CURVE_KEYS if key not in history]:
            raise ValueError(
                f"history {label!r} lacks {missing}; expected the Keras keys "
                f"{list(_CURVE_KEYS)}"
            )
    fig, (loss_ax, accuracy_ax) = plt.subplots(
        1, 2, figsize=(FIGURE_WIDTH_IN, 3.4), layout="constrained"
    )
    colours = sns.color_palette("colorblind", len(histories))
    for (label, history), colour in zip(histories.items(), colours):
        epochs = np.arange(1, len(history["loss"]) + 1)
        for ax, metric in ((loss_ax, "loss"), (accuracy_ax, "accuracy")):
            ax.plot(
                epochs,
                history[metric],
                color=colour,
                marker=".",
                label=f"{label} training",
            )
            ax.plot(
                epochs,
                history[f"val_{metric}"],
                color=colour,
                marker=".",
                linestyle="--",
                label=f"{label} validation",
            )
        best = int(np.nanargmin(history["val_loss"]))
        loss_ax.scatter(
            epochs[best],
            history["val_loss"][best],
            s=60,
            color=colour,
            edgecolor="black",
            zorder=3,
        )
    loss_ax.set_yscale("log")
    loss_ax.set_title("loss (dot: lowest validation loss)", fontsize=10)
    loss_ax.set_ylabel(f"{loss_name}\n(log scale)")
    accuracy_ax.set_yscale("logit")
    accuracy_ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    accuracy_ax.yaxis.set_minor_formatter(NullFormatter())
    accuracy_ax.set_title("pixel accuracy", fontsize=10)
    accuracy_ax.set_ylabel("share of pixels classified right\n(logit scale)")
    most_epochs = max(len(history["loss"]) for history in histories.values())
    for ax in (loss_ax, accuracy_ax):
        ax.set_xlabel("epoch")
        ax.set_xlim(0.5, most_epochs + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.grid(alpha=0.3)
    # One entry per line style, then one per run (its colour), below both panels so
    # that no curve hides behind the legend: in one row if it fits, else the styles
    # make the first column (Matplotlib fills the columns in turn).
    handles = [
        Line2D([], [], color="black", label="training"),
        Line2D([], [], color="black", linestyle="--", label="validation"),
    ]
    handles += [
        Line2D([], [], color=colour, marker=".", label=label)
        for label, colour in zip(histories, colours)
    ]
    width = sum(text_width_pt(handle.get_label()) + 3.8 * TEXT_PT for handle in handles)
    rows = math.ceil(width / (72 * FIGURE_WIDTH_IN))
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncol=math.ceil(len(handles) / rows),
        frameon=False,
        fontsize=TEXT_PT,
    )
    return fig


def per_class_iou_chart(iou: pd.DataFrame) -> Figure:
    """Test IoU of each class (rows of ``iou``), one dot per model (its columns),
    side by side: which classes the models find hard, and where they differ."""
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 3.2), layout="constrained")
    width = 0.6 / max(len(iou.columns) - 1, 1)
    for index, model in enumerate(iou.columns):
        offset = (index - (len(iou.columns) - 1) / 2) * width
        ax.plot(np.arange(len(iou)) + offset, iou[model], "o", ms=5, label=model)
    ax.set_xticks(range(len(iou)), iou.index, fontsize=TEXT_PT)
    ax.tick_params(axis="y", labelsize=TEXT_PT)
    ax.set_xlabel("class", fontsize=TEXT_PT)
    ax.set_ylabel("IoU on the test split", fontsize=TEXT_PT)
    ax.grid(axis="y", alpha=0.3)
    fig.legend(
        loc="outside lower center",
        ncol=len(iou.columns),
        frameon=False,
        fontsize=TEXT_PT,
    )
    return fig
