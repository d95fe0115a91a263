"""Segmentation scores: confusion matrix, IoU, Dice and pixel accuracy.

Two ways of averaging appear in the book, and they give different numbers:

* **Dataset-level** (:func:`scores_from_confusion`): count true positives,
  false positives and false negatives of each class over every pixel of the
  test set, then compute one IoU and one Dice per class. Every false positive
  counts, wherever it is. This is the book's main measure.
* **Per-image** (:func:`per_image_scores`): compute IoU and Dice of a class on
  each image whose ground truth contains that class, then average over those
  images. Images where the digit is absent are skipped, so false positives on
  them are never counted. The original M2NIST V-Net/U-Net project reported
  this average; the book computes it only to compare with that table.

To rank single images, e.g. to show a model's worst predictions,
:func:`per_image_mean_iou` gives each image one score.

All functions take integer class maps (any shape, e.g. ``(N, 64, 84)``) as
numpy arrays or backend tensors and return numpy values.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from helpers import BACKGROUND, CLASS_NAMES, NUM_CLASSES


def _class_map(values: ArrayLike, name: str, num_classes: int) -> np.ndarray:
    """``values`` as an integer numpy array, checked to hold classes
    0..num_classes-1."""
    array = np.asarray(values)
    if not (np.issubdtype(array.dtype, np.integer) or array.dtype == bool):
        raise ValueError(
            f"{name}: expected integer class labels, got dtype {array.dtype} (take "
            "argmax over the class axis first)"
        )
    if array.size:
        low, high = array.min(), array.max()
        if low < 0 or high >= num_classes:
            bad = low if low < 0 else high
            raise ValueError(
                f"{name}: class labels must lie in 0..{num_classes - 1}, found {bad}"
            )
    return array.astype(np.int64)


def _checked_pair(
    y_true: ArrayLike, y_pred: ArrayLike, num_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    true = _class_map(y_true, "y_true", num_classes)
    pred = _class_map(y_pred, "y_pred", num_classes)
    if true.shape != pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape, got {true.shape} and "
            f"{pred.shape}"
        )
    return true, pred


def confusion_matrix(
    y_true: ArrayLike, y_pred: ArrayLike, num_classes: int = NUM_CLASSES
) -> np.ndarray:
    """Pixel counts ``int64 (num_classes, num_classes)``: rows are true classes, columns
    predicted ones."""
    true, pred = _checked_pair(y_true, y_pred, num_classes)
    counts = np.bincount(
        (true * num_classes + pred).ravel(), minlength=num_classes * num_classes
    )
    return counts.reshape(num_classes, num_classes).astype(np.int64)


class ConfusionAccumulator:
    """A confusion matrix built batch by batch, so a whole test set never has to sit in
    memory."""

    def __init__(self, num_classes: int = NUM_CLASSES) -> None:
        self.num_classes = num_classes
        self._matrix = np.zeros((num_classes, num_classes), dtype=np.int64)

    def update(self, y_true: ArrayLike, y_pred: ArrayLike) -> None:
        """Add the pixel counts of one batch of class maps."""
        self._matrix += confusion_matrix(y_true, y_pred, self.num_classes)

    @property
    def matrix(self) -> np.ndarray:
        """A copy of the counts so far (rows true, columns predicted)."""
        return self._matrix.copy()

    def scores(self) -> dict:
        """Dataset-level scores of everything seen so far (see
        :func:`scores_from_confusion`)."""
        return scores_from_confusion(self._matrix)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator`` as floats, NaN where the denominator is 0."""
    result = np.full(np.shape(numerator), np.nan)
    np.divide(numerator, denominator, out=result, where=denominator > 0)
    return result


def _nanmean(values: np.ndarray) -> float:
    """Mean of the non-NaN values; NaN (without a warning) when there are none."""
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else float("nan")


def _foreground(num_classes: int, background: int) -> np.ndarray:
    return np.array([c for c in range(num_classes) if c != background], dtype=int)


def mean_iou_digits(
    confusions: ArrayLike, background: int = BACKGROUND
) -> float | np.ndarray:
    """The mean IoU over the digits of a confusion matrix ``(C, C)``, or of each matrix
    of a stack ``(..., C, C)``: the book's score, in one place.

    A digit that occurs neither in the truth nor in the prediction has no IoU
    and is skipped; with none scored the mean is NaN.
    """
    confusions = np.asarray(confusions, dtype=np.float64)
    if confusions.ndim < 2 or confusions.shape[-1] != confusions.shape[-2]:
        raise ValueError(
            f"expected confusion matrices (..., C, C), got shape {confusions.shape}"
        )
    digits = _foreground(confusions.shape[-1], background)
    true_positives = np.diagonal(confusions, axis1=-2, axis2=-1)
    union = confusions.sum(axis=-2) + confusions.sum(axis=-1) - true_positives
    union, true_positives = union[..., digits], true_positives[..., digits]
    scored = union > 0
    iou = np.divide(true_positives, union, out=np.zeros_like(union), where=scored)
    n_scored = scored.sum(axis=-1)
    mean = np.divide(
        iou.sum(axis=-1),
        n_scored,
        out=np.full(n_scored.shape, np.nan),
        where=n_scored > 0,
    )
    return float(mean) if mean.ndim == 0 else mean


