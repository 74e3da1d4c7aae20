"""Scores of one survey: the rules of SCORING.md, computed exactly."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from scoring.model import (
    DIMENSIONS,
    MIN_ANSWERED_WEIGHT,
    MISSING_ANSWERS,
    Dimension,
    DimensionScore,
    ElementContribution,
    IndicatorContribution,
    ScoreResult,
    ScoringError,
    WeightTable,
)


def _weighted_mean(pairs: list[tuple[Fraction, Fraction]]) -> Fraction | None:
    """sum(weight x code) / sum(weight) over (weight, code) pairs; None if no weight."""
    total_weight = sum((w for w, _ in pairs), Fraction(0))
    if total_weight == 0:
        return None
    return sum((w * c for w, c in pairs), Fraction(0)) / total_weight


def _opt_float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def score(table: WeightTable, answers: Mapping[str, str | None]) -> ScoreResult:
    """Score one survey.

    ``answers`` maps element id to an option id of the element's scale, or to
    ``prefer_not_to_answer`` / ``dont_know`` / ``None`` (missing). An element absent from
    the mapping is missing. Ids that are not elements of the table raise
    :class:`ScoringError`: the caller removes unscored (context) questions first.
    """
    unknown = sorted(k for k in answers if k not in table.elements)
    if unknown:
        raise ScoringError(f"unknown element(s): {', '.join(unknown)}")

    codes: dict[str, Fraction] = {}
    for element_id, answer in answers.items():
        if answer is None or answer in MISSING_ANSWERS:
            continue
        scale = table.scales[table.elements[element_id].scale]
        if answer not in scale:
            raise ScoringError(
                f"unknown option '{answer}' for element '{element_id}' "
                f"(expected one of: {', '.join([*scale, *sorted(MISSING_ANSWERS)])})"
            )
        code = scale[answer]
        if code is not None:  # NA is missing, never 0
            codes[element_id] = code

    dimension_scores: dict[Dimension, DimensionScore] = {}
    any_null = False
    for dimension in DIMENSIONS:
        members = [e for e in table.elements.values() if e.dimension == dimension]
        answered = [e for e in members if e.id in codes]
        answered_weight = sum((e.dimensional_weight for e in answered), Fraction(0))
        total_weight = sum((e.dimensional_weight for e in members), Fraction(0))
        share = answered_weight / total_weight if total_weight else Fraction(0)
        value: Fraction | None = None
        if answered_weight >= MIN_ANSWERED_WEIGHT:
            value = _weighted_mean([(e.dimensional_weight, codes[e.id]) for e in answered])
        any_null = any_null or value is None
        dimension_scores[dimension] = DimensionScore(
            dimension=dimension,
            score=_opt_float(value),
            answered_weight=float(share),
            answered=len(answered),
            total=len(members),
        )

    composite: Fraction | None = None
    if not any_null:
        composite = _weighted_mean(
            [(table.elements[i].composite_weight, c) for i, c in codes.items()]
        )

    contributions = tuple(
        ElementContribution(
            element=e.id,
            dimension=e.dimension,
            indicator=e.indicator,
            answer=answers.get(e.id),
            code=_opt_float(codes.get(e.id)),
            dimensional_weight=float(e.dimensional_weight),
            composite_weight=float(e.composite_weight),
            dimensional_points=_opt_float(
                codes[e.id] * e.dimensional_weight if e.id in codes else None
            ),
            composite_points=_opt_float(
                codes[e.id] * e.composite_weight if e.id in codes else None
            ),
        )
        for e in table.elements.values()
    )

    indicators: list[IndicatorContribution] = []
    seen: dict[str, list[str]] = {}
    for e in table.elements.values():
        seen.setdefault(e.indicator, []).append(e.id)
    for indicator, ids in seen.items():
        answered_ids = [i for i in ids if i in codes]
        pairs = [(table.elements[i].dimensional_weight, codes[i]) for i in answered_ids]
        indicators.append(
            IndicatorContribution(
                indicator=indicator,
                dimension=table.elements[ids[0]].dimension,
                elements=tuple(ids),
                answered=len(answered_ids),
                dimensional_points=float(sum((w * c for w, c in pairs), Fraction(0))),
                mean_code=_opt_float(_weighted_mean(pairs)),
            )
        )

    return ScoreResult(
        dimensions=dimension_scores,
        composite=_opt_float(composite),
        weights_version=table.version,
        elements=contributions,
        indicators=tuple(indicators),
    )
