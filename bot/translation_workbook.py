"""One workbook per language for translators, and back into the language's files.

``About`` names the language (code, CLDR locale, name in itself, writing direction) and
the survey; ``Strings`` has one row per string: where it is shown, the English, the
translation, its placeholders (to keep as they are) and the length WhatsApp allows where
it limits one. Keywords (what a returnee types instead of a command) are rows too.

:func:`read_workbook` reads it back; :func:`write_language` writes the language's folder:
``language.yaml`` (where there is none), ``LC_MESSAGES/messages.po`` and
``surveys/<flow>.yaml``. A translation that breaks a placeholder is not written: the
earlier one is kept and the row is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import write_po
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from bot.language_packs import (
    PLACEHOLDER,
    Entry,
    interface_entries,
    programme_entries,
    read_catalogue,
    survey_entries,
    template,
    write_labels,
    write_programme_labels,
)
from bot.languages import COMMANDS, ENTRY_FILE, SOURCE_LANGUAGE, Language, languages
from bot.programme import load_programme
from flows import FlowDefinition

HEADERS = (
    "Part",
    "Key",
    "Plural form",
    "Where it is shown",
    "English",
    "Translation",
    "Placeholders (keep as they are)",
    "WhatsApp limit",
)
ABOUT_FIELDS = ("Language code", "CLDR locale", "Name", "Direction", "Survey", "Survey version")


class WorkbookError(ValueError):
    """A workbook that cannot be read back: the sheet, row and what is wrong."""


def keyword_entries(language: Language) -> list[Entry]:
    source = languages().source
    return [
        Entry(
            "interface",
            f"keyword:{command}",
            "words a returnee types instead of a command (separated by commas; the first "
            "is the one the bot writes)",
            ", ".join(source.keywords.get(command, [command.upper()])),
            ", ".join(language.keywords.get(command, [])),
        )
        for command in COMMANDS
    ]


def write_workbook(language: Language, flow: FlowDefinition, path: Path) -> int:
    """Write ``language``'s workbook; the number of string rows."""
    book = Workbook()
    about = book.active
    assert isinstance(about, Worksheet)
    about.title = "About"
    values = (language.code, language.locale, language.name, language.direction, flow.id)
    for row, (name, value) in enumerate(zip(ABOUT_FIELDS, (*values, flow.version), strict=True), 1):
        about.cell(row, 1, name).font = Font(bold=True)
        about.cell(row, 2, value)
    about.cell(len(ABOUT_FIELDS) + 2, 1, "Fill in the 'Translation' column of 'Strings'.")
    about.cell(
        len(ABOUT_FIELDS) + 3,
        1,
        "Keep {placeholders} exactly as they are; keep within the WhatsApp limit where one "
        "is given. Then: rssbot i18n import this-file.xlsx",
    )
    about.column_dimensions["A"].width = 22
    about.column_dimensions["B"].width = 30
    sheet = book.create_sheet("Strings")
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE7F0")
    entries = [
        *interface_entries(language),
        *keyword_entries(language),
        *survey_entries(flow, language.code),
        *programme_entries(load_programme(), language.code),
    ]
    rtl = Alignment(wrap_text=True, vertical="top", readingOrder=2 if language.rtl else 1)
    top = Alignment(wrap_text=True, vertical="top")
    for entry in entries:
        sheet.append(
            [
                entry.part,
                entry.key,
                entry.form,
                entry.context,
                entry.source,
                entry.translation,
                " ".join("{" + p + "}" for p in entry.placeholders),
                entry.limit,
            ]
        )
        for cell in sheet[sheet.max_row]:
            cell.alignment = rtl if cell.column == 6 else top
    for column, width in zip("ABCDEFGH", (10, 28, 8, 30, 50, 50, 22, 10), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "F2"
    sheet.auto_filter.ref = sheet.dimensions
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return len(entries)


@dataclass
class Translations:
    """What a workbook says: the language and its translated strings."""

    code: str
    locale: str
    name: str
    direction: str
    flow: str
    #: (msgid, plural form or None) -> translation
    interface: dict[tuple[str, int | None], str] = field(default_factory=dict)
    keywords: dict[str, list[str]] = field(default_factory=dict)
    survey: dict[str, str] = field(default_factory=dict)
    programme: dict[str, str] = field(default_factory=dict)
    #: rows not taken, as "Strings row N (key): why"
    refused: list[str] = field(default_factory=list)


def read_workbook(path: Path) -> Translations:
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise WorkbookError(f"{path}: not an .xlsx workbook ({exc})") from exc
    if "About" not in book.sheetnames or "Strings" not in book.sheetnames:
        raise WorkbookError(f"{path}: expected the sheets 'About' and 'Strings' of i18n export")
    about = {
        str(row[0]).strip(): "" if row[1] is None else str(row[1]).strip()
        for row in book["About"].iter_rows(values_only=True)
        if row and row[0] is not None and len(row) > 1
    }
    missing = [name for name in ABOUT_FIELDS[:5] if not about.get(name)]
    if missing:
        raise WorkbookError(f"{path}: sheet About: no {', '.join(missing)}")
    found = Translations(
        about["Language code"],
        about["CLDR locale"],
        about["Name"],
        about["Direction"],
        about["Survey"],
    )
    rows = book["Strings"].iter_rows(values_only=True)
    header = tuple(str(c or "").strip() for c in next(rows, ()))
    if header[: len(HEADERS)] != HEADERS:
        raise WorkbookError(f"{path}: sheet Strings, row 1: expected the columns {HEADERS}")
    for number, row in enumerate(rows, 2):
        part, key, form, _where, source, text = (list(row) + [None] * 6)[:6]
        if not key or text is None or not str(text).strip():
            continue
        key, text, source = str(key), str(text).strip(), str(source or "")
        wanted = set(PLACEHOLDER.findall(source))
        given = set(PLACEHOLDER.findall(text))
        if given - wanted or (form is None and given != wanted):
            found.refused.append(
                f"Strings row {number} ({key}): placeholders must be "
                + (" ".join("{" + p + "}" for p in sorted(wanted)) or "none")
                + ", found "
                + (" ".join("{" + p + "}" for p in sorted(given)) or "none")
            )
            continue
        if key.startswith("keyword:"):
            words = [w.strip() for w in text.split(",") if w.strip()]
            found.keywords[key.removeprefix("keyword:")] = words
        elif part == "survey":
            found.survey[key] = text
        elif part == "programme":
            found.programme[key] = text
        else:
            found.interface[(key, None if form is None else int(form))] = text
    return found


def write_language(translations: Translations, flow: FlowDefinition, root: Path) -> list[Path]:
    """Write the language's files under ``root/<code>/``; the paths written."""
    folder = root / translations.code
    entry_path = folder / ENTRY_FILE
    written: list[Path] = []
    folder.mkdir(parents=True, exist_ok=True)
    entry = yaml.safe_load(entry_path.read_text(encoding="utf-8")) if entry_path.is_file() else {}
    entry = entry or {}
    entry.update(
        {
            "code": translations.code,
            "locale": translations.locale,
            "name": translations.name,
            "direction": translations.direction,
        }
    )
    keywords = {**(entry.get("keywords") or {}), **translations.keywords}
    if keywords:
        entry["keywords"] = keywords
    entry_path.write_text(
        yaml.safe_dump(entry, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    written.append(entry_path)
    from bot.languages import read_entry  # (the entry just written, validated)

    language = read_entry(folder)
    if translations.code != SOURCE_LANGUAGE and translations.interface:
        written.append(_write_catalogue(language, translations))
    if translations.survey and translations.code not in flow.languages:
        labels = {
            e.key: translations.survey.get(e.key, e.translation)
            for e in survey_entries(flow, translations.code)
        }
        written.append(write_labels(language, flow, {k: v for k, v in labels.items() if v}))
    if translations.programme:
        earlier = {e.key: e.translation for e in programme_entries(load_programme(), language.code)}
        labels = {k: translations.programme.get(k) or earlier.get(k, "") for k in earlier}
        written.append(write_programme_labels(language, {k: v for k, v in labels.items() if v}))
    return written


def _write_catalogue(language: Language, translations: Translations) -> Path:
    existing = read_catalogue(language)
    catalogue = existing or Catalog(
        locale=language.locale.replace("-", "_"), project="rssbot", fuzzy=False
    )
    for message in template():
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            key = str(message.id[0])
            old = catalogue.get(message.id)
            forms = list(old.string) if old is not None and isinstance(old.string, tuple) else []
            forms += [""] * (catalogue.num_plurals - len(forms))
            for form in range(catalogue.num_plurals):
                forms[form] = translations.interface.get((key, form), forms[form])
            _put(catalogue, message, tuple(forms))
        else:
            old = catalogue.get(message.id)
            previous = str(old.string) if old is not None and old.string else ""
            text = translations.interface.get((str(message.id), None), previous)
            _put(catalogue, message, text)
    path = language.catalogue
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalogue, width=100, omit_header=False, ignore_obsolete=True)
    return path


def _put(catalogue: Catalog, message: Message, text: str | tuple[str, ...]) -> None:
    """Set a string's translation (Babel's ``add`` keeps an existing one's)."""
    old = catalogue.get(message.id)
    if old is None:
        catalogue.add(message.id, text, auto_comments=message.auto_comments)
    else:
        old.string, old.auto_comments, old.flags = text, list(message.auto_comments), set()
