"""The book's segmentation networks: U-Net and a 2D V-Net here, the FCNs in
:mod:`helpers.fcn`, all by name.

Every model is a Functional Keras model built from ``keras.layers`` alone, so
it runs under the TensorFlow and the JAX backends, and all keep the contract
of :mod:`helpers.blocks` (re-exported here): ``(64, 84, 1)`` grey levels in,
``(64, 84, 11)`` float32 softmax probabilities out, pixel for pixel aligned,
the input zero-padded to a multiple of ``2**poolings`` and the scores cropped
back by exactly the same amounts.

The default widths (16, 12 and 10 base filters) give FCN-8s, U-Net and V-Net
comparable budgets, so the book compares architectures rather than sizes;
:func:`count_flops` and :func:`model_summary_table` report them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import keras
from keras import layers

from helpers import NUM_CLASSES
from helpers.blocks import (
    BN_SUFFIX,
    CROP_LAYER,
    INPUT_LAYER,
    NEGATIVE_SLOPE,
    PAD_LAYER,
    RELU_SUFFIX,
    Padding,
    check_positive,
    class_probabilities,
    conv_bn,
    conv_layer,
    padded_grey_input,
    padding_for,
    pool_layer,
)
from helpers.fcn import build_fcn8s, build_fcn16s, build_fcn32s

__all__ = [
    "ADD_SUFFIX",
    "BN_SUFFIX",
    "BOTTOM_BLOCK",
    "CONCAT_SUFFIX",
    "CROP_LAYER",
    "DOWNCONV_SUFFIX",
    "INPUT_LAYER",
    "MODEL_BUILDERS",
    "PAD_LAYER",
    "RELU_SUFFIX",
    "SHORTCUT_SUFFIX",
    "UPCONV_SUFFIX",
    "VNET_MAX_CONVS",
    "Padding",
    "build_fcn8s",
    "build_fcn16s",
    "build_fcn32s",
    "build_model",
    "build_unet",
    "build_vnet",
    "class_probabilities",
    "conv_bn",
    "conv_layer",
    "count_flops",
    "decoder_block",
    "double_conv",
    "encoder_block",
    "model_summary_table",
    "padded_grey_input",
    "padding_for",
    "pool_layer",
    "residual_block",
]

VNET_MAX_CONVS = 3
"""V-Net residual blocks hold ``level + 1`` convolutions, at most this many."""

BOTTOM_BLOCK = "bottom"
"""U-Net and V-Net: the block at the lowest resolution, between the encoder and the
decoder.

This and the names below are part of the layer-name contract of :mod:`helpers.blocks`.
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


def double_conv(
    x: keras.KerasTensor,
    filters: int,
    name: str,
    negative_slope: float = NEGATIVE_SLOPE,
) -> keras.KerasTensor:
    """The U-Net unit: two 3x3 convolutions with batch norm and leaky ReLU."""
    for conv in (1, 2):
        x = conv_bn(
            x, filters, 3, name=conv_layer(name, conv), negative_slope=negative_slope
        )
    return x


def build_unet(
    base_filters: int = 12,
    depth: int = 4,
    negative_slope: float = NEGATIVE_SLOPE,
    name: str = "unet",
) -> keras.Model:
    """U-Net: a symmetric encoder-decoder with a concatenated skip connection at every
    level.

    Level ``k`` has ``base_filters * 2**k`` filters; the encoder max-pools
    ``depth`` times, the decoder upsamples by 2x2 stride-2 transposed
    convolutions and concatenates the encoder features of the same level, so
    fine detail lost by pooling comes back for the digit boundaries.
    """
    check_positive(base_filters=base_filters, depth=depth)
    inputs, x, padding = padded_grey_input(2**depth)
    # Encoder: a double convolution per level, kept for the skip, then a pooling that
    # halves the resolution.
    skips = []
    for level in range(depth):
        x = double_conv(
            x, base_filters * 2**level, encoder_block(level), negative_slope
        )
        skips.append(x)
        x = layers.MaxPooling2D(2, name=pool_layer(level))(x)
    x = double_conv(x, base_filters * 2**depth, BOTTOM_BLOCK, negative_slope)
    # Decoder: upsample 2x, concatenate the encoder's features of the same level (the
    # skip), convolve.
    for level in reversed(range(depth)):
        x = layers.Conv2DTranspose(
            base_filters * 2**level,
            2,
            strides=2,
            name=decoder_block(level) + UPCONV_SUFFIX,
        )(x)
        x = layers.Concatenate(name=decoder_block(level) + CONCAT_SUFFIX)(
            [skips[level], x]
        )
        x = double_conv(
            x, base_filters * 2**level, decoder_block(level), negative_slope
        )
    # Output: a 1x1 convolution gives 11 class scores per pixel; crop the padding,
    # softmax.
    scores = layers.Conv2D(NUM_CLASSES, 1, name="scores")(x)
    return keras.Model(inputs, class_probabilities(scores, padding), name=name)


