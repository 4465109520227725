"""What share of a `datetime_series` column's rows each hour, weekday or month should hold.

docs/schema-language.md §4.1: times are drawn from the grid points between start and end at `freq`, each
weighted by the product of the column's patterns (and of `seasonality` modifiers on the column itself).
So the expected share of a stratum is its grid weight over the total — which already counts how many
grid points each stratum has in the window (a window that is not a whole number of weeks, short months).

Two things the schema also declares reshape that, and are accounted for:
- per-row bounds (an inequality the engine enforces by drawing inside [lo, hi], e.g. an order after its
  customer's signup): each row's distribution is the grid restricted to its own slice, so the expected
  mass is the sum over rows of their normalised slices (grouped by bound hour: bounded work);
- `time_jitter`: a Gaussian shift in minutes, applied as a circular convolution over the minutes of
  the week (hour and weekday shares; months are too long for minutes to matter).

Calendar fields are computed here from the epoch (Monday = 0, January = 0), independently of the
engine, so a wrong weekday in the engine would show up as a failed check."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from datagen.dsl.generators import DatetimeSeriesGen
from datagen.dsl.models import Column, Node, Schema
from datagen.dsl.units import DAY_US, HOUR_US

MINUTES_PER_WEEK = 7 * 24 * 60
MAX_POINTS = 2_000_000
SIZES = {"hour": 24, "dow": 7, "month": 12}
LABELS = {
    "hour": [f"{h:02d}h" for h in range(24)],
    "dow": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    "month": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
}
INT_MIN, INT_MAX = np.iinfo(np.int64).min, np.iinfo(np.int64).max


@dataclass(frozen=True)
class Series:
    start_us: int
    end_us: int
    freq: str
    patterns: tuple[tuple[str, tuple[float, ...]], ...]
    snapped: bool = True  # values on grid points; else continuous (a uniform instant inside a cell)


def series_of(schema: Schema, col: Column) -> Series:
    gen = col.generator
    assert isinstance(gen, DatetimeSeriesGen)
    start, end = gen.window(schema.timeframe)
    patterns = tuple((p.dimension, tuple(p.weights)) for p in gen.patterns(col))
    freq = gen.freq(schema.timeframe, col.type)
    return Series(_us(start), _us(end), freq, patterns, gen.snapped(col.type))


def _us(dt: datetime) -> int:
    return int(pd.Timestamp(dt).tz_convert("UTC").value // 1000)


def fields(us: np.ndarray) -> dict[str, np.ndarray]:
    """hour (0-23), dow (Monday = 0; 1970-01-01 was a Thursday), month (January = 0) of epoch µs."""
    days = np.floor_divide(us, DAY_US)
    months = us.astype("datetime64[us]").astype("datetime64[M]").astype(np.int64)
    return {"hour": np.floor_divide(us, HOUR_US) % 24, "dow": (days + 3) % 7, "month": months % 12}


@dataclass
class Grid:
    """Candidate times and their weights; `spread`: each point is an hour bucket whose mass is spread
    evenly inside the hour (fine grids too long to list); `edges`: for a continuous series, the hour
    buckets' edges (the last one the window's end), the mass being uniform inside each."""

    points: np.ndarray
    weights: np.ndarray
    spread: bool
    edges: np.ndarray | None = None


def _period_edges(s: Series) -> np.ndarray:
    """The edges of a continuous series' cells: its freq's periods anchored to the calendar (whole
    steps from the epoch, or pandas' calendar anchors from midnight), cut to the window."""
    offset = to_offset(s.freq)
    try:
        step = int(pd.Timedelta(offset).value // 1000)
    except ValueError:
        step = 0
    if step:
        inner = np.arange(s.start_us - s.start_us % step + step, s.end_us, step, dtype=np.int64)
    else:
        first = pd.Timestamp(s.start_us * 1000, tz="UTC").normalize()
        first = first if offset.is_on_offset(first) else offset.rollback(first)
        end = pd.Timestamp(s.end_us * 1000, tz="UTC")
        inner = pd.date_range(first, end, freq=offset).as_unit("us").asi8.astype(np.int64)
    inner = inner[(inner > s.start_us) & (inner < s.end_us)]
    return np.concatenate([[s.start_us], inner, [s.end_us]])


def continuous_grid(s: Series) -> Grid:
    """docs/schema-language.md §10.1: the density is constant inside each cell (clock hours for a freq
    of an hour or less, else the freq's periods), a cell holding the pattern-weighted time inside it.
    Returned per clock hour, each hour's mass being its share of its cells'."""
    first = s.start_us - s.start_us % HOUR_US
    hours = np.arange(first, s.end_us, HOUR_US, dtype=np.int64)
    edges = np.append(np.maximum(hours, s.start_us), s.end_us)
    w = np.diff(edges).astype(float)
    f = fields(hours)
    for dimension, weights in s.patterns:
        w *= np.asarray(weights, dtype=float)[f[dimension]]
    try:
        step = int(pd.Timedelta(to_offset(s.freq)).value // 1000)
    except ValueError:
        step = 0
    if s.patterns and not (step and step <= HOUR_US):
        cum = np.concatenate([[0.0], np.cumsum(w)])
        cells = _period_edges(s)
        cell_cum = np.interp(cells, edges, cum)  # the pattern's mass of each cell ...
        w = np.diff(np.interp(edges, cells, cell_cum))  # ... spread evenly over its hours
    return Grid(np.maximum(hours, s.start_us), w, True, edges)


def build_grid(s: Series) -> Grid:
    if not s.snapped:
        return continuous_grid(s)
    offset = to_offset(s.freq)
    try:
        step = int(pd.Timedelta(offset).value // 1000)
    except ValueError:
        step = 0
    spread = False
    if step:
        n = (s.end_us - 1 - s.start_us) // step + 1  # points before the (exclusive) end
        if n <= MAX_POINTS:
            points = s.start_us + np.arange(n, dtype=np.int64) * step
            counts = np.ones(n)
        else:
            points = np.arange(s.start_us - s.start_us % HOUR_US, s.end_us, HOUR_US, dtype=np.int64)
            lo = np.maximum(points, s.start_us)
            hi = np.minimum(points + HOUR_US, s.end_us) - 1
            first = -np.floor_divide(-(lo - s.start_us), step)  # ceil
            counts = np.maximum(np.floor_divide(hi - s.start_us, step) - first + 1, 0).astype(float)
            spread = True
    else:
        start = pd.Timestamp(s.start_us * 1000, tz="UTC")
        end = pd.Timestamp(s.end_us * 1000, tz="UTC")
        points = pd.date_range(start, end, freq=offset).as_unit("us").asi8.astype(np.int64)
        points = points[points < s.end_us]
        if len(points) == 0:
            points = np.array([s.start_us], dtype=np.int64)
        counts = np.ones(len(points))
    w = counts.copy()
    f = fields(points)
    for dimension, weights in s.patterns:
        w *= np.asarray(weights, dtype=float)[f[dimension]]
    return Grid(points, w, spread)


@dataclass
class Bounds:
    """Rows grouped by their sampling slice: [lo, hi] in µs (INT_MIN / INT_MAX when unbounded)."""

    lo: np.ndarray
    hi: np.ndarray
    count: np.ndarray


def expected_mass(grid: Grid, bounds: Bounds | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected rows per grid point; plus rows whose slice holds no grid point (the engine puts them on
    their lower bound): their times and counts."""
    if bounds is None:
        return grid.weights, np.zeros(0, dtype=np.int64), np.zeros(0)
    if grid.edges is not None:
        return _continuous_mass(grid, bounds)
    pts, w = grid.points, grid.weights
    cum = np.concatenate([[0.0], np.cumsum(w)])
    if grid.spread:  # a bucket that contains lo is still allowed
        a = np.maximum(np.searchsorted(pts, bounds.lo, side="right") - 1, 0)
    else:
        a = np.searchsorted(pts, bounds.lo, side="left")
    b = np.searchsorted(pts, bounds.hi, side="right")
    total = cum[np.maximum(b, a)] - cum[a]
    ok = (b > a) & (total > 0)
    diff = np.zeros(len(pts) + 1)
    np.add.at(diff, a[ok], bounds.count[ok] / total[ok])
    np.add.at(diff, b[ok], -bounds.count[ok] / total[ok])
    mass = w * np.cumsum(diff)[:-1]
    stuck = ~ok
    at = np.clip(bounds.lo[stuck], pts[0], pts[-1])
    return mass, at, bounds.count[stuck].astype(float)


def _continuous_mass(grid: Grid, bounds: Bounds) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's density is the series' restricted to its own [lo, hi], partial hours included: the
    hours strictly inside get their mass, the first and last their part of it, all over the slice's
    total (grouped by bounds: one vectorised pass)."""
    edges, w = grid.edges, grid.weights
    assert edges is not None
    cum = np.concatenate([[0.0], np.cumsum(w)])
    start, end = edges[0], edges[-1]
    lo = np.clip(bounds.lo, start, end).astype(np.int64)
    hi = np.clip(np.where(bounds.hi < INT_MAX, bounds.hi + 1, end), start, end).astype(np.int64)  # exclusive

    def mass(t: np.ndarray) -> np.ndarray:
        return np.interp(t.astype(float), edges.astype(float), cum)

    total = mass(hi) - mass(lo)
    ok = (hi > lo) & (total > 0)
    n = len(w)
    ia = np.clip(np.searchsorted(edges, lo, side="right") - 1, 0, n - 1)
    ib = np.clip(np.searchsorted(edges, hi, side="left") - 1, 0, n - 1)
    out = np.zeros(n)
    one = ok & (ia == ib)
    np.add.at(out, ia[one], bounds.count[one])
    two = ok & (ia < ib)
    share = bounds.count[two] / total[two]
    np.add.at(out, ia[two], share * (mass(edges[ia[two] + 1]) - mass(lo[two])))
    np.add.at(out, ib[two], share * (mass(hi[two]) - mass(edges[ib[two]])))
    diff = np.zeros(n + 1)
    np.add.at(diff, ia[two] + 1, share)
    np.add.at(diff, ib[two], -share)
    out += w * np.cumsum(diff)[:-1]
    stuck = ~ok
    at = np.where(
        bounds.lo[stuck] > INT_MIN,
        bounds.lo[stuck],
        np.where(bounds.hi[stuck] < INT_MAX, bounds.hi[stuck], start),
    )
    return out, at.astype(np.int64), bounds.count[stuck].astype(float)


def _gaussian_week_kernel(std_minutes: float) -> np.ndarray:
    """P(a shift of N(0, std) minutes moves a time from minute 0 into minute j), wrapped on the week."""
    reach = math.ceil(6 * std_minutes) + 1
    j = np.arange(-reach, reach + 1)
    cdf = np.array([0.5 * (1 + math.erf(x / (std_minutes * math.sqrt(2)))) for x in range(-reach, reach + 2)])
    probs = np.diff(cdf)
    kernel = np.zeros(MINUTES_PER_WEEK)
    np.add.at(kernel, j % MINUTES_PER_WEEK, probs)
    return kernel


def expected_shares(
    s: Series, bounds: Bounds | None, dimensions: list[str], jitter_minutes: float = 0.0
) -> dict[str, np.ndarray]:
    """Expected share of rows per stratum of each dimension."""
    grid = build_grid(s)
    mass, stuck_at, stuck_count = expected_mass(grid, bounds)
    f, fs = fields(grid.points), fields(stuck_at)
    out: dict[str, np.ndarray] = {}
    week: np.ndarray | None = None
    if jitter_minutes > 0 and ({"hour", "dow"} & set(dimensions)):
        slot = f["dow"] * 24 + f["hour"]
        if grid.spread:
            week = np.repeat(np.bincount(slot, mass, 168) / 60.0, 60)
        else:
            minute = np.floor_divide(grid.points % HOUR_US, 60_000_000)
            week = np.bincount(slot * 60 + minute, mass, MINUTES_PER_WEEK)
        stuck_min = (fs["dow"] * 24 + fs["hour"]) * 60 + np.floor_divide(stuck_at % HOUR_US, 60_000_000)
        week = week + np.bincount(stuck_min, stuck_count, MINUTES_PER_WEEK)
        kernel = _gaussian_week_kernel(jitter_minutes)
        week = np.fft.irfft(np.fft.rfft(week) * np.fft.rfft(kernel), n=MINUTES_PER_WEEK)
        week = np.maximum(week, 0.0).reshape(7, 24, 60)
    for dim in dimensions:
        if week is not None and dim in ("hour", "dow"):
            counts = week.sum(axis=(0, 2)) if dim == "hour" else week.sum(axis=(1, 2))
        else:
            counts = np.bincount(f[dim], mass, SIZES[dim]) + np.bincount(fs[dim], stuck_count, SIZES[dim])
        total = counts.sum()
        out[dim] = counts / total if total > 0 else counts
    return out


def activity_shaped(schema: Schema, node: Node, col: Column) -> bool:
    """Times of a fact's first datetime column under a parent with a vintage fanout curve follow the
    curve over the parent's age (docs/schema-language.md §8.2): months are reshaped by that, hours and
    weekdays are not."""
    if not node.parents or col.name != node.first_time_column():
        return False
    parent = schema.node(node.parents[0])
    return parent is not None and any(b.places_child_times() for b in parent.behaviours)


@dataclass
class Origins:
    """Rows grouped by the day their parent was created (where its age is 0) and the days of their
    sampling bounds (NaN when unbounded): day numbers since the epoch."""

    origin: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    count: np.ndarray


MAX_CELLS = 50_000_000  # groups × days the day-level sum may take


def activity_month_shares(
    s: Series, origins: Origins, activity: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray | None:
    """Expected share of rows per month for times placed along an activity curve of their parent's
    age: a row created on day c lands on day d (inside its bounds) with weight W(d)·A(d - c), W the
    pattern-weighted grid's mass of that day and A the curve at the age of the day's middle, in days
    (`activity`). Day resolution: a parent created in the afternoon still gets that whole day, a
    small error next to a month. None when the sum would be too big to take."""
    grid = build_grid(s)
    first = int(np.floor_divide(grid.points[0], DAY_US))
    days = np.floor_divide(grid.points, DAY_US) - first
    weight = np.bincount(days, grid.weights)
    n_days = len(weight)
    if len(origins.count) * n_days > MAX_CELLS:
        return None
    day_no = np.arange(n_days) + first
    month = fields(day_no * DAY_US)["month"]
    mass = np.zeros(12)
    for c, lo, hi, count in zip(origins.origin, origins.lo, origins.hi, origins.count, strict=True):
        start = 0 if np.isnan(lo) else int(max(lo - first, 0))
        stop = n_days if np.isnan(hi) else int(min(hi - first + 1, n_days))
        if stop <= start:
            continue
        ages = day_no[start:stop] - c + 0.5
        w = weight[start:stop] * activity(np.maximum(ages, 0.0))
        total = w.sum()
        if total > 0:
            mass += np.bincount(month[start:stop], w * (count / total), 12)
    return mass / mass.sum() if mass.sum() > 0 else None
