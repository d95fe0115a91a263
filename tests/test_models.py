"""Specification of helpers.nets.registry: the three networks, their alignment, their budgets
and that they can learn."""

from __future__ import annotations

import ast
import inspect
import json
import math
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from helpers import HEIGHT, NUM_CLASSES, WIDTH
from helpers.data import compose, splits
from helpers.data.streaming import as_model_input
from helpers.evaluate import metrics
from helpers.evaluate.inference import predict
from helpers.nets import blocks, fcn, fcn_parts, registry, unet, vnet
from helpers.nets.blocks import padding_for
from helpers.nets.fcn import FCN_SKIPS, build_fcn
from helpers.nets.registry import (
    MODEL_BUILDERS,
    build_model,
    count_flops,
    model_summary_table,
)
from helpers.train.loop import compile_for_training
from helpers.train.recipe import TrainSettings

MODEL_NAMES = sorted(MODEL_BUILDERS)


@pytest.fixture(scope="module")
def default_models() -> dict[str, keras.Model]:
    """Each model at its default size, built once for the whole module."""
    keras.utils.set_random_seed(0)
    return {name: build_model(name) for name in MODEL_NAMES}


def grey_images(n: int, seed: int = 0) -> np.ndarray:
    """Random raw grey levels ``(n, 64, 84, 1)`` in 0..255, as the models take them."""
    return (
        np.random.default_rng(seed)
        .uniform(0, 255, (n, HEIGHT, WIDTH, 1))
        .astype("float32")
    )


def one_layer_flops(input_shape: tuple[int, ...], layer: layers.Layer) -> int:
    """count_flops of a model made of ``layer`` alone on inputs of ``input_shape``."""
    inputs = keras.Input(shape=input_shape)
    return count_flops(keras.Model(inputs, layer(inputs)))


# Padding and cropping


def test_padding_for_reaches_next_multiple_split_evenly() -> None:
    assert padding_for(WIDTH, 16) == (6, 6)
    assert padding_for(HEIGHT, 16) == (0, 0)


def test_padding_for_puts_odd_extra_after() -> None:
    assert padding_for(85, 16) == (5, 6)


def test_padding_for_rejects_non_positive_arguments() -> None:
    with pytest.raises(ValueError, match="positive"):
        padding_for(84, 0)


@pytest.mark.parametrize("size", [1, 15, 16, 17, 63, 64, 84, 85, 100])
@pytest.mark.parametrize("multiple", [1, 2, 5, 16, 32])
def test_padding_for_adds_the_fewest_zeros_split_evenly(
    size: int, multiple: int
) -> None:
    before, after = padding_for(size, multiple)
    assert (size + before + after) % multiple == 0
    assert 0 <= before + after < multiple
    assert after - before in (0, 1)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_models_crop_exactly_what_they_pad(
    default_models: dict[str, keras.Model], name: str
) -> None:
    model = default_models[name]
    assert model.get_layer("crop").cropping == model.get_layer("pad").padding
    assert model.get_layer("pad").padding == ((0, 0), (6, 6))


# Alignment: the prediction at a pixel depends on the input around that same pixel, to a
# fraction of a pixel.
#
# The centroid of |d prediction(pixel) / d input| says where in the input a prediction
# looks. Three things move
# it that are no misalignment, and the check takes each out:
# * Random kernels favour one side or the other: up to 0.4 px for the default
# initialisation (measured over
# 4 seeds). The check averages every kernel with its mirror images, so that no weight
# favours a side.
# * A pixel's place in the grid of the poolings decides which coarse cells it reads,
# which puts single
# centroids off by up to 0.4 px in U-Net and by pixels after a coarse upsampling. The
# check averages over
#   16 consecutive rows and columns.
# * A random input makes the ReLUs switch differently left and right (and a
# mirror-symmetric one would tie
# the maxima of a pooling window that straddles the centre, as the FCNs' pool5 does: 6
# columns into 3).
# The check probes every pixel on a random image and the pixel's mirror image on the
# mirrored image, one
#   computation mirrored, so a model that pads and crops evenly averages to 0 exactly.
# A model whose output is shifted by s pixels then averages to about -s: measured for s
# = 1, U-Net 0.97..1.01,
# V-Net 0.99..1.00, FCN-8s 0.94 (columns) and 0.78 (rows), so the tolerance lies halfway
# between 0 and a
# one-pixel shift. FCN-16s (0.81, 0.54) and FCN-32s (0.08) read so much of the image
# through their coarse
# scores that a shift hardly moves their centroids; their x16 and x32 upsamplings are
# checked to interpolate
# in place below (test_fresh_fcn_upsamplings_interpolate_bilinearly_in_place).

