"""Block diagrams of the book's networks, read from the built Keras models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from helpers.blocks import (
    CROP_LAYER,
    INPUT_LAYER,
    PAD_LAYER,
    RELU_SUFFIX,
    conv_layer,
    pool_layer,
)
from helpers.fcn import (
    CONV6_LAYER,
    CONV7_LAYER,
    DROPOUT_SUFFIX,
    SCORE_CONV7_LAYER,
    UPSCORE_FULL_LAYER,
    fcn_stage,
    fuse_layer,
    score_layer,
)
from helpers.models import (
    ADD_SUFFIX,
    BOTTOM_BLOCK,
    CONCAT_SUFFIX,
    SHORTCUT_SUFFIX,
    build_model,
    decoder_block,
    encoder_block,
)
from helpers.plotting import FIGURE_WIDTH_IN, TEXT_PT, text_width_pt


@dataclass(frozen=True)
class _Box:
    """One block of an architecture diagram: its text, its centre, and its role (which
    sets its colour)."""

    text: str
    x: float
    y: float
    role: str


@dataclass(frozen=True)
class _Arrow:
    """A connection between two boxes, of a kind in ``_ARROW_STYLES``; a loop when
    ``source == target``."""

    source: str
    target: str
    kind: str
    label: str = ""


_BOX_WIDTH, _BOX_HEIGHT = 2.6, 0.8
"""Size of a box, in the diagram's units (each at most :data:`_INCHES_PER_UNIT` in)."""
_ROW_STEP = 1.25
"""Vertical distance between the centres of two rows of boxes (a row per resolution)."""
_COLUMN_GAP = 0.4
"""Horizontal room between two columns of boxes joined by short arrows (FCN)."""
_SKIP_GAP = 1.7
"""Horizontal room between the encoder and the decoder, which the skip arrows cross."""
_LOOP_LABEL_OFFSET, _LOOP_ROOM = 0.6, 0.8
"""How far a shortcut loop's label sits from its box, and the room the loops take."""
_INCHES_PER_UNIT = 0.85
"""Inches per unit of a diagram narrow enough; a wider one is drawn smaller, to fit
:data:`helpers.plotting.FIGURE_WIDTH_IN`."""
_TEXT_PT = TEXT_PT
"""Size of every text but the title: boxes, arrow and loop labels, legend."""
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


def _size(layer_output: keras.KerasTensor) -> str:
    """``rows×columns×channels`` of a layer's output (the batch axis dropped)."""
    return "×".join(str(size) for size in layer_output.shape[1:])


def _conv_count(layer_names: set[str], block: str) -> int:
    """How many 3×3 convolutions the block named ``block`` holds (numbered from 1)."""
    return sum(
        conv_layer(block, conv) in layer_names
        for conv in range(1, len(layer_names) + 1)
    )


def _end_boxes(
    model: keras.Model, input_x: float, output_x: float, scores_text: str
) -> dict[str, _Box]:
    """The input box (with its zero padding) and the output box (with the crop), above
    the diagram."""
    (_, _), (pad_left, pad_right) = model.get_layer(PAD_LAYER).padding
    (_, _), (crop_left, crop_right) = model.get_layer(CROP_LAYER).cropping
    image, padded = (
        model.get_layer(INPUT_LAYER).output,
        model.get_layer(PAD_LAYER).output,
    )
    input_text = (
        f"image {_size(image)}\npad {pad_left} + {pad_right} columns\n→ {_size(padded)}"
    )
    output_text = (
        f"{scores_text}\ncrop {crop_left} + {crop_right} columns, softmax\n"
        f"→ {_size(model.output)}"
    )
    return {
        "input": _Box(input_text, input_x, _ROW_STEP, "io"),
        "output": _Box(output_text, output_x, _ROW_STEP, "io"),
    }


