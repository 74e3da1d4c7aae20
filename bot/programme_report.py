"""The programme report: which assistance goes with better reintegration, for whom and
where. Reads every selected scored survey once (:func:`storage.reports.scored_batches`),
splits them by the breakdowns the programme file defines (:func:`breakdowns`), and
writes the tables of :mod:`scoring.programme`, small cells hidden, as an XLSX workbook
(with a sheet that explains each table), charts (PNG and SVG) and plain data for the
console's page.

The breakdowns: country, chat app, time since return at completion, each profile
attribute (a multiple-choice attribute as one "with / without" breakdown per value),
each assistance type received or not, and each assistance level. An assistance item
counts as received by a survey when it was delivered and started on or before the day
the survey was completed (no start day: received); for a change between two waves, by
the later one.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from openpyxl import Workbook

from bot.i18n import SOURCE_LANGUAGE, translations
from bot.languages import languages
from bot.programme import Programme, country_name
from bot.staff_words import N_, StaffWords
from scoring import WeightTable
from scoring.programme import (
    PAIRS,
    SCORES,
    UNKNOWN,
    WAVES,
    WITH,
    WITHOUT,
    Breakdown,
    ProgrammeTables,
    Table,
    period_of,
)
from storage import reports
from storage.store import Store

#: how the intervals are computed (:mod:`scoring.programme`), as the report says it
INTERVAL_METHOD = N_("t-based 95% interval of the mean (Student's t, n - 1 degrees of freedom)")
DIFFERENCE_METHOD = N_("Welch's t 95% interval of the difference of two means")
#: months since return at completion: each band's lowest month
SINCE_RETURN = (0, 3, 6, 9, 12, 18)


def since_return_bands() -> tuple[str, ...]:
    """Each band's code: ``0-2``, ``3-5`` ... ``18+`` (months)."""
    edges = list(SINCE_RETURN)
    return tuple(
        f"{low}-{high - 1}" if high is not None else f"{low}+"
        for low, high in zip(edges, [*edges[1:], None], strict=True)
    )


BANDS = since_return_bands()


def since_return_band(returned: date | None, completed: datetime | date) -> str | None:
    """The band of the months from the return to the completion day."""
    if returned is None:
        return None
    day = completed.date() if isinstance(completed, datetime) else completed
    months = (day.year - returned.year) * 12 + day.month - returned.month
    months -= day.day < returned.day
    return BANDS[max((i for i, low in enumerate(SINCE_RETURN) if months >= low), default=0)]


def breakdowns(programme: Programme) -> list[Breakdown]:
    """Every breakdown of the report, in the order shown."""
    out = [
        Breakdown("country"),
        Breakdown("channel", ("telegram", "whatsapp")),
        Breakdown("since_return", BANDS),
    ]
    for attribute in programme.attributes:
        if attribute.kind == "choices":
            out += [
                Breakdown(f"attribute:{attribute.id}={v.id}", binary=True) for v in attribute.values
            ]
        else:
            values = tuple(attribute.allowed()) or None
            out.append(Breakdown(f"attribute:{attribute.id}", values))
    out += [Breakdown(f"assistance:{t.id}", binary=True) for t in programme.assistance.types]
    out += [Breakdown(f"level:{v.id}", binary=True) for v in programme.assistance.levels]
    return out


class Grouping:
    """Each survey's value in each breakdown (a breakdown left out: not recorded)."""

    def __init__(self, programme: Programme) -> None:
        self.programme = programme
        #: the assistance breakdowns' values for each set of types and levels received
        self._received: dict[tuple[frozenset[str], frozenset[str]], dict[str, str]] = {}

    def profile(self, person: reports.ScoredReturnee) -> dict[str, str]:
        """What does not change between a returnee's surveys: country, chat app and
        profile attributes (computed once per returnee)."""
        groups: dict[str, str] = {}
        if person.country:
            groups["country"] = person.country
        if person.channel:
            groups["channel"] = person.channel
        for attribute in self.programme.attributes:
            value = person.profile.get(attribute.id)
            if attribute.kind == "choices":
                if value is None:
                    continue  # (not recorded: neither with nor without)
                chosen = set(value)
                for v in attribute.values:
                    key = f"attribute:{attribute.id}={v.id}"
                    groups[key] = WITH if v.id in chosen else WITHOUT
            elif value:
                groups[f"attribute:{attribute.id}"] = str(value)
        return groups

    def survey(
        self, person: reports.ScoredReturnee, completed: datetime, profile: dict[str, str]
    ) -> dict[str, str]:
        """A survey's groups: ``profile`` (:meth:`profile`), the months since return and
        the assistance received by the day it was completed."""
        day = completed.date()
        kinds, levels = set(), set()
        for kind, level, status, start in person.assistance:
            if status == "delivered" and (start is None or start <= day):
                kinds.add(kind)
                levels.add(level)
        key = (frozenset(kinds), frozenset(levels))
        received = self._received.get(key)
        if received is None:
            assistance = self.programme.assistance
            received = {f"assistance:{t.id}": WITHOUT for t in assistance.types}
            received.update({f"level:{v.id}": WITHOUT for v in assistance.levels})
            received.update({f"assistance:{kind}": WITH for kind in kinds})
            received.update({f"level:{level}": WITH for level in levels})
            self._received[key] = received
        groups = {**profile, **received}
        band = since_return_band(person.return_date, completed)
        if band:
            groups["since_return"] = band
        return groups


