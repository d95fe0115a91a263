"""Fixtures of the tests: real MNIST digits of every class, the same digits with grey
levels that name their labels, and one headless Chromium for the browser tests."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from chromium import Chromium, chromium_executable
from coded_digits import label_coded


@pytest.fixture(scope="session")
def mnist_pool() -> tuple[np.ndarray, np.ndarray]:
    """The first 300 MNIST training digits and their labels: real handwriting of every
    class 0-9."""
    from helpers.data import splits

    pixels, labels = splits.training_digits()
    assert set(labels[:300].tolist()) == set(range(10))
    return pixels[:300], labels[:300]


@pytest.fixture(scope="session")
def coded_pool(mnist_pool) -> tuple[np.ndarray, np.ndarray]:
    """:func:`mnist_pool` with each digit's strokes at the grey level of its label
    (:func:`coded_digits.label_coded`)."""
    pixels, labels = mnist_pool
    return label_coded(pixels, labels), labels


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    """Headless Chromium with a fresh profile in the scratch folder (only modules that
    skip without it use it)."""
    chromium = Chromium(
        chromium_executable(), profile=tmp_path_factory.mktemp("chromium-profile")
    )
    yield chromium
    chromium.close()
