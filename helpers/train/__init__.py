"""Training: the recipe, the loop, and the run folders that make a run reusable and
resumable.

``recipe`` (every knob: settings, presets, optimiser, schedule, augmentation,
losses by name; no Keras at import), ``losses`` (cross-entropy and the soft
Dice losses), ``loop`` (:func:`~helpers.train.loop.train`), ``resume`` (reuse,
resume, lock a run folder), ``finish`` (save and score a finished run),
``runs`` (a run's identity and reading it back), ``artifacts`` (a run's
files), ``study`` (manifests of runs), ``machine`` (device, versions,
precision).

May import ``helpers.data``, ``helpers.nets`` and ``helpers.evaluate``;
nothing of the pages.
"""
