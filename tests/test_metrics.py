"""Specification of helpers.evaluate.metrics: confusion matrix, IoU, Dice and their averages."""

import re

import numpy as np
import pytest

from helpers import BACKGROUND, HEIGHT, NUM_CLASSES, WIDTH
from helpers.evaluate import metrics
from helpers.train import artifacts


def random_masks(
    seed: int, shape: tuple[int, ...] = (6, 16, 20)
) -> tuple[np.ndarray, np.ndarray]:
    """A random truth and a prediction that agrees with it on about half the pixels."""
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, NUM_CLASSES, size=shape, dtype=np.uint8)
    noise = rng.integers(0, NUM_CLASSES, size=shape, dtype=np.uint8)
    y_pred = np.where(rng.random(shape) < 0.5, y_true, noise)
    return y_true, y_pred


def test_confusion_matrix_counts_true_classes_in_rows_and_predictions_in_columns():
    y_true = np.array([[0, 0, 1], [2, 2, 2]])
    y_pred = np.array([[0, 1, 1], [2, 0, 2]])
    cm = metrics.confusion_matrix(y_true, y_pred, num_classes=3)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert cm.dtype == np.int64


def test_confusion_matrix_total_is_the_number_of_pixels():
    y_true, y_pred = random_masks(0)
    assert metrics.confusion_matrix(y_true, y_pred).sum() == y_true.size


def hand_checked_example() -> dict:
    """Scores of 8 pixels and 3 classes (2 = background), worked out by hand.

    truth 0 0 0 1 1 2 2 2, prediction 0 0 1 1 2 2 2 0: every class has 1 false positive
    and 1 false negative; true positives 2, 1, 2.
    """
    y_true = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    y_pred = np.array([0, 0, 1, 1, 2, 2, 2, 0])
    return metrics.scores_from_confusion(
        metrics.confusion_matrix(y_true, y_pred, num_classes=3), background=2
    )


def test_iou_of_each_class_is_tp_over_tp_fp_fn():
    np.testing.assert_allclose(hand_checked_example()["iou"], [2 / 4, 1 / 3, 2 / 4])


def test_dice_of_each_class_is_two_tp_over_two_tp_fp_fn():
    np.testing.assert_allclose(hand_checked_example()["dice"], [4 / 6, 2 / 4, 4 / 6])


def test_pixel_accuracy_is_the_share_of_pixels_right():
    assert hand_checked_example()["pixel_accuracy"] == pytest.approx(5 / 8)


