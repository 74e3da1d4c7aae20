"""The consent screen: what is asked, in the returnee's language, and its version.

The organisation's data policy (how long answers are kept, whom to contact) is configured
(``RSSBOT_RETENTION_MONTHS``, ``RSSBOT_DATA_CONTACT``) and is part of the consent's
version: a returnee's consent event records exactly what they were shown.
"""

from __future__ import annotations

import hashlib

from babel.units import format_unit
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.i18n import Translator

#: Bump when the meaning of the consent text changes (the policy's values are added to it).
CONSENT_TEXT_VERSION = "2026-12-v2"


class DataPolicy(BaseSettings):
    """How long answers are kept after the return, and whom a returnee asks about them."""

    model_config = SettingsConfigDict(extra="ignore")

    retention_months: int = Field(24, ge=1, le=240, validation_alias="RSSBOT_RETENTION_MONTHS")
    #: an address, a phone number or an office (shown as written); unset: the caseworker
    contact: str | None = Field(None, validation_alias="RSSBOT_DATA_CONTACT")

    @property
    def consent_version(self) -> str:
        """The text's version and a digest of the policy shown with it."""
        shown = f"{self.retention_months}|{self.contact or ''}".encode()
        return f"{CONSENT_TEXT_VERSION}+{hashlib.sha256(shown).hexdigest()[:8]}"


def retention_period(_: Translator, months: int) -> str:
    """ "2 years", "2 ans", "سنتان", "18 months"... (CLDR's units, with each language's
    plural forms)."""
    if months % 12 == 0:
        return format_unit(months // 12, "duration-year", locale=_.locale, length="long")
    return format_unit(months, "duration-month", locale=_.locale, length="long")


def consent_text(_: Translator, policy: DataPolicy) -> list[str]:
    """Purpose, who sees what, protection, how long, whom to ask, the rights."""
    contact = policy.contact or _("your caseworker")
    return [
        _("Before we start, please read this."),
        _(
            "Why: this short survey helps the team that assisted your return understand how "
            "your life is going, and where more help may be needed."
        ),
        _(
            "Who sees your answers: the staff who follow your case. Other programme staff "
            "see only scores and statistics, without your name. Nobody else. Your answers do "
            "not change the assistance you are entitled to."
        ),
        _(
            "How they are protected: your answers are stored encrypted. Nothing is kept "
            "unless you agree."
        ),
        _(
            "How long: your answers are kept for {period} after your return, then erased.",
            period=retention_period(_, policy.retention_months),
        ),
        _(
            "Your rights: you can skip any question, stop at any time (send STOP), see what "
            "is kept about you, and have it all erased. Questions or complaints about your "
            "data: {contact}.",
            contact=contact,
        ),
    ]
