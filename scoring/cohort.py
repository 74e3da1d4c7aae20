"""Cohort statistics of stored scores, accumulated one returnee at a time (memory does
not grow with the cohort): per wave, the distribution of each dimension and of the
composite, each dimension's mean, how often each dimension is the lowest, and the
movement of the composite between consecutive waves for the same returnees.

:meth:`CohortStats.disclose` hides what fewer than *k* returnees are behind
(:mod:`scoring.disclosure`): a whole wave or pair of waves under *k*, and within the
others the histogram bars, lowest-dimension counts and movement counts under *k* with
their complements. :meth:`CohortStats.summary` and the charts then leave them out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from scoring.disclosure import hidden_cells, one_way_lines
from scoring.model import DIMENSIONS

SCORES = (*DIMENSIONS, "composite")
WAVE_ORDER = ("initial", "intermediate", "final")
#: histogram bins: [0, 0.1), [0.1, 0.2) ... [0.9, 1.0]
BINS = 10
#: a change of the composite smaller than this is "stable"
STABLE = 0.05


def _bin(value: float) -> int:
    return min(int(value * BINS), BINS - 1)


@dataclass
class WaveStats:
    #: score -> counts per bin
    histogram: dict[str, list[int]] = field(default_factory=lambda: {k: [0] * BINS for k in SCORES})
    total: Counter[str] = field(default_factory=Counter)
    sums: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SCORES, 0.0))
    lowest: Counter[str] = field(default_factory=Counter)
    surveys: int = 0

    def n(self, key: str) -> int:
        return self.total[key]

    def mean(self, key: str) -> float | None:
        return self.sums[key] / self.total[key] if self.total[key] else None

    def lowest_share(self, dimension: str) -> float:
        counted = sum(self.lowest.values())
        return self.lowest[dimension] / counted if counted else 0.0


@dataclass
class Movement:
    """Composite between two waves for the returnees scored at both."""

    improved: int = 0
    stable: int = 0
    declined: int = 0
    before_sum: float = 0.0
    after_sum: float = 0.0

    @property
    def n(self) -> int:
        return self.improved + self.stable + self.declined


@dataclass
class CohortStats:
    waves: dict[str, WaveStats] = field(
        default_factory=lambda: {w: WaveStats() for w in WAVE_ORDER}
    )
    movements: dict[tuple[str, str], Movement] = field(
        default_factory=lambda: {pair: Movement() for pair in pairwise(WAVE_ORDER)}
    )
    #: the minimum cell size applied by :meth:`disclose` (None: everything shown)
    k: int | None = None
    #: what is not shown: ``(wave,)``, ``(wave, score, bin)``, ``(wave, dimension)``,
    #: ``(before, after)``, ``(before, after, outcome)``
    hidden: set[tuple[Any, ...]] = field(default_factory=set)

    def disclose(self, k: int) -> None:
        """Hide every figure fewer than ``k`` returnees are behind, and the complements
        that keep it from being worked out from the totals shown."""
        self.k, self.hidden = k, set()
        for wave, stats in self.waves.items():
            if 0 < stats.surveys < k or 0 < stats.n("composite") < k:
                self.hidden.add((wave,))
                continue
            for key in SCORES:
                bins = [(wave, key, i) for i in range(BINS)]
                counts: dict[tuple[Any, ...], int] = dict(
                    zip(bins, stats.histogram[key], strict=True)
                )
                counts[(wave, key)] = stats.n(key)
                self.hidden |= hidden_cells(counts, one_way_lines((wave, key), bins), k)
            cells = [(wave, d) for d in DIMENSIONS]
            counts = {(wave, d): stats.lowest[d] for d in DIMENSIONS}
            counts[(wave, "lowest")] = sum(stats.lowest.values())
            self.hidden |= hidden_cells(counts, one_way_lines((wave, "lowest"), cells), k)
        for pair, m in self.movements.items():
            if 0 < m.n < k:
                self.hidden.add(pair)
                continue
            outcomes = {
                (*pair, "improved"): m.improved,
                (*pair, "stable"): m.stable,
                (*pair, "declined"): m.declined,
            }
            lines = one_way_lines((*pair, "n"), list(outcomes))
            self.hidden |= hidden_cells({**outcomes, (*pair, "n"): m.n}, lines, k)

    def shown(self, *key: Any) -> bool:
        """Whether a figure is shown: neither it nor what it belongs to (its wave, its
        pair of waves) is in :attr:`hidden`."""
        return not any(key[:i] in self.hidden for i in range(1, len(key) + 1))

    def add_returnee(self, by_wave: Mapping[str, Mapping[str, Any] | None]) -> None:
        """One returnee's stored scores per wave (None: completed but not scored)."""
        for wave, scores in by_wave.items():
            stats = self.waves.get(wave)
            if stats is None:
                continue
            stats.surveys += 1
            if not scores:
                continue
            for key in SCORES:
                value = scores.get(key)
                if value is None:
                    continue
                stats.histogram[key][_bin(value)] += 1
                stats.total[key] += 1
                stats.sums[key] += value
            if scores.get("lowest_dimension"):
                stats.lowest[scores["lowest_dimension"]] += 1
        for (before, after), movement in self.movements.items():
            a, b = by_wave.get(before), by_wave.get(after)
            x, y = (a or {}).get("composite"), (b or {}).get("composite")
            if x is None or y is None:
                continue
            movement.before_sum += x
            movement.after_sum += y
            if y - x >= STABLE:
                movement.improved += 1
            elif x - y >= STABLE:
                movement.declined += 1
            else:
                movement.stable += 1

    @property
    def surveys(self) -> int:
        return sum(w.surveys for w in self.waves.values())

    def summary(self) -> dict[str, Any]:
        """The figures behind the cohort chart as plain data (the console's tables):
        per wave the surveys, each score's n and mean and each dimension's share of
        being the lowest; the composite's movement between consecutive waves. A figure
        :meth:`disclose` hid is None; ``hidden`` says a whole wave or pair is."""

        def wave_figures(wave: str, stats: WaveStats) -> dict[str, Any]:
            if not self.shown(wave):
                return {"hidden": True, "surveys": None, "n": {}, "mean": {}, "lowest": {}}
            return {
                "hidden": False,
                "surveys": stats.surveys,
                "n": {key: stats.n(key) for key in SCORES},
                "mean": {key: stats.mean(key) for key in SCORES},
                "lowest": {
                    d: stats.lowest_share(d) if self.shown(wave, d) else None for d in DIMENSIONS
                },
            }

        def count(pair: tuple[str, str], outcome: str, value: int) -> int | None:
            return value if self.shown(*pair, outcome) else None

        return {
            "k": self.k,
            "waves": {wave: wave_figures(wave, stats) for wave, stats in self.waves.items()},
            "movements": [
                {
                    "before": before,
                    "after": after,
                    "hidden": not self.shown(before, after),
                    "n": m.n if self.shown(before, after) else None,
                    "improved": count((before, after), "improved", m.improved),
                    "stable": count((before, after), "stable", m.stable),
                    "declined": count((before, after), "declined", m.declined),
                }
                for (before, after), m in self.movements.items()
            ],
        }
