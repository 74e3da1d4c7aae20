"""XLSForm workbooks written for tests, as Kobo and ODK authors lay them out."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import openpyxl
import xlwt

Rows = Sequence[dict[str, Any]]


def write_form(
    path: Path,
    survey: Rows,
    choices: Rows = (),
    settings: dict[str, Any] | None = None,
) -> Path:
    """A workbook with a ``survey`` sheet (and ``choices`` and ``settings`` when given);
    each sheet's header is the union of its rows' keys, in order of first use."""
    book = openpyxl.Workbook()
    sheets: list[tuple[str, Rows]] = [("survey", survey)]
    if choices:
        sheets.append(("choices", choices))
    if settings:
        sheets.append(("settings", [settings]))
    for i, (title, rows) in enumerate(sheets):
        sheet = book.active if i == 0 else book.create_sheet()
        assert sheet is not None
        sheet.title = title
        header: list[str] = []
        for row in rows:
            header += [key for key in row if key not in header]
        sheet.append(header)
        for row in rows:
            sheet.append([row.get(key) for key in header])
    book.save(path)
    return path


EN, FR, AR = "English (en)", "French (fr)", "Arabic (ar)"


def labels(column: str, en: str, fr: str, ar: str) -> dict[str, str]:
    """One text in the three languages, as ``label::English (en)``-style columns."""
    return {f"{column}::{EN}": en, f"{column}::{FR}": fr, f"{column}::{AR}": ar}


def livelihood_form(path: Path) -> Path:
    """A real-shaped follow-up form: groups, skip logic, multi-select, numbers with
    constraints, a date, notes, in English, French and Arabic."""
    survey = [
        {"type": "start", "name": "start"},
        {
            "type": "note",
            "name": "welcome",
            **labels("label", "Welcome back.", "Bienvenue.", "مرحبا بعودتك."),
        },
        {"type": "begin_group", "name": "work", **labels("label", "Work", "Travail", "العمل")},
        {
            "type": "select_one yn",
            "name": "has_work",
            **labels("label", "Do you have work?", "Avez-vous un travail ?", "هل لديك عمل؟"),
            "required": "yes",
        },
        {
            "type": "integer",
            "name": "hours",
            **labels("label", "Hours per week?", "Heures par semaine ?", "كم ساعة في الأسبوع؟"),
            **labels("hint", "A number.", "Un nombre.", "رقم."),
            "required": "yes",
            "relevant": "${has_work} = 'yes'",
            "constraint": ". >= 1 and . <= 100",
            **labels(
                "constraint_message",
                "Between 1 and 100.",
                "Entre 1 et 100.",
                "بين 1 و 100.",
            ),
        },
        {
            "type": "decimal",
            "name": "income",
            **labels("label", "Monthly income?", "Revenu mensuel ?", "الدخل الشهري؟"),
            "relevant": "selected(${has_work}, 'yes')",
            "constraint": ". >= 0",
        },
        {"type": "end_group"},
        {
            "type": "begin_group",
            "name": "support",
            **labels("label", "Support", "Soutien", "الدعم"),
        },
        {
            "type": "select_multiple help",
            "name": "help_received",
            **labels("label", "Which help?", "Quelle aide ?", "أي مساعدة؟"),
            "required": "yes",
        },
        {
            "type": "date",
            "name": "help_date",
            **labels("label", "When did it start?", "Quand a-t-elle commencé ?", "متى بدأت؟"),
            "required": "yes",
            "relevant": "not(selected(${help_received}, 'none'))",
        },
        {
            "type": "text",
            "name": "comment",
            **labels("label", "Anything else?", "Autre chose ?", "شيء آخر؟"),
            "constraint": "string-length(.) <= 200",
        },
        {"type": "end_group"},
        {"type": "note", "name": "thanks", **labels("label", "Thank you.", "Merci.", "شكرا.")},
    ]
    choices = [
        {"list_name": "yn", "name": "yes", **labels("label", "Yes", "Oui", "نعم")},
        {"list_name": "yn", "name": "no", **labels("label", "No", "Non", "لا")},
        {"list_name": "help", "name": "cash", **labels("label", "Cash", "Argent", "نقود")},
        {
            "list_name": "help",
            "name": "training",
            **labels("label", "Training", "Formation", "تدريب"),
        },
        {
            "list_name": "help",
            "name": "none",
            **labels("label", "None", "Aucune", "لا شيء"),
            "exclusive": "yes",
        },
    ]
    settings = {
        "form_title": "Livelihood follow-up",
        "form_id": "livelihood",
        "version": "2026-12",
        "default_language": EN,
        "form_title_fr": "Suivi des moyens de subsistance",
        "form_title_ar": "متابعة سبل العيش",
    }
    return write_form(path, survey, choices, settings)


def header(rows: Rows) -> list[str]:
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    return keys


def write_xls(path: Path, sheets: Mapping[str, Rows]) -> Path:
    """An .xls workbook (as ODK and older Kobo projects hand out), one sheet per entry."""
    book = xlwt.Workbook()
    for title, rows in sheets.items():
        sheet = book.add_sheet(title)
        keys = header(rows)
        for c, key in enumerate(keys):
            sheet.write(0, c, key)
        for r, row in enumerate(rows, start=1):
            for c, key in enumerate(keys):
                if row.get(key) is not None:
                    sheet.write(r, c, row[key])
    book.save(str(path))
    return path


def write_csv(path: Path, sheets: Mapping[str, Rows]) -> Path:
    """pyxform's XLSForm CSV: a sheet's name in the first column, its rows beside it."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        for title, rows in sheets.items():
            keys = header(rows)
            out.writerow([title, *keys])
            for row in rows:
                out.writerow(["", *(row.get(k, "") for k in keys)])
    return path
