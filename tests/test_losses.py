"""Specification of helpers.losses: cross-entropy, the soft Dice loss of V-Net, and
their sum, chosen by name."""

import numpy as np
import pytest

from helpers import data, losses
from helpers.settings import LOSSES

MASKS = np.random.default_rng(0).integers(0, 11, size=(2, 64, 84))
WRONG = data.one_hot((MASKS + 1) % 11) * 0.9 + 0.1 / 11


@pytest.mark.parametrize("name", list(LOSSES))
def test_every_loss_is_near_zero_for_a_perfect_prediction(name):
    assert float(
        losses.segmentation_loss(name)(MASKS, data.one_hot(MASKS))
    ) == pytest.approx(0.0, abs=1e-5)


def test_the_sum_is_cross_entropy_plus_dice():
    parts = [float(losses.segmentation_loss(name)(MASKS, WRONG)) for name in LOSSES]
    cross_entropy, dice, both = parts
    assert (
        cross_entropy > 1
        and dice > 0.9
        and both == pytest.approx(cross_entropy + dice, rel=1e-5)
    )


def test_dice_loss_of_a_known_prediction():
    """One image, two classes on half the pixels each, both predicted 0.5 everywhere;
    nine classes absent."""
    masks = np.zeros((1, 64, 84), dtype=int)
    masks[:, :, 42:] = 1
    halves = np.zeros((1, 64, 84, 11), dtype="float32")
    halves[..., :2] = 0.5
    n = 64 * 42  # pixels of each of the two classes
    present = (2 * 0.5 * n + 1) / (
        2 * n * 0.25 + n + 1
    )  # sum(p**2) over all pixels + sum(t) of the class
    expected = 1 - (2 * present + 9 * 1.0) / 11  # the 9 absent classes score 1
    assert float(losses.soft_dice_loss(masks, halves)[0]) == pytest.approx(
        expected, rel=1e-5
    )


def test_an_unknown_loss_is_refused_by_name():
    with pytest.raises(ValueError, match="'focal'"):
        losses.segmentation_loss("focal")
