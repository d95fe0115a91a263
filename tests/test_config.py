"""Specification of helpers.config: profiles, folders and how paths are shown."""

from pathlib import Path

import pytest

from helpers import config


def test_the_test_command_runs_in_the_quick_profile():
    assert config.current_profile().name == "quick"


def test_the_profile_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(config.PROFILE_ENV, " Full ")
    assert config.current_profile() == config.PROFILES["full"]


def test_an_unknown_profile_is_named_with_the_choices(monkeypatch):
    monkeypatch.setenv(config.PROFILE_ENV, "fast")
    with pytest.raises(ValueError, match=r"'fast' is not a profile; choose one of \['full', 'quick'\]"):
        config.current_profile()


def test_full_runs_write_to_the_committed_folder_and_others_elsewhere(monkeypatch):
    monkeypatch.delenv(config.ARTIFACTS_ENV, raising=False)
    assert config.artifacts_dir(config.PROFILES["full"]) == config.COMMITTED_ARTIFACTS
    assert not config.artifacts_dir(config.PROFILES["quick"]).is_relative_to(config.REPO_ROOT)


def test_the_artifacts_folder_can_be_moved(monkeypatch, tmp_path):
    monkeypatch.setenv(config.ARTIFACTS_ENV, str(tmp_path))
    assert config.artifacts_dir(config.PROFILES["full"]) == tmp_path


def test_paths_are_shown_relative_to_the_repository_or_home():
    assert config.display_path(config.REPO_ROOT / "artifacts" / "unet") == "artifacts/unet"
    assert config.display_path(Path.home() / "x" / "y") == "~/x/y"
