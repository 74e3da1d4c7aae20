"""XLSForms (KoboToolbox, ODK, SurveyCTO, Ona) read as flow definitions, and flow
definitions written as XLSForms.

Reading: pyxform (the ODK reference implementation) reads and validates the workbook;
this module maps the validated form onto a :class:`~flows.model.FlowDefinition` and
refuses, with the sheet, row and column, whatever a chat survey cannot ask faithfully.

The subset read:

- ``survey`` sheet types ``select_one``, ``select_multiple``, ``text``, ``integer``,
  ``decimal``, ``date``, ``note``, ``begin_group``/``end_group`` (a group with a label is
  a section; a group's ``relevant`` applies to everything in it); the metadata types
  (``start``, ``end``, ``today``, ``deviceid``...) are ignored, as a chat has no device
  to read them from;
- ``label``, ``hint`` and ``constraint_message`` per language (``label::English (en)``,
  ``label::fr``, ``label::French``; a plain ``label`` is in the default language);
- ``required`` (yes/true/true()), ``relevant`` and ``constraint`` in the expression subset
  of :mod:`flows.expressions`: numeric constraints on ``integer`` and ``decimal``,
  ``string-length(.) <= N`` on ``text``, ``count-selected(.) >= N`` on
  ``select_multiple``;
- extension columns: ``allow_dont_know`` (survey: offer "don't know"), ``exclusive``
  (choices: choosing it clears the other choices), ``form_title_<code>`` (settings: the
  title in another language).

``select_one`` whose choices are ``yes``/``no`` (and optionally ``not_applicable``) becomes
a yes/no question; ``relevant`` expressions of the shapes ``selected(${q}, 'a') or ...``
and ``${q} != '' and not(selected(${q}, 'a') or ...)`` become the definition's
``show_if`` (any_of, none_of), which is what writing a ``show_if`` produces, so that
definition -> XLSForm -> definition gives the same definition.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any
from zipfile import BadZipFile

import openpyxl
import xlrd
from babel import Locale, UnknownLocaleError, localedata
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from pyxform import aliases
from pyxform.errors import PyXFormError
from pyxform.xls2json import workbook_to_json
from pyxform.xls2json_backends import get_xlsform
from pyxform.xls2xform import convert

from flows import audio, expressions
from flows.loader import (
    FlowDefinitionError,
    at_character,
    clip_problems,
    media_folders,
    parse_definition,
)
from flows.model import (
    SPEC_VERSION,
    Calculate,
    FlowDefinition,
    FreeText,
    MultiSelect,
    NotAsked,
    Note,
    Option,
    Question,
    ShowIf,
    options_of,
)

#: XLSForm type -> flow question type (``select one`` is refined into yes_no)
_TYPES = {
    "select one": "single_choice",
    "select all that apply": "multi_select",
    "text": "free_text",
    "integer": "integer",
    "decimal": "decimal",
    "date": "date",
    "time": "time",
    "acknowledge": "acknowledge",
    "note": "note",
    "calculate": "calculate",
    "range": "range",
    "hidden": "calculate",  # (a value the form carries: its default)
}
#: the select types pyxform's tree names
_SELECTS = ("select one", "select all that apply")
#: a range's parameters (pyxform's defaults: 1 to 10 by 1)
_RANGE = ("start", "end", "step")
#: the row that closes a group or a repeat (``end_group``, ``end group``...)
_END_ROW = re.compile(r"\s*end[ _](group|repeat)\s*$", re.IGNORECASE)
#: metadata a form collects from the device; a chat has none of it
_META = {
    "start",
    "end",
    "today",
    "deviceid",
    "phonenumber",
    "username",
    "email",
    "simserial",
    "subscriberid",
    "audit",
    "start-geopoint",
}
#: bind columns a question may have
_BINDS = {
    "required", "relevant", "constraint", "jr:constraintMsg", "jr:requiredMsg", "calculate"
}  # fmt: skip
_DEFAULT_MAX_LENGTH = FreeText.model_fields["max_length"].default
_DEFAULT_MIN_CHOICES = MultiSelect.model_fields["min_choices"].default
_CODE = re.compile(r"\(([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)*)\)\s*$")
_PYXFORM_ROW = re.compile(r"\[row : (\d+)\]\s*")
_PYXFORM_SHEET = re.compile(r"On the '(\w+)' sheet")
_PYXFORM_COLUMN = re.compile(r"the '([\w:]+)' value")
#: pyxform messages that do not name their column -> the column they are about
_PYXFORM_COLUMNS = ((("no name",), "name"), (("nmatched", "List name not in choices"), "type"))


class XLSFormError(FlowDefinitionError):
    """An XLSForm that cannot run as a chat survey: where (sheet, row, column) and what."""

    def __init__(
        self,
        source: str,
        message: str,
        *,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.sheet, self.row, self.column = sheet, row, column
        where = [f"sheet '{sheet}'"] if sheet else []
        if row is not None:
            where.append(f"row {row}")
        if column:
            where.append(f"column {column}")
        super().__init__(", ".join([source, *where]), message)


class XLSFormProblems(XLSFormError):
    """Every problem that stops a form, listed at once; where the first one is (``sheet``,
    ``row``, ``column``) as for a single problem."""

    def __init__(self, problems: list[XLSFormError]) -> None:
        first = problems[0]
        self.problems = problems
        super().__init__(
            first.source.split(",")[0], first.problem, sheet=first.sheet, row=first.row,
            column=first.column,
        )  # fmt: skip
        if len(problems) > 1:
            lines = [f"{len(problems)} problems:", *(f"  {p}" for p in problems)]
            self.args = ("\n".join(lines),)

    def __str__(self) -> str:
        return str(self.args[0])


# -- reading ------------------------------------------------------------------------


def _canonical_column(header: str) -> str:
    """The column a header means, without its language (``bind::relevant``,
    ``relevance``, ``relevant`` -> ``relevant``; ``label::French (fr)`` -> ``label``)."""
    base = header.split("::", 1)[0].strip()
    if base == "bind" and "::" in header:
        base = header.split("::", 2)[1]
    meant = aliases.survey_header.get(base, base)
    return meant[1] if isinstance(meant, tuple) else str(meant)


@dataclass
class _Sheet:
    """One sheet's rows as pyxform read them (row n of the sheet is ``rows[n - 2]``) and
    the letter of each column header."""

    name: str
    rows: list[dict[str, Any]]
    letters: dict[str, str] = field(default_factory=dict)

    def column(self, row: int | None, canonical: str, language: str | None = None) -> str:
        """The column (``G (relevant)``) holding ``canonical`` (in ``language``) in a row,
        or in the sheet's header when the row does not have it."""
        row_keys = list(self.rows[row - 2]) if row is not None and row >= 2 else []
        for header in [*row_keys, *self.letters]:
            base = _canonical_column(header)
            media = base == "media" and header.split("::")[1:2] == [canonical]  # media::image
            if base != canonical and not media:
                continue
            named = header.split("::", 1)[1].strip() if "::" in header else None
            if language is None or named == language or (named is None and language == ""):
                letter = self.letters.get(header)
                return f"{letter} ({header})" if letter else header
        return f"{canonical}::{language}" if language else canonical