ALIGNMENT_TOLERANCE_PX = 0.5
GRID = 16  # probed pixels: a diagonal through the centre, 16 rows and columns long
PROBE_PIXELS = [
    (HEIGHT // 2 - GRID // 2 + k, WIDTH // 2 - GRID // 2 + k) for k in range(GRID)
]


def with_mirror_symmetric_kernels(model: keras.Model) -> keras.Model:
    """``model`` with every convolution kernel replaced by its average with its mirror
    images (in place).

    Kernels that start at zero (the FCNs' score layers) first get random values, as
    training gives them, so that every path of the network reaches the output.
    """
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, (layers.Conv2D, layers.Conv2DTranspose)):
            kernel = keras.ops.convert_to_numpy(layer.kernel)
            if not kernel.any():
                kernel = rng.normal(scale=0.1, size=kernel.shape).astype("float32")
            layer.kernel.assign(
                (kernel + kernel[::-1] + kernel[:, ::-1] + kernel[::-1, ::-1]) / 4
            )
    return model


def mean_displacement(model: keras.Model, pixels: list[tuple[int, int]]) -> np.ndarray:
    """Mean of (centroid of the input that the prediction at a pixel depends on) -
    pixel, over ``pixels`` probed on a random image and their mirror images probed on
    the mirrored image (mirrored top-bottom and left-right).

    Copy k of an image in the batch carries the gradient of a fixed random mix of the
    class probabilities at pixel k, so one backward pass serves every pixel (inference
    mode: no batch statistics mix the copies). The mix, not the sum, because the
    probabilities add up to 1, whose gradient is 0.
    """
    image = (
        np.random.default_rng(0).uniform(0, 255, (HEIGHT, WIDTH, 1)).astype("float32")
    )
    mirrored = [(HEIGHT - 1 - row, WIDTH - 1 - col) for row, col in pixels]
    batch = tf.constant(
        np.stack([image] * len(pixels) + [image[::-1, ::-1]] * len(mirrored))
    )
    class_mix = tf.constant(
        np.random.default_rng(1).normal(size=NUM_CLASSES).astype("float32")
    )
    where = tf.constant(
        [(k, row, col) for k, (row, col) in enumerate(pixels + mirrored)]
    )
    with tf.GradientTape() as tape:
        tape.watch(batch)
        mixed = tf.reduce_sum(
            tf.gather_nd(model(batch, training=False), where) * class_mix
        )
    sensitivity = tf.abs(tape.gradient(mixed, batch)).numpy()[..., 0]
    rows, cols = np.indices((HEIGHT, WIDTH))
    total = sensitivity.sum(axis=(1, 2))
    centroids = np.stack(
        [(rows * sensitivity).sum(axis=(1, 2)), (cols * sensitivity).sum(axis=(1, 2))],
        axis=1,
    )
    return (centroids / total[:, None] - np.array(pixels + mirrored)).mean(axis=0)


def shifted_output(model: keras.Model, down: int, right: int) -> keras.Model:
    """``model`` with its probabilities moved ``down`` rows and ``right`` columns
    (negative: up, left)."""
    inputs = keras.Input(shape=(HEIGHT, WIDTH, 1))
    before = ((max(down, 0), max(-down, 0)), (max(right, 0), max(-right, 0)))
    after = ((max(-down, 0), max(down, 0)), (max(-right, 0), max(right, 0)))
    moved = layers.Cropping2D(after)(layers.ZeroPadding2D(before)(model(inputs)))
    return keras.Model(inputs, moved)


