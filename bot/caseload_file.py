"""Caseload files: the spreadsheet (XLSX or CSV) a country office exports from its
case-management system, checked row by row and turned into :class:`CaseRecord` values,
and the template workbook that shows its columns and allowed values.

One row per returnee and assistance item: a returnee with three items has three rows
that repeat the returnee's columns (or leave them empty after the first); a returnee with
none has one row with empty assistance columns. Values are codes or labels in any of the
programme's languages ("female", "Femme"); every error names its row (as the spreadsheet
numbers it) and its column.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.worksheet.datavalidation import DataValidation

from bot.programme import Attribute, Programme, Value, is_country
from bot.staff_words import N_
from storage.caseload import Assistance, AttributeValue, CaseRecord, Profile
from storage.scopes import Scope

CHANNELS = ("telegram", "whatsapp")
#: a case reference as organisations write them (letters, digits, - _ / . and spaces)
CASE_REF = re.compile(r"^[\w][\w\-/. ]{0,63}$")
PHONE = re.compile(r"^\+?[0-9]{8,15}$")
YES = {"yes", "y", "true", "1", "oui", "o", "نعم"}
NO = {"no", "n", "false", "0", "non", "لا"}
ASSISTANCE_COLUMNS = (
    "assistance_type",
    "assistance_level",
    "assistance_status",
    "assistance_start",
    "assistance_end",
    "assistance_value",
    "assistance_currency",
)
#: the returnee's columns before the profile attributes (* : required)
RETURNEE_COLUMNS = (
    "case_ref",
    "first_name",
    "return_date",
    "country",
    "language",
    "channel",
    "phone",
    "contact_whatsapp",
    "office",
    "caseworker",
)
REQUIRED = ("case_ref", "return_date", "country", "language")
AGE_COLUMNS = ("birth_year", "age_at_return")


class CaseloadFileError(ValueError):
    """A file that cannot be read as a caseload at all (not a row's error)."""


@dataclass(frozen=True)
class RowError:
    """A row's error: ``msgid`` (English, a catalogue entry) with its ``values``."""

    row: int
    column: str
    msgid: str
    values: Mapping[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        """In English (the command line)."""
        return self.msgid.format(**self.values)

    def text(self, gettext: Callable[[str], str]) -> str:
        """In the language of ``gettext`` (the console)."""
        return gettext(self.msgid).format(**self.values)

    def __str__(self) -> str:
        return f"row {self.row}, {self.column}: {self.message}"


@dataclass
class CheckedCaseload:
    records: list[CaseRecord] = field(default_factory=list)
    #: case reference -> the channel the file names for the invitation
    channels: dict[str, str | None] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    #: columns of the file that are not caseload columns (ignored)
    ignored_columns: list[str] = field(default_factory=list)
    #: rows of returnees with an error (spreadsheet row numbers), and the header
    bad_rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: int = 0
    #: case reference -> the row its returnee starts on, and each row as read
    row_of: dict[str, int] = field(default_factory=dict)
    raw_rows: dict[int, dict[str, str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def columns(programme: Programme) -> list[str]:
    """Every column a caseload file may have, in the template's order."""
    attributes: list[str] = []
    for attribute in programme.attributes:
        attributes += list(AGE_COLUMNS) if attribute.kind == "age_band" else [attribute.id]
    return [*RETURNEE_COLUMNS, *attributes, *ASSISTANCE_COLUMNS]


def _key(text: str) -> str:
    """A header or value as compared: case, accents, spaces and dashes ignored."""
    folded = unicodedata.normalize("NFKD", text.strip().casefold())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return re.sub(r"[\s\-]+", "_", folded)


def _choices(values: Iterable[Value]) -> dict[str, str]:
    """Every spelling of each value (its code, its labels) -> its code."""
    out: dict[str, str] = {}
    for value in values:
        out[_key(value.id)] = value.id
        for label in value.label.values():
            out.setdefault(_key(label), value.id)
    return out


# -- reading -----------------------------------------------------------------------------


def read_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, list[Any]]]]:
    """The header and the rows (with their spreadsheet numbers) of an XLSX or CSV file."""
    suffix = path.suffix.casefold()
    if suffix == ".xlsx":
        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a file that is not XLSX
            raise CaseloadFileError(f"{path.name} cannot be read as an XLSX workbook") from exc
        sheet = book["caseload"] if "caseload" in book.sheetnames else book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise CaseloadFileError(f"{path.name}: the sheet is empty")
        return [str(h or "") for h in header], (
            (number, list(row)) for number, row in enumerate(rows, start=2)
        )
    if suffix == ".csv":
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CaseloadFileError(f"{path.name} is not UTF-8 text: save it as CSV UTF-8") from exc
        return _csv_rows(text, path.name)
    raise CaseloadFileError(f"{path.name}: a caseload is an .xlsx or .csv file")


def _csv_rows(text: str, name: str) -> tuple[list[str], Iterator[tuple[int, list[Any]]]]:
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        raise CaseloadFileError(f"{name}: the file is empty")
    return header, ((number, list(row)) for number, row in enumerate(reader, start=2))


class Checker:
    """Checks a caseload's rows against the programme and the survey's languages."""

    def __init__(self, programme: Programme, languages: Sequence[str], today: date) -> None:
        self.programme, self.languages, self.today = programme, list(languages), today
        self.known = set(columns(programme))
        self.attribute_choices = {
            a.id: _choices(a.values) for a in programme.attributes if a.values
        }
        assistance = programme.assistance
        self.types = _choices(assistance.types)
        self.levels = _choices(assistance.levels)
        self.statuses = _choices(assistance.statuses)

    def check(
        self, header: Sequence[str], rows: Iterable[tuple[int, Sequence[Any]]]
    ) -> CheckedCaseload:
        out = CheckedCaseload(header=[str(h) for h in header])
        names = [_key(str(h)) for h in header]
        out.ignored_columns = [
            h for h, n in zip(header, names, strict=True) if h and n not in self.known
        ]
        missing = [c for c in REQUIRED if c not in names]
        if missing:
            out.errors.append(RowError(1, ", ".join(missing), N_("required column missing")))
            return out
        grouped: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        spelled: dict[str, str] = {}
        raw_rows: dict[int, dict[str, str]] = {}
        for number, cells in rows:
            values = {
                name: cell
                for name, cell in zip(names, cells, strict=False)
                if name in self.known and not _empty(cell)
            }
            if not values:
                continue  # (blank rows between groups)
            out.rows += 1
            raw_rows[number] = {str(h): _text(c) for h, c in zip(header, cells, strict=False) if h}
            case_ref = _text(values.get("case_ref", ""))
            if not case_ref:
                out.errors.append(RowError(number, "case_ref", N_("a case reference is required")))
                out.bad_rows.append((number, raw_rows[number]))
                continue
            normal = " ".join(case_ref.split()).casefold()
            spelled.setdefault(normal, case_ref)
            grouped.setdefault(normal, []).append((number, values))
        for normal, group in grouped.items():
            errors: list[RowError] = []
            record, channel = self._record(spelled[normal], group, errors)
            if errors or record is None:
                out.errors += errors
                out.bad_rows += [(n, raw_rows[n]) for n, _ in group]
                continue
            out.records.append(record)
            out.channels[record.case_ref] = channel
            out.row_of[record.case_ref] = group[0][0]
        out.errors.sort(key=lambda e: (e.row, e.column))
        out.bad_rows.sort(key=lambda r: r[0])
        out.raw_rows = raw_rows
        return out

    def _record(
        self, case_ref: str, group: list[tuple[int, dict[str, Any]]], errors: list[RowError]
    ) -> tuple[CaseRecord | None, str | None]:
        first_row = group[0][0]
        if not CASE_REF.match(case_ref):
            errors.append(
                RowError(first_row, "case_ref", N_("letters, digits, - _ / . only, 64 at most"))
            )
        merged: dict[str, tuple[int, Any]] = {}
        for number, values in group:
            for name, value in values.items():
                if name in ASSISTANCE_COLUMNS:
                    continue
                if name in merged and _text(merged[name][1]) != _text(value):
                    errors.append(
                        RowError(
                            number,
                            name,
                            N_(
                                "differs from row {row} for the same case reference ({value} there)"
                            ),
                            {"row": merged[name][0], "value": repr(_text(merged[name][1]))},
                        )
                    )
                merged.setdefault(name, (number, value))

        def get(name: str) -> tuple[int, Any]:
            return merged.get(name, (first_row, None))

        return_date = self._date(*get("return_date"), "return_date", errors, required=True)
        if return_date is not None and return_date > self.today:
            errors.append(RowError(get("return_date")[0], "return_date", N_("is in the future")))
        row, country = get("country")
        country_code = _text(country).upper()
        if not country_code:
            errors.append(RowError(row, "country", N_("a country is required")))
        elif not is_country(country_code):
            errors.append(
                RowError(
                    row,
                    "country",
                    N_("{value} is not an ISO 3166 country code (two letters, e.g. GN)"),
                    {"value": repr(_text(country))},
                )
            )
        row, language = get("language")
        language_code = _text(language).casefold()
        if not language_code:
            errors.append(RowError(row, "language", N_("a language is required")))
        elif language_code not in self.languages:
            errors.append(
                RowError(
                    row,
                    "language",
                    N_("{value}: the survey is in {languages}"),
                    {"value": repr(_text(language)), "languages": ", ".join(self.languages)},
                )
            )
        row, channel = get("channel")
        channel_code = _text(channel).casefold() or None
        if channel_code is not None and channel_code not in CHANNELS:
            errors.append(
                RowError(
                    row,
                    "channel",
                    N_("{value}: telegram or whatsapp"),
                    {"value": repr(_text(channel))},
                )
            )
        row, phone = get("phone")
        phone_text = re.sub(r"[\s().\-]", "", _text(phone))
        if phone_text.startswith("00"):
            phone_text = "+" + phone_text[2:]
        if phone_text and not PHONE.match(phone_text):
            errors.append(
                RowError(row, "phone", N_("an international number, e.g. +224 620 00 00 00"))
            )
        contact = self._yes_no(*get("contact_whatsapp"), "contact_whatsapp", errors)
        if contact and not phone_text:
            errors.append(
                RowError(get("contact_whatsapp")[0], "contact_whatsapp", N_("needs a phone number"))
            )
        plain: dict[str, AttributeValue] = {}
        sealed: dict[str, AttributeValue] = {}
        for attribute in self.programme.attributes:
            value = self._attribute(attribute, get, return_date, errors)
            if value is not None:
                (sealed if attribute.sealed else plain)[attribute.id] = value
        assistance = self.assistance(group, errors)
        if errors:
            return None, None
        profile = Profile(
            attributes=plain,
            sealed=sealed,
            first_name=_text(get("first_name")[1]) or None,
            phone=phone_text.lstrip("+") or None,
            contact_whatsapp=bool(contact),
            office=_text(get("office")[1])[:64] or None,
            caseworker=_text(get("caseworker")[1])[:80] or None,
        )
        record = CaseRecord(
            case_ref=case_ref,
            return_date=return_date,
            country=country_code,
            language=language_code,
            profile=profile,
            assistance=tuple(assistance),
        )
        return record, channel_code

    def _attribute(
        self,
        attribute: Attribute,
        get: Any,
        return_date: date | None,
        errors: list[RowError],
    ) -> AttributeValue | None:
        if attribute.kind == "age_band":
            return self._age_band(attribute, get, return_date, errors)
        row, value = get(attribute.id)
        text = _text(value)
        if not text:
            return None
        if attribute.kind == "country":
            code = text.upper()
            if not is_country(code):
                errors.append(
                    RowError(
                        row,
                        attribute.id,
                        N_("{value} is not an ISO 3166 country code (two letters, e.g. GN)"),
                        {"value": repr(text)},
                    )
                )
            return code
        choices = self.attribute_choices[attribute.id]
        parts = [p for p in re.split(r"[;,]", text) if p.strip()]
        if attribute.kind == "choice" and len(parts) > 1:
            errors.append(RowError(row, attribute.id, N_("one value only")))
        codes: list[str] = []
        for part in parts:
            found = choices.get(_key(part))
            if found is None:
                errors.append(
                    RowError(
                        row,
                        attribute.id,
                        N_("{value} is not one of {allowed}"),
                        {"value": repr(part.strip()), "allowed": ", ".join(attribute.allowed())},
                    )
                )
            elif found not in codes:
                codes.append(found)
        if attribute.kind == "choice":
            return codes[0] if codes else None
        return tuple(sorted(codes))

    def _age_band(
        self, attribute: Attribute, get: Any, return_date: date | None, errors: list[RowError]
    ) -> str | None:
        row, birth_year = get("birth_year")
        age_row, age = get("age_at_return")
        if not _empty(birth_year):
            year = _integer(birth_year)
            if year is None or not 1900 <= year <= self.today.year:
                errors.append(RowError(row, "birth_year", N_("a year, e.g. 1994")))
                return None
            reference = return_date or self.today
            return attribute.band_of(reference.year - year)
        if not _empty(age):
            years = _integer(age)
            if years is None or not 0 <= years <= 120:
                errors.append(RowError(age_row, "age_at_return", N_("an age in years, e.g. 31")))
                return None
            return attribute.band_of(years)
        return None

    def assistance(
        self, group: list[tuple[int, dict[str, Any]]], errors: list[RowError]
    ) -> list[Assistance]:
        items: list[Assistance] = []
        seen: dict[tuple[str, date | None, str], int] = {}
        for number, values in group:
            given = {c: values[c] for c in ASSISTANCE_COLUMNS if c in values}
            if not given:
                continue
            before = len(errors)
            type_code = self._pick(self.types, number, "assistance_type", given, errors, True)
            level = self._pick(self.levels, number, "assistance_level", given, errors, False)
            status = self._pick(self.statuses, number, "assistance_status", given, errors, False)
            start = self._date(number, given.get("assistance_start"), "assistance_start", errors)
            end = self._date(number, given.get("assistance_end"), "assistance_end", errors)
            if start and end and end < start:
                errors.append(RowError(number, "assistance_end", N_("is before assistance_start")))
            value = None
            if "assistance_value" in given:
                try:
                    amount = Decimal(_text(given["assistance_value"]).replace(" ", ""))
                    if amount < 0 or not amount.is_finite():
                        raise InvalidOperation
                    value = str(amount)
                except InvalidOperation:
                    errors.append(RowError(number, "assistance_value", N_("an amount, e.g. 1500")))
            currency = _text(given.get("assistance_currency", "")).upper() or None
            if currency is not None and not re.fullmatch(r"[A-Z]{3}", currency):
                errors.append(
                    RowError(number, "assistance_currency", N_("an ISO 4217 code, e.g. EUR, GNF"))
                )
            if value is not None and currency is None:
                errors.append(RowError(number, "assistance_currency", N_("the value's currency")))
            if len(errors) > before or type_code is None:
                continue
            level = level or "individual"
            key = (type_code, start, level)
            if key in seen:
                errors.append(
                    RowError(
                        number,
                        "assistance_type",
                        N_("the same item as row {row} (type, level and start date)"),
                        {"row": seen[key]},
                    )
                )
                continue
            seen[key] = number
            items.append(
                Assistance(type_code, level, status or "delivered", start, end, value, currency)
            )
        return items

    @staticmethod
    def _pick(
        choices: Mapping[str, str],
        row: int,
        column: str,
        given: Mapping[str, Any],
        errors: list[RowError],
        required: bool,
    ) -> str | None:
        text = _text(given.get(column, ""))
        if not text:
            if required:
                errors.append(RowError(row, column, N_("required when the row lists assistance")))
            return None
        code = choices.get(_key(text))
        if code is None:
            allowed = ", ".join(sorted(set(choices.values())))
            errors.append(
                RowError(
                    row,
                    column,
                    N_("{value} is not one of {allowed}"),
                    {"value": repr(text), "allowed": allowed},
                )
            )
        return code

    @staticmethod
    def _date(
        row: int, value: Any, column: str, errors: list[RowError], *, required: bool = False
    ) -> date | None:
        if _empty(value):
            if required:
                errors.append(RowError(row, column, N_("a date is required")))
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        text = _text(value)
        for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y"):
            try:
                return datetime.strptime(text, pattern).date()
            except ValueError:
                continue
        errors.append(
            RowError(
                row,
                column,
                N_("{value} is not a date (YYYY-MM-DD or DD/MM/YYYY)"),
                {"value": repr(text)},
            )
        )
        return None

    @staticmethod
    def _yes_no(row: int, value: Any, column: str, errors: list[RowError]) -> bool | None:
        if _empty(value):
            return None
        if isinstance(value, bool):
            return value
        text = _key(_text(value))
        if text in YES:
            return True
        if text in NO:
            return False
        errors.append(
            RowError(row, column, N_("{value}: yes or no"), {"value": repr(_text(value))})
        )
        return None


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value).strip()


