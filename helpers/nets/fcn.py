"""The fully convolutional networks FCN-32s, FCN-16s and FCN-8s of Long, Shelhamer and
Darrell (CVPR 2015).

One builder, :func:`build_fcn`, makes all three: a VGG16-style encoder of five
pooling stages, the classifier's fully connected layers turned into
convolutions (conv6, conv7), class scores at 1/32 of the size, and then, by
variant, no fusion (32s), the scores of pool4 added (16s), or those of pool4
and pool3 added (8s), before one upsampling to full size. Every upsampling is
a transposed convolution that starts as bilinear interpolation
(:func:`bilinear_kernel`) and learns from there.

The names of the layers that :mod:`helpers.book.diagrams` and the tests look up
are constants and functions here, as in :mod:`helpers.nets.blocks`.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers, ops

from helpers import NUM_CLASSES
from helpers.nets.blocks import (
    NEGATIVE_SLOPE,
    check_positive,
    class_probabilities,
    conv_bn,
    conv_layer,
    padded_grey_input,
    pool_layer,
)

FCN_STAGE_CONVS = (2, 2, 3, 3, 3)
"""3x3 convolutions in each of the five encoder stages, as in VGG16."""

FCN_STAGE_WIDTHS = (1, 2, 4, 8, 8)
"""Filters of each stage in units of ``base_filters``: doubling, the last two equal, as
VGG16's 64 to 512, 512."""

FCN_FC_WIDTH = 12
"""Filters of conv6 and conv7 in units of ``base_filters``: 1.5 times pool5's (VGG16's
fc6, fc7: 4,096, 8 times)."""

FCN_DROPOUT = 0.5
"""Dropout after conv6 and after conv7, VGG16's rate after fc6 and fc7."""

FCN_BASE_FILTERS = 16
"""Default ``base_filters``: FCN-8s gets a budget comparable to the book's U-Net and
V-Net."""

FCN_SKIPS = {"32s": (), "16s": (4,), "8s": (4, 3)}
"""The pooling stages whose class scores each variant adds, coarse to fine; the networks
differ in nothing else."""

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


