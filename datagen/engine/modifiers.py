"""Modifiers (DSL.md §4.2), one function per transform, applied in list order after the generator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from datagen.dsl.models import Column
from datagen.dsl.references import first_datetime_column, modifier_time_column
from datagen.engine.block import Block
from datagen.engine.cast import clamp_bounds
from datagen.engine.effects import effect_multiplier
from datagen.engine.generators import draw_distribution
from datagen.engine.rng import table_rng
from datagen.engine.timegrid import pattern_weight, years_since

ModifierFn = Callable[[Block, Column, int, Any, np.ndarray], np.ndarray]


def _numeric(values: np.ndarray) -> np.ndarray:
    return values if values.dtype.kind == "f" else values.astype(float)


def _time(block: Block, col: Column, transform: str, args: Any) -> np.ndarray:
    name = modifier_time_column(block.table.node, col, transform, args)
    return block.values[name].astype("datetime64[us]")


def multiply(block: Block, col: Column, i: int, args: Any, v: np.ndarray) -> np.ndarray:
    return _numeric(v) * args.factor


def add(block: Block, col: Column, i: int, args: Any, v: np.ndarray) -> np.ndarray:
    return _numeric(v) + args.value


def clamp(block: Block, col: Column, i: int, args: Any, v: np.ndarray) -> np.ndarray:
    return np.clip(_numeric(v), *clamp_bounds(col, args.min, args.max))


def jitter(block: Block, col: Column, i: int, args: Any, v: np.ndarray) -> np.ndarray:
    noise = block.rng(col.name, f"mod{i}").normal(0.0, args.std, block.n)
    return _numeric(v) * (1 + noise) if args.mode == "mul" else _numeric(v) + noise


def map_values(block: Block, col: Column, i: int, args: Any, v: np.ndarray) -> np.ndarray:
    """Categorical remap by the value's text form; unmapped values kept unless `default` is given.
    Object arrays throughout, so a longer label is never cut to the old one's width."""
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


def seasonality(block: Block, col: Column, i: int, args: Any, v: np.ndarray) -> np.ndarray:
    if col.type in ("datetime", "date") and args.time_column is None:
        return v  # shaped the datetime_series' sampling already
    t = _time(block, col, "seasonality", args)
    w = pattern_weight(t, [(args.dimension, args.weights)])
    return _numeric(v) * np.where(np.isnan(w), 1.0, w)


def time_jitter(block: Block, col: Column, i: int, args: Any, v: np.ndarray) -> np.ndarray:
    start, end = block.timeframe_us
    t = v.astype("datetime64[us]").astype(np.int64)
    noise = block.rng(col.name, f"mod{i}").normal(0.0, args.std_minutes * 60e6, block.n)
    shift = np.clip(noise, start - end, end - start).astype(np.int64)  # the result is clipped there anyway
    out = np.clip(t + shift, start, end)
    lo, hi = block.bounds(col.name)  # enforced inequalities still hold after the jitter
    if lo is not None:
        out = np.where(np.isnat(lo), out, np.maximum(out, lo.astype(np.int64)))
    if hi is not None:
        out = np.where(np.isnat(hi), out, np.minimum(out, hi.astype(np.int64)))
    res = out.astype("datetime64[us]")
    res[np.isnat(v)] = np.datetime64("NaT")
    return res


def effect(block: Block, col: Column, i: int, args: Any, v: np.ndarray) -> np.ndarray:
    t = _time(block, col, "effect", args)
    keys = {local: block.values[local] for local in args.on}
    factor = effect_multiplier(block.store, args, keys, t)
    return _numeric(v) * factor if args.map.op == "mul" else _numeric(v) + factor


def _magnitude(block: Block, col: Column, i: int, args: Any, n: int) -> np.ndarray:
    rng = block.rng(col.name, f"mod{i}-magnitude")
    if args.magnitude_dist is None:
        return rng.uniform(2.0, 9.0, n)  # x3 to x10 by default
    d = args.magnitude_dist
    m = draw_distribution(rng, d.type, d.params, n)
    return np.clip(m, *(d.clamp or (None, None))) if d.clamp else m


def outliers(block: Block, col: Column, i: int, args: Any, v: np.ndarray) -> np.ndarray:
    """spike: v(1+m), drop: v/(1+m) on rate·n random rows; burst: spike on the rows inside one window
    of time covering `rate` of the timeframe (the same window in every block)."""
    x = _numeric(v).copy()
    if args.mode == "burst":
        start, end = block.timeframe_us
        length = args.rate * (end - start)
        t0 = start + table_rng(block.seed, block.node_id, col.name, f"burst{i}").random() * (
            end - start - length
        )
        name = first_datetime_column(block.table.node, exclude=col.name)
        t = block.values[name].astype("datetime64[us]").astype(np.int64)
        hit = (t >= t0) & (t < t0 + length)
    else:
        hit = block.rng(col.name, f"mod{i}").random(block.n) < args.rate
    m = _magnitude(block, col, i, args, block.n)
    x[hit] = x[hit] / (1 + m[hit]) if args.mode == "drop" else x[hit] * (1 + m[hit])
    return x


def trend_factor(kind: str, g: float, params: Any, years: np.ndarray) -> np.ndarray:
    """Growth per year from the timeframe start: (1+g)^t, 1+g·t, or 1+a·ln(1+b·t); floored at 0 like the
    vintage curves, so a linear or logarithmic decay that runs out flattens at zero, never flips sign."""
    if kind == "exponential":
        return (1 + g) ** years
    if kind == "linear":
        return np.maximum(1 + g * years, 0.0)
    a = params.a if params is not None else g
    b = params.b if params is not None else 1.0
    return np.maximum(1 + a * np.log1p(b * years), 0.0)


def trend(block: Block, col: Column, i: int, args: Any, v: np.ndarray) -> np.ndarray:
    t = _time(block, col, "trend", args)
    factor = trend_factor(args.type, args.growth_rate, args.params, years_since(t, block.timeframe_us[0]))
    return _numeric(v) * np.where(np.isnan(factor), 1.0, factor)


MODIFIERS: dict[str, ModifierFn] = {
    "multiply": multiply,
    "add": add,
    "clamp": clamp,
    "jitter": jitter,
    "map_values": map_values,
    "seasonality": seasonality,
    "time_jitter": time_jitter,
    "effect": effect,
    "outliers": outliers,
    "trend": trend,
}
