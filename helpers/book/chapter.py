"""What the architecture chapters (2-4) do alike: one call for each step they share."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

from helpers import BACKGROUND
from helpers.book import charts, plotting, predictions, results, tables
from helpers.config import COMMITTED_ARTIFACTS, Profile, artifacts_dir
from helpers.data import compose, splits
from helpers.evaluate import inference, metrics
from helpers.nets import blocks, registry
from helpers.nets.names import MODEL_LABELS
from helpers.train import loop, recipe, resume, runs, study
from helpers.train.recipe import TrainSettings


def describe_setup(profile: Profile, settings: TrainSettings | None = None) -> None:
    """Prints what a chapter's run trains on and how long: the profile's data and the
    recipe's epochs."""
    settings = settings or recipe.DEFAULT_SETTINGS
    images = "fresh compositions" if settings.fresh_images else "a fixed set"
    print(
        f"profile: {profile.name}; training images: {profile.n_train:,} an epoch "
        f"({images}); "
        f"validation: {profile.n_val:,}; test: {profile.n_test:,}; epochs: "
        f"{profile.epochs_of(settings.epochs)}"
    )


def model_budget(model: keras.Model) -> None:
    """Prints ``model``'s size: layers, input and output, parameters and FLOPs per
    image."""
    (row,) = registry.model_summary_table([model])
    print(
        f"{model.name}: {len(model.layers)} layers, input {model.input.shape[1:]}, "
        f"output {model.output.shape[1:]}; {row['parameters']:,} parameters, "
        f"{row['flops_per_image'] / 1e9:.2f} GFLOPs per image"
    )


def budget_table(model: keras.Model) -> Styler:
    """Prints ``model``'s size (:func:`model_budget`), and returns parameters and FLOPs
    per image of every model of the book at its defaults: the one table of budgets,
    which the later chapters refer to."""
    model_budget(model)
    table = pd.DataFrame(
        {
            MODEL_LABELS[row["model"]]: {
                "parameters": row["parameters"],
                "GFLOPs per image": row["flops_per_image"] / 1e9,
            }
            for row in registry.model_summary_table(
                registry.build_model(name) for name in registry.MODEL_BUILDERS
            )
        }
    ).T.rename_axis("model")
    return tables.book_table(
        table,
        {"parameters": "count", "GFLOPs per image": "gflops"},
        "Size and cost of every model of the book at its defaults: parameters, and "
        "floating-point operations of one forward pass over one image",
    )


def train_and_report(
    model_name: str,
    profile: Profile,
    seed: int = 0,
    builder: Callable[..., keras.Model] | None = None,
) -> tuple[resume.TrainResult, splits.Dataset]:
    """Train ``model_name`` in ``profile`` with the book's recipe and ``seed`` (or load
    its finished run); print time and epochs.

    ``builder`` is the chapter's network cell (:func:`helpers.train.loop.train`): while
    it builds the library's network, the book's data and recipe in the full profile
    are those of the study's main runs, so this loads that seed of the committed study
    run; an edited network trains a run of its own.
    """
    result = loop.train(
        model_name,
        settings=recipe.DEFAULT_SETTINGS,
        profile=profile,
        seed=seed,
        builder=builder,
    )
    dataset = splits.load_m2nist().for_profile(profile)
    facts = result.facts
    print(
        f"epochs run: {facts['epochs_run']}; training time: "
        f"{facts['train_seconds']:.0f} s on {facts['device']}; "
        f"lowest validation loss after epoch {facts['best_epoch']}, whose weights the "
        "model keeps"
    )
    return result, dataset


def test_scores(result: resume.TrainResult) -> Styler:
    """Prints the headline test scores the run saved (as chapter 5 shows them) and
    returns its per-class table."""
    run = runs.load_run(result.run_dir)
    scores = run.metrics
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
    return tables.book_table(
        per_class,
        dict.fromkeys(per_class.columns, "score"),
        f"{run.label}, seed {seed}: test scores per class",
    )