@dataclass
class _Form:
    source: str
    survey: _Sheet
    choices: _Sheet
    settings: _Sheet
    #: language name in the form ("English (en)", "default") -> language code
    codes: dict[str, str]
    #: the survey rows of each name, in order
    rows_by_name: dict[str, list[int]]

    def fail(
        self,
        message: str,
        sheet: _Sheet | None = None,
        row: int | None = None,
        column: str | None = None,
        language: str | None = None,
    ) -> XLSFormError:
        sheet = sheet or self.survey
        where = sheet.column(row, column, language) if column else None
        return XLSFormError(self.source, message, sheet=sheet.name, row=row, column=where)


#: the workbooks pyxform reads, as its own readers read them
FORMATS = (".xlsx", ".xls", ".csv")


def _lettered(first: Sequence[Any], offset: int = 0) -> dict[str, str]:
    return {
        re.sub(r"\s+", " ", str(value).strip()): get_column_letter(i + 1 + offset)
        for i, value in enumerate(first)
        if value is not None and str(value).strip()
    }


def _header_letters(path: Path) -> dict[str, dict[str, str]]:
    """Each sheet's column headers and their letters, as the author sees them."""
    suffix = path.suffix.lower()
    if suffix == ".xls":
        book = xlrd.open_workbook(str(path), on_demand=True)
        try:
            return {
                sheet.name.lower(): _lettered(sheet.row_values(0) if sheet.nrows else [])
                for sheet in (book.sheet_by_index(i) for i in range(book.nsheets))
            }
        finally:
            book.release_resources()
    if suffix == ".csv":  # (a sheet's name in the first column, its header after it)
        letters: dict[str, dict[str, str]] = {}
        with path.open(newline="", encoding="utf-8-sig") as handle:
            current = None
            for row in csv.reader(handle):
                if row and row[0].strip():
                    current = row[0].strip().lower()
                    letters[current] = {}
                if current is not None and not letters[current] and any(c.strip() for c in row[1:]):
                    letters[current] = _lettered(row[1:], offset=1)
        return letters
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return {
            sheet.title.lower(): _lettered(
                next(sheet.iter_rows(min_row=1, max_row=1, values_only=True), ())
            )
            for sheet in book.worksheets
        }
    finally:
        book.close()


def _language_code(name: str) -> str | None:
    """``English (en)`` -> ``en``; ``fr`` -> ``fr``; ``French`` -> ``fr``."""
    if match := _CODE.search(name):
        return match.group(1).replace("_", "-")
    candidate = name.strip()
    try:
        Locale.parse(candidate.replace("-", "_"))
        return candidate
    except (ValueError, UnknownLocaleError):
        pass
    return _codes_by_english_name().get(candidate.casefold())


@cache
def _codes_by_english_name() -> dict[str, str]:
    """``french`` -> ``fr``, for every language Babel knows (CLDR)."""
    codes: dict[str, str] = {}
    for identifier in localedata.locale_identifiers():
        if "_" not in identifier:
            name = Locale.parse(identifier).english_name
            if name:
                codes.setdefault(name.casefold(), identifier)
    return codes


def kobo_language_name(code: str) -> str:
    """The column spelling Kobo writes for a language code: ``French (fr)``."""
    try:
        english = Locale.parse(code.replace("-", "_")).english_name or code
    except (ValueError, UnknownLocaleError):
        english = code
    return f"{english} ({code})"


#: the texts of an element that may be given per language
_TEXT_KEYS = ("label", "hint", "guidance_hint", "constraint_message")
_BIND_TEXTS = ("jr:constraintMsg", "jr:requiredMsg")


def _language_names(tree: dict[str, Any]) -> list[str]:
    """The language names of a form as pyxform read its columns (``English (en)``,
    ``english`` from ``label:english``, ``default`` for plain columns), in order of
    first use."""
    names: dict[str, None] = {}

    def texts(element: dict[str, Any]) -> None:
        values = [element.get(k) for k in _TEXT_KEYS]
        values += [(element.get("bind") or {}).get(k) for k in _BIND_TEXTS]
        for value in values:
            if isinstance(value, dict):
                names.update(dict.fromkeys(map(str, value)))
            elif value:
                names["default"] = None
        for child in [*(element.get("children") or []), *(element.get("choices") or [])]:
            if isinstance(child, dict):
                texts(child)

    texts(tree)
    return list(names)


