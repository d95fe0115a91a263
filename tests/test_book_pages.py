"""The built book in a real browser, opened straight from the disk: what a reader
without a network sees.

Headless Chromium (the Debian package) opens the pages as plain files from the
book that conftest's ``built_book`` builds once per test session, in a window
1,280 px wide (tests/conftest.py). Skipped, with the reason, where Chromium is
not installed.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from chromium import Chromium, chromium_executable

from helpers.config import REPO_ROOT

pytestmark = pytest.mark.skipif(
    chromium_executable() is None,
    reason="Chromium is not installed (apt-get install chromium); .ci/run installs it",
)

CHAPTER_1 = Path("notebooks") / "01_semantic_segmentation.html"
PAGES = [
    "intro.html",
    *(
        f"notebooks/{path.stem}.html"
        for path in sorted((REPO_ROOT / "notebooks").glob("0*.ipynb"))
    ),
]
"""The front page and every chapter page, relative to the built book."""
EVERY_PAGE = [*PAGES, "notebooks/demo.html", "references.html"]
"""Every page of the table of contents."""
WIDTHS = {"laptop": 1280, "phone": 390}

READING = """(() => {
    const article = document.querySelector('article');
    const prose = article.cloneNode(true);
    prose.querySelectorAll('pre, code, script, style').forEach(element => element.remove());
    const rawTex = ['\\\\frac', '\\\\mathrm', '\\\\begin{', '\\\\left', '$$', '\\\\(', '\\\\[']
        .filter(tex => prose.innerText.includes(tex));
    const contentWidth = element => {
        const style = getComputedStyle(element);
        return element.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    };
    const narrowFigures = [...article.querySelectorAll('img')]
        .filter(img => img.naturalWidth > 0)
        .map(img => {
            const box = img.closest('.cell_output, figure, p') || img.parentElement;
            // A retina PNG has twice the pixels of the width it is made to be shown at.
            const madeFor = parseFloat(img.style.width)
                || parseFloat(img.getAttribute('width')) || img.naturalWidth;
            return {
                figure: (img.getAttribute('alt') || img.getAttribute('src')).slice(-50),
                shownPx: Math.round(img.getBoundingClientRect().width),
                neededPx: Math.round(Math.min(madeFor, contentWidth(box))),
                distorted: Math.abs(
                    img.getBoundingClientRect().height / img.getBoundingClientRect().width
                    - img.naturalHeight / img.naturalWidth
                ) > 0.02,
            };
        })
        .filter(figure => figure.shownPx < figure.neededPx - 2 || figure.distorted);
    return {
        sidewaysPx: Math.max(0, document.documentElement.scrollWidth - document.documentElement.clientWidth),
        rawTex,
        narrowFigures,
    };
})()"""
"""What spoils a page at the window's width: how far it scrolls sideways, TeX that
MathJax left as text (outside code), and figures shown narrower than their box and their
own width allow (shrunk by a fixed size, so their text is smaller than it need be), or
drawn at another aspect ratio than their own."""
CLEAN_PAGE = {"sidewaysPx": 0, "rawTex": [], "narrowFigures": []}

OVERFLOWING = """[...document.querySelectorAll('article pre, article table')]
    .filter(element => {
        const box = element.closest('.cell_output, .cell_input, .highlight') || element.parentElement;
        return element.scrollWidth > element.clientWidth + 1
            || element.getBoundingClientRect().width > box.getBoundingClientRect().width + 1;
    })
    .map(element => `${element.tagName} ${element.scrollWidth}px: ${element.textContent.trim().slice(0, 60)}`)"""
"""Code blocks and tables wider than their box: scrolled sideways, or sticking out of
the column."""


@pytest.fixture(scope="module")
def chapter_1(browser: Chromium, built_book: Path) -> Chromium:
    """Chapter 1 opened from the disk, once MathJax has typeset its equations."""
    browser.open((built_book / CHAPTER_1).as_uri())
    browser.wait_for(
        "window.MathJax && MathJax.startup && MathJax.startup.promise.then(() => true)"
    )
    return browser


def test_the_equations_of_chapter_1_are_rendered_from_the_disk(
    chapter_1: Chromium,
) -> None:
    rendered = chapter_1.evaluate(
        "document.querySelectorAll('mjx-container svg').length"
    )
    raw_tex = chapter_1.evaluate(
        "['\\\\frac', '\\\\mathrm', '$$'].filter(tex => "
        "document.body.innerText.includes(tex))"
    )
    assert rendered >= 10 and raw_tex == []


def test_chapter_1_loads_nothing_from_the_network(chapter_1: Chromium) -> None:
    loaded = chapter_1.evaluate(
        "performance.getEntriesByType('resource').map(entry => entry.name)"
    )
    scripts = chapter_1.evaluate(
        "[...document.scripts].map(script => script.src).filter(Boolean)"
    )
    assert any(
        url.split("?")[0].endswith("_static/mathjax/tex-svg.js") for url in scripts
    )
    assert [
        url for url in loaded + scripts if not url.startswith(("file:", "data:"))
    ] == []


@pytest.mark.parametrize("page", PAGES)
def test_no_code_block_or_table_is_wider_than_the_column(
    browser: Chromium, built_book: Path, page: str
) -> None:
    browser.open((built_book / page).as_uri())
    browser.wait_for("document.readyState === 'complete'")
    assert browser.evaluate("document.querySelectorAll('article pre').length") > 0
    assert browser.evaluate(OVERFLOWING) == []


def test_the_overflow_check_finds_a_code_line_too_long(
    browser: Chromium, built_book: Path
) -> None:
    browser.open((built_book / PAGES[1]).as_uri())
    browser.wait_for("document.readyState === 'complete'")
    browser.evaluate(
        "document.querySelector('article pre').textContent += '#'.repeat(200)"
    )
    assert len(browser.evaluate(OVERFLOWING)) == 1


@pytest.mark.parametrize("page", PAGES)
def test_a_page_opens_without_a_script_error(
    browser: Chromium, built_book: Path, page: str
) -> None:
    """No script on the page throws while it loads (a script declared twice did: a
    second ``const THEBE_JS_URL``)."""
    browser.open((built_book / page).as_uri())
    browser.wait_for("document.readyState === 'complete'")
    assert browser.exceptions == []


@pytest.mark.parametrize("device", WIDTHS)
@pytest.mark.parametrize("page", EVERY_PAGE)
def test_every_page_reads_on_a_laptop_and_a_phone(
    browser: Chromium, built_book: Path, page: str, device: str
) -> None:
    """At 1,280 and 390 px: no sideways scrolling, no raw TeX, no figure shrunk below
    its box, no script error and no error in the console."""
    with browser.window(WIDTHS[device]):
        browser.open((built_book / page).as_uri())
        browser.wait_for(
            "!window.MathJax || !MathJax.startup || MathJax.startup.promise.then(() => true)"
        )
        browser.wait_for("[...document.images].every(image => image.complete)")
        assert browser.evaluate(READING) == CLEAN_PAGE
        assert browser.exceptions == []
        assert browser.console_errors == []


@pytest.mark.parametrize(
    "spoil, found",
    [
        ("document.body.style.minWidth = '2000px'", "sidewaysPx"),
        ("document.querySelector('article p').textContent += ' $$x^2$$'", "rawTex"),
        (
            "document.querySelector('article .cell_output img').style.maxWidth = '100px'",
            "narrowFigures",
        ),
        (
            "document.querySelector('article .cell_output img')"
            ".style.setProperty('height', '900px', 'important')",
            "narrowFigures",
        ),
    ],
)
def test_the_reading_check_finds_a_spoiled_page(
    browser: Chromium, built_book: Path, spoil: str, found: str
) -> None:
    browser.open((built_book / PAGES[1]).as_uri())
    browser.wait_for("[...document.images].every(image => image.complete)")
    browser.evaluate(spoil)
    problems = browser.evaluate(READING)
    assert [key for key, value in problems.items() if value != CLEAN_PAGE[key]] == [
        found
    ]


def test_no_page_holds_a_script_twice(built_book: Path) -> None:
    pages = sorted(built_book.rglob("*.html"))
    assert pages
    for page in pages:
        scripts = re.findall(r"<script[^>]*>.*?</script>", page.read_text(), re.S)
        repeated = {script for script in scripts if scripts.count(script) > 1}
        assert not repeated, f"{page.relative_to(built_book)}: {sorted(repeated)[:2]}"


CITATION = re.compile(
    r'<a class="reference internal" href="(?:\.\./)?references\.html#([\w-]+)"[^>]*>'
    r"(.*?)</a>",
    re.S,
)
BIBLIOGRAPHY_LABEL = re.compile(
    r'<div class="citation" id="([\w-]+)"[^>]*>\s*<span class="label">'
    r'<span class="fn-bracket">\[</span>(.*?)<span class="fn-bracket">\]</span>'
)


def test_the_text_cites_each_source_by_its_label_in_the_bibliography(
    built_book: Path,
) -> None:
    """One citation style: the text reads "Long et al., 2015" and the bibliography
    lists that entry under the same words, every label once (two undated works of one
    author are told apart)."""
    labels = dict(
        BIBLIOGRAPHY_LABEL.findall((built_book / "references.html").read_text())
    )
    assert labels and len(set(labels.values())) == len(labels)
    cited = [
        (page.name, anchor, html.unescape(re.sub(r"<[^>]+>", "", text)))
        for page in sorted(built_book.rglob("*.html"))
        for anchor, text in CITATION.findall(page.read_text())
    ]
    assert len(cited) >= 10
    assert [
        (page, text)
        for page, anchor, text in cited
        if html.unescape(labels[anchor]) != text
    ] == []


DEMO = Path("notebooks") / "demo.html"
FITS = """(() => {
    const column = document.querySelector('article').getBoundingClientRect();
    const panels = document.querySelector('.demo-panels').getBoundingClientRect();
    return {
        inColumn: panels.left >= column.left - 1 && panels.right <= column.right + 1,
        noSidewaysScroll:
            document.documentElement.scrollWidth <= document.documentElement.clientWidth,
    };
})()"""


@pytest.mark.parametrize("width", [1280, 390])
def test_the_demo_fits_the_text_column(
    browser: Chromium, built_book: Path, width: int
) -> None:
    """Its two images sit inside the article column, on a laptop and on a phone, and
    the page never scrolls sideways."""
    with browser.window(width):
        browser.open((built_book / DEMO).as_uri())
        browser.wait_for("document.querySelector('.demo-panels') !== null")
        assert browser.evaluate(FITS) == {"inColumn": True, "noSidewaysScroll": True}
