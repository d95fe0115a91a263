"""The book's trained models in the browser: their ONNX export, the same export run in
Python, and the page's data.

The demo page (``notebooks/demo.md``) runs the three committed models with
ONNX Runtime Web. ``scripts/export_demo.py`` converts each Keras model to ONNX
with ``tf2onnx`` into ``demo/models/`` and writes ``demo/book_data.json``: the
palette, the class names and three test images to start from. The functions
here run an exported model with ONNX Runtime for Python, so tests can check
that it labels pixels as Keras does.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from helpers import BACKGROUND, CLASS_NAMES, HEIGHT, NUM_CLASSES, WIDTH
from helpers.book.palette import PALETTE
from helpers.config import REPO_ROOT
from helpers.data.streaming import as_model_input
from helpers.nets.names import BOOK_MODELS, MODEL_LABELS

DEMO_DIR = REPO_ROOT / "demo"
BOOK_DATA = DEMO_DIR / "book_data.json"
INPUT_NAME = "image"
ONNX_OPSET = 17
SAMPLE_COUNT = 3


def onnx_path(model_name: str, folder: str | os.PathLike = DEMO_DIR / "models") -> Path:
    """Where the ONNX export of run ``model_name`` lives."""
    return Path(folder) / f"{model_name}.onnx"


def export_onnx(model: Any, path: str | os.PathLike) -> Path:
    """Convert a Keras segmentation model to ONNX at ``path``: input ``image`` float32
    ``(N, 64, 84, 1)``."""
    import tensorflow as tf
    import tf2onnx

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    signature = (tf.TensorSpec((None, HEIGHT, WIDTH, 1), tf.float32, name=INPUT_NAME),)
    tf2onnx.convert.from_keras(
        model, input_signature=signature, opset=ONNX_OPSET, output_path=str(path)
    )
    return path


def onnx_session(path: str | os.PathLike) -> Any:
    """An ONNX Runtime session for the model file at ``path``, with a clear error if it
    is missing or not a model."""
    import onnxruntime

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"ONNX model file not found: {path}; run scripts/export_demo.py"
        )
    try:
        return onnxruntime.InferenceSession(
            str(path), providers=["CPUExecutionProvider"]
        )
    except (
        Exception
    ) as error:  # ONNX Runtime raises its own error types for a damaged file
        raise ValueError(
            f"{path} is not an ONNX model ONNX Runtime can load: {error}"
        ) from error


def onnx_probabilities(session: Any, images: np.ndarray) -> np.ndarray:
    """Softmax output ``float32 (N, 64, 84, 11)`` of an exported model for grey images
    ``(N, 64, 84)``."""
    (probabilities,) = session.run(None, {INPUT_NAME: as_model_input(images)})
    return probabilities


def onnx_predict(session: Any, images: np.ndarray) -> np.ndarray:
    """Class maps ``uint8 (N, 64, 84)`` of an exported model for grey images ``(N, 64,
    84)``."""
    return onnx_probabilities(session, images).argmax(axis=-1).astype(np.uint8)


def sample_indices(masks: np.ndarray, count: int = SAMPLE_COUNT) -> list[int]:
    """The first images holding 3, 2, 3 ... different digits in turn: samples that show
    both kinds of image."""
    digit_classes = np.array(
        [len(set(np.unique(mask).tolist()) - {BACKGROUND}) for mask in masks]
    )
    wanted = [3 if turn % 2 == 0 else 2 for turn in range(count)]
    chosen: list[int] = []
    for classes in wanted:
        index = next(
            (
                int(i)
                for i in np.flatnonzero(digit_classes == classes)
                if i not in chosen
            ),
            None,
        )
        if index is None:
            raise ValueError(
                f"no further image with {classes} different digits among the "
                f"{len(masks)} given"
            )
        chosen.append(index)
    return chosen


def book_data(images: np.ndarray, masks: np.ndarray) -> dict[str, Any]:
    """What the page needs from the book: class names, palette, model names, sample
    images from a test split."""
    samples = []
    for index in sample_indices(masks):
        digits = sorted(set(np.unique(masks[index]).tolist()) - {BACKGROUND})
        pixels = base64.b64encode(images[index].astype(np.uint8).tobytes()).decode(
            "ascii"
        )
        samples.append({"index": index, "digits": digits, "pixels": pixels})
    return {
        "height": HEIGHT,
        "width": WIDTH,
        "background": BACKGROUND,
        "class_names": CLASS_NAMES,
        "palette": [_hex(colour) for colour in PALETTE],
        "models": {name: MODEL_LABELS[name] for name in BOOK_MODELS},
        "samples": samples,
    }


def write_book_data(data: dict[str, Any], path: str | os.PathLike = BOOK_DATA) -> Path:
    """Write the page's data as JSON; a sample's pixels are its 64x84 grey levels, row
    by row, in base64."""
    path = Path(path)
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def read_book_data(path: str | os.PathLike = BOOK_DATA) -> dict[str, Any]:
    """The page's data as written by :func:`write_book_data`."""
    return json.loads(Path(path).read_text())


def sample_images(data: dict[str, Any]) -> np.ndarray:
    """The page's sample images as ``uint8 (N, 64, 84)``."""
    pixels = [
        np.frombuffer(base64.b64decode(sample["pixels"]), np.uint8)
        for sample in data["samples"]
    ]
    return np.stack(pixels).reshape(-1, data["height"], data["width"])


def palette_rgb(data: dict[str, Any]) -> np.ndarray:
    """The page's palette as ``uint8 (11, 3)`` RGB rows, class by class."""
    rgb = [
        [int(colour[i : i + 2], 16) for i in (1, 3, 5)] for colour in data["palette"]
    ]
    if len(rgb) != NUM_CLASSES:
        raise ValueError(
            f"the page's palette has {len(rgb)} colours, expected {NUM_CLASSES}"
        )
    return np.array(rgb, dtype=np.uint8)


def _hex(colour: tuple[float, float, float]) -> str:
    """An RGB colour with channels 0..1 as ``#RRGGBB``."""
    return "#" + "".join(f"{round(channel * 255):02X}" for channel in colour)
