"""Lives and lifecycles (docs/schema-language.md §10.2, §10.3): when each row lives, how active it is,
and the state walks that are its lifecycle.

A row's `Life` is [lo, hi): an entity's `lifetime` (its start column to its end column), and for every
fact under it, at any depth, the life of the row it was born from — so a session's events stay inside
its account's life. Lives (and `activity` levels, drawn per block of the entity) are kept for tables
whose rows have children.

A state walk is a pure function of one block of its parent rows, so it can run while the parent itself
is generated: that is how a row's end is the time its walk entered a terminal state, and how
`state_at` reads the latest state on the entity itself. Walks are cached per (walk table, parent block)
in the store; the walk's own fact, `active_in` siblings and `state_at` all read the same result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from datagen.dsl.behaviours import Activity, Lifetime, StageConfig, StateTransitionModel
from datagen.dsl.generators import StateAtGen
from datagen.dsl.models import Column, Node, Schema
from datagen.engine.behaviours import BehaviourEngine
from datagen.engine.block import Block, Store
from datagen.engine.walks import STAGES, STATES, Walk, WalkParents, WalkResult

INT64_MIN = np.iinfo(np.int64).min
INT64_MAX = np.iinfo(np.int64).max
WALKS_KEPT = 8  # parent blocks whose walks stay cached (blocks are generated in order)
WALKS: dict[type, Walk] = {StageConfig: STAGES.walk, StateTransitionModel: STATES.walk}  # type: ignore[type-arg]


@dataclass(frozen=True)
class Life:
    """Per row: alive in [lo, hi) (int64 us; INT64_MIN / INT64_MAX when unbounded), and its activity
    level (mean 1) when the table declares one."""

    lo: np.ndarray
    hi: np.ndarray
    activity: np.ndarray | None = None

    def take(self, rows: np.ndarray) -> Life:
        return Life(self.lo[rows], self.hi[rows], None if self.activity is None else self.activity[rows])

    @staticmethod
    def concat(parts: list[Life]) -> Life:
        act = [p.activity for p in parts]
        return Life(
            np.concatenate([p.lo for p in parts]) if parts else np.zeros(0, np.int64),
            np.concatenate([p.hi for p in parts]) if parts else np.zeros(0, np.int64),
            None if not parts or any(a is None for a in act) else np.concatenate(act),  # type: ignore[arg-type]
        )


def us_or(values: np.ndarray, fill: int) -> np.ndarray:
    """Times as int64 microseconds, NaT (or None) as `fill`."""
    t = np.asarray(values).astype("datetime64[us]")
    return np.where(np.isnat(t), fill, t.astype(np.int64))


def has_life(schema: Schema, node: Node) -> bool:
    """Do this table's rows live inside a lifetime (their own, or their primary parent's, any depth)?"""
    seen: set[str] = set()
    while node.id not in seen:
        seen.add(node.id)
        if node.lifetime is not None:
            return True
        parent = schema.node(node.primary_parent or "")
        if parent is None:
            return False
        node = parent
    return False


def keeps_life(schema: Schema, node: Node) -> bool:
    """Is the life of this table's rows read later (it is the primary parent of a fact)?"""
    if not (has_life(schema, node) or node.activity is not None):
        return False
    return any(n.primary_parent == node.id for n in schema.nodes)


def block_life(block: Block) -> Life:
    """The life of each row of a block: its own lifetime, else the life of the row it was born from;
    with its activity level when the table declares `activity`."""
    node = block.table.node
    n = block.n
    if node.lifetime is not None:
        life = entity_life(node.lifetime, block.values.get, n)
    elif node.primary_parent in block.store.lives and block.parent_rows is not None:
        inherited = block.store.lives[node.primary_parent]
        life = Life(inherited.lo[block.parent_rows], inherited.hi[block.parent_rows])
    else:
        life = Life(np.full(n, INT64_MIN, np.int64), np.full(n, INT64_MAX, np.int64))
    if node.activity is not None:
        levels = activity_levels(node.activity, block.rng("", "activity"), n)
        life = Life(life.lo, life.hi, levels)
    return life


def entity_life(lt: Lifetime, column: Callable[[str], np.ndarray | None], n: int) -> Life:
    start = column(lt.start)
    lo = us_or(start, INT64_MIN) if start is not None else np.full(n, INT64_MIN, np.int64)
    end = column(lt.end.column) if lt.end is not None else None
    hi = us_or(end, INT64_MAX) if end is not None else np.full(n, INT64_MAX, np.int64)
    return Life(lo, hi)


