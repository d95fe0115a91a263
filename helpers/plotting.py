"""Figures of the book's data and results: masks, class shares, learning curves and
confusion matrices.

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
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.textpath import TextToPath
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from helpers import BACKGROUND, CLASS_NAMES, HEIGHT, NUM_CLASSES, WIDTH, palette
from helpers.compose import DigitAugmentation, check_digits, compose_images

PAGE_WIDTH_IN = 7.3
"""Width of the book's text column in inches: 730 CSS px at the inline backend's 100
dpi.

The HTML pages (sphinx-book-theme) show a notebook's PNG at its natural size,
shrunk to this width when wider, and the text in it shrinks with it.
"""

FIGURE_WIDTH_IN = PAGE_WIDTH_IN - 0.2
"""Widest figure the page shows unshrunk, in inches.

Saving with ``bbox_inches="tight"`` (as the inline backend does) pads a figure by
``savefig.pad_inches``, 0.1 in, on each side.
"""

TEXT_PT = 9
"""Font size in points of the smallest text of the book's figures.

Panel titles, legends and annotations use it. The figures are drawn at most
:data:`FIGURE_WIDTH_IN` wide, so the page shows them at this size; axis labels
and tick labels keep Matplotlib's 10 pt. :func:`smallest_shown_text_pt` measures
a figure's smallest text as the page shows it.
"""


def shown_scale(fig: Figure) -> float:
    """How much the book's page shrinks ``fig``: 1, or less for a figure saved wider
    than :data:`PAGE_WIDTH_IN`.

    The width is the one saved with ``bbox_inches="tight"``: the tight bounding
    box of what is drawn, padded by ``savefig.pad_inches`` on each side. Draws the
    figure to measure it.
    """
    fig.canvas.draw()
    width = (
        fig.get_tightbbox(fig.canvas.get_renderer()).width
        + 2 * plt.rcParams["savefig.pad_inches"]
    )
    return min(1.0, PAGE_WIDTH_IN / width)


def smallest_shown_text_pt(fig: Figure) -> float:
    """Size in points of the smallest visible, non-empty text of ``fig``, as the
    book's page shows it.

    Covers every :class:`~matplotlib.text.Text` of the figure (titles, axis and
    tick labels, legends, annotations, heatmap numbers), scaled by
    :func:`shown_scale`; ``inf`` for a figure without text.
    """
    scale = shown_scale(fig)
    sizes = [
        text.get_fontsize()
        for text in fig.findobj(Text)
        if text.get_visible() and text.get_text().strip()
    ]
    return float(min(sizes, default=math.inf) * scale)


def text_width_pt(text: str, fontsize: float = TEXT_PT) -> float:
    """Width in points of ``text`` (its widest line) in Matplotlib's default font.

    Measured from the glyphs' outlines, without drawing a figure.
    """
    font = FontProperties(size=fontsize)
    return max(
        TextToPath().get_text_width_height_descent(line, font, ismath=False)[0]
        for line in text.split("\n")
    )


def _wrap(text: str, width_pt: float, fontsize: float = TEXT_PT) -> str:
    """``text`` broken into lines no wider than ``width_pt`` where it can be.

    It is broken even if it fits whole (:func:`_wrap_titles` decides whether to
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


def _wrap_titles(titles: Sequence[str], width_pt: float) -> list[str]:
    """``titles`` as they are if each fits ``width_pt``, else each broken by
    :func:`_wrap`."""
    if all(text_width_pt(title) <= width_pt for title in titles):
        return list(titles)
    return [_wrap(title, width_pt) for title in titles]


def _column_width_pt(
    fig_width_in: float, columns: int, margin_in: float = 0.4
) -> float:
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


def _bare(ax: Axes, title: str | None, ylabel: str | None) -> None:
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
    _bare(ax, title, ylabel)


def _show_mask(
    ax: Axes, mask: np.ndarray, title: str | None = None, ylabel: str | None = None
) -> None:
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
    shown_titles = _wrap_titles(titles[:n], _column_width_pt(width, columns))
    for index in range(rows * columns):
        row, column = divmod(index, columns)
        cell = axes[row * panels : (row + 1) * panels, column]
        if index >= n:
            for ax in cell:
                fig.delaxes(ax)
            continue
        labels = ("image", "true mask", pred_label) if column == 0 else (None,) * 3
        _show_image(cell[0], images[index], shown_titles[index], labels[0])
        _show_mask(cell[1], masks[index], ylabel=labels[1])
        if preds is not None:
            _show_mask(cell[2], preds[index], ylabel=labels[2])
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
    room = _column_width_pt(width, columns, margin_in=0.5)
    model_titles = dict(zip(predictions, _wrap_titles(list(predictions), room)))
    for row, (image, mask) in enumerate(zip(images, masks)):
        name = f"#{row}\n{_digits_in(mask)}" if titles is None else titles[row]
        _show_image(axes[row, 0], image, "image" if row == 0 else None, name)
        _show_mask(axes[row, 1], mask, "true mask" if row == 0 else None)
        for column, (label, maps) in enumerate(predictions.items(), start=2):
            title = model_titles[label] if row == 0 else None
            _show_mask(axes[row, column], maps[row], title)
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
    image_title, mask_title = _wrap_titles(
        [
            "composed from changed digits",
            f"its mask ({_digits_in(composed.masks[richest])})",
        ],
        72 * image_width - 4,
    )
    _show_image(image_ax, composed.images[richest], image_title)
    _show_mask(mask_ax, composed.masks[richest], mask_title)
    _add_class_legend(fig)
    return fig


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
    :func:`helpers.training.train` keeps. The loss is on a log scale and the
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
