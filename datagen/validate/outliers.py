"""Outlier share against the declared `rate` (docs/schema-language.md §4.2: rate·n rows get v·(1+m),
or v/(1+m)).

Which rows are outliers is not written down, so the check compares a tail share instead. The engine
makes a reference of the same column without the outliers modifier (reference.py); the validator
applies the declared rate and magnitude to it itself, which gives the expected share of values beyond
a threshold τ: (1 − rate)·P(clean > τ) + rate·P(spiked > τ). τ is the reference quantile that best
separates spiked from clean values (largest |P(spiked > τ) − P(clean > τ)| per standard error). The
observed share must lie within z standard errors (data and reference sampling both counted); the
message also inverts it into the rate the data shows.

`burst` puts the spikes on the rows inside one time window covering `rate` of the timeframe; the share
of rows inside depends on how busy that window is, so the expectation allows half to twice the rate.
Modifiers after the outliers are re-applied when their treatment can (multiply, add, clamp) or commute
with a spike (those that scale); otherwise the check is skipped and says why. A column scaled by a
multiplier shared by many rows (an `effect`'s windows) is compared after dividing each row by its
declared multipliers (multipliers.py): a reference drawn anew would have another tail."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

from datagen.dsl.base import Role
from datagen.dsl.models import Column, Node
from datagen.dsl.modifiers import ModifierModel, Outliers, OutliersArgs
from datagen.validate.behaviour import register
from datagen.validate.context import Context, q
from datagen.validate.factors import sample_magnitude
from datagen.validate.multipliers import row_model
from datagen.validate.reference import reference_values
from datagen.validate.results import Result, verdict
from datagen.validate.treatments import treatment

QUANTILES = (0.3, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 0.0005, 0.0002)
MIN_TAIL_ROWS = 25
FLOOR = 1e-4
BURST_RANGE = (0.5, 2.0)


@register("outliers")
def outlier_checks(ctx: Context) -> Iterator[Result]:
    for node in ctx.schema.nodes:
        for col in node.columns:
            if col.type not in ("int", "float") or not ctx.readable(node.id, col.name):
                continue
            for i, mod in enumerate(col.modifiers):
                if isinstance(mod, Outliers):
                    result = ctx.attempt(
                        "outliers", "behavioural", node.id, col.name, outliers, ctx, node, col, i
                    )
                    result.details.setdefault("modifier", i)
                    yield result


def _apply(mods: Sequence[ModifierModel], x: np.ndarray) -> np.ndarray:
    """The modifiers re-applied to sample values by their treatments (all of them have one)."""
    for m in mods:
        reapply = treatment(m).reapply
        assert reapply is not None
        x = reapply(m, x)
    return x


def _reapplied(mod: ModifierModel) -> bool:
    return treatment(mod).reapply is not None


def _skip(node: Node, col: Column, msg: str) -> Result:
    return Result("outliers", "behavioural", node.id, col.name, "skip", msg)


def outliers(ctx: Context, node: Node, col: Column, i: int) -> Result:
    mod = col.modifiers[i]
    assert isinstance(mod, Outliers)
    args = mod.args
    after = col.modifiers[i + 1 :]
    value = f"CAST(d.{q(col.name)} AS DOUBLE)"
    source = f"FROM {q(node.id)} d"
    normalised = any(treatment(m).shared for m in col.modifiers)
    if normalised:
        # A multiplier shared by many rows (effect windows) would give a reference drawn anew another
        # tail: divide each row by its declared multipliers instead and compare the base values.
        model = row_model(ctx, node, col)
        if model.problem or any(m.role(col) is Role.CLIPS for m in after):
            why = model.problem or "a clamp after the outliers cuts the spikes"
            return _skip(node, col, f"not checked: {why}")
        scaling = [f for f in model.factors if not isinstance(f.source, Outliers)]
        drop = frozenset({i} | {f.index for f in scaling if f.index is not None})
        clean = reference_values(ctx, node.id, col.name, drop)
        hit = _spike(args, clean)
        value = f"({value} / nullif({model.product(scaling)}, 0))"
        source = model.source()
    elif all(_reapplied(m) for m in after):
        before = reference_values(ctx, node.id, col.name, frozenset(range(i, len(col.modifiers))))
        clean, hit = _apply(after, before), _apply(after, _spike(args, before))
    elif all(m.role(col) is Role.SCALES for m in after):  # (v·(1+m))·w = (v·w)·(1+m)
        clean = reference_values(ctx, node.id, col.name, frozenset({i}))
        hit = _spike(args, clean)
    else:
        names = ", ".join(m.keyword for m in after)
        return _skip(node, col, f"not checked: modifiers after the outliers ({names}) reshape the spikes")
    if col.type == "int" and not normalised:
        clean, hit = np.rint(clean), np.rint(hit)
    if len(clean) < 1000:
        return _skip(node, col, f"not checked: the reference has only {len(clean)} values")
    upper = args.mode != "drop"
    tau, p0, p1 = _threshold(clean, hit, upper, args.rate)
    cmp = ">" if upper else "<"
    beyond, n = ctx.one(
        f"SELECT count(*) FILTER (WHERE v {cmp} ?), count(v) FROM (SELECT {value} AS v {source}) "
        "WHERE NOT isnan(v)",
        [tau],
    )
    if n == 0:
        return _skip(node, col, "no values to check")
    observed = beyond / n
    rate = args.rate
    lo_rate, hi_rate = (
        (rate * BURST_RANGE[0], rate * BURST_RANGE[1]) if args.mode == "burst" else (rate, rate)
    )
    lo_p, hi_p = ((1 - r) * p0 + r * p1 for r in (lo_rate, hi_rate))
    expected = (1 - rate) * p0 + rate * p1
    ref_n = len(clean)
    se = math.sqrt(
        expected * (1 - expected) / n + ((1 - rate) ** 2 * p0 * (1 - p0) + rate**2 * p1 * (1 - p1)) / ref_n
    )
    tol = max(FLOOR, ctx.settings.z * se)
    ok = lo_p - tol <= observed <= hi_p + tol
    implied = (observed - p0) / (p1 - p0) if p1 != p0 else float("nan")
    side = "above" if upper else "below"
    span = f"{expected:.5f}" if lo_p == hi_p else f"{lo_p:.5f}–{hi_p:.5f}"
    msg = (
        f"{observed:.5f} of {n:,} values lie {side} {tau:.4g}; expected {span} ± {tol:.5f} for rate {rate} "
        f"(the data implies a rate of about {max(implied, 0.0):.4f})"
    )
    return Result(
        "outliers",
        "behavioural",
        node.id,
        col.name,
        verdict(ok),
        msg,
        details={
            "mode": args.mode,
            "rate": rate,
            "threshold": tau,
            "observed_share": observed,
            "expected_share": expected,
            "tolerance": tol,
            "implied_rate": implied if math.isfinite(implied) else None,
            "rows": int(n),
            "reference_rows": ref_n,
        },
        fix=None
        if ok
        else f"regenerate, or set the outliers rate to what the data shows (about {max(implied, 0):.4f})",
    )


def _spike(args: OutliersArgs, clean: np.ndarray) -> np.ndarray:
    m = sample_magnitude(args, len(clean), 7_340_033)
    return clean / (1 + m) if args.mode == "drop" else clean * (1 + m)


def _threshold(clean: np.ndarray, hit: np.ndarray, upper: bool, rate: float) -> tuple[float, float, float]:
    """τ and the shares beyond it of clean and of spiked values, chosen for the sharpest test: the
    largest change of the expected share per unit of rate, over its standard error."""
    best = None
    for share in QUANTILES:
        if share * len(clean) < MIN_TAIL_ROWS:
            continue
        tau = float(np.quantile(clean, 1 - share if upper else share))
        p0 = float(np.mean(clean > tau) if upper else np.mean(clean < tau))
        p1 = float(np.mean(hit > tau) if upper else np.mean(hit < tau))
        p = (1 - rate) * p0 + rate * p1
        score = abs(p1 - p0) / math.sqrt(max(p * (1 - p), 1e-12))
        if best is None or score > best[0]:
            best = (score, tau, p0, p1)
    assert best is not None
    return best[1], best[2], best[3]
