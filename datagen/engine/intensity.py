"""A child table is a point process on its parent's life (docs/architecture.md): the general child-time
sampler behind lifetimes, activity, vintage curves and `active_in` (docs/schema-language.md §8.2, §10.2,
§10.3).

Each parent row has an intensity over time for a child fact,
`rate × activity × segment × vintage(age(t)) × state_weight(t) × patterns(t)`, zero outside the row's
life ∩ the child's window. The time-varying factors other than the calendar patterns are step
functions per parent row (`Steps`, from the behaviour engines' `rate_steps`); merged, they cut each
parent's domain into `Pieces` of constant factor. A piece's mass is its factor times the pattern mass
of the child's time grid inside it, so:

- a parent's count is its fanout at the share of the window's mass its pieces hold (rate semantics: a
  parent alive for a third of the window has about a third of the children);
- a child's time is drawn from the same intensity: a piece by its mass (inverse CDF over the parent's
  pieces, clipped to the row's own bounds), then an instant inside it from the series' own sampler
  (`sample` inside the piece, which keeps the patterns, the curve and `snap`).

Nothing is drawn and then thrown away, so a child can never fall outside its parent's life, and counts
and times agree by construction. Everything is vectorised over the rows of a block."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from datagen.dsl.behaviours import BehaviourBlock
from datagen.dsl.generators import DatetimeSeriesGen
from datagen.dsl.models import Node, Schema
from datagen.engine.behaviours import BehaviourEngine
from datagen.engine.block import Block, Store
from datagen.engine.diffusion import series_sampler
from datagen.engine.lifecycle import INT64_MAX, INT64_MIN, Life
from datagen.engine.plan import Plan
from datagen.engine.timegrid import Sampler, build_cells, to_us

Engines = Callable[[BehaviourBlock], BehaviourEngine[Any]]


@dataclass(frozen=True)
class Steps:
    """A step function per parent row: `value[j]` holds from `time[j]` on, for block-local parent
    `parent[j]`. Sorted by parent, then time; every parent's first entry is at INT64_MIN."""

    parent: np.ndarray
    time: np.ndarray
    value: np.ndarray


@dataclass(frozen=True)
class Pieces:
    """Each parent's domain cut where its factor changes: piece j covers [a[j], b[j]) of parent
    `parent[j]` with `factor[j]`; a parent's pieces are contiguous (`first` has n + 1 offsets)."""

    parent: np.ndarray
    a: np.ndarray
    b: np.ndarray
    factor: np.ndarray
    first: np.ndarray


@dataclass(frozen=True)
class ParentBlock:
    """One block of parent rows, as a child fact's rate reads it."""

    fact: Node
    parent: Node
    store: Store
    plan: Plan
    seed: int
    k: int
    rows: np.ndarray
    tf: tuple[int, int]

    @property
    def schema(self) -> Schema:
        return self.plan.schema

    def column(self, name: str) -> np.ndarray:
        return np.asarray(self.store.column(self.parent.id, name)[self.rows])

    @property
    def life(self) -> Life | None:
        life = self.store.lives.get(self.parent.id)
        return life.take(self.rows) if life is not None else None


def rated(fact: Node, parent: Node) -> bool:
    """Is the fact's count a rate over its parent's life (a lifetime, an activity curve over age, or a
    state-dependent rate), rather than a fixed number per parent?"""
    if fact.fanout is None or fact.walk is not None or fact.primary_parent != parent.id:
        return False
    if fact.fanout.every is not None:
        return False  # a regular series counts the periods of the parent's life (regular.py)
    vintage = parent.vintage_behavior is not None and bool(parent.vintage_behavior.fanout_curves)
    return parent.lifetime is not None or vintage or fact.active_in is not None


def own_time_column(fact: Node) -> str | None:
    """The child's own time (its first datetime column), when the engine draws it (a datetime_series)."""
    tcol = fact.first_time_column()
    col = fact.column(tcol) if tcol else None
    return tcol if col is not None and isinstance(col.generator, DatetimeSeriesGen) else None


def child_grid(fact: Node, schema: Schema) -> Sampler:
    """The density the child's own time is drawn from (its patterns and curve), or the timeframe,
    uniform, when the engine does not draw it."""
    tcol = own_time_column(fact)
    if tcol is None:
        tf = schema.timeframe
        return build_cells(int(to_us(tf.start_dt)), int(to_us(tf.end_dt)), "h", ())
    col = fact.column(tcol)
    assert col is not None and isinstance(col.generator, DatetimeSeriesGen)
    return series_sampler(col.generator, col, schema)


def window_mass(grid: Sampler) -> float:
    return float(grid.cum[-1])


