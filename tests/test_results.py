"""Specification of helpers.book.results, and a check that the committed runs are what they
claim."""

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from committed_study import RETRAINED_NEXT

from helpers import BACKGROUND, NUM_CLASSES
from helpers.book import original_claims, original_project, results
from helpers.config import COMMITTED_ARTIFACTS
from helpers.data import compose, splits
from helpers.evaluate import inference, metrics
from helpers.nets import names
from helpers.train import artifacts
from helpers.train.runs import Run, load_run, load_study


def lowest_seeds(folder: Path = COMMITTED_ARTIFACTS) -> dict[str, Run]:
    """The lowest seed's run of each book model in ``folder``."""
    study = load_study(folder)
    return {name: study[name][0] for name in names.BOOK_MODELS}


@pytest.fixture(scope="module")
def runs() -> dict[str, Run]:
    return lowest_seeds()


@pytest.fixture(scope="module")
def test_split() -> compose.Split:
    return splits.generate().test


REPRODUCED_IMAGES = 300
"""Test images each committed model labels again: a tenth of the test split."""


def saved_metrics(name: str) -> dict:
    return json.loads(
        (COMMITTED_ARTIFACTS / name / "seed-0" / artifacts.METRICS_FILE).read_text()
    )


def test_the_per_class_table_holds_the_numbers_of_the_metrics_files(runs):
    table = results.per_class_table(runs)
    for name, run in runs.items():
        saved = saved_metrics(name)
        np.testing.assert_array_equal(
            table[(run.label, "IoU")].to_numpy(), np.array(saved["iou"], dtype=float)
        )
        np.testing.assert_array_equal(
            table[(run.label, "Dice")].to_numpy(), np.array(saved["dice"], dtype=float)
        )


def test_the_per_image_table_holds_the_per_image_numbers(runs):
    table = results.per_class_table(runs, per_image=True)
    assert table[("U-Net", "IoU")].to_numpy() == pytest.approx(
        saved_metrics("unet")["per_image"]["iou"]
    )


def test_dataset_level_dice_follows_from_iou_in_every_committed_run(runs):
    for run in runs.values():
        iou = run.metrics["iou"]
        np.testing.assert_allclose(run.metrics["dice"], 2 * iou / (1 + iou), rtol=1e-12)


def test_the_summary_puts_the_original_figures_beside_ours(runs):
    summary = results.summary_table(runs)
    assert summary.loc[
        "V-Net", "original project, per-image mean IoU, digits"
    ] == pytest.approx(0.93639)
    assert (
        summary.loc["U-Net", "mean IoU, digits"]
        == saved_metrics("unet")["mean_iou_digits"]
    )
    assert np.isnan(
        summary.loc["FCN-8s", "original project, per-image mean IoU, digits"]
    )


def test_the_comparison_table_sets_the_printed_scores_beside_ours(runs):
    table = original_project.original_comparison_table(runs, "unet")
    assert table.loc["9", ("original project", "test IoU")] == 0.8846
    assert table.loc["9", ("original project", "validation Dice")] == 0.9390
    assert (
        table.loc["9", ("this book, per-image", "test IoU")]
        == saved_metrics("unet")["per_image"]["iou"][9]
    )
    assert (
        table.loc["background", ("this book, dataset-level", "test Dice")]
        == saved_metrics("unet")["dice"][BACKGROUND]
    )


def test_a_dice_above_the_bound_of_its_iou_is_flagged():
    assert original_project.dice_above_iou_bound([0.5, 0.5], [0.6, 2 / 3]).tolist() == [
        False,
        False,
    ]
    assert original_project.dice_above_iou_bound([0.5], [0.7]).tolist() == [True]


def test_rounding_slack_spares_a_row_that_rounding_alone_explains():
    assert original_project.dice_above_iou_bound([0.9973], [0.9987]).tolist() == [True]
    assert original_project.dice_above_iou_bound(
        [0.9973], [0.9987], rounding=5e-5
    ).tolist() == [False]


