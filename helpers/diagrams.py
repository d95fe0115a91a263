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

from helpers.models import (
    ADD_SUFFIX,
    BOTTOM_BLOCK,
    CONCAT_SUFFIX,
    CROP_LAYER,
    FUSE_4TH_LAYER,
    FUSE_8TH_LAYER,
    INPUT_LAYER,
    PAD_LAYER,
    RELU_SUFFIX,
    SHORTCUT_SUFFIX,
    build_model,
    conv_layer,
    decoder_block,
    encoder_block,
    fcn_stage,
    pool_layer,
    score_layer,
)


@dataclass(frozen=True)
class _Box:
    """One block of an architecture diagram: its text, its centre, and its role (which sets its colour)."""

    text: str
    x: float
    y: float
    role: str


@dataclass(frozen=True)
class _Arrow:
    """A connection between two boxes, of a kind in ``_ARROW_STYLES``; a loop when ``source == target``."""

    source: str
    target: str
    kind: str
    label: str = ""


_BOX_WIDTH, _BOX_HEIGHT = 2.3, 0.8
_ROW_STEP = 1.25
"""Vertical distance between the centres of two rows of boxes (one row per resolution)."""
_BOX_COLOURS = {"io": "#EEEEEE", "encoder": "#D6EAF8", "bottom": "#E8DAEF", "decoder": "#FDEBD0", "scores": "#D5F5E3"}
_ARROW_STYLES = {  # Okabe-Ito blue, vermillion and bluish green: dark enough for thin lines on white
    "main": {"color": "black", "linestyle": "-", "legend": "main path"},
    "skip": {"color": "#0072B2", "linestyle": "--", "legend": "skip connection: encoder features concatenated"},
    "residual": {
        "color": "#D55E00",
        "linestyle": "-",
        "legend": "residual shortcut: block input added (1×1: projected)",
    },
    "fusion": {"color": "#009E73", "linestyle": "-", "legend": "score fusion: class scores upsampled and added"},
}


def _size(layer_output: keras.KerasTensor) -> str:
    """``rows×columns×channels`` of a layer's output (the batch axis dropped)."""
    return "×".join(str(size) for size in layer_output.shape[1:])


def _conv_count(layer_names: set[str], block: str) -> int:
    """How many 3×3 convolutions the block named ``block`` holds (they are numbered from 1)."""
    return sum(conv_layer(block, conv) in layer_names for conv in range(1, len(layer_names) + 1))


def _end_boxes(model: keras.Model, input_x: float, output_x: float, scores_text: str) -> dict[str, _Box]:
    """The input box (with its zero padding) and the output box (with the crop), above the diagram."""
    (_, _), (pad_left, pad_right) = model.get_layer(PAD_LAYER).padding
    (_, _), (crop_left, crop_right) = model.get_layer(CROP_LAYER).cropping
    image, padded = model.get_layer(INPUT_LAYER).output, model.get_layer(PAD_LAYER).output
    input_text = f"image {_size(image)}\npad {pad_left} + {pad_right} columns\n→ {_size(padded)}"
    output_text = f"{scores_text}\ncrop {crop_left} + {crop_right} columns, softmax\n→ {_size(model.output)}"
    return {"input": _Box(input_text, input_x, _ROW_STEP, "io"), "output": _Box(output_text, output_x, _ROW_STEP, "io")}


