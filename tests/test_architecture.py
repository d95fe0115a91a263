"""Specification of helpers.nets.architecture: one digest per network structure, the same for
the same builder, another for any change of a layer."""

import keras
import pytest

from helpers.nets import architecture
from helpers.nets.architecture import architecture_digest
from helpers.nets.unet import build_unet

SMALL_UNET = {"base_filters": 4, "depth": 2}


def small_network(
    kernel_size: int = 3, widths: tuple[int, ...] = (4,), added: str = "input"
) -> keras.Model:
    """A few unnamed layers (Keras names them): a first convolution, convolutions of
    ``widths``, and the ``added`` tensor ("input" or "first" convolution's output) added
    to the last one."""
    image = keras.Input((8, 8, 1))
    first = keras.layers.Conv2D(1, kernel_size, padding="same")(image)
    x = first
    for width in widths:
        x = keras.layers.Conv2D(width, kernel_size, padding="same")(x)
    x = keras.layers.Conv2D(1, 1)(x)
    return keras.Model(
        image, keras.layers.Add()([x, {"input": image, "first": first}[added]])
    )


def test_the_same_builder_gives_the_same_digest_twice():
    assert architecture.digest_of("unet", SMALL_UNET) == architecture.digest_of(
        "unet", SMALL_UNET
    )


def test_the_names_keras_makes_up_do_not_change_the_digest():
    first, second = small_network(), small_network()
    assert [layer.name for layer in first.layers] != [
        layer.name for layer in second.layers
    ]
    assert architecture_digest(first) == architecture_digest(second)


def test_a_width_changes_the_digest():
    assert architecture.digest_of("unet", SMALL_UNET) != architecture.digest_of(
        "unet", {**SMALL_UNET, "base_filters": 5}
    )


def test_a_kernel_size_changes_the_digest():
    assert architecture_digest(small_network(kernel_size=3)) != architecture_digest(
        small_network(kernel_size=5)
    )


def test_an_added_layer_changes_the_digest():
    assert architecture_digest(small_network(widths=(4,))) != architecture_digest(
        small_network(widths=(4, 4))
    )


def test_a_rewired_connection_changes_the_digest():
    assert architecture_digest(small_network(added="input")) != architecture_digest(
        small_network(added="first")
    )


def test_the_dtype_policy_in_force_does_not_change_the_digest_of_a_builder():
    plain = architecture.digest_of("unet", SMALL_UNET)
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        assert architecture.digest_of("unet", SMALL_UNET) == plain
    finally:
        keras.mixed_precision.set_dtype_policy("float32")


def test_an_unknown_model_or_keyword_fails_as_the_builder_does():
    with pytest.raises(ValueError, match="unknown model 'segnet'"):
        architecture.digest_of("segnet")
    with pytest.raises(TypeError, match="base_filter"):
        architecture.digest_of("unet", {"base_filter": 4})


def test_a_builder_gives_the_digest_of_the_network_it_builds():
    assert architecture.digest_of(build_unet, SMALL_UNET) == architecture.digest_of(
        "unet", SMALL_UNET
    )


def test_the_librarys_network_keeps_the_models_run_name():
    digest = architecture.digest_of(build_unet, SMALL_UNET)
    assert architecture.run_name("unet", SMALL_UNET, digest) == "unet"


def test_an_edited_network_gets_a_run_name_of_its_own():
    def edited_unet(**kwargs) -> keras.Model:
        return build_unet(**kwargs, negative_slope=0.2)

    digest = architecture.digest_of(edited_unet, SMALL_UNET)
    assert architecture.run_name("unet", SMALL_UNET, digest) == f"unet-{digest[:8]}"
