"""The layers of the architecture: the conversation core imports no transport."""

from __future__ import annotations

import subprocess
import sys

CORE = ("bot.core.survey", "bot.core.entry", "bot.core.rights", "bot.core.feedback")


def test_the_conversation_core_imports_neither_aiogram_nor_aiohttp() -> None:
    probe = (
        f"import sys; import {', '.join(CORE)}; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'aiogram', 'aiohttp'}))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found == "[]", f"the core imports {found}"
