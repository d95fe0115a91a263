"""Specification of helpers.book.upsampling: the transposed convolution by hand, bilinear kernels, receptive fields."""

import functools

import matplotlib

matplotlib.use("Agg")

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from helpers.book import receptive, upsampling
from helpers.nets import fcn_parts, registry

KERNEL = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 2.0]])
"""Not symmetric under any flip, so a flipped kernel gives another answer."""


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@functools.cache
def built(name: str) -> keras.Model:
    """Each of the book's models built once for this module."""
    return registry.build_model(name)


def keras_transposed_conv(x: np.ndarray, kernel: np.ndarray, stride: int) -> np.ndarray:
    """Keras' Conv2DTranspose on one channel, with ``kernel`` as its weights (layout kh, kw, out, in)."""
    layer = keras.layers.Conv2DTranspose(
        1, kernel.shape, strides=stride, padding="valid", use_bias=False
    )
    layer.build((1, *x.shape, 1))
    layer.set_weights([kernel[:, :, np.newaxis, np.newaxis]])
    return keras.ops.convert_to_numpy(
        layer(x[np.newaxis, :, :, np.newaxis].astype("float32"))
    )[0, :, :, 0]


def rows_by_name(model: keras.Model) -> dict[str, dict]:
    return {row["layer"]: row for row in receptive.receptive_fields(model)}


# Transposed convolution ------------------------------------------------------------------------------------------


def test_transposed_conv2d_adds_one_scaled_kernel_per_input_pixel_at_stride_steps():
    out = upsampling.transposed_conv2d(np.array([[1, 2], [3, 4]]), KERNEL, stride=2)
    expected = [  # the centre pixel: 1 * 2 + 2 * 1 + 3 * 0 + 4 * 1, where all four stamps overlap
        [1, 2, 2, 4, 0],
        [0, 1, 1, 2, 2],
        [4, 6, 8, 8, 4],
        [0, 3, 3, 4, 4],
        [3, 0, 10, 0, 8],
    ]
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize(
    ("shape", "kernel", "stride"),
    [((2, 2), (3, 3), 1), ((2, 2), (3, 3), 2), ((4, 5), (3, 2), 3)],
)
def test_transposed_conv2d_output_has_n_minus_1_strides_plus_the_kernel(
    shape, kernel, stride
):
    out = upsampling.transposed_conv2d(np.ones(shape), np.ones(kernel), stride)
    assert out.shape == tuple((n - 1) * stride + k for n, k in zip(shape, kernel))


@pytest.mark.parametrize(
    ("x", "stride"),
    [
        (np.array([[1.0, 2.0], [3.0, 4.0]]), 1),
        (np.array([[1.0, 2.0], [3.0, 4.0]]), 2),
        (np.random.default_rng(0).normal(size=(4, 5)), 1),
        (np.random.default_rng(1).normal(size=(4, 5)), 2),
    ],
)
def test_transposed_conv2d_equals_keras_conv2d_transpose_with_the_same_kernel(
    x, stride
):
    expected = keras_transposed_conv(x, KERNEL, stride)
    np.testing.assert_allclose(
        upsampling.transposed_conv2d(x, KERNEL, stride), expected, rtol=1e-5, atol=1e-5
    )


def test_keras_stamps_the_kernel_as_stored_not_flipped():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    keras_out = keras_transposed_conv(x, KERNEL, 2)
    assert not np.allclose(
        upsampling.transposed_conv2d(x, KERNEL[::-1, ::-1], 2), keras_out
    )


def test_transposed_conv2d_is_the_convolution_of_the_spread_out_input_with_the_flipped_kernel():
    x, stride, k = np.random.default_rng(2).normal(size=(3, 4)), 2, KERNEL.shape[0]
    spread = np.zeros(((x.shape[0] - 1) * stride + 1, (x.shape[1] - 1) * stride + 1))
    spread[::stride, ::stride] = x  # stride - 1 zeros between pixels
    padded = np.pad(spread, k - 1)
    flipped = KERNEL[::-1, ::-1]
    windows = np.lib.stride_tricks.sliding_window_view(padded, KERNEL.shape)
    np.testing.assert_allclose(
        upsampling.transposed_conv2d(x, KERNEL, stride),
        (windows * flipped).sum(axis=(2, 3)),
    )