def _languages(form: _Form, names: list[str], default: str) -> dict[str, str]:
    """Each language a form's columns name -> its code, the default language first.
    Plain columns (``label``, ``label::default``) are the default language's, or, where
    a named column already gives that language, what other languages fall back to (as
    in ODK)."""
    codes: dict[str, str] = {}
    for name in names:
        if name == "default":
            continue
        code = _language_code(name)
        header = next((h for h in form.survey.letters if h.split(":")[-1].strip() == name), None)
        column = form.survey.column(None, "label", name) if header is None else header
        column = f"{form.survey.letters.get(column, '')} ({column})".lstrip() if header else column
        if code is None:
            raise XLSFormError(
                form.source,
                f"cannot tell the language of '{name}': write its code in brackets, "
                f"e.g. 'label::{name} (xx)'",
                sheet="survey",
                row=1,
                column=column,
            )
        if code in codes.values():
            other = next(n for n, c in codes.items() if c == code)
            raise XLSFormError(
                form.source,
                f"'{name}' and '{other}' are both language '{code}': spell it one way in "
                "every column",
                sheet="survey",
                row=1,
                column=column,
            )
        codes[name] = code
    if "default" in names and default not in codes.values():
        codes["default"] = default
    if not codes:
        codes["default"] = default
    return dict(sorted(codes.items(), key=lambda item: item[1] != default))


def _pyxform_error(form: _Form, exc: PyXFormError) -> XLSFormError:
    """pyxform's own refusal, located: its messages carry ``[row : N]`` and often the
    sheet and column."""
    message = str(exc)
    row_match = _PYXFORM_ROW.search(message)
    row = int(row_match.group(1)) if row_match else None
    sheet_match = _PYXFORM_SHEET.search(message)
    sheet_name = sheet_match.group(1) if sheet_match else ("survey" if row else None)
    column_match = _PYXFORM_COLUMN.search(message)
    column = column_match.group(1) if column_match else None
    if column is None and row is not None:
        column = next(
            (c for words, c in _PYXFORM_COLUMNS if any(w in message for w in words)), None
        )
    text = _PYXFORM_ROW.sub("", message).strip()
    if sheet_name in ("survey", "choices", "settings"):
        sheet = getattr(form, sheet_name)
        where = sheet.column(row, column) if column else None
        return XLSFormError(form.source, text, sheet=sheet_name, row=row, column=where)
    return XLSFormError(form.source, text, sheet=sheet_name, row=row, column=column)


def _truthy(value: Any) -> bool | None:
    """yes/true/true() -> True, no/false/blank -> False, anything else (an expression)
    -> None."""
    if value is None or value == "":
        return False
    truth: bool | None = aliases.yes_no.get(str(value).strip())
    return truth


def _texts(form: _Form, value: Any, row: int, column: str, sheet: _Sheet) -> dict[str, str]:
    """A label (string or per-language dict) as text per language code; every language
    of the form is required."""
    by_name = value if isinstance(value, dict) else {"default": value}
    texts: dict[str, str] = {}
    for name, code in form.codes.items():
        text = by_name.get(name) or by_name.get("default")  # (ODK's fallback)
        if text:
            texts[code] = str(text)
    for name, code in form.codes.items():
        if code not in texts:
            raise form.fail(
                f"no {column.replace('jr:constraintMsg', 'constraint_message')} in "
                f"'{name}' (every language of the form needs one)",
                sheet,
                row,
                column,
                "" if name == "default" else name,
            )
    return texts


_PICKS = re.compile(r"^\s*selected\(\s*\$\{([^}]+)\}\s*,\s*'([^']*)'\s*\)\s*(?:or\s+|$)")
_NONE_OF = re.compile(r"^\s*\$\{([^}]+)\}\s*!=\s*''\s+and\s+not\((.*)\)\s*$", re.DOTALL)


def _any_of(text: str) -> tuple[str, list[str]] | None:
    """(question, options) when ``text`` is ``selected(${q}, 'a') or selected(${q}, 'b')``."""
    rest, names, options = text.strip(), set(), []
    while rest:
        pick = _PICKS.match(rest)
        if pick is None:
            return None
        names.add(pick.group(1).strip())
        options.append(pick.group(2))
        rest = rest[pick.end() :]
    return (names.pop(), options) if len(names) == 1 and options else None


def _show_if(relevant: str) -> ShowIf | None:
    """The ``show_if`` a relevant expression of one of the two canonical shapes says."""
    if (found := _any_of(relevant)) is not None:
        return ShowIf(question=found[0], any_of=found[1])
    shape = _NONE_OF.match(relevant)
    found = _any_of(shape.group(2)) if shape is not None else None
    if shape is not None and found is not None and found[0] == shape.group(1).strip():
        return ShowIf(question=found[0], none_of=found[1])
    return None


def _both(first: str | None, second: str | None) -> str | None:
    if first is None or second is None:
        return first or second
    return expressions.conjunction(first, second)


def _bounded_self(constraint: str, function: str, op: str) -> int | None:
    """N when ``constraint`` is exactly ``function(.) op N`` for a whole N."""
    shape = re.fullmatch(
        rf"\s*{re.escape(function)}\(\s*\.\s*\)\s*{re.escape(op)}\s*(\d+)(?:\.0*)?\s*", constraint
    )
    return int(shape.group(1)) if shape else None


