"""How far to trust a score and a ranking: spread over seeds, and a two-level bootstrap
over test images and seeds.

Two things move a test score that have nothing to do with the model's design:

* the **seed** (initial weights, order of the batches): :func:`seed_spread`
  describes the scores of several runs of one recipe;
* the **test images**, a sample of the images the model could meet.

The score is the book's main measure, the dataset-level mean IoU over the ten
digits, so a set of images is scored from the sum of its images' confusion
matrices (``(N, 11, 11)`` per seed, rows true, columns predicted). A model's
estimate is the mean of its seeds' scores on all test images.

A percentile bootstrap (:func:`bootstrap_mean_iou`, :func:`bootstrap_difference`,
:func:`compare`) redraws both sources of chance, in two levels, in every resample:

1. the N test images, with replacement, one draw shared by every seed of every
   model compared, so what they have in common, like a hard image, cancels out
   of a difference (a paired bootstrap);
2. each model's k seeds, with replacement from its own seeds (k draws), so a
   model whose seeds disagree gets a wide interval: the statistic of a model is
   the mean, over its drawn seeds counted with multiplicity, of each drawn
   seed's score on the drawn images.

The interval holds the middle ``level`` share of the resampled statistics. With
``resample_seeds=False`` the seeds count as fixed and only the images are
redrawn; with one seed the two intervals are the same. Numpy only: no Keras.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from helpers import NUM_CLASSES
from helpers.evaluate import metrics


class Interval(NamedTuple):
    """A score on the whole test set and the bounds of its percentile bootstrap
    interval."""

    estimate: float
    low: float
    high: float


class SeedSpread(NamedTuple):
    """Scores of several seeds of one recipe: how many, their mean, standard deviation
    and range."""

    seeds: int
    mean: float
    sd: float
    min: float
    max: float


class Comparison(NamedTuple):
    """What a reader needs to judge model a against model b.

    Each model's seed-mean score on all test images, the range (max - min) of
    its seeds' scores, and the two-level bootstrap interval of a minus b.
    """

    a_mean: float
    b_mean: float
    a_seed_range: float
    b_seed_range: float
    difference: Interval


def seed_spread(scores: Sequence[float]) -> SeedSpread:
    """Mean, standard deviation (``ddof=1``; NaN for one seed, which measures no
    spread), min and max."""
    values = np.asarray(scores, dtype=float)
    if values.ndim != 1 or not values.size:
        raise ValueError(
            f"seed_spread needs a list of one score per seed, got shape {values.shape}"
        )
    sd = float(values.std(ddof=1)) if values.size > 1 else float("nan")
    return SeedSpread(
        values.size, float(values.mean()), sd, float(values.min()), float(values.max())
    )


def bootstrap_mean_iou(
    confusions_per_seed: Sequence[ArrayLike],
    n_resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    resample_seeds: bool = True,
) -> Interval:
    """Mean digit IoU of one model, averaged over its seeds, with a two-level bootstrap
    interval.

    ``confusions_per_seed`` holds one ``(N, 11, 11)`` array of per-image
    confusion matrices per seed, all on the same N test images. Each resample
    redraws the images and, unless ``resample_seeds`` is False, the seeds.
    ``seed`` seeds the resampling, so an interval is reproducible.
    """
    model = _checked_seeds(confusions_per_seed, "confusions_per_seed")
    return _bootstrap(
        [model], lambda scores: scores, n_resamples, level, seed, resample_seeds
    )


def bootstrap_difference(
    a_confusions_per_seed: Sequence[ArrayLike],
    b_confusions_per_seed: Sequence[ArrayLike],
    n_resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    resample_seeds: bool = True,
) -> Interval:
    """Seed-mean digit IoU of model a minus that of model b, with a paired two-level
    bootstrap interval.

    Both models are scored on the same drawn images in every resample, so
    their seeds must all hold the same N test images. With as many seeds on
    each side, one seed draw serves both, pairing seeds by position: seed k of
    two models of this book shares its training batches, and for independent
    seeds pairing changes nothing in expectation. Otherwise each side's seeds
    are drawn on their own. A model against itself thus differs by exactly 0.
    """
    models = _checked_pair(a_confusions_per_seed, b_confusions_per_seed)
    return _bootstrap(models, np.subtract, n_resamples, level, seed, resample_seeds)


def compare(
    a_confusions_per_seed: Sequence[ArrayLike],
    b_confusions_per_seed: Sequence[ArrayLike],
    **resampling: Any,
) -> Comparison:
    """Both models' seed means and seed ranges, and the interval of a minus b of
    :func:`bootstrap_difference` (``resampling``: its keywords)."""
    models = _checked_pair(a_confusions_per_seed, b_confusions_per_seed)
    a_scores, b_scores = (_scores_on_all_images(model) for model in models)
    difference = bootstrap_difference(
        a_confusions_per_seed, b_confusions_per_seed, **resampling
    )
    return Comparison(
        float(a_scores.mean()),
        float(b_scores.mean()),
        float(np.ptp(a_scores)),
        float(np.ptp(b_scores)),
        difference,
    )


def _checked_pair(
    a: Sequence[ArrayLike], b: Sequence[ArrayLike]
) -> list[list[np.ndarray]]:
    """Both models' seeds, checked and flattened, once they are known to hold the same
    number of test images."""
    models = [
        _checked_seeds(a, "a_confusions_per_seed"),
        _checked_seeds(b, "b_confusions_per_seed"),
    ]
    if len(models[0][0]) != len(models[1][0]):
        raise ValueError(
            "a paired difference needs the same test images: a has "
            f"{len(models[0][0])} per seed, "
            f"b has {len(models[1][0])}"
        )
    return models


def _checked_seeds(
    confusions_per_seed: Sequence[ArrayLike], name: str
) -> list[np.ndarray]:
    """Each seed's confusions flattened to float ``(N, 121)``, once every seed is
    checked to be ``(N, 11, 11)``."""
    if not len(confusions_per_seed):
        raise ValueError(f"{name}: no seeds")
    flattened = []
    for index, confusions in enumerate(confusions_per_seed):
        confusions = np.asarray(confusions)
        if (
            confusions.ndim != 3
            or confusions.shape[1:] != (NUM_CLASSES, NUM_CLASSES)
            or not len(confusions)
        ):
            raise ValueError(
                f"{name}[{index}]: expected per-image confusion matrices (N, "
                f"{NUM_CLASSES}, {NUM_CLASSES}) "
                f"with N > 0, got shape {confusions.shape}"
            )
        flattened.append(confusions.reshape(len(confusions), -1).astype(np.float64))
    sizes = [len(confusions) for confusions in flattened]
    if len(set(sizes)) > 1:
        raise ValueError(
            f"{name}: every seed must be scored on the same test images, got N = "
            f"{sizes}"
        )
    return flattened


def _bootstrap(
    models: list[list[np.ndarray]],
    statistic: Callable[..., np.ndarray],
    n_resamples: int,
    level: float,
    seed: int,
    resample_seeds: bool,
) -> Interval:
    """``statistic`` of the models' seed-mean scores on all images, and its percentile
    interval over resamples.

    The images are drawn first, so that with one seed per model the seed draw,
    which then always picks that seed, leaves the interval of images alone.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    rng = np.random.default_rng(seed)
    image_counts = _resample_counts(rng, len(models[0][0]), n_resamples)
    weights = _seed_weights(
        rng, [len(model) for model in models], n_resamples, resample_seeds
    )
    estimate = statistic(
        *(_scores_on_all_images(model).mean(keepdims=True) for model in models)
    )[0]
    resampled = statistic(
        *(
            (_scores_per_seed(image_counts, model) * model_weights).sum(axis=1)
            for model, model_weights in zip(models, weights, strict=True)
        )
    )
    low, high = np.quantile(resampled, [(1 - level) / 2, (1 + level) / 2])
    return Interval(float(estimate), float(low), float(high))


