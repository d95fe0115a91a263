"""Specification of helpers.data.streaming: fresh training images every epoch, the same for a
seed and an epoch."""

from multiprocessing.dummy import Pool as ThreadPool

import keras
import numpy as np
import pytest
from coded_digits import labels_from_grey
from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter

from helpers import BACKGROUND, HEIGHT, NUM_CLASSES, WIDTH
from helpers.data.compose import DigitAugmentation, Split
from helpers.data.streaming import FreshCompositions, ShuffledSplit


@pytest.fixture(scope="module")
def pool(mnist_pool) -> tuple[np.ndarray, np.ndarray]:
    """300 real MNIST digits of every class, and their labels."""
    return mnist_pool


def batches_through_keras(
    stream: FreshCompositions,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """One epoch of batches as ``fit`` fetches them: in order, by ``stream.workers``
    threads when more than one."""
    adapter = PyDatasetAdapter(stream)
    adapter.on_epoch_begin()
    batches = list(adapter.get_numpy_iterator())
    adapter.on_epoch_end()
    return batches


def assert_same_batches(first, second) -> None:
    assert len(first) == len(second)
    for (images, masks), (other_images, other_masks) in zip(first, second):
        np.testing.assert_array_equal(images, other_images)
        np.testing.assert_array_equal(masks, other_masks)


def test_a_batch_holds_raw_grey_levels_for_the_model_and_int32_class_maps(pool):
    images, masks = FreshCompositions(*pool, images_per_epoch=20, batch_size=8, seed=0)[
        0
    ]
    assert images.shape == (8, HEIGHT, WIDTH, 1) and images.dtype == np.float32
    assert masks.shape == (8, HEIGHT, WIDTH) and masks.dtype == np.int32
    assert images.max() > 1 and images.max() <= 255  # grey levels 0..255, not rescaled
    assert masks.min() >= 0 and masks.max() < NUM_CLASSES


def test_every_batch_labels_each_digit_with_its_own_label(coded_pool):
    """Digits whose grey level names their label: in every batch that Keras fetches,
    each mask pixel holds the label of the digit pasted there, in its own image."""
    stream = FreshCompositions(*coded_pool, 120, 32, seed=2, workers=2)
    batches = batches_through_keras(stream)
    for images, masks in batches:
        np.testing.assert_array_equal(masks, labels_from_grey(images[..., 0]))
    shown = np.unique(np.concatenate([masks for _, masks in batches]))
    assert set(shown.tolist()) == set(range(10)) | {BACKGROUND}


def test_an_epoch_has_enough_batches_for_its_images_and_the_last_one_is_partial(pool):
    stream = FreshCompositions(*pool, images_per_epoch=20, batch_size=8, seed=0)
    assert len(stream) == 3
    assert [len(stream[index][0]) for index in range(3)] == [8, 8, 4]
    with pytest.raises(IndexError, match="3 batches"):
        stream[3]


def test_an_epochs_batches_are_the_same_with_one_worker_or_two_threads(pool):
    one = batches_through_keras(FreshCompositions(*pool, 40, 8, seed=5, workers=1))
    two = batches_through_keras(
        FreshCompositions(*pool, 40, 8, seed=5, workers=2, use_multiprocessing=False)
    )
    assert len(one) == 5
    assert_same_batches(one, two)


def test_batches_do_not_depend_on_the_order_they_are_fetched_in(pool):
    stream = FreshCompositions(*pool, 40, 8, seed=5, augmentation=DigitAugmentation())
    in_order = [stream[index] for index in range(len(stream))]
    with ThreadPool(3) as threads:
        backwards = threads.map(stream.__getitem__, reversed(range(len(stream))))
    assert_same_batches(in_order, backwards[::-1])


def test_each_epoch_composes_new_images_and_the_same_epoch_the_same_ones(pool):
    stream = FreshCompositions(*pool, 24, 8, seed=1)
    first, second = stream.epoch_images(0), stream.epoch_images(1)
    assert not np.array_equal(first.images, second.images)
    np.testing.assert_array_equal(
        FreshCompositions(*pool, 24, 8, seed=1).epoch_images(1).images, second.images
    )
    assert not np.array_equal(
        FreshCompositions(*pool, 24, 8, seed=2).epoch_images(1).images, second.images
    )


def test_epoch_images_are_the_batches_of_that_epoch(pool):
    stream = FreshCompositions(*pool, 20, 8, seed=3)
    stream.epoch = 2
    images, masks = (
        np.concatenate(parts)
        for parts in zip(*(stream[index] for index in range(len(stream))))
    )
    epoch = stream.epoch_images(2)
    np.testing.assert_array_equal(epoch.images, images[..., 0])
    np.testing.assert_array_equal(epoch.masks, masks)


def test_augmentation_changes_the_digits_but_not_where_they_go(pool):
    plain = FreshCompositions(*pool, 16, 8, seed=4).epoch_images(0)
    augmented = FreshCompositions(
        *pool, 16, 8, seed=4, augmentation=DigitAugmentation()
    ).epoch_images(0)
    assert not np.array_equal(plain.images, augmented.images)
    np.testing.assert_array_equal(augmented.masks != 10, augmented.images > 0)


class RecordingStream(FreshCompositions):
    """Records the epoch and index of every batch it composes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.composed: list[tuple[int, int]] = []

    def __getitem__(self, index):
        self.composed.append((self.epoch, index))
        return super().__getitem__(index)


def tiny_model() -> keras.Model:
    inputs = keras.Input((HEIGHT, WIDTH, 1))
    outputs = keras.layers.Conv2D(NUM_CLASSES, 1, activation="softmax")(
        keras.layers.Rescaling(1 / 255)(inputs)
    )
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("workers", [1, 2])
def test_fit_trains_each_epoch_on_the_batches_of_that_epoch(pool, workers):
    stream = RecordingStream(*pool, 24, 8, seed=0, workers=workers)
    tiny_model().fit(stream, epochs=2, callbacks=[stream.epoch_callback()], verbose=0)
    assert {epoch for epoch, _ in stream.composed} == {0, 1}
    for epoch in (0, 1):
        assert {index for seen, index in stream.composed if seen == epoch} == {0, 1, 2}


def test_a_resumed_fit_composes_the_batches_of_the_epoch_it_resumes_at(pool):
    stream = RecordingStream(*pool, 24, 8, seed=0)
    tiny_model().fit(
        stream,
        epochs=3,
        initial_epoch=2,
        callbacks=[stream.epoch_callback()],
        verbose=0,
    )
    assert stream.epoch == 2
    assert {index for seen, index in stream.composed if seen == 2} == {0, 1, 2}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"images_per_epoch": 0}, "images_per_epoch.*0"),
        ({"batch_size": 0}, "batch_size.*0"),
        (
            {
                "pixels": np.zeros((0, 28, 28), np.uint8),
                "labels": np.zeros(0, np.uint8),
            },
            "empty",
        ),
        ({"labels": np.zeros(299, np.uint8)}, r"\(300,\), got \(299,\)"),
        ({"seed": -1}, "seed.*-1"),
    ],
    ids=["no images", "empty batches", "empty pool", "fewer labels", "negative seed"],
)
def test_bad_input_is_rejected_by_name(pool, change, message):
    arguments = {
        "pixels": pool[0],
        "labels": pool[1],
        "images_per_epoch": 24,
        "batch_size": 8,
        "seed": 0,
    } | change
    with pytest.raises(ValueError, match=message):
        FreshCompositions(**arguments)


# --------------------------------------------------------------------------- a fixed
# split, reshuffled


def numbered_split(n: int) -> Split:
    """``n`` images whose grey level at (0, 0) is their index, so a batch says which
    images it holds."""
    images = np.zeros((n, HEIGHT, WIDTH), np.uint8)
    images[:, 0, 0] = np.arange(n)
    return Split(images, np.zeros((n, HEIGHT, WIDTH), np.uint8))


def epoch_order(split: ShuffledSplit, epoch: int) -> list[int]:
    split.epoch = epoch
    return [
        int(index)
        for batch in range(len(split))
        for index in split[batch][0][:, 0, 0, 0]
    ]


def test_a_shuffled_split_shows_every_example_once_an_epoch_in_a_new_order_each_epoch():
    split = ShuffledSplit(numbered_split(20), batch_size=8, seed=0)
    orders = [epoch_order(split, epoch) for epoch in range(3)]
    assert all(sorted(order) == list(range(20)) for order in orders)
    assert [len(split[batch][0]) for batch in range(len(split))] == [8, 8, 4]
    assert (
        orders[0] != orders[1] and orders[1] != orders[2]
    )  # Keras' own shuffling repeats under a global seed


def test_a_shuffled_splits_order_depends_on_the_seed_and_the_epoch_alone():
    first, again = (
        ShuffledSplit(numbered_split(20), batch_size=8, seed=3) for _ in range(2)
    )
    epoch_order(first, 0)  # a run that went through epoch 0 ...
    assert epoch_order(first, 1) == epoch_order(
        again, 1
    )  # ... and one resumed at epoch 1 see the same batches
    assert epoch_order(first, 1) != epoch_order(
        ShuffledSplit(numbered_split(20), batch_size=8, seed=4), 1
    )
