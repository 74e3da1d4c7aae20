"""An imported Kobo/ODK form answered in a chat on both channels: a cascading select
offers only the districts of the region chosen, a calculation shows in a later label,
a constraint using an earlier answer refuses with the form's message, a repeat is asked
"add one?" with two buttons and its instances kept apart; the survey ends, its answers
and the calculations stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from flows.xlsform import read_xlsform
from storage.crypto import Keyring
from tests.backends import Backend
from tests.e2e.conftest import Harness, WaHarness, running_bot, running_wa_bot
from tests.e2e.fake_telegram import FakeUser
from tests.support.xlsforms import write_form

Running = Harness | WaHarness
SURVEY = [
    {"type": "select_one region", "name": "region", "label": "Region?"},
    {"type": "select_one district", "name": "district", "label": "District?",
     "choice_filter": "region = ${region}"},
    {"type": "integer", "name": "household", "label": "How many live with you?"},
    {"type": "calculate", "name": "half", "calculation": "round(${household} div 2, 0)"},
    {"type": "integer", "name": "children", "label": "Children (about ${half})?",
     "constraint": ". <= ${household}",
     "constraint_message": "At most ${household}, please."},
    {"type": "begin_repeat", "name": "members", "label": "Household member"},
    {"type": "text", "name": "member", "label": "Their name?"},
    {"type": "integer", "name": "age", "label": "How old is ${member}?"},
    {"type": "end_repeat"},
    {"type": "calculate", "name": "listed", "calculation": "count(${member})"},
    {"type": "note", "name": "done", "label": "${listed} listed."},
]  # fmt: skip
CHOICES = [
    {"list_name": "region", "name": "north", "label": "North"},
    {"list_name": "region", "name": "south", "label": "South"},
    {"list_name": "district", "name": "n1", "label": "Labé", "region": "north"},
    {"list_name": "district", "name": "s1", "label": "Boké", "region": "south"},
    {"list_name": "district", "name": "s2", "label": "Kindia", "region": "south"},
]


@pytest.fixture(params=["telegram", "whatsapp"])
async def bot(
    request: pytest.FixtureRequest, backend: Backend, keyring: Keyring, tmp_path: Path
) -> AsyncIterator[Running]:
    definition = read_xlsform(write_form(tmp_path / "form.xlsx", SURVEY, CHOICES))
    running = running_bot if request.param == "telegram" else running_wa_bot
    async with running(backend, keyring, definition) as harness:
        yield harness


async def test_a_cascading_select_a_calculation_and_a_constraint_in_a_chat(
    bot: Running,
) -> None:
    token = await bot.invite()
    if isinstance(bot, WaHarness):
        phone: Any = bot.new_user()
        phone.send(f"START {token}")
    else:
        phone = FakeUser(bot.server, 75001)
        phone.send(f"/start {token}")
    await phone.expect("Welcome! Please choose your language.")
    phone.press("English")
    await phone.expect("Before we start, please read this.")
    phone.press("I agree")
    await phone.expect("Region?")
    phone.press("South")
    asked = await phone.expect("District?")
    await phone.settle()
    shown = phone.labels() if isinstance(bot, WaHarness) else asked.labels()
    assert "Boké" in shown and "Kindia" in shown and "Labé" not in shown
    phone.press("Kindia")
    await phone.expect("How many live with you?")
    phone.send("6")
    await phone.expect("Children (about 3)?")
    phone.send("9")
    await phone.expect("At most 6, please.")
    phone.send("2")
    asked = await phone.expect("Add “Household member”?")
    assert asked.labels() == ["Yes, add one", "No, go on", "◀ Back"]
    phone.press("Yes, add one")
    await phone.expect("Household member 1")
    phone.send("Awa")
    await phone.expect("How old is Awa?")
    phone.send("30")
    await phone.expect("1 added so far.")
    phone.press("Yes, add one")
    await phone.expect("Household member 2")
    phone.send("Sékou")
    await phone.expect("How old is Sékou?")
    phone.send("4")
    await phone.expect("Add another “Household member”?")
    phone.press("No, go on")
    await phone.expect("2 listed.")
    await phone.expect("Thank you! You have answered all the questions.")
    assert bot.store is not None
    returnee = await bot.store.find_by_case_ref("CASE-1", actor="test")
    assert returnee is not None
    state = await bot.store.load_state(returnee.id, "initial", bot.definition)
    assert state is not None and state.completed
    assert state.answers["district"].option == "s2"  # type: ignore[union-attr]
    assert state.answers["half"].text == "3"  # type: ignore[union-attr]
    assert state.answers["member[1]"].text == "Awa"  # type: ignore[union-attr]
    assert state.answers["age[2]"].text == "4"  # type: ignore[union-attr]
    assert state.answers["listed"].text == "2"  # type: ignore[union-attr]
