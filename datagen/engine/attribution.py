"""Attribution (docs/schema-language.md §8.5): conversions caused by earlier touches of the same parent,
and the credit table that spreads each conversion over its touches.

Conversions. Each touch is a chance to convert: right after touch i of a parent, the parent converts
with probability p_i, where logit(p_i) = logit(base_rate) + Σ log(lift of channel c_j) over the
parent's touches j inside the lookback window ending at touch i, (t_i − lookback, t_i] (touch i
included). A conversion falls at a uniform instant strictly between touch i and the parent's next
touch, less than `lookback` after touch i and before the timeframe end — so every conversion follows
at least one touch of its parent inside its window, and an analyst can fit the lifts back with a
logistic regression of "a conversion before the next touch" on the channel counts in each window.

Credit. Each conversion's touches are its parent's touches in [t − lookback, t); they get a position
(1 = the earliest) and a credit under four models — first touch, last touch, linear (1/n), and time
decay (weight 2^(−age / half_life), normalised) — each summing to 1 per conversion.

Both are computed once per block of parent rows, vectorised over all its touches (sorted by parent,
then time), and each output block takes its slice, like a walk (engine/walks.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from datagen.dsl.behaviours import Attribution, CreditColumns
from datagen.dsl.models import Node
from datagen.engine.behaviours import BehaviourEngine
from datagen.engine.block import Block
from datagen.engine.rng import block_rng

if TYPE_CHECKING:
    from datagen.engine.generate import Engine


def _times(values: np.ndarray) -> np.ndarray:
    return np.asarray(values).astype("datetime64[us]").astype(np.int64)


@dataclass(frozen=True)
class BornRows:
    """The rows an attribution makes for one block of parent rows: how many per parent, and the
    columns it fills (parents in order, the rows of one parent contiguous)."""

    counts: np.ndarray
    columns: dict[str, np.ndarray]


class _Born(BehaviourEngine[Attribution]):
    """Rows born per block of parent rows: counts first (the layout), then each block's slice."""

    def run(
        self, spec: Attribution, engine: Engine, node: Node, parent: Node, rows: np.ndarray, k: int
    ) -> BornRows:
        raise NotImplementedError

    def counts(
        self, spec: Attribution, engine: Engine, node: Node, parent: Node, k: int, rows: np.ndarray
    ) -> np.ndarray:
        return self.run(spec, engine, node, parent, rows, k).counts

    def fill(self, spec: Attribution, engine: Engine, block: Block) -> set[str]:
        node = block.table.node
        assert block.parent_block is not None and node.parents  # a fact
        key = (block.node_id, block.parent_block)
        if engine.born_cache is None or engine.born_cache[0] != key:
            parent = engine.plan.table(node.parents[0]).node
            size = engine.options.block_rows
            k = block.parent_block
            rows = np.arange(k * size, min((k + 1) * size, engine.store.rows[parent.id]), dtype=np.int64)
            engine.born_cache = (key, self.run(spec, engine, node, parent, rows, k))
        result = engine.born_cache[1]
        s, e = block.child_offset, block.child_offset + block.n
        for name, values in result.columns.items():
            block.values[name] = values[s:e]
        return set(result.columns)


