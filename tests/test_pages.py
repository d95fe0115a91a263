"""What readers see: the committed chapter pages report findings, with the numbers of
the committed runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from helpers.config import COMMITTED_ARTIFACTS, REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("0*.ipynb"))
PAGES = [REPO_ROOT / "intro.md", REPO_ROOT / "references.md"]
SELF_GRADING = re.compile(r"\b(brief|goals?|targets?)\b", re.IGNORECASE)
CHAPTER_RUNS = {"02_fcn": "fcn8s", "03_unet": "unet", "04_vnet": "vnet"}


def reader_text(notebook: Path) -> str:
    """Markdown cells and every text a reader sees in the committed outputs."""
    texts = []
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type == "markdown":
            texts.append(cell.source)
        for output in cell.get("outputs", []):
            texts.append(output.get("text", ""))
            texts += [
                output.get("data", {}).get(kind, "")
                for kind in ("text/plain", "text/markdown", "text/html")
            ]
    return "\n".join(texts)


@pytest.mark.parametrize("page", NOTEBOOKS + PAGES, ids=lambda path: path.stem)
def test_pages_do_not_grade_the_book(page: Path) -> None:
    text = reader_text(page) if page.suffix == ".ipynb" else page.read_text()
    assert not SELF_GRADING.findall(text)


def test_the_word_check_finds_self_grading() -> None:
    assert SELF_GRADING.search("All of the book's goals are met.")


@pytest.mark.parametrize(("chapter", "run"), CHAPTER_RUNS.items())
def test_a_chapter_shows_the_score_its_run_saved(chapter: str, run: str) -> None:
    """Chapters 2-4 and chapter 5 read one metrics file, so they show the same
    numbers."""
    saved = json.loads(
        (COMMITTED_ARTIFACTS / run / "seed-0" / "metrics.json").read_text()
    )
    shown = re.search(
        r"mean IoU over the digits: (\d\.\d{4})",
        reader_text(REPO_ROOT / "notebooks" / f"{chapter}.ipynb"),
    )
    assert shown and shown.group(1) == f"{saved['mean_iou_digits']:.4f}"
