"""Follow-up windows after the return date."""

from __future__ import annotations

from datetime import date

import pytest

from storage.waves import WaveWindows, add_months

W = WaveWindows()
RETURN = date(2026, 1, 31)


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(RETURN, 1) == date(2026, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(RETURN, 12) == date(2027, 1, 31)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)


@pytest.mark.parametrize(
    ("today", "due"),
    [
        (date(2026, 1, 31), "initial"),
        (date(2026, 4, 30), "initial"),
        (date(2026, 5, 1), None),
        (date(2026, 7, 31), "intermediate"),
        (date(2026, 10, 31), "intermediate"),
        (date(2026, 11, 1), None),
        (date(2027, 1, 31), "final"),
        (date(2027, 7, 31), "final"),
        (date(2027, 8, 1), None),
    ],
)
def test_due_windows(today: date, due: str | None) -> None:
    assert W.due(RETURN, today) == due


def test_open_wave_allows_late_answers_until_the_next_wave() -> None:
    assert W.open_wave(RETURN, date(2026, 5, 15), set()) == "initial"  # late but open
    assert W.open_wave(RETURN, date(2026, 5, 15), {"initial"}) is None
    assert W.open_wave(RETURN, date(2026, 8, 1), set()) == "intermediate"
    assert W.open_wave(RETURN, date(2027, 9, 1), set()) is None  # final window closed
    assert W.open_wave(date(2026, 12, 1), date(2026, 11, 1), set()) is None  # not yet back
    assert W.open_wave(None, date(2026, 8, 1), {"initial"}) == "intermediate"


def test_windows_are_configurable() -> None:
    custom = WaveWindows(initial=(0, 1), intermediate=(3, 4), final=(6, 9))
    assert custom.due(RETURN, date(2026, 5, 1)) == "intermediate"
