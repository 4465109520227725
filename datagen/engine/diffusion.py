"""Diffusion curves on a `datetime_series` (docs/schema-language.md §8.6): the grid a series is drawn
from, with each cell's pattern weight times the share of adoptions the curve puts in it, so the share
adopted by time t follows the curve (Bass or logistic) renormalised to the window."""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np

from datagen.dsl.base import parse_instant
from datagen.dsl.generators import BassCurve, DatetimeSeriesGen, LogisticCurve
from datagen.dsl.models import Column, Schema
from datagen.dsl.units import HOUR_US, UNIT_US, YEAR_US
from datagen.engine.timegrid import Cells, Patterns, Sampler, build_cells, build_points, to_us

MAX_CURVE_CELLS = 1_000_000  # hour cells for the curve's shape; days beyond that


def series_sampler(gen: DatetimeSeriesGen, col: Column, schema: Schema) -> Sampler:
    """What a datetime_series column draws from: its window, freq and patterns as a density (grid
    points with `snap`), times its curve."""
    start, end = (int(to_us(t)) for t in gen.window(schema.timeframe))
    freq = gen.freq(schema.timeframe, col.type)
    patterns: Patterns = tuple((p.dimension, tuple(p.weights)) for p in gen.patterns(col))
    snapped = gen.snapped(col.type)
    curve = gen.datetime_series.curve
    if curve is None:
        return (
            build_points(start, end, freq, patterns) if snapped else build_cells(start, end, freq, patterns)
        )
    return _curved(start, end, freq, patterns, snapped, curve.model_dump_json())


def adopted(curve: BassCurve | LogisticCurve, t_us: np.ndarray, start_us: int) -> np.ndarray:
    """The curve's share adopted by each time (before renormalising to a window)."""
    if isinstance(curve, BassCurve):
        return curve.adopted((t_us - start_us) / UNIT_US[curve.time_unit])
    mid = int(to_us(parse_instant(curve.midpoint)))
    return curve.adopted_at((t_us - mid) / YEAR_US)


@lru_cache(maxsize=32)
def _curved(start: int, end: int, freq: str, patterns: Patterns, snapped: bool, curve_json: str) -> Sampler:
    """Each cell's (or grid point's) mass times the share of adoptions the curve puts in it."""
    curve = (BassCurve if '"bass"' in curve_json else LogisticCurve).model_validate_json(curve_json)
    if snapped:
        pts = build_points(start, end, freq, patterns)
        # a point (or an hour bucket) stands for the time up to the next one
        width = HOUR_US if pts.step else 0
        edges = np.append(pts.points, int(pts.points[-1]) + width if width else end)
        edges = np.clip(edges, start, end)
        share = np.maximum(np.diff(adopted(curve, edges.astype(float), start)), 0.0)
        weights = np.diff(pts.cum) * share
        return dataclasses.replace(pts, cum=np.concatenate([[0.0], np.cumsum(weights)]))
    cells = build_cells(start, end, freq, patterns)
    step = HOUR_US if (end - start) // HOUR_US <= MAX_CURVE_CELLS else 24 * HOUR_US
    fine = np.arange(start - start % step + step, end, step, dtype=np.int64)
    edges = np.unique(np.concatenate([cells.edges, fine]))
    base = cells.mass_at(edges)
    share = np.maximum(np.diff(adopted(curve, edges.astype(float), start)), 0.0)
    return Cells(edges, np.concatenate([[0.0], np.cumsum(np.diff(base) * share)]))
