"""Facts born from a walk per parent (docs/schema-language.md §8.3–8.4): funnels (`stage_config`) and
state machines (`state_transition_model`). One row per reached stage / entered state.

A walk is a pure function of one block of parent rows (when each starts and ends, its segment) and the
walk's own block rng, so it can be run wherever it is needed and always gives the same rows: for the
fact's row counts (computed first, for the row layout) and values, for the parent's own end of life
(§10.2) and states (`state_at`), and for the rate of the parent's other children (`active_in`).
Vectorised over the parents of a block: the only Python loops run over stages or over transition
steps, never over parents or rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

import numpy as np
import pandas as pd

from datagen.dsl.behaviours import Gap, StageConfig, StateTransitionModel, WalkBlock
from datagen.dsl.models import Node
from datagen.dsl.units import HOUR_US, UNIT_US
from datagen.engine.behaviours import BehaviourEngine
from datagen.engine.block import Block
from datagen.engine.cast import settle
from datagen.engine.rng import block_rng

if TYPE_CHECKING:
    from datagen.engine.generate import Engine

MAX_STEPS = 10_000


@dataclass
class WalkResult:
    counts: np.ndarray  # rows per parent
    columns: dict[str, np.ndarray]  # per row, parents in order, rows of one parent contiguous
    labels: np.ndarray  # the stage or state of each row (object)
    times: np.ndarray  # when each row's stage or state was entered (int64 us)

    @property
    def offsets(self) -> np.ndarray:
        """First row of each parent (and the total at the end)."""
        return np.concatenate([[0], np.cumsum(self.counts)]).astype(np.int64)

    @property
    def parent(self) -> np.ndarray:
        """The (block-local) parent of each row."""
        return np.repeat(np.arange(len(self.counts), dtype=np.int64), self.counts)


@dataclass(frozen=True)
class WalkParents:
    """What a walk reads of one block of its parent rows: when each row begins (None when the parent
    has no time to start from), the last instant a walk row may fall at (its life's end or the
    timeframe's), each row's segment (None without segment_behavior), and the first instant a walk row
    may fall at (the start of the life a parent inherits from its own parents; None without one)."""

    start: np.ndarray | None  # int64 us
    last: np.ndarray  # int64 us
    segment: np.ndarray | None
    first: np.ndarray | None = None  # int64 us

    def __len__(self) -> int:
        return len(self.last)


W = TypeVar("W", bound=WalkBlock)
W_in = TypeVar("W_in", bound=WalkBlock, contravariant=True)


class Walk(Protocol[W_in]):
    def run(
        self, spec: W_in, seed: int, node: Node, k: int, parents: WalkParents, tf: tuple[int, int]
    ) -> WalkResult: ...


def _parent_start(parents: WalkParents, tf: tuple[int, int], rng: np.random.Generator | None) -> np.ndarray:
    """Where a parent's walk starts: when the parent row begins (its life's start, creation time, else
    its first datetime column) if it has one, else a uniform time (funnels: parents enter at any time)
    or, without `rng`, the timeframe start (state models, docs/schema-language.md §8.4) — inside the
    life the parent inherits, when it has one: a fact without a time of its own, under an entity with a
    lifetime, begins no earlier than that entity row (§10.2). Never before the timeframe; a parent that
    begins after it (its time pushed there by a bound, which wins over the window) enters its first
    state when it begins, and goes no further."""
    start, end = tf
    if parents.start is not None:
        begins = parents.start if parents.first is None else np.maximum(parents.start, parents.first)
        return np.asarray(np.maximum(begins, start))
    if parents.first is not None:
        lo = np.maximum(parents.first, start)
        if rng is None:
            return np.asarray(lo)
        hi = np.maximum(np.minimum(parents.last, end), lo)  # the life's last instant, inclusive
        return np.asarray(rng.integers(lo, hi + 1))
    if rng is None:
        return np.full(len(parents), start, dtype=np.int64)
    return rng.integers(start, end, len(parents))


def _segment_codes(parents: WalkParents, names: list[str]) -> np.ndarray:
    """Index into `names` of each parent's segment (len(names) when the parent's segment is unlisted)."""
    if parents.segment is None or not names:
        return np.full(len(parents), len(names), dtype=np.int64)
    pos = pd.Index(names).get_indexer(pd.Series(parents.segment, dtype=object).astype(str))
    return np.where(pos < 0, len(names), pos)


def _gap_hours(gap: Gap, rng: np.random.Generator, n: int) -> np.ndarray:
    if gap.distribution == "exponential":
        return rng.exponential(gap.mean_hours, n)
    if gap.distribution == "lognormal":
        sigma = gap.lognormal_sigma
        return rng.lognormal(np.log(gap.mean_hours) - sigma**2 / 2, sigma, n)
    if gap.distribution == "uniform":
        assert gap.max_hours is not None  # the model requires it for a uniform gap
        return rng.uniform(gap.low_hours, gap.max_hours, n)
    return np.full(n, gap.mean_hours)


def _as_written(node: Node, name: str, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The walk's times as its table holds them (a `date` keeps the day), as values and as int64 us.
    What follows the walk (a life's end, `state_at`, `active_in`) reads these, so a state entered at
    15:00 and written as its date holds from that midnight for them too, as the table says."""
    column = node.column(name)
    values = times.astype("datetime64[us]")
    if column is not None:
        values = settle(column, values)
    return values, values.astype(np.int64)