class _Reader:
    def __init__(
        self, form: _Form, choice_rows: dict[tuple[str, str], int], media: list[Path]
    ) -> None:
        self.form = form
        self.choice_rows = choice_rows
        #: where the form's clips are looked for
        self.media = media
        self.questions: list[dict[str, Any]] = []
        self.sections: dict[str, dict[str, str]] = {}
        #: repeat id -> the repeat; the repeat being read
        self.repeats: dict[str, dict[str, Any]] = {}
        self.repeat: str | None = None
        #: the counts pyxform moved out of repeat_count (``${r_count}`` -> the count)
        self.counts: dict[str, str] = {}
        #: question (or repeat) id -> its survey row
        self.rows: dict[str, int] = {}
        #: what is read but has no use in a chat -> where
        self.ignored: dict[str, list[str]] = defaultdict(list)
        #: what stops the form, every element's
        self.problems: list[XLSFormError] = []

    def row_of(self, name: str) -> int:
        return (self.form.rows_by_name.get(name) or [0])[0]  # (names are unique)

    def walk(
        self, children: list[dict[str, Any]], section: str | None, relevant: str | None
    ) -> None:
        """Read every element; a problem with one is kept (:attr:`problems`) and the
        next is read, so the author sees every problem at once."""
        for element in children:
            bind = element.get("bind") or {}
            name = str(element.get("name", ""))
            if (
                element.get("type") == "calculate"
                and name.endswith("_count")
                and bind.get("readonly") == "true()"
                and not self.row_of(name)
            ):  # (pyxform writes a repeat_count that is not a reference as its own value)
                self.counts[f"${{{name}}}"] = str(bind.get("calculate", ""))
                continue
            try:
                self.element(element, section, relevant)
            except XLSFormError as exc:
                self.problems.append(exc)

    def element(self, element: dict[str, Any], section: str | None, relevant: str | None) -> None:
        """One element of the form: a question, a group, or what is skipped."""
        kind = element.get("type")
        name = str(element.get("name", ""))
        if kind == "group" and element.get("control", {}).get("bodyless"):
            return  # the meta group pyxform adds (instanceID)
        if kind in _META:
            shown = name if name == kind else f"{name} ({kind})"
            self.ignored["metadata a chat has no device for"].append(shown)
            return
        row = self.row_of(name)
        generated = not row and name.endswith("_other")
        if generated:  # (or_other: the text question pyxform adds after the select)
            row = self.row_of(name.removesuffix("_other"))
        if kind == "loop":
            raise self.form.fail(
                "a loop over a list cannot be asked in a chat: write a repeat instead",
                row=row,
                column="type",
            )
        if kind == "repeat":
            self.read_repeat(element, row, section, relevant)
            return
        if kind not in _TYPES and kind != "group":
            supported = ", ".join(["select_one", "select_multiple", *list(_TYPES)[2:]])
            raise self.form.fail(
                f"type '{kind}' is not supported (supported: {supported}, begin_group)",
                row=row,
                column="type",
            )
        self.refuse_unsupported(element, row)
        bind = element.get("bind", {})
        own = bind.get("relevant")
        if generated and own:  # (pyxform writes its path: ../name)
            own = re.sub(r"\.\./([A-Za-z_][\w.\-]*)", r"${\1}", own)
            element = {**element, "bind": {**bind, "relevant": own}}
        if own is not None:
            self.check_expression(own, row, "relevant")
        combined = _both(relevant, own)
        if kind == "group":
            inner = section
            if element.get("label"):
                self.sections[name] = _texts(
                    self.form, element["label"], row, "label", self.form.survey
                )
                inner = name
            self.walk(element.get("children", []), inner, combined)
            return
        question = self.question(element, row, section, combined)
        if self.repeat is not None:
            question["repeat"] = self.repeat
        self.questions.append(question)
        self.rows[name] = row

    def read_repeat(
        self, element: dict[str, Any], row: int, section: str | None, relevant: str | None
    ) -> None:
        """A repeat: its label, its ``repeat_count`` or (without one) "add another?"
        before each instance, and its items, each marked as in it."""
        name = str(element.get("name", ""))
        if self.repeat is not None:
            raise self.form.fail(
                f"a repeat inside a repeat ('{name}' in '{self.repeat}') cannot be asked in "
                "a chat: ask its questions in the outer repeat, or make it a separate form",
                row=row,
                column="type",
            )
        control = dict(element.get("control") or {})
        count = control.pop("jr:count", None)
        count = self.counts.get(str(count), count) if count is not None else None
        control.pop("jr:noAddRemove", None)
        self.refuse_unsupported({**element, "control": control}, row)
        bind = element.get("bind", {})
        own = bind.get("relevant")
        if own is not None:
            self.check_expression(own, row, "relevant")
        if count is not None:
            self.check_expression(str(count), row, _canonical_column("repeat_count"))
        label = element.get("label")
        texts = (
            _texts(self.form, label, row, "label", self.form.survey)
            if label
            else {code: name for code in self.form.codes.values()}
        )
        repeat: dict[str, Any] = {"label": texts}
        if section is not None:
            repeat["section"] = section
        if count is not None:
            repeat["count"] = str(count)
        combined = _both(relevant, own)
        if combined is not None:
            repeat["relevant"] = combined
        self.repeats[name] = repeat
        self.rows[name] = row
        self.repeat = name
        try:
            self.walk(element.get("children", []), section, None)
        finally:
            self.repeat = None

    def check_expression(self, text: str, row: int, column: str) -> None:
        try:
            expressions.parse(text)
        except expressions.ExpressionError as exc:
            raise self.form.fail(
                f"'{text}' cannot be used: {exc}{at_character(exc)}", row=row, column=column
            ) from exc

    def refuse_unsupported(self, element: dict[str, Any], row: int) -> None:
        is_range = element.get("type") == "range"
        for key, value in element.items():
            if value in (None, "", {}, []):
                continue
            if is_range and key == "parameters":
                continue
            if is_range and key in ("control", "bind"):
                value = {k: v for k, v in value.items() if k not in (*_RANGE, "type")}
            if key == "guidance_hint":
                self.ignored["guidance_hint"].append(f"row {row}")
            elif key == "bind":
                if value.get("jr:requiredMsg"):
                    self.ignored["required_message"].append(f"row {row}")
                for bind_key in value:
                    if bind_key not in _BINDS:
                        raise self.form.fail(
                            f"'{bind_key}' is not supported in a chat survey",
                            row=row,
                            column=bind_key,
                        )
            elif key == "control":
                if value.get("appearance"):
                    self.ignored["appearance"].append(f"row {row}")
                for control_key in value:
                    if control_key not in ("appearance", "bodyless"):
                        raise self.form.fail(
                            f"'{control_key}' is not supported in a chat survey",
                            row=row,
                            column=control_key,
                        )
            elif key == "parameters":
                raise self.form.fail(
                    "parameters are not supported in a chat survey", row=row, column="parameters"
                )
            elif key == "media":
                shown = sorted(set(value) - {"audio"}) if isinstance(value, dict) else ["media"]
                if shown:
                    raise self.form.fail(
                        f"'{shown[0]}' is not supported in a chat survey (audio is)",
                        row=row,
                        column=shown[0],
                    )
            elif key == "choice_filter" and element.get("type") in _SELECTS:
                pass  # (read with the question)
            elif key == "default" and element.get("type") not in ("note", "calculate"):
                pass  # (its value, or the answer suggested: read with the question)
            elif key in ("default", "choice_filter", "trigger", "instance"):
                raise self.form.fail(
                    f"'{key}' is not supported in a chat survey", row=row, column=key
                )

    def question(
        self, element: dict[str, Any], row: int, section: str | None, relevant: str | None
    ) -> dict[str, Any]:
        form = self.form
        kind = _TYPES[element["type"]]
        bind = element.get("bind", {})
        q: dict[str, Any] = {"id": element["name"], "type": kind}
        if element["type"] == "hidden":
            given = str(element.get("default") or "").replace("'", "’")
            bind = {**bind, "calculate": f"'{given}'"}
        if kind == "calculate":
            calculation = str(bind.get("calculate") or "").strip()
            if not calculation:
                raise form.fail("a calculate needs its calculation", row=row, column="calculate")
            self.check_expression(calculation, row, "calculate")
            q["calculation"] = calculation
            if section is not None:
                q["section"] = section
            if relevant is not None:
                q["relevant"] = relevant
            return q
        if not element.get("label"):
            raise form.fail("a question needs a label", row=row, column="label")
        q["text"] = _texts(form, element["label"], row, "label", form.survey)
        if element.get("hint"):
            q["hint"] = _texts(form, element["hint"], row, "hint", form.survey)
        clips = self.clips(element, row, form.survey)
        if clips:
            q["audio"] = clips
        if section is not None:
            q["section"] = section
        if relevant is not None:
            shape = _show_if(relevant)
            if shape is not None:
                q["show_if"] = shape.model_dump(exclude_none=True)
            else:
                q["relevant"] = relevant
        if kind == "range":  # (a number between bounds, by steps: typed, then checked)
            bounds = self.range_bounds(element, row)
            whole = all(b == b.to_integral_value() for b in bounds)
            q["type"] = kind = "integer" if whole else "decimal"
        if kind == "note":
            return q
        required = _truthy(bind.get("required"))
        if required is None:
            raise form.fail(
                f"required '{bind['required']}' is not supported: write yes or leave it blank",
                row=row,
                column="required",
            )
        if not required:
            q["optional"] = True
        dont_know = _truthy(element.get("allow_dont_know"))
        if dont_know is None:
            raise form.fail("allow_dont_know is yes or blank", row=row, column="allow_dont_know")
        if dont_know:
            q["allow_dont_know"] = True
        if kind in ("single_choice", "multi_select"):
            q["options"] = self.options(element, row)
            if element.get("choice_filter"):
                self.check_expression(str(element["choice_filter"]), row, "choice_filter")
                q["choice_filter"] = str(element["choice_filter"])
            if kind == "single_choice" and self.is_yes_no(q["options"]):
                q["type"] = "yes_no"
        suggested = str(element.get("default") or "").strip()
        if suggested:
            if "${" in suggested or re.search(r"[\w-]\s*\(", suggested):
                raise form.fail(
                    f"the default '{suggested}' is worked out from other answers: a chat suggests "
                    "a fixed answer, so write one (or a calculation and a label that shows it)",
                    row=row,
                    column="default",
                )
            q["default"] = suggested
        constraint = bind.get("constraint")
        if constraint:
            self.check_expression(constraint, row, "constraint")
            self.constraint(q, constraint, bind.get("jr:constraintMsg"), row)
        elif bind.get("jr:constraintMsg"):
            raise form.fail(
                "a constraint message without a constraint", row=row, column="jr:constraintMsg"
            )
        if element.get("type") == "range":
            start, end, step = self.range_bounds(element, row)
            within = f". >= {start} and . <= {end}"
            if step != 1 or start != start.to_integral_value():
                within += f" and (. - {start}) mod {step} = 0"
            q["constraint"] = _both(within, q.get("constraint"))
        return q

    def clips(self, element: dict[str, Any], row: int, sheet: _Sheet) -> dict[str, str]:
        """A row's ``media::audio::<language>`` clips by language code, each found (in
        the form's folder or its ``-media`` folder) and in a format both channels send."""
        form = self.form
        media = element.get("media") or {}
        value = media.get("audio") if isinstance(media, dict) else None
        if not value:
            return {}
        by_name = value if isinstance(value, dict) else {"default": value}
        clips: dict[str, str] = {}
        for name, file in by_name.items():
            column = "audio" if name == "default" else f"audio::{name}"
            code = form.codes.get(name)
            if code is None:
                raise form.fail(
                    f"a clip in '{name}', a language the form has no labels in",
                    sheet, row, "media", column,
                )  # fmt: skip
            path = audio.resolve(str(file), self.media)
            problems = clip_problems({code: str(path)}, [code], "audio")
            if problems:
                raise form.fail(problems[0], sheet, row, "media", column)
            clips[code] = str(path)
        return clips

    def range_bounds(self, element: dict[str, Any], row: int) -> tuple[Decimal, Decimal, Decimal]:
        """A range's start, end and step (refused where they are not numbers, or the
        step does not go from start to end)."""
        given = {**{"start": "1", "end": "10", "step": "1"}, **(element.get("parameters") or {})}
        try:
            start, end, step = (Decimal(str(given[k]).strip()) for k in _RANGE)
        except (InvalidOperation, ValueError) as exc:
            raise self.form.fail(
                "a range's start, end and step are numbers", row=row, column="parameters"
            ) from exc
        if step <= 0 or end < start:
            raise self.form.fail(
                "a range goes from start up to end by a positive step", row=row,
                column="parameters",
            )  # fmt: skip
        return start, end, step

    @staticmethod
    def is_yes_no(options: list[dict[str, Any]]) -> bool:
        ids = {o["id"] for o in options}
        return {"yes", "no"} <= ids <= {"yes", "no", "not_applicable"}

    def options(self, element: dict[str, Any], row: int) -> list[dict[str, Any]]:
        form = self.form
        list_name = element.get("list_name") or element.get("itemset")
        if not element.get("choices"):
            raise form.fail(f"choice list '{list_name}' has no choices", row=row, column="type")
        options = []
        for choice in element["choices"]:
            choice_row = self.choice_rows.get((str(list_name), str(choice["name"])))
            media = choice.get("media") or {}
            shown = sorted(set(media) - {"audio"}) if isinstance(media, dict) else ["media"]
            if shown:
                raise form.fail(
                    f"choice '{shown[0]}' is not supported in a chat survey (audio is)",
                    form.choices,
                    choice_row,
                    shown[0],
                )
            if not choice.get("label"):
                raise form.fail("a choice needs a label", form.choices, choice_row, "label")
            option: dict[str, Any] = {
                "id": str(choice["name"]),
                "label": _texts(form, choice["label"], choice_row or 0, "label", form.choices),
            }
            clips = self.clips(choice, choice_row or 0, form.choices)
            if clips:
                option["audio"] = clips
            properties = {
                str(k): str(v)
                for k, v in choice.items()
                if k not in ("name", "label", "media", "exclusive", "image", "audio", "video")
                and v not in (None, "")
            }
            if properties:
                option["properties"] = properties
            exclusive = _truthy(choice.get("exclusive"))
            if exclusive is None:
                raise form.fail("exclusive is yes or blank", form.choices, choice_row, "exclusive")
            if exclusive:
                option["exclusive"] = True
            options.append(option)
        return options

    def constraint(self, q: dict[str, Any], constraint: str, message: Any, row: int) -> None:
        """A constraint as the flow keeps it: a text's length limit and a multi-select's
        fewest choices as the question's own settings (buttons and limits a chat shows),
        any other condition as the question's constraint, with its message."""
        form = self.form
        shapes = {
            "free_text": ("string-length", "<=", "max_length"),
            "multi_select": ("count-selected", ">=", "min_choices"),
        }
        shape = shapes.get(q["type"])
        bound = _bounded_self(constraint, shape[0], shape[1]) if shape else None
        if shape is not None and bound is not None and not message:
            q[shape[2]] = bound
            return
        q["constraint"] = constraint
        if message:
            q["constraint_message"] = _texts(form, message, row, "jr:constraintMsg", form.survey)


