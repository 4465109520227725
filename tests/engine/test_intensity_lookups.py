"""The searches behind children's times and states (engine/intensity.py, engine/lifecycle.py), against
plain references: a child drawn inside a whole piece of its parent's intensity reuses the grid weights
measured for the piece, which must be what the grid finds for those bounds; `state_at` finds each
row's walk entry with a vectorised search inside its parent's entries, which must be the entry a
row-by-row scan finds."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from datagen.engine.intensity import cum_at
from datagen.engine.lifecycle import last_at
from datagen.engine.timegrid import build_grid
from tests.strategies import shard

HOUR = 3_600_000_000
START = 1_704_067_200_000_000  # 2024-01-01 UTC, in us


@shard(0, 60)
@given(
    freq=st.sampled_from(["h", "30min", "D", "MS"]),
    hours=st.integers(1, 24 * 90),
    pattern=st.sampled_from(
        [(), (("hour", tuple([0.0] * 6 + [1.0] * 18)),), (("dow", (1, 1, 1, 1, 1, 3, 0)),)]
    ),
    cuts=st.lists(st.integers(-2 * HOUR, 24 * 91 * HOUR), min_size=2, max_size=40),
)
def test_a_piece_weighs_what_the_grid_finds_between_its_bounds(
    freq: str, hours: int, pattern: tuple, cuts: list[int]
) -> None:
    grid = build_grid(START, START + hours * HOUR, freq, pattern)
    assert not grid.step  # hour buckets are measured from the bounds; these grids are explicit
    edges = np.unique(START + np.asarray(cuts, dtype=np.int64))
    a, b = edges[:-1], edges[1:]
    a, b = np.maximum(a, grid.points[0]), np.minimum(b, grid.end_us + 1)
    a, b = a[b > a], b[b > a]  # pieces: inside the window, of some length
    base, top, lo, hi = grid.span(len(a), a.astype("datetime64[us]"), (b - 1).astype("datetime64[us]"))
    assert np.array_equal(base, cum_at(grid, a))
    assert np.array_equal(top, cum_at(grid, b))
    assert lo is not None and hi is not None and np.array_equal(lo, a) and np.array_equal(hi, b - 1)


def _scan(entry_parent: np.ndarray, entry_time: np.ndarray, parent: int, t: int) -> int:
    mine = [i for i in range(len(entry_parent)) if entry_parent[i] == parent]
    if not mine:
        return -1
    at_or_before = [i for i in mine if entry_time[i] <= t]
    return at_or_before[-1] if at_or_before else mine[0]


@shard(0, 200)
@given(
    entries=st.lists(st.tuples(st.integers(0, 12), st.integers(0, 30)), max_size=60),
    queries=st.lists(st.tuples(st.integers(0, 13), st.integers(-3, 33)), max_size=60),
)
def test_a_rows_state_is_the_last_entry_of_its_parent_at_or_before_its_time(
    entries: list[tuple[int, int]], queries: list[tuple[int, int]]
) -> None:
    entries = sorted(entries)  # a walk's rows: by parent, then time
    entry_parent = np.array([p for p, _ in entries], dtype=np.int64)
    entry_time = np.array([t for _, t in entries], dtype=np.int64)
    query_parent = np.array([p for p, _ in queries], dtype=np.int64)
    query_time = np.array([t for _, t in queries], dtype=np.int64)
    found = last_at(entry_parent, entry_time, query_parent, query_time)
    assert found.tolist() == [_scan(entry_parent, entry_time, p, t) for p, t in queries]
