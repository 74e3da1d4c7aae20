"""Charts as PNG bytes (matplotlib's object API: no display, no pyplot state)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import replace
from itertools import groupby
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.i18n import SOURCE_LANGUAGE, translations
from bot.languages import languages
from bot.staff_words import N_, StaffWords
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


class ChartWords:
    """A chart's words in one language. Matplotlib (3.11 and later) lays out right-to-left
    text itself, Arabic letters joined: the words go to it as they are."""

    def __init__(self, language: str = SOURCE_LANGUAGE) -> None:
        self.language = languages().resolved(language).code
        self._gettext = translations(self.language).gettext
        self.staff = StaffWords(self._gettext)
        #: from one wave to the next, in the reading direction
        self.arrow = "←" if languages().rtl(self.language) else "→"

    def __call__(self, msgid: str, **values: object) -> str:
        text = self._gettext(msgid)
        return text.format(**values) if values else text

    def wave(self, wave: str) -> str:
        return self.staff.wave(wave)

    def note(self, table: WeightTable) -> str | None:
        """The provisional weights' note, as the console and the chat say it."""
        if not table.provisional_weights:
            return None
        return self._gettext(
            N_(
                "These scores are indicative: {provisional} of the {total} weights are "
                "provisional until the official weight table is loaded."
            )
        ).format(provisional=table.provisional_weights, total=len(table.elements))

    def dimension(self, key: str) -> str:
        return self.staff.dimension(key)


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
    words: ChartWords | None = None,
) -> bytes:
    """One returnee: the three dimensions and the composite across the waves."""
    w = words or ChartWords()
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
            label=w.dimension(key),
        )
    ax.set_xticks(x, [w.wave(wave) for wave in waves])
    ax.set_ylim(0, 1.02)
    ax.set_ylabel(w(N_("score (0-1)")))
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig, note if note else None)


#: the cohort chart's panels, each drawn on a figure of its own for narrow screens
PANELS = ("distributions", "lowest", "means", "movements")
#: each panel's size (inches) when drawn alone
PANEL_SIZE = (6.4, 4.4)


def _fewer_than_k(ax: Any, stats: CohortStats, w: ChartWords) -> None:
    """An empty panel saying why: fewer than k returnees behind its figures."""
    ax.set_axis_off()
    ax.text(
        0.5,
        0.5,
        w(N_("Fewer than {k} returnees: no figure is shown."), k=stats.k),
        ha="center",
        va="center",
        wrap=True,
    )


def _hidden_note(stats: CohortStats, w: ChartWords) -> str:
    return w(N_("bars of fewer than {k} returnees (and their complements) not shown"), k=stats.k)


