"""Re-extract UI strings into locales/messages.pot and merge them into every .po file.

Run after adding or changing a ``_("...")`` string:  python tools/update_catalogues.py
Then translate the new entries (the test suite fails while any is untranslated).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_LANGUAGE = "en"


def catalogued_languages() -> list[str]:
    """Every built-in language folder but the source language's (it has no catalogue)."""
    return sorted(
        p.name
        for p in (ROOT / "locales").iterdir()
        if (p / "language.yaml").is_file() and p.name != SOURCE_LANGUAGE
    )


def main() -> int:
    pot = ROOT / "locales" / "messages.pot"
    bin_dir = Path(sys.executable).parent
    pybabel = str(bin_dir / "pybabel")
    subprocess.run(
        [
            pybabel,
            "extract",
            "-F",
            "babel.cfg",
            "--no-location",
            "--sort-output",
            "--add-comments",
            "TRANSLATORS:",
            "--project",
            "rssbot",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    for lang in catalogued_languages():
        po = ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po"
        cmd = (
            ["update", "--no-fuzzy-matching", "--ignore-obsolete", "-w", "100"]
            if po.exists()
            else ["init"]
        )
        subprocess.run(
            [pybabel, *cmd, "-i", str(pot), "-d", str(ROOT / "locales"), "-l", lang],
            cwd=ROOT,
            check=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
