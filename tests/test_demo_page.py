"""The demo page in a real browser: strokes drawn through the canvas are labelled as the
Python export labels them.

The book is built into the scratch folder once; headless Chromium (the Debian
package) opens the demo page both as a plain file and served over HTTP, draws
with mouse events, and reads the shown drawing and class map back from the
canvases. Skipped, with the reason, where Chromium is not installed.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from chromium import Chromium, chromium_executable

from demo import export
from helpers import BACKGROUND, HEIGHT, WIDTH
from helpers.nets import names

pytestmark = pytest.mark.skipif(
    chromium_executable() is None,
    reason="Chromium is not installed (apt-get install chromium); .ci/run installs it",
)

DEMO_PAGE = Path("notebooks") / "demo.html"
DEMO = "document.getElementById('segmentation-demo')"
LATENCY_RUNS = 15
LATENCY_LIMIT_MS = 100
# Strokes in image coordinates (column, row): a 1, a 7 and a 0 side by side, each about
# 20 pixels tall.
DIGIT_STROKES = [
    [(14, 21), (14, 44)],
    [(30, 22), (45, 22), (35, 44)],
    [(64 + 7 * np.sin(t), 32 - 11 * np.cos(t)) for t in np.linspace(0, 2 * np.pi, 25)],
]


@pytest.fixture(scope="module")
def served_book(built_book: Path) -> Iterator[str]:
    """The built book served over HTTP on the loopback address; its base URL."""
    handler = functools.partial(QuietHandler, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    thread.join()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Requests are not logged: the test output stays readable."""


@pytest.fixture(scope="module")
def book_data() -> dict:
    return export.read_book_data()


def open_demo(browser: Chromium, url: str) -> None:
    """Open the demo page and wait until it has labelled its first image (or said what
    is wrong)."""
    browser.open(url)
    settle(browser)


def settle(browser: Chromium) -> str:
    """Wait until the page has no run left to do; its state: ready, or error when it
    could not label the image."""
    settled = (
        f"{DEMO}.dataset.busy === 'false' && ['ready', "
        f"'error'].includes({DEMO}.dataset.state)"
    )
    return browser.wait_for(f"{settled} && {DEMO}.dataset.state")


def act(browser: Chromium, javascript: str) -> str:
    """Run a user action written as JavaScript (a click, a choice) and wait for the page
    to settle."""
    browser.evaluate(javascript)
    return settle(browser)


def choose_model(browser: Chromium, model: str) -> str:
    select = f"{DEMO}.querySelector('select[aria-label=model]')"
    return act(
        browser,
        f"{select}.value = {json.dumps(model)}; {select}.dispatchEvent(new "
        "Event('change'))",
    )


def click(browser: Chromium, selector: str) -> str:
    return act(browser, f"{DEMO}.querySelector({json.dumps(selector)}).click()")


def canvas_to_page(
    browser: Chromium, canvas_class: str
) -> Callable[[float, float], tuple[float, float]]:
    """Scroll a canvas of the demo into view; the function from its image coordinates to
    page coordinates."""
    left, top, width, height = browser.evaluate(
        f"(() => {{ const c = {DEMO}.querySelector('canvas.{canvas_class}'); c.scrollIntoView();"
        " const r = c.getBoundingClientRect(); return [r.left, r.top, r.width, "
        "r.height]; })()"
    )
    return lambda column, row: (
        left + (column + 0.5) / WIDTH * width,
        top + (row + 0.5) / HEIGHT * height,
    )


def draw(browser: Chromium, strokes: list[list[tuple[float, float]]]) -> None:
    """Draw polylines given in image coordinates with the mouse on the input canvas,
    then wait for the labels."""
    page_point = canvas_to_page(browser, "demo-input")
    for stroke in strokes:
        browser.mouse("mousePressed", *page_point(*stroke[0]), pressed=True)
        for point in stroke[1:]:
            browser.mouse("mouseMoved", *page_point(*point), pressed=True)
        browser.mouse("mouseReleased", *page_point(*stroke[-1]))
    settle(browser)


def canvas_pixels(browser: Chromium, canvas_class: str) -> np.ndarray:
    """The RGB pixels ``uint8 (64, 84, 3)`` a canvas of the demo shows."""
    values = browser.evaluate(
        f"(() => {{ const c = {DEMO}.querySelector('canvas.{canvas_class}');"
        " return Array.from(c.getContext('2d').getImageData(0, 0, c.width, "
        "c.height).data); })()"
    )
    return np.array(values, dtype=np.uint8).reshape(HEIGHT, WIDTH, 4)[..., :3]


def shown_image(browser: Chromium) -> np.ndarray:
    """The grey levels ``uint8 (64, 84)`` of the drawing as the page shows it."""
    rgb = canvas_pixels(browser, "demo-input")
    assert (rgb == rgb[..., :1]).all(), "the drawing is shown in grey levels"
    return rgb[..., 0]


def shown_class_map(browser: Chromium, book_data: dict) -> np.ndarray:
    """The class map ``uint8 (64, 84)`` the page shows, read back through the
    palette."""
    rgb = canvas_pixels(browser, "demo-output")
    matches = (rgb[:, :, None, :] == export.palette_rgb(book_data)[None, None]).all(
        axis=-1
    )
    assert matches.any(axis=-1).all(), (
        "every pixel of the class map has a palette colour"
    )
    return matches.argmax(axis=-1).astype(np.uint8)


def python_export_labels(model: str, image: np.ndarray) -> np.ndarray:
    return export.onnx_predict(
        export.onnx_session(export.onnx_path(model)), image[None]
    )[0]