def _fcn_layout(model: keras.Model) -> tuple[dict[str, _Box], list[_Arrow]]:
    """Pooling stages and conv6-7 down the left, 1×1 class-score heads in the middle,
    the fusions up the right.

    Which scores are fused is read from the layers, so FCN-32s, 16s and 8s share the
    layout.
    """
    names = {layer.name for layer in model.layers}
    n_stages = sum(pool_layer(stage) in names for stage in range(1, len(names) + 1))
    fused = [
        stage for stage in reversed(range(1, n_stages)) if fuse_layer(stage) in names
    ]
    score_x, fusion_x = _BOX_WIDTH + _COLUMN_GAP, 2 * (_BOX_WIDTH + _COLUMN_GAP)

    def row(stage: int) -> float:
        """Height of the boxes at the resolution of pooling ``stage`` (conv6-7: the row
        below the last stage)."""
        return (1 - stage) * _ROW_STEP

    boxes = _end_boxes(
        model,
        0,
        fusion_x,
        f"up ×{model.get_layer(UPSCORE_FULL_LAYER).strides[0]} (transposed conv)",
    )
    arrows = [_Arrow("input", fcn_stage(1), "main")]
    for stage in range(1, n_stages + 1):
        convs, pooled = (
            _conv_count(names, fcn_stage(stage)),
            _size(model.get_layer(pool_layer(stage)).output),
        )
        boxes[fcn_stage(stage)] = _Box(
            f"stage {stage}: {convs}× conv 3×3\nmax pool 2×2\n→ {pooled}",
            0,
            row(stage),
            "encoder",
        )
        if stage > 1:
            arrows.append(_Arrow(fcn_stage(stage - 1), fcn_stage(stage), "main"))
    kernel = "×".join(str(size) for size in model.get_layer(CONV6_LAYER).kernel_size)
    dropout = model.get_layer(CONV7_LAYER + DROPOUT_SUFFIX).rate
    features = _size(model.get_layer(CONV7_LAYER + RELU_SUFFIX).output)
    text = f"conv6 {kernel}, conv7 1×1\ndropout {dropout} after each\n→ {features}"
    boxes[CONV7_LAYER] = _Box(text, 0, row(n_stages + 1), "bottom")
    arrows.append(_Arrow(fcn_stage(n_stages), CONV7_LAYER, "main"))
    heads = [
        (CONV7_LAYER, CONV7_LAYER, SCORE_CONV7_LAYER, n_stages, row(n_stages + 1))
    ]  # box, layer scored, ...
    heads += [
        (fcn_stage(stage), pool_layer(stage), score_layer(stage), stage, row(stage))
        for stage in fused
    ]
    for source, scored, head, stage, y in heads:
        text = (
            f"1×1 conv: class scores\nof {scored}, 1/{2**stage} size\n"
            f"{_size(model.get_layer(head).output)}"
        )
        boxes[head] = _Box(text, score_x, y, "scores")
        arrows.append(_Arrow(source, head, "main"))
    coarser = SCORE_CONV7_LAYER
    for stage in fused:
        fuse = fuse_layer(stage)
        text = (
            f"up ×2 (transposed conv)\n+ scores of {pool_layer(stage)}\n"
            f"→ {_size(model.get_layer(fuse).output)}"
        )
        boxes[fuse] = _Box(text, fusion_x, row(stage), "decoder")
        arrows += [
            _Arrow(coarser, fuse, "fusion"),
            _Arrow(score_layer(stage), fuse, "fusion"),
        ]
        coarser = fuse
    arrows.append(_Arrow(coarser, "output", "main"))
    return boxes, arrows


def _encoder_decoder_layout(model: keras.Model) -> tuple[dict[str, _Box], list[_Arrow]]:
    """A U: encoder levels down the left, the bottom block, decoder levels up the
    right, skips across.

    Residual blocks (V-Net) are recognised by their ``_add`` layer and get a
    shortcut loop, labelled ``1×1`` where the shortcut is a projection.
    """
    names = {layer.name for layer in model.layers}
    depth = sum(name.endswith(CONCAT_SUFFIX) for name in names)
    residual = BOTTOM_BLOCK + ADD_SUFFIX in names
    downsampling = "max pool 2×2" if pool_layer(0) in names else "conv 2×2, stride 2"
    decoder_x = _BOX_WIDTH + _SKIP_GAP

    def block(name: str, shortcut_apart: bool = True) -> str:
        """The block's convolutions and output size; a shortcut on a line of its own
        unless ``shortcut_apart`` is false (the decoder's first line is long)."""
        n_convs = _conv_count(names, name)
        # a residual block's ReLU follows its addition
        last = name if residual else conv_layer(name, n_convs)
        output = model.get_layer(last + RELU_SUFFIX).output
        shortcut = ("\n" if shortcut_apart else " ") + "+ shortcut" if residual else ""
        return f"{n_convs}× conv 3×3{shortcut}\n{_size(output)}"

    boxes = _end_boxes(model, 0, decoder_x, "1×1 conv: class scores")
    boxes[BOTTOM_BLOCK] = _Box(
        f"bottom: {block(BOTTOM_BLOCK)}", decoder_x / 2, -depth * _ROW_STEP, "bottom"
    )
    arrows = [
        _Arrow("input", encoder_block(0), "main"),
        _Arrow(decoder_block(0), "output", "main"),
    ]
    for level in range(depth):
        down, up = encoder_block(level), decoder_block(level)
        last = level == depth - 1
        below, above = (
            (BOTTOM_BLOCK,) * 2
            if last
            else (encoder_block(level + 1), decoder_block(level + 1))
        )
        boxes[down] = _Box(
            f"level {level}: {block(down)}", 0, -level * _ROW_STEP, "encoder"
        )
        boxes[up] = _Box(
            f"up-conv 2×2, concatenate,\n{block(up, shortcut_apart=False)}",
            decoder_x,
            -level * _ROW_STEP,
            "decoder",
        )
        arrows += [
            _Arrow(down, below, "main", downsampling),
            _Arrow(down, up, "skip"),
            _Arrow(above, up, "main"),
        ]
    if residual:
        for key in [
            BOTTOM_BLOCK,
            *(
                side(level)
                for side in (encoder_block, decoder_block)
                for level in range(depth)
            ),
        ]:
            arrows.append(
                _Arrow(
                    key,
                    key,
                    "residual",
                    "1×1" if key + SHORTCUT_SUFFIX in names else "",
                )
            )
    return boxes, arrows


