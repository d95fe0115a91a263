"""How a model is trained: every knob of the recipe, in one place, apart from the data
size (the profile) and the model.

A :class:`TrainSettings` is everything :func:`helpers.train.loop.train` needs
to know about optimisation: epochs, batch size, learning-rate schedule, loss,
which weights are kept, and how the training images are made. :data:`PRESETS`
names the recipes the book uses; :func:`optimizer` is Adam with a cosine
decay, :data:`AUGMENTATION` the digits' random changes, :data:`LOSSES` the
losses (:mod:`helpers.train.losses`) by name. The digit pools the images are
composed from are MNIST's own splits (:func:`helpers.data.mnist.digit_pools`).
Keras is imported only inside the functions that build Keras objects, so a
study manifest is checked before any training starts, without it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from helpers import BACKGROUND, NUM_CLASSES
from helpers.checks import is_whole
from helpers.data.compose import DigitAugmentation

LOSSES = {
    "cross-entropy": (1.0, None),
    "dice": (0.0, "per-image"),
    "cross-entropy+dice": (1.0, "per-image"),
    "batch-dice": (0.0, "batch"),
    "cross-entropy+batch-dice": (1.0, "batch"),
}
"""The selectable losses: (weight of the pixel-wise cross-entropy, which soft Dice is
added).

