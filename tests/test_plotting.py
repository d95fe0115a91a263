"""Specification of helpers.plotting: one palette, and figures with the expected panels."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from helpers import BACKGROUND, CLASS_NAMES, HEIGHT, NUM_CLASSES, WIDTH
from helpers import plotting


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def make_samples(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` blank images, each with a block of digit ``i % 10`` in its mask."""
    images = np.zeros((n, HEIGHT, WIDTH), dtype=np.uint8)
    masks = np.full((n, HEIGHT, WIDTH), BACKGROUND, dtype=np.uint8)
    for i in range(n):
        images[i, 10:20, 10:20] = 255
        masks[i, 10:20, 10:20] = i % 10
    return images, masks


def test_palette_has_eleven_distinct_rgb_colours():
    assert len(plotting.PALETTE) == NUM_CLASSES
    assert len({to_hex(colour) for colour in plotting.PALETTE}) == NUM_CLASSES
    assert all(len(colour) == 3 and all(0 <= value <= 1 for value in colour) for colour in plotting.PALETTE)


def test_background_is_the_darkest_colour():
    brightness = [sum(colour) for colour in plotting.PALETTE]
    assert int(np.argmin(brightness)) == BACKGROUND


def test_colorize_maps_class_k_to_palette_entry_k():
    mask = np.arange(NUM_CLASSES, dtype=np.uint8).reshape(1, NUM_CLASSES)
    rgb = plotting.colorize(mask)
    assert rgb.shape == (1, NUM_CLASSES, 3)
    np.testing.assert_allclose(rgb[0], plotting.PALETTE)


def test_colorize_rejects_labels_outside_the_classes():
    with pytest.raises(ValueError, match="0..11"):
        plotting.colorize(np.array([[0, NUM_CLASSES]]))


def test_class_cmap_maps_class_k_to_palette_entry_k():
    cmap = plotting.class_cmap()
    assert cmap.N == NUM_CLASSES
    np.testing.assert_allclose(cmap(np.arange(NUM_CLASSES))[:, :3], plotting.PALETTE)


def test_legend_handles_name_every_class_in_its_colour():
    handles = plotting.legend_handles()
    assert [handle.get_label() for handle in handles] == CLASS_NAMES
    np.testing.assert_allclose([handle.get_facecolor()[:3] for handle in handles], plotting.PALETTE)


def test_show_segmentation_has_image_and_mask_panels():
    images, masks = make_samples(1)
    fig = plotting.show_segmentation(images[0], masks[0])
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2


def test_show_segmentation_adds_a_panel_for_the_prediction():
    images, masks = make_samples(1)
    fig = plotting.show_segmentation(images[0], masks[0], masks[0], title="a title")
    assert len(fig.axes) == 3
    assert fig.get_suptitle() == "a title"


def test_show_segmentation_draws_into_given_axes():
    images, masks = make_samples(1)
    fig, axes = plt.subplots(2, 3)
    assert plotting.show_segmentation(images[0], masks[0], masks[0], ax_row=axes[1]) is fig
    assert axes[1, 2].get_title() == "predicted mask"


def test_show_segmentation_rejects_the_wrong_number_of_axes():
    images, masks = make_samples(1)
    _, axes = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="3 axes.*got 2"):
        plotting.show_segmentation(images[0], masks[0], masks[0], ax_row=axes)


def test_sample_grid_shows_image_and_mask_of_each_sample():
    images, masks = make_samples(7)
    fig = plotting.sample_grid(images, masks, n=5, columns=3)
    assert len(fig.axes) == 5 * 2


def test_sample_grid_adds_a_row_of_predictions():
    images, masks = make_samples(4)
    fig = plotting.sample_grid(images, masks, n=4, columns=2, preds=masks)
    assert len(fig.axes) == 4 * 3


def test_sample_grid_rejects_predictions_for_other_samples():
    images, masks = make_samples(4)
    with pytest.raises(ValueError, match="4, 4, 2"):
        plotting.sample_grid(images, masks, preds=masks[:2])


def test_class_pixel_shares_sum_to_one_with_background_share():
    _, masks = make_samples(2)
    shares = plotting.class_pixel_shares(masks)
    assert shares.sum() == pytest.approx(1)
    assert shares[BACKGROUND] == pytest.approx(1 - 100 / (HEIGHT * WIDTH))


def test_class_share_chart_has_one_bar_per_class():
    _, masks = make_samples(3)
    fig = plotting.class_share_chart(masks)
    assert len(fig.axes) == 1
    assert len(fig.axes[0].patches) == NUM_CLASSES


def test_confusion_heatmap_labels_rows_and_columns_with_class_names():
    cm = np.diag(np.arange(1, NUM_CLASSES + 1))
    fig = plotting.confusion_heatmap(cm)
    heatmap_ax = fig.axes[0]
    assert len(fig.axes) == 2  # heatmap and colour bar
    assert [label.get_text() for label in heatmap_ax.get_xticklabels()] == CLASS_NAMES


def test_normalized_confusion_heatmap_shows_row_shares():
    cm = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=int)
    cm[0, 0], cm[0, 1] = 3, 1
    fig = plotting.confusion_heatmap(cm, normalize=True)
    annotations = [text.get_text() for text in fig.axes[0].texts]
    assert annotations[:2] == ["0.75", "0.25"]


def test_confusion_heatmap_rejects_a_matrix_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"\(10, 10\)"):
        plotting.confusion_heatmap(np.eye(10))
