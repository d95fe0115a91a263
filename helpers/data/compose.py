"""Composing M2NIST images from 28x28 digits, with optional random changes to each digit
first.

:func:`compose_images` is the one implementation of the M2NIST recipe: the
fixed splits of :func:`helpers.data.splits.generate` and the images that
:class:`helpers.data.streaming.FreshCompositions` composes anew every epoch both
come from it. It works on whole batches of images with numpy indexing, so
thousands of images take tens of milliseconds. :class:`DigitAugmentation` varies the
handwriting by a small random affine change of each digit before it is placed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from helpers import BACKGROUND, HEIGHT, WIDTH

DIGIT_SIZE = 28
MAX_DIGITS = 3
"""An image draws 2 or 3 digits; the third is kept only when it fits."""
COLUMN_JITTER = 10
"""Digit ``i`` goes to column ``28*i + U[0, 10)``."""


class Split(NamedTuple):
    """Images ``uint8 (N, 64, 84)`` and class maps ``uint8 (N, 64, 84)``."""

    images: np.ndarray
    masks: np.ndarray

    def __len__(self) -> int:
        return len(self.images)

    def head(self, n: int) -> Split:
        """The first ``n`` examples (all of them if there are fewer)."""
        return Split(self.images[:n], self.masks[:n])


def _check_digit_pixels(pixels: np.ndarray, name: str, count: str) -> None:
    """Raise a ValueError naming ``name`` unless ``pixels`` is ``uint8 (count, 28,
    28)``."""
    if (
        pixels.ndim != 3
        or pixels.shape[1:] != (DIGIT_SIZE, DIGIT_SIZE)
        or pixels.dtype != np.uint8
    ):
        raise ValueError(
            f"{name}: expected uint8 ({count}, 28, 28), got {pixels.dtype} "
            f"{pixels.shape}"
        )


def check_digits(pixels: np.ndarray, labels: np.ndarray) -> None:
    """Raise a ValueError naming the problem unless the pool holds K > 0 ``uint8 (28,
    28)`` digits with labels 0..9."""
    pixels, labels = np.asarray(pixels), np.asarray(labels)
    _check_digit_pixels(pixels, "digit pixels", "K")
    if len(pixels) == 0:
        raise ValueError("digit pool is empty: pixels has shape (0, 28, 28)")
    if labels.shape != (len(pixels),):
        raise ValueError(
            f"digit labels: expected one label per digit, shape ({len(pixels)},), got "
            f"{labels.shape}"
        )
    if (
        not np.issubdtype(labels.dtype, np.integer)
        or labels.min() < 0
        or labels.max() > 9
    ):
        raise ValueError(
            f"digit labels must be integers 0..9, got {labels.dtype} "
            f"{labels.min()}..{labels.max()}"
        )


@dataclass(frozen=True)
class DigitAugmentation:
    """Ranges of a random affine change of each digit, drawn uniformly and independently
    per digit.

    The defaults keep every digit legible and, nearly always, inside its
    28x28 box: MNIST digits fit a 20x20 square centred in the box, which a
    10 % larger, turned or 2-pixel-shifted digit still leaves within the
    4-pixel margin; 12 degrees of rotation leave a 6 a 6 and a 9 a 9, and a
    0.2 shear (about 11 degrees of slant) is the slant of ordinary handwriting.
    """

    rotation: float = 12.0
    """Largest rotation in degrees, either way."""
    scale: tuple[float, float] = (0.9, 1.1)
    """Range of the size factor (the same for both axes)."""
    shear: float = 0.2
    """Largest horizontal shear (column shift per row), either way."""
    shift: float = 2.0
    """Largest shift in pixels, along each axis and either way."""

    def __post_init__(self) -> None:
        low, high = self.scale
        if not 0 < low <= high:
            raise ValueError(f"scale must be a range 0 < low <= high, got {self.scale}")
        for name in ("rotation", "shear", "shift"):
            if not getattr(self, name) >= 0:
                raise ValueError(
                    f"{name} must be a non-negative range, got {getattr(self, name)}"
                )

    def as_dict(self) -> dict[str, Any]:
        """The ranges and :data:`AUGMENTATION_VERSION`, as a run's configuration records
        them."""
        return {
            **asdict(self),
            "scale": list(self.scale),
            "version": AUGMENTATION_VERSION,
        }

    def apply(self, digits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Digits ``uint8 (N, 28, 28)``, each moved by its own random affine map about
        the box centre.

        Every output pixel is read from where the map sends it back in the
        original digit, by bilinear interpolation; pixels that come from
        outside the box are black. The digit's support (grey level > 0) is
        warped by the same map and cut at one half: outside the warped support
        a pixel is black, inside it is at least 1. Interpolation would
        otherwise leave a faint rim of grey levels 1-5 around every stroke,
        which the rule "foreground where > 0" would make digit, so augmented
        strokes would be wider than plain ones; this way they keep the extent
        of the original rule.
        """
        digits = np.asarray(digits)
        _check_digit_pixels(digits, "digits", "N")
        n = len(digits)
        angle = np.deg2rad(rng.uniform(-self.rotation, self.rotation, n))
        scale = rng.uniform(*self.scale, n)
        shear = rng.uniform(-self.shear, self.shear, n)
        shift = rng.uniform(-self.shift, self.shift, (n, 2))
        # The forward map is (x, y) -> scale * rotation @ shear @ (x, y) + shift about
        # the centre; sampling needs
        # its inverse, from the output pixel back to the input: (a b; c d) @ ((x, y) -
        # shift).
        cos, sin = np.cos(angle), np.sin(angle)
        forward = scale[:, None, None] * np.stack(
            [cos, cos * shear - sin, sin, sin * shear + cos], 1
        ).reshape(n, 2, 2)
        inverse = np.linalg.inv(forward)
        maps = np.concatenate(
            [inverse.reshape(n, 4), -(inverse @ shift[:, :, None]).reshape(n, 2)],
            axis=1,
        )
        augmented = np.empty_like(digits)
        for start in range(
            0, n, _CHUNK
        ):  # chunks keep the temporary arrays in the cache
            part = slice(start, start + _CHUNK)
            augmented[part] = _warp_digits(digits[part], maps[part].astype(np.float32))
        return augmented


