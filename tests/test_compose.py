"""Specification of helpers.data.compose: the M2NIST recipe on whole batches, and the random
changes of digits."""

import numpy as np
import pytest
from coded_digits import labels_from_grey

from helpers import BACKGROUND, HEIGHT, WIDTH
from helpers.data import compose

SQUARE = np.full((28, 28), 200, dtype=np.uint8)


@pytest.fixture(scope="module")
def pool(mnist_pool) -> tuple[np.ndarray, np.ndarray]:
    """300 real MNIST digits of every class, and their labels."""
    return mnist_pool


def squares_pool(n: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """``n`` digits that fill their whole 28x28 box, labelled 0..n-1."""
    return np.stack([SQUARE] * n), np.arange(n, dtype=np.uint8)


def disc(radius: float) -> np.ndarray:
    """A bright disc centred in the 28x28 box."""
    rows, cols = np.mgrid[:28, :28] - 13.5
    return np.where(rows**2 + cols**2 <= radius**2, 255, 0).astype(np.uint8)


# ---------------------------------------------------------------------------
# composition


def test_composed_images_and_masks_are_compact_and_have_the_requested_count(pool):
    split = compose.compose_images(*pool, 37, np.random.default_rng(0))
    assert split.images.shape == split.masks.shape == (37, HEIGHT, WIDTH)
    assert split.images.dtype == split.masks.dtype == np.uint8


@pytest.mark.parametrize(
    "augmentation", [None, compose.DigitAugmentation()], ids=["plain", "augmented"]
)
def test_foreground_is_exactly_where_the_image_is_bright(pool, augmentation):
    split = compose.compose_images(*pool, 200, np.random.default_rng(1), augmentation)
    np.testing.assert_array_equal(split.masks != BACKGROUND, split.images > 0)


def test_each_pasted_digit_is_labelled_with_its_own_label(coded_pool):
    """Digits whose grey level names their label: every pixel of every mask must hold
    the label of the digit pasted there, in its own image."""
    split = compose.compose_images(*coded_pool, 300, np.random.default_rng(2))
    np.testing.assert_array_equal(split.masks, labels_from_grey(split.images))
    assert set(np.unique(split.masks)) == set(range(10)) | {BACKGROUND}


def test_the_same_random_stream_composes_the_same_images(pool):
    first = compose.compose_images(*pool, 50, np.random.default_rng(3))
    second = compose.compose_images(*pool, 50, np.random.default_rng(3))
    np.testing.assert_array_equal(first.images, second.images)
    np.testing.assert_array_equal(first.masks, second.masks)


def test_the_first_digit_starts_in_the_first_ten_columns_and_a_row_from_0_to_36():
    split = compose.compose_images(*squares_pool(), 500, np.random.default_rng(4))
    foreground = split.masks != BACKGROUND
    first_column = foreground.any(axis=1).argmax(axis=1)
    top_row = (
        foreground[:, :, 9:28].any(axis=2).argmax(axis=1)
    )  # only the first digit reaches columns 9..27
    assert set(first_column) == set(range(10))
    assert set(top_row) == set(range(37))


def test_a_third_digit_is_kept_only_when_it_fits_exactly_at_the_right_edge():
    split = compose.compose_images(*squares_pool(), 3000, np.random.default_rng(5))
    right_of_second = (split.masks[:, :, 65:] != BACKGROUND).any(
        axis=(1, 2)
    )  # the second digit ends by column 64
    assert (
        0.03 < right_of_second.mean() < 0.08
    )  # a third digit in half the images, at offset 0 of 0..9
    third = split.masks[right_of_second][:, :, 56:] != BACKGROUND
    assert third.any(
        axis=1
    ).all()  # wherever a third digit is kept, it covers columns 56..83, the right edge


def test_the_brighter_digit_wins_where_two_overlap():
    faint, bright = np.full((28, 28), 50, np.uint8), np.full((28, 28), 250, np.uint8)
    split = compose.paste_digits(
        np.stack([faint, bright])[None],
        np.array([[4, 7]]),
        rows=np.array([[0, 0]]),
        cols=np.array([[9, 28]]),
    )
    image, mask = split.images[0], split.masks[0]
    overlap = np.s_[:28, 28:37]  # faint covers columns 9..36, bright 28..55
    assert (image[overlap] == 250).all() and (mask[overlap] == 7).all()
    assert (mask[:28, 9:28] == 4).all() and (mask[28:] == BACKGROUND).all()


def test_of_two_equally_bright_digits_the_earlier_one_wins():
    split = compose.paste_digits(
        np.stack([SQUARE, SQUARE])[None],
        np.array([[4, 7]]),
        rows=np.array([[0, 0]]),
        cols=np.array([[9, 28]]),
    )
    assert (split.masks[0, :28, 28:37] == 4).all()


def test_a_blank_digit_leaves_no_trace():
    split = compose.paste_digits(
        np.stack([SQUARE, np.zeros_like(SQUARE)])[None],
        np.array([[4, 7]]),
        np.array([[0, 30]]),
        np.array([[0, 40]]),
    )
    assert set(np.unique(split.masks)) == {4, BACKGROUND}


def test_a_digit_box_crossing_the_edge_is_rejected_with_its_place():
    with pytest.raises(ValueError, match="row 0, column 57"):
        compose.paste_digits(
            SQUARE[None, None], np.array([[1]]), np.array([[0]]), np.array([[57]])
        )


@pytest.mark.parametrize(
    "pixels, labels, message",
    [
        (np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8), "empty"),
        (np.zeros((3, 28, 28), np.uint8), np.zeros(2, np.uint8), r"\(3,\), got \(2,\)"),
        (np.zeros((2, 28, 28), np.uint8), np.array([3, 10]), "0..9"),
        (np.zeros((2, 28, 27), np.uint8), np.zeros(2, np.uint8), r"\(2, 28, 27\)"),
    ],
    ids=["empty pool", "fewer labels", "label 10", "wrong digit shape"],
)
def test_a_bad_digit_pool_is_rejected_with_what_is_wrong(pixels, labels, message):
    with pytest.raises(ValueError, match=message):
        compose.compose_images(pixels, labels, 4, np.random.default_rng(0))