@pytest.fixture(scope="module")
def symmetric_models() -> dict[str, keras.Model]:
    """Each model at its default size with mirror-symmetric kernels."""
    keras.utils.set_random_seed(0)
    return {
        name: with_mirror_symmetric_kernels(build_model(name)) for name in MODEL_NAMES
    }


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_predictions_are_aligned_with_the_input_to_a_fraction_of_a_pixel(
    symmetric_models: dict[str, keras.Model], name: str
) -> None:
    displacement = mean_displacement(symmetric_models[name], PROBE_PIXELS)
    assert np.abs(displacement).max() < ALIGNMENT_TOLERANCE_PX, (
        f"{name}: off by {displacement} (rows, columns)"
    )


@pytest.mark.parametrize(
    "name, down, right",
    [("fcn8s", 0, 1), ("unet", 0, 1), ("vnet", 0, 1), ("unet", 0, -1), ("unet", 1, 0)],
)
def test_alignment_check_detects_an_output_shifted_by_one_pixel(
    symmetric_models: dict[str, keras.Model], name: str, down: int, right: int
) -> None:
    displacement = mean_displacement(
        shifted_output(symmetric_models[name], down, right), PROBE_PIXELS
    )
    assert np.abs(displacement).max() >= ALIGNMENT_TOLERANCE_PX
    np.testing.assert_allclose(
        displacement, [-down, -right], atol=ALIGNMENT_TOLERANCE_PX
    )


