"""Time: calendar fields, pattern weights and sampling timestamps from a weighted grid.

Timestamps are numpy datetime64[us] in UTC. A `datetime_series` draws grid points between start and
end at `freq`, weighted by the product of its patterns (hour, day of week, month). Sampling is exact
and vectorised: a cumulative weight table and one `searchsorted`; per-row bounds (a child after its
parent's creation) restrict the draw to a slice of the same table, so the pattern is kept inside it.
Grids too fine to hold (seconds over years) are sampled per hour bucket, then uniformly inside it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from datagen.dsl.units import DAY_US, HOUR_US, YEAR_US

MAX_EXPLICIT_POINTS = 2_000_000
NAT = np.datetime64("NaT", "us")


def to_us(dt: datetime) -> np.int64:
    """Aware datetime -> microseconds since the epoch (UTC)."""
    return np.int64(pd.Timestamp(dt).tz_convert("UTC").value // 1000)


def hour_of(t: np.ndarray) -> np.ndarray:
    return (t.astype("datetime64[us]").astype(np.int64) // HOUR_US) % 24


def dow_of(t: np.ndarray) -> np.ndarray:
    """Monday = 0 (1970-01-01 was a Thursday)."""
    days = t.astype("datetime64[us]").astype(np.int64) // DAY_US
    return (days + 3) % 7


def month_of(t: np.ndarray) -> np.ndarray:
    """January = 0."""
    return t.astype("datetime64[M]").astype(np.int64) % 12


CALENDAR = {"hour": hour_of, "dow": dow_of, "month": month_of}


def pattern_weight(t: np.ndarray, patterns: Sequence[tuple[str, Sequence[float]]]) -> np.ndarray:
    """Product of the patterns' weights at each time (1.0 with no pattern); NaT rows get NaN."""
    w = np.ones(len(t))
    valid = ~np.isnat(t)
    for dimension, weights in patterns:
        table = np.asarray(weights, dtype=float)
        field = CALENDAR[dimension](np.where(valid, t, np.datetime64(0, "us")))
        w *= table[field]
    w[~valid] = np.nan
    return w


def years_since(t: np.ndarray, origin_us: int) -> np.ndarray:
    return (t.astype("datetime64[us]").astype(np.int64) - origin_us) / YEAR_US


@dataclass(frozen=True)
class Grid:
    """Weighted sampling table. `points`: candidate times (us); `cum`: cumulative weights with a leading
    0; `step`: for bucketed grids, the within-bucket step (0 when every point is a candidate)."""

    points: np.ndarray  # int64 us, sorted
    cum: np.ndarray  # float64, len(points) + 1
    step: int  # 0, or the freq in us for hour buckets
    counts: np.ndarray | None  # grid points per bucket (bucketed grids only)
    first: np.ndarray | None  # first grid point of each bucket (us)
    end_us: int

    def sample(
        self, rng: np.random.Generator, n: int, lo: np.ndarray | None = None, hi: np.ndarray | None = None
    ) -> np.ndarray:
        """n timestamps (datetime64[us]); rows with bounds draw only from [lo, hi]."""
        return self.draw(rng, *self.span(n, lo, hi))

    def span(
        self, n: int, lo: np.ndarray | None = None, hi: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Where each row may draw: the cumulative weight before its first and after its last allowed
        point (`base`, `top`), and its bounds in us (None when the rows have none; NaT is open)."""
        size = len(self.points)
        lo_us = hi_us = None
        if lo is None:
            a = np.zeros(n, dtype=np.int64)
        else:
            lo_us = np.where(np.isnat(lo), np.iinfo(np.int64).min, lo.astype(np.int64))
            a = np.searchsorted(self.points if self.first is None else self.first, lo_us, side="left")
            if self.step:  # a bucket that contains lo is still allowed
                a = np.maximum(np.searchsorted(self.points, lo_us, side="right") - 1, 0)
        if hi is None:
            b = np.full(n, size, dtype=np.int64)
        else:
            hi_us = np.where(np.isnat(hi), np.iinfo(np.int64).max, hi.astype(np.int64))
            b = np.searchsorted(self.points, hi_us, side="right")
        return self.cum[a], self.cum[np.minimum(np.maximum(b, a), size)], lo_us, hi_us

    def draw(
        self,
        rng: np.random.Generator,
        base: np.ndarray,
        top: np.ndarray,
        lo_us: np.ndarray | None,
        hi_us: np.ndarray | None,
    ) -> np.ndarray:
        """One timestamp per row from the grid's weight between `base` and `top` (`span`), kept inside
        the row's bounds; a row with no weight there gets its lower bound."""
        n, size = len(base), len(self.points)
        u = base + rng.random(n) * (top - base)
        idx = np.clip(np.searchsorted(self.cum, u, side="right") - 1, 0, size - 1)
        out = self.points[idx]
        if self.step:
            assert self.counts is not None and self.first is not None  # bucketed grids have both
            within = np.floor(rng.random(n) * self.counts[idx]).astype(np.int64)
            out = self.first[idx] + within * self.step
        out = np.minimum(out, self.end_us)
        if lo_us is not None:  # bounds (inequalities, a parent's creation) win over the window
            out = np.maximum(out, lo_us)
            out = np.where(top <= base, lo_us, out)  # no grid point in bounds: the bound itself
        if hi_us is not None:
            out = np.minimum(out, hi_us)
        return np.asarray(out.astype("datetime64[us]"))


@lru_cache(maxsize=64)
def build_grid(
    start_us: int, end_us: int, freq: str, patterns: tuple[tuple[str, tuple[float, ...]], ...]
) -> Grid:
    """The sampling table for a window, a freq and patterns (cached: blocks share it)."""
    offset = to_offset(freq)
    try:
        step = int(pd.Timedelta(offset).value // 1000)
    except ValueError:
        step = 0  # calendar freqs (month end, …) have no fixed length
    span = end_us - start_us
    if step and span // step + 1 > MAX_EXPLICIT_POINTS:
        return _bucketed(start_us, end_us, step, patterns)
    start = pd.Timestamp(int(start_us) * 1000, tz="UTC")
    end = pd.Timestamp(int(end_us) * 1000, tz="UTC")
    if step:
        points = start_us + np.arange(span // step + 1, dtype=np.int64) * step
    else:
        points = (pd.date_range(start, end, freq=offset).as_unit("us").asi8).astype(np.int64)
        if len(points) == 0:  # window shorter than one calendar period: its start is the only point
            points = np.array([start_us], dtype=np.int64)
    w = pattern_weight(points.astype("datetime64[us]"), patterns)
    return Grid(points, np.concatenate([[0.0], np.cumsum(w)]), 0, None, None, end_us)


def _bucketed(
    start_us: int, end_us: int, step: int, patterns: tuple[tuple[str, tuple[float, ...]], ...]
) -> Grid:
    """Hour buckets for fine grids; each bucket weighs (grid points inside) x (pattern at the hour)."""
    first_hour = start_us - start_us % HOUR_US
    hours = np.arange(first_hour, end_us + 1, HOUR_US, dtype=np.int64)
    lo = np.maximum(hours, start_us)
    hi = np.minimum(hours + HOUR_US - 1, end_us)
    k_lo = -((start_us - lo) // step)  # ceil((lo - start) / step)
    k_hi = (hi - start_us) // step
    counts = np.maximum(k_hi - k_lo + 1, 0)
    first = start_us + k_lo * step
    w = pattern_weight(hours.astype("datetime64[us]"), patterns) * counts
    return Grid(hours, np.concatenate([[0.0], np.cumsum(w)]), step, counts, first, end_us)