def _distributions(fig: Any, stats: CohortStats, wave: str, w: ChartWords) -> None:
    current = stats.waves[wave]
    fig.suptitle(w(N_("Scores of wave {wave} (0 to 1)"), wave=w.staff.wave(wave)), fontsize=11)
    if not stats.shown(wave):
        _fewer_than_k(fig.subplots(), stats, w)
        return
    edges = [i / BINS for i in range(BINS)]
    axes = fig.subplots(2, 2)
    some_hidden = False
    for i, key in enumerate(SCORES):
        ax = axes[i // 2][i % 2]
        heights = [
            count if stats.shown(wave, key, b) else 0
            for b, count in enumerate(current.histogram[key])
        ]
        some_hidden |= heights != current.histogram[key]
        ax.bar(
            edges,
            heights,
            width=1 / BINS,
            align="edge",
            color=COLOURS[key],
            edgecolor="white",
            linewidth=1.2,
        )
        ax.set_xlim(0, 1)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if current.n(key) and not any(heights):  # (every bar too small to show)
            ax.set_ylim(0, 1)
            ax.set_yticks([])
            ax.text(0.5, 0.5, w(N_("not shown (fewer than {k})"), k=stats.k), ha="center")
        ax.set_title(w.dimension(key) + f" (n={current.n(key)})", fontsize=10)
        if i % 2 == 0:
            ax.set_ylabel(w(N_("returnees")))
        ax.grid(axis="y", alpha=0.3)
    if some_hidden:
        fig.supxlabel(_hidden_note(stats, w), fontsize=8)


def _lowest(fig: Any, stats: CohortStats, wave: str, w: ChartWords) -> None:
    current = stats.waves[wave]
    ax = fig.subplots()
    n = sum(current.lowest.values())
    ax.set_title(w(N_("Lowest dimension: where help is needed")) + f" (n={n})", fontsize=10)
    if not stats.shown(wave):
        ax.set_title(w(N_("Lowest dimension: where help is needed")), fontsize=10)
        _fewer_than_k(ax, stats, w)
        return
    shown = [stats.shown(wave, d) for d in DIMENSIONS]
    shares = [
        100 * current.lowest_share(d) if ok else 0 for d, ok in zip(DIMENSIONS, shown, strict=True)
    ]
    bars = ax.bar(
        [w.dimension(d) for d in DIMENSIONS], shares, color=[COLOURS[d] for d in DIMENSIONS]
    )
    for bar, d, ok in zip(bars, DIMENSIONS, shown, strict=True):
        ax.annotate(
            f"{bar.get_height():.0f}% ({current.lowest[d]})" if ok else w(N_("not shown")),
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_ylim(0, 115)
    ax.set_ylabel(w(N_("% of returnees")))
    if not all(shown):
        ax.set_xlabel(_hidden_note(stats, w), fontsize=8)


def _means(fig: Any, stats: CohortStats, wave: str, w: ChartWords) -> None:
    ax = fig.subplots()
    x = list(range(len(WAVE_ORDER)))
    for key in SCORES:
        values = [stats.waves[o].mean(key) if stats.shown(o) else None for o in WAVE_ORDER]
        ax.plot(
            x,
            [v if v is not None else float("nan") for v in values],
            marker="o",
            color=COLOURS[key],
            linewidth=2.5 if key == "composite" else 1.5,
            label=w.dimension(key),
        )
    ax.set_xticks(
        x,
        [
            w.wave(o)
            + (f"\n(n={stats.waves[o].n('composite')})" if stats.shown(o) else f"\n(n<{stats.k})")
            for o in WAVE_ORDER
        ],
        fontsize=8,
    )
    ax.set_ylim(0, 1.02)
    ax.set_title(w(N_("Mean score by wave")), fontsize=10)
    ax.legend(fontsize=7, loc="lower center", ncol=2)
    ax.grid(alpha=0.3)


def _movements(fig: Any, stats: CohortStats, wave: str, w: ChartWords) -> None:
    ax = fig.subplots()
    labels: list[str] = []
    parts: dict[str, list[float]] = {o: [] for o in ("declined", "stable", "improved", "hidden")}
    for (before, after), m in stats.movements.items():
        pair = (before, after)
        n = f"n={m.n}" if stats.shown(*pair) else f"n<{stats.k}"
        labels.append(f"{w.wave(before)} {w.arrow}\n{w.wave(after)} ({n})")
        total = m.n if stats.shown(*pair) and m.n else 0
        counts = {"declined": m.declined, "stable": m.stable, "improved": m.improved}
        hidden = 0.0
        for outcome, count in counts.items():
            ok = total and stats.shown(*pair, outcome)
            parts[outcome].append(100 * count / total if ok else 0.0)
            hidden += 100 * count / total if total and not ok else 0.0
        parts["hidden"].append(hidden)
    bottom = [0.0] * len(labels)
    styles = {
        "declined": ("#d95f02", N_("worsened"), None),
        "stable": ("#bbbbbb", N_("stable"), None),
        "improved": ("#1b9e77", N_("improved"), None),
        "hidden": ("#ffffff", N_("not shown (fewer than {k})"), "//"),
    }
    for outcome, (colour, label, hatch) in styles.items():
        if outcome == "hidden" and not any(parts["hidden"]):
            continue
        ax.bar(
            labels,
            parts[outcome],
            bottom=bottom,
            color=colour,
            hatch=hatch,
            edgecolor="#555555" if hatch else None,
            label=w(label, k=stats.k) if outcome == "hidden" else w(label),
        )
        bottom = [a + b for a, b in zip(bottom, parts[outcome], strict=True)]
    ax.set_ylim(0, 100)
    ax.set_ylabel(w(N_("% of returnees seen at both")))
    title = N_("Composite between waves (change of {change} or more)")
    ax.set_title(w(title, change=f"{STABLE:g}"), fontsize=10)
    ax.legend(fontsize=7, loc="upper center", ncol=3, bbox_to_anchor=(0.5, -0.22))
    ax.tick_params(axis="x", labelsize=8)


_DRAW = {
    "distributions": _distributions,
    "lowest": _lowest,
    "means": _means,
    "movements": _movements,
}


def cohort_panels(
    stats: CohortStats, wave: str, note: str | None = None, words: ChartWords | None = None
) -> dict[str, bytes]:
    """The cohort chart as one PNG per panel (to stack on a phone), each with the note."""
    w = words or ChartWords()
    out = {}
    for name in PANELS:
        fig = Figure(figsize=PANEL_SIZE, layout="constrained")
        _DRAW[name](fig, stats, wave, w)
        out[name] = _png(fig, note if note else None)
    return out


def cohort_png(
    title: str,
    stats: CohortStats,
    wave: str,
    note: str | None = None,
    words: ChartWords | None = None,
) -> bytes:
    """A cohort: for ``wave``, the distribution of each dimension and of the composite and
    how often each dimension is the lowest; across waves, each score's mean and the
    movement of the composite for the same returnees. Every panel says its n."""
    w = words or ChartWords()
    fig = Figure(figsize=(2 * PANEL_SIZE[0], 2 * PANEL_SIZE[1]), layout="constrained")
    subfigures: Any = fig.subfigures(2, 2)
    for sub, name in zip(subfigures.flat, PANELS, strict=True):
        _DRAW[name](sub, stats, wave, w)
    fig.suptitle(title)
    return _png(fig, note if note else None)


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
    store: Store, table: WeightTable, selection: reports.Selection, who: str
) -> CohortStats:
    """The scores under ``table`` of every completed survey ``selection`` covers (its
    waves all: the chart compares them), read once."""
    stats = CohortStats()
    async for batch in reports.completed_batches(
        store,
        replace(selection, wave=None),
        weights_version=table.version,
        actor=who,
        action=None,
    ):
        for _, surveys in groupby(batch, key=lambda s: s.returnee_id):
            stats.add_returnee({s.wave: s.scores for s in surveys})
    return stats


def cohort_title(wave: Wave, selection: reports.Selection, words: ChartWords) -> str:
    """ "Reintegration scores, wave initial, GN, completed 2026-01-01 to ..." in words."""
    title = words._gettext(N_("Reintegration scores, wave {wave}")).format(
        wave=words.staff.wave(wave)
    )
    if selection.country:
        title += f", {selection.country.upper()}"
    if selection.completed_from or selection.completed_to:
        start = selection.completed_from.isoformat() if selection.completed_from else "…"
        end = selection.completed_to.isoformat() if selection.completed_to else "…"
        title += f", {start} – {end}"
    return title
