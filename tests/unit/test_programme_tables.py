"""The programme tables' figures against a calculation written here: the statistics
module's means and medians, scipy's t interval and Welch test, paired changes."""

from __future__ import annotations

import random
import statistics

import pytest
from scipy import stats as scipy_stats

from scoring.programme import (
    SCORES,
    WITH,
    WITHOUT,
    Breakdown,
    ProgrammeTables,
    Table,
)

K = 5
BREAKDOWNS = [
    Breakdown("country"),
    Breakdown("sex", ("female", "male")),
    Breakdown("assistance:cash", binary=True),
]


def people(seed: int, n: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        waves = {}
        for wave in ("initial", "intermediate", "final")[: rng.choice((1, 2, 3))]:
            scores = {s: round(rng.random(), 6) for s in SCORES[:3]}
            scores["composite"] = round(sum(scores.values()) / 3, 9)
            scores["lowest_dimension"] = min(SCORES[:3], key=lambda d: scores[d])
            waves[wave] = scores
        out.append(
            {
                "country": rng.choice(["GN", "GN", "ML", "SN"]),
                "sex": rng.choice(["female", "male"]),
                "cash": WITH if i % 3 else WITHOUT,
                "waves": waves,
            }
        )
    return out


def groups(person: dict) -> dict[str, str]:
    return {"country": person["country"], "sex": person["sex"], "assistance:cash": person["cash"]}


def filled(population: list[dict]) -> ProgrammeTables:
    tables = ProgrammeTables(BREAKDOWNS, cross=("sex", "assistance:cash"))
    for person in population:
        for wave, scores in person["waves"].items():
            tables.add_survey(wave, scores, groups(person))
        for pair in (("initial", "intermediate"), ("intermediate", "final"), ("initial", "final")):
            if pair[0] in person["waves"] and pair[1] in person["waves"]:
                tables.add_change(
                    pair, person["waves"][pair[0]], person["waves"][pair[1]], groups(person)
                )
    return tables


def expected_values(population: list[dict], table: Table, values: tuple[str, ...]) -> list[dict]:
    """The scores (or changes) of the people in one cell, computed from scratch."""
    keys = {"country": "country", "sex": "sex", "assistance:cash": "cash"}
    out = []
    for person in population:
        by = table.by if values else ()  # (the total: everyone)
        if any(person[keys[b]] != v for b, v in zip(by, values, strict=True)):
            continue
        if table.kind == "wave":
            if table.period in person["waves"]:
                out.append(person["waves"][table.period])
        else:
            before, after = table.period.split("-")
            if before in person["waves"] and after in person["waves"]:
                a, b = person["waves"][before], person["waves"][after]
                out.append({s: b[s] - a[s] for s in SCORES})
    return out


def check_row(found, cell: list[dict], kind: str) -> None:  # type: ignore[no-untyped-def]
    assert found.n == len(cell)
    for score in SCORES:
        values = [c[score] for c in cell]
        figure = found.figures[score]
        assert figure.mean == pytest.approx(statistics.fmean(values), abs=1e-9)
        assert figure.median == pytest.approx(statistics.median(values), abs=1e-9)
        low, high = scipy_stats.t.interval(
            0.95, len(values) - 1, loc=statistics.fmean(values), scale=scipy_stats.sem(values)
        )
        assert figure.low == pytest.approx(low, abs=1e-9)
        assert figure.high == pytest.approx(high, abs=1e-9)
    if kind == "wave":
        for d in SCORES[:3]:
            share = sum(c["lowest_dimension"] == d for c in cell) / len(cell)
            assert found.lowest[d] == pytest.approx(share, abs=1e-12)


def test_every_figure_matches_a_calculation_from_scratch() -> None:
    population = people(3, 160)
    tables = filled(population).tables(K)
    shown = compared = 0
    for table in tables:
        for row in [table.total, *table.rows]:
            cell = expected_values(population, table, row.values)
            if row.hidden:
                assert row.figures == {}
                continue
            assert row.n == len(cell)
            if len(cell) >= 2:
                check_row(row, cell, table.kind)
                shown += 1
        if table.by == ("assistance:cash",) and table.differences:
            with_cells = expected_values(population, table, (WITH,))
            without = expected_values(population, table, (WITHOUT,))
            for d in table.differences:
                a = [c[d.score] for c in with_cells]
                b = [c[d.score] for c in without]
                test = scipy_stats.ttest_ind(a, b, equal_var=False)
                interval = test.confidence_interval(0.95)
                assert d.difference == pytest.approx(statistics.fmean(a) - statistics.fmean(b))
                assert d.low == pytest.approx(interval.low, abs=1e-9)
                assert d.high == pytest.approx(interval.high, abs=1e-9)
                assert d.within_noise == (interval.low <= 0 <= interval.high)
                compared += 1
    assert shown > 40  # (the comparison covered most cells: the cohort is not all hidden)
    assert compared >= 4 * 4  # (cash against no cash: every score, several periods)


def test_no_figure_is_built_on_fewer_than_k() -> None:
    population = people(5, 40)
    for table in filled(population).tables(K):
        for row in [table.total, *table.rows]:
            if row.figures:
                assert row.n >= K, (table.period, table.by, row.values)
        if table.total.n < K:
            assert all(r.hidden or r.n == 0 for r in [table.total, *table.rows])


def test_a_period_under_k_shows_nothing_at_all() -> None:
    population = people(8, 3)
    for table in filled(population).tables(K):
        assert all(not r.figures for r in [table.total, *table.rows])
        assert not table.differences
