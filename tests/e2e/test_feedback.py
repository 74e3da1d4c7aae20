"""Confidential feedback is stored only from enrolled returnees who consented, a few a day."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import Feedback
from tests.e2e.conftest import Harness
from tests.e2e.fake_telegram import BotMessage, FakeUser
from tests.e2e.test_journey import enrol_and_consent, open_invitation


async def feedback_rows(h: Harness) -> int:
    assert h.store is not None
    async with h.store.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Feedback)) or 0)


def forged(user: FakeUser, data: str) -> None:
    """Press a button with this callback data on a message of the user's own chat."""
    message = BotMessage(user.chat_id, 1, "", None, True)
    user.press_data(data, message)


async def test_a_stranger_pressing_feedback_buttons_stores_nothing(
    harness: Harness, user_factory
) -> None:  # type: ignore[no-untyped-def]
    stranger = user_factory("en")
    for _ in range(3):
        forged(stranger, "fb:anon:1")
        forged(stranger, "fb:rating:5")
        stranger.send("Spam spam spam")
    stranger.send("/feedback")
    await stranger.expect("Please open the invitation link you received first.")
    await stranger.settle()
    assert await feedback_rows(harness) == 0
    assert stranger.messages[0].text.startswith("Hello!")  # told what the bot is for


async def test_an_invited_returnee_without_consent_cannot_store_feedback(
    harness: Harness, user_factory
) -> None:  # type: ignore[no-untyped-def]
    user = user_factory("en")
    await open_invitation(harness, user)  # at the consent screen, not agreed yet
    user.send("/feedback")
    await user.expect("once you have agreed to take part")
    forged(user, "fb:anon:0")
    forged(user, "fb:rating:3")
    user.send("My words")
    await user.settle()
    assert await feedback_rows(harness) == 0


async def test_feedback_is_limited_to_three_a_day(harness: Harness, user_factory) -> None:  # type: ignore[no-untyped-def]
    user = user_factory("fr")
    await enrol_and_consent(harness, user, "fr")
    for n in range(3):
        user.send("/feedback")
        await user.expect("confidentiel")
        user.press("Anonymement")
        await user.expect("Quelle note")
        user.press("3")
        await user.expect("Écrivez votre avis")
        user.send(f"Avis numéro {n}")
        await user.expect("reçu")
    user.send("/feedback")
    await user.expect("réécrire demain")
    await user.settle()
    assert await feedback_rows(harness) == 3
