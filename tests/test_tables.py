"""Specification of helpers.book.tables: one format per kind of figure, headers in
words, nothing that breaks across lines but prose."""

import pandas as pd
import pytest

from helpers.book import tables


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "parameters": [1234567, 89],
            "mean IoU": [0.97712, 0.8],
            "interval": [(0.9712, 0.9803), (0.79, 0.81)],
            "missed": [0.1141, float("nan")],
            "note": ["a sentence that may wrap", "another"],
        },
        index=pd.Index(["FCN-8s", "U-Net"], name="model"),
    )


KINDS = {
    "parameters": "count",
    "mean IoU": "score",
    "interval": "score",
    "missed": "share",
    "note": "prose",
}


def test_each_kind_of_figure_has_one_format():
    shown = tables.book_table(frame(), KINDS, "Test scores, seed 0").to_html()
    for text in ("1,234,567", "0.9771", "0.9712 to 0.9803", "11.4%", "0.8000"):
        assert text in shown
    assert ">-<" in shown  # a missing share


def test_names_numbers_and_ranges_never_break_but_prose_does():
    computed = tables.book_table(frame(), KINDS, "Test scores, seed 0")._compute()
    unbroken = {
        frame().columns[column]
        for (row, column), css in computed.ctx.items()
        if ("white-space", "nowrap") in css
    }
    assert unbroken == {"parameters", "mean IoU", "interval", "missed"}
    names = [css for css in computed.ctx_index.values()]
    assert names == [[("white-space", "nowrap")]] * 2


def test_the_table_carries_the_books_class_and_its_caption():
    html = tables.book_table(frame(), KINDS, "Test scores, seed 0").to_html()
    assert f'class="{tables.TABLE_CLASS}"' in html
    assert "<caption>Test scores, seed 0</caption>" in html


def test_a_median_with_its_range_reads_median_then_range():
    table = pd.DataFrame(
        {"latency, ms": [(12.34, 11.0, 13.96)]}, index=pd.Index(["U-Net"], name="model")
    )
    shown = tables.book_table(table, {"latency, ms": "milliseconds"}, "c").to_html()
    assert "12.3 (11.0 to 14.0)" in shown


def test_a_column_without_a_kind_is_refused_by_name():
    kinds = {key: value for key, value in KINDS.items() if key != "missed"}
    with pytest.raises(ValueError, match=r"\['missed'\]"):
        tables.book_table(frame(), kinds, "caption")


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown kinds"):
        tables.book_table(frame(), {**KINDS, "note": "essay"}, "caption")


def test_a_programs_name_as_header_is_refused():
    renamed = frame().rename(columns={"parameters": "flops_per_image"})
    kinds = {**KINDS, "flops_per_image": "count"}
    with pytest.raises(ValueError, match="flops_per_image"):
        tables.book_table(renamed, kinds, "caption")


def test_a_table_needs_a_caption():
    with pytest.raises(ValueError, match="caption"):
        tables.book_table(frame(), KINDS, " ")


def test_a_column_of_two_levels_takes_its_kind_by_its_label():
    table = pd.DataFrame(
        {("U-Net", "IoU"): [0.97712], ("U-Net", "Dice"): [0.98841]},
        index=pd.Index(["3"], name="class"),
    )
    shown = tables.book_table(table, dict.fromkeys(table.columns, "score"), "c")
    assert "0.9771" in shown.to_html() and "0.9884" in shown.to_html()


def test_row_labels_of_prose_may_wrap():
    table = pd.DataFrame(
        {"better here": ["V-Net"]},
        index=pd.Index(["A claim quoted in a whole long sentence"], name="claim"),
    )
    computed = tables.book_table(table, {"better here": "label"}, "c", index="prose")
    assert computed._compute().ctx_index == {}
