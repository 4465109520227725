"""The schema's `targets` (docs/schema-language.md §7): what an analyst should find in the data.

- `weekend_share`: share of non-null times on Saturday or Sunday (UTC) inside [min, max].
- `mean_in_range`: mean of the non-null values inside [min, max] (of a bool column: the share of
  true values).
- `composite_effect`: the lift of `metric` per stratum of the declared influences against the product
  of the declared multipliers. Influences: `hour` / `dow` / `month` (the metric's seasonality weights;
  stratum: the calendar field), an effect table's id (its `effect` multipliers; stratum: the combined
  factor in 10 % steps), `trend` (likewise), `segment` (parents' value multipliers; stratum: the
  segment) and `outliers` (their expected factor 1 + rate·E[m]; no stratum of its own). The base is
  the mean of the metric made by the engine without those influences (reference.py); a stratum's
  lift is its mean over that base, its expected lift the mean product of its rows' multipliers.
  MAE and MAPE (a fraction) are averaged over strata weighted by rows, strata under 20 rows left out,
  and compared with `tolerance`."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from datagen.dsl.generators import DatetimeSeriesGen
from datagen.dsl.modifiers import Seasonality
from datagen.dsl.targets import CompositeEffectTarget, MeanInRangeTarget, WeekendShareTarget
from datagen.validate.behaviour import register
from datagen.validate.calendar import LABELS, activity_shaped
from datagen.validate.context import Context, q
from datagen.validate.factors import Factor, bin_sql, calendar_sql
from datagen.validate.multipliers import add_segments, row_model
from datagen.validate.reference import reference_values
from datagen.validate.results import Result, verdict
from datagen.validate.seasonality import calendar_counts

MIN_STRATUM_ROWS = 20
CALENDAR = Seasonality.influences  # hour, dow, month


@register("targets")
def target_checks(ctx: Context) -> Iterator[Result]:
    t = ctx.schema.targets
    if t is None:
        return
    for ws in t.weekend_share:
        if ctx.has(ws.table, ws.timestamp):
            yield ctx.attempt("weekend_share", "behavioural", ws.table, ws.timestamp, weekend_share, ctx, ws)
    for m in t.mean_in_range:
        if ctx.has(m.table, m.column):
            yield ctx.attempt("mean_in_range", "behavioural", m.table, m.column, mean_in_range, ctx, m)
    for ce in t.composite_effect:
        if ce.table in ctx.nodes and ce.counts_rows(ctx.node(ce.table).column_names):
            yield ctx.attempt("composite_effect", "behavioural", ce.table, None, composite_rows, ctx, ce)
        elif ctx.has(ce.table, ce.metric):
            yield ctx.attempt(
                "composite_effect", "behavioural", ce.table, ce.metric, composite_effect, ctx, ce
            )


def weekend_share(ctx: Context, ws: WeekendShareTarget) -> Result:
    x = f"CAST({q(ws.timestamp)} AS TIMESTAMPTZ)"
    weekend, n = ctx.one(f"SELECT count(*) FILTER (WHERE isodow({x}) >= 6), count({x}) FROM {q(ws.table)}")
    if n == 0:
        return Result("weekend_share", "behavioural", ws.table, ws.timestamp, "skip", "no values to check")
    share = weekend / n
    return _in_range(
        "weekend_share",
        ws.table,
        ws.timestamp,
        f"weekend share {share:.4f}",
        share,
        n,
        (ws.min, ws.max),
        "change the dow weights of the timestamp, or the target range",
    )


def mean_in_range(ctx: Context, m: MeanInRangeTarget) -> Result:
    x = f"CAST({q(m.column)} AS DOUBLE)"  # a bool reads as 1.0 / 0.0, so its mean is the true share
    mean, n = ctx.one(f"SELECT avg({x}), count({x}) FROM {q(m.table)} WHERE NOT isnan({x})")
    if not n:
        return Result("mean_in_range", "behavioural", m.table, m.column, "skip", "no values to check")
    col = ctx.node(m.table).column(m.column)
    is_share = col is not None and col.type == "bool"
    return _in_range(
        "mean_in_range",
        m.table,
        m.column,
        f"share of true values {mean:.4g}" if is_share else f"mean {mean:.4g}",
        mean,
        n,
        (m.min, m.max),
        "change the weights of the column's values (or the expression it comes from), or the target range"
        if is_share
        else "change the column's distribution or modifiers, or the target range",
    )


def _in_range(
    check: str,
    table: str,
    column: str,
    shown: str,
    observed: float,
    n: int,
    target: tuple[float, float],
    fix: str,
) -> Result:
    """A statistic of n rows against its target range; `shown` is the statistic as the message says it."""
    lo, hi = target
    ok = lo <= observed <= hi
    return Result(
        check,
        "behavioural",
        table,
        column,
        verdict(ok),
        f"{shown} over {n:,} rows ({'inside' if ok else 'outside'} the target [{lo}, {hi}])",
        details={"observed": observed, "min": lo, "max": hi, "rows": n},
        fix=None if ok else fix,
    )


def composite_rows(ctx: Context, ce: CompositeEffectTarget) -> Result:
    """The table's row count per stratum of its calendar influences (its first datetime column, a
    `datetime_series`): each stratum's lift is its share of rows over its share of the calendar, and
    the expected lift the declared weights' share over the same."""
    node = ctx.node(ce.table)

    def skip(msg: str) -> Result:
        return Result("composite_effect", "behavioural", ce.table, None, "skip", f"not checked: {msg}")

    others = [i for i in ce.influences if i not in CALENDAR]
    if others:
        return skip(
            f"row counts per {', '.join(others)} are not compared here (segment fanout and effects on "
            "fanout have their own checks); give calendar influences (hour, dow, month)"
        )
    tcol = node.first_time_column()
    col = node.column(tcol) if tcol else None
    if col is None or not isinstance(col.generator, DatetimeSeriesGen) or not ctx.has(node.id, col.name):
        return skip(f"'{ce.table}' has no datetime_series column to count its rows by")
    counts, lifts, expected, labels = [], [], [], []
    for dim in ce.influences:
        if activity_shaped(ctx.schema, node, col) and dim == "month":
            return skip("months follow the parent's activity curve, not the declared weights alone")
        found = calendar_counts(ctx, node, col, dim)
        if isinstance(found, str):
            return skip(found)
        n, weighted, exposure = found
        total = n.sum()
        keep = (n >= MIN_STRATUM_ROWS) & (exposure > 0)
        if total == 0 or not keep.any():
            return skip(f"no {dim} stratum has {MIN_STRATUM_ROWS} rows")
        labels += [f"{dim} {LABELS[dim][i]}" for i in np.flatnonzero(keep)]
        counts.append(n[keep])
        lifts.append(n[keep] / total / exposure[keep])
        expected.append(weighted[keep] / exposure[keep])
    n, lift, exp = (np.concatenate(x) for x in (counts, lifts, expected))
    return _lift_verdict(ce, None, n, lift, exp, labels, "rows")


