"""Specification of helpers.train.loop and helpers.evaluate.inference: train, resume, keep the best
weights, reload, predict."""

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from helpers import config
from helpers.config import Profile
from helpers.data import splits, streaming
from helpers.evaluate import inference
from helpers.nets import architecture, registry
from helpers.nets.unet import build_unet
from helpers.train import artifacts, finish, loop, losses, machine, resume, runs
from helpers.train.recipe import TrainSettings

TINY = Profile("tiny", n_train=16, n_val=8, n_test=8)
ONE_EPOCH = TrainSettings(epochs=1, batch_size=8, patience=5)
THREE_EPOCHS = ONE_EPOCH.but(epochs=3)
SMALL_UNET = {"base_filters": 4, "depth": 2}


@pytest.fixture
def dataset(tiny_dataset) -> splits.Dataset:
    return tiny_dataset


@pytest.fixture
def finished(tiny_run) -> resume.TrainResult:
    return tiny_run


class EpochRecorder(keras.callbacks.Callback):
    """Remembers which epochs training began."""

    def __init__(self) -> None:
        super().__init__()
        self.epochs: list[int] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


class Interrupt(keras.callbacks.Callback):
    """Stops training like a disconnected runtime, after the given epoch has
    finished."""

    def __init__(self, after_epoch: int) -> None:
        super().__init__()
        self.after_epoch = after_epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.after_epoch:
            raise KeyboardInterrupt("runtime disconnected")


def test_a_run_writes_its_artifacts(finished):
    for name in (
        "model.keras",
        "history.json",
        "metrics.json",
        "run.json",
        "config.json",
    ):
        assert (finished.run_dir / name).is_file(), name
    facts = json.loads((finished.run_dir / "run.json").read_text())
    assert facts["config"]["profile"]["name"] == "tiny" and facts["epochs_run"] == 1
    assert (
        facts["train_seconds"] > 0
        and facts["device"]
        and facts["versions"]["keras"] == keras.__version__
    )
    assert (
        facts["flops_per_image"] > 0
        and facts["parameters"] == finished.model.count_params()
    )


def test_saved_metrics_equal_a_fresh_evaluation(finished, dataset):
    saved = json.loads((finished.run_dir / "metrics.json").read_text())
    fresh = inference.evaluate(finished.run_dir, dataset.test)
    assert saved["confusion_matrix"] == fresh["confusion_matrix"].tolist()
    assert saved["mean_iou_digits"] == pytest.approx(
        fresh["mean_iou_digits"], nan_ok=True
    )
    assert saved["images"] == len(dataset.test)


def test_a_reloaded_model_predicts_identically(finished, dataset):
    reloaded = inference.load_model(finished.run_dir / "model.keras")
    np.testing.assert_array_equal(
        inference.predict(reloaded, dataset.test.images),
        inference.predict(finished.model, dataset.test.images),
    )


def test_predictions_are_class_maps(finished, dataset):
    maps = inference.predict(finished.model, dataset.test.images[:3])
    assert maps.shape == (3, 64, 84) and maps.dtype == np.uint8 and maps.max() <= 10


def test_a_last_partial_batch_predicts_like_a_full_one(finished, dataset):
    images = dataset.test.images[:5]
    np.testing.assert_array_equal(
        inference.predict(finished.model, images, batch_size=2),
        inference.predict(finished.model, images, batch_size=5),
    )


def test_a_finished_run_is_loaded_not_retrained(finished, dataset):
    recorder = EpochRecorder()
    again = train_small_unet(dataset, finished.run_dir, [recorder], ONE_EPOCH)
    assert (
        recorder.epochs == []
        and again.facts == finished.facts
        and again.history == finished.history
    )


def test_a_folder_with_another_run_is_refused_and_left_as_it_was(
    finished, dataset, tmp_path
):
    run_dir = shutil.copytree(finished.run_dir, tmp_path / "run")
    before = {
        path.name: path.read_bytes() for path in run_dir.iterdir() if path.is_file()
    }
    with pytest.raises(runs.RunFolderConflict, match=r"seed: 0 -> 1.*retrain=True"):
        loop.train(
            "unet",
            dataset,
            settings=ONE_EPOCH,
            profile=TINY,
            model_kwargs=SMALL_UNET,
            seed=1,
            run_dir=run_dir,
        )
    assert {
        path.name: path.read_bytes() for path in run_dir.iterdir() if path.is_file()
    } == before


