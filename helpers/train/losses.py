"""The losses the book trains with: pixel-wise cross-entropy, two soft Dice losses, and
their sums, chosen by name (:data:`helpers.train.recipe.LOSSES`)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from helpers import BACKGROUND, NUM_CLASSES
from helpers.train.recipe import LOSSES

BATCH_DICE_EPSILON = 1e-5
"""The batch Dice's smoothing: small, so that a digit absent from the batch scores
Dice 1 only if nothing of it is predicted."""


@keras.saving.register_keras_serializable(package="segbook")
class SegmentationLoss(keras.losses.Loss):
    """``cross_entropy_weight`` times pixel-wise cross-entropy plus one of the soft Dice
    losses (``dice``: "per-image", "batch" or None).

    Cross-entropy alone is dominated by the background pixels; a Dice term
    weighs every class by its overlap instead of its pixel count.
    """

    def __init__(
        self,
        cross_entropy_weight: float = 1.0,
        dice: str | None = None,
        name: str = "segmentation_loss",
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        if dice not in DICE_LOSSES:
            raise ValueError(f"dice must be one of {list(DICE_LOSSES)}, got {dice!r}")
        self.cross_entropy_weight = float(cross_entropy_weight)
        self.dice = dice

    def call(self, y_true, y_pred):
        y_true = ops.cast(ops.reshape(y_true, ops.shape(y_pred)[:-1]), "int32")
        y_pred = ops.cast(y_pred, "float32")
        loss = ops.zeros(ops.shape(y_pred)[:1])
        if self.cross_entropy_weight:
            cross_entropy = ops.mean(
                keras.losses.sparse_categorical_crossentropy(y_true, y_pred),
                axis=(1, 2),
            )
            loss = loss + self.cross_entropy_weight * cross_entropy
        if self.dice is not None:
            loss = loss + DICE_LOSSES[self.dice](y_true, y_pred)
        return loss

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "cross_entropy_weight": self.cross_entropy_weight,
            "dice": self.dice,
        }


def segmentation_loss(name: str) -> SegmentationLoss:
    """The loss called ``name``, a key of :data:`helpers.train.recipe.LOSSES`."""
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {list(LOSSES)}")
    cross_entropy_weight, dice = LOSSES[name]
    # Keras names a scope after the loss, and a scope name may not hold "+".
    return SegmentationLoss(cross_entropy_weight, dice, name=name.replace("+", "-and-"))


def soft_dice_loss(y_true, y_pred):
    """1 - mean soft Dice over all 11 classes, one value per image (``y_true``: integer
    maps).

    The soft Dice of a class is ``(2 * sum(p * t) + 1) / (sum(p**2) + sum(t**2) + 1)``
    with ``p`` the predicted probabilities and ``t`` the one-hot truth, the
    squared denominator of the V-Net paper (Milletari et al., 2016); the 1s
    keep a class absent from both at Dice 1 instead of 0/0. The paper scores
    one foreground class; here the mean over all 11 classes of each image is
    taken, so every digit an image lacks scores 1 for predicting nothing.
    """
    truth = ops.one_hot(y_true, NUM_CLASSES, dtype="float32")
    axes = (1, 2)
    intersection = ops.sum(truth * y_pred, axis=axes)
    total = ops.sum(truth, axis=axes) + ops.sum(ops.square(y_pred), axis=axes)
    dice = (2.0 * intersection + 1.0) / (total + 1.0)
    return 1.0 - ops.mean(dice, axis=-1)


def batch_dice_loss(y_true, y_pred):
    """1 - mean soft Dice over the ten digits, each summed over the whole batch: one
    value, repeated per image.

    As nnU-Net computes it (Isensee et al., 2021): ``(2 * sum(p * t) + eps) /
    (sum(p) + sum(t) + eps)`` over every pixel of the batch, background left
    out. Summing over the batch makes a digit absent from one image no free
    point, and a tiny ``eps`` makes predicting a digit that is absent cost.
    """
    truth = ops.one_hot(y_true, NUM_CLASSES, dtype="float32")
    digits = [c for c in range(NUM_CLASSES) if c != BACKGROUND]
    truth, y_pred = ops.take(truth, digits, axis=-1), ops.take(y_pred, digits, axis=-1)
    axes = (0, 1, 2)
    intersection = ops.sum(truth * y_pred, axis=axes)
    total = ops.sum(truth, axis=axes) + ops.sum(y_pred, axis=axes)
    dice = (2.0 * intersection + BATCH_DICE_EPSILON) / (total + BATCH_DICE_EPSILON)
    return (1.0 - ops.mean(dice)) * ops.ones(ops.shape(y_pred)[:1])


DICE_LOSSES = {None: None, "per-image": soft_dice_loss, "batch": batch_dice_loss}
"""The soft Dice terms a loss can add to its cross-entropy, by name."""
