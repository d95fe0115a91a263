"""Specification of helpers.models: the three networks, their alignment and their budgets."""

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

from helpers import HEIGHT, NUM_CLASSES, WIDTH, models
from helpers.models import MODEL_BUILDERS, build_model, count_flops, model_summary_table, padding_for

MODEL_NAMES = sorted(MODEL_BUILDERS)
CENTRE = (HEIGHT // 2, WIDTH // 2)
MAX_ALIGNMENT_ERROR_PX = 2.0


@pytest.fixture(scope="module")
def default_models() -> dict[str, keras.Model]:
    """Each model at its default size, built once for the whole module."""
    keras.utils.set_random_seed(0)
    return {name: build_model(name) for name in MODEL_NAMES}


def grey_images(n: int, seed: int = 0) -> np.ndarray:
    """Random raw grey levels ``(n, 64, 84, 1)`` in 0..255, as the models take them."""
    return np.random.default_rng(seed).uniform(0, 255, (n, HEIGHT, WIDTH, 1)).astype("float32")


def input_gradient_centroid(model: keras.Model, row: int, col: int) -> tuple[float, float]:
    """Centroid (row, col) of the input pixels that the prediction at ``(row, col)`` depends on.

    Weights each input pixel by |d p_c(row, col) / d input| summed over the
    classes c. Copy c of one image in the batch carries the gradient of class
    c, so one backward pass gives all of them (inference mode: no batch
    statistics mix the copies). Summing the probabilities first would not do:
    they add up to 1, whose gradient is 0.
    """
    batch = tf.constant(np.repeat(grey_images(1), NUM_CLASSES, axis=0))
    with tf.GradientTape() as tape:
        tape.watch(batch)
        probabilities = model(batch, training=False)
        one_class_per_copy = tf.reduce_sum(probabilities[:, row, col, :] * tf.eye(NUM_CLASSES))
    sensitivity = tf.reduce_sum(tf.abs(tape.gradient(one_class_per_copy, batch)), axis=(0, 3)).numpy()
    rows, cols = np.indices(sensitivity.shape)
    total = sensitivity.sum()
    return float((rows * sensitivity).sum() / total), float((cols * sensitivity).sum() / total)


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


@pytest.mark.parametrize("multiple", [16, 32, 5])
def test_pad_then_crop_returns_the_image_unmoved(multiple: int) -> None:
    image = np.zeros((1, HEIGHT, WIDTH, 1), dtype="float32")
    image[0, 17, 23, 0] = 1.0
    padding = (padding_for(HEIGHT, multiple), padding_for(WIDTH, multiple))

    padded = layers.ZeroPadding2D(padding)(image)
    restored = layers.Cropping2D(padding)(padded)

    assert padded.shape[1] % multiple == 0 and padded.shape[2] % multiple == 0
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(restored), image)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_models_crop_exactly_what_they_pad(default_models: dict[str, keras.Model], name: str) -> None:
    model = default_models[name]
    assert model.get_layer("crop").cropping == model.get_layer("pad").padding
    assert model.get_layer("pad").padding == ((0, 0), (6, 6))


@pytest.mark.parametrize("pixel", [CENTRE, (20, 30)])
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_prediction_depends_on_the_input_around_the_same_pixel(
    default_models: dict[str, keras.Model], name: str, pixel: tuple[int, int]
) -> None:
    centroid = input_gradient_centroid(default_models[name], *pixel)
    assert np.allclose(centroid, pixel, atol=MAX_ALIGNMENT_ERROR_PX), f"{name}: centroid {centroid}, pixel {pixel}"


def test_alignment_check_detects_a_six_pixel_shift(default_models: dict[str, keras.Model]) -> None:
    """The misalignment of the original V-Net (pad 6 per side, crop 12 on the right) must fail the check."""
    model = default_models["unet"]
    inputs = keras.Input(shape=(HEIGHT, WIDTH, 1))
    shifted = layers.Cropping2D(((0, 0), (0, 6)))(layers.ZeroPadding2D(((0, 0), (6, 0)))(model(inputs)))
    shifted_model = keras.Model(inputs, shifted)

    row, col = input_gradient_centroid(shifted_model, *CENTRE)

    assert abs(row - CENTRE[0]) <= MAX_ALIGNMENT_ERROR_PX
    assert col - CENTRE[1] == pytest.approx(-6, abs=MAX_ALIGNMENT_ERROR_PX)


# Output contract


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_models_map_grey_images_to_per_pixel_probabilities(
    default_models: dict[str, keras.Model], name: str
) -> None:
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


def test_summary_table_has_one_row_per_model(default_models: dict[str, keras.Model]) -> None:
    rows = model_summary_table(default_models.values())
    assert [row["model"] for row in rows] == MODEL_NAMES
    assert rows[0] == {
        "model": "fcn8s",
        "parameters": default_models["fcn8s"].count_params(),
        "flops_per_image": count_flops(default_models["fcn8s"]),
    }


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
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"__future__", "collections", "math", "keras", "helpers"}


JAX_TRAINING_STEP = """
import json
import keras
import numpy as np
from helpers import HEIGHT, NUM_CLASSES, WIDTH
from helpers.models import MODEL_BUILDERS, build_model

SMALL_SIZES = {"fcn8s": {"base_filters": 4}, "unet": {"base_filters": 4, "depth": 2}, "vnet": {"base_filters": 4, "depth": 2}}
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
