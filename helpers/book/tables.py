"""One table style for the whole book: every table a page shows comes from
:func:`book_table`.

Each column is declared as one kind of figure (:data:`KINDS`), and each kind has one
format: counts with thousands separators, scores to four decimals (background IoUs
differ in the fourth), shares as percentages; a range is shown in the format of its
kind. Headers are words for the reader, never a program's names (a header with an
underscore is refused), and model names, numbers and ranges never break across lines,
so "FCN-8s" cannot wrap to "FCN-" and "8s". The caption says what the table shows:
which run and seed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

KINDS: dict[str, str | None] = {
    "count": "{:,.0f}",
    "score": "{:.4f}",
    "share": "{:.1%}",
    "seconds": "{:,.0f}",
    "minutes": "{:,.1f}",
    "gflops": "{:,.2f}",
    "per second": "{:,.1f}",
    "milliseconds": "{:,.1f}",
    "mebibytes": "{:,.0f}",
    "ratio": "{:.2f}",
    "label": None,
    "prose": None,
}
"""Each kind of figure and its one format. A cell may hold a pair ``(low, high)``,
shown "low to high", or a triple ``(median, low, high)``, shown "median (low to high)".
``label``: short words or a model name, shown as they are; ``prose``: a sentence, the
only kind that may wrap."""


def _formatter(template: str) -> Callable[[Any], str]:
    """Formats a number, a range or a median with its range by ``template``."""

    def shown(value: Any) -> str:
        if isinstance(value, tuple) and len(value) == 2:
            return f"{template.format(value[0])} to {template.format(value[1])}"
        if isinstance(value, tuple) and len(value) == 3:
            median, low, high = (template.format(part) for part in value)
            return f"{median} ({low} to {high})"
        return template.format(value)

    return shown


TABLE_CLASS = "book-table"
"""The HTML class of every table :func:`book_table` makes (the tests find the book's
tables by it)."""

NO_BREAK = "white-space: nowrap"
MISSING = "-"


def _words(label: Any) -> list[str]:
    """The parts of a column or index label: one, or one per level."""
    return [str(part) for part in label] if isinstance(label, tuple) else [str(label)]


def book_table(
    frame: pd.DataFrame,
    kinds: Mapping[Any, str],
    caption: str,
    index: str = "label",
) -> Styler:
    """``frame`` as the book shows a table: each column formatted by its kind in
    ``kinds`` (a key of :data:`KINDS` for every column label, a tuple for a column of
    several levels), under ``caption``. The row labels are names (``index="label"``,
    never broken) unless ``index="prose"`` lets long ones wrap.

    Raises ValueError naming a column without a kind, an unknown kind, or a header
    or index name that is a program's name rather than words.
    """
    if missing := [column for column in frame.columns if column not in kinds]:
        raise ValueError(f"no kind of figure given for the columns {missing}")
    if unknown := {kind for kind in kinds.values() if kind not in KINDS}:
        raise ValueError(f"unknown kinds {sorted(unknown)}; choose from {list(KINDS)}")
    names = [word for column in frame.columns for word in _words(column)] + [
        str(name) for name in frame.index.names if name is not None
    ]
    if machine := [name for name in names if "_" in name]:
        raise ValueError(f"headers must be words for the reader, got {machine}")
    if not caption.strip():
        raise ValueError("a table needs a caption that says what it shows")
    if index not in ("label", "prose"):
        raise ValueError(f"index must be 'label' or 'prose', got {index!r}")
    styler = frame.style.set_caption(caption).set_table_attributes(
        f'class="{TABLE_CLASS}"'
    )
    for column in frame.columns:
        if (template := KINDS[kinds[column]]) is not None:
            styler = styler.format(
                _formatter(template), subset=[column], na_rep=MISSING
            )
    unbroken = [column for column in frame.columns if kinds[column] != "prose"]
    if index == "label":
        styler = styler.map_index(lambda _: NO_BREAK, axis="index")
    return styler.map(lambda _: NO_BREAK, subset=unbroken)
