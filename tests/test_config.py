"""Specification of helpers.config: profiles, folders and how paths are shown."""

from pathlib import Path

import pytest

from helpers import config

REPOSITORY = Path(__file__).resolve().parents[1]


def test_the_profile_defaults_to_the_full_experiment(monkeypatch):
    monkeypatch.delenv(config.PROFILE_ENV, raising=False)
    assert config.current_profile().name == "full"


def test_the_profile_comes_from_the_environment_in_any_case_and_spacing(monkeypatch):
    monkeypatch.setenv(config.PROFILE_ENV, " Quick ")
    profile = config.current_profile()
    assert (profile.name, profile.max_epochs) == ("quick", 1)


def test_an_unknown_profile_is_named_with_the_choices(monkeypatch):
    monkeypatch.setenv(config.PROFILE_ENV, "fast")
    with pytest.raises(
        ValueError, match=r"'fast' is not a profile; choose one of \['full', 'quick'\]"
    ):
        config.current_profile()


def test_the_cache_folder_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("M2NIST_CACHE", str(tmp_path))
    assert config.cache_dir() == tmp_path


def test_the_cache_folder_defaults_to_the_home_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("M2NIST_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config.cache_dir() == tmp_path / ".cache" / "m2nist-book"


def test_full_runs_write_to_the_committed_folder(monkeypatch):
    monkeypatch.delenv(config.ARTIFACTS_ENV, raising=False)
    assert config.artifacts_dir(config.PROFILES["full"]) == REPOSITORY / "artifacts"


def test_quick_runs_write_into_the_cache_folder_never_the_repository(
    monkeypatch, tmp_path
):
    monkeypatch.delenv(config.ARTIFACTS_ENV, raising=False)
    monkeypatch.setenv("M2NIST_CACHE", str(tmp_path))
    quick = config.artifacts_dir(config.PROFILES["quick"])
    assert quick.is_relative_to(tmp_path) and quick != tmp_path
    assert not quick.is_relative_to(REPOSITORY)


def test_the_artifacts_folder_can_be_moved(monkeypatch, tmp_path):
    monkeypatch.setenv(config.ARTIFACTS_ENV, str(tmp_path))
    assert config.artifacts_dir(config.PROFILES["full"]) == tmp_path


def test_paths_are_shown_relative_to_the_repository_or_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config.display_path(REPOSITORY / "artifacts" / "unet") == "artifacts/unet"
    assert config.display_path(tmp_path / "x" / "y") == "~/x/y"
    assert config.display_path("/elsewhere/z") == "/elsewhere/z"
