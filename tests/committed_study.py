"""The mark of the tests that hold the committed study (``artifacts/``), or what was
exported from it, to today's code while that study is older than the code."""

import pytest

RETRAINED_NEXT = pytest.mark.xfail(
    strict=True,
    reason="the committed study predates today's data (generator 4: all of MNIST, each "
    "split composed from MNIST's own split; its runs were made on generator 3) and "
    "today's recipe; it is retrained next (scripts/study.py, then "
    "scripts/export_demo.py). Strict: once it is retrained this test passes, which "
    "fails the suite until this mark is removed.",
)
