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

import dataclasses
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from datagen.dsl.behaviours import VintageBehavior
from datagen.dsl.enforcement import Enforcement, enforcement
from datagen.dsl.generators import DatetimeSeriesGen
from datagen.dsl.models import Column, Node
from datagen.dsl.modifiers import Outliers, Seasonality, TimeJitter
from datagen.dsl.references import walk_columns
from datagen.dsl.units import DAY_US, HOUR_US, UNIT_US
from datagen.validate.behaviour import register
from datagen.validate.calendar import (
    INT_MAX,
    INT_MIN,
    LABELS,
    SIZES,
    Bounds,
    Origins,
    activity_month_shares,
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
            if not ctx.readable(node.id, col.name) or col.name in filled:
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
    return dims


def _enforcement(ctx: Context) -> Enforcement:
    if ("enforcement",) not in ctx.cache:
        ctx.cache[("enforcement",)] = enforcement(ctx.schema)
    return ctx.cache[("enforcement",)]


def _bound_sql(ctx: Context, node: Node, col: Column) -> tuple[str, list[str], list[str]] | str:
    """The joins and the per-row lower and upper bounds (epoch µs, as SQL) the engine draws a column's
    times inside (inequalities, windows, creation times, chains), each joined along its relation path;
    a string when a bound's source cannot be joined."""
    sql = ""
    lo: list[str] = []
    hi: list[str] = []
    for i, b in enumerate(_enforcement(ctx).column_bounds(node.id, col.name)):
        joined = joins(ctx, b.path, prefix=f"b{i}_", left=True)
        if isinstance(joined, str) or not ctx.readable(b.source_table, b.source_column):
            why = joined if isinstance(joined, str) else f"{b.source_table} has no column {b.source_column}"
            return f"cannot read the bound {b.source_table}.{b.source_column} of {node.id} rows: {why}"
        sql += joined[0]
        us = f"epoch_us(CAST({joined[1]}.{q(b.source_column)} AS TIMESTAMPTZ))"
        if b.strict:
            us = f"({us} {'+' if b.side == 'lo' else '-'} 1)"
        (lo if b.side == "lo" else hi).append(us)
    return sql, lo, hi


def _bounds(ctx: Context, node: Node, col: Column) -> Bounds | str | None:
    """Rows grouped by their sampling bounds; a string when a bound's source cannot be joined. A
    continuous series keeps them to the microsecond, a snapped one rounds them inwards to the hour."""
    if not _enforcement(ctx).column_bounds(node.id, col.name):
        return None
    found = _bound_sql(ctx, node, col)
    if isinstance(found, str):
        return found
    sql, lo, hi = found
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


def _origins(ctx: Context, node: Node, col: Column, parent: Node, created: str) -> Origins | str:
    """Rows grouped by the day their parent was created (a null creation counts from the timeframe
    start, as the engine counts it) and the days of their sampling bounds."""
    found = _bound_sql(ctx, node, col)
    if isinstance(found, str):
        return found
    sql, lo, hi = found
    link = ctx.link(node.id, parent.id)
    if link is None or not ctx.readable(parent.id, created):
        return f"cannot join {node.id} to {parent.id} to read its creation time {created}"
    start = int(ctx.schema.timeframe.start_dt.timestamp() * 1_000_000)
    sql += f" LEFT JOIN {q(parent.id)} o ON d.{q(link[0])} = o.{q(link[1])}"
    origin = f"coalesce(epoch_us(CAST(o.{q(created)} AS TIMESTAMPTZ)), {start})"
    day = f"{DAY_US}"
    lo_sql = f"floor(greatest({', '.join(lo)}) / {day})" if lo else "NULL"
    hi_sql = f"floor(least({', '.join(hi)}) / {day})" if hi else "NULL"
    rows = ctx.fetch(
        f"SELECT CAST(floor({origin} / {day}) AS BIGINT), CAST({lo_sql} AS DOUBLE), "
        f"CAST({hi_sql} AS DOUBLE), count(*) FROM {q(node.id)} d{sql} "
        f"WHERE d.{q(col.name)} IS NOT NULL GROUP BY ALL"
    )
    cols = list(zip(*rows, strict=True)) if rows else [(), (), (), ()]
    nan = float("nan")
    return Origins(
        np.array(cols[0], dtype=float),
        np.array([nan if v is None else v for v in cols[1]], dtype=float),
        np.array([nan if v is None else v for v in cols[2]], dtype=float),
        np.array(cols[3], dtype=float),
    )


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


def calendar_counts(
    ctx: Context, node: Node, col: Column, dim: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | str:
    """Rows per stratum of `dim` in a `datetime_series` column, with the expected share of each under
    the declared weights and under none (the calendar's own exposure); a string when not computable."""
    bounds = _bounds(ctx, node, col)
    if isinstance(bounds, str):
        return bounds
    jitter = math.sqrt(sum(m.args.std_minutes**2 for m in col.modifiers if isinstance(m, TimeJitter)))
    series = series_of(ctx.schema, col)
    weighted = expected_shares(series, bounds, [dim], jitter)[dim]
    exposure = expected_shares(dataclasses.replace(series, patterns=()), bounds, [dim], jitter)[dim]
    return _observed(ctx, node.id, col.name, dim), weighted, exposure


def _activity_months(ctx: Context, node: Node, col: Column) -> np.ndarray | str:
    """Expected month shares of a child's times placed along its parent's vintage activity curves
    (calendar.activity_month_shares); a string saying why they cannot be derived."""
    parent = ctx.node(node.parents[0]) if node.parents else None
    assert parent is not None  # activity-shaped columns belong to facts with a parent
    placing = [b for b in parent.behaviours if b.places_child_times()]
    others = [b.keyword for b in placing if not isinstance(b, VintageBehavior)]
    vintage = next((b for b in placing if isinstance(b, VintageBehavior)), None)
    if others or vintage is None:
        return (
            f"months not checked: {', '.join(others)} on {parent.id} places these times in a way "
            "not re-derived here"
        )
    curves = vintage.fanout_curves

    def activity(age_days: np.ndarray) -> np.ndarray:
        out = np.ones(len(age_days))
        for curve in curves:
            out *= curve.value_at(age_days * (DAY_US / UNIT_US[curve.time_unit]))
        return out

    origins = _origins(ctx, node, col, parent, vintage.created_at_column)
    if isinstance(origins, str):
        return origins
    shares = activity_month_shares(series_of(ctx.schema, col), origins, activity)
    return "months not checked: too many parent days to sum" if shares is None else shares


def time_pattern(ctx: Context, node: Node, col: Column, dim: str) -> Result:
    jitter = math.sqrt(sum(m.args.std_minutes**2 for m in col.modifiers if isinstance(m, TimeJitter)))
    if dim == "month" and activity_shaped(ctx.schema, node, col):
        # the parent's age curve reshapes the months (not the hours or weekdays): its expectation is
        # derived with the curve, day by day (a time jitter of minutes does not move months)
        found = _activity_months(ctx, node, col)
        if isinstance(found, str):
            return _skip(node, col, found)
        expected = found
    else:
        bounds = _bounds(ctx, node, col)
        if isinstance(bounds, str):
            return _skip(node, col, bounds)
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
