"""Languages added from files alone (a temporary folder, no code touched): a new language
(Tigrinya, through the translators' workbook) and the two pseudo-languages run the whole
journey on Telegram and on WhatsApp; in the pseudo-languages every text a returnee sees
comes from a catalogue or the survey's labels."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.i18n import Translator
from bot.language_packs import with_language_files
from bot.languages import languages
from flows import builtin_definition
from storage.crypto import Keyring
from tests.backends import Backend
from tests.e2e.conftest import Harness, WaHarness, running_bot, running_wa_bot
from tests.e2e.fake_telegram import FakeUser
from tests.support.languages import TI, language_folder, unmarked

__all__ = ["language_folder"]  # (the fixture, used by name)

Running = Harness | WaHarness


@pytest.fixture(params=["telegram", "whatsapp"])
async def bot(
    request: pytest.FixtureRequest, backend: Backend, keyring: Keyring, language_folder: Path
) -> AsyncIterator[Running]:
    definition = with_language_files(builtin_definition())
    running = running_bot if request.param == "telegram" else running_wa_bot
    async with running(backend, keyring, definition) as harness:
        yield harness


def shown(messages: list[Any]) -> list[str]:
    """Every text on the returnee's screen: messages, buttons, list rows."""
    texts = []
    for message in messages:
        texts.append(message.text)
        if hasattr(message, "options"):
            texts += [part for option in message.options for part in option[1:]]
        else:
            texts += message.labels()
    return [t for t in texts if t]


async def whole_survey(bot: Running, code: str) -> Any:
    """From the invitation to the thanks in ``code``; the returnee's phone."""
    _ = Translator(code)
    assert _.language == code
    token = await bot.invite(language=code)
    if isinstance(bot, WaHarness):
        phone: Any = bot.new_user()
        phone.send(f"{languages()[code].shown_keyword('start')} {token}")
    else:
        phone = FakeUser(bot.server, 71001, code)
        phone.send(f"/start {token}")
    await phone.expect(_("Welcome! Please choose your language."))
    phone.press(languages().name(code))
    await phone.expect(_("Before we start, please read this."))
    phone.press(_("I agree"))
    question = lambda n: _("Question {number} of {total}", number=n, total=32)  # noqa: E731
    await phone.expect(question(1))
    for number in range(2, 32):
        phone.press_nth(0)
        await phone.expect(question(number))
    await phone.settle()
    phone.press_nth(0)  # cash
    await phone.settle()
    phone.press_nth(2)  # training
    await phone.settle()
    phone.press(_("Done ✓"))
    await phone.expect(question(32))
    phone.send("ጽቡቕ")
    await phone.expect(_("Thank you! You have answered all the questions. Your answers are saved."))
    return phone


@pytest.mark.parametrize("code", ["ti", "en-XA", "ar-XB"])
async def test_a_language_from_files_runs_the_whole_journey(bot: Running, code: str) -> None:
    phone = await whole_survey(bot, code)
    assert bot.store is not None
    channel = "whatsapp" if isinstance(bot, WaHarness) else "telegram"
    if isinstance(bot, WaHarness):
        returnee = await bot.store.find_whatsapp(user_id=phone.user_id, phone=phone.wa_id)
    else:
        returnee = await bot.store.find_by_telegram(phone.user_id)
    assert returnee is not None and returnee.language == code
    [scores] = await bot.store.scores(returnee.id)
    assert scores.values["composite"] == 1.0
    # the rights, by keyword or command, in the language too
    _ = Translator(code)
    phone.send("/mydata" if channel == "telegram" else languages()[code].shown_keyword("mydata"))
    await phone.expect(_("What is kept about you:"))
    names = {languages().name(c) for c in languages()}  # (each in itself, by design)
    texts = [t for t in shown(phone.messages) if t not in names]
    if code == "ti":  # every message, button and row in Tigrinya
        assert len(texts) > 20 and [t for t in texts if TI not in t] == []
        return
    leaks = {t: words for t in texts if (words := unmarked(t))}
    assert not leaks, f"texts no catalogue gave, in {code}: {leaks}"
    # (the fake Cloud API refuses a title, row or body over WhatsApp's limits: the
    # journey above went through, 40% longer texts included)
