"""The losses the book trains with: pixel-wise cross-entropy, the soft Dice loss, or
their sum."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from helpers import NUM_CLASSES
from helpers.settings import LOSSES


@keras.saving.register_keras_serializable(package="segbook")
class SegmentationLoss(keras.losses.Loss):
    """``cross_entropy_weight`` times pixel-wise cross-entropy plus ``dice_weight``
    times the soft Dice loss.

    Cross-entropy alone is dominated by the ~95 % background pixels; the Dice
    term weighs every class by its overlap instead of its pixel count.
    """

    def __init__(
        self,
        cross_entropy_weight: float = 1.0,
        dice_weight: float = 0.0,
        name: str = "segmentation_loss",
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.cross_entropy_weight = float(cross_entropy_weight)
        self.dice_weight = float(dice_weight)

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
        if self.dice_weight:
            loss = loss + self.dice_weight * soft_dice_loss(y_true, y_pred)
        return loss

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "cross_entropy_weight": self.cross_entropy_weight,
            "dice_weight": self.dice_weight,
        }


def segmentation_loss(name: str) -> SegmentationLoss:
    """The loss called ``name``, a key of :data:`helpers.settings.LOSSES`:
    "cross-entropy", "dice" or their sum."""
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {list(LOSSES)}")
    cross_entropy_weight, dice_weight = LOSSES[name]
    return SegmentationLoss(cross_entropy_weight, dice_weight, name=name)


def soft_dice_loss(y_true, y_pred):
    """1 - mean soft Dice over the classes, one value per image (``y_true``: integer
    maps).

    The soft Dice of a class is ``(2 * sum(p * t) + 1) / (sum(p**2) + sum(t**2) + 1)``
    with ``p`` the predicted probabilities and ``t`` the one-hot truth, the
    squared denominator of the V-Net paper (Milletari et al., 2016); the 1s
    keep a class absent from both at Dice 1 instead of 0/0. The paper scores
    one foreground class; here the mean over all 11 classes is taken.
    """
    truth = ops.one_hot(y_true, NUM_CLASSES, dtype="float32")
    axes = (1, 2)
    intersection = ops.sum(truth * y_pred, axis=axes)
    total = ops.sum(truth, axis=axes) + ops.sum(ops.square(y_pred), axis=axes)
    dice = (2.0 * intersection + 1.0) / (total + 1.0)
    return 1.0 - ops.mean(dice, axis=-1)
