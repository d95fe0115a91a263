"""The three segmentation networks of the book: FCN-8s, U-Net and a 2D V-Net.

Every model is a Functional Keras model built from ``keras.layers`` alone, so
it runs under the TensorFlow and the JAX backends. The
contract is the same for all three:

* input ``(64, 84, 1)`` raw grey levels 0..255 as floats (the model rescales);
* output ``(64, 84, 11)`` softmax probabilities, pixel for pixel aligned with
  the input, from a float32 layer named ``probabilities`` so that mixed
  precision never computes the softmax in float16.

The encoders halve the resolution ``depth`` times, so the image is zero-padded
to a multiple of ``2**depth`` on entry and cropped back by exactly the same
amounts per side on exit (:func:`padding_for`). Cropping by other amounts than
were padded shifts every prediction, which no loss or metric on the padded
image would reveal.

The default widths (24, 12 and 10 base filters) give the three models
comparable budgets, 1.1-1.4 M parameters and 0.3-0.5 GFLOPs per image, so the
book compares architectures rather than sizes; :func:`count_flops` and
:func:`model_summary_table` report them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import keras
from keras import layers

from helpers import HEIGHT, NUM_CLASSES, WIDTH

FCN_STAGE_CONVS = (2, 2, 3, 3)
"""3x3 convolutions in each of the four FCN-8s encoder stages (VGG style)."""

VNET_MAX_CONVS = 3
"""V-Net residual blocks hold ``level + 1`` convolutions, at most this many."""

INPUT_LAYER, PAD_LAYER, CROP_LAYER = "image", "pad", "crop"
"""The input of every model, its zero padding and the crop that undoes it.

These and the names below are a contract: :mod:`helpers.diagrams` finds layers
by them, and the saved models in ``artifacts/`` carry them, so they never change.
"""

FUSE_8TH_LAYER, FUSE_4TH_LAYER = "fuse_8th", "fuse_4th"
"""FCN-8s: the additions of upsampled scores to the scores at 1/8 and at 1/4 of the size."""

BOTTOM_BLOCK = "bottom"
"""U-Net and V-Net: the block at the lowest resolution, between the encoder and the decoder."""

BN_SUFFIX, RELU_SUFFIX = "_bn", "_relu"
"""Added by :func:`conv_bn` to a convolution's name for its batch norm and ReLU; ``_relu`` also ends residual blocks."""

SHORTCUT_SUFFIX, ADD_SUFFIX = "_shortcut", "_add"
"""Appended to a residual block's name: its 1x1 projection shortcut (only where channels change) and its addition."""

DOWNCONV_SUFFIX, UPCONV_SUFFIX, CONCAT_SUFFIX = "_downconv", "_upconv", "_concat"
"""Appended to a level's block name: V-Net's strided convolution down, the transposed convolution up, the skip."""


def conv_layer(block: str, conv: int) -> str:
    """Name of the ``conv``-th 3x3 convolution (from 1) of the block named ``block``."""
    return f"{block}_conv{conv}"


def fcn_stage(stage: int) -> str:
    """Name of FCN-8s encoder stage ``stage`` (from 1): the prefix of its convolutions."""
    return f"stage{stage}"


def pool_layer(index: int) -> str:
    """Name of a max pooling: after FCN-8s stage ``index`` (from 1), or after U-Net level ``index`` (from 0)."""
    return f"pool{index}"


def score_layer(stage: int) -> str:
    """Name of the FCN-8s 1x1 convolution that scores the classes after pooling ``stage`` (at 1/2**stage size)."""
    return f"score_pool{stage}"


def encoder_block(level: int) -> str:
    """Name of the U-Net or V-Net encoder block at ``level`` (from 0, full resolution)."""
    return f"down{level}"


def decoder_block(level: int) -> str:
    """Name of the U-Net or V-Net decoder block at ``level`` (from 0, full resolution)."""
    return f"up{level}"


Padding = tuple[tuple[int, int], tuple[int, int]]


def padding_for(size: int, multiple: int) -> tuple[int, int]:
    """Zeros to add ``(before, after)`` so that ``size`` becomes a multiple of ``multiple``.

    The amount is split as evenly as possible (an odd extra goes after), so
    the image stays centred and the receptive fields stay symmetric.
    """
    if size < 1 or multiple < 1:
        raise ValueError(f"size and multiple must be positive, got size={size}, multiple={multiple}")
    total = -size % multiple
    return total // 2, total - total // 2


def padded_grey_input(multiple: int) -> tuple[keras.KerasTensor, keras.KerasTensor, Padding]:
    """The model input, and that input rescaled to 0..1 and zero-padded to ``multiple``."""
    padding = (padding_for(HEIGHT, multiple), padding_for(WIDTH, multiple))
    inputs = keras.Input(shape=(HEIGHT, WIDTH, 1), name=INPUT_LAYER)
    x = layers.Rescaling(1 / 255, name="rescale")(inputs)
    x = layers.ZeroPadding2D(padding, name=PAD_LAYER)(x)
    return inputs, x, padding


