"""Small-cell suppression: every cell under k hidden, and no hidden cell can be worked out
from the cells shown and the totals (checked by linear algebra, independently of how the
suppression chose its complements), on one-way and cross tables."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.disclosure import hidden_cells, one_way_lines, two_way_lines

K = 5


def recoverable(counts: dict, lines: list[list], hidden: set) -> list:
    """The hidden cells whose value follows from the shown ones: solve each line's
    equation for the hidden cells, and test whether a cell's value is the same in every
    solution (its unit vector in the row space of the system)."""
    unknown = sorted(hidden, key=repr)
    if not unknown:
        return []
    rows = []
    for line in lines:
        row = [0.0] * len(unknown)
        for i, key in enumerate(unknown):
            if key in line:
                row[i] = -1.0 if line[-1] == key else 1.0
        if any(row):
            rows.append(row)
    if not rows:
        return []
    a = np.array(rows)
    rank = np.linalg.matrix_rank(a)
    out = []
    for i, key in enumerate(unknown):
        unit = np.zeros(len(unknown))
        unit[i] = 1.0
        if np.linalg.matrix_rank(np.vstack([a, unit])) == rank:
            out.append(key)
    return out


def test_a_single_small_cell_takes_the_next_smallest_with_it() -> None:
    counts = {"a": 2, "b": 7, "c": 30, "total": 39}
    hidden = hidden_cells(counts, one_way_lines("total", ["a", "b", "c"]), K)
    assert hidden == {"a", "b"}  # b alone shown would give a = 39 - 7 - 30


def test_nothing_is_hidden_when_every_cell_has_k() -> None:
    counts = {"a": 5, "b": 9, "total": 14}
    assert hidden_cells(counts, one_way_lines("total", ["a", "b"]), K) == set()


def test_empty_cells_are_shown_and_never_used_as_complements() -> None:
    counts = {"a": 3, "b": 0, "c": 12, "total": 15}
    hidden = hidden_cells(counts, one_way_lines("total", ["a", "b", "c"]), K)
    assert hidden == {"a", "c"}  # (b = 0 would not protect a)


def test_a_cell_hidden_in_a_breakdown_is_hidden_where_it_is_a_margin() -> None:
    rows = {("r", x): [("c", x, y) for y in "pq"] for x in "ab"}
    columns = {("col", y): [("c", x, y) for x in "ab"] for y in "pq"}
    counts = {
        ("c", "a", "p"): 8,
        ("c", "a", "q"): 9,
        ("c", "b", "p"): 1,
        ("c", "b", "q"): 12,
        ("r", "a"): 17,
        ("r", "b"): 13,
        ("col", "p"): 9,
        ("col", "q"): 21,
        "total": 30,
    }
    lines = two_way_lines("total", rows, columns)
    hidden = hidden_cells(counts, lines, K)
    assert ("c", "b", "p") in hidden
    assert not recoverable(counts, lines, hidden)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 14), min_size=2, max_size=7))
def test_one_way_tables_hide_every_small_cell_recoverably_never(values: list[int]) -> None:
    cells = [f"c{i}" for i in range(len(values))]
    counts = dict(zip(cells, values, strict=True))
    counts["total"] = sum(values)
    lines = one_way_lines("total", cells)
    hidden = hidden_cells(counts, lines, K)
    assert {c for c, n in counts.items() if 0 < n < K} <= hidden
    assert not recoverable(counts, lines, hidden)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(2, 5).flatmap(
        lambda r: st.integers(2, 5).flatmap(
            lambda c: st.lists(
                st.lists(st.integers(0, 12), min_size=c, max_size=c), min_size=r, max_size=r
            )
        )
    )
)
def test_cross_tables_hide_every_small_cell_recoverably_never(grid: list[list[int]]) -> None:
    r, c = len(grid), len(grid[0])
    counts: dict = {("c", i, j): grid[i][j] for i in range(r) for j in range(c)}
    for i in range(r):
        counts[("r", i)] = sum(grid[i])
    for j in range(c):
        counts[("col", j)] = sum(grid[i][j] for i in range(r))
    counts["total"] = sum(map(sum, grid))
    rows = {("r", i): [("c", i, j) for j in range(c)] for i in range(r)}
    columns = {("col", j): [("c", i, j) for i in range(r)] for j in range(c)}
    lines = two_way_lines("total", rows, columns)
    hidden = hidden_cells(counts, lines, K)
    assert {key for key, n in counts.items() if 0 < n < K} <= hidden
    assert not recoverable(counts, lines, hidden), (grid, sorted(hidden, key=repr))
