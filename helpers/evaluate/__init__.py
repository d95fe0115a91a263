"""Scoring: metrics from confusion matrices, prediction with a trained model, intervals
over seeds and test images, and the silent-foreground diagnostic.

``metrics`` (IoU, Dice, pixel accuracy, kinds of error, the mean digit IoU),
``inference`` (load a model, predict, score a split), ``stats`` (seed
spread, two-level bootstrap intervals), ``diagnostics`` (digit pixels no
feature describes).

May import ``helpers.data`` and ``helpers.nets``; nothing about training or
pages.
"""
