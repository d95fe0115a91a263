"""The demo page's files: ONNX exports that label pixels as the committed Keras models
do, and the book's data.

The exports and ``demo/book_data.json`` are written by ``scripts/export_demo.py``;
when the committed models or the data generator change, these tests fail until
it is run again.
"""

from __future__ import annotations

import base64
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from committed_study import RETRAINED_NEXT

from demo import export
from helpers import BACKGROUND, CLASS_NAMES, HEIGHT, WIDTH
from helpers.book import results
from helpers.book.palette import PALETTE
from helpers.config import COMMITTED_ARTIFACTS, REPO_ROOT
from helpers.data import splits
from helpers.evaluate.inference import load_model, predict
from helpers.nets import names
from helpers.train import runs

EXACTNESS_IMAGES = 64
MIN_AGREEMENT = 0.999
REEXPORT = "run `python scripts/export_demo.py`"


@pytest.fixture(scope="module")
def test_images() -> np.ndarray:
    return splits.load_m2nist().test.images[:EXACTNESS_IMAGES]


def load_extension():
    """The Sphinx extension ``demo/segmentation_demo.py``, imported from its file."""
    spec = importlib.util.spec_from_file_location(
        "segmentation_demo", REPO_ROOT / "demo" / "segmentation_demo.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("model_name", names.BOOK_MODELS)
def test_export_labels_test_pixels_as_the_keras_model(
    model_name: str, test_images: np.ndarray
) -> None:
    seed = results.median_seed(runs.load_study()[model_name]).seed
    keras_labels = predict(
        load_model(COMMITTED_ARTIFACTS / model_name / f"seed-{seed}"), test_images
    )
    session = export.onnx_session(export.onnx_path(model_name))
    agreement = np.mean(export.onnx_predict(session, test_images) == keras_labels)
    assert agreement >= MIN_AGREEMENT, (
        f"{model_name}: {agreement:.4%} of the pixels agree; {REEXPORT}"
    )


def test_export_outputs_probabilities_for_every_pixel(test_images: np.ndarray) -> None:
    session = export.onnx_session(export.onnx_path("unet"))
    probabilities = export.onnx_probabilities(session, test_images[:2])
    assert probabilities.shape == (2, HEIGHT, WIDTH, len(CLASS_NAMES))
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1, atol=1e-5)


def test_a_missing_export_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="absent.onnx"):
        export.onnx_session(tmp_path / "absent.onnx")


def test_a_damaged_export_is_named(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.onnx"
    damaged.write_bytes(export.onnx_path("unet").read_bytes()[:5000])
    with pytest.raises(ValueError, match="damaged.onnx is not an ONNX model"):
        export.onnx_session(damaged)


def test_page_data_holds_the_book_palette_and_class_names() -> None:
    page_data = export.read_book_data()
    expected = np.round(np.array(PALETTE) * 255).astype(np.uint8)
    assert (export.palette_rgb(page_data) == expected).all(), REEXPORT
    assert page_data["class_names"] == CLASS_NAMES
    assert (page_data["height"], page_data["width"], page_data["background"]) == (
        HEIGHT,
        WIDTH,
        BACKGROUND,
    )


@RETRAINED_NEXT
def test_page_samples_are_the_test_images_they_name() -> None:
    page_data = export.read_book_data()
    test = splits.load_m2nist().test
    indices = [sample["index"] for sample in page_data["samples"]]
    assert (export.sample_images(page_data) == test.images[indices]).all(), REEXPORT
    for sample, mask in zip(page_data["samples"], test.masks[indices]):
        assert sample["digits"] == sorted(set(np.unique(mask).tolist()) - {BACKGROUND})


def test_samples_alternate_images_of_three_and_two_digits() -> None:
    masks = np.full((5, HEIGHT, WIDTH), BACKGROUND, np.uint8)
    masks[0, :2, :3] = [1, 1, 1], [1, 1, 1]  # one digit
    masks[1, 0, :2] = [4, 5]  # two digits
    masks[2, 0, :3] = [1, 2, 3]  # three digits
    masks[3, 0, :2] = [7, 7]  # one digit twice
    masks[4, 0, :3] = [6, 8, 9]  # three digits
    assert export.sample_indices(masks) == [2, 1, 4]


def test_too_few_sample_candidates_are_reported() -> None:
    masks = np.full((2, HEIGHT, WIDTH), BACKGROUND, np.uint8)
    masks[0, 0, :3] = [1, 2, 3]
    masks[1, 0, :2] = [4, 5]
    with pytest.raises(ValueError, match="no further image with 3 different digits"):
        export.sample_indices(masks)


def test_the_build_embeds_each_export_byte_for_byte(tmp_path: Path) -> None:
    extension = load_extension()
    extension.write_static_files(REPO_ROOT, REPO_ROOT / "demo", tmp_path)
    for model_name in names.BOOK_MODELS:
        script = (tmp_path / f"model-{model_name}.js").read_text()
        encoded = json.loads(script.split(" = ", 2)[-1].rstrip(";\n"))
        assert base64.b64decode(encoded) == export.onnx_path(model_name).read_bytes()


def test_the_build_names_the_missing_runtime_package(tmp_path: Path) -> None:
    extension = load_extension()
    with pytest.raises(extension.ExtensionError, match="onnxruntime-web.*run `npm ci`"):
        extension.write_static_files(tmp_path, REPO_ROOT / "demo", tmp_path / "out")
