"""Tests always run in the quick profile, so a plain `pytest` is fast and never touches committed results."""

import os
import tempfile

os.environ["SEGBOOK_PROFILE"] = "quick"
os.environ["SEGBOOK_ARTIFACTS"] = tempfile.mkdtemp(prefix="segbook-test-artifacts-")
