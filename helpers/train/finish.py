"""Finishing a run: keep the best (or last) weights, save the model, and score it on
the test split; ``run.json`` is written last, so a run killed before it is finished
again, never trained again."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from helpers.config import display_path
from helpers.data.compose import Split
from helpers.evaluate import metrics
from helpers.evaluate.inference import MODEL_FILE, predict, score_predictions
from helpers.nets.registry import build_model, count_flops
from helpers.train.artifacts import (
    CONFUSIONS_FILE,
    HISTORY_FILE,
    METRICS_FILE,
    RUN_FILE,
    read_json,
    write_confusions,
    write_json,
)
from helpers.train.machine import describe_device, dtype_policy, versions
from helpers.train.recipe import TrainSettings
from helpers.train.resume import (
    BEST_WEIGHTS,
    HISTORY_LOG,
    TrainResult,
    remove_training_state,
)
from helpers.train.runs import read_history_log


def _inference_rate(model: keras.Model, images: np.ndarray, batch_size: int) -> float:
    """Images per second of :func:`predict` on ``images``, after one warm-up pass."""
    predict(model, images[:batch_size], batch_size)
    start = time.perf_counter()
    predict(model, images, batch_size)
    return len(images) / (time.perf_counter() - start)


def finish_run(
    model: keras.Model,
    config: dict[str, Any],
    test: Split,
    run_dir: Path,
    settings: TrainSettings,
) -> TrainResult:
    """Keep the best-validation (or last) weights, then save the model, history, test
    scores and the run's facts."""
    if settings.keep_best and (run_dir / BEST_WEIGHTS).exists():
        model.load_weights(run_dir / BEST_WEIGHTS)
    history = read_history_log(run_dir / HISTORY_LOG)
    with dtype_policy(
        settings.mixed_precision
    ):  # saved without optimizer state: a third of the size
        inference_model = build_model(config["model"], **config["model_kwargs"])
    inference_model.set_weights(model.get_weights())
    inference_model.save(run_dir / MODEL_FILE)
    write_json(run_dir / HISTORY_FILE, history)
    predicted = predict(model, test.images, settings.batch_size)
    write_json(run_dir / METRICS_FILE, score_predictions(test.masks, predicted))
    write_confusions(
        run_dir / CONFUSIONS_FILE, metrics.per_image_confusions(test.masks, predicted)
    )
    # The best weights were loaded above if and only if this holds.
    kept_best = settings.keep_best and (run_dir / BEST_WEIGHTS).exists()
    facts = _run_facts(model, config, history, test, settings, kept_best)
    write_json(
        run_dir / RUN_FILE, facts
    )  # last: a run killed before this line is finished again, not retrained
    remove_training_state(run_dir)
    if facts["diverged"]:
        print(_diverged_message(history.get("val_loss", []), facts["kept_epoch"]))
    print(
        "Test mean IoU over the digits: "
        f"{read_json(run_dir / METRICS_FILE)['mean_iou_digits']:.4f}; "
        f"artifacts in {display_path(run_dir)}"
    )
    return TrainResult(model, history, facts, run_dir)


def _best_epoch(val_losses: list[float]) -> int | None:
    """The epoch (from 1) of the lowest finite validation loss, the first of equals, as
    the best-weights checkpoint keeps it; None if no epoch's loss is finite."""
    finite = np.isfinite(np.asarray(val_losses, dtype=float))
    if not finite.any():
        return None
    return int(np.argmin(np.where(finite, val_losses, np.inf))) + 1


def _diverged_message(val_losses: list[float], kept_epoch: int) -> str:
    """What a diverged run prints: which epochs' validation loss is not finite."""
    where = (
        "at every epoch"
        if _best_epoch(val_losses) is None
        else f"at epoch {kept_epoch}, whose weights it keeps"
    )
    return (
        f"The run diverged: its validation loss is not finite {where}; its test "
        "scores are those of broken weights (try a lower learning rate)."
    )


def _run_facts(
    model: keras.Model,
    config: dict[str, Any],
    history: dict[str, list[float]],
    test: Split,
    settings: TrainSettings,
    kept_best: bool,
) -> dict[str, Any]:
    """What a finished run records beside its scores: epochs, time, the kept epoch,
    size, speed, device, versions.

    ``kept_best``: whether the model holds the best-validation weights (else those
    of the last epoch, also when ``keep_best`` found no best weights saved).
    ``best_epoch`` is that of the lowest finite validation loss (None if there is
    none); ``diverged``: the kept epoch's validation loss is not finite (NaN),
    so the scores are those of broken weights.
    """
    epoch_seconds = history.get("epoch_seconds", [])
    val_losses = history.get("val_loss", [])
    best_epoch = _best_epoch(val_losses)
    kept_epoch = best_epoch if kept_best and best_epoch else len(epoch_seconds)
    return {
        "config": config,
        "epochs_run": len(epoch_seconds),
        "train_seconds": float(sum(epoch_seconds)),
        "seconds_per_epoch": float(np.median(epoch_seconds)) if epoch_seconds else None,
        "best_epoch": best_epoch,
        "kept_epoch": kept_epoch,
        "diverged": bool(val_losses)
        and not bool(np.isfinite(val_losses[kept_epoch - 1])),
        "parameters": model.count_params(),
        "flops_per_image": count_flops(model),
        "inference_images_per_second": _inference_rate(
            model, test.images, settings.batch_size
        ),
        "device": describe_device(),
        "versions": versions(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
