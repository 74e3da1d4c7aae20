"""The words a returnee may type instead of a command, in every language of the bot: a
channel without commands (WhatsApp) reads them all; Telegram reads the stop words too.

A keyword counts only as a whole message (any case, with or without accents or a leading
slash), so an answer that merely contains "stop" is still an answer."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from bot.languages import COMMANDS, Command, Languages, languages

__all__ = ["Command", "is_stop_word", "keyword", "spelled_as_keywords"]

_COMMAND_IN_TEXT = re.compile(r"(?<![\w/])/(" + "|".join(COMMANDS) + r")\b")


def spelled_as_keywords(text: str, language: str) -> str:
    """``text`` with every command it names (``/delete``) written as the keyword a
    returnee types in ``language`` (``SUPPRIMER``), English where the language has none."""
    registry = languages()
    lang = registry.get(language) or registry.source
    return _COMMAND_IN_TEXT.sub(lambda m: lang.shown_keyword(m.group(1)), text)  # type: ignore[arg-type]


def _folded(text: str) -> str:
    """Lower case, without Latin accents (``Arrêt`` -> ``arret``); Arabic kept as typed."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    kept = "".join(c for c in decomposed if not unicodedata.combining(c) or c >= "\u0600")
    return unicodedata.normalize("NFC", kept)


@cache
def _by_word(registry: Languages) -> dict[str, Command]:
    """Every language's keywords, folded, with the command each stands for (a command's
    own name always counts)."""
    found: dict[str, Command] = {command: command for command in COMMANDS}
    for lang in registry.values():
        for command, words in lang.keywords.items():
            found.update({_folded(word): command for word in words})
    return found


def keyword(text: str) -> tuple[Command, str] | None:
    """The command a message stands for and what follows it (``START abc`` -> start,
    ``abc``; only ``start`` takes an argument), or None for anything else."""
    words = text.strip().lstrip("/").split(maxsplit=1)
    if not words:
        return None
    by_word = _by_word(languages())
    first = _folded(words[0])
    if by_word.get(first) == "start":
        return "start", words[1].strip() if len(words) > 1 else ""
    command = by_word.get(_folded(text.strip().lstrip("/")))
    return None if command is None else (command, "")


def is_stop_word(text: str) -> bool:
    found = keyword(text)
    return found is not None and found[0] == "stop"
