"""Trend (docs/schema-language.md §4.2 `trend`): the growth parameter, from a weighted least-squares
fit of the declared curve to per-year means (per twelfth of the timeframe when it is shorter than two
years), numeric seasonality divided out."""

from __future__ import annotations

import math
from collections.abc import Callable

import duckdb
import numpy as np

from datagen.dsl.models import Column, Node, Schema
from datagen.dsl.modifiers import Seasonality, Trend, TrendArgs
from datagen.dsl.units import DAY_US, HOUR_US, UNIT_US
from datagen.validate.context import q
from datagen.validate.recovery.common import (
    MIN_GROUP,
    Finding,
    Recovered,
    Skipped,
    timeframe,
    unreadable,
    us,
)


def _pattern_sql(time_us: str, dimension: str, weights: list[float]) -> str:
    """The weight of a seasonality pattern at a time (the DSL's calendar: UTC, Monday and January = 0)."""
    if dimension == "hour":
        index = f"(floor({time_us} / {HOUR_US})::BIGINT % 24 + 24) % 24"
    elif dimension == "dow":
        index = f"(floor({time_us} / {DAY_US})::BIGINT % 7 + 10) % 7"
    else:
        index = f"month(make_timestamp({time_us})) - 1"
    return f"list_extract([{', '.join(repr(float(w)) for w in weights)}], ({index})::BIGINT + 1)"


def _trend_basis(args: TrendArgs) -> tuple[str, Callable[[float, float], float], str]:
    """x(t) (SQL over `years`) in which the declared trend is linear, and how to read the parameter off
    the fit c + s·x. The bins' mean x is exact for the linear and logarithmic forms; for the
    exponential one the within-bin spread scales every bin alike and drops out of the slope."""
    if args.type == "exponential":
        return "years", lambda c, s: math.exp(s) - 1, "growth_rate per year (exponential)"
    if args.type == "linear":
        return "years", lambda c, s: s / c, "growth_rate per year (linear)"
    b = args.log_params[1]
    name = "params.a (logarithmic)" if args.params is not None else "growth_rate (logarithmic)"
    return f"ln(1 + {float(b)!r} * years)", lambda c, s: s / c, name


def _wls(x: np.ndarray, y: np.ndarray, se: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Weighted least squares y = c + s·x; returns c, s and their covariance matrix."""
    w = 1.0 / np.maximum(se, 1e-300) ** 2
    a = np.column_stack([np.ones_like(x), x])
    cov = np.linalg.inv(a.T @ (a * w[:, None]))
    c, s = cov @ (a.T @ (w * y))
    return float(c), float(s), cov


def recover_trends(con: duckdb.DuckDBPyConnection, schema: Schema) -> list[Finding]:
    start, end = timeframe(schema)
    width = UNIT_US["year"] if end - start >= 2 * UNIT_US["year"] else (end - start) / 12
    scaled_by_age = {
        ref for n in schema.nodes if n.vintage_behavior for ref in n.vintage_behavior.value_columns
    }
    out: list[Finding] = []
    for node in schema.nodes:
        for col in node.columns:
            trends = [m for m in col.modifiers if isinstance(m, Trend)]
            if not trends:
                continue
            if len(trends) > 1 or f"{node.id}.{col.name}" in scaled_by_age:
                why = "several trends" if len(trends) > 1 else "the value also follows a vintage curve"
                out.append(Skipped("trend", node.id, col.name, "trend", f"{why}: not separable"))
                continue
            out.append(_recover_trend(con, node, col, trends[0], start, end, width))
    return out


def _recover_trend(
    con: duckdb.DuckDBPyConnection, node: Node, col: Column, trend: Trend, start: int, end: int, width: float
) -> Finding:
    args = trend.args
    basis, read, name = _trend_basis(args)
    tcol = trend.time_column(node, col)
    if tcol is None:
        return Skipped("trend", node.id, col.name, name, "no time column of its own (it reads a parent's)")
    why = unreadable(con, node, col.name) or unreadable(con, node, tcol)
    if why:
        return Skipped("trend", node.id, col.name, name, why)
    t = us(tcol)
    value = q(col.name)
    for mod in col.modifiers:  # numeric seasonality multiplies the value: divide it back out
        if isinstance(mod, Seasonality) and (scol := mod.time_column(node, col)):
            value += f" / nullif({_pattern_sql(us(scol), mod.args.dimension, mod.args.weights)}, 0)"
    rows = con.execute(
        f"""SELECT floor((t_us - {start}) / {width}) AS bin, count(v), avg(v), stddev_samp(v), avg({basis})
            FROM (SELECT {value} AS v, ({t} - {start}) / {UNIT_US["year"]} AS years, {t} AS t_us
                  FROM {q(node.id)})
            WHERE v IS NOT NULL AND NOT isnan(v) AND t_us >= {start} AND t_us < {end}
            GROUP BY bin HAVING count(v) >= {MIN_GROUP} ORDER BY bin"""
    ).fetchall()
    if len(rows) < 2:
        return Skipped("trend", node.id, col.name, name, "fewer than two periods with enough rows")
    n, mean, sd, x = (np.array([r[i] for r in rows], dtype=float) for i in range(1, 5))
    if args.type == "exponential":
        if (mean <= 0).any():
            return Skipped("trend", node.id, col.name, name, "non-positive means: no exponential fit")
        y, se = np.log(mean), sd / (mean * np.sqrt(n))
    else:
        y, se = mean, sd / np.sqrt(n)
    c, s, cov = _wls(x, y, se)
    observed = read(c, s)
    if args.type == "exponential":
        se_param = math.exp(s) * math.sqrt(cov[1, 1])
    else:  # s / c, delta method
        grad = np.array([-s / c**2, 1 / c])
        se_param = math.sqrt(float(grad @ cov @ grad))
    declared = args.log_params[0] if args.type == "logarithmic" else args.growth_rate
    periods = "year" if width >= UNIT_US["year"] else "twelfth of the timeframe"
    return Recovered(
        "trend",
        node.id,
        col.name,
        name,
        f"fit to {len(rows)} per-{periods} means",
        declared,
        observed,
        se_param,
        int(n.sum()),
        floor=0.01,
    )
