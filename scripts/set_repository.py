"""Point the book at the repository it is published from: the launch buttons and the
Colab setup cell of every chapter.

    python scripts/set_repository.py https://github.com/<owner>/<name>

The address is one setting, ``repository.url`` in ``_config.yml``; the setup cell
of each chapter carries a copy, since a fresh Colab runtime has to know where to
clone the book from before it has any of its files. This writes both, and
``tests/test_colab.py`` fails while they disagree.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
CONFIG_URL = re.compile(r"^(repository:\n(?:[ \t]+.*\n)*?[ \t]+url:[ \t]*)(\S+)", re.M)
CELL_URL = re.compile(r'(os\.environ\.get\(\s*"SEGBOOK_REPOSITORY",\s*")([^"]+)(")')
ADDRESS = re.compile(r"^(https://\S+|git@\S+:\S+)$")


def set_repository(url: str, root: Path = REPOSITORY) -> list[Path]:
    """Write ``url`` into ``_config.yml`` and every chapter's setup cell under ``root``;
    the files changed. Nothing is written unless every file has its address."""
    if not ADDRESS.match(url):
        raise ValueError(
            f"{url!r} is not a repository address (https://... or git@...)"
        )
    config = root / "_config.yml"
    text = config.read_text()
    if not CONFIG_URL.search(text):
        raise ValueError(f"{config} has no repository url to replace")
    updated = {config: CONFIG_URL.sub(lambda m: m.group(1) + url, text, count=1)}
    for path in sorted((root / "notebooks").glob("0*.ipynb")):
        notebook = json.loads(path.read_text())
        setup = next(cell for cell in notebook["cells"] if cell["cell_type"] == "code")
        source = "".join(setup["source"])
        if not CELL_URL.search(source):
            raise ValueError(f"{path}: its first code cell names no SEGBOOK_REPOSITORY")
        new = CELL_URL.sub(lambda m: m.group(1) + url + m.group(3), source, count=1)
        setup["source"] = new.splitlines(keepends=True)
        updated[path] = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
    changed = [path for path, text in updated.items() if path.read_text() != text]
    for path in changed:
        path.write_text(updated[path])
    return changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the repository address, https://... or git@...")
    args = parser.parse_args()
    changed = set_repository(args.url)
    for path in changed:
        print(f"wrote {path.relative_to(REPOSITORY)}")
    if not changed:
        print("every file already names that address")


if __name__ == "__main__":
    main()
