"""Search for the book's class palette and print it as helpers/book/palette.py holds it.

    python scripts/palette_search.py

The search is seeded, so it prints the same palette on every run (in about a
minute). It looks for ten digit colours that, with the black background,
maximise the smallest CIEDE2000 difference between any two of the 11 colours,
taken over normal vision and the three simulated dichromacies
(``palette.VISIONS``). Every digit colour must pass, with every vision, the
thresholds of helpers/book/palette.py: contrast with black
(``MIN_CONTRAST_WITH_BLACK``), distance from the nearest grey
(``MIN_GREY_DISTANCE``) and from white (``MIN_WHITE_DISTANCE``), so that no
class looks like the black background or the white and grey ink of the
images. The colours of ``KEPT_COLOURS`` are in the palette from the start.

1. Candidates: the colours of an sRGB grid of ``LEVELS`` values per channel
   that pass the thresholds.
2. Between every two candidates, the smallest CIEDE2000 over the four visions.
3. Selection on the grid: the kept colours and black stay; the other seven
   start at random, then each in turn moves to the candidate that ranks the
   selection highest, until none moves. That is repeated ``ROUNDS`` times
   from the best selection so far with two of the seven moved at random.
4. Polish off the grid: each of the seven moves by a step along red, green
   and blue (``STEPS``, in 8-bit units) while that ranks the palette higher.
5. Steps 3 and 4 run ``CHAINS`` times, each from its own random start, and
   the best palette is kept.
6. Digits: of all 3,628,800 orders of the ten colours, the one that puts the
   pairs of ``CONFUSED_PAIRS`` furthest apart.

A selection ranks higher than another when its smallest distance between two
colours is larger; on a tie, its next smallest, and so on (steps 3 to 5). The
order of step 6 is ranked the same way on the confused pairs' distances.
"""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
from matplotlib.colors import to_hex, to_rgb

from helpers import CLASS_NAMES, NUM_CLASSES
from helpers.book import palette

LEVELS = 21
"""sRGB values per channel on the candidate grid: 0, 12.75, ..., 255."""

ROUNDS = 150
"""How many times step 3 starts again from the best selection, two colours moved."""

CHAINS = 4
"""How many times steps 3 and 4 run, each from a random start of its own."""

STEPS = (16, 8, 4, 2, 1)
"""Step sizes of the polish, in 8-bit sRGB units."""

SEED = 0

BLACK = (0.0, 0.0, 0.0)


def passes_thresholds(rgb: np.ndarray) -> np.ndarray:
    """Which of the sRGB colours ``(n, 3)`` may be digit colours: bright enough, not
    grey, not white, with every vision."""
    passes = np.ones(len(rgb), dtype=bool)
    for vision in palette.VISIONS:
        contrast = palette.contrast_with_black(rgb, vision)
        passes &= contrast >= palette.MIN_CONTRAST_WITH_BLACK
        grey = palette.distance_from_grey(rgb, vision)
        passes &= grey >= palette.MIN_GREY_DISTANCE[vision]
        white = palette.distance_from_white(rgb, vision)
        passes &= white >= palette.MIN_WHITE_DISTANCE[vision]
    return passes


