"""What each scaling feature multiplies a row's value by, as SQL over the table's view (`d`) plus the
joins it needs — never Python over rows. The validator writes these from the schema language
(docs/schema-language.md §4.2, §8.1), not from the engine: `seasonality` is the weight of the row's time
bucket, `trend` the growth per year since the timeframe start, `effect` with op `mul` the product of the
effect rows active at the row's time (overlapping windows multiply), `multiply` its factor, a parent's
segment `value_multiplier`, and `outliers` their expectation 1 + rate·(E[·] − 1).

The treatments registry (treatments.py) maps each modifier to its factor function here; multipliers.py
composes them into a row model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from datagen.dsl.base import Feature
from datagen.dsl.behaviours import SegmentBehavior
from datagen.dsl.generators import Distribution
from datagen.dsl.models import Column, Node
from datagen.dsl.modifiers import (
    Effect,
    EffectArgs,
    ModifierModel,
    Multiply,
    Outliers,
    OutliersArgs,
    Seasonality,
    Trend,
    TrendArgs,
)
from datagen.dsl.units import YEAR_US
from datagen.validate.context import Context, q

CALENDAR_SQL = {"hour": "hour({t})", "dow": "(isodow({t}) - 1)", "month": "(month({t}) - 1)"}


@dataclass
class Factor:
    """One declared multiplier: `sql` is its per-row value, `stratum` a per-row label to group by.
    `influence` is the name a composite_effect target gives it; `source` the feature it comes from."""

    source: Feature
    sql: str
    stratum: str | None = None
    index: int | None = None  # the modifier's position in the column's list
    dimension: str | None = None
    influence: str | None = None
    target: str | None = None  # the segment's parent table


@dataclass
class RowModel:
    table: str
    column: str
    factors: list[Factor] = field(default_factory=list)
    joins: list[str] = field(default_factory=list)
    problem: str | None = None

    def product(self, keep: list[Factor] | None = None) -> str:
        chosen = self.factors if keep is None else keep
        return " * ".join(f"({f.sql})" for f in chosen) or "CAST(1.0 AS DOUBLE)"  # not a DECIMAL literal

    def source(self) -> str:
        return f"FROM {q(self.table)} d " + " ".join(self.joins)


def calendar_sql(dimension: str, time_sql: str) -> str:
    return CALENDAR_SQL[dimension].format(t=time_sql)


def bin_sql(sql: str) -> str:
    """A continuous multiplier grouped into 10 % steps (log scale), so strata have enough rows."""
    return f"CASE WHEN ({sql}) > 0 THEN round(ln({sql}) / ln(1.1)) ELSE NULL END"


def _weights_sql(weights: list[float]) -> str:
    return "[" + ", ".join(f"{float(w)!r}::DOUBLE" for w in weights) + "]"


def _time(ctx: Context, node: Node, col: Column, mod: ModifierModel, model: RowModel) -> str | None:
    """SQL of the time a row is read at: its own column, or its parent's joined by the foreign key
    (None when neither can be read)."""
    source = mod.time_source(node, col)
    if source is None:
        return None
    table, name = source
    if table == node.id:
        return f"CAST(d.{q(name)} AS TIMESTAMPTZ)"
    link = ctx.link(node.id, table)
    if link is None or not ctx.readable(table, name):
        return None
    alias = f"t{len(model.joins)}"
    model.joins.append(f"LEFT JOIN {q(table)} {alias} ON d.{q(link[0])} = {alias}.{q(link[1])}")
    return f"CAST({alias}.{q(name)} AS TIMESTAMPTZ)"


def sample_magnitude(args: OutliersArgs, n: int, seed: int) -> np.ndarray:
    """n draws of the declared outlier magnitude m (truncated to its clamp, as a distribution's clamp
    means), from the validator's own random stream."""
    dist: Distribution = args.magnitude
    return dist.sample_clamped(np.random.default_rng(seed), n)


