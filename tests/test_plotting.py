"""Specification of helpers.book.plotting: figures with the expected panels, in the class palette of helpers.book.palette."""

import matplotlib

matplotlib.use("Agg")

import figure_text
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from figure_text import overlapping_texts
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from helpers import BACKGROUND, CLASS_NAMES, HEIGHT, NUM_CLASSES, WIDTH
from helpers.book import charts, palette, plotting, style
from helpers.data import splits
from helpers.data.compose import DigitAugmentation


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
    assert len(palette.PALETTE) == NUM_CLASSES
    assert len({to_hex(colour) for colour in palette.PALETTE}) == NUM_CLASSES
    assert all(
        len(colour) == 3 and all(0 <= value <= 1 for value in colour)
        for colour in palette.PALETTE
    )


def test_background_is_the_darkest_colour():
    brightness = [sum(colour) for colour in palette.PALETTE]
    assert int(np.argmin(brightness)) == BACKGROUND


def test_colorize_maps_class_k_to_palette_entry_k():
    mask = np.arange(NUM_CLASSES, dtype=np.uint8).reshape(1, NUM_CLASSES)
    rgb = palette.colorize(mask)
    assert rgb.shape == (1, NUM_CLASSES, 3)
    np.testing.assert_allclose(rgb[0], palette.PALETTE)


def test_colorize_rejects_labels_outside_the_classes():
    with pytest.raises(ValueError, match="0..11"):
        palette.colorize(np.array([[0, NUM_CLASSES]]))


def test_legend_handles_name_every_class_in_its_colour():
    handles = palette.legend_handles()
    assert [handle.get_label() for handle in handles] == CLASS_NAMES
    np.testing.assert_allclose(
        [handle.get_facecolor()[:3] for handle in handles], palette.PALETTE
    )


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
    assert (
        plotting.show_segmentation(images[0], masks[0], masks[0], ax_row=axes[1]) is fig
    )
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


def grid_axes(fig: Figure) -> dict[tuple[int, int], plt.Axes]:
    """A figure's panels by (row, column) of its grid."""
    return {
        (ax.get_subplotspec().rowspan.start, ax.get_subplotspec().colspan.start): ax
        for ax in fig.axes
    }


def test_sample_grid_names_every_row_and_titles_every_sample():
    images, masks = make_samples(5)
    fig = plotting.sample_grid(
        images, masks, n=5, columns=3, preds=masks, pred_label="U-Net"
    )
    axes = grid_axes(fig)
    assert [axes[row, 0].get_ylabel() for row in range(6)] == [
        "image",
        "true mask",
        "U-Net",
    ] * 2
    assert all(
        axes[row, 0].axison for row in range(6)
    )  # axis("off") would hide the row names
    titles = [
        axes[row, column].get_title()
        for row in (0, 3)
        for column in range(3)
        if (row, column) in axes
    ]
    assert titles == [f"#{index}: digits {index}" for index in range(5)]
    assert legend_labels(fig) == CLASS_NAMES


def test_sample_grid_names_the_prediction_row_by_default():
    images, masks = make_samples(2)
    fig = plotting.sample_grid(images, masks, preds=masks)
    assert [fig.axes[index].get_ylabel() for index in (0, 2, 4)] == [
        "image",
        "true mask",
        "predicted mask",
    ]


def test_sample_grid_rejects_predictions_for_other_samples():
    images, masks = make_samples(4)
    with pytest.raises(ValueError, match="4, 4, 2"):
        plotting.sample_grid(images, masks, preds=masks[:2])


def test_class_pixel_shares_sum_to_one_with_background_share():
    _, masks = make_samples(2)
    shares = charts.class_pixel_shares(masks)
    assert shares.sum() == pytest.approx(1)
    assert shares[BACKGROUND] == pytest.approx(1 - 100 / (HEIGHT * WIDTH))


def test_class_share_chart_has_one_bar_per_class():
    _, masks = make_samples(3)
    fig = charts.class_share_chart(masks)
    assert len(fig.axes) == 1
    assert len(fig.axes[0].patches) == NUM_CLASSES


