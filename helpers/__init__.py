"""Code shared by the chapters of the M2NIST segmentation book, one module per job.

Data: ``config`` (profiles and folders), ``mnist`` (all of MNIST from Keras'
cache file, and its three digit pools), ``compose`` (composing M2NIST images,
digit augmentation), ``data`` (the splits: generated, cached, or the Kaggle
files), ``streaming`` (training batches that depend on the seed and the epoch
alone: fresh compositions, or a fixed split reshuffled). Networks: ``blocks``
(the layers all share), ``fcn`` (FCN-32s, 16s, 8s), ``models`` (U-Net, 2D V-Net,
the registry and budgets). Training: ``losses``, ``settings`` (recipes and
presets), ``training`` (the training loop, resume), ``runs`` (run folders,
reading a run), ``study`` (manifests of runs), ``inference`` (load, predict,
score), ``artifacts`` (a run's files), ``machine`` (device and versions).
Results: ``metrics`` (IoU, Dice, pixel accuracy, kinds of error), ``stats``
(seed spread, bootstrap intervals), ``results`` (the committed runs side by
side), ``original_project`` (the original project's published table). Pages:
``palette``, ``plotting``, ``diagrams``, ``chapter`` (the steps chapters 2-4
share), ``source`` (a function's real source on the page), ``browser_demo`` (the
demo page's exported models and data).
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
