"""Figures of images and masks: one segmentation, sample grids, predictions side by
side, augmented digits.

Masks use the colour-blind-friendly class palette of
:mod:`helpers.book.palette`; charts of scores are in :mod:`helpers.book.charts`.
It needs no Keras.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from helpers import BACKGROUND, HEIGHT, NUM_CLASSES, WIDTH
from helpers.book import palette
from helpers.book.style import FIGURE_WIDTH_IN, TEXT_PT, text_width_pt
from helpers.data.compose import DigitAugmentation, check_digits, compose_images


def _wrap(text: str, width_pt: float, fontsize: float = TEXT_PT) -> str:
    """``text`` broken into lines no wider than ``width_pt`` where it can be.

    It is broken even if it fits whole (:func:`wrap_titles` decides whether to
    break, so that titles broken together look alike): after its first ": " if
    both halves fit, else into the two most even lines if they fit, else between
    words as needed.
    """
    head, colon, tail = text.partition(": ")
    widest = max(text_width_pt(head + ":", fontsize), text_width_pt(tail, fontsize))
    if colon and widest <= width_pt:
        return f"{head}:\n{tail}"
    words = text.split(" ")
    halves = [
        (" ".join(words[:cut]), " ".join(words[cut:])) for cut in range(1, len(words))
    ]
    if halves:  # two lines as even as can be, if they fit
        widths = [
            max(text_width_pt(half, fontsize) for half in pair) for pair in halves
        ]
        if min(widths) <= width_pt:
            return "\n".join(halves[int(np.argmin(widths))])
    lines = [""]
    for word in words:
        joined = f"{lines[-1]} {word}".strip()
        if lines[-1] and text_width_pt(joined, fontsize) > width_pt:
            lines.append(word)
        else:
            lines[-1] = joined
    return "\n".join(lines)


def wrap_titles(titles: Sequence[str], width_pt: float) -> list[str]:
    """``titles`` as they are if each fits ``width_pt``, else each broken by
    :func:`_wrap`."""
    if all(text_width_pt(title) <= width_pt for title in titles):
        return list(titles)
    return [_wrap(title, width_pt) for title in titles]


def column_width_pt(fig_width_in: float, columns: int, margin_in: float = 0.4) -> float:
    """Room in points for the title of a column of a grid of ``columns`` panels.

    A little narrower than the column, so that neighbouring titles keep apart.
    """
    return 72 * (fig_width_in - margin_in) / columns - 8


def _add_class_legend(fig: Figure) -> None:
    """The class legend below the panels: one row, or two on a narrow figure.

    The constrained layout makes room for it.
    """
    fig.legend(
        handles=palette.legend_handles(),
        loc="outside lower center",
        ncol=NUM_CLASSES if fig.get_figwidth() >= 5.5 else math.ceil(NUM_CLASSES / 2),
        frameon=False,
        fontsize=TEXT_PT,
        handlelength=1.2,
        columnspacing=0.8,
    )


def bare_axes(ax: Axes, title: str | None, ylabel: str | None) -> None:
    """Title and y label on a panel without ticks or frame.

    (``axis("off")`` would hide the y label too.)
    """
    ax.set_xticks([])
    ax.set_yticks([])
    ax.spines[:].set_visible(False)
    ax.set_title(title, fontsize=TEXT_PT)
    ax.set_ylabel(ylabel, fontsize=TEXT_PT)


def _show_image(
    ax: Axes, image: np.ndarray, title: str | None = None, ylabel: str | None = None
) -> None:
    ax.imshow(image, cmap="gray", vmin=0, vmax=255)
    bare_axes(ax, title, ylabel)


def show_mask(
    ax: Axes, mask: np.ndarray, title: str | None = None, ylabel: str | None = None
) -> None:
    """A class map on ``ax`` in the book's palette, pixel for pixel, on a bare panel."""
    ax.imshow(palette.colorize(mask), interpolation="nearest")
    bare_axes(ax, title, ylabel)


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
        width = min(FIGURE_WIDTH_IN, 3.2 * panels)
        fig, ax_row = plt.subplots(
            1,
            panels,
            figsize=(width, width / panels * HEIGHT / WIDTH + (0.9 if title else 0.6)),
            layout="constrained",
        )
        _add_class_legend(fig)
    elif len(ax_row) != panels:
        raise ValueError(
            f"ax_row must hold {panels} axes, one per panel, got {len(ax_row)}"
        )
    _show_image(ax_row[0], image, "image")
    show_mask(ax_row[1], true_mask, f"true mask ({_digits_in(true_mask)})")
    if pred_mask is not None:
        show_mask(ax_row[2], pred_mask, "predicted mask")
    fig = ax_row[0].figure
    if title:
        fig.suptitle(title)
    return fig


