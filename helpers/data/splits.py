"""M2NIST data: load the original Kaggle files or generate the same format.

M2NIST images are 64x84 grey images of 2 or 3 MNIST digits side by side; masks
give each pixel one of 11 classes (digits 0-9 and 10 = background). Both are
``uint8 (N, 64, 84)`` arrays (one-hot masks, 11 times larger, only a batch at a
time: :func:`one_hot`). Each generated split is composed from its own pool of
real MNIST digits (:func:`helpers.data.mnist.digit_pools`): training digits
0..49,999 for training, 50,000..59,999 for validation, and the 10,000 test
digits, written by other people, for test.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from helpers import HEIGHT, NUM_CLASSES, WIDTH
from helpers.checks import are_whole
from helpers.config import PROFILES, Profile, cache_dir, display_path
from helpers.data import mnist
from helpers.data.compose import Split, compose_images

KAGGLE_ENV = "M2NIST_DIR"
KAGGLE_IMAGES = "combined.npy"
KAGGLE_MASKS = "segmented.npy"
GENERATOR_VERSION = 4
"""The version of the generated data (4: composed from all of MNIST, its own three
splits as the digit pools)."""
DEFAULT_SPLIT = (
    PROFILES["full"].n_train,
    PROFILES["full"].n_val,
    PROFILES["full"].n_test,
)
"""Images per split (train, validation, test): those of the full profile, the book's
results.

4,000 training images an epoch (composed anew every epoch by the book's
recipe, from 50,000 training digits), 1,000 validation images, so that the
score checked after every epoch varies little, and 3,000 fixed test images
from the 10,000 MNIST test digits, so that test scores have tight intervals.
"""
_CHUNK = 256


class Dataset(NamedTuple):
    """The three splits of an experiment."""

    train: Split
    val: Split
    test: Split

    def for_profile(self, profile: Profile) -> Dataset:
        """The subset of each split that a profile trains and evaluates on."""
        return Dataset(
            self.train.head(profile.n_train),
            self.val.head(profile.n_val),
            self.test.head(profile.n_test),
        )


# ---------------------------------------------------------------------------
# conversions


def one_hot(masks: np.ndarray, dtype: str = "float32") -> np.ndarray:
    """Class maps ``(..., 64, 84)`` -> one-hot ``(..., 64, 84, 11)``; use it batch by
    batch."""
    masks = np.asarray(masks)
    if masks.size and (masks.min() < 0 or masks.max() >= NUM_CLASSES):
        raise ValueError(
            f"class maps must hold values 0..{NUM_CLASSES - 1}, got "
            f"{masks.min()}..{masks.max()}"
        )
    return np.eye(NUM_CLASSES, dtype=dtype)[masks]


def class_maps(one_hot_masks: np.ndarray, name: str = "masks") -> np.ndarray:
    """One-hot masks ``(N, 64, 84, 11)`` of any numeric dtype -> ``uint8`` class maps.

    Converts in chunks, so a memory-mapped 2.5 GB int64 file never has to be
    held as a whole; raises if any pixel is not exactly one-hot.
    """
    _check_shape(one_hot_masks, (HEIGHT, WIDTH, NUM_CLASSES), name)
    result = np.empty(one_hot_masks.shape[:3], dtype=np.uint8)
    for start in range(0, len(one_hot_masks), _CHUNK):
        chunk = np.asarray(one_hot_masks[start : start + _CHUNK])
        if not np.isin(chunk, (0, 1)).all():
            bad = chunk[~np.isin(chunk, (0, 1))].flat[0]
            raise ValueError(
                f"{name}: masks must be one-hot (0/1 values), found {bad!r} near image "
                f"{start}"
            )
        per_pixel = chunk.sum(axis=-1)
        if not (per_pixel == 1).all():
            image = start + int(np.argwhere(per_pixel != 1)[0][0])
            raise ValueError(
                f"{name}: masks are not one-hot: image {image} has a pixel with "
                f"{per_pixel.max()} classes set or none"
            )
        result[start : start + _CHUNK] = chunk.argmax(axis=-1)
    return result


def _check_shape(array: np.ndarray, trailing: tuple[int, ...], name: str) -> None:
    expected = (None, *trailing)
    if array.ndim != len(expected) or tuple(array.shape[1:]) != trailing:
        raise ValueError(
            f"{name}: expected shape (N, {', '.join(map(str, trailing))}), got "
            f"{tuple(array.shape)}"
        )


def check_images(images: np.ndarray, name: str = "images") -> np.ndarray:
    """Validate grey images ``(N, 64, 84)`` with values 0..255 and return them as
    ``uint8``."""
    images = np.asarray(images)
    _check_shape(images, (HEIGHT, WIDTH), name)
    if not (
        np.issubdtype(images.dtype, np.integer)
        or np.issubdtype(images.dtype, np.floating)
    ):
        raise ValueError(f"{name}: expected a numeric dtype, got {images.dtype}")
    if images.size:
        low, high = images.min(), images.max()
        if low < 0 or high > 255 or not np.isfinite(high):
            raise ValueError(
                f"{name}: grey levels must lie in 0..255, got {low}..{high}"
            )
        if np.issubdtype(images.dtype, np.floating) and not np.array_equal(
            images, np.round(images)
        ):
            raise ValueError(
                f"{name}: grey levels must be whole numbers 0..255 (got fractional "
                "values)"
            )
    return images.astype(np.uint8)


# --------------------------------------------------------------------------- Kaggle
# files


def _load_npy(path: Path) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"M2NIST file not found: {path}")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise ValueError(
            f"{path} is not a readable .npy array (corrupt or truncated?): {error}"
        ) from error


def load_kaggle(folder: str | os.PathLike | None = None) -> Split:
    """Load the original M2NIST files ``combined.npy`` and ``segmented.npy``.

    ``folder`` defaults to ``$M2NIST_DIR``. Any integer or float dtype holding
    the right values is accepted (Kaggle ships int64); the result is compact.
    """
    if folder is None:
        folder = os.environ.get(KAGGLE_ENV)
        if not folder:
            raise ValueError(f"no M2NIST folder given: pass one or set ${KAGGLE_ENV}")
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"M2NIST folder not found: {folder}")
    raw_images = _load_npy(folder / KAGGLE_IMAGES)
    raw_masks = _load_npy(folder / KAGGLE_MASKS)
    images = check_images(raw_images, name=str(folder / KAGGLE_IMAGES))
    masks = class_maps(raw_masks, name=str(folder / KAGGLE_MASKS))
    if len(images) != len(masks):
        raise ValueError(f"{folder}: {len(images)} images but {len(masks)} masks")
    return Split(images, masks)


def split_kaggle(data: Split, sizes: tuple[int, int, int] = DEFAULT_SPLIT) -> Dataset:
    """Split the Kaggle images in file order (train first), scaled down if the file is
    smaller."""
    total = sum(sizes)
    n = len(data)
    n_train = n * sizes[0] // total
    n_val = n * sizes[1] // total
    cut = [0, n_train, n_train + n_val, n]
    return Dataset(
        *(Split(data.images[a:b], data.masks[a:b]) for a, b in zip(cut, cut[1:]))
    )


# --------------------------------------------------------------------------- generator


def split_rng(seed: int, split_index: int) -> np.random.Generator:
    """The random stream of one split, independent of the other splits' sizes."""
    return np.random.default_rng([seed, split_index])


