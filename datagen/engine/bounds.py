"""Each row's bounds on a column, from the plan's `Bound`s (datagen.dsl.enforcement): the values of
the related rows, made inclusive and fitted to the column's type, combined into one [lo, hi] per row.

Times are int64 µs (INT_MIN / INT_MAX where a row is open on a side); numbers are float64 (-inf /
inf). A strict `<`/`>` keeps one microsecond, one unit (ints) or the next float between the sides; a
`date` column's bounds are rounded inwards to whole days, as the final cast keeps only the day, and an
`int` column's to whole numbers, as the cast rounds."""

from __future__ import annotations

import numpy as np

from datagen.dsl.base import TIME
from datagen.dsl.units import DAY_US
from datagen.engine.block import Block
from datagen.engine.timegrid import INT_MAX, INT_MIN

Bounds = tuple[np.ndarray | None, np.ndarray | None]


def _as_time(values: np.ndarray, side: str) -> np.ndarray:
    t = values.astype("datetime64[us]")
    return np.where(np.isnat(t), INT_MIN if side == "lo" else INT_MAX, t.astype(np.int64))


def _as_number(values: np.ndarray, side: str) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    return np.where(np.isnan(v), -np.inf if side == "lo" else np.inf, v)


def row_bounds(block: Block, column: str) -> Bounds:
    """Per-row inclusive [lo, hi] of `column` (None: no bound on that side)."""
    found = block.table.bounds.get(column, [])
    if not found:
        return None, None
    col = block.table.node.column(column)
    assert col is not None
    is_time = col.type in TIME
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None
    for b in found:
        raw = block.value_at(b.path, b.source_table, b.source_column)
        if is_time:
            v = _as_time(raw, b.side)
            if b.strict:
                open_ = (v == INT_MIN) | (v == INT_MAX)
                v = np.where(open_, v, v + (1 if b.side == "lo" else -1))
        else:
            v = _as_number(raw, b.side)
            if b.strict:
                if col.type == "int":
                    v = np.floor(v) + 1 if b.side == "lo" else np.ceil(v) - 1
                else:
                    v = np.nextafter(v, np.inf if b.side == "lo" else -np.inf)
        if b.side == "lo":
            lo = v if lo is None else np.maximum(lo, v)
        else:
            hi = v if hi is None else np.minimum(hi, v)
    if col.type == "date":  # a day is kept: [lo, hi] rounded inwards to midnights
        if lo is not None:
            lo = np.where(lo == INT_MIN, lo, -(-lo // DAY_US) * DAY_US)
        if hi is not None:
            hi = np.where(hi == INT_MAX, hi, (hi // DAY_US) * DAY_US)
    elif col.type == "int":
        lo = None if lo is None else np.ceil(lo)
        hi = None if hi is None else np.floor(hi)
    return lo, hi


def cap(block: Block, column: str, values: np.ndarray) -> np.ndarray:
    """`values` with every row past its bounds set to the bound (nulls stay null): the construction of
    an expression or a modified distribution under a bound, and a guarantee for every other one."""
    lo, hi = row_bounds(block, column)
    if lo is None and hi is None:
        return values
    col = block.table.node.column(column)
    assert col is not None
    if col.type in TIME:
        t = values.astype("datetime64[us]")
        missing = np.isnat(t)
        x = t.astype(np.int64)
        if lo is not None:
            x = np.maximum(x, lo)
        if hi is not None:  # bounds that disagree: the lower one wins, as when drawing
            x = np.minimum(x, hi if lo is None else np.maximum(hi, lo))
        out = x.astype("datetime64[us]")
        out[missing] = np.datetime64("NaT")
        return np.asarray(out)
    v = np.asarray(values, dtype=float)
    missing = np.isnan(v)
    x = v
    if lo is not None:
        x = np.maximum(x, lo)
    if hi is not None:  # bounds that disagree: the lower one wins, as when drawing
        x = np.minimum(x, hi if lo is None else np.maximum(hi, lo))
    return np.asarray(np.where(missing, np.nan, x))
