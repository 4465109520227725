"""`effect`: scale a value by the effect-table row active at the row's time (an interval join).

Vectorised: the effect windows become start/end events sorted by (key, time); a running product (mul)
or sum (add) over those events gives the combined factor of every elementary interval, so overlapping
windows combine (multiply, or add) instead of hiding each other. Each data row then finds its interval
with one `searchsorted` — no loop over rows or over effect rows. The validator reads the same events
(window_events, open_product) to build the intervals it joins rows to."""

from __future__ import annotations

from collections.abc import Callable
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
    default = float(args.map.fill)
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
    ev_code, ev_time, running = window_events(code, start, end)
    active = running(np.ones(len(code), dtype=np.int64))
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
    out[has] = (open_product(running, value) if mul else running(value))[pos[has]]
    return out


def window_events(
    code: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """Windows [start, end) of each key code as events sorted by (code, time): the events' codes and
    times, and `running(v)`, the sum of a per-window value v over the windows open just after each event
    (each window adds v at its start and takes it away at its end; the sum restarts at each code)."""
    ev_code = np.concatenate([code, code])
    ev_time = np.concatenate([start, end])
    order = np.lexsort((ev_time, ev_code))
    ev_code, ev_time = ev_code[order], ev_time[order]
    # Running totals restart at each key: subtract the total reached before the key's first event.
    first = np.r_[True, ev_code[1:] != ev_code[:-1]][: len(ev_code)]
    group = np.cumsum(first) - 1

    def running(value: np.ndarray) -> np.ndarray:
        c = np.cumsum(np.concatenate([value, -value])[order])
        before = np.r_[0, c][:-1][first]
        return np.asarray(c - before[group])

    return ev_code, ev_time, running


def open_product(running: Callable[[np.ndarray], np.ndarray], value: np.ndarray) -> np.ndarray:
    """The product of a per-window value over the windows open after each event (`running` from
    window_events): a running sum of logs, with zeros and negative signs counted apart so log(0) never
    appears."""
    zero = value == 0
    log_total = running(np.log(np.where(zero, 1.0, np.abs(value))))
    zeros, negs = running(zero.astype(np.int64)), running((value < 0).astype(np.int64))
    return np.where(zeros > 0, 0.0, np.exp(log_total) * np.where(negs % 2 == 1, -1.0, 1.0))


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
