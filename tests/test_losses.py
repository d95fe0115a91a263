"""Specification of helpers.train.losses: cross-entropy, the soft Dice loss of V-Net, and
their sum, chosen by name."""

import numpy as np
import pytest

from helpers.data import splits
from helpers.train import losses
from helpers.train.recipe import LOSSES

MASKS = np.random.default_rng(0).integers(0, 11, size=(2, 64, 84))
WRONG = splits.one_hot((MASKS + 1) % 11) * 0.9 + 0.1 / 11


@pytest.mark.parametrize("name", list(LOSSES))
def test_every_loss_is_near_zero_for_a_perfect_prediction(name):
    assert float(
        losses.segmentation_loss(name)(MASKS, splits.one_hot(MASKS))
    ) == pytest.approx(0.0, abs=1e-5)


def test_the_sum_is_cross_entropy_plus_dice():
    cross_entropy, dice, both = (
        float(losses.segmentation_loss(name)(MASKS, WRONG))
        for name in ("cross-entropy", "dice", "cross-entropy+dice")
    )
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


def _probabilities_of(class_maps: np.ndarray) -> np.ndarray:
    return splits.one_hot(class_maps)


def test_batch_dice_is_zero_for_a_perfect_prediction():
    loss = losses.batch_dice_loss(MASKS, _probabilities_of(MASKS))
    assert np.allclose(np.asarray(loss), 0.0, atol=1e-6)


def test_batch_dice_of_a_background_only_prediction_counts_every_present_digit():
    """Nothing predicted for digits: each digit present in the batch scores Dice ~0,
    each absent one Dice 1."""
    masks = np.full((2, 64, 84), 10)
    masks[0, :10, :10], masks[1, 20:30, 20:30] = 3, 7  # two digits present
    loss = losses.batch_dice_loss(masks, _probabilities_of(np.full_like(masks, 10)))
    assert np.allclose(np.asarray(loss), 2 / 10, atol=1e-6)


def test_batch_dice_charges_a_digit_predicted_but_absent_from_the_batch():
    masks = np.full((1, 64, 84), 10)
    masks[0, :10, :10] = 3
    invented = masks.copy()
    invented[0, 40:50, 40:50] = 5  # a 5 that no image holds
    perfect = float(losses.batch_dice_loss(masks, _probabilities_of(masks))[0])
    with_invention = float(
        losses.batch_dice_loss(masks, _probabilities_of(invented))[0]
    )
    assert perfect == pytest.approx(0.0, abs=1e-6)
    assert with_invention == pytest.approx(1 / 10, abs=1e-6)  # Dice of 5: eps/(100+eps)


def test_per_image_dice_gives_an_absent_digit_a_free_point():
    """The lesson of chapter 4: an image's absent digits score Dice 1 for predicting
    nothing, so missing its only digit costs 1/11, not 1."""
    masks = np.full((1, 64, 84), 10)
    masks[0, :10, :10] = 3
    background_only = _probabilities_of(np.full_like(masks, 10))
    loss = float(losses.soft_dice_loss(masks, background_only)[0])
    missed_digit = 1 - 1 / (100 + 1)  # (2*0 + 1) / (100 + 0 + 1)
    background = 1 - (2 * (64 * 84 - 100) + 1) / (64 * 84 - 100 + 64 * 84 + 1)
    assert loss == pytest.approx((missed_digit + background) / 11, rel=1e-4)


def test_cross_entropy_plus_batch_dice_adds_the_batch_dice():
    both = float(losses.segmentation_loss("cross-entropy+batch-dice")(MASKS, WRONG))
    cross_entropy = float(losses.segmentation_loss("cross-entropy")(MASKS, WRONG))
    dice = float(losses.batch_dice_loss(MASKS, WRONG)[0])
    assert dice > 0.9 and both == pytest.approx(cross_entropy + dice, rel=1e-5)