def test_the_original_readme_dice_of_unet_breaks_the_bound_of_its_test_iou():
    """The finding chapter 5 reports: the README's U-Net Dice column is not from the
    test split."""
    printed = original_project.PER_CLASS["unet"]
    assert (
        original_project.dice_above_iou_bound(
            printed["test IoU"], printed["validation Dice"], 5e-5
        ).sum()
        == 6
    )
    assert not original_project.dice_above_iou_bound(
        printed["test IoU"], printed["test Dice"], 5e-5
    ).any()


def test_per_image_scores_of_every_committed_run_respect_the_bound(runs):
    for run in runs.values():
        scores = run.metrics["per_image"]
        assert not original_project.dice_above_iou_bound(
            scores["iou"], scores["dice"]
        ).any()


BELOW_EXPECTED = pytest.mark.xfail(
    strict=True,
    reason="the CPU study falls short of this expected figure; chapter 5 reports "
    "the measured interval (strict: a study that meets it must drop this mark)",
)


def seed_scores(name: str, measure: str) -> list[float]:
    return [
        run.metrics["mean_iou_digits"]
        if measure == "digits"
        else run.metrics["iou"][BACKGROUND]
        for run in load_study()[name]
    ]


@pytest.mark.parametrize(
    ("name", "measure", "floor"),
    [
        pytest.param("unet", "digits", 0.975, marks=BELOW_EXPECTED),
        pytest.param("vnet", "digits", 0.97, marks=BELOW_EXPECTED),
        pytest.param("fcn8s", "digits", 0.90, marks=BELOW_EXPECTED),
        pytest.param("unet", "background", 0.999),
        pytest.param("vnet", "background", 0.999, marks=BELOW_EXPECTED),
    ],
)
def test_the_seeds_mean_test_iou_reaches_the_expected_figure(name, measure, floor):
    """The figures the book expects of its study, on the test split, dataset-level,
    averaged over the committed seeds."""
    assert np.mean(seed_scores(name, measure)) >= floor


@BELOW_EXPECTED
def test_the_seeds_of_unet_spread_by_at_most_a_hundredth():
    scores = seed_scores("unet", "digits")
    assert max(scores) - min(scores) <= 0.01


def test_the_cost_table_takes_its_rates_from_the_benchmark_only(tmp_path):
    """The run's own seconds per epoch are not shown: a run's wall time depends on
    what else its machine ran."""
    facts = {
        "config": {"model": "unet", "seed": 0},
        "parameters": 1000,
        "flops_per_image": 2e9,
        "kept_epoch": 3,
        "seconds_per_epoch": 20.0,
        "device": "CPU: test",
    }
    run = Run("unet", {}, facts, {}, tmp_path)
    benchmark = benchmark_with(10.0, 20.0, 1, 2)
    table = results.cost_table({"unet": run}, benchmark).data
    row = table.loc["U-Net"]
    assert row["training, images/s"] == (10.0, 9.0, 11.0)
    assert row["kept epoch"] == 3
    assert not any("second" in column for column in table.columns)


