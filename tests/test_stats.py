"""Specification of helpers.stats: spread over seeds and bootstrap intervals over test images."""

import itertools
import time

import numpy as np
import pytest

from helpers import BACKGROUND, NUM_CLASSES, metrics, stats


def image_confusion(digit: int, hits: int, missed: int = 0, inked: int = 0, read_as: int = BACKGROUND) -> np.ndarray:
    """One image's confusion matrix: ``hits`` pixels of ``digit`` right, ``missed`` labelled ``read_as``
    (background or another digit), ``inked`` background pixels labelled ``digit``, 100 background pixels right."""
    confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.uint16)
    confusion[digit, digit] = hits
    confusion[digit, read_as] = missed
    confusion[BACKGROUND, digit] = inked
    confusion[BACKGROUND, BACKGROUND] = 100
    return confusion


def random_confusions(n_images: int, seed: int) -> np.ndarray:
    """``n_images`` images of one digit (0-7) each, with a few errors, some read as an 8; 9 never occurs."""
    rng = np.random.default_rng(seed)
    return np.stack(
        [
            image_confusion(
                digit, rng.integers(50, 150), rng.integers(0, 10), rng.integers(0, 10), rng.choice([BACKGROUND, 8])
            )
            for digit in rng.integers(0, 8, size=n_images)
        ]
    )


TINY = np.stack(
    [image_confusion(1, 8, missed=2), image_confusion(2, 5, missed=3, read_as=3), image_confusion(1, 4, inked=4)]
)
TINY_OTHER_SEED = np.stack([image_confusion(1, 9, inked=1), image_confusion(2, 2, missed=6), image_confusion(1, 7)])


def test_mean_iou_digits_is_the_dataset_level_mean_of_metrics():
    confusion = random_confusions(20, seed=0).sum(axis=0)
    assert stats.mean_iou_digits(confusion) == metrics.scores_from_confusion(confusion)["mean_iou_digits"]


def test_mean_iou_digits_skips_digits_absent_from_truth_and_prediction():
    confusion = image_confusion(3, hits=6, missed=2)
    assert stats.mean_iou_digits(confusion) == pytest.approx(6 / 8)


def test_mean_iou_digits_rejects_anything_but_one_confusion_matrix():
    with pytest.raises(ValueError, match=r"got shape \(2, 11, 11\)"):
        stats.mean_iou_digits(np.zeros((2, NUM_CLASSES, NUM_CLASSES), dtype=int))


def test_the_estimate_is_the_mean_over_seeds_of_each_seeds_score_on_all_images():
    seeds = [random_confusions(50, seed) for seed in range(3)]
    interval = stats.bootstrap_mean_iou(seeds, n_resamples=10)
    assert interval.estimate == pytest.approx(np.mean([stats.mean_iou_digits(c.sum(axis=0)) for c in seeds]), 1e-12)


def test_identical_images_give_a_zero_width_interval_at_the_estimate():
    same_image = np.repeat(image_confusion(4, hits=30, missed=5, inked=2)[None], 40, axis=0)
    interval = stats.bootstrap_mean_iou([same_image])
    assert interval.low == interval.estimate == interval.high == pytest.approx(30 / 37)


def exact_bootstrap_scores(seeds: list[np.ndarray]) -> np.ndarray:
    """The statistic on every one of the 27 equally likely draws of 3 images out of 3, sorted."""
    draws = itertools.product(range(3), repeat=3)
    return np.sort(
        [np.mean([stats.mean_iou_digits(confusions[list(draw)].sum(axis=0)) for confusions in seeds]) for draw in draws]
    )


@pytest.mark.parametrize("seeds", [[TINY], [TINY, TINY_OTHER_SEED]], ids=["one seed", "two seeds, paired"])
@pytest.mark.parametrize(("level", "exact_ranks"), [(0.95, (0, 26)), (0.5, (6, 20))])
def test_many_resamples_find_the_quantiles_of_the_enumerated_bootstrap_distribution(seeds, level, exact_ranks):
    """With 27 equally likely draws, the q-quantile is the draw of rank ceil(27 q) - 1: ranks 0 and 26 bound the
    95 % interval, ranks 6 and 20 the 50 % one. Two seeds are scored on the same draw, or the quantiles would differ.
    """
    exact = exact_bootstrap_scores(seeds)
    interval = stats.bootstrap_mean_iou(seeds, n_resamples=100_000, level=level)
    assert exact[0] < exact[-1]
    assert (interval.low, interval.high) == pytest.approx((exact[exact_ranks[0]], exact[exact_ranks[1]]), rel=1e-12)


def test_a_second_seed_identical_to_the_first_leaves_the_interval_as_it_was():
    """The same drawn images serve every seed: were they drawn anew per seed, averaging would narrow the interval."""
    confusions = random_confusions(60, seed=1)
    assert stats.bootstrap_mean_iou([confusions, confusions]) == stats.bootstrap_mean_iou([confusions])