def test_digit_means_leave_out_the_background_and_the_all_class_mean_does_not():
    scores = hand_checked_example()
    assert scores["mean_iou_digits"] == pytest.approx((1 / 2 + 1 / 3) / 2)
    assert scores["mean_dice_digits"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert scores["mean_iou_all"] == pytest.approx((1 / 2 + 1 / 3 + 1 / 2) / 3)


def test_dice_is_two_iou_over_one_plus_iou():
    y_true, y_pred = random_masks(3)
    scores = metrics.scores_from_confusion(metrics.confusion_matrix(y_true, y_pred))
    np.testing.assert_allclose(scores["dice"], 2 * scores["iou"] / (1 + scores["iou"]))


def test_accumulating_batches_equals_one_shot():
    y_true, y_pred = random_masks(4)
    accumulator = metrics.ConfusionAccumulator()
    for start in range(0, len(y_true), 4):
        accumulator.update(y_true[start : start + 4], y_pred[start : start + 4])
    one_shot = metrics.confusion_matrix(y_true, y_pred)
    np.testing.assert_array_equal(accumulator.matrix, one_shot)
    np.testing.assert_allclose(
        accumulator.scores()["iou"], metrics.scores_from_confusion(one_shot)["iou"]
    )


def test_accumulator_matrix_cannot_be_changed_from_outside():
    accumulator = metrics.ConfusionAccumulator()
    accumulator.update(np.zeros((2, 2), dtype=int), np.zeros((2, 2), dtype=int))
    accumulator.matrix[0, 0] = 100
    assert accumulator.matrix[0, 0] == 4


def test_mean_iou_over_all_classes_matches_keras_mean_iou():
    import keras

    y_true, y_pred = random_masks(5)
    assert len(np.unique(y_true)) == NUM_CLASSES
    keras_metric = keras.metrics.MeanIoU(num_classes=NUM_CLASSES)
    keras_metric.update_state(y_true.ravel(), y_pred.ravel())
    scores = metrics.scores_from_confusion(metrics.confusion_matrix(y_true, y_pred))
    assert scores["mean_iou_all"] == pytest.approx(
        float(keras_metric.result()), rel=1e-5
    )


def test_a_class_that_never_occurs_scores_nan_and_is_left_out_of_the_means():
    y_true = np.array([[3, 3, BACKGROUND, BACKGROUND]])
    y_pred = np.array([[3, BACKGROUND, BACKGROUND, BACKGROUND]])
    scores = metrics.scores_from_confusion(metrics.confusion_matrix(y_true, y_pred))
    absent = [c for c in range(NUM_CLASSES) if c not in (3, BACKGROUND)]
    assert np.isnan(scores["iou"][absent]).all()
    assert np.isnan(scores["dice"][absent]).all()
    assert scores["iou"][3] == pytest.approx(0.5)
    assert scores["mean_iou_digits"] == pytest.approx(0.5)
    assert scores["mean_iou_all"] == pytest.approx((0.5 + 2 / 3) / 2)


def test_a_digit_predicted_but_absent_from_truth_scores_zero():
    y_true = np.full((1, 4), BACKGROUND)
    y_pred = np.array([[7, BACKGROUND, BACKGROUND, BACKGROUND]])
    scores = metrics.scores_from_confusion(metrics.confusion_matrix(y_true, y_pred))
    assert scores["iou"][7] == 0
    assert scores["dice"][7] == 0


def test_all_background_prediction_has_high_accuracy_but_zero_digit_iou():
    y_true = np.full((1, 10, 10), BACKGROUND)
    y_true[0, :2, :3] = 4
    y_pred = np.full_like(y_true, BACKGROUND)
    scores = metrics.scores_from_confusion(metrics.confusion_matrix(y_true, y_pred))
    assert scores["pixel_accuracy"] == pytest.approx(0.94)
    assert scores["mean_iou_digits"] == 0


def test_mismatched_shapes_raise_naming_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(3, 2\)"):
        metrics.confusion_matrix(
            np.zeros((2, 3), dtype=int), np.zeros((3, 2), dtype=int)
        )


@pytest.mark.parametrize("bad_value", [-1, NUM_CLASSES])
def test_labels_out_of_range_raise_naming_the_value(bad_value):
    y_pred = np.array([[0, bad_value]])
    with pytest.raises(ValueError, match=rf"y_pred: .*found {bad_value}"):
        metrics.confusion_matrix(np.zeros((1, 2), dtype=int), y_pred)


def test_probabilities_instead_of_labels_raise_naming_the_dtype():
    with pytest.raises(ValueError, match="float32"):
        metrics.confusion_matrix(
            np.zeros((1, 2), dtype=int), np.zeros((1, 2), dtype=np.float32)
        )


def test_a_non_square_confusion_matrix_is_rejected():
    with pytest.raises(ValueError, match=r"\(11, 10\)"):
        metrics.scores_from_confusion(np.zeros((11, 10), dtype=int))


def make_false_positive_example() -> tuple[np.ndarray, np.ndarray]:
    """Two 1x4 images: a perfect 5 on the first, a 5 predicted on the second where there
    is none."""
    B = BACKGROUND
    y_true = np.array([[[5, 5, B, B]], [[B, B, B, B]]])
    y_pred = np.array([[[5, 5, B, B]], [[5, 5, B, B]]])
    return y_true, y_pred


def test_per_image_scores_ignore_false_positives_on_images_without_the_class():
    y_true, y_pred = make_false_positive_example()
    per_image = metrics.per_image_scores(y_true, y_pred)
    assert per_image["iou"][5] == 1.0
    assert per_image["dice"][5] == 1.0
    assert per_image["images_with_class"][5] == 1


def test_dataset_level_scores_count_those_false_positives():
    y_true, y_pred = make_false_positive_example()
    scores = metrics.scores_from_confusion(metrics.confusion_matrix(y_true, y_pred))
    assert scores["iou"][5] == pytest.approx(0.5)
    assert scores["dice"][5] == pytest.approx(2 / 3)


def test_per_image_scores_average_the_scores_of_each_image():
    B = BACKGROUND
    y_true = np.array([[[2, 2, B, B]], [[2, 2, 2, 2]]])
    y_pred = np.array([[[2, B, B, B]], [[2, 2, 2, 2]]])
    per_image = metrics.per_image_scores(y_true, y_pred)
    assert per_image["iou"][2] == pytest.approx((0.5 + 1.0) / 2)
    assert per_image["dice"][2] == pytest.approx((2 / 3 + 1.0) / 2)


def test_per_image_scores_are_nan_for_a_class_in_no_ground_truth():
    y_true, y_pred = make_false_positive_example()
    per_image = metrics.per_image_scores(y_true, y_pred)
    assert np.isnan(per_image["iou"][0])
    assert per_image["mean_iou_digits"] == 1.0


def test_per_image_scores_need_a_batch_of_maps():
    with pytest.raises(ValueError, match=r"\(N, H, W\), got shape \(4, 4\)"):
        metrics.per_image_scores(
            np.zeros((4, 4), dtype=int), np.zeros((4, 4), dtype=int)
        )


def test_per_image_confusions_add_up_to_the_confusion_matrix_of_the_batch():
    y_true, y_pred = random_masks(9)
    confusions = metrics.per_image_confusions(y_true, y_pred)
    assert confusions.shape == (len(y_true), NUM_CLASSES, NUM_CLASSES)
    np.testing.assert_array_equal(
        confusions[2], metrics.confusion_matrix(y_true[2], y_pred[2])
    )
    np.testing.assert_array_equal(
        confusions.sum(axis=0), metrics.confusion_matrix(y_true, y_pred)
    )


def test_per_image_confusions_of_m2nist_images_fit_in_16_bits():
    y_true, y_pred = random_masks(10, shape=(2, HEIGHT, WIDTH))
    assert metrics.per_image_confusions(y_true, y_pred).dtype == np.uint16


def test_per_image_confusions_need_a_batch_of_maps():
    with pytest.raises(
        ValueError,
        match=r"per_image_confusions needs .*\(N, H, W\), got shape \(4, 4\)",
    ):
        metrics.per_image_confusions(
            np.zeros((4, 4), dtype=int), np.zeros((4, 4), dtype=int)
        )


def test_per_image_confusions_survive_a_round_trip_through_their_file(tmp_path):
    confusions = metrics.per_image_confusions(*random_masks(11))
    artifacts.write_confusions(tmp_path / artifacts.CONFUSIONS_FILE, confusions)
    read_back = artifacts.read_confusions(tmp_path / artifacts.CONFUSIONS_FILE)
    np.testing.assert_array_equal(read_back, confusions)
    assert read_back.dtype == confusions.dtype
    assert [path.name for path in tmp_path.iterdir()] == [artifacts.CONFUSIONS_FILE]


def test_confusions_of_the_wrong_shape_are_not_written(tmp_path):
    path = tmp_path / artifacts.CONFUSIONS_FILE
    with pytest.raises(
        ValueError,
        match=re.escape(str(path))
        + r": .*\(N, 11, 11\), got int64 of shape \(3, 10, 10\)",
    ):
        artifacts.write_confusions(path, np.zeros((3, 10, 10), dtype=np.int64))
    assert not any(tmp_path.iterdir())


def test_a_confusions_file_of_the_wrong_shape_is_reported_by_name(tmp_path):
    path = tmp_path / artifacts.CONFUSIONS_FILE
    np.savez_compressed(
        path, confusions=np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.uint16)
    )
    with pytest.raises(
        ValueError, match=re.escape(str(path)) + r": .*got uint16 of shape \(11, 11\)"
    ):
        artifacts.read_confusions(path)