def merge(n: int, lo: np.ndarray, hi: np.ndarray, steps: list[Steps]) -> Pieces:
    """The product of the step functions, cut to each parent's domain [lo, hi); pieces of no length or
    no weight are left out."""
    if not steps:
        parent = np.arange(n, dtype=np.int64)
        a, b, factor = lo.copy(), hi.copy(), np.ones(n)
    else:
        parent = np.concatenate([s.parent for s in steps])
        time = np.concatenate([s.time for s in steps])
        if len(steps) == 1:
            factor = steps[0].value.astype(float)
        else:
            which = np.concatenate([np.full(len(s.parent), i) for i, s in enumerate(steps)])
            value = np.concatenate([s.value for s in steps]).astype(float)
            order = np.lexsort((time, parent))
            parent, time, which, value = parent[order], time[order], which[order], value[order]
            factor = np.ones(len(order))
            at = np.arange(len(order))
            for i in range(len(steps)):  # each function's latest value, carried forward
                last = np.maximum.accumulate(np.where(which == i, at, 0))
                factor *= value[last]
        nxt = np.append(time[1:], INT64_MAX)
        same = np.append(parent[1:] == parent[:-1], False)
        a, b = time, np.where(same, nxt, INT64_MAX)
        a, b = np.maximum(a, lo[parent]), np.minimum(b, hi[parent])
    keep = (b > a) & (factor > 0)
    parent, a, b, factor = parent[keep], a[keep], b[keep], factor[keep]
    first = np.searchsorted(parent, np.arange(n + 1), side="left")
    return Pieces(parent, a, b, factor, first)


def domain(pb: ParentBlock, grid: Sampler) -> tuple[np.ndarray, np.ndarray]:
    """Where each parent's children may fall: the child's window, inside the parent's life and the
    bounds the plan draws the child's time inside that come from the parent's own columns."""
    n = len(pb.rows)
    lo = np.full(n, grid.start_us, dtype=np.int64)
    hi = np.full(n, grid.end_us, dtype=np.int64)  # the window's end is exclusive
    life = pb.life
    if life is not None:
        lo, hi = np.maximum(lo, life.lo), np.minimum(hi, life.hi)
    tcol = own_time_column(pb.fact)
    for bound in pb.plan.table(pb.fact.id).bounds.get(tcol or "", []):
        if bound.path.tables != [pb.parent.id]:
            continue  # a bound from the row itself or another table is applied when the row is drawn
        v = pb.column(bound.source_column).astype("datetime64[us]")
        known = ~np.isnat(v)
        t = v.astype(np.int64)
        if bound.side == "lo":
            lo = np.where(known, np.maximum(lo, t + (1 if bound.strict else 0)), lo)
        else:
            hi = np.where(known, np.minimum(hi, t + (0 if bound.strict else 1)), hi)
    return lo, hi


def parent_pieces(pb: ParentBlock, engines: Engines) -> tuple[Pieces, Sampler]:
    """The pieces of every parent of the block, and the grid they are measured on."""
    grid = child_grid(pb.fact, pb.schema)
    lo, hi = domain(pb, grid)
    blocks = [*pb.parent.behaviours, *([pb.fact.active_in] if pb.fact.active_in is not None else [])]
    steps = [s for spec in blocks for s in engines(spec).rate_steps(spec, pb)]
    return merge(len(pb.rows), lo, hi, steps), grid


def shares(pb: ParentBlock, engines: Engines) -> tuple[np.ndarray, np.ndarray]:
    """Each parent's share of the count it would have alive for the whole window at factor 1, and
    whether it is alive inside the window at all."""
    grid = child_grid(pb.fact, pb.schema)
    lo, hi = domain(pb, grid)
    pieces, _ = parent_pieces(pb, engines)
    mass = pieces.factor * (grid.mass_at(pieces.b) - grid.mass_at(pieces.a))
    total = np.bincount(pieces.parent, weights=mass, minlength=len(pb.rows))
    return np.asarray(total / max(window_mass(grid), 1e-300)), hi > lo


def _parent_block(block: Block) -> ParentBlock:
    node = block.table.node
    parent = block.schema.node(node.primary_parent or "")
    assert parent is not None and block.parent_block is not None
    rows = block.parent_block_rows()
    return ParentBlock(
        node, parent, block.store, block.plan, block.seed, block.parent_block, rows, block.timeframe_us
    )


@dataclass(frozen=True)
class Drawable:
    """A parent block's pieces ready to draw children from: each parent's total mass, and one sorted key
    over the block — the parent's index plus the share of its mass up to the end of the piece — so a
    child picks its parent's piece with one search."""

    pieces: Pieces
    total: np.ndarray
    key: np.ndarray


def drawable(pieces: Pieces, grid: Sampler, n: int) -> Drawable:
    mass = pieces.factor * np.maximum(grid.mass_at(pieces.b) - grid.mass_at(pieces.a), 0.0)
    total = np.bincount(pieces.parent, weights=mass, minlength=n)
    share = np.cumsum(mass / np.where(total > 0, total, 1.0)[pieces.parent])
    before = np.concatenate([[0.0], share])[pieces.first[:-1]]
    return Drawable(pieces, total, pieces.parent + (share - before[pieces.parent]))