def _integer(value: Any) -> int | None:
    text = _text(value)
    return int(text) if text.isdigit() else None


def check_file(
    path: Path, programme: Programme, languages: Sequence[str], today: date
) -> CheckedCaseload:
    """Read and check a caseload file (:class:`CaseloadFileError` if it is not one)."""
    header, rows = read_rows(path)
    return Checker(programme, languages, today).check(header, rows)


def limit_to_scope(checked: CheckedCaseload, scope: Scope, out_of_scope: set[str]) -> None:
    """Refuse, as errors at their rows, the returnees an importer may not see: a row of
    another country, office or caseworker than their scope allows, or a case reference
    enrolled already outside it (``out_of_scope``)."""
    if scope.is_everyone:
        return
    column = {"countries": "country", "offices": "office", "caseload": "caseworker"}[scope.kind]
    rows = {number: values for number, values in checked.bad_rows}
    kept = []
    for record in checked.records:
        profile = record.profile
        number = checked.row_of.get(record.case_ref, 0)
        if record.case_ref in out_of_scope:
            checked.errors.append(
                RowError(number, "case_ref", N_("enrolled already outside what you may see"))
            )
        elif not scope.admits(record.country, profile.office, profile.caseworker):
            checked.errors.append(RowError(number, column, N_("outside what you may see")))
        else:
            kept.append(record)
            continue
        rows[number] = checked.raw_rows.get(number, {})
    checked.records = kept
    checked.bad_rows = sorted(rows.items())
    checked.errors.sort(key=lambda e: (e.row, e.column))


