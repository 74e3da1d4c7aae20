"""The programme report on a seeded cohort (several countries, profiles and assistance
types, three waves): every figure of the breakdowns checked here is computed again in
the test from the surveys as the export reads them (statistics, scipy), to 1e-9."""

from __future__ import annotations

import statistics
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from scipy import stats as scipy_stats

from bot import programme_report
from bot.programme import load_programme
from scoring import default_weight_table
from scoring.programme import SCORES, WITH, WITHOUT
from storage import reports
from storage.store import Store
from tests.support.programme import Seeded, cohort, seed

K = 5


def months_between(returned: date, completed: datetime) -> int:
    day = completed.date()
    return (day.year - returned.year) * 12 + day.month - returned.month - (day.day < returned.day)


def band(months: int) -> str:
    for low, high in ((0, 2), (3, 5), (6, 8), (9, 11), (12, 17)):
        if low <= months <= high:
            return f"{low}-{high}"
    return "18+"


def value_of(person: Seeded, breakdown: str, completed: datetime) -> str | None:
    """The person's group in a breakdown, from what the test seeded."""
    day = completed.date()
    received = {t for t, _, st, start in person.assistance if st == "delivered" and start <= day}
    levels = {lv for t, lv, st, start in person.assistance if st == "delivered" and start <= day}
    if breakdown == "country":
        return person.country
    if breakdown == "attribute:sex":
        return person.sex
    if breakdown == "attribute:vulnerabilities=disability":
        return WITH if person.vulnerable else WITHOUT
    if breakdown.startswith("assistance:"):
        return WITH if breakdown.split(":")[1] in received else WITHOUT
    if breakdown.startswith("level:"):
        return WITH if breakdown.split(":")[1] in levels else WITHOUT
    if breakdown == "since_return":
        return band(months_between(person.returned, completed))
    raise AssertionError(breakdown)


CHECKED = (
    "country",
    "attribute:sex",
    "attribute:vulnerabilities=disability",
    "assistance:cash",
    "assistance:counselling",
    "assistance:housing",
    "level:community",
    "since_return",
)


def check(row, values: list[float]) -> None:  # type: ignore[no-untyped-def]
    mean = statistics.fmean(values)
    assert row.n == len(values)
    if row.hidden:
        return
    figure = row.figures[SCORE]
    assert figure.mean == pytest.approx(mean, abs=1e-9)
    assert figure.median == pytest.approx(statistics.median(values), abs=1e-9)
    low, high = scipy_stats.t.interval(
        0.95, len(values) - 1, loc=mean, scale=scipy_stats.sem(values)
    )
    assert (figure.low, figure.high) == (
        pytest.approx(low, abs=1e-9),
        pytest.approx(high, abs=1e-9),
    )


SCORE = "composite"


async def test_the_report_matches_a_calculation_from_the_surveys(store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    people = cohort()
    await seed(store, people)
    programme = load_programme()
    table = default_weight_table()
    tables = await programme_report.read_tables(
        store, programme, table, reports.Selection(), "test", ("assistance:cash", "attribute:sex")
    )
    built = tables.tables(K)

    # the surveys and their scores as the export reads them, keyed by case reference
    surveys = await reports.completed_surveys(
        store,
        reports.Selection(),
        weights_version=table.version,
        actor="test",
        action=None,
        include_case_ref=True,
    )
    by_case = {p.case_ref: p for p in people}
    scored = [(by_case[s.case_ref or ""], s) for s in surveys if s.scores]
    checked = 0
    for t in built:
        if t.kind == "wave":
            members = [(p, s.scores, s.completed_at) for p, s in scored if s.wave == t.period]
        else:
            before, after = t.period.split("-")
            waves = {(p.case_ref, s.wave): s for p, s in scored}
            members = [
                (
                    p,
                    {
                        k: waves[(p.case_ref, after)].scores[k]
                        - waves[(p.case_ref, before)].scores[k]
                        for k in SCORES
                    },  # type: ignore[index]
                    waves[(p.case_ref, after)].completed_at,
                )
                for p in people
                if (p.case_ref, before) in waves and (p.case_ref, after) in waves
            ]
        assert t.total.n == len(members)
        if not t.total.hidden and len(members) >= 2:
            check(t.total, [m[1][SCORE] for m in members])
            checked += 1
        if t.by[0] not in CHECKED or (len(t.by) == 2 and t.by[1] not in CHECKED):
            continue
        for row in t.rows:
            cell = [
                m[1][SCORE]
                for m in members
                if all(value_of(m[0], b, m[2]) == v for b, v in zip(t.by, row.values, strict=True))
            ]
            assert row.n == len(cell), (t.period, t.by, row.values)
            if len(cell) >= 2:
                check(row, cell)
                checked += not row.hidden
        for d in t.differences:
            if d.score != SCORE:
                continue
            groups = [
                [m[1][SCORE] for m in members if value_of(m[0], t.by[0], m[2]) == side]
                for side in (WITH, WITHOUT)
            ]
            interval = scipy_stats.ttest_ind(*groups, equal_var=False).confidence_interval(0.95)
            assert d.difference == pytest.approx(
                statistics.fmean(groups[0]) - statistics.fmean(groups[1]), abs=1e-9
            )
            assert (d.low, d.high) == (
                pytest.approx(interval.low, abs=1e-9),
                pytest.approx(interval.high, abs=1e-9),
            )
            checked += 1
    assert checked > 60
    # a figure on fewer than K returnees is never shown, in any table
    for t in built:
        for row in [t.total, *t.rows]:
            assert not row.figures or row.n >= K

    # the pack: a workbook whose every sheet says the weights' status, and the charts
    words = programme_report.ReportWords(programme)
    report = programme_report.build(
        tables, K, words, programme_report.weights_status(table, words), "all"
    )
    written = programme_report.write_pack(report, tmp_path / "pack")
    book = load_workbook(written[0], read_only=True)
    assert book.sheetnames == ["About", "Waves", "Changes between waves", "With and without"]
    for sheet in book.worksheets:
        first = [c.value for c in next(sheet.iter_rows(max_row=3))]
        text = " ".join(str(v) for row in sheet.iter_rows(max_row=3, values_only=True) for v in row)
        assert "24 of the 30 weights are provisional" in text, (sheet.title, first)
    about = " ".join(str(r[0]) for r in book["About"].iter_rows(values_only=True) if r[0])
    assert "observational" in about and "not assigned to assistance at random" in about
    assert any(p.suffix == ".svg" for p in written) and any(p.suffix == ".png" for p in written)