def test_retrain_replaces_a_run_with_other_settings(finished, dataset, tmp_path):
    run_dir = shutil.copytree(finished.run_dir, tmp_path / "run")
    recorder = EpochRecorder()
    other = loop.train(
        "unet",
        dataset,
        settings=ONE_EPOCH,
        profile=TINY,
        model_kwargs=SMALL_UNET,
        seed=1,
        run_dir=run_dir,
        retrain=True,
        callbacks=[recorder],
    )
    assert recorder.epochs == [0] and other.facts["config"]["seed"] == 1


def train_small_unet(
    dataset, run_dir, callbacks=(), settings=THREE_EPOCHS
) -> resume.TrainResult:
    """A run of the small U-Net on ``dataset`` (fresh images from the digit pool of the
    tiny data set)."""
    digits = splits.training_digits() if settings.fresh_images else None
    return loop.train(
        "unet",
        dataset,
        settings=settings,
        profile=TINY,
        model_kwargs=SMALL_UNET,
        train_digits=digits,
        run_dir=run_dir,
        callbacks=list(callbacks),
    )


@pytest.fixture(scope="module")
def uninterrupted(tiny_dataset, tmp_path_factory) -> resume.TrainResult:
    """A three-epoch run that nothing interrupted: what every interrupted one must end
    as."""
    return train_small_unet(tiny_dataset, tmp_path_factory.mktemp("uninterrupted"))


