"""Cohort statistics of stored scores, accumulated one returnee at a time (memory does
not grow with the cohort): per wave, the distribution of each dimension and of the
composite, each dimension's mean, how often each dimension is the lowest, and the
movement of the composite between consecutive waves for the same returnees."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

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
        being the lowest; the composite's movement between consecutive waves."""
        return {
            "waves": {
                wave: {
                    "surveys": stats.surveys,
                    "n": {key: stats.n(key) for key in SCORES},
                    "mean": {key: stats.mean(key) for key in SCORES},
                    "lowest": {d: stats.lowest_share(d) for d in DIMENSIONS},
                }
                for wave, stats in self.waves.items()
            },
            "movements": [
                {
                    "before": before,
                    "after": after,
                    "n": m.n,
                    "improved": m.improved,
                    "stable": m.stable,
                    "declined": m.declined,
                }
                for (before, after), m in self.movements.items()
            ],
        }