def activity_levels(spec: Activity, rng: np.random.Generator, n: int) -> np.ndarray:
    """Each row's level: a draw of the declared distribution over its mean (so the mean level is 1)."""
    return np.asarray(spec.distribution.sample(rng, n) / spec.mean)


# --- walks of a parent block --------------------------------------------------------------------------


def _walk_parents(
    schema: Schema,
    walk_node: Node,
    parent: Node,
    column: Callable[[str], np.ndarray | None],
    life_hi: np.ndarray | None,
    n: int,
    tf: tuple[int, int],
    life_lo: np.ndarray | None = None,
) -> WalkParents:
    """A walk's view of its parent rows: start at the row's life start (or creation time), stay inside
    its life and the timeframe. A walk that ends its parent's life is not cut by that end."""
    tcol = parent.life_start_column()
    raw = column(tcol) if tcol else None
    start = us_or(raw, tf[0]) if raw is not None else None
    last = np.full(n, tf[1], dtype=np.int64)
    if life_hi is not None and not (parent.lifetime and parent.lifetime.end_walk == walk_node.id):
        last = np.minimum(last, np.where(life_hi == INT64_MAX, INT64_MAX, life_hi - 1))
    seg = parent.segment_behavior
    segment = column(seg.segment_column) if seg is not None else None
    return WalkParents(start, last, segment, life_lo)


def _cached(store: Store, key: tuple[str, int], run: Callable[[], WalkResult]) -> WalkResult:
    if key in store.walks:
        store.walks.move_to_end(key)
        return store.walks[key]
    result = run()
    store.walks[key] = result
    while len(store.walks) > WALKS_KEPT:
        store.walks.popitem(last=False)
    return result


def walk_of_stored_block(
    store: Store, schema: Schema, seed: int, walk_node: Node, k: int, rows: np.ndarray, tf: tuple[int, int]
) -> WalkResult:
    """The walk of parent block `k` (rows `rows`) of a finished parent table."""
    parent = schema.node(walk_node.primary_parent or "")
    spec = walk_node.walk
    assert parent is not None and spec is not None  # a walk's table is a fact with a walk

    def column(name: str) -> np.ndarray | None:
        stored = store.columns.get(parent.id, {})
        return stored[name][rows] if name in stored else None

    life = store.lives.get(parent.id)
    hi = life.hi[rows] if life is not None else None
    lo = life.lo[rows] if life is not None else None
    if lo is not None and not (lo != INT64_MIN).any():
        lo = None  # a life with no start (an activity level alone) bounds nothing

    def run() -> WalkResult:
        parents = _walk_parents(schema, walk_node, parent, column, hi, len(rows), tf, lo)
        return WALKS[type(spec)].run(spec, seed, walk_node, k, parents, tf)

    return _cached(store, (walk_node.id, k), run)


def parent_block_walk(block: Block, walk_node: Node) -> WalkResult:
    """The walk `walk_node` runs over the parent block of this fact block (a sibling or the walk's own
    table: both are born from the same parent block)."""
    assert block.parent_block is not None
    tf = block.timeframe_us
    rows = block.parent_block_rows()
    return walk_of_stored_block(
        block.store, block.schema, block.seed, walk_node, block.parent_block, rows, tf
    )


def own_block_walk(block: Block, walk_node: Node) -> WalkResult:
    """The walk `walk_node` runs over this block's own rows, while they are generated (the entity's end
    of life and its latest state come from it)."""
    node = block.table.node
    spec = walk_node.walk
    assert spec is not None and isinstance(block.index, int)  # an entity block's key is its number
    tf = block.timeframe_us
    lt = node.lifetime
    hi = None
    if lt is not None and lt.end is not None and lt.end_walk is None and lt.end.column in block.values:
        hi = us_or(block.values[lt.end.column], INT64_MAX)

    def run() -> WalkResult:
        parents = _walk_parents(block.schema, walk_node, node, block.values.get, hi, block.n, tf)
        return WALKS[type(spec)].run(spec, block.seed, walk_node, block.index, parents, tf)  # type: ignore[arg-type]

    return _cached(block.store, (walk_node.id, block.index), run)


