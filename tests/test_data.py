"""Specification of helpers.data.splits: the Kaggle format, the generator and its cache."""

import re
from pathlib import Path

import numpy as np
import pytest
from coded_digits import label_coded, labels_from_grey

from helpers import BACKGROUND, HEIGHT, NUM_CLASSES, WIDTH
from helpers.data import compose, mnist, splits

SIZES = (400, 40, 40)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> splits.Dataset:
    return splits.generate(
        SIZES, seed=3, cache=tmp_path_factory.mktemp("cache"), progress=False
    )


def write_kaggle(folder: Path, images: np.ndarray, one_hot_masks: np.ndarray) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "combined.npy", images)
    np.save(folder / "segmented.npy", one_hot_masks)
    return folder


# --------------------------------------------------------------------------- generator
# invariants


def test_generated_splits_have_the_requested_sizes_and_compact_dtypes(dataset):
    for split, size in zip(dataset, SIZES):
        assert split.images.shape == split.masks.shape == (size, HEIGHT, WIDTH)
        assert split.images.dtype == split.masks.dtype == np.uint8


def test_foreground_is_exactly_where_the_image_is_bright(dataset):
    for split in dataset:
        np.testing.assert_array_equal(split.masks != BACKGROUND, split.images > 0)


def test_every_pixel_has_one_class(dataset):
    masks = np.concatenate([split.masks for split in dataset])
    assert masks.max() < NUM_CLASSES
    np.testing.assert_array_equal(splits.one_hot(masks).sum(axis=-1), 1)


def test_images_hold_two_digits_and_sometimes_a_third(dataset):
    counts = splits.digit_classes_per_image(dataset.train.masks)
    assert set(counts) <= {1, 2, 3}  # 1 when both digits share a class
    assert (counts == 2).mean() > 0.8 and (counts == 3).mean() < 0.1


def test_background_takes_about_95_percent_of_pixels_like_the_real_files(dataset):
    share = (dataset.train.masks == BACKGROUND).mean()
    assert 0.93 < share < 0.96  # the Kaggle sample has 94.6 %


def test_the_recorded_source_of_generated_data_names_mnist_by_its_content_hash(
    monkeypatch,
):
    monkeypatch.delenv("M2NIST_DIR", raising=False)
    source = splits.describe_source(seed=4, sizes=(30, 10, 20))
    assert source == {
        "generator": splits.GENERATOR_VERSION,
        "sizes": [30, 10, 20],
        "seed": 4,
        "digits": {"source": "MNIST", "sha256": mnist.CONTENT_SHA256},
    }


def test_the_recorded_source_of_the_kaggle_files_is_their_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("M2NIST_DIR", str(tmp_path))
    assert splits.describe_source()["kaggle"] == str(tmp_path.resolve())


@pytest.mark.parametrize(
    "sizes", [(10, 0, 5), (10, 5), (10, 5, 2.5)], ids=["empty", "two", "fraction"]
)
def test_impossible_image_counts_are_rejected_with_their_value(tmp_path, sizes):
    with pytest.raises(
        ValueError,
        match=r"sizes must be three positive image counts.*" + re.escape(str(sizes)),
    ):
        splits.generate(sizes, cache=tmp_path, progress=False)
    assert not list(tmp_path.iterdir())


def record_digit_pools(monkeypatch) -> list[tuple[np.ndarray, np.ndarray]]:
    """Make ``generate`` record the digits (pixels, labels) it hands to each split, in
    split order."""
    pools: list[tuple[np.ndarray, np.ndarray]] = []
    compose_images = compose.compose_images

    def recording(pool_pixels, pool_labels, n_images, rng):
        pools.append((pool_pixels, pool_labels))
        return compose_images(pool_pixels, pool_labels, n_images, rng)

    monkeypatch.setattr(splits, "compose_images", recording)
    return pools


