"""Regular series (docs/schema-language.md §10.5): `fanout.every` gives each parent row one child per
period of its life inside the timeframe (`count` per period, or a Poisson number with `lambda`).

A parent's life is [its life start, its life end) — the columns `Node.life_start_column` and
`Node.life_end_column` name, a missing value meaning the timeframe's edge — cut to the timeframe.
Its periods are those of `every` that *start* inside the life: fixed steps counted from 1970-01-01
(`10min` on the ten minutes, `D` at midnight), calendar ones as pandas anchors them (`MS`, `W-MON`).

Counts and times agree because both come from the same parent arithmetic: a constant series puts
child j of a parent in its period j // count (so no period is skipped or repeated); a Poisson series
draws the parent's total over all its periods at once (a sum of Poissons) and puts each child in a
uniformly drawn period, which is the same process."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from datagen.dsl.generators import DatetimeSeriesGen
from datagen.dsl.limits import MAX_ROWS
from datagen.dsl.models import Column, Fanout, Node
from datagen.engine.block import Block, Store
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


def counts(
    f: Fanout,
    parent: Node,
    store: Store,
    rows: np.ndarray,
    tf: tuple[int, int],
    m: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Children of each parent row: a constant count per period (no multiplier changes it), or a
    Poisson number with mean lambda × multiplier × periods."""
    assert f.every is not None
    lo, hi = life(store, parent, rows, tf)
    n = periods(f.every, *tf).count(lo, hi).astype(float)
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
    first = p.index(lo)
    if f.distribution == "constant":
        k = block.born_index // max(f.constant_count, 1)
    else:
        n = p.count(lo, hi)
        k = np.floor(block.rng(col.name, "period").random(block.n) * n).astype(np.int64)
    i = first + k
    start = p.start(i)
    if gen.datetime_series.slot:
        out = start
    else:
        stop = np.minimum(p.start(i + 1), hi)
        out = instant_in(block.rng(col.name), np.maximum(start, lo), stop)
    return np.asarray(out.astype("datetime64[us]"))


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
