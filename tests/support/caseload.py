"""Realistic caseload files written for the tests and the import benchmark: several
countries and offices, every profile attribute, assistance of every type, level and
status, French and Arabic names; and ways to break rows of them."""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from bot.caseload_file import columns
from bot.programme import Programme

COUNTRIES = {
    "GN": ("Conakry", "Kankan"),
    "ML": ("Bamako", "Kayes"),
    "SN": ("Dakar",),
    "MA": ("Rabat", "Oujda"),
    "IQ": ("Erbil",),
}
FIRST_NAMES = {
    "fr": ("Aminata", "Mamadou", "Fatoumata", "Ibrahima", "Mariam", "Ousmane", "Kadiatou"),
    "ar": ("محمد", "فاطمة", "أحمد", "خديجة", "يوسف", "مريم", "عمر"),
    "en": ("Grace", "Samuel", "Blessing", "Daniel", "Joy"),
}
LANGUAGE_OF = {"GN": "fr", "ML": "fr", "SN": "fr", "MA": "ar", "IQ": "ar"}
FROM = ("LY", "DZ", "NE", "TR", "DE", "FR", "IT")
#: a canary in a special category: a test scans database dumps for it
CANARY_CATEGORY = "victim_of_trafficking"


@dataclass
class Caseload:
    header: list[str]
    rows: list[dict[str, Any]]

    @property
    def returnees(self) -> int:
        return len({r["case_ref"] for r in self.rows})

    def write(self, path: Path) -> Path:
        if path.suffix == ".csv":
            with path.open("w", encoding="utf-8", newline="") as out:
                writer = csv.writer(out)
                writer.writerow(self.header)
                for row in self.rows:
                    writer.writerow([row.get(h, "") for h in self.header])
            return path
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "caseload"
        sheet.append(self.header)
        for row in self.rows:
            sheet.append([row.get(h, "") for h in self.header])
        book.save(path)
        return path


def make_caseload(
    programme: Programme, rows: int, *, seed: int = 7, prefix: str = "CASE", today: date
) -> Caseload:
    """About ``rows`` rows: returnees with 0 to 3 assistance items each."""
    rng = random.Random(seed)
    header = columns(programme)
    header.remove("age_at_return")
    out: list[dict[str, Any]] = []
    number = 0
    types = [t.id for t in programme.assistance.types]
    levels = [v.id for v in programme.assistance.levels]
    statuses = [v.id for v in programme.assistance.statuses]
    while len(out) < rows:
        number += 1
        country = rng.choice(sorted(COUNTRIES))
        language = LANGUAGE_OF[country] if rng.random() < 0.85 else "en"
        returned = today - timedelta(days=rng.randint(10, 540))
        has_phone = rng.random() < 0.6
        base: dict[str, Any] = {
            "case_ref": f"{prefix}-{country}-{number:06d}",
            "first_name": rng.choice(FIRST_NAMES[language]),
            "return_date": returned.isoformat(),
            "country": country,
            "language": language,
            "channel": "whatsapp" if has_phone else "telegram",
            "phone": f"+{rng.randint(200, 299)}6{rng.randint(10**7, 10**8 - 1)}"
            if has_phone
            else "",
            "contact_whatsapp": "yes" if has_phone and rng.random() < 0.7 else "no",
            "office": rng.choice(COUNTRIES[country]),
            "caseworker": f"caseworker {rng.randint(1, 12)}",
            "birth_year": rng.randint(1960, 2010),
        }
        for attribute in programme.attributes:
            if attribute.kind == "choice":
                base[attribute.id] = rng.choice(attribute.values).id
            elif attribute.kind == "choices":
                picked = rng.sample(attribute.values, rng.randint(0, 2))
                base[attribute.id] = ";".join(v.id for v in picked)
            elif attribute.kind == "country":
                base[attribute.id] = rng.choice(FROM)
        items = rng.randint(0, 3)
        if items == 0:
            out.append(base)
            continue
        chosen = rng.sample(types, items)
        for index, type_id in enumerate(chosen):
            start = returned + timedelta(days=rng.randint(5, 90))
            row = dict(base) if index == 0 else {"case_ref": base["case_ref"]}
            row.update(
                {
                    "assistance_type": type_id,
                    "assistance_level": rng.choice(levels),
                    "assistance_status": rng.choice(statuses),
                    "assistance_start": start.isoformat(),
                    "assistance_end": (start + timedelta(days=rng.randint(0, 60))).isoformat()
                    if rng.random() < 0.5
                    else "",
                }
            )
            if type_id in ("micro_business_grant", "cash", "in_kind_support"):
                row["assistance_value"] = rng.choice((300, 750, 1500, 2000))
                row["assistance_currency"] = "EUR"
            out.append(row)
    return Caseload(header, out)


#: (column, bad value, words the error message has): each breaks one row
BREAKAGES: Sequence[tuple[str, str, str]] = (
    ("return_date", "31/02/2026", "not a date"),
    ("return_date", "2099-01-01", "future"),
    ("country", "Guinea", "ISO 3166"),
    ("country", "XX", "ISO 3166"),
    ("language", "sw", "the survey is in"),
    ("channel", "signal", "telegram or whatsapp"),
    ("phone", "12-34", "international number"),
    ("contact_whatsapp", "maybe", "yes or no"),
    ("sex", "unknown", "is not one of"),
    ("migrant_category", "tourist", "is not one of"),
    ("vulnerabilities", "disability;tall", "is not one of"),
    ("birth_year", "1850", "a year"),
    ("returned_from", "Libya", "ISO 3166"),
    ("assistance_type", "spaceship", "is not one of"),
    ("assistance_level", "global", "is not one of"),
    ("assistance_status", "maybe", "is not one of"),
    ("assistance_start", "soon", "not a date"),
    ("assistance_value", "a lot", "an amount"),
    ("assistance_currency", "euros", "ISO 4217"),
    ("case_ref", "", "case reference is required"),
)


def broken(caseload: Caseload, *, seed: int = 11) -> tuple[Caseload, list[tuple[int, str, str]]]:
    """A copy with one row broken per :data:`BREAKAGES` entry (each in a different
    returnee's first row); returns it and the (spreadsheet row, column, words) expected."""
    rng = random.Random(seed)
    rows = [dict(r) for r in caseload.rows]
    firsts = [i for i, r in enumerate(rows) if "country" in r and "assistance_type" in r]
    expected = []
    used: set[str] = set()
    for column, value, words in BREAKAGES:
        while True:
            index = rng.choice(firsts)
            if rows[index]["case_ref"] not in used:
                break
        used.add(rows[index]["case_ref"])
        if column == "assistance_value":
            rows[index]["assistance_currency"] = "EUR"
        rows[index][column] = value
        expected.append((index + 2, column, words))
    return Caseload(caseload.header, rows), expected