def last_at(
    entry_parent: np.ndarray, entry_time: np.ndarray, query_parent: np.ndarray, query_time: np.ndarray
) -> np.ndarray:
    """For each query (parent, time): the last entry of that parent at or before the time (entries are
    sorted by parent, then time); the parent's first entry when none is, -1 when the parent has none.
    A binary search inside each query's parent's entries, all queries at once (a walk has few entries
    per parent, so a few rounds)."""
    first = np.searchsorted(entry_parent, query_parent, side="left")
    end = np.searchsorted(entry_parent, query_parent, side="right")
    lo, hi = first.copy(), end.copy()
    top = max(len(entry_time) - 1, 0)
    while True:  # lo ends at the first of the parent's entries after the time
        open_ = lo < hi
        if not open_.any():
            break
        mid = (lo + hi) // 2
        after = entry_time[np.minimum(mid, top)] > query_time
        lo = np.where(open_ & ~after, mid + 1, lo)
        hi = np.where(open_ & after, mid, hi)
    return np.where(lo > first, lo - 1, np.where(end > first, first, -1)).astype(np.int64)


# --- the engine's implementations ---------------------------------------------------------------------


class Lifetimes(BehaviourEngine[Lifetime]):
    """Fills the entity's end column: a share of rows end after a continuous duration, or the row ends
    when its state walk enters a terminal state (null: alive at the timeframe end)."""

    def fills(self, spec: Lifetime) -> set[str]:
        return spec.filled_columns()

    def fill_column(self, spec: Lifetime, block: Block, name: str) -> np.ndarray:
        assert spec.end is not None
        tf = block.timeframe_us
        n = block.n
        start = us_or(block.values[spec.start], INT64_MIN)
        if spec.end.walk is not None:
            walk_node = block.schema.node(spec.end.walk)
            assert walk_node is not None and walk_node.state_transition_model is not None
            sm = walk_node.state_transition_model
            result = own_block_walk(block, walk_node)
            last = result.offsets[1:] - 1
            terminal = {s for s, st in sm.states.items() if st.terminal}
            ended = np.zeros(n, dtype=bool)
            has = result.counts > 0
            ended[has] = np.isin(result.labels[last[has]], list(terminal))
            end = np.where(ended, result.times[np.maximum(last, 0)], INT64_MIN)
        else:
            assert spec.end.share is not None and spec.end.after is not None
            rng = block.rng(name)
            ends = rng.random(n) < spec.end.share
            after = spec.end.after
            dur = after.distribution.sample_clamped(rng, n) * after.unit_us  # truncated to a clamp
            dur = np.maximum(np.floor(dur), 1)  # whole microseconds
            # A row ends when its whole duration fits before the timeframe end, however long before the
            # timeframe it began (a member who joined years earlier): compared as floats, and summed
            # only where it fits, so a long duration never overflows nor is cut short.
            known = start > INT64_MIN
            room = (tf[1] - np.where(known, start, tf[1])).astype(np.float64)
            ended = ends & known & (dur < room)
            end = start + np.where(ended, dur, 0).astype(np.int64)
        out = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
        out[ended] = end[ended].astype("datetime64[us]")
        return out


class Activities(BehaviourEngine[Activity]):
    """Each row's activity level multiplies the count of all its child facts (kept with its life)."""

    def fanout_factor(
        self, spec: Activity, parent: Node, store: Store, rows: np.ndarray
    ) -> np.ndarray | None:
        life = store.lives.get(parent.id)
        return None if life is None or life.activity is None else life.activity[rows]

    def max_fanout_factor(self, spec: Activity) -> float:
        return 1.0  # a mean-1 level: the expected size does not change


def state_at(block: Block, col: Column, gen: StateAtGen) -> np.ndarray:
    """The state of this row's parent's walk (or, on the walk's parent itself, of its own walk) at this
    row's time (`at`), or the latest state it entered (`at: end`)."""
    args = gen.state_at
    walk_node = block.schema.node(args.walk)
    assert walk_node is not None and walk_node.walk is not None  # the check step makes sure
    node = block.table.node
    if walk_node.primary_parent == node.id:
        result = own_block_walk(block, walk_node)
        local = np.arange(block.n, dtype=np.int64)
    else:
        result = parent_block_walk(block, walk_node)
        assert block.parent_rows is not None
        local = block.parent_rows - block.parent_block_rows()[0]
    if args.at_end:
        last = result.offsets[1:] - 1
        idx = np.where(result.counts[local] > 0, last[local], -1)
    else:
        t = us_or(block.values[args.at], INT64_MIN)
        idx = last_at(result.parent, result.times, local, t)
    labels = np.asarray(result.labels, dtype=object)
    out = np.full(block.n, None, dtype=object)
    out[idx >= 0] = labels[idx[idx >= 0]]
    return out
