"""Write the front page's numbers (``generated/front_page.md``) from the committed runs
in ``artifacts/`` and the benchmark's result files.

    python scripts/write_front_page.py

Run it whenever the study or the benchmark changes; ``tests/test_front_page.py`` fails
until the committed file matches them.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers.book.front_page import write_front_page  # noqa: E402
from helpers.config import display_path  # noqa: E402
from helpers.train.runs import load_study  # noqa: E402

if __name__ == "__main__":
    print(f"wrote {display_path(write_front_page(load_study()))}")
