"""Charts speak the reader's language: every title, axis, tick and legend of the cohort
panels and the trajectory comes from the catalogue (waves and dimensions as words, never
codes), and the cohort chart is four panels that can each stand alone."""

from __future__ import annotations

import io
from typing import Any

import pytest
from matplotlib.figure import Figure
from PIL import Image

from bot.charts import _DRAW, PANEL_SIZE, PANELS, ChartWords, cohort_panels
from scoring.cohort import CohortStats

CODES = ("initial", "intermediate", "final", "economic", "psychosocial", "composite")


def stats() -> CohortStats:
    out = CohortStats()
    for i in range(12):
        scores = {"economic": 0.2 + i / 40, "social": 0.5, "psychosocial": 0.7, "composite": 0.45}
        out.add_returnee(
            {
                w: {**scores, "lowest_dimension": "economic"}
                for w in ("initial", "final")[: 1 + i % 2]
            }
        )
    return out


def texts(fig: Any) -> list[str]:
    found = [t.get_text() for t in fig.findobj(lambda o: hasattr(o, "get_text"))]
    return [t for t in found if t.strip()]


@pytest.mark.parametrize("name", PANELS)
def test_each_panel_in_arabic_has_no_english_code(name: str) -> None:
    fig = Figure(figsize=PANEL_SIZE)
    _DRAW[name](fig, stats(), "initial", ChartWords("ar"))
    shown = " ".join(texts(fig))
    assert not [code for code in CODES if code in shown], shown
    assert any("\u0600" <= c <= "\u06ff" for c in shown)  # Arabic letters


def test_panels_are_separate_pictures_of_a_phone_friendly_size() -> None:
    panels = cohort_panels(stats(), "initial", None, ChartWords("fr"))
    assert list(panels) == list(PANELS)
    for png in panels.values():
        width, _ = Image.open(io.BytesIO(png)).size
        assert 500 < width < 900  # (shown at 390 px: shrunk less than about twice)