def test_transposed_conv2d_rejects_a_stride_below_1():
    with pytest.raises(ValueError, match="stride must be positive"):
        upsampling.transposed_conv2d(np.ones((2, 2)), KERNEL, 0)


# Bilinear kernel ---------------------------------------------------------------------------------------------------


def test_bilinear_kernel_of_factor_2_weighs_a_quarter_and_three_quarters_along_each_axis():
    taps = np.array([0.25, 0.75, 0.75, 0.25])
    np.testing.assert_allclose(upsampling.bilinear_kernel(2), np.outer(taps, taps))


def test_bilinear_upsampling_keeps_a_constant_image_constant_inside():
    out = upsampling.transposed_conv2d(
        np.full((6, 6), 5.0), upsampling.bilinear_kernel(2), stride=2
    )
    np.testing.assert_allclose(
        out[2:-2, 2:-2], 5.0
    )  # the 2-pixel border gets fewer stamps
    assert out[0, 0] < 5.0


def test_bilinear_upsampling_interpolates_a_ramp_linearly_inside():
    ramp = np.tile(np.arange(6.0), (6, 1))  # 0..5 along the columns
    out = upsampling.transposed_conv2d(ramp, upsampling.bilinear_kernel(2), stride=2)
    np.testing.assert_allclose(
        np.diff(out[2:-2, 2:-2], axis=1), 0.5
    )  # half the input's slope per output pixel
    np.testing.assert_allclose(np.diff(out[2:-2, 2:-2], axis=0), 0.0)


# Overlaps and checkerboards -----------------------------------------------------------------------------------------


def test_overlap_counts_of_kernel_3_stride_2_are_a_checkerboard_of_1_2_and_4():
    counts = upsampling.overlap_counts(4, kernel=3, stride=2)
    assert counts.shape == (9, 9)
    assert set(np.unique(counts[2:-2, 2:-2])) == {1, 2, 4}


@pytest.mark.parametrize(("kernel", "inside"), [(2, 1), (4, 4)])
def test_overlap_counts_are_even_inside_when_the_stride_divides_the_kernel(
    kernel, inside
):
    counts = upsampling.overlap_counts(4, kernel=kernel, stride=2)
    trim = kernel - 1
    np.testing.assert_array_equal(counts[trim:-trim, trim:-trim], inside)


# Receptive fields ----------------------------------------------------------------------------------------------------


def tiny_model(*body: keras.layers.Layer, size: int = 16) -> keras.Model:
    x = inputs = keras.Input((size, size, 1), name="image")
    for layer in body:
        x = layer(x)
    return keras.Model(inputs, x)


def test_receptive_fields_grow_by_k_minus_1_jumps_and_pooling_multiplies_the_jump():
    model = tiny_model(
        keras.layers.Conv2D(1, 3, padding="same", name="conv_a"),
        keras.layers.MaxPooling2D(2, name="pool"),
        keras.layers.Conv2D(1, 3, padding="same", name="conv_b"),
    )
    rows = rows_by_name(model)
    assert [
        rows[name]["receptive_field"] for name in ("image", "conv_a", "pool", "conv_b")
    ] == [
        (1, 1),
        (3, 3),
        (4, 4),
        (8, 8),
    ]
    assert [rows[name]["jump"] for name in ("conv_a", "pool", "conv_b")] == [
        (1, 1),
        (2, 2),
        (2, 2),
    ]
    assert rows["conv_b"]["shape"] == (8, 8)


def test_receptive_fields_count_a_dilated_kernel_by_its_span():
    model = tiny_model(keras.layers.Conv2D(1, 3, dilation_rate=2, name="dilated"))
    assert rows_by_name(model)["dilated"]["receptive_field"] == (5, 5)


def test_receptive_fields_follow_each_axis_of_a_rectangular_kernel():
    model = tiny_model(keras.layers.Conv2D(1, (3, 5), padding="same", name="wide"))
    assert rows_by_name(model)["wide"]["receptive_field"] == (3, 5)


