"""Specification of the test set-up: a test session writes only into its own scratch
folder."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from helpers import config
from helpers.data import splits

HOME_CACHE = Path.home() / ".cache" / "m2nist-book"
REPOSITORY = Path(__file__).resolve().parents[1]
NOT_WRITTEN_BY_TESTS = {
    ".git",
    ".venv",
}  # too large to walk; the book's code never writes there


def files_under(folder: Path, skip: set[str] = frozenset()) -> dict[Path, int]:
    """Each file below ``folder`` with its modification time (ns), leaving out top-level
    folders named in ``skip``."""
    found = {}
    for root, dirs, files in os.walk(folder):
        if Path(root) == folder:
            dirs[:] = [name for name in dirs if name not in skip]
        for name in files:
            with contextlib.suppress(FileNotFoundError):  # removed meanwhile
                found[Path(root) / name] = (Path(root) / name).stat().st_mtime_ns
    return found


def written(before: dict[Path, int], after: dict[Path, int]) -> set[Path]:
    """The files that are new or have changed between two listings of
    :func:`files_under`."""
    return {path for path, modified in after.items() if before.get(path) != modified}


@pytest.mark.parametrize(
    "folder", [config.cache_dir, config.artifacts_dir], ids=["cache", "artifacts"]
)
def test_the_book_folders_lie_inside_the_scratch_folder(
    folder, scratch_dir: Path
) -> None:
    assert folder().resolve().is_relative_to(scratch_dir), (
        f"{folder.__name__}() is {folder()}, outside {scratch_dir}"
    )


def test_tmp_path_lies_inside_the_scratch_folder(
    tmp_path: Path, scratch_dir: Path
) -> None:
    assert tmp_path.resolve().is_relative_to(scratch_dir)


def test_the_scratch_folder_is_neither_in_the_repository_nor_in_the_home_cache(
    scratch_dir: Path,
) -> None:
    assert not scratch_dir.is_relative_to(REPOSITORY)
    assert not scratch_dir.is_relative_to(HOME_CACHE)


def test_generating_data_writes_into_the_scratch_folder_only(scratch_dir: Path) -> None:
    """The generated file lands in the scratch folder; neither the home cache nor the
    repository gets it.

    Others may write to the repository (and a book build to the home cache) while the
    tests run, so the check is about the file this generation writes (sizes and a seed
    no other test uses), not every change.
    """
    folders = (scratch_dir, HOME_CACHE, REPOSITORY)
    before = {folder: files_under(folder, NOT_WRITTEN_BY_TESTS) for folder in folders}

    splits.generate((3, 2, 1), seed=424242, progress=False)

    changes = {
        folder: written(before[folder], files_under(folder, NOT_WRITTEN_BY_TESTS))
        for folder in folders
    }
    assert [path.suffix for path in changes[scratch_dir]] == [".npz"], changes[
        scratch_dir
    ]
    (generated,) = changes[scratch_dir]
    assert {
        path
        for path in changes[HOME_CACHE] | changes[REPOSITORY]
        if path.name == generated.name
    } == set()
