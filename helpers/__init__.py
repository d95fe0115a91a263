"""Code shared by the chapters of the M2NIST segmentation book.

Modules: ``config`` (profiles and paths), ``data`` (M2NIST loading and
generation), ``metrics`` (IoU, Dice, pixel accuracy, kinds of error),
``plotting`` (one palette for every figure), ``models`` (FCN-8s, U-Net, 2D
V-Net), ``training`` (one way to train, evaluate and save a model),
``results`` (the committed runs side by side), ``original_project`` (the
published table of the original M2NIST project) and ``source`` (a function's
real source code, shown on a chapter's page).
"""

import os

# TensorFlow's C++ start-up messages (no CUDA on a CPU machine, ...) would otherwise land in
# every chapter's saved outputs; set TF_CPP_MIN_LOG_LEVEL yourself to see them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

NUM_CLASSES = 11
BACKGROUND = 10
HEIGHT, WIDTH = 64, 84
CLASS_NAMES = [str(digit) for digit in range(10)] + ["background"]