def digits_source() -> dict[str, str]:
    """Where the digits of generated data come from: MNIST, named by its content
    hash."""
    return {"source": "MNIST", "sha256": mnist.CONTENT_SHA256}


def _cache_key(sizes: tuple[int, int, int], seed: int) -> str:
    params = {
        "sizes": list(sizes),
        "seed": seed,
        "generator": GENERATOR_VERSION,
        "digits": digits_source(),
    }
    return json.dumps(params, sort_keys=True)


def _cache_path(key: str, folder: Path) -> Path:
    return folder / f"m2nist-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"


def _read_cache(path: Path, key: str, sizes: tuple[int, int, int]) -> Dataset | None:
    """The cached dataset, or None (with a warning) if the file is unreadable or does
    not match."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["key"]) != key:
                raise ValueError("its key does not match the requested parameters")
            splits = []
            for name, size in zip(Dataset._fields, sizes):
                split = Split(stored[f"{name}_images"], stored[f"{name}_masks"])
                if split.images.shape != (size, HEIGHT, WIDTH) or split.masks.shape != (
                    size,
                    HEIGHT,
                    WIDTH,
                ):
                    raise ValueError(
                        f"its {name} split has shape {split.images.shape}, expected "
                        f"{(size, HEIGHT, WIDTH)}"
                    )
                splits.append(split)
    except (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile) as error:
        warnings.warn(
            f"ignoring cache file {path} ({error}); regenerating it", stacklevel=3
        )
        return None
    return Dataset(*splits)


def _write_cache(path: Path, key: str, dataset: Dataset) -> None:
    """Write atomically: a crash leaves the old file or none, never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {
        f"{name}_{part}": getattr(split, part)
        for name, split in dataset._asdict().items()
        for part in Split._fields
    }
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez_compressed(file, key=np.array(key), **arrays)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _check_sizes(sizes: tuple[int, ...]) -> tuple[int, int, int]:
    """``sizes`` as three positive image counts (train, val, test), or a ValueError
    naming them."""
    if not are_whole(sizes, 3, minimum=1):
        raise ValueError(
            f"sizes must be three positive image counts (train, val, test), got {sizes}"
        )
    return tuple(int(n) for n in sizes)