def _fcn8s_layout(model: keras.Model) -> tuple[dict[str, _Box], list[_Arrow]]:
    """Pooling stages down the left, 1×1 class-score heads in the middle, the fusion chain up the right."""
    names = {layer.name for layer in model.layers}
    n_stages = sum(pool_layer(stage) in names for stage in range(1, len(names) + 1))
    fusion_x = 2 * _BOX_WIDTH + 0.8
    boxes = _end_boxes(model, 0, fusion_x, "up ×4 (transposed conv)")
    arrows = [_Arrow("input", "stage1", "main")]
    for stage in range(1, n_stages + 1):
        convs, pooled = _conv_count(names, fcn_stage(stage)), _size(model.get_layer(pool_layer(stage)).output)
        text = f"stage {stage}: {convs}× conv 3×3\nmax pool 2×2\n→ {pooled}"
        boxes[f"stage{stage}"] = _Box(text, 0, (1 - stage) * _ROW_STEP, "encoder")
        if stage > 1:
            arrows.append(_Arrow(f"stage{stage - 1}", f"stage{stage}", "main"))
    for stage in (2, 3, 4):
        text = f"1×1 conv: class scores\nat 1/{2**stage} size\n{_size(model.get_layer(score_layer(stage)).output)}"
        boxes[f"score{stage}"] = _Box(text, _BOX_WIDTH + 0.4, (1 - stage) * _ROW_STEP, "scores")
        arrows.append(_Arrow(f"stage{stage}", f"score{stage}", "main"))
    fusions = (("score4", "score3", FUSE_8TH_LAYER, 3), (FUSE_8TH_LAYER, "score2", FUSE_4TH_LAYER, 2))
    for coarser, finer, fused, stage in fusions:
        text = f"up ×2 (transposed conv)\n+ scores at 1/{2**stage}\n→ {_size(model.get_layer(fused).output)}"
        boxes[fused] = _Box(text, fusion_x, (1 - stage) * _ROW_STEP, "decoder")
        arrows += [_Arrow(coarser, fused, "fusion"), _Arrow(finer, fused, "fusion")]
    arrows.append(_Arrow(FUSE_4TH_LAYER, "output", "main"))
    return boxes, arrows


def _encoder_decoder_layout(model: keras.Model) -> tuple[dict[str, _Box], list[_Arrow]]:
    """A U: encoder levels down the left, the bottom block, decoder levels up the right, skips across.

    Residual blocks (V-Net) are recognised by their ``_add`` layer and get a
    shortcut loop, labelled ``1×1`` where the shortcut is a projection.
    """
    names = {layer.name for layer in model.layers}
    depth = sum(name.endswith(CONCAT_SUFFIX) for name in names)
    residual = BOTTOM_BLOCK + ADD_SUFFIX in names
    downsampling = "max pool 2×2" if pool_layer(0) in names else "conv 2×2, stride 2"
    decoder_x = 2 * _BOX_WIDTH + 0.8

    def block(name: str) -> str:
        n_convs = _conv_count(names, name)
        last = name if residual else conv_layer(name, n_convs)  # a residual block's ReLU follows its addition
        output = model.get_layer(last + RELU_SUFFIX).output
        return f"{n_convs}× conv 3×3{' + shortcut' if residual else ''}\n{_size(output)}"

    boxes = _end_boxes(model, 0, decoder_x, "1×1 conv: class scores")
    boxes[BOTTOM_BLOCK] = _Box(f"bottom: {block(BOTTOM_BLOCK)}", decoder_x / 2, -depth * _ROW_STEP, "bottom")
    arrows = [_Arrow("input", encoder_block(0), "main"), _Arrow(decoder_block(0), "output", "main")]
    for level in range(depth):
        down, up = encoder_block(level), decoder_block(level)
        last = level == depth - 1
        below, above = (BOTTOM_BLOCK,) * 2 if last else (encoder_block(level + 1), decoder_block(level + 1))
        boxes[down] = _Box(f"level {level}: {block(down)}", 0, -level * _ROW_STEP, "encoder")
        boxes[up] = _Box(f"up-conv 2×2, concatenate,\n{block(up)}", decoder_x, -level * _ROW_STEP, "decoder")
        arrows += [_Arrow(down, below, "main", downsampling), _Arrow(down, up, "skip"), _Arrow(above, up, "main")]
    if residual:
        for key in [BOTTOM_BLOCK, *(side(level) for side in (encoder_block, decoder_block) for level in range(depth))]:
            arrows.append(_Arrow(key, key, "residual", "1×1" if key + SHORTCUT_SUFFIX in names else ""))
    return boxes, arrows


