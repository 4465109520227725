"""The fast paths of time sampling (engine/timegrid.py) give exactly what the plain computation gives:
the guide table finds the same cell as numpy's binary search for any masses (zero-mass runs, one cell
holding everything, values on cell edges, both ends), and the mass at runs of equal instants is the
mass at each instant."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from datagen.engine.timegrid import Cells, Guide
from tests.strategies import shard

masses = hnp.arrays(
    np.float64,
    st.integers(1, 400),
    elements=st.one_of(st.just(0.0), st.floats(1e-9, 1e3), st.floats(0.5, 2.0)),
).filter(lambda w: w.sum() > 0)


@shard(0, 150)
@given(w=masses, seed=st.integers(0, 2**32 - 1))
def test_the_guide_finds_the_cell_binary_search_finds(w: np.ndarray, seed: int) -> None:
    cum = np.concatenate([[0.0], np.cumsum(w)])
    rng = np.random.default_rng(seed)
    u = np.concatenate([rng.random(2000) * cum[-1], cum, [0.0, cum[-1], -1.0, np.nan], np.nextafter(cum, 0)])
    expected = np.searchsorted(cum, u, side="right") - 1
    assert np.array_equal(Guide(cum).last_at_most(u), expected)


def test_a_guide_past_its_steps_still_answers_exactly() -> None:
    """A thousand zero-mass cells in one bucket: more cells than the guide walks; the rest are searched."""
    w = np.concatenate([[1.0], np.zeros(1000), [1.0], np.full(50, 1e-6)])
    cum = np.concatenate([[0.0], np.cumsum(w)])
    u = np.linspace(0, cum[-1], 10_001)
    assert np.array_equal(Guide(cum).last_at_most(u), np.searchsorted(cum, u, side="right") - 1)


@shard(1, 60)
@given(runs=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 20)), min_size=1, max_size=60))
def test_the_mass_over_runs_is_the_mass_at_each_instant(runs: list[tuple[int, int]]) -> None:
    cells = Cells(np.array([0, 100, 2500, 9000, 10_000], dtype=np.int64), np.array([0.0, 0.5, 0.6, 3.0, 4.0]))
    t = np.repeat(np.array([v for v, _ in runs], dtype=np.int64), [n for _, n in runs])
    assert np.array_equal(cells.mass_over_runs(t), cells.mass_at(t))