def assert_same_run(run: resume.TrainResult, reference: resume.TrainResult) -> None:
    """Same validation losses, kept epoch and weights (up to the rounding of a repeated
    computation)."""
    assert run.history["val_loss"] == pytest.approx(
        reference.history["val_loss"], rel=1e-4
    )
    assert run.facts["best_epoch"] == reference.facts["best_epoch"]
    for weights, expected in zip(
        run.model.get_weights(), reference.model.get_weights()
    ):
        np.testing.assert_allclose(weights, expected, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize(
    "fresh_images", [False, True], ids=["fixed split", "fresh images"]
)
def test_an_interrupted_run_resumes_after_its_last_epoch_and_ends_as_an_uninterrupted(
    uninterrupted, dataset, tmp_path, fresh_images
):
    settings = THREE_EPOCHS.but(fresh_images=fresh_images)
    reference = uninterrupted
    if fresh_images:
        reference = train_small_unet(dataset, tmp_path / "reference", settings=settings)
    with pytest.raises(KeyboardInterrupt):
        train_small_unet(
            dataset, tmp_path / "run", [Interrupt(after_epoch=1)], settings
        )
    assert not (tmp_path / "run" / "run.json").exists()
    recorder = EpochRecorder()
    resumed = train_small_unet(dataset, tmp_path / "run", [recorder], settings)
    assert recorder.epochs == [2] and resumed.facts["epochs_run"] == 3
    assert_same_run(resumed, reference)


def test_a_run_killed_while_it_is_being_finished_is_finished_without_training_again(
    uninterrupted, dataset, tmp_path, monkeypatch
):
    def killed(*args):
        raise KeyboardInterrupt("killed while writing the test confusions")

    monkeypatch.setattr(finish, "write_confusions", killed)
    with pytest.raises(KeyboardInterrupt):
        train_small_unet(dataset, tmp_path)
    assert not (tmp_path / "run.json").exists()
    monkeypatch.undo()
    recorder = EpochRecorder()
    finished = train_small_unet(dataset, tmp_path, [recorder])
    assert recorder.epochs == [] and finished.facts["epochs_run"] == 3
    assert_same_run(finished, uninterrupted)
    assert (
        not (tmp_path / "backup").exists()
        and not (tmp_path / "best.weights.h5").exists()
    )


def test_a_resumed_run_keeps_counting_the_epochs_without_improvement_for_early_stopping(
    dataset, tmp_path
):
    """Patience 2, and epoch 1 made worst: an uninterrupted run stops after epoch 2, and
    so must a resumed one."""
    settings = THREE_EPOCHS.but(epochs=6, patience=2)
    uninterrupted = train_small_unet(
        dataset, tmp_path / "whole", [ScrambleInLastEpoch(last_epoch=1)], settings
    )
    assert (
        uninterrupted.facts["epochs_run"] == 3
        and uninterrupted.facts["best_epoch"] == 1
    )
    with pytest.raises(KeyboardInterrupt):
        train_small_unet(
            dataset,
            tmp_path / "run",
            [ScrambleInLastEpoch(last_epoch=1), Interrupt(after_epoch=1)],
            settings,
        )
    recorder = EpochRecorder()
    resumed = train_small_unet(dataset, tmp_path / "run", [recorder], settings)
    assert recorder.epochs == [2] and resumed.facts["epochs_run"] == 3


def test_a_run_killed_after_stopping_early_is_finished_without_training_again(
    dataset, tmp_path
):
    settings = THREE_EPOCHS.but(epochs=6, patience=1)
    with pytest.raises(KeyboardInterrupt):
        train_small_unet(
            dataset,
            tmp_path,
            [ScrambleInLastEpoch(last_epoch=1), Interrupt(after_epoch=1)],
            settings,
        )
    recorder = EpochRecorder()
    finished = train_small_unet(dataset, tmp_path, [recorder], settings)
    assert (
        recorder.epochs == []
        and finished.facts["epochs_run"] == 2
        and finished.facts["best_epoch"] == 1
    )


def test_a_run_stopped_before_its_first_backup_trains_from_the_start(dataset, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        train_small_unet(dataset, tmp_path, [Interrupt(after_epoch=0)], THREE_EPOCHS)
    shutil.rmtree(
        tmp_path / "backup"
    )  # as if killed during the first epoch, with a history row left behind
    recorder = EpochRecorder()
    result = train_small_unet(dataset, tmp_path, [recorder])
    assert recorder.epochs == [0, 1, 2] and len(result.history["val_loss"]) == 3


def interrupted_run(dataset, run_dir) -> dict[str, bytes]:
    """An unfinished run in ``run_dir``, stopped after its second epoch; its files."""
    with pytest.raises(KeyboardInterrupt):
        train_small_unet(dataset, run_dir, [Interrupt(after_epoch=1)], THREE_EPOCHS)
    return {
        path.name: path.read_bytes() for path in run_dir.rglob("*") if path.is_file()
    }


class MarkReader(keras.callbacks.Callback):
    """Reads the folder's training.pid at the start of every epoch."""

    def __init__(self, run_dir) -> None:
        super().__init__()
        self.marks = []
        self.run_dir = run_dir

    def on_epoch_begin(self, epoch, logs=None):
        self.marks.append((self.run_dir / "training.pid").read_text())


def test_a_run_marks_its_folder_with_its_process_while_it_trains(dataset, tmp_path):
    reader = MarkReader(tmp_path)
    train_small_unet(dataset, tmp_path, [reader], ONE_EPOCH)
    assert reader.marks == [str(os.getpid())]
    assert not (tmp_path / "training.pid").exists()


def test_a_run_another_live_process_trains_is_refused_and_left_as_it_was(
    dataset, tmp_path
):
    before = interrupted_run(dataset, tmp_path)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        (tmp_path / "training.pid").write_text(str(other.pid))
        with pytest.raises(
            runs.RunFolderConflict, match=f"being trained by process {other.pid}"
        ):
            train_small_unet(dataset, tmp_path, settings=THREE_EPOCHS)
    finally:
        other.kill()
        other.wait()
    after = {p.name: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before | {"training.pid": str(other.pid).encode()}


def test_the_mark_of_a_process_that_has_ended_does_not_stop_a_resume(dataset, tmp_path):
    interrupted_run(dataset, tmp_path)
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    (tmp_path / "training.pid").write_text(ended.stdout.strip())
    recorder = EpochRecorder()
    train_small_unet(dataset, tmp_path, [recorder], THREE_EPOCHS)
    assert recorder.epochs == [2]
    assert not (tmp_path / "training.pid").exists()


def test_a_run_repeats_with_the_same_seed(finished, dataset, tmp_path):
    again = loop.train(
        "unet",
        dataset,
        settings=ONE_EPOCH,
        profile=TINY,
        model_kwargs=SMALL_UNET,
        run_dir=tmp_path,
    )
    assert again.history["loss"] == pytest.approx(finished.history["loss"], rel=1e-4)


def test_xla_compilation_changes_only_the_rounding(finished, dataset, tmp_path):
    compiled = loop.train(
        "unet",
        dataset,
        settings=ONE_EPOCH,
        profile=TINY,
        model_kwargs=SMALL_UNET,
        run_dir=tmp_path,
        jit_compile=True,
    )
    assert compiled.model.jit_compile is True
    assert compiled.history["loss"] == pytest.approx(finished.history["loss"], rel=1e-3)


def test_mixed_precision_keeps_the_softmax_in_float32():
    with machine.dtype_policy("mixed_bfloat16"):
        model = registry.build_model("unet", **SMALL_UNET)
    assert model.layers[2].compute_dtype == "bfloat16"
    assert model.get_layer("probabilities").compute_dtype == "float32"
    assert (
        keras.mixed_precision.dtype_policy().name == "float32"
    )  # the global policy is restored


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((2, 64, 80)), r"\(2, 64, 80\)"),
        (np.zeros((64, 84)), "one image"),
        (np.zeros((2, 64, 84), dtype=bool), "dtype bool"),
        (np.full((2, 64, 84), 300.0), "0..255"),
        (np.zeros((0, 64, 84)), "empty"),
    ],
)
def test_bad_images_are_rejected_with_a_clear_message(finished, images, message):
    with pytest.raises(ValueError, match=message):
        inference.predict(finished.model, images)


