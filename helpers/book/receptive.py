"""Receptive fields, for chapter 2 (FCN): how many input pixels one output pixel can
see, and how far apart neighbouring output pixels sit in the input (the jump).

:func:`receptive_fields` follows a Keras model layer by layer;
:func:`receptive_field_figure` draws both over the 64x84 image.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from helpers import HEIGHT, WIDTH
from helpers.book.palette import tint
from helpers.book.style import FIGURE_WIDTH_IN, TEXT_PT
from helpers.book.upsampling import VERMILLION
from helpers.data.compose import compose_images
from helpers.data.splits import training_digits
from helpers.nets.names import MODEL_LABELS
from helpers.nets.registry import build_model

_TEXT_BOX = {"fc": "white", "ec": "none", "pad": 0.6}
"""White behind labels that reference lines cross."""

_SAME_RECEPTIVE_FIELD = (
    keras.layers.InputLayer,
    keras.layers.Rescaling,
    keras.layers.ZeroPadding2D,
    keras.layers.Cropping2D,
    keras.layers.BatchNormalization,
    keras.layers.LayerNormalization,
    keras.layers.ReLU,
    keras.layers.LeakyReLU,
    keras.layers.Activation,
    keras.layers.Softmax,
    keras.layers.Dropout,
    keras.layers.SpatialDropout2D,
)
"""Layers that work pixel by pixel (or only shift the grid): field and jump stay."""

_CONVOLUTIONS = (
    keras.layers.Conv2D,
    keras.layers.DepthwiseConv2D,
    keras.layers.SeparableConv2D,
)
_POOLINGS = (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)
_MERGES = (
    keras.layers.Add,
    keras.layers.Concatenate,
    keras.layers.Average,
    keras.layers.Maximum,
    keras.layers.Minimum,
    keras.layers.Multiply,
    keras.layers.Subtract,
)
"""Layers that combine several inputs pixel by pixel."""


Pair = tuple[int, int]
"""A size along (rows, columns)."""


def _pair(value: int | Sequence[int]) -> Pair:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _producers(model: keras.Model) -> dict[int, str]:
    """The name of the layer that made each tensor of the model, by the tensor's id."""
    producers = {}
    for layer in model.layers:
        for tensor in keras.tree.flatten(layer.output):
            producers[id(tensor)] = layer.name
    return producers


