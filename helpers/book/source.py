"""Show the book's own code on its pages: the real source of a function or class,
highlighted."""

from __future__ import annotations

import inspect
from collections.abc import Callable

from IPython.display import Code


def show_source(*objects: Callable | type) -> Code:
    """The source code of ``objects`` as they stand in ``helpers``, one after the other.

    A chapter shows the network it teaches with this instead of a pasted copy,
    so the page and the code that trains can never disagree. The result
    renders as highlighted code in Jupyter, Colab and the HTML book, and as
    plain text elsewhere.
    """
    if not objects:
        raise ValueError("show_source needs at least one function or class")
    return Code(
        "\n\n".join(inspect.getsource(obj).rstrip() for obj in objects),
        language="python",
    )
