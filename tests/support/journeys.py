"""A returnee's way through the RSS on the fake Bot API, as tests need it."""

from __future__ import annotations

from typing import Any

from tests.e2e.fake_telegram import BotMessage, FakeUser

QUESTION = {"en": "Question {} of 32", "fr": "Question {} sur 32", "ar": "السؤال {} من 32"}
DONE = {"en": "Done ✓", "fr": "Terminé ✓", "ar": "تم ✓"}


async def to_the_last_question(
    user: FakeUser, language: str = "en", *, choice: int = 0
) -> BotMessage:
    """From question 1 on screen to question 32 (the free-text one), pressing option
    ``choice`` everywhere and "none" in the multi-select; returns question 32."""
    question = QUESTION[language]
    for number in range(2, 31):
        user.press_nth(choice)
        await user.expect(question.format(number))
    user.press_nth(0)
    await user.expect(question.format(31))
    user.press_nth(8)  # none
    user.press(DONE[language])
    return await user.expect(question.format(32))


LANG_BUTTON = {"en": "English", "fr": "Français", "ar": "العربية"}
AGREE = {"en": "I agree", "fr": "J'accepte", "ar": "أوافق"}
WELCOME = {"en": "Welcome", "fr": "Bienvenue", "ar": "أهلًا"}
BEFORE = {"en": "Before we start", "fr": "Avant de commencer", "ar": "قبل أن نبدأ"}


async def to_the_first_question(
    phone: Any, start: str, language: str = "en", *, greeting: str = "en"
) -> Any:
    """From an invitation's ``start`` message (``/start TOKEN`` on Telegram, ``START
    TOKEN`` on WhatsApp) to question 1 in ``language``, greeted in ``greeting``; returns
    the message of question 1."""
    phone.send(start)
    await phone.expect(WELCOME[greeting])
    phone.press(LANG_BUTTON[language])
    await phone.expect(BEFORE[language])
    phone.press(AGREE[language])
    return await phone.expect(QUESTION[language].format(1))
