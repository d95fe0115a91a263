"""What readers see: the committed chapter pages report findings, with the numbers of
the committed runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from helpers.book.tables import TABLE_CLASS
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


TOOL_TEXT = re.compile(
    r"WARNING|Warning:|retracing"  # warnings of the tools, not findings
    r"|(?<![\w:/.~])/(?:[\w.-]+/)+[\w.-]+"  # an absolute path of the machine that ran it
    r"|~/\.cache|site-packages"  # a user's cache, an installed package
)
TOOL_TEXT_LEFT = {
    "02_fcn": "its exercise prints TensorFlow's retracing warning",
    "03_unet": "its exercise prints a quick-profile training log with a cache path",
}


def code_cell_texts(notebook: Path) -> list[str]:
    """The source and the printed outputs of every code cell of ``notebook``."""
    texts = []
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        texts.append(cell.source)
        for output in cell.get("outputs", []):
            texts.append(output.get("text", ""))
            texts.append(output.get("data", {}).get("text/plain", ""))
    return texts


def test_no_page_shows_a_test_marker():
    """nbval's markers go in a cell's tags, which the page does not show."""
    for notebook in NOTEBOOKS:
        assert not any("NBVAL" in text for text in code_cell_texts(notebook)), (
            notebook.name
        )


def until_executed_again(left: dict[str, str]) -> list:
    """The chapters, those in ``left`` marked as strict expected failures with the
    reason it gives: they pass once executed again with the retrained study."""
    return [
        pytest.param(
            notebook,
            marks=pytest.mark.xfail(
                strict=True,
                reason=f"{left[notebook.stem]}; the chapter is executed again with the "
                "retrained study",
            ),
        )
        if notebook.stem in left
        else notebook
        for notebook in NOTEBOOKS
    ]


@pytest.mark.parametrize(
    "notebook", until_executed_again(TOOL_TEXT_LEFT), ids=lambda notebook: notebook.stem
)
def test_no_page_shows_tool_warnings_or_machine_paths(notebook: Path):
    found = [
        match.group(0)
        for text in code_cell_texts(notebook)
        for match in TOOL_TEXT.finditer(text)
    ]
    assert not found, f"{notebook.name}: {found[:5]}"


TABLES_LEFT = {
    "02_fcn": "its tables were drawn before the book's one table style",
    "03_unet": "its tables were drawn before the book's one table style",
    "04_vnet": "its tables were drawn before the book's one table style",
}


def shown_tables(notebook: Path) -> list[str]:
    """The HTML of every table in the committed outputs of ``notebook``."""
    return [
        table
        for cell in nbformat.read(notebook, as_version=4).cells
        for output in cell.get("outputs", [])
        for table in re.findall(
            r"<table.*?</table>", output.get("data", {}).get("text/html", ""), re.S
        )
    ]


@pytest.mark.parametrize(
    "notebook", until_executed_again(TABLES_LEFT), ids=lambda notebook: notebook.stem
)
def test_every_table_on_a_page_has_the_books_style(notebook: Path):
    """One style: each table comes from helpers.book.tables.book_table, which marks it
    with its class, and has a caption."""
    found = shown_tables(notebook)
    assert found
    unstyled = [
        table[:120]
        for table in found
        if f'class="{TABLE_CLASS}"' not in table or "<caption>" not in table
    ]
    assert unstyled == [], f"{notebook.name}: {unstyled[:3]}"