def measured_receptive_field(model: keras.Model) -> int:
    """The most input rows any output pixel depends on, from the model's response to every one-pixel image.

    The model must be linear with positive weights, so that no dependence cancels out.
    """
    size = model.input_shape[1]
    impulses = np.eye(size * size, dtype="float32").reshape(-1, size, size, 1)
    response = (
        keras.ops.convert_to_numpy(model(impulses))[..., 0] != 0
    )  # (input pixel, out row, out col)
    input_rows = np.arange(size * size) // size
    extents = [
        np.ptp(input_rows[response[:, r, c]]) + 1
        for r, c in np.ndindex(response.shape[1:])
    ]
    return max(extents)


@pytest.mark.parametrize(("kernel", "field"), [(2, 4), (3, 6), (4, 6)])
def test_transposed_convolution_widens_the_field_by_the_whole_input_pixels_it_gathers(
    kernel, field
):
    # conv 3 (field 3) -> average pool 2 (4, jump 2) -> transposed conv: floor((k - 1) / 2) more pixels of 2.
    ones = {"kernel_initializer": "ones", "use_bias": False, "padding": "same"}
    model = tiny_model(
        keras.layers.Conv2D(1, 3, **ones),
        keras.layers.AveragePooling2D(2),
        keras.layers.Conv2DTranspose(1, kernel, strides=2, name="up", **ones),
    )
    row = rows_by_name(model)["up"]
    assert row["receptive_field"] == (field, field)
    assert row["jump"] == (1, 1)
    assert measured_receptive_field(model) == field


def test_an_addition_takes_the_larger_receptive_field_of_its_inputs():
    inputs = keras.Input((16, 16, 1), name="image")
    wide = keras.layers.Conv2D(1, 5, padding="same", name="wide")(inputs)
    narrow = keras.layers.Conv2D(1, 1, name="narrow")(inputs)
    model = keras.Model(inputs, keras.layers.Add(name="sum")([wide, narrow]))
    row = rows_by_name(model)["sum"]
    assert (row["receptive_field"], row["jump"], row["inputs"]) == (
        (5, 5),
        (1, 1),
        ["wide", "narrow"],
    )


def test_receptive_fields_refuse_a_layer_they_have_no_rule_for():
    with pytest.raises(TypeError, match="UpSampling2D"):
        receptive.receptive_fields(tiny_model(keras.layers.UpSampling2D(2)))


@pytest.mark.parametrize("name", sorted(registry.MODEL_BUILDERS))
def test_receptive_field_never_shrinks_along_the_path_from_the_input_to_the_bottom(
    name,
):
    rows = rows_by_name(built(name))
    bottom = receptive.receptive_field_stages(built(name))[-2]["layer"]
    path = [bottom]
    while rows[path[-1]]["inputs"]:
        path.append(rows[path[-1]]["inputs"][0])
    fields = [rows[layer]["receptive_field"] for layer in reversed(path)]
    assert path[-1] == "image"
    assert all(a[0] <= b[0] and a[1] <= b[1] for a, b in zip(fields, fields[1:]))


@pytest.mark.parametrize("name", ["fcn8s", "fcn16s", "fcn32s"])
def test_fcn_encoder_fields_match_the_hand_count(name):
    # conv 3x3 adds 2 jumps, pool 2 adds 1 and doubles the jump: 3, 5 | 6 | 10, 14 | 16 | 24, 32, 40 | 44 | ...
    rows = rows_by_name(built(name))
    fields = {
        f"pool{stage}": rows[f"pool{stage}"]["receptive_field"][0]
        for stage in range(1, 6)
    }
    assert fields == {"pool1": 6, "pool2": 16, "pool3": 44, "pool4": 100, "pool5": 212}
    assert rows["pool5"]["jump"] == (32, 32)
    # conv6 is 3x5 on pool5's 32-pixel grid: 212 + 2 * 32 rows, 212 + 4 * 32 columns.
    assert rows[fcn_parts.SCORE_CONV7_LAYER]["receptive_field"] == (276, 340)


