"""Why a segmentation network stalls: the share of foreground it describes with every
unit off.

A network's class scores are a 1x1 convolution of its last features. Where
every one of those features is zero (each ReLU off), the scores are the
layer's bias alone: the same for every digit, and no gradient flows back
through the features there. A network that has learned to tell foreground
from background this way can never learn which digit a stroke is, since the
loss that would teach it reaches no weight. :func:`silent_foreground`
measures that share on images with known masks, and :class:`SilenceMonitor`
records it in a run's history every epoch. It is a stall's warning sign for
plain ReLUs; a leaky ReLU (:data:`helpers.nets.blocks.NEGATIVE_SLOPE`) still passes
part of its gradient below zero, so there a large share is harmless.
"""

from __future__ import annotations

import keras
import numpy as np

from helpers import BACKGROUND, NUM_CLASSES
from helpers.data.streaming import as_model_input
from helpers.nets.blocks import CROP_LAYER

HISTORY_KEY = "val_silent_foreground"
"""The history's name for the largest share of silent foreground over a model's score
layers, per epoch."""


def score_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The 1x1 convolutions that turn features into the 11 class scores (one in U-Net
    and V-Net, one per fused stage in the FCNs)."""
    return [
        layer
        for layer in model.layers
        if isinstance(layer, keras.layers.Conv2D)
        and not isinstance(layer, keras.layers.Conv2DTranspose)
        and layer.filters == NUM_CLASSES
        and tuple(layer.kernel_size) == (1, 1)
    ]


def _at_pixels(features: np.ndarray, model: keras.Model) -> np.ndarray:
    """Features of the padded image, ``(N, h, w, C)`` at 1/k of its size, repeated to
    every pixel and cropped back to the image."""
    (top, bottom), (left, right) = model.get_layer(CROP_LAYER).cropping
    padded_height = model.input.shape[1] + top + bottom
    factor = padded_height // features.shape[1]
    features = features.repeat(factor, axis=1).repeat(factor, axis=2)
    return features[
        :, top : features.shape[1] - bottom, left : features.shape[2] - right
    ]


def silent_foreground(
    model: keras.Model, images: np.ndarray, masks: np.ndarray, batch_size: int = 64
) -> dict[str, float]:
    """For each class-score layer, the share of digit pixels at which all its input
    features are zero or below.

    Near 0 in a network that learns; near 1 in one that has stalled on
    background. ``images`` are grey ``(N, 64, 84)``, ``masks`` their class maps.
    """
    masks = np.asarray(masks)
    foreground = masks != BACKGROUND
    if not foreground.any():
        raise ValueError("masks: no digit pixel to measure (all background)")
    layers = score_layers(model)
    if not layers:
        raise ValueError(f"model {model.name!r} has no 1x1 class-score convolution")
    features_of = keras.Model(model.input, [layer.input for layer in layers])
    silent = np.zeros(len(layers))
    for start in range(0, len(images), batch_size):
        batch = as_model_input(images[start : start + batch_size])
        outputs = features_of(batch, training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        region = foreground[start : start + batch_size]
        for index, features in enumerate(outputs):
            all_off = (_at_pixels(np.asarray(features), model) <= 0).all(axis=-1)
            silent[index] += np.count_nonzero(all_off & region)
    return {
        layer.name: float(count / foreground.sum())
        for layer, count in zip(layers, silent)
    }


class SilenceMonitor(keras.callbacks.Callback):
    """Adds :data:`HISTORY_KEY` to the logs at the end of every epoch: the largest share
    of silent foreground over the model's score layers, on the given images."""

    def __init__(self, images: np.ndarray, masks: np.ndarray) -> None:
        super().__init__()
        self.images, self.masks = images, masks

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            shares = silent_foreground(self.model, self.images, self.masks)
            logs[HISTORY_KEY] = max(shares.values())
