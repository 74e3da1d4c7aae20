"""Charts as PNG bytes (matplotlib's object API: no display, no pyplot state)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from itertools import groupby
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.survey_scores import weights_note
from scoring import WeightTable
from scoring.cohort import BINS, SCORES, STABLE, WAVE_ORDER, CohortStats
from scoring.model import DIMENSIONS
from storage import reports
from storage.store import Store
from storage.waves import Wave

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
    return buffer.getvalue()


def trajectory_png(
    title: str,
    waves: Sequence[str],
    scores: Sequence[dict[str, Any]],
    note: str | None = None,
) -> bytes:
    """One returnee: the three dimensions and the composite across the waves."""
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
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


def cohort_png(title: str, stats: CohortStats, wave: str, note: str | None = None) -> bytes:
    """A cohort: for ``wave``, the distribution of each dimension and of the composite and
    how often each dimension is the lowest; across waves, each score's mean and the
    movement of the composite for the same returnees. Every panel says its n."""
    fig = Figure(figsize=(13.0, 7.4))
    grid = fig.add_gridspec(2, 12, hspace=0.55, wspace=2.2)
    current = stats.waves[wave]
    edges = [i / BINS for i in range(BINS)]
    for i, key in enumerate(SCORES):
        ax = fig.add_subplot(grid[0, i * 3 : i * 3 + 3])
        ax.bar(
            edges,
            current.histogram[key],
            width=1 / BINS,
            align="edge",
            color=COLOURS[key],
            edgecolor="white",
            linewidth=1.2,
        )
        ax.set_xlim(0, 1)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(f"{key} score")
        ax.set_title(f"{key.capitalize()} (n={current.n(key)})", fontsize=10)
        if i == 0:
            ax.set_ylabel("returnees")
        ax.grid(axis="y", alpha=0.3)

    lowest = fig.add_subplot(grid[1, 0:4])
    shares = [100 * current.lowest_share(d) for d in DIMENSIONS]
    bars = lowest.bar(DIMENSIONS, shares, color=[COLOURS[d] for d in DIMENSIONS])
    for bar, d in zip(bars, DIMENSIONS, strict=True):
        lowest.annotate(
            f"{bar.get_height():.0f}% ({current.lowest[d]})",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    lowest.set_ylim(0, 115)
    lowest.set_ylabel("% of returnees")
    lowest.set_title(
        f"Lowest dimension: where help is needed (n={sum(current.lowest.values())})", fontsize=10
    )

    means = fig.add_subplot(grid[1, 4:8])
    x = list(range(len(WAVE_ORDER)))
    for key in SCORES:
        values = [stats.waves[w].mean(key) for w in WAVE_ORDER]
        means.plot(
            x,
            [v if v is not None else float("nan") for v in values],
            marker="o",
            color=COLOURS[key],
            linewidth=2.5 if key == "composite" else 1.5,
            label=key,
        )
    means.set_xticks(
        x, [f"{w}\n(n={stats.waves[w].n('composite')})" for w in WAVE_ORDER], fontsize=8
    )
    means.set_ylim(0, 1.02)
    means.set_title("Mean score by wave", fontsize=10)
    means.legend(fontsize=7, loc="lower center", ncol=2)
    means.grid(alpha=0.3)

    moves = fig.add_subplot(grid[1, 8:12])
    labels, improved, stable, declined = [], [], [], []
    for (before, after), m in stats.movements.items():
        labels.append(f"{before} to\n{after} (n={m.n})")
        total = m.n or 1
        improved.append(100 * m.improved / total)
        stable.append(100 * m.stable / total)
        declined.append(100 * m.declined / total)
    moves.bar(labels, declined, color="#d95f02", label="worsened")
    moves.bar(labels, stable, bottom=declined, color="#bbbbbb", label="stable")
    moves.bar(
        labels,
        improved,
        bottom=[a + b for a, b in zip(declined, stable, strict=True)],
        color="#1b9e77",
        label="improved",
    )
    moves.set_ylim(0, 100)
    moves.set_ylabel("% of returnees seen at both")
    moves.set_title(f"Composite between waves (change of {STABLE:g} or more)", fontsize=10)
    moves.legend(fontsize=7, loc="upper center", ncol=3, bbox_to_anchor=(0.5, -0.22))
    moves.tick_params(axis="x", labelsize=8)
    fig.suptitle(title)
    return _png(fig, note)


async def trajectory_chart(
    store: Store, table: WeightTable, returnee_id: str, public_id: str, who: str
) -> bytes:
    surveys = await reports.completed_surveys(
        store,
        reports.Selection(returnee_id=returnee_id),
        weights_version=table.version,
        actor=who,
        action="read_scores",
    )
    return trajectory_png(
        f"{public_id}: reintegration scores",
        [s.wave for s in surveys],
        [s.scores or {} for s in surveys],
        weights_note(table),
    )


async def cohort_stats(
    store: Store, table: WeightTable, country: str | None, who: str
) -> CohortStats:
    """The scores under ``table`` of every completed survey (of a country), read once."""
    stats = CohortStats()
    async for batch in reports.completed_batches(
        store,
        reports.Selection(country=country),
        weights_version=table.version,
        actor=who,
        action=None,
    ):
        for _, surveys in groupby(batch, key=lambda s: s.returnee_id):
            stats.add_returnee({s.wave: s.scores for s in surveys})
    return stats


async def cohort_chart(
    store: Store, table: WeightTable, wave: Wave, country: str | None, who: str
) -> tuple[bytes, CohortStats]:
    """The cohort chart of ``wave`` (and country), and the statistics it draws."""
    stats = await cohort_stats(store, table, country, who)
    where = f", {country.upper()}" if country else ""
    png = cohort_png(f"Reintegration scores, wave {wave}{where}", stats, wave, weights_note(table))
    return png, stats
