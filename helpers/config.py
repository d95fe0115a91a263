"""Profiles (how much work a run does) and where the book keeps its files.

The environment variable ``SEGBOOK_PROFILE`` selects the profile:

* ``full`` (the default): the real experiment the book reports.
* ``quick``: a tiny subset and one epoch, so that every notebook executes as a
  test in minutes on a 2-core CPU. Quick runs write their artifacts to a
  scratch folder and never touch the committed results.

A profile says how much data a run sees and caps its epochs; the training
recipe itself (epochs, batch size, schedule, loss) is a
:class:`helpers.train.recipe.TrainSettings`, the same in both profiles.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

PROFILE_ENV = "SEGBOOK_PROFILE"
REPO_ROOT = Path(__file__).resolve().parent.parent
COMMITTED_ARTIFACTS = REPO_ROOT / "artifacts"
ARTIFACTS_ENV = "SEGBOOK_ARTIFACTS"


@dataclass(frozen=True)
class Profile:
    """How many images a run trains (per epoch), validates and tests on, and at most how
    many epochs it trains."""

    name: str
    n_train: int
    n_val: int
    n_test: int
    max_epochs: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    def epochs_of(self, epochs: int) -> int:
        """The epochs a recipe of ``epochs`` trains in this profile: all of them, or at
        most ``max_epochs``."""
        return min(epochs, self.max_epochs or epochs)


PROFILES = {
    "full": Profile("full", n_train=4000, n_val=1000, n_test=3000),
    "quick": Profile("quick", n_train=96, n_val=32, n_test=32, max_epochs=1),
}


def current_profile() -> Profile:
    """Return the profile named by ``$SEGBOOK_PROFILE`` (default ``full``)."""
    name = os.environ.get(PROFILE_ENV, "full").strip().lower()
    if name not in PROFILES:
        raise ValueError(
            f"{PROFILE_ENV}={name!r} is not a profile; choose one of {sorted(PROFILES)}"
        )
    return PROFILES[name]


def cache_dir() -> Path:
    """Folder for generated data and scratch runs (``$M2NIST_CACHE`` or
    ~/.cache/m2nist-book)."""
    return Path(os.environ.get("M2NIST_CACHE", Path.home() / ".cache" / "m2nist-book"))


def artifacts_dir(profile: Profile | None = None) -> Path:
    """Where runs of a profile keep their artifacts (``$SEGBOOK_ARTIFACTS`` overrides).

    Full runs write to ``artifacts/`` in the repository (committed); other
    profiles write to a scratch folder so that they never overwrite committed
    results.
    """
    if override := os.environ.get(ARTIFACTS_ENV):
        return Path(override)
    profile = profile or current_profile()
    return (
        COMMITTED_ARTIFACTS
        if profile.name == "full"
        else cache_dir() / f"{profile.name}-artifacts"
    )


def display_path(path: os.PathLike | str) -> str:
    """A path as messages show it: relative to the repository, or with ``~`` for the
    home folder."""
    path = Path(path).resolve()
    if path.is_relative_to(REPO_ROOT):
        return str(path.relative_to(REPO_ROOT))
    if path.is_relative_to(Path.home()):
        return str(Path("~") / path.relative_to(Path.home()))
    return str(path)
