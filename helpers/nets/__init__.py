"""The networks: one file per architecture, built from shared blocks, found by name.

``blocks`` (the input/output contract every network keeps, conv + batch norm
+ leaky ReLU, the layer-name contract), ``fcn`` (FCN-32s, 16s, 8s), ``unet``,
``vnet``, ``registry`` (the builders by name, FLOP counting), ``names``
(model names and labels, without Keras), ``architecture`` (the digest of a
built network that a run records).

Imports ``keras.layers`` and ``keras.ops`` only, and from ``helpers`` only
its root modules: no data, training or pages.
"""
