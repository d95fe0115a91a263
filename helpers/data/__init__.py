"""The data: M2NIST images composed from all of MNIST, and the batches a run trains on.

``mnist`` (MNIST from Keras' cache file, checked by hash; its three digit
pools), ``compose`` (composing M2NIST images, digit augmentation), ``splits``
(the train/validation/test splits: generated, cached, or the Kaggle files),
``streaming`` (training batches that depend on the seed and the epoch alone,
and the conversion to model input).

Imports only ``helpers`` itself, ``helpers.checks`` and ``helpers.config``; no
Keras outside ``streaming``.
"""