def expected_magnitude(args: OutliersArgs, mode: str, draws: int = 200_000) -> float:
    """E[1+m] (spike) or E[1/(1+m)] (drop) for the declared magnitude (default uniform(2, 9))."""
    m = sample_magnitude(args, draws, 20240917)
    return float(np.mean(1.0 / (1.0 + m))) if mode == "drop" else float(np.mean(1.0 + m))


# --- one factor per scaling feature ------------------------------------------------------------------
def multiply_factor(ctx: Context, node: Node, col: Column, i: int, mod: Multiply, model: RowModel) -> Factor:
    return Factor(mod, f"{float(mod.args.factor)!r}", index=i)


def seasonality_factor(
    ctx: Context, node: Node, col: Column, i: int, mod: Seasonality, model: RowModel
) -> Factor | str:
    time_sql = _time(ctx, node, col, mod, model)
    if time_sql is None:
        return f"seasonality (modifier {i}) has no time column that can be read"
    field_sql = calendar_sql(mod.args.dimension, time_sql)
    sql = f"coalesce(list_extract({_weights_sql(mod.args.weights)}, {field_sql} + 1), 1.0)"
    return Factor(mod, sql, field_sql, i, mod.args.dimension, mod.influence())


def trend_factor(ctx: Context, node: Node, col: Column, i: int, mod: Trend, model: RowModel) -> Factor | str:
    time_sql = _time(ctx, node, col, mod, model)
    if time_sql is None:
        return f"trend (modifier {i}) has no time column"
    sql = f"coalesce({_trend_sql(mod.args, _years(ctx, time_sql))}, 1.0)"
    return Factor(mod, sql, bin_sql(sql), i, influence=mod.influence())


def effect_factor(ctx: Context, node: Node, col: Column, i: int, mod: Effect, model: RowModel) -> Factor:
    time_sql = _time(ctx, node, col, mod, model)
    alias = f"e{len(model.joins)}"
    model.joins.append(_effect_join(ctx, mod.args, alias, time_sql))
    sql = f"coalesce({alias}.f, {float(mod.args.map.fill)!r})"
    return Factor(mod, sql, bin_sql(sql), i, influence=mod.influence())


def outliers_factor(ctx: Context, node: Node, col: Column, i: int, mod: Outliers, model: RowModel) -> Factor:
    # spike: (1 - r)·1 + r·E[1+m]; drop: (1 - r)·1 + r·E[1/(1+m)]; burst: a spike in expectation
    a = mod.args
    mean = expected_magnitude(a, "drop" if a.mode == "drop" else "spike")
    return Factor(mod, f"{1 + a.rate * (mean - 1)!r}", index=i, influence=mod.influence())


def segment_factor(
    ctx: Context, node: Node, line: list[Node], sb: SegmentBehavior, model: RowModel
) -> Factor | str:
    """The segment value multiplier of `line[-1]` on the rows of `node`, joined by foreign keys up
    `line` (the parent alone, or the tables up a line of first parents to the ancestor)."""
    parent, below, alias = line[-1], node, "d"
    joins = []
    for up in line:
        link = ctx.link(below.id, up.id)
        if link is None:
            return (
                f"cannot join {below.id} to {up.id} to read the segment of {parent.id} (no foreign key "
                "in the data)"
            )
        joins.append((up, link))
        below = up
    if not ctx.readable(parent.id, sb.segment_column):
        return f"cannot read {parent.id}.{sb.segment_column}: {ctx.unlent.get(parent.id, 'not in the data')}"
    for up, link in joins:
        name = f"s{len(model.joins)}"
        model.joins.append(f"LEFT JOIN {q(up.id)} {name} ON {alias}.{q(link[0])} = {name}.{q(link[1])}")
        alias = name
    seg = f"CAST({alias}.{q(sb.segment_column)} AS VARCHAR)"
    cases = " ".join(
        f"WHEN {seg} = '{name.replace(chr(39), chr(39) * 2)}' THEN {float(b.value_multiplier)!r}"
        for name, b in sb.behaviors.items()
    )
    return Factor(sb, f"CASE {cases} ELSE 1.0 END", seg, influence="segment", target=parent.id)


