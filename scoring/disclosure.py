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
guidance note on statistical disclosure control and sdcMicro describe for tables,
followed by an exact check: no hidden cell may be a linear consequence of the cells
shown and the lines (when one is, one more of its line's cells is hidden). It does not
defend against differencing between overlapping selections read one after the other
(two date ranges one day apart), which the scope and the audit log cover.

Empty cells (n = 0) are shown: "nobody" is a structural fact of the table, and hiding
them would hide nothing about anyone.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

import numpy as np

#: the default minimum number of returnees behind any figure shown (RSSBOT_MIN_CELL_SIZE)
DEFAULT_K = 5

K = TypeVar("K", bound=Hashable)


def hidden_cells(counts: Mapping[K, int], lines: Iterable[Sequence[K]], k: int) -> set[K]:
    """The keys of ``counts`` not to show: every non-empty cell under ``k``, and the
    complementary cells that keep any of them from being worked out. Each of ``lines``
    names cells of ``counts`` whose sum is its last cell (a missing key counts as an
    empty cell).

    First, wherever a line has exactly one hidden cell, the smallest other non-empty
    cell of the line is hidden too. Then, as lines can still combine (a chain of rows
    and columns each with two hidden cells may pin one down), each hidden cell is
    checked against the whole system of lines: while one is determined by the cells
    shown, the smallest shown non-empty cell of one of its lines (or, when they have
    none left, of any line with a hidden cell) is hidden."""
    hidden = {key for key, n in counts.items() if 0 < n < k}
    groups = [list(line) for line in lines]
    while True:
        _complete_lines(hidden, groups, counts)
        found = _determined(hidden, groups)
        if found is None:
            return hidden
        # one more shown cell of its lines; if they have none left, of any line that
        # holds a hidden cell (the equations that pin it down go through those)
        for near in (True, False):
            candidates = [
                (counts[key], position, key)
                for line in groups
                if ((found in line) if near else any(key in hidden for key in line))
                for position, key in enumerate(line)
                if key not in hidden and counts.get(key, 0) > 0
            ]
            if candidates:
                hidden.add(min(candidates, key=lambda c: (c[0], c[1]))[2])
                break
        else:
            return hidden  # (nothing shown is left to hide it with)


def _complete_lines(hidden: set[K], lines: list[list[K]], counts: Mapping[K, int]) -> None:
    changed = True
    while changed:
        changed = False
        for line in lines:
            inside = [key for key in line if key in hidden]
            if len(inside) != 1:
                continue
            candidates = [key for key in line if key not in hidden and counts.get(key, 0) > 0]
            if not candidates:
                continue  # (the others are empty: nothing to hide it with)
            # the smallest other cell, ties by position in the line: the result is stable
            smallest = min(candidates, key=lambda key: (counts[key], line.index(key)))
            hidden.add(smallest)
            changed = True


def _determined(hidden: set[K], lines: list[list[K]]) -> K | None:
    """A hidden cell the shown cells and the lines pin down, if any: its unit vector
    lies in the row space of the lines' equations over the hidden cells (the shown
    cells are known constants)."""
    if not hidden:
        return None
    unknown = {key: i for i, key in enumerate(hidden)}
    rows = []
    for line in lines:
        if not any(key in unknown for key in line):
            continue
        row = np.zeros(len(unknown))
        for position, key in enumerate(line):
            if key in unknown:
                row[unknown[key]] += -1.0 if position == len(line) - 1 else 1.0
        rows.append(row)
    if not rows:
        return None
    matrix = np.array(rows)
    _, singular, vt = np.linalg.svd(matrix)
    rank = int((singular > 1e-9 * max(1.0, float(singular.max(initial=0.0)))).sum())
    null_space = vt[rank:]  # (rows spanning the solutions of matrix @ x = 0)
    for key, i in unknown.items():
        if not null_space.size or np.all(np.abs(null_space[:, i]) < 1e-9):
            return key
    return None


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