def test_scores_table_has_one_row_per_class_with_its_name():
    scores = {"iou": np.arange(NUM_CLASSES) / 10, "dice": np.arange(NUM_CLASSES) / 20}
    rows = metrics.scores_table(scores)
    assert len(rows) == NUM_CLASSES
    assert rows[3] == {
        "class": "3",
        "IoU": pytest.approx(0.3),
        "Dice": pytest.approx(0.15),
    }
    assert rows[BACKGROUND]["class"] == "background"


def test_scores_table_puts_per_image_averages_beside_dataset_level_scores():
    scores = {
        "iou": np.full(NUM_CLASSES, 0.5),
        "dice": np.full(NUM_CLASSES, 0.6),
        "per_image": {
            "iou": np.arange(NUM_CLASSES) / 10,
            "dice": np.arange(NUM_CLASSES) / 20,
        },
    }
    row = metrics.scores_table(scores)[4]
    assert row == {
        "class": "4",
        "IoU": 0.5,
        "Dice": 0.6,
        "per-image IoU": pytest.approx(0.4),
        "per-image Dice": pytest.approx(0.2),
    }
    assert list(row) == ["class", "IoU", "Dice", "per-image IoU", "per-image Dice"]


def test_scores_table_rejects_scores_of_another_number_of_classes():
    with pytest.raises(
        ValueError, match=r"expected 11 classes, got 10 IoU, 10 Dice values"
    ):
        metrics.scores_table({"iou": np.zeros(10), "dice": np.zeros(10)})


