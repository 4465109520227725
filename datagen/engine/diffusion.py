"""Diffusion curves on a `datetime_series` (docs/schema-language.md §8.6): the grid a series is drawn
from, with each cell's pattern weight times the share of adoptions the curve puts in it, so the share
adopted by time t follows the curve (Bass or logistic) renormalised to the window."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from datagen.dsl.base import parse_instant
from datagen.dsl.generators import BassCurve, DatetimeSeriesGen, LogisticCurve
from datagen.dsl.models import Column, Schema
from datagen.dsl.units import UNIT_US, YEAR_US
from datagen.engine.timegrid import Grid, build_grid, to_us

Patterns = tuple[tuple[str, tuple[float, ...]], ...]


def series_grid(gen: DatetimeSeriesGen, col: Column, schema: Schema) -> Grid:
    """The grid a datetime_series column draws from: its window, freq and patterns, and its curve."""
    start, end = (int(to_us(t)) for t in gen.window(schema.timeframe))
    freq = gen.freq(schema.timeframe, col.type)
    patterns: Patterns = tuple((p.dimension, tuple(p.weights)) for p in gen.patterns(col))
    curve = gen.datetime_series.curve
    if curve is None:
        return build_grid(start, end, freq, patterns)
    return _curved(start, end, freq, patterns, curve.model_dump_json())


def adopted(curve: BassCurve | LogisticCurve, t_us: np.ndarray, start_us: int) -> np.ndarray:
    """The curve's share adopted by each time (before renormalising to a window)."""
    if isinstance(curve, BassCurve):
        return curve.adopted((t_us - start_us) / UNIT_US[curve.time_unit])
    mid = int(to_us(parse_instant(curve.midpoint)))
    return curve.adopted_at((t_us - mid) / YEAR_US)


@lru_cache(maxsize=32)
def _curved(start: int, end: int, freq: str, patterns: Patterns, curve_json: str) -> Grid:
    grid = build_grid(start, end, freq, patterns)
    kind = BassCurve if '"bass"' in curve_json else LogisticCurve
    curve = kind.model_validate_json(curve_json)
    edges = np.append(grid.points, max(int(grid.end_us), int(grid.points[-1])) + 1)
    if grid.step:  # hour buckets: each bucket's share of the curve
        edges = np.append(grid.points, int(grid.points[-1]) + 3_600_000_000)
        edges = np.clip(edges, start, end + 1)
    share = np.diff(adopted(curve, edges.astype(float), start))
    weights = np.diff(grid.cum) * np.maximum(share, 0.0)
    return Grid(
        grid.points,
        np.concatenate([[0.0], np.cumsum(weights)]),
        grid.step,
        grid.counts,
        grid.first,
        grid.end_us,
    )