def _expand(counts: np.ndarray, per_parent: np.ndarray) -> np.ndarray:
    """(parents x steps) matrix -> one value per row (step j of parent i for j < counts[i])."""
    mask = np.arange(per_parent.shape[1])[None, :] < counts[:, None]
    return per_parent[mask]


class StageWalk:
    def run(
        self, sc: StageConfig, seed: int, node: Node, k: int, parents: WalkParents, tf: tuple[int, int]
    ) -> WalkResult:
        n, s = len(parents), len(sc.stages)
        rng = block_rng(seed, node.id, "__walk__", k)
        seg_names = list(sc.segment_variation)
        mult = np.array([sc.segment_variation[x].transition_multiplier for x in seg_names] + [1.0])
        m = mult[_segment_codes(parents, seg_names)]
        start = _parent_start(parents, tf, rng)
        times = np.empty((n, s), dtype=np.int64)
        times[:, 0] = start
        reached = np.ones(n, dtype=np.int64)
        alive = np.ones(n, dtype=bool)
        end = parents.last
        for i in range(1, s):
            u = rng.random(n)
            # A gap past the timeframe end is the same as never: capped there, it cannot overflow int64.
            hours = np.minimum(_gap_hours(sc.gap, rng, n), (tf[1] - tf[0]) / HOUR_US + 1)
            gap = (hours * HOUR_US).astype(np.int64)
            times[:, i] = times[:, i - 1] + np.maximum(gap, 1)
            alive &= (u < np.minimum(1.0, sc.stages[i].transition_rate * m)) & (times[:, i] <= end)
            reached += alive
        idx = _expand(reached, np.broadcast_to(np.arange(s), (n, s)))
        names = np.asarray([st.stage_name for st in sc.stages], dtype=object)
        cols = sc.walk_columns(node)
        assert cols.time is not None  # the check step requires a time column
        out = {cols.label: names[idx]}
        if cols.extra:
            out[cols.extra] = idx.astype(np.int64)
        out[cols.time], t = _as_written(node, cols.time, _expand(reached, times))
        return WalkResult(reached, out, out[cols.label], t)


class StateWalk:
    """Each step moves every parent still walking to its next state; parents that reached a terminal
    state or the end of their life (or of the timeframe) drop out, so a step costs what is still walking
    and the rows kept are exactly the states entered (memory follows the rows, not parents x longest
    walk)."""

    def run(
        self,
        sm: StateTransitionModel,
        seed: int,
        node: Node,
        k: int,
        parents: WalkParents,
        tf: tuple[int, int],
    ) -> WalkResult:
        n = len(parents)
        rng = block_rng(seed, node.id, "__walk__", k)
        names = list(sm.states)
        terminal = np.array([sm.states[x].terminal for x in names])
        seg_names = list(sm.segment_variation)
        churn = np.array([sm.segment_variation[x].churn_multiplier for x in seg_names] + [1.0])
        seg = _segment_codes(parents, seg_names)
        leave, split = _transition_tables(sm, names, churn)  # [state, seg], [state, seg, next]
        period = UNIT_US[sm.period_unit]
        last = parents.last
        horizon = (tf[1] - tf[0]) / period + 1  # beyond the timeframe is the same as never
        who = np.arange(n)  # parents still walking
        state = np.full(n, names.index(sm.initial_state), dtype=np.int64)
        t = _parent_start(parents, tf, None)
        entered = [(who, state, np.full(n, -1), t)]  # (parent, state, previous state, time) per step
        for _ in range(MAX_STEPS):
            going = ~terminal[state]
            who, state, t = who[going], state[going], t[going]
            if not len(who):
                break
            g = seg[who]
            dur = np.minimum(self._durations(sm, names, state, leave[state, g], rng, len(who)), horizon)
            t_next = t + np.maximum((dur * period).astype(np.int64), 1)
            cum = np.cumsum(split[state, g], axis=1)
            nxt = (rng.random(len(who))[:, None] >= cum).sum(axis=1).clip(0, len(names) - 1)
            inside = t_next <= last[who]
            who, prev, state, t = who[inside], state[inside], nxt[inside], t_next[inside]
            entered.append((who, state, prev, t))
        parent_of, states, prevs, times = (np.concatenate(x) for x in zip(*entered, strict=True))
        order = np.argsort(parent_of, kind="stable")  # a parent's rows together, in step order
        labels = np.asarray([*names, None], dtype=object)
        cols = sm.walk_columns(node)
        assert cols.time is not None  # the check step requires a time column
        written, entered_at = _as_written(node, cols.time, times[order])
        out = {cols.label: labels[states[order]], cols.time: written}
        if cols.extra:
            out[cols.extra] = labels[prevs[order]]
        counts = np.bincount(parent_of, minlength=n).astype(np.int64)
        return WalkResult(counts, out, out[cols.label], entered_at)

    @staticmethod
    def _durations(
        sm: StateTransitionModel,
        names: list[str],
        state: np.ndarray,
        p_leave: np.ndarray,
        rng: np.random.Generator,
        n: int,
    ) -> np.ndarray:
        """Periods spent in the current state, continuous (docs/schema-language.md §10.1): exponential
        for a Markov state, at the rate whose chance of leaving within one period is the declared
        probability; the declared duration for a semi-Markov state."""
        rate = -np.log1p(-np.clip(p_leave, 1e-12, 1 - 1e-12))
        out = rng.exponential(1.0, n) / rate
        u = rng.random(n)
        for i, name in enumerate(names):
            d = sm.states[name].duration
            if d is None:
                continue
            rows = state == i
            if d.distribution == "lognormal":
                sigma = d.lognormal_sigma
                z = rng.standard_normal(n)[rows]
                out[rows] = np.exp(np.log(d.mean) - sigma**2 / 2 + sigma * z)
            elif d.distribution == "exponential":
                out[rows] = -np.log1p(-u[rows]) * d.mean
            elif d.distribution == "uniform":
                lo, hi = d.low, d.high
                out[rows] = lo + u[rows] * (hi - lo)
            else:
                out[rows] = d.mean
        return np.asarray(np.maximum(out, 1e-6))


