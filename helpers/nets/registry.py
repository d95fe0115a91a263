"""The book's networks by name, and what they cost.

Every model is a Functional Keras model built from ``keras.layers`` alone, so
it runs under the TensorFlow and the JAX backends, and all keep the contract
of :mod:`helpers.nets.blocks`: ``(64, 84, 1)`` grey levels in, ``(64, 84, 11)``
float32 softmax probabilities out, pixel for pixel aligned.

The default widths (16, 12 and 10 base filters) give FCN-8s, U-Net and V-Net
comparable budgets, so the book compares architectures rather than sizes;
:func:`count_flops` and :func:`model_summary_table` report them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import keras
from keras import layers

from helpers.nets.fcn import build_fcn8s, build_fcn16s, build_fcn32s
from helpers.nets.unet import build_unet
from helpers.nets.vnet import build_vnet

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
