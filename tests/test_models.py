"""Specification of helpers.models: the three networks, their alignment, their budgets and that they can learn."""

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

from helpers import HEIGHT, NUM_CLASSES, WIDTH, data, metrics, models
from helpers.inference import as_model_input, predict
from helpers.models import MODEL_BUILDERS, build_model, count_flops, model_summary_table, padding_for
from helpers.training import compile_for_training

MODEL_NAMES = sorted(MODEL_BUILDERS)


@pytest.fixture(scope="module")
def default_models() -> dict[str, keras.Model]:
    """Each model at its default size, built once for the whole module."""
    keras.utils.set_random_seed(0)
    return {name: build_model(name) for name in MODEL_NAMES}


def grey_images(n: int, seed: int = 0) -> np.ndarray:
    """Random raw grey levels ``(n, 64, 84, 1)`` in 0..255, as the models take them."""
    return np.random.default_rng(seed).uniform(0, 255, (n, HEIGHT, WIDTH, 1)).astype("float32")


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
def test_padding_for_adds_the_fewest_zeros_split_evenly(size: int, multiple: int) -> None:
    before, after = padding_for(size, multiple)
    assert (size + before + after) % multiple == 0
    assert 0 <= before + after < multiple
    assert after - before in (0, 1)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_models_crop_exactly_what_they_pad(default_models: dict[str, keras.Model], name: str) -> None:
    model = default_models[name]
    assert model.get_layer("crop").cropping == model.get_layer("pad").padding
    assert model.get_layer("pad").padding == ((0, 0), (6, 6))


# Alignment: the prediction at a pixel depends on the input around that same pixel, to a fraction of a pixel.
#
# The centroid of |d prediction(pixel) / d input| says where in the input a prediction looks. Three things move
# it that are no misalignment, and the check takes each out:
# * Random kernels favour one side or the other: up to 0.4 px for the default initialisation (measured over
#   4 seeds). The check averages every kernel with its mirror images, so that no weight favours a side.
# * A pixel's place in the 16x16 grid of the 4 poolings decides which coarse cells it reads: FCN-8s' 4x
#   upsampling from 1/4 of the size puts single centroids up to 2.8 px off, U-Net's up to 0.4 px. The check
#   averages over 16 consecutive rows and columns, one pixel of every place in the grid.
# * A random input makes the ReLUs switch differently left and right. The check uses a mirror-symmetric image
#   and adds the mirror image of every pixel, so a model that pads and crops evenly averages to 0 exactly.
# A model whose output is shifted by s pixels then averages to -s (measured: 0.91..1.05 for s = 1), so the
# tolerance lies halfway between 0 and a one-pixel shift.

