"""The consent screen: versioned, in the returnee's language (gettext)."""

from __future__ import annotations

from bot.i18n import Translator

#: Bump when the meaning of the consent text changes: stored with every consent event.
CONSENT_VERSION = "2026-11-v1"


def consent_text(_: Translator) -> list[str]:
    """Purpose, who sees the answers, how they are protected, the right to stop and erase."""
    return [
        _("Before we start, please read this."),
        _(
            "Why: this short survey helps the team that assisted your return understand how "
            "your life is going, and where more help may be needed."
        ),
        _(
            "Who sees your answers: only the staff who follow your case. Nobody else. Your "
            "answers do not change the assistance you are entitled to."
        ),
        _(
            "How they are protected: your answers are stored encrypted. Nothing is kept "
            "unless you agree."
        ),
        _(
            "Your rights: you can skip any question, stop at any time (send STOP), see what "
            "is kept about you, and have it all erased."
        ),
    ]
