"""Export the committed models and the book's palette and samples for the demo page.

    python scripts/export_demo.py

Converts ``artifacts/<model>/seed-<k>/model.keras`` of FCN-8s, U-Net and V-Net,
``k`` the median seed of each (:func:`helpers.book.results.median_seed`), to ONNX in
``demo/models/<model>.onnx`` and writes ``demo/book_data.json``
(class names, palette, three test images). Run it again whenever the
committed models change; ``tests/test_demo_export.py`` fails until then. For
each model it prints how many test pixels the export labels as Keras does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

# The demo's export code lives with the demo page, in demo/ at the repository's root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from demo import export  # noqa: E402
from helpers.book import results  # noqa: E402
from helpers.config import COMMITTED_ARTIFACTS, display_path  # noqa: E402
from helpers.data import splits  # noqa: E402
from helpers.evaluate.inference import load_model, predict  # noqa: E402
from helpers.nets import names  # noqa: E402
from helpers.train import runs  # noqa: E402
from helpers.train.runs import run_folder  # noqa: E402

CHECK_IMAGES = 100


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.parse_args()
    study = runs.load_study()

    test = splits.load_m2nist().test
    check_images = test.images[:CHECK_IMAGES]
    for model_name in names.BOOK_MODELS:
        label = names.MODEL_LABELS[model_name]
        seed = results.median_seed(study[model_name]).seed
        model = load_model(run_folder(COMMITTED_ARTIFACTS, model_name, seed))
        path = export.export_onnx(model, export.onnx_path(model_name))
        exported = export.onnx_predict(export.onnx_session(path), check_images)
        agreement = np.mean(exported == predict(model, check_images))
        print(
            f"wrote {display_path(path)}: {label} seed {seed} labels "
            f"{agreement:.4%} of {CHECK_IMAGES} test images as Keras"
        )
    path = export.write_book_data(export.book_data(test.images, test.masks))
    print(f"wrote {display_path(path)}")


if __name__ == "__main__":
    main()
