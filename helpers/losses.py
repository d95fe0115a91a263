"""The losses the book trains with: pixel-wise cross-entropy, optionally plus the soft Dice loss."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from helpers import NUM_CLASSES


@keras.saving.register_keras_serializable(package="segbook")
class SegmentationLoss(keras.losses.Loss):
    """Pixel-wise cross-entropy on integer masks, plus ``dice_weight`` times the soft Dice loss.

    Cross-entropy alone is dominated by the ~95 % background pixels; the Dice
    term weighs every class by its overlap instead of its pixel count.
    """

    def __init__(self, dice_weight: float = 0.0, name: str = "segmentation_loss", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.dice_weight = float(dice_weight)

    def call(self, y_true, y_pred):
        y_true = ops.cast(ops.reshape(y_true, ops.shape(y_pred)[:-1]), "int32")
        y_pred = ops.cast(y_pred, "float32")
        loss = ops.mean(keras.losses.sparse_categorical_crossentropy(y_true, y_pred), axis=(1, 2))
        if self.dice_weight:
            loss = loss + self.dice_weight * soft_dice_loss(y_true, y_pred)
        return loss

    def get_config(self) -> dict:
        return {**super().get_config(), "dice_weight": self.dice_weight}


def soft_dice_loss(y_true, y_pred):
    """1 - mean soft Dice over the classes, one value per image (``y_true``: integer maps)."""
    truth = ops.one_hot(y_true, NUM_CLASSES, dtype="float32")
    axes = (1, 2)
    intersection = ops.sum(truth * y_pred, axis=axes)
    total = ops.sum(truth, axis=axes) + ops.sum(y_pred, axis=axes)
    dice = (2.0 * intersection + 1.0) / (total + 1.0)
    return 1.0 - ops.mean(dice, axis=-1)
