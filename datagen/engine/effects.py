"""`effect`: scale a value by the effect-table row active at the row's time (an interval join).

Vectorised: the effect windows become start/end events sorted by (key, time); a running product (mul)
or sum (add) over those events gives the combined factor of every elementary interval, so overlapping
windows combine (multiply, or add) instead of hiding each other. Each data row then finds its interval
with one `searchsorted` — no loop over rows or over effect rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from datagen.engine.block import Store


def _key_codes(
    store: Store, table: str, on: dict[str, str], keys: dict[str, np.ndarray], n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of the effect rows' and the data rows' join keys (-1: no such key; all 0 when the
    effect has no `on`, i.e. applies to every row)."""
    eff_code = np.zeros(store.rows.get(table, 0), dtype=np.int64)
    row_code = np.zeros(n, dtype=np.int64)
    for local, eff_col in on.items():
        codes, distinct = pd.factorize(pd.Series(store.column(table, eff_col), dtype=object))
        row = pd.Index(distinct).get_indexer(pd.Series(keys[local], dtype=object))
        radix = max(len(distinct), 1)
        eff_code = np.where((eff_code < 0) | (codes < 0), -1, eff_code * radix + codes)
        row_code = np.where((row_code < 0) | (row < 0), -1, row_code * radix + row)
    return eff_code, row_code


def effect_multiplier(store: Store, args: Any, keys: dict[str, np.ndarray], t: np.ndarray) -> np.ndarray:
    """Per row: the product (op mul) or sum (op add) of the `map.field` of every effect row whose key
    matches and whose window [start, end) holds the row's time; `map.default` where none does."""
    n = len(t)
    table = args.effect_table
    mul = args.map.op == "mul"
    default = float(args.map.default)
    if store.rows.get(table, 0) == 0 or n == 0:
        return np.full(n, default)
    eff_code, row_code = _key_codes(store, table, args.on, keys, n)
    start = store.column(table, args.window.start_col).astype("datetime64[us]").astype(np.int64)
    end = store.column(table, args.window.end_col).astype("datetime64[us]").astype(np.int64)
    value = store.column(table, args.map.field).astype(float)
    ok = (eff_code >= 0) & ~np.isnan(value) & (start < end)
    ok &= (start != np.iinfo(np.int64).min) & (end != np.iinfo(np.int64).min)  # NaT
    code, start, end, value = eff_code[ok], start[ok], end[ok], value[ok]
    if len(code) == 0:
        return np.full(n, default)
    # Events: +value at start, -value at end (logs for mul; zeros counted apart so log(0) never appears).
    ev_code = np.concatenate([code, code])
    ev_time = np.concatenate([start, end])
    if mul:
        zero = value == 0
        logs = np.log(np.where(zero, 1.0, np.abs(value)))
        neg = (value < 0).astype(np.int64)
        ev_log = np.concatenate([logs, -logs])
        ev_zero = np.concatenate([zero, zero]).astype(np.int64) * np.repeat([1, -1], len(code))
        ev_neg = np.concatenate([neg, -neg])
    else:
        ev_sum = np.concatenate([value, -value])
    ev_active = np.repeat([1, -1], len(code))
    order = np.lexsort((ev_time, ev_code))
    ev_code, ev_time = ev_code[order], ev_time[order]
    # Running totals restart at each key: subtract the total reached before the key's first event.
    first = np.r_[True, ev_code[1:] != ev_code[:-1]]
    group = np.cumsum(first) - 1

    def running(x: np.ndarray) -> np.ndarray:
        c = np.cumsum(x[order])
        before = np.r_[0, c][:-1][first]
        return c - before[group]

    active = running(ev_active)
    # A data row takes the state after the last event at or before its time within its key.
    tt = t.astype("datetime64[us]").astype(np.int64)
    valid = (row_code >= 0) & ~np.isnat(t)
    pos = np.full(n, -1, dtype=np.int64)
    lo = np.searchsorted(ev_code, row_code[valid], side="left")
    hi = np.searchsorted(ev_code, row_code[valid], side="right")
    pos[valid] = _search_within(ev_time, lo, hi, tt[valid])
    has = pos >= 0
    has[has] = active[pos[has]] > 0
    out = np.full(n, default)
    if mul:
        log_total, zeros, negs = running(ev_log), running(ev_zero), running(ev_neg)
        p = pos[has]
        out[has] = np.where(zeros[p] > 0, 0.0, np.exp(log_total[p]) * np.where(negs[p] % 2 == 1, -1.0, 1.0))
    else:
        out[has] = running(ev_sum)[pos[has]]
    return out


def _search_within(sorted_times: np.ndarray, lo: np.ndarray, hi: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Index of the last element <= t inside each row's slice [lo, hi) of a per-slice-sorted array
    (-1 when none). Vectorised binary search: log2(max slice) rounds over all rows at once."""
    left, right = lo.copy(), hi.copy()  # invariant: answer in [left-1, right-1]
    while True:
        active = left < right
        if not active.any():
            break
        mid = (left + right) // 2
        go_right = active & (sorted_times[np.minimum(mid, len(sorted_times) - 1)] <= t)
        left = np.where(go_right, mid + 1, left)
        right = np.where(active & ~go_right, mid, right)
    return np.where(left > lo, left - 1, -1)
