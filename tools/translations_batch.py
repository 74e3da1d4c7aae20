"""Fill catalogue entries from a Python dict {msgid: (fr, ar)}; used when adding strings.

python tools/translations_batch.py path/to/batch.py
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("fr", "ar")


def main(batch_file: str) -> int:
    batch: dict[str, tuple[str, str]] = runpy.run_path(batch_file)["T"]
    for index, lang in enumerate(LANGUAGES):
        path = ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        for message in catalog:
            if message.id and message.id in batch and not message.string:
                message.string = batch[message.id][index]
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, no_location=True)
        missing = [m.id for m in catalog if m.id and not m.string]
        print(f"{lang}: {len(missing)} untranslated", *missing, sep="\n  ")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
