"""The original project's claims about V-Net against U-Net, checked on the book's runs
and benchmark: its README's claims one by one, and its two models at its own budgets.
"""

from __future__ import annotations

import pandas as pd

from helpers.book import original_project, speed_report
from helpers.book.results import (
    gain,
    gain_sentence,
    is_far_below,
    median_seed,
    ranking_sentences,
)
from helpers.train.runs import Run


def claims_table(runs: dict[str, Run], benchmark: dict) -> pd.DataFrame:
    """Each claim of the original README about V-Net against U-Net, its evidence there,
    and our measurement.

    ``benchmark`` is a result file of ``benchmarks/speed.py``: its rows in the
    book's training setting give each model's training rate, round by round, and its
    peak memory, measured in a process of its own. Speed comes from the benchmark
    only, so that this table and the appendix agree.
    """
    unet, vnet = runs["unet"], runs["vnet"]
    original = {
        name: original_project.mean_digit_iou(name) for name in ("unet", "vnet")
    }
    book = speed_report.book_setting(benchmark)
    memory = {
        name: book[name]["peak_memory_bytes"] / 2**20 for name in ("unet", "vnet")
    }
    rates = {name: book[name]["train_images_per_second"] for name in ("unet", "vnet")}
    rounds = len(rates["unet"]["values"])
    vnet_faster = sum(
        vnet > unet
        for unet, vnet in zip(
            rates["unet"]["values"], rates["vnet"]["values"], strict=True
        )
    )
    printed = original_project.PER_CLASS

    def leader(
        unet_value: float, vnet_value: float, higher_is_better: bool = True
    ) -> str:
        return "V-Net" if (vnet_value > unet_value) == higher_is_better else "U-Net"

    rows = [
        (
            original_project.CLAIMS["better"],
            f"mean test IoU over digits: V-Net {original['vnet']:.4f}, "
            f"U-Net {original['unet']:.4f}, V-Net with 3x the epochs",
            "mean digit IoU, dataset-level: U-Net "
            f"{unet.metrics['mean_iou_digits']:.4f}, "
            f"V-Net {vnet.metrics['mean_iou_digits']:.4f}; "
            f"per-image: U-Net {unet.metrics['per_image']['mean_iou_digits']:.4f}, "
            f"V-Net {vnet.metrics['per_image']['mean_iou_digits']:.4f}",
            leader(unet.metrics["mean_iou_digits"], vnet.metrics["mean_iou_digits"]),
        ),
        (
            original_project.CLAIMS["digit 1"],
            "two predicted images; test IoU of digit 1: V-Net "
            f"{printed['vnet']['test IoU'][1]:.4f}, "
            f"U-Net {printed['unet']['test IoU'][1]:.4f}",
            f"IoU of digit 1, dataset-level: U-Net {unet.metrics['iou'][1]:.4f}, "
            f"V-Net {vnet.metrics['iou'][1]:.4f}; per-image: U-Net "
            f"{unet.metrics['per_image']['iou'][1]:.4f}, "
            f"V-Net {vnet.metrics['per_image']['iou'][1]:.4f}",
            leader(unet.metrics["iou"][1], vnet.metrics["iou"][1]),
        ),
        (
            original_project.CLAIMS["faster"],
            "none; its own log shows {} s per epoch for U-Net and {} s for V-Net on "
            "{}".format(
                *original_project.SETUP["seconds per epoch after the first"],
                original_project.GPU,
            ),
            f"training images per second, benchmark on {benchmark['machine']['device']}"
            f", median of {rounds} rounds: U-Net "
            f"{rates['unet']['median']:.1f}, V-Net {rates['vnet']['median']:.1f}; "
            f"V-Net faster in {vnet_faster} of {rounds} rounds",
            leader(rates["unet"]["median"], rates["vnet"]["median"]),
        ),
        (
            original_project.CLAIMS["memory"],
            "none measured",
            f"peak memory while training on {benchmark['machine']['device']}: U-Net "
            f"{memory['unet']:,.0f} MiB, "
            f"V-Net {memory['vnet']:,.0f} MiB",
            leader(memory["unet"], memory["vnet"], higher_is_better=False),
        ),
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "claim (README)",
            "original's evidence",
            "our runs, one recipe",
            "better here",
        ],
    ).set_index("claim (README)")


def original_budgets_verdict(study: dict[str, list[Run]]) -> str:
    """Markdown: U-Net against V-Net at equal budgets over their seeds, then at the
    original project's budgets, one run each, and what the latter can say.

    A run at the original budget that is far below its model's median seed at the
    book's budget is named as failed: its difference says nothing about the
    architectures.
    """
    unet, vnet = study["unet-original-budget"][0], study["vnet-original-budget"][0]
    difference = gain(unet, vnet)
    if difference.low > 0:
        verdict = "V-Net scores higher, as in the original project"
    elif difference.high < 0:
        verdict = "U-Net scores higher, the reverse of the original project's finding"
    else:
        verdict = "the two runs do not differ beyond what the test images explain"
    failed = []
    for run in (unet, vnet):
        if is_far_below(run, study[run.model]):
            typical = median_seed(study[run.model])
            failed.append(
                f"{run.label} is a failed run: {run.metrics['mean_iou_digits']:.4f} "
                f"against {typical.metrics['mean_iou_digits']:.4f} for the median seed "
                "at the book's budget, so the difference says nothing about the "
                "architectures."
            )
    [equal] = ranking_sentences(study, ("unet", "vnet"))
    return "\n".join(
        [
            f"* **At equal budgets**, over their seeds: {equal}",
            f"* **At the original budgets**, one run each: {gain_sentence(unet, vnet)} "
            f"At these budgets {verdict}. " + " ".join(failed),
        ]
    )