@dataclass(frozen=True)
class Imported:
    """An XLSForm read: the flow, which language each column name became, and what was
    read but has no use in a chat (each with where it is)."""

    flow: FlowDefinition
    #: the language as the columns name it ("English (en)", "default") -> its code
    languages: dict[str, str]
    #: what was ignored -> the survey rows (or names) where
    ignored: dict[str, list[str]]

    def summary(self) -> list[str]:
        """The import in lines a form's author reads."""
        lines = [
            "languages: "
            + ", ".join(
                f"{'plain columns' if name == 'default' else repr(name)} -> {code}"
                for name, code in self.languages.items()
            )
        ]
        for what, where in self.ignored.items():
            shown = ", ".join(where[:8]) + (f" and {len(where) - 8} more" if len(where) > 8 else "")
            lines.append(f"ignored: {what} ({shown})")
        return lines


def read_xlsform(path: str | Path, *, default_language: str = "en") -> FlowDefinition:
    """Read an XLSForm (``.xlsx``, ``.xls``, XLSForm ``.csv``) as a flow definition;
    :class:`XLSFormError` says where and why one cannot be used. ``default_language``:
    the language of plain ``label`` columns when the settings sheet does not say."""
    return import_xlsform(path, default_language=default_language).flow


def import_xlsform(path: str | Path, *, default_language: str = "en") -> Imported:
    """:func:`read_xlsform`, with what became of the form's columns."""
    path = Path(path)
    source = path.name
    if path.suffix.lower() not in FORMATS:
        raise XLSFormError(
            source, "an XLSForm is read from an .xlsx or .xls workbook, or an XLSForm .csv"
        )
    try:
        letters = _header_letters(path)
        raw = get_xlsform(str(path))
    except PyXFormError as exc:
        raise XLSFormError(source, f"cannot read the workbook: {exc}") from exc
    except (
        OSError, ValueError, KeyError, BadZipFile, InvalidFileException, xlrd.XLRDError,
        UnicodeDecodeError, csv.Error,
    ) as exc:  # fmt: skip
        raise XLSFormError(source, f"cannot read the workbook: {exc}") from exc
    if raw.survey is None:
        raise XLSFormError(source, "the workbook has no 'survey' sheet")
    survey = _Sheet("survey", raw.survey, letters.get("survey", {}))
    choices = _Sheet("choices", raw.choices or [], letters.get("choices", {}))
    settings = _Sheet("settings", raw.settings or [], letters.get("settings", {}))
    setting = dict(raw.settings[0]) if raw.settings else {}
    settings_default = setting.get("default_language")
    default = default_language
    if settings_default:
        code = _language_code(str(settings_default))
        if code is None:
            raise XLSFormError(
                source,
                f"cannot tell the language of '{settings_default}': write e.g. 'English (en)'",
                sheet="settings",
                row=2,
                column=settings.column(2, "default_language"),
            )
        default = code
    rows_by_name: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(raw.survey):
        # (a group's end row may repeat the group's name: it is not a second element)
        if row.get("name") and not _END_ROW.match(str(row.get("type", ""))):
            rows_by_name[str(row["name"])].append(i + 2)
    form = _Form(source, survey, choices, settings, {}, dict(rows_by_name))
    choice_rows = {
        (str(row.get("list_name", row.get("list name", ""))), str(row.get("name", ""))): i + 2
        for i, row in enumerate(raw.choices or [])
    }
    twice = [
        form.fail(
            f"the name '{name}' is used twice (also on row {rows[0]}); every question "
            "of a chat survey needs its own name",
            row=rows[1],
            column="name",
        )
        for name, rows in rows_by_name.items()
        if len(rows) > 1
    ]
    if twice:  # (pyxform would stop at the first)
        raise XLSFormProblems(twice)
    try:
        tree = workbook_to_json(raw, warnings=[])
    except PyXFormError as exc:
        raise _pyxform_error(form, exc) from exc
    form.codes = codes = _languages(form, _language_names(tree), default)

    reader = _Reader(form, choice_rows, media_folders(path))
    reader.walk(tree.get("children", []), None, None)
    if reader.problems:
        raise XLSFormProblems(reader.problems)
    if not reader.questions:
        raise form.fail("the form has no question", row=None)
    title = tree.get("title") or tree.get("name") or path.stem
    titles = {code: str(title) for code in codes.values()}
    for key, value in setting.items():
        if key.startswith("form_title_") and value and key[len("form_title_") :] in titles:
            titles[key[len("form_title_") :]] = str(value)
    flow_id = re.sub(r"[^a-z0-9_]+", "_", str(tree.get("id_string") or path.stem).lower())
    version = str(tree.get("version") or "1")
    for value, column in ((flow_id, "form_id"), (version, "version")):
        if len(value) > 32:
            raise form.fail(f"'{value}' is longer than 32 characters", settings, 2, column)
    data = {
        "spec_version": SPEC_VERSION,
        "id": flow_id,
        "version": version,
        "languages": list(codes.values()),
        "title": titles,
        "sections": reader.sections,
        **({"repeats": reader.repeats} if reader.repeats else {}),
        "questions": reader.questions,
    }
    try:
        flow = parse_definition(data, source, media_folders(path))
    except XLSFormError:
        raise
    except FlowDefinitionError as exc:
        raise _located(form, reader, exc) from exc
    return Imported(flow, dict(codes), dict(reader.ignored))


