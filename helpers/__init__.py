"""Code shared by the chapters of the M2NIST segmentation book, one module per job.

``config`` (profiles and folders), ``data`` (M2NIST loading and generation),
``models`` (FCN-8s, U-Net, 2D V-Net), ``losses``, ``training`` (the recipe,
run folders, resume), ``inference`` (load, predict, evaluate), ``artifacts``
(a run's files and JSON), ``machine`` (device and versions), ``metrics`` (IoU,
Dice, pixel accuracy, kinds of error), ``results`` (the committed runs side by
side), ``original_project`` (the original project's published table),
``palette`` (the class colours), ``plotting`` (figures), ``diagrams``
(architecture diagrams), ``chapter`` (the steps chapters 2-4 share) and
``source`` (a function's real source code, shown on a chapter's page).
"""

import os

# TensorFlow's C++ start-up messages (no CUDA on a CPU machine, ...) would otherwise land in
# every chapter's saved outputs; set TF_CPP_MIN_LOG_LEVEL yourself to see them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

NUM_CLASSES = 11
BACKGROUND = 10
HEIGHT, WIDTH = 64, 84
CLASS_NAMES = [str(digit) for digit in range(10)] + ["background"]
