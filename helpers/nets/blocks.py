"""What every network of the book is built from: the padded input, the cropped output,
conv + batch norm + ReLU.

Every model takes ``(64, 84, 1)`` raw grey levels 0..255 as floats (it
rescales them itself) and returns ``(64, 84, 11)`` softmax probabilities,
pixel for pixel aligned with the input, from a float32 layer named
``probabilities`` so that mixed precision never computes the softmax in
float16. The encoders halve the resolution several times, so the image is
zero-padded to a multiple of ``2**poolings`` on entry and cropped back by
exactly the same amounts per side on exit (:func:`padding_for`). Cropping by
other amounts than were padded shifts every prediction, which no loss or
metric on the padded image would reveal.

The layer names below are a contract: :mod:`helpers.book.diagrams` finds layers by
them, and the saved models in ``artifacts/`` carry them.
"""

from __future__ import annotations

import keras
from keras import layers

from helpers import HEIGHT, WIDTH
from helpers.checks import is_whole

INPUT_LAYER, PAD_LAYER, CROP_LAYER = "image", "pad", "crop"
"""The input of every model, its zero padding and the crop that undoes it."""

NEGATIVE_SLOPE = 0.1
"""The slope of every unit's activation below zero: a leaky ReLU, not a plain one.

With a plain ReLU a network can come to describe every digit pixel with all
its last features off; there the class scores are the same for every digit
and no gradient passes back, so it never learns which digit a stroke is
(:mod:`helpers.evaluate.diagnostics` measures it). A unit below zero that still passes
a tenth of its gradient cannot shut that region off for good.
"""

BN_SUFFIX, RELU_SUFFIX = "_bn", "_relu"
"""Added by :func:`conv_bn` to a convolution's name for its batch norm and ReLU;
``_relu`` also ends residual blocks."""

Padding = tuple[tuple[int, int], tuple[int, int]]


def conv_layer(block: str, conv: int) -> str:
    """Name of the ``conv``-th 3x3 convolution (from 1) of the block named ``block``."""
    return f"{block}_conv{conv}"


def pool_layer(index: int) -> str:
    """Name of a max pooling: after FCN encoder stage ``index`` (from 1), or after U-Net
    level ``index`` (from 0)."""
    return f"pool{index}"


def padding_for(size: int, multiple: int) -> tuple[int, int]:
    """Zeros to add ``(before, after)`` so that ``size`` becomes a multiple of
    ``multiple``.

    The amount is split as evenly as possible (an odd extra goes after), so
    the image stays centred and the receptive fields stay symmetric.
    """
    if size < 1 or multiple < 1:
        raise ValueError(
            f"size and multiple must be positive, got size={size}, multiple={multiple}"
        )
    total = -size % multiple
    return total // 2, total - total // 2


def padded_grey_input(
    multiple: int,
) -> tuple[keras.KerasTensor, keras.KerasTensor, Padding]:
    """The model input, and that input rescaled to 0..1 and zero-padded to
    ``multiple``."""
    padding = (padding_for(HEIGHT, multiple), padding_for(WIDTH, multiple))
    inputs = keras.Input(shape=(HEIGHT, WIDTH, 1), name=INPUT_LAYER)
    x = layers.Rescaling(1 / 255, name="rescale")(inputs)
    x = layers.ZeroPadding2D(padding, name=PAD_LAYER)(x)
    return inputs, x, padding


def class_probabilities(
    scores: keras.KerasTensor, padding: Padding
) -> keras.KerasTensor:
    """Crop the class scores by exactly the input padding, then softmax in float32."""
    x = layers.Cropping2D(padding, name=CROP_LAYER)(scores)
    return layers.Activation("softmax", dtype="float32", name="probabilities")(x)


def conv_bn(
    x: keras.KerasTensor,
    filters: int,
    kernel_size: int | tuple[int, int],
    name: str,
    *,
    strides: int = 1,
    transposed: bool = False,
    relu: bool = True,
    negative_slope: float = NEGATIVE_SLOPE,
) -> keras.KerasTensor:
    """Convolution (no bias: batch norm has one), batch norm and, unless ``relu=False``,
    a leaky ReLU of ``negative_slope``.

    Batch norm lets all the models train from scratch with one learning rate.
    """
    conv = layers.Conv2DTranspose if transposed else layers.Conv2D
    x = conv(
        filters, kernel_size, strides=strides, padding="same", use_bias=False, name=name
    )(x)
    x = layers.BatchNormalization(name=name + BN_SUFFIX)(x)
    if not relu:
        return x
    return layers.ReLU(negative_slope=negative_slope, name=name + RELU_SUFFIX)(x)


def check_positive(**sizes: int) -> None:
    """Reject widths and depths below 1, which cannot build a network."""
    if invalid := {name: size for name, size in sizes.items() if not is_whole(size, 1)}:
        raise ValueError(f"sizes must be positive, got {invalid}")


BOTTOM_BLOCK = "bottom"
"""U-Net and V-Net: the block at the lowest resolution, between the encoder and the
decoder.

This and the names below are part of the layer-name contract.
"""

SHORTCUT_SUFFIX, ADD_SUFFIX = "_shortcut", "_add"
"""Appended to a residual block's name: its 1x1 projection shortcut (only where channels
change) and its addition."""

DOWNCONV_SUFFIX, UPCONV_SUFFIX, CONCAT_SUFFIX = "_downconv", "_upconv", "_concat"
"""Appended to a level's block name: V-Net's strided convolution down, the transposed
convolution up, the skip."""


def encoder_block(level: int) -> str:
    """Name of the U-Net or V-Net encoder block at ``level`` (from 0, full
    resolution)."""
    return f"down{level}"


def decoder_block(level: int) -> str:
    """Name of the U-Net or V-Net decoder block at ``level`` (from 0, full
    resolution)."""
    return f"up{level}"
