"""Using a trained model: load it, predict class maps, and score it on a split."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import keras
import numpy as np

from helpers.data.compose import Split
from helpers.data.streaming import as_model_input
from helpers.evaluate import metrics

MODEL_FILE = "model.keras"
"""The trained model in a run's folder."""


def load_model(path: str | os.PathLike) -> keras.Model:
    """Load a saved ``.keras`` model (inference only), with a clear error if it is
    missing or not a model."""
    path = Path(path)
    if path.is_dir():
        path = path / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    try:
        return keras.saving.load_model(path, compile=False)
    except (
        Exception
    ) as error:  # Keras raises several types for a file that is not a model
        raise ValueError(f"{path} is not a Keras model file: {error}") from error


def predict(
    model: keras.Model | str | os.PathLike, images: np.ndarray, batch_size: int = 64
) -> np.ndarray:
    """Class maps ``uint8 (N, 64, 84)`` for grey images ``(N, 64, 84)``.

    The last batch is filled up with blank images, so that every batch has one
    shape and the compiled predict step is traced once per model.
    """
    if not isinstance(model, keras.Model):
        model = load_model(model)
    inputs = as_model_input(images)
    batch_size = min(batch_size, len(inputs))
    blank_images = np.zeros(
        (-len(inputs) % batch_size, *inputs.shape[1:]), inputs.dtype
    )
    probabilities = model.predict(
        np.concatenate([inputs, blank_images]), batch_size=batch_size, verbose=0
    )
    return probabilities[: len(inputs)].argmax(axis=-1).astype(np.uint8)


def evaluate(
    model: keras.Model | str | os.PathLike, split: Split, batch_size: int = 64
) -> dict[str, Any]:
    """Metrics of a model on a split: :func:`score_predictions` of its predicted class
    maps."""
    if not isinstance(model, keras.Model):
        model = load_model(model)
    if len(split) == 0:
        raise ValueError("evaluate: the split is empty")
    return score_predictions(split.masks, predict(model, split.images, batch_size))


def score_predictions(
    masks: np.ndarray, predictions: np.ndarray, chunk: int = 256
) -> dict[str, Any]:
    """The scores a run saves: dataset-level, the confusion matrix, per-image averages,
    the number of images.

    The dataset-level scores of :func:`helpers.evaluate.metrics.scores_from_confusion`
    come from one confusion matrix over all images (accumulated in chunks);
    ``per_image`` holds the per-image averages the original project reported.
    """
    accumulator = metrics.ConfusionAccumulator()
    for start in range(0, len(masks), chunk):
        accumulator.update(
            masks[start : start + chunk], predictions[start : start + chunk]
        )
    scores = accumulator.scores()
    scores["confusion_matrix"] = accumulator.matrix
    scores["per_image"] = metrics.per_image_scores(masks, predictions)
    scores["images"] = len(masks)
    return scores