def _touch_rows(engine: Engine, spec: Attribution, parents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The touch rows of each parent row in `parents`: (owner index into `parents`, touch row)."""
    first, end = engine.store.children_of(spec.touches, parents)
    sizes = end - first
    owner = np.repeat(np.arange(len(parents)), sizes)
    starts = np.cumsum(sizes) - sizes
    touch = first[owner] + (np.arange(int(sizes.sum())) - starts[owner])
    return owner, touch.astype(np.int64)


class Conversions(_Born):
    def run(
        self, spec: Attribution, engine: Engine, node: Node, parent: Node, rows: np.ndarray, k: int
    ) -> BornRows:
        store = engine.store
        owner, touch = _touch_rows(engine, spec, rows)
        t = _times(store.column(spec.touches, spec.time_column)[touch])
        valid = t != np.iinfo(np.int64).min  # a touch without a time is no chance to convert
        owner, touch, t = owner[valid], touch[valid], t[valid]
        order = np.lexsort((touch, t, owner))
        owner, touch, t = owner[order], touch[order], t[order]
        channel = pd.Series(store.column(spec.touches, spec.channel_column)[touch], dtype=object).astype(str)
        names = list(spec.channel_lift)
        lifts = np.log(np.asarray([spec.lift(c) for c in names] + [1.0]))
        position = pd.Index(names).get_indexer(channel)
        log_lift = lifts[np.where(position < 0, len(names), position)]
        lookback = spec.lookback.us
        start = _window_start(owner, t, lookback)
        cum = np.concatenate([[0.0], np.cumsum(log_lift)])
        logit = np.log(spec.base_rate / (1 - spec.base_rate)) + cum[1:] - cum[start]
        p = 1.0 / (1.0 + np.exp(-np.clip(logit, -700, 700)))
        rng = block_rng(engine.options.seed, node.id, "__attribution__", k)
        u, v = rng.random(len(t)), rng.random(len(t))
        end = engine.tf[1]
        same = np.r_[owner[1:] == owner[:-1], False]
        next_t = np.where(same, np.r_[t[1:], 0], end)
        room = np.minimum(np.minimum(next_t, end), t + lookback) - t
        converts = (u < p) & (room >= 2)
        delay = 1 + np.floor(v * (room - 1)).astype(np.int64)  # in [1, room - 1]: strictly inside
        times = (t + delay)[converts]
        counts = np.bincount(owner[converts], minlength=len(rows)).astype(np.int64)
        column = spec.conversion_time_column(node)
        assert column is not None  # the check step requires one
        return BornRows(counts, {column: times.astype("datetime64[us]")})


def _window_start(owner: np.ndarray, t: np.ndarray, lookback: int) -> np.ndarray:
    """For each touch (sorted by owner, then time): the index of the first touch of the same owner
    with a time after t − lookback — where its window (t − lookback, t] begins."""
    if not len(t):
        return np.zeros(0, dtype=np.int64)
    values, inverse = np.unique(np.concatenate([t, t - lookback]), return_inverse=True)
    width = len(values) + 1
    rank_t, rank_q = inverse[: len(t)], inverse[len(t) :]
    key = owner.astype(np.int64) * width + rank_t
    return np.searchsorted(key, owner.astype(np.int64) * width + rank_q, side="right").astype(np.int64)


class Credit(_Born):
    def run(
        self, spec: Attribution, engine: Engine, node: Node, parent: Node, rows: np.ndarray, k: int
    ) -> BornRows:
        """`parent` is the conversions table and `rows` its rows."""
        store = engine.store
        time = spec.conversion_time_column(parent)
        assert time is not None and parent.primary_parent is not None
        conversion_offsets = store.offsets[parent.id]
        owners = np.searchsorted(conversion_offsets, rows, side="right") - 1  # each conversion's parent
        at = _times(store.column(parent.id, time)[rows])
        conversion, touch = _touch_rows(engine, spec, owners)
        t = _times(store.column(spec.touches, spec.time_column)[touch])
        inside = (t >= at[conversion] - spec.lookback.us) & (t < at[conversion])
        conversion, touch, t = conversion[inside], touch[inside], t[inside]
        order = np.lexsort((touch, t, conversion))
        conversion, touch, t = conversion[order], touch[order], t[order]
        counts = np.bincount(conversion, minlength=len(rows)).astype(np.int64)
        starts = np.cumsum(counts) - counts
        position = np.arange(len(t)) - starts[conversion] + 1
        n = counts[conversion]
        age = (at[conversion] - t) / spec.decay_half_life.us
        weight = np.exp2(-age)
        decay = weight / np.bincount(conversion, weights=weight, minlength=len(rows))[conversion]
        touches = engine.plan.table(spec.touches).node
        assert touches.pk is not None
        columns = {
            CreditColumns.TOUCH: store.column(spec.touches, touches.pk)[touch],
            CreditColumns.POSITION: position.astype(np.int64),
            "first_touch": (position == 1).astype(np.float64),
            "last_touch": (position == n).astype(np.float64),
            "linear": 1.0 / n,
            "time_decay": decay,
        }
        assert set(columns) == {CreditColumns.TOUCH, CreditColumns.POSITION, *CreditColumns.MODELS}
        return BornRows(counts, columns)


CONVERSIONS = Conversions()
CREDIT = Credit()
