"""Training batches that depend on the epoch alone, as Keras inputs: fresh compositions,
or a fixed split reshuffled.

:class:`FreshCompositions` hands ``model.fit`` a new set of M2NIST images
every epoch, composed from a pool of training digits by
:func:`helpers.data.compose.compose_images` (optionally with
:class:`~helpers.data.compose.DigitAugmentation`). A model then never sees the
same image twice, while every digit it sees stays in the training pool.

Batch ``i`` of epoch ``e`` is drawn from a random stream seeded by
``(seed, e, i)`` alone, so an epoch's batches are the same whatever the
number of workers and the order Keras fetches them in. The epoch number is
set by the callback of :meth:`FreshCompositions.epoch_callback`, before
Keras asks for the epoch's first batch: ``fit`` calls the callbacks'
``on_epoch_begin`` and only then starts the epoch's iterator (and its
workers), and every backend's iterator covers one epoch, so prefetching
never reaches into the next one. A run resumed at epoch ``k`` (Keras'
``BackupAndRestore``) gets ``on_epoch_begin(k)`` too, and composes the
images that epoch ``k`` of an uninterrupted run had.

:class:`ShuffledSplit` does the same for a fixed training split: its order in
epoch ``e`` is drawn from ``(seed, e)`` alone (Keras' own shuffling draws from
a global stream that a resumed run restarts), so a resumed run trains on the
batches an uninterrupted one would have.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from helpers.checks import is_whole
from helpers.data.compose import DigitAugmentation, Split, check_digits, compose_images
from helpers.data.splits import check_images


class EpochBatches(keras.utils.PyDataset):
    """Batches that are a function of ``(seed, epoch, batch)``; :meth:`epoch_callback`
    tells them the epoch."""

    epoch = 0

    def epoch_callback(self) -> keras.callbacks.Callback:
        """A callback that tells this input the number of each epoch as it begins
        (resumed runs included)."""
        return _SetEpoch(self)


class ShuffledSplit(EpochBatches):
    """A fixed split in batches of ``(model input, int32 class maps)``, in a new order
    every epoch, drawn from ``(seed, epoch)``."""

    def __init__(
        self, split: Split, batch_size: int, seed: int, **pydataset_kwargs
    ) -> None:
        super().__init__(**pydataset_kwargs)
        _check_whole(batch_size=batch_size, seed=seed)
        self.split, self.batch_size, self.seed = split, int(batch_size), int(seed)

    def __len__(self) -> int:
        return math.ceil(len(self.split) / self.batch_size)

    def order(self, epoch: int) -> np.ndarray:
        """The order of the split's examples in ``epoch``."""
        return np.random.default_rng(
            np.random.SeedSequence(self.seed, spawn_key=(epoch,))
        ).permutation(len(self.split))

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= index < len(self):
            raise IndexError(
                f"batch {index} out of range: an epoch has {len(self)} batches"
            )
        chosen = np.sort(
            self.order(self.epoch)[
                index * self.batch_size : (index + 1) * self.batch_size
            ]
        )
        return as_model_input(self.split.images[chosen]), self.split.masks[
            chosen
        ].astype(np.int32)


def _check_whole(**values: int) -> None:
    """A ValueError naming the first value that is not a whole number (> 0, or >= 0 for
    a seed)."""
    for name, value in values.items():
        low = 0 if name == "seed" else 1
        if not is_whole(value, low):
            raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}")


class FreshCompositions(EpochBatches):
    """``images_per_epoch`` new M2NIST images every epoch, in batches of ``(model input,
    int32 class maps)``.

    ``pixels`` ``uint8 (K, 28, 28)`` and ``labels`` ``(K,)`` are the digit
    pool; ``pydataset_kwargs`` (``workers``, ``use_multiprocessing``,
    ``max_queue_size``) go to :class:`keras.utils.PyDataset`. Add
    :meth:`epoch_callback` to the callbacks of ``fit``.
    """

    def __init__(
        self,
        pixels: np.ndarray,
        labels: np.ndarray,
        images_per_epoch: int,
        batch_size: int,
        seed: int,
        augmentation: DigitAugmentation | None = None,
        **pydataset_kwargs,
    ) -> None:
        super().__init__(**pydataset_kwargs)
        check_digits(pixels, labels)
        _check_whole(
            images_per_epoch=images_per_epoch, batch_size=batch_size, seed=seed
        )
        self.pixels, self.labels = pixels, labels
        self.images_per_epoch, self.batch_size, self.seed = (
            int(images_per_epoch),
            int(batch_size),
            int(seed),
        )
        self.augmentation = augmentation

    def __len__(self) -> int:
        return math.ceil(self.images_per_epoch / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Batch ``index`` of the epoch: grey levels 0..255 ``float32 (B, 64, 84, 1)``,
        masks ``int32 (B, 64, 84)``."""
        batch = self._batch(self.epoch, index)
        return as_model_input(batch.images), batch.masks.astype(np.int32)

    def _batch(self, epoch: int, index: int) -> Split:
        if not 0 <= index < len(self):
            raise IndexError(
                f"batch {index} out of range: an epoch has {len(self)} batches"
            )
        size = min(self.batch_size, self.images_per_epoch - index * self.batch_size)
        # The (epoch, batch) pair is a spawn key, not more entropy: an entropy list
        # [seed, epoch, 0] would give the same stream as [seed, epoch], which
        # helpers.data.splits.split_rng uses for the fixed splits.
        rng = np.random.default_rng(
            np.random.SeedSequence(self.seed, spawn_key=(epoch, index))
        )
        return compose_images(self.pixels, self.labels, size, rng, self.augmentation)

    def epoch_images(self, epoch: int) -> Split:
        """All images and class maps ``uint8`` of an epoch, in batch order: what ``fit``
        trains on in that epoch."""
        batches = [self._batch(epoch, index) for index in range(len(self))]
        return Split(
            np.concatenate([b.images for b in batches]),
            np.concatenate([b.masks for b in batches]),
        )


class _SetEpoch(keras.callbacks.Callback):
    """Sets the input's epoch in ``on_epoch_begin``, which ``fit`` calls before it
    fetches the epoch's batches."""

    def __init__(self, stream: EpochBatches) -> None:
        super().__init__()
        self.stream = stream

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.stream.epoch = epoch


def as_model_input(images: np.ndarray) -> np.ndarray:
    """Validated grey images ``(N, 64, 84)`` -> float32 ``(N, 64, 84, 1)`` as the models
    expect."""
    images = np.asarray(images)
    if images.ndim == 2:
        raise ValueError(
            "images: expected a batch (N, 64, 84), got one image of shape "
            f"{images.shape}; use images[None]"
        )
    if images.dtype == bool or not np.issubdtype(images.dtype, np.number):
        raise ValueError(
            "images: expected grey levels as integers or floats 0..255, got dtype "
            f"{images.dtype}"
        )
    if len(images) == 0:
        raise ValueError("images: the batch is empty")
    return check_images(images).astype("float32")[..., None]
