"""Statistical disclosure control of aggregate tables: small-cell suppression with
complementary suppression.

A figure built on fewer than *k* returnees is not shown (primary suppression). A table
also publishes totals: a suppressed cell that is the only one hidden in a row, a column
or a breakdown whose total is shown could be worked out by subtraction (its n, and from
the means times the n, its mean). So wherever a *line* (cells whose sum is a shown
total, the total included) has exactly one hidden cell, the smallest other non-empty
cell of that line is hidden too (complementary suppression), until no line has exactly
one. Cells shared by several tables (a breakdown's cells are the margins of a cross
table that uses it) are one key, so a cell hidden in one table is hidden in every
other. This is the simple iterative heuristic the OCHA Centre for Humanitarian Data's
guidance note on statistical disclosure control and sdcMicro describe for tables; it
does not defend against differencing between overlapping selections read one after the
other (two date ranges one day apart), which the scope and the audit log cover.

Empty cells (n = 0) are shown: "nobody" is a structural fact of the table, and hiding
them would hide nothing about anyone.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

#: the default minimum number of returnees behind any figure shown (RSSBOT_MIN_CELL_SIZE)
DEFAULT_K = 5

K = TypeVar("K", bound=Hashable)


def hidden_cells(counts: Mapping[K, int], lines: Iterable[Sequence[K]], k: int) -> set[K]:
    """The keys of ``counts`` not to show: every non-empty cell under ``k``, and the
    complementary cells that keep each of ``lines`` from having exactly one hidden.
    ``lines`` name keys of ``counts`` (a missing key counts as an empty cell)."""
    hidden = {key for key, n in counts.items() if 0 < n < k}
    groups = [list(line) for line in lines]
    changed = bool(hidden)
    while changed:
        changed = False
        for line in groups:
            inside = [key for key in line if key in hidden]
            if len(inside) != 1:
                continue
            candidates = [key for key in line if key not in hidden and counts.get(key, 0) > 0]
            if not candidates:
                continue  # (the others are empty: the hidden cell's n is the total's)
            # the smallest other cell, ties by position in the line: the result is stable
            smallest = min(candidates, key=lambda key: (counts[key], line.index(key)))
            hidden.add(smallest)
            changed = True
    return hidden


def one_way_lines(total: K, cells: Sequence[K]) -> list[list[K]]:
    """A breakdown whose cells add up to the shown total."""
    return [[*cells, total]]


def two_way_lines(
    total: K, rows: Mapping[K, Sequence[K]], columns: Mapping[K, Sequence[K]]
) -> list[list[K]]:
    """A cross table: each row's cells add up to its row margin (``rows``: margin key ->
    the row's cell keys), each column's to its column margin, and the margins of either
    side to the total."""
    lines: list[list[K]] = []
    lines += [[*cells, margin] for margin, cells in rows.items()]
    lines += [[*cells, margin] for margin, cells in columns.items()]
    lines.append([*rows, total])
    lines.append([*columns, total])
    return lines
