"""Attribution (docs/schema-language.md §8.5), held to the data:

- `attribution_window` (hard): every conversion follows at least one touch of its parent inside its
  lookback window [t − lookback, t).
- `attribution_credit` (hard): the credit table has one row for each touch of the conversion's parent
  inside that window and no other, and each model's credits sum to 1 per conversion.
- `attribution_lift` (behavioural): the channel lifts, fitted back. For each touch, the outcome is "a
  conversion of the same parent before its next touch"; the regressors are how many touches of each
  channel the parent saw in the lookback window ending at that touch. A logistic regression (Newton's
  method on the counts of each distinct pattern, computed in SQL) gives one coefficient per channel,
  whose exponential is the lift; each must lie within z standard errors of the declared one.

The window arithmetic, the outcome and the counts are the validator's own SQL; nothing is read from
the engine."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from datagen.dsl.behaviours import Attribution, CreditColumns
from datagen.dsl.models import Node
from datagen.validate.behaviour import register
from datagen.validate.context import Context, q, sql_text
from datagen.validate.results import Result, verdict

REGENERATE = "regenerate the data from this schema: datagen generate SCHEMA -o DATA_DIR"
MAX_FIT_TOUCHES = 400_000  # touches of a hash sample of parents are enough for the fit
CREDIT_TOLERANCE = 1e-9


def _attributions(ctx: Context) -> Iterator[tuple[Node, Attribution]]:
    for node in ctx.schema.nodes:
        if node.attribution is not None:
            yield node, node.attribution


class _Links:
    """How conversions and touches reach their common parent, and the columns the checks read."""

    def __init__(self, ctx: Context, node: Node, spec: Attribution) -> None:
        parent = node.primary_parent
        assert parent is not None
        self.parent = parent
        self.conv = ctx.link(node.id, parent)
        self.touch = ctx.link(spec.touches, parent)
        self.time = spec.conversion_time_column(node)
        self.lookback = spec.lookback.us

    @property
    def usable(self) -> bool:
        return self.conv is not None and self.touch is not None and self.time is not None


@register("attribution")
def attribution_checks(ctx: Context) -> Iterator[Result]:
    for node, spec in _attributions(ctx):
        links = _Links(ctx, node, spec)
        if not links.usable:
            yield Result(
                "attribution_window",
                "structural",
                node.id,
                None,
                "skip",
                f"not checked: no foreign keys linking {node.id} and {spec.touches} to {links.parent}",
                hard=True,
            )
            continue
        yield ctx.attempt(
            "attribution_window", "structural", node.id, links.time, window, ctx, node, spec, links, hard=True
        )
        if spec.credit_table and spec.credit_table in ctx.nodes:
            yield ctx.attempt(
                "attribution_credit",
                "structural",
                spec.credit_table,
                None,
                credit,
                ctx,
                node,
                spec,
                links,
                hard=True,
            )
        yield ctx.attempt("attribution_lift", "behavioural", node.id, None, lift, ctx, node, spec, links)


def _in_window(links: _Links, touch: str = "t", conversion: str = "c") -> str:
    assert links.conv is not None and links.touch is not None and links.time is not None
    ct = f"{conversion}.{q(links.time)}"
    return (
        f"{touch}.{q(links.touch[0])} = {conversion}.{q(links.conv[0])} "
        f"AND {touch}.{{time}} >= {ct} - to_microseconds({links.lookback}) AND {touch}.{{time}} < {ct}"
    )


def window(ctx: Context, node: Node, spec: Attribution, links: _Links) -> Result:
    inside = _in_window(links).format(time=q(spec.time_column))
    orphans = (
        f"SELECT c.* FROM {q(node.id)} c WHERE NOT EXISTS (SELECT 1 FROM {q(spec.touches)} t WHERE {inside})"
    )
    (bad,) = ctx.one(f"SELECT count(*) FROM ({orphans})")
    n = ctx.rows[node.id]
    examples = ctx.examples(orphans) if bad else []
    days = spec.lookback.us / 86_400_000_000
    return Result(
        "attribution_window",
        "structural",
        node.id,
        links.time,
        verdict(bad == 0),
        f"{bad:,} of {n:,} conversions follow no touch of their {links.parent} row in the {days:g}-day window"
        if bad
        else f"every one of {n:,} conversions follows a touch of its {links.parent} row in the "
        f"{days:g}-day window",
        hard=True,
        examples=examples,
        details={"conversions": n, "without_touch": int(bad)},
        fix=None if not bad else f"a conversion follows a touch inside its lookback window: {REGENERATE}",
    )


def credit(ctx: Context, node: Node, spec: Attribution, links: _Links) -> Result:
    table = spec.credit_table
    assert table is not None and node.pk is not None
    touches = ctx.node(spec.touches)
    assert touches.pk is not None
    cr, conv_key, touch_key = q(table), q(CreditColumns.CONVERSION), q(CreditColumns.TOUCH)
    sums = ", ".join(f"sum({q(m)}) AS {q(m)}" for m in CreditColumns.MODELS)
    off = " OR ".join(f"abs(coalesce(s.{q(m)}, 0) - 1) > {CREDIT_TOLERANCE}" for m in CreditColumns.MODELS)
    (not_one,) = ctx.one(
        f"SELECT count(*) FROM {q(node.id)} c LEFT JOIN (SELECT {conv_key}, {sums} FROM {cr} GROUP BY 1) s "
        f"ON s.{conv_key} = c.{q(node.pk)} WHERE {off}"
    )
    inside = _in_window(links).format(time=q(spec.time_column))
    expected = (
        f"SELECT c.{q(node.pk)} AS conv, t.{q(touches.pk)} AS touch FROM {q(node.id)} c "
        f"JOIN {q(spec.touches)} t ON {inside}"
    )
    written = f"SELECT {conv_key} AS conv, {touch_key} AS touch FROM {cr}"
    (missing,) = ctx.one(f"SELECT count(*) FROM (({expected}) EXCEPT ALL ({written}))")
    (extra,) = ctx.one(f"SELECT count(*) FROM (({written}) EXCEPT ALL ({expected}))")
    (order,) = ctx.one(
        f"SELECT count(*) FROM (SELECT cr.{q(CreditColumns.POSITION)} AS pos, row_number() OVER "
        "(PARTITION BY "
        f"cr.{conv_key} ORDER BY t.{q(spec.time_column)}, t.{q(touches.pk)}) AS rn FROM {cr} cr "
        f"JOIN {q(spec.touches)} t ON t.{q(touches.pk)} = cr.{touch_key}) WHERE pos <> rn"
    )
    problems = []
    if not_one:
        problems.append(f"{not_one:,} conversions whose credits do not sum to 1 in every model")
    if missing or extra:
        problems.append(f"{missing:,} touches in a window missing and {extra:,} rows outside any window")
    if order:
        problems.append(f"{order:,} positions out of time order")
    n = ctx.rows[table]
    return Result(
        "attribution_credit",
        "structural",
        table,
        None,
        verdict(not problems),
        "; ".join(problems)
        if problems
        else f"{n:,} rows: every touch in every conversion's window, credits summing to 1 per model",
        hard=True,
        details={"rows": n, "sum_not_one": int(not_one), "missing": int(missing), "extra": int(extra)},
        fix=None if not problems else f"the credit table is derived exactly: {REGENERATE}",
    )


def lift(ctx: Context, node: Node, spec: Attribution, links: _Links) -> Result:
    assert links.touch is not None and links.conv is not None and links.time is not None
    touches = ctx.node(spec.touches)
    n_touches = ctx.rows[spec.touches]
    channels = [
        r[0]
        for r in ctx.fetch(
            f"SELECT DISTINCT CAST({q(spec.channel_column)} AS VARCHAR) FROM {q(spec.touches)} "
            f"WHERE {q(spec.channel_column)} IS NOT NULL ORDER BY 1"
        )
    ]
    if not channels or n_touches == 0 or ctx.rows[node.id] == 0:
        return Result(
            "attribution_lift",
            "behavioural",
            node.id,
            None,
            "skip",
            "not checked: no touches or no conversions",
        )
    u, ts, ch = q(links.touch[0]), q(spec.time_column), q(spec.channel_column)
    key = q(touches.pk) if touches.pk else "rowid"
    buckets = max(1, math.ceil(n_touches / MAX_FIT_TOUCHES))
    sample = f"AND hash({u}) % {buckets} = 0" if buckets > 1 else ""
    counts = ", ".join(
        f"count(*) FILTER (WHERE CAST(j.ch AS VARCHAR) = {sql_text(c)}) AS n{i}"
        for i, c in enumerate(channels)
    )
    ct = q(links.time)
    columns = ", ".join(f"n{i}" for i in range(len(channels)))
    sql = f"""
        WITH t AS (
          SELECT {u} AS u, {ts} AS ts, {ch} AS ch, {key} AS id,
                 lead({ts}) OVER (PARTITION BY {u} ORDER BY {ts}, {key}) AS nxt
          FROM {q(spec.touches)} WHERE {ts} IS NOT NULL {sample}),
        y AS (
          SELECT t.*, EXISTS (SELECT 1 FROM {q(node.id)} c WHERE c.{q(links.conv[0])} = t.u
                              AND c.{ct} > t.ts AND (t.nxt IS NULL OR c.{ct} < t.nxt)) AS y
          FROM t),
        x AS (
          SELECT i.id, any_value(i.y) AS y, {counts}
          FROM y i JOIN t j ON j.u = i.u AND j.ts > i.ts - to_microseconds({links.lookback})
               AND (j.ts < i.ts OR (j.ts = i.ts AND j.id <= i.id))
          GROUP BY i.id)
        SELECT CAST(y AS INTEGER), {columns}, count(*) FROM x GROUP BY ALL
    """
    rows = np.asarray(ctx.fetch(sql), dtype=np.float64)
    y, design, weight = rows[:, 0], rows[:, 1:-1], rows[:, -1]
    beta, se = _logistic(np.column_stack([np.ones(len(y)), design]), y, weight)
    z = ctx.settings.z
    strata = []
    declared_base = math.log(spec.base_rate / (1 - spec.base_rate))
    for name, b, s, declared in [
        ("base log-odds", beta[0], se[0], declared_base),
        *((f"lift {c}", beta[i + 1], se[i + 1], math.log(spec.lift(c))) for i, c in enumerate(channels)),
    ]:
        ok = bool(np.isfinite(b) and np.isfinite(s) and abs(b - declared) <= z * s)
        is_lift = name.startswith("lift")
        strata.append(
            {
                "stratum": name,
                "declared": math.exp(declared) if is_lift else spec.base_rate,
                "observed": math.exp(b) if is_lift else 1 / (1 + math.exp(-b)),
                "log_tolerance": z * s,
                "ok": ok,
            }
        )
    bad = [s for s in strata if not s["ok"]]
    worst = max(
        strata, key=lambda s: abs(math.log(s["observed"] / s["declared"])) / max(s["log_tolerance"], 1e-12)
    )
    return Result(
        "attribution_lift",
        "behavioural",
        node.id,
        None,
        verdict(not bad),
        f"{len(strata) - len(bad)} of {len(strata)} fitted within z={z:g} standard errors; worst "
        f"{worst['stratum']}: fitted {worst['observed']:.4g}, declared {worst['declared']:.4g} "
        f"(touches used: {int(weight.sum()):,})",
        examples=sorted(strata, key=lambda s: s["ok"])[:5],
        details={"strata": strata, "touches": int(weight.sum())},
        fix=None
        if not bad
        else "regenerate from this schema; if it persists the conversions do not follow the declared lifts",
    )


def _logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, steps: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Weighted logistic regression by Newton's method: coefficients and their standard errors."""
    beta = np.zeros(x.shape[1])
    info = np.eye(x.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(x @ beta, -30, 30)))
        grad = x.T @ (w * (y - p))
        info = (x * (w * p * (1 - p))[:, None]).T @ x
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(info, grad, rcond=None)[0]
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    try:
        cov = np.linalg.inv(info)
        se = np.sqrt(np.maximum(np.diag(cov), 0))
    except np.linalg.LinAlgError:
        se = np.full(len(beta), np.inf)
    return beta, se