def _through(layer: keras.layers.Layer, field: Pair, jump: Pair) -> tuple[Pair, Pair]:
    """Receptive field and jump after ``layer``, one axis at a time."""
    if isinstance(layer, _SAME_RECEPTIVE_FIELD):
        return field, jump
    if isinstance(layer, (keras.layers.Conv2DTranspose, *_CONVOLUTIONS)):
        kernel, strides = _pair(layer.kernel_size), _pair(layer.strides)
        dilation = _pair(layer.dilation_rate)
    elif isinstance(layer, _POOLINGS):
        kernel, strides, dilation = _pair(layer.pool_size), _pair(layer.strides), (1, 1)
    else:
        kind = type(layer).__name__
        raise TypeError(f"{layer.name}: no rule for how a {kind} changes the field")
    span = [d * (k - 1) for k, d in zip(kernel, dilation)]  # pixels past the first tap
    if isinstance(layer, keras.layers.Conv2DTranspose):
        if any(j % s for j, s in zip(jump, strides)):
            raise ValueError(f"{layer.name}: jump {jump} does not divide by {strides}")
        # Whole input pixels only: the zeros the stride puts between them are none.
        field = tuple(r + n // s * j for r, n, s, j in zip(field, span, strides, jump))
        return field, tuple(j // s for j, s in zip(jump, strides))
    field = tuple(r + n * j for r, n, j in zip(field, span, jump))
    return field, tuple(j * s for j, s in zip(jump, strides))


def receptive_fields(model: keras.Model) -> list[dict[str, Any]]:
    """Receptive field and jump of an output pixel of each layer of a Functional model.

    The receptive field is how many input pixels (rows, columns) one output
    pixel can depend on; the jump is how many input pixels apart two
    neighbouring output pixels are. Layer by layer in topological order:
    a convolution or pooling with kernel ``k``, stride ``s`` and dilation
    ``d`` gives ``r_out = r_in + d (k - 1) j_in`` and ``j_out = j_in s``. A
    transposed convolution gives ``j_out = j_in / s`` and
    ``r_out = r_in + floor(d (k - 1) / s) j_in``: one output pixel gathers
    at most that many more whole input pixels (the largest field of any
    output pixel; where ``s`` does not divide ``k`` they differ). Pixelwise
    layers, padding and cropping change neither, and "same" or "valid"
    padding moves a field without changing its size. Add and Concatenate
    take the largest field of their inputs and, should the jumps differ,
    the smallest jump (in the book's models they are equal).

    Each row holds ``layer`` (name), ``type``, ``inputs`` (the names of the
    layers feeding it), ``shape`` (output height, width), ``receptive_field``
    and ``jump`` (each a (rows, columns) pair of input pixels). A layer with
    no rule (upsampling by repetition, a nested model, ...) raises TypeError.
    """
    producer = _producers(model)
    state: dict[str, tuple[Pair, Pair]] = {}
    rows = []
    for layer in model.layers:
        inputs, field, jump = [], (1, 1), (1, 1)
        if not isinstance(layer, keras.layers.InputLayer):
            tensors = keras.tree.flatten(layer.input)
            inputs = [producer[id(tensor)] for tensor in tensors]
            if len(inputs) > 1 and not isinstance(layer, _MERGES):
                kind = type(layer).__name__
                raise TypeError(f"{layer.name}: no rule for a {kind} of several inputs")
            fields, jumps = zip(*(state[name] for name in inputs))
            field = tuple(max(sizes) for sizes in zip(*fields))
            jump = tuple(min(sizes) for sizes in zip(*jumps))
            if not isinstance(layer, _MERGES):
                field, jump = _through(layer, field, jump)
        state[layer.name] = field, jump
        shape = keras.tree.flatten(layer.output)[0].shape[1:3]
        rows.append(
            {
                "layer": layer.name,
                "type": type(layer).__name__,
                "inputs": inputs,
                "shape": tuple(int(size) for size in shape),
                "receptive_field": field,
                "jump": jump,
            }
        )
    return rows


def receptive_field_stages(model: keras.Model) -> list[dict[str, Any]]:
    """The rows of :func:`receptive_fields` at each downsampling, bottom and output.

    A downsampling is a layer whose jump is coarser than any before it; the
    bottom is the input of the first transposed convolution (the coarsest
    features, before the decoder or the score upsampling); the output is the
    model's output layer.
    """
    rows = receptive_fields(model)
    by_name = {row["layer"]: row for row in rows}
    stages, coarsest = [], (1, 1)
    for row in rows:
        if row["jump"][0] > coarsest[0] or row["jump"][1] > coarsest[1]:
            coarsest = row["jump"]
            stages.append(row)
    ups = [row for row in rows if row["type"] == "Conv2DTranspose"]
    bottom = [by_name[ups[0]["inputs"][0]]] if ups else []
    output = by_name[_producers(model)[id(model.outputs[0])]]
    for row in [*bottom, output]:
        if row not in stages:
            stages.append(row)
    return stages


def stage_labels(stages: list[dict[str, Any]]) -> list[str]:
    """Words for the rows of :func:`receptive_field_stages`: "pooling 1", "strided
    convolution 2", ..., "before upsampling", "output", rather than layer names."""
    labels, downsamplings = [], 0
    for index, row in enumerate(stages):
        if index == len(stages) - 1:
            labels.append("output")
        elif index == len(stages) - 2 and row["jump"] == stages[index - 1]["jump"]:
            labels.append("before upsampling")
        else:
            downsamplings += 1
            kind = "pooling" if row["type"] == "MaxPooling2D" else "strided convolution"
            labels.append(f"{kind} {downsamplings}")
    return labels


def _example_image(seed: int = 3) -> np.ndarray:
    """One M2NIST image composed from the real MNIST training digits."""

    pixels, labels = training_digits()
    return compose_images(pixels, labels, 1, np.random.default_rng(seed)).images[0]


def _pad_offset(model: keras.Model) -> Pair:
    """Zeros the model pads above and left of the image (0 if it pads nothing)."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.ZeroPadding2D):
            (top, _), (left, _) = layer.padding
            return top, left
    return 0, 0


def receptive_field_figure(
    models: dict[str, keras.Model] | None = None,
    image: np.ndarray | None = None,
) -> Figure:
    """How far one output pixel sees, stage by stage, against the 64x84 image.

    Top: the receptive field at each stage of each model
    (:func:`receptive_field_stages`), columns (thick bar) and rows (thin
    bar), beside the image's height and width. Bottom: the same fields as
    rectangles over an M2NIST image, centred on its centre pixel (the size is
    exact, the position only up to the stride), and the grid of the coarsest
    stage: FCN-32s has one score per 32x32 cell of it, 2x3 for the padded
    image, and only interpolates between them. ``models`` defaults to FCN-8s
    and U-Net.
    """
    if models is None:
        models = {name: build_model(name) for name in ("fcn8s", "unet")}
    image = _example_image() if image is None else np.asarray(image)
    stages = {name: receptive_field_stages(model) for name, model in models.items()}
    labels = [
        f"{MODEL_LABELS.get(name, name)}: {label}"
        for name in stages
        for label in stage_labels(stages[name])
    ]
    bar_height = 0.8 + 0.2 * len(labels)
    fig = plt.figure(figsize=(FIGURE_WIDTH_IN, bar_height + 2.9), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=(bar_height, 2.9))
    bars = top.subplots()
    frames = bottom.subplots(1, len(models), squeeze=False)[0]
    y = 0
    for (name, rows), frame in zip(stages.items(), frames):
        colours = plt.get_cmap("viridis")(np.linspace(0, 0.85, len(rows)))
        for row, colour in zip(rows, colours):
            _field_bar(bars, y, row, colour)
            y += 1
        _draw_fields(frame, name, models[name], rows, colours, image)
    for size, text, align in (
        (HEIGHT, f"image height {HEIGHT} ", "right"),
        (WIDTH, f" width {WIDTH}", "left"),
    ):
        bars.axvline(size, color=VERMILLION, lw=1.2, ls="--")
        style = {"va": "center", "fontsize": TEXT_PT, "color": VERMILLION}
        bars.text(size, -1.0, text, ha=align, **style)
    bars.set_yticks(range(len(labels)), labels, fontsize=TEXT_PT)
    bars.set_ylim(len(labels) - 0.4, -1.6)
    bars.set_xlim(0, bars.get_xlim()[1] * 1.4)
    bars.tick_params(axis="x", labelsize=TEXT_PT)
    bars.set_xlabel(
        "receptive field of one output pixel, in input pixels\n"
        "(step: input pixels between two neighbouring output pixels)",
        fontsize=TEXT_PT,
    )
    handles = [
        Rectangle((0, 0), 1, 1, fc="0.8", ec="0.4", label="columns (width)"),
        Rectangle((0, 0), 1, 1, fc="0.4", label="rows (height)"),
    ]
    top.legend(
        handles=handles,
        loc="outside lower center",
        ncol=2,
        fontsize=TEXT_PT,
        frameon=False,
    )
    bars.spines[["top", "right"]].set_visible(False)
    return fig


def _field_bar(ax: Axes, y: int, row: dict[str, Any], colour: Any) -> None:
    """One stage's field: columns thick and light, rows thin and dark; its numbers."""
    (rows, cols), (step_rows, step_cols) = row["receptive_field"], row["jump"]
    ax.barh(y, cols, height=0.8, color=tint(colour, 0.45), ec=colour)
    ax.barh(y, rows, height=0.3, color=colour)
    step = f"{step_rows}" if step_rows == step_cols else f"{step_rows}×{step_cols}"
    text = f"{rows}×{cols} px, step {step}"
    ax.text(max(rows, cols) + 4, y, text, va="center", fontsize=TEXT_PT, bbox=_TEXT_BOX)


def _draw_fields(
    ax: Axes,
    name: str,
    model: keras.Model,
    rows: list[dict[str, Any]],
    colours: np.ndarray,
    image: np.ndarray,
) -> None:
    """Fields centred on the centre pixel over ``image``; the coarsest stage's grid."""
    height, width = image.shape
    centre, margin = (height // 2, width // 2), 14
    ax.imshow(image, cmap="gray", extent=(-0.5, width - 0.5, height - 0.5, -0.5))
    for row, colour in zip(rows, colours):
        field_rows, field_cols = row["receptive_field"]
        corner = (centre[1] - field_cols / 2, centre[0] - field_rows / 2)
        field = Rectangle(corner, field_cols, field_rows, fc="none", ec=colour, lw=2)
        ax.add_patch(field)
    coarsest_index = max(range(len(rows)), key=lambda index: rows[index]["jump"])
    coarsest, coarsest_label = rows[coarsest_index], stage_labels(rows)[coarsest_index]
    (step_rows, step_cols), (pad_top, pad_left) = coarsest["jump"], _pad_offset(model)
    for x in np.arange(-pad_left - 0.5, width + margin, step_cols):
        ax.axvline(x, color="white", lw=1, ls=":")
    for y in np.arange(-pad_top - 0.5, height + margin, step_rows):
        ax.axhline(y, color="white", lw=1, ls=":")
    ax.plot(centre[1], centre[0], marker="+", color=VERMILLION, ms=9, mew=2)
    ax.set_xlim(-margin, width + margin)
    ax.set_ylim(height + margin, -margin)
    ax.set_facecolor("0.55")
    ax.set_xticks([])
    ax.set_yticks([])
    cells = "×".join(str(size) for size in coarsest["shape"])
    ax.set_title(
        f"{MODEL_LABELS.get(name, name)}: fields of the centre pixel (+)\n"
        f"dotted: grid after {coarsest_label}, one value\n"
        f"per {step_rows}×{step_cols} px, {cells} for the padded image",
        fontsize=TEXT_PT,
    )