def show_test_predictions(
    result: resume.TrainResult, test: compose.Split, n: int = 4
) -> np.ndarray:
    """Draws ``n`` random test images and the ``n`` worst, each prediction beside its
    wrong pixels; returns every image's mean IoU.

    An image's score is its mean IoU over the digits in its true or predicted
    mask (:func:`helpers.evaluate.metrics.per_image_mean_iou`), which ranks the images.
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
        fig = predictions.prediction_errors(
            test.images[indices],
            test.masks[indices],
            predicted[indices],
            titles=[
                predictions.prediction_title(
                    index, image_scores[index], test.masks[index], predicted[index]
                )
                for index in indices
            ],
        )
        fig.suptitle(f"{result.model.name}: {caption}")
        plt.show()
    return image_scores


def show_border_zoom(
    result: resume.TrainResult,
    test: compose.Split,
    image_scores: np.ndarray,
    n: int = 2,
    size: int = 28,
) -> None:
    """Draws each of the ``n`` worst test images (by ``image_scores``) enlarged in its
    ``size`` x ``size`` window that holds most of its wrong pixels: where to look at
    how a model draws the borders of strokes."""
    worst = np.argsort(image_scores)[:n]
    predicted = inference.predict(result.model, test.images[worst])
    windows = [
        predictions.error_window(mask, pred, size)
        for mask, pred in zip(test.masks[worst], predicted)
    ]
    crops = [
        np.stack(
            [array[rows, columns] for array, (rows, columns) in zip(arrays, windows)]
        )
        for arrays in (test.images[worst], test.masks[worst], predicted)
    ]
    fig = predictions.prediction_errors(
        *crops,
        titles=[
            f"test #{index}, rows {rows.start}-{rows.stop - 1}, columns "
            f"{columns.start}-{columns.stop - 1}"
            for index, (rows, columns) in zip(worst, windows)
        ],
    )
    fig.suptitle(
        f"{result.model.name}: the worst images, enlarged where they are wrong"
    )
    plt.show()


def seed_report(run_name: str, folder: Path = COMMITTED_ARTIFACTS) -> Styler:
    """Draws the learning curves of every committed seed of ``run_name``, prints how far
    the seeds' scores spread and how sure their mean is, names any seed far below the
    median (:func:`helpers.book.results.failed_seeds`), and returns one row per seed.

    One run is one draw of the initial weights and of the training images; the
    seeds show how much of a score is that draw (chapter 5 compares models with
    the same numbers, :func:`helpers.book.results.seed_table`).
    """
    seeds = runs.load_study(folder)[run_name]
    charts.learning_curves({f"seed {run.seed}": run.history for run in seeds})
    plt.show()
    summary = results.seed_table({run_name: seeds}).iloc[0]
    percent = results.INTERVAL_PERCENT
    low, high = summary[f"{percent} low"], summary[f"{percent} high"]
    print(
        f"{len(seeds)} seeds: mean IoU over the digits {summary['mean']:.4f}, from "
        f"{summary['min']:.4f} to {summary['max']:.4f} (spread "
        f"{summary['max'] - summary['min']:.4f}); {percent} interval of the "
        f"mean over seeds and test images [{low:.4f}, {high:.4f}]"
    )
    typical = results.median_seed(seeds)
    for run in results.failed_seeds(seeds):
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
            for run in seeds
        ]
    ).set_index("seed")
    return tables.book_table(
        table,
        {
            "mean IoU (digits)": "score",
            "background IoU": "score",
            "kept epoch": "count",
        },
        f"{seeds[0].label}: test scores of each seed",
    )


def typical_run(model_name: str, profile: Profile) -> resume.TrainResult:
    """The run of the committed study's median seed of ``model_name``
    (:func:`helpers.book.results.median_seed`), loaded (or, in the quick profile,
    trained); prints which seed it is.

    The prediction figures show this run: a typical seed, neither the best nor a
    failed one.
    """
    seed = results.median_seed(runs.load_study()[model_name]).seed
    print(f"the median seed of the committed {model_name} runs: seed {seed}")
    return loop.train(
        model_name, settings=recipe.DEFAULT_SETTINGS, profile=profile, seed=seed
    )


def train_study_run(
    run_name: str, profile: Profile, seed: int = 0
) -> resume.TrainResult:
    """Train the run ``run_name`` of the book's study
    (:data:`helpers.train.study.BOOK_MANIFEST`) with its model and settings, or load
    it when it is finished, as :func:`train_and_report` does for a model's main run.

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
    return loop.train(
        job.model,
        settings=job.settings,
        profile=profile,
        model_kwargs=job.model_kwargs,
        seed=seed,
        run_dir=job.folder(artifacts_dir(profile)),
    )


