"""A network's structure as one short digest, which a run records as part of what made
it.

:func:`architecture_digest` hashes, in order, every layer's class and
configuration (widths, kernel sizes, activations, ...) and which layers feed
it, so that a changed builder or width gives another digest, while building
the same model twice gives the same one. The names Keras makes up for unnamed
layers (``conv2d_17``) depend on how many layers the process built before,
so only their class part and their position count. The weights and the
model's own name are left out; :func:`digest_of` builds under the float32
policy, so that mixed precision (recorded with the settings) leaves the digest
as it is.

``python -m helpers.nets.architecture`` reads ``[[model name, keywords], ...]`` as
JSON on stdin and prints their digests: how :mod:`helpers.train.study` gets them
without loading Keras in its own process.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import re
import sys
from collections.abc import Callable
from typing import Any

import keras

from helpers.nets.registry import build_model

DIGEST_LENGTH = 16
"""Hex digits of the SHA-256 kept: short enough to read, far too many to collide."""

# Keys that say where a class lives (a Keras upgrade may move it), not what it is.
_WHERE_KEYS = {"module", "registered_name"}


def _snake_case(name: str) -> str:
    """A class name as Keras turns it into a default layer name (``Conv2D`` ->
    ``conv2d``)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _names(config: Any, renamed: dict[str, str] | None = None) -> dict[str, str]:
    """Each layer name in ``config`` that Keras made up, to its class part and position
    (in the order met): names that depend on what the process built before become ones
    that do not."""
    renamed = {} if renamed is None else renamed
    if isinstance(config, dict):
        inner = config.get("config")
        if isinstance(config.get("class_name"), str) and isinstance(inner, dict):
            name, prefix = inner.get("name"), _snake_case(config["class_name"])
            if isinstance(name, str) and re.fullmatch(
                rf"{re.escape(prefix)}(_\d+)?", name
            ):
                renamed.setdefault(name, f"{prefix}#{len(renamed)}")
        for item in config.values():
            _names(item, renamed)
    elif isinstance(config, (list, tuple)):
        for item in config:
            _names(item, renamed)
    return renamed


def _canonical(value: Any, renamed: dict[str, str]) -> Any:
    """``value`` (a configuration) without the classes' module paths, with the made-up
    layer names replaced."""
    if isinstance(value, dict):
        return {
            key: _canonical(item, renamed)
            for key, item in value.items()
            if key not in _WHERE_KEYS
        }
    if isinstance(value, (list, tuple)):
        return [_canonical(item, renamed) for item in value]
    if isinstance(value, str):
        return renamed.get(value, value)
    return value


def layer_structure(model: keras.Model) -> dict[str, Any]:
    """What :func:`architecture_digest` hashes: each layer's class, configuration and
    inbound layers, in order, and the model's inputs and outputs."""
    config = model.get_config()
    if not isinstance(config.get("layers"), list):
        raise TypeError(
            f"{model.name}: a Functional or Sequential model is needed to read its "
            "layers' configuration"
        )
    renamed = _names(config["layers"])
    return _canonical(
        {
            "layers": [
                {
                    "class_name": entry["class_name"],
                    "config": entry["config"],
                    "inbound_nodes": entry.get("inbound_nodes"),
                }
                for entry in config["layers"]
            ],
            "inputs": config.get("input_layers"),
            "outputs": config.get("output_layers"),
        },
        renamed,
    )


def architecture_digest(model: keras.Model) -> str:
    """The first :data:`DIGEST_LENGTH` hex digits of the SHA-256 of
    :func:`layer_structure` as sorted JSON."""
    text = json.dumps(layer_structure(model), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:DIGEST_LENGTH]


@contextlib.contextmanager
def _float32_policy():
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy("float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_dtype_policy(previous)


def digest_of(
    model: str | Callable[..., keras.Model], model_kwargs: dict[str, Any] | None = None
) -> str:
    """The digest of the network ``model`` (a model name, or a builder such as a
    chapter's cell defines) built with ``model_kwargs`` under the float32 policy; an
    unknown name or keyword raises as the builder does."""
    builder = model if callable(model) else functools.partial(build_model, model)
    with _float32_policy():
        built = builder(**(model_kwargs or {}))
    return architecture_digest(built)


def run_name(model_name: str, model_kwargs: dict[str, Any], architecture: str) -> str:
    """The folder name of a run of ``model_name`` whose network has the digest
    ``architecture``: the model's name while the network is the library's, else the
    name and the digest's first 8 digits.

    A reader who edits a chapter's network cell and trains gets a run of their own
    network in a folder of its own; it never reuses or replaces the committed run.
    """
    if architecture == digest_of(model_name, model_kwargs):
        return model_name
    return f"{model_name}-{architecture[:8]}"


def main() -> int:
    """``[[model name, keywords], ...]`` on stdin, their digests as a JSON list on
    stdout; a network that cannot be built is named on stderr (exit status 1)."""
    digests = []
    for name, kwargs in json.load(sys.stdin):
        try:
            digests.append(digest_of(name, kwargs))
        except (TypeError, ValueError) as error:
            print(f"model {name!r} with {kwargs!r}: {error}", file=sys.stderr)
            return 1
    print(json.dumps(digests))
    return 0


if __name__ == "__main__":
    sys.exit(main())
