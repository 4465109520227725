"""Regular series (docs/schema-language.md §10.5): `fanout.every` gives each parent row one child per
period of its life inside the timeframe (`count` per period, or a Poisson number with `lambda`).

A parent's life is [its life start, its life end) — the columns `Node.life_start_column` and
`Node.life_end_column` name, a missing value meaning the timeframe's edge — cut to the timeframe.
Its periods are those of `every` that *start* inside the life: fixed steps counted from 1970-01-01
(`10min` on the ten minutes, `D` at midnight), calendar ones as pandas anchors them (`MS`, `W-MON`).

Counts and times agree because both come from the same parent arithmetic: a constant series puts
child j of a parent in its period j // count (so no period is skipped or repeated); a Poisson series
draws the parent's total over all its periods at once (a sum of Poissons) and puts each child in a
uniformly drawn period, which is the same process.

With `active_in` (§10.3) a period counts at the weight of the state the parent's walk is in when the
period starts. The life is cut into `Spells` (one per state entered, states of weight 0 left out): a
Poisson series has lambda × weight per period, each child in a period drawn by weight; a constant one
has count × weight rows per period on average, each period floor or ceil of it, evenly spread — spell
s holds floor(P·r + φ) rows (P periods, r = count × weight, φ a uniform draw of the spell), the ℓ-th of
them in its period ceil((ℓ + 1 − φ) / r) − 1. A time drawn inside a period stays inside its spell, so
every row falls in a state of positive weight."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from datagen.dsl.generators import DatetimeSeriesGen
from datagen.dsl.limits import MAX_ROWS
from datagen.dsl.models import Column, Fanout, Node, Schema
from datagen.dsl.units import DAY_US
from datagen.engine.block import Block, Store
from datagen.engine.lifecycle import INT64_MAX, last_at, walk_of_stored_block
from datagen.engine.rng import block_rng
from datagen.engine.timegrid import instant_in, period_starts, step_us


@dataclass(frozen=True)
class Periods:
    """The periods of a frequency: fixed steps by arithmetic, calendar ones from a table of starts
    covering the timeframe (with the timeframe's end as a last sentinel)."""

    step: int  # µs; 0 for calendar frequencies
    starts: np.ndarray  # calendar starts (empty for fixed steps)

    def index(self, t: np.ndarray) -> np.ndarray:
        """The index of the first period starting at or after each t."""
        if self.step:
            return np.asarray(-(-t // self.step))
        return np.asarray(np.searchsorted(self.starts, t, side="left"))

    def start(self, i: np.ndarray) -> np.ndarray:
        if self.step:
            return np.asarray(i * self.step)
        return np.asarray(self.starts[np.minimum(i, len(self.starts) - 1)])

    def count(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """How many periods start in [lo, hi) (0 when the interval is empty)."""
        return np.asarray(np.maximum(self.index(hi) - self.index(lo), 0))


@lru_cache(maxsize=32)
def periods(every: str, start_us: int, end_us: int) -> Periods:
    step = step_us(every)
    if step:
        return Periods(step, np.zeros(0, dtype=np.int64))
    return Periods(0, np.append(period_starts(start_us, end_us, every), end_us))


def period_count(every: str, start_us: int, end_us: int) -> int:
    """Periods of `every` starting inside [start, end): the most a parent alive throughout has."""
    p = periods(every, start_us, end_us)
    return int(p.count(np.array([start_us]), np.array([end_us]))[0])


def life(store: Store, parent: Node, rows: np.ndarray, tf: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Each parent row's life cut to the timeframe, [lo, hi) in µs (a missing start or end is the
    timeframe's)."""
    start, end = tf
    lo = np.full(len(rows), start, dtype=np.int64)
    hi = np.full(len(rows), end, dtype=np.int64)
    for column, side in ((parent.life_start_column(), "lo"), (parent.life_end_column(), "hi")):
        if column is None:
            continue
        t = store.column(parent.id, column)[rows].astype("datetime64[us]")
        us = np.where(np.isnat(t), start if side == "lo" else end, t.astype(np.int64))
        if side == "lo":
            lo = np.maximum(lo, us)
        else:
            hi = np.minimum(hi, us)
    return lo, np.maximum(hi, lo)


@dataclass(frozen=True)
class Spells:
    """Each parent's life in one block, cut where its walk enters a state (for `active_in`): spell j of
    block-local parent `parent[j]` covers [a[j], b[j]) at `weight[j]` > 0, the periods `first[j]` ..
    `first[j] + periods[j] - 1` start in it, and `phase[j]` spreads a constant series' rows. Sorted by
    parent, then time; `offsets` has each parent's first spell (n + 1 entries)."""

    parent: np.ndarray
    a: np.ndarray
    b: np.ndarray
    weight: np.ndarray
    first: np.ndarray
    periods: np.ndarray
    phase: np.ndarray
    offsets: np.ndarray

    def rows(self, per: int) -> np.ndarray:
        """Rows of each spell of a constant series of `per` rows per period: floor(P·r + φ)."""
        return np.asarray(np.floor(self.periods * per * self.weight + self.phase).astype(np.int64))


def spells(
    schema: Schema,
    store: Store,
    seed: int,
    fact: Node,
    parent: Node,
    k: int,
    rows: np.ndarray,
    tf: tuple[int, int],
) -> Spells:
    """The spells of parent block `k` (rows `rows`, the whole block) for the regular fact `fact`, from
    the walk its `active_in` names (the same cached walk its own table and its siblings read)."""
    f, ai = fact.fanout, fact.active_in
    assert f is not None and f.every is not None and ai is not None
    walk_node = schema.node(ai.walk)
    assert walk_node is not None  # the check step makes sure
    result = walk_of_stored_block(store, schema, seed, walk_node, k, rows, tf)
    lo, hi = life(store, parent, rows, tf)
    who, entered = result.parent, result.times
    tcol = walk_node.walk.walk_columns(walk_node).time if walk_node.walk is not None else None
    col = walk_node.column(tcol) if tcol else None
    if col is not None and col.type == "date":  # the states as the walk table holds them: by the day
        entered = entered - entered % DAY_US
    same = np.append(who[1:] == who[:-1], False)
    a = np.maximum(entered, lo[who])
    b = np.minimum(np.where(same, np.append(entered[1:], INT64_MAX), INT64_MAX), hi[who])
    weight = pd.Series(result.labels, dtype=object).map(ai.states).fillna(0.0).to_numpy(float)
    phase = block_rng(seed, fact.id, "__regular__", k).random(len(who))
    p = periods(f.every, *tf)
    count = p.count(a, np.maximum(a, b))
    keep = (weight > 0) & (count > 0)
    who = who[keep]
    offsets = np.searchsorted(who, np.arange(len(rows) + 1), side="left")
    return Spells(who, a[keep], b[keep], weight[keep], p.index(a[keep]), count[keep], phase[keep], offsets)


def counts(
    f: Fanout,
    parent: Node,
    store: Store,
    rows: np.ndarray,
    tf: tuple[int, int],
    m: np.ndarray,
    rng: np.random.Generator,
    states: Spells | None = None,
) -> np.ndarray:
    """Children of each parent row: a constant count per period (no multiplier changes it), or a
    Poisson number with mean lambda × multiplier × periods — each period at its state's weight, with
    `states` (the spells of `active_in`)."""
    assert f.every is not None
    if states is None:
        lo, hi = life(store, parent, rows, tf)
        n = periods(f.every, *tf).count(lo, hi).astype(float)
    elif f.distribution == "constant":
        per_spell = states.rows(f.constant_count)
        return np.bincount(states.parent, weights=per_spell, minlength=len(rows)).astype(np.int64)
    else:
        n = np.bincount(states.parent, weights=states.periods * states.weight, minlength=len(rows))
    if f.distribution == "constant":
        return np.asarray((n * f.constant_count).astype(np.int64))
    assert f.lambda_ is not None  # the check step allows only constant and poisson with `every`
    return np.asarray(rng.poisson(np.minimum(f.lambda_ * m * n, MAX_ROWS)).astype(np.int64))


def is_regular_time(node: Node, column: str) -> bool:
    """The column holding a regular fact's period: its first time column (a datetime_series)."""
    col = node.column(column)
    return (
        node.fanout is not None
        and node.fanout.every is not None
        and column == node.first_time_column()
        and col is not None
        and isinstance(col.generator, DatetimeSeriesGen)
    )


def times(block: Block, col: Column, gen: DatetimeSeriesGen) -> np.ndarray:
    """Each row's time: its period's start (`slot`) or a uniform instant inside the period, within the
    parent's life."""
    node = block.table.node
    f = node.fanout
    assert f is not None and f.every is not None and block.parent_rows is not None
    assert block.born_index is not None and node.parents
    parent = block.schema.node(node.parents[0])
    assert parent is not None
    tf = block.timeframe_us
    lo, hi = life(block.store, parent, block.parent_rows, tf)
    p = periods(f.every, *tf)
    if node.active_in is not None:
        i, hi = _in_spells(block, col, f, parent)
    elif f.distribution == "constant":
        i = p.index(lo) + block.born_index // max(f.constant_count, 1)
    else:
        n = p.count(lo, hi)
        i = p.index(lo) + np.floor(block.rng(col.name, "period").random(block.n) * n).astype(np.int64)
    start = p.start(i)
    if gen.datetime_series.slot:
        out = start
    else:
        stop = np.minimum(p.start(i + 1), hi)
        out = instant_in(block.rng(col.name), np.maximum(start, lo), stop)
    return np.asarray(out.astype("datetime64[us]"))


def _block_spells(block: Block, parent: Node) -> tuple[Spells, np.ndarray]:
    """The spells of this fact block's parent block, and each row's block-local parent."""
    assert block.parent_block is not None and block.parent_rows is not None
    rows = block.parent_block_rows()
    found = spells(
        block.schema,
        block.store,
        block.seed,
        block.table.node,
        parent,
        block.parent_block,
        rows,
        block.timeframe_us,
    )
    return found, block.parent_rows - rows[0]


def _in_spells(block: Block, col: Column, f: Fanout, parent: Node) -> tuple[np.ndarray, np.ndarray]:
    """Each row's period, and the end of the spell it starts in (a time drawn inside the period stays
    before it): a constant series by each row's place among its parent's rows, a Poisson one by a spell
    drawn by its weight × periods, then a uniform period of it."""
    sp, local = _block_spells(block, parent)
    start, stop = sp.offsets[local], sp.offsets[local + 1]
    top = max(len(sp.parent) - 1, 0)
    rng = block.rng(col.name, "period")
    if f.distribution == "constant":
        per_spell = sp.rows(f.constant_count)
        cum = np.cumsum(per_spell)
        before = np.concatenate([[0], cum])[start]  # the rows of the parents before this one
        assert block.born_index is not None
        j = np.minimum(np.searchsorted(cum, before + block.born_index, side="right"), top)
        nth = before + block.born_index - (cum[j] - per_spell[j])  # the row's place in its spell
        r = f.constant_count * sp.weight[j]
        off = np.ceil((nth + 1 - sp.phase[j]) / r).astype(np.int64) - 1
    else:
        mass = np.cumsum(sp.periods * sp.weight)
        base = np.concatenate([[0.0], mass])
        total = base[stop] - base[start]
        j = np.searchsorted(mass, base[start] + rng.random(block.n) * total, side="right")
        j = np.minimum(np.clip(j, start, np.maximum(stop - 1, start)), top)
        off = np.floor(rng.random(block.n) * sp.periods[j]).astype(np.int64)
    off = np.clip(off, 0, np.maximum(sp.periods[j] - 1, 0))
    return sp.first[j] + off, sp.b[j]


def jitter_limits(block: Block, column: str, t: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Where a `time_jitter` may move a regular row (None for other columns): inside its parent's life
    and still naming its own period — nearer its start than any other's for a `slot` (the period is
    read back as the nearest start), inside the period otherwise."""
    node = block.table.node
    col = node.column(column)
    if not is_regular_time(node, column) or block.parent_rows is None or col is None:
        return None
    f = node.fanout
    assert f is not None and f.every is not None and node.parents
    assert isinstance(col.generator, DatetimeSeriesGen)
    parent = block.schema.node(node.parents[0])
    assert parent is not None
    tf = block.timeframe_us
    lo, hi = life(block.store, parent, block.parent_rows, tf)
    if node.active_in is not None:  # and inside the spell of the state it fell in
        sp, local = _block_spells(block, parent)
        j = last_at(sp.parent, sp.a, local, t.astype(np.int64))
        ok = j >= 0
        lo = np.where(ok, np.maximum(lo, sp.a[np.maximum(j, 0)]), lo)
        hi = np.where(ok, np.minimum(hi, sp.b[np.maximum(j, 0)]), hi)
    p = periods(f.every, *tf)
    i = p.index(t + 1) - 1  # the period the value is in
    start, nxt = p.start(i), p.start(i + 1)
    if col.generator.datetime_series.slot:
        prev = p.start(i - 1) if p.step else np.where(i > 0, p.start(np.maximum(i - 1, 0)), 2 * start - nxt)
        low, high = start - (start - prev) // 2 + 1, start + (nxt - start) // 2 - 1
    else:
        low, high = start, nxt - 1
    low = np.maximum(low, lo)
    return low, np.maximum(np.minimum(high, hi - 1), low)