def _transition_tables(
    sm: StateTransitionModel, names: list[str], churn: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per (state, segment): the probability of leaving per period, and the split over next states.
    A segment's churn multiplier scales the probability of moving to a terminal state: for a Markov state
    the per-period hazard towards each terminal state; for a semi-Markov state (leaving is certain when
    its duration ends) the share of exits to terminal states, the other targets sharing the rest."""
    ns, ng = len(names), len(churn)
    leave = np.zeros((ns, ng))
    split = np.zeros((ns, ng, ns))
    terminal = np.array([sm.states[x].terminal for x in names])
    for i, name in enumerate(names):
        spec = sm.states[name]
        if spec.terminal:
            split[i, :, i] = 1.0
            continue
        q = np.zeros(ns)
        for nxt, p in spec.next_states.items():
            q[names.index(nxt)] = p
        q /= q.sum()
        for g in range(ng):
            if spec.duration is None:
                scaled = q * np.where(terminal, churn[g], 1.0)
                leave[i, g] = min(1.0, spec.transition_prob_per_period * scaled.sum())
                split[i, g] = scaled / scaled.sum() if scaled.sum() > 0 else q
            else:
                leave[i, g] = 1.0
                split[i, g] = _certain_split(q, terminal, churn[g])
    return leave, split


def _certain_split(q: np.ndarray, terminal: np.ndarray, churn: float) -> np.ndarray:
    ends = np.where(terminal, q * churn, 0.0)
    if ends.sum() > 1:
        ends /= ends.sum()
    rest = np.where(terminal, 0.0, q)
    if rest.sum() > 0:
        return np.asarray(ends + rest / rest.sum() * (1 - ends.sum()))
    return np.asarray(ends / ends.sum()) if ends.sum() > 0 else q


class WalkEngine(BehaviourEngine[W], Generic[W]):
    """A walk as the engine uses it: the rows each parent gets (for the layout, computed first), then
    each block's slice of its parent block's walk. The walk of a parent block is computed once and
    cached (engine/lifecycle.py), so both agree."""

    def __init__(self, walk: Walk[W]) -> None:
        self.walk = walk

    def counts(
        self, spec: W, engine: Engine, node: Node, parent: Node, k: int, rows: np.ndarray
    ) -> np.ndarray:
        from datagen.engine.lifecycle import walk_of_stored_block

        return walk_of_stored_block(
            engine.store, engine.plan.schema, engine.options.seed, node, k, rows, engine.tf
        ).counts

    def fill(self, spec: W, engine: Engine, block: Block) -> set[str]:
        """Fill this block's slice of its parent block's walk."""
        from datagen.engine.lifecycle import parent_block_walk

        result = parent_block_walk(block, block.table.node)
        s, e = block.child_offset, block.child_offset + block.n
        for name, values in result.columns.items():
            block.values[name] = values[s:e]
        return set(result.columns)


STAGES = WalkEngine[StageConfig](StageWalk())
STATES = WalkEngine[StateTransitionModel](StateWalk())
