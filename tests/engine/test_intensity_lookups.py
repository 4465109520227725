"""The searches behind children's times and states (engine/intensity.py, engine/timegrid.py,
engine/lifecycle.py), against plain references: a piece of a parent's intensity weighs what a snapped
series' grid points inside it weigh (`Points.mass_at`, also for hour-bucketed fine grids), and
`state_at` finds each row's walk entry with a vectorised search inside its parent's entries, which
must be the entry a row-by-row scan finds."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from datagen.engine.lifecycle import last_at
from datagen.engine.timegrid import Points, _bucketed, build_points
from tests.strategies import shard

HOUR = 3_600_000_000
START = 1_704_067_200_000_000  # 2024-01-01 UTC, in us


@shard(0, 60)
@given(
    freq=st.sampled_from(["h", "30min", "D", "MS", "10s"]),
    hours=st.integers(1, 24 * 90),
    pattern=st.sampled_from(
        [(), (("hour", tuple([0.0] * 6 + [1.0] * 18)),), (("dow", (1, 1, 1, 1, 1, 3, 0)),)]
    ),
    cuts=st.lists(st.integers(-2 * HOUR, 24 * 91 * HOUR), min_size=1, max_size=40),
)
def test_the_mass_before_an_instant_is_the_weight_of_the_grid_points_before_it(
    freq: str, hours: int, pattern: tuple, cuts: list[int]
) -> None:
    end = START + hours * HOUR
    grid = build_points(START, end, freq, pattern)
    _assert_mass_is_the_points_before(grid, START + np.asarray(cuts, dtype=np.int64))
    # a fine grid is held as hour buckets: the same grid, bucketed, weighs the same
    step = {"h": HOUR, "30min": HOUR // 2, "10s": 10_000_000}.get(freq)
    if step is not None:
        _assert_mass_is_the_points_before(
            _bucketed(START, end, step, pattern), START + np.asarray(cuts, dtype=np.int64)
        )


def _assert_mass_is_the_points_before(grid: Points, t: np.ndarray) -> None:
    if grid.step:  # hour buckets (a fine grid): every grid point, one by one
        assert grid.counts is not None and grid.first is not None
        points = np.concatenate(
            [
                f + np.arange(c, dtype=np.int64) * grid.step
                for f, c in zip(grid.first, grid.counts, strict=True)
            ]
        )
        per = np.repeat(np.diff(grid.cum) / np.maximum(grid.counts, 1), grid.counts)
    else:
        points, per = grid.points, np.diff(grid.cum)
    expected = np.array([per[points < x].sum() for x in t])
    assert np.allclose(grid.mass_at(t), expected, rtol=1e-12, atol=1e-9)


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
