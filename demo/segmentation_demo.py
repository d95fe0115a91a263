"""Sphinx extension: the demo page's scripts, runtime and models, written into the built
book's static files.

At the end of an HTML build it writes ``_static/demo/``: the page's own
``demo.js`` and ``demo.css``, ONNX Runtime Web taken from the npm package in
``node_modules`` (installed by ``npm ci``; nothing is downloaded here), the
exported models of ``demo/models/`` and the book's data ``demo/book_data.json``.
A page opened as a plain file may not ``fetch()`` files, so the runtime's
WebAssembly, its loader and each model travel inside ``.js`` files that the
page loads with ``<script>``, as base64 text. Only a page holding the demo
(an element ``id="segmentation-demo"``) loads ``demo.js`` and ``demo.css``.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

DEMO_DIR = Path(__file__).resolve().parent
RUNTIME_PACKAGE = "onnxruntime-web"
RUNTIME_FILES = {
    "loader": "ort.wasm.min.js",
    "glue": "ort-wasm-simd-threaded.mjs",
    "wasm": "ort-wasm-simd-threaded.wasm",
}
PAGE_FILES = ("demo.js", "demo.css")
DEMO_ELEMENT = 'id="segmentation-demo"'
STATIC_FOLDER = "demo"


def runtime_dist(root: Path) -> Path:
    """The ``dist`` folder of the installed ONNX Runtime Web package, with a clear error
    if it is missing."""
    package = root / "node_modules" / RUNTIME_PACKAGE
    dist = package / "dist"
    missing = [name for name in RUNTIME_FILES.values() if not (dist / name).is_file()]
    if missing:
        raise ExtensionError(
            f"the demo page needs {RUNTIME_PACKAGE}, but {package} lacks "
            f"{', '.join(missing)}: "
            "run `npm ci` in the repository root first"
        )
    return dist


def global_assignment(name: str, key: str | None, value: Any) -> str:
    """A script that stores ``value`` (as JSON) in ``window[name]``, or in
    ``window[name][key]``."""
    if key is None:
        return f"window.{name} = {json.dumps(value)};\n"
    return (
        f"(window.{name} = window.{name} || {{}})[{json.dumps(key)}] = "
        f"{json.dumps(value)};\n"
    )


def as_base64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def write_static_files(root: Path, demo_dir: Path, out: Path) -> list[Path]:
    """Write the page's scripts, the runtime, the models and the book's data into
    ``out``; return the files."""
    dist = runtime_dist(root)
    models = sorted((demo_dir / "models").glob("*.onnx"))
    book_data = demo_dir / "book_data.json"
    if not models or not book_data.is_file():
        raise ExtensionError(
            f"{demo_dir} lacks its models or book_data.json: run `python "
            "scripts/export_demo.py`"
        )
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in PAGE_FILES:
        written.append(Path(shutil.copyfile(demo_dir / name, out / name)))
    written.append(
        Path(
            shutil.copyfile(
                dist / RUNTIME_FILES["loader"], out / RUNTIME_FILES["loader"]
            )
        )
    )
    runtime = {
        "glue": (dist / RUNTIME_FILES["glue"]).read_text(),
        "wasm": as_base64(dist / RUNTIME_FILES["wasm"]),
    }
    scripts = {
        "ort-wasm-embedded.js": global_assignment(
            "segmentationDemoRuntime", None, runtime
        )
    }
    scripts["book-data.js"] = global_assignment(
        "segmentationDemoBook", None, json.loads(book_data.read_text())
    )
    for model in models:
        scripts[f"model-{model.stem}.js"] = global_assignment(
            "segmentationDemoModels", model.stem, as_base64(model)
        )
    for name, text in scripts.items():
        (out / name).write_text(text)
        written.append(out / name)
    return written


def add_page_files(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    """Load the demo's script and style on the page that holds the demo, and on no
    other."""
    if DEMO_ELEMENT in context.get("body", ""):
        app.add_js_file(f"{STATIC_FOLDER}/demo.js")
        app.add_css_file(f"{STATIC_FOLDER}/demo.css")


def write_after_build(app: Sphinx, exception: Exception | None) -> None:
    if exception is None and app.builder.format == "html":
        write_static_files(
            Path(app.srcdir), DEMO_DIR, Path(app.outdir) / "_static" / STATIC_FOLDER
        )


def check_runtime(app: Sphinx) -> None:
    """Fail at the start of a build, not after it, when the runtime package is not
    installed."""
    if app.builder.format == "html":
        runtime_dist(Path(app.srcdir))


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", check_runtime)
    app.connect("html-page-context", add_page_files)
    app.connect("build-finished", write_after_build)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
