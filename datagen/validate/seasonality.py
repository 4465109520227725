"""Seasonality patterns against their declared weights, in both places a schema declares them.

- On a `datetime_series` (its `pattern`s and `seasonality` modifiers without a time column): the share
  of rows per hour / weekday / month is compared with the share the weighted grid gives
  (calendar.py: grid points per stratum, per-row bounds, time jitter), stratum by stratum, within
  z binomial standard errors.
- On a numeric column (`seasonality` with a time column: v × weight of the row's time bucket): the
  mean per stratum, divided by the base level, is compared with the mean declared multiplier there
  (multipliers.py: every multiplier of the column, so a trend or an effect that also varies by stratum
  is accounted for). The base level is the one scale that best fits all rows (Σ values / Σ
  multipliers), since this check is about the pattern's shape; `mean_in_range` judges the level."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from datagen.dsl.enforcement import Enforcement, enforcement
from datagen.dsl.generators import DatetimeSeriesGen
from datagen.dsl.models import Column, Node
from datagen.dsl.modifiers import Outliers, Seasonality, TimeJitter
from datagen.dsl.references import walk_columns
from datagen.dsl.units import HOUR_US
from datagen.validate.behaviour import register
from datagen.validate.calendar import (
    INT_MAX,
    INT_MIN,
    LABELS,
    SIZES,
    Bounds,
    activity_shaped,
    expected_shares,
    series_of,
)
from datagen.validate.context import Context, q
from datagen.validate.factors import expected_magnitude
from datagen.validate.multipliers import row_model
from datagen.validate.relations import joins
from datagen.validate.results import Result, verdict
from datagen.validate.tolerance import share_tolerance

FLOOR = 0.003  # absolute, on a share
RELATIVE_FLOOR = 0.01  # on a lift
MIN_STRATUM_ROWS = 30
FIX = "regenerate the data; if times were shifted (a time-zone conversion?), undo the shift"


@register("seasonality")
def seasonality_checks(ctx: Context) -> Iterator[Result]:
    for node in ctx.schema.nodes:
        filled = walk_columns(node)
        for col in node.columns:
            if not ctx.has(node.id, col.name) or col.name in filled:
                continue
            if isinstance(col.generator, DatetimeSeriesGen) and col.type in ("datetime", "date"):
                dims = _time_dimensions(ctx, node, col)
                if dims:
                    yield from _each(ctx, node, col, dims, time_pattern)
            elif col.type in ("int", "float"):
                seasons = [m for m in col.modifiers if isinstance(m, Seasonality)]
                dims = list(dict.fromkeys(m.args.dimension for m in seasons))
                if dims:
                    yield from _each(ctx, node, col, dims, value_pattern)


def _each(ctx: Context, node: Node, col: Column, dims: list[str], fn) -> Iterator[Result]:
    for dim in dims:
        result = ctx.attempt("seasonality", "behavioural", node.id, col.name, fn, ctx, node, col, dim)
        result.details.setdefault("dimension", dim)
        yield result


def _skip(node: Node, col: Column, why: str) -> Result:
    return Result("seasonality", "behavioural", node.id, col.name, "skip", why)


def _verdict(
    node: Node, col: Column, ok: bool, message: str, examples: list[dict[str, Any]], details: dict[str, Any]
) -> Result:
    return Result(
        "seasonality",
        "behavioural",
        node.id,
        col.name,
        verdict(ok),
        message,
        examples=examples,
        details=details,
        fix=None if ok else FIX,
    )


def _compare(
    dim: str,
    labels: list[str],
    name: str,
    observed: np.ndarray,
    expected: np.ndarray,
    tol: np.ndarray,
    excess: np.ndarray,
) -> tuple[bool, int, list[dict[str, Any]]]:
    """Strata against their declared values (`excess`: distance over tolerance): whether every one is
    within tolerance, the worst one, and the strata off, worst first (at most five), as examples."""
    worst = np.argsort(-excess)[:5]
    examples = [
        {dim: labels[j], name: observed[j], "expected": expected[j], "tolerance": tol[j]}
        for j in worst
        if excess[j] > 1
    ]
    return bool((excess <= 1).all()), int(worst[0]), examples


def _time_dimensions(ctx: Context, node: Node, col: Column) -> list[str]:
    s = series_of(ctx.schema, col)
    dims = list(dict.fromkeys(d for d, _ in s.patterns))
    if col.type == "date":
        dims = [d for d in dims if d != "hour"]
    if activity_shaped(ctx.schema, node, col):
        dims = [d for d in dims if d != "month"]
    return dims


def _enforcement(ctx: Context) -> Enforcement:
    if ("enforcement",) not in ctx.cache:
        ctx.cache[("enforcement",)] = enforcement(ctx.schema)
    return ctx.cache[("enforcement",)]


def _bounds(ctx: Context, node: Node, col: Column) -> Bounds | str | None:
    """Rows grouped by their sampling bounds (the bounds the engine draws inside: inequalities,
    windows, creation times, chains), each joined along its relation path; a string when a bound's
    source cannot be joined. A continuous series keeps them to the microsecond, a snapped one rounds
    them inwards to the hour."""
    found = _enforcement(ctx).column_bounds(node.id, col.name)
    if not found:
        return None
    sql = ""
    lo: list[str] = []
    hi: list[str] = []
    for i, b in enumerate(found):
        joined = joins(ctx, b.path, prefix=f"b{i}_", left=True)
        if isinstance(joined, str) or not ctx.has(b.source_table, b.source_column):
            why = joined if isinstance(joined, str) else f"{b.source_table} has no column {b.source_column}"
            return f"cannot read the bound {b.source_table}.{b.source_column} of {node.id} rows: {why}"
        sql += joined[0]
        us = f"epoch_us(CAST({joined[1]}.{q(b.source_column)} AS TIMESTAMPTZ))"
        if b.strict:
            us = f"({us} {'+' if b.side == 'lo' else '-'} 1)"
        (lo if b.side == "lo" else hi).append(us)
    snapped = series_of(ctx.schema, col).snapped
    lo_sql = f"greatest({', '.join(lo)})" if lo else "NULL"
    hi_sql = f"least({', '.join(hi)})" if hi else "NULL"
    if snapped:
        lo_sql = f"ceil({lo_sql} / {HOUR_US}) * {HOUR_US}" if lo else "NULL"
        hi_sql = f"floor({hi_sql} / {HOUR_US}) * {HOUR_US}" if hi else "NULL"
    rows = ctx.fetch(
        f"SELECT CAST({lo_sql} AS BIGINT) AS lo, CAST({hi_sql} AS BIGINT) AS hi, count(*) "
        f"FROM {q(node.id)} d{sql} WHERE d.{q(col.name)} IS NOT NULL GROUP BY ALL"
    )
    arr = np.array(
        [(INT_MIN if a is None else a, INT_MAX if b is None else b, n) for a, b, n in rows], dtype=np.int64
    )
    if len(arr) == 0:
        arr = np.zeros((0, 3), dtype=np.int64)
    return Bounds(arr[:, 0], arr[:, 1], arr[:, 2].astype(float))


def _observed(ctx: Context, table: str, column: str, dim: str) -> np.ndarray:
    """Rows per stratum of `dim`, from one scan per column counting (month, weekday, hour) cells."""
    key = ("calendar", table, column)
    if key not in ctx.cache:
        x = f"CAST({q(column)} AS TIMESTAMPTZ)"
        cube = np.zeros((12, 7, 24))
        for m, d, h, n in ctx.fetch(
            f"SELECT month({x}) - 1, isodow({x}) - 1, hour({x}), count(*) FROM {q(table)} "
            f"WHERE {x} IS NOT NULL GROUP BY ALL"
        ):
            cube[int(m), int(d), int(h)] = n
        ctx.cache[key] = cube
    cube = ctx.cache[key]
    return {"month": cube.sum(axis=(1, 2)), "dow": cube.sum(axis=(0, 2)), "hour": cube.sum(axis=(0, 1))}[dim]


def time_pattern(ctx: Context, node: Node, col: Column, dim: str) -> Result:
    bounds = _bounds(ctx, node, col)
    if isinstance(bounds, str):
        return _skip(node, col, bounds)
    jitter = math.sqrt(sum(m.args.std_minutes**2 for m in col.modifiers if isinstance(m, TimeJitter)))
    expected = expected_shares(series_of(ctx.schema, col), bounds, [dim], jitter)[dim]
    counts = _observed(ctx, node.id, col.name, dim)
    n = int(counts.sum())
    if n == 0:
        return _skip(node, col, "no values to check")
    observed = counts / n
    tol = np.array([share_tolerance(p, n, ctx.settings.z, FLOOR) for p in expected])
    excess = np.abs(observed - expected) / tol
    ok, k, examples = _compare(dim, LABELS[dim], "observed", observed, expected, tol, excess)
    label = LABELS[dim][k]
    msg = (
        f"{dim} shares follow the declared weights over {n:,} rows (largest gap {label}: "
        f"{observed[k]:.4f} vs {expected[k]:.4f})"
        if ok
        else f"{dim} shares do not follow the declared weights: {label} holds {observed[k]:.4f} of rows, "
        f"expected {expected[k]:.4f} ± {tol[k]:.4f} ({int((excess > 1).sum())} of {len(expected)} strata off)"
    )
    details = {
        "dimension": dim,
        "rows": n,
        "observed": observed.round(6).tolist(),
        "expected": expected.round(6).tolist(),
        "jitter_minutes": jitter,
    }
    return _verdict(node, col, ok, msg, examples, details)


def _burst_allowance(col: Column, dim: str) -> float:
    """A burst of outliers scales every row of one time window covering `rate` of the timeframe; the
    strata it falls in can move by up to their share of that window times the mean spike."""
    out = 0.0
    for m in col.modifiers:
        if isinstance(m, Outliers) and m.args.mode == "burst":
            out += min(1.0, m.args.rate * SIZES[dim]) * abs(expected_magnitude(m.args, "spike") - 1)
    return out


def value_pattern(ctx: Context, node: Node, col: Column, dim: str) -> Result:
    model = row_model(ctx, node, col)
    if model.problem:
        return _skip(node, col, f"not checked: {model.problem}")
    factor = next(f for f in model.factors if isinstance(f.source, Seasonality) and f.dimension == dim)
    v = f"CAST(d.{q(col.name)} AS DOUBLE)"
    rows = ctx.fetch(
        f"SELECT k, count(*), sum(v), sum(v * v), sum(m) FROM (SELECT {factor.stratum} AS k, {v} AS v, "
        f"{model.product()} AS m {model.source()}) WHERE v IS NOT NULL AND NOT isnan(v) AND k IS NOT NULL "
        "GROUP BY k ORDER BY k"
    )
    if not rows:
        return _skip(node, col, "no values to check")
    k, n, sv, svv, sm = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    base = sv.sum() / sm.sum() if sm.sum() else 0.0
    if base == 0:
        return _skip(node, col, "values are all zero")
    lift, expected = sv / n / base, sm / n
    var = np.maximum(svv - sv**2 / n, 0) / np.maximum(n - 1, 1)
    se = np.sqrt(var / n) / abs(base)
    tol = (
        np.maximum(RELATIVE_FLOOR * np.abs(expected), ctx.settings.z * se)
        + _burst_allowance(col, dim) * expected
    )
    used = n >= MIN_STRATUM_ROWS
    excess = np.where(used, np.abs(lift - expected) / tol, 0.0)
    strata = [LABELS[dim][int(s)] for s in k]
    ok, i, examples = _compare(dim, strata, "lift", lift, expected, tol, excess)
    label = strata[i]
    msg = (
        f"mean by {dim} follows the declared weights (largest gap {label}: "
        f"lift {lift[i]:.3f} vs {expected[i]:.3f})"
        if ok
        else f"mean by {dim} does not follow the declared weights: {label} has lift {lift[i]:.3f}, "
        f"expected {expected[i]:.3f} ± {tol[i]:.3f} "
        f"({int((excess > 1).sum())} of {int(used.sum())} strata off)"
    )
    details = {
        "dimension": dim,
        "rows": int(n.sum()),
        "base": base,
        "strata_checked": int(used.sum()),
        "strata": strata,
        "observed_lift": lift.round(6).tolist(),
        "expected_lift": expected.round(6).tolist(),
    }
    return _verdict(node, col, ok, msg, examples, details)
