"""Specification of helpers.evaluate.stats: spread over seeds and two-level bootstrap intervals
over test images and seeds."""

import itertools

import numpy as np
import pytest

from helpers import BACKGROUND, NUM_CLASSES
from helpers.evaluate import metrics, stats


def image_confusion(
    digit: int, hits: int, missed: int = 0, inked: int = 0, read_as: int = BACKGROUND
) -> np.ndarray:
    """One image's confusion matrix: ``hits`` pixels of ``digit`` right, ``missed``
    labelled ``read_as`` (background or another digit), ``inked`` background pixels
    labelled ``digit``, 100 background pixels right."""
    confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.uint16)
    confusion[digit, digit] = hits
    confusion[digit, read_as] = missed
    confusion[BACKGROUND, digit] = inked
    confusion[BACKGROUND, BACKGROUND] = 100
    return confusion


def random_confusions(n_images: int, seed: int) -> np.ndarray:
    """``n_images`` images of one digit (0-7) each, with a few errors, some read as an
    8; 9 never occurs."""
    rng = np.random.default_rng(seed)
    return np.stack(
        [
            image_confusion(
                digit,
                rng.integers(50, 150),
                rng.integers(0, 10),
                rng.integers(0, 10),
                rng.choice([BACKGROUND, 8]),
            )
            for digit in rng.integers(0, 8, size=n_images)
        ]
    )


def digit_images(missed: np.ndarray) -> np.ndarray:
    """One image per entry of ``missed``: image i holds 100 pixels of digit i % 10,
    ``missed[i]`` of them read as background, and 100 background pixels right."""
    images = np.arange(len(missed))
    confusions = np.zeros((len(missed), NUM_CLASSES, NUM_CLASSES), dtype=np.uint16)
    confusions[images, images % 10, images % 10] = 100 - missed
    confusions[images, images % 10, BACKGROUND] = missed
    confusions[:, BACKGROUND, BACKGROUND] = 100
    return confusions


def seeds_missing(
    rates: tuple[float, ...], rng: np.random.Generator
) -> list[np.ndarray]:
    """One seed per rate, on the same 2,000 images: each image misses about that share
    of its digit's pixels."""
    return [digit_images(rng.binomial(100, rate, size=2000)) for rate in rates]


TINY = np.stack(
    [
        image_confusion(1, 8, missed=2),
        image_confusion(2, 5, missed=3, read_as=3),
        image_confusion(1, 4, inked=4),
    ]
)
TINY_OTHER_SEED = np.stack(
    [
        image_confusion(1, 9, inked=1),
        image_confusion(2, 2, missed=6),
        image_confusion(1, 7),
    ]
)


def test_mean_iou_digits_of_the_tiny_images_is_worked_out_by_hand_as_metrics_gives_it():
    """Summed over TINY's three images: digit 1 has 12 hits, 2 missed and 4 inked (IoU
    12/18), digit 2 has 5 hits and 3 read as a 3 (IoU 5/8), digit 3 is only predicted
    (IoU 0); the other digits are absent. The mean is (2/3 + 5/8 + 0) / 3 = 31/72."""
    confusion = TINY.sum(axis=0)
    assert metrics.mean_iou_digits(confusion) == pytest.approx(31 / 72, abs=1e-12)
    assert metrics.scores_from_confusion(confusion)["mean_iou_digits"] == (
        pytest.approx(31 / 72, abs=1e-12)
    )


def test_mean_iou_digits_skips_digits_absent_from_truth_and_prediction():
    confusion = image_confusion(3, hits=6, missed=2)
    assert metrics.mean_iou_digits(confusion) == pytest.approx(6 / 8)


def test_mean_iou_digits_scores_each_matrix_of_a_stack_as_it_scores_one():
    stack = np.stack([TINY.sum(axis=0), image_confusion(3, hits=6, missed=2)])
    assert metrics.mean_iou_digits(stack) == pytest.approx([31 / 72, 6 / 8])


def test_mean_iou_digits_rejects_anything_but_square_confusion_matrices():
    with pytest.raises(ValueError, match=r"got shape \(11, 10\)"):
        metrics.mean_iou_digits(np.zeros((NUM_CLASSES, NUM_CLASSES - 1), dtype=int))


def test_the_estimate_is_the_mean_over_seeds_of_each_seeds_score_on_all_images():
    """Every image of a seed misses 0, 10 or 20 of its 100 digit pixels: the seeds score
    1.0, 0.9 and 0.8 on all images, so the estimate is 0.9."""
    seeds = [digit_images(np.full(50, missed)) for missed in (0, 10, 20)]
    interval = stats.bootstrap_mean_iou(seeds, n_resamples=10)
    assert interval.estimate == pytest.approx(0.9, abs=1e-12)


def test_identical_images_give_a_zero_width_interval_at_the_estimate():
    same_image = np.repeat(
        image_confusion(4, hits=30, missed=5, inked=2)[None], 40, axis=0
    )
    interval = stats.bootstrap_mean_iou([same_image])
    assert interval.low == interval.estimate == interval.high == pytest.approx(30 / 37)