def demo_errors(browser: Chromium) -> list[tuple[str, str]]:
    """Uncaught errors, except those of the theme's scripts written into the page
    itself."""
    page = browser.evaluate("location.href")
    return [
        (url, description) for url, description in browser.exceptions if url != page
    ]


def status(browser: Chromium) -> str:
    return browser.evaluate(f"{DEMO}.querySelector('.demo-status').textContent")


def test_drawn_digits_are_labelled_as_the_python_export_labels_them(
    browser: Chromium, built_book: Path, book_data: dict
) -> None:
    open_demo(browser, (built_book / DEMO_PAGE).as_uri())
    click(browser, ".demo-clear")
    draw(browser, DIGIT_STROKES)
    image, shown = shown_image(browser), shown_class_map(browser, book_data)
    expected = python_export_labels("unet", image)
    assert (image > 127).sum() > 100, "the strokes left ink on the canvas"
    assert np.mean(shown == expected) >= 0.999
    assert np.mean(shown[image > 127] != BACKGROUND) > 0.5, (
        "most inked pixels are labelled as a digit"
    )
    assert status(browser) == ""
    assert demo_errors(browser) == []


@pytest.mark.parametrize("model", list(names.BOOK_MODELS))
def test_served_page_labels_a_sample_as_the_python_export(
    browser: Chromium, served_book: str, book_data: dict, model: str
) -> None:
    open_demo(browser, served_book + DEMO_PAGE.as_posix())
    assert choose_model(browser, model) == "ready"
    assert click(browser, "button[data-sample='1']") == "ready"
    image = shown_image(browser)
    assert (image == export.sample_images(book_data)[1]).all()
    assert (
        np.mean(
            shown_class_map(browser, book_data) == python_export_labels(model, image)
        )
        >= 0.999
    )


def test_unet_labels_an_image_in_under_100_ms(
    browser: Chromium, built_book: Path, record_property: pytest.RecordProperty
) -> None:
    open_demo(browser, (built_book / DEMO_PAGE).as_uri())
    milliseconds = []
    for run in range(LATENCY_RUNS):
        click(browser, f"button[data-sample='{run % 3}']")
        milliseconds.append(float(browser.evaluate(f"{DEMO}.dataset.lastMs")))
    median = float(np.median(milliseconds))
    record_property("unet_median_ms", median)
    print(
        f"U-Net in the page: median {median:.1f} ms over {LATENCY_RUNS} runs (min "
        f"{min(milliseconds):.1f} ms)"
    )
    assert median < LATENCY_LIMIT_MS
    assert "ms in your browser" in browser.evaluate(
        f"{DEMO}.querySelector('.demo-timing').textContent"
    )


def test_hovering_a_pixel_shows_its_class_and_confidence(
    browser: Chromium, built_book: Path, book_data: dict
) -> None:
    open_demo(browser, (built_book / DEMO_PAGE).as_uri())
    image = shown_image(browser)
    row, column = np.argwhere(image == image.max())[0]
    probabilities = export.onnx_probabilities(
        export.onnx_session(export.onnx_path("unet")), image[None]
    )[0, row, column]
    browser.mouse("mouseMoved", *canvas_to_page(browser, "demo-output")(column, row))
    readout = browser.evaluate(f"{DEMO}.querySelector('.demo-readout').textContent")
    best = int(probabilities.argmax())
    assert readout.startswith(f"Row {row}, column {column}")
    assert (
        f"{book_data['class_names'][best]} with {100 * probabilities[best]:.1f} % "
        "confidence" in readout
    )


def test_an_empty_canvas_is_called_empty(browser: Chromium, built_book: Path) -> None:
    open_demo(browser, (built_book / DEMO_PAGE).as_uri())
    assert click(browser, ".demo-clear") == "ready"
    assert status(browser).startswith("The canvas is empty")


def test_a_canvas_full_of_ink_is_called_unlike_the_training_images(
    browser: Chromium, built_book: Path
) -> None:
    open_demo(browser, (built_book / DEMO_PAGE).as_uri())
    browser.evaluate(
        f"{DEMO}.querySelector('select[aria-label=brush]').value = 'thick'"
    )
    draw(
        browser,
        [[(0, row), (WIDTH - 1, row)] for row in [*range(0, HEIGHT, 4), HEIGHT - 1]],
    )
    assert (shown_image(browser) > 127).mean() > 0.9
    assert status(browser).startswith("Ink covers")


@pytest.fixture
def damaged_book(built_book: Path, tmp_path: Path) -> Path:
    """A copy of the built book whose FCN-8s model file is missing and whose V-Net model
    file is cut short."""
    copy = Path(shutil.copytree(built_book, tmp_path / "html"))
    static = copy / "_static" / "demo"
    (static / "model-fcn8s.js").unlink()
    vnet = static / "model-vnet.js"
    vnet.write_text(vnet.read_text()[:1000])
    return copy


@pytest.mark.parametrize(
    ("model", "complaint"), [("fcn8s", "is missing"), ("vnet", "is damaged")]
)
def test_a_missing_or_damaged_model_file_is_named_and_the_page_goes_on(
    browser: Chromium, damaged_book: Path, model: str, complaint: str
) -> None:
    open_demo(browser, (damaged_book / DEMO_PAGE).as_uri())
    assert choose_model(browser, model) == "error"
    assert f"model-{model}.js {complaint}" in status(browser)
    assert choose_model(browser, "unet") == "ready"
    assert status(browser) == ""
