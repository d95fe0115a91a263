"""Specification of helpers.losses: cross-entropy, and the soft Dice term that weighs classes by overlap."""

import numpy as np
import pytest

from helpers import data, losses


def test_loss_is_near_zero_for_a_perfect_prediction():
    masks = np.random.default_rng(0).integers(0, 11, size=(2, 64, 84))
    perfect = data.one_hot(masks)
    for dice_weight in (0.0, 1.0):
        loss = losses.SegmentationLoss(dice_weight)(masks, perfect)
        assert float(loss) == pytest.approx(0.0, abs=1e-5)


def test_dice_term_raises_the_loss_of_a_wrong_prediction():
    masks = np.random.default_rng(0).integers(0, 11, size=(2, 64, 84))
    wrong = data.one_hot((masks + 1) % 11) * 0.9 + 0.1 / 11
    assert float(losses.SegmentationLoss(1.0)(masks, wrong)) > float(losses.SegmentationLoss(0.0)(masks, wrong)) + 0.9
