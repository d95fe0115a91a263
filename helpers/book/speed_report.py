"""The appendix on speed: the result files of ``benchmarks/speed.py``, read and shown as
the book's tables, figures and sentences.

Every number comes from a result file in ``benchmarks/results/`` (one per machine and
Keras backend) or, for a chapter's recorded training time, from a committed run. A
rate is shown as its median over the benchmark's rounds with the range of the rounds.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from pandas.io.formats.style import Styler

from helpers.book import tables
from helpers.book.style import FIGURE_WIDTH_IN, TEXT_PT
from helpers.config import COMMITTED_ARTIFACTS, PROFILES, REPO_ROOT
from helpers.nets.names import MODEL_LABELS
from helpers.train.artifacts import RUN_FILE
from helpers.train.recipe import PRESETS

RESULTS = REPO_ROOT / "benchmarks" / "results"
CHAPTERS = {"fcn8s": "2. FCN-8s", "unet": "3. U-Net", "vnet": "4. V-Net"}


def read_reports(folder: Path = RESULTS) -> dict[str, dict]:
    """The full-mode result files in ``folder``, by file name (``cpu-tensorflow``)."""
    reports = {
        path.stem: json.loads(path.read_text())
        for path in sorted(folder.glob("*.json"))
    }
    return {
        name: report for name, report in reports.items() if report["mode"] == "full"
    }


FULL_RUN_IMAGES = PRESETS["book"].epochs * PROFILES["full"].n_train
"""Training images of one run of the book's recipe in the full profile: its epochs of
the profile's training images."""


def rounds(summary: dict) -> tuple[float, float, float]:
    """A rate's median and range over the rounds: ``(median, min, max)``."""
    return summary["median"], summary["min"], summary["max"]


def book_setting(report: dict) -> dict[str, dict]:
    """The results of ``report`` in the setting the chapters train with, by model."""
    return {
        row["model"]: row
        for row in report["results"]
        if row["setting"]["keras_default"]
    }


def full_run_minutes(row: dict) -> float:
    """Minutes a run of the book's recipe trains at ``row``'s median training rate."""
    return FULL_RUN_IMAGES / row["train_images_per_second"]["median"] / 60


def machines_table(reports: dict[str, dict]) -> Styler:
    """What each benchmark run ran on, and how loaded the machine was."""
    rows = {
        name: {
            "device": report["machine"]["device"],
            "backend": report["machine"]["backend"],
            "versions": ", ".join(
                f"{package} {version}"
                for package, version in report["machine"]["versions"].items()
                if package != "backend"
            ),
            "load at start": report["machine"]["load_average"][0],
            "load at end": report["machine"]["load_average"][1],
            "float32 matmul, GFLOP/s": report["matmul"]["flops_per_second"] / 1e9,
            "rounds": report["rounds"],
            "benchmark run, s": report["wall_seconds"],
        }
        for name, report in reports.items()
    }
    return tables.book_table(
        pd.DataFrame(rows).T.rename_axis("run"),
        {
            "device": "label",
            "backend": "label",
            "versions": "prose",
            "load at start": "ratio",
            "load at end": "ratio",
            "float32 matmul, GFLOP/s": "count",
            "rounds": "count",
            "benchmark run, s": "seconds",
        },
        "The machines of the benchmark runs",
    )


def training_table(name: str, report: dict) -> Styler:
    """Each model's size and training rate in the book's setting, in the benchmark run
    ``name``: the rate as its median and range over the rounds, and as a share of the
    machine's matmul rate."""
    rows = {
        MODEL_LABELS[model]: {
            "parameters": row["parameters"],
            "GFLOPs per image": row["forward_flops_per_image"] / 1e9,
            "training, images/s": rounds(row["train_images_per_second"]),
            "share of matmul rate": rounds(row["train_fraction_of_matmul"]),
        }
        for model, row in book_setting(report).items()
    }
    return tables.book_table(
        pd.DataFrame(rows).T.rename_axis("model"),
        {
            "parameters": "count",
            "GFLOPs per image": "gflops",
            "training, images/s": "per second",
            "share of matmul rate": "share",
        },
        f"{name}: training in the book's setting, median (range over the rounds); "
        "FLOPs of one forward pass",
    )