def seen_distances(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Smallest CIEDE2000 over the visions between each colour of ``first (n, 3)``
    and each of ``second (m, 3)``: ``(n, m)``."""
    distances = np.full((len(first), len(second)), np.inf)
    for vision in palette.VISIONS:
        first_lab = palette.seen_as_lab(first, vision)
        second_lab = palette.seen_as_lab(second, vision)
        # In blocks of rows, to keep CIEDE2000's temporary arrays small.
        for row in range(0, len(first), 256):
            rows = slice(row, row + 256)
            block = palette.ciede2000(first_lab[rows, None], second_lab[None])
            distances[rows] = np.minimum(distances[rows], block)
    return distances


def palette_distances(rgb: np.ndarray) -> np.ndarray:
    """The distances between every two of the colours ``rgb (n, 3)``."""
    return seen_distances(rgb, rgb)[np.triu_indices(len(rgb), k=1)]


def ranked(unchanged: np.ndarray, options: np.ndarray) -> np.ndarray:
    """Each option's distances ``options (n, m)`` joined to the ``unchanged`` ones,
    sorted from smallest up: compared as tuples, these rows rank the options."""
    same = np.broadcast_to(unchanged, (len(options), len(unchanged)))
    return np.sort(np.concatenate([same, options], axis=1), axis=1)


def best_option(unchanged: np.ndarray, options: np.ndarray, current: int) -> int:
    """Index of the option that ranks highest, or ``current`` when none ranks above
    it. ``options[i]`` holds option ``i``'s distances to the colours that stay."""
    # Only an option whose nearest colour is as far as the current one's smallest
    # distance can rank above it.
    floor = min(unchanged.min(), options[current].min())
    (contenders,) = np.nonzero(options.min(axis=1) >= floor)
    rows = ranked(unchanged, options[contenders])
    best = int(contenders[np.lexsort(rows.T[::-1])[-1]])
    best_row = ranked(unchanged, options[[best]])[0]
    current_row = ranked(unchanged, options[[current]])[0]
    return best if tuple(best_row) > tuple(current_row) else current


def pair_distances(selection: list[int], distances: np.ndarray) -> np.ndarray:
    """The distances between every two of the selected candidates."""
    first, second = np.triu_indices(len(selection), k=1)
    chosen = np.asarray(selection)
    return distances[chosen[first], chosen[second]]


def rank(selection: list[int], distances: np.ndarray) -> tuple[float, ...]:
    """The selection's distances between every two colours, from smallest up."""
    return tuple(np.sort(pair_distances(selection, distances)))


def move_apart(selection: list[int], fixed: int, distances: np.ndarray) -> list[int]:
    """Moves each candidate after the first ``fixed`` to the one that ranks the
    selection highest, until none moves."""
    selection = list(selection)
    moved = True
    while moved:
        moved = False
        for slot in range(fixed, len(selection)):
            others = selection[:slot] + selection[slot + 1 :]
            unchanged = pair_distances(others, distances)
            best = best_option(unchanged, distances[:, others], selection[slot])
            if best != selection[slot]:
                selection[slot], moved = best, True
    return selection


def select_on_grid(
    distances: np.ndarray, fixed: int, rng: np.random.Generator
) -> list[int]:
    """Step 3: indices of ``NUM_CLASSES`` candidates, starting with ``0..fixed - 1``."""
    free = np.arange(fixed, len(distances))
    start = list(range(fixed)) + list(rng.choice(free, NUM_CLASSES - fixed, False))
    best = move_apart(start, fixed, distances)
    for _ in range(ROUNDS):
        start = list(best)
        for slot in rng.choice(np.arange(fixed, NUM_CLASSES), 2, replace=False):
            start[slot] = int(rng.choice(free))
        candidate = move_apart(start, fixed, distances)
        if rank(candidate, distances) > rank(best, distances):
            best = candidate
    return best


def polish(rgb8: np.ndarray, fixed: int) -> np.ndarray:
    """Step 4: the colours ``(n, 3)``, in 8-bit sRGB, after the first ``fixed`` each
    moved off the grid while that ranks the palette higher."""
    rgb8 = rgb8.copy()
    directions = np.array(list(itertools.product((-1, 0, 1), repeat=3)))
    stay = (directions == 0).all(axis=1)
    for step in STEPS:
        moved = True
        while moved:
            moved = False
            for slot in range(fixed, len(rgb8)):
                others = np.delete(rgb8, slot, axis=0) / 255
                options = np.clip(rgb8[slot] + step * directions, 0, 255)
                options = options[passes_thresholds(options / 255) | stay]
                current = int(np.flatnonzero((options == rgb8[slot]).all(axis=1))[0])
                to_others = seen_distances(options / 255, others)
                best = best_option(palette_distances(others), to_others, current)
                if best != current:
                    rgb8[slot], moved = options[best], True
    return rgb8


def order_digits(colours: list[str]) -> list[str]:
    """Step 6: the ten digit colours in the order that puts the confused pairs
    furthest apart."""
    rgb = np.array([to_rgb(colour) for colour in colours])
    between = seen_distances(rgb, rgb)
    count = len(colours)
    every_order = itertools.chain.from_iterable(itertools.permutations(range(count)))
    orders = np.fromiter(every_order, dtype=np.int8).reshape(-1, count)
    assert len(orders) == math.factorial(count)
    first, second = np.array(palette.CONFUSED_PAIRS).T
    rows = np.sort(between[orders[:, first], orders[:, second]], axis=1)
    best = np.lexsort(rows.T[::-1])[-1]
    return [colours[i] for i in orders[best]]


def search() -> list[str]:
    """The palette: ten digit colours in digit order, then black, as hex codes."""
    rng = np.random.default_rng(SEED)
    kept = np.array([to_rgb(colour) for colour in palette.KEPT_COLOURS])
    assert passes_thresholds(kept).all(), "a kept colour fails the thresholds"
    levels = np.linspace(0, 1, LEVELS)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1)
    grid = grid.reshape(-1, 3)
    candidates = np.concatenate([kept, [BLACK], grid[passes_thresholds(grid)]])
    distances = seen_distances(candidates, candidates)
    fixed = len(kept) + 1
    palettes = []
    for _ in range(CHAINS):
        selection = select_on_grid(distances, fixed, rng)
        rgb8 = np.round(candidates[selection] * 255).astype(int)
        palettes.append(polish(rgb8, fixed))
    best = max(palettes, key=lambda rgb8: tuple(np.sort(palette_distances(rgb8 / 255))))
    digits = [to_hex(colour / 255).upper() for colour in best if colour.any()]
    return order_digits(digits) + [to_hex(BLACK).upper()]


def main() -> None:
    start = time.perf_counter()
    colours = search()
    print(f"# found in {time.perf_counter() - start:.0f} s")
    for vision in palette.VISIONS:
        distance, (first, second) = palette.palette_min_distance(colours, vision)
        closest = f"{CLASS_NAMES[first]} / {CLASS_NAMES[second]}"
        print(f"# {vision}: smallest CIEDE2000 {distance:.2f}, {closest}")
    print("_PALETTE_HEX = [")
    for name, colour in zip(CLASS_NAMES, colours):
        print(f'    "{colour}",  # {name}')
    print("]")


if __name__ == "__main__":
    main()
