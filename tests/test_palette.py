"""Specification of the class palette: its colour science (CIELAB, CIEDE2000, simulated
dichromacy), its spacing, and its distance from the black background and from the white
and grey ink of the images."""

import matplotlib

matplotlib.use("Agg")

import figure_text
import matplotlib.pyplot as plt
import numpy as np
import pytest
from figure_text import overlapping_texts
from matplotlib.colors import to_hex, to_rgb

from helpers import BACKGROUND, CLASS_NAMES, NUM_CLASSES
from helpers.book import palette

SHARMA_2005_PAIRS = np.array(
    [
        [50.0000, 2.6772, -79.7751, 50.0000, 0.0000, -82.7485, 2.0425],
        [50.0000, 3.1571, -77.2803, 50.0000, 0.0000, -82.7485, 2.8615],
        [50.0000, 2.8361, -74.0200, 50.0000, 0.0000, -82.7485, 3.4412],
        [50.0000, -1.3802, -84.2814, 50.0000, 0.0000, -82.7485, 1.0000],
        [50.0000, -1.1848, -84.8006, 50.0000, 0.0000, -82.7485, 1.0000],
        [50.0000, -0.9009, -85.5211, 50.0000, 0.0000, -82.7485, 1.0000],
        [50.0000, 0.0000, 0.0000, 50.0000, -1.0000, 2.0000, 2.3669],
        [50.0000, -1.0000, 2.0000, 50.0000, 0.0000, 0.0000, 2.3669],
        [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0009, 7.1792],
        [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0010, 7.1792],
        [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0011, 7.2195],
        [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0012, 7.2195],
        [50.0000, -0.0010, 2.4900, 50.0000, 0.0009, -2.4900, 4.8045],
        [50.0000, -0.0010, 2.4900, 50.0000, 0.0010, -2.4900, 4.8045],
        [50.0000, -0.0010, 2.4900, 50.0000, 0.0011, -2.4900, 4.7461],
        [50.0000, 2.5000, 0.0000, 50.0000, 0.0000, -2.5000, 4.3065],
        [50.0000, 2.5000, 0.0000, 73.0000, 25.0000, -18.0000, 27.1492],
        [50.0000, 2.5000, 0.0000, 61.0000, -5.0000, 29.0000, 22.8977],
        [50.0000, 2.5000, 0.0000, 56.0000, -27.0000, -3.0000, 31.9030],
        [50.0000, 2.5000, 0.0000, 58.0000, 24.0000, 15.0000, 19.4535],
        [50.0000, 2.5000, 0.0000, 50.0000, 3.1736, 0.5854, 1.0000],
        [50.0000, 2.5000, 0.0000, 50.0000, 3.2972, 0.0000, 1.0000],
        [50.0000, 2.5000, 0.0000, 50.0000, 1.8634, 0.5757, 1.0000],
        [50.0000, 2.5000, 0.0000, 50.0000, 3.2592, 0.3350, 1.0000],
        [60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644],
        [63.0109, -31.0961, -5.8663, 62.8187, -29.7946, -4.0864, 1.2630],
        [61.2901, 3.7196, -5.3901, 61.4292, 2.2480, -4.9620, 1.8731],
        [35.0831, -44.1164, 3.7933, 35.0232, -40.0716, 1.5901, 1.8645],
        [22.7233, 20.0904, -46.6940, 23.0331, 14.9730, -42.5619, 2.0373],
        [36.4612, 47.8580, 18.3852, 36.2715, 50.5065, 21.2231, 1.4146],
        [90.8027, -2.0831, 1.4410, 91.1528, -1.6435, 0.0447, 1.4441],
        [90.9257, -0.5406, -0.9208, 88.6381, -0.8985, -0.7239, 1.5381],
        [6.7747, -0.2908, -2.4247, 5.8714, -0.0985, -2.2286, 0.6377],
        [2.0776, 0.0795, -1.1350, 0.9033, -0.0636, -0.5514, 0.9082],
    ]
)
"""All 34 test pairs of Sharma, Wu & Dalal (2005), Table 1: L*, a*, b* of each colour
and the expected ΔE00."""

OLD_PALETTE = [
    "#E69F00",
    "#56B4E9",
    "#AA3377",
    "#D55E00",
    "#F0E442",
    "#0072B2",
    "#009E73",
    "#DDDDDD",
    "#CC79A7",
    "#332288",
    "#1A1A1A",
]
"""The palette before this check: 2 and 8 two similar pinks, 9 a dark indigo on the
near-black background."""

PREVIOUS_PALETTE = [
    "#665372",
    "#EDFFED",
    "#A299A2",
    "#647464",
    "#65EDFF",
    "#F0E442",
    "#E1997F",
    "#5B20FB",
    "#648FFF",
    "#C85200",
    "#000000",
]
"""The palette before the ink checks: 1 a near white and 4 a pale cyan, 0, 2 and 3
greyish, like the white and grey strokes of the input images."""

