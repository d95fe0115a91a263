"""The size of the book's figures: the text column they fit, and the size of their
text, shared by every figure module so that all figures read alike.

Imported in a notebook, it also makes the figures sharp on high-density screens
(:func:`sharp_figures`).
"""

from __future__ import annotations

from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath

PAGE_WIDTH_IN = 7.3
"""Width of the book's text column in inches: 730 CSS px at the inline backend's 100
dpi.

The HTML pages (sphinx-book-theme) show a notebook's PNG at its natural size,
shrunk to this width when wider, and the text in it shrinks with it.
"""

FIGURE_WIDTH_IN = PAGE_WIDTH_IN - 0.2
"""Widest figure the page shows unshrunk, in inches.

Saving with ``bbox_inches="tight"`` (as the inline backend does) pads a figure by
``savefig.pad_inches``, 0.1 in, on each side.
"""

TEXT_PT = 9
"""Font size in points of the smallest text of the book's figures.

Panel titles, legends and annotations use it. The figures are drawn at most
:data:`FIGURE_WIDTH_IN` wide, so the page shows them at this size; axis labels
and tick labels keep Matplotlib's 10 pt. """


LABEL_PT = 10
"""Font size in points of axis labels, tick labels and the numbers in worked examples:
Matplotlib's default."""


def text_width_pt(text: str, fontsize: float = TEXT_PT) -> float:
    """Width in points of ``text`` (its widest line) in Matplotlib's default font.

    Measured from the glyphs' outlines, without drawing a figure.
    """
    font = FontProperties(size=fontsize)
    return max(
        TextToPath().get_text_width_height_descent(line, font, ismath=False)[0]
        for line in text.split("\n")
    )


def sharp_figures() -> None:
    """In a notebook, draw figures as PNGs of twice the pixels that the page shows at
    their size in inches (Jupyter's "retina" format), so that strokes and text stay
    sharp on high-density screens; elsewhere, nothing."""
    from IPython import get_ipython

    if get_ipython() is None:
        return
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("retina")


sharp_figures()
