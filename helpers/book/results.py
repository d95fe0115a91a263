"""Put the committed runs side by side, for the results chapter.

Everything here reads artifacts written by :func:`helpers.train.loop.train`
through :mod:`helpers.train.runs`, so the tables in the book are the numbers in
those files, not copies of them. The statistics over seeds and test images are in
:mod:`helpers.evaluate.stats`; a run needs :data:`MIN_SEEDS_TO_RANK` seeds to be ranked.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

from helpers import BACKGROUND, CLASS_NAMES
from helpers.book import original_project, speed_report, tables
from helpers.evaluate import stats
from helpers.train.runs import Run

INTERVAL_LEVEL = 0.95
MIN_SEEDS_TO_RANK = (
    3  # fewer seeds say too little about how far another seed would move the score
)
INTERVAL_PERCENT = f"{INTERVAL_LEVEL * 100:g} %"


def per_class_table(runs: dict[str, Run], per_image: bool = False) -> pd.DataFrame:
    """IoU and Dice per class (rows) for each run (column pairs), dataset-level or
    per-image."""
    columns = {}
    for run in runs.values():
        scores = run.metrics["per_image"] if per_image else run.metrics
        columns[(run.label, "IoU")] = scores["iou"]
        columns[(run.label, "Dice")] = scores["dice"]
    return pd.DataFrame(columns, index=pd.Index(CLASS_NAMES, name="class"))


def summary_table(runs: dict[str, Run]) -> pd.DataFrame:
    """One row per model: headline scores (dataset-level and per-image) beside the
    original project's."""
    rows = []
    for run in runs.values():
        rows.append(
            {
                "model": run.label,
                "mean IoU, digits": run.metrics["mean_iou_digits"],
                "background IoU": run.metrics["iou"][BACKGROUND],
                "mean Dice, digits": run.metrics["mean_dice_digits"],
                "pixel accuracy": run.metrics["pixel_accuracy"],
                "per-image mean IoU, digits": run.metrics["per_image"][
                    "mean_iou_digits"
                ],
                "original project, per-image mean IoU, "
                "digits": original_project.mean_digit_iou(run.name),
            }
        )
    return pd.DataFrame(rows).set_index("model")


def cost_table(runs: dict[str, Run], benchmark: dict) -> Styler:
    """What each model costs: its size (parameters, FLOPs per image), the epochs its run
    took to the kept weights, and its training and inference rates in the book's
    setting as the benchmark measured them (``benchmark``, a result file of
    ``benchmarks/speed.py``), each rate a median with its range over the rounds.

    Speeds come from the benchmark only: a run's own wall time depends on what else
    its machine ran.
    """
    book = speed_report.book_setting(benchmark)
    rounds = speed_report.rounds
    table = pd.DataFrame(
        {
            run.label: {
                "parameters": run.facts["parameters"],
                "GFLOPs per image": run.facts["flops_per_image"] / 1e9,
                "kept epoch": run.facts["kept_epoch"],
                "training, images/s": rounds(
                    book[run.model]["train_images_per_second"]
                ),
                "inference, images/s": rounds(
                    book[run.model]["inference_images_per_second"]
                ),
            }
            for run in runs.values()
        }
    ).T.rename_axis("model")
    return tables.book_table(
        table,
        {
            "parameters": "count",
            "GFLOPs per image": "gflops",
            "kept epoch": "count",
            "training, images/s": "per second",
            "inference, images/s": "per second",
        },
        f"What each model costs; rates measured by the benchmark on "
        f"{benchmark['machine']['device']} in the book's setting, median (range over "
        "the rounds)",
    )


def seed_table(study: dict[str, list[Run]]) -> pd.DataFrame:
    """One row per run name: its seeds' dataset-level mean digit IoU, and how sure the
    mean of them is.

    ``mean``, ``sd`` (NaN for one seed), ``min`` and ``max`` describe the
    seeds' scores; ``95 % low`` and ``95 % high`` bound the two-level bootstrap
    interval of their mean, over test images and seeds, read from each run's
    per-image confusions (with one seed, over test images only);
    ``background IoU`` is the seeds' mean. Every run is shown, but
    :func:`ranking_sentences` ranks only those with enough seeds.
    """
    rows = []
    for runs in study.values():
        spread = stats.seed_spread([run.metrics["mean_iou_digits"] for run in runs])
        interval = stats.bootstrap_mean_iou(
            [run.confusions for run in runs], level=INTERVAL_LEVEL
        )
        background = float(np.mean([run.metrics["iou"][BACKGROUND] for run in runs]))
        bounds = {
            f"{INTERVAL_PERCENT} low": interval.low,
            f"{INTERVAL_PERCENT} high": interval.high,
        }
        rows.append(
            {
                "run": runs[0].label,
                **spread._asdict(),
                **bounds,
                "background IoU": background,
            }
        )
    return pd.DataFrame(rows).set_index("run")


def seed_table_style(table: pd.DataFrame, caption: str) -> Styler:
    """A :func:`seed_table` as the chapters show it, under ``caption``
    (:func:`helpers.book.tables.book_table`): scores to four decimals, the seed count
    whole, the standard deviation of one seed as "-"."""
    kinds = {
        column: "count" if column == "seeds" else "score" for column in table.columns
    }
    return tables.book_table(table, kinds, caption)


