"""Exports an M&E officer can open directly: completed surveys as CSV or XLSX, with a
codebook, written as the surveys stream in (memory does not grow with their number).

Two layouts, as Kobo offers: **wide** (one row per completed survey: each answer as
recorded, its 0-1 code for scored elements, its label in a chosen language, the four
scores, the lowest dimension and the weight table's version and status) and **long**
(one row per answer, for trajectory analysis). The **codebook** has one row per column
of the export: the question's text, its dimension and indicator, its options with their
codes, both weights and whether each weight is official or provisional, and the weights
version. The XLSX carries the codebook as a second sheet; a CSV export writes it beside
(``<name>-codebook.csv``). Both are UTF-8 with a BOM so spreadsheets read accents and
Arabic.
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from bot.i18n import Translator
from bot.programme import Attribute, Programme
from bot.survey_scores import scoring_gap
from bot.texts import answer_label, dimension_label
from flows.model import (
    AskedQuestion,
    Calculate,
    ChoiceQuestion,
    Date,
    DecimalNumber,
    FlowDefinition,
    Integer,
    MultiSelect,
    Note,
    Question,
    RepeatPrompt,
    instance_key,
)
from flows.state import ChoiceAnswer, MultiAnswer, SpecialAnswer, TextAnswer
from scoring import WeightTable
from scoring.model import Element
from storage.caseload import AssistanceLine
from storage.reports import SCORE_KEYS, CompletedSurvey

FORMATS = ("csv", "xlsx")
LAYOUTS = ("wide", "long")
Layout = Literal["wide", "long"]


@dataclass(frozen=True)
class Column:
    """One column of an export, as its codebook row describes it."""

    name: str
    description: str
    question: Question | None = None
    element: Element | None = None
    option: str | None = None


@dataclass(frozen=True)
class ExportSpec:
    definition: FlowDefinition
    table: WeightTable
    #: labels beside the codes, in this language (None: codes only)
    labels: str | None = "en"
    include_case_ref: bool = False
    layout: Layout = "wide"
    #: profile attributes and assistance types to describe (None: no caseload columns)
    programme: Programme | None = None

    @property
    def weights_status(self) -> str:
        provisional = self.table.provisional_weights
        if not provisional:
            return "official"
        return f"provisional ({provisional} of {len(self.table.elements)} weights)"

    @property
    def codebook_language(self) -> str:
        return self.labels or "en"

    @cached_property
    def scored(self) -> bool:
        """Whether the flow is scored under the table (else a plain survey: no score
        columns, no element codes)."""
        return scoring_gap(self.definition, self.table) is None

    def _element(self, question_id: str) -> Element | None:
        return self.table.elements.get(question_id) if self.scored else None

    def translator(self) -> Translator:
        return Translator(self.codebook_language)

    # -- columns -------------------------------------------------------------------------

    def _identifiers(self) -> list[Column]:
        columns = [Column("returnee", "pseudonymous id of the returnee (R-...)")]
        if self.include_case_ref:
            columns.append(Column("case_ref", "case reference (personal data)"))
        columns += [
            Column("country", "country of return (ISO code)"),
            Column("channel", "chat app the returnee answers on: telegram, whatsapp, console"),
            Column("wave", "follow-up point: initial, intermediate (6-9 months), final"),
            Column("language", "language the survey was answered in"),
            Column("started", "day the survey was started (UTC)"),
            Column("completed", "day the survey was completed (UTC)"),
        ]
        return columns + self._caseload_columns()

    def profile_attributes(self) -> list[Attribute]:
        """The attributes exported: special categories only with case references."""
        if self.programme is None:
            return []
        return [a for a in self.programme.attributes if self.include_case_ref or not a.sealed]

    def _caseload_columns(self) -> list[Column]:
        if self.programme is None:
            return []
        language = self.codebook_language
        columns = []
        for a in self.profile_attributes():
            allowed = (
                ", ".join(f"{code} ({a.value_text(code, language)})" for code in a.allowed())
                or "ISO 3166 country code"
            )
            many = "codes separated by spaces: " if a.kind == "choices" else ""
            sealed = "; special category (stored encrypted)" if a.sealed else ""
            columns.append(
                Column(f"profile_{a.id}", f"{a.text(language)}: {many}{allowed}{sealed}")
            )
        rules = "; ".join(f"{r.id} ({r.text(language)})" for r in self.programme.followup.rules)
        actions = ", ".join(a.id for a in self.programme.followup.actions)
        return [
            *columns,
            Column("office", "the office that follows the returnee (caseload import)"),
            Column("caseworker", "the caseworker who follows the returnee (caseload import)"),
            Column("followup_flags", f"follow-up rules this survey met, separated by spaces: "
                   f"{rules}"),
            Column("followup_state", "the flag's state: open (to follow up) or closed"),
            Column("followup_actions", f"what caseworkers did for the returnee, oldest first "
                   f"(action day; ...): {actions}"),
        ]  # fmt: skip

    def columns(self) -> list[Column]:
        if self.layout == "long":
            return [
                *self._identifiers(),
                Column("question", "question id"),
                Column("dimension", "dimension of a scored element"),
                Column("indicator", "indicator of a scored element"),
                Column("value", "the answer as recorded: option id(s), text, or a missing marker"),
                Column("code", "0-1 code of a scored element's answer (blank: missing)"),
                *([Column("label", "the answer in words")] if self.labels else []),
            ]
        columns = self._identifiers()
        counted: set[str] = set()
        for q in self.definition.questions:
            if q.repeat is not None:
                if q.repeat not in counted:
                    counted.add(q.repeat)
                    label = self.definition.repeats[q.repeat].label[self.codebook_language]
                    columns.append(
                        Column(
                            f"{q.repeat}_count",
                            f"how many '{label}' were given: their answers are in the "
                            f"'{q.repeat}' sheet (CSV: {q.repeat} file), one row each",
                        )
                    )
                continue
            columns += self._question_columns(q)
        if not self.scored:
            return columns
        for key in SCORE_KEYS:
            columns.append(Column(key, f"{key} score, 0-1 (blank: not enough answers)"))
        columns += [
            Column("lowest_dimension", "the dimension where help may be needed most"),
            Column("weights_version", "version of the weight table the scores were computed"),
            Column("weights_status", "official, or provisional until the official table"),
        ]
        return columns

    def _question_columns(self, q: Question) -> list[Column]:
        """A question's columns: its answer, each option of a multi-select, its code
        where scored, its label where labels are exported (none for a note)."""
        if isinstance(q, Note):
            return []
        if isinstance(q, Calculate):
            return [Column(q.id, f"calculated: {q.calculation}", q, None)]
        element = None if q.repeat is not None else self._element(q.id)
        markers = ", ".join(missing_markers(q))
        columns = [Column(q.id, f"{_DESCRIPTIONS[q.type]}: {markers}", q, element)]
        if isinstance(q, MultiSelect):
            for o in q.options:
                columns.append(Column(f"{q.id}/{o.id}", "1: selected, 0: not", q, None, o.id))
        if element is not None:
            columns.append(
                Column(f"{q.id}_code", "0-1 code of the answer (blank: missing)", q, element)
            )
        if self.labels and isinstance(q, ChoiceQuestion):
            columns.append(Column(f"{q.id}_label", "the answer in words", q, element))
        return columns

    def _question_cells(
        self,
        q: Question,
        given: Any,
        coded: dict[str, str | None],
        language: str,
        _: Translator,
    ) -> list[Any]:
        """The cells of :meth:`_question_columns` for one answer (None: unanswered)."""
        if isinstance(q, Note):
            return []
        element = None if q.repeat is not None else self._element(q.id)
        cells = [_value(given, q) if given is not None else None]
        if isinstance(q, MultiSelect):
            chosen = set(given.options) if isinstance(given, MultiAnswer) else None
            cells += [None if chosen is None else int(o.id in chosen) for o in q.options]
        if element is not None:
            cells.append(self._code(element, coded.get(q.id)))
        if self.labels and isinstance(q, ChoiceQuestion):
            cells.append(answer_label(q, given, language, _) if given is not None else None)
        return cells

    def header(self) -> list[str]:
        return [c.name for c in self.columns()]

    # -- repeats ---------------------------------------------------------------------------

    def repeat_columns(self, repeat: str) -> list[Column]:
        """The columns of a repeat's sheet: who and which survey (the main sheet's
        identifiers), the instance's number, then its questions' columns."""
        ids = [c for c in self._identifiers() if c.name in ("returnee", "case_ref", "wave")]
        label = self.definition.repeats[repeat].label[self.codebook_language]
        ids.append(Column("instance", f"which '{label}' (1, 2...) of the survey"))
        body = [c for q in self.definition.body(repeat) for c in self._question_columns(q)]
        return ids + body

    def repeat_rows(self, repeat: str, s: CompletedSurvey, _: Translator) -> Iterator[list[Any]]:
        """One row per instance of a repeat in one completed survey."""
        language = self.labels or "en"
        ids = [s.public_id, *([s.case_ref] if self.include_case_ref else []), s.wave]
        body = self.definition.body(repeat)
        for n in range(1, instance_count(self.definition, repeat, s.answers) + 1):
            row = [*ids, n]
            for q in body:
                given = s.answers.get(instance_key(q.id, n))
                row += self._question_cells(q, given, {}, language, _)
            yield row

    # -- rows ----------------------------------------------------------------------------

    def _ids(self, s: CompletedSurvey) -> list[Any]:
        return [
            s.public_id,
            *([s.case_ref] if self.include_case_ref else []),
            s.country,
            s.channel,
            s.wave,
            s.language,
            s.started_at.date(),
            s.completed_at.date() if s.completed_at else None,
            *self._caseload_cells(s),
        ]

    def _caseload_cells(self, s: CompletedSurvey) -> list[Any]:
        if self.programme is None:
            return []
        cells: list[Any] = []
        for a in self.profile_attributes():
            value = s.profile.get(a.id)
            cells.append(" ".join(value) if isinstance(value, list) else value)
        return [
            *cells,
            s.profile.get("office"),
            s.profile.get("caseworker"),
            " ".join(s.flags) or None,
            s.flag_state,
            "; ".join(f"{kind} {day.isoformat()}" for kind, day in s.actions) or None,
        ]

    # -- assistance ----------------------------------------------------------------------

    def assistance_header(self) -> list[str]:
        return [
            "returnee",
            *(["case_ref"] if self.include_case_ref else []),
            "type",
            "dimension",
            "level",
            "status",
            "start",
            "end",
            "value",
            "currency",
            "source",
        ]

    def assistance_rows(
        self, returnee: tuple[str, str | None], lines: Iterable[AssistanceLine]
    ) -> Iterator[list[Any]]:
        """One row per item of assistance of a returnee (public id, case reference)."""
        assert self.programme is not None
        for line in lines:
            kind = self.programme.assistance.type(line.type)
            yield [
                returnee[0],
                *([returnee[1]] if self.include_case_ref else []),
                line.type,
                kind.dimension if kind else None,
                line.level,
                line.status,
                line.start,
                line.end,
                float(line.value) if line.value else None,
                line.currency,
                line.source,
            ]

    def assistance_codebook(self) -> list[list[Any]]:
        """The assistance sheet's columns, as codebook rows."""
        assert self.programme is not None
        language, assistance = self.codebook_language, self.programme.assistance
        described = {
            "returnee": "pseudonymous id of the returnee (R-...)",
            "case_ref": "case reference (personal data)",
            "type": "type of assistance: "
            + "; ".join(f"{t.id} ({t.text(language)})" for t in assistance.types),
            "dimension": "the RSS dimension the type addresses",
            "level": ", ".join(v.id for v in assistance.levels),
            "status": ", ".join(v.id for v in assistance.statuses),
            "start": "day it started",
            "end": "day it ended",
            "value": "its value",
            "currency": "the value's currency (ISO 4217)",
            "source": "how it was recorded: import, console, cli",
        }
        return [
            [f"assistance: {name}", described[name], *[None] * 9]
            for name in self.assistance_header()
        ]

    def _code(self, element: Element | None, coded: str | None) -> float | None:
        if element is None or coded is None:
            return None
        code = self.table.scales[element.scale].get(coded)
        return float(code) if code is not None else None

    def rows(self, s: CompletedSurvey, _: Translator) -> Iterator[list[Any]]:
        """The rows of one completed survey (one in the wide layout)."""
        coded = s.scored_answers(self.definition)
        language = self.labels or "en"
        if self.layout == "long":
            for key, q in _answered(self.definition, s.answers):
                answer = s.answers[key]
                element = None if q.repeat is not None else self._element(q.id)
                yield [
                    *self._ids(s),
                    key,
                    element.dimension if element else None,
                    element.indicator if element else None,
                    _value(answer, q),
                    self._code(element, coded.get(q.id)),
                    *([answer_label(q, answer, language, _)] if self.labels else []),
                ]
            return
        row = self._ids(s)
        counted: set[str] = set()
        for q in self.definition.questions:
            if q.repeat is not None:
                if q.repeat not in counted:
                    counted.add(q.repeat)
                    row.append(instance_count(self.definition, q.repeat, s.answers))
                continue
            row += self._question_cells(q, s.answers.get(q.id), coded, language, _)
        if not self.scored:
            yield row
            return
        scores = s.scores or {}
        row += [scores.get(k) for k in SCORE_KEYS]
        row.append(scores.get("lowest_dimension"))
        row.append(scores.get("weights_version"))
        row.append(self.weights_status if s.scores else None)
        yield row

    # -- codebook ------------------------------------------------------------------------

    def codebook(self) -> tuple[list[str], list[list[Any]]]:
        header = [
            "column",
            "description",
            "question",
            "section",
            "dimension",
            "indicator",
            "options",
            "dimensional_weight",
            "composite_weight",
            "weight_status",
            "weights_version",
        ]
        language, _ = self.codebook_language, self.translator()
        rows: list[list[Any]] = []
        for c in self.columns():
            q, e = c.question, c.element
            rows.append(
                [
                    c.name,
                    c.description,
                    q.text.get(language) if q else None,
                    self._section(q, language),
                    dimension_label(_, e.dimension) if e else None,
                    e.indicator if e else None,
                    self._options(q, e, c.option, language),
                    float(e.dimensional_weight) if e else None,
                    float(e.composite_weight) if e else None,
                    e.weight_status if e else None,
                    self.table.version if e or c.name in SCORE_KEYS else None,
                ]
            )
        for repeat in self.definition.repeats:
            for c in self.repeat_columns(repeat):
                q = c.question
                rows.append(
                    [
                        f"{repeat}: {c.name}",
                        f"in the '{repeat}' sheet, one row per instance: {c.description}",
                        q.text.get(language) if q else None,
                        self._section(q, language),
                        None,
                        None,
                        self._options(q, None, c.option, language),
                        None,
                        None,
                        None,
                        None,
                    ]
                )
        if self.programme is not None:
            rows += self.assistance_codebook()
        return header, rows

    def _section(self, q: Question | None, language: str) -> str | None:
        if q is None or q.section is None or q.section not in self.definition.sections:
            return None
        return self.definition.sections[q.section][language]

    def _options(
        self, q: Question | None, e: Element | None, only: str | None, language: str
    ) -> str | None:
        if q is None or not isinstance(q, ChoiceQuestion):
            return None
        scale = self.table.scales[e.scale] if e else {}
        parts = []
        for o in q.options:
            if only is not None and o.id != only:
                continue
            code = scale.get(o.id) if e else None
            coded = f" = {float(code):g}" if code is not None else (" = NA" if e else "")
            parts.append(f"{o.id}{coded} ({o.label[language]})")
        specials = missing_markers(q)
        if only is None:
            parts += [f"{s}{' = missing' if e else ''}" for s in specials]
        return "; ".join(parts)