def _located(form: _Form, reader: _Reader, exc: FlowDefinitionError) -> XLSFormError:
    """A definition check's refusal, at the row and column of the question it names."""
    row = reader.rows.get(exc.question or "")
    problem = exc.problem
    words = (
        ("relevant", "relevant"),
        ("show_if", "relevant"),
        ("constraint_message", "jr:constraintMsg"),
        ("constraint", "constraint"),
        ("min_choices", "constraint"),
        ("option", "type"),
        ("hint", "hint"),
        ("calculation", "calculate"),
        ("default", "default"),
        ("choice_filter", "choice_filter"),
        ("repeat_count", _canonical_column("repeat_count")),
        ("nothing to answer", "type"),
        ("text", "label"),
    )
    column = next((c for word, c in words if re.search(rf"\b{word}\b", problem)), "name")
    if row is None:
        return XLSFormError(form.source, problem)
    return form.fail(problem, row=row, column=column)


# -- writing ------------------------------------------------------------------------


def _relevant_of(question: Question) -> str | None:
    shown = question.show_if
    written = None
    if shown is not None:
        wanted = shown.any_of if shown.any_of is not None else shown.none_of or []
        picks = " or ".join(f"selected(${{{shown.question}}}, '{o}')" for o in wanted)
        if shown.any_of is not None:
            written = picks
        else:
            written = f"${{{shown.question}}} != '' and not({picks})"
    return _both(written, question.relevant)


