"""Checks of a figure's text as drawn: no two texts overlap, box texts stay in their boxes."""

from __future__ import annotations

import math
from itertools import combinations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from helpers.book.style import PAGE_WIDTH_IN


def drawn_texts(fig: Figure) -> list[Text]:
    """The visible, non-empty texts of ``fig``, after drawing it (so that their extents are final).

    A tick label counts only within its axis' view, as Matplotlib draws only those.
    """
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    hidden = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not low <= tick.get_loc() <= high:
                    hidden.update((tick.label1, tick.label2))
    return [
        text
        for text in fig.findobj(Text)
        if text.get_visible()
        and text.get_text().strip()
        and text not in hidden
        and text.get_window_extent(renderer).width > 0
    ]


def overlapping_texts(fig: Figure, margin_px: float = 1) -> list[tuple[str, str]]:
    """The pairs of texts of ``fig`` whose drawn extents overlap (each shrunk by ``margin_px``)."""
    renderer = fig.canvas.get_renderer()
    extents = [
        (text.get_text(), text.get_window_extent(renderer).expanded(1, 1))
        for text in drawn_texts(fig)
    ]
    extents = [
        (label, Bbox.from_extents(*(box.p0 + margin_px), *(box.p1 - margin_px)))
        for label, box in extents
    ]
    return [
        (a, b)
        for (a, box_a), (b, box_b) in combinations(extents, 2)
        if box_a.overlaps(box_b)
    ]


def texts_outside_their_boxes(fig: Figure, margin_px: float = 3) -> list[str]:
    """The texts drawn at the centre of a rounded box (an architecture diagram's blocks) that
    come closer than ``margin_px`` to its edge or cross it."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    outside = []
    for ax in fig.axes:
        boxes = [
            patch.get_window_extent(renderer)
            for patch in ax.patches
            if isinstance(patch, FancyBboxPatch)
        ]
        for text in ax.texts:
            if type(text) is not Text:  # an annotation, placed by offset from its point
                continue
            centre = ax.transData.transform(text.get_position())
            around = [box for box in boxes if box.contains(*centre)]
            if around:
                inner = around[0].padded(-margin_px)
                extent = text.get_window_extent(renderer)
                if not (
                    inner.contains(extent.x0, extent.y0)
                    and inner.contains(extent.x1, extent.y1)
                ):
                    outside.append(text.get_text())
    return outside


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
