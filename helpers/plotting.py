"""Figures of the book's data and results: masks, class shares, learning curves and confusion matrices.

Masks and class charts use the colour-blind-friendly class palette of
:mod:`helpers.palette`. Besides masks, the module draws the figures every
architecture chapter shares: learning curves (:func:`learning_curves`) and
confusion matrices whose colours show the errors only
(:func:`confusion_heatmap`). It needs no Keras; the block diagrams of the
networks, which do, are in :mod:`helpers.diagrams`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from helpers import BACKGROUND, CLASS_NAMES, NUM_CLASSES, palette
from helpers.compose import DigitAugmentation, check_digits, compose_images


def _add_class_legend(fig: Figure) -> None:
    """The class legend in one row below the panels (the constrained layout makes room for it)."""
    fig.legend(
        handles=palette.legend_handles(),
        loc="outside lower center",
        ncol=NUM_CLASSES,
        frameon=False,
        fontsize="small",
        handlelength=1.2,
        columnspacing=0.8,
    )


def _bare(ax: Axes, title: str | None, ylabel: str | None) -> None:
    """Title and y label on a panel without ticks or frame (``axis("off")`` would hide the y label too)."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.spines[:].set_visible(False)
    ax.set_title(title, fontsize="small")
    ax.set_ylabel(ylabel, fontsize="small")


def _show_image(ax: Axes, image: np.ndarray, title: str | None = None, ylabel: str | None = None) -> None:
    ax.imshow(image, cmap="gray", vmin=0, vmax=255)
    _bare(ax, title, ylabel)


def _show_mask(ax: Axes, mask: np.ndarray, title: str | None = None, ylabel: str | None = None) -> None:
    ax.imshow(palette.colorize(mask), interpolation="nearest")
    _bare(ax, title, ylabel)


def _digits_in(mask: np.ndarray) -> str:
    digits = [str(d) for d in np.unique(mask) if d != BACKGROUND]
    return "digits " + ", ".join(digits) if digits else "no digits"


def show_segmentation(
    image: np.ndarray,
    true_mask: np.ndarray,
    pred_mask: np.ndarray | None = None,
    title: str | None = None,
    ax_row: Sequence[Axes] | None = None,
) -> Figure:
    """Image, true mask and (if given) predicted mask side by side.

    Draws into ``ax_row`` (2 or 3 axes) when given, leaving the legend to the
    caller who owns the figure; otherwise makes a figure with a class legend.
    """
    panels = 2 if pred_mask is None else 3
    if ax_row is None:
        fig, ax_row = plt.subplots(1, panels, figsize=(3.2 * panels, 2.9), layout="constrained")
        _add_class_legend(fig)
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


def sample_grid(
    images: np.ndarray,
    masks: np.ndarray,
    n: int = 8,
    columns: int = 4,
    preds: np.ndarray | None = None,
    titles: Sequence[str] | None = None,
    pred_label: str = "predicted mask",
) -> Figure:
    """The first ``n`` samples in a grid: each image above its true mask (and predicted mask).

    Each sample's column is titled ``#index: digits ...`` unless ``titles`` (one
    per sample) says otherwise, e.g. the sample's index in the split and its
    score. The first column names the rows: "image", "true mask" and
    ``pred_label`` (say, the model's name).
    """
    if len(images) != len(masks) or (preds is not None and len(preds) != len(images)):
        lengths = f"{len(images)}, {len(masks)}, {'-' if preds is None else len(preds)}"
        raise ValueError(f"images, masks and preds must have the same length, got {lengths}")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"titles must hold one title per sample, got {len(titles)} for {len(images)} samples")
    n = min(n, len(images))
    if n < 1 or columns < 1:
        raise ValueError(f"need at least one sample and one column, got n={n}, columns={columns}")
    panels = 2 if preds is None else 3
    columns = min(columns, n)
    rows = math.ceil(n / columns)
    fig, axes = plt.subplots(
        rows * panels, columns, figsize=(2.4 * columns, 1.9 * rows * panels), layout="constrained", squeeze=False
    )
    for index in range(rows * columns):
        row, column = divmod(index, columns)
        cell = axes[row * panels : (row + 1) * panels, column]
        if index >= n:
            for ax in cell:
                fig.delaxes(ax)
            continue
        labels = ("image", "true mask", pred_label) if column == 0 else (None,) * 3
        title = f"#{index}: {_digits_in(masks[index])}" if titles is None else titles[index]
        _show_image(cell[0], images[index], title, labels[0])
        _show_mask(cell[1], masks[index], ylabel=labels[1])
        if preds is not None:
            _show_mask(cell[2], preds[index], ylabel=labels[2])
    _add_class_legend(fig)
    return fig