def exact_bootstrap_scores(seeds: list[np.ndarray]) -> np.ndarray:
    """The statistic on every one of the 27 equally likely draws of 3 images out of 3,
    sorted."""
    draws = itertools.product(range(3), repeat=3)
    return np.sort(
        [
            np.mean(
                [
                    metrics.mean_iou_digits(confusions[list(draw)].sum(axis=0))
                    for confusions in seeds
                ]
            )
            for draw in draws
        ]
    )


def exact_two_level_scores(seeds: list[np.ndarray]) -> np.ndarray:
    """The statistic on every one of the 27 k**k equally likely draws of 3 images out of
    3 and then k seeds out of k, each drawn seed counted as often as it is drawn,
    sorted."""
    images = itertools.product(range(3), repeat=3)
    return np.sort(
        [
            np.mean(
                [
                    metrics.mean_iou_digits(seeds[seed][list(draw)].sum(axis=0))
                    for seed in seed_draw
                ]
            )
            for draw in images
            for seed_draw in itertools.product(range(len(seeds)), repeat=len(seeds))
        ]
    )


@pytest.mark.parametrize(
    "seeds", [[TINY], [TINY, TINY_OTHER_SEED]], ids=["one seed", "two seeds, paired"]
)
@pytest.mark.parametrize(("level", "exact_ranks"), [(0.95, (0, 26)), (0.5, (6, 20))])
def test_many_resamples_find_the_quantiles_of_the_enumerated_bootstrap_distribution(
    seeds, level, exact_ranks
):
    """With 27 equally likely draws, the q-quantile is the draw of rank ceil(27 q) - 1:
    ranks 0 and 26 bound the 95 % interval, ranks 6 and 20 the 50 % one. Two seeds are
    scored on the same draw, or the quantiles would differ. The seeds are held fixed
    here: only the images are drawn.
    """
    exact = exact_bootstrap_scores(seeds)
    interval = stats.bootstrap_mean_iou(
        seeds, n_resamples=100_000, level=level, resample_seeds=False
    )
    assert exact[0] < exact[-1]
    assert (interval.low, interval.high) == pytest.approx(
        (exact[exact_ranks[0]], exact[exact_ranks[1]]), rel=1e-12
    )


@pytest.mark.parametrize(("level", "exact_ranks"), [(0.95, (2, 105)), (0.9, (5, 102))])
def test_many_two_level_resamples_find_the_quantiles_of_the_enumerated_distribution(
    level, exact_ranks
):
    """3 images and 2 seeds make 27 * 4 = 108 equally likely draws; the q-quantile is
    the draw of rank ceil(108 q) - 1. Both levels keep clear of a point where the
    distribution steps, where sampling would blur it."""
    exact = exact_two_level_scores([TINY, TINY_OTHER_SEED])
    interval = stats.bootstrap_mean_iou(
        [TINY, TINY_OTHER_SEED], n_resamples=100_000, level=level
    )
    assert (interval.low, interval.high) == pytest.approx(
        (exact[exact_ranks[0]], exact[exact_ranks[1]]), rel=1e-12
    )


def test_a_second_seed_identical_to_the_first_leaves_the_interval_as_it_was():
    """The same drawn images serve every seed: were they drawn anew per seed, averaging
    would narrow the interval."""
    confusions = random_confusions(60, seed=1)
    assert stats.bootstrap_mean_iou(
        [confusions, confusions]
    ) == stats.bootstrap_mean_iou([confusions])


def test_the_same_resampling_seed_gives_the_same_interval_and_another_seed_another():
    confusions = [random_confusions(60, seed=2)]
    assert stats.bootstrap_mean_iou(confusions, seed=5) == stats.bootstrap_mean_iou(
        confusions, seed=5
    )
    assert stats.bootstrap_mean_iou(confusions, seed=5) != stats.bootstrap_mean_iou(
        confusions, seed=6
    )


def test_a_wider_level_gives_a_wider_interval_around_the_estimate():
    confusions = [random_confusions(80, seed=3)]
    narrow = stats.bootstrap_mean_iou(confusions, level=0.5)
    wide = stats.bootstrap_mean_iou(confusions, level=0.99)
    assert wide.low < narrow.low < narrow.estimate < narrow.high < wide.high


def test_the_difference_of_a_model_with_itself_is_exactly_zero():
    """Its seeds differ, but one seed draw serves both sides, so every resample pairs
    each seed with itself."""
    seeds = [random_confusions(80, seed) for seed in range(3)]
    assert stats.bootstrap_difference(seeds, seeds) == (0.0, 0.0, 0.0)


