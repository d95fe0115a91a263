"""One table style for the whole book: every table a page shows comes from
:func:`book_table`.

Each column is declared as one kind of figure (:data:`KINDS`), and each kind has one
format: counts with thousands separators, scores to four decimals (background IoUs
differ in the fourth), shares as percentages, ranges of two scores. Headers are words
for the reader, never a program's names (a header with an underscore is refused), and
model names, numbers and ranges never break across lines, so "FCN-8s" cannot wrap to
"FCN-" and "8s". The caption says what the table shows: which run and seed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

SCORE = "{:.4f}"


def _score_range(value: Any) -> str:
    low, high = value
    return f"{SCORE.format(low)} to {SCORE.format(high)}"


KINDS: dict[str, str | Callable[[Any], str] | None] = {
    "count": "{:,.0f}",
    "score": SCORE,
    "score range": _score_range,
    "share": "{:.1%}",
    "seconds": "{:,.0f}",
    "gflops": "{:,.2f}",
    "ratio": "{:.2f}",
    "label": None,
    "prose": None,
}
"""Each kind of figure and its one format. ``label``: short words or a model name,
shown as they are; ``prose``: a sentence, the only kind that may wrap."""

TABLE_CLASS = "book-table"
"""The HTML class of every table :func:`book_table` makes (the tests find the book's
tables by it)."""

NO_BREAK = "white-space: nowrap"
MISSING = "-"


def book_table(frame: pd.DataFrame, kinds: Mapping[str, str], caption: str) -> Styler:
    """``frame`` as the book shows a table: each column formatted by its kind in
    ``kinds`` (a key of :data:`KINDS` for every column), under ``caption``.

    Raises ValueError naming a column without a kind, an unknown kind, or a header
    or index name that is a program's name rather than words.
    """
    columns = [str(column) for column in frame.columns]
    if missing := [column for column in columns if column not in kinds]:
        raise ValueError(f"no kind of figure given for the columns {missing}")
    if unknown := {kind for kind in kinds.values() if kind not in KINDS}:
        raise ValueError(f"unknown kinds {sorted(unknown)}; choose from {list(KINDS)}")
    names = columns + [str(name) for name in frame.index.names if name is not None]
    if machine := [name for name in names if "_" in name]:
        raise ValueError(f"headers must be words for the reader, got {machine}")
    if not caption.strip():
        raise ValueError("a table needs a caption that says what it shows")
    styler = frame.style.set_caption(caption).set_table_attributes(
        f'class="{TABLE_CLASS}"'
    )
    for column in frame.columns:
        if (shown := KINDS[kinds[str(column)]]) is not None:
            styler = styler.format(shown, subset=[column], na_rep=MISSING)
    unbroken = [column for column in frame.columns if kinds[str(column)] != "prose"]
    return styler.map_index(lambda _: NO_BREAK, axis="index").map(
        lambda _: NO_BREAK, subset=unbroken
    )
