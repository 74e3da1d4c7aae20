"""The three follow-up points, as windows after the return date (pure; no I/O but the
clock of :func:`today_utc`)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

Wave = Literal["initial", "intermediate", "final"]
WAVES: tuple[Wave, ...] = ("initial", "intermediate", "final")


def today_utc() -> date:
    """Today in UTC: the day wave windows are reckoned against."""
    return datetime.now(UTC).date()


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class WaveWindows:
    """Months after the return date: (start, end) of each wave's *due* window.

    Defaults follow the RSS framework: initial 0-3, intermediate 6-9, final 12-18.
    """

    initial: tuple[int, int] = (0, 3)
    intermediate: tuple[int, int] = (6, 9)
    final: tuple[int, int] = (12, 18)

    @classmethod
    def parse(cls, text: str | None) -> WaveWindows:
        """``initial=0-3,intermediate=6-9,final=12-18`` (any subset); a clear error otherwise."""
        if not text or not text.strip():
            return cls()
        values: dict[str, tuple[int, int]] = {}
        for part in text.split(","):
            name, _, span = part.partition("=")
            name = name.strip()
            start, _, end = span.partition("-")
            if name not in WAVES or not start.strip().isdigit() or not end.strip().isdigit():
                raise ValueError(
                    f"bad wave window {part.strip()!r}: write e.g. initial=0-3,intermediate=6-9"
                )
            if int(start) > int(end):
                raise ValueError(f"wave window {part.strip()!r} ends before it starts")
            values[name] = (int(start), int(end))
        windows = cls(**values)
        spans = [getattr(windows, w) for w in WAVES]
        if any(a[1] > b[0] for a, b in itertools.pairwise(spans)):
            raise ValueError("wave windows overlap: each must end before the next starts")
        return windows

    def window(self, wave: Wave, return_date: date) -> tuple[date, date]:
        start, end = getattr(self, wave)
        return add_months(return_date, start), add_months(return_date, end)

    def due(self, return_date: date | None, today: date) -> Wave | None:
        """The wave whose due window contains today (for reminders)."""
        if return_date is None:
            return "initial"
        for wave in WAVES:
            start, end = self.window(wave, return_date)
            if start <= today <= end:
                return wave
        return None

    def open_wave(self, return_date: date | None, today: date, completed: set[str]) -> Wave | None:
        """The wave a returnee may answer today: the latest one that has started, is not
        completed, and has not been overtaken by the next wave (the final one closes at
        the end of its window). Answering late is better than not answering."""
        if return_date is None:
            return next((w for w in WAVES if w not in completed), None)
        started = [w for w in WAVES if self.window(w, return_date)[0] <= today]
        if not started:
            return None
        latest = started[-1]
        if latest == "final" and today > self.window("final", return_date)[1]:
            return None
        return None if latest in completed else latest