def _lift_verdict(
    ce: CompositeEffectTarget,
    column: str | None,
    n: np.ndarray,
    lift: np.ndarray,
    expected: np.ndarray,
    labels: list,
    what: str,
    extra: dict | None = None,
) -> Result:
    """MAE and MAPE of observed against expected lifts (weighted by rows) against the tolerance."""
    err = np.abs(lift - expected)
    mae = float(np.sum(n * err) / n.sum())
    mape = float(np.sum(n * err / np.abs(expected)) / n.sum())
    tol = ce.tolerance
    mape_limit = tol.mape if tol.mape is not None or tol.mae is not None else 0.1
    ok = (tol.mae is None or mae <= tol.mae) and (mape_limit is None or mape <= mape_limit)
    limits = ", ".join(
        f"{name} ≤ {v}" for name, v in (("mae", tol.mae), ("mape", mape_limit)) if v is not None
    )
    worst = np.argsort(-(err / np.abs(expected)))[:5]
    return Result(
        "composite_effect",
        "behavioural",
        ce.table,
        column,
        verdict(ok),
        f"{what} per stratum of {', '.join(ce.influences)}: MAE {mae:.4f}, MAPE {mape:.4f} "
        f"over {len(n)} strata ({int(n.sum()):,} rows; tolerance {limits})",
        examples=[
            {"stratum": labels[j], "rows": int(n[j]), "lift": lift[j], "expected": expected[j]} for j in worst
        ]
        if not ok
        else [],
        details={"mae": mae, "mape": mape, "strata": len(n), **(extra or {}), "influences": ce.influences},
        fix=None
        if ok
        else "the multipliers in the data differ from the declared ones: check the influences' "
        "modifiers (seasonality weights, effect windows and fields, outlier rate), or widen the tolerance",
    )