def build_fcn(
    variant: str = "8s",
    base_filters: int = FCN_BASE_FILTERS,
    negative_slope: float = NEGATIVE_SLOPE,
    name: str | None = None,
) -> keras.Model:
    """FCN-32s, FCN-16s or FCN-8s (``variant``): class scores from conv7, refined by
    those of pool4 and pool3.

    As in the paper: five VGG16 stages (2, 2, 3, 3, 3 convolutions of 3x3,
    each stage ending in 2x2 max pooling, so pool5 is at 1/32); conv6 and
    conv7 in place of the classifier's fully connected layers, each with
    ReLU and dropout 0.5; zero-initialised 1x1 convolutions that score the
    classes on conv7 and, for 16s and 8s, on pool4 and pool3; the coarser
    scores upsampled x2 and added to the finer ones; every upsampling a
    transposed convolution that starts as bilinear interpolation.

    Unlike the paper (500x500 colour photographs, an ImageNet-trained VGG16):

    * trained from scratch and all streams at once; the paper fine-tunes
      ImageNet weights and trains 32s, then 16s, then 8s from it;
    * batch norm after every convolution (VGG16 has none), so convolutions
      have no bias and one learning rate trains the whole network;
    * leaky ReLUs (:data:`helpers.nets.blocks.NEGATIVE_SLOPE`) instead of ReLUs,
      as in all the book's networks;
    * ``base_filters * (1, 2, 4, 8, 8)`` filters, 16 to 128 by default (the
      paper's 64 to 512), and ``base_filters * 12`` (192) for conv6 and conv7,
      1.5 times pool5's (the paper: 4,096, 8 times), for a budget like
      U-Net's and V-Net's;
    * conv6 is 3x5 with ``"same"`` padding, not 7x7 without: fc6 read the
      whole 7x7 pool5 of a 224x224 ImageNet image, pool5 is 2x3 here, and
      3x5 is the smallest kernel that reads all of it from every position
      (odd sides keep the padding symmetric, so nothing shifts);
    * the last upsampling (x32, x16 or x8) learns too; the paper keeps it
      bilinear (its reference code keeps all of them fixed). Bilinear x8
      cannot place a stroke 2-3 pixels wide anywhere inside an 8-pixel cell:
      so fixed, FCN-8s cannot even memorise two training images;
    * the input is zero-padded evenly to a multiple of 32 and the output
      cropped by the same amounts, instead of 100 pixels of padding on the
      first convolution and crop layers after each upsampling.
    """
    if variant not in FCN_SKIPS:
        raise ValueError(
            f"unknown FCN variant {variant!r}; choose one of {sorted(FCN_SKIPS)}"
        )
    check_positive(base_filters=base_filters)
    inputs, x, padding = padded_grey_input(2 ** len(FCN_STAGE_CONVS))
    # Encoder: VGG-style stages, each ending in a pooling that halves the resolution,
    # down to 1/32 (pool5).
    pooled = {}
    for stage, (n_convs, width) in enumerate(
        zip(FCN_STAGE_CONVS, FCN_STAGE_WIDTHS), start=1
    ):
        for conv in range(1, n_convs + 1):
            x = conv_bn(
                x,
                width * base_filters,
                3,
                name=conv_layer(fcn_stage(stage), conv),
                negative_slope=negative_slope,
            )
        x = pooled[stage] = layers.MaxPooling2D(2, name=pool_layer(stage))(x)
    # Fully connected layers as convolutions: conv6 sees all of pool5 from every
    # position, conv7 is 1x1.
    conv6_kernel = tuple(2 * size - 1 for size in x.shape[1:3])
    for fc_layer, kernel in ((CONV6_LAYER, conv6_kernel), (CONV7_LAYER, 1)):
        x = conv_bn(
            x,
            FCN_FC_WIDTH * base_filters,
            kernel,
            name=fc_layer,
            negative_slope=negative_slope,
        )
        x = layers.Dropout(FCN_DROPOUT, name=fc_layer + DROPOUT_SUFFIX)(x)
    # Class scores at 1/32 of the size, from conv7 (zero-initialised, as every score
    # layer).
    scores = layers.Conv2D(
        NUM_CLASSES, 1, kernel_initializer="zeros", name=SCORE_CONV7_LAYER
    )(x)
    # Fusion (16s, 8s): upsample the scores x2 (bilinear at first, learned), add the
    # scores of pool4, then pool3.
    for stage in FCN_SKIPS[variant]:
        scores = bilinear_upsampling(scores, 2, name=upscore_layer(stage))
        skip = layers.Conv2D(
            NUM_CLASSES, 1, kernel_initializer="zeros", name=score_layer(stage)
        )(pooled[stage])
        scores = layers.Add(name=fuse_layer(stage))([scores, skip])
    # Output: upsample to the padded size (x32, x16 or x8, bilinear at first, learned);
    # crop the padding, softmax.
    factor = 2 ** min(FCN_SKIPS[variant], default=len(FCN_STAGE_CONVS))
    scores = bilinear_upsampling(scores, factor, name=UPSCORE_FULL_LAYER)
    return keras.Model(
        inputs, class_probabilities(scores, padding), name=name or f"fcn{variant}"
    )


def build_fcn8s(
    base_filters: int = FCN_BASE_FILTERS,
    negative_slope: float = NEGATIVE_SLOPE,
    name: str = "fcn8s",
) -> keras.Model:
    """FCN-8s: scores of conv7, pool4 and pool3 fused, then upsampled x8 (see
    :func:`build_fcn`)."""
    return build_fcn("8s", base_filters, negative_slope, name)


def build_fcn16s(
    base_filters: int = FCN_BASE_FILTERS,
    negative_slope: float = NEGATIVE_SLOPE,
    name: str = "fcn16s",
) -> keras.Model:
    """FCN-16s: scores of conv7 and pool4 fused, then upsampled x16 (see
    :func:`build_fcn`)."""
    return build_fcn("16s", base_filters, negative_slope, name)


def build_fcn32s(
    base_filters: int = FCN_BASE_FILTERS,
    negative_slope: float = NEGATIVE_SLOPE,
    name: str = "fcn32s",
) -> keras.Model:
    """FCN-32s: scores of conv7 alone, upsampled x32 (see :func:`build_fcn`)."""
    return build_fcn("32s", base_filters, negative_slope, name)