_DESCRIPTIONS = {
    "single_choice": "the answer as recorded (option id, or a missing marker)",
    "yes_no": "the answer as recorded (option id, or a missing marker)",
    "multi_select": "the options chosen, separated by spaces (or a missing marker)",
    "free_text": "the answer as typed (or a missing marker)",
    "integer": "the whole number typed (or a missing marker)",
    "decimal": "the number typed (or a missing marker)",
    "date": "the date typed (or a missing marker)",
    "time": "the time typed, HH:MM (or a missing marker)",
    "acknowledge": "OK when confirmed (or a missing marker)",
}

#: how an answer that is not an answer is exported (the engine's special values)
MISSING_MARKERS = {
    "prefer_not_to_answer": "prefer_not_to_answer",
    "dont_know": "dont_know",
    "skip": "skipped",
}


def missing_markers(q: AskedQuestion) -> list[str]:
    """The missing markers a question's column may hold: prefer not to answer always;
    don't know where offered; skipped for an optional question."""
    return [
        MISSING_MARKERS["prefer_not_to_answer"],
        *([MISSING_MARKERS["dont_know"]] if q.allow_dont_know else []),
        *([MISSING_MARKERS["skip"]] if q.optional else []),
    ]


def _value(answer: Any, question: Question) -> str | int | float | date:
    """An answer as a cell: numbers and dates typed as such (real cells in XLSX)."""
    if isinstance(answer, ChoiceAnswer):
        return answer.option
    if isinstance(answer, MultiAnswer):
        return " ".join(answer.options)
    if isinstance(answer, TextAnswer):
        if isinstance(question, Integer):
            return int(answer.text)
        if isinstance(question, DecimalNumber):
            return float(answer.text)
        if isinstance(question, Date):
            return date.fromisoformat(answer.text)
        return answer.text
    assert isinstance(answer, SpecialAnswer)
    return MISSING_MARKERS.get(answer.value, answer.value)