AUGMENTATION_VERSION = 2
"""The version of :meth:`DigitAugmentation.apply`'s recipe (2: the support is warped
with the digit)."""

_CHUNK = 1024
_CENTRED_ROWS, _CENTRED_COLS = (
    np.mgrid[:DIGIT_SIZE, :DIGIT_SIZE].reshape(2, -1).astype(np.float32)
    - (DIGIT_SIZE - 1) / 2
)
_PADDED = DIGIT_SIZE + 2


def _warp_digits(digits: np.ndarray, maps: np.ndarray) -> np.ndarray:
    """Digits ``(N, 28, 28)`` read through affine maps ``(N, 6)``, black outside their
    warped support."""
    grey = _resample(digits.astype(np.float32), maps)
    inside = _resample((digits > 0).astype(np.float32), maps) >= 0.5
    return np.where(inside, np.clip(np.rint(grey), 1, 255), 0).astype(np.uint8)


def _resample(values: np.ndarray, maps: np.ndarray) -> np.ndarray:
    """Images ``float32 (N, 28, 28)`` read through affine maps ``(N, 6)`` = (a, b, c, d,
    e, f), bilinearly, 0 outside.

    Output pixel (x, y), counted from the box centre, takes the input value at
    (a x + b y + e, c x + d y + f) from the centre.
    """
    n = len(values)
    a, b, c, d, e, f = (column[:, None] for column in maps.T)
    centre = (DIGIT_SIZE - 1) / 2
    x = a * _CENTRED_COLS + b * _CENTRED_ROWS + (e + centre)
    y = c * _CENTRED_COLS + d * _CENTRED_ROWS + (f + centre)
    padded = np.zeros(
        (n, _PADDED, _PADDED), np.float32
    )  # a black border for points outside the box
    padded[:, 1:-1, 1:-1] = values
    x0 = np.clip(np.floor(x), -1, DIGIT_SIZE - 1)
    y0 = np.clip(np.floor(y), -1, DIGIT_SIZE - 1)
    fx = np.clip(x - x0, 0, 1)
    fy = np.clip(y - y0, 0, 1)
    corner = ((y0 + 1) * _PADDED + (x0 + 1)).astype(np.intp) + (
        _PADDED * _PADDED
    ) * np.arange(n)[:, None]
    flat = padded.reshape(-1)
    top_left, top_right = flat[corner], flat[corner + 1]
    bottom_left, bottom_right = flat[corner + _PADDED], flat[corner + _PADDED + 1]
    top = top_left + (top_right - top_left) * fx
    bottom = bottom_left + (bottom_right - bottom_left) * fx
    return (top + (bottom - top) * fy).reshape(n, DIGIT_SIZE, DIGIT_SIZE)


