"""UI strings through gettext catalogues (survey texts live in the flow).

Each language's ``messages.po`` (:mod:`bot.languages`) is the source of truth; it is
compiled in memory with Babel the first time the language is used, so there is no build
step to forget.
"""

from __future__ import annotations

import gettext
import io
import unicodedata
from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from bot.languages import SOURCE_LANGUAGE, languages

__all__ = ["SOURCE_LANGUAGE", "Translator", "proposed_language", "translations"]

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
    return languages().proposed(code)


def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``language`` (the source language, or one the interface
    does not speak: the msgids)."""
    lang = languages().resolved(language)
    if lang.code == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    return _compiled(lang.catalogue, lang.locale, lang.catalogue.stat().st_mtime_ns)


@cache
def _compiled(po: Path, locale: str, _version: int) -> gettext.NullTranslations:
    """The catalogue at ``po`` compiled (again when the file changed: ``_version``)."""
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=locale.replace("-", "_"))
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class Translator:
    """``_("Question {number} of {total}", number=3, total=32)`` in one language."""

    def __init__(self, language: str, *, commands: Callable[[str, str], str] | None = None) -> None:
        self._language = languages().resolved(language)
        self.language = self._language.code
        self._catalogue = translations(self.language)
        #: rewrites the commands a text names, for a channel without commands (WhatsApp:
        #: :func:`bot.keywords.spelled_as_keywords`)
        self._commands = commands

    def __call__(self, message: str, **values: object) -> str:
        text = self._catalogue.gettext(message)
        if values:
            try:
                text = text.format(**values)
            except (KeyError, IndexError, ValueError):  # a translation that broke a
                text = message.format(**values)  # placeholder: the source's words
        if self._commands is not None:
            text = self._commands(text, self.language)
        return right_to_left(text) if self.rtl else text

    @property
    def rtl(self) -> bool:
        return self._language.rtl

    @property
    def locale(self) -> str:
        """The Babel locale of the language's numbers, dates and names."""
        return self._language.locale.replace("-", "_")

    def score(self, value: float | None) -> str:
        """A score as shown to people: two decimals in the language's number format."""
        _ = self
        if value is None:
            return _("not enough answers")
        return format_decimal(value, format="0.00", locale=self.locale)
