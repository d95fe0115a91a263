"""Re-execute every chapter top to bottom in the full profile, in place.

    python scripts/reproduce.py [--retrain] [--chapters 01 05 ...]

With ``--retrain`` the three models are first trained again from scratch into
``artifacts/``; without it the chapters reuse the finished runs there.
``--chapters`` re-executes only the chapters whose file names start so.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import nbclient
import nbformat

from helpers.config import PROFILE_ENV, REPO_ROOT


def execute_in_place(notebook: Path) -> None:
    """Run a notebook on a fresh kernel from its own folder and save it with its
    outputs."""
    document = nbformat.read(notebook, as_version=4)
    client = nbclient.NotebookClient(
        document,
        timeout=None,
        kernel_name="python3",
        resources={"metadata": {"path": str(notebook.parent)}},
    )
    client.execute()
    nbformat.write(document, notebook)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--retrain", action="store_true", help="train the three models again first"
    )
    parser.add_argument(
        "--chapters",
        nargs="+",
        default=["0"],
        help="file name starts of the chapters to run",
    )
    args = parser.parse_args()
    os.environ[PROFILE_ENV] = "full"
    if args.retrain:
        subprocess.run(
            [sys.executable, str(REPO_ROOT / "scripts" / "train_all.py"), "--retrain"],
            check=True,
        )
    chapters = sorted((REPO_ROOT / "notebooks").glob("0*.ipynb"))
    for notebook in [
        chapter for chapter in chapters if chapter.name.startswith(tuple(args.chapters))
    ]:
        start = time.perf_counter()
        print(f"Executing {notebook.name} ...", flush=True)
        execute_in_place(notebook)
        print(f"  done in {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
