"""Cohort statistics accumulated one returnee at a time."""

from __future__ import annotations

import pytest

from scoring.cohort import CohortStats


def scores(composite: float, lowest: str = "social", **others: float) -> dict[str, object]:
    return {"composite": composite, "lowest_dimension": lowest, **others}


def test_distributions_lowest_dimension_and_movement_between_waves() -> None:
    stats = CohortStats()
    stats.add_returnee({"initial": scores(0.30, economic=0.2), "intermediate": scores(0.50)})
    stats.add_returnee({"initial": scores(0.60, "economic"), "intermediate": scores(0.62)})
    stats.add_returnee({"initial": scores(1.0), "intermediate": scores(0.7), "final": None})
    stats.add_returnee({"initial": None})  # completed, not scored under this table

    initial = stats.waves["initial"]
    assert initial.surveys == 4 and initial.n("composite") == 3
    assert initial.histogram["composite"][3] == 1 and initial.histogram["composite"][9] == 1
    assert initial.n("economic") == 1 and initial.mean("economic") == pytest.approx(0.2)
    assert initial.mean("composite") == pytest.approx((0.3 + 0.6 + 1.0) / 3)
    assert initial.lowest_share("social") == pytest.approx(2 / 3)
    assert stats.waves["final"].surveys == 1 and stats.waves["final"].mean("composite") is None

    moved = stats.movements[("initial", "intermediate")]
    assert (moved.improved, moved.stable, moved.declined, moved.n) == (1, 1, 1, 3)
    assert stats.movements[("intermediate", "final")].n == 0
    assert stats.surveys == 8
