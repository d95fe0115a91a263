"""Digits whose grey level says their label, so a composed mask can be checked against
the digits pasted into its image, pixel by pixel."""

from __future__ import annotations

import numpy as np

from helpers import BACKGROUND

LABEL_GREY = (30 + 20 * np.arange(10)).astype(np.uint8)
"""The grey level of every stroke pixel of a digit of each label: 30, 50, ..., 210."""


def label_coded(pixels: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The digits with every stroke pixel set to the grey level of its label.

    Composed images are the pixel-wise maximum of their digits and a mask pixel
    takes the label of the brightest digit there, so in an image composed from
    these digits the grey level of every pixel names the label its mask must
    hold (:func:`labels_from_grey`): a mask that took another digit's label, or
    another image's, shows at once.
    """
    labels = np.asarray(labels)
    return np.where(pixels > 0, LABEL_GREY[labels][:, None, None], 0).astype(np.uint8)


def labels_from_grey(images: np.ndarray) -> np.ndarray:
    """The class maps that images composed from :func:`label_coded` digits must
    have."""
    grey = np.asarray(images).astype(np.int64)
    return np.where(grey > 0, (grey - 30) // 20, BACKGROUND).astype(np.uint8)