async def read_tables(
    store: Store,
    programme: Programme,
    table: WeightTable,
    selection: reports.Selection,
    actor: str,
    cross: tuple[str, str] | None = None,
) -> ProgrammeTables:
    """Every selected survey scored under ``table``, read once, into the report's cells
    (the read is audited as one aggregate read)."""
    tables = ProgrammeTables(breakdowns(programme), cross)
    grouping = Grouping(programme)
    async for batch in reports.scored_batches(
        store, selection, weights_version=table.version, actor=actor
    ):
        for person in batch:
            profile = grouping.profile(person)
            groups = {
                wave: grouping.survey(person, completed, profile)
                for wave, (_, completed) in person.surveys.items()
            }
            for wave, (scores, _) in person.surveys.items():
                tables.add_survey(wave, scores, groups[wave])
            for before, after in PAIRS:
                if before in person.surveys and after in person.surveys:
                    tables.add_change(
                        (before, after),
                        person.surveys[before][0],
                        person.surveys[after][0],
                        groups[after],  # (as of the later survey)
                    )
    return tables


class ReportWords:
    """The report's words in one language: breakdowns and their values by name."""

    def __init__(self, programme: Programme, language: str = SOURCE_LANGUAGE) -> None:
        self.language = languages().resolved(language).code
        self._ = translations(self.language).gettext
        self.staff = StaffWords(self._)
        self.programme = programme

    def __call__(self, msgid: str, **values: object) -> str:
        text = self._(msgid)
        return text.format(**values) if values else text

    def period(self, period: str) -> str:
        if period in WAVES:
            return self.staff.wave(period)
        before, _, after = period.partition("-")
        return self._("from {before} to {after}").format(
            before=self.staff.wave(before), after=self.staff.wave(after)
        )

    def breakdown(self, breakdown: str) -> str:
        kind, _, rest = breakdown.partition(":")
        if kind == "country":
            return self._("Country")
        if kind == "channel":
            return self._("Chat app")
        if kind == "since_return":
            return self._("Months since return")
        if kind == "assistance":
            found = self.programme.assistance.type(rest)
            return self._("Assistance: {name}").format(
                name=found.text(self.language) if found else rest
            )
        if kind == "level":
            level = next((v for v in self.programme.assistance.levels if v.id == rest), None)
            return self._("Assistance level: {name}").format(
                name=level.text(self.language) if level else rest
            )
        attribute_id, _, value_id = rest.partition("=")
        attribute = self.programme.attribute(attribute_id)
        name = attribute.text(self.language) if attribute else attribute_id
        if value_id:
            value = attribute.value_text(value_id, self.language) if attribute else value_id
            return f"{name}: {value}"
        return name

    def value(self, breakdown: str, value: str) -> str:
        if value == UNKNOWN:
            return self._("not recorded")
        if value == WITH:
            return self._("with") if not breakdown.startswith("assistance:") else self._("received")
        if value == WITHOUT:
            if breakdown.startswith("assistance:"):
                return self._("not received")
            return self._("without")
        kind, _, rest = breakdown.partition(":")
        if kind == "country":
            return country_name(value, self.language)
        if kind == "channel":
            return self.staff.channel(value)
        if kind == "since_return":
            return self._("{band} months").format(band=value)
        attribute = self.programme.attribute(rest)
        return attribute.value_text(value, self.language) if attribute else value

    def verdict(self, verdict: str) -> str:
        return self._(
            {
                "within the noise": N_("within the noise"),
                "higher with": N_("higher with"),
                "lower with": N_("lower with"),
            }[verdict]
        )


@dataclass(frozen=True)
class Report:
    """The report's tables with what they need to be read."""

    tables: list[Table]
    k: int
    words: ReportWords
    weights_note: str
    #: the selection in words (country, dates), for titles
    selection: str


