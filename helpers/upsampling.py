"""Transposed convolutions and receptive fields, worked by hand for chapter 2 (FCN).

A transposed convolution (:func:`transposed_conv2d`) upsamples: every input
pixel stamps a scaled copy of the kernel into the output, ``stride`` pixels
apart, and where stamps overlap they add. Keras' ``Conv2DTranspose`` does
exactly this with the kernel as stored, not flipped. Started from the
bilinear kernel (:func:`bilinear_kernel`) it interpolates, which is how FCN
initialises its upsamplings; a kernel whose size the stride does not divide
covers the output unevenly (:func:`overlap_counts`), the checkerboard of
Odena et al. (2016).

:func:`receptive_fields` follows a Keras model layer by layer and says how
many input pixels one output pixel can see and how far apart neighbouring
output pixels sit in the input (the jump); :func:`receptive_field_figure`
draws both over the 64x84 image.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from helpers import HEIGHT, WIDTH, fcn

EXAMPLE_INPUT = np.array([[1, 2], [3, 4]])
"""The 2x2 input of the worked example: small integers, so every sum reads easily."""

EXAMPLE_KERNEL = np.array([[1, 2, 0], [0, 1, 1], [1, 0, 2]])
"""The 3x3 kernel of the worked example, not symmetric, so a flip would show."""

_STAMP_COLOURS = ("#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#D55E00", "#0072B2")
"""Okabe-Ito colours, one per input pixel and its stamp."""

_BLUE, _VERMILLION = "#0072B2", "#D55E00"
"""Okabe-Ito: the shades of counts; reference lines and marks."""

_TEXT = 10
"""Font size of cell values and labels, in points (the book's minimum is 9)."""

_SMALL = 9
"""Font size where space is tight: the book's minimum."""

_TEXT_BOX = {"fc": "white", "ec": "none", "pad": 0.6}
"""White behind labels that reference lines cross."""

_FIG_WIDTH = 7.1
"""Figure width, inches: with the margin of ``bbox_inches="tight"``, under 7.3."""

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


# Transposed convolution by hand ------------------------------------------------


def transposed_conv2d(x: np.ndarray, kernel: np.ndarray, stride: int) -> np.ndarray:
    """Transposed convolution of one channel, ``padding="valid"``, done by hand.

    Input pixel ``(i, j)`` stamps ``x[i, j] * kernel`` into the output with
    its top-left corner at ``(stride * i, stride * j)``; overlapping stamps
    add. The output has ``(n - 1) * stride + k`` pixels along each axis.
    This is what ``keras.layers.Conv2DTranspose`` computes, with the kernel
    as stored (no flip). Equivalently: spread the input out with
    ``stride - 1`` zeros between pixels, pad ``k - 1`` zeros around, and
    slide the *flipped* kernel over it as an ordinary convolution.
    """
    x, kernel = np.asarray(x, dtype=float), np.asarray(kernel, dtype=float)
    if x.ndim != 2 or kernel.ndim != 2:
        raise ValueError(f"x and kernel must be 2-D, got {x.shape} and {kernel.shape}")
    if stride < 1:
        raise ValueError(f"stride must be positive, got {stride}")
    (rows, cols), (kh, kw) = x.shape, kernel.shape
    out = np.zeros(((rows - 1) * stride + kh, (cols - 1) * stride + kw))
    for i, j in np.ndindex(x.shape):
        top, left = i * stride, j * stride
        out[top : top + kh, left : left + kw] += x[i, j] * kernel
    return out


def overlap_counts(size_in: int, kernel: int, stride: int) -> np.ndarray:
    """How many kernel stamps cover each output pixel of a ``size_in`` square input.

    It is the transposed convolution of an all-ones input with an all-ones
    kernel. Where ``stride`` divides ``kernel`` the interior is covered
    evenly; otherwise the counts alternate (Odena et al. 2016).
    """
    if min(size_in, kernel, stride) < 1:
        raise ValueError(f"sizes must be positive: {size_in=}, {kernel=}, {stride=}")
    ones = np.ones((size_in, size_in)), np.ones((kernel, kernel))
    return transposed_conv2d(*ones, stride).astype(int)


def bilinear_kernel(factor: int) -> np.ndarray:
    """The ``2 * factor``-square kernel that FCN's x``factor`` upsamplings start from.

    One channel of :func:`helpers.fcn.bilinear_kernel`, the kernel the models
    use, as a NumPy array: the weights fall off linearly from the centre,
    ``1 - |tap - centre| / factor`` along each axis.
    """
    if factor < 1:
        raise ValueError(f"factor must be positive, got {factor}")
    return keras.ops.convert_to_numpy(fcn.bilinear_kernel(factor, 1))[:, :, 0, 0]


# Figures of the transposed convolution -----------------------------------------


def _tint(colour: Any, amount: float) -> tuple[float, ...]:
    """``colour`` mixed with white: ``amount`` 1 is the colour, 0 white."""
    return tuple(1 - amount * (1 - np.array(to_rgb(colour))))


def _shades(counts: np.ndarray, step: float) -> np.ndarray:
    """One blue per cell, darker the higher its count."""
    return np.vectorize(lambda n: _tint(_BLUE, step * n), otypes=[object])(counts)


def _cells(
    ax: Axes,
    values: np.ndarray,
    top_left: tuple[float, float] = (0, 0),
    colour: Any = "white",
) -> None:
    """Draw ``values`` as numbered cells; ``colour``: one, or an array, one per cell."""
    if not (isinstance(colour, np.ndarray) and colour.shape == values.shape):
        colours = np.empty(values.shape, dtype=object)
        colours.fill(colour)
        colour = colours
    for (i, j), value in np.ndenumerate(values):
        row, col = top_left[0] + i, top_left[1] + j
        cell = Rectangle((col - 0.5, row - 0.5), 1, 1, fc=colour[i, j], ec="0.3")
        ax.add_patch(cell)
        ax.text(col, row, f"{value:g}", ha="center", va="center", fontsize=_TEXT)


def _grid_axes(ax: Axes, shape: tuple[int, int], title: str) -> None:
    """Cells of size 1 at integer centres, row 0 on top: one scale in every panel."""
    ax.set_xlim(-0.55, shape[1] - 0.45)
    ax.set_ylim(shape[0] - 0.45, -0.55)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=_TEXT)


