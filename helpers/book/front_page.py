"""The front page's numbers, written from the committed runs and the benchmark into the
file the front page includes (``python scripts/write_front_page.py``).

The front page is Markdown, so its headline result and training times cannot come from
a cell; they come from this generated file, and a test fails when the file differs from
what the committed runs and benchmark files give.
"""

from __future__ import annotations

from pathlib import Path

from helpers.book import results, speed_report
from helpers.config import PROFILES, REPO_ROOT
from helpers.nets.names import BOOK_MODELS
from helpers.train.recipe import PRESETS
from helpers.train.runs import Run

FRONT_PAGE_FILE = REPO_ROOT / "generated" / "front_page.md"
BACKEND_NAMES = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}


def headline(study: dict[str, list[Run]]) -> str:
    """The book's result in two sentences: each main model's mean test IoU over the
    digits over its seeds, with its interval, highest first; where chapter 5 weighs
    the differences."""
    table = results.seed_table({name: study[name] for name in BOOK_MODELS})
    table = table.sort_values("mean", ascending=False)
    percent = results.INTERVAL_PERCENT
    parts = [
        f"{label} {row['mean']:.3f} ({percent} interval {row[f'{percent} low']:.3f} "
        f"to {row[f'{percent} high']:.3f}, {row['seeds']:.0f} seeds)"
        for label, row in table.iterrows()
    ]
    test_images = study[BOOK_MODELS[0]][0].facts["config"]["images"]["test"]
    return (
        f"On {test_images:,} test images, composed from MNIST's test digits (writers "
        "no training image shows), the mean IoU over the ten digits, averaged over "
        f"each model's seeds, is "
        f"{', '.join(parts[:-1])} and {parts[-1]}. "
        "{doc}`Chapter 5 <notebooks/05_results>` says which of these differences the "
        "intervals support, and what each model costs."
    )


def training_times(reports: dict[str, dict]) -> str:
    """How long chapters 2-4 take to train one model again, per benchmarked machine:
    the book's training images over the measured rate in the book's setting."""
    sentences = []
    for report in reports.values():
        minutes = [
            speed_report.full_run_minutes(row)
            for row in speed_report.book_setting(report).values()
        ]
        sentences.append(
            f"on {report['machine']['device']} with "
            f"{BACKEND_NAMES.get(backend := report['machine']['backend'], backend)}, "
            f"{min(minutes):.0f} to {max(minutes):.0f} minutes"
        )
    return (
        "Chapters 2-4 load the committed runs and run in minutes; training a model "
        f"again ({PRESETS['book'].epochs} epochs of {PROFILES['full'].n_train:,} "
        f"images) takes, as the benchmark measured it, {'; '.join(sentences)}. "
        "{doc}`The appendix <notebooks/06_appendix_speed>` has every measurement."
    )


def front_page_text(study: dict[str, list[Run]], reports: dict[str, dict]) -> str:
    """The generated part of the front page, as Markdown."""
    return (
        "<!-- Written by scripts/write_front_page.py from artifacts/ and "
        "benchmarks/results/; do not edit. -->\n\n"
        f"**What the book finds.** {headline(study)}\n\n"
        f"**How long it takes.** {training_times(reports)}\n"
    )


def write_front_page(study: dict[str, list[Run]], path: Path = FRONT_PAGE_FILE) -> Path:
    """Write :func:`front_page_text` of ``study`` and the benchmark's result files to
    ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(front_page_text(study, speed_report.read_reports()))
    return path
