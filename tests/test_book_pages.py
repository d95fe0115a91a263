"""The built book in a real browser, opened straight from the disk: what a reader without a network sees.

Headless Chromium (the Debian package) opens chapter pages as plain files from the book that conftest's
``built_book`` builds once per test session. Skipped, with the reason, where Chromium is not installed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from chromium import Chromium, chromium_executable

pytestmark = pytest.mark.skipif(
    chromium_executable() is None, reason="Chromium is not installed (apt-get install chromium); .ci/run installs it"
)

CHAPTER_1 = Path("notebooks") / "01_semantic_segmentation.html"


@pytest.fixture(scope="module")
def chapter_1(browser: Chromium, built_book: Path) -> Chromium:
    """Chapter 1 opened from the disk, once MathJax has typeset its equations."""
    browser.open((built_book / CHAPTER_1).as_uri())
    browser.wait_for("window.MathJax && MathJax.startup && MathJax.startup.promise.then(() => true)")
    return browser


def test_the_equations_of_chapter_1_are_rendered_from_the_disk(chapter_1: Chromium) -> None:
    rendered = chapter_1.evaluate("document.querySelectorAll('mjx-container svg').length")
    raw_tex = chapter_1.evaluate(
        "['\\\\frac', '\\\\mathrm', '$$'].filter(tex => document.body.innerText.includes(tex))"
    )
    assert rendered >= 10 and raw_tex == []


def test_chapter_1_loads_nothing_from_the_network(chapter_1: Chromium) -> None:
    loaded = chapter_1.evaluate("performance.getEntriesByType('resource').map(entry => entry.name)")
    scripts = chapter_1.evaluate("[...document.scripts].map(script => script.src).filter(Boolean)")
    assert any(url.endswith("_static/mathjax/tex-svg.js") for url in scripts)
    assert [url for url in loaded + scripts if not url.startswith(("file:", "data:"))] == []
