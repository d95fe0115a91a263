"""The files a run leaves in its folder, and JSON that survives NaN: read without Keras."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FILE = "model.keras"
HISTORY_FILE = "history.json"
METRICS_FILE = "metrics.json"
RUN_FILE = "run.json"
CONFIG_FILE = "config.json"


def to_json(value: Any) -> Any:
    """``value`` with numpy arrays and numbers as plain Python, and NaN as None (JSON null)."""
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
    """A JSON list of scores back as floats, null as NaN: the inverse of :func:`to_json` for one list."""
    return np.array([np.nan if value is None else value for value in values], dtype=float)


def write_json(path: Path, value: Any) -> None:
    """Write JSON atomically (NaN becomes null), so a crash never leaves half a file."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(to_json(value), indent=1))
    os.replace(temporary, path)


def read_json(path: Path) -> Any:
    """The JSON value in ``path``."""
    return json.loads(Path(path).read_text())