def _outline(ax: Axes, shape: tuple[int, int]) -> None:
    """The empty output grid, light, under a stamp."""
    for row, col in np.ndindex(shape):
        ax.add_patch(Rectangle((col - 0.5, row - 0.5), 1, 1, fc="none", ec="0.85"))


def _centred(inner: tuple[int, ...], outer: tuple[int, ...]) -> tuple[int, int]:
    """Top-left cell that centres a grid of shape ``inner`` in one of ``outer``."""
    return (outer[0] - inner[0]) // 2, (outer[1] - inner[1]) // 2


def transposed_conv_figure(
    x: np.ndarray = EXAMPLE_INPUT,
    kernel: np.ndarray = EXAMPLE_KERNEL,
    stride: int = 2,
) -> Figure:
    """The transposed convolution by hand: input, kernel, one stamp per pixel, sum.

    Top row: the input (each pixel in its own colour), the kernel, the output
    (the sum of the stamps, each stamp outlined in its pixel's colour) and
    how many stamps cover each output pixel. Bottom row: each input pixel's
    stamp, ``x[i, j] * kernel``, placed in the output grid ``stride`` pixels
    from its neighbours' stamps.
    """
    x, kernel = np.asarray(x), np.asarray(kernel)
    out = transposed_conv2d(x, kernel, stride)
    if x.size > len(_STAMP_COLOURS):
        raise ValueError(f"at most {len(_STAMP_COLOURS)} input pixels, got {x.size}")
    fig, axes = plt.subplots(
        2,
        max(4, x.size),
        figsize=(_FIG_WIDTH, 4.3),
        layout="constrained",
        squeeze=False,
    )
    for ax in axes.ravel():
        ax.axis("off")
    colours = np.empty(x.shape, dtype=object)
    for index, (i, j) in enumerate(np.ndindex(x.shape)):
        colours[i, j] = _tint(_STAMP_COLOURS[index], 0.55)
    # Top row: input and kernel (centred in a grid the size of the output), sum, counts.
    panels = ((x, colours, "input x"), (kernel, "0.93", "kernel k"))
    for ax, (values, colour, title) in zip(axes[0], panels):
        _grid_axes(ax, out.shape, title)
        _cells(ax, values, _centred(values.shape, out.shape), colour)
    counts = transposed_conv2d(np.ones(x.shape), np.ones(kernel.shape), stride)
    shades = _shades(counts, 0.15)
    _grid_axes(axes[0, 2], out.shape, "output = sum of stamps")
    _cells(axes[0, 2], out, colour=shades)
    for index, (i, j) in enumerate(np.ndindex(x.shape)):
        inset = 0.06 + 0.07 * index  # nested a little, so overlapping outlines show
        corner = (stride * j - 0.5 + inset, stride * i - 0.5 + inset)
        width, height = kernel.shape[1] - 2 * inset, kernel.shape[0] - 2 * inset
        edge = _STAMP_COLOURS[index]
        axes[0, 2].add_patch(Rectangle(corner, width, height, fc="none", ec=edge, lw=2))
    _grid_axes(axes[0, 3], out.shape, "stamps per pixel")
    _cells(axes[0, 3], counts, colour=shades)
    # Bottom row: the stamps, each in the colour of its input pixel.
    for ax, (i, j) in zip(axes[1], np.ndindex(x.shape)):
        _grid_axes(ax, out.shape, f"x[{i},{j}] × k = {x[i, j]:g} × k")
        _outline(ax, out.shape)
        _cells(ax, x[i, j] * kernel, (stride * i, stride * j), colours[i, j])
    pixels = f"{stride} pixel{'s' if stride > 1 else ''}"
    fig.suptitle(
        f"Transposed convolution, stride {stride}: each input pixel stamps the"
        f" kernel, scaled by its value,\n{pixels} from its neighbours' stamps;"
        " where stamps overlap (outlines), they add",
        fontsize=_TEXT,
    )
    return fig