def test_a_missing_model_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.keras"):
        inference.load_model(tmp_path / "absent.keras")


def test_a_file_that_is_not_a_model_is_named(tmp_path):
    path = tmp_path / "broken.keras"
    path.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="broken.keras is not a Keras model"):
        inference.load_model(path)


def test_mirrored_strategy_trains_on_two_logical_cpus(tmp_path):
    script = textwrap.dedent(f"""
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from helpers.data import splits
        from helpers.evaluate import inference
        from helpers.train import loop, losses
        from helpers.config import Profile
        from helpers.train.recipe import TrainSettings
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        dataset = splits.generate((16, 8, 8), seed=1, cache={str(tmp_path)!r}, progress=False)
        result = loop.train("unet", dataset, profile=Profile("tiny", 16, 8, 8),
                                settings=TrainSettings(epochs=1, batch_size=8),
                                model_kwargs={SMALL_UNET!r}, strategy=strategy, run_dir={str(tmp_path / "run")!r})
        print("replicas", strategy.num_replicas_in_sync, "loss", result.history["loss"][0])
    """)
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "KERAS_BACKEND": "tensorflow"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    replicas_line = [
        line for line in done.stdout.splitlines() if line.startswith("replicas")
    ][0]
    assert replicas_line.split()[1] == "2" and np.isfinite(
        float(replicas_line.split()[3])
    )


class ScrambleInLastEpoch(keras.callbacks.Callback):
    """Replaces every trainable weight by noise before the last epoch, so that epoch
    validates worst."""

    def __init__(self, last_epoch: int) -> None:
        super().__init__()
        self.last_epoch = last_epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.last_epoch:
            rng = np.random.default_rng(0)
            for weight in self.model.trainable_weights:
                weight.assign(rng.normal(0, 3, weight.shape).astype(weight.dtype))


def test_training_keeps_the_best_validation_weights_not_the_last(dataset, tmp_path):
    result = loop.train(
        "unet",
        dataset,
        settings=THREE_EPOCHS,
        profile=TINY,
        model_kwargs=SMALL_UNET,
        run_dir=tmp_path,
        callbacks=[ScrambleInLastEpoch(last_epoch=2)],
    )
    val_loss = result.history["val_loss"]
    best = int(np.argmin(val_loss))
    assert best < 2 and result.facts["best_epoch"] == best + 1
    probabilities = result.model.predict(
        streaming.as_model_input(dataset.val.images), verbose=0
    )
    kept_loss = float(losses.SegmentationLoss()(dataset.val.masks, probabilities))
    assert kept_loss == pytest.approx(val_loss[best], rel=1e-3)
    assert kept_loss < val_loss[2] / 2


def test_the_test_confusions_add_up_to_the_saved_confusion_matrix(finished, dataset):
    confusions = artifacts.read_confusions(finished.run_dir / artifacts.CONFUSIONS_FILE)
    saved = json.loads((finished.run_dir / "metrics.json").read_text())
    assert confusions.shape == (len(dataset.test), 11, 11)
    assert confusions.sum(axis=0).tolist() == saved["confusion_matrix"]