def test_the_same_resampling_seed_gives_the_same_interval_and_another_seed_another():
    confusions = [random_confusions(60, seed=2)]
    assert stats.bootstrap_mean_iou(confusions, seed=5) == stats.bootstrap_mean_iou(confusions, seed=5)
    assert stats.bootstrap_mean_iou(confusions, seed=5) != stats.bootstrap_mean_iou(confusions, seed=6)


def test_a_wider_level_gives_a_wider_interval_around_the_estimate():
    confusions = [random_confusions(80, seed=3)]
    narrow = stats.bootstrap_mean_iou(confusions, level=0.5)
    wide = stats.bootstrap_mean_iou(confusions, level=0.99)
    assert wide.low < narrow.low < narrow.estimate < narrow.high < wide.high


def test_the_difference_of_a_model_with_itself_is_exactly_zero():
    seeds = [random_confusions(80, seed) for seed in range(3)]
    assert stats.bootstrap_difference(seeds, seeds) == (0.0, 0.0, 0.0)


def test_the_difference_estimate_is_the_difference_of_the_seed_means():
    a = [random_confusions(80, seed) for seed in range(3)]
    b = [random_confusions(80, seed) for seed in range(10, 12)]
    difference = stats.bootstrap_difference(a, b, n_resamples=10)
    expected = stats.bootstrap_mean_iou(a).estimate - stats.bootstrap_mean_iou(b).estimate
    assert difference.estimate == pytest.approx(expected, abs=1e-12)


def test_pairing_makes_a_shared_hard_image_cancel_out():
    """Two models that differ by one pixel per image: resampled together, their difference barely moves."""
    a = random_confusions(100, seed=4)
    b = a.copy()
    b[:, BACKGROUND, BACKGROUND] -= 1
    b[np.arange(len(b)), BACKGROUND, np.argmax(np.diagonal(b, axis1=1, axis2=2)[:, :BACKGROUND], axis=1)] += 1
    difference = stats.bootstrap_difference([a], [b])
    separate = stats.bootstrap_mean_iou([a])
    assert 0 < difference.low < difference.high
    assert difference.high - difference.low < (separate.high - separate.low) / 10


def test_two_thousand_resamples_of_two_thousand_images_and_three_seeds_take_under_two_seconds():
    seeds = [random_confusions(2000, seed) for seed in range(3)]
    started = time.perf_counter()
    stats.bootstrap_mean_iou(seeds)
    assert time.perf_counter() - started < 2


def test_seeds_scored_on_different_numbers_of_images_are_rejected():
    with pytest.raises(ValueError, match=r"confusions_per_seed: .* same test images, got N = \[3, 2\]"):
        stats.bootstrap_mean_iou([TINY, TINY[:2]])


def test_models_scored_on_different_numbers_of_images_are_rejected():
    with pytest.raises(ValueError, match=r"same test images: a has 3 per seed, b has 2"):
        stats.bootstrap_difference([TINY], [TINY[:2]])


@pytest.mark.parametrize(
    "confusions",
    [np.zeros((3, 10, 10), dtype=int), np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=int), np.zeros((0, 11, 11), int)],
    ids=["ten classes", "one matrix", "no images"],
)
def test_confusions_of_the_wrong_shape_are_rejected_naming_the_seed(confusions):
    with pytest.raises(ValueError, match=rf"b_confusions_per_seed\[1\]: .*got shape \({confusions.shape[0]}, "):
        stats.bootstrap_difference([TINY], [TINY, confusions])


def test_a_model_without_seeds_is_rejected():
    with pytest.raises(ValueError, match="confusions_per_seed: no seeds"):
        stats.bootstrap_mean_iou([])


@pytest.mark.parametrize("level", [0, 1, 95, -0.5])
def test_a_level_outside_zero_to_one_is_rejected(level):
    with pytest.raises(ValueError, match=rf"level must lie strictly between 0 and 1, got {level}"):
        stats.bootstrap_mean_iou([TINY], level=level)


def test_seed_spread_gives_mean_sample_sd_min_and_max():
    spread = stats.seed_spread([0.90, 0.92, 0.97])
    assert spread.seeds == 3
    assert spread.mean == pytest.approx(0.93)
    assert spread.sd == pytest.approx(np.sqrt((0.03**2 + 0.01**2 + 0.04**2) / 2))
    assert (spread.min, spread.max) == (0.90, 0.97)


def test_the_spread_of_one_seed_has_no_standard_deviation():
    spread = stats.seed_spread([0.95])
    assert np.isnan(spread.sd)
    assert spread.mean == spread.min == spread.max == 0.95


def test_seed_spread_of_no_scores_is_rejected():
    with pytest.raises(ValueError, match=r"one score per seed, got shape \(0,\)"):
        stats.seed_spread([])