# ---------------------------------------------------------------------------
# augmentation


def test_zero_ranges_leave_the_digits_unchanged(pool):
    unchanged = compose.DigitAugmentation(rotation=0, scale=(1, 1), shear=0, shift=0)
    np.testing.assert_array_equal(
        unchanged.apply(pool[0], np.random.default_rng(0)), pool[0]
    )


def test_the_default_augmentation_changes_every_digit_a_little(pool):
    augmented = compose.DigitAugmentation().apply(pool[0], np.random.default_rng(0))
    assert augmented.shape == pool[0].shape and augmented.dtype == np.uint8
    assert (augmented != pool[0]).any(axis=(1, 2)).all()
    before, after = pool[0] > 0, augmented > 0
    overlap = (before & after).sum(axis=(1, 2)) / (before | after).sum(axis=(1, 2))
    assert overlap.mean() > 0.5  # the strokes mostly stay where they were
    ink = augmented.sum(axis=(1, 2), dtype=float) / pool[0].sum(
        axis=(1, 2), dtype=float
    )
    assert 0.7 < ink.min() and ink.max() < 1.4  # no digit vanishes or doubles


def test_augmentation_keeps_the_share_of_foreground_pixels(pool):
    """Warped digits keep the extent of their strokes: no faint rim of interpolated grey
    levels becomes digit."""
    plain = compose.compose_images(*pool, 2000, np.random.default_rng(7))
    augmented = compose.compose_images(
        *pool, 2000, np.random.default_rng(7), compose.DigitAugmentation()
    )
    plain_share, augmented_share = (
        np.mean(split.masks != BACKGROUND) for split in (plain, augmented)
    )
    assert augmented_share == pytest.approx(plain_share, rel=0.03)