def test_per_image_mean_iou_is_one_for_a_perfect_prediction():
    y_true, _ = random_masks(8)
    np.testing.assert_array_equal(
        metrics.per_image_mean_iou(y_true, y_true), np.ones(len(y_true))
    )


def test_per_image_mean_iou_averages_the_digits_of_each_image():
    B = BACKGROUND
    y_true = np.array([[[3, 3, 5, 5]], [[2, 2, 2, 2]]])
    y_pred = np.array([[[3, 3, 5, B]], [[2, 2, B, B]]])
    np.testing.assert_allclose(
        metrics.per_image_mean_iou(y_true, y_pred), [(1.0 + 0.5) / 2, 0.5]
    )


def test_per_image_mean_iou_counts_a_digit_predicted_where_there_is_none_as_zero():
    B = BACKGROUND
    y_true = np.array([[[3, 3, B, B]]])
    y_pred = np.array([[[3, 3, 7, B]]])
    np.testing.assert_allclose(
        metrics.per_image_mean_iou(y_true, y_pred), [(1.0 + 0.0) / 2]
    )


def test_per_image_mean_iou_is_nan_for_an_image_without_any_digit():
    B = BACKGROUND
    y_true = np.array([[[B, B]], [[1, B]]])
    y_pred = np.array([[[B, B]], [[1, B]]])
    scores = metrics.per_image_mean_iou(y_true, y_pred)
    assert np.isnan(scores[0])
    assert scores[1] == 1.0


def test_per_image_mean_iou_needs_a_batch_of_maps():
    with pytest.raises(
        ValueError, match=r"per_image_mean_iou needs .*\(N, H, W\), got shape \(4, 4\)"
    ):
        metrics.per_image_mean_iou(
            np.zeros((4, 4), dtype=int), np.zeros((4, 4), dtype=int)
        )


def test_error_kinds_split_the_wrong_pixels_by_kind():
    cm = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=int)
    cm[3, 3], cm[3, 5], cm[5, 3] = 100, 6, 2  # 8 pixels: one digit read as another
    cm[7, BACKGROUND] = 3  # 3 digit pixels missed
    cm[BACKGROUND, 1] = 1  # 1 background pixel inked
    cm[BACKGROUND, BACKGROUND] = 1000
    kinds = metrics.error_kinds(cm)
    assert kinds == {
        "digit as another digit": 8 / 12,
        "digit missed (labelled background)": 3 / 12,
        "background labelled as a digit": 1 / 12,
    }


def test_error_kinds_of_a_perfect_prediction_are_undefined():
    cm = np.diag(np.arange(1, NUM_CLASSES + 1))
    assert all(np.isnan(share) for share in metrics.error_kinds(cm).values())


def test_pixel_errors_name_each_kind_of_mistake():
    true = np.array([[BACKGROUND, 3, 3, BACKGROUND, 7]])
    pred = np.array([[BACKGROUND, BACKGROUND, 5, 2, 7]])
    # right, missed, wrong digit, invented, right
    assert metrics.pixel_errors(true, pred).tolist() == [[0, 1, 3, 2, 0]]
    assert metrics.PIXEL_ERRORS == ("missed", "invented", "wrong digit")


def test_pixel_errors_reject_masks_of_different_shapes():
    with pytest.raises(ValueError, match="same shape"):
        metrics.pixel_errors(np.zeros((2, 3), int), np.zeros((3, 2), int))