def inference_table(name: str, report: dict) -> Styler:
    """Each model's inference rate, latency and peak memory in the book's setting, in
    the benchmark run ``name``."""
    rows = {
        MODEL_LABELS[model]: {
            "inference, images/s": rounds(row["inference_images_per_second"]),
            "latency, ms": rounds(row["latency_ms"]),
            "peak memory, MiB": row["peak_memory_bytes"] / 2**20,
        }
        for model, row in book_setting(report).items()
    }
    return tables.book_table(
        pd.DataFrame(rows).T.rename_axis("model"),
        {
            "inference, images/s": "per second",
            "latency, ms": "milliseconds",
            "peak memory, MiB": "mebibytes",
        },
        f"{name}: inference in the book's setting, median (range over the rounds); "
        f"peak memory on the {report['peak_memory_of']}",
    )


def settings_table(name: str, report: dict) -> Styler:
    """Every setting of every model in the benchmark run ``name``: its training rate,
    and its speed-up over the book's setting, round by round."""
    rows = {
        (
            MODEL_LABELS[row["model"]],
            f"book: {row['label']}"
            if row["setting"]["keras_default"]
            else row["variant"],
        ): {
            "training, images/s": rounds(row["train_images_per_second"]),
            "speed-up over the book": rounds(row["train_speedup_over_book"]),
        }
        for row in report["results"]
    }
    return tables.book_table(
        pd.DataFrame(rows).T.rename_axis(["model", "setting"]),
        {"training, images/s": "per second", "speed-up over the book": "ratio"},
        f"{name}: every setting, timed in turns; median (range over the rounds)",
    )


def rates_figure(reports: dict[str, dict]) -> Figure:
    """Training and inference images per second of each model, one bar per setting,
    the whiskers spanning the rounds; one row of panels per benchmark run."""
    fig, axes = plt.subplots(
        len(reports),
        2,
        figsize=(FIGURE_WIDTH_IN, 3.4 * len(reports) + 0.8),
        squeeze=False,
        layout="constrained",
    )
    for (name, report), row_axes in zip(reports.items(), axes):
        settings = list(dict.fromkeys(row["variant"] for row in report["results"]))
        models = list(dict.fromkeys(row["model"] for row in report["results"]))
        width = 0.8 / len(settings)
        for ax, metric, task in zip(
            row_axes,
            ("train_images_per_second", "inference_images_per_second"),
            ("training", "inference"),
        ):
            for index, setting in enumerate(settings):
                rates = [
                    row[metric]
                    for row in report["results"]
                    if row["variant"] == setting
                ]
                ax.bar(
                    [
                        position + (index - (len(settings) - 1) / 2) * width
                        for position in range(len(rates))
                    ],
                    [rate["median"] for rate in rates],
                    width,
                    label=setting,
                    yerr=[
                        [rate["median"] - rate["min"] for rate in rates],
                        [rate["max"] - rate["median"] for rate in rates],
                    ],
                    capsize=2,
                )
            ax.set_xticks(range(len(models)), [MODEL_LABELS[m] for m in models])
            ax.set_ylim(bottom=0)
            ax.set_ylabel("images per second")
            ax.set_title(f"{name}: {task}", fontsize=TEXT_PT)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        ncol=2,
        frameon=False,
        fontsize=TEXT_PT,
    )
    return fig


