"""Tests always run in the quick profile, so a plain `pytest` is fast and never touches committed results."""

import os

os.environ["SEGBOOK_PROFILE"] = "quick"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