# --- SQL pieces --------------------------------------------------------------------------------------
def _years(ctx: Context, time_sql: str) -> str:
    start = int(np.int64(ctx.schema.timeframe.start_dt.timestamp() * 1_000_000))
    return f"((epoch_us({time_sql}) - {start}) / {YEAR_US}.0)"


def _trend_sql(a: TrendArgs, years: str) -> str:
    g = float(a.growth_rate)
    if a.type == "exponential":
        return f"pow({1 + g!r}, {years})"
    if a.type == "linear":
        return f"(1 + {g!r} * {years})"
    pa_, pb = a.log_params
    return f"(1 + {float(pa_)!r} * ln(1 + {float(pb)!r} * {years}))"


def _effect_join(ctx: Context, a: EffectArgs, alias: str, time_sql: str | None) -> str:
    """Join each row to the one elementary interval of its effect key that holds its time; the
    interval's factor is the product of every effect row active there (overlaps multiply)."""
    signature = (a.effect_table, tuple(a.on.items()), a.window.start_col, a.window.end_col, a.map.field)
    name = ctx.registered.get(signature)
    if name is None:
        # a hidden field or window is lent to the view (hidden.py)
        ctx.require(a.effect_table, [*a.on.values(), a.window.start_col, a.window.end_col, a.map.field])
        name = ctx.registered[signature] = f"__effect_{len(ctx.registered)}"
        ctx.con.register(name, effect_intervals(ctx, a))
    conds = [f"d.{q(local)} = {alias}.{q(eff)}" for local, eff in a.on.items()]
    if time_sql is None:
        conds.append("false")
    else:
        conds += [f"{time_sql} >= {alias}.t0", f"{time_sql} < {alias}.t1"]
    return f"LEFT JOIN {q(name)} {alias} ON " + " AND ".join(conds)


def effect_intervals(ctx: Any, a: EffectArgs) -> pa.Table:
    """Elementary intervals of an effect table per key: (keys…, t0, t1, f) — between consecutive window
    boundaries of a key, where at least one window [start, end) is open, f the product of the open
    windows' values. Effect tables are small (campaigns, maintenance windows), so this reads them whole;
    the data table is never read here. Plain SQL from the declaration, not the engine's event sweep."""
    source = q(a.effect_table)
    keys = [q(k) for k in dict.fromkeys(a.on.values())]
    start, end = (f"epoch_us(CAST({q(c)} AS TIMESTAMPTZ))" for c in (a.window.start_col, a.window.end_col))
    value = f"CAST({q(a.map.field)} AS DOUBLE)"
    key_list = "".join(f"{k}, " for k in keys)
    partition = f"PARTITION BY {', '.join(keys)} " if keys else ""
    same_key = "".join(f"w.{k} IS NOT DISTINCT FROM b.{k} AND " for k in keys)
    return ctx.con.sql(
        f"""WITH w AS (SELECT {key_list}{start} AS s, {end} AS e, {value} AS v FROM {source}
                       WHERE {start} IS NOT NULL AND {end} IS NOT NULL AND {value} IS NOT NULL
                       AND NOT isnan({value}) AND {start} < {end}),
                 t AS (SELECT {key_list}s AS t FROM w UNION SELECT {key_list}e FROM w),
                 b AS (SELECT {key_list}t AS t0, lead(t) OVER ({partition}ORDER BY t) AS t1 FROM t)
            SELECT {"".join(f"b.{k}, " for k in keys)}make_timestamptz(b.t0) AS t0,
                   make_timestamptz(b.t1) AS t1, product(w.v) AS f
            FROM b JOIN w ON {same_key}w.s <= b.t0 AND w.e >= b.t1
            WHERE b.t1 IS NOT NULL GROUP BY ALL"""
    ).to_arrow_table()
