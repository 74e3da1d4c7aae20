"""The programme evaluation's tables: the scores of completed surveys broken down by who
returnees are and the assistance they received, per wave and as paired changes between
waves, with small cells suppressed (:mod:`scoring.disclosure`).

Surveys are added one at a time (:meth:`ProgrammeTables.add_survey`,
:meth:`ProgrammeTables.add_change`); each cell keeps its scores as packed floats (8 bytes
a value: about 100 MB at 100,000 surveys in every breakdown) so that medians are exact.
:meth:`ProgrammeTables.tables` then computes each cell's figures:

- n, mean, median and a 95% confidence interval of the mean, t-based (Student's t with
  n - 1 degrees of freedom: mean ± t · sd / √n; none below n = 2);
- for a wave, the share of returnees whose lowest dimension is each dimension;
- for a breakdown into "with" and "without" (an assistance type received or not, a
  vulnerability recorded or not), the difference of the means with Welch's 95% interval,
  labelled *within the noise* when the interval contains zero. Returnees were not
  assigned to assistance at random: a difference is an association, not an effect.

A *breakdown* splits the surveys of a period (a wave, or a pair of waves for the same
returnees) by one characteristic; a *cross* splits them by two at once, with each side's
breakdown as its margins.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from scoring.disclosure import hidden_cells, one_way_lines, two_way_lines
from scoring.model import DIMENSIONS

SCORES = (*DIMENSIONS, "composite")
WAVES = ("initial", "intermediate", "final")
#: the paired changes: the same returnees' scores at two waves
PAIRS = (("initial", "intermediate"), ("intermediate", "final"), ("initial", "final"))
#: the two cells of a breakdown into those with a characteristic and those without
WITH, WITHOUT = "with", "without"
#: the cell of those for whom a breakdown's value is not recorded (every breakdown's cells
#: then add up to its total, which disclosure control relies on)
UNKNOWN = "unknown"
CONFIDENCE = 0.95


def period_of(pair: tuple[str, str]) -> str:
    """A pair of waves as a period's name: ``initial-final``."""
    return f"{pair[0]}-{pair[1]}"


@dataclass(frozen=True)
class Breakdown:
    """One way of splitting returnees: ``values`` in the order shown (None: the values
    met, sorted, e.g. countries); ``binary``: into :data:`WITH` and :data:`WITHOUT`."""

    id: str
    values: tuple[str, ...] | None = None
    binary: bool = False

    def ordered(self, met: set[str]) -> list[str]:
        unknown = [UNKNOWN] if UNKNOWN in met else []
        met = met - {UNKNOWN}
        if self.binary:
            return [WITH, WITHOUT, *unknown]
        if self.values is None:
            return [*sorted(met), *unknown]
        return [*self.values, *sorted(met - set(self.values)), *unknown]


@dataclass
class _Cell:
    values: dict[str, array[float]] = field(default_factory=lambda: {s: array("d") for s in SCORES})
    lowest: Counter[str] = field(default_factory=Counter)
    n: int = 0

    def add(self, scores: Mapping[str, float], lowest: str | None) -> None:
        self.n += 1
        for key in SCORES:
            self.values[key].append(float(scores[key]))
        if lowest:
            self.lowest[lowest] += 1


@dataclass(frozen=True)
class Figure:
    """One score in one cell."""

    mean: float
    median: float
    #: the 95% interval of the mean (None for n < 2)
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Row:
    """One cell of a table: its value(s) (one per side of a cross; () for the total), n,
    and, unless ``hidden``, its figures."""

    values: tuple[str, ...]
    n: int
    hidden: bool
    figures: dict[str, Figure] = field(default_factory=dict)
    #: dimension -> share of the cell's returnees for whom it is the lowest (waves only)
    lowest: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Difference:
    """Those with a characteristic against those without, for one score."""

    score: str
    difference: float
    low: float
    high: float

    @property
    def within_noise(self) -> bool:
        return self.low <= 0.0 <= self.high

    @property
    def verdict(self) -> str:
        if self.within_noise:
            return "within the noise"
        return "higher with" if self.difference > 0 else "lower with"


@dataclass(frozen=True)
class Table:
    #: a wave, or a pair of waves (``initial-final``) for changes
    period: str
    kind: str  # "wave" or "change"
    #: the breakdown's id, or both for a cross
    by: tuple[str, ...]
    rows: list[Row]
    total: Row
    #: binary breakdowns: with against without, per score (none when a side is hidden)
    differences: list[Difference] = field(default_factory=list)

    @property
    def hidden(self) -> int:
        return sum(r.hidden for r in self.rows)


def interval(values: np.ndarray) -> tuple[float | None, float | None]:
    """The t-based 95% interval of the mean of ``values`` (None, None below two)."""
    n = len(values)
    if n < 2:
        return None, None
    mean = float(values.mean())
    half = (
        float(scipy_stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1))
        * float(values.std(ddof=1))
        / math.sqrt(n)
    )
    return mean - half, mean + half


def welch(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float] | None:
    """mean(a) - mean(b) and Welch's 95% interval; None when a side has fewer than two."""
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
        return None
    va, vb = float(a.var(ddof=1)) / na, float(b.var(ddof=1)) / nb
    difference = float(a.mean()) - float(b.mean())
    se = math.sqrt(va + vb)
    if se == 0:
        return difference, difference, difference
    df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
    half = float(scipy_stats.t.ppf(0.5 + CONFIDENCE / 2, df)) * se
    return difference, difference - half, difference + half