def test_each_split_is_composed_from_its_own_mnist_split(tmp_path, monkeypatch):
    """Training: MNIST training digits 0..49,999; validation: 50,000..59,999; test: the
    10,000 MNIST test digits, written by other people."""
    pools = record_digit_pools(monkeypatch)
    splits.generate(SIZES, seed=3, cache=tmp_path, progress=False)

    digits = mnist.load_mnist()
    expected = [
        (digits.x_train[:50_000], digits.y_train[:50_000]),
        (digits.x_train[50_000:], digits.y_train[50_000:]),
        (digits.x_test, digits.y_test),
    ]
    assert len(pools) == 3
    for (pixels, labels), (want_pixels, want_labels) in zip(pools, expected):
        np.testing.assert_array_equal(pixels, want_pixels)
        np.testing.assert_array_equal(labels, want_labels)


def test_no_digit_of_a_split_is_shown_by_another_splits_images(tmp_path, monkeypatch):
    """MNIST with each digit's grey level naming its split and label: every image
    holds the digits of its own split only, and every mask pixel the label of the
    digit pasted there."""
    real = mnist.load_mnist()
    split_of = np.concatenate([np.zeros(50_000, int), np.ones(10_000, int)])

    def coded(pixels, labels, split):  # grey 30 + 20 * label + split (0, 1 or 2)
        return np.where(pixels > 0, label_coded(pixels, labels) + split, 0)

    fake = mnist.MNIST(
        coded(real.x_train, real.y_train, split_of[:, None, None]).astype(np.uint8),
        real.y_train,
        coded(real.x_test, real.y_test, 2).astype(np.uint8),
        real.y_test,
    )
    monkeypatch.setattr(mnist, "load_mnist", lambda: fake)
    dataset = splits.generate(SIZES, seed=3, cache=tmp_path, progress=False)

    for split_index, split in enumerate(dataset):
        grey = split.images[split.images > 0].astype(int)
        assert set(((grey - 30) % 20).tolist()) == {split_index}
        np.testing.assert_array_equal(
            split.masks,
            labels_from_grey(split.images - (split.images > 0) * split_index),
        )
    assert set(np.unique(dataset.test.masks)) == set(range(10)) | {BACKGROUND}


def test_training_digits_are_the_training_pool(tmp_path, monkeypatch):
    pools = record_digit_pools(monkeypatch)
    splits.generate(SIZES, seed=3, cache=tmp_path, progress=False)
    pixels, labels = splits.training_digits()
    np.testing.assert_array_equal(pixels, pools[0][0])
    np.testing.assert_array_equal(labels, pools[0][1])
    assert len(pixels) == mnist.TRAIN_DIGITS == 50_000


def test_test_images_are_made_only_of_mnist_test_digits(dataset):
    digits = mnist.load_mnist()
    rebuilt = compose.compose_images(
        digits.x_test, digits.y_test, SIZES[2], splits.split_rng(3, 2)
    )
    np.testing.assert_array_equal(rebuilt.images, dataset.test.images)
    np.testing.assert_array_equal(rebuilt.masks, dataset.test.masks)


def test_generation_is_deterministic_for_a_seed(tmp_path):
    first = splits.generate(SIZES, seed=5, cache=tmp_path / "a", progress=False)
    second = splits.generate(SIZES, seed=5, cache=tmp_path / "b", progress=False)
    other = splits.generate(SIZES, seed=6, cache=tmp_path / "c", progress=False)
    np.testing.assert_array_equal(first.test.images, second.test.images)
    assert not np.array_equal(first.test.images, other.test.images)


# --------------------------------------------------------------------------- cache


def test_second_call_reads_the_cache(tmp_path, monkeypatch):
    splits.generate(SIZES, seed=2, cache=tmp_path, progress=False)
    monkeypatch.setattr(
        mnist, "digit_pools", lambda: pytest.fail("regenerated although cached")
    )
    again = splits.generate(SIZES, seed=2, cache=tmp_path, progress=False)
    assert len(again.train) == SIZES[0]


