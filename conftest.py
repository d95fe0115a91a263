"""Tests run in the quick profile and write only into one scratch folder per test
session.

The folder (``$SEGBOOK_TEST_SCRATCH``, a fresh ``tempfile.mkdtemp``) holds the generated
data (``$M2NIST_CACHE``), the quick runs' artifacts (``$SEGBOOK_ARTIFACTS``), pytest's
``tmp_path`` folders, and the files the tools write on the side: Keras' config,
Matplotlib's font cache, the notebook kernels' IPython profile and Jupyter connection
files. It is set up when pytest loads this file, before any test module imports Keras,
so the notebooks that nbval runs inherit it too; it is removed when the session ends
unless ``SEGBOOK_KEEP_SCRATCH`` is set. The one file read from outside is MNIST:
Keras' cache file ``mnist.npz`` (``python scripts/fetch_mnist.py`` or
``keras.datasets.mnist.load_data()`` puts it there) is copied into the scratch Keras
folder, where ``helpers.data.mnist.load_mnist`` reads it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from helpers.data import mnist

SCRATCH_ENV = "SEGBOOK_TEST_SCRATCH"
SCRATCH = Path(tempfile.mkdtemp(prefix="segbook-tests-")).resolve()

# Subfolders of the scratch folder, by the environment variable that points the writer
# there.
SCRATCH_FOLDERS = {
    "M2NIST_CACHE": "m2nist-cache",  # helpers.config.cache_dir(): generated data
    "SEGBOOK_ARTIFACTS": "artifacts",  # helpers.config.artifacts_dir(): model runs
    "KERAS_HOME": "keras",  # keras.json, written on first import when missing
    "MPLCONFIGDIR": "matplotlib",  # Matplotlib's font cache
    "IPYTHONDIR": "ipython",  # the notebook kernels' profile and history
    "JUPYTER_RUNTIME_DIR": "jupyter-runtime",  # kernel connection files
}

MNIST_FILE = mnist.keras_cache_file()  # the user's Keras cache, before KERAS_HOME moves

os.environ[SCRATCH_ENV] = str(SCRATCH)
os.environ["SEGBOOK_PROFILE"] = "quick"
for variable, folder in SCRATCH_FOLDERS.items():
    os.environ[variable] = str(SCRATCH / folder)
if MNIST_FILE.is_file():
    (SCRATCH / "keras" / "datasets").mkdir(parents=True)
    # a copy, not a link: nothing a test does can change the user's file
    shutil.copyfile(MNIST_FILE, SCRATCH / "keras" / "datasets" / mnist.CACHE_NAME)


def pytest_configure(config: pytest.Config) -> None:
    """``tmp_path`` folders go into the scratch folder too, unless ``--basetemp`` names
    another."""
    if config.option.basetemp is None:
        config.option.basetemp = str(SCRATCH / "pytest")


def pytest_unconfigure(config: pytest.Config) -> None:
    if not os.environ.get("SEGBOOK_KEEP_SCRATCH"):
        shutil.rmtree(SCRATCH, ignore_errors=True)


@pytest.fixture(scope="session")
def scratch_dir() -> Path:
    """The one folder that this test session may write to."""
    return SCRATCH


TINY_PROFILE_SIZES = (16, 8, 8)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory):
    """A small generated M2NIST data set (16 / 8 / 8 images), shared by the tests that
    train."""
    from helpers.data import splits

    return splits.generate(
        TINY_PROFILE_SIZES,
        seed=1,
        cache=tmp_path_factory.mktemp("cache"),
        progress=False,
    )


@pytest.fixture(scope="session")
def tiny_run(tiny_dataset, tmp_path_factory: pytest.TempPathFactory):
    """A finished one-epoch run of a small U-Net on :func:`tiny_dataset`, shared by the
    tests that read a run."""
    from helpers.config import Profile
    from helpers.train import loop
    from helpers.train.recipe import TrainSettings

    return loop.train(
        "unet",
        tiny_dataset,
        settings=TrainSettings(epochs=1, batch_size=8, patience=5),
        profile=Profile("tiny", *TINY_PROFILE_SIZES),
        model_kwargs={"base_filters": 4, "depth": 2},
        run_dir=tmp_path_factory.mktemp("run"),
    )


BOOK_BUILD_ENV = "SEGBOOK_BOOK_BUILD"


@pytest.fixture(scope="session")
def built_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole book built once per test session, with warnings as errors; its HTML
    folder.

    It is built into the scratch folder, or where ``$SEGBOOK_BOOK_BUILD`` names
    (``.ci/run`` names the repository, so that CI builds the book once and keeps
    it in ``_build/``).
    """
    import subprocess
    import sys

    from helpers.config import REPO_ROOT

    out = Path(os.environ.get(BOOK_BUILD_ENV) or tmp_path_factory.mktemp("book"))
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    command = [
        str(jupyter_book),
        "build",
        "-W",
        "--keep-going",
        "--path-output",
        str(out),
        str(REPO_ROOT),
    ]
    build = subprocess.run(command, capture_output=True, text=True)
    assert build.returncode == 0, (
        f"the book did not build:\n{build.stdout[-3000:]}\n{build.stderr[-3000:]}"
    )
    return out / "_build" / "html"