def three_tasks(image: np.ndarray, mask: np.ndarray) -> Figure:
    """One image answered three ways: its digit labels (classification), a box around
    each digit (detection), and a class for every pixel (semantic segmentation)."""
    digits = [int(digit) for digit in np.unique(mask) if digit != BACKGROUND]
    panel_in = (FIGURE_WIDTH_IN - 0.4) / 3
    fig, (classify, detect, segment) = plt.subplots(
        1,
        3,
        figsize=(FIGURE_WIDTH_IN, panel_in * HEIGHT / WIDTH + 0.9),
        layout="constrained",
    )
    _show_image(classify, image, "classification")
    classify.text(2, 60, f"labels: {digits}", color="white", fontsize=TEXT_PT)
    _show_image(detect, image, "detection")
    for digit in digits:
        rows, cols = np.nonzero(mask == digit)
        detect.add_patch(
            Rectangle(
                (cols.min() - 0.5, rows.min() - 0.5),
                np.ptp(cols) + 1,
                np.ptp(rows) + 1,
                fill=False,
                lw=2,
                edgecolor=palette.PALETTE[digit],
            )
        )
        detect.text(
            cols.min(),
            rows.min() - 1.5,
            str(digit),
            color=palette.PALETTE[digit],
            weight="bold",
            fontsize=TEXT_PT,
        )
    show_mask(segment, mask, "semantic segmentation")
    _add_class_legend(fig)
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
    """The first ``n`` samples in a grid: each image above its true mask (and
    predicted mask).

    Each sample's column is titled ``#index: digits ...`` unless ``titles`` (one
    per sample) says otherwise, e.g. the sample's index in the split and its
    score. The first column names the rows: "image", "true mask" and
    ``pred_label`` (say, the model's name).
    """
    if len(images) != len(masks) or (preds is not None and len(preds) != len(images)):
        lengths = f"{len(images)}, {len(masks)}, {'-' if preds is None else len(preds)}"
        raise ValueError(
            f"images, masks and preds must have the same length, got {lengths}"
        )
    if titles is not None and len(titles) != len(images):
        raise ValueError(
            f"titles must hold one title per sample, got {len(titles)} for "
            f"{len(images)} samples"
        )
    n = min(n, len(images))
    if n < 1 or columns < 1:
        raise ValueError(
            f"need at least one sample and one column, got n={n}, columns={columns}"
        )
    panels = 2 if preds is None else 3
    columns = min(columns, n)
    rows = math.ceil(n / columns)
    width = min(FIGURE_WIDTH_IN, 2.4 * columns)
    height = rows * (panels * (width - 0.3) / columns * HEIGHT / WIDTH + 0.4) + 0.6
    fig, axes = plt.subplots(
        rows * panels,
        columns,
        figsize=(width, height),
        layout="constrained",
        squeeze=False,
    )
    if titles is None:
        titles = [f"#{index}: {_digits_in(masks[index])}" for index in range(n)]
    shown_titles = wrap_titles(titles[:n], column_width_pt(width, columns))
    for index in range(rows * columns):
        row, column = divmod(index, columns)
        cell = axes[row * panels : (row + 1) * panels, column]
        if index >= n:
            for ax in cell:
                fig.delaxes(ax)
            continue
        labels = ("image", "true mask", pred_label) if column == 0 else (None,) * 3
        _show_image(cell[0], images[index], shown_titles[index], labels[0])
        show_mask(cell[1], masks[index], ylabel=labels[1])
        if preds is not None:
            show_mask(cell[2], preds[index], ylabel=labels[2])
    _add_class_legend(fig)
    return fig


