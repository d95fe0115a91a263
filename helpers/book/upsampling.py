"""Transposed convolutions, worked by hand for chapter 2 (FCN).

A transposed convolution (:func:`transposed_conv2d`) upsamples: every input
pixel stamps a scaled copy of the kernel into the output, ``stride`` pixels
apart, and where stamps overlap they add. Keras' ``Conv2DTranspose`` does
exactly this with the kernel as stored, not flipped. Started from the
bilinear kernel (:func:`bilinear_kernel`) it interpolates, which is how FCN
initialises its upsamplings; a kernel whose size the stride does not divide
covers the output unevenly (:func:`overlap_counts`), the checkerboard of
Odena et al. (2016).

How far each output pixel sees is in :mod:`helpers.book.receptive`.
"""

from __future__ import annotations

from typing import Any

import keras
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from helpers.book.palette import tint
from helpers.book.style import FIGURE_WIDTH_IN, LABEL_PT, TEXT_PT
from helpers.nets import fcn_parts

EXAMPLE_INPUT = np.array([[1, 2], [3, 4]])
"""The 2x2 input of the worked example: small integers, so every sum reads easily."""

EXAMPLE_KERNEL = np.array([[1, 2, 0], [0, 1, 1], [1, 0, 2]])
"""The 3x3 kernel of the worked example, not symmetric, so a flip would show."""

_STAMP_COLOURS = ("#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#D55E00", "#0072B2")
"""Okabe-Ito colours, one per input pixel and its stamp."""

BLUE, VERMILLION = "#0072B2", "#D55E00"
"""Okabe-Ito: the shades of counts; reference lines and marks."""

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

    One channel of :func:`helpers.nets.fcn_parts.bilinear_kernel`, the kernel the models
    use, as a NumPy array: the weights fall off linearly from the centre,
    ``1 - |tap - centre| / factor`` along each axis.
    """
    if factor < 1:
        raise ValueError(f"factor must be positive, got {factor}")
    return keras.ops.convert_to_numpy(fcn_parts.bilinear_kernel(factor, 1))[:, :, 0, 0]


# Figures of the transposed convolution -----------------------------------------


def _shades(counts: np.ndarray, step: float) -> np.ndarray:
    """One blue per cell, darker the higher its count."""
    return np.vectorize(lambda n: tint(BLUE, step * n), otypes=[object])(counts)


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
        ax.text(col, row, f"{value:g}", ha="center", va="center", fontsize=LABEL_PT)


def _grid_axes(ax: Axes, shape: tuple[int, int], title: str) -> None:
    """Cells of size 1 at integer centres, row 0 on top: one scale in every panel."""
    ax.set_xlim(-0.55, shape[1] - 0.45)
    ax.set_ylim(shape[0] - 0.45, -0.55)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=LABEL_PT)


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
        figsize=(FIGURE_WIDTH_IN, 4.3),
        layout="constrained",
        squeeze=False,
    )
    for ax in axes.ravel():
        ax.axis("off")
    colours = np.empty(x.shape, dtype=object)
    for index, (i, j) in enumerate(np.ndindex(x.shape)):
        colours[i, j] = tint(_STAMP_COLOURS[index], 0.55)
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
        fontsize=LABEL_PT,
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
    profile.bar_label(bars, fontsize=TEXT_PT, padding=2)
    profile.set_ylim(size - 0.5, -0.5)
    profile.set_xlim(0, denominator * 1.4)
    profile.set_yticks(np.arange(0, size, 1 if size <= 8 else 3))
    profile.set_xticks([0, denominator])
    profile.tick_params(labelsize=TEXT_PT)
    profile.set_ylabel("row (tap)", fontsize=LABEL_PT)
    profile.set_title(f"row weight\n(÷ {denominator})", fontsize=LABEL_PT)
    profile.spines[["top", "right"]].set_visible(False)
    # Two axes: each weight is its row's weight times its column's.
    top = numerators.max()
    image.imshow(numerators, cmap="Blues", vmin=0, vmax=1.25 * top, aspect="auto")
    for (row, col), value in np.ndenumerate(numerators):
        colour = "white" if value > 0.65 * top else "black"
        cell = {"ha": "center", "va": "center", "fontsize": TEXT_PT, "color": colour}
        image.text(col, row, str(value), **cell)
    image.set_xticks([])
    image.set_yticks([])
    what = f"{size}×{size} kernel for ×{factor} upsampling"
    weights = f"(÷ {denominator**2}: row weight × column weight)"
    image.set_title(f"{what}\n{weights}", fontsize=LABEL_PT)
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
    size = (FIGURE_WIDTH_IN, 3.1)
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
        dashed = {"fc": "none", "ec": VERMILLION, "lw": 2, "ls": "--"}
        ax.add_patch(Rectangle((edge, edge), side, side, **dashed))
    what = f"Stamps covering each output pixel, {size_in}×{size_in} input"
    fig.suptitle(
        f"{what} (dashed: the interior, away from the border)", fontsize=LABEL_PT
    )
    return fig
