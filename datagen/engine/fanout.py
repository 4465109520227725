"""How many children each parent row has (docs/schema-language.md §5): drawn per block of parent rows,
after every multiplier — the parent's behaviour blocks per row (segment, activity), the table-level
effects read on the parent's row, then, when the fanout is a rate over the parent's life (a lifetime, a
vintage activity curve, `active_in`), the share of the window's intensity the parent's life holds
(engine/intensity.py) — bounded by min/max; a parent with no life inside the window has none, and
neither has one where a conditional fanout's `where` fails (§10.4). A regular series counts the periods
of the parent's life instead, each at the weight of the parent's state with `active_in` (§10.5,
regular.py)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

from datagen.dsl.behaviours import BehaviourBlock
from datagen.dsl.expressions import Expression, parse_expression
from datagen.dsl.limits import MAX_ROWS
from datagen.dsl.models import Node
from datagen.engine import regular
from datagen.engine.behaviours import BehaviourEngine
from datagen.engine.block import Store
from datagen.engine.effects import effect_multiplier
from datagen.engine.intensity import ParentBlock, rated, shares
from datagen.engine.plan import Plan
from datagen.engine.rng import block_rng

Engines = Callable[[BehaviourBlock], BehaviourEngine[Any]]


def fanout_multiplier(
    fact: Node,
    parent: Node,
    store: Store,
    rows: np.ndarray,
    tf: tuple[int, int],
    engines: Engines,
) -> np.ndarray:
    """Each parent row's multiplier of its children count (the share of its life comes after)."""
    m = np.ones(len(rows))
    for spec in parent.behaviours:
        factor = engines(spec).fanout_factor(spec, parent, store, rows)
        if factor is not None:
            m *= factor
    for effect in fact.modifiers:  # table-level effects: read on the parent's row, at its time
        args = effect.args
        tcol = effect.row_time_column(parent)
        assert tcol is not None  # the check step requires one
        keys = {local: store.column(parent.id, local)[rows] for local in args.on}
        factor = effect_multiplier(store, args, keys, store.column(parent.id, tcol)[rows])
        m = m * factor if args.map.op == "mul" else m + factor
    return np.maximum(m, 0.0)


def child_counts(
    seed: int,
    fact: Node,
    parent: Node,
    store: Store,
    block: int,
    rows: np.ndarray,
    tf: tuple[int, int],
    engines: Engines,
    plan: Plan | None = None,
) -> np.ndarray:
    """Children per parent row for one block of parent rows (int64)."""
    f = fact.fanout
    n = len(rows)
    if f is None:
        return np.ones(n, dtype=np.int64)
    rng = block_rng(seed, fact.id, "__fanout__", block)
    m = fanout_multiplier(fact, parent, store, rows, tf, engines)
    alive = None
    if plan is not None and rated(fact, parent):
        share, alive = shares(ParentBlock(fact, parent, store, plan, seed, block, rows, tf), engines)
        m = m * share
    # A multiplier that overflowed (a vintage curve or an effect gone to inf) must not crash the draw or
    # wrap a count: each parent is capped at the table limit, and the engine then refuses the table.
    m = np.where(np.isfinite(m), np.minimum(m, MAX_ROWS), MAX_ROWS)
    if f.every is not None:
        states = None
        if fact.active_in is not None:  # each period at the weight of the parent's state
            assert plan is not None  # the engine always passes its plan
            states = regular.spells(plan.schema, store, seed, fact, parent, block, rows, tf)
        counts = regular.counts(f, parent, store, rows, tf, m, rng, states)
    elif f.distribution == "poisson":
        assert f.lambda_ is not None
        counts = rng.poisson(np.minimum(f.lambda_ * m, MAX_ROWS))
    elif f.distribution == "negative_binomial":
        assert f.lambda_ is not None
        k = f.dispersion or 1.0
        mean = np.minimum(f.lambda_ * m, MAX_ROWS)
        counts = rng.negative_binomial(k, k / (k + np.maximum(mean, 1e-12)))
        counts = np.where(mean > 0, counts, 0)
    else:
        per = float(f.constant_count) if f.distribution == "constant" else None
        if per is None:
            assert f.min is not None and f.max is not None
            base = rng.integers(f.min, f.max + 1, n).astype(float) * m
        else:
            base = per * m
        counts = np.floor(base + rng.random(n))  # stochastic rounding keeps the mean
    if f.every is None:
        counts = np.clip(counts, f.min if f.min is not None else 0, f.max if f.max is not None else MAX_ROWS)
    if alive is not None:
        counts = np.where(alive, counts, 0)  # never alive inside the window: no time to place a child at
    if f.where is not None:  # after min/max: a parent the condition leaves out has no child at all
        counts = np.where(where_holds(f.where, parent, store, rows), counts, 0)
    return np.asarray(counts, dtype=np.int64)


@lru_cache(maxsize=256)
def _condition(code: str) -> Expression:
    return parse_expression(code)


def where_holds(code: str, parent: Node, store: Store, rows: np.ndarray) -> np.ndarray:
    """Which parent rows a conditional fanout's `where` holds for (docs/schema-language.md §10.4)."""
    cond = _condition(code)
    return cond.holds({c: store.column(parent.id, c)[rows] for c in cond.columns}, len(rows))
