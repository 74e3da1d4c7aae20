"""Scoring exactly as shared/rss/SCORING.md defines it."""

from __future__ import annotations

import csv
import io
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import (
    MISSING_ANSWERS,
    ScoringError,
    WeightTable,
    default_weight_table,
    load_weight_table,
    parse_weight_table,
    score,
)
from tests.conftest import SHARED_RSS

DATA = Path(__file__).parents[2] / "scoring" / "data"


def best(table: WeightTable) -> dict[str, str | None]:
    return {
        e: max(table.scales[el.scale], key=lambda o: table.scales[el.scale][o] or -1)
        for e, el in table.elements.items()
    }


def worst(table: WeightTable) -> dict[str, str | None]:
    return {
        e: min(
            (o for o, c in table.scales[el.scale].items() if c is not None),
            key=lambda o: table.scales[el.scale][o] or 0,
        )
        for e, el in table.elements.items()
    }


def test_worked_example_from_the_source(table: WeightTable) -> None:
    result = score(table, {"econ_satisfaction": "satisfied"})
    contribution = next(c for c in result.elements if c.element == "econ_satisfaction")
    assert contribution.code == 0.75
    assert contribution.dimensional_points == 0.1125  # 0.75 x 0.15
    assert contribution.composite_points == 0.0375  # 0.75 x 0.05 (not the infographic's 0,06)


def test_official_weights_are_those_of_the_source(table: WeightTable) -> None:
    official = {
        "econ_satisfaction": ("0.15", "0.05"),
        "econ_borrow_ability": ("0.08", "0.02"),
        "soc_housing_access": ("0.10", "0.03"),
        "soc_education_access": ("0.11", "0.03"),
        "psy_social_activities": ("0.12", "0.04"),
        "psy_support_network": ("0.05", "0.03"),
    }
    for element_id, (dim, comp) in official.items():
        element = table.elements[element_id]
        assert element.weight_status == "official"
        assert (element.dimensional_weight, element.composite_weight) == (
            Fraction(dim),
            Fraction(comp),
        )
    provisional = {
        "economic": ("0.09625", "0.033"),
        "social": ("0.09875", "0.033"),
        "psychosocial": ("0.10375", "0.034"),
    }
    for element in table.elements.values():
        if element.weight_status == "provisional":
            dim, comp = provisional[element.dimension]
            assert element.dimensional_weight == Fraction(dim)
            assert element.composite_weight == Fraction(comp)
    assert len(table.elements) == 30


def test_all_best_answers_score_one_and_all_worst_zero(table: WeightTable) -> None:
    top = score(table, best(table))
    assert (top.economic, top.social, top.psychosocial, top.composite) == (1.0, 1.0, 1.0, 1.0)
    bottom = score(table, worst(table))
    assert (bottom.economic, bottom.social, bottom.psychosocial, bottom.composite) == (
        0.0,
        0.0,
        0.0,
        0.0,
    )


def test_full_answers_equal_the_plain_weighted_sum(table: WeightTable) -> None:
    answers = {e: next(iter(table.scales[el.scale])) for e, el in table.elements.items()}
    answers.update(
        econ_satisfaction="satisfied",  # 0.75
        econ_debt_ratio="debt_smaller_than_spending",  # 0.5
        soc_health_quality="poor",  # 0.25
        psy_distress="often",  # 0.25
        psy_support_wish="yes",  # 0
    )
    result = score(table, answers)
    plain_economic = 1 - 0.15 * 0.25 - 0.09625 * 0.5
    plain_social = 1 - 0.09875 * 0.75
    plain_psy = 1 - 0.10375 * 0.75 - 0.10375 * 1
    plain_composite = 1 - 0.05 * 0.25 - 0.033 * 0.5 - 0.033 * 0.75 - 0.034 * 0.75 - 0.034
    assert result.economic == pytest.approx(plain_economic, abs=1e-15)
    assert result.social == pytest.approx(plain_social, abs=1e-15)
    assert result.psychosocial == pytest.approx(plain_psy, abs=1e-15)
    assert result.composite == pytest.approx(plain_composite, abs=1e-15)
    assert result.lowest_dimension == "psychosocial"
    assert [d.dimension for d in result.dimensions_by_score()] == [
        "psychosocial",
        "economic",
        "social",
    ]


