"""What the architecture chapters (2-4) do alike: one call for each step they share."""

from __future__ import annotations

from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

from helpers import (
    BACKGROUND,
    data,
    inference,
    metrics,
    models,
    plotting,
    results,
    study,
    training,
)
from helpers.config import COMMITTED_ARTIFACTS, Profile, artifacts_dir
from helpers.settings import TrainSettings


def describe_setup(profile: Profile, settings: TrainSettings | None = None) -> None:
    """Prints what a chapter's run trains on and how long: the profile's data and the
    recipe's epochs."""
    settings = settings or training.DEFAULT_SETTINGS
    images = "fresh compositions" if settings.fresh_images else "a fixed set"
    print(
        f"profile: {profile.name}; training images: {profile.n_train:,} an epoch "
        f"({images}); "
        f"validation: {profile.n_val:,}; test: {profile.n_test:,}; epochs: "
        f"{profile.epochs_of(settings.epochs)}"
    )


def budget_table(model: keras.Model) -> Styler:
    """Prints ``model``'s size in layers, and returns parameters and FLOPs per image of
    every model at its defaults."""
    print(
        f"{model.name}: {len(model.layers)} layers, input {model.input.shape[1:]}, "
        f"output {model.output.shape[1:]}"
    )
    table = pd.DataFrame(
        models.model_summary_table(
            models.build_model(name) for name in models.MODEL_BUILDERS
        )
    )
    return (
        table.set_index("model")
        .style.format("{:,}")
        .set_caption("Size and cost of every model of the book, at its defaults")
    )


def train_and_report(
    model_name: str, profile: Profile, seed: int = 0
) -> tuple[training.TrainResult, data.Dataset]:
    """Train ``model_name`` in ``profile`` with the book's recipe and ``seed`` (or load
    its finished run); print time and epochs.

    The book's data and recipe in the full profile are those of the study's main runs,
    so this loads that seed of the committed study run.
    """
    result = training.train(
        model_name, settings=training.DEFAULT_SETTINGS, profile=profile, seed=seed
    )
    dataset = data.load_m2nist().for_profile(profile)
    facts = result.facts
    print(
        f"epochs run: {facts['epochs_run']}; training time: "
        f"{facts['train_seconds']:.0f} s on {facts['device']}; "
        f"lowest validation loss after epoch {facts['best_epoch']}, whose weights the "
        "model keeps"
    )
    return result, dataset


def test_scores(result: training.TrainResult) -> Styler:
    """Prints the headline test scores the run saved (as chapter 5 shows them) and
    returns its per-class table."""
    scores = results.load_run(result.run_dir).metrics
    per_class = pd.DataFrame(metrics.scores_table(scores)).set_index("class")
    weakest_digit = per_class.drop(index="background")["IoU"].idxmin()
    print(
        f"mean IoU over the digits: {scores['mean_iou_digits']:.4f} "
        f"(per-image average: {scores['per_image']['mean_iou_digits']:.4f})"
    )
    print(f"IoU of the background:    {scores['iou'][BACKGROUND]:.4f}")
    print(f"pixel accuracy:           {scores['pixel_accuracy']:.4f}")
    print(
        f"weakest digit: {weakest_digit} (IoU "
        f"{per_class.loc[weakest_digit, 'IoU']:.4f})"
    )
    seed = result.facts["config"]["seed"]
    return per_class.style.format("{:.4f}").set_caption(
        f"{result.model.name}: test scores per class, seed {seed}"
    )


def show_test_predictions(
    result: training.TrainResult, test: data.Split, n: int = 4
) -> np.ndarray:
    """Draws ``n`` random test images and the ``n`` worst with their predictions;
    returns every image's mean IoU.

    An image's score is its mean IoU over the digits in its true or predicted
    mask (:func:`helpers.metrics.per_image_mean_iou`), which ranks the images.
    """
    predicted = inference.predict(result.model, test.images)
    image_scores = metrics.per_image_mean_iou(test.masks, predicted)
    print(
        f"per-image mean IoU over digits: median {np.nanmedian(image_scores):.3f}, "
        f"{np.sum(image_scores < 0.9)} of {len(test)} test images below 0.9"
    )
    shown = {
        "random test images": np.random.default_rng(0).choice(
            len(test), size=n, replace=False
        ),
        f"the {n} worst test images": np.argsort(image_scores)[:n],
    }
    for caption, indices in shown.items():
        fig = plotting.sample_grid(
            test.images[indices],
            test.masks[indices],
            n=n,
            preds=predicted[indices],
            titles=[
                f"test #{index}: mean IoU {image_scores[index]:.2f}"
                for index in indices
            ],
            pred_label=f"{result.model.name} prediction",
        )
        fig.suptitle(f"{result.model.name}: {caption}")
        plt.show()
    return image_scores


