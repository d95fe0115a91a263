"""Where a prediction is wrong: each wrong pixel coloured by its kind (missed,
invented, wrong digit) over the dimmed image, large enough to see single pixels, and
the window to zoom into.

The class colours and the panel helpers are those of :mod:`helpers.book.plotting`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from helpers import BACKGROUND
from helpers.book import palette
from helpers.book.plotting import (
    bare_axes,
    column_width_pt,
    show_mask,
    wrap_titles,
)
from helpers.book.style import FIGURE_WIDTH_IN, TEXT_PT
from helpers.evaluate import metrics

ERROR_BACKDROP = 0.45
"""How bright the grey image stays under the coloured wrong pixels: dim, so that the
colours stand out, bright enough to see the strokes."""


def prediction_title(
    index: int, score: float, mask: np.ndarray, pred: np.ndarray
) -> str:
    """A prediction's title, "test #17: mean IoU 0.49", with each digit it holds where
    the truth has none and that digit's pixels: a few stray pixels of an absent digit
    score 0 for that digit and pull the image's mean down, though the prediction looks
    right."""
    absent = [
        f"{digit} ({np.sum(pred == digit)} px)"
        for digit in np.setdiff1d(np.unique(pred), np.unique(mask))
        if digit != BACKGROUND
    ]
    title = f"test #{index}: mean IoU {score:.2f}"
    return f"{title}; absent but predicted: {', '.join(absent)}" if absent else title


def error_overlay(image: np.ndarray, errors: np.ndarray) -> np.ndarray:
    """RGB ``float (H, W, 3)``: the grey image dimmed, and each wrong pixel in its
    error's colour (:data:`helpers.book.palette.ERROR_COLOURS`)."""
    grey = np.asarray(image, dtype=float) / 255 * ERROR_BACKDROP
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    for kind, colour in enumerate(palette.ERROR_COLOURS, start=1):
        rgb[errors == kind] = to_rgb(colour)
    return rgb


def prediction_errors(
    images: np.ndarray,
    masks: np.ndarray,
    preds: np.ndarray,
    titles: Sequence[str],
) -> Figure:
    """One row per image: its prediction, and beside it the image with every wrong pixel
    coloured by kind (missed, invented, wrong digit).

    Two panels fill the page's width, so each image is shown over 300 px wide, large
    enough to see single stroke pixels. ``titles`` title the predictions (say, the
    image's index and score); the error panels count their pixels of each kind. Crop
    the arrays to zoom into a region (:func:`error_window`).
    """
    if not (len(images) == len(masks) == len(preds) == len(titles)) or not len(images):
        raise ValueError(
            "need one image, true mask, prediction and title per row, got "
            f"{len(images)}, {len(masks)}, {len(preds)} and {len(titles)}"
        )
    errors = metrics.pixel_errors(masks, preds)
    height, width = np.shape(images)[1:3]
    panel_in = (FIGURE_WIDTH_IN - 0.3) / 2
    fig, axes = plt.subplots(
        len(images),
        2,
        figsize=(
            FIGURE_WIDTH_IN,
            len(images) * (panel_in * height / width + 0.5) + 1.1,
        ),
        layout="constrained",
        squeeze=False,
    )
    room = column_width_pt(FIGURE_WIDTH_IN, 2)
    for row, title in enumerate(wrap_titles(titles, room)):
        show_mask(axes[row, 0], preds[row], title)
        axes[row, 1].imshow(
            error_overlay(images[row], errors[row]), interpolation="nearest"
        )
        counts = [int(np.sum(errors[row] == kind)) for kind in (1, 2, 3)]
        bare_axes(
            axes[row, 1],
            ", ".join(
                f"{name} {count}" for name, count in zip(metrics.PIXEL_ERRORS, counts)
            )
            + " px",
            None,
        )
    # One legend of two rows, classes then mistakes; Matplotlib fills it by columns.
    keys = palette.legend_handles() + [
        Patch(facecolor=colour, label=name)
        for colour, name in zip(palette.ERROR_COLOURS, metrics.PIXEL_ERRORS)
    ]
    columns = math.ceil(len(keys) / 2)
    fig.legend(
        handles=[key for pair in zip(keys[:columns], keys[columns:]) for key in pair],
        loc="outside lower center",
        ncol=columns,
        frameon=False,
        fontsize=TEXT_PT,
        handlelength=1.2,
        columnspacing=0.8,
    )
    return fig


def error_window(
    masks: np.ndarray, preds: np.ndarray, size: int = 28
) -> tuple[slice, slice]:
    """The ``size`` x ``size`` window of the image that holds the most wrong pixels,
    summed over ``masks`` and ``preds``: where to zoom to see a model's borders."""
    errors = (metrics.pixel_errors(masks, preds) > 0).reshape(-1, *np.shape(masks)[-2:])
    counts = errors.sum(axis=0).astype(np.int64)
    if size > min(counts.shape):
        raise ValueError(f"a window of {size} px does not fit images of {counts.shape}")
    summed = np.pad(counts.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    windows = (
        summed[size:, size:]
        - summed[:-size, size:]
        - summed[size:, :-size]
        + summed[:-size, :-size]
    )
    top, left = np.unravel_index(np.argmax(windows), windows.shape)
    return slice(top, top + size), slice(left, left + size)