MIN_CIEDE2000_FLOOR = {
    "normal": 17.2,
    "protanopia": 15.4,
    "deuteranopia": 15.9,
    "tritanopia": 15.4,
}
"""Per vision, a floor at most 0.1 below the palette's smallest pairwise CIEDE2000, as
scripts/palette_search.py prints it."""

MIN_CONFUSED_PAIR_DISTANCE = 34.0
"""A floor just below the smallest CIEDE2000, over the visions, between the colours of
two digits the models confuse."""

MIN_DIGIT_LIGHTNESS = 37.84
"""L* of relative luminance 0.1: a colour that bright has 3:1 contrast with black (WCAG
2.1's minimum for graphics)."""

DIGITS = palette.PALETTE[:BACKGROUND]


def test_ciede2000_matches_all_34_pairs_of_sharma_2005_to_4_decimals():
    first, second, expected = (
        SHARMA_2005_PAIRS[:, :3],
        SHARMA_2005_PAIRS[:, 3:6],
        SHARMA_2005_PAIRS[:, 6],
    )
    np.testing.assert_allclose(
        palette.ciede2000(first, second), expected, rtol=0, atol=5e-5
    )
    np.testing.assert_allclose(
        palette.ciede2000(second, first), expected, rtol=0, atol=5e-5
    )


def test_srgb_to_lab_gives_the_d65_values_of_white_black_and_red():
    lab = palette.srgb_to_lab([[1, 1, 1], [0, 0, 0], [1, 0, 0]])
    np.testing.assert_allclose(
        lab, [[100, 0, 0], [0, 0, 0], [53.2408, 80.0925, 67.2032]], atol=1e-3
    )


@pytest.mark.parametrize("vision", palette.VISIONS)
def test_greys_look_the_same_with_every_vision(vision):
    greys = np.linspace(0, 1, 5)[:, None].repeat(3, axis=1)
    np.testing.assert_allclose(palette.simulate_vision(greys, vision), greys, atol=1e-5)


def test_dichromats_confuse_red_with_green_or_blue_with_yellow():
    red, green, blue, yellow = [1, 0, 0], [0, 0.6, 0], [0, 0, 1], [1, 1, 0]
    normal = palette.ciede2000(*palette.srgb_to_lab([red, green]))
    for vision in ("protanopia", "deuteranopia"):
        assert (
            palette.ciede2000(
                *palette.srgb_to_lab(palette.simulate_vision([red, green], vision))
            )
            < normal / 3
        )
    tritan = palette.srgb_to_lab(palette.simulate_vision([blue, yellow], "tritanopia"))
    assert (
        palette.ciede2000(*tritan)
        < palette.ciede2000(*palette.srgb_to_lab([blue, yellow])) / 2
    )


def test_simulate_vision_rejects_an_unknown_vision():
    with pytest.raises(ValueError, match="'achromatopsia'"):
        palette.simulate_vision([0.5, 0.5, 0.5], "achromatopsia")


def test_palette_min_distance_returns_the_closest_pair_and_its_distance():
    colours = ["#000000", "#FF0000", "#FFFFFF", "#EE0000"]
    distance, pair = palette.palette_min_distance(colours)
    assert pair == (1, 3)
    assert distance == pytest.approx(
        palette.ciede2000(*palette.srgb_to_lab([[1, 0, 0], [0xEE / 255, 0, 0]]))
    )


def test_distance_from_grey_is_the_distance_to_the_nearest_grey_of_the_ramp():
    colours = ["#C85200", "#648FFF", "#9BFFBB", "#777777"]
    ramp = np.stack([np.linspace(0, 100, 10001), np.zeros(10001), np.zeros(10001)], 1)
    lab = palette.seen_as_lab(colours)
    nearest = palette.ciede2000(lab[:, None], ramp[None]).min(axis=1)
    distances = palette.distance_from_grey(colours)
    assert (distances <= nearest + 1e-9).all()
    # The ramp's step of 0.01 in L* leaves at most 0.005 between them.
    np.testing.assert_allclose(distances, nearest, atol=5e-3)
    assert distances[3] == pytest.approx(0, abs=1e-9)


def test_distance_from_white_is_0_for_white_and_grows_towards_black():
    colours = ["#FFFFFF", "#EDFFED", "#A299A2", "#000000"]
    distances = palette.distance_from_white(colours)
    assert distances[0] == pytest.approx(0, abs=1e-4)
    assert list(distances) == sorted(distances)


def test_contrast_with_black_follows_wcag_from_1_for_black_to_21_for_white():
    ratios = palette.contrast_with_black(["#000000", "#777777", "#FFFFFF"])
    # #777777 has WCAG contrast 4.48:1 with white, so 21 / 4.48 with black.
    np.testing.assert_allclose(ratios, [1, 21 / 4.4781, 21], rtol=1e-4)


