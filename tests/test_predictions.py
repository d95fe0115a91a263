"""Specification of helpers.book.predictions: every wrong pixel coloured by its kind,
images large enough to see single pixels, and the window where the mistakes are."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from figure_text import overlapping_texts, smallest_shown_text_pt
from matplotlib.colors import to_rgb

from helpers import BACKGROUND, HEIGHT, WIDTH
from helpers.book import palette, predictions, style


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def samples(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` images with a digit 3 block; each prediction misses 4 of its pixels,
    invents 2 and calls 6 a 5."""
    images = np.zeros((n, HEIGHT, WIDTH), dtype=np.uint8)
    masks = np.full((n, HEIGHT, WIDTH), BACKGROUND, dtype=np.uint8)
    images[:, 10:20, 30:40] = 255
    masks[:, 10:20, 30:40] = 3
    preds = masks.copy()
    preds[:, 10, 30:34] = BACKGROUND
    preds[:, 30, 60:62] = 3
    preds[:, 19, 30:36] = 5
    return images, masks, preds


def test_the_overlay_colours_each_wrong_pixel_by_its_kind_over_the_dimmed_image():
    image = np.full((2, 4), 255, dtype=np.uint8)
    errors = np.array([[0, 1, 2, 3], [0, 0, 0, 0]])
    rgb = predictions.error_overlay(image, errors)
    for kind, colour in enumerate(palette.ERROR_COLOURS, start=1):
        assert tuple(rgb[0, kind]) == pytest.approx(to_rgb(colour))
    assert tuple(rgb[0, 0]) == pytest.approx((predictions.ERROR_BACKDROP,) * 3)


def test_each_image_is_shown_over_300_px_wide_on_the_page():
    fig = predictions.prediction_errors(*samples(3), titles=["a", "b", "c"])
    fig.canvas.draw()
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 6
    for ax in panels:
        shown_px = ax.get_window_extent().width / fig.dpi * 100  # the page: 100 px/in
        assert shown_px > 300
    assert fig.get_figwidth() <= style.FIGURE_WIDTH_IN


def test_the_error_panel_counts_the_wrong_pixels_of_each_kind():
    fig = predictions.prediction_errors(*samples(1), titles=["test #0"])
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["test #0", "missed 4, invented 2, wrong digit 6 px"]


def test_the_text_is_legible_and_nothing_overlaps():
    fig = predictions.prediction_errors(*samples(2), titles=["test #0", "test #1"])
    fig.canvas.draw()
    assert smallest_shown_text_pt(fig) >= style.TEXT_PT - 0.01
    assert overlapping_texts(fig) == []


def test_one_title_is_needed_per_image():
    with pytest.raises(ValueError, match="one image, true mask, prediction and title"):
        predictions.prediction_errors(*samples(2), titles=["only one"])


def test_the_zoom_window_holds_the_most_wrong_pixels():
    images, masks, preds = samples(2)
    rows, columns = predictions.error_window(masks, preds, size=12)
    assert rows.stop - rows.start == columns.stop - columns.start == 12
    errors = preds != masks
    assert errors[:, rows, columns].sum() == errors[:, :, :40].sum()


def test_a_zoom_window_larger_than_the_image_is_refused():
    with pytest.raises(ValueError, match="does not fit"):
        predictions.error_window(*samples(1)[1:], size=HEIGHT + 1)


def test_a_prediction_title_names_each_digit_predicted_where_there_is_none():
    mask = np.full((4, 4), BACKGROUND)
    mask[0, :2] = 3
    pred = mask.copy()
    pred[3, 3] = 8
    pred[2, 2:4] = 1
    assert (
        predictions.prediction_title(17, 0.4937, mask, pred)
        == "test #17: mean IoU 0.49; absent but predicted: 1 (2 px), 8 (1 px)"
    )
    assert predictions.prediction_title(3, 1.0, mask, mask) == "test #3: mean IoU 1.00"
