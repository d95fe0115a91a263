"""U-Net (Ronneberger et al., 2015) for M2NIST: a symmetric encoder-decoder with a
concatenated skip connection at every level.

Chapter 3 shows this module's code, from the imports on, as the cell that defines the
network (a test holds the two equal).
"""

from __future__ import annotations

import keras
from keras import layers

from helpers import NUM_CLASSES
from helpers.nets import blocks


def double_conv(
    x: keras.KerasTensor,
    filters: int,
    name: str,
    negative_slope: float = blocks.NEGATIVE_SLOPE,
) -> keras.KerasTensor:
    """The U-Net unit: two 3x3 convolutions with batch norm and leaky ReLU."""
    for conv in (1, 2):
        x = blocks.conv_bn(
            x,
            filters,
            3,
            name=blocks.conv_layer(name, conv),
            negative_slope=negative_slope,
        )
    return x


def build_unet(
    base_filters: int = 12,
    depth: int = 4,
    negative_slope: float = blocks.NEGATIVE_SLOPE,
    name: str = "unet",
) -> keras.Model:
    """U-Net: a symmetric encoder-decoder with a concatenated skip connection at every
    level.

    Level ``k`` has ``base_filters * 2**k`` filters; the encoder max-pools
    ``depth`` times, the decoder upsamples by 2x2 stride-2 transposed
    convolutions and concatenates the encoder features of the same level, so
    fine detail lost by pooling comes back for the digit boundaries.
    """
    blocks.check_positive(base_filters=base_filters, depth=depth)
    inputs, x, padding = blocks.padded_grey_input(2**depth)
    # Encoder: a double convolution per level, kept for the skip, then a pooling that
    # halves the resolution.
    skips = []
    for level in range(depth):
        x = double_conv(
            x, base_filters * 2**level, blocks.encoder_block(level), negative_slope
        )
        skips.append(x)
        x = layers.MaxPooling2D(2, name=blocks.pool_layer(level))(x)
    x = double_conv(x, base_filters * 2**depth, blocks.BOTTOM_BLOCK, negative_slope)
    # Decoder: upsample 2x, concatenate the encoder's features of the same level (the
    # skip), convolve.
    for level in reversed(range(depth)):
        x = layers.Conv2DTranspose(
            base_filters * 2**level,
            2,
            strides=2,
            name=blocks.decoder_block(level) + blocks.UPCONV_SUFFIX,
        )(x)
        x = layers.Concatenate(name=blocks.decoder_block(level) + blocks.CONCAT_SUFFIX)(
            [skips[level], x]
        )
        x = double_conv(
            x, base_filters * 2**level, blocks.decoder_block(level), negative_slope
        )
    # Output: a 1x1 convolution gives 11 class scores per pixel; crop the padding,
    # softmax.
    scores = layers.Conv2D(NUM_CLASSES, 1, name="scores")(x)
    return keras.Model(inputs, blocks.class_probabilities(scores, padding), name=name)
