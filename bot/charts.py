"""Charts as PNG bytes (matplotlib, no display needed)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from bot.survey_scores import weights_note
from flows import builtin_definition
from scoring import default_weight_table
from storage import reports
from storage.store import Store
from storage.waves import WAVES, Wave

DIMENSIONS = ("economic", "social", "psychosocial")
COLOURS = {
    "economic": "#1b9e77",
    "social": "#7570b3",
    "psychosocial": "#d95f02",
    "composite": "#333333",
}


def _png(fig: Any, note: str | None = None) -> bytes:
    if note:  # (at the foot of the figure, as with any chart of scores)
        fig.text(0.01, -0.02, note, fontsize=7, color="#555555", ha="left", va="top")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def trajectory_png(
    title: str,
    waves: Sequence[str],
    scores: Sequence[dict[str, Any]],
    note: str | None = None,
) -> bytes:
    """One returnee: the three dimensions and the composite across the waves."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    x = list(range(len(waves)))
    for key in (*DIMENSIONS, "composite"):
        values = [s.get(key) for s in scores]
        ax.plot(
            x,
            [v if v is not None else float("nan") for v in values],
            marker="o",
            linewidth=2.5 if key == "composite" else 1.5,
            color=COLOURS[key],
            label=key,
        )
    ax.set_xticks(x, list(waves))
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("score (0-1)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig, note)


def cohort_png(title: str, scores: Sequence[dict[str, Any]], note: str | None = None) -> bytes:
    """A wave (and country): the distribution of composite scores and each dimension's mean."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.6, 4.0))
    composite = [s["composite"] for s in scores if s.get("composite") is not None]
    left.hist(composite, bins=[i / 10 for i in range(11)], color=COLOURS["composite"], alpha=0.8)
    left.set_xlim(0, 1)
    left.set_xlabel("composite score")
    left.set_ylabel("returnees")
    left.set_title(f"Composite scores (n={len(composite)})")
    means, counts = [], []
    for key in DIMENSIONS:
        values = [s[key] for s in scores if s.get(key) is not None]
        counts.append(len(values))
        means.append(sum(values) / len(values) if values else 0.0)
    bars = right.bar(DIMENSIONS, means, color=[COLOURS[k] for k in DIMENSIONS])
    for bar, mean, n in zip(bars, means, counts, strict=True):
        right.annotate(
            f"{mean:.2f}\n(n={n})",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    right.set_ylim(0, 1.15)
    right.set_title("Mean score by dimension")
    fig.suptitle(title)
    return _png(fig, note)


async def trajectory_chart(store: Store, returnee_id: str, public_id: str, who: str) -> bytes:
    surveys = await reports.completed_surveys(
        store,
        builtin_definition(),
        weights_version=default_weight_table().version,
        returnee_id=returnee_id,
        actor=who,
        action="read_scores",
    )
    surveys.sort(key=lambda s: WAVES.index(s.wave))
    return trajectory_png(
        f"{public_id}: reintegration scores",
        [s.wave for s in surveys],
        [s.scores or {} for s in surveys],
        weights_note(default_weight_table()),
    )


async def cohort_chart(
    store: Store, wave: Wave, country: str | None, who: str
) -> tuple[bytes, int]:
    surveys = await reports.completed_surveys(
        store,
        builtin_definition(),
        weights_version=default_weight_table().version,
        wave=wave,
        country=country,
        actor=who,
        action=None,
    )
    scores = [s.scores for s in surveys if s.scores]
    where = f", {country.upper()}" if country else ""
    note = weights_note(default_weight_table())
    return cohort_png(f"Wave: {wave}{where}", scores, note), len(scores)
