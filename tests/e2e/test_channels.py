"""The same journeys on every channel: Telegram (fake Bot API, polling) and WhatsApp (fake
Cloud API, signed webhook), on SQLite and PostgreSQL. A returnee's phone is driven the
same way on both: typed text (commands or keywords), buttons and list rows by label."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.exports import ExportSpec
from bot.i18n import Translator
from flows import builtin_definition
from scoring import default_weight_table
from storage.crypto import Keyring
from storage.reports import Selection, completed_surveys
from storage.store import ReturneeInfo, Store
from tests.backends import Backend
from tests.e2e.conftest import Harness, WaHarness, running_bot, running_wa_bot
from tests.e2e.fake_telegram import FakeUser
from tests.support.fake_whatsapp import WaUser
from tests.support.journeys import AGREE, BEFORE, DONE, QUESTION, to_the_first_question

THANKS = {
    "en": "Thank you! You have answered",
    "fr": "Merci ! Vous avez répondu",
    "ar": "شكرًا لك! لقد أجبت",
}
Phone = Any  # FakeUser | WaUser: send, press, press_nth, expect, settle


@dataclass
class Chat:
    """One channel's running bot and its returnees' phones."""

    name: str
    harness: Harness | WaHarness

    def __post_init__(self) -> None:
        self._ids = itertools.count(61001)

    @property
    def store(self) -> Store:
        assert self.harness.store is not None
        return self.harness.store

    def phone(self) -> Phone:
        if isinstance(self.harness, WaHarness):
            return self.harness.new_user()
        return FakeUser(self.harness.server, next(self._ids), "en")

    async def returnee(self, phone: Phone) -> ReturneeInfo | None:
        if isinstance(phone, WaUser):
            return await self.store.find_whatsapp(user_id=phone.user_id, phone=phone.wa_id)
        return await self.store.find_by_telegram(phone.user_id, channel=self.name)


@pytest.fixture(params=["telegram", "whatsapp"])
async def chat(
    request: pytest.FixtureRequest, backend: Backend, keyring: Keyring
) -> AsyncIterator[Chat]:
    running = running_bot if request.param == "telegram" else running_wa_bot
    async with running(backend, keyring) as harness:
        yield Chat(request.param, harness)


async def join(chat: Chat, language: str = "en") -> Phone:
    """From the invitation to question 1: the link's /start (Telegram) or the START
    message the wa.me link prefills (WhatsApp), the language, consent. Telegram greets in
    the phone's language, WhatsApp in the one the caseworker chose."""
    phone = chat.phone()
    token = await chat.harness.invite(language=language)
    if chat.name == "telegram":
        await to_the_first_question(phone, f"/start {token}", language)
    else:
        await to_the_first_question(phone, f"START {token}", language, greeting=language)
    return phone


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
async def test_a_whole_survey_scored_on_every_channel(chat: Chat, language: str) -> None:
    phone = await join(chat, language)
    for number in range(2, 31):
        phone.press_nth(0)
        await phone.expect(QUESTION[language].format(number))
    phone.press_nth(0)
    await phone.expect(QUESTION[language].format(31))
    await phone.settle()
    phone.press_nth(0)  # cash
    await phone.settle()
    phone.press_nth(2)  # training
    await phone.settle()
    phone.press(DONE[language])
    await phone.expect(QUESTION[language].format(32))
    phone.send("Merci, ça va mieux. شكرا")
    await phone.expect(THANKS[language])
    returnee = await chat.returnee(phone)
    assert returnee is not None and returnee.channel == chat.name
    [scores] = await chat.store.scores(returnee.id)
    assert scores.values["composite"] == 1.0
    data = await chat.store.my_data(returnee.id)
    assert data["surveys"][0]["answers"]["ctx_assistance_received"]["options"] == [
        "cash",
        "training",
    ]
    # staff see the channel in exports (never a phone number or a chat id)
    spec = ExportSpec(builtin_definition(), default_weight_table())
    [survey] = await completed_surveys(
        chat.store, Selection(), weights_version=None, actor="test", action=None
    )
    row = dict(zip(spec.header(), next(spec.rows(survey, Translator("en"))), strict=True))
    assert row["channel"] == chat.name and row["returnee"] == returnee.public_id


async def test_a_restart_and_a_language_switch_keep_every_answer(chat: Chat) -> None:
    phone = await join(chat)
    phone.press("Satisfied")
    await phone.expect(QUESTION["en"].format(2))
    await chat.harness.restart()  # a redeploy: new process, same database and keys
    phone.press("Never")
    await phone.expect(QUESTION["en"].format(3))
    phone.send("/language")
    await phone.expect("Choose your language.")
    phone.press("Français")
    await phone.expect("Langue changée")
    await phone.expect(QUESTION["fr"].format(3))
    phone.press("Oui")
    await phone.expect(QUESTION["fr"].format(4))
    returnee = await chat.returnee(phone)
    assert returnee is not None and returnee.language == "fr"
    data = await chat.store.my_data(returnee.id)
    assert list(data["surveys"][0]["answers"]) == [
        "econ_satisfaction",
        "econ_food_reduction",
        "econ_borrow_ability",
    ]


async def test_stop_then_take_part_again(chat: Chat) -> None:
    phone = await join(chat, "fr")
    phone.press("Satisfait(e)")
    await phone.expect(QUESTION["fr"].format(2))
    phone.send("ARRET")
    await phone.expect("Vous ne recevrez plus de messages")
    stopped = await chat.returnee(phone)
    assert stopped is not None and stopped.status == "opted_out"
    phone.send("/start")
    await phone.expect(BEFORE["fr"])
    phone.press(AGREE["fr"])
    await phone.expect(QUESTION["fr"].format(2))  # where they stopped