def seed_report(run_name: str, folder: Path = COMMITTED_ARTIFACTS) -> Styler:
    """Draws the learning curves of every committed seed of ``run_name``, prints how far
    the seeds' scores spread and how sure their mean is, names any seed far below the
    median (:func:`helpers.results.failed_seeds`), and returns one row per seed.

    One run is one draw of the initial weights and of the training images; the
    seeds show how much of a score is that draw (chapter 5 compares models with
    the same numbers, :func:`helpers.results.seed_table`).
    """
    runs = results.load_study(folder)[run_name]
    plotting.learning_curves({f"seed {run.seed}": run.history for run in runs})
    plt.show()
    summary = results.seed_table({run_name: runs}).iloc[0]
    percent = results.INTERVAL_PERCENT
    low, high = summary[f"{percent} low"], summary[f"{percent} high"]
    print(
        f"{len(runs)} seeds: mean IoU over the digits {summary['mean']:.4f}, from "
        f"{summary['min']:.4f} to {summary['max']:.4f} (spread "
        f"{summary['max'] - summary['min']:.4f}); {percent} interval of the "
        f"mean over seeds and test images [{low:.4f}, {high:.4f}]"
    )
    typical = results.median_seed(runs)
    for run in results.failed_seeds(runs):
        print(
            f"seed {run.seed} is far below the median seed {typical.seed}: mean "
            f"IoU over the digits {run.metrics['mean_iou_digits']:.4f} against "
            f"{typical.metrics['mean_iou_digits']:.4f}, background IoU "
            f"{run.metrics['iou'][BACKGROUND]:.4f}"
        )
    table = pd.DataFrame(
        [
            {
                "seed": run.seed,
                "mean IoU (digits)": run.metrics["mean_iou_digits"],
                "background IoU": run.metrics["iou"][BACKGROUND],
                "kept epoch": run.facts["kept_epoch"],
            }
            for run in runs
        ]
    ).set_index("seed")
    return table.style.format(
        {"mean IoU (digits)": "{:.4f}", "background IoU": "{:.4f}"}
    ).set_caption(f"{runs[0].label}: test scores of each seed")


def typical_run(model_name: str, profile: Profile) -> training.TrainResult:
    """The run of the committed study's median seed of ``model_name``
    (:func:`helpers.results.median_seed`), loaded (or, in the quick profile, trained);
    prints which seed it is.

    The prediction figures show this run: a typical seed, neither the best nor a
    failed one.
    """
    seed = results.median_seed(results.load_study()[model_name]).seed
    print(f"the median seed of the committed {model_name} runs: seed {seed}")
    return training.train(
        model_name, settings=training.DEFAULT_SETTINGS, profile=profile, seed=seed
    )


def train_study_run(
    run_name: str, profile: Profile, seed: int = 0
) -> training.TrainResult:
    """Train the run ``run_name`` of the book's study
    (:data:`helpers.study.BOOK_MANIFEST`) with its model and settings, or load it when
    it is finished, as :func:`train_and_report` does for a model's main run.

    The variants (FCN-32s, V-Net with the soft Dice loss, ...) are defined once, in
    the manifest; in the full profile this loads the study's committed run.
    """
    jobs = {
        (job.run, job.seed): job
        for job in study.read_manifest(study.BOOK_MANIFEST).jobs
    }
    if (run_name, seed) not in jobs:
        raise ValueError(
            f"{study.BOOK_MANIFEST.name} has no run {run_name!r} with seed {seed}; "
            f"its runs: {sorted({run for run, _ in jobs})}"
        )
    job = jobs[run_name, seed]
    return training.train(
        job.model,
        settings=job.settings,
        profile=profile,
        model_kwargs=job.model_kwargs,
        seed=seed,
        run_dir=job.folder(artifacts_dir(profile)),
    )


def compare_variants(
    variants: list[training.TrainResult], test: data.Split, n: int = 3
) -> Styler:
    """Draws the same ``n`` random test images as each of the ``variants`` (runs of
    one model's variants, named by their run labels) segments them, prints each
    variant's gain over the one before it, and returns their test scores.

    The variants are runs of one seed each, scored on the same test images, so a
    gain's interval is a paired bootstrap over those images
    (:func:`helpers.results.gain`): it says how sure the gain is for these runs, not
    how far another seed would move it.
    """
    runs = {}
    for result in variants:
        run = results.load_run(result.run_dir)
        if run.label in runs:
            raise ValueError(
                f"two variants are labelled {run.label!r} ({runs[run.label].run_dir} "
                f"and {run.run_dir}): compare runs of different run names"
            )
        runs[run.label] = run
    percent = results.INTERVAL_PERCENT
    table = results.seed_table({label: [run] for label, run in runs.items()})[
        ["mean", f"{percent} low", f"{percent} high", "background IoU"]
    ].rename(columns={"mean": "mean IoU (digits)"})
    table["per-image mean IoU (digits)"] = [
        run.metrics["per_image"]["mean_iou_digits"] for run in runs.values()
    ]
    labels = list(runs)
    for before, after in zip(labels, labels[1:]):
        print(results.gain_sentence(runs[before], runs[after]))
    shown = np.random.default_rng(0).choice(len(test), size=n, replace=False)
    predictions = {}
    for label, result in zip(runs, variants):
        score = table.loc[label, "mean IoU (digits)"]
        predictions[f"{label}, mean IoU {score:.3f}"] = inference.predict(
            result.model, test.images[shown]
        )
    plotting.compare_predictions(
        test.images[shown],
        test.masks[shown],
        predictions,
        titles=[f"test #{index}" for index in shown],
    )
    plt.show()
    return table.style.format("{:.4f}").set_caption(
        "Test scores of each variant, one seed each; the interval is over test images"
    )
