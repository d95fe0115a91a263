"""Specification of helpers.book.diagrams: block diagrams read from the built models, by the layer names helpers.nets.blocks fixes."""

import json

import matplotlib

matplotlib.use("Agg")

import keras
import matplotlib.pyplot as plt
import pytest
from figure_text import (
    overlapping_texts,
    smallest_shown_text_pt,
    texts_outside_their_boxes,
)
from matplotlib.figure import Figure

from helpers.book import diagrams
from helpers.config import COMMITTED_ARTIFACTS
from helpers.nets import blocks, fcn, registry

MODEL_NAMES = sorted(registry.MODEL_BUILDERS)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def diagram_texts(fig: Figure) -> str:
    """All text drawn in a figure's axes, one string per line."""
    return "\n".join(text.get_text() for ax in fig.axes for text in ax.texts)


def legend_labels(fig: Figure) -> list[str]:
    return [text.get_text() for legend in fig.legends for text in legend.get_texts()]


@pytest.mark.parametrize(
    ("model_name", "connection"),
    [
        ("fcn8s", "score fusion"),
        ("fcn16s", "score fusion"),
        ("unet", "skip connection"),
        ("vnet", "residual shortcut"),
    ],
)
def test_architecture_diagram_draws_the_model_and_its_characteristic_connection(
    model_name, connection
):
    fig = diagrams.architecture_diagram(model_name)
    assert isinstance(fig, Figure)
    assert fig.axes[0].get_title().startswith(f"{model_name}:")
    assert any(label.startswith(connection) for label in legend_labels(fig))


def test_architecture_diagram_reads_sizes_from_the_built_model():
    texts = diagram_texts(diagrams.architecture_diagram("unet", base_filters=8))
    assert "bottom: 2× conv 3×3\n4×6×128" in texts
    assert "image 64×84×1\npad 6 + 6 columns\n→ 64×96×1" in texts
    assert "→ 64×84×11" in texts


def test_architecture_diagram_marks_projection_shortcuts_only_where_channels_change():
    texts = [
        text.get_text()
        for text in diagrams.architecture_diagram("vnet", depth=2).axes[0].texts
    ]
    assert (
        texts.count("1×1") == 3
    )  # level 0 (1 -> base channels) and both decoder blocks (after concatenation)


def test_architecture_diagram_rejects_an_unknown_model():
    with pytest.raises(ValueError, match="unknown model 'segnet'"):
        diagrams.architecture_diagram("segnet")


# The layer-name contract between helpers.nets, the diagrams and the saved models


@pytest.mark.parametrize(
    ("model_name", "model_kwargs"),
    [("fcn8s", {}), ("unet", {"depth": 6}), ("vnet", {})],
)
def test_diagram_shows_the_padding_and_crop_of_the_layers_so_named(
    model_name, model_kwargs
):
    model = registry.build_model(model_name, **model_kwargs)
    (_, _), (pad_left, pad_right) = model.get_layer(blocks.PAD_LAYER).padding
    (_, _), (crop_left, crop_right) = model.get_layer(blocks.CROP_LAYER).cropping
    texts = diagram_texts(diagrams.architecture_diagram(model_name, **model_kwargs))
    assert f"pad {pad_left} + {pad_right} columns" in texts
    assert f"crop {crop_left} + {crop_right} columns" in texts


def test_fcn8s_diagram_counts_the_stages_and_reads_conv6_7_and_the_fused_scores():
    texts = diagram_texts(diagrams.architecture_diagram("fcn8s"))
    for stage, n_convs in enumerate(fcn.FCN_STAGE_CONVS, start=1):
        assert f"stage {stage}: {n_convs}× conv 3×3" in texts
    assert "conv6 3×5, conv7 1×1\ndropout 0.5 after each\n→ 2×3×192" in texts
    assert (
        "+ scores of pool4\n→ 4×6×11" in texts
        and "+ scores of pool3\n→ 8×12×11" in texts
    )
    assert "up ×8 (transposed conv)" in texts


@pytest.mark.parametrize(
    ("model_name", "fused", "factor"), [("fcn16s", ["pool4"], 16), ("fcn32s", [], 32)]
)
def test_fcn_diagrams_draw_the_fusions_of_their_variant_only(model_name, fused, factor):
    fig = diagrams.architecture_diagram(model_name)
    texts = diagram_texts(fig)
    assert [
        pool for pool in ("pool4", "pool3") if f"+ scores of {pool}" in texts
    ] == fused
    assert f"up ×{factor} (transposed conv)" in texts
    assert any(
        label.startswith("score fusion") for label in legend_labels(fig)
    ) == bool(fused)


@pytest.mark.parametrize(
    ("model_name", "downsampling"),
    [("unet", "max pool 2×2"), ("vnet", "conv 2×2, stride 2")],
)
def test_encoder_decoder_diagram_finds_every_level_and_how_it_downsamples(
    model_name, downsampling
):
    texts = [
        text.get_text()
        for text in diagrams.architecture_diagram(model_name, depth=3).axes[0].texts
    ]
    assert sum(text.startswith("level ") for text in texts) == 3
    assert sum(text.startswith("up-conv 2×2, concatenate") for text in texts) == 3
    assert texts.count(downsampling) == 3


@pytest.mark.parametrize("model_name", MODEL_NAMES)
def test_builders_name_layers_as_in_the_committed_models(model_name):
    """Renaming a layer in a builder would break the diagrams of, and name lookups in, the trained models.

    A committed model of an earlier architecture (another parameter count) must still load from its file,
    under its own layer names; its names are compared once it is retrained.
    """
    run_dir = COMMITTED_ARTIFACTS / model_name / "seed-0"
    if not (run_dir / "model.keras").exists():
        pytest.skip(f"no committed model.keras for {model_name}")
    saved = keras.models.load_model(run_dir / "model.keras", compile=False)
    config = json.loads((run_dir / "config.json").read_text())
    model = registry.build_model(config["model"], **config["model_kwargs"])
    if saved.count_params() != model.count_params():
        pytest.skip(
            f"the committed {model_name} predates its builder's architecture; retrain it"
        )
    assert [layer.name for layer in model.layers] == [
        layer.name for layer in saved.layers
    ]


@pytest.mark.parametrize("model_name", MODEL_NAMES)
def test_architecture_diagram_text_is_9_pt_at_least_on_the_page_and_fits(model_name):
    fig = diagrams.architecture_diagram(model_name)
    assert smallest_shown_text_pt(fig) >= 9
    assert overlapping_texts(fig) == []
    assert texts_outside_their_boxes(fig) == []


def test_texts_outside_their_boxes_finds_a_box_text_too_wide_for_its_box():
    fig = diagrams.architecture_diagram("unet", depth=1)
    fig.axes[0].texts[0].set_fontsize(30)
    assert fig.axes[0].texts[0].get_text() in texts_outside_their_boxes(fig)