def test_a_folder_without_a_finished_run_is_reported(tmp_path):
    (tmp_path / "unet" / "seed-0").mkdir(parents=True)
    (tmp_path / "unet" / "seed-0" / "metrics.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="missing run.json, history.json"):
        load_run(tmp_path / "unet" / "seed-0")


def test_the_committed_study_holds_every_finished_committed_run():
    finished = sorted(COMMITTED_ARTIFACTS.glob(f"*/seed-*/{artifacts.RUN_FILE}"))
    study = load_study()
    assert sorted(
        (name, run.seed) for name, runs in study.items() for run in runs
    ) == sorted(
        (path.parent.parent.name, int(path.parent.name[5:])) for path in finished
    )


@RETRAINED_NEXT
@pytest.mark.parametrize("name", names.BOOK_MODELS)
def test_committed_models_reproduce_their_committed_test_scores(name, test_split):
    """The committed model, loaded and run on the first test images of a freshly
    generated test split, labels their pixels as its saved per-image confusions say;
    those confusions sum to the saved scores."""
    run_dir = COMMITTED_ARTIFACTS / name / "seed-0"
    saved = artifacts.read_confusions(run_dir / artifacts.CONFUSIONS_FILE)
    assert len(saved) == saved_metrics(name)["images"] == len(test_split)
    assert metrics.mean_iou_digits(saved.sum(axis=0)) == pytest.approx(
        saved_metrics(name)["mean_iou_digits"], abs=1e-9
    )
    head = test_split.head(REPRODUCED_IMAGES)
    predicted = inference.predict(inference.load_model(run_dir), head.images)
    fresh = metrics.per_image_confusions(head.masks, predicted)
    changed_pixels = np.abs(fresh - saved[:REPRODUCED_IMAGES]).sum() / 2
    # float noise between GPU/JAX and CPU/TensorFlow, out of 1.6 million pixels
    assert changed_pixels < 100


def test_the_dice_bound_finding_counts_the_readme_column_against_the_test_iou(runs):
    finding = original_project.dice_bound_finding(runs)
    printed = original_project.PER_CLASS["unet"]
    broken = original_project.dice_above_iou_bound(
        printed["test IoU"], printed["validation Dice"], rounding=5e-5
    )
    assert broken.sum() > 0
    assert f"breaks it in {broken.sum()} of 11 classes" in finding
    assert "it is the notebook's validation Dice." in finding
    assert finding.count(". ") == 2  # three sentences


def benchmark_with(
    unet_rate: float, vnet_rate: float, unet_memory: int, vnet_memory: int
) -> dict:
    rows = [
        {
            "model": name,
            "setting": {"keras_default": True},
            "train_images_per_second": {
                "median": rate,
                "min": rate - 1,
                "max": rate + 1,
                "values": [rate - 1, rate, rate + 1],
            },
            "inference_images_per_second": {
                "median": 3 * rate,
                "min": 3 * rate,
                "max": 3 * rate,
            },
            "peak_memory_bytes": memory,
        }
        for name, rate, memory in (
            ("unet", unet_rate, unet_memory),
            ("vnet", vnet_rate, vnet_memory),
        )
    ]
    return {"machine": {"device": "CPU: test"}, "results": rows}


def test_the_claims_table_names_the_model_our_measurements_favour(runs):
    claims = original_claims.claims_table(
        runs, benchmark_with(10.0, 20.0, 2 * 2**20, 1 * 2**20)
    )["better here"]
    assert claims[original_project.CLAIMS["memory"]] == "V-Net"
    assert claims[original_project.CLAIMS["faster"]] == "V-Net"  # 20 images/s over 10
    better = (
        "U-Net"
        if runs["unet"].metrics["mean_iou_digits"]
        > runs["vnet"].metrics["mean_iou_digits"]
        else "V-Net"
    )
    assert claims[original_project.CLAIMS["better"]] == better


def test_the_speed_claim_counts_the_rounds_each_model_won(runs):
    claims = original_claims.claims_table(runs, benchmark_with(20.0, 10.0, 1, 2))
    faster = claims.loc[original_project.CLAIMS["faster"]]
    assert faster["better here"] == "U-Net"
    assert "U-Net 20.0, V-Net 10.0; V-Net faster in 0 of 3 rounds" in faster.iloc[1]


def test_a_lower_peak_memory_of_unet_favours_unet():
    claims = original_claims.claims_table(
        lowest_seeds(), benchmark_with(10.0, 20.0, 1, 2)
    )["better here"]
    assert claims[original_project.CLAIMS["memory"]] == "U-Net"


def synthetic_confusions(errors: np.ndarray) -> np.ndarray:
    """One digit per image (image i holds digit i % 10), 100 of its pixels right and
    ``errors`` labelled background."""
    images = np.arange(len(errors))
    confusions = np.zeros((len(errors), NUM_CLASSES, NUM_CLASSES), dtype=np.uint16)
    confusions[images, images % 10, images % 10] = 100
    confusions[images, images % 10, BACKGROUND] = errors
    confusions[:, BACKGROUND, BACKGROUND] = 1000
    return confusions


def write_run(
    folder: Path, name: str, seed: int, confusions: np.ndarray | None
) -> Path:
    """A finished run folder ``<name>/seed-<seed>/`` whose test scores are those of
    ``confusions``."""
    run_dir = folder / name / f"seed-{seed}"
    run_dir.mkdir(parents=True)
    scores = metrics.scores_from_confusion(
        np.zeros((NUM_CLASSES, NUM_CLASSES))
        if confusions is None
        else confusions.sum(axis=0)
    )
    scores |= {
        "confusion_matrix": [],
        "per_image": {"iou": scores["iou"], "dice": scores["dice"]},
    }
    artifacts.write_json(run_dir / artifacts.METRICS_FILE, scores)
    artifacts.write_json(
        run_dir / artifacts.RUN_FILE,
        {"config": {"model": name.split("-")[0], "seed": seed}},
    )
    artifacts.write_json(run_dir / artifacts.HISTORY_FILE, {"epoch_seconds": []})
    if confusions is not None:
        artifacts.write_confusions(run_dir / artifacts.CONFUSIONS_FILE, confusions)
    return run_dir


@pytest.fixture(scope="module")
def study_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 test images. U-Net misses 0-9 pixels of each and V-Net 10-19, in seeds 2, 0
    and 10 (written in that order; "seed-10" sorts before "seed-2" as text). "vnet-dice"
    has V-Net's misses shuffled among the images of one digit: the same scores, other
    images. "unet-original-budget" has one seed, with U-Net's spread of misses."""
    folder = tmp_path_factory.mktemp("study")
    rng = np.random.default_rng(0)
    for seed in (2, 0, 10):
        unet_errors, vnet_errors = (
            rng.integers(0, 10, size=200),
            rng.integers(10, 20, size=200),
        )
        write_run(folder, "unet", seed, synthetic_confusions(unet_errors))
        write_run(folder, "vnet", seed, synthetic_confusions(vnet_errors))
        shuffled = rng.permuted(vnet_errors.reshape(-1, 10), axis=0).ravel()
        write_run(folder, "vnet-dice", seed, synthetic_confusions(shuffled))
    write_run(
        folder,
        "unet-original-budget",
        0,
        synthetic_confusions(rng.integers(0, 10, size=200)),
    )
    return folder


@pytest.fixture(scope="module")
def study(study_folder) -> dict[str, list[Run]]:
    return load_study(study_folder)


@pytest.fixture(scope="module")
def seed_effect_study(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, list[Run]]:
    """200 test images, and in each seed every image misses the same number of pixels,
    so only the seed moves a score. U-Net's seeds 0, 1, 2 miss 0, 10, 20 pixels, V-Net's
    25, 15, 5: U-Net is better on average, but seed 2 of V-Net beats seed 2 of U-Net.
    FCN-8s has two seeds and "unet-original-budget" one."""
    folder = tmp_path_factory.mktemp("seed-effect")
    for name, misses in {
        "unet": (0, 10, 20),
        "vnet": (25, 15, 5),
        "fcn8s": (5, 5),
        "unet-original-budget": (5,),
    }.items():
        for seed, missed in enumerate(misses):
            write_run(folder, name, seed, synthetic_confusions(np.full(200, missed)))
    return load_study(folder)


def test_a_study_gathers_each_run_names_seeds_in_numeric_order(study):
    assert [run.seed for run in study["unet"]] == [0, 2, 10]
    assert all(run.name == "unet" for run in study["unet"])


def test_a_study_lists_the_models_then_their_variants_in_the_books_order(study):
    assert list(study) == ["unet", "vnet", "vnet-dice", "unet-original-budget"]


def test_a_run_is_named_by_the_folder_above_its_seed_and_knows_its_model(study_folder):
    run = load_run(study_folder / "vnet-dice" / "seed-2")
    assert (run.name, run.model, run.seed, run.label) == (
        "vnet-dice",
        "vnet",
        2,
        "V-Net (soft Dice loss)",
    )


def test_a_seed_folder_without_a_finished_run_is_left_out(tmp_path):
    write_run(tmp_path, "unet", 0, None)
    (tmp_path / "unet" / "seed-1").mkdir()
    (tmp_path / "empty").mkdir()
    assert {
        name: [run.seed for run in seeds]
        for name, seeds in load_study(tmp_path).items()
    } == {"unet": [0]}


def test_a_seed_folder_not_named_by_an_integer_is_reported(tmp_path):
    write_run(tmp_path, "unet", 0, None)
    (tmp_path / "unet" / "seed-best").mkdir()
    with pytest.raises(
        ValueError,
        match=re.escape(str(tmp_path / "unet" / "seed-best"))
        + ": a seed folder is named",
    ):
        load_study(tmp_path)


def test_a_run_trained_with_another_seed_than_its_folder_names_is_reported(tmp_path):
    run_dir = write_run(tmp_path, "unet", 0, None)
    run_dir.rename(tmp_path / "unet" / "seed-1")
    with pytest.raises(
        ValueError,
        match=re.escape(str(tmp_path / "unet" / "seed-1")) + " holds a run of seed 0",
    ):
        load_run(tmp_path / "unet" / "seed-1")


def test_a_runs_confusions_are_read_from_its_folder(study_folder, study):
    np.testing.assert_array_equal(
        study["unet"][1].confusions,
        artifacts.read_confusions(
            study_folder / "unet" / "seed-2" / "test_confusions.npz"
        ),
    )


def test_an_interval_of_a_run_without_confusions_names_its_folder(tmp_path):
    run_dir = write_run(tmp_path, "unet", 0, None)
    study = load_study(tmp_path)
    with pytest.raises(
        FileNotFoundError, match=re.escape(f"{run_dir} has no test_confusions.npz")
    ):
        results.seed_table(study)


def test_the_seed_table_describes_each_run_names_seeds(study):
    table = results.seed_table(study)
    scores = [run.metrics["mean_iou_digits"] for run in study["unet"]]
    row = table.loc["U-Net"]
    assert list(table.index) == [
        "U-Net",
        "V-Net",
        "V-Net (soft Dice loss)",
        "U-Net (original budget)",
    ]
    assert row["seeds"] == 3
    assert row["mean"] == pytest.approx(np.mean(scores))
    assert row["sd"] == pytest.approx(np.std(scores, ddof=1))
    assert (row["min"], row["max"]) == (min(scores), max(scores))
    assert row["95 % low"] < row["mean"] < row["95 % high"]
    assert row["background IoU"] == pytest.approx(
        np.mean([run.metrics["iou"][BACKGROUND] for run in study["unet"]])
    )
    assert np.isnan(table.loc["U-Net (original budget)", "sd"])


def test_the_shown_seed_table_has_four_decimals_and_a_whole_seed_count(
    seed_effect_study,
):
    table = results.seed_table(
        {name: seed_effect_study[name] for name in ("unet", "unet-original-budget")}
    )
    shown = results.seed_table_style(table, "Seeds of U-Net").to_html()
    assert f">{table['mean'].iloc[0]:.4f}<" in shown
    assert ">3<" in shown and ">1<" in shown and ">-<" in shown
    assert f">{table['mean'].iloc[0]:.6f}<" not in shown


def test_the_seed_tables_interval_counts_the_seeds(seed_effect_study):
    """The images all agree, so U-Net's interval is that of its seeds alone: from three
    draws of its worst seed to three of its best, where images alone would give an
    interval of zero width."""
    row = results.seed_table(seed_effect_study).loc["U-Net"]
    assert (row["95 % low"], row["95 % high"]) == pytest.approx(
        (100 / 120, 1.0), abs=1e-12
    )


NUMBER = r"-?\d\.\d{4}"


def test_a_pair_whose_interval_excludes_zero_is_ranked_higher_first_in_either_order(
    study,
):
    ranked = (
        rf"U-Net scores higher than V-Net, by {NUMBER} mean IoU over the digits\. "
        rf"95 % interval: {NUMBER} to {NUMBER}, over the test images and 3 seeds "
        rf"each\. Seed to seed, the scores of U-Net spread over {NUMBER} and those of "
        rf"V-Net over {NUMBER}\."
    )
    [sentence] = results.ranking_sentences(study, ["unet", "vnet"])
    assert re.fullmatch(ranked, sentence)
    assert results.ranking_sentences(study, ["vnet", "unet"]) == [sentence]


def test_the_ranked_difference_and_its_interval_are_positive(study):
    sentence = results.ranking_sentences(study, ["vnet", "unet"])[0]
    estimate, low, high = (float(number) for number in re.findall(NUMBER, sentence)[:3])
    assert 0 < low < estimate < high


def test_a_pair_whose_difference_interval_includes_zero_is_undecided(study):
    [sentence] = results.ranking_sentences(study, ["vnet", "vnet-dice"])
    assert re.fullmatch(
        r"V-Net and V-Net \(soft Dice loss\) cannot be told apart\. V-Net minus "
        r"V-Net \(soft Dice loss\) is 0\.0000; its 95 % interval, "
        rf"-\d\.\d{{4}} to \d\.\d{{4}}, over the test images and 3 seeds each, "
        rf"includes 0\. Seed to seed, the scores of V-Net spread over {NUMBER} and "
        rf"those of V-Net \(soft Dice loss\) over {NUMBER}\.",
        sentence,
    )


def test_a_seed_effect_larger_than_the_difference_leaves_the_pair_undecided(
    seed_effect_study,
):
    """With the seeds held fixed, U-Net would win every resample."""
    [sentence] = results.ranking_sentences(seed_effect_study, ["unet", "vnet"])
    assert sentence.startswith(
        "U-Net and V-Net cannot be told apart. U-Net minus V-Net is "
    )
    assert "; its 95 % interval, -0." in sentence
    assert sentence.endswith(
        "includes 0. Seed to seed, the scores of U-Net spread over 0.1667 and those of "
        "V-Net over 0.1524."
    )


@pytest.mark.parametrize(
    ("run_names", "short"),
    [
        (["unet", "fcn8s"], "FCN-8s has only 2 seeds"),
        (["unet-original-budget", "vnet"], "U-Net (original budget) has only 1 seed"),
        (
            ["fcn8s", "unet-original-budget"],
            "FCN-8s has only 2 seeds and U-Net (original budget) has only 1 seed",
        ),
    ],
    ids=["two seeds", "one seed", "both short"],
)
def test_a_run_with_fewer_than_three_seeds_is_not_ranked_and_its_seeds_are_counted(
    seed_effect_study, run_names, short
):
    """FCN-8s's two seeds score the same and U-Net's are far apart: the seeds' count
    decides, not the interval."""
    [sentence] = results.ranking_sentences(seed_effect_study, run_names)
    labels = [seed_effect_study[name][0].label for name in run_names]
    assert (
        sentence
        == f"{labels[0]} and {labels[1]} are not ranked: {short}, and a ranking needs 3."
    )


def test_the_median_seed_is_the_middle_score_of_three(seed_effect_study):
    assert results.median_seed(seed_effect_study["unet"]).seed == 1
    assert results.median_seed(seed_effect_study["vnet"]).seed == 1


def test_the_median_seed_of_two_is_the_lower_score_and_ties_go_to_the_lower_seed(
    seed_effect_study,
):
    assert results.median_seed(seed_effect_study["fcn8s"]).seed == 0
    assert results.median_seed(seed_effect_study["unet"][:2]).seed == 1


def test_a_seed_far_below_the_median_seed_is_a_failed_run():
    def run(seed: int, score: float) -> SimpleNamespace:
        return SimpleNamespace(seed=seed, metrics={"mean_iou_digits": score})

    median = 0.95
    runs = [
        run(0, median - results.FAR_BELOW_MEDIAN - 0.001),
        run(1, median),
        run(2, median - results.FAR_BELOW_MEDIAN + 0.001),
        run(3, 0.97),
        run(4, 0.96),
    ]
    assert [failed.seed for failed in results.failed_seeds(runs)] == [0]
    assert results.failed_seeds(runs[1:]) == []


def test_a_run_is_judged_failed_against_the_median_seed_of_other_runs(
    seed_effect_study,
):
    unet = seed_effect_study["unet"]  # misses 0, 10 and 20 pixels an image
    median = unet[1].metrics["mean_iou_digits"]
    just_above, far_below = (
        Run(
            "unet-original-budget",
            {"mean_iou_digits": median - shortfall},
            unet[0].facts,
            {},
            unet[0].run_dir,
        )
        for shortfall in (
            results.FAR_BELOW_MEDIAN - 0.01,
            results.FAR_BELOW_MEDIAN + 0.01,
        )
    )
    assert not results.is_far_below(just_above, unet)
    assert results.is_far_below(far_below, unet)


def test_the_median_seed_of_no_run_is_refused():
    with pytest.raises(ValueError, match="at least one run"):
        results.median_seed([])


def test_every_pair_of_the_named_runs_gets_a_sentence(study):
    sentences = results.ranking_sentences(
        study, ["unet", "vnet", "unet-original-budget"]
    )
    assert len(sentences) == 3
    assert sentences[0].startswith("U-Net scores higher than V-Net, by ")
    assert sentences[1] == (
        "U-Net and U-Net (original budget) are not ranked: U-Net (original budget) "
        "has only 1 seed, and a ranking needs 3."
    )
    assert sentences[2].startswith("V-Net and U-Net (original budget) are not ranked: ")


def test_every_fcn_variant_has_a_label():
    assert [names.MODEL_LABELS[name] for name in ("fcn32s", "fcn16s", "fcn8s")] == [
        "FCN-32s",
        "FCN-16s",
        "FCN-8s",
    ]


def test_a_gain_is_the_second_run_minus_the_first_inside_its_interval(study):
    unet, vnet = study["unet"][0], study["vnet"][0]
    gain = results.gain(vnet, unet)
    expected = unet.metrics["mean_iou_digits"] - vnet.metrics["mean_iou_digits"]
    assert gain.estimate == pytest.approx(expected)
    assert 0 < gain.low < gain.estimate < gain.high


def test_a_run_gains_exactly_nothing_over_itself(study):
    run = study["unet"][0]
    gain = results.gain(run, run)
    assert (gain.estimate, gain.low, gain.high) == (0, 0, 0)


def test_the_gain_sentence_names_both_runs_and_signs_the_difference(study):
    unet, vnet = study["unet"][0], study["vnet"][0]
    sentence = results.gain_sentence(unet, vnet)
    assert re.match(
        rf"V-Net gains -{NUMBER[2:]} mean IoU over the digits on U-Net\.", sentence
    )
    assert "one run each" in sentence


def test_the_original_budgets_verdict_gives_both_budgets_and_names_a_failed_run(
    tmp_path,
):
    """U-Net misses 0-2 pixels a seed and V-Net 5-7; at the original budgets U-Net
    misses 90 of every 100: a failed run, far below its model's median seed."""
    for seed in range(3):
        write_run(tmp_path, "unet", seed, synthetic_confusions(np.full(200, seed)))
        write_run(tmp_path, "vnet", seed, synthetic_confusions(np.full(200, 5 + seed)))
    write_run(
        tmp_path, "unet-original-budget", 0, synthetic_confusions(np.full(200, 90))
    )
    write_run(
        tmp_path, "vnet-original-budget", 0, synthetic_confusions(np.full(200, 6))
    )
    verdict = original_claims.original_budgets_verdict(load_study(tmp_path))
    equal, original = verdict.splitlines()
    assert equal.startswith("* **At equal budgets**, over their seeds: U-Net scores")
    assert original.startswith("* **At the original budgets**, one run each: V-Net")
    assert "V-Net scores higher, as in the original project" in original
    assert "U-Net (original budget) is a failed run" in original