def compare_predictions(
    images: np.ndarray, masks: np.ndarray, predictions: dict[str, np.ndarray], titles: Sequence[str] | None = None
) -> Figure:
    """One row per image: the image, its true mask, then each model's prediction.

    Columns are titled "image", "true mask" and the models' labels; each row is
    named ``#index`` and its digits unless ``titles`` (one per image) says otherwise.
    """
    lengths = {label: len(maps) for label, maps in predictions.items()}
    if not predictions or set(lengths.values()) != {len(images)} or len(masks) != len(images):
        raise ValueError(
            f"need predictions for each of the {len(images)} images and masks, got {len(masks)} masks and {lengths}"
        )
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"titles must hold one title per image, got {len(titles)} for {len(images)} images")
    columns = 2 + len(predictions)
    fig, axes = plt.subplots(
        len(images), columns, figsize=(2.4 * columns, 2.0 * len(images) + 0.6), layout="constrained", squeeze=False
    )
    for row, (image, mask) in enumerate(zip(images, masks)):
        name = f"#{row}\n{_digits_in(mask)}" if titles is None else titles[row]
        _show_image(axes[row, 0], image, "image" if row == 0 else None, name)
        _show_mask(axes[row, 1], mask, "true mask" if row == 0 else None)
        for column, (label, maps) in enumerate(predictions.items(), start=2):
            _show_mask(axes[row, column], maps[row], label if row == 0 else None)
    _add_class_legend(fig)
    return fig


def augmentation_grid(
    pixels: np.ndarray, labels: np.ndarray, augmentation: DigitAugmentation, versions: int = 3, seed: int = 0
) -> Figure:
    """Digits in the top row and ``versions`` random changes of each below; beside them, an image and its mask.

    The image on the right is composed from changed versions of the same
    digits (the first of a few draws that holds the most digit classes), so
    its mask shows that every changed digit is labelled pixel for pixel.
    """
    check_digits(pixels, labels)
    if versions < 1:
        raise ValueError(f"versions must be at least 1, got {versions}")
    rng = np.random.default_rng(seed)
    changed = [augmentation.apply(pixels, rng) for _ in range(versions)]
    composed = compose_images(pixels, labels, 8, rng, augmentation)
    richest = int(np.argmax([len(np.unique(mask)) for mask in composed.masks]))
    fig = plt.figure(figsize=(0.95 * len(pixels) + 3.4, 1.05 * (versions + 1) + 0.9), layout="constrained")
    digit_panel, image_panel = fig.subfigures(1, 2, width_ratios=(len(pixels), 3.2))
    digit_axes = digit_panel.subplots(versions + 1, len(pixels), squeeze=False)
    for row, (name, shown) in enumerate(
        [("original", pixels)] + [(f"changed {k + 1}", d) for k, d in enumerate(changed)]
    ):
        for column, (ax, digit) in enumerate(zip(digit_axes[row], shown)):
            title = f"digit {labels[column]}" if row == 0 else None
            _show_image(ax, digit, title, name if column == 0 else None)
    image_ax, mask_ax = image_panel.subplots(2, 1)
    _show_image(image_ax, composed.images[richest], "composed from changed digits")
    _show_mask(mask_ax, composed.masks[richest], f"its mask ({_digits_in(composed.masks[richest])})")
    _add_class_legend(fig)
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
            fontsize="small",
            xytext=(0, 2),
            textcoords="offset points",
        )
    ax.set_xlabel("class")
    ax.set_ylabel("share of pixels (%, log scale)")
    return fig