def speedups_figure(reports: dict[str, dict]) -> Figure:
    """Each variant's training speed-up over the book's setting, one dot per round and
    one colour per model; the dashed line at 1 is the book's setting."""
    fig, axes = plt.subplots(
        len(reports),
        1,
        figsize=(FIGURE_WIDTH_IN, 3.2 * len(reports) + 0.5),
        squeeze=False,
        layout="constrained",
    )
    for (name, report), ax in zip(reports.items(), axes[:, 0]):
        models = list(dict.fromkeys(row["model"] for row in report["results"]))
        variants = [verdict["variant"] for verdict in report["variants"]]
        for row in report["results"]:
            if row["setting"]["keras_default"]:
                continue
            rounds = row["train_speedup_over_book"]["values"]
            offset = 0.2 * (models.index(row["model"]) - (len(models) - 1) / 2)
            ax.scatter(
                [variants.index(row["variant"]) + offset] * len(rounds),
                rounds,
                s=16,
                color=f"C{models.index(row['model'])}",
                label=MODEL_LABELS[row["model"]]
                if row["variant"] == variants[0]
                else None,
            )
        ax.axhline(1, color="grey", linestyle="--", linewidth=1)
        ax.set_xticks(range(len(variants)), variants)
        ax.set_ylabel("speed-up over the book")
        ax.set_title(f"{name}: one dot per round", fontsize=TEXT_PT)
    fig.legend(
        *axes[0, 0].get_legend_handles_labels(),
        loc="outside lower center",
        ncol=len(MODEL_LABELS),
        frameon=False,
        fontsize=TEXT_PT,
    )
    return fig


def verdict_sentence(run: str, verdict: dict) -> str:
    """What the rounds of a run say about one variant, in a sentence of its numbers."""
    medians = ", ".join(
        f"{MODEL_LABELS[model]} {speedup:.2f}×"
        for model, speedup in verdict["median_speedup"].items()
    )
    slower = ", ".join(
        MODEL_LABELS[model] for model in verdict["slower_in_every_round_for"]
    )
    if verdict["faster_in_every_round"]:
        effect = (
            "it changes the training itself"
            if verdict["changes_training"]
            else "it changes only the rounding and the shuffle order, so a chapter can "
            "use it"
        )
        return (
            f"{run}, **{verdict['variant']}**: faster than the book's setting in every "
            f"round for every model (median speed-ups {medians}); {effect}."
        )
    return (
        f"{run}, *{verdict['variant']}*: not faster than the book's setting in every "
        f"round (median speed-ups {medians})"
        + (f"; slower in every round for {slower}." if slower else ".")
    )


def verdicts(reports: dict[str, dict]) -> str:
    """Markdown: the variants faster than the book's setting in every round, then one
    sentence per variant and run."""
    winners = [
        f"{verdict['variant']} ({name})"
        for name, report in reports.items()
        for verdict in report["variants"]
        if verdict["faster_in_every_round"]
    ]
    return (
        "Faster than the book's setting in every round, for every model: "
        f"{', '.join(winners) or 'no variant'}.\n\n"
        + "\n".join(
            f"- {verdict_sentence(name, verdict)}"
            for name, report in reports.items()
            for verdict in report["variants"]
        )
    )


def chapter_times_table(
    reports: dict[str, dict], artifacts: Path = COMMITTED_ARTIFACTS
) -> Styler:
    """How long chapters 2-4 train in the full profile: training images over the
    benchmark's rate in the book's setting, beside each committed run's recorded time
    and device."""
    rows, kinds = {}, {}
    for model, chapter in CHAPTERS.items():
        row = {}
        for name, report in reports.items():
            row[f"estimate, {name}, minutes"] = full_run_minutes(
                book_setting(report)[model]
            )
            kinds[f"estimate, {name}, minutes"] = "minutes"
        run_file = artifacts / model / "seed-0" / RUN_FILE
        if run_file.is_file():
            facts = json.loads(run_file.read_text())
            row["committed run, minutes"] = facts["train_seconds"] / 60
            row["committed run on"] = (
                f"{facts['device']} ({facts['versions']['backend']}), "
                f"{facts['epochs_run']} epochs"
            )
            kinds |= {"committed run, minutes": "minutes", "committed run on": "prose"}
        rows[chapter] = row
    return tables.book_table(
        pd.DataFrame(rows).T.rename_axis("chapter"),
        kinds,
        f"Training time of chapters 2-4 in the full profile: up to "
        f"{PRESETS['book'].epochs} epochs of {PROFILES['full'].n_train:,} images, "
        f"{FULL_RUN_IMAGES:,} training images per model",
    )