def compare_variants(
    variants: list[resume.TrainResult], test: compose.Split, n: int = 3
) -> Styler:
    """Draws the same ``n`` random test images as each of the ``variants`` (runs of
    one model's variants, named by their run labels) segments them, prints each
    variant's gain over the one before it, and returns their test scores.

    The variants are runs of one seed each, scored on the same test images, so a
    gain's interval is a paired bootstrap over those images
    (:func:`helpers.book.results.gain`): it says how sure the gain is for these runs,
    not how far another seed would move it.
    """
    compared = {}
    for result in variants:
        run = runs.load_run(result.run_dir)
        if run.label in compared:
            raise ValueError(
                f"two variants are labelled {run.label!r} "
                f"({compared[run.label].run_dir} and {run.run_dir}): compare runs of "
                "different run names"
            )
        compared[run.label] = run
    percent = results.INTERVAL_PERCENT
    table = results.seed_table({label: [run] for label, run in compared.items()})[
        ["mean", f"{percent} low", f"{percent} high", "background IoU"]
    ].rename(columns={"mean": "mean IoU (digits)"})
    table["per-image mean IoU (digits)"] = [
        run.metrics["per_image"]["mean_iou_digits"] for run in compared.values()
    ]
    labels = list(compared)
    for before, after in zip(labels, labels[1:]):
        print(results.gain_sentence(compared[before], compared[after]))
    shown = np.random.default_rng(0).choice(len(test), size=n, replace=False)
    predictions = {}
    for label, result in zip(compared, variants):
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
    return tables.book_table(
        table,
        dict.fromkeys(table.columns, "score"),
        f"Test scores of each variant, seed {variants[0].facts['config']['seed']}; "
        "the interval is over test images",
    )


def recipe_table(settings: TrainSettings | None = None) -> Styler:
    """How the book's networks are trained, one row per part of the recipe, read from
    the settings and the networks' building block."""
    settings = settings or recipe.DEFAULT_SETTINGS
    images = (
        "composed afresh every epoch"
        + (", each digit randomly changed" if settings.augment else "")
        if settings.fresh_images
        else "one fixed training split"
    )
    weights = (
        "those of the epoch with the lowest validation loss"
        if settings.keep_best
        else "those of the last epoch"
    )
    rows = {
        "training images": images,
        "epochs": f"{settings.epochs}, batches of {settings.batch_size}",
        "optimiser": f"Adam (beta1 {settings.adam_beta_1}, beta2 "
        f"{settings.adam_beta_2}, epsilon {settings.adam_epsilon:g})",
        "learning rate": f"{settings.learning_rate:g}, cosine decay to "
        f"{settings.lr_floor * settings.learning_rate:g} at the end",
        "loss": settings.loss,
        "activations": f"leaky ReLU, slope {blocks.NEGATIVE_SLOPE:g} below zero",
        "weights kept": weights,
    }
    table = pd.DataFrame({"the book's recipe": rows})
    table.index.name = "part"
    return tables.book_table(
        table,
        {"the book's recipe": "prose"},
        "How every network of chapters 2-4 is trained "
        "(helpers.train.recipe, preset 'book')",
    )