def confusion_heatmap(cm: np.ndarray, normalize: bool = True) -> Figure:
    """Heatmap of a confusion matrix (rows true, columns predicted) whose colours show the errors only.

    With ``normalize`` each row is divided by its total, so a cell reads "share
    of the pixels of this true class predicted as that class". The diagonal
    (the recall, near 1) would squeeze every error into the bottom of the
    colour scale, so it is masked: grey, its value written in, and off the
    scale, which runs from 0 to the largest error. Cells with no pixels stay
    unwritten, shares under 0.0005 read "<0.001"; rows of classes absent from
    the truth stay grey.
    """
    cm = np.asarray(cm)
    if cm.shape != (NUM_CLASSES, NUM_CLASSES):
        raise ValueError(f"confusion matrix must have shape ({NUM_CLASSES}, {NUM_CLASSES}), got {cm.shape}")
    if normalize:
        totals = cm.sum(axis=1, keepdims=True)
        values = np.divide(cm, totals, out=np.full(cm.shape, np.nan), where=totals > 0)
        unit, smallest, number = "share of the true class's pixels", 0.0005, "{:.3f}"
    else:
        values, unit, smallest, number = cm.astype(float), "pixels", 0, "{:,.0f}"
    diagonal = np.eye(NUM_CLASSES, dtype=bool)
    largest_error = np.nanmax(np.where(diagonal, np.nan, values), initial=0)
    labels = [
        ["" if not value > 0 else number.format(value) if value >= smallest else "<0.001" for value in row]
        for row in values
    ]
    fig, ax = plt.subplots(figsize=(8.5, 7), layout="constrained")
    ax.set_facecolor("#D0D0D0")
    sns.heatmap(
        values,
        mask=diagonal,
        annot=np.array(labels),
        fmt="",
        annot_kws={"fontsize": 7},
        cmap="rocket_r",
        vmin=0,
        vmax=largest_error or 1,
        square=True,
        xticklabels=CLASS_NAMES,
        yticklabels=CLASS_NAMES,
        ax=ax,
        cbar_kws={"label": f"{unit} (errors only; diagonal in grey)"},
    )
    for index in range(NUM_CLASSES):
        ax.text(index + 0.5, index + 0.5, labels[index][index], ha="center", va="center", fontsize=7, color="#333333")
    ax.tick_params(axis="y", labelrotation=0)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    return fig


_CURVE_KEYS = ("loss", "val_loss", "accuracy", "val_accuracy")


def learning_curves(histories: dict[str, dict[str, Sequence[float]]]) -> Figure:
    """Loss and pixel accuracy per epoch, training solid and validation dashed, one colour per run.

    Takes ``{label: history}`` with the Keras keys ``loss``, ``val_loss``,
    ``accuracy`` and ``val_accuracy``, so one figure compares several models.
    A dot marks each run's lowest validation loss: the epoch whose weights
    :func:`helpers.training.train` keeps. The loss is on a log scale and the
    accuracy on a logit scale (0.9, 0.99, 0.999 equally spaced), so the late,
    small improvements stay visible.
    """
    if not histories:
        raise ValueError("learning_curves needs at least one history")
    for label, history in histories.items():
        if missing := [key for key in _CURVE_KEYS if key not in history]:
            raise ValueError(f"history {label!r} lacks {missing}; expected the Keras keys {list(_CURVE_KEYS)}")
    fig, (loss_ax, accuracy_ax) = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
    for (label, history), colour in zip(histories.items(), sns.color_palette("colorblind", len(histories))):
        epochs = np.arange(1, len(history["loss"]) + 1)
        for ax, metric in ((loss_ax, "loss"), (accuracy_ax, "accuracy")):
            ax.plot(epochs, history[metric], color=colour, marker=".", label=f"{label} training")
            ax.plot(
                epochs, history[f"val_{metric}"], color=colour, marker=".", linestyle="--", label=f"{label} validation"
            )
        best = int(np.nanargmin(history["val_loss"]))
        loss_ax.scatter(epochs[best], history["val_loss"][best], s=60, color=colour, edgecolor="black", zorder=3)
    loss_ax.set_yscale("log")
    loss_ax.set_title("loss (dot: lowest validation loss)")
    loss_ax.set_ylabel("cross-entropy per pixel (log scale)")
    accuracy_ax.set_yscale("logit")
    accuracy_ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    accuracy_ax.yaxis.set_minor_formatter(NullFormatter())
    accuracy_ax.set_title("pixel accuracy")
    accuracy_ax.set_ylabel("share of pixels classified right (logit scale)")
    most_epochs = max(len(history["loss"]) for history in histories.values())
    for ax in (loss_ax, accuracy_ax):
        ax.set_xlabel("epoch")
        ax.set_xlim(0.5, most_epochs + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.grid(alpha=0.3)
    accuracy_ax.legend(fontsize="small")
    return fig