def _resample_counts(
    rng: np.random.Generator, n_images: int, n_resamples: int
) -> np.ndarray:
    """How often each image is drawn in each resample of ``n_images`` draws with
    replacement, float ``(R, N)``."""
    draws = rng.integers(n_images, size=(n_resamples, n_images))
    draws += np.arange(n_resamples)[:, None] * n_images
    counts = np.bincount(draws.ravel(), minlength=n_resamples * n_images)
    return counts.reshape(n_resamples, n_images).astype(np.float64)


def _seed_weights(
    rng: np.random.Generator,
    seed_counts: list[int],
    n_resamples: int,
    resample_seeds: bool,
) -> list[np.ndarray]:
    """Per model, the weight of each seed in each resample, rows summing to 1: ``(R,
    k)``, or ``(1, k)`` when fixed.

    A draw of k seeds out of k with replacement is multinomial counts over
    them, divided by k; models with as many seeds share one draw (seeds paired
    by position). Without seed resampling every seed weighs 1 / k.
    """
    if not resample_seeds:
        return [np.full((1, k), 1 / k) for k in seed_counts]
    draws: dict[int, np.ndarray] = {}
    for k in seed_counts:
        if k not in draws:
            draws[k] = rng.multinomial(k, np.full(k, 1 / k), size=n_resamples) / k
    return [draws[k] for k in seed_counts]


def _scores_on_all_images(model: list[np.ndarray]) -> np.ndarray:
    """Each seed's mean digit IoU on all test images, ``(k,)``."""
    return _scores_per_seed(np.ones((1, len(model[0]))), model)[0]


def _scores_per_seed(counts: np.ndarray, model: list[np.ndarray]) -> np.ndarray:
    """Each seed's mean digit IoU on each resample of images, ``(R, k)``; a resample's
    confusion is ``counts @`` the per-image confusions, whose sums are whole numbers
    well below 2**53 and so exact in float64."""
    return np.stack(
        [
            metrics.mean_iou_digits(
                (counts @ confusions).reshape(-1, NUM_CLASSES, NUM_CLASSES)
            )
            for confusions in model
        ],
        axis=1,
    )