class ProgrammeTables:
    """Accumulates surveys into the cells of each period's breakdowns (and of one cross)."""

    def __init__(
        self, breakdowns: Sequence[Breakdown], cross: tuple[str, str] | None = None
    ) -> None:
        self.breakdowns = {b.id: b for b in breakdowns}
        if cross is not None and (cross[0] == cross[1] or not set(cross) <= set(self.breakdowns)):
            raise ValueError(f"cannot cross {cross[0]} with {cross[1]}")
        self.cross = cross
        self._cells: dict[tuple[str, ...], _Cell] = {}
        self._met: dict[str, set[str]] = {b: set() for b in self.breakdowns}

    def _cell(self, key: tuple[str, ...]) -> _Cell:
        cell = self._cells.get(key)
        if cell is None:
            cell = self._cells[key] = _Cell()
        return cell

    def _add(
        self,
        period: str,
        scores: Mapping[str, float],
        lowest: str | None,
        groups: Mapping[str, str],
    ) -> None:
        self._cell((period,)).add(scores, lowest)
        for b in self.breakdowns:
            value = groups.get(b) or UNKNOWN
            self._met[b].add(value)
            self._cell((period, b, value)).add(scores, lowest)
        if self.cross is not None:
            a, b = self.cross
            x, y = groups.get(a) or UNKNOWN, groups.get(b) or UNKNOWN
            self._cell((period, a, x, b, y)).add(scores, lowest)

    def add_survey(self, wave: str, scores: Mapping[str, Any], groups: Mapping[str, str]) -> None:
        """One scored survey of ``wave``; ``groups``: breakdown id -> the survey's
        value in it (a breakdown it has no value in: :data:`UNKNOWN`)."""
        if wave in WAVES and all(scores.get(k) is not None for k in SCORES):
            self._add(wave, scores, scores.get("lowest_dimension"), groups)

    def add_change(
        self,
        pair: tuple[str, str],
        before: Mapping[str, Any],
        after: Mapping[str, Any],
        groups: Mapping[str, str],
    ) -> None:
        """One returnee scored at both waves of ``pair``: the change of each score."""
        if all(before.get(k) is not None and after.get(k) is not None for k in SCORES):
            change = {k: float(after[k]) - float(before[k]) for k in SCORES}
            self._add(period_of(pair), change, None, groups)

    def n(self, period: str) -> int:
        cell = self._cells.get((period,))
        return cell.n if cell else 0

    def tables(self, k: int) -> list[Table]:
        """Every table of every period, cells under ``k`` (and their complements)
        hidden: a period with fewer than ``k`` returnees shows no figure at all."""
        out: list[Table] = []
        periods = [(w, "wave") for w in WAVES] + [(period_of(p), "change") for p in PAIRS]
        for period, kind in periods:
            hidden = self._hidden(period, k)
            for b in self.breakdowns.values():
                out.append(self._table(period, kind, (b.id,), hidden))
            if self.cross is not None:
                out.append(self._table(period, kind, self.cross, hidden))
        return out

    def _values(self, b: str) -> list[str]:
        return self.breakdowns[b].ordered(self._met[b])

    def _hidden(self, period: str, k: int) -> set[Any]:
        total: tuple[str, ...] = (period,)
        counts: dict[tuple[str, ...], int] = {
            key: cell.n for key, cell in self._cells.items() if key[0] == period
        }
        counts.setdefault(total, 0)
        lines: list[Sequence[tuple[str, ...]]] = []
        for b in self.breakdowns:
            lines += one_way_lines(total, [(period, b, v) for v in self._values(b)])
        if self.cross is not None:
            a, b = self.cross
            rows: dict[tuple[str, ...], list[tuple[str, ...]]] = {
                (period, a, x): [(period, a, x, b, y) for y in self._values(b)]
                for x in self._values(a)
            }
            columns: dict[tuple[str, ...], list[tuple[str, ...]]] = {
                (period, b, y): [(period, a, x, b, y) for x in self._values(a)]
                for y in self._values(b)
            }
            lines += two_way_lines(total, rows, columns)
        hidden = hidden_cells(counts, lines, k)
        if 0 < counts[total] < k:  # (a period under k: nothing at all, not even its zeros)
            hidden |= set(counts)
        return hidden

    def _row(self, key: tuple[str, ...], values: tuple[str, ...], hidden: set[Any]) -> Row:
        cell = self._cells.get(key)
        n = cell.n if cell else 0
        if cell is None or key in hidden or n == 0:
            return Row(values, n, key in hidden)
        figures = {}
        for score in SCORES:
            data = np.frombuffer(cell.values[score], dtype=np.float64)
            low, high = interval(data)
            figures[score] = Figure(float(data.mean()), float(np.median(data)), low, high)
        lowest: dict[str, float] = {}
        if cell.lowest:
            lowest = {d: cell.lowest[d] / n for d in DIMENSIONS}
        return Row(values, n, False, figures, lowest)

    def _table(self, period: str, kind: str, by: tuple[str, ...], hidden: set[Any]) -> Table:
        total = self._row((period,), (), hidden)
        if len(by) == 1:
            b = by[0]
            rows = [self._row((period, b, v), (v,), hidden) for v in self._values(b)]
        else:
            a, b = by
            rows = [
                self._row((period, a, x, b, y), (x, y), hidden)
                for x in self._values(a)
                for y in self._values(b)
            ]
        differences: list[Difference] = []
        if len(by) == 1 and self.breakdowns[by[0]].binary and not any(r.hidden for r in rows):
            cells = [self._cells.get((period, by[0], v)) for v in (WITH, WITHOUT)]
            if all(cells):
                for score in SCORES:
                    a_values, b_values = (
                        np.frombuffer(c.values[score], dtype=np.float64)  # type: ignore[union-attr]
                        for c in cells
                    )
                    found = welch(a_values, b_values)
                    if found is not None:
                        differences.append(Difference(score, *found))
        return Table(period, kind, by, rows, total, differences)
