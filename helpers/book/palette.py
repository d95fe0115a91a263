"""The book's class palette, and the colour science that checks it is colour-blind
friendly.

The 11 class colours come from a seeded computer search,
``scripts/palette_search.py``, which prints them: ten digit colours that
maximise the smallest CIEDE2000 difference between any two of the 11 colours
(background included), taken over normal vision and simulated protanopia,
deuteranopia and tritanopia (Machado et al. 2009). Each digit colour must
also pass three thresholds with all four visions, so that no class looks like
a part of the input image:

- contrast with the black background at least 3:1
  (:data:`MIN_CONTRAST_WITH_BLACK`), so none is dark;
- far from every grey (:func:`distance_from_grey`, at least
  :data:`MIN_GREY_DISTANCE`: 20 with normal vision, 10 with a dichromacy) and
  from white (:func:`distance_from_white`, at least
  :data:`MIN_WHITE_DISTANCE`: 25 and 15), so none looks like the white and
  grey strokes of the MNIST digits. A dichromat sees fewer colours, so the
  thresholds are lower there; Okabe-Ito yellow, seen with tritanopia, is
  just above them.

Well-known colour-blind-safe colours are kept (:data:`KEPT_COLOURS`):
Okabe-Ito yellow, IBM blue and Tableau dark orange. Colours far from grey
leave less room than the greys and near-whites an earlier palette used:
every pair of colours is at least 15.4 CIEDE2000 apart with any of the four
visions and at least 17.2 with normal vision, the floors
``tests/test_palette.py`` checks; :func:`palette_min_distance` measures it
and :func:`palette_swatches` shows it. The search gave the colours to the
digits so that the pairs the book's models confuse most
(:data:`CONFUSED_PAIRS`) are at least 34 apart with any vision, so a model's
mistakes stand out. Background is black, like the MNIST background.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_rgb, to_rgba_array
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from numpy.typing import ArrayLike

from helpers import CLASS_NAMES, NUM_CLASSES
from helpers.book.style import FIGURE_WIDTH_IN, TEXT_PT

_PALETTE_HEX = [  # as scripts/palette_search.py prints it
    "#598662",  # 0 sage green
    "#FFB1EE",  # 1 light pink
    "#89B969",  # 2 leaf green
    "#AA76A1",  # 3 mauve
    "#648FFF",  # 4 blue (IBM Design Library)
    "#9BFFBB",  # 5 mint green
    "#C85200",  # 6 dark orange (Tableau Color Blind 10)
    "#764D7E",  # 7 plum
    "#373EFC",  # 8 ultramarine
    "#F0E442",  # 9 yellow (Okabe-Ito)
    "#000000",  # background: black, as in the MNIST images
]
PALETTE: list[tuple[float, float, float]] = [to_rgb(colour) for colour in _PALETTE_HEX]

VISIONS = ("normal", "protanopia", "deuteranopia", "tritanopia")
"""The ways of seeing colour the palette is checked for: normal vision and the three
dichromacies."""

MIN_CONTRAST_WITH_BLACK = 3.0
"""Least contrast ratio of every digit colour with the black background, with every
vision: WCAG 2.1's minimum for graphics."""

MIN_GREY_DISTANCE = {
    "normal": 20.0,
    "protanopia": 10.0,
    "deuteranopia": 10.0,
    "tritanopia": 10.0,
}
"""Per vision, the least CIEDE2000 from every digit colour to the nearest grey, so that
none looks like the grey ink of the images."""

MIN_WHITE_DISTANCE = {
    "normal": 25.0,
    "protanopia": 15.0,
    "deuteranopia": 15.0,
    "tritanopia": 15.0,
}
"""Per vision, the least CIEDE2000 from every digit colour to white, so that none looks
like the white ink of the images."""

KEPT_COLOURS = {
    "#F0E442": "yellow (Okabe-Ito)",
    "#648FFF": "blue (IBM Design Library)",
    "#C85200": "dark orange (Tableau Color Blind 10)",
}
"""Well-known colour-blind-safe colours the palette keeps, by hex code."""

CONFUSED_PAIRS = (
    (3, 5),
    (4, 9),
    (5, 7),
    (5, 8),
    (2, 7),
    (8, 9),
    (0, 1),
    (7, 9),
    (1, 7),
    (6, 8),
)
"""The pairs of digits the book's models confuse most, and 1/7 and 6/8: their colours
are the furthest apart."""

_SRGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
"""Linear sRGB -> CIE XYZ (IEC 61966-2-1); its row sums are the D65 white, so white
maps to L* 100, a* = b* = 0."""

# Machado, Oliveira & Fernandes (2009), "A physiologically-based model for simulation
# of color vision deficiency", IEEE TVCG 15(6), 1291-1298, doi:10.1109/TVCG.2009.113:
# their matrices for severity 1.0 (dichromacy), applied here to linear RGB.
_MACHADO_2009 = {
    "protanopia": np.array(
        [
            [0.152286, 1.052583, -0.204868],
            [0.114503, 0.786281, 0.099216],
            [-0.003882, -0.048116, 1.051998],
        ]
    ),
    "deuteranopia": np.array(
        [
            [0.367322, 0.860646, -0.227968],
            [0.280085, 0.672501, 0.047413],
            [-0.011820, 0.042940, 0.968881],
        ]
    ),
    "tritanopia": np.array(
        [
            [1.255528, -0.076749, -0.178779],
            [-0.078411, 0.930809, 0.147602],
            [0.004733, 0.691367, 0.303900],
        ]
    ),
}


