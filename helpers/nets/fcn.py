"""The fully convolutional networks FCN-32s, FCN-16s and FCN-8s of Long, Shelhamer and
Darrell (CVPR 2015).

Chapter 2 shows this module's code, from the imports on, as the cell that defines the
network (a test holds the two equal). One builder, :func:`build_fcn`, makes all three:
a VGG16-style encoder of five pooling stages, the classifier's fully connected layers
turned into convolutions (conv6, conv7), class scores at 1/32 of the size, and then, by
variant, no fusion (32s), the scores of pool4 added (16s), or those of pool4 and pool3
added (8s), before one upsampling to full size. The upsampling and the layer names live
in :mod:`helpers.nets.fcn_parts`.
"""

from __future__ import annotations

import keras
from keras import layers

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
from helpers.nets.fcn_parts import (
    CONV6_LAYER,
    CONV7_LAYER,
    DROPOUT_SUFFIX,
    SCORE_CONV7_LAYER,
    UPSCORE_FULL_LAYER,
    bilinear_upsampling,
    fcn_stage,
    fuse_layer,
    score_layer,
    upscore_layer,
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


def build_fcn(
    variant: str = "8s",
    base_filters: int = FCN_BASE_FILTERS,
    negative_slope: float = NEGATIVE_SLOPE,
    name: str | None = None,
) -> keras.Model:
    """FCN-32s, FCN-16s or FCN-8s (``variant``): class scores from conv7, refined by
    those of pool4 and pool3.

    Five VGG16-style stages pool down to 1/32; conv6 and conv7 stand in for the
    classifier's fully connected layers; zero-initialised 1x1 convolutions score the
    classes; the coarser scores are upsampled x2 and added to the finer ones, and one
    last upsampling brings them to full size. Chapter 2's table lists how this
    differs from the paper.
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