def instance_count(definition: FlowDefinition, repeat: str, answers: dict[str, Any]) -> int:
    """How many instances of a repeat a completed survey holds (the highest instance
    with an answer)."""
    found = 0
    for key in answers:
        where = definition.repeat_of(key) if "[" in key else None
        if where is not None and where[0] == repeat:
            question = definition.question(key)
            if not isinstance(question, RepeatPrompt):
                found = max(found, where[1])
    return found


def _answered(
    definition: FlowDefinition, answers: dict[str, Any]
) -> Iterator[tuple[str, Question]]:
    """(key, question) of each answer in the flow's order, a repeat's by instance."""
    for q in definition.questions:
        if q.repeat is None:
            if q.id in answers:
                yield q.id, q
        elif q.id == definition.body(q.repeat)[0].id:
            for n in range(1, instance_count(definition, q.repeat, answers) + 1):
                for b in definition.body(q.repeat):
                    key = instance_key(b.id, n)
                    if key in answers:
                        yield key, b


# -- writers -------------------------------------------------------------------------------


@dataclass
class Written:
    path: Path
    rows: int
    surveys: int
    codebook: Path | None
    #: the assistance CSV beside a CSV export (None: in the XLSX, or none)
    assistance: Path | None = None
    #: a CSV per repeat beside a CSV export (in the XLSX: a sheet each)
    repeats: tuple[Path, ...] = ()


