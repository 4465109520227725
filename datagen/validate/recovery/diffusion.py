"""Diffusion curves (docs/schema-language.md §8.6): the curve's parameters fitted back from the times
themselves, as an analyst fits an adoption curve — least squares between the cumulative share adopted
at the end of each of 48 equal periods of the window and the curve renormalised to the window. The
tolerance is the spread of the same fit over samples of the declared curve of the same size (the
validator's own draws), so a short window that barely pins a parameter is held loosely, a long one
tightly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np

from datagen.dsl.base import parse_instant
from datagen.dsl.generators import BassCurve, DatetimeSeriesGen, LogisticCurve
from datagen.dsl.models import Node, Schema
from datagen.dsl.units import UNIT_US, YEAR_US
from datagen.validate.context import q
from datagen.validate.recovery.common import MIN_GROUP, Finding, Recovered, Skipped, us

PERIODS = 48
REPLICATES = 30
TAILS = 1.5  # the fitted parameters have heavier tails than a normal: their spread is widened by this
Shape = Callable[[np.ndarray, Any, Any], np.ndarray]  # (t in window units, a, b) -> share adopted


def _shape(
    curve: BassCurve | LogisticCurve, start: int, end: int
) -> tuple[Shape, tuple[float, float], tuple[str, str]]:
    """The curve as a function of time (in its units from the window start) and its two parameters."""
    if isinstance(curve, BassCurve):

        def bass(t: np.ndarray, p: float, qq: float) -> np.ndarray:
            e = np.exp(-(p + qq) * t)
            return (1 - e) / (1 + qq / p * e)

        return bass, (curve.p, curve.q), ("p", "q")
    mid = (parse_instant(curve.midpoint).timestamp() * 1e6 - start) / YEAR_US

    def logistic(t: np.ndarray, m: float, k: float) -> np.ndarray:
        return 1 / (1 + np.exp(-np.clip(k * (t - m), -700, 700)))

    return (
        logistic,
        (mid, curve.steepness_per_year),
        ("midpoint (years from the window start)", "steepness_per_year"),
    )


def _loss(shape: Shape, edges: np.ndarray, share: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared distance between the observed cumulative shares and the renormalised curve."""
    zero = shape(np.zeros(1), a[..., None], b[..., None])
    f = shape(edges, a[..., None], b[..., None]) - zero
    f = f / np.where(f[..., -1:] > 0, f[..., -1:], np.nan)
    return np.asarray(np.nansum((f - share) ** 2, axis=-1) + np.isnan(f[..., -1]) * 1e9)


def _fit(
    shape: Shape, edges: np.ndarray, share: np.ndarray, guess: tuple[float, float]
) -> tuple[float, float]:
    """Least squares: the best of a wide grid around the guess, then a simplex search (Nelder-Mead)
    from there. The first parameter is searched on a log scale when it is positive, the second always."""
    a0, b0 = guess
    log_a = a0 > 0
    a_vals = np.geomspace(a0 / 30, a0 * 30, 80) if log_a else np.linspace(a0 - 5, a0 + 5, 80)
    b_vals = np.geomspace(max(b0, 1e-3) / 30, max(b0, 1e-3) * 30, 80)
    a, b = np.meshgrid(a_vals, b_vals, indexing="ij")
    err = _loss(shape, edges, share, a, b)
    i, j = np.unravel_index(int(np.argmin(err)), err.shape)

    def to_x(pa: float, pb: float) -> np.ndarray:
        return np.array([np.log(pa) if log_a else pa, np.log(pb)])

    def loss(x: np.ndarray) -> float:
        pa = np.exp(x[0]) if log_a else x[0]
        return float(_loss(shape, edges, share, np.array([pa]), np.array([np.exp(x[1])]))[0])

    simplex = [to_x(a[i, j], b[i, j])]
    simplex += [simplex[0] + step for step in (np.array([0.1, 0.0]), np.array([0.0, 0.1]))]
    values = [loss(x) for x in simplex]
    for _ in range(120):
        order = np.argsort(values)
        simplex, values = [simplex[k] for k in order], [values[k] for k in order]
        centre = (simplex[0] + simplex[1]) / 2
        reflected = centre + (centre - simplex[2])
        fr = loss(reflected)
        if fr < values[0]:
            expanded = centre + 2 * (centre - simplex[2])
            fe = loss(expanded)
            simplex[2], values[2] = (expanded, fe) if fe < fr else (reflected, fr)
        elif fr < values[1]:
            simplex[2], values[2] = reflected, fr
        else:
            contracted = centre + (simplex[2] - centre) / 2
            fc = loss(contracted)
            if fc < values[2]:
                simplex[2], values[2] = contracted, fc
            else:
                simplex = [simplex[0] + (x - simplex[0]) / 2 for x in simplex]
                values = [loss(x) for x in simplex]
    best = simplex[int(np.argmin(values))]
    return (float(np.exp(best[0]) if log_a else best[0]), float(np.exp(best[1])))