def class_probabilities(scores: keras.KerasTensor, padding: Padding) -> keras.KerasTensor:
    """Crop the class scores by exactly the input padding, then softmax in float32."""
    x = layers.Cropping2D(padding, name=CROP_LAYER)(scores)
    return layers.Activation("softmax", dtype="float32", name="probabilities")(x)


def conv_bn(
    x: keras.KerasTensor,
    filters: int,
    kernel_size: int,
    name: str,
    *,
    strides: int = 1,
    transposed: bool = False,
    relu: bool = True,
) -> keras.KerasTensor:
    """Convolution (no bias: batch norm has one), batch norm and, unless ``relu=False``, ReLU.

    Batch norm lets all three models train from scratch with one learning rate.
    """
    conv = layers.Conv2DTranspose if transposed else layers.Conv2D
    x = conv(filters, kernel_size, strides=strides, padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization(name=name + BN_SUFFIX)(x)
    return layers.ReLU(name=name + RELU_SUFFIX)(x) if relu else x


def _check_positive(**sizes: int) -> None:
    """Reject widths and depths below 1, which cannot build a network."""
    if invalid := {name: size for name, size in sizes.items() if size < 1}:
        raise ValueError(f"sizes must be positive, got {invalid}")


def build_fcn8s(base_filters: int = 24, name: str = "fcn8s") -> keras.Model:
    """FCN-8s: a pooling encoder whose class scores at 1/16, 1/8 and 1/4 are fused by addition.

    Four VGG-style stages (3x3 convolutions, then 2x2 max pooling) whose
    filters double from ``base_filters``. A 1x1 convolution scores the classes
    after each of the last three poolings; the coarsest scores are upsampled
    2x by a transposed convolution and added to the next, twice (the FCN-32s
    -> 16s -> 8s refinement), and a last transposed convolution upsamples 4x
    to full size. There are no dense layers, so every output is a pixel.
    """
    _check_positive(base_filters=base_filters)
    inputs, x, padding = padded_grey_input(2 ** len(FCN_STAGE_CONVS))
    # Encoder: VGG-style stages, each ending in a pooling that halves the resolution.
    pooled = []
    for stage, n_convs in enumerate(FCN_STAGE_CONVS, start=1):
        for conv in range(1, n_convs + 1):
            x = conv_bn(x, base_filters * 2 ** (stage - 1), 3, name=conv_layer(fcn_stage(stage), conv))
        x = layers.MaxPooling2D(2, name=pool_layer(stage))(x)
        pooled.append(x)
    # Class scores: a 1x1 convolution after each of the last three poolings (1/4, 1/8, 1/16 of the size).
    quarter, eighth, sixteenth = (
        layers.Conv2D(NUM_CLASSES, 1, name=score_layer(stage))(features)
        for stage, features in zip((2, 3, 4), pooled[1:])
    )
    # Score fusion: upsample the coarser scores 2x and add the finer ones, twice.
    x = layers.Conv2DTranspose(NUM_CLASSES, 4, strides=2, padding="same", name="upscore_to_8th")(sixteenth)
    x = layers.Add(name=FUSE_8TH_LAYER)([x, eighth])
    x = layers.Conv2DTranspose(NUM_CLASSES, 4, strides=2, padding="same", name="upscore_to_4th")(x)
    x = layers.Add(name=FUSE_4TH_LAYER)([x, quarter])
    # Output: upsample the fused scores 4x to full size, crop the padding, softmax.
    scores = layers.Conv2DTranspose(NUM_CLASSES, 8, strides=4, padding="same", name="upscore_to_full")(x)
    return keras.Model(inputs, class_probabilities(scores, padding), name=name)


def double_conv(x: keras.KerasTensor, filters: int, name: str) -> keras.KerasTensor:
    """The U-Net unit: two 3x3 convolutions with batch norm and ReLU."""
    x = conv_bn(x, filters, 3, name=conv_layer(name, 1))
    return conv_bn(x, filters, 3, name=conv_layer(name, 2))


def build_unet(base_filters: int = 12, depth: int = 4, name: str = "unet") -> keras.Model:
    """U-Net: a symmetric encoder-decoder with a concatenated skip connection at every level.

    Level ``k`` has ``base_filters * 2**k`` filters; the encoder max-pools
    ``depth`` times, the decoder upsamples by 2x2 stride-2 transposed
    convolutions and concatenates the encoder features of the same level, so
    fine detail lost by pooling comes back for the digit boundaries.
    """
    _check_positive(base_filters=base_filters, depth=depth)
    inputs, x, padding = padded_grey_input(2**depth)
    # Encoder: a double convolution per level, kept for the skip, then a pooling that halves the resolution.
    skips = []
    for level in range(depth):
        x = double_conv(x, base_filters * 2**level, name=encoder_block(level))
        skips.append(x)
        x = layers.MaxPooling2D(2, name=pool_layer(level))(x)
    x = double_conv(x, base_filters * 2**depth, name=BOTTOM_BLOCK)
    # Decoder: upsample 2x, concatenate the encoder's features of the same level (the skip), convolve.
    for level in reversed(range(depth)):
        x = layers.Conv2DTranspose(base_filters * 2**level, 2, strides=2, name=decoder_block(level) + UPCONV_SUFFIX)(x)
        x = layers.Concatenate(name=decoder_block(level) + CONCAT_SUFFIX)([skips[level], x])
        x = double_conv(x, base_filters * 2**level, name=decoder_block(level))
    # Output: a 1x1 convolution gives 11 class scores per pixel; crop the padding, softmax.
    scores = layers.Conv2D(NUM_CLASSES, 1, name="scores")(x)
    return keras.Model(inputs, class_probabilities(scores, padding), name=name)


def residual_block(x: keras.KerasTensor, filters: int, n_convs: int, name: str) -> keras.KerasTensor:
    """V-Net residual block: ``n_convs`` 3x3 convolutions added to a shortcut, then ReLU.

    The shortcut is the identity when the channel count is kept and a linear
    1x1 convolution where it changes, so the addition is always defined.
    """
    shortcut = x
    if x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, name=name + SHORTCUT_SUFFIX)(x)
    for conv in range(1, n_convs + 1):
        x = conv_bn(x, filters, 3, name=conv_layer(name, conv), relu=conv < n_convs)
    x = layers.Add(name=name + ADD_SUFFIX)([x, shortcut])
    return layers.ReLU(name=name + RELU_SUFFIX)(x)


