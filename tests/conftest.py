"""Fixtures of the browser tests: one headless Chromium for the whole test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from chromium import Chromium, chromium_executable


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    """Headless Chromium with a fresh profile in the scratch folder (only modules that
    skip without it use it)."""
    chromium = Chromium(
        chromium_executable(), profile=tmp_path_factory.mktemp("chromium-profile")
    )
    yield chromium
    chromium.close()