def build(tables: ProgrammeTables, k: int, words: ReportWords, note: str, selection: str) -> Report:
    return Report(tables.tables(k), k, words, note, selection)


def weights_status(table: WeightTable, words: ReportWords) -> str:
    """Whether the scores use the official weights, on every page of the report."""
    if table.provisional_weights:
        return words(
            N_(
                "Scores are indicative: {provisional} of the {total} weights are provisional "
                "until the official weight table is loaded."
            ),
            provisional=table.provisional_weights,
            total=len(table.elements),
        )
    return words(N_("Scores use the official weight table ({version})."), version=table.version)


def _figure_cells(row: Any, hidden_text: str) -> list[Any]:
    cells: list[Any] = []
    for score in SCORES:
        figure = row.figures.get(score)
        if row.hidden:
            cells += [hidden_text, None, None, None]
        elif figure is None:
            cells += [None, None, None, None]
        else:
            cells += [figure.mean, figure.median, figure.low, figure.high]
    return cells


def table_rows(report: Report, kind: str) -> Iterable[list[Any]]:
    """The rows of the workbook's sheet of ``kind`` ("wave" or "change") tables."""
    w = report.words
    hidden_text = w(N_("not shown (n<{k} or its complement)"), k=report.k)
    for table in report.tables:
        if table.kind != kind:
            continue
        title = " × ".join(w.breakdown(b) for b in table.by)
        for row in [table.total, *table.rows]:
            values = (
                [w.value(b, v) for b, v in zip(table.by, row.values, strict=True)]
                if row.values
                else [w(N_("all"))]
            )
            n: Any = row.n if not row.hidden else hidden_text
            line = [w.period(table.period), title, " × ".join(values), n]
            line += _figure_cells(row, hidden_text)
            if kind == "wave":
                line += [row.lowest.get(d) if not row.hidden else None for d in SCORES[:3]]
            yield line


def difference_rows(report: Report) -> Iterable[list[Any]]:
    w = report.words
    for table in report.tables:
        for d in table.differences:
            yield [
                w.period(table.period),
                w.breakdown(table.by[0]),
                w.staff.dimension(d.score),
                table.rows[0].n,
                table.rows[1].n,
                d.difference,
                d.low,
                d.high,
                w.verdict(d.verdict),
            ]


def write_workbook(report: Report, path: Path) -> None:
    """The report as one XLSX: an explanation sheet, the waves, the changes, and the
    comparisons of those with and without each characteristic."""
    w = report.words
    book = Workbook(write_only=True)
    about = book.create_sheet(w(N_("About")))
    for paragraph in explanation(report):
        about.append([paragraph])
    figures_header = [w(N_("period")), w(N_("breakdown")), w(N_("group")), "n"]
    for score in SCORES:
        name = w.staff.dimension(score)
        figures_header += [
            w(N_("{score}: mean"), score=name),
            w(N_("{score}: median"), score=name),
            w(N_("{score}: 95% interval, low"), score=name),
            w(N_("{score}: 95% interval, high"), score=name),
        ]
    lowest = [w(N_("lowest: {dimension}"), dimension=w.staff.dimension(d)) for d in SCORES[:3]]
    sheets: list[tuple[str, str, list[str]]] = [
        (w(N_("Waves")), "wave", lowest),
        (w(N_("Changes between waves")), "change", []),
    ]
    for title, kind, extra in sheets:
        sheet = book.create_sheet(title)
        sheet.append([report.weights_note])
        sheet.append([*figures_header, *extra])
        for line in table_rows(report, kind):
            sheet.append(line)
    comparisons = book.create_sheet(w(N_("With and without")))
    comparisons.append([report.weights_note])
    comparisons.append(
        [
            w(N_("period")),
            w(N_("breakdown")),
            w(N_("score")),
            w(N_("n with")),
            w(N_("n without")),
            w(N_("difference of means (with - without)")),
            w(N_("95% interval, low")),
            w(N_("95% interval, high")),
            w(N_("reading")),
        ]
    )
    for line in difference_rows(report):
        comparisons.append(line)
    book.save(path)


