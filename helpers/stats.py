"""How far to trust a score and a ranking: spread over seeds, and bootstrap intervals over test images.

Two things move a test score that have nothing to do with the model's design:

* the **seed** (initial weights, order of the batches): :func:`seed_spread`
  describes the scores of several runs of one recipe;
* the **test images**, a sample of the images the model could meet: a
  percentile bootstrap (:func:`bootstrap_mean_iou`) draws the N test images
  again with replacement, scores each draw as if it were the test set, and
  reports the middle ``level`` share of those scores.

The score is the book's main measure, the dataset-level mean IoU over the ten
digits, so a draw is scored from the sum of its images' confusion matrices
(``(N, 11, 11)`` per run, rows true, columns predicted). With several seeds the
statistic is the mean of the seeds' scores, and every seed is scored on the
same drawn images; a difference between two models uses the same drawn images
for both (a paired bootstrap), so what the two have in common, like a hard
image, cancels out. Numpy only: no Keras.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from helpers import BACKGROUND, NUM_CLASSES, metrics

_DIGITS = np.array([c for c in range(NUM_CLASSES) if c != BACKGROUND])


class Interval(NamedTuple):
    """A score on the whole test set and the bounds of its percentile bootstrap interval."""

    estimate: float
    low: float
    high: float


class SeedSpread(NamedTuple):
    """Scores of several seeds of one recipe: how many, their mean, standard deviation and range."""

    seeds: int
    mean: float
    sd: float
    min: float
    max: float


def seed_spread(scores: Sequence[float]) -> SeedSpread:
    """Mean, standard deviation (``ddof=1``; NaN for one seed, which measures no spread), min and max."""
    values = np.asarray(scores, dtype=float)
    if values.ndim != 1 or not values.size:
        raise ValueError(f"seed_spread needs a list of one score per seed, got shape {values.shape}")
    sd = float(values.std(ddof=1)) if values.size > 1 else float("nan")
    return SeedSpread(values.size, float(values.mean()), sd, float(values.min()), float(values.max()))


def mean_iou_digits(confusion: ArrayLike) -> float:
    """Dataset-level mean IoU over the ten digits of one confusion matrix (11, 11), as :mod:`helpers.metrics`.

    A digit absent from both truth and prediction has no IoU and is skipped.
    """
    confusion = np.asarray(confusion)
    if confusion.shape != (NUM_CLASSES, NUM_CLASSES):
        raise ValueError(f"expected one confusion matrix ({NUM_CLASSES}, {NUM_CLASSES}), got shape {confusion.shape}")
    return metrics.scores_from_confusion(confusion)["mean_iou_digits"]


def bootstrap_mean_iou(
    confusions_per_seed: Sequence[ArrayLike], n_resamples: int = 2000, level: float = 0.95, seed: int = 0
) -> Interval:
    """Mean digit IoU of one model, averaged over its seeds, with a percentile bootstrap interval over test images.

    ``confusions_per_seed`` holds one ``(N, 11, 11)`` array of per-image
    confusion matrices per seed, all on the same N test images. ``seed`` seeds
    the resampling, so an interval is reproducible.
    """
    model = _checked_seeds(confusions_per_seed, "confusions_per_seed")
    return _bootstrap([model], lambda scores: scores, n_resamples, level, seed)


def bootstrap_difference(
    a_confusions_per_seed: Sequence[ArrayLike],
    b_confusions_per_seed: Sequence[ArrayLike],
    n_resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Seed-mean digit IoU of model a minus that of model b, with a paired bootstrap interval over test images.

    Both models are scored on the same drawn images in every resample, so
    their seeds must all hold the same N test images.
    """
    a = _checked_seeds(a_confusions_per_seed, "a_confusions_per_seed")
    b = _checked_seeds(b_confusions_per_seed, "b_confusions_per_seed")
    if len(a[0]) != len(b[0]):
        raise ValueError(
            f"a paired difference needs the same test images: a has {len(a[0])} per seed, b has {len(b[0])}"
        )
    return _bootstrap([a, b], np.subtract, n_resamples, level, seed)


def _checked_seeds(confusions_per_seed: Sequence[ArrayLike], name: str) -> list[np.ndarray]:
    """Each seed's confusions flattened to float ``(N, 121)``, once every seed is checked to be ``(N, 11, 11)``."""
    if not len(confusions_per_seed):
        raise ValueError(f"{name}: no seeds")
    flattened = []
    for index, confusions in enumerate(confusions_per_seed):
        confusions = np.asarray(confusions)
        if confusions.ndim != 3 or confusions.shape[1:] != (NUM_CLASSES, NUM_CLASSES) or not len(confusions):
            raise ValueError(
                f"{name}[{index}]: expected per-image confusion matrices (N, {NUM_CLASSES}, {NUM_CLASSES}) "
                f"with N > 0, got shape {confusions.shape}"
            )
        flattened.append(confusions.reshape(len(confusions), -1).astype(np.float64))
    sizes = [len(confusions) for confusions in flattened]
    if len(set(sizes)) > 1:
        raise ValueError(f"{name}: every seed must be scored on the same test images, got N = {sizes}")
    return flattened


def _bootstrap(
    models: list[list[np.ndarray]],
    statistic: Callable[..., np.ndarray],
    n_resamples: int,
    level: float,
    seed: int,
) -> Interval:
    """``statistic`` of the models' seed-mean scores on all images, and its percentile interval over resamples."""
    if not 0 < level < 1:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    n_images = len(models[0][0])
    all_images_once = np.ones((1, n_images))
    resamples = _resample_counts(n_images, n_resamples, seed)
    estimate = statistic(*(_seed_mean_scores(all_images_once, model) for model in models))[0]
    resampled = statistic(*(_seed_mean_scores(resamples, model) for model in models))
    low, high = np.quantile(resampled, [(1 - level) / 2, (1 + level) / 2])
    return Interval(float(estimate), float(low), float(high))


def _resample_counts(n_images: int, n_resamples: int, seed: int) -> np.ndarray:
    """How often each image is drawn in each resample of ``n_images`` draws with replacement, float ``(R, N)``."""
    draws = np.random.default_rng(seed).integers(n_images, size=(n_resamples, n_images))
    draws += np.arange(n_resamples)[:, None] * n_images
    counts = np.bincount(draws.ravel(), minlength=n_resamples * n_images)
    return counts.reshape(n_resamples, n_images).astype(np.float64)


def _seed_mean_scores(counts: np.ndarray, model: list[np.ndarray]) -> np.ndarray:
    """Mean over seeds of the mean digit IoU of each resample, whose confusion is ``counts @`` per-image confusions.

    The sums are whole numbers well below 2**53, so they are exact in float64.
    """
    return np.mean([_mean_iou_digits_of_each(counts @ confusions) for confusions in model], axis=0)


def _mean_iou_digits_of_each(flat_confusions: np.ndarray) -> np.ndarray:
    """:func:`mean_iou_digits` of each row of ``(R, 121)`` flattened confusion matrices, vectorised."""
    confusions = flat_confusions.reshape(-1, NUM_CLASSES, NUM_CLASSES)
    true_positives = np.diagonal(confusions, axis1=1, axis2=2)
    union = (confusions.sum(axis=1) + confusions.sum(axis=2) - true_positives)[:, _DIGITS]
    scored = union > 0
    iou = np.divide(true_positives[:, _DIGITS], union, out=np.zeros_like(union), where=scored)
    n_scored = scored.sum(axis=1)
    return np.divide(iou.sum(axis=1), n_scored, out=np.full(len(iou), np.nan), where=n_scored > 0)