"dice" is the V-Net paper's soft Dice, averaged over all 11 classes of each
image; "batch-dice" is nnU-Net's, over the ten digits of the whole batch
(:mod:`helpers.train.losses`)."""

MIXED_PRECISION = (None, "mixed_float16", "mixed_bfloat16")


@dataclass(frozen=True)
class TrainSettings:
    """One training recipe; every field is recorded with the run and decides whether a
    finished run is reused.

    * ``epochs`` of ``batch_size`` images; the learning rate starts at
      ``learning_rate`` and follows a cosine down to ``lr_floor`` times it at
      the end of the last epoch (``lr_floor=1`` keeps it constant).
    * ``adam_beta_1``, ``adam_beta_2``, ``adam_epsilon``: the rest of the
      optimiser, Adam (Keras' defaults), recorded so that a run names all of it.
    * ``patience``: stop after this many epochs without a lower validation loss;
      None trains every epoch, so the schedule always reaches its floor.
    * ``keep_best``: keep the weights of the epoch with the lowest validation
      loss (else those of the last epoch).
    * ``loss``: a key of :data:`LOSSES`.
    * ``fresh_images``: compose new training images from the training digits
      every epoch (else the same fixed training split every epoch);
      ``augment``: apply small random affine changes to each digit first.
    * ``mixed_precision``: None, "mixed_float16" or "mixed_bfloat16".
    """

    epochs: int = 40
    batch_size: int = 32
    learning_rate: float = 1e-3
    lr_floor: float = 0.01
    adam_beta_1: float = 0.9
    adam_beta_2: float = 0.999
    adam_epsilon: float = 1e-7
    patience: int | None = 10
    keep_best: bool = True
    loss: str = "cross-entropy"
    fresh_images: bool = False
    augment: bool = False
    mixed_precision: str | None = None

    def __post_init__(self) -> None:
        problems = []
        if not is_whole(self.epochs, 1):
            problems.append(f"epochs={self.epochs!r} (a whole number >= 1)")
        if not is_whole(self.batch_size, 1):
            problems.append(f"batch_size={self.batch_size!r} (a whole number >= 1)")
        if not self.learning_rate > 0:
            problems.append(f"learning_rate={self.learning_rate!r} (> 0)")
        for name in ("adam_beta_1", "adam_beta_2"):
            if not 0 <= getattr(self, name) < 1:
                problems.append(f"{name}={getattr(self, name)!r} (a fraction 0..1)")
        if not self.adam_epsilon > 0:
            problems.append(f"adam_epsilon={self.adam_epsilon!r} (> 0)")
        if not 0 <= self.lr_floor <= 1:
            problems.append(
                f"lr_floor={self.lr_floor!r} (a fraction 0..1 of the learning rate)"
            )
        if self.patience is not None and not is_whole(self.patience, 1):
            problems.append(f"patience={self.patience!r} (None or a whole number >= 1)")
        if self.loss not in LOSSES:
            problems.append(f"loss={self.loss!r} (one of {', '.join(LOSSES)})")
        if self.mixed_precision not in MIXED_PRECISION:
            problems.append(
                f"mixed_precision={self.mixed_precision!r} (one of {MIXED_PRECISION})"
            )
        if self.augment and not self.fresh_images:
            problems.append(
                "augment=True needs fresh_images=True (augmented digits are composed "
                "anew every epoch)"
            )
        if problems:
            raise ValueError("invalid training settings: " + "; ".join(problems))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def but(self, **changes: Any) -> TrainSettings:
        """A copy with ``changes``; an unknown field is an error that names it."""
        unknown = set(changes) - {field.name for field in fields(self)}
        if unknown:
            raise ValueError(
                f"unknown training settings {sorted(unknown)}; known: "
                f"{[f.name for f in fields(self)]}"
            )
        return replace(self, **changes)


PRESETS: dict[str, TrainSettings] = {
    "book": TrainSettings(patience=None, fresh_images=True, augment=True),
    "fixed-split": TrainSettings(),
    "original-unet": TrainSettings(
        epochs=10, lr_floor=1.0, patience=None, keep_best=False
    ),
    "original-vnet": TrainSettings(
        epochs=30, learning_rate=7.5e-4, lr_floor=1.0, patience=None, keep_best=False
    ),
}
"""The book's recipes.

* ``book``: the recipe of the chapters and of the study's main runs: fresh,
  augmented compositions every epoch and the whole cosine schedule to its
  floor (no early stop), keeping the best-validation weights.
* ``fixed-split``: the same training split every epoch, cosine decay, early
  stopping after 10 epochs without improvement.
* ``original-unet`` / ``original-vnet``: the budgets of the original project
  (:data:`helpers.book.original_project.SETUP`): U-Net 10 epochs with Adam at
  0.001, V-Net 30 epochs at 0.00075, batch 32, a constant learning rate,
  cross-entropy, a fixed training set and the weights of the last epoch.
"""


def preset(name: str) -> TrainSettings:
    """The preset called ``name``; an unknown name is an error that lists the known
    ones."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]


DEFAULT_SETTINGS = PRESETS["book"]
"""The recipe of the book's runs (the chapters' and the study's main runs): what
:func:`helpers.train.loop.train` uses by default."""

AUGMENTATION = DigitAugmentation()
"""The random change of every digit in a run with ``augment=True`` (the ranges and why
they keep digits legible: :class:`~helpers.data.compose.DigitAugmentation`)."""

DIGIT_IOU = "digit_iou"
"""The history's name for the mean IoU over the digits (``val_digit_iou`` on the
validation images)."""


def optimizer(settings: TrainSettings, steps: int) -> Any:
    """Adam whose learning rate follows a cosine from ``settings.learning_rate`` down to
    ``lr_floor`` times it over ``steps`` batches."""
    import keras

    schedule = keras.optimizers.schedules.CosineDecay(
        settings.learning_rate, decay_steps=steps, alpha=settings.lr_floor
    )
    return keras.optimizers.Adam(
        schedule,
        beta_1=settings.adam_beta_1,
        beta_2=settings.adam_beta_2,
        epsilon=settings.adam_epsilon,
    )


def digit_iou_metric() -> Any:
    """The book's score as a Keras metric: the IoU of each digit over all pixels seen,
    averaged over the ten digits (history keys ``digit_iou``, ``val_digit_iou``).

    Background's share cannot hide a network that has not yet learned which
    digit a stroke is, as it hides it in pixel accuracy.
    """
    import keras

    return keras.metrics.IoU(
        num_classes=NUM_CLASSES,
        target_class_ids=[c for c in range(NUM_CLASSES) if c != BACKGROUND],
        sparse_y_pred=False,
        name=DIGIT_IOU,
    )
