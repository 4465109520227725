"""How many children each parent row has (DSL.md §5): drawn per block of parent rows, after every
multiplier (segment, table-level effect, vintage activity), bounded by min/max."""

from __future__ import annotations

import numpy as np

from datagen.dsl.limits import MAX_ROWS
from datagen.dsl.models import Node
from datagen.dsl.references import first_datetime_column
from datagen.engine.behaviours import activity_share, fanout_curves, parent_factors
from datagen.engine.block import Store
from datagen.engine.effects import effect_multiplier
from datagen.engine.rng import block_rng


def fanout_multiplier(
    fact: Node, parent: Node, store: Store, rows: np.ndarray, tf: tuple[int, int]
) -> np.ndarray:
    m = np.ones(len(rows))
    if parent.segment_behavior is not None:
        m *= parent_factors(parent, store, "fanout_multiplier")[rows]
    for mod in fact.modifiers:  # table-level effects: read on the parent's row, at its time
        args = mod.args
        tcol = args.time_column or first_datetime_column(parent)
        keys = {local: store.column(parent.id, local)[rows] for local in args.on}
        factor = effect_multiplier(store, args, keys, store.column(parent.id, tcol)[rows])
        m = m * factor if args.map.op == "mul" else m + factor
    if fanout_curves(parent):
        m *= activity_share(parent, store, rows, *tf)
    return np.maximum(m, 0.0)


def child_counts(
    seed: int, fact: Node, parent: Node, store: Store, block: int, rows: np.ndarray, tf: tuple[int, int]
) -> np.ndarray:
    """Children per parent row for one block of parent rows (int64)."""
    f = fact.fanout
    n = len(rows)
    if f is None:
        return np.ones(n, dtype=np.int64)
    rng = block_rng(seed, fact.id, "__fanout__", block)
    m = fanout_multiplier(fact, parent, store, rows, tf)
    # A multiplier that overflowed (a vintage curve or an effect gone to inf) must not crash the draw or
    # wrap a count: each parent is capped at the table limit, and the engine then refuses the table.
    m = np.where(np.isfinite(m), np.minimum(m, MAX_ROWS), MAX_ROWS)
    if f.distribution == "poisson":
        counts = rng.poisson(np.minimum(f.lambda_ * m, MAX_ROWS))
    elif f.distribution == "negative_binomial":
        k = f.dispersion or 1.0
        mean = np.minimum(f.lambda_ * m, MAX_ROWS)
        counts = rng.negative_binomial(k, k / (k + np.maximum(mean, 1e-12)))
        counts = np.where(mean > 0, counts, 0)
    else:
        base = rng.integers(f.min, f.max + 1, n).astype(float) * m
        counts = np.floor(base + rng.random(n))  # stochastic rounding keeps the mean
    lo = f.min if f.min is not None else 0
    hi = f.max if f.max is not None else MAX_ROWS
    return np.clip(counts, lo, hi).astype(np.int64)