def paste_digits(
    digits: np.ndarray, labels: np.ndarray, rows: np.ndarray, cols: np.ndarray
) -> Split:
    """Images and masks of digits ``uint8 (N, S, 28, 28)`` with labels ``(N, S)`` whose
    boxes start at ``rows, cols``.

    The image is the pixel-wise maximum of the digits. A pixel is foreground
    exactly where the image is > 0 and takes the label of the brightest digit
    there (the earlier digit on a tie); a blank digit leaves no trace.
    """
    n, slots = digits.shape[:2]
    labels = np.asarray(labels).astype(np.uint8)
    outside = (
        (rows < 0)
        | (rows > HEIGHT - DIGIT_SIZE)
        | (cols < 0)
        | (cols > WIDTH - DIGIT_SIZE)
    )
    if outside.any():
        image, slot = np.argwhere(outside)[0]
        raise ValueError(
            f"digit {slot} of image {image} at row {rows[image, slot]}, column "
            f"{cols[image, slot]} "
            f"crosses the edge of the {HEIGHT}x{WIDTH} image"
        )
    images = np.zeros((n, HEIGHT, WIDTH), np.uint8)
    masks = np.full((n, HEIGHT, WIDTH), BACKGROUND, np.uint8)
    image_windows, mask_windows = (
        sliding_window_view(
            canvas, (DIGIT_SIZE, DIGIT_SIZE), axis=(1, 2), writeable=True
        )
        for canvas in (images, masks)
    )  # windows[i, row, col]: the 28x28 box of image i with top-left corner (row, col)
    for slot in range(slots):
        # a blank digit changes nothing, so only the shown ones are pasted
        shown = np.flatnonzero(
            digits[:, slot].reshape(n, DIGIT_SIZE * DIGIT_SIZE).any(axis=1)
        )
        box = (shown, rows[shown, slot], cols[shown, slot])
        digit, below, labelled = (
            digits[shown, slot],
            image_windows[box],
            mask_windows[box],
        )
        np.copyto(labelled, labels[shown, slot, None, None], where=digit > below)
        image_windows[box] = np.maximum(digit, below)
        mask_windows[box] = labelled
    return Split(images, masks)


def compose_images(
    pixels: np.ndarray,
    labels: np.ndarray,
    n_images: int,
    rng: np.random.Generator,
    augmentation: DigitAugmentation | None = None,
) -> Split:
    """``n_images`` M2NIST images and masks composed from a pool of digits, drawn with
    replacement.

    Each image draws 2 or 3 digits; digit ``i`` goes to column ``28*i + U[0, 10)``
    and row ``U[0, 36]``, and a digit whose box would cross the right edge is
    dropped. With ``augmentation`` each placed digit is changed first, so its
    mask follows the changed digit by the rule of :func:`paste_digits`.
    """
    check_digits(pixels, labels)
    if n_images < 0:
        raise ValueError(f"n_images must be >= 0, got {n_images}")
    digit_count = rng.integers(2, MAX_DIGITS + 1, n_images)
    chosen = rng.integers(0, len(pixels), (n_images, MAX_DIGITS))
    cols = DIGIT_SIZE * np.arange(MAX_DIGITS) + rng.integers(
        0, COLUMN_JITTER, (n_images, MAX_DIGITS)
    )
    rows = rng.integers(0, HEIGHT - DIGIT_SIZE + 1, (n_images, MAX_DIGITS))
    placed = (np.arange(MAX_DIGITS) < digit_count[:, None]) & (
        cols <= WIDTH - DIGIT_SIZE
    )
    digits = np.zeros((n_images, MAX_DIGITS, DIGIT_SIZE, DIGIT_SIZE), np.uint8)
    digits[placed] = (
        pixels[chosen[placed]]
        if augmentation is None
        else augmentation.apply(pixels[chosen[placed]], rng)
    )
    return paste_digits(
        digits, np.asarray(labels)[chosen], rows, np.minimum(cols, WIDTH - DIGIT_SIZE)
    )
