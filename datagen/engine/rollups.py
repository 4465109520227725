"""Rollups (docs/schema-language.md §10.4): a parent column summarising its children, exactly.

The child table is summarised as its blocks are written, from the values as written (after the cast,
so an int column is summed as the ints an analyst reads). A parent's children are contiguous and each
block's parents come in order, so each block reduces its rows per parent (numpy's `reduceat`, in row
order) and the partial results are combined into one slot per parent row, in block order. Blocks are
fixed by the block size, never by the chunk size, so the combined value is the same whatever the
chunking; memory is one slot per parent row, like a kept column. The parent's deferred column then
reads its rows' slots when the parent table is finished (engine/finish.py)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from datagen.dsl.expressions import parse_expression
from datagen.dsl.generators import RollupGen
from datagen.dsl.models import Column, Node, parse_instant
from datagen.engine.block import Block, null_like


def _order_key(values: np.ndarray) -> np.ndarray:
    """Values as a sortable number, nulls last (times as microseconds)."""
    if values.dtype.kind == "M":
        out = values.astype("datetime64[us]").astype(np.int64).astype(np.float64)
        out[np.isnat(values)] = np.inf
        return out
    out = values.astype(np.float64)
    return np.where(np.isnan(out), np.inf, out)


def _present(values: np.ndarray) -> np.ndarray:
    """Which values are not null (NaN, NaT and None are)."""
    return np.asarray(~pd.isna(values), dtype=bool)


class Rollup:
    """The running state of one rollup: one slot per parent row."""

    def __init__(self, gen: RollupGen, parents: int, child: Node) -> None:
        self.args = gen.rollup
        source = gen.source
        assert source is not None  # the check step requires `table.column`
        self.column = source[1]
        self.order = self.args.order_column(child) if self.args.ordered else None
        self.key = child.pk
        self.where = parse_expression(self.args.where) if self.args.where else None
        self.filled = np.zeros(parents, dtype=bool)
        self.count = np.zeros(parents, dtype=np.int64)
        self.value: np.ndarray | None = None  # sum, min, max, or the first/last value
        self.rank: tuple[np.ndarray, np.ndarray] | None = None  # first/last: (order key, tie key)

    def feed(self, parent_rows: np.ndarray, columns: Mapping[str, np.ndarray]) -> None:
        """Fold in one block of child rows: `parent_rows` (non-decreasing) and their columns as written."""
        values = columns[self.column]
        keep = _present(values)
        if self.where is not None:
            keep &= np.asarray(self.where.evaluate(columns, len(values)), dtype=bool)
        if self.order is not None:
            keep &= np.isfinite(_order_key(columns[self.order]))
        rows = parent_rows[keep]
        if not len(rows):
            return
        values = values[keep]
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        parents = rows[starts]
        self.count[parents] += np.diff(np.r_[starts, len(rows)])
        agg = self.args.agg
        if agg == "count":
            self.filled[parents] = True
            return
        if agg in ("first", "last"):
            assert self.order is not None
            self._pick(parents, starts, rows, values, columns, keep)
            return
        if values.dtype.kind == "b":
            values = values.astype(np.int64)
        part = {"sum": np.add, "mean": np.add, "min": np.minimum, "max": np.maximum}[agg].reduceat(
            values, starts
        )
        if self.value is None:
            self.value = np.zeros(len(self.filled), dtype=part.dtype)
        elif self.value.dtype != part.dtype:
            self.value = self.value.astype(np.result_type(self.value, part))
        old = self.filled[parents]
        combine = {"sum": np.add, "mean": np.add, "min": np.minimum, "max": np.maximum}[agg]
        current = self.value[parents]
        self.value[parents] = np.where(old, combine(current, part), part)
        self.filled[parents] = True

    def _pick(
        self,
        parents: np.ndarray,
        starts: np.ndarray,
        rows: np.ndarray,
        values: np.ndarray,
        columns: Mapping[str, np.ndarray],
        keep: np.ndarray,
    ) -> None:
        """First/last: the child with the smallest/largest (order, key) of each parent."""
        assert self.order is not None
        order = _order_key(columns[self.order][keep])
        ties = np.asarray(columns[self.key][keep]) if self.key else np.arange(len(rows))
        tie_rank = _tie_rank(ties)
        sign = 1.0 if self.args.agg == "first" else -1.0
        idx = np.lexsort((sign * tie_rank, sign * order, rows))
        best = idx[starts]  # rows are grouped by parent, so each group's first sorted row is its best
        cand_order, cand_tie, cand_value = order[best], ties[best], values[best]
        if self.value is None:
            self.value = np.zeros(len(self.filled), dtype=values.dtype)
            self.rank = (np.zeros(len(self.filled)), np.zeros(len(self.filled), dtype=ties.dtype))
        assert self.rank is not None
        if self.value.dtype != values.dtype:
            self.value = self.value.astype(np.result_type(self.value, values))
        if self.rank[1].dtype != ties.dtype:
            self.rank = (self.rank[0], self.rank[1].astype(object))
        take = ~self.filled[parents]
        old = np.flatnonzero(~take)  # parents already holding a child from an earlier block
        if len(old):
            o, t = cand_order[old], cand_tie[old]
            held_o, held_t = self.rank[0][parents[old]], self.rank[1][parents[old]]
            if self.args.agg == "first":
                take[old] = (o < held_o) | ((o == held_o) & (t < held_t))
            else:
                take[old] = (o > held_o) | ((o == held_o) & (t > held_t))
        chosen = parents[take]
        self.value[chosen] = cand_value[take]
        self.rank[0][chosen] = cand_order[take]
        self.rank[1][chosen] = cand_tie[take]
        self.filled[chosen] = True

    def result(self, rows: np.ndarray, col: Column) -> np.ndarray:
        """The rollup of parent rows `rows`; a row without (matching) children gets the empty value."""
        have = self.filled[rows]
        if self.args.agg == "count":
            return np.asarray(self.count[rows])
        if self.value is None:
            out = np.zeros(len(rows))
        elif self.args.agg == "mean":
            out = self.value[rows] / np.maximum(self.count[rows], 1)
        else:
            out = self.value[rows]
        if have.all():
            return out
        empty = self.args.empty_value
        if empty is None:
            return null_like(out, ~have)
        if col.type in ("datetime", "date") and isinstance(empty, str):
            fill = np.datetime64(parse_instant(empty).replace(tzinfo=None), "us")
            return np.where(have, out.astype("datetime64[us]"), fill)
        if out.dtype.kind == "O" or isinstance(empty, str | bool):
            res = out.astype(object)
            res[~have] = empty
            return res
        return np.where(have, out, empty)


def _tie_rank(ties: np.ndarray) -> np.ndarray:
    """Keys as numbers that sort like them (for lexsort)."""
    if ties.dtype.kind in "iuf":
        return ties.astype(np.float64)
    order = np.argsort(ties.astype(str), kind="stable")
    rank = np.empty(len(ties), dtype=np.float64)
    rank[order] = np.arange(len(ties))
    return rank


def rollup(block: Block, col: Column, gen: RollupGen) -> np.ndarray:
    """The rollup values of a block of parent rows (when the table is finished)."""
    state = block.store.rollups.get((block.node_id, col.name))
    if state is None:  # the child table has no rows at all
        state = Rollup(gen, block.total_rows, _child(block, gen))
    assert isinstance(state, Rollup)
    return state.result(block.row_numbers, col)


def _child(block: Block, gen: RollupGen) -> Node:
    source = gen.source
    assert source is not None
    child = block.schema.node(source[0])
    assert child is not None  # the check step requires it
    return child