def write_rejected(checked: CheckedCaseload, path: Path) -> None:
    """The rows that were not imported, as CSV with an ``errors`` column, to fix and
    import again."""
    by_row: dict[int, list[str]] = {}
    for error in checked.errors:
        by_row.setdefault(error.row, []).append(f"{error.column}: {error.message}")
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["row", "errors", *checked.header])
        for number, values in checked.bad_rows:
            writer.writerow(
                [
                    number,
                    "; ".join(by_row.get(number, ["another row of this case"])),
                    *(values.get(h, "") for h in checked.header),
                ]
            )


# -- the template ------------------------------------------------------------------------


def write_template(path: Path, programme: Programme, languages: Sequence[str]) -> None:
    """A workbook with the caseload's columns, an example returnee (two assistance items)
    and a sheet that says what each column takes."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "caseload"
    names = columns(programme)
    sheet.append(names)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    example = _example(programme, languages)
    for item in example:
        sheet.append([item.get(n, "") for n in names])
    for index, name in enumerate(names, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = max(12, len(name) + 2)
        allowed = _allowed_codes(programme, name, languages)
        if allowed and len(",".join(allowed)) < 250:
            validation = DataValidation(
                type="list", formula1=f'"{",".join(allowed)}"', allow_blank=True
            )
            validation.add(f"{letter}2:{letter}10000")
            sheet.add_data_validation(validation)
    sheet.freeze_panes = "B2"
    guide = book.create_sheet("columns")
    guide.append(["column", "required", "what it takes"])
    for cell in guide[1]:
        cell.font = Font(bold=True)
    for name in names:
        guide.append(
            [name, "yes" if name in REQUIRED else "", _describe(programme, name, languages)]
        )
    guide.column_dimensions["A"].width = 22
    guide.column_dimensions["C"].width = 100
    book.save(path)


def _allowed_codes(programme: Programme, name: str, languages: Sequence[str]) -> list[str]:
    attribute = programme.attribute(name)
    if attribute is not None and attribute.kind == "choice":
        return attribute.allowed()
    lists = {
        "language": list(languages),
        "channel": list(CHANNELS),
        "contact_whatsapp": ["yes", "no"],
        "assistance_type": [t.id for t in programme.assistance.types],
        "assistance_level": [v.id for v in programme.assistance.levels],
        "assistance_status": [v.id for v in programme.assistance.statuses],
    }
    return lists.get(name, [])


def _describe(programme: Programme, name: str, languages: Sequence[str]) -> str:
    fixed = {
        "case_ref": "the case reference in your case-management system; a returnee's rows "
        "share it, and a later import updates the returnee it names",
        "first_name": "optional: printed on the invitation sheet only (stored encrypted)",
        "return_date": "the date of return, YYYY-MM-DD or DD/MM/YYYY",
        "country": "the country of return, ISO 3166 code (GN, ML, SN...)",
        "language": "the survey's language: " + ", ".join(languages),
        "channel": "where to invite them: telegram or whatsapp",
        "phone": "optional, international form (+224...): used only to send the invitation "
        "and reminders on WhatsApp, never shown to staff (stored encrypted)",
        "contact_whatsapp": "yes if the returnee agreed to be contacted on WhatsApp at that number",
        "office": "the office that follows the returnee (groups the invitation sheet)",
        "caseworker": "the caseworker who follows the returnee",
        "birth_year": "year of birth: only the age band at return is kept",
        "age_at_return": "age at return in years (instead of birth_year): only the band is kept",
        "assistance_type": "one item of assistance per row: "
        + ", ".join(t.id for t in programme.assistance.types),
        "assistance_level": "individual, community or collective (default individual)",
        "assistance_status": "planned, delivered or cancelled (default delivered)",
        "assistance_start": "when the assistance started (a date)",
        "assistance_end": "when it ended (a date, optional)",
        "assistance_value": "its value, a number (optional)",
        "assistance_currency": "the value's currency, ISO 4217 (EUR, GNF, XOF...)",
    }
    if name in fixed:
        return fixed[name]
    attribute = programme.attribute(name)
    if attribute is None:
        return ""
    how = "stored encrypted (special category)" if attribute.sealed else "stored as a category"
    if attribute.kind == "country":
        return f"{attribute.text('en')}: ISO 3166 code; {how}"
    many = "; several separated by ;" if attribute.kind == "choices" else ""
    return f"{attribute.text('en')}: {', '.join(attribute.allowed())}{many}; {how}"


def _example(programme: Programme, languages: Sequence[str]) -> list[dict[str, Any]]:
    base: dict[str, Any] = {
        "case_ref": "GN-2026-0001",
        "first_name": "Aminata",
        "return_date": "2026-03-14",
        "country": "GN",
        "language": languages[0] if languages else "en",
        "channel": "whatsapp",
        "phone": "+224620000000",
        "contact_whatsapp": "yes",
        "office": "Conakry",
        "caseworker": "M. Camara",
        "birth_year": 1994,
    }
    for attribute in programme.attributes:
        if attribute.kind in ("choice", "choices") and attribute.values:
            base[attribute.id] = attribute.values[0].id
        elif attribute.kind == "country":
            base[attribute.id] = "LY"
    types = programme.assistance.types
    first = {
        **base,
        "assistance_type": types[0].id,
        "assistance_level": "individual",
        "assistance_status": "delivered",
        "assistance_start": "2026-04-01",
        "assistance_value": 1500,
        "assistance_currency": "EUR",
    }
    second = {
        "case_ref": base["case_ref"],
        "assistance_type": types[-1].id,
        "assistance_level": "individual",
        "assistance_status": "planned",
    }
    return [first, second]
