"""The words a returnee may type instead of a command, in every language of the bot: a
channel without commands (WhatsApp) reads them all; Telegram reads the stop words too.

A keyword counts only as a whole message (any case, with or without accents or a leading
slash), so an answer that merely contains "stop" is still an answer."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Command = Literal["start", "stop", "mydata", "delete", "feedback", "language", "help", "cancel"]

KEYWORDS: dict[Command, frozenset[str]] = {
    "start": frozenset({"start", "commencer", "ابدأ"}),
    "stop": frozenset({"stop", "arret", "توقف"}),
    "mydata": frozenset({"mydata", "my data", "data", "mes donnees", "donnees", "بياناتي"}),
    "delete": frozenset({"delete", "erase", "supprimer", "effacer", "حذف", "امسح"}),
    "feedback": frozenset({"feedback", "avis", "رأي", "ملاحظات"}),
    "language": frozenset({"language", "langue", "اللغة", "لغة"}),
    "help": frozenset({"help", "aide", "مساعدة"}),
    "cancel": frozenset({"cancel", "annuler", "إلغاء"}),
}


#: how a command is written to a returnee on a channel without commands, in their language
#: (each is one of :data:`KEYWORDS`)
SHOWN: dict[str, dict[Command, str]] = {
    "en": {
        "start": "START",
        "stop": "STOP",
        "mydata": "MY DATA",
        "delete": "DELETE",
        "feedback": "FEEDBACK",
        "language": "LANGUAGE",
        "help": "HELP",
        "cancel": "CANCEL",
    },
    "fr": {
        "start": "COMMENCER",
        "stop": "ARRET",
        "mydata": "MES DONNEES",
        "delete": "SUPPRIMER",
        "feedback": "AVIS",
        "language": "LANGUE",
        "help": "AIDE",
        "cancel": "ANNULER",
    },
    "ar": {
        "start": "ابدأ",
        "stop": "توقف",
        "mydata": "بياناتي",
        "delete": "حذف",
        "feedback": "رأي",
        "language": "اللغة",
        "help": "مساعدة",
        "cancel": "إلغاء",
    },
}

_COMMAND_IN_TEXT = re.compile(r"(?<![\w/])/(" + "|".join(KEYWORDS) + r")\b")


def spelled_as_keywords(text: str, language: str) -> str:
    """``text`` with every command it names (``/delete``) written as the keyword a
    returnee types in ``language`` (``SUPPRIMER``), English where the language has none."""
    shown = SHOWN.get(language, SHOWN["en"])
    return _COMMAND_IN_TEXT.sub(lambda m: shown[m.group(1)], text)  # type: ignore[index]


def _folded(text: str) -> str:
    """Lower case, without Latin accents (``Arrêt`` -> ``arret``); Arabic kept as typed."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    kept = "".join(c for c in decomposed if not unicodedata.combining(c) or c >= "\u0600")
    return unicodedata.normalize("NFC", kept)


_BY_WORD = {_folded(word): command for command, words in KEYWORDS.items() for word in words}


def keyword(text: str) -> tuple[Command, str] | None:
    """The command a message stands for and what follows it (``START abc`` -> start,
    ``abc``; only ``start`` takes an argument), or None for anything else."""
    words = text.strip().lstrip("/").split(maxsplit=1)
    if not words:
        return None
    first = _folded(words[0])
    if first == "start" or _BY_WORD.get(first) == "start":
        return "start", words[1].strip() if len(words) > 1 else ""
    command = _BY_WORD.get(_folded(text.strip().lstrip("/")))
    return None if command is None else (command, "")


def is_stop_word(text: str) -> bool:
    found = keyword(text)
    return found is not None and found[0] == "stop"