#: reads the assistance of returnees (returnee id -> their items)
AssistanceReader = Callable[[Sequence[str]], Awaitable[dict[str, list[AssistanceLine]]]]


def assistance_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}-assistance.csv")


def codebook_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}-codebook.csv")


def repeat_path(path: Path, repeat: str) -> Path:
    """The CSV of a repeat's answers beside a CSV export."""
    return path.with_name(f"{path.stem}-{repeat}.csv")


def repeat_sheet_title(repeat: str) -> str:
    """A repeat's sheet in the XLSX (a sheet title is at most 31 characters)."""
    title = repeat[:31]
    return f"{title[:29]}_r" if title in ("surveys", "codebook", "assistance") else title


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return value


def _write_csv(path: Path, header: list[str], rows: Iterable[list[Any]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_csv_cell(v) for v in row])


async def _assistance_rows(
    spec: ExportSpec, people: dict[str, tuple[str, str | None]], read: AssistanceReader
) -> list[list[Any]]:
    items = await read(list(people))
    rows: list[list[Any]] = []
    for returnee_id, who in sorted(people.items(), key=lambda p: p[1][0]):
        rows += spec.assistance_rows(who, items.get(returnee_id, ()))
    return rows


async def write_export(
    spec: ExportSpec,
    fmt: str,
    path: Path,
    batches: AsyncIterator[list[CompletedSurvey]],
    assistance: AssistanceReader | None = None,
) -> Written:
    """Write the export of ``batches`` to ``path`` (and its codebook) as they arrive;
    with ``assistance`` (and a programme in ``spec``), the assistance of the returnees
    exported, one row per item (a sheet of the XLSX, or NAME-assistance.csv)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: {', '.join(FORMATS)}")
    _ = spec.translator()
    header = spec.header()
    count = surveys = 0
    people: dict[str, tuple[str, str | None]] = {}
    with_assistance = assistance is not None and spec.programme is not None
    repeats = list(spec.definition.repeats)
    if fmt == "csv":
        with ExitStack() as files:
            out = files.enter_context(path.open("w", encoding="utf-8-sig", newline=""))
            writer = csv.writer(out)
            writer.writerow(header)
            beside = {}
            for repeat in repeats:
                file = repeat_path(path, repeat)
                beside[repeat] = csv.writer(
                    files.enter_context(file.open("w", encoding="utf-8-sig", newline=""))
                )
                beside[repeat].writerow([c.name for c in spec.repeat_columns(repeat)])
            async for batch in batches:
                surveys += len(batch)
                for s in batch:
                    people[s.returnee_id] = (s.public_id, s.case_ref)
                    for row in spec.rows(s, _):
                        writer.writerow([_csv_cell(v) for v in row])
                        count += 1
                    for repeat in repeats:
                        for row in spec.repeat_rows(repeat, s, _):
                            beside[repeat].writerow([_csv_cell(v) for v in row])
        book_header, book_rows = spec.codebook()
        _write_csv(codebook_path(path), book_header, book_rows)
        extra = None
        if with_assistance:
            assert assistance is not None
            extra = assistance_path(path)
            rows = await _assistance_rows(spec, people, assistance)
            _write_csv(extra, spec.assistance_header(), rows)
        made = tuple(repeat_path(path, r) for r in repeats)
        return Written(path, count, surveys, codebook_path(path), extra, made)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("surveys")
    sheet.freeze_panes = "B2"
    _widths(sheet, header)
    sheet.append(header)
    repeat_sheets = {}
    for repeat in repeats:
        repeat_sheets[repeat] = book.create_sheet(repeat_sheet_title(repeat))
        repeat_sheets[repeat].freeze_panes = "B2"
        repeat_header = [c.name for c in spec.repeat_columns(repeat)]
        _widths(repeat_sheets[repeat], repeat_header)
        repeat_sheets[repeat].append(repeat_header)
    async for batch in batches:
        surveys += len(batch)
        for s in batch:
            people[s.returnee_id] = (s.public_id, s.case_ref)
            for row in spec.rows(s, _):
                sheet.append(row)
                count += 1
            for repeat in repeats:
                for row in spec.repeat_rows(repeat, s, _):
                    repeat_sheets[repeat].append(row)
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{count + 1}"
    codebook = book.create_sheet("codebook")
    book_header, book_rows = spec.codebook()
    codebook.freeze_panes = "B2"
    _widths(codebook, book_header, wide={"description": 48, "question": 60, "options": 70})
    codebook.append(book_header)
    for row in book_rows:
        codebook.append(row)
    codebook.auto_filter.ref = f"A1:{get_column_letter(len(book_header))}{len(book_rows) + 1}"
    if with_assistance:
        assert assistance is not None
        items = book.create_sheet("assistance")
        items.freeze_panes = "B2"
        _widths(items, spec.assistance_header())
        items.append(spec.assistance_header())
        for row in await _assistance_rows(spec, people, assistance):
            items.append(row)
    book.save(path)
    return Written(path, count, surveys, None)


def _widths(sheet: Any, header: list[str], wide: dict[str, int] | None = None) -> None:
    for index, name in enumerate(header, start=1):
        width = (wide or {}).get(name, max(12, min(len(name) + 3, 40)))
        sheet.column_dimensions[get_column_letter(index)].width = width