@pytest.mark.parametrize("vision", palette.VISIONS)
def test_every_pair_of_class_colours_stays_apart(vision):
    distance, (first, second) = palette.palette_min_distance(palette.PALETTE, vision)
    closest = f"{CLASS_NAMES[first]} / {CLASS_NAMES[second]}"
    assert distance >= MIN_CIEDE2000_FLOOR[vision], f"{closest}: {distance:.2f}"


@pytest.mark.parametrize("vision", palette.VISIONS)
def test_no_digit_colour_is_dark_against_the_background(vision):
    seen = palette.simulate_vision(palette.PALETTE, vision)
    lightness = palette.srgb_to_lab(seen)[:, 0]
    assert lightness[BACKGROUND] < 10
    assert np.delete(lightness, BACKGROUND).min() >= MIN_DIGIT_LIGHTNESS


@pytest.mark.parametrize("vision", palette.VISIONS)
def test_every_digit_colour_has_3_to_1_contrast_with_the_black_background(vision):
    ratios = palette.contrast_with_black(DIGITS, vision)
    assert ratios.min() >= palette.MIN_CONTRAST_WITH_BLACK == 3


@pytest.mark.parametrize("vision", palette.VISIONS)
def test_no_digit_colour_looks_like_the_grey_ink(vision):
    distances = palette.distance_from_grey(DIGITS, vision)
    greyest = int(np.argmin(distances))
    assert distances[greyest] >= palette.MIN_GREY_DISTANCE[vision], (
        f"digit {greyest}: {distances[greyest]:.1f} from grey"
    )


@pytest.mark.parametrize("vision", palette.VISIONS)
def test_no_digit_colour_looks_like_the_white_ink(vision):
    distances = palette.distance_from_white(DIGITS, vision)
    whitest = int(np.argmin(distances))
    assert distances[whitest] >= palette.MIN_WHITE_DISTANCE[vision], (
        f"digit {whitest}: {distances[whitest]:.1f} from white"
    )


def test_the_ink_thresholds_are_those_the_module_states():
    assert palette.MIN_GREY_DISTANCE["normal"] == 20
    assert palette.MIN_WHITE_DISTANCE["normal"] == 25
    dichromacies = palette.VISIONS[1:]
    assert {palette.MIN_GREY_DISTANCE[vision] for vision in dichromacies} == {10}
    assert {palette.MIN_WHITE_DISTANCE[vision] for vision in dichromacies} == {15}


def test_the_digits_the_models_confuse_get_colours_far_apart():
    distances = [
        palette.palette_min_distance([DIGITS[first], DIGITS[second]], vision)[0]
        for first, second in palette.CONFUSED_PAIRS
        for vision in palette.VISIONS
    ]
    assert min(distances) >= MIN_CONFUSED_PAIR_DISTANCE


def test_the_palette_keeps_the_well_known_colour_blind_safe_colours():
    hex_codes = [to_hex(colour).upper() for colour in DIGITS]
    assert set(palette.KEPT_COLOURS) <= set(hex_codes)


def test_the_old_palette_fails_the_checks_at_its_known_flaws():
    assert palette.palette_min_distance(OLD_PALETTE, "normal")[1] == (2, 8)
    assert palette.palette_min_distance(OLD_PALETTE, "protanopia")[1] == (2, 9)
    for vision in palette.VISIONS[1:]:
        distance = palette.palette_min_distance(OLD_PALETTE, vision)[0]
        assert distance < MIN_CIEDE2000_FLOOR[vision]
    assert palette.srgb_to_lab(to_rgb(OLD_PALETTE[9]))[0] < MIN_DIGIT_LIGHTNESS
    grey = palette.distance_from_grey(OLD_PALETTE[7])[0]
    assert grey < palette.MIN_GREY_DISTANCE["normal"]


def test_the_previous_palette_fails_the_ink_checks_at_its_pale_and_greyish_colours():
    digits = PREVIOUS_PALETTE[:BACKGROUND]
    grey = palette.distance_from_grey(digits) < palette.MIN_GREY_DISTANCE["normal"]
    white = palette.distance_from_white(digits) < palette.MIN_WHITE_DISTANCE["normal"]
    assert list(np.flatnonzero(white)) == [1, 4]
    assert list(np.flatnonzero(grey)) == [0, 1, 2, 3]


def test_palette_swatches_show_each_vision_with_its_closest_pair():
    fig = palette.palette_swatches()
    titles = [ax.get_title() for ax in fig.axes]
    assert [title.split(":")[0] for title in titles] == list(palette.VISIONS)
    assert all("closest pair" in title for title in titles)
    assert [label.get_text() for label in fig.axes[0].get_xticklabels()] == CLASS_NAMES
    assert len(fig.axes[0].images[0].get_array()[0]) == NUM_CLASSES
    plt.close(fig)


def test_palette_swatches_text_is_9_pt_at_least_on_the_page_and_never_overlaps():
    fig = palette.palette_swatches()
    assert figure_text.smallest_shown_text_pt(fig) >= 9
    assert overlapping_texts(fig) == []
    plt.close(fig)