def test_alignment_check_detects_a_crop_one_column_off_the_padding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fault the check is for: cropping other amounts than were padded, here one
    column more on the right."""
    crop_as_padded = blocks.class_probabilities

    def crop_one_column_off(
        scores: keras.KerasTensor, padding: blocks.Padding
    ) -> keras.KerasTensor:
        (top, bottom), (left, right) = padding
        return crop_as_padded(scores, ((top, bottom), (left - 1, right + 1)))

    monkeypatch.setattr(blocks, "class_probabilities", crop_one_column_off)
    keras.utils.set_random_seed(0)
    model = with_mirror_symmetric_kernels(build_model("unet"))

    assert (
        mean_displacement(model, PROBE_PIXELS)[1] <= -ALIGNMENT_TOLERANCE_PX
    )  # it looks one column to the left


# Output contract


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_models_map_grey_images_to_per_pixel_probabilities(
    default_models: dict[str, keras.Model], name: str
) -> None:
    probabilities = keras.ops.convert_to_numpy(
        default_models[name](grey_images(2), training=False)
    )

    assert probabilities.shape == (2, HEIGHT, WIDTH, NUM_CLASSES)
    assert probabilities.dtype == np.float32
    assert probabilities.min() >= 0.0
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_probabilities_stay_float32_under_mixed_precision(name: str) -> None:
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = build_model(name, base_filters=4)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.get_layer("crop").compute_dtype == "float16"
    assert model.output.dtype == "float32"


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_models_reload_from_a_keras_file_without_custom_objects(
    name: str, tmp_path
) -> None:
    model = build_model(name, base_filters=4)
    model.save(tmp_path / "model.keras")

    reloaded = keras.models.load_model(tmp_path / "model.keras")

    for saved, loaded in zip(
        model.weights, reloaded.weights
    ):  # the FCNs' bilinear kernels, set after building
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(loaded), keras.ops.convert_to_numpy(saved)
        )
    images = grey_images(1)
    np.testing.assert_allclose(
        reloaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6
    )


# Learning: a correctly wired network memorises a small batch, with the book's optimiser
# and loss: two real M2NIST images (data seed 3), trained on alone (Adam at 1e-2 with
# cosine decay, compiled as the book compiles), then predicted by
# helpers.evaluate.inference.predict.

OVERFIT_STEPS = {"fcn8s": 100, "unet": 200, "vnet": 150}
OVERFIT_LEARNING_RATE = 1e-2
MIN_LOSS_FALL = 50.0
MIN_DIGIT_IOU = 0.9


@pytest.fixture(scope="module")
def one_batch(tmp_path_factory: pytest.TempPathFactory) -> compose.Split:
    """Two generated M2NIST training images, with digits of three classes (2, 7 and
    9)."""
    return splits.generate(
        (2, 1, 1),
        seed=3,
        cache=tmp_path_factory.mktemp("m2nist"),
        progress=False,
    ).train


def fit_one_batch(
    model: keras.Model, batch: compose.Split, steps: int
) -> tuple[float, float, float]:
    """Train ``model`` on ``batch`` alone for ``steps`` steps: (loss before, loss after,
    mean digit IoU after).

    Losses and IoU are measured in inference mode, the IoU on
    helpers.evaluate.inference.predict's class maps. Batch norm's moving statistics follow the
    batch with momentum 0.5 instead of 0.99, which would need hundreds more steps to
    forget their initial values; the network and its training are otherwise the book's.
    """
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = 0.5
    compile_for_training(
        model, steps, TrainSettings(learning_rate=OVERFIT_LEARNING_RATE)
    )
    images, masks = as_model_input(batch.images), batch.masks.astype("int32")
    loss_before = float(model.loss(masks, model.predict(images, verbose=0)))
    model.fit(
        np.tile(images, (steps, 1, 1, 1)),
        np.tile(masks, (steps, 1, 1)),
        batch_size=len(batch),
        epochs=1,
        shuffle=False,
        verbose=0,
    )
    loss_after = float(model.loss(masks, model.predict(images, verbose=0)))
    confusion = metrics.confusion_matrix(batch.masks, predict(model, batch.images))
    return (
        loss_before,
        loss_after,
        metrics.scores_from_confusion(confusion)["mean_iou_digits"],
    )


@pytest.mark.parametrize("name", sorted(OVERFIT_STEPS))
def test_each_model_memorises_one_small_batch(
    one_batch: compose.Split, name: str
) -> None:
    keras.utils.set_random_seed(0)
    loss_before, loss_after, digit_iou = fit_one_batch(
        build_model(name), one_batch, OVERFIT_STEPS[name]
    )

    assert loss_before / loss_after > MIN_LOSS_FALL, (
        f"{name}: loss {loss_before:.3f} -> {loss_after:.4f}"
    )
    assert digit_iou > MIN_DIGIT_IOU, (
        f"{name}: mean digit IoU {digit_iou:.3f} on the batch it trained on"
    )


def test_an_fcn8s_whose_last_upsampling_cannot_learn_fails_to_memorise_the_batch(
    one_batch: compose.Split,
) -> None:
    """The check above has teeth: a fixed bilinear x8 upsampling cannot place a stroke
    2-3 pixels wide inside an 8-pixel cell, and the same training leaves it below the
    bar."""
    keras.utils.set_random_seed(0)
    model = build_model("fcn8s")
    model.get_layer(fcn_parts.UPSCORE_FULL_LAYER).trainable = False

    _, _, digit_iou = fit_one_batch(model, one_batch, OVERFIT_STEPS["fcn8s"])

    assert digit_iou < MIN_DIGIT_IOU


def test_an_fcn8s_whose_last_upsampling_stays_bilinear_fails_to_memorise_the_batch(
    one_batch: compose.Split,
) -> None:
    """Why the FCNs learn their last upsampling, unlike the paper: bilinear x8 cannot
    place thin strokes."""
    keras.utils.set_random_seed(0)
    model = build_model("fcn8s")
    model.get_layer(fcn_parts.UPSCORE_FULL_LAYER).trainable = False

    _, _, digit_iou = fit_one_batch(model, one_batch, OVERFIT_STEPS["fcn8s"])

    assert digit_iou < MIN_DIGIT_IOU


# Sizes and names


@pytest.mark.parametrize("name", ["unet", "vnet"])
def test_depth_sets_the_padding_multiple(name: str) -> None:
    model = build_model(name, base_filters=4, depth=3)
    assert model.get_layer("pad").padding == ((0, 0), (2, 2))
    assert model.output.shape == (None, HEIGHT, WIDTH, NUM_CLASSES)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_base_filters_sets_the_width(name: str) -> None:
    assert (
        build_model(name, base_filters=4).count_params()
        < build_model(name, base_filters=8).count_params()
    )


@pytest.mark.parametrize("sizes", [{"base_filters": 0}, {"depth": 0}])
def test_builders_reject_non_positive_sizes(sizes: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="positive"):
        build_model("vnet", **sizes)


def test_build_model_passes_keywords_to_the_builder() -> None:
    model = build_model("unet", base_filters=4, depth=2, name="small_unet")
    assert model.name == "small_unet"
    assert model.get_layer("bottom_conv2").filters == 16


def test_unknown_model_name_lists_the_choices() -> None:
    with pytest.raises(ValueError, match="'segnet'.*fcn8s.*unet.*vnet"):
        build_model("segnet")


def test_default_budgets_are_within_a_factor_of_two(
    default_models: dict[str, keras.Model],
) -> None:
    rows = model_summary_table(default_models.values())
    parameters = [row["parameters"] for row in rows]
    flops = [row["flops_per_image"] for row in rows]

    assert max(parameters) <= 2 * min(parameters)
    assert max(flops) <= 2 * min(flops)


def test_default_models_are_small(default_models: dict[str, keras.Model]) -> None:
    """Between 0.5 and 2 million parameters: minutes on a GPU, usable on a CPU."""
    for row in model_summary_table(default_models.values()):
        assert 0.5e6 <= row["parameters"] <= 2e6, row


def test_summary_table_has_one_row_per_model_with_its_parameters_and_flops() -> None:
    inputs = keras.Input(shape=(8, 8, 1))
    first = keras.Model(
        inputs, layers.Conv2D(4, 3, padding="same")(inputs), name="first"
    )
    second = keras.Model(inputs, layers.Dense(2)(inputs), name="second")

    rows = model_summary_table([first, second])

    assert rows == [
        {
            "model": "first",
            "parameters": 3 * 3 * 4 + 4,
            "flops_per_image": 2 * 3 * 3 * 4 * 64,
        },
        {"model": "second", "parameters": 2 + 2, "flops_per_image": 2 * 2 * 64},
    ]


# The FCNs as in the paper (Long, Shelhamer and Darrell, 2015)

FCN_NAMES = [f"fcn{variant}" for variant in FCN_SKIPS]


def test_fcn8s_has_a_budget_like_unet_and_vnet(
    default_models: dict[str, keras.Model],
) -> None:
    """1 to 1.5 million parameters, as U-Net (1.10 M) and V-Net (1.38 M) at their
    default widths."""
    assert 1.0e6 <= default_models["fcn8s"].count_params() <= 1.5e6


def test_fcn_encoder_is_five_vgg16_stages_down_to_a_32nd(
    default_models: dict[str, keras.Model],
) -> None:
    model = default_models["fcn8s"]
    convolutions = [
        layer.name for layer in model.layers if isinstance(layer, layers.Conv2D)
    ]
    convs = [
        sum(name.startswith(fcn_parts.fcn_stage(stage) + "_") for name in convolutions)
        for stage in range(1, 7)
    ]
    widths = [model.get_layer(f"stage{stage}_conv1").filters for stage in range(1, 6)]

    assert convs == [2, 2, 3, 3, 3, 0]
    assert widths == [16, 32, 64, 128, 128]  # doubling, the last two stages equal
    assert model.get_layer("pool5").output.shape[1:3] == (
        2,
        3,
    )  # the padded 64x96, over 32


def test_conv6_reads_all_of_pool5_from_every_position(
    default_models: dict[str, keras.Model],
) -> None:
    model = default_models["fcn8s"]
    rows, cols = model.get_layer("pool5").output.shape[1:3]
    conv6, conv7 = (
        model.get_layer(fcn_parts.CONV6_LAYER),
        model.get_layer(fcn_parts.CONV7_LAYER),
    )

    assert (
        conv6.kernel_size == (2 * rows - 1, 2 * cols - 1) == (3, 5)
    )  # odd, so "same" pads both sides alike
    assert conv7.kernel_size == (1, 1)
    assert [
        model.get_layer(layer + fcn_parts.DROPOUT_SUFFIX).rate
        for layer in ("conv6", "conv7")
    ] == [0.5, 0.5]


def test_fcn_variants_differ_in_their_fusions_only(
    default_models: dict[str, keras.Model],
) -> None:
    shapes = {
        name: {
            layer.name: [tuple(weight.shape) for weight in layer.weights]
            for layer in default_models[name].layers
        }
        for name in FCN_NAMES
    }
    fusion = {
        stage: {f"score_pool{stage}", f"upscore_to_pool{stage}", f"fuse_pool{stage}"}
        for stage in (3, 4)
    }

    assert shapes["fcn8s"].keys() - shapes["fcn16s"].keys() == fusion[3]
    assert shapes["fcn16s"].keys() - shapes["fcn32s"].keys() == fusion[4]
    assert not shapes["fcn32s"].keys() - shapes["fcn8s"].keys()
    for layer, weights in shapes["fcn32s"].items():
        if (
            layer != fcn_parts.UPSCORE_FULL_LAYER
        ):  # its kernel is 2x the factor: 16, 32 or 64
            assert shapes["fcn8s"][layer] == shapes["fcn16s"][layer] == weights, layer


def test_unknown_fcn_variant_is_named_in_the_error() -> None:
    with pytest.raises(
        ValueError, match="unknown FCN variant '4s'; choose one of .*'16s'.*'32s'.*'8s'"
    ):
        build_fcn("4s")


@pytest.mark.parametrize("name", FCN_NAMES)
def test_a_fresh_fcn_predicts_uniform_probabilities(
    default_models: dict[str, keras.Model], name: str
) -> None:
    """Every score layer starts at zero, as in the paper, so training starts from scores
    of 0 for every class."""
    probabilities = keras.ops.convert_to_numpy(
        default_models[name](grey_images(1), training=False)
    )
    np.testing.assert_allclose(probabilities, 1 / NUM_CLASSES, rtol=1e-6)


@pytest.mark.parametrize(
    ("name", "factors"), [("fcn8s", [2, 2, 8]), ("fcn16s", [2, 16]), ("fcn32s", [32])]
)
def test_fresh_fcn_upsamplings_interpolate_bilinearly_in_place(
    default_models: dict[str, keras.Model], name: str, factors: list[int]
) -> None:
    """Scores that rise linearly (one slope per class, 0 included) come out as the same
    ramps, sampled in place.

    Input cell i covers the output pixels factor * i .. factor * i + factor - 1, so its
    score belongs at their centre: output pixel o reads the input ramp at (o - (factor -
    1) / 2) / factor. Half a cell at each border, which lacks a neighbour to interpolate
    with, is left out.
    """
    slopes = np.arange(NUM_CLASSES) - 5

    def ramps(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return 3 + (rows + 2 * cols)[..., None] * slopes

    upsamplings = [
        layer
        for layer in default_models[name].layers
        if isinstance(layer, layers.Conv2DTranspose)
    ]
    assert [layer.strides[0] for layer in upsamplings] == factors
    for layer, factor in zip(upsamplings, factors):
        rows, cols = np.indices(layer.input.shape[1:3])
        upsampled = keras.ops.convert_to_numpy(
            layer(ramps(rows, cols)[None].astype("float32"))
        )[0]
        rows, cols = (np.indices(upsampled.shape[:2]) - (factor - 1) / 2) / factor
        inside = slice(factor // 2, -(factor // 2))
        np.testing.assert_allclose(
            upsampled[inside, inside], ramps(rows, cols)[inside, inside], atol=1e-4
        )


# FLOP counting (a multiply-add is 2 FLOPs; biases are not counted)


def test_count_flops_of_a_conv2d_by_hand() -> None:
    flops = one_layer_flops((8, 8, 1), layers.Conv2D(4, 3, padding="same"))
    assert flops == 2 * (3 * 3 * 1 * 4) * (8 * 8)


def test_count_flops_of_a_strided_conv2d_uses_the_output_size() -> None:
    flops = one_layer_flops((8, 8, 2), layers.Conv2D(4, 3, strides=2, padding="same"))
    assert flops == 2 * (3 * 3 * 2 * 4) * (4 * 4)


def test_count_flops_of_a_conv2d_transpose_uses_the_input_size() -> None:
    flops = one_layer_flops(
        (4, 4, 3), layers.Conv2DTranspose(2, 3, strides=2, padding="same")
    )
    assert flops == 2 * (3 * 3 * 3 * 2) * (4 * 4)


def test_count_flops_of_a_dense_layer_by_hand() -> None:
    assert one_layer_flops((10,), layers.Dense(5)) == 2 * 10 * 5


def test_count_flops_ignores_layers_without_multiply_adds() -> None:
    assert one_layer_flops((8, 8, 3), layers.MaxPooling2D(2)) == 0


def test_count_flops_descends_into_nested_models() -> None:
    inner = keras.Sequential(
        [keras.Input(shape=(8, 8, 1)), layers.Conv2D(4, 3, padding="same")]
    )
    inputs = keras.Input(shape=(8, 8, 1))
    outer = keras.Model(inputs, layers.Conv2D(2, 1)(inner(inputs)))
    assert count_flops(outer) == 2 * (3 * 3 * 1 * 4) * 64 + 2 * (1 * 1 * 4 * 2) * 64


# Backend independence


@pytest.mark.parametrize(
    "module", [blocks, fcn, unet, vnet, registry], ids=lambda module: module.__name__
)
def test_model_modules_import_only_keras_and_the_standard_library(module) -> None:
    """Models built from keras.layers and keras.ops alone run under every Keras
    backend."""
    tree = ast.parse(inspect.getsource(module))
    imports = [node for node in ast.walk(tree) if isinstance(node, ast.Import)]
    imported = {alias.name.split(".")[0] for node in imports for alias in node.names}
    imported |= {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert imported <= {
        "__future__",
        "collections",
        "math",
        "typing",
        "keras",
        "helpers",
    }


JAX_TRAINING_STEP = """
import json
import keras
import numpy as np
from helpers import HEIGHT, NUM_CLASSES, WIDTH
from helpers.nets.registry import MODEL_BUILDERS, build_model