def residual_block(
    x: keras.KerasTensor,
    filters: int,
    n_convs: int,
    name: str,
    negative_slope: float = NEGATIVE_SLOPE,
) -> keras.KerasTensor:
    """V-Net residual block: ``n_convs`` 3x3 convolutions added to a shortcut, then a
    leaky ReLU.

    The shortcut is the identity when the channel count is kept and a linear
    1x1 convolution where it changes, so the addition is always defined.
    """
    shortcut = x
    if x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, name=name + SHORTCUT_SUFFIX)(x)
    for conv in range(1, n_convs + 1):
        x = conv_bn(
            x,
            filters,
            3,
            name=conv_layer(name, conv),
            relu=conv < n_convs,
            negative_slope=negative_slope,
        )
    x = layers.Add(name=name + ADD_SUFFIX)([x, shortcut])
    return layers.ReLU(negative_slope=negative_slope, name=name + RELU_SUFFIX)(x)


def build_vnet(
    base_filters: int = 10,
    depth: int = 4,
    negative_slope: float = NEGATIVE_SLOPE,
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
    check_positive(base_filters=base_filters, depth=depth)
    inputs, x, padding = padded_grey_input(2**depth)
    # Encoder: a residual block per level, kept for the skip, then a strided convolution
    # that halves the resolution.
    skips = []
    for level in range(depth):
        x = residual_block(
            x,
            base_filters * 2**level,
            min(level + 1, VNET_MAX_CONVS),
            encoder_block(level),
            negative_slope,
        )
        skips.append(x)
        x = conv_bn(
            x,
            base_filters * 2 ** (level + 1),
            2,
            strides=2,
            name=encoder_block(level) + DOWNCONV_SUFFIX,
            negative_slope=negative_slope,
        )
    x = residual_block(
        x,
        base_filters * 2**depth,
        min(depth + 1, VNET_MAX_CONVS),
        BOTTOM_BLOCK,
        negative_slope,
    )
    # Decoder: upsample 2x, concatenate the encoder's features of the same level (the
    # skip), a residual block.
    for level in reversed(range(depth)):
        x = conv_bn(
            x,
            base_filters * 2**level,
            2,
            strides=2,
            transposed=True,
            name=decoder_block(level) + UPCONV_SUFFIX,
            negative_slope=negative_slope,
        )
        x = layers.Concatenate(name=decoder_block(level) + CONCAT_SUFFIX)(
            [skips[level], x]
        )
        x = residual_block(
            x,
            base_filters * 2**level,
            min(level + 1, VNET_MAX_CONVS),
            decoder_block(level),
            negative_slope,
        )
    # Output: a 1x1 convolution gives 11 class scores per pixel; crop the padding,
    # softmax.
    scores = layers.Conv2D(NUM_CLASSES, 1, name="scores")(x)
    return keras.Model(inputs, class_probabilities(scores, padding), name=name)


MODEL_BUILDERS: dict[str, Callable[..., keras.Model]] = {
    "fcn8s": build_fcn8s,
    "unet": build_unet,
    "vnet": build_vnet,
    "fcn16s": build_fcn16s,
    "fcn32s": build_fcn32s,
}


def build_model(name: str, /, **kwargs) -> keras.Model:
    """Build the model called ``name`` (a key of :data:`MODEL_BUILDERS`) with the
    builder's keywords.

    ``name`` is positional-only so that ``name=`` can still rename the model.
    """
    if name not in MODEL_BUILDERS:
        raise ValueError(
            f"unknown model {name!r}; choose one of {sorted(MODEL_BUILDERS)}"
        )
    return MODEL_BUILDERS[name](**kwargs)


def _spatial_positions(shape: tuple) -> int:
    """Number of positions a layer applies its kernel at: all dimensions but batch and
    channels."""
    return math.prod(shape[1:-1])


def count_flops(model: keras.Model) -> int:
    """FLOPs per image of the model's Conv2D, Conv2DTranspose and Dense layers.

    A multiply-add counts as 2 FLOPs; biases, batch norm, activations, pooling
    and additions are left out (they are a few percent). A convolution does
    one multiply-add per kernel weight at each *output* position; a transposed
    convolution scatters one per kernel weight from each *input* position.
    Nested models are counted layer by layer. Needs a built Functional model.
    """
    flops = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            flops += count_flops(layer)
        elif isinstance(layer, layers.Conv2DTranspose):
            flops += (
                2
                * math.prod(layer.kernel.shape)
                * _spatial_positions(layer.input.shape)
            )
        elif isinstance(layer, (layers.Conv2D, layers.Dense)):
            flops += (
                2
                * math.prod(layer.kernel.shape)
                * _spatial_positions(layer.output.shape)
            )
    return flops


def model_summary_table(models: Iterable[keras.Model]) -> list[dict]:
    """One row per model (name, parameters, FLOPs per image), for the book's comparison
    tables."""
    return [
        {
            "model": model.name,
            "parameters": model.count_params(),
            "flops_per_image": count_flops(model),
        }
        for model in models
    ]