def explanation(report: Report) -> list[str]:
    """The workbook's first sheet: what each table is and how to read it."""
    w = report.words
    return [
        w(N_("Programme report: reintegration scores by assistance and profile")),
        report.selection,
        report.weights_note,
        "",
        w(
            N_(
                "Waves: the scores (0 to 1) of the surveys completed at each wave, for all "
                "returnees and broken down by country, chat app, months since return, each "
                "profile attribute, each assistance type received or not and each assistance "
                "level. Each row gives n, the mean, the median and the {method}, and the "
                "share of returnees whose lowest dimension is each dimension."
            ),
            method=w(INTERVAL_METHOD),
        ),
        w(
            N_(
                "Changes between waves: for the returnees who completed both waves, the change "
                "of each score (later minus earlier; positive is better), with the same "
                "figures."
            )
        ),
        w(
            N_(
                "With and without: the difference of the mean scores of those with a "
                "characteristic and those without, with the {method}. When the interval "
                "contains zero the difference is within the noise."
            ),
            method=w(DIFFERENCE_METHOD),
        ),
        w(
            N_(
                "These comparisons are observational: returnees were not assigned to "
                "assistance at random, so a difference shows an association, not the "
                "effect of the assistance. Read each with its n and its interval."
            )
        ),
        w(
            N_(
                "Assistance counts as received by a survey when it was delivered and had "
                "started by the day the survey was completed."
            )
        ),
        w(
            N_(
                "Disclosure control: a figure built on fewer than {k} returnees is not shown, "
                "nor any figure from which it could be worked out with the totals "
                "(complementary suppression)."
            ),
            k=report.k,
        ),
    ]


def difference_chart(report: Report, period: str) -> Figure | None:
    """The composite's difference with and without each assistance type at ``period``,
    with its interval (a forest plot); None when no difference can be shown."""
    w = report.words
    rows = [
        (w.breakdown(t.by[0]), d)
        for t in report.tables
        if t.period == period and t.by[0].startswith("assistance:")
        for d in t.differences
        if d.score == "composite"
    ]
    if not rows:
        return None
    fig = Figure(figsize=(7.5, 0.45 * len(rows) + 1.8), layout="constrained")
    ax = fig.subplots()
    y = list(range(len(rows)))
    for i, (_, d) in enumerate(rows):
        colour = "#888888" if d.within_noise else ("#1b9e77" if d.difference > 0 else "#d95f02")
        ax.plot([d.low, d.high], [i, i], color=colour, linewidth=2)
        ax.plot([d.difference], [i], marker="o", color=colour)
    ax.axvline(0, color="#333333", linewidth=0.8)
    ax.set_yticks(y, [name for name, _ in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(w(N_("composite: received minus not received (95% interval)")), fontsize=8)
    ax.set_title(
        w(N_("Composite with and without each assistance, {period}"), period=w.period(period)),
        fontsize=10,
    )
    fig.supxlabel(report.weights_note, fontsize=7, wrap=True)
    return fig


def charts(report: Report) -> dict[str, tuple[bytes, bytes]]:
    """Each chart as PNG and SVG bytes, by name (``differences-initial``...)."""
    out: dict[str, tuple[bytes, bytes]] = {}
    for period in [*WAVES, *(period_of(p) for p in PAIRS)]:
        fig = difference_chart(report, period)
        if fig is None:
            continue
        png, svg = io.BytesIO(), io.BytesIO()
        fig.savefig(png, format="png", dpi=120)
        fig.savefig(svg, format="svg")
        out[f"differences-{period}"] = (png.getvalue(), svg.getvalue())
    return out


def write_pack(report: Report, folder: Path) -> list[Path]:
    """The evaluation pack in ``folder``: the workbook and each chart as PNG and SVG."""
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "programme-report.xlsx"]
    write_workbook(report, written[0])
    for name, (png, svg) in charts(report).items():
        for suffix, data in ((".png", png), (".svg", svg)):
            path = folder / f"{name}{suffix}"
            path.write_bytes(data)
            written.append(path)
    return written


def as_data(report: Report) -> dict[str, Any]:
    """The report as plain data (the console's page reads it from the child process)."""

    def row(r: Any) -> dict[str, Any]:
        return {
            "values": list(r.values),
            "n": None if r.hidden else r.n,
            "hidden": r.hidden,
            "figures": {s: [f.mean, f.median, f.low, f.high] for s, f in r.figures.items()},
            "lowest": r.lowest,
        }

    return {
        "k": report.k,
        "weights_note": report.weights_note,
        "tables": [
            {
                "period": t.period,
                "kind": t.kind,
                "by": list(t.by),
                "total": row(t.total),
                "rows": [row(r) for r in t.rows],
                "differences": [
                    [d.score, d.difference, d.low, d.high, d.verdict] for d in t.differences
                ],
            }
            for t in report.tables
        ],
    }


def breakdown_choices(programme: Programme, words: ReportWords) -> list[tuple[str, str]]:
    """Every breakdown id with its name, for the console's choice of a cross."""
    return [(b.id, words.breakdown(b.id)) for b in breakdowns(programme)]