def test_missing_answers_give_the_weighted_mean_over_answered_elements(
    table: WeightTable,
) -> None:
    answers: dict[str, str | None] = {
        "econ_satisfaction": "satisfied",  # 0.75 x 0.15
        "econ_borrow_ability": "yes",  # 1 x 0.08
        "econ_food_reduction": "never",  # 1 x 0.09625
        "econ_borrow_frequency": "often",  # 0.25 x 0.09625
        "econ_debt_ratio": "no_debt",  # 1 x 0.09625
        "econ_savings": "prefer_not_to_answer",
        "econ_working": "dont_know",
        "econ_income_sources": None,
        # econ_productive_assets and econ_opportunities absent
    }
    result = score(table, answers)
    expected = (
        Fraction("0.1125")
        + Fraction("0.08")
        + Fraction("0.09625")
        + Fraction("0.0240625")
        + Fraction("0.09625")
    ) / (Fraction("0.15") + Fraction("0.08") + 3 * Fraction("0.09625"))
    assert result.economic == float(expected)
    assert result.dimensions["economic"].answered == 5
    assert result.dimensions["economic"].answered_weight == pytest.approx(0.51875)
    # the other dimensions have no answer: null, so the composite is null too
    assert result.social is None and result.psychosocial is None
    assert result.composite is None
    assert result.lowest_dimension == "economic"


def test_missing_answers_are_never_coded_zero(table: WeightTable) -> None:
    answers = best(table)
    for special in MISSING_ANSWERS:
        answers["econ_savings"] = special
        assert score(table, answers).economic == 1.0
    answers["soc_children_school"] = "not_applicable"  # NA
    assert score(table, answers).social == 1.0


def test_not_applicable_counts_as_missing_in_the_weighted_mean(table: WeightTable) -> None:
    answers = best(table)
    answers["soc_children_school"] = "not_applicable"
    answers["soc_documentation"] = "no"  # 0 x 0.09875
    result = score(table, answers)
    assert result.social == pytest.approx(1 - 0.09875 / (1 - 0.09875), abs=1e-15)
    assert result.dimensions["social"].answered == 9  # 10 elements, one NA


def test_dimension_is_null_below_half_its_weight(table: WeightTable) -> None:
    answers = {
        "econ_satisfaction": "very_satisfied",
        "econ_borrow_ability": "yes",
        "econ_savings": "yes",
        "econ_working": "yes",
    }  # 0.15 + 0.08 + 2 x 0.09625 = 0.4225 < 0.5
    assert score(table, answers).economic is None
    answers["econ_productive_assets"] = "no"  # 0.51875 >= 0.5
    assert score(table, answers).economic == pytest.approx(
        (0.15 + 0.08 + 2 * 0.09625) / 0.51875, abs=1e-15
    )


def test_exactly_half_the_weight_is_enough() -> None:
    elements = (
        "id,dimension,indicator,scale,dimensional_weight,composite_weight\n"
        "a,economic,i,yes_good,0.5,0.25\n"
        "b,economic,i,yes_good,0.5,0.25\n"
        "c,social,j,yes_good,1,0.25\n"
        "d,psychosocial,k,yes_good,1,0.25\n"
    )
    small = parse_weight_table(elements, (DATA / "scales.csv").read_text())
    result = score(small, {"a": "no", "c": "yes", "d": "yes"})
    assert result.economic == 0.0
    assert result.composite == pytest.approx(2 / 3)
    assert score(small, {"a": "no", "c": "yes"}).composite is None  # psychosocial null


def test_composite_is_null_when_any_dimension_is_null(table: WeightTable) -> None:
    answers = best(table)
    for element_id, element in table.elements.items():
        if element.dimension == "social":
            answers[element_id] = "prefer_not_to_answer"
    result = score(table, answers)
    assert result.social is None
    assert result.economic == 1.0 and result.psychosocial == 1.0
    assert result.composite is None


def test_unknown_element_or_option_is_an_error(table: WeightTable) -> None:
    with pytest.raises(ScoringError, match="unknown element"):
        score(table, {"econ_happiness": "yes"})
    with pytest.raises(ScoringError, match="unknown option 'maybe'"):
        score(table, {"econ_savings": "maybe"})
    with pytest.raises(ScoringError, match="unknown option 'not_applicable'"):
        score(table, {"econ_savings": "not_applicable"})  # not in yes_good