def composite_effect(ctx: Context, ce: CompositeEffectTarget) -> Result:
    node = ctx.node(ce.table)
    col = node.column(ce.metric)
    assert col is not None  # only targets on present columns are checked

    def skip(msg: str) -> Result:
        return Result("composite_effect", "behavioural", ce.table, ce.metric, "skip", f"not checked: {msg}")

    model = row_model(ctx, node, col)
    if "segment" in ce.influences:
        add_segments(ctx, node, col, model)
    if model.problem:
        return skip(model.problem)
    chosen: list[Factor] = []
    strata: list[str] = []
    names: list[str] = []
    for inf in ce.influences:
        fs = [f for f in model.factors if f.influence == inf]
        if inf in CALENDAR:  # the calendar field, whether or not a seasonality scales by it
            tcol = node.first_time_column()
            if fs and fs[0].stratum is not None:
                strata.append(fs[0].stratum)
                names.append(inf)
            elif tcol and ctx.has(node.id, tcol):
                strata.append(calendar_sql(inf, f"CAST(d.{q(tcol)} AS TIMESTAMPTZ)"))
                names.append(inf)
        elif inf == "segment":  # one stratum per parent's segment
            strata += [f.stratum for f in fs if f.stratum is not None]
            names += [f"segment of {f.target}" for f in fs]
        elif fs and fs[0].stratum is not None:  # trend, an effect table: the combined factor, binned
            strata.append(bin_sql(model.product(fs)))
            names.append(f"{inf} (10 % steps)")
        chosen += fs
    if not strata:
        return skip("the influences define no strata to compare")
    drop = frozenset(f.index for f in chosen if f.index is not None)
    base_values = reference_values(ctx, ce.table, ce.metric, drop, drop_segment="segment" in ce.influences)
    if len(base_values) == 0 or np.mean(base_values) == 0:
        return skip("the reference without the influences has no non-zero values")
    base = float(np.mean(base_values))
    keys = ", ".join(f"{s} AS k{i}" for i, s in enumerate(strata))
    group = ", ".join(f"k{i}" for i in range(len(strata)))
    rows = ctx.fetch(
        f"SELECT {group}, count(*), sum(v), sum(m) FROM (SELECT {keys}, "
        f"CAST(d.{q(ce.metric)} AS DOUBLE) AS v, CAST({model.product(chosen)} AS DOUBLE) AS m "
        f"{model.source()}) "
        f"WHERE v IS NOT NULL AND NOT isnan(v) GROUP BY {group}"
    )
    k = len(strata)
    used = [r for r in rows if r[k] >= MIN_STRATUM_ROWS]
    if not used:
        return skip(f"no stratum has {MIN_STRATUM_ROWS} rows")
    n = np.array([r[k] for r in used], dtype=float)
    lift = np.array([r[k + 1] for r in used]) / n / base
    expected = np.array([r[k + 2] for r in used]) / n
    labels = [dict(zip(names, r[:k], strict=True)) for r in used]
    return _lift_verdict(ce, ce.metric, n, lift, expected, labels, "lift", {"base": base})
