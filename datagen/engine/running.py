"""Running values (docs/schema-language.md §10.4): after each row, `agg` of `of` over the rows of the
same primary-parent row up to it, in `order_by` order (nulls last, ties by key) — a balance after
each transaction.

A parent's rows are contiguous but may span several blocks, and their order is by `order_by`, not by
row. So the column is deferred: once the table is generated (and kept, as written, in the spill of
engine/finish.py), each block reads the whole rows of its first and last parent from the spill —
carrying across block boundaries the same way whatever the chunk size — and computes the values of
its own rows. Memory is a block plus the rows of the two parents it shares with its neighbours."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from datagen.dsl.base import split_ref
from datagen.dsl.generators import RunningGen
from datagen.dsl.models import Column
from datagen.engine.block import Block
from datagen.engine.finish import as_values


def _sort_key(values: np.ndarray) -> np.ndarray:
    """Values as float64 that sort like them, nulls last."""
    if values.dtype.kind == "M":
        out = values.astype("datetime64[us]").astype(np.int64).astype(np.float64)
        out[np.isnat(values)] = np.inf
        return out
    out = np.asarray(values, dtype=np.float64)
    return np.where(np.isnan(out), np.inf, out)


def _tie_key(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in "iuf":
        return values.astype(np.float64)
    codes, _ = pd.factorize(pd.Series(values, dtype=object).astype(str), sort=True)
    return np.asarray(codes, dtype=np.float64)


def running(block: Block, col: Column, gen: RunningGen) -> np.ndarray:
    args = gen.running
    node = block.table.node
    assert block.parent_rows is not None and node.primary_parent is not None  # a fact (checked)
    if block.n == 0:
        return np.zeros(0)
    first, last = int(block.parent_rows[0]), int(block.parent_rows[-1])
    offsets = block.store.offsets[node.id]
    lo, hi = int(offsets[first]), int(offsets[last + 1])  # the whole rows of the block's parents
    table: pa.Table = block.store.spilled[node.id]
    names = list(dict.fromkeys([args.of, args.order_by, *([node.pk] if node.pk else [])]))
    part = table.select(names).slice(lo, hi - lo)
    cols = {name: as_values(node.column(name), part.column(name)) for name in names}  # type: ignore[arg-type]
    rows = np.arange(lo, hi, dtype=np.int64)
    parent = np.searchsorted(offsets, rows, side="right") - 1
    ties = _tie_key(cols[node.pk]) if node.pk else rows.astype(np.float64)
    order = np.lexsort((ties, _sort_key(cols[args.order_by]), parent))
    of = cols[args.of][order]
    groups = pd.Series(parent[order])
    present = ~pd.isna(of)
    values = pd.Series(np.asarray(of, dtype=np.float64) if of.dtype.kind != "O" else of)
    seen = pd.Series(present.astype(np.int64)).groupby(groups.values).cumsum().to_numpy()
    if args.agg == "count":
        result = seen
    elif args.agg in ("sum", "mean"):
        zeros = values.where(present, 0)
        if of.dtype.kind in "iub":
            zeros = zeros.astype(np.int64)
        total = zeros.groupby(groups.values).cumsum().to_numpy()
        if args.agg == "sum":
            result = total
            if args.start:
                ref = split_ref(args.start)
                assert ref is not None
                start = block.store.column(ref[0], ref[1])[parent[order]]
                result = total + start
        else:
            result = np.where(seen > 0, total / np.maximum(seen, 1), np.nan)
    else:
        grouped = values.astype(np.float64).groupby(groups.values)
        acc = grouped.cummax() if args.agg == "max" else grouped.cummin()
        result = acc.groupby(groups.values).ffill().to_numpy()
        if of.dtype.kind in "iu" and not np.isnan(result).any():
            result = result.astype(np.int64)
    out = np.empty(len(result), dtype=np.asarray(result).dtype)
    out[order] = result
    return out[block.row_start - lo : block.row_start - lo + block.n]
