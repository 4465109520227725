"""Modifiers (docs/schema-language.md §4.2): one function per modifier, applied in list order after
the generator (the registry maps each modifier's model type to its function). Each receives the block,
the column, the modifier's position (its random stream) and its model, and returns the new values."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from datagen.dsl.models import Column
from datagen.dsl.modifiers import (
    Add,
    Clamp,
    Effect,
    Jitter,
    MapValues,
    ModifierModel,
    Multiply,
    Outliers,
    PricePoint,
    Seasonality,
    TimeJitter,
    Trend,
    TrendArgs,
)
from datagen.engine import regular
from datagen.engine.block import Block
from datagen.engine.bounds import row_bounds
from datagen.engine.cast import clamp_bounds
from datagen.engine.effects import effect_multiplier
from datagen.engine.rng import table_rng
from datagen.engine.timegrid import pattern_weight, years_since


def _numeric(values: np.ndarray) -> np.ndarray:
    return values if values.dtype.kind == "f" else values.astype(float)


def _time(block: Block, col: Column, mod: ModifierModel) -> np.ndarray:
    """The time each row is read at: a column of the row, or of the parent row it belongs to."""
    source = mod.time_source(block.table.node, col)
    assert source is not None  # the check step requires one
    return block.related_value(*source).astype("datetime64[us]")


def multiply(block: Block, col: Column, i: int, mod: Multiply, v: np.ndarray) -> np.ndarray:
    return _numeric(v) * mod.args.factor


def add(block: Block, col: Column, i: int, mod: Add, v: np.ndarray) -> np.ndarray:
    return _numeric(v) + mod.args.value


def clamp(block: Block, col: Column, i: int, mod: Clamp, v: np.ndarray) -> np.ndarray:
    """Clips (unlike a distribution's clamp, which truncates); how many values it moved onto a bound is
    counted for the preflight's warning."""
    lo, hi = clamp_bounds(col, mod.args.min, mod.args.max)
    x = _numeric(v)
    moved = (x < lo if lo is not None else False) | (x > hi if hi is not None else False)
    block.count_clipped(col.name, f"modifiers[{i}]", int(np.count_nonzero(moved)))
    return np.asarray(np.clip(x, lo, hi))


def price_point(block: Block, col: Column, i: int, mod: PricePoint, v: np.ndarray) -> np.ndarray:
    return mod.args.snap(_numeric(v))


def jitter(block: Block, col: Column, i: int, mod: Jitter, v: np.ndarray) -> np.ndarray:
    noise = block.rng(col.name, f"mod{i}").normal(0.0, mod.args.std, block.n)
    return _numeric(v) * (1 + noise) if mod.args.mode == "mul" else _numeric(v) + noise


def map_values(block: Block, col: Column, i: int, mod: MapValues, v: np.ndarray) -> np.ndarray:
    """Categorical remap by the value's text form; unmapped values kept unless `default` is given.
    Object arrays throughout, so a longer label is never cut to the old one's width."""
    args = mod.args
    fallback = v.astype(object) if args.default is None else np.full(block.n, args.default, dtype=object)
    if not args.mapping or block.n == 0:
        return fallback
    codes, distinct = pd.factorize(pd.Series(v, dtype=object))  # nulls get code -1
    found = pd.Index(list(args.mapping)).get_indexer([_key(x) for x in distinct])
    pos = np.where(codes >= 0, found[np.maximum(codes, 0)] if len(found) else -1, -1)
    targets = np.asarray(list(args.mapping.values()), dtype=object)
    return np.where(pos >= 0, targets[np.maximum(pos, 0)], fallback)


def _key(x: Any) -> str:
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    if isinstance(x, bool | np.bool_):
        return "true" if x else "false"
    return str(x)


def seasonality(block: Block, col: Column, i: int, mod: Seasonality, v: np.ndarray) -> np.ndarray:
    if mod.shapes_sampling(col):
        return v  # shaped the datetime_series' sampling already
    t = _time(block, col, mod)
    w = pattern_weight(t, [(mod.args.dimension, mod.args.weights)])
    return _numeric(v) * np.where(np.isnan(w), 1.0, w)


def time_jitter(block: Block, col: Column, i: int, mod: TimeJitter, v: np.ndarray) -> np.ndarray:
    start, end = block.timeframe_us
    t = v.astype("datetime64[us]").astype(np.int64)
    noise = block.rng(col.name, f"mod{i}").normal(0.0, mod.args.std_minutes * 60e6, block.n)
    shift = np.clip(noise, start - end, end - start).astype(np.int64)  # the result is clipped there anyway
    out = np.clip(t + shift, start, end - 1)  # the timeframe's end is exclusive
    lo, hi = row_bounds(block, col.name)  # enforced bounds still hold after the jitter
    if lo is not None:
        out = np.maximum(out, lo)
    if hi is not None:
        out = np.minimum(out, hi)
    limits = regular.jitter_limits(block, col.name, t)  # a regular row keeps naming its period
    if limits is not None:
        out = np.clip(out, *limits)
    res = out.astype("datetime64[us]")
    res[np.isnat(v)] = np.datetime64("NaT")
    return np.asarray(res)


def effect(block: Block, col: Column, i: int, mod: Effect, v: np.ndarray) -> np.ndarray:
    t = _time(block, col, mod)
    keys = {local: block.values[local] for local in mod.args.on}
    factor = effect_multiplier(block.store, mod.args, keys, t)
    return np.asarray(_numeric(v) * factor if mod.args.map.op == "mul" else _numeric(v) + factor)


def outliers(block: Block, col: Column, i: int, mod: Outliers, v: np.ndarray) -> np.ndarray:
    """spike: v(1+m), drop: v/(1+m) on rate·n random rows; burst: spike on the rows inside one window
    of time covering `rate` of the timeframe (the same window in every block)."""
    args = mod.args
    x = _numeric(v).copy()
    if args.mode == "burst":
        start, end = block.timeframe_us
        length = args.rate * (end - start)
        t0 = start + table_rng(block.seed, block.node_id, col.name, f"burst{i}").random() * (
            end - start - length
        )
        name = mod.burst_time_column(block.table.node, col)
        assert name is not None  # the check step requires one
        t = block.values[name].astype("datetime64[us]").astype(np.int64)
        hit = (t >= t0) & (t < t0 + length)
    else:
        hit = block.rng(col.name, f"mod{i}").random(block.n) < args.rate
    magnitude = args.magnitude
    m = magnitude.sample_clamped(block.rng(col.name, f"mod{i}-magnitude"), block.n)
    x[hit] = x[hit] / (1 + m[hit]) if args.mode == "drop" else x[hit] * (1 + m[hit])
    return x


def trend_factor(args: TrendArgs, years: np.ndarray) -> np.ndarray:
    """Growth per year from the timeframe start: (1+g)^t, 1+g·t, or 1+a·ln(1+b·t); floored at 0 like the
    vintage curves, so a linear or logarithmic decay that runs out flattens at zero, never flips sign."""
    g = args.growth_rate
    if args.type == "exponential":
        return np.asarray((1 + g) ** years)
    if args.type == "linear":
        return np.maximum(1 + g * years, 0.0)
    a, b = args.log_params
    return np.maximum(1 + a * np.log1p(b * years), 0.0)


def trend(block: Block, col: Column, i: int, mod: Trend, v: np.ndarray) -> np.ndarray:
    t = _time(block, col, mod)
    factor = trend_factor(mod.args, years_since(t, block.timeframe_us[0]))
    return _numeric(v) * np.where(np.isnan(factor), 1.0, factor)
