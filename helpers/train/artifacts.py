"""The files a run leaves in its folder, JSON that survives NaN, and the per-image
confusions: read without Keras."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from helpers import NUM_CLASSES

HISTORY_FILE = "history.json"
METRICS_FILE = "metrics.json"
RUN_FILE = "run.json"
CONFIG_FILE = "config.json"
CONFUSIONS_FILE = "test_confusions.npz"
_CONFUSIONS_KEY = "confusions"


def to_json(value: Any) -> Any:
    """``value`` with numpy arrays and numbers as plain Python, and NaN as None (JSON
    null)."""
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if isinstance(value, np.ndarray):
        return to_json(value.tolist())
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def nan_for_null(values: list) -> np.ndarray:
    """A JSON list of scores back as floats, null as NaN: the inverse of :func:`to_json`
    for one list."""
    return np.array(
        [np.nan if value is None else value for value in values], dtype=float
    )


def write_json(path: Path, value: Any) -> None:
    """Write JSON atomically (NaN becomes null), so a crash never leaves half a file."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(to_json(value), indent=1))
    os.replace(temporary, path)


def read_json(path: Path) -> Any:
    """The JSON value in ``path``."""
    return json.loads(Path(path).read_text())


def _check_confusions(confusions: np.ndarray, source: str) -> np.ndarray:
    """``confusions`` if it holds integer counts of shape ``(N, 11, 11)``; otherwise an
    error naming ``source``."""
    shape_ok = confusions.ndim == 3 and confusions.shape[1:] == (
        NUM_CLASSES,
        NUM_CLASSES,
    )
    if not shape_ok or not np.issubdtype(confusions.dtype, np.integer):
        raise ValueError(
            f"{source}: expected per-image confusion matrices, integers of shape (N, "
            f"{NUM_CLASSES}, {NUM_CLASSES}), "
            f"got {confusions.dtype} of shape {confusions.shape}"
        )
    return confusions


def write_confusions(path: Path, confusions: np.ndarray) -> None:
    """Write per-image confusion matrices ``(N, 11, 11)`` to a compressed ``.npz``,
    atomically."""
    path = Path(path)
    confusions = _check_confusions(np.asarray(confusions), f"confusions for {path}")
    temporary = path.with_suffix(path.suffix + ".tmp")
    with temporary.open("wb") as file:
        np.savez_compressed(file, **{_CONFUSIONS_KEY: confusions})
    os.replace(temporary, path)


def read_confusions(path: Path) -> np.ndarray:
    """The per-image confusion matrices ``(N, 11, 11)`` that :func:`write_confusions`
    wrote to ``path``."""
    with np.load(path) as stored:
        if _CONFUSIONS_KEY not in stored:
            raise ValueError(
                f"{path}: no array named {_CONFUSIONS_KEY!r}, found "
                f"{', '.join(stored.files) or 'none'}"
            )
        return _check_confusions(stored[_CONFUSIONS_KEY], str(path))
