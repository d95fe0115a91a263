"""Draw the figures in ``images/`` that README and the book's front page show.

    python scripts/draw_figures.py

The chapters draw the same figures on their pages but never write into the
repository; this script is the one place that does. It needs no trained
model: the example comes from the training split and the diagrams are read
from freshly built models.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from helpers.book import diagrams, plotting
from helpers.config import REPO_ROOT, display_path
from helpers.data import splits
from helpers.nets.registry import MODEL_BUILDERS

IMAGES = REPO_ROOT / "images"


def main() -> None:
    IMAGES.mkdir(exist_ok=True)
    train = splits.load_m2nist().train
    index = splits.example_index(train)
    figures = {
        "segmentation_example.png": plotting.show_segmentation(
            train.images[index], train.masks[index]
        )
    }
    figures |= {
        f"{name}_architecture.png": diagrams.architecture_diagram(name)
        for name in MODEL_BUILDERS
    }
    for file_name, fig in figures.items():
        fig.savefig(IMAGES / file_name, dpi=120, bbox_inches="tight")
        plt.close(fig)
        print(f"wrote {display_path(IMAGES / file_name)}")


if __name__ == "__main__":
    main()