SMALL_SIZES = {"fcn8s": {"base_filters": 4}, "fcn16s": {"base_filters": 4}, "fcn32s": {"base_filters": 4},
               "unet": {"base_filters": 4, "depth": 2},
               "vnet": {"base_filters": 4, "depth": 2}}
rng = np.random.default_rng(0)
images = rng.uniform(0, 255, (2, HEIGHT, WIDTH, 1)).astype("float32")
masks = rng.integers(0, NUM_CLASSES, (2, HEIGHT, WIDTH))
losses = {}
for name in MODEL_BUILDERS:
    model = build_model(name, **SMALL_SIZES[name])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.SparseCategoricalCrossentropy())
    losses[name] = float(model.train_on_batch(images, masks, return_dict=True)["loss"])
print(json.dumps({"backend": keras.backend.backend(), "losses": losses}))
"""


def test_models_train_under_the_jax_backend() -> None:
    """Small sizes use every layer type of the defaults; JAX compiles them in seconds,
    not minutes, on a CPU."""
    pytest.importorskip("jax")
    result = subprocess.run(
        [sys.executable, "-c", JAX_TRAINING_STEP],
        env={**os.environ, "KERAS_BACKEND": "jax"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])

    assert report["backend"] == "jax"
    assert sorted(report["losses"]) == MODEL_NAMES
    assert all(math.isfinite(loss) for loss in report["losses"].values()), report[
        "losses"
    ]


@pytest.mark.parametrize("name", ["fcn8s", "unet", "vnet"])
def test_every_activation_passes_a_gradient_below_zero(name):
    """Leaky ReLUs: no region can shut every unit off for good (helpers.evaluate.diagnostics)."""
    slopes = {
        layer.negative_slope
        for layer in registry.build_model(name).layers
        if isinstance(layer, keras.layers.ReLU)
    }
    assert slopes == {blocks.NEGATIVE_SLOPE} and blocks.NEGATIVE_SLOPE > 0