def test_seeds_that_differ_more_than_the_models_leave_the_difference_undecided():
    """Model a's seeds miss about 0, 10 and 20 % of each digit, b's, in this order,
    about 25, 15 and 5 %: a is better on average, but which of the two wins depends on
    the seeds drawn. Held fixed, the seeds look like a sure difference."""
    rng = np.random.default_rng(0)
    a, b = (
        seeds_missing((0.00, 0.10, 0.20), rng),
        seeds_missing((0.25, 0.15, 0.05), rng),
    )
    images_only = stats.bootstrap_difference(a, b, resample_seeds=False)
    two_level = stats.bootstrap_difference(a, b)
    assert 0 < images_only.low < images_only.high
    assert two_level.low < 0 < two_level.high


def test_a_seed_effect_both_models_share_seed_by_seed_cancels_out_of_their_difference():
    """As above, but b's seeds are listed in a's order, so seed k of b misses about 5 %
    more than seed k of a, as when seed k of two models trains on the same batches: the
    seed pairs agree on the difference."""
    rng = np.random.default_rng(0)
    a, b = (
        seeds_missing((0.00, 0.10, 0.20), rng),
        seeds_missing((0.05, 0.15, 0.25), rng),
    )
    assert 0 < stats.bootstrap_difference(a, b).low


def test_with_one_seed_resampling_seeds_changes_nothing():
    """The one seed is always drawn, and the images are drawn as without seed
    resampling."""
    a, b = [random_confusions(60, seed=7)], [random_confusions(60, seed=8)]
    assert stats.bootstrap_mean_iou(a) == stats.bootstrap_mean_iou(
        a, resample_seeds=False
    )
    assert stats.bootstrap_difference(a, b) == stats.bootstrap_difference(
        a, b, resample_seeds=False
    )


def test_the_difference_estimate_is_the_difference_of_the_seed_means():
    """a's seeds score 1.0, 0.9, 0.8 (mean 0.9) and b's 0.95, 0.9 (mean 0.925): a minus
    b is -0.025."""
    a = [digit_images(np.full(50, missed)) for missed in (0, 10, 20)]
    b = [digit_images(np.full(50, missed)) for missed in (5, 10)]
    difference = stats.bootstrap_difference(a, b, n_resamples=10)
    assert difference.estimate == pytest.approx(-0.025, abs=1e-12)


def test_pairing_makes_a_shared_hard_image_cancel_out():
    """Two models that differ by one pixel per image: resampled together, their
    difference barely moves."""
    a = random_confusions(100, seed=4)
    b = a.copy()
    b[:, BACKGROUND, BACKGROUND] -= 1
    b[
        np.arange(len(b)),
        BACKGROUND,
        np.argmax(np.diagonal(b, axis1=1, axis2=2)[:, :BACKGROUND], axis=1),
    ] += 1
    difference = stats.bootstrap_difference([a], [b])
    separate = stats.bootstrap_mean_iou([a])
    assert 0 < difference.low < difference.high
    assert difference.high - difference.low < (separate.high - separate.low) / 10


def test_a_comparison_reports_seed_means_seed_ranges_and_the_difference_interval():
    """Every image of a seed misses the same pixels, so the seeds score exactly 1.0,
    0.9, 0.8 (a) and 0.95, 0.9 (b)."""
    a = [digit_images(np.full(50, missed)) for missed in (0, 10, 20)]
    b = [digit_images(np.full(50, missed)) for missed in (5, 10)]
    comparison = stats.compare(a, b)
    assert comparison[:4] == pytest.approx((0.9, 0.925, 0.2, 0.05), abs=1e-12)
    assert comparison.difference == stats.bootstrap_difference(a, b)


def test_seeds_scored_on_different_numbers_of_images_are_rejected():
    with pytest.raises(
        ValueError, match=r"confusions_per_seed: .* same test images, got N = \[3, 2\]"
    ):
        stats.bootstrap_mean_iou([TINY, TINY[:2]])


def test_models_scored_on_different_numbers_of_images_are_rejected():
    with pytest.raises(
        ValueError, match=r"same test images: a has 3 per seed, b has 2"
    ):
        stats.bootstrap_difference([TINY], [TINY[:2]])


@pytest.mark.parametrize(
    "confusions",
    [
        np.zeros((3, 10, 10), dtype=int),
        np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=int),
        np.zeros((0, 11, 11), int),
    ],
    ids=["ten classes", "one matrix", "no images"],
)
def test_confusions_of_the_wrong_shape_are_rejected_naming_the_seed(confusions):
    with pytest.raises(
        ValueError,
        match=rf"b_confusions_per_seed\[1\]: .*got shape \({confusions.shape[0]}, ",
    ):
        stats.bootstrap_difference([TINY], [TINY, confusions])


def test_a_model_without_seeds_is_rejected():
    with pytest.raises(ValueError, match="confusions_per_seed: no seeds"):
        stats.bootstrap_mean_iou([])


@pytest.mark.parametrize("level", [0, 1, 95, -0.5])
def test_a_level_outside_zero_to_one_is_rejected(level):
    with pytest.raises(
        ValueError, match=rf"level must lie strictly between 0 and 1, got {level}"
    ):
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
