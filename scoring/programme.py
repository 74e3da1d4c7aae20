"""The programme evaluation's tables: the scores of completed surveys broken down by who
returnees are and the assistance they received, per wave and as paired changes between
waves, with small cells suppressed (:mod:`scoring.disclosure`).

Surveys are added one at a time (:meth:`ProgrammeTables.add_survey`,
:meth:`ProgrammeTables.add_change`) as rows of packed arrays (their scores once, and a
small code per breakdown), so that medians are exact and memory stays small;
:meth:`ProgrammeTables.tables` then computes each cell's figures with numpy:

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


#: every period a table is about: the waves, then the pairs of waves
PERIODS = (*WAVES, *(period_of(p) for p in PAIRS))


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


@dataclass(frozen=True)
class _Cell:
    """The surveys (or changes) of one cell: their scores, one column per score."""

    scores: np.ndarray
    #: how many have each dimension as their lowest, in :data:`DIMENSIONS`' order
    lowest: np.ndarray

    @property
    def n(self) -> int:
        return int(self.scores.shape[0])


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


def _t(df: float) -> float:
    """Student's t quantile of the intervals (scipy loaded on first use: the console and
    the command line import this module for its names)."""
    from scipy.special import stdtrit  # (not scipy.stats: a second to load)

    return float(stdtrit(df, 0.5 + CONFIDENCE / 2))


def interval(values: np.ndarray) -> tuple[float | None, float | None]:
    """The t-based 95% interval of the mean of ``values`` (None, None below two)."""
    n = len(values)
    if n < 2:
        return None, None
    mean = float(values.mean())
    half = _t(n - 1) * float(values.std(ddof=1)) / math.sqrt(n)
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
    half = _t(df) * se
    return difference, difference - half, difference + half


class ProgrammeTables:
    """Accumulates surveys (one row each: its period, scores, lowest dimension and its
    value in each breakdown, packed in arrays: about 100 bytes a row with the built-in
    breakdowns), then computes each period's cells with numpy."""

    def __init__(
        self, breakdowns: Sequence[Breakdown], cross: tuple[str, str] | None = None
    ) -> None:
        self.breakdowns = {b.id: b for b in breakdowns}
        if cross is not None and (cross[0] == cross[1] or not set(cross) <= set(self.breakdowns)):
            raise ValueError(f"cannot cross {cross[0]} with {cross[1]}")
        self.cross = cross
        self._period = array("b")
        self._scores = array("d")  # (len(SCORES) a row)
        self._lowest = array("b")  # (an index in DIMENSIONS; -1: none)
        self._order = list(self.breakdowns)
        #: each row's value in each breakdown, as codes (len(self._order) a row)
        self._codes = array("h")
        #: each breakdown's values met: value -> code, and code -> value
        self._code_of: dict[str, dict[str, int]] = {b: {} for b in self.breakdowns}
        self._values_met: dict[str, list[str]] = {b: [] for b in self.breakdowns}
        #: the codes of each combination of values met (few: rows share them)
        self._encoded: dict[tuple[str, ...], tuple[int, ...]] = {}
        self._count: Counter[str] = Counter()

    def _code(self, breakdown: str, value: str) -> int:
        codes = self._code_of[breakdown]
        code = codes.get(value)
        if code is None:
            code = codes[value] = len(codes)
            self._values_met[breakdown].append(value)
        return code

    def _add(
        self,
        period: str,
        scores: Mapping[str, float],
        lowest: str | None,
        groups: Mapping[str, str],
    ) -> None:
        self._count[period] += 1
        self._period.append(PERIODS.index(period))
        self._scores.extend([float(scores[key]) for key in SCORES])
        self._lowest.append(DIMENSIONS.index(lowest) if lowest in DIMENSIONS else -1)
        values = tuple([groups.get(b) or UNKNOWN for b in self._order])
        codes = self._encoded.get(values)
        if codes is None:
            codes = tuple(self._code(b, v) for b, v in zip(self._order, values, strict=True))
            self._encoded[values] = codes
        self._codes.extend(codes)

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
        return self._count[period]

    def _cells_of(self, period: str) -> dict[tuple[str, ...], _Cell]:
        """The non-empty cells of one period, keyed ``(period,)`` for its total,
        ``(period, breakdown, value)`` and ``(period, a, x, b, y)`` for the cross."""
        rows = np.flatnonzero(np.frombuffer(self._period, dtype=np.int8) == PERIODS.index(period))
        scores = np.frombuffer(self._scores, dtype=np.float64).reshape(-1, len(SCORES))[rows]
        lowest = np.frombuffer(self._lowest, dtype=np.int8)[rows]

        def cell(mask: np.ndarray | None) -> _Cell:
            chosen = lowest if mask is None else lowest[mask]
            counts = np.bincount(chosen[chosen >= 0], minlength=len(DIMENSIONS))
            return _Cell(scores if mask is None else scores[mask], counts)

        cells: dict[tuple[str, ...], _Cell] = {(period,): cell(None)} if len(rows) else {}
        table = np.frombuffer(self._codes, dtype=np.int16).reshape(-1, len(self._order))[rows]
        codes = {b: table[:, i] for i, b in enumerate(self._order)}
        for b, values in self._values_met.items():
            for code, value in enumerate(values):
                mask = codes[b] == code
                if mask.any():
                    cells[(period, b, value)] = cell(mask)
        if self.cross is not None:
            a, b = self.cross
            for x_code, x in enumerate(self._values_met[a]):
                for y_code, y in enumerate(self._values_met[b]):
                    mask = (codes[a] == x_code) & (codes[b] == y_code)
                    if mask.any():
                        cells[(period, a, x, b, y)] = cell(mask)
        return cells

    def tables(self, k: int) -> list[Table]:
        """Every table of every period, cells under ``k`` (and their complements)
        hidden: a period with fewer than ``k`` returnees shows no figure at all."""
        out: list[Table] = []
        periods = [(w, "wave") for w in WAVES] + [(period_of(p), "change") for p in PAIRS]
        for period, kind in periods:
            cells = self._cells_of(period)
            hidden = self._hidden(period, cells, k)
            for b in self.breakdowns.values():
                out.append(self._table(period, kind, (b.id,), cells, hidden))
            if self.cross is not None:
                out.append(self._table(period, kind, self.cross, cells, hidden))
        return out

    def _values(self, b: str) -> list[str]:
        return self.breakdowns[b].ordered(set(self._values_met[b]))

    def _hidden(self, period: str, cells: dict[tuple[str, ...], _Cell], k: int) -> set[Any]:
        total: tuple[str, ...] = (period,)
        counts: dict[tuple[str, ...], int] = {key: cell.n for key, cell in cells.items()}
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

    def _row(
        self,
        key: tuple[str, ...],
        values: tuple[str, ...],
        cells: dict[tuple[str, ...], _Cell],
        hidden: set[Any],
    ) -> Row:
        cell = cells.get(key)
        n = cell.n if cell else 0
        if cell is None or key in hidden or n == 0:
            return Row(values, n, key in hidden)
        figures = {}
        for i, score in enumerate(SCORES):
            data = cell.scores[:, i]
            low, high = interval(data)
            figures[score] = Figure(float(data.mean()), float(np.median(data)), low, high)
        lowest: dict[str, float] = {}
        if cell.lowest.any():
            lowest = {d: int(cell.lowest[i]) / n for i, d in enumerate(DIMENSIONS)}
        return Row(values, n, False, figures, lowest)

    def _table(
        self,
        period: str,
        kind: str,
        by: tuple[str, ...],
        cells: dict[tuple[str, ...], _Cell],
        hidden: set[Any],
    ) -> Table:
        total = self._row((period,), (), cells, hidden)
        if len(by) == 1:
            b = by[0]
            rows = [self._row((period, b, v), (v,), cells, hidden) for v in self._values(b)]
        else:
            a, b = by
            rows = [
                self._row((period, a, x, b, y), (x, y), cells, hidden)
                for x in self._values(a)
                for y in self._values(b)
            ]
        differences: list[Difference] = []
        if len(by) == 1 and self.breakdowns[by[0]].binary and not any(r.hidden for r in rows):
            sides = [cells.get((period, by[0], v)) for v in (WITH, WITHOUT)]
            for i, score in enumerate(SCORES):
                if sides[0] is None or sides[1] is None:
                    break
                found = welch(sides[0].scores[:, i], sides[1].scores[:, i])
                if found is not None:
                    differences.append(Difference(score, *found))
        return Table(period, kind, by, rows, total, differences)