def test_indicator_contributions(table: WeightTable) -> None:
    result = score(table, best(table) | {"econ_savings": "no"})
    income = next(i for i in result.indicators if i.indicator == "income_sources")
    assert income.elements == ("econ_savings", "econ_income_sources", "econ_productive_assets")
    assert income.answered == 3
    assert income.dimensional_points == pytest.approx(2 * 0.09625)
    assert income.mean_code == pytest.approx(2 / 3)
    assert len(result.indicators) == 15  # 5 per dimension, as the source says
    for dimension in ("economic", "social", "psychosocial"):
        assert sum(1 for i in result.indicators if i.dimension == dimension) == 5


def test_version_is_a_content_hash(table: WeightTable) -> None:
    again = parse_weight_table(
        (DATA / "elements.csv").read_text(), (DATA / "scales.csv").read_text()
    )
    assert again.version == table.version
    assert table.version.startswith("sha256:")
    # wording changes do not change the version; a weight does
    reworded = (DATA / "elements.csv").read_text().replace("Do you have any savings?", "Savings?")
    assert parse_weight_table(reworded, (DATA / "scales.csv").read_text()).version == (
        table.version
    )
    reweighted = (
        (DATA / "elements.csv")
        .read_text()
        .replace(
            "economic_satisfaction,satisfaction5,0.15,0.05",
            "economic_satisfaction,satisfaction5,0.15,0.05000",
        )
    )
    # the same value written differently is the same table
    assert parse_weight_table(reweighted, (DATA / "scales.csv").read_text()).version == (
        table.version
    )


def test_another_weight_table_from_a_path(tmp_path: Path, table: WeightTable) -> None:
    rows = list(csv.DictReader(io.StringIO((DATA / "elements.csv").read_text())))
    # move 0.01 of economic weight from econ_satisfaction to econ_savings
    for row in rows:
        if row["id"] == "econ_satisfaction":
            row["dimensional_weight"] = "0.14"
        if row["id"] == "econ_savings":
            row["dimensional_weight"] = "0.10625"
    path = tmp_path / "official.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    other = load_weight_table(path, expected_elements=table.elements)
    assert other.version != table.version
    answers = best(table) | {"econ_savings": "no"}
    assert score(other, answers).economic == pytest.approx(1 - 0.10625)
    assert score(table, answers).economic == pytest.approx(1 - 0.09625)


def test_shipped_copy_matches_the_contract() -> None:
    if not SHARED_RSS.exists():
        pytest.skip(f"the contract folder {SHARED_RSS} is not beside this checkout")
    for name in ("elements.csv", "scales.csv"):
        assert (DATA / name).read_text() == (SHARED_RSS / name).read_text(), name
    assert (DATA.parent / "SCORING.md").read_text() == (SHARED_RSS / "SCORING.md").read_text()


# --- properties ----------------------------------------------------------------------

TABLE = default_weight_table()
ANSWER_CHOICES = {
    e: [*TABLE.scales[el.scale], *sorted(MISSING_ANSWERS), None] for e, el in TABLE.elements.items()
}


@st.composite
def answer_sets(draw: st.DrawFn) -> dict[str, str | None]:
    chosen = draw(st.lists(st.sampled_from(sorted(TABLE.elements)), unique=True))
    return {e: draw(st.sampled_from(ANSWER_CHOICES[e])) for e in chosen}


@settings(max_examples=300, deadline=None)
@given(answer_sets())
def test_every_score_stays_in_unit_interval(answers: dict[str, str | None]) -> None:
    result = score(TABLE, answers)
    for value in (result.economic, result.social, result.psychosocial, result.composite):
        assert value is None or 0.0 <= value <= 1.0
    if result.composite is not None:
        assert None not in (result.economic, result.social, result.psychosocial)


@settings(max_examples=200, deadline=None)
@given(answer_sets(), st.randoms())
def test_scores_do_not_depend_on_answer_order(answers: dict[str, str | None], rnd) -> None:  # type: ignore[no-untyped-def]
    items = list(answers.items())
    rnd.shuffle(items)
    assert score(TABLE, dict(items)).as_dict() == score(TABLE, answers).as_dict()