def test_a_cache_file_that_does_not_match_its_key_is_regenerated(tmp_path):
    reference = splits.generate(SIZES, seed=2, cache=tmp_path, progress=False)
    (cached,) = tmp_path.glob("*.npz")
    np.savez_compressed(cached, key=np.array("something else"))
    with pytest.warns(UserWarning, match="regenerating"):
        regenerated = splits.generate(SIZES, seed=2, cache=tmp_path, progress=False)
    np.testing.assert_array_equal(regenerated.val.masks, reference.val.masks)


def test_data_cached_from_other_digits_is_not_read(tmp_path, monkeypatch):
    """The cache is keyed by MNIST's content hash: data composed from other digits
    is generated anew, beside it."""
    splits.generate(SIZES, seed=2, cache=tmp_path, progress=False)
    monkeypatch.setattr(mnist, "CONTENT_SHA256", "0" * 64)
    pools = record_digit_pools(monkeypatch)
    splits.generate(SIZES, seed=2, cache=tmp_path, progress=False)
    assert len(pools) == 3
    assert len(list(tmp_path.glob("*.npz"))) == 2


def test_a_truncated_cache_file_is_regenerated(tmp_path):
    splits.generate(SIZES, seed=2, cache=tmp_path, progress=False)
    (cached,) = tmp_path.glob("*.npz")
    cached.write_bytes(cached.read_bytes()[:100])
    with pytest.warns(UserWarning, match=cached.name):
        splits.generate(SIZES, seed=2, cache=tmp_path, progress=False)
    assert len(list(tmp_path.iterdir())) == 1  # no temporary file left behind


# --------------------------------------------------------------------------- Kaggle
# files


@pytest.mark.parametrize(
    "image_dtype, mask_dtype",
    [
        (np.int64, np.int64),
        (np.float32, np.int32),
        (np.uint8, np.uint8),
        (np.float64, np.float32),
    ],
)
def test_kaggle_files_in_any_dtype_load_as_compact_arrays(
    tmp_path, dataset, image_dtype, mask_dtype
):
    split = dataset.val
    folder = write_kaggle(
        tmp_path,
        split.images.astype(image_dtype),
        splits.one_hot(split.masks, dtype=mask_dtype),
    )
    loaded = splits.load_kaggle(folder)
    assert loaded.images.dtype == loaded.masks.dtype == np.uint8
    np.testing.assert_array_equal(loaded.images, split.images)
    np.testing.assert_array_equal(loaded.masks, split.masks)


def test_kaggle_folder_comes_from_the_environment(tmp_path, dataset, monkeypatch):
    folder = write_kaggle(
        tmp_path, dataset.test.images, splits.one_hot(dataset.test.masks, dtype="int64")
    )
    monkeypatch.setenv("M2NIST_DIR", str(folder))
    loaded = splits.load_m2nist()
    assert sum(len(split) for split in loaded) == SIZES[2]
    np.testing.assert_array_equal(
        loaded.train.images, dataset.test.images[: len(loaded.train)]
    )


def test_load_m2nist_generates_the_requested_sizes(monkeypatch):
    monkeypatch.delenv("M2NIST_DIR", raising=False)
    loaded = splits.load_m2nist(seed=4, sizes=(30, 10, 20))
    expected = splits.generate((30, 10, 20), seed=4, progress=False)
    assert [len(split) for split in loaded] == [30, 10, 20]
    np.testing.assert_array_equal(loaded.test.images, expected.test.images)


def test_load_m2nist_splits_the_kaggle_files_in_the_proportions_of_sizes(
    tmp_path, dataset
):
    folder = write_kaggle(
        tmp_path,
        dataset.train.images,
        splits.one_hot(dataset.train.masks, dtype="uint8"),
    )
    loaded = splits.load_m2nist(folder, sizes=(2, 1, 1))
    assert [len(split) for split in loaded] == [200, 100, 100]