def test_fresh_images_train_on_new_compositions_every_epoch(dataset, tmp_path):
    stream_batches = []

    class SeeBatches(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            stream_batches.append(batch)

    pixels, labels = splits.training_digits()
    result = loop.train(
        "unet",
        dataset,
        settings=THREE_EPOCHS.but(epochs=2, fresh_images=True, augment=True),
        profile=TINY,
        model_kwargs=SMALL_UNET,
        train_digits=(pixels, labels),
        run_dir=tmp_path,
        callbacks=[SeeBatches()],
    )
    assert stream_batches == [0, 1, 0, 1]  # 16 images an epoch in batches of 8
    assert result.facts["config"]["train_digits"] == len(pixels)
    assert result.facts["config"]["settings"]["fresh_images"] is True


def test_fresh_images_with_a_given_dataset_need_its_digit_pool(dataset, tmp_path):
    with pytest.raises(ValueError, match="pass train_digits"):
        loop.train(
            "unet",
            dataset,
            settings=ONE_EPOCH.but(fresh_images=True),
            profile=TINY,
            run_dir=tmp_path,
        )
    assert not tmp_path.joinpath("config.json").exists()


class LastWeights(keras.callbacks.Callback):
    """Remembers the weights the model has when training ends."""

    def on_train_end(self, logs=None):
        self.weights = [np.array(weight) for weight in self.model.get_weights()]


def test_without_patience_every_epoch_runs_and_keep_best_off_keeps_the_last(
    dataset, tmp_path
):
    last = LastWeights()
    result = loop.train(
        "unet",
        dataset,
        settings=THREE_EPOCHS.but(patience=None, keep_best=False),
        profile=TINY,
        model_kwargs=SMALL_UNET,
        run_dir=tmp_path,
        callbacks=[ScrambleInLastEpoch(last_epoch=2), last],
    )
    assert (
        result.facts["epochs_run"] == 3
        and result.facts["kept_epoch"] == 3
        and result.facts["best_epoch"] < 3
    )
    for kept, at_the_end in zip(result.model.get_weights(), last.weights):
        np.testing.assert_array_equal(kept, at_the_end)


def test_a_profile_caps_the_epochs_of_the_settings():
    capped = Profile("tiny", n_train=16, n_val=8, n_test=8, max_epochs=1)
    assert capped.epochs_of(THREE_EPOCHS.epochs) == 1
    assert TINY.epochs_of(THREE_EPOCHS.epochs) == 3


def test_the_dice_loss_is_the_one_compiled():
    model = loop.compile_for_training(
        registry.build_model("unet", **SMALL_UNET), 10, ONE_EPOCH.but(loss="dice")
    )
    assert model.loss.name == "dice" and model.loss.cross_entropy_weight == 0.0


def test_a_run_records_the_digest_of_its_network(finished):
    assert finished.facts["config"]["architecture"] == architecture.digest_of(
        "unet", SMALL_UNET
    )


def folder_files(run_dir) -> dict[str, bytes]:
    return {
        path.name: path.read_bytes() for path in run_dir.rglob("*") if path.is_file()
    }


def test_a_finished_run_of_another_network_is_refused_not_loaded(
    finished, dataset, tmp_path
):
    """As after an edit of the builder: the stored run's network is not today's."""
    run_dir = shutil.copytree(finished.run_dir, tmp_path / "run")
    config = artifacts.read_json(run_dir / "config.json")
    artifacts.write_json(run_dir / "config.json", config | {"architecture": "0" * 16})
    before = folder_files(run_dir)
    digest = architecture.digest_of("unet", SMALL_UNET)
    with pytest.raises(
        runs.RunFolderConflict,
        match=rf"architecture: '0{{16}}' -> '{digest}'.*retrain=True",
    ):
        train_small_unet(dataset, run_dir, settings=ONE_EPOCH)
    assert folder_files(run_dir) == before


class Stop(Exception):
    """Ends a run once the spied-on call has been seen."""


def stopped_run(dataset, run_dir) -> dict:
    """Starts a run that a spy stops; the config.json it wrote."""
    with pytest.raises(Stop):
        loop.train(
            "unet",
            dataset,
            settings=ONE_EPOCH,
            profile=TINY,
            model_kwargs=SMALL_UNET,
            seed=3,
            run_dir=run_dir,
        )
    return artifacts.read_json(run_dir / "config.json")


def test_the_initial_weights_draw_from_the_recorded_weights_seed(
    dataset, tmp_path, monkeypatch
):
    seeded = []

    def spy(seed):
        seeded.append(seed)
        raise Stop

    monkeypatch.setattr(keras.utils, "set_random_seed", spy)
    config = stopped_run(dataset, tmp_path)
    assert config["seed"] == 3 and config["seeds"] == runs.derived_seeds(3)
    assert seeded == [config["seeds"]["weights"]]


def test_the_training_batches_draw_from_the_recorded_data_seed(
    dataset, tmp_path, monkeypatch
):
    streams = []

    def spy(split, batch_size, seed, **kwargs):
        streams.append(seed)
        raise Stop

    monkeypatch.setattr(loop, "ShuffledSplit", spy)
    config = stopped_run(dataset, tmp_path)
    assert streams == [config["seeds"]["data"]]
    assert config["seeds"]["data"] != config["seeds"]["weights"]


class PoisonWeights(keras.callbacks.Callback):
    """Sets every trainable weight to NaN before the first epoch: a run that diverged
    at once, whose every loss is NaN."""

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 0:
            for weight in self.model.trainable_weights:
                weight.assign(np.full(weight.shape, np.nan, dtype=weight.dtype))


@pytest.fixture(scope="module")
def diverged(tiny_dataset, tmp_path_factory) -> tuple[resume.TrainResult, str]:
    """A two-epoch run whose validation loss is NaN at both epochs, and what it
    printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = train_small_unet(
            tiny_dataset,
            tmp_path_factory.mktemp("diverged"),
            [PoisonWeights()],
            THREE_EPOCHS.but(epochs=2),
        )
    return result, printed.getvalue()


def test_a_run_whose_validation_loss_is_all_nan_is_finished_as_diverged(diverged):
    result, _ = diverged
    assert np.isnan(result.history["val_loss"]).all()
    facts = artifacts.read_json(result.run_dir / "run.json")
    assert facts["diverged"] is True and facts["best_epoch"] is None
    assert facts["epochs_run"] == 2


def test_a_diverged_run_says_that_it_diverged(diverged):
    _, printed = diverged
    assert "The run diverged: its validation loss is not finite at every epoch" in (
        printed
    )


def test_a_diverged_run_is_loaded_not_trained_again(diverged, dataset):
    result, _ = diverged
    recorder = EpochRecorder()
    again = train_small_unet(
        dataset, result.run_dir, [recorder], THREE_EPOCHS.but(epochs=2)
    )
    assert recorder.epochs == [] and again.facts == result.facts


def test_a_diverged_run_that_saved_no_best_weights_names_its_last_epoch_as_kept(
    diverged,
):
    result, _ = diverged
    assert result.facts["kept_epoch"] == 2


class DeleteBestWeights(keras.callbacks.Callback):
    """Deletes the best weights the checkpoint wrote, when training ends."""

    def __init__(self, run_dir) -> None:
        super().__init__()
        self.run_dir = run_dir

    def on_train_end(self, logs=None):
        (self.run_dir / "best.weights.h5").unlink()


def test_without_best_weights_to_load_the_last_epoch_is_named_as_kept(
    dataset, tmp_path
):
    last = LastWeights()
    result = train_small_unet(
        dataset,
        tmp_path,
        [ScrambleInLastEpoch(last_epoch=2), DeleteBestWeights(tmp_path), last],
        THREE_EPOCHS.but(patience=None),
    )
    assert result.facts["best_epoch"] < 3 and result.facts["kept_epoch"] == 3
    for kept, at_the_end in zip(result.model.get_weights(), last.weights):
        np.testing.assert_array_equal(kept, at_the_end)


def stale_copy(finished, run_dir):
    """A copy of the finished run in ``run_dir`` as older code wrote it: its config has
    no ``seeds``."""
    shutil.copytree(finished.run_dir, run_dir)
    config = artifacts.read_json(run_dir / "config.json")
    del config["seeds"]
    artifacts.write_json(run_dir / "config.json", config)
    return run_dir


def test_a_committed_run_made_by_older_code_is_refused_and_left_as_it_was(
    finished, dataset, tmp_path, monkeypatch
):
    monkeypatch.setattr(runs, "COMMITTED_ARTIFACTS", tmp_path / "artifacts")
    run_dir = stale_copy(finished, tmp_path / "artifacts" / "unet" / "seed-0")
    before = folder_files(run_dir)
    with pytest.raises(
        runs.RunFolderConflict,
        match=r"committed run made by older code \(stored -> wanted: seeds: \(absent\) "
        r"-> \{'weights': \d+, 'data': \d+\}\).*retrain=True",
    ):
        train_small_unet(dataset, run_dir, settings=ONE_EPOCH)
    assert folder_files(run_dir) == before


def test_a_scratch_run_made_by_older_code_is_trained_again(finished, dataset, tmp_path):
    run_dir = stale_copy(finished, tmp_path / "run")
    recorder = EpochRecorder()
    again = train_small_unet(dataset, run_dir, [recorder], ONE_EPOCH)
    assert recorder.epochs == [0] and "seeds" in again.facts["config"]


@pytest.mark.parametrize(
    ("model_name", "model_kwargs", "error"),
    [("segnet", {}, ValueError), ("unet", {"base_filter": 4}, TypeError)],
    ids=["unknown model", "unknown keyword"],
)
def test_an_unknown_model_or_keyword_fails_before_a_run_folder_is_made(
    dataset, tmp_path, model_name, model_kwargs, error
):
    with pytest.raises(error):
        loop.train(
            model_name,
            dataset,
            settings=ONE_EPOCH,
            profile=TINY,
            model_kwargs=model_kwargs,
            run_dir=tmp_path / "run",
        )
    assert not (tmp_path / "run").exists()


DIVERGING_EARLY_STOP = THREE_EPOCHS.but(epochs=6, patience=1)
"""Keras stops a run whose every validation loss is NaN after its second epoch: the
first is its best, and no NaN is lower."""


def test_a_resumed_diverged_run_stops_early_where_an_uninterrupted_one_does(
    dataset, tmp_path
):
    whole = train_small_unet(
        dataset, tmp_path / "whole", [PoisonWeights()], DIVERGING_EARLY_STOP
    )
    assert whole.facts["epochs_run"] == 2
    with pytest.raises(KeyboardInterrupt):
        train_small_unet(
            dataset,
            tmp_path / "run",
            [PoisonWeights(), Interrupt(after_epoch=0)],
            DIVERGING_EARLY_STOP,
        )
    recorder = EpochRecorder()
    resumed = train_small_unet(
        dataset, tmp_path / "run", [recorder], DIVERGING_EARLY_STOP
    )
    assert recorder.epochs == [1] and resumed.facts["epochs_run"] == 2


def test_a_diverged_run_killed_after_stopping_early_is_finished_without_training_again(
    dataset, tmp_path
):
    with pytest.raises(KeyboardInterrupt):
        train_small_unet(
            dataset,
            tmp_path,
            [PoisonWeights(), Interrupt(after_epoch=1)],
            DIVERGING_EARLY_STOP,
        )
    recorder = EpochRecorder()
    finished = train_small_unet(dataset, tmp_path, [recorder], DIVERGING_EARLY_STOP)
    assert recorder.epochs == [] and finished.facts["epochs_run"] == 2


def test_an_edited_network_trains_in_a_folder_of_its_own(
    dataset, tmp_path, monkeypatch
):
    monkeypatch.setenv(config.ARTIFACTS_ENV, str(tmp_path))

    def edited_unet(**kwargs) -> keras.Model:
        return build_unet(**kwargs, negative_slope=0.2)

    result = loop.train(
        "unet",
        dataset,
        settings=ONE_EPOCH,
        profile=TINY,
        model_kwargs=SMALL_UNET,
        builder=edited_unet,
    )
    digest = architecture.digest_of(edited_unet, SMALL_UNET)
    assert result.run_dir == tmp_path / f"unet-{digest[:8]}" / "seed-0"
    assert (
        json.loads((result.run_dir / "config.json").read_text())["architecture"]
        == digest
    )
    assert not (tmp_path / "unet").exists()