ALIGNMENT_TOLERANCE_PX = 0.5
GRID = 16  # the encoders halve the resolution 4 times
DIAGONAL = [(HEIGHT // 2 - GRID // 2 + k, WIDTH // 2 - GRID // 2 + k) for k in range(GRID)]
PROBE_PIXELS = DIAGONAL + [(HEIGHT - 1 - row, WIDTH - 1 - col) for row, col in DIAGONAL]


def with_mirror_symmetric_kernels(model: keras.Model) -> keras.Model:
    """``model`` with every convolution kernel replaced by its average with its mirror images (in place)."""
    for layer in model.layers:
        if isinstance(layer, (layers.Conv2D, layers.Conv2DTranspose)):
            kernel = keras.ops.convert_to_numpy(layer.kernel)
            layer.kernel.assign((kernel + kernel[::-1] + kernel[:, ::-1] + kernel[::-1, ::-1]) / 4)
    return model


def mirror_symmetric_image(seed: int = 0) -> np.ndarray:
    """Random grey levels ``(64, 84)`` that read the same mirrored left-right and top-bottom."""
    image = np.random.default_rng(seed).uniform(0, 255, (HEIGHT, WIDTH)).astype("float32")
    return (image + image[::-1] + image[:, ::-1] + image[::-1, ::-1]) / 4


def mean_displacement(model: keras.Model, pixels: list[tuple[int, int]]) -> np.ndarray:
    """Mean over ``pixels`` of (centroid of the input that the prediction at the pixel depends on) - pixel.

    Copy k of one image in the batch carries the gradient of a fixed random mix of the class probabilities
    at pixel k, so one backward pass serves every pixel (inference mode: no batch statistics mix the
    copies). The mix, not the sum, because the probabilities add up to 1, whose gradient is 0.
    """
    batch = tf.constant(np.repeat(mirror_symmetric_image()[None, :, :, None], len(pixels), axis=0))
    class_mix = tf.constant(np.random.default_rng(1).normal(size=NUM_CLASSES).astype("float32"))
    where = tf.constant([(k, row, col) for k, (row, col) in enumerate(pixels)])
    with tf.GradientTape() as tape:
        tape.watch(batch)
        mixed = tf.reduce_sum(tf.gather_nd(model(batch, training=False), where) * class_mix)
    sensitivity = tf.abs(tape.gradient(mixed, batch)).numpy()[..., 0]
    rows, cols = np.indices((HEIGHT, WIDTH))
    total = sensitivity.sum(axis=(1, 2))
    centroids = np.stack([(rows * sensitivity).sum(axis=(1, 2)), (cols * sensitivity).sum(axis=(1, 2))], axis=1)
    return (centroids / total[:, None] - np.array(pixels)).mean(axis=0)


def shifted_output(model: keras.Model, down: int, right: int) -> keras.Model:
    """``model`` with its probabilities moved ``down`` rows and ``right`` columns (negative: up, left)."""
    inputs = keras.Input(shape=(HEIGHT, WIDTH, 1))
    before = ((max(down, 0), max(-down, 0)), (max(right, 0), max(-right, 0)))
    after = ((max(-down, 0), max(down, 0)), (max(-right, 0), max(right, 0)))
    moved = layers.Cropping2D(after)(layers.ZeroPadding2D(before)(model(inputs)))
    return keras.Model(inputs, moved)


@pytest.fixture(scope="module")
def symmetric_models() -> dict[str, keras.Model]:
    """Each model at its default size with mirror-symmetric kernels."""
    keras.utils.set_random_seed(0)
    return {name: with_mirror_symmetric_kernels(build_model(name)) for name in MODEL_NAMES}


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_predictions_are_aligned_with_the_input_to_a_fraction_of_a_pixel(
    symmetric_models: dict[str, keras.Model], name: str
) -> None:
    displacement = mean_displacement(symmetric_models[name], PROBE_PIXELS)
    assert np.abs(displacement).max() < ALIGNMENT_TOLERANCE_PX, f"{name}: off by {displacement} (rows, columns)"


@pytest.mark.parametrize(
    "name, down, right", [("fcn8s", 0, 1), ("unet", 0, 1), ("vnet", 0, 1), ("unet", 0, -1), ("unet", 1, 0)]
)
def test_alignment_check_detects_an_output_shifted_by_one_pixel(
    symmetric_models: dict[str, keras.Model], name: str, down: int, right: int
) -> None:
    displacement = mean_displacement(shifted_output(symmetric_models[name], down, right), PROBE_PIXELS)
    assert np.abs(displacement).max() >= ALIGNMENT_TOLERANCE_PX
    np.testing.assert_allclose(displacement, [-down, -right], atol=ALIGNMENT_TOLERANCE_PX)


def test_alignment_check_detects_a_crop_one_column_off_the_padding(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fault the check is for: cropping other amounts than were padded, here one column more on the right."""
    crop_as_padded = models.class_probabilities

    def crop_one_column_off(scores: keras.KerasTensor, padding: models.Padding) -> keras.KerasTensor:
        (top, bottom), (left, right) = padding
        return crop_as_padded(scores, ((top, bottom), (left - 1, right + 1)))

    monkeypatch.setattr(models, "class_probabilities", crop_one_column_off)
    keras.utils.set_random_seed(0)
    model = with_mirror_symmetric_kernels(build_model("unet"))

    assert mean_displacement(model, PROBE_PIXELS)[1] <= -ALIGNMENT_TOLERANCE_PX  # it looks one column to the left


# Output contract


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_models_map_grey_images_to_per_pixel_probabilities(default_models: dict[str, keras.Model], name: str) -> None:
    probabilities = keras.ops.convert_to_numpy(default_models[name](grey_images(2), training=False))

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
def test_models_reload_from_a_keras_file_without_custom_objects(name: str, tmp_path) -> None:
    model = build_model(name, base_filters=4)
    model.save(tmp_path / "model.keras")

    reloaded = keras.models.load_model(tmp_path / "model.keras")

    images = grey_images(1)
    np.testing.assert_allclose(reloaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)


# Learning: a correctly wired network memorises a small batch, with the book's optimiser and loss.
#
# Two real M2NIST images, trained on alone (Adam at 1e-2 with cosine decay, compiled as the book compiles),
# then predicted by helpers.inference.predict. Measured, with weight seeds 0 (the test's), 1 and 2:
#   FCN-8s, 100 steps: loss falls 260x, 212x, 190x; mean digit IoU 0.982, 0.979, 0.976
#   U-Net,  200 steps: loss falls 279x, 175x, 234x; mean digit IoU 1.000, 1.000, 0.998 (150 steps: 0.94..0.98)
#   V-Net,  150 steps: loss falls 989x, 286x, 587x; mean digit IoU 1.000, 0.984, 1.000
#   U-Net whose decoder drops the skips, 200 steps: loss falls 44x, 30x, 52x; mean digit IoU 0.27, 0.19, 0.53

OVERFIT_STEPS = {"fcn8s": 100, "unet": 200, "vnet": 150}
OVERFIT_LEARNING_RATE = 1e-2
MIN_LOSS_FALL = 50.0
MIN_DIGIT_IOU = 0.9


@pytest.fixture(scope="module")
def one_batch(tmp_path_factory: pytest.TempPathFactory) -> data.Split:
    """Two generated M2NIST training images, with digits of three classes (5, 6 and 9)."""
    return data.generate((2, 1, 1), seed=0, cache=tmp_path_factory.mktemp("m2nist"), progress=False).train


def fit_one_batch(model: keras.Model, batch: data.Split, steps: int) -> tuple[float, float, float]:
    """Train ``model`` on ``batch`` alone for ``steps`` steps: (loss before, loss after, mean digit IoU after).

    Losses and IoU are measured in inference mode, the IoU on helpers.inference.predict's class maps. Batch
    norm's moving statistics follow the batch with momentum 0.5 instead of 0.99, which would need hundreds
    more steps to forget their initial values; the network and its training are otherwise the book's.
    """
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = 0.5
    compile_for_training(model, decay_steps=steps, learning_rate=OVERFIT_LEARNING_RATE)
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
    return loss_before, loss_after, metrics.scores_from_confusion(confusion)["mean_iou_digits"]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_each_model_memorises_one_small_batch(one_batch: data.Split, name: str) -> None:
    keras.utils.set_random_seed(0)
    loss_before, loss_after, digit_iou = fit_one_batch(build_model(name), one_batch, OVERFIT_STEPS[name])

    assert loss_before / loss_after > MIN_LOSS_FALL, f"{name}: loss {loss_before:.3f} -> {loss_after:.4f}"
    assert digit_iou > MIN_DIGIT_IOU, f"{name}: mean digit IoU {digit_iou:.3f} on the batch it trained on"


class UpsampledOnly(layers.Layer):
    """Stands in for the decoder's Concatenate and passes on the upsampled features alone: the skip is lost."""

    def call(self, inputs: list) -> keras.KerasTensor:
        skip, upsampled = inputs
        return upsampled


def test_a_unet_without_its_skip_connections_fails_to_memorise_the_batch(
    one_batch: data.Split, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check above has teeth: the same training leaves a mis-wired U-Net far below the bar."""
    concatenate = layers.Concatenate
    monkeypatch.setattr(models.layers, "Concatenate", UpsampledOnly)
    keras.utils.set_random_seed(0)
    model = build_model("unet")
    assert not any(isinstance(layer, concatenate) for layer in model.layers)

    _, _, digit_iou = fit_one_batch(model, one_batch, OVERFIT_STEPS["unet"])

    assert digit_iou < MIN_DIGIT_IOU


# Sizes and names


@pytest.mark.parametrize("name", ["unet", "vnet"])
def test_depth_sets_the_padding_multiple(name: str) -> None:
    model = build_model(name, base_filters=4, depth=3)
    assert model.get_layer("pad").padding == ((0, 0), (2, 2))
    assert model.output.shape == (None, HEIGHT, WIDTH, NUM_CLASSES)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_base_filters_sets_the_width(name: str) -> None:
    assert build_model(name, base_filters=4).count_params() < build_model(name, base_filters=8).count_params()


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


def test_default_budgets_are_within_a_factor_of_two(default_models: dict[str, keras.Model]) -> None:
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
    first = keras.Model(inputs, layers.Conv2D(4, 3, padding="same")(inputs), name="first")
    second = keras.Model(inputs, layers.Dense(2)(inputs), name="second")

    rows = model_summary_table([first, second])

    assert rows == [
        {"model": "first", "parameters": 3 * 3 * 4 + 4, "flops_per_image": 2 * 3 * 3 * 4 * 64},
        {"model": "second", "parameters": 2 + 2, "flops_per_image": 2 * 2 * 64},
    ]


# FLOP counting (a multiply-add is 2 FLOPs; biases are not counted)


def test_count_flops_of_a_conv2d_by_hand() -> None:
    flops = one_layer_flops((8, 8, 1), layers.Conv2D(4, 3, padding="same"))
    assert flops == 2 * (3 * 3 * 1 * 4) * (8 * 8)


def test_count_flops_of_a_strided_conv2d_uses_the_output_size() -> None:
    flops = one_layer_flops((8, 8, 2), layers.Conv2D(4, 3, strides=2, padding="same"))
    assert flops == 2 * (3 * 3 * 2 * 4) * (4 * 4)


def test_count_flops_of_a_conv2d_transpose_uses_the_input_size() -> None:
    flops = one_layer_flops((4, 4, 3), layers.Conv2DTranspose(2, 3, strides=2, padding="same"))
    assert flops == 2 * (3 * 3 * 3 * 2) * (4 * 4)


def test_count_flops_of_a_dense_layer_by_hand() -> None:
    assert one_layer_flops((10,), layers.Dense(5)) == 2 * 10 * 5


def test_count_flops_ignores_layers_without_multiply_adds() -> None:
    assert one_layer_flops((8, 8, 3), layers.MaxPooling2D(2)) == 0


def test_count_flops_descends_into_nested_models() -> None:
    inner = keras.Sequential([keras.Input(shape=(8, 8, 1)), layers.Conv2D(4, 3, padding="same")])
    inputs = keras.Input(shape=(8, 8, 1))
    outer = keras.Model(inputs, layers.Conv2D(2, 1)(inner(inputs)))
    assert count_flops(outer) == 2 * (3 * 3 * 1 * 4) * 64 + 2 * (1 * 1 * 4 * 2) * 64


# Backend independence


def test_models_module_imports_only_keras_and_the_standard_library() -> None:
    """Models built from keras.layers and keras.ops alone run under every Keras backend."""
    tree = ast.parse(inspect.getsource(models))
    imports = [node for node in ast.walk(tree) if isinstance(node, ast.Import)]
    imported = {alias.name.split(".")[0] for node in imports for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"__future__", "collections", "math", "keras", "helpers"}


JAX_TRAINING_STEP = """
import json
import keras
import numpy as np
from helpers import HEIGHT, NUM_CLASSES, WIDTH
from helpers.models import MODEL_BUILDERS, build_model

SMALL_SIZES = {"fcn8s": {"base_filters": 4}, "unet": {"base_filters": 4, "depth": 2},
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
    """Small sizes use every layer type of the defaults; JAX compiles them in seconds, not minutes, on a CPU."""
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
    assert all(math.isfinite(loss) for loss in report["losses"].values()), report["losses"]
