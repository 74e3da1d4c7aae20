"""The consent screen says who sees what, for how long, and whom to ask; the policy shown
is part of the consent's version."""

from __future__ import annotations

import pytest

from bot.consent import DataPolicy, consent_text
from bot.i18n import Translator


@pytest.mark.parametrize(
    ("language", "period", "contact"),
    [
        ("en", "2 years", "your caseworker"),
        ("fr", "2 ans", "votre référent(e)"),
        ("ar", "سنتان", "المسؤول عن ملفك"),
    ],
)
def test_the_default_policy_in_each_language(language: str, period: str, contact: str) -> None:
    text = "\n".join(consent_text(Translator(language), DataPolicy()))
    assert period in text and contact in text


def test_a_configured_policy_is_shown_and_changes_the_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    default = DataPolicy()
    monkeypatch.setenv("RSSBOT_RETENTION_MONTHS", "18")
    monkeypatch.setenv("RSSBOT_DATA_CONTACT", "dpo@example.org, +224 600 00 00")
    policy = DataPolicy()
    text = "\n".join(consent_text(Translator("fr"), policy))
    assert "18 mois" in text.replace("\xa0", " ")
    assert "dpo@example.org, +224 600 00 00" in text
    assert "statistiques, sans votre nom" in text  # viewers see scores, not names
    assert policy.consent_version != default.consent_version
    assert policy.consent_version.startswith(default.consent_version.split("+")[0])


def test_a_retention_period_outside_reason_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RSSBOT_RETENTION_MONTHS", "0")
    with pytest.raises(ValueError, match="RSSBOT_RETENTION_MONTHS"):
        DataPolicy()