def _linear(rgb: np.ndarray) -> np.ndarray:
    """sRGB values 0..1 -> linear light (the sRGB transfer curve undone)."""
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _encoded(linear: np.ndarray) -> np.ndarray:
    """Linear light 0..1 -> sRGB values (the sRGB transfer curve)."""
    return np.where(
        linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055
    )


def srgb_to_lab(rgb: ArrayLike) -> np.ndarray:
    """sRGB colours ``(..., 3)`` with values 0..1 -> CIELAB ``(..., 3)`` (L*, a*, b*)
    for the D65 white."""
    xyz = (
        _linear(np.asarray(rgb, dtype=float))
        @ _SRGB_TO_XYZ.T
        / _SRGB_TO_XYZ.sum(axis=1)
    )
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack(
        [
            116 * f[..., 1] - 16,
            500 * (f[..., 0] - f[..., 1]),
            200 * (f[..., 1] - f[..., 2]),
        ],
        axis=-1,
    )


def simulate_vision(rgb: ArrayLike, vision: str = "normal") -> np.ndarray:
    """sRGB colours ``(..., 3)`` as seen with ``vision`` (one of :data:`VISIONS`), again
    as sRGB.

    Dichromacies use the Machado et al. (2009) matrices on linear RGB; colours
    they push out of the sRGB gamut are clipped, as a screen would show them.
    """
    if vision not in VISIONS:
        raise ValueError(f"vision must be one of {VISIONS}, got {vision!r}")
    rgb = np.asarray(rgb, dtype=float)
    if vision == "normal":
        return rgb
    return _encoded(np.clip(_linear(rgb) @ _MACHADO_2009[vision].T, 0, 1))


def ciede2000(lab1: ArrayLike, lab2: ArrayLike) -> np.ndarray:
    """CIEDE2000 colour difference between CIELAB colours ``(..., 3)`` (broadcast), with
    kL = kC = kH = 1.

    Follows Sharma, Wu & Dalal (2005), "The CIEDE2000 color-difference formula:
    implementation notes, supplementary test data, and mathematical
    observations", Color Res. Appl. 30(1), 21-30, including their rules for
    neutral colours (a hue angle is 0 and the mean hue is the sum when a chroma is
    0).
    """
    lightness1, a1, b1 = np.moveaxis(np.asarray(lab1, dtype=float), -1, 0)
    lightness2, a2, b2 = np.moveaxis(np.asarray(lab2, dtype=float), -1, 0)
    chroma7 = ((np.hypot(a1, b1) + np.hypot(a2, b2)) / 2) ** 7
    a_scale = 1.5 - 0.5 * np.sqrt(chroma7 / (chroma7 + 25.0**7))
    chroma1, chroma2 = np.hypot(a_scale * a1, b1), np.hypot(a_scale * a2, b2)
    hue1, hue2 = (
        np.degrees(np.arctan2(b1, a_scale * a1)) % 360,
        np.degrees(np.arctan2(b2, a_scale * a2)) % 360,
    )
    chromatic = chroma1 * chroma2 != 0
    hue_step = np.where(chromatic, (hue2 - hue1 + 180) % 360 - 180, 0)
    hue_difference = 2 * np.sqrt(chroma1 * chroma2) * np.sin(np.radians(hue_step) / 2)
    mean_hue = np.where(
        np.abs(hue1 - hue2) > 180, (hue1 + hue2 + 360) / 2 % 360, (hue1 + hue2) / 2
    )
    mean_hue = np.where(chromatic, mean_hue, hue1 + hue2)
    mean_lightness, mean_chroma = (lightness1 + lightness2) / 2, (chroma1 + chroma2) / 2
    t = (
        1
        - 0.17 * np.cos(np.radians(mean_hue - 30))
        + 0.24 * np.cos(np.radians(2 * mean_hue))
        + 0.32 * np.cos(np.radians(3 * mean_hue + 6))
        - 0.20 * np.cos(np.radians(4 * mean_hue - 63))
    )
    lightness_offset2 = (mean_lightness - 50) ** 2
    lightness_term = (lightness2 - lightness1) / (
        1 + 0.015 * lightness_offset2 / np.sqrt(20 + lightness_offset2)
    )
    chroma_term = (chroma2 - chroma1) / (1 + 0.045 * mean_chroma)
    hue_term = hue_difference / (1 + 0.015 * mean_chroma * t)
    rotation = (
        -2
        * np.sqrt(mean_chroma**7 / (mean_chroma**7 + 25.0**7))
        * np.sin(np.radians(60 * np.exp(-(((mean_hue - 275) / 25) ** 2))))
    )
    return np.sqrt(
        lightness_term**2
        + chroma_term**2
        + hue_term**2
        + rotation * chroma_term * hue_term
    )