def bilinear_kernel_figure(factor: int = 2) -> Figure:
    """The bilinear kernel of a x``factor`` upsampling: weights along one axis, and 2-D.

    The weights are exact fractions, shown as integers over one denominator;
    each 2-D weight is its row's weight times its column's. With stride
    ``factor`` the taps that land on any one output pixel sum to 1, which is
    why a constant image comes out constant.
    """
    kernel = bilinear_kernel(factor)
    size = 2 * factor
    denominator = 2 * factor
    taps = np.rint(np.sqrt(np.diag(kernel)) * denominator).astype(int)
    numerators = np.outer(taps, taps)
    side = min(0.5, 5.0 / size) * size  # inches of the 2-D kernel
    fig, (profile, image) = plt.subplots(
        1,
        2,
        figsize=(side + 2.0, side + 0.8),
        layout="constrained",
        width_ratios=(1.5, side),
    )
    # One axis: the weights fall off linearly from the centre (rows as in the image).
    bars = profile.barh(np.arange(size), taps, height=0.75, color="#56B4E9", ec="0.3")
    profile.bar_label(bars, fontsize=_SMALL, padding=2)
    profile.set_ylim(size - 0.5, -0.5)
    profile.set_xlim(0, denominator * 1.4)
    profile.set_yticks(np.arange(0, size, 1 if size <= 8 else 3))
    profile.set_xticks([0, denominator])
    profile.tick_params(labelsize=_SMALL)
    profile.set_ylabel("row (tap)", fontsize=_TEXT)
    profile.set_title(f"row weight\n(÷ {denominator})", fontsize=_TEXT)
    profile.spines[["top", "right"]].set_visible(False)
    # Two axes: each weight is its row's weight times its column's.
    top = numerators.max()
    image.imshow(numerators, cmap="Blues", vmin=0, vmax=1.25 * top, aspect="auto")
    for (row, col), value in np.ndenumerate(numerators):
        colour = "white" if value > 0.65 * top else "black"
        cell = {"ha": "center", "va": "center", "fontsize": _SMALL, "color": colour}
        image.text(col, row, str(value), **cell)
    image.set_xticks([])
    image.set_yticks([])
    what = f"{size}×{size} kernel for ×{factor} upsampling"
    weights = f"(÷ {denominator**2}: row weight × column weight)"
    image.set_title(f"{what}\n{weights}", fontsize=_TEXT)
    return fig


def _interior(counts: np.ndarray, kernel: int) -> np.ndarray:
    """The output pixels at least ``kernel - 1`` from the border (all stamps reach)."""
    trim = kernel - 1
    return counts[trim : counts.shape[0] - trim, trim : counts.shape[1] - trim]


