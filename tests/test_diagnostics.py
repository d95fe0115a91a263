"""Specification of helpers.evaluate.diagnostics: the share of digit pixels a network describes
with all its last features off."""

import keras
import numpy as np
import pytest

from helpers import BACKGROUND, NUM_CLASSES
from helpers.evaluate import diagnostics
from helpers.nets.blocks import CROP_LAYER

MASKS = np.full((2, 64, 84), BACKGROUND, dtype=np.uint8)
MASKS[:, 20:40, 30:50] = 7
IMAGES = np.where(MASKS == 7, 255, 0).astype(np.uint8)


def _toy_model(ink_weight: float, score_layers: int = 1) -> keras.Model:
    """Grey levels -> 4 ReLU features (ink times ``ink_weight``) -> 1x1 class scores."""
    inputs = keras.Input((64, 84, 1))
    features = keras.layers.Conv2D(
        4, 1, kernel_initializer=keras.initializers.Constant(ink_weight)
    )(keras.layers.Rescaling(1 / 255)(inputs))
    features = keras.layers.ReLU()(features)
    scores = [
        keras.layers.Conv2D(NUM_CLASSES, 1, name=f"scores{index}")(features)
        for index in range(score_layers)
    ]
    scores = scores[0] if score_layers == 1 else keras.layers.Add()(scores)
    cropped = keras.layers.Cropping2D(((0, 0), (0, 0)), name=CROP_LAYER)(scores)
    return keras.Model(inputs, keras.layers.Softmax()(cropped))


def test_a_network_whose_features_are_off_on_the_digits_is_silent_there():
    shares = diagnostics.silent_foreground(_toy_model(-1.0), IMAGES, MASKS)
    assert shares == {"scores0": 1.0}


def test_a_network_whose_features_respond_to_ink_is_not_silent():
    shares = diagnostics.silent_foreground(_toy_model(1.0), IMAGES, MASKS)
    assert shares == {"scores0": 0.0}


def test_every_class_score_layer_is_measured():
    shares = diagnostics.silent_foreground(_toy_model(1.0, 2), IMAGES, MASKS)
    assert set(shares) == {"scores0", "scores1"}


def test_masks_without_digits_are_refused():
    with pytest.raises(ValueError, match="no digit pixel"):
        diagnostics.silent_foreground(
            _toy_model(1.0), IMAGES, np.full_like(MASKS, BACKGROUND)
        )


def test_the_monitor_adds_the_largest_share_to_the_logs():
    monitor = diagnostics.SilenceMonitor(IMAGES, MASKS)
    monitor.set_model(_toy_model(-1.0))
    logs = {}
    monitor.on_epoch_end(0, logs)
    assert logs == {diagnostics.HISTORY_KEY: 1.0}
