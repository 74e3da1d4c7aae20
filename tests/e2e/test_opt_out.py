"""An opt-out is recorded from every status, and consent is asked again before anything
more is stored."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import ConsentEvent
from tests.e2e.conftest import Harness
from tests.e2e.fake_telegram import FakeUser
from tests.e2e.test_journey import answered, enrol_and_consent, open_invitation, returnee_of

STOPPED = "You will not receive any more messages from us."


async def consent_events(h: Harness, user: FakeUser) -> list[str]:
    assert h.store is not None
    returnee = await returnee_of(h, user)
    async with h.store.sessions() as session:
        return list(
            await session.scalars(
                select(ConsentEvent.kind)
                .where(ConsentEvent.returnee_id == returnee.id)
                .order_by(ConsentEvent.at)
            )
        )


async def test_stop_while_unreachable_is_recorded_and_consent_is_asked_again(
    harness: Harness, user_factory
) -> None:  # type: ignore[no-untyped-def]
    user = user_factory("en")
    await enrol_and_consent(harness, user)
    user.press("Satisfied")
    await user.expect("Question 2 of 32")
    user.block()
    await user.settle()
    assert (await returnee_of(harness, user)).status == "unreachable"
    user.unblock()
    user.send("STOP")
    await user.expect(STOPPED)
    assert (await returnee_of(harness, user)).status == "opted_out"
    assert await consent_events(harness, user) == ["given", "withdrawn"]
    user.send("/start")
    await user.expect("Before we start")  # consent first, not the survey
    user.press("I agree")
    await user.expect("Question 2 of 32")  # then where they left off
    assert await answered(harness) == 1


@pytest.mark.parametrize("status", ["invited", "declined"])
async def test_stop_before_consent_is_recorded(harness: Harness, user_factory, status: str) -> None:  # type: ignore[no-untyped-def]
    user = user_factory("en")
    await open_invitation(harness, user)
    if status == "declined":
        user.press("No thanks")
        await user.expect("No problem")
    assert (await returnee_of(harness, user)).status == status
    user.send("/stop")
    await user.expect(STOPPED)
    assert (await returnee_of(harness, user)).status == "opted_out"
    assert (await consent_events(harness, user))[-1] == "withdrawn"
    user.send("/start")
    await user.expect("Before we start")


async def test_the_consent_event_records_the_policy_shown(harness: Harness, user_factory) -> None:  # type: ignore[no-untyped-def]
    from bot.consent import DataPolicy

    user = user_factory("ar")
    await open_invitation(harness, user, "ar")
    screen = user.messages[-1].text
    assert "سنتان" in screen and "المسؤول عن ملفك" in screen
    user.press("أوافق")
    await user.expect("السؤال 1 من 32")
    assert harness.store is not None
    async with harness.store.sessions() as session:
        versions = list(await session.scalars(select(ConsentEvent.consent_version)))
    assert versions == [DataPolicy().consent_version]
