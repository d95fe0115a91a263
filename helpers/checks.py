"""Checks of the values a reader passes in, shared by every layer: one definition of
what counts as a whole number."""

from __future__ import annotations

from typing import Any

import numpy as np


def is_whole(value: Any, minimum: int | None = None) -> bool:
    """Whether ``value`` is an integer (Python or NumPy; not a bool, nor a float that
    happens to be whole), and at least ``minimum`` if one is given."""
    return (
        isinstance(value, (int, np.integer))
        and not isinstance(value, bool)
        and (minimum is None or value >= minimum)
    )


def are_whole(values: Any, count: int, minimum: int | None = None) -> bool:
    """Whether ``values`` is a sequence of exactly ``count`` whole numbers of at least
    ``minimum``."""
    return (
        np.ndim(values) == 1
        and len(values) == count
        and all(is_whole(value, minimum) for value in values)
    )