def test_confusion_heatmap_labels_rows_and_columns_with_class_names():
    cm = np.diag(np.arange(1, NUM_CLASSES + 1))
    fig = charts.confusion_heatmap(cm)
    heatmap_ax = fig.axes[0]
    assert len(fig.axes) == 2  # heatmap and colour bar
    assert [label.get_text() for label in heatmap_ax.get_xticklabels()] == CLASS_NAMES
    assert [label.get_text() for label in heatmap_ax.get_yticklabels()] == CLASS_NAMES
    assert (heatmap_ax.get_xlabel(), heatmap_ax.get_ylabel()) == (
        "predicted class",
        "true class",
    )


def cell_texts(fig: Figure) -> dict[tuple[int, int], str]:
    """The numbers written in a heatmap, by (row, column) of their cell."""
    return {
        (int(text.get_position()[1]), int(text.get_position()[0])): text.get_text()
        for text in fig.axes[0].texts
    }


def some_confusion() -> np.ndarray:
    """A confusion matrix whose diagonal dwarfs its errors, as a trained model's does."""
    cm = np.diag(np.full(NUM_CLASSES, 1000))
    cm[3, 5], cm[5, 3], cm[8, BACKGROUND] = 30, 10, 3
    return cm


def test_normalized_confusion_heatmap_writes_row_shares_in_the_cells_in_percent():
    cm = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=int)
    cm[0, 0], cm[0, 1], cm[1, 1], cm[1, 2] = 3, 1, 9999, 1
    cm[2, 2], cm[2, 3] = 1999, 1  # 0.05 %: the smallest share written out
    fig = charts.confusion_heatmap(cm, normalize=True)
    texts = cell_texts(fig)
    assert (texts[0, 0], texts[0, 1], texts[0, 2]) == ("75.0", "25.0", "")
    assert (texts[1, 2], texts[2, 3]) == ("<0.1", "0.1")
    assert fig.axes[1].get_ylabel().startswith("% of the true class's pixels")


def test_confusion_heatmap_masks_the_diagonal_so_the_colours_span_the_errors():
    cm = some_confusion()
    fig = charts.confusion_heatmap(cm)
    mesh = fig.axes[0].collections[0]
    masked = np.ma.getmaskarray(mesh.get_array()).reshape(NUM_CLASSES, NUM_CLASSES)
    np.testing.assert_array_equal(masked, np.eye(NUM_CLASSES, dtype=bool))
    assert mesh.get_clim() == pytest.approx((0, 30 / 1030))
    assert "diagonal" in fig.axes[1].get_ylabel()
    # the recall stays readable, in grey
    assert cell_texts(fig)[3, 3] == f"{100 * 1000 / 1030:.1f}"


def test_confusion_heatmap_of_pixel_counts_masks_the_diagonal_too():
    fig = charts.confusion_heatmap(some_confusion(), normalize=False)
    assert fig.axes[0].collections[0].get_clim() == (0, 30)
    assert cell_texts(fig)[0, 0] == "1,000"
    assert fig.axes[1].get_ylabel().startswith("pixels")


def test_confusion_heatmap_writes_large_pixel_counts_short_enough_for_their_cells():
    cm = np.diag(np.full(NUM_CLASSES, 9_999))
    cm[0, 0], cm[1, 1], cm[2, 2], cm[3, 3] = 35_123, 999_499, 999_500, 5_123_456
    texts = cell_texts(charts.confusion_heatmap(cm, normalize=False))
    assert [texts[k, k] for k in range(5)] == ["35k", "999k", "1.0M", "5.1M", "9,999"]


def test_confusion_heatmap_rejects_a_matrix_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"\(10, 10\)"):
        charts.confusion_heatmap(np.eye(10))


def test_sample_grid_titles_each_image_as_asked():
    images, masks = make_samples(2)
    fig = plotting.sample_grid(
        images, masks, n=2, columns=2, titles=["first", "second"]
    )
    assert [ax.get_title() for ax in fig.axes[:2]] == [
        "first",
        "second",
    ]  # the first row holds the images


def test_sample_grid_rejects_titles_for_other_samples():
    images, masks = make_samples(3)
    with pytest.raises(ValueError, match="got 1 for 3 samples"):
        plotting.sample_grid(images, masks, titles=["only one"])


