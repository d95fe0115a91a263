"""Sphinx extension: MathJax from the npm package in ``node_modules``, written into the
built book.

``_config.yml`` points Sphinx's ``mathjax_path`` at ``_static/mathjax/tex-svg.js``; at
the end of an HTML build this copies that component and the folders it loads extensions
from out of ``node_modules/mathjax/es5`` (installed by ``npm ci``; nothing is downloaded
here). The SVG output needs no web fonts, so equations render from a book opened
straight from the disk, without a network.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

PACKAGE = "mathjax"
COMPONENT = "tex-svg.js"
LOADED_ON_DEMAND = ("input", "ui", "a11y", "adaptors")
STATIC_FOLDER = "mathjax"


def mathjax_es5(root: Path) -> Path:
    """The ``es5`` folder of the installed MathJax package, with a clear error if it is
    missing."""
    es5 = root / "node_modules" / PACKAGE / "es5"
    if not (es5 / COMPONENT).is_file():
        raise ExtensionError(
            f"the book's equations need {PACKAGE}, but {es5 / COMPONENT} is missing: "
            "run `npm ci` first"
        )
    return es5


def copy_mathjax(root: Path, static: Path) -> Path:
    """Copy the component and its on-demand folders into ``static/mathjax``; the folder
    written."""
    es5 = mathjax_es5(root)
    target = static / STATIC_FOLDER
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    shutil.copy2(es5 / COMPONENT, target / COMPONENT)
    for folder in LOADED_ON_DEMAND:
        shutil.copytree(es5 / folder, target / folder)
    return target


def _check_config(app: Sphinx, config) -> None:
    expected = f"{STATIC_FOLDER}/{COMPONENT}"
    if config.mathjax_path != expected:
        raise ExtensionError(
            f"mathjax_path is {config.mathjax_path!r}; set it to {expected!r} in "
            "_config.yml"
        )
    mathjax_es5(Path(app.srcdir))


def _build_finished(app: Sphinx, exception: Exception | None) -> None:
    if exception is None and app.builder.format == "html":
        copy_mathjax(Path(app.srcdir), Path(app.outdir) / "_static")


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _check_config)
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