def _constraint_of(question: Question) -> str | None:
    parts = []
    if isinstance(question, FreeText) and question.max_length != _DEFAULT_MAX_LENGTH:
        parts.append(f"string-length(.) <= {question.max_length}")
    if isinstance(question, MultiSelect) and question.min_choices != _DEFAULT_MIN_CHOICES:
        parts.append(f"count-selected(.) >= {question.min_choices}")
    if not isinstance(question, NotAsked) and question.constraint:
        parts.append(question.constraint)
    written = None
    for part in parts:
        written = _both(written, part)
    return written


def _xlsform_type(question: Question, list_name: str | None) -> str:
    if isinstance(question, MultiSelect):
        return f"select_multiple {list_name}"
    if list_name is not None:
        return f"select_one {list_name}"
    return {"free_text": "text"}.get(question.type, question.type)


def _containers(flow: FlowDefinition, q: Question) -> list[tuple[str, str]]:
    """The groups and repeats a question is in, outermost first."""
    if q.repeat is None:
        return [] if q.section is None else [("group", q.section)]
    repeat = flow.repeats[q.repeat]
    found = [] if repeat.section is None else [("group", repeat.section)]
    found.append(("repeat", q.repeat))
    if q.section is not None and q.section != repeat.section:
        found.append(("group", q.section))
    return found