def make_history(epochs: int, offset: float = 0.0) -> dict[str, list[float]]:
    """A Keras-like history whose losses fall and accuracies rise over ``epochs`` epochs."""
    falling = [1.0 / (epoch + 1) + offset for epoch in range(epochs)]
    return {
        "loss": falling,
        "val_loss": [value + 0.1 for value in falling],
        "accuracy": [0.9 - value / 10 for value in falling],
        "val_accuracy": [0.85 - value / 10 for value in falling],
    }


def test_learning_curves_show_loss_and_accuracy_panels():
    fig = charts.learning_curves({"model": make_history(5)})
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes] == [
        "loss (dot: lowest validation loss)",
        "pixel accuracy",
    ]


def test_learning_curves_draw_a_training_and_a_validation_curve_per_run():
    fig = charts.learning_curves(
        {"A": make_history(5), "B": make_history(3, offset=0.2)}
    )
    for ax in fig.axes:
        labels = [line.get_label() for line in ax.get_lines()]
        assert labels == ["A training", "A validation", "B training", "B validation"]


def test_learning_curves_name_the_loss_they_were_given():
    default = charts.learning_curves({"model": make_history(3)})
    dice = charts.learning_curves({"model": make_history(3)}, loss_name="soft Dice")
    assert default.axes[0].get_ylabel().startswith("cross-entropy per pixel")
    assert dice.axes[0].get_ylabel() == "soft Dice\n(log scale)"


def test_learning_curves_count_epochs_from_one():
    fig = charts.learning_curves({"model": make_history(4)})
    np.testing.assert_array_equal(fig.axes[0].get_lines()[0].get_xdata(), [1, 2, 3, 4])


def test_learning_curves_mark_the_epoch_of_the_lowest_validation_loss():
    history = make_history(4)
    history["val_loss"] = [0.5, 0.2, 0.3, 0.4]
    fig = charts.learning_curves({"model": history})
    np.testing.assert_allclose(fig.axes[0].collections[0].get_offsets(), [[2, 0.2]])


def test_learning_curves_need_at_least_one_history():
    with pytest.raises(ValueError, match="at least one history"):
        charts.learning_curves({})


def test_learning_curves_name_the_run_and_the_missing_key():
    history = make_history(3)
    del history["val_accuracy"]
    with pytest.raises(ValueError, match=r"'unet' lacks \['val_accuracy'\]"):
        charts.learning_curves({"unet": history})


def legend_labels(fig: Figure) -> list[str]:
    return [text.get_text() for legend in fig.legends for text in legend.get_texts()]


def test_compare_predictions_has_a_row_per_image_and_a_column_per_model():
    masks = np.random.default_rng(0).integers(0, 11, size=(3, 64, 84))
    images = (masks != BACKGROUND).astype(np.uint8) * 255
    fig = plotting.compare_predictions(images, masks, {"A": masks, "B": masks})
    assert len(fig.axes) == 3 * 4
    assert [ax.get_title() for ax in fig.axes[:4]] == ["image", "true mask", "A", "B"]
    plt.close(fig)


def test_compare_predictions_names_every_row_and_shows_the_class_legend():
    images, masks = make_samples(3)
    fig = plotting.compare_predictions(images, masks, {"A": masks})
    axes = grid_axes(fig)
    assert [axes[row, 0].get_ylabel() for row in range(3)] == [
        f"#{row}\ndigits {row}" for row in range(3)
    ]
    assert all(axes[row, 0].axison for row in range(3))
    assert legend_labels(fig) == CLASS_NAMES


def test_compare_predictions_names_the_rows_as_asked():
    images, masks = make_samples(2)
    fig = plotting.compare_predictions(
        images, masks, {"A": masks}, titles=["test #7", "test #9"]
    )
    assert [fig.axes[index].get_ylabel() for index in (0, 3)] == ["test #7", "test #9"]


def test_compare_predictions_rejects_titles_for_other_images():
    images, masks = make_samples(2)
    with pytest.raises(ValueError, match="got 1 for 2 images"):
        plotting.compare_predictions(images, masks, {"A": masks}, titles=["only one"])


def test_compare_predictions_rejects_a_prediction_of_another_length():
    masks = np.zeros((2, 64, 84), dtype=np.uint8)
    with pytest.raises(ValueError, match="2 images"):
        plotting.compare_predictions(masks, masks, {"A": masks[:1]})