def seen_as_lab(colours: Sequence[Any], vision: str = "normal") -> np.ndarray:
    """CIELAB ``(n, 3)`` of ``colours`` as seen with ``vision``.

    ``colours`` holds any colours matplotlib reads (hex strings, RGB tuples), or one.
    """
    return srgb_to_lab(simulate_vision(to_rgba_array(colours)[:, :3], vision))


def distance_from_grey(colours: Sequence[Any], vision: str = "normal") -> np.ndarray:
    """CIEDE2000 from each of ``colours`` seen with ``vision`` to the nearest grey:
    how far it is from looking like ink.

    The nearest grey is the one of the same L*: against a grey (a* = b* = 0) only
    the lightness term of CIEDE2000 depends on the grey's L*, and it is 0 there.
    """
    lab = seen_as_lab(colours, vision)
    return ciede2000(lab, lab * [1, 0, 0])


def distance_from_white(colours: Sequence[Any], vision: str = "normal") -> np.ndarray:
    """CIEDE2000 from each of ``colours`` seen with ``vision`` to white (which every
    vision sees as white)."""
    return ciede2000(seen_as_lab(colours, vision), [100.0, 0.0, 0.0])


def contrast_with_black(colours: Sequence[Any], vision: str = "normal") -> np.ndarray:
    """WCAG 2.1 contrast ratio of each of ``colours`` seen with ``vision`` against
    black: from 1 (black) to 21 (white)."""
    seen = simulate_vision(to_rgba_array(colours)[:, :3], vision)
    luminance = _linear(seen) @ _SRGB_TO_XYZ[1]
    return (luminance + 0.05) / 0.05


def palette_min_distance(
    palette: Sequence[Any], vision: str = "normal"
) -> tuple[float, tuple[int, int]]:
    """Smallest CIEDE2000 difference between two colours of ``palette`` seen with
    ``vision``, and their indices.

    ``palette`` holds any colours matplotlib reads (hex strings, RGB tuples); the
    pair comes back as ``(i, j)`` with ``i < j``, so a failing check names the two
    classes.
    """
    lab = seen_as_lab(palette, vision)
    first, second = np.triu_indices(len(lab), k=1)
    distances = ciede2000(lab[first], lab[second])
    closest = int(np.argmin(distances))
    return float(distances[closest]), (int(first[closest]), int(second[closest]))


def palette_swatches(palette: Sequence[Any] = PALETTE) -> Figure:
    """The 11 class colours as seen with each of :data:`VISIONS`, one row each, titled
    with the closest pair.

    As wide as the book's page shows a figure unshrunk, its text at the book's
    smallest size.
    """
    # Imported here, as helpers.book.plotting imports this module.
    rgb = to_rgba_array(palette)[:, :3]
    fig, axes = plt.subplots(
        len(VISIONS),
        1,
        figsize=(FIGURE_WIDTH_IN, 1.15 * len(VISIONS)),
        layout="constrained",
    )
    for ax, vision in zip(axes, VISIONS):
        distance, (first, second) = palette_min_distance(rgb, vision)
        ax.imshow(simulate_vision(rgb, vision)[None], aspect="auto")
        ax.set_title(
            f"{vision}: closest pair {CLASS_NAMES[first]} / {CLASS_NAMES[second]},"
            f" CIEDE2000 {distance:.1f}",
            fontsize=TEXT_PT,
        )
        ax.set_xticks(range(NUM_CLASSES), CLASS_NAMES, fontsize=TEXT_PT)
        ax.set_yticks([])
    return fig


def colorize(mask: np.ndarray) -> np.ndarray:
    """Class map ``(..., H, W)`` -> RGB image ``float (..., H, W, 3)`` in the book's
    palette."""
    mask = np.asarray(mask)
    if not np.issubdtype(mask.dtype, np.integer):
        raise ValueError(f"colorize needs integer class maps, got dtype {mask.dtype}")
    if mask.size and (mask.min() < 0 or mask.max() >= NUM_CLASSES):
        raise ValueError(
            f"class maps must hold values 0..{NUM_CLASSES - 1},"
            f" got {mask.min()}..{mask.max()}"
        )
    return np.array(PALETTE)[mask]


def legend_handles() -> list[Patch]:
    """One coloured patch per class, labelled with its name, for ``fig.legend``."""
    return [
        Patch(facecolor=colour, edgecolor="grey", label=name)
        for colour, name in zip(PALETTE, CLASS_NAMES)
    ]


ERROR_COLOURS = ("#E69F00", "#56B4E9", "#CC79A7")
"""Okabe-Ito orange, sky blue and reddish purple: the pixels a prediction missed,
invented, or gave the wrong digit (:data:`helpers.evaluate.metrics.PIXEL_ERRORS`), drawn
over the dimmed grey image."""


def tint(colour: Any, amount: float) -> tuple[float, ...]:
    """``colour`` mixed with white: ``amount`` 1 is the colour, 0 white."""
    return tuple(1 - amount * (1 - np.array(to_rgb(colour))))