def generate(
    sizes: tuple[int, int, int] = DEFAULT_SPLIT,
    seed: int = 0,
    cache: str | os.PathLike | None = None,
    progress: bool = True,
) -> Dataset:
    """Generate M2NIST train / val / test splits of ``sizes`` images from all of MNIST.

    Each split composes its images from a digit pool of its own
    (:func:`helpers.data.mnist.digit_pools`): MNIST's training digits 0..49,999,
    its validation digits 50,000..59,999 and its 10,000 test digits, so test
    scores measure generalisation to handwriting of other people. Deterministic
    for a given seed; cached as compressed ``.npz`` in ``cache`` (default
    :func:`helpers.config.cache_dir`) keyed by the parameters and MNIST's
    content hash.
    """
    sizes = _check_sizes(sizes)
    key = _cache_key(sizes, seed)
    path = _cache_path(key, Path(cache) if cache is not None else cache_dir())
    cached = _read_cache(path, key, sizes)
    if cached is not None:
        return cached
    if progress:
        print(
            f"Generating M2NIST-format data {sizes} from MNIST (seed {seed}) into "
            f"{display_path(path)} ...",
            flush=True,
        )
    splits = []
    for index, (name, (pixels, labels), size) in enumerate(
        zip(Dataset._fields, mnist.digit_pools(), sizes)
    ):
        splits.append(compose_images(pixels, labels, size, split_rng(seed, index)))
        if progress:
            print(
                f"  {name}: {size:,} images from {len(pixels):,} digits of its own",
                flush=True,
            )
    dataset = Dataset(*splits)
    _write_cache(path, key, dataset)
    return dataset


def training_digits() -> tuple[np.ndarray, np.ndarray]:
    """Pixels ``uint8 (50000, 28, 28)`` and labels of the training digit pool: MNIST's
    training digits 0..49,999.

    Fresh training images composed from these digits never show a digit of
    the validation or test split.
    """
    return mnist.digit_pools().train


def load_m2nist(
    folder: str | os.PathLike | None = None,
    seed: int = 0,
    sizes: tuple[int, int, int] = DEFAULT_SPLIT,
) -> Dataset:
    """The book's data set: the Kaggle files if a folder (or ``$M2NIST_DIR``) is given,
    else generated from MNIST.

    The Kaggle images are split in the proportions of ``sizes``.
    """
    folder = folder or os.environ.get(KAGGLE_ENV)
    if folder:
        return split_kaggle(load_kaggle(folder), sizes)
    return generate(sizes, seed=seed)


def describe_source(
    folder: str | os.PathLike | None = None,
    seed: int = 0,
    sizes: tuple[int, int, int] = DEFAULT_SPLIT,
) -> dict[str, Any]:
    """What :func:`load_m2nist` with these arguments returns, as a run's configuration
    records it.

    Generated data: the generator's version, the split sizes, the seed and the
    digits' source (MNIST and its content hash), which together fix every
    image. The Kaggle files: their folder and the split sizes. A run is reused
    only on the data it was scored on.
    """
    folder = folder or os.environ.get(KAGGLE_ENV)
    if folder:
        return {"kaggle": str(Path(folder).resolve()), "sizes": list(sizes)}
    return {
        "generator": GENERATOR_VERSION,
        "sizes": list(sizes),
        "seed": seed,
        "digits": digits_source(),
    }


def is_kaggle(folder: str | os.PathLike | None = None) -> bool:
    """Whether :func:`load_m2nist` with ``folder`` reads the Kaggle files (a folder is
    given or ``$M2NIST_DIR`` is set) rather than generating data."""
    return bool(folder or os.environ.get(KAGGLE_ENV))


def digit_classes_per_image(masks: np.ndarray) -> np.ndarray:
    """How many different digit classes each mask holds (two equal digits count
    once)."""
    present = np.stack(
        [(masks == digit).any(axis=(1, 2)) for digit in range(10)], axis=1
    )
    return present.sum(axis=1)


def example_index(split: Split) -> int:
    """The book's example image: the first of ``split`` whose mask holds three different
    digits."""
    candidates = np.flatnonzero(digit_classes_per_image(split.masks) == 3)
    if not len(candidates):
        raise ValueError(
            f"no image of the {len(split)} in the split holds three different digits"
        )
    return int(candidates[0])
