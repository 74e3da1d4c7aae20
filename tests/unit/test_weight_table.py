"""Every weight-table validation error, with a message that says where and what."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoring import WeightTable, WeightTableError, load_weight_table, parse_weight_table

DATA = Path(__file__).parents[2] / "scoring" / "data"
ELEMENTS = (DATA / "elements.csv").read_text()
SCALES = (DATA / "scales.csv").read_text()


def broken(old: str, new: str, text: str = ELEMENTS) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("elements", "scales", "message"),
    [
        (ELEMENTS.replace("composite_weight,", "weight,", 1), SCALES, "missing column"),
        (
            broken("econ_savings,economic", "econ_savings,economy"),
            SCALES,
            "line 7: element 'econ_savings' has unknown dimension 'economy'",
        ),
        (
            broken(
                "econ_savings,economic,income_sources,yes_good",
                "econ_savings,economic,income_sources,yes_maybe",
            ),
            SCALES,
            "unknown scale 'yes_maybe'",
        ),
        (broken("econ_savings,", "econ_working,"), SCALES, "element 'econ_working' appears twice"),
        (
            broken("satisfaction5,0.15,", "satisfaction5,high,"),
            SCALES,
            "dimensional_weight 'high' of 'econ_satisfaction' is not a number",
        ),
        (
            broken("satisfaction5,0.15,0.05", "satisfaction5,0.15,-0.05"),
            SCALES,
            "composite_weight -0.05 of 'econ_satisfaction' is outside [0, 1]",
        ),
        (
            broken("satisfaction5,0.15,0.05", "satisfaction5,1.5,0.05"),
            SCALES,
            "dimensional_weight 1.5 of 'econ_satisfaction' is outside [0, 1]",
        ),
        (
            broken("satisfaction5,0.15,0.05", "satisfaction5,nan,0.05"),
            SCALES,
            "is not a number",
        ),
        (
            broken("satisfaction5,0.15,0.05", "satisfaction5,0.16,0.05"),
            SCALES,
            "dimensional weights of 'economic' sum to 1.01",
        ),
        (
            broken("satisfaction5,0.15,0.05", "satisfaction5,0.15,0.06"),
            SCALES,
            "composite weights sum to 1.01",
        ),
        (ELEMENTS, broken("very_satisfied,1", "very_satisfied,2", SCALES), "outside [0, 1]"),
        (ELEMENTS, broken("very_satisfied,1", "very_satisfied,top", SCALES), "not a number or NA"),
        (ELEMENTS, broken("quality5,good,", "quality5,very_good,", SCALES), "appears twice"),
        (ELEMENTS, broken("debt3,no_debt", "debt3,dont_know", SCALES), "reserved"),
    ],
)
def test_invalid_tables_are_refused_with_a_precise_message(
    elements: str, scales: str, message: str
) -> None:
    with pytest.raises(WeightTableError) as excinfo:
        parse_weight_table(elements, scales)
    assert message in str(excinfo.value)


def test_sums_within_tolerance_are_accepted() -> None:
    nudged = broken("satisfaction5,0.15,0.05", "satisfaction5,0.1500000000001,0.05")
    parse_weight_table(nudged, SCALES)


def test_dimension_without_element() -> None:
    lines = [line for line in ELEMENTS.splitlines() if ",psychosocial," not in line]
    with pytest.raises(WeightTableError, match="dimension 'psychosocial' has no element"):
        parse_weight_table("\n".join(lines), SCALES)


def test_unknown_and_missing_elements_against_the_instrument(table: WeightTable) -> None:
    renamed = broken("econ_savings,", "econ_piggy_bank,")
    with pytest.raises(WeightTableError) as excinfo:
        parse_weight_table(renamed, SCALES, expected_elements=table.elements)
    assert "unknown element(s): econ_piggy_bank" in str(excinfo.value)
    assert "missing element(s): econ_savings" in str(excinfo.value)


def test_all_problems_are_reported_together() -> None:
    text = broken("econ_savings,economic", "econ_savings,economy")
    text = broken("econ_working,economic", "econ_working,money", text)
    with pytest.raises(WeightTableError) as excinfo:
        parse_weight_table(text, SCALES)
    assert "econ_savings" in str(excinfo.value) and "econ_working" in str(excinfo.value)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(WeightTableError, match="cannot read"):
        load_weight_table(tmp_path / "nope.csv")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(WeightTableError, match="not UTF-8"):
        load_weight_table(binary)


def test_file_with_bom_and_blank_lines_loads(tmp_path: Path, table: WeightTable) -> None:
    path = tmp_path / "elements.csv"
    path.write_text("\ufeff" + ELEMENTS + "\n\n", encoding="utf-8")
    assert load_weight_table(path).version == table.version