def digit_pool(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` real MNIST digits of different classes."""
    pixels, labels = splits.training_digits()
    chosen = [int(np.flatnonzero(labels == digit)[0]) for digit in range(n)]
    return pixels[chosen], labels[chosen]


def test_augmentation_grid_shows_the_digits_above_their_changed_versions_beside_a_composed_image():
    pixels, labels = digit_pool(5)
    fig = plotting.augmentation_grid(pixels, labels, DigitAugmentation(), versions=2)
    digit_axes, (image_ax, mask_ax) = fig.axes[:15], fig.axes[15:]
    shown = np.stack([ax.images[0].get_array() for ax in digit_axes]).reshape(
        3, 5, 28, 28
    )
    np.testing.assert_array_equal(shown[0], pixels)
    assert all((shown[row] != pixels).any(axis=(1, 2)).all() for row in (1, 2))
    assert [ax.get_title() for ax in digit_axes[:5]] == [
        f"digit {digit}" for digit in range(5)
    ]
    assert [digit_axes[5 * row].get_ylabel() for row in range(3)] == [
        "original",
        "changed 1",
        "changed 2",
    ]
    assert image_ax.images[0].get_array().shape == (HEIGHT, WIDTH)
    assert mask_ax.get_title().startswith("its mask (digits")
    assert legend_labels(fig) == CLASS_NAMES


def test_augmentation_grid_with_zero_ranges_repeats_the_originals():
    pixels, labels = digit_pool(3)
    unchanged = DigitAugmentation(rotation=0, scale=(1, 1), shear=0, shift=0)
    fig = plotting.augmentation_grid(pixels, labels, unchanged, versions=1)
    np.testing.assert_array_equal(
        np.stack([ax.images[0].get_array() for ax in fig.axes[3:6]]), pixels
    )


def test_augmentation_grid_needs_at_least_one_changed_version():
    pixels, labels = digit_pool(3)
    with pytest.raises(ValueError, match="versions.*0"):
        plotting.augmentation_grid(pixels, labels, DigitAugmentation(), versions=0)


# Readable text: at least 9 pt as the book's page shows the figure


def three_digit_samples(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images holding three digits each (the longest titles ``_digits_in`` writes)."""
    images = np.zeros((n, HEIGHT, WIDTH), dtype=np.uint8)
    masks = np.full((n, HEIGHT, WIDTH), BACKGROUND, dtype=np.uint8)
    for i in range(n):
        for k, column in enumerate((4, 32, 60)):
            images[i, 20:40, column : column + 18] = 255
            masks[i, 20:40, column : column + 18] = (i + 3 * k) % 10
    return images, masks


def trained_confusion() -> np.ndarray:
    """A test split's confusion matrix: millions of background pixels, tens of thousands per digit, some errors."""
    rng = np.random.default_rng(0)
    cm = rng.integers(0, 400, size=(NUM_CLASSES, NUM_CLASSES)) * (
        rng.random((NUM_CLASSES, NUM_CLASSES)) < 0.6
    )
    np.fill_diagonal(cm, rng.integers(25_000, 40_000, size=NUM_CLASSES))
    cm[BACKGROUND, BACKGROUND] = 5_123_456
    cm[3, 5], cm[1, 2] = 4_321, 1
    return cm


def sample_grid_of_the_chapters() -> Figure:
    """The grid ``chapter.show_test_predictions`` draws: scored test images, their predictions and a title."""
    images, masks = three_digit_samples(4)
    titles = [
        f"test #{index}: mean IoU 0.{index % 100:02d}" for index in (1234, 87, 999, 5)
    ]
    fig = plotting.sample_grid(
        images, masks, n=4, preds=masks, titles=titles, pred_label="fcn8s prediction"
    )
    fig.suptitle("fcn8s: the 4 worst test images")
    return fig


def class_legend_alone() -> Figure:
    fig = plt.figure(figsize=(style.FIGURE_WIDTH_IN, 0.5), layout="constrained")
    plotting._add_class_legend(fig)
    return fig


RUN_LABELS = ("FCN-8s", "U-Net", "V-Net")
FIGURES = {
    "show_segmentation": lambda: plotting.show_segmentation(
        *(a[0] for a in three_digit_samples(1))
    ),
    "show_segmentation_with_prediction": lambda: plotting.show_segmentation(
        *(a[0] for a in three_digit_samples(1)),
        three_digit_samples(1)[1][0],
        title="a title",
    ),
    "sample_grid": lambda: plotting.sample_grid(
        *three_digit_samples(8), n=8, columns=4
    ),
    "sample_grid_with_predictions": sample_grid_of_the_chapters,
    "compare_predictions": lambda: plotting.compare_predictions(
        *three_digit_samples(4),
        {label: three_digit_samples(4)[1] for label in RUN_LABELS},
    ),
    "augmentation_grid": lambda: plotting.augmentation_grid(
        *digit_pool(7), DigitAugmentation(), versions=3
    ),
    "class_share_chart": lambda: charts.class_share_chart(three_digit_samples(20)[1]),
    "confusion_heatmap": lambda: charts.confusion_heatmap(trained_confusion()),
    "confusion_heatmap_of_pixel_counts": lambda: charts.confusion_heatmap(
        trained_confusion(), normalize=False
    ),
    "learning_curves": lambda: charts.learning_curves(
        {label: make_history(30, offset=0.05 * k) for k, label in enumerate(RUN_LABELS)}
    ),
    "class_legend": class_legend_alone,
}


@pytest.mark.parametrize("name", FIGURES)
def test_figure_text_is_9_pt_at_least_on_the_page_and_never_overlaps(name):
    fig = FIGURES[name]()
    assert figure_text.smallest_shown_text_pt(fig) >= 9
    assert overlapping_texts(fig) == []


def test_overlapping_texts_finds_texts_drawn_over_each_other():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.text(0.5, 0.5, "one text")
    ax.text(0.52, 0.5, "another")
    ax.text(0.1, 0.1, "apart")
    assert overlapping_texts(fig) == [("one text", "another")]


def test_smallest_shown_text_is_the_smallest_font_of_a_figure_the_page_shows_unshrunk():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.set_title("a title", fontsize=14)
    ax.text(0.5, 0.5, "small", fontsize=6)
    ax.text(0.5, 0.2, "hidden", fontsize=3, visible=False)
    ax.text(0.5, 0.8, "", fontsize=2)
    assert figure_text.shown_scale(fig) == 1
    assert figure_text.smallest_shown_text_pt(fig) == pytest.approx(6)


def test_smallest_shown_text_shrinks_with_a_figure_wider_than_the_page():
    fig, ax = plt.subplots(figsize=(14, 3), layout="constrained")
    ax.tick_params(labelsize=10)
    ax.set_title("ten points", fontsize=10)
    ax.set_xlabel("wide", fontsize=10)
    ax.set_ylabel("figure", fontsize=10)
    assert figure_text.smallest_shown_text_pt(fig) == pytest.approx(
        10 * 7.3 / 14, rel=0.03
    )


def test_three_tasks_labels_boxes_and_colours_the_same_image():
    images, masks = make_samples(1)
    fig = plotting.three_tasks(images[0], masks[0])
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["classification", "detection", "semantic segmentation"]
    assert len(fig.axes[1].patches) == 1  # one digit, one box
    assert fig.axes[0].texts[0].get_text() == "labels: [0]"
    assert fig.get_figwidth() <= style.FIGURE_WIDTH_IN
    fig.canvas.draw()
    assert figure_text.smallest_shown_text_pt(fig) >= style.TEXT_PT - 0.01


def test_the_per_class_iou_chart_has_one_series_per_model_and_its_legend_below():
    iou = pd.DataFrame(
        {"FCN-8s": np.linspace(0.7, 0.9, 11), "U-Net": np.linspace(0.9, 1.0, 11)},
        index=CLASS_NAMES,
    )
    fig = charts.per_class_iou_chart(iou)
    (ax,) = fig.axes
    assert [line.get_label() for line in ax.lines] == ["FCN-8s", "U-Net"]
    assert ax.get_legend() is None and len(fig.legends) == 1
    assert fig.get_figwidth() <= style.FIGURE_WIDTH_IN
    fig.canvas.draw()
    assert figure_text.smallest_shown_text_pt(fig) >= style.TEXT_PT - 0.01