def build_vnet(base_filters: int = 10, depth: int = 4, name: str = "vnet") -> keras.Model:
    """2D V-Net: residual blocks, strided convolutions instead of pooling, concatenated skips.

    Level ``k`` is a residual block of ``min(k + 1, 3)`` 3x3 convolutions with
    ``base_filters * 2**k`` filters. Going down, a 2x2 stride-2 convolution
    halves the resolution and doubles the channels (learned, unlike pooling);
    going up, a 2x2 stride-2 transposed convolution halves the channels, the
    encoder features of the level are concatenated, and a residual block
    (1x1 shortcut, since the concatenation doubled the channels) refines them.
    """
    _check_positive(base_filters=base_filters, depth=depth)
    inputs, x, padding = padded_grey_input(2**depth)
    # Encoder: a residual block per level, kept for the skip, then a strided convolution that halves the resolution.
    skips = []
    for level in range(depth):
        x = residual_block(x, base_filters * 2**level, min(level + 1, VNET_MAX_CONVS), name=encoder_block(level))
        skips.append(x)
        x = conv_bn(x, base_filters * 2 ** (level + 1), 2, strides=2, name=encoder_block(level) + DOWNCONV_SUFFIX)
    x = residual_block(x, base_filters * 2**depth, min(depth + 1, VNET_MAX_CONVS), name=BOTTOM_BLOCK)
    # Decoder: upsample 2x, concatenate the encoder's features of the same level (the skip), a residual block.
    for level in reversed(range(depth)):
        x = conv_bn(
            x, base_filters * 2**level, 2, strides=2, transposed=True, name=decoder_block(level) + UPCONV_SUFFIX
        )
        x = layers.Concatenate(name=decoder_block(level) + CONCAT_SUFFIX)([skips[level], x])
        x = residual_block(x, base_filters * 2**level, min(level + 1, VNET_MAX_CONVS), name=decoder_block(level))
    # Output: a 1x1 convolution gives 11 class scores per pixel; crop the padding, softmax.
    scores = layers.Conv2D(NUM_CLASSES, 1, name="scores")(x)
    return keras.Model(inputs, class_probabilities(scores, padding), name=name)


MODEL_BUILDERS: dict[str, Callable[..., keras.Model]] = {
    "fcn8s": build_fcn8s,
    "unet": build_unet,
    "vnet": build_vnet,
}


def build_model(name: str, /, **kwargs) -> keras.Model:
    """Build the model called ``name`` (a key of :data:`MODEL_BUILDERS`) with the builder's keywords.

    ``name`` is positional-only so that ``name=`` can still rename the model.
    """
    if name not in MODEL_BUILDERS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODEL_BUILDERS)}")
    return MODEL_BUILDERS[name](**kwargs)


def _spatial_positions(shape: tuple) -> int:
    """Number of positions a layer applies its kernel at: all dimensions but batch and channels."""
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
            flops += 2 * math.prod(layer.kernel.shape) * _spatial_positions(layer.input.shape)
        elif isinstance(layer, (layers.Conv2D, layers.Dense)):
            flops += 2 * math.prod(layer.kernel.shape) * _spatial_positions(layer.output.shape)
    return flops


def model_summary_table(models: Iterable[keras.Model]) -> list[dict]:
    """One row per model (name, parameters, FLOPs per image), for the book's comparison tables."""
    return [
        {"model": model.name, "parameters": model.count_params(), "flops_per_image": count_flops(model)}
        for model in models
    ]
