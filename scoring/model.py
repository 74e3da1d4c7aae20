"""Value types of the scoring layer (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

Dimension = Literal["economic", "social", "psychosocial"]
DIMENSIONS: tuple[Dimension, ...] = ("economic", "social", "psychosocial")

#: Answers that every question accepts and that count as *missing*, never as 0.
MISSING_ANSWERS: frozenset[str] = frozenset({"prefer_not_to_answer", "dont_know"})

#: A dimensional score is null when its answered elements carry less than this share of
#: the dimension's weight (SCORING.md, missing-answer rules).
MIN_ANSWERED_WEIGHT = Fraction(1, 2)

#: Weight sums must equal 1 within this tolerance.
SUM_TOLERANCE = Fraction(1, 10**9)


class WeightTableError(ValueError):
    """A weight table (elements + scales) that cannot be used, with the precise reason."""


class ScoringError(ValueError):
    """Answers that cannot be scored: unknown element or unknown option."""


@dataclass(frozen=True)
class Element:
    """One of the 30 scored elements: where it belongs and what it weighs."""

    id: str
    dimension: Dimension
    indicator: str
    scale: str
    dimensional_weight: Fraction
    composite_weight: Fraction
    weight_status: str = ""


@dataclass(frozen=True)
class WeightTable:
    """A validated weight table.

    ``scales`` maps a scale name to its options in order; each option's code is a
    :class:`~fractions.Fraction` in [0, 1] or ``None`` for ``NA`` (not applicable,
    counted as missing).
    """

    elements: dict[str, Element]
    scales: dict[str, dict[str, Fraction | None]]
    version: str
    source: str = "built-in"

    @property
    def provisional_weights(self) -> int:
        """How many elements' weights are provisional (not yet the official table's)."""
        return sum(e.weight_status == "provisional" for e in self.elements.values())

    def options(self, element_id: str) -> list[str]:
        """The options of an element's scale, in the table's order."""
        return list(self.scales[self.elements[element_id].scale])


@dataclass(frozen=True)
class ElementContribution:
    element: str
    dimension: Dimension
    indicator: str
    answer: str | None
    code: float | None
    dimensional_weight: float
    composite_weight: float
    #: code x dimensional weight (None when the answer is missing)
    dimensional_points: float | None
    #: code x composite weight (None when the answer is missing)
    composite_points: float | None


@dataclass(frozen=True)
class IndicatorContribution:
    indicator: str
    dimension: Dimension
    elements: tuple[str, ...]
    answered: int
    #: sum of code x dimensional weight over the indicator's answered elements
    dimensional_points: float
    #: weighted mean of the indicator's answered codes (None if none answered)
    mean_code: float | None


@dataclass(frozen=True)
class DimensionScore:
    dimension: Dimension
    score: float | None
    #: share of the dimension's weight carried by answered elements, in [0, 1]
    answered_weight: float
    answered: int
    total: int


@dataclass(frozen=True)
class ScoreResult:
    dimensions: dict[Dimension, DimensionScore]
    composite: float | None
    weights_version: str
    elements: tuple[ElementContribution, ...]
    indicators: tuple[IndicatorContribution, ...]

    @property
    def economic(self) -> float | None:
        return self.dimensions["economic"].score

    @property
    def social(self) -> float | None:
        return self.dimensions["social"].score

    @property
    def psychosocial(self) -> float | None:
        return self.dimensions["psychosocial"].score

    def dimensions_by_score(self) -> list[DimensionScore]:
        """Scored dimensions from lowest to highest (null scores left out)."""
        scored = [d for d in self.dimensions.values() if d.score is not None]
        return sorted(scored, key=lambda d: (d.score, DIMENSIONS.index(d.dimension)))

    @property
    def lowest_dimension(self) -> Dimension | None:
        """The dimension where help may be needed most (None if none could be scored)."""
        ordered = self.dimensions_by_score()
        return ordered[0].dimension if ordered else None

    def as_dict(self) -> dict[str, object]:
        """The JSON-ready form used by ``rssbot score`` (stable keys, full precision)."""
        return {
            "economic": self.economic,
            "social": self.social,
            "psychosocial": self.psychosocial,
            "composite": self.composite,
            "weights_version": self.weights_version,
            "lowest_dimension": self.lowest_dimension,
            "dimensions_by_score": [d.dimension for d in self.dimensions_by_score()],
            "answered_weight": {d: s.answered_weight for d, s in self.dimensions.items()},
            "indicators": {
                i.indicator: {
                    "dimension": i.dimension,
                    "answered": i.answered,
                    "of": len(i.elements),
                    "dimensional_points": i.dimensional_points,
                    "mean_code": i.mean_code,
                }
                for i in self.indicators
            },
            "elements": {
                e.element: {
                    "answer": e.answer,
                    "code": e.code,
                    "dimensional_points": e.dimensional_points,
                    "composite_points": e.composite_points,
                }
                for e in self.elements
            },
        }