def test_a_run_on_the_kaggle_files_refuses_fresh_compositions_and_writes_nothing(
    tmp_path, dataset, monkeypatch
):
    """The Kaggle files hold composed images, no single digits: a recipe that composes
    fresh training images would mix MNIST compositions with Kaggle test images."""
    from helpers.train import loop
    from helpers.train.recipe import preset

    folder = write_kaggle(
        tmp_path / "kaggle", dataset.val.images, splits.one_hot(dataset.val.masks)
    )
    monkeypatch.setenv("M2NIST_DIR", str(folder))
    run_dir = tmp_path / "run"
    with pytest.raises(ValueError, match=r'preset\("fixed-split"\).*M2NIST_DIR'):
        loop.train("unet", settings=preset("book"), run_dir=run_dir)
    assert not run_dir.exists()


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        splits.load_kaggle(tmp_path / "nowhere")


def test_missing_file_is_named(tmp_path, dataset):
    np.save(tmp_path / "combined.npy", dataset.val.images)
    with pytest.raises(FileNotFoundError, match="segmented.npy"):
        splits.load_kaggle(tmp_path)


def test_truncated_npy_is_reported_with_its_path(tmp_path, dataset):
    write_kaggle(tmp_path, dataset.val.images, splits.one_hot(dataset.val.masks))
    path = tmp_path / "segmented.npy"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match="segmented.npy"):
        splits.load_kaggle(tmp_path)


def test_wrong_image_shape_is_reported(tmp_path, dataset):
    write_kaggle(
        tmp_path, dataset.val.images[:, :, :80], splits.one_hot(dataset.val.masks)
    )
    with pytest.raises(ValueError, match=r"\(40, 64, 80\)"):
        splits.load_kaggle(tmp_path)


def test_wrong_mask_shape_is_reported(tmp_path, dataset):
    write_kaggle(
        tmp_path, dataset.val.images, splits.one_hot(dataset.val.masks)[..., :10]
    )
    with pytest.raises(ValueError, match=r"\(40, 64, 84, 10\)"):
        splits.load_kaggle(tmp_path)


def test_masks_that_are_not_one_hot_are_rejected(tmp_path, dataset):
    masks = splits.one_hot(dataset.val.masks)
    masks[3, 10, 10, :] = 0
    write_kaggle(tmp_path, dataset.val.images, masks)
    with pytest.raises(ValueError, match="not one-hot: image 3"):
        splits.load_kaggle(tmp_path)


def test_mask_values_other_than_0_and_1_are_rejected(tmp_path, dataset):
    masks = splits.one_hot(dataset.val.masks)
    masks[0, 0, 0] *= 255
    write_kaggle(tmp_path, dataset.val.images, masks)
    with pytest.raises(ValueError, match="0/1"):
        splits.load_kaggle(tmp_path)


@pytest.mark.parametrize("bad_value", [-1.0, 256.0, 12.5])
def test_grey_levels_outside_0_255_are_rejected(tmp_path, dataset, bad_value):
    images = dataset.val.images.astype(np.float32)
    images[0, 0, 0] = bad_value
    write_kaggle(tmp_path, images, splits.one_hot(dataset.val.masks))
    with pytest.raises(ValueError, match="grey levels"):
        splits.load_kaggle(tmp_path)


def test_image_and_mask_counts_must_agree(tmp_path, dataset):
    write_kaggle(tmp_path, dataset.val.images[:5], splits.one_hot(dataset.val.masks))
    with pytest.raises(ValueError, match="5 images but 40 masks"):
        splits.load_kaggle(tmp_path)


def test_one_hot_rejects_out_of_range_classes():
    with pytest.raises(ValueError, match="0..10"):
        splits.one_hot(np.array([[11]]))


def test_the_example_image_is_the_first_with_three_different_digits():
    masks = np.full((4, HEIGHT, WIDTH), BACKGROUND, dtype=np.uint8)
    masks[1, 0, :3] = [1, 1, 2]  # two classes only
    masks[2, 0, :3] = [1, 2, 3]
    masks[3, 0, :3] = [4, 5, 6]
    split = compose.Split(np.zeros_like(masks), masks)
    assert splits.example_index(split) == 2


def test_a_split_without_three_different_digits_has_no_example():
    masks = np.full((2, HEIGHT, WIDTH), BACKGROUND, dtype=np.uint8)
    with pytest.raises(ValueError, match="three different digits"):
        splits.example_index(compose.Split(np.zeros_like(masks), masks))
