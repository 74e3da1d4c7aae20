"""UI strings through gettext catalogues in ``locales/`` (survey texts live in the flow).

The ``.po`` files are the source of truth; they are compiled in memory with Babel the
first time a language is used, so there is no build step to forget.
"""

from __future__ import annotations

import gettext
import io
import unicodedata
from collections.abc import Callable
from functools import cache
from importlib import resources

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

#: UI languages with a catalogue; English is the source language (msgids).
UI_LANGUAGES = ("en", "fr", "ar")
SOURCE_LANGUAGE = "en"
RTL_LANGUAGES = frozenset({"ar", "fa", "ur", "ps", "he"})
RLM = "\u200f"  # RIGHT-TO-LEFT MARK


def first_strong_direction(text: str) -> str | None:
    """'rtl' or 'ltr' by the first strong character (how Telegram picks a direction)."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return None


def right_to_left(text: str) -> str:
    """Make every line of ``text`` read right to left: lines that start with a Latin
    word or a /command get a right-to-left mark in front."""
    return "\n".join(
        RLM + line if first_strong_direction(line) == "ltr" else line for line in text.split("\n")
    )


def proposed_language(code: str | None) -> str:
    """The UI language closest to a chat app's language code (English if none is)."""
    base = (code or SOURCE_LANGUAGE).split("-")[0].lower()
    return base if base in UI_LANGUAGES else SOURCE_LANGUAGE


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``language`` (English, or unknown: the msgids)."""
    if language == SOURCE_LANGUAGE or language not in UI_LANGUAGES:
        return gettext.NullTranslations()
    po = resources.files("locales").joinpath(language, "LC_MESSAGES", "messages.po")
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class Translator:
    """``_("Question {number} of {total}", number=3, total=32)`` in one language."""

    def __init__(self, language: str, *, commands: Callable[[str, str], str] | None = None) -> None:
        self.language = language if language in UI_LANGUAGES else SOURCE_LANGUAGE
        self._catalogue = translations(self.language)
        #: rewrites the commands a text names, for a channel without commands (WhatsApp:
        #: :func:`bot.keywords.spelled_as_keywords`)
        self._commands = commands

    def __call__(self, message: str, **values: object) -> str:
        text = self._catalogue.gettext(message)
        text = text.format(**values) if values else text
        if self._commands is not None:
            text = self._commands(text, self.language)
        return right_to_left(text) if self.rtl else text

    @property
    def rtl(self) -> bool:
        return self.language in RTL_LANGUAGES

    def score(self, value: float | None) -> str:
        """A score as shown to people: two decimals in the language's number format."""
        _ = self
        if value is None:
            return _("not enough answers")
        return format_decimal(value, format="0.00", locale=self.language)