def _draw_loop(
    ax: Axes, box: _Box, label: str, centre_x: float, options: dict[str, Any]
) -> None:
    """A shortcut loop on a box's outer side (below it for a centred box), with its
    label."""
    half_width, half_height = _BOX_WIDTH / 2, _BOX_HEIGHT / 2
    if box.x < centre_x:
        side = box.x - half_width
        start, end = (side, box.y + 0.2), (side, box.y - 0.2)
        label_at = (side - _LOOP_LABEL_OFFSET, box.y)
    elif box.x > centre_x:
        side = box.x + half_width
        start, end = (side, box.y - 0.2), (side, box.y + 0.2)
        label_at = (side + _LOOP_LABEL_OFFSET, box.y)
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
            fontsize=_TEXT_PT,
            ha="center",
            va="center",
            color=options["color"],
        )


def _draw_arrow(
    ax: Axes,
    arrow: _Arrow,
    boxes: dict[str, _Box],
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
            fontsize=_TEXT_PT,
            va="center",
            color=style["color"],
        )


def _draw_boxes(ax: Axes, boxes: dict[str, _Box]) -> dict[str, FancyBboxPatch]:
    """A rounded box per block, coloured by its role, with its text; returns the
    patches by key, for the arrows."""
    patches = {}
    for key, box in boxes.items():
        corner = (box.x - _BOX_WIDTH / 2, box.y - _BOX_HEIGHT / 2)
        patches[key] = FancyBboxPatch(
            corner,
            _BOX_WIDTH,
            _BOX_HEIGHT,
            boxstyle="round,pad=0,rounding_size=0.08",
            facecolor=_BOX_COLOURS[box.role],
            edgecolor="grey",
        )
        ax.add_patch(patches[key])
        ax.text(box.x, box.y, box.text, ha="center", va="center", fontsize=_TEXT_PT)
    return patches


def _legend_styles(arrows: list[_Arrow]) -> list[dict[str, str]]:
    """The style of each kind of arrow drawn, in the order they first appear."""
    return [
        _ARROW_STYLES[kind] for kind in dict.fromkeys(arrow.kind for arrow in arrows)
    ]


def _legend_columns(arrows: list[_Arrow]) -> int:
    """2 if the legend's entries fit the page in two columns, else 1.

    An entry is its label and about 3 em for its handle and padding.
    """
    widths = [
        text_width_pt(style["legend"]) + 3 * _TEXT_PT
        for style in _legend_styles(arrows)
    ]
    first = (
        len(widths) + 1
    ) // 2  # the first column's entries: Matplotlib fills columns
    two_columns = max(widths[:first]) + max(widths[first:], default=0) + 2 * _TEXT_PT
    return 2 if two_columns <= 72 * FIGURE_WIDTH_IN else 1


def _arrow_legend(fig: Figure, arrows: list[_Arrow]) -> None:
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
        fontsize=_TEXT_PT,
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
    boxes, arrows = _fcn_layout(model) if fcn else _encoder_decoder_layout(model)
    xs, ys = [box.x for box in boxes.values()], [box.y for box in boxes.values()]
    residual = any(arrow.kind == "residual" for arrow in arrows)
    loop_room = _LOOP_ROOM if residual else 0.1
    left = min(xs) - _BOX_WIDTH / 2 - loop_room
    right = max(xs) + _BOX_WIDTH / 2 + loop_room
    bottom = min(ys) - _BOX_HEIGHT / 2 - (0.7 if residual else 0.1)
    top = max(ys) + _BOX_HEIGHT / 2 + 0.1
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
