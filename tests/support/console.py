"""The staff console served on loopback for browser tests, signing in as the bot's
/console link does, and returnees in the states its pages show."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
from aiohttp.test_utils import TestServer

from bot.core.services import Core
from bot.rate_limits import RateLimiter
from bot.telegram.app import build_bot
from bot.web.app import SERVER_OPTIONS, Console, build_console_app
from flows.state import Choose, Input, Text, Toggle
from flows.state import Done as DoneInput
from scoring import default_weight_table
from storage.store import Store
from storage.waves import Wave
from tests.e2e.conftest import Harness
from tests.e2e.fake_telegram import BOT_USERNAME, TOKEN, FakeUser
from tests.storage.helpers import RSS, answer
from tests.support.browser import Browser


@pytest.fixture
async def console(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, browser: Browser
) -> AsyncIterator[Console]:
    """The console on loopback, sending rounds to the fake Bot API; the bot's /console
    links point at it."""
    assert harness.store is not None
    bot = build_bot(TOKEN, harness.server.base_url, retries=False)
    console = Console(
        harness.store,
        default_weight_table(),
        today=lambda: harness.today,
        bot=bot,
        limiter=RateLimiter(rate=4.0),  # (slow enough to pause a round while it runs)
        base="",
        telegram_username=BOT_USERNAME,
    )
    server = TestServer(build_console_app(console), host="127.0.0.1")
    await server.start_server(**SERVER_OPTIONS)
    base = str(server.make_url("")).rstrip("/")
    monkeypatch.setenv("RSSBOT_CONSOLE_URL", base)
    browser.base = base
    try:
        yield console
    finally:
        await console.close()
        await server.close()
        await bot.session.close()


async def sign_in(browser: Browser, member: FakeUser) -> None:
    """Ask the bot for a link (/console), open it, press the button: signed in."""
    member.send("/console")
    sent = await member.expect("Your sign-in link to the staff console")
    link = sent.text.split()[-1]
    await browser.open(link)
    assert await browser.path() == "/login"  # the link shows a button; opening it is not enough
    await browser.click("form#sign-in button")


async def due_returnees(store: Store, n: int, *, first_chat: int = 880000) -> list[int]:
    """n returnees due for the initial wave, consented and in the chat; their chat ids."""
    chats = []
    for i in range(n):
        returnee = await store.enroll(
            case_ref=f"DUE-{first_chat + i}",
            return_date=date(2026, 10, 1),
            country="GN",
            language="fr",
        )
        await store.bind_telegram(returnee.id, first_chat + i, first_chat + i)
        await store.give_consent(returnee.id, version="v1", language="fr")
        chats.append(first_chat + i)
    return chats


def inputs(level: int) -> list[Input]:
    """A whole RSS survey, each closed question answered with option ``level``."""
    out: list[Input] = []
    for i, question in enumerate(RSS.questions[:30]):
        options = question.options  # type: ignore[union-attr]
        out.append(Choose(option=options[min(level + i % 2, len(options) - 1)].id))
    return [*out, Toggle(option="cash"), DoneInput(), Text(text="merci")]


async def completed_surveys(store: Store) -> None:
    """Six returnees with scored surveys: all initial, four intermediate, CASE-TRACK final."""
    for i in range(6):
        returnee = await store.enroll(
            case_ref="CASE-TRACK" if i == 0 else f"DONE-{i}",
            return_date=date(2025, 6, 1),
            country="GN" if i % 2 else "AF",
            language="fr",
        )
        await store.give_consent(returnee.id, version="v1", language="fr")
        waves: list[Wave] = ["initial", "intermediate", "final"][: 3 if i == 0 else 1 + (i < 4)]
        for level, wave in enumerate(waves):
            await answer(store, returnee.id, inputs((i + level) % 3), wave=wave)


async def survey_with_distress(store: Store, case_ref: str) -> str:
    """A returnee who answers the whole initial survey through the conversation core,
    often very sad, afraid or alone; their public id."""
    returnee = await store.enroll(
        case_ref=case_ref, return_date=date(2026, 10, 1), country="GN", language="fr"
    )
    await store.bind_telegram(returnee.id, 770001, 770001)
    await store.give_consent(returnee.id, version="v1", language="fr")
    await answer_with_distress(store, returnee.id, returnee.return_date)
    return returnee.public_id


async def answer_with_distress(store: Store, returnee_id: str, returned: date | None) -> None:
    """A consented returnee answers the whole initial survey through the conversation
    core, often very sad, afraid or alone (a follow-up rule flags it)."""
    survey = Core(store, RSS, default_weight_table()).survey
    answers: list[Input] = []
    for question in RSS.questions[:30]:
        options = question.options  # type: ignore[union-attr]
        wanted = "very_often" if question.id == "psy_distress" else options[1].id
        answers.append(Choose(option=wanted))
    for inp in [*answers, Toggle(option="cash"), DoneInput(), Text(text="merci")]:
        current = await survey.open_wave(returnee_id, returned)
        await survey.apply(returnee_id, current, inp, language="fr")