def write_xlsform(flow: FlowDefinition, path: str | Path) -> None:
    """Write a flow definition as an XLSForm workbook (survey, choices, settings) that
    pyxform converts to an XForm, so the survey runs face to face in Kobo or ODK."""
    langs = [(code, kobo_language_name(code)) for code in flow.languages]
    has_hint = any(getattr(q, "hint", None) for q in flow.questions)
    has_message = any(not isinstance(q, NotAsked) and q.constraint_message for q in flow.questions)
    has_dont_know = any(getattr(q, "allow_dont_know", False) for q in flow.questions)
    has_exclusive = any(o.exclusive for q in flow.questions for o in options_of(q))

    columns = ["type", "name", *(f"label::{name}" for _, name in langs)]
    if has_hint:
        columns += [f"hint::{name}" for _, name in langs]
    columns += ["required", "relevant", "constraint"]
    if has_message:
        columns += [f"constraint_message::{name}" for _, name in langs]
    if has_dont_know:
        columns.append("allow_dont_know")
    if flow.calculations:
        columns.append("calculation")
    if any(r.count for r in flow.repeats.values()):
        columns.append("repeat_count")
    if any(getattr(q, "choice_filter", None) for q in flow.questions):
        columns.append("choice_filter")
    if any(getattr(q, "default", None) for q in flow.questions):
        columns.append("default")
    has_audio = any(q.audio for q in flow.questions)
    if has_audio:
        columns += [f"media::audio::{name}" for _, name in langs]
    has_choice_audio = any(o.audio for q in flow.questions for o in options_of(q))
    folder = Path(path).parent

    def localized(prefix: str, texts: dict[str, str] | None) -> dict[str, str]:
        return {f"{prefix}::{name}": (texts or {}).get(code, "") for code, name in langs}

    def clips(texts: dict[str, str] | None) -> dict[str, str]:
        """Clips named relative to the workbook (Kobo and ODK keep media beside it)."""
        return {
            f"media::audio::{name}": os.path.relpath((texts or {})[code], folder)
            if code in (texts or {})
            else ""
            for code, name in langs
        }

    #: each distinct option list (as JSON) -> its list name and options
    lists: dict[str, tuple[str, list[Option]]] = {}
    survey: list[dict[str, Any]] = []
    #: the groups and repeats open, outermost first; those closed
    open_now: list[tuple[str, str]] = []
    closed: set[tuple[str, str]] = set()
    for q in flow.questions:
        inside = _containers(flow, q)
        kept = 0
        while kept < min(len(inside), len(open_now)) and inside[kept] == open_now[kept]:
            kept += 1
        while len(open_now) > kept:
            container = open_now.pop()
            survey.append({"type": f"end_{container[0]}"})
            closed.add(container)
        for container in inside[kept:]:
            kind, name = container
            if container in closed:
                raise FlowDefinitionError(
                    flow.id,
                    f"{'section' if kind == 'group' else 'repeat'} '{name}' is split in two: an "
                    "XLSForm group or repeat is one run of questions",
                    q.id,
                )
            if kind == "group":
                survey.append(
                    {"type": "begin_group", "name": name, **localized("label", flow.sections[name])}
                )
            else:
                repeat = flow.repeats[name]
                survey.append(
                    {
                        "type": "begin_repeat",
                        "name": name,
                        **localized("label", repeat.label),
                        "repeat_count": repeat.count or "",
                        "relevant": repeat.relevant or "",
                    }
                )
            open_now.append(container)
        list_name = None
        if options := options_of(q):
            key = json.dumps([o.model_dump() for o in options], sort_keys=True)
            list_name = lists.setdefault(key, (q.id, options))[0]
        row: dict[str, Any] = {
            "type": _xlsform_type(q, list_name),
            "name": q.id,
            **localized("label", q.text),
            **(localized("hint", q.hint) if q.hint else {}),
            "relevant": _relevant_of(q) or "",
            **(clips(q.audio) if q.audio else {}),
        }
        if getattr(q, "choice_filter", None):
            row["choice_filter"] = getattr(q, "choice_filter", None)
        if isinstance(q, Calculate):
            row["calculation"] = q.calculation
        elif not isinstance(q, Note):
            row["required"] = "" if q.optional else "yes"
            row["constraint"] = _constraint_of(q) or ""
            if q.constraint_message:
                row.update(localized("constraint_message", q.constraint_message))
            if q.allow_dont_know:
                row["allow_dont_know"] = "yes"
            if q.default:
                row["default"] = q.default
        survey.append(row)
    while open_now:
        survey.append({"type": f"end_{open_now.pop()[0]}"})

    choice_columns = ["list_name", "name", *(f"label::{name}" for _, name in langs)]
    if has_exclusive:
        choice_columns.append("exclusive")
    if has_choice_audio:
        choice_columns += [f"media::audio::{name}" for _, name in langs]
    for _list, options in lists.values():
        for o in options:
            choice_columns += [k for k in o.properties if k not in choice_columns]
    choices = [
        {
            "list_name": list_name,
            "name": o.id,
            **localized("label", o.label),
            "exclusive": "yes" if o.exclusive else "",
            **(clips(o.audio) if o.audio else {}),
            **o.properties,
        }
        for list_name, options in lists.values()
        for o in options
    ]

    default_code, default_name = langs[0]
    settings = {
        "form_title": flow.title[default_code],
        "form_id": flow.id,
        "version": flow.version,
        "default_language": default_name,
        **{f"form_title_{code}": flow.title[code] for code, _ in langs[1:]},
    }

    book = openpyxl.Workbook()
    sheets = [
        ("survey", columns, survey),
        ("choices", choice_columns, choices),
        ("settings", list(settings), [settings]),
    ]
    for i, (title, header, rows) in enumerate(sheets):
        sheet = book.active if i == 0 else book.create_sheet()
        sheet.title = title
        sheet.append(header)
        for row in rows:
            sheet.append([row.get(column) or None for column in header])
        sheet.freeze_panes = "A2"
    book.save(Path(path))


def xform_warnings(path: str | Path) -> list[str]:
    """Convert a written XLSForm with pyxform, as Kobo and ODK will: its warnings (an
    :class:`XLSFormError` if it does not convert)."""
    warnings: list[str] = []
    try:
        convert(xlsform=str(path), warnings=warnings)
    except PyXFormError as exc:
        raise XLSFormError(Path(path).name, f"pyxform does not convert it: {exc}") from exc
    return warnings