def ranking_sentences(
    study: dict[str, list[Run]], names: tuple[str, ...] | list[str]
) -> list[str]:
    """For each pair of the named runs, a sentence that ranks them only where it can.

    A pair is ranked only when both runs have :data:`MIN_SEEDS_TO_RANK` seeds
    or more and the two-level bootstrap interval (over test images and seeds)
    of their difference in seed-mean digit IoU excludes 0; otherwise the
    sentence says why it is not ranked, or that it is undecided.
    """
    return [
        _ranking_sentence(study[first], study[second])
        for first, second in itertools.combinations(names, 2)
    ]


def _ranking_sentence(a: list[Run], b: list[Run]) -> str:
    """``a`` against ``b`` as a reader can quote it, the verdict first: not ranked for
    want of seeds, the higher first where the interval excludes 0, else that they
    cannot be told apart; then the interval, and how far the score moves with the seed
    alone."""
    short = [
        f"{runs[0].label} has only {_seeds(len(runs))}"
        for runs in (a, b)
        if len(runs) < MIN_SEEDS_TO_RANK
    ]
    if short:
        return (
            f"{a[0].label} and {b[0].label} are not ranked: {' and '.join(short)}, "
            f"and a ranking needs {MIN_SEEDS_TO_RANK}."
        )
    comparison = stats.compare(
        [run.confusions for run in a],
        [run.confusions for run in b],
        level=INTERVAL_LEVEL,
    )
    difference, ranges = (
        comparison.difference,
        (comparison.a_seed_range, comparison.b_seed_range),
    )
    if difference.high < 0:
        a, b, ranges = b, a, ranges[::-1]
        difference = stats.Interval(
            -difference.estimate, -difference.high, -difference.low
        )
    seeds = (
        f"{_seeds(len(a))} each"
        if len(a) == len(b)
        else f"{_seeds(len(a))} and {_seeds(len(b))}"
    )
    interval = (
        f"{difference.low:.4f} to {difference.high:.4f}, over the test images and "
        f"{seeds}"
    )
    spread = (
        f"Seed to seed, the scores of {a[0].label} spread over {ranges[0]:.4f} and "
        f"those of {b[0].label} over {ranges[1]:.4f}."
    )
    if difference.low > 0:
        return (
            f"{a[0].label} scores higher than {b[0].label}, by "
            f"{difference.estimate:.4f} mean IoU over the digits. "
            f"{INTERVAL_PERCENT} interval: {interval}. " + spread
        )
    return (
        f"{a[0].label} and {b[0].label} cannot be told apart. {a[0].label} minus "
        f"{b[0].label} is {difference.estimate:.4f}; its {INTERVAL_PERCENT} interval, "
        f"{interval}, includes 0. " + spread
    )


def gain(before: Run, after: Run) -> stats.Interval:
    """``after``'s mean digit IoU minus ``before``'s, one run each, with a paired
    bootstrap interval over the test images.

    With one seed a side the interval says how sure the difference is for these two
    runs, not how far other seeds would move it: :func:`ranking_sentences` ranks
    models, this measures two runs.
    """
    return stats.bootstrap_difference(
        [after.confusions], [before.confusions], level=INTERVAL_LEVEL
    )


def gain_sentence(before: Run, after: Run) -> str:
    """:func:`gain` as a reader can quote it: what ``after`` gains over ``before``,
    then its interval."""
    difference = gain(before, after)
    return (
        f"{after.label} gains {difference.estimate:+.4f} mean IoU over the digits on "
        f"{before.label}. {INTERVAL_PERCENT} interval over the test images: "
        f"{difference.low:+.4f} to {difference.high:+.4f}, one run each."
    )


def _seeds(count: int) -> str:
    """The count with its noun: ``1 seed``, ``3 seeds``."""
    return f"{count} seed" if count == 1 else f"{count} seeds"


def median_seed(runs: list[Run]) -> Run:
    """The seed whose test mean digit IoU is the median of ``runs`` (the lower of the
    two middle ones for an even count; ties go to the lower seed).

    The chapters' prediction figures and the demo show this seed: a typical
    run, neither the best nor a failed one.
    """
    if not runs:
        raise ValueError("median_seed needs at least one run")
    ranked = sorted(runs, key=lambda run: (run.metrics["mean_iou_digits"], run.seed))
    return ranked[(len(ranked) - 1) // 2]


FAR_BELOW_MEDIAN = 0.1
"""A seed whose mean digit IoU is this far below the median seed's is a run that
failed, not a draw around the mean."""


def failed_seeds(runs: list[Run]) -> list[Run]:
    """The seeds of ``runs`` whose mean digit IoU is more than :data:`FAR_BELOW_MEDIAN`
    below that of :func:`median_seed`, in seed order."""
    return [run for run in runs if is_far_below(run, runs)]


def is_far_below(run: Run, reference: list[Run]) -> bool:
    """Whether ``run``'s mean digit IoU is more than :data:`FAR_BELOW_MEDIAN` below
    that of the median seed of ``reference``: a failed run, judged against runs of
    the same model (a variant's one run against the model's seeds, for instance)."""
    floor = median_seed(reference).metrics["mean_iou_digits"] - FAR_BELOW_MEDIAN
    return run.metrics["mean_iou_digits"] < floor


def best_model(runs: dict[str, Run]) -> str:
    """The name of the run with the highest mean digit IoU."""
    return max(runs, key=lambda name: runs[name].metrics["mean_iou_digits"])
