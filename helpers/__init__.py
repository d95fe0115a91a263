"""Code shared by the chapters of the M2NIST segmentation book, in subpackages by job.

They stack, each importing only from those before it: ``data`` (MNIST,
composing M2NIST images, splits, training batches), ``nets`` (the networks),
``evaluate`` (metrics, prediction, statistics), ``train`` (the recipe, the
loop, run folders, studies), ``book`` (what only the pages need). Below them
all: this module (the image size and the classes), ``checks`` (validation
shared by all) and ``config`` (profiles and folders). ``tests/test_layout.py``
holds the package to this shape.
"""

import os

# TensorFlow's C++ start-up messages (no CUDA on a CPU machine, ...) would otherwise
# land in
# every chapter's saved outputs; set TF_CPP_MIN_LOG_LEVEL yourself to see them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

NUM_CLASSES = 11
BACKGROUND = 10
HEIGHT, WIDTH = 64, 84
CLASS_NAMES = [str(digit) for digit in range(10)] + ["background"]
