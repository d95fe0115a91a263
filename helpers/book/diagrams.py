"""Block diagrams of the book's networks, read from the built Keras models."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from helpers.book.diagram_layout import (
    BOX_HEIGHT,
    BOX_WIDTH,
    LOOP_LABEL_OFFSET,
    LOOP_ROOM,
    Arrow,
    Box,
    encoder_decoder_layout,
    fcn_layout,
)
from helpers.book.style import FIGURE_WIDTH_IN, TEXT_PT, text_width_pt
from helpers.nets.fcn_parts import (
    SCORE_CONV7_LAYER,
)
from helpers.nets.registry import build_model

_INCHES_PER_UNIT = 0.85
"""Inches per unit of a diagram narrow enough; a wider one is drawn smaller, to fit
:data:`helpers.book.style.FIGURE_WIDTH_IN`."""
_BOX_COLOURS = {
    "io": "#EEEEEE",
    "encoder": "#D6EAF8",
    "bottom": "#E8DAEF",
    "decoder": "#FDEBD0",
    "scores": "#D5F5E3",
}
# Okabe-Ito blue, vermillion and bluish green: dark enough for thin lines on white
_ARROW_STYLES = {
    "main": {"color": "black", "linestyle": "-", "legend": "main path"},
    "skip": {
        "color": "#0072B2",
        "linestyle": "--",
        "legend": "skip connection: encoder features concatenated",
    },
    "residual": {
        "color": "#D55E00",
        "linestyle": "-",
        "legend": "residual shortcut: block input added (1×1: projected)",
    },
    "fusion": {
        "color": "#009E73",
        "linestyle": "-",
        "legend": "score fusion: class scores upsampled and added",
    },
}


def _draw_loop(
    ax: Axes, box: Box, label: str, centre_x: float, options: dict[str, Any]
) -> None:
    """A shortcut loop on a box's outer side (below it for a centred box), with its
    label."""
    half_width, half_height = BOX_WIDTH / 2, BOX_HEIGHT / 2
    if box.x < centre_x:
        side = box.x - half_width
        start, end = (side, box.y + 0.2), (side, box.y - 0.2)
        label_at = (side - LOOP_LABEL_OFFSET, box.y)
    elif box.x > centre_x:
        side = box.x + half_width
        start, end = (side, box.y - 0.2), (side, box.y + 0.2)
        label_at = (side + LOOP_LABEL_OFFSET, box.y)
    else:
        below = box.y - half_height
        start, end, label_at = (
            (box.x - 0.4, below),
            (box.x + 0.4, below),
            (box.x, below - 0.4),
        )
    ax.add_patch(FancyArrowPatch(start, end, connectionstyle="arc3,rad=1.6", **options))
    if label:
        ax.text(
            *label_at,
            label,
            fontsize=TEXT_PT,
            ha="center",
            va="center",
            color=options["color"],
        )


def _draw_arrow(
    ax: Axes,
    arrow: Arrow,
    boxes: dict[str, Box],
    patches: dict[str, FancyBboxPatch],
    centre_x: float,
) -> None:
    """An arrow from box to box, or a shortcut loop on a box's outer side (below it for
    a centred box)."""
    style = _ARROW_STYLES[arrow.kind]
    options = {
        "arrowstyle": "-|>",
        "mutation_scale": 12,
        "color": style["color"],
        "linestyle": style["linestyle"],
        "linewidth": 1.3,
    }
    source = boxes[arrow.source]
    if arrow.source == arrow.target:
        _draw_loop(ax, source, arrow.label, centre_x, options)
        return
    target = boxes[arrow.target]
    ax.add_patch(
        FancyArrowPatch(
            (source.x, source.y),
            (target.x, target.y),
            patchA=patches[arrow.source],
            patchB=patches[arrow.target],
            **options,
        )
    )
    if arrow.label:
        middle = ((source.x + target.x) / 2, (source.y + target.y) / 2)
        ax.annotate(
            arrow.label,
            middle,
            xytext=(4, 0),
            textcoords="offset points",
            fontsize=TEXT_PT,
            va="center",
            color=style["color"],
        )


def _draw_boxes(ax: Axes, boxes: dict[str, Box]) -> dict[str, FancyBboxPatch]:
    """A rounded box per block, coloured by its role, with its text; returns the
    patches by key, for the arrows."""
    patches = {}
    for key, box in boxes.items():
        corner = (box.x - BOX_WIDTH / 2, box.y - BOX_HEIGHT / 2)
        patches[key] = FancyBboxPatch(
            corner,
            BOX_WIDTH,
            BOX_HEIGHT,
            boxstyle="round,pad=0,rounding_size=0.08",
            facecolor=_BOX_COLOURS[box.role],
            edgecolor="grey",
        )
        ax.add_patch(patches[key])
        ax.text(box.x, box.y, box.text, ha="center", va="center", fontsize=TEXT_PT)
    return patches


def _legend_styles(arrows: list[Arrow]) -> list[dict[str, str]]:
    """The style of each kind of arrow drawn, in the order they first appear."""
    return [
        _ARROW_STYLES[kind] for kind in dict.fromkeys(arrow.kind for arrow in arrows)
    ]


def _legend_columns(arrows: list[Arrow]) -> int:
    """2 if the legend's entries fit the page in two columns, else 1.

    An entry is its label and about 3 em for its handle and padding.
    """
    widths = [
        text_width_pt(style["legend"]) + 3 * TEXT_PT for style in _legend_styles(arrows)
    ]
    first = (
        len(widths) + 1
    ) // 2  # the first column's entries: Matplotlib fills columns
    two_columns = max(widths[:first]) + max(widths[first:], default=0) + 2 * TEXT_PT
    return 2 if two_columns <= 72 * FIGURE_WIDTH_IN else 1


def _arrow_legend(fig: Figure, arrows: list[Arrow]) -> None:
    """One legend entry per kind of arrow drawn, in the order they first appear, below
    the diagram."""
    handles = [
        Line2D(
            [],
            [],
            color=style["color"],
            linestyle=style["linestyle"],
            label=style["legend"],
        )
        for style in _legend_styles(arrows)
    ]
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncol=_legend_columns(arrows),
        frameon=False,
        fontsize=TEXT_PT,
    )


def architecture_diagram(model_name: str, **model_kwargs: Any) -> Figure:
    """Block diagram of one of the book's models, with every size read from the built
    model.

    Builds ``models.build_model(model_name, **model_kwargs)`` and draws a box
    per stage with its output size (rows×columns×channels, on the padded
    grid), black arrows for the main path and coloured arrows for skip
    connections, residual shortcuts and score fusion, so the figure always
    matches the code. An unknown ``model_name`` raises ``ValueError``.
    """
    model = build_model(model_name, **model_kwargs)
    fcn = any(layer.name == SCORE_CONV7_LAYER for layer in model.layers)
    boxes, arrows = fcn_layout(model) if fcn else encoder_decoder_layout(model)
    xs, ys = [box.x for box in boxes.values()], [box.y for box in boxes.values()]
    residual = any(arrow.kind == "residual" for arrow in arrows)
    loop_room = LOOP_ROOM if residual else 0.1
    left = min(xs) - BOX_WIDTH / 2 - loop_room
    right = max(xs) + BOX_WIDTH / 2 + loop_room
    bottom = min(ys) - BOX_HEIGHT / 2 - (0.7 if residual else 0.1)
    top = max(ys) + BOX_HEIGHT / 2 + 0.1
    # The constrained layout's padding takes about 0.1 in of the figure's width.
    scale = min(_INCHES_PER_UNIT, (FIGURE_WIDTH_IN - 0.1) / (right - left))
    # Room for the title and the legend, which takes a line per entry in one column.
    legend_lines = len({arrow.kind for arrow in arrows})
    legend_lines = (
        legend_lines if _legend_columns(arrows) == 1 else (legend_lines + 1) // 2
    )
    fig, ax = plt.subplots(
        figsize=(
            scale * (right - left) + 0.1,
            scale * (top - bottom) + 0.45 + 0.2 * legend_lines,
        ),
        layout="constrained",
    )
    ax.set(xlim=(left, right), ylim=(bottom, top), aspect="equal")
    ax.axis("off")
    patches = _draw_boxes(ax, boxes)
    for arrow in arrows:
        _draw_arrow(ax, arrow, boxes, patches, centre_x=(min(xs) + max(xs)) / 2)
    _arrow_legend(fig, arrows)
    ax.set_title(
        f"{model.name}: {model.count_params():,} parameters (sizes on the padded grid)",
        fontsize=10,
    )
    return fig
