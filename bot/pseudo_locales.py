"""Two pseudo-languages made from the English, as large software projects test theirs:

- ``en-XA``: every letter accented and every text about 40% longer, between ⟦ and ⟧,
  to show a text that no catalogue gave (it stays plain English), and one that a longer
  language would not fit;
- ``ar-XB``: every text mirrored right to left (written backwards inside a right-to-left
  override, so it reads as English laid out the Arabic way), to show layouts that do
  not follow the writing direction.

Placeholders (``{name}``), HTML tags, entities, commands (``/start``) and links are kept
as they are. :func:`write_pseudo_languages` writes both as language folders: the bot
takes them like any other language.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from bot.language_packs import interface_entries, programme_entries, survey_entries
from bot.languages import COMMANDS, SOURCE_LANGUAGE, Language, languages, read_entry
from bot.programme import load_programme
from bot.translation_workbook import Translations, write_language
from flows import FlowDefinition

ACCENTED = "ȧƀƈḓḗƒɠħīĵķŀḿƞǿƥɋřşŧŭṽẇẋẏẑȦƁƇḒḖƑƓĦĪĴĶĿḾȠǾƤɊŘŞŦŬṼẆẊẎẐ"
_ACCENT = str.maketrans("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", ACCENTED)
OPEN, CLOSE = "⟦", "⟧"
RLO, PDF = "\u202e", "\u202c"
#: what is kept as it is: placeholders, tags, entities, commands, links, markdown marks
_KEPT = re.compile(r"\{\w*\}|<[^>]+>|&\w+;|(?<![\w/])/\w+|https?://\S+|[*_]")
PADDING = " ·"


def _pieces(text: str, change: Callable[[str], str]) -> str:
    out, last = [], 0
    for kept in _KEPT.finditer(text):
        out.append(change(text[last : kept.start()]))
        out.append(kept.group())
        last = kept.end()
    out.append(change(text[last:]))
    return "".join(out)


def accented(text: str) -> str:
    """``Question {number}`` -> ``⟦Ɋŭḗşŧīǿƞ {number} · ·⟧``: accented, 40% longer."""
    if not text.strip():
        return text
    lines = []
    for line in text.split("\n"):
        if not line.strip():
            lines.append(line)
            continue
        body = _pieces(line, lambda s: s.translate(_ACCENT))
        extra = max(1, round(len(line) * 0.4 / len(PADDING)))
        lines.append(f"{OPEN}{body}{PADDING * extra}{CLOSE}")
    return "\n".join(lines)


def mirrored(text: str) -> str:
    """Each line's words written backwards inside a right-to-left override: it reads as
    the English, laid out right to left."""
    if not text.strip():
        return text
    return "\n".join(
        _pieces(line, lambda s: f"{RLO}{s[::-1]}{PDF}" if s.strip() else s) if line else line
        for line in text.split("\n")
    )


#: code -> (CLDR locale, name, direction, how a text is made)
PSEUDO: dict[str, tuple[str, str, str, Callable[[str], str]]] = {
    "en-XA": ("en", accented("English"), "ltr", accented),
    "ar-XB": ("ar", mirrored("English"), "rtl", mirrored),
}


def pseudo_translations(code: str, flow: FlowDefinition) -> Translations:
    locale, name, direction, make = PSEUDO[code]
    english = languages().source
    base = Language(code=code, locale=locale, folder=english.folder)
    found = Translations(code, locale, name, direction, flow.id)
    for entry in interface_entries(base):
        found.interface[(entry.key, entry.form)] = make(entry.source)
    for entry in survey_entries(flow, code):
        found.survey[entry.key] = make(entry.source)
    for entry in programme_entries(load_programme(), code):
        found.programme[entry.key] = make(entry.source)
    for command in COMMANDS:
        words = english.keywords.get(command, [command.upper()])
        found.keywords[command] = [make(words[0]).strip(OPEN + CLOSE + PADDING), *words]
    return found


def write_pseudo_languages(flow: FlowDefinition, root: Path) -> list[Language]:
    """Write ``en-XA`` and ``ar-XB`` under ``root`` for ``flow``; their entries."""
    written = []
    for code in PSEUDO:
        write_language(pseudo_translations(code, flow), flow, root)
        written.append(read_entry(root / code))
    return written


__all__ = ["PSEUDO", "SOURCE_LANGUAGE", "accented", "mirrored", "write_pseudo_languages"]
