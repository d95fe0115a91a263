"""A 2D V-Net (Milletari et al., 2016) for M2NIST: residual blocks, strided
convolutions instead of pooling, concatenated skips.

Chapter 4 shows this module's code, from the imports on, as the cell that defines the
network (a test holds the two equal).
"""

from __future__ import annotations

import keras
from keras import layers

from helpers import NUM_CLASSES
from helpers.nets import blocks

VNET_MAX_CONVS = 3
"""V-Net residual blocks hold ``level + 1`` convolutions, at most this many."""


def residual_block(
    x: keras.KerasTensor,
    filters: int,
    n_convs: int,
    name: str,
    negative_slope: float = blocks.NEGATIVE_SLOPE,
) -> keras.KerasTensor:
    """V-Net residual block: ``n_convs`` 3x3 convolutions added to a shortcut, then a
    leaky ReLU.

    The shortcut is the identity when the channel count is kept and a linear
    1x1 convolution where it changes, so the addition is always defined.
    """
    shortcut = x
    if x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, name=name + blocks.SHORTCUT_SUFFIX)(x)
    for conv in range(1, n_convs + 1):
        x = blocks.conv_bn(
            x,
            filters,
            3,
            name=blocks.conv_layer(name, conv),
            relu=conv < n_convs,
            negative_slope=negative_slope,
        )
    x = layers.Add(name=name + blocks.ADD_SUFFIX)([x, shortcut])
    return layers.ReLU(negative_slope=negative_slope, name=name + blocks.RELU_SUFFIX)(x)


def build_vnet(
    base_filters: int = 10,
    depth: int = 4,
    negative_slope: float = blocks.NEGATIVE_SLOPE,
    name: str = "vnet",
) -> keras.Model:
    """2D V-Net: residual blocks, strided convolutions instead of pooling, concatenated
    skips.

    Level ``k`` is a residual block of ``min(k + 1, 3)`` 3x3 convolutions with
    ``base_filters * 2**k`` filters. Going down, a 2x2 stride-2 convolution
    halves the resolution and doubles the channels (learned, unlike pooling);
    going up, a 2x2 stride-2 transposed convolution halves the channels, the
    encoder features of the level are concatenated, and a residual block
    (1x1 shortcut, since the concatenation doubled the channels) refines them.
    """
    blocks.check_positive(base_filters=base_filters, depth=depth)
    inputs, x, padding = blocks.padded_grey_input(2**depth)
    # Encoder: a residual block per level, kept for the skip, then a strided convolution
    # that halves the resolution.
    skips = []
    for level in range(depth):
        x = residual_block(
            x,
            base_filters * 2**level,
            min(level + 1, VNET_MAX_CONVS),
            blocks.encoder_block(level),
            negative_slope,
        )
        skips.append(x)
        x = blocks.conv_bn(
            x,
            base_filters * 2 ** (level + 1),
            2,
            strides=2,
            name=blocks.encoder_block(level) + blocks.DOWNCONV_SUFFIX,
            negative_slope=negative_slope,
        )
    x = residual_block(
        x,
        base_filters * 2**depth,
        min(depth + 1, VNET_MAX_CONVS),
        blocks.BOTTOM_BLOCK,
        negative_slope,
    )
    # Decoder: upsample 2x, concatenate the encoder's features of the same level (the
    # skip), a residual block.
    for level in reversed(range(depth)):
        x = blocks.conv_bn(
            x,
            base_filters * 2**level,
            2,
            strides=2,
            transposed=True,
            name=blocks.decoder_block(level) + blocks.UPCONV_SUFFIX,
            negative_slope=negative_slope,
        )
        x = layers.Concatenate(name=blocks.decoder_block(level) + blocks.CONCAT_SUFFIX)(
            [skips[level], x]
        )
        x = residual_block(
            x,
            base_filters * 2**level,
            min(level + 1, VNET_MAX_CONVS),
            blocks.decoder_block(level),
            negative_slope,
        )
    # Output: a 1x1 convolution gives 11 class scores per pixel; crop the padding,
    # softmax.
    scores = layers.Conv2D(NUM_CLASSES, 1, name="scores")(x)
    return keras.Model(inputs, blocks.class_probabilities(scores, padding), name=name)