def test_augmentation_is_recorded_with_its_ranges_and_version():
    recorded = compose.DigitAugmentation(rotation=5.0).as_dict()
    assert recorded["rotation"] == 5.0 and recorded["scale"] == [0.9, 1.1]
    assert recorded["version"] == compose.AUGMENTATION_VERSION


def centre_of_mass(digits: np.ndarray) -> np.ndarray:
    """(row, column) of each digit's centre of mass."""
    rows, cols = np.mgrid[:28, :28]
    weight = digits.sum(axis=(1, 2), dtype=float)
    return (
        np.stack(
            [(digits * rows).sum(axis=(1, 2)), (digits * cols).sum(axis=(1, 2))], axis=1
        )
        / weight[:, None]
    )


def test_rotation_turns_the_digit_about_the_centre_of_its_box():
    round_digit = np.stack([disc(8)] * 20)
    rotated = compose.DigitAugmentation(
        rotation=45, scale=(1, 1), shear=0, shift=0
    ).apply(round_digit, np.random.default_rng(0))
    np.testing.assert_allclose(
        centre_of_mass(rotated), 13.5, atol=0.05
    )  # a centred disc stays where it is
    assert (rotated != round_digit).any(axis=(1, 2)).all()


def test_scale_grows_the_digit_about_the_centre_of_its_box():
    square = np.zeros((28, 28), np.uint8)
    square[10:18, 10:18] = 255  # 8 pixels wide, centred
    doubled = compose.DigitAugmentation(
        rotation=0, scale=(2, 2), shear=0, shift=0
    ).apply(square[None], np.random.default_rng(0))[0]
    bright_rows, bright_cols = np.nonzero(doubled >= 128)
    assert (
        bright_rows.min(),
        bright_rows.max(),
        bright_cols.min(),
        bright_cols.max(),
    ) == (6, 21, 6, 21)


def test_shift_moves_the_digit_by_at_most_its_range():
    dot = np.zeros((28, 28), np.uint8)
    dot[13:15, 13:15] = 255
    moved = compose.DigitAugmentation(rotation=0, scale=(1, 1), shear=0, shift=2).apply(
        np.stack([dot] * 200), np.random.default_rng(0)
    )
    offset = np.abs(centre_of_mass(moved) - 13.5)
    assert offset.max() <= 2 + 1e-6
    assert (
        offset.max(axis=0) > 1.5
    ).all()  # the whole range is used, along rows and columns


def test_augmented_digits_follow_the_same_layout_as_the_plain_ones(pool):
    """The layout is drawn before the changes, so the same seed places the same digits;
    only their shapes differ."""
    plain = compose.compose_images(*pool, 100, np.random.default_rng(6))
    augmented = compose.compose_images(
        *pool, 100, np.random.default_rng(6), compose.DigitAugmentation()
    )
    assert not np.array_equal(plain.masks, augmented.masks)
    same_digits = [
        set(np.unique(a)) == set(np.unique(b))
        for a, b in zip(plain.masks, augmented.masks)
    ]
    assert np.mean(same_digits) > 0.9


@pytest.mark.parametrize(
    "ranges, message",
    [
        ({"scale": (1.1, 0.9)}, "scale"),
        ({"scale": (0, 1)}, "scale"),
        ({"rotation": -5}, "rotation"),
        ({"shift": -1}, "shift"),
    ],
)
def test_an_impossible_range_is_rejected_by_name(ranges, message):
    with pytest.raises(ValueError, match=message):
        compose.DigitAugmentation(**ranges)


def test_augmentation_rejects_images_that_are_not_digits():
    with pytest.raises(ValueError, match=r"\(2, 64, 84\)"):
        compose.DigitAugmentation().apply(
            np.zeros((2, 64, 84), np.uint8), np.random.default_rng(0)
        )
