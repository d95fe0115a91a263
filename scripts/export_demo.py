"""Export the committed models and the book's palette and samples for the demo page.

    python scripts/export_demo.py

Converts ``artifacts/<model>/seed-<k>/model.keras`` of FCN-8s, U-Net and V-Net,
``k`` the median seed of each (:func:`helpers.results.median_seed`), to ONNX in
``demo/models/<model>.onnx`` and writes ``demo/book_data.json``
(class names, palette, three test images). Run it again whenever the
committed models change; ``tests/test_demo_export.py`` fails until then. For
each model it prints how many test pixels the export labels as Keras does.
"""

from __future__ import annotations

import argparse

import numpy as np

from helpers import browser_demo, data, results
from helpers.config import COMMITTED_ARTIFACTS, display_path
from helpers.inference import load_model, predict
from helpers.runs import run_folder

CHECK_IMAGES = 100


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.parse_args()
    study = results.load_study()

    test = data.load_m2nist().test
    check_images = test.images[:CHECK_IMAGES]
    for model_name, label in browser_demo.MODEL_LABELS.items():
        seed = results.median_seed(study[model_name]).seed
        model = load_model(run_folder(COMMITTED_ARTIFACTS, model_name, seed))
        path = browser_demo.export_onnx(model, browser_demo.onnx_path(model_name))
        exported = browser_demo.onnx_predict(
            browser_demo.onnx_session(path), check_images
        )
        agreement = np.mean(exported == predict(model, check_images))
        print(
            f"wrote {display_path(path)}: {label} seed {seed} labels "
            f"{agreement:.4%} of {CHECK_IMAGES} test images as Keras"
        )
    path = browser_demo.write_book_data(browser_demo.book_data(test.images, test.masks))
    print(f"wrote {display_path(path)}")


if __name__ == "__main__":
    main()
