"""The languages the bot speaks, read from files: no code names a language.

A language is a folder named by its code, in the built-in ``locales/`` or in a folder of
the deployment's own (``RSSBOT_LANGUAGES_DIR``; several separated by ``:``; a later
folder overrides an earlier one)::

    ti/
      language.yaml               the registry entry (below)
      LC_MESSAGES/messages.po     the interface's words (gettext, through Babel)
      surveys/rss.yaml            the survey's labels in this language (optional where
                                  the flow definition carries them itself)
      audio/...                   audio prompts the survey's labels name (optional)

``language.yaml``::

    code: ti                      # as the folder; what the survey's labels are keyed by
    locale: ti                    # the CLDR locale for numbers and dates
    name: ትግርኛ                    # the language's name in itself (default: CLDR's)
    direction: ltr                # or rtl (default: CLDR's)
    keywords:                     # what a returnee types instead of a command; the first
      stop: [ደው ኣበል, stop]        # word is how the bot writes it (default: English)

The interface's source language (English, the msgids) has an entry and no catalogue.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal, get_args

import yaml
from babel import Locale, UnknownLocaleError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

#: what a returnee may do by typing a word instead of a command
Command = Literal[
    "start", "stop", "mydata", "delete", "feedback", "language", "audio", "help", "cancel"
]
COMMANDS: tuple[Command, ...] = get_args(Command)

#: the language the interface's strings are written in (gettext msgids)
SOURCE_LANGUAGE = "en"
#: where a deployment's own language folders are
LANGUAGES_DIR_VARIABLE = "RSSBOT_LANGUAGES_DIR"
ENTRY_FILE = "language.yaml"

#: a BCP 47 tag as the bot stores it: ``ti``, ``prs``, ``ckb``, ``en-XA``
CODE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"


class LanguageError(ValueError):
    """A language folder that cannot be used: the file and what is wrong."""


class Language(BaseModel):
    """One language's registry entry and where its files are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=CODE_PATTERN)
    locale: str
    name: str = ""
    direction: Literal["ltr", "rtl", ""] = ""
    keywords: dict[Command, list[str]] = Field(default_factory=dict)
    folder: Path = Path()

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        try:
            Locale.parse(value.replace("-", "_"))
        except (ValueError, UnknownLocaleError) as exc:
            raise ValueError(f"'{value}' is not a CLDR locale Babel knows") from exc
        return value

    @field_validator("keywords")
    @classmethod
    def _words_given(cls, value: dict[Command, list[str]]) -> dict[Command, list[str]]:
        empty = sorted(command for command, words in value.items() if not any(words))
        if empty:
            raise ValueError(f"no word for {', '.join(empty)}")
        return value

    def model_post_init(self, context: object) -> None:
        cldr = Locale.parse(self.locale.replace("-", "_"))
        if not self.name:
            own = cldr.display_name or self.code
            object.__setattr__(self, "name", own[:1].upper() + own[1:])
        if not self.direction:
            rtl = cldr.character_order == "right-to-left"
            object.__setattr__(self, "direction", "rtl" if rtl else "ltr")

    @property
    def rtl(self) -> bool:
        return self.direction == "rtl"

    @property
    def catalogue(self) -> Path:
        """The interface's catalogue (absent for the source language)."""
        return self.folder / "LC_MESSAGES" / "messages.po"

    def survey_labels(self, flow_id: str) -> Path:
        """The labels of the survey ``flow_id`` in this language."""
        return self.folder / "surveys" / f"{flow_id}.yaml"

    def shown_keyword(self, command: Command) -> str:
        """How the bot writes ``command`` for a returnee who types instead of tapping."""
        words = self.keywords.get(command)
        return words[0] if words else command.upper()