def compare_predictions(
    images: np.ndarray,
    masks: np.ndarray,
    predictions: dict[str, np.ndarray],
    titles: Sequence[str] | None = None,
) -> Figure:
    """One row per image: the image, its true mask, then each model's prediction.

    Columns are titled "image", "true mask" and the models' labels; each row is
    named ``#index`` and its digits unless ``titles`` (one per image) says otherwise.
    """
    lengths = {label: len(maps) for label, maps in predictions.items()}
    if (
        not predictions
        or set(lengths.values()) != {len(images)}
        or len(masks) != len(images)
    ):
        raise ValueError(
            f"need predictions for each of the {len(images)} images and masks, got "
            f"{len(masks)} masks and {lengths}"
        )
    if titles is not None and len(titles) != len(images):
        raise ValueError(
            f"titles must hold one title per image, got {len(titles)} for "
            f"{len(images)} images"
        )
    columns = 2 + len(predictions)
    width = min(FIGURE_WIDTH_IN, 2.4 * columns)
    height = len(images) * ((width - 0.5) / columns * HEIGHT / WIDTH + 0.1) + 1.0
    fig, axes = plt.subplots(
        len(images),
        columns,
        figsize=(width, height),
        layout="constrained",
        squeeze=False,
    )
    room = column_width_pt(width, columns, margin_in=0.5)
    model_titles = dict(zip(predictions, wrap_titles(list(predictions), room)))
    for row, (image, mask) in enumerate(zip(images, masks)):
        name = f"#{row}\n{_digits_in(mask)}" if titles is None else titles[row]
        _show_image(axes[row, 0], image, "image" if row == 0 else None, name)
        show_mask(axes[row, 1], mask, "true mask" if row == 0 else None)
        for column, (label, maps) in enumerate(predictions.items(), start=2):
            title = model_titles[label] if row == 0 else None
            show_mask(axes[row, column], maps[row], title)
    _add_class_legend(fig)
    return fig


def augmentation_grid(
    pixels: np.ndarray,
    labels: np.ndarray,
    augmentation: DigitAugmentation,
    versions: int = 3,
    seed: int = 0,
) -> Figure:
    """Digits in the top row and ``versions`` random changes of each below; beside
    them, an image and its mask.

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
    width = min(FIGURE_WIDTH_IN, 0.95 * len(pixels) + 3.4)
    image_share = 2.6  # the composed image's column, in digit columns
    column_width = (width - 0.3) / (len(pixels) + image_share)
    image_width = image_share * column_width
    # A row of digits is as tall as a digit, or as its name (written upwards) if longer.
    row_name = text_width_pt(f"changed {versions}") / 72 + 0.1
    digits_height = (versions + 1) * max(column_width + 0.08, row_name) + 0.25
    images_height = 2 * image_width * HEIGHT / WIDTH + 0.75
    height = max(digits_height, min(images_height, digits_height + 1))
    fig = plt.figure(figsize=(width, height + 0.4), layout="constrained")
    digit_panel, image_panel = fig.subfigures(
        1, 2, width_ratios=(len(pixels), image_share)
    )
    digit_axes = digit_panel.subplots(versions + 1, len(pixels), squeeze=False)
    for row, (name, shown) in enumerate(
        [("original", pixels)]
        + [(f"changed {k + 1}", d) for k, d in enumerate(changed)]
    ):
        for column, (ax, digit) in enumerate(zip(digit_axes[row], shown)):
            title = f"digit {labels[column]}" if row == 0 else None
            _show_image(ax, digit, title, name if column == 0 else None)
    image_ax, mask_ax = image_panel.subplots(2, 1)
    image_title, mask_title = wrap_titles(
        [
            "composed from changed digits",
            f"its mask ({_digits_in(composed.masks[richest])})",
        ],
        72 * image_width - 4,
    )
    _show_image(image_ax, composed.images[richest], image_title)
    show_mask(mask_ax, composed.masks[richest], mask_title)
    _add_class_legend(fig)
    return fig
