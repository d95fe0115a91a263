"""Specification of helpers.train.recipe: training recipes that are checked when made, and
the book's presets."""

import re

import pytest

from helpers.book import original_project
from helpers.train.recipe import PRESETS, TrainSettings, preset


@pytest.mark.parametrize(
    "field, value",
    [
        ("epochs", 0),
        ("epochs", 2.5),
        ("batch_size", -1),
        ("learning_rate", 0.0),
        ("lr_floor", 1.5),
        ("patience", 0),
        ("loss", "focal"),
        ("mixed_precision", "float8"),
    ],
)
def test_a_bad_setting_is_named_with_its_value(field, value):
    with pytest.raises(ValueError, match=f"{field}={value!r}"):
        TrainSettings(**{field: value})


def test_augmentation_without_fresh_images_is_refused():
    with pytest.raises(ValueError, match="augment=True needs fresh_images=True"):
        TrainSettings(augment=True)


def test_but_changes_one_field_and_refuses_unknown_ones():
    assert TrainSettings().but(loss="dice").loss == "dice"
    with pytest.raises(ValueError, match=r"unknown training settings \['epoch'\]"):
        TrainSettings().but(epoch=3)


def test_the_book_preset_runs_the_whole_schedule_on_fresh_augmented_images():
    book = preset("book")
    assert (
        book.patience is None and book.keep_best and book.fresh_images and book.augment
    )
    assert (
        book.lr_floor < 0.1
    )  # the cosine ends low: no run stops while its learning rate is high


def test_the_original_budgets_are_those_of_the_original_project():
    unet, vnet = preset("original-unet"), preset("original-vnet")
    assert (unet.epochs, vnet.epochs) == original_project.SETUP["epochs"]
    assert (unet.batch_size, vnet.batch_size) == original_project.SETUP["batch size"]
    assert (unet.learning_rate, vnet.learning_rate) == (1e-3, 7.5e-4)
    for settings in (unet, vnet):
        assert (
            settings.lr_floor == 1.0
            and settings.patience is None
            and not settings.keep_best
        )
        assert settings.loss == "cross-entropy" and not settings.fresh_images


def test_an_unknown_preset_lists_the_known_ones():
    with pytest.raises(
        ValueError,
        match=re.escape(f"unknown preset 'fast'; choose one of {sorted(PRESETS)}"),
    ):
        preset("fast")