def place(
    block: Block, grid: Sampler, rng: np.random.Generator, lo: np.ndarray | None, hi: np.ndarray | None
) -> np.ndarray:
    """The block's own times (int64 µs), drawn from their parents' intensity: a piece by its mass
    (inside the row's bounds `lo`..`hi`: int64 µs, inclusive, INT64_MIN / INT64_MAX when open), then an
    instant inside it from the series' sampler. A row whose bounds leave no
    mass is drawn inside its bounds alone. Most rows' bounds are their parent's life, which the pieces
    already respect: they draw from the parent block's masses, measured once; only a row whose own
    bounds cut into its parent's pieces has them measured again, clipped."""
    key = (block.node_id, block.parent_block)
    cached = block.store.pieces
    if cached is None or cached[0] != key:
        parents = _parent_block(block)
        cached = (key, drawable(parent_pieces(parents, block.engines)[0], grid, len(parents.rows)))
        block.store.pieces = cached
    d: Drawable = cached[1]
    pieces = d.pieces
    assert block.parent_rows is not None
    local = block.parent_rows - block.parent_block_rows()[0]
    n = block.n
    row_lo = np.full(n, INT64_MIN, np.int64) if lo is None else lo.astype(np.int64)
    row_hi = (
        np.full(n, INT64_MAX, np.int64) if hi is None else np.minimum(hi.astype(np.int64), INT64_MAX - 1) + 1
    )
    start, stop = pieces.first[local], pieces.first[local + 1]
    u = rng.random(n)
    cell_lo, cell_hi = row_lo.copy(), row_hi - 1  # no mass: inside the row's bounds alone
    drawn = np.zeros(n, dtype=bool)  # drawn inside one whole piece
    at = np.zeros(n, dtype=np.int64)
    if len(pieces.a):
        has = stop > start
        # a row whose bounds hold all its parent's pieces takes one by the block's key, unmeasured
        last = len(pieces.a) - 1
        whole = (
            has
            & (row_lo <= pieces.a[np.minimum(start, last)])
            & (row_hi >= pieces.b[np.maximum(stop - 1, 0)])
        )
        at = np.searchsorted(d.key, local + u, side="right")
        at = np.minimum(np.clip(at, start, np.maximum(stop - 1, start)), last)
        drawn = whole & (d.total[local] > 0)
        cell_lo = np.where(drawn, pieces.a[at], cell_lo)
        cell_hi = np.where(drawn, pieces.b[at] - 1, cell_hi)
        cut = np.flatnonzero(has & ~whole)
        if len(cut):
            c_lo, c_hi, c_drawn = _clipped(
                pieces, grid, start[cut], stop[cut], row_lo[cut], row_hi[cut], u[cut]
            )
            cell_lo[cut] = np.where(c_drawn, c_lo, cell_lo[cut])
            cell_hi[cut] = np.where(c_drawn, c_hi, cell_hi[cut])
    cell_hi = np.where(cell_hi >= INT64_MAX - 1, INT64_MAX, cell_hi)
    return grid.sample(rng, n, cell_lo.astype(np.int64), cell_hi.astype(np.int64))


def _clipped(
    pieces: Pieces,
    grid: Sampler,
    start: np.ndarray,
    stop: np.ndarray,
    row_lo: np.ndarray,
    row_hi: np.ndarray,
    u: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For rows whose bounds cut into their parent's pieces: every row against every piece of its
    parent, clipped to the row's bounds and measured; the piece `u` picks by mass. The chosen cell
    [lo, hi] and whether any mass was left."""
    n = len(start)
    count = stop - start
    offset = np.concatenate([[0], np.cumsum(count)[:-1]])
    row = np.repeat(np.arange(n), count)
    piece = np.repeat(start - offset, count) + np.arange(count.sum())
    a = np.maximum(pieces.a[piece], row_lo[row])
    b = np.minimum(pieces.b[piece], row_hi[row])
    mass = pieces.factor[piece] * np.maximum(grid.mass_at(b) - grid.mass_at(np.minimum(a, b)), 0.0)
    total = np.bincount(row, weights=mass, minlength=n)
    cum = np.cumsum(mass / np.where(total > 0, total, 1.0)[row])
    base = np.concatenate([[0.0], cum])[offset]
    at = np.searchsorted(cum, base + u, side="right")
    at = np.clip(at, offset, np.maximum(offset + count - 1, offset))
    return a[at], b[at] - 1, total > 0


def life_bounds(
    block: Block, lo: np.ndarray | None, hi: np.ndarray | None
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """A fact's per-row time bounds (int64 µs, inclusive, INT64_MIN / INT64_MAX when open), inside the
    life of the row it was born from (any depth), its end excluded."""
    node = block.table.node
    life = block.store.lives.get(node.primary_parent or "")
    if life is None or block.parent_rows is None:
        return lo, hi
    start, end = life.lo[block.parent_rows], life.hi[block.parent_rows]
    last = np.where(end == INT64_MAX, INT64_MAX, end - 1)
    return (
        start if lo is None else np.maximum(lo.astype(np.int64), start),
        last if hi is None else np.minimum(hi.astype(np.int64), last),
    )