def _draw_loop(ax: Axes, box: _Box, label: str, centre_x: float, options: dict[str, Any]) -> None:
    """A shortcut loop on a box's outer side (below it for a centred box), with its label."""
    half_width, half_height = _BOX_WIDTH / 2, _BOX_HEIGHT / 2
    if box.x < centre_x:
        side = box.x - half_width
        start, end, label_at = (side, box.y + 0.2), (side, box.y - 0.2), (side - 0.6, box.y)
    elif box.x > centre_x:
        side = box.x + half_width
        start, end, label_at = (side, box.y - 0.2), (side, box.y + 0.2), (side + 0.6, box.y)
    else:
        below = box.y - half_height
        start, end, label_at = (box.x - 0.4, below), (box.x + 0.4, below), (box.x, below - 0.4)
    ax.add_patch(FancyArrowPatch(start, end, connectionstyle="arc3,rad=1.6", **options))
    if label:
        ax.text(*label_at, label, fontsize=7, ha="center", va="center", color=options["color"])


def _draw_arrow(
    ax: Axes, arrow: _Arrow, boxes: dict[str, _Box], patches: dict[str, FancyBboxPatch], centre_x: float
) -> None:
    """An arrow from box to box, or a shortcut loop on a box's outer side (below it for a centred box)."""
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
            fontsize=7,
            va="center",
            color=style["color"],
        )


def _draw_boxes(ax: Axes, boxes: dict[str, _Box]) -> dict[str, FancyBboxPatch]:
    """A rounded box per block, coloured by its role, with its text; returns the patches by key, for the arrows."""
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
        ax.text(box.x, box.y, box.text, ha="center", va="center", fontsize=8)
    return patches


def _arrow_legend(fig: Figure, arrows: list[_Arrow]) -> None:
    """One legend entry per kind of arrow drawn, in the order they first appear, below the diagram."""
    styles = [_ARROW_STYLES[kind] for kind in dict.fromkeys(arrow.kind for arrow in arrows)]
    handles = [
        Line2D([], [], color=style["color"], linestyle=style["linestyle"], label=style["legend"]) for style in styles
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False, fontsize="small")


def architecture_diagram(model_name: str, **model_kwargs: Any) -> Figure:
    """Block diagram of one of the book's models, with every size read from the built model.

    Builds ``models.build_model(model_name, **model_kwargs)`` and draws a box
    per stage with its output size (rows×columns×channels, on the padded
    grid), black arrows for the main path and coloured arrows for skip
    connections, residual shortcuts and score fusion, so the figure always
    matches the code. An unknown ``model_name`` raises ``ValueError``.
    """
    model = build_model(model_name, **model_kwargs)
    boxes, arrows = _fcn8s_layout(model) if model_name == "fcn8s" else _encoder_decoder_layout(model)
    xs, ys = [box.x for box in boxes.values()], [box.y for box in boxes.values()]
    loop_room = 0.8 if any(arrow.kind == "residual" for arrow in arrows) else 0.1
    left, right = min(xs) - _BOX_WIDTH / 2 - loop_room, max(xs) + _BOX_WIDTH / 2 + loop_room
    bottom, top = min(ys) - _BOX_HEIGHT / 2 - loop_room, max(ys) + _BOX_HEIGHT / 2 + 0.1
    fig, ax = plt.subplots(figsize=(0.85 * (right - left), 0.85 * (top - bottom) + 0.5), layout="constrained")
    ax.set(xlim=(left, right), ylim=(bottom, top), aspect="equal")
    ax.axis("off")
    patches = _draw_boxes(ax, boxes)
    for arrow in arrows:
        _draw_arrow(ax, arrow, boxes, patches, centre_x=(min(xs) + max(xs)) / 2)
    _arrow_legend(fig, arrows)
    ax.set_title(f"{model.name}: {model.count_params():,} parameters (sizes on the padded grid)", fontsize="medium")
    return fig