def checkerboard_figure(size_in: int = 4) -> Figure:
    """Stamps per output pixel for kernels 3, 4 and 2 at stride 2 (Odena et al. 2016).

    Kernel 3 at stride 2 covers the output unevenly, 1, 2 and 4 stamps in a
    checkerboard: an upsampling that starts (or learns to be) uniform draws
    the pattern into its output. Kernels that the stride divides (4 and 2)
    cover the interior evenly (inside the dashed line, away from the border
    that fewer stamps reach).
    """
    cases = ((3, 2), (4, 2), (2, 2))
    counts = [overlap_counts(size_in, kernel, stride) for kernel, stride in cases]
    largest = max(count.shape[0] for count in counts)
    size = (_FIG_WIDTH, 3.1)
    fig, axes = plt.subplots(1, len(cases), figsize=size, layout="constrained")
    for ax, (kernel, stride), count in zip(axes, cases, counts):
        inside = np.unique(_interior(count, kernel))
        verdict = "uneven" if len(inside) > 1 else "even"
        values = ", ".join(str(value) for value in inside)
        title = f"kernel {kernel}, stride {stride}\n{verdict}: {values}"
        _grid_axes(ax, (largest, largest), title)
        offset = (largest - count.shape[0]) / 2
        _cells(ax, count, (offset, offset), _shades(count, 0.18))
        edge, side = offset + kernel - 1.5, count.shape[0] - 2 * (kernel - 1)
        dashed = {"fc": "none", "ec": _VERMILLION, "lw": 2, "ls": "--"}
        ax.add_patch(Rectangle((edge, edge), side, side, **dashed))
    what = f"Stamps covering each output pixel, {size_in}×{size_in} input"
    fig.suptitle(f"{what} (dashed: the interior, away from the border)", fontsize=_TEXT)
    return fig


# Receptive fields ---------------------------------------------------------------


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


def _example_image(seed: int = 3) -> np.ndarray:
    """One M2NIST image composed from the real MNIST training digits."""
    from helpers.compose import compose_images
    from helpers.data import training_digits

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
        from helpers.models import build_model

        models = {name: build_model(name) for name in ("fcn8s", "unet")}
    image = _example_image() if image is None else np.asarray(image)
    stages = {name: receptive_field_stages(model) for name, model in models.items()}
    labels = [f"{name}: {row['layer']}" for name in stages for row in stages[name]]
    bar_height = 0.8 + 0.2 * len(labels)
    fig = plt.figure(figsize=(_FIG_WIDTH, bar_height + 2.9), layout="constrained")
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
        bars.axvline(size, color=_VERMILLION, lw=1.2, ls="--")
        style = {"va": "center", "fontsize": _SMALL, "color": _VERMILLION}
        bars.text(size, -1.0, text, ha=align, **style)
    bars.set_yticks(range(len(labels)), labels, fontsize=_SMALL)
    bars.set_ylim(len(labels) - 0.4, -1.6)
    bars.set_xlim(0, bars.get_xlim()[1] * 1.4)
    bars.tick_params(axis="x", labelsize=_SMALL)
    bars.set_xlabel(
        "receptive field of one output pixel, in input pixels\n"
        "(step: input pixels between two neighbouring output pixels)",
        fontsize=_SMALL,
    )
    handles = [
        Rectangle((0, 0), 1, 1, fc="0.8", ec="0.4", label="columns (width)"),
        Rectangle((0, 0), 1, 1, fc="0.4", label="rows (height)"),
    ]
    bars.legend(handles=handles, loc="lower right", fontsize=_SMALL, frameon=False)
    bars.spines[["top", "right"]].set_visible(False)
    return fig


def _field_bar(ax: Axes, y: int, row: dict[str, Any], colour: Any) -> None:
    """One stage's field: columns thick and light, rows thin and dark; its numbers."""
    (rows, cols), (step_rows, step_cols) = row["receptive_field"], row["jump"]
    ax.barh(y, cols, height=0.8, color=_tint(colour, 0.45), ec=colour)
    ax.barh(y, rows, height=0.3, color=colour)
    step = f"{step_rows}" if step_rows == step_cols else f"{step_rows}×{step_cols}"
    text = f"{rows}×{cols} px, step {step}"
    ax.text(max(rows, cols) + 4, y, text, va="center", fontsize=_SMALL, bbox=_TEXT_BOX)


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
    coarsest = max(rows, key=lambda row: row["jump"])
    (step_rows, step_cols), (pad_top, pad_left) = coarsest["jump"], _pad_offset(model)
    for x in np.arange(-pad_left - 0.5, width + margin, step_cols):
        ax.axvline(x, color="white", lw=1, ls=":")
    for y in np.arange(-pad_top - 0.5, height + margin, step_rows):
        ax.axhline(y, color="white", lw=1, ls=":")
    ax.plot(centre[1], centre[0], marker="+", color=_VERMILLION, ms=9, mew=2)
    ax.set_xlim(-margin, width + margin)
    ax.set_ylim(height + margin, -margin)
    ax.set_facecolor("0.55")
    ax.set_xticks([])
    ax.set_yticks([])
    cells = "×".join(str(size) for size in coarsest["shape"])
    ax.set_title(
        f"{name}: fields of the centre pixel (+)\n"
        f"dotted: {coarsest['layer']} grid, 1 value per {step_rows}×{step_cols} px,\n"
        f"{cells} values for the padded image",
        fontsize=_SMALL,
    )
