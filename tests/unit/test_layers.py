"""The layers of the architecture: the conversation core and the staff use cases import no
transport or host, and one channel's host does not depend on another's."""

from __future__ import annotations

import subprocess
import sys

CORE = (
    "bot.core.survey",
    "bot.core.entry",
    "bot.core.rights",
    "bot.core.feedback",
    "bot.core.services",
)
WHATSAPP = (
    "bot.whatsapp.webhook",
    "bot.whatsapp.conversation",
    "bot.whatsapp.reminders",
    "bot.whatsapp.render",
)


def imported(modules: tuple[str, ...], watched: set[str]) -> str:
    """Which of ``watched`` (top-level packages or modules) importing ``modules`` loads."""
    probe = (
        f"import sys; import {', '.join(modules)}; "
        f"watched = {sorted(watched)!r}; "
        "print(sorted(w for w in watched if any(m == w or m.startswith(w + '.') "
        "for m in sys.modules)))"
    )
    return subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_the_conversation_core_imports_neither_aiogram_nor_aiohttp() -> None:
    found = imported(CORE, {"aiogram", "aiohttp"})
    assert found == "[]", f"the core imports {found}"


def test_the_whatsapp_host_imports_neither_aiogram_nor_the_telegram_host() -> None:
    found = imported(WHATSAPP, {"aiogram", "bot.telegram"})
    assert found == "[]", f"the WhatsApp host imports {found}"


STAFF = ("bot.staff.rounds", "bot.staff.records", "bot.staff.accounts")


def test_the_staff_use_cases_import_no_host() -> None:
    found = imported(STAFF, {"aiogram", "aiohttp", "bot.web", "bot.telegram", "bot.cli", "typer"})
    assert found == "[]", f"the staff use cases import {found}"
