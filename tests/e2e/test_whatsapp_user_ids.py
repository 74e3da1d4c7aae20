"""WhatsApp returnees as Meta identifies them since 2026, on SQLite and PostgreSQL: one
with a username (no phone number in any payload, from the invitation to the end of the
survey), one who changes number half-way, and one enrolled by number whose BSUID arrives
later. Each survey completes with the reference scores, nobody is counted twice, and
reminders reach each of them inside and outside the 24 hours, by BSUID."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from storage.models import Returnee
from tests.e2e.conftest import WaHarness
from tests.e2e.test_whatsapp import remind
from tests.storage.helpers import assert_absent, database_dump
from tests.support.fake_whatsapp import WaUser
from tests.support.journeys import DONE, QUESTION, to_the_first_question

THANKS = "Thank you! You have answered"


async def answer(phone: WaUser, first: int, last: int) -> None:
    """Questions ``first`` to ``last`` on screen one after the other, answered with the
    best option (the reference: every dimension scores 1)."""
    for number in range(first, last + 1):
        if number == 31:  # the multi-select: cash, then done
            await phone.settle()
            phone.press_nth(0)
            await phone.settle()
            phone.press(DONE["en"])
        elif number == 32:
            phone.send("Ça va mieux")
        else:
            phone.press_nth(0)
        await phone.expect(QUESTION["en"].format(number + 1) if number < 32 else THANKS)


async def returnees(h: WaHarness) -> int:
    assert h.store is not None
    async with h.store.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Returnee)) or 0)


async def scored(h: WaHarness, phone: WaUser) -> dict[str, float]:
    assert h.store is not None
    found = await h.store.find_whatsapp(user_id=phone.user_id, phone=None)
    assert found is not None and found.channel == "whatsapp"
    [scores] = await h.store.scores(found.id)
    return {k: scores.values[k] for k in ("economic", "social", "psychosocial", "composite")}


async def reminded_both_ways(h: WaHarness, phone: WaUser, on_screen: int) -> None:
    """Half-way (question ``on_screen`` waiting), a reminder inside the 24 hours (a
    message with a button) and one outside them (the template), each to the person's
    current BSUID; each brings the question back."""
    courier, report = await remind(h)
    assert report.counts["sent"] == 1 and courier.sent_as == ["message"]
    inside = phone.messages[-1]
    assert inside.address == phone.user_id and inside.field == "recipient"
    phone.press_nth(0, inside)
    await phone.expect(QUESTION["en"].format(on_screen))
    h.server.offset = timedelta(hours=30)  # a day and more later: WhatsApp's window closed
    courier, report = await remind(h)
    assert report.counts["sent"] == 1 and courier.sent_as == ["template"]
    template = phone.messages[-1]
    assert template.kind == "template" and template.address == phone.user_id
    phone.tap_template_button(template)
    await phone.expect(QUESTION["en"].format(on_screen))


def sent_numbers(h: WaHarness, *numbers: str) -> list[str]:
    """Request bodies the bot sent that hold any of ``numbers``."""
    return [json.dumps(r) for r in h.server.requests if any(n in json.dumps(r) for n in numbers)]


async def test_a_returnee_with_a_username_never_shows_a_number(wa_harness: WaHarness) -> None:
    h = wa_harness
    phone = WaUser(h.server, "22177100001", username="@awa")
    token = await h.invite()
    await to_the_first_question(phone, f"START {token}")
    await answer(phone, 1, 5)
    await reminded_both_ways(h, phone, 6)
    await answer(phone, 6, 32)
    assert await scored(h, phone) == {
        "economic": 1.0,
        "social": 1.0,
        "psychosocial": 1.0,
        "composite": 1.0,
    }
    assert await returnees(h) == 1
    assert all(m.field == "recipient" and m.address == phone.user_id for m in phone.messages)
    assert sent_numbers(h, phone.wa_id) == []  # the number was never known, never used
    phone.send("MY DATA")
    kept = await phone.expect("What is kept about you")  # never an identifier of theirs
    assert phone.user_id is not None and phone.user_id not in kept.body
    phone.send("DELETE")
    await phone.expect("erase everything")
    phone.press("Yes, erase everything")
    await phone.expect("has been erased")
    assert await returnees(h) == 0


async def test_a_number_change_half_way_loses_nothing(wa_harness: WaHarness) -> None:
    h = wa_harness
    phone = WaUser(h.server, "22177100002")
    first_user_id = phone.user_id
    token = await h.invite()
    await to_the_first_question(phone, f"START {token}")
    await answer(phone, 1, 15)
    assert await phone.change_number("22177100099") == 200
    assert phone.user_id != first_user_id
    await reminded_both_ways(h, phone, 16)
    await answer(phone, 16, 32)
    assert (await scored(h, phone))["composite"] == 1.0
    assert await returnees(h) == 1
    assert h.server.sent_to_retired == []  # nothing to the old number or BSUID
    assert h.store is not None
    assert await h.store.find_whatsapp(user_id=first_user_id, phone="22177100002") is None


async def test_a_returnee_known_by_number_is_linked_to_their_bsuid(
    wa_harness: WaHarness,
) -> None:
    """Enrolled and answering by number (as before BSUIDs, or as the caseload gave it),
    then their messages carry a BSUID: the same returnee, the same survey, reminders to
    the BSUID."""
    h = wa_harness
    phone = WaUser(h.server, "22177100003", bsuid=False)
    token = await h.invite()
    await to_the_first_question(phone, f"START {token}")
    await answer(phone, 1, 10)
    assert all(m.field == "to" and m.address == phone.wa_id for m in phone.messages)
    phone.gets_bsuid()
    await answer(phone, 11, 20)
    await reminded_both_ways(h, phone, 21)
    await answer(phone, 21, 32)
    assert (await scored(h, phone))["composite"] == 1.0
    assert await returnees(h) == 1
    assert h.store is not None
    linked = await h.store.find_whatsapp(user_id=phone.user_id, phone=None)
    by_number = await h.store.find_whatsapp(user_id=None, phone=phone.wa_id)
    assert linked is not None and by_number is not None and linked.id == by_number.id


async def test_no_bsuid_username_number_or_profile_name_is_kept_or_logged(
    wa_harness: WaHarness, caplog: pytest.LogCaptureFixture
) -> None:
    """The canary scan: a returnee who shows a number and a username-only one answer,
    change number, are reminded and get a failed status; none of their identifiers or
    names is in the database's bytes or in any log line (at DEBUG)."""
    caplog.set_level(logging.DEBUG)
    h = wa_harness
    shown = WaUser(h.server, "22177955501", name="Aminata-CANARY-name")
    hidden = WaUser(h.server, "22177955502", username="@canary_handle_x", name="Ousmane-CANARY")
    for phone in (shown, hidden):
        await to_the_first_question(phone, f"START {await h.invite()}")
        await answer(phone, 1, 3)
    assert await shown.change_number("22177955599") == 200
    await answer(shown, 4, 5)
    await remind(h)
    assert await h.server.post(*h.server.failed_status(hidden.messages[-1], code=131049)) == 200
    await hidden.settle()
    secrets = [
        "22177955501",
        "22177955502",
        "22177955599",
        "canary_handle_x",
        "CANARY-name",
        "Ousmane-CANARY",
        *(v for v in (shown.user_id, hidden.user_id) if v),
        *bsuids_before(h),
    ]
    dump = database_dump(h.backend)
    assert len(dump) > 10_000
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "changed number" in logged and "POST /whatsapp" in logged  # (the bot's log, read)
    for secret in secrets:
        assert_absent(secret, dump)
        assert secret not in logged, secret


def bsuids_before(h: WaHarness) -> list[str]:
    """Every BSUID the fake Cloud API ever gave (old ones included)."""
    return [v for v in h.server.retired if "." in v]