@pytest.mark.parametrize(
    ("name", "field"),
    [
        (
            "fcn32s",
            (308, 372),
        ),  # score_conv7 + one more 32-pixel cell from the x32 upsampling (kernel 64, stride 32)
        ("fcn16s", (324, 388)),  # + 32 (x2 to pool4's grid) + 16 (x16 to full size)
        ("fcn8s", (332, 396)),  # + 32 + 16 (two x2) + 8 (x8 to full size)
        (
            "unet",
            (200, 200),
        ),  # 2x2 stride-2 up-convolutions add nothing; each 3x3 conv on the way up adds 2 jumps
    ],
)
def test_the_output_pixel_of_each_model_sees_the_hand_counted_field(name, field):
    row = rows_by_name(built(name))["probabilities"]
    assert (row["receptive_field"], row["jump"], row["shape"]) == (
        field,
        (1, 1),
        (64, 84),
    )


def test_receptive_field_stages_are_the_poolings_the_bottom_and_the_output():
    stages = [row["layer"] for row in receptive.receptive_field_stages(built("unet"))]
    assert stages == [
        "pool0",
        "pool1",
        "pool2",
        "pool3",
        "bottom_conv2_relu",
        "probabilities",
    ]


# Figures ---------------------------------------------------------------------------------------------------------


FIGURES = {
    "transposed_conv": lambda: upsampling.transposed_conv_figure(),
    "bilinear_2": lambda: upsampling.bilinear_kernel_figure(2),
    "bilinear_8": lambda: upsampling.bilinear_kernel_figure(8),
    "checkerboard": lambda: upsampling.checkerboard_figure(),
    "receptive_field": lambda: receptive.receptive_field_figure(
        {"fcn8s": built("fcn8s"), "unet": built("unet")}
    ),
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_figures_fit_the_book_column_with_text_of_at_least_9_points(name):
    fig = FIGURES[name]()
    assert isinstance(fig, Figure)
    fig.canvas.draw()
    width = (
        fig.get_tightbbox().width
    )  # inches, what bbox_inches="tight" keeps (before its 0.1-inch pad)
    assert width + 0.2 <= 7.3
    sizes = [
        text.get_fontsize()
        for text in fig.findobj(Text)
        if text.get_text() and text.get_visible()
    ]
    assert sizes and min(sizes) >= 9


def test_transposed_conv_figure_writes_every_output_value():
    fig = upsampling.transposed_conv_figure(np.array([[1, 2], [3, 4]]), KERNEL, 2)
    output_axes = next(ax for ax in fig.axes if ax.get_title().startswith("output"))
    written = sorted(float(text.get_text()) for text in output_axes.texts)
    assert written == sorted(
        upsampling.transposed_conv2d(np.array([[1, 2], [3, 4]]), KERNEL, 2).ravel()
    )


def test_transposed_conv_figure_draws_one_stamp_per_input_pixel():
    fig = upsampling.transposed_conv_figure(np.array([[1, 2], [3, 4]]), KERNEL, 2)
    assert sum(ax.get_title().startswith("x[") for ax in fig.axes) == 4


def test_checkerboard_figure_calls_kernel_3_uneven_and_kernels_4_and_2_even():
    titles = [ax.get_title() for ax in upsampling.checkerboard_figure().axes]
    assert titles == [
        "kernel 3, stride 2\nuneven: 1, 2, 4",
        "kernel 4, stride 2\neven: 4",
        "kernel 2, stride 2\neven: 1",
    ]


def test_receptive_field_figure_shows_the_32_pixel_grid_of_fcn_scores():
    fig = receptive.receptive_field_figure({"fcn32s": built("fcn32s")})
    assert "one value\nper 32×32 px" in fig.axes[-1].get_title()


def test_receptive_field_stages_are_named_in_words_not_layer_names():
    assert receptive.stage_labels(receptive.receptive_field_stages(built("unet"))) == [
        "pooling 1",
        "pooling 2",
        "pooling 3",
        "pooling 4",
        "before upsampling",
        "output",
    ]
    assert receptive.stage_labels(receptive.receptive_field_stages(built("vnet")))[
        0
    ] == ("strided convolution 1")
