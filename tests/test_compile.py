"""Specification of helpers.train.loop.compile_for_training: the optimiser the settings
name, and the mean IoU over the digits as the metric every run records."""

import keras
import numpy as np
import pytest

from helpers import BACKGROUND, NUM_CLASSES
from helpers.data import splits
from helpers.train import loop, recipe
from helpers.train.recipe import PRESETS

MASKS = np.full((4, 64, 84), BACKGROUND, dtype=np.uint8)
MASKS[:, 10:30, 10:30] = 3
MASKS[:2, 30:50, 50:70] = 8


def _passing_through() -> keras.Model:
    """A model whose output is its input: it 'predicts' whatever probabilities it is
    given."""
    inputs = keras.Input((64, 84, NUM_CLASSES))
    return keras.Model(inputs, keras.layers.Identity()(inputs))


def _digit_iou(predicted_maps: np.ndarray) -> float:
    model = loop.compile_for_training(_passing_through(), 10, PRESETS["book"])
    scores = model.evaluate(
        splits.one_hot(predicted_maps), MASKS, verbose=0, return_dict=True
    )
    return scores[recipe.DIGIT_IOU]


def test_the_digit_iou_of_a_perfect_prediction_is_one():
    assert _digit_iou(MASKS) == pytest.approx(1.0)


def test_the_digit_iou_of_a_background_only_prediction_is_zero():
    assert _digit_iou(np.full_like(MASKS, BACKGROUND)) == pytest.approx(0.0)


def test_the_digit_iou_averages_the_digits_present_and_ignores_background():
    """The 8s (800 pixels) predicted as 3s (1,600 pixels): IoU of 3 is 1600 / 2400, of
    8 is 0; the eight digits absent from both do not count."""
    predicted = np.where(MASKS == 8, 3, MASKS)
    assert _digit_iou(predicted) == pytest.approx((1600 / 2400 + 0.0) / 2)


def test_the_optimiser_is_adam_with_the_settings_fields():
    settings = PRESETS["book"].but(adam_epsilon=1e-5, adam_beta_1=0.8)
    model = loop.compile_for_training(_passing_through(), 10, settings)
    optimizer = model.optimizer
    assert isinstance(optimizer, keras.optimizers.Adam)
    assert optimizer.epsilon == 1e-5 and optimizer.beta_1 == 0.8
