"""Transcripts of a returnee's journey through the real HTTP stack."""

from __future__ import annotations

from tests.e2e.conftest import Harness
from tests.e2e.fake_telegram import FakeUser


async def test_invite_language_consent_first_question(harness: Harness, user_factory) -> None:  # type: ignore[no-untyped-def]
    token = await harness.invite()
    user: FakeUser = user_factory("fr")
    user.send(f"/start {token}")
    choose = await user.expect("Bienvenue")
    assert choose.labels()[0] == "Français"  # proposed from Telegram's language_code
    user.press("Français")
    consent = await user.expect("Avant de commencer")
    assert consent.labels() == ["J'accepte", "Non merci"]
    user.press("J'accepte")
    question = await user.expect("Question 1 sur 32")
    assert question.protect_content
    assert "Êtes-vous satisfait(e) de votre situation économique actuelle ?" in question.text
    assert question.labels()[:5] == [
        "Très satisfait(e)",
        "Satisfait(e)",
        "Ni l'un ni l'autre",
        "Insatisfait(e)",
        "Très insatisfait(e)",
    ]