class Languages(Mapping[str, Language]):
    """The registry: every language found, by code, in the order of their codes with
    the source language first."""

    def __init__(self, found: Mapping[str, Language]) -> None:
        if SOURCE_LANGUAGE not in found:
            raise LanguageError(f"{SOURCE_LANGUAGE}/{ENTRY_FILE}: the source language is missing")
        order = sorted(found, key=lambda code: (code != SOURCE_LANGUAGE, code))
        self._found = {code: found[code] for code in order}

    __hash__ = object.__hash__  # (one registry per set of folders: compared by identity)

    def __eq__(self, other: object) -> bool:
        return self is other

    def __getitem__(self, code: str) -> Language:
        return self._found[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._found)

    def __len__(self) -> int:
        return len(self._found)

    @property
    def source(self) -> Language:
        return self._found[SOURCE_LANGUAGE]

    @property
    def interface(self) -> tuple[str, ...]:
        """Codes of the languages the interface can be shown in (a catalogue, or the
        source language)."""
        return tuple(
            code
            for code, lang in self._found.items()
            if code == SOURCE_LANGUAGE or lang.catalogue.is_file()
        )

    def resolved(self, code: str | None) -> Language:
        """``code``'s entry if the interface speaks it, else the source language's."""
        if code in self._found and code in self.interface:
            return self._found[code]
        return self.source

    def proposed(self, code: str | None) -> str:
        """The interface language closest to a chat app's language code (``fr-CA`` ->
        ``fr``), the source language if none is."""
        tag = (code or SOURCE_LANGUAGE).replace("_", "-")
        interface = self.interface
        lowered = {c.lower(): c for c in interface}
        if tag.lower() in lowered:
            return lowered[tag.lower()]
        base = tag.split("-")[0].lower()
        return base if base in interface else SOURCE_LANGUAGE

    def name(self, code: str) -> str:
        """A language's name in itself (the code where no entry has it)."""
        lang = self._found.get(code)
        if lang is not None:
            return lang.name
        try:
            own = Locale.parse(code.replace("-", "_")).display_name
        except (ValueError, UnknownLocaleError):
            return code
        return own[:1].upper() + own[1:] if own else code

    def rtl(self, code: str) -> bool:
        lang = self._found.get(code)
        if lang is not None:
            return lang.rtl
        try:
            return Locale.parse(code.replace("-", "_")).character_order == "right-to-left"
        except (ValueError, UnknownLocaleError):
            return False

    def cldr(self, code: str) -> str:
        """The Babel locale identifier for ``code``'s numbers, dates and names (its
        entry's CLDR locale; the code itself where it has no entry)."""
        lang = self._found.get(code)
        return (lang.locale if lang is not None else code).replace("-", "_")

    def direction(self, code: str) -> str:
        """``rtl`` or ``ltr``, as HTML's ``dir`` takes it."""
        return "rtl" if self.rtl(code) else "ltr"


def read_entry(folder: Path) -> Language:
    """The registry entry in ``folder`` (``language.yaml``)."""
    path = folder / ENTRY_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LanguageError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise LanguageError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise LanguageError(f"{path}: expected a mapping with 'code' and 'locale'")
    try:
        lang = Language.model_validate({**data, "folder": folder})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg']}" for e in exc.errors()
        )
        raise LanguageError(f"{path}: {problems}") from exc
    if lang.code != folder.name:
        raise LanguageError(f"{path}: code '{lang.code}' is not the folder's name '{folder.name}'")
    unknown = sorted(set(lang.keywords) - set(COMMANDS))
    if unknown:
        raise LanguageError(f"{path}: unknown command(s) {', '.join(unknown)}")
    return lang


def builtin_folder() -> Path:
    return Path(str(resources.files("locales")))


def language_folders() -> tuple[str, ...]:
    """The folders languages are read from: the built-in one, then the deployment's."""
    extra = os.environ.get("RSSBOT_LANGUAGES_DIR", "")
    return (str(builtin_folder()), *(p for p in extra.split(os.pathsep) if p.strip()))


@cache
def _registry(folders: tuple[str, ...]) -> Languages:
    found: dict[str, Language] = {}
    for root in map(Path, folders):
        if not root.is_dir():
            raise LanguageError(f"{root}: no such folder of languages")
        for folder in sorted(p for p in root.iterdir() if (p / ENTRY_FILE).is_file()):
            found[folder.name] = read_entry(folder)
    return Languages(found)


def languages() -> Languages:
    """The registry of the configured folders (read once per set of folders)."""
    return _registry(language_folders())


def forget_languages() -> None:
    """Read the language folders again at the next use (after files changed)."""
    _registry.cache_clear()