def scores_from_confusion(cm: np.ndarray, background: int = BACKGROUND) -> dict:
    """Dataset-level IoU, Dice and pixel accuracy from a confusion matrix.

    Per class, ``IoU = TP / (TP + FP + FN)`` and ``Dice = 2 TP / (2 TP + FP + FN)``
    (so ``Dice = 2 IoU / (1 + IoU)``). A class that occurs neither in the truth
    nor in the prediction has no score: NaN, never 0 or 1, and the means skip
    it. ``*_digits`` means average every class except ``background``.
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion matrix must be square, got shape {cm.shape}")
    if cm.size and cm.min() < 0:
        raise ValueError(
            f"confusion matrix holds counts, found a negative entry {cm.min()}"
        )
    true_positives = np.diag(cm).astype(np.float64)
    false_positives = cm.sum(axis=0) - true_positives
    false_negatives = cm.sum(axis=1) - true_positives
    iou = _ratio(true_positives, true_positives + false_positives + false_negatives)
    dice = _ratio(
        2 * true_positives, 2 * true_positives + false_positives + false_negatives
    )
    digits = _foreground(len(cm), background)
    return {
        "iou": iou,
        "dice": dice,
        "pixel_accuracy": float(_ratio(true_positives.sum(), np.float64(cm.sum()))),
        "mean_iou_digits": mean_iou_digits(cm, background),
        "mean_iou_all": _nanmean(iou),
        "mean_dice_digits": _nanmean(dice[digits]),
    }


def _per_image_confusion(
    y_true: ArrayLike, y_pred: ArrayLike, num_classes: int, caller: str
) -> np.ndarray:
    """One confusion matrix per image, ``int64 (N, num_classes, num_classes)``, for
    batches ``(N, H, W)``."""
    true, pred = _checked_pair(y_true, y_pred, num_classes)
    if true.ndim != 3:
        raise ValueError(
            f"{caller} needs a batch of class maps (N, H, W), got shape {true.shape}"
        )
    n_images = len(true)
    image_offset = (np.arange(n_images) * num_classes * num_classes)[:, None, None]
    flat = (image_offset + true * num_classes + pred).ravel()
    return np.bincount(flat, minlength=n_images * num_classes * num_classes).reshape(
        n_images, num_classes, num_classes
    )


def per_image_confusions(
    y_true: ArrayLike, y_pred: ArrayLike, num_classes: int = NUM_CLASSES
) -> np.ndarray:
    """One confusion matrix per image (rows true, columns predicted), ``(N, num_classes,
    num_classes)``.

    For batches of class maps ``(N, H, W)``. The counts are stored in the
    smallest unsigned integer type that holds ``H * W`` (``uint16`` for
    M2NIST), as a run keeps them to bootstrap its test scores over images.
    """
    counts = _per_image_confusion(y_true, y_pred, num_classes, "per_image_confusions")
    pixels_per_image = int(np.prod(np.shape(y_true)[1:]))
    return counts.astype(np.min_scalar_type(pixels_per_image))


def per_image_scores(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    num_classes: int = NUM_CLASSES,
    background: int = BACKGROUND,
) -> dict:
    """Per-image IoU and Dice of each class, averaged over the images whose truth holds
    it.

    ``y_true`` and ``y_pred`` are batches of class maps ``(N, H, W)``. For class
    ``c``, only images whose ground truth contains ``c`` contribute, so a digit
    predicted on an image that does not hold it costs nothing: this average is
    kinder than :func:`scores_from_confusion`. It is the measure the original
    M2NIST V-Net/U-Net project reported. A class in no ground truth is NaN.
    Returns per-class ``iou``, ``dice`` and ``images_with_class`` (how many
    images each average is over) and the means over digits.
    """
    per_image_cm = _per_image_confusion(y_true, y_pred, num_classes, "per_image_scores")
    true_positives = np.diagonal(per_image_cm, axis1=1, axis2=2).astype(np.float64)
    in_truth = per_image_cm.sum(axis=2)
    in_prediction = per_image_cm.sum(axis=1)
    present = in_truth > 0
    per_image_iou = _ratio(true_positives, in_truth + in_prediction - true_positives)
    per_image_dice = _ratio(2 * true_positives, in_truth + in_prediction)
    images_with_class = present.sum(axis=0)
    iou = _ratio(np.where(present, per_image_iou, 0).sum(axis=0), images_with_class)
    dice = _ratio(np.where(present, per_image_dice, 0).sum(axis=0), images_with_class)
    digits = _foreground(num_classes, background)
    return {
        "iou": iou,
        "dice": dice,
        "images_with_class": images_with_class,
        "mean_iou_digits": _nanmean(iou[digits]),
        "mean_dice_digits": _nanmean(dice[digits]),
    }


def per_image_mean_iou(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    num_classes: int = NUM_CLASSES,
    background: int = BACKGROUND,
) -> np.ndarray:
    """Mean IoU of each image over the digits in its truth or its prediction, ``float
    (N,)``.

    Made to rank images, e.g. to find a model's worst predictions: a digit
    missed, or predicted where there is none, scores 0 on that image and pulls
    its mean down. Background is left out. An image with no digit in truth or
    prediction has nothing to score: NaN.
    """
    per_image_cm = _per_image_confusion(
        y_true, y_pred, num_classes, "per_image_mean_iou"
    )
    true_positives = np.diagonal(per_image_cm, axis1=1, axis2=2).astype(np.float64)
    union = per_image_cm.sum(axis=2) + per_image_cm.sum(axis=1) - true_positives
    digit_iou = _ratio(true_positives, union)[:, _foreground(num_classes, background)]
    scored = ~np.isnan(digit_iou)
    return _ratio(np.where(scored, digit_iou, 0).sum(axis=1), scored.sum(axis=1))


def scores_table(scores: dict, class_names: list[str] = CLASS_NAMES) -> list[dict]:
    """One row per class (``class``, ``IoU``, ``Dice``) for display, e.g. with
    ``pandas.DataFrame``.

    When ``scores`` holds per-image averages under ``per_image`` (as
    :func:`helpers.evaluate.inference.evaluate` returns), they become two more columns,
    ``per-image IoU`` and ``per-image Dice``, so both averages sit side by side.
    """
    columns = {"IoU": scores["iou"], "Dice": scores["dice"]}
    if "per_image" in scores:
        columns |= {
            "per-image IoU": scores["per_image"]["iou"],
            "per-image Dice": scores["per_image"]["dice"],
        }
    columns = {title: np.asarray(values) for title, values in columns.items()}
    if any(len(values) != len(class_names) for values in columns.values()):
        counts = ", ".join(
            f"{len(values)} {title}" for title, values in columns.items()
        )
        raise ValueError(f"expected {len(class_names)} classes, got {counts} values")
    return [
        {
            "class": name,
            **{title: float(values[row]) for title, values in columns.items()},
        }
        for row, name in enumerate(class_names)
    ]


def error_kinds(cm: np.ndarray, background: int = BACKGROUND) -> dict[str, float]:
    """Shares of the wrongly labelled pixels by kind of mistake, from a confusion matrix
    (rows true).

    ``digit as another digit``: a stroke given the wrong digit; ``digit missed``:
    a digit pixel labelled background; ``background as digit``: ink where
    there is none. The shares add up to 1 (NaN if nothing is wrong).
    """
    cm = np.asarray(cm, dtype=float)
    errors = cm.copy()
    np.fill_diagonal(errors, 0)
    digits = _foreground(len(cm), background)
    counts = {
        "digit as another digit": errors[np.ix_(digits, digits)].sum(),
        "digit missed (labelled background)": errors[digits, background].sum(),
        "background labelled as a digit": errors[background, digits].sum(),
    }
    total = sum(counts.values())
    return {kind: count / total if total else np.nan for kind, count in counts.items()}


PIXEL_ERRORS = ("missed", "invented", "wrong digit")
"""The three ways a pixel can be wrong, in the order :func:`pixel_errors` numbers them
from 1: a digit pixel labelled background (missed), a background pixel labelled a digit
(invented), a stroke given another digit (wrong digit)."""


def pixel_errors(
    true_mask: ArrayLike, pred_mask: ArrayLike, background: int = BACKGROUND
) -> np.ndarray:
    """Each pixel's mistake, ``int (..., H, W)``: 0 where the prediction is right, else
    1 + its index in :data:`PIXEL_ERRORS`.

    The pixel-level view of :func:`error_kinds`: where a prediction misses stroke
    pixels, invents them, or gives a stroke the wrong digit.
    """
    true_mask, pred_mask = _checked_pair(true_mask, pred_mask, NUM_CLASSES)
    true_digit, pred_digit = true_mask != background, pred_mask != background
    errors = np.zeros(true_mask.shape, dtype=np.int64)
    errors[true_digit & ~pred_digit] = 1
    errors[~true_digit & pred_digit] = 2
    errors[true_digit & pred_digit & (true_mask != pred_mask)] = 3
    return errors
