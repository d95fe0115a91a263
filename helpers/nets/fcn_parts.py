"""FCN's upsampling and the names of its layers: what :mod:`helpers.nets.fcn` builds
with, besides :mod:`helpers.nets.blocks`.

Every upsampling of the FCNs is a transposed convolution that starts as bilinear
interpolation (:func:`bilinear_kernel`) and learns from there. The layer names are a
contract, as in :mod:`helpers.nets.blocks`: :mod:`helpers.book.diagrams` and the tests
look layers up by them.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers, ops

from helpers import NUM_CLASSES

CONV6_LAYER, CONV7_LAYER, DROPOUT_SUFFIX = "conv6", "conv7", "_drop"
"""The convolutionalised fully connected layers, each with batch norm, ReLU and a
dropout named with the suffix."""

SCORE_CONV7_LAYER = "score_conv7"
"""The 1x1 convolution that scores the classes from conv7, at 1/32 of the size."""

UPSCORE_FULL_LAYER = "upscore_to_full"
"""The last upsampling, to the padded input size: x32, x16 or x8."""


def fcn_stage(stage: int) -> str:
    """Name of FCN encoder stage ``stage`` (from 1): the prefix of its convolutions."""
    return f"stage{stage}"


def score_layer(stage: int) -> str:
    """Name of the 1x1 convolution that scores the classes after pooling ``stage`` (at
    1/2**stage size)."""
    return f"score_pool{stage}"


def upscore_layer(stage: int) -> str:
    """Name of the x2 upsampling that brings the coarser scores to the size of pooling
    ``stage``."""
    return f"upscore_to_pool{stage}"


def fuse_layer(stage: int) -> str:
    """Name of the addition of the upsampled coarser scores and the scores of pooling
    ``stage``."""
    return f"fuse_pool{stage}"


def bilinear_kernel(factor: int, channels: int) -> Any:
    """Kernel ``(2 * factor, 2 * factor, channels, channels)`` of a transposed
    convolution that interpolates bilinearly.

    Each channel is interpolated on its own (the off-diagonal channel pairs
    are zero). With stride ``factor`` and ``padding="same"``, input cell ``i``
    lands centred on output pixels ``factor * i .. factor * i + factor - 1``,
    the pixels that pooling merged into it, so nothing shifts.
    """
    centre = factor - 0.5
    taps = ops.convert_to_tensor(
        [1 - abs(tap - centre) / factor for tap in range(2 * factor)]
    )
    return ops.einsum("i,j,kl->ijkl", taps, taps, ops.eye(channels))


def bilinear_upsampling(
    x: keras.KerasTensor, factor: int, name: str
) -> keras.KerasTensor:
    """Upsample class scores ``factor``-fold by a transposed convolution that starts as
    bilinear interpolation.

    The kernel is set once the layer is built; it is saved with the weights, so a
    reloaded model needs nothing custom.
    """
    upsampling = layers.Conv2DTranspose(
        NUM_CLASSES,
        2 * factor,
        strides=factor,
        padding="same",
        use_bias=False,
        name=name,
    )
    x = upsampling(x)
    upsampling.kernel.assign(bilinear_kernel(factor, NUM_CLASSES))
    return x