def _shares(times: np.ndarray, edges_us: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.sort(times), edges_us, side="right") / len(times)


def recover_diffusion(con: duckdb.DuckDBPyConnection, schema: Schema) -> list[Finding]:
    out: list[Finding] = []
    for node in schema.nodes:
        for col in node.columns:
            gen = col.generator
            if not isinstance(gen, DatetimeSeriesGen) or gen.datetime_series.curve is None:
                continue
            out += _recover(con, schema, node, col.name, gen)
    return out


def _recover(con, schema: Schema, node: Node, column: str, gen: DatetimeSeriesGen) -> list[Finding]:
    curve = gen.datetime_series.curve
    assert curve is not None
    subject = f"{curve.type} curve of {column}, fitted back"
    if node.parents or any(p.dimension == "month" for p in gen.datetime_series.pattern):
        why = "its times are also bounded by parent rows" if node.parents else "a month pattern reshapes it"
        return [Skipped("diffusion", node.id, column, subject, why)]
    start, end = (round(t.timestamp() * 1e6) for t in gen.window(schema.timeframe))
    sql = f"SELECT {us(column)} AS t FROM {q(node.id)} WHERE {q(column)} IS NOT NULL"
    times = np.asarray(con.execute(sql).fetchnumpy()["t"], dtype=float)
    if len(times) < MIN_GROUP * 10:
        return [Skipped("diffusion", node.id, column, subject, "too few rows")]
    unit = UNIT_US[curve.time_unit] if isinstance(curve, BassCurve) else YEAR_US
    edges_us = np.linspace(start, end, PERIODS + 1)[1:]
    edges = (edges_us - start) / unit
    shape, declared, names = _shape(curve, start, end)
    fitted = _fit(shape, edges, _shares(times, edges_us), declared)
    spread = _spread(shape, declared, edges, start, end, unit, len(times))
    return [
        Recovered("diffusion", node.id, column, subject, name, d, f, s, len(times), floor=0.05 * abs(d))
        for name, d, f, s in zip(names, declared, fitted, spread, strict=True)
    ]


def _spread(
    shape: Shape, declared: tuple[float, float], edges: np.ndarray, start: int, end: int, unit: int, n: int
) -> tuple[float, float]:
    """Standard deviation of the fitted parameters over samples of n times from the declared curve."""
    fine = np.linspace(0.0, (end - start) / unit, 4001)
    cdf = shape(fine, *declared) - shape(np.zeros(1), *declared)
    cdf = cdf / cdf[-1]
    rng = np.random.default_rng(86)
    fits = []
    for _ in range(REPLICATES):
        t = np.interp(rng.random(n), cdf, fine) * unit + start
        fits.append(_fit(shape, edges, _shares(t, edges * unit + start), declared))
    arr = np.asarray(fits)
    return TAILS * float(arr[:, 0].std(ddof=1)), TAILS * float(arr[:, 1].std(ddof=1))
